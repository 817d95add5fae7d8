//! The genuine fixtures pass every check the targets make, so "only genuine objects verify" is
//! a property that can fail, not one that holds because nothing ever verifies.

use comity_evidence::{VerifyOptions, verify_package_with};
use comity_fuzz::fixtures::{fixtures, genuine_package};
use comity_ledger::SignedCheckpoint;
use comity_pdq::list::{HashList, decode_list_file};
use comity_seal::{Envelope, Receipt, SignedDescriptor, SignedTrustList, Trust, open};

#[test]
fn genuine_envelopes_receipts_and_lists_verify() {
    let f = fixtures();
    let keys = f.keys();
    assert!(!f.envelopes.is_empty());
    for (bytes, receipt) in f.envelopes.iter().zip(&f.receipts) {
        let env = Envelope::from_bytes(bytes).unwrap();
        open(&env, &f.fr.secrets, &keys).unwrap();
        let r = Receipt::from_bytes(receipt).unwrap();
        r.verify_for(&env.header, bytes, &keys).unwrap();
    }
    SignedDescriptor::from_json(&f.dz.descriptor.to_json()).unwrap();
    let list = SignedTrustList::from_json(&f.trust_list).unwrap();
    Trust::from_verified(&list, &f.root.public()).unwrap();
    let cp = SignedCheckpoint::open(&f.checkpoints[1], &f.dz.log_verifier()).unwrap();
    assert_eq!(cp.cosignatures(&f.witnesses()).unwrap().len(), 1);
    let updates = decode_list_file(&f.list_file).unwrap();
    let key = f.dz.secrets.signing_key().verifying_key();
    assert_eq!(HashList::replay(&updates, &key).unwrap().version(), 2);
}

#[test]
fn the_genuine_package_verifies_as_zip_and_with_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let pkg = genuine_package(tmp.path());
    let path = tmp.path().join("p.zip");
    std::fs::write(&path, &pkg.zip).unwrap();
    let o = VerifyOptions::anchored(fixtures().root.public(), "the fixtures' root");
    let report = verify_package_with(&path, &o);
    assert!(report.verified, "{}", report.to_text());
    assert!(pkg.files.len() > 10, "{:?}", pkg.files.keys());
}
