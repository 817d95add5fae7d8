//! The index's file format (version 1), all integers big-endian:
//!
//! ```text
//! magic    8 bytes  "CMTYPDQX"
//! version  u32      1
//! count    u64      number of entries
//! entries  count x (hash 32 bytes, as printed; id u64)
//! checksum 32 bytes SHA-256 of every byte before it
//! ```
//!
//! Posting lists are not stored: rebuilding them is a linear pass, and leaving them out keeps the
//! file at 40 bytes per hash and free of internal offsets that a damaged file could abuse.

use sha2::{Digest, Sha256};

use crate::{HashIndex, PdqError, PdqHash};

const MAGIC: &[u8; 8] = b"CMTYPDQX";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8;
const ENTRY: usize = 32 + 8;

impl HashIndex {
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + self.len() * ENTRY + 32);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_be_bytes());
        out.extend_from_slice(&(self.len() as u64).to_be_bytes());
        for (hash, id) in self.entries() {
            out.extend_from_slice(&hash.to_bytes());
            out.extend_from_slice(&id.to_be_bytes());
        }
        let digest = Sha256::digest(&out);
        out.extend_from_slice(&digest);
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PdqError> {
        let bad = |why: &str| PdqError::IndexFormat(why.to_owned());
        let (body, checksum) = bytes
            .split_last_chunk::<32>()
            .ok_or_else(|| bad("shorter than a checksum"))?;
        let (header, entries) = body
            .split_at_checked(HEADER)
            .ok_or_else(|| bad("shorter than the header"))?;
        if header.get(..8) != Some(MAGIC.as_slice()) {
            return Err(bad("not a Comity PDQ index (wrong magic bytes)"));
        }
        let version = u32::from_be_bytes(array(header, 8)?);
        if version != VERSION {
            return Err(bad(&format!(
                "version {version}; this build reads version {VERSION}"
            )));
        }
        if Sha256::digest(body).as_slice() != checksum.as_slice() {
            return Err(PdqError::IndexChecksum);
        }
        let count = u64::from_be_bytes(array(header, 12)?);
        if entries.len() as u64 != count.saturating_mul(ENTRY as u64) {
            return Err(bad(&format!(
                "header says {count} entries but {} bytes follow",
                entries.len()
            )));
        }
        let parsed = entries.chunks_exact(ENTRY).map(|e| {
            let hash = PdqHash::from_bytes(array(e, 0).unwrap_or([0; 32]));
            let id = u64::from_be_bytes(array(e, 32).unwrap_or([0; 8]));
            (hash, id)
        });
        HashIndex::from_entries(parsed)
    }
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> Result<[u8; N], PdqError> {
    bytes
        .get(at..at + N)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| PdqError::IndexFormat("truncated".into()))
}
