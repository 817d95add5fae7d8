//! Bad input: each tamper case is detected with its own error code.

use comity_ledger::tile::{TileSet, decode_bundle, hash_tiles_for_size};
use comity_ledger::{
    NoteSigner, SignedCheckpoint, TileId, leaf_hash, verify_consistency, verify_inclusion,
};

use crate::support::{ORIGIN, entry_bytes, log_of, log_signer};

fn tiles_of(log: &comity_ledger::MemoryLog) -> Vec<(TileId, Vec<u8>)> {
    hash_tiles_for_size(log.size())
        .into_iter()
        .map(|id| (id, log.tile(&id).unwrap()))
        .collect()
}

fn verify_set(
    size: u64,
    tiles: &[(TileId, Vec<u8>)],
    root: &comity_ledger::Hash,
) -> comity_ledger::Result<()> {
    let mut set = TileSet::new(size);
    for (id, bytes) in tiles {
        set.insert(id, bytes)?;
    }
    set.verify(root)
}

#[test]
fn tampered_entry_fails_inclusion() {
    let log = log_of(100);
    let p = log.inclusion_proof(42, 100).unwrap();
    let mut e = entry_bytes(42);
    e[0] ^= 1;
    let err = verify_inclusion(42, 100, &leaf_hash(&e), &p, &log.root().unwrap()).unwrap_err();
    assert_eq!(err.code(), "ledger.inclusion_mismatch");
}

