//! How Comity names a node's log and its witness key, so that every party derives the same
//! verifier keys from a node id and the node's Ed25519 signing key (published in its descriptor).
//!
//! A node signs its checkpoints and its cosignatures with its identity key. The two uses cannot
//! be confused: cosigned messages start with `cosignature/v1`, and no log origin can, since every
//! origin ends in `.comity/ledger`.

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::cosignature::Cosigner;
use crate::error::Result;
use crate::note::{KeyKind, NoteSigner, NoteVerifier};

/// The checkpoint origin and log key name of `node`'s ledger: `<node>.comity/ledger`.
pub fn log_origin(node: &str) -> String {
    format!("{node}.comity/ledger")
}

/// The key name under which `node` cosigns other logs: `<node>.comity/witness`.
pub fn witness_name(node: &str) -> String {
    format!("{node}.comity/witness")
}

pub fn log_signer(node: &str, key: &SigningKey) -> Result<NoteSigner> {
    NoteSigner::from_seed(&log_origin(node), &key.to_bytes())
}

pub fn log_verifier(node: &str, key: &VerifyingKey) -> Result<NoteVerifier> {
    NoteVerifier::new(&log_origin(node), KeyKind::Ed25519, *key)
}

pub fn witness_cosigner(node: &str, key: &SigningKey) -> Result<Cosigner> {
    Cosigner::from_seed(&witness_name(node), &key.to_bytes())
}

pub fn witness_verifier(node: &str, key: &VerifyingKey) -> Result<NoteVerifier> {
    NoteVerifier::new(&witness_name(node), KeyKind::CosignatureV1, *key)
}
