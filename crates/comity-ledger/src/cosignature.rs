//! C2SP tlog-cosignature/v1: a witness's timestamped Ed25519 statement about a checkpoint.

use ed25519_dalek::{Signer as _, SigningKey};

use crate::checkpoint::Checkpoint;
use crate::error::{LedgerError, Result};
use crate::note::{KeyKind, NoteSignature, NoteVerifier};

/// Timestamps above this are refused (the format caps them at 2^63 - 1).
pub const MAX_TIMESTAMP: u64 = (1 << 63) - 1;

/// The signed message: `cosignature/v1\ntime <ts>\n` followed by the checkpoint note text.
pub fn message(timestamp: u64, checkpoint_text: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {timestamp}\n{checkpoint_text}").into_bytes()
}

/// Splits a cosignature blob (after the key id) into its timestamp and Ed25519 signature.
pub fn split(blob: &[u8]) -> Result<(u64, &[u8])> {
    if blob.len() != 8 + 64 {
        return Err(LedgerError::CosignatureFormat(format!(
            "cosignature is {} bytes, expected 72 (timestamp and Ed25519 signature)",
            blob.len()
        )));
    }
    let (ts, sig) = blob.split_at(8);
    let mut arr = [0u8; 8];
    arr.copy_from_slice(ts);
    let ts = u64::from_be_bytes(arr);
    if ts > MAX_TIMESTAMP {
        return Err(LedgerError::CosignatureFormat(format!(
            "timestamp {ts} exceeds 2^63-1"
        )));
    }
    Ok((ts, sig))
}

/// A witness key (signature type 0x04). Comity nodes cosign each other's checkpoints with it.
pub struct Cosigner {
    key: SigningKey,
    verifier: NoteVerifier,
}

impl std::fmt::Debug for Cosigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Cosigner({})", self.verifier.to_vkey())
    }
}

impl Cosigner {
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self> {
        let key = SigningKey::from_bytes(seed);
        let verifier = NoteVerifier::new(name, KeyKind::CosignatureV1, key.verifying_key())?;
        Ok(Self { key, verifier })
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Cosigns a checkpoint at `timestamp` (POSIX seconds, passed in by the caller).
    pub fn cosign(&self, checkpoint: &Checkpoint, timestamp: u64) -> Result<NoteSignature> {
        if timestamp > MAX_TIMESTAMP {
            return Err(LedgerError::CosignatureFormat(format!(
                "timestamp {timestamp} exceeds 2^63-1"
            )));
        }
        let sig = self.key.sign(&message(timestamp, &checkpoint.to_text()));
        let mut blob = timestamp.to_be_bytes().to_vec();
        blob.extend_from_slice(&sig.to_bytes());
        Ok(NoteSignature {
            name: self.verifier.name().to_owned(),
            key_id: self.verifier.key_id(),
            signature: blob,
        })
    }
}