#[test]
fn inclusion_proof_for_another_tree_size_is_refused() {
    let log = log_of(100);
    let p = log.inclusion_proof(42, 90).unwrap();
    let err = verify_inclusion(
        42,
        100,
        &leaf_hash(&entry_bytes(42)),
        &p,
        &log.root().unwrap(),
    )
    .unwrap_err();
    assert!(
        ["ledger.inclusion_mismatch", "ledger.proof_length"].contains(&err.code()),
        "{err}"
    );
    let p = log.inclusion_proof(42, 64).unwrap();
    let err = verify_inclusion(
        42,
        100,
        &leaf_hash(&entry_bytes(42)),
        &p,
        &log.root().unwrap(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "ledger.proof_length");
}

#[test]
fn consistency_proof_that_does_not_prove_is_refused() {
    let log = log_of(100);
    let mut p = log.consistency_proof(37, 100).unwrap();
    let (r1, r2) = (log.root_at(37).unwrap(), log.root().unwrap());
    p[1].0[3] ^= 0x40;
    let err = verify_consistency(37, 100, &p, &r1, &r2).unwrap_err();
    assert!(err.code().starts_with("ledger.consistency_"), "{err}");
    let err = verify_consistency(37, 100, &log.consistency_proof(38, 100).unwrap(), &r1, &r2)
        .unwrap_err();
    assert!(err.code().starts_with("ledger.") && err.to_string().len() > 10);
}

#[test]
fn truncated_tile_is_detected() {
    let log = log_of(70_000);
    let mut tiles = tiles_of(&log);
    tiles[5].1.truncate(8192 - 32);
    let err = verify_set(70_000, &tiles, &log.root().unwrap()).unwrap_err();
    assert_eq!(err.code(), "ledger.tile_length");
    assert!(err.to_string().contains("tile/0/005"), "{err}");
}

#[test]
fn reordered_tile_is_detected() {
    let log = log_of(70_000);
    let mut tiles = tiles_of(&log);
    let bytes = &mut tiles[7].1;
    let (a, b) = bytes.split_at_mut(32);
    a.swap_with_slice(&mut b[..32]);
    let err = verify_set(70_000, &tiles, &log.root().unwrap()).unwrap_err();
    assert_eq!(err.code(), "ledger.tile_mismatch");
    assert!(err.to_string().contains("tile/0/007"), "{err}");
}

#[test]
fn swapped_partial_tile_changes_the_root_and_is_detected() {
    let log = log_of(1000);
    let mut tiles = tiles_of(&log);
    let last = tiles.iter().position(|(id, _)| !id.is_full()).unwrap();
    tiles[last].1.reverse();
    let err = verify_set(1000, &tiles, &log.root().unwrap()).unwrap_err();
    assert_eq!(err.code(), "ledger.tile_mismatch");
}

#[test]
fn missing_tile_is_reported_by_path() {
    let log = log_of(600);
    let mut tiles = tiles_of(&log);
    tiles.remove(1);
    let err = verify_set(600, &tiles, &log.root().unwrap()).unwrap_err();
    assert_eq!(err.code(), "ledger.tile_missing");
}

#[test]
fn tampered_entry_bundle_is_detected() {
    let log = log_of(300);
    let mut set = TileSet::new(300);
    for (id, bytes) in tiles_of(&log) {
        set.insert(&id, &bytes).unwrap();
    }
    let id = TileId::parse_path("tile/entries/000").unwrap();
    let mut bundle = log.tile(&id).unwrap();
    bundle[5] ^= 1;
    assert_eq!(
        set.verify_bundle(&id, &bundle).unwrap_err().code(),
        "ledger.tile_mismatch"
    );
    let good = log.tile(&id).unwrap();
    assert_eq!(
        set.verify_bundle(&id, &good[..good.len() - 1])
            .unwrap_err()
            .code(),
        "ledger.bundle_format"
    );
    assert!(decode_bundle(&[0]).is_err());
}

#[test]
fn checkpoint_with_a_wrong_signature_is_refused() {
    let log = log_of(10);
    let signer = log_signer();
    let text = log.checkpoint(&signer).unwrap().to_text();
    let forged = text.replacen("\n10\n", "\n11\n", 1);
    let err = SignedCheckpoint::open(forged.as_bytes(), signer.verifier()).unwrap_err();
    assert_eq!(err.code(), "ledger.note_bad_signature");
    let other = NoteSigner::from_seed(ORIGIN, &[8u8; 32]).unwrap();
    let err = SignedCheckpoint::open(text.as_bytes(), other.verifier()).unwrap_err();
    assert_eq!(err.code(), "ledger.note_unverified");
}

#[test]
fn checkpoint_under_a_wrong_key_name_is_refused() {
    let log = log_of(10);
    let impostor = NoteSigner::from_seed("fr-mj.comity.example/ledger", &[7u8; 32]).unwrap();
    assert_eq!(
        log.checkpoint(&impostor).unwrap_err().code(),
        "ledger.origin_mismatch"
    );
    let cp = SignedCheckpoint::sign(
        comity_ledger::Checkpoint::new(ORIGIN, 10, log.root().unwrap()),
        &impostor,
    );
    let err = SignedCheckpoint::open(cp.to_text().as_bytes(), impostor.verifier()).unwrap_err();
    assert_eq!(err.code(), "ledger.origin_mismatch");
    let err = SignedCheckpoint::open(cp.to_text().as_bytes(), log_signer().verifier()).unwrap_err();
    assert_eq!(err.code(), "ledger.note_unverified");
}

#[test]
fn malformed_notes_are_refused_without_panicking() {
    let text = log_of(3).checkpoint(&log_signer()).unwrap().to_text();
    let cases = [
        text.replace('\u{2014}', "-"),
        text.trim_end().to_owned(),
        text.replace("\n\n", "\n"),
        text.replacen('\n', "\r\n", 1),
        format!("{text}\u{2014} x\n"),
        format!("{text}\u{2014} x AAA=\n"),
        String::new(),
    ];
    for c in cases {
        assert!(
            SignedCheckpoint::open(c.as_bytes(), log_signer().verifier()).is_err(),
            "{c:?}"
        );
    }
    assert!(SignedCheckpoint::open(&[0xff, 0xfe, b'\n'], log_signer().verifier()).is_err());
}
