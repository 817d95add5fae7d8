//! Shared helpers: fixed keys and small logs.

use std::path::PathBuf;

use comity_ledger::{Cosigner, MemoryLog, NoteSigner};

pub const ORIGIN: &str = "dz-moj.comity.example/ledger";

pub fn log_signer() -> NoteSigner {
    NoteSigner::from_seed(ORIGIN, &[7u8; 32]).unwrap()
}

pub fn witness_key(n: u8) -> Cosigner {
    Cosigner::from_seed(&format!("fr-mj.comity.example/witness{n}"), &[100 + n; 32]).unwrap()
}

pub fn entry_bytes(i: u64) -> Vec<u8> {
    format!("entry number {i}\n").into_bytes()
}

pub fn log_of(size: u64) -> MemoryLog {
    let mut log = MemoryLog::new(ORIGIN);
    for i in 0..size {
        log.append(&entry_bytes(i)).unwrap();
    }
    log
}

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// transparency-dev/merkle's proof vectors, copied into the tree with their licence
/// (`tests/vectors/README.md`); absence is a failure.
pub fn proof_vectors() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/merkle-proofs");
    assert!(p.is_dir(), "test vectors missing at {}", p.display());
    p
}
