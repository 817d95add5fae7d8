//! Signed, versioned, append-only hash lists with revocations, and matching against them.

mod chain;
mod codec;
mod file;
mod keys;
mod matcher;
mod types;

pub use chain::{HashList, UpdateDigest};
pub use comity_model::{NodeId, Timestamp};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
pub use file::{decode_list_file, encode_list_file};
pub use keys::{key_to_hex, signing_key_from_hex, verifying_key_from_hex};
pub use matcher::{ListMatch, MatchKind, Matcher};
pub use types::{Category, EntryId, ListEntry, ListId, ListUpdate, SeriesId, SignedListUpdate};

/// Canonical bytes of an update, as signed (after a domain prefix) and chained.
pub fn update_bytes(update: &ListUpdate) -> Vec<u8> {
    codec::encode_update(update)
}

/// Parses canonical update bytes, refusing any non-canonical encoding.
pub fn parse_update_bytes(bytes: &[u8]) -> Result<ListUpdate, crate::PdqError> {
    codec::decode_update(bytes, 0)
}

/// Bytes of one signed update (`len:u32 update signature:[64]`), as stored and served.
pub fn signed_update_bytes(update: &SignedListUpdate) -> Vec<u8> {
    codec::encode_signed(update)
}

/// Parses the bytes of exactly one signed update; its signature is checked on applying it.
pub fn parse_signed_update_bytes(bytes: &[u8]) -> Result<SignedListUpdate, crate::PdqError> {
    let (update, used) = codec::decode_signed(bytes, 0)?;
    if used != bytes.len() {
        return Err(crate::PdqError::ListFormat {
            offset: used,
            reason: format!("{} unexpected bytes after the update", bytes.len() - used),
        });
    }
    Ok(update)
}
