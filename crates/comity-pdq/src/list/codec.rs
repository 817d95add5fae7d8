//! Canonical bytes of list updates (format 1). Every value has exactly one encoding and decoding
//! refuses anything else (unsorted ids, unknown flags, trailing bytes), so a digest names one
//! update. Integers are big-endian; strings are UTF-8 after a length.
//!
//! ```text
//! update   = format:u8(1) list:str16 publisher:str8 version:u64 previous:[32]
//!            issued_at:i64(unix ms) n_added:u32 entry* n_revoked:u32 entry_id:u64*
//! entry    = id:u64 pdq:[32] quality:u8 flags:u8 [sha256:[32]] [md5:[16]]
//!            category:str8 series:bytes8(0 = none) contributor:str8 added_at:i64
//! flags    = bit 0 SHA-256 present, bit 1 MD5 present, bit 2 victim identified
//! signed   = len:u32 update signature:[64]
//! ```

use comity_model::{NodeId, Timestamp};

use super::{Category, ListEntry, ListId, ListUpdate, SeriesId, SignedListUpdate};
use crate::{PdqError, PdqHash};

const FORMAT: u8 = 1;
const HAS_SHA256: u8 = 1;
const HAS_MD5: u8 = 2;
const VICTIM_IDENTIFIED: u8 = 4;
/// Bounds a hostile length field before anything is allocated for it.
const MAX_ITEMS: u32 = 10_000_000;

pub(crate) fn encode_update(u: &ListUpdate) -> Vec<u8> {
    let mut w = Vec::with_capacity(64 + u.added.len() * 160 + u.revoked.len() * 8);
    w.push(FORMAT);
    put_str16(&mut w, u.list.as_str());
    put_str8(&mut w, u.publisher.as_str());
    w.extend_from_slice(&u.version.to_be_bytes());
    w.extend_from_slice(&u.previous);
    w.extend_from_slice(&u.issued_at.unix_ms().to_be_bytes());
    w.extend_from_slice(&(u.added.len() as u32).to_be_bytes());
    for e in &u.added {
        encode_entry(&mut w, e);
    }
    w.extend_from_slice(&(u.revoked.len() as u32).to_be_bytes());
    for id in &u.revoked {
        w.extend_from_slice(&id.to_be_bytes());
    }
    w
}

fn encode_entry(w: &mut Vec<u8>, e: &ListEntry) {
    w.extend_from_slice(&e.id.to_be_bytes());
    w.extend_from_slice(&e.pdq.to_bytes());
    w.push(e.quality);
    let flags = if e.sha256.is_some() { HAS_SHA256 } else { 0 }
        | if e.md5.is_some() { HAS_MD5 } else { 0 }
        | if e.victim_identified {
            VICTIM_IDENTIFIED
        } else {
            0
        };
    w.push(flags);
    if let Some(d) = &e.sha256 {
        w.extend_from_slice(d);
    }
    if let Some(d) = &e.md5 {
        w.extend_from_slice(d);
    }
    put_str8(w, e.category.as_str());
    let series = e.series.as_ref().map_or(&[][..], SeriesId::as_bytes);
    w.push(series.len() as u8);
    w.extend_from_slice(series);
    put_str8(w, e.contributor.as_str());
    w.extend_from_slice(&e.added_at.unix_ms().to_be_bytes());
}

fn put_str8(w: &mut Vec<u8>, s: &str) {
    w.push(s.len() as u8);
    w.extend_from_slice(s.as_bytes());
}

fn put_str16(w: &mut Vec<u8>, s: &str) {
    w.extend_from_slice(&(s.len() as u16).to_be_bytes());
    w.extend_from_slice(s.as_bytes());
}

pub(crate) fn encode_signed(s: &SignedListUpdate) -> Vec<u8> {
    let body = encode_update(&s.update);
    let mut w = Vec::with_capacity(4 + body.len() + 64);
    w.extend_from_slice(&(body.len() as u32).to_be_bytes());
    w.extend_from_slice(&body);
    w.extend_from_slice(&s.signature);
    w
}

/// Reads one signed update from the front of `bytes`; returns it and the bytes it used.
pub(crate) fn decode_signed(
    bytes: &[u8],
    base: usize,
) -> Result<(SignedListUpdate, usize), PdqError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        base,
    };
    let len = r.u32()? as usize;
    let body = r.take(len)?;
    let signature = r.array::<64>()?;
    let update = decode_update(body, base + 4)?;
    Ok((SignedListUpdate { update, signature }, r.pos))
}

