use md5::Md5;
use sha2::{Digest, Sha256};

/// The exact (cryptographic) hashes lists may carry beside PDQ, for byte-identical copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactDigests {
    pub sha256: [u8; 32],
    /// Only because older hash sets are keyed by it; never used as evidence of identity alone.
    pub md5: [u8; 16],
}

pub fn exact_digests(bytes: &[u8]) -> ExactDigests {
    ExactDigests {
        sha256: Sha256::digest(bytes).into(),
        md5: Md5::digest(bytes).into(),
    }
}
