use std::fmt;
use std::str::FromStr;

use comity_model::{NodeId, Timestamp};

use crate::{PdqError, PdqHash};

fn field(field: &'static str, reason: impl Into<String>) -> PdqError {
    PdqError::ListField {
        field,
        reason: reason.into(),
    }
}

fn is_code(s: &str, max: usize, extra: &[char]) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || extra.contains(&c))
}

/// Names a list within the federation, e.g. `dz-police/csam-baseline`: lowercase letters, digits,
/// `-`, `.` and `/`, at most 80 characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ListId(String);

impl ListId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ListId {
    type Err = PdqError;
    fn from_str(s: &str) -> Result<Self, PdqError> {
        if is_code(s, 80, &['.', '/']) {
            Ok(Self(s.to_owned()))
        } else {
            Err(field(
                "list id",
                format!("{s:?} is not 1-80 of a-z 0-9 - . / starting with a letter or digit"),
            ))
        }
    }
}

impl fmt::Display for ListId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the pictures show, as a short code agreed in the federation (e.g. `csam-baseline` for
/// material meeting the internationally agreed baseline, `csam-national`, `terrorist-content`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Category(String);

impl Category {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Category {
    type Err = PdqError;
    fn from_str(s: &str) -> Result<Self, PdqError> {
        if is_code(s, 40, &[]) {
            Ok(Self(s.to_owned()))
        } else {
            Err(field("category", format!("{s:?} is not 1-40 of a-z 0-9 -")))
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An opaque series reference that only the contributor can resolve (1-64 bytes); it lets an
/// investigator ask the contributor about a series without the list revealing anything about it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SeriesId(Vec<u8>);

impl SeriesId {
    pub fn new(bytes: Vec<u8>) -> Result<Self, PdqError> {
        if (1..=64).contains(&bytes.len()) {
            Ok(Self(bytes))
        } else {
            Err(field(
                "series id",
                format!("{} bytes; 1 to 64 are allowed", bytes.len()),
            ))
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(&self.0))
    }
}

impl fmt::Debug for SeriesId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SeriesId({self})")
    }
}

/// Identifies an entry within its list; assigned by the publisher, never reused.
pub type EntryId = u64;

/// One picture known to the contributor, by its hashes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub id: EntryId,
    pub pdq: PdqHash,
    /// The quality score the contributor's hasher gave (0-100).
    pub quality: u8,
    pub sha256: Option<[u8; 32]>,
    pub md5: Option<[u8; 16]>,
    pub category: Category,
    pub series: Option<SeriesId>,
    /// A victim shown has been identified, so the case is not to be re-opened for identification.
    pub victim_identified: bool,
    pub contributor: NodeId,
    pub added_at: Timestamp,
}

/// Version `version` of a list: what it adds and revokes relative to version `version - 1`,
/// whose digest it carries so that the versions form a hash chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListUpdate {
    pub list: ListId,
    /// The node whose key signs every version of this list.
    pub publisher: NodeId,
    /// 1 for the first version.
    pub version: u64,
    /// [`crate::list::UpdateDigest`] of the previous version; all zero for version 1.
    pub previous: [u8; 32],
    pub issued_at: Timestamp,
    /// In strictly increasing id order (the canonical form).
    pub added: Vec<ListEntry>,
    /// In strictly increasing order.
    pub revoked: Vec<EntryId>,
}

/// An update with the publisher's Ed25519 signature over its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedListUpdate {
    pub update: ListUpdate,
    pub signature: [u8; 64],
}