pub(crate) fn decode_update(bytes: &[u8], base: usize) -> Result<ListUpdate, PdqError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        base,
    };
    let format = r.u8()?;
    if format != FORMAT {
        return Err(r.err(format!(
            "update format {format}; this build reads format {FORMAT}"
        )));
    }
    let list: ListId = r.str16()?.parse()?;
    let publisher: NodeId = r.node()?;
    let version = r.u64()?;
    let previous = r.array::<32>()?;
    let issued_at = Timestamp::from_unix_ms(r.i64()?);
    let n_added = r.count()?;
    let mut added: Vec<ListEntry> = Vec::new();
    for _ in 0..n_added {
        let entry = decode_entry(&mut r)?;
        if added.last().is_some_and(|prev| prev.id >= entry.id) {
            return Err(r.err(format!(
                "entry {} is out of order (ids must increase)",
                entry.id
            )));
        }
        added.push(entry);
    }
    let n_revoked = r.count()?;
    let mut revoked: Vec<u64> = Vec::new();
    for _ in 0..n_revoked {
        let id = r.u64()?;
        if revoked.last().is_some_and(|prev| *prev >= id) {
            return Err(r.err(format!(
                "revoked id {id} is out of order (ids must increase)"
            )));
        }
        revoked.push(id);
    }
    if r.pos != bytes.len() {
        return Err(r.err(format!(
            "{} unexpected bytes after the update",
            bytes.len() - r.pos
        )));
    }
    Ok(ListUpdate {
        list,
        publisher,
        version,
        previous,
        issued_at,
        added,
        revoked,
    })
}

fn decode_entry(r: &mut Reader<'_>) -> Result<ListEntry, PdqError> {
    let id = r.u64()?;
    let pdq = PdqHash::from_bytes(r.array::<32>()?);
    let quality = r.u8()?;
    if quality > 100 {
        return Err(r.err(format!("entry {id}: quality {quality} is above 100")));
    }
    let flags = r.u8()?;
    if flags & !(HAS_SHA256 | HAS_MD5 | VICTIM_IDENTIFIED) != 0 {
        return Err(r.err(format!("entry {id}: unknown flag bits {flags:#04x}")));
    }
    let sha256 = if flags & HAS_SHA256 != 0 {
        Some(r.array::<32>()?)
    } else {
        None
    };
    let md5 = if flags & HAS_MD5 != 0 {
        Some(r.array::<16>()?)
    } else {
        None
    };
    let category: Category = r.str8()?.parse()?;
    let series_len = r.u8()? as usize;
    let series = match series_len {
        0 => None,
        n => Some(SeriesId::new(r.take(n)?.to_vec())?),
    };
    let contributor = r.node()?;
    let added_at = Timestamp::from_unix_ms(r.i64()?);
    Ok(ListEntry {
        id,
        pdq,
        quality,
        sha256,
        md5,
        category,
        series,
        victim_identified: flags & VICTIM_IDENTIFIED != 0,
        contributor,
        added_at,
    })
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `bytes` in the whole input, so errors point into the file.
    base: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, reason: String) -> PdqError {
        PdqError::ListFormat {
            offset: self.base + self.pos,
            reason,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PdqError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len());
        match end.and_then(|end| self.bytes.get(self.pos..end)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.err(format!(
                "needs {n} more bytes, {} left",
                self.bytes.len() - self.pos
            ))),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], PdqError> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, PdqError> {
        Ok(self.array::<1>()?[0])
    }

    fn u32(&mut self) -> Result<u32, PdqError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, PdqError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64, PdqError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn count(&mut self) -> Result<u32, PdqError> {
        let n = self.u32()?;
        if n > MAX_ITEMS {
            return Err(self.err(format!("{n} items; at most {MAX_ITEMS} per update")));
        }
        Ok(n)
    }

    fn text(&mut self, n: usize) -> Result<&'a str, PdqError> {
        let bytes = self.take(n)?;
        std::str::from_utf8(bytes).map_err(|_| self.err("text is not UTF-8".into()))
    }

    fn str8(&mut self) -> Result<&'a str, PdqError> {
        let n = self.u8()? as usize;
        self.text(n)
    }

    fn str16(&mut self) -> Result<&'a str, PdqError> {
        let n = u16::from_be_bytes(self.array()?) as usize;
        self.text(n)
    }

    fn node(&mut self) -> Result<NodeId, PdqError> {
        let s = self.str8()?;
        s.parse()
            .map_err(|e: comity_model::ModelError| PdqError::ListField {
                field: "node id",
                reason: e.to_string(),
            })
    }
}
