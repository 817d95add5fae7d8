use comity_model::MessageKind;
use comity_seal::{Envelope, Receipt, seal};
use serde_json::Value;

use crate::support::*;

#[test]
fn verify_for_checks_the_addressing_too() {
    let s = node("sender");
    let r = node("recipient");
    let rd = descriptor(&r, "fr-ocl", "FR", 8443);
    let h = header("dz-moj", "fr-ocl", MessageKind::Note, 1);
    let wire = seal(&s, &rd, h.clone(), &note("hello"), &mut DetRng::new("e"))
        .unwrap()
        .to_bytes();
    let keys = [r.signing_public()];
    let good = Receipt::for_envelope(&r, &h, &wire, ts(500), None);
    good.verify_for(&h, &wire, &keys).unwrap();
    let other = header("dz-moj", "fr-ocl", MessageKind::Note, 2);
    let mut wrong_id = Receipt::sign(
        &r,
        other.id,
        Envelope::digest(&wire),
        h.to.clone(),
        h.from.clone(),
        ts(500),
        None,
    );
    assert_eq!(
        wrong_id.verify_for(&h, &wire, &keys).unwrap_err().code(),
        "seal.receipt_mismatch"
    );
    wrong_id = Receipt::sign(
        &r,
        h.id,
        Envelope::digest(&wire),
        h.from.clone(),
        h.to.clone(),
        ts(500),
        None,
    );
    assert_eq!(
        wrong_id.verify_for(&h, &wire, &keys).unwrap_err().code(),
        "seal.receipt_mismatch"
    );
    let mut other_wire = wire.clone();
    other_wire.push(b' ');
    assert_eq!(
        good.verify_for(&h, &other_wire, &keys).unwrap_err().code(),
        "seal.receipt_mismatch"
    );
}

fn receipt() -> (Receipt, [u8; 32], comity_seal::NodeSecrets) {
    let s = node("sender");
    let r = node("recipient");
    let rd = descriptor(&r, "fr-ocl", "FR", 8443);
    let h = header("dz-moj", "fr-ocl", MessageKind::Note, 1);
    let env = seal(&s, &rd, h.clone(), &note("hello"), &mut DetRng::new("e")).unwrap();
    let wire = env.to_bytes();
    let receipt = Receipt::for_envelope(&r, &h, &wire, ts(500), None);
    (receipt, Envelope::digest(&wire), r)
}

#[test]
fn round_trip_and_verify() {
    let (rc, digest, r) = receipt();
    assert_eq!(rc.from.as_str(), "fr-ocl");
    assert_eq!(rc.to.as_str(), "dz-moj");
    rc.verify(&[r.signing_public()], &digest).unwrap();
    let back = Receipt::from_bytes(&rc.to_bytes()).unwrap();
    assert_eq!(back, rc);
    back.verify(&[r.signing_public()], &digest).unwrap();
    let with_index = Receipt::sign(
        &r,
        rc.message,
        digest,
        rc.from.clone(),
        rc.to.clone(),
        rc.received_at,
        Some(41),
    );
    let back = Receipt::from_bytes(&with_index.to_bytes()).unwrap();
    assert_eq!(back.log_index, Some(41));
    back.verify(&[r.signing_public()], &digest).unwrap();
}

#[test]
fn refusals() {
    let (rc, digest, r) = receipt();
    let mut other = digest;
    other[0] ^= 1;
    assert_eq!(
        rc.verify(&[r.signing_public()], &other).unwrap_err().code(),
        "seal.receipt_mismatch"
    );
    assert_eq!(
        rc.verify(&[node("x").signing_public()], &digest)
            .unwrap_err()
            .code(),
        "seal.unknown_signer"
    );
    let mut later = rc.clone();
    later.received_at = ts(9_999);
    assert_eq!(
        later
            .verify(&[r.signing_public()], &digest)
            .unwrap_err()
            .code(),
        "seal.bad_receipt_signature"
    );
    let mut v: Value = serde_json::from_slice(&rc.to_bytes()).unwrap();
    v["log_index"] = (-1).into();
    let bytes = serde_json_canonicalizer::to_vec(&v).unwrap();
    assert_eq!(
        Receipt::from_bytes(&bytes).unwrap_err().code(),
        "seal.malformed_receipt"
    );
    v["log_index"] = Value::Null;
    v["v"] = 2.into();
    let bytes = serde_json_canonicalizer::to_vec(&v).unwrap();
    assert_eq!(
        Receipt::from_bytes(&bytes).unwrap_err().code(),
        "seal.unsupported_version"
    );
    let wire = rc.to_bytes();
    assert_eq!(
        Receipt::from_bytes(&wire[..wire.len() - 2])
            .unwrap_err()
            .code(),
        "seal.malformed_receipt"
    );
}
