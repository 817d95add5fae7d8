//! RFC 6962 / RFC 9162 Merkle tree hashing with SHA-256.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

use crate::error::{LedgerError, Result};

/// A SHA-256 Merkle tree hash: a leaf hash, an interior node hash or a root hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Accepts exactly 32 bytes; any other length is refused rather than padded or cut.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 32] = bytes
            .try_into()
            .map_err(|_| LedgerError::HashLength(bytes.len()))?;
        Ok(Self(arr))
    }

    /// Standard base64 (RFC 4648 §4), the encoding used by checkpoints and proof files.
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = B64
            .decode(text)
            .map_err(|_| LedgerError::Base64 { what: "hash" })?;
        Self::from_slice(&bytes)
    }

    pub fn to_base64(&self) -> String {
        B64.encode(self.0)
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Hash::from_base64(&text).map_err(serde::de::Error::custom)
    }
}

/// SHA-256 of nothing: the root of the empty tree (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// Leaf hash: SHA-256(0x00 || entry bytes).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// Interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// Merkle tree hash of a list of leaf hashes (RFC 6962 §2.1), computed without recursion.
/// Used for tiles and tests; logs compute roots from stored hashes instead (`tree::tree_hash`).
pub fn root_of_leaf_hashes(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return empty_root();
    }
    // Fold complete subtrees left to right, then combine the stack right to left: the same
    // shape as the RFC's largest-power-of-two split.
    let mut stack: Vec<(u32, Hash)> = Vec::new();
    for leaf in leaves {
        let mut node = (0u32, *leaf);
        while let Some(&(level, left)) = stack.last() {
            if level != node.0 {
                break;
            }
            stack.pop();
            node = (level + 1, node_hash(&left, &node.1));
        }
        stack.push(node);
    }
    let mut iter = stack.into_iter().rev();
    let mut acc = iter.next().map(|(_, h)| h).unwrap_or_else(empty_root);
    for (_, left) in iter {
        acc = node_hash(&left, &acc);
    }
    acc
}
