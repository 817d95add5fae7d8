//! Proof files: built from the log, verified offline, tampering refused.

use comity_ledger::bundle::ProofBody;
use comity_ledger::entry::Subject;
use comity_ledger::tile::{TileSet, entry_bundles_for_size, hash_tiles_for_size};
use comity_ledger::{Entry, EntryKind, MemoryLog, NoteVerifier, ProofBundle};

use crate::support::{ORIGIN, data_dir, log_signer, witness_key};

fn entry(i: u64) -> Vec<u8> {
    Entry {
        kind: EntryKind::MessageReceived,
        time_ms: 1_764_324_000_000 + i,
        actor: "dz-moj".into(),
        subjects: vec![Subject {
            kind: "message".into(),
            id: format!("msg-{i}"),
        }],
        digests: vec![],
        attrs: Default::default(),
    }
    .to_bytes()
    .unwrap()
}

fn sample_log() -> MemoryLog {
    let mut log = MemoryLog::new(ORIGIN);
    for i in 0..100 {
        log.append(&entry(i)).unwrap();
    }
    log
}

fn proofs() -> (ProofBundle, ProofBundle) {
    let log = sample_log();
    let s = log_signer();
    let mut cp = log.checkpoint(&s).unwrap();
    cp.add_signature(
        witness_key(1)
            .cosign(&cp.checkpoint, 1_764_324_100)
            .unwrap(),
    );
    let incl = ProofBundle::inclusion(&cp, 42, &entry(42), log.inclusion_proof(42, 100).unwrap());
    let mut small = MemoryLog::new(ORIGIN);
    for i in 0..60 {
        small.append(&entry(i)).unwrap();
    }
    let old = small.checkpoint(&s).unwrap();
    let cons = ProofBundle::consistency(&old, &cp, log.consistency_proof(60, 100).unwrap());
    (incl, cons)
}

#[test]
fn inclusion_and_consistency_files_verify_with_cosignatures() {
    let (incl, cons) = proofs();
    let w = [witness_key(1).verifier().clone()];
    let v = ProofBundle::from_json(incl.to_json().as_bytes())
        .unwrap()
        .verify(log_signer().verifier(), &w)
        .unwrap();
    assert_eq!((v.index, v.size), (Some(42), 100));
    assert_eq!(v.entry.unwrap().subjects[0].id, "msg-42");
    assert_eq!(v.cosignatures.len(), 1);
    let v = ProofBundle::from_json(cons.to_json().as_bytes())
        .unwrap()
        .verify(log_signer().verifier(), &w)
        .unwrap();
    assert_eq!((v.old_size, v.size), (Some(60), 100));
}

#[test]
fn committed_sample_files_verify() {
    let dir = data_dir().join("proofs");
    let key = NoteVerifier::parse(&std::fs::read_to_string(dir.join("log.vkey")).unwrap()).unwrap();
    let witness =
        NoteVerifier::parse(&std::fs::read_to_string(dir.join("witness.vkey")).unwrap()).unwrap();
    for f in ["inclusion.json", "consistency.json"] {
        let b = ProofBundle::from_json(&std::fs::read(dir.join(f)).unwrap()).unwrap();
        let v = b.verify(&key, std::slice::from_ref(&witness)).unwrap();
        assert_eq!(v.cosignatures.len(), 1, "{f}");
    }
    let b = ProofBundle::from_json(&std::fs::read(dir.join("inclusion-tampered.json")).unwrap())
        .unwrap();
    assert_eq!(
        b.verify(&key, &[]).unwrap_err().code(),
        "ledger.inclusion_mismatch"
    );
}

#[test]
fn committed_sample_log_directory_verifies() {
    let dir = data_dir().join("log-sample");
    let cp = comity_ledger::SignedCheckpoint::open(
        &std::fs::read(dir.join("checkpoint")).unwrap(),
        log_signer().verifier(),
    )
    .unwrap();
    let mut set = TileSet::new(cp.checkpoint.size);
    for id in hash_tiles_for_size(cp.checkpoint.size) {
        set.insert(&id, &std::fs::read(dir.join(id.path())).unwrap())
            .unwrap();
    }
    set.verify(&cp.checkpoint.root).unwrap();
    for id in entry_bundles_for_size(cp.checkpoint.size) {
        set.verify_bundle(&id, &std::fs::read(dir.join(id.path())).unwrap())
            .unwrap();
    }
}

#[test]
fn tampered_files_are_refused() {
    let (incl, cons) = proofs();
    let key = log_signer();
    let mut bad = incl.clone();
    if let ProofBody::Inclusion { index, .. } = &mut bad.proof {
        *index = 43;
    }
    assert_eq!(
        bad.verify(key.verifier(), &[]).unwrap_err().code(),
        "ledger.inclusion_mismatch"
    );
    let mut bad = incl.clone();
    if let ProofBody::Inclusion { entry: e, .. } = &mut bad.proof {
        *e = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, entry(41));
    }
    assert_eq!(
        bad.verify(key.verifier(), &[]).unwrap_err().code(),
        "ledger.inclusion_mismatch"
    );
    let mut bad = cons.clone();
    if let ProofBody::Consistency { proof, .. } = &mut bad.proof {
        proof.swap(0, 1);
    }
    assert!(
        bad.verify(key.verifier(), &[])
            .unwrap_err()
            .code()
            .starts_with("ledger.consistency_")
    );
    let wrong_key = comity_ledger::NoteSigner::from_seed(ORIGIN, &[3; 32]).unwrap();
    assert_eq!(
        incl.verify(wrong_key.verifier(), &[]).unwrap_err().code(),
        "ledger.note_unverified"
    );
    let json = incl
        .to_json()
        .replace("comity-ledger-proof/v1", "comity-ledger-proof/v9");
    assert_eq!(
        ProofBundle::from_json(json.as_bytes()).unwrap_err().code(),
        "ledger.proof_file"
    );
}

#[test]
#[ignore = "regenerates tests/data/proofs; run by hand after a format change"]
fn write_sample_files() {
    let (incl, cons) = proofs();
    let dir = data_dir().join("proofs");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("inclusion.json"), incl.to_json() + "\n").unwrap();
    std::fs::write(dir.join("consistency.json"), cons.to_json() + "\n").unwrap();
    let mut bad = incl;
    if let ProofBody::Inclusion { index, .. } = &mut bad.proof {
        *index = 41;
    }
    std::fs::write(dir.join("inclusion-tampered.json"), bad.to_json() + "\n").unwrap();
    std::fs::write(
        dir.join("log.vkey"),
        log_signer().verifier().to_vkey() + "\n",
    )
    .unwrap();
    let log_dir = data_dir().join("log-sample");
    let _ = std::fs::remove_dir_all(&log_dir);
    let log = sample_log();
    let mut cp = log.checkpoint(&log_signer()).unwrap();
    cp.add_signature(
        witness_key(1)
            .cosign(&cp.checkpoint, 1_764_324_100)
            .unwrap(),
    );
    for id in hash_tiles_for_size(100)
        .into_iter()
        .chain(entry_bundles_for_size(100))
    {
        let path = log_dir.join(id.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, log.tile(&id).unwrap()).unwrap();
    }
    std::fs::write(log_dir.join("checkpoint"), cp.to_text()).unwrap();
    std::fs::write(
        dir.join("witness.vkey"),
        witness_key(1).verifier().to_vkey() + "\n",
    )
    .unwrap();
}
