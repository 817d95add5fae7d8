//! A list file: a list's history as the publisher exported it, verified on reading.
//!
//! ```text
//! magic "CMTYPDQL"  format:u32(1)  count:u32  signed-update*   (see the codec for signed-update)
//! ```

use super::SignedListUpdate;
use super::codec::{decode_signed, encode_signed};
use crate::PdqError;

const MAGIC: &[u8; 8] = b"CMTYPDQL";
const FORMAT: u32 = 1;

pub fn encode_list_file(updates: &[SignedListUpdate]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&FORMAT.to_be_bytes());
    out.extend_from_slice(&(updates.len() as u32).to_be_bytes());
    for u in updates {
        out.extend_from_slice(&encode_signed(u));
    }
    out
}

/// Parses the updates; their signatures and sequence are checked by [`super::HashList::replay`].
pub fn decode_list_file(bytes: &[u8]) -> Result<Vec<SignedListUpdate>, PdqError> {
    let err = |offset: usize, reason: String| PdqError::ListFormat { offset, reason };
    if bytes.get(..8) != Some(MAGIC.as_slice()) {
        return Err(err(
            0,
            "not a Comity PDQ list file (wrong magic bytes)".into(),
        ));
    }
    let word = |at: usize| {
        bytes
            .get(at..at + 4)
            .and_then(|s| <[u8; 4]>::try_from(s).ok())
            .map(u32::from_be_bytes)
            .ok_or_else(|| err(at, "truncated header".into()))
    };
    let format = word(8)?;
    if format != FORMAT {
        return Err(err(
            8,
            format!("list file format {format}; this build reads format {FORMAT}"),
        ));
    }
    let count = word(12)?;
    let mut pos = 16;
    let mut updates = Vec::new();
    for _ in 0..count {
        let rest = bytes.get(pos..).unwrap_or_default();
        let (update, used) = decode_signed(rest, pos)?;
        updates.push(update);
        pos += used;
    }
    if pos != bytes.len() {
        return Err(err(
            pos,
            format!(
                "{} unexpected bytes after {count} updates",
                bytes.len() - pos
            ),
        ));
    }
    Ok(updates)
}
