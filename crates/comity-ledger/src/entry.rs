//! Comity log entries, version 1: what the node records, and the exact bytes a leaf hash covers.
//!
//! Canonical bytes are UTF-8 text, one field per line, each line ending in `\n`:
//!
//! ```text
//! comity-ledger-entry/v1
//! kind <kind>
//! time <unix milliseconds, decimal, no leading zeros>
//! actor <token>
//! subject <type token> <id token>        (0..=16 lines, in recorded order, no duplicates)
//! digest <label token> sha256:<64 lowercase hex> (0..=16 lines, in recorded order, labels unique)
//! attr <key token> <value token>         (0..=16 lines, keys strictly ascending)
//! ```
//!
//! A token is 1 to 128 bytes from `A-Z a-z 0-9 . _ : / @ -`. Parsing accepts only this exact
//! form (re-encoding must give back the same bytes), so one entry has one byte string.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{LedgerError, Result};

/// First line of every version-1 entry.
pub const ENTRY_HEADER_V1: &str = "comity-ledger-entry/v1";
/// Most subjects, digests or attributes one entry carries.
pub const MAX_ITEMS: usize = 16;
/// Longest token.
pub const MAX_TOKEN: usize = 128;

/// What happened. New kinds need a new entry version, so old verifiers never misread one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    MessageSent,
    MessageReceived,
    RequestState,
    CustodyEvent,
    DataAccess,
}

impl EntryKind {
    pub const ALL: [EntryKind; 5] = [
        Self::MessageSent,
        Self::MessageReceived,
        Self::RequestState,
        Self::CustodyEvent,
        Self::DataAccess,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageSent => "message_sent",
            Self::MessageReceived => "message_received",
            Self::RequestState => "request_state",
            Self::CustodyEvent => "custody_event",
            Self::DataAccess => "data_access",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| LedgerError::EntryFormat(format!("unknown kind {s:?}")))
    }
}

/// A thing the entry is about, e.g. `message 0193...` or `request mla-2026-17`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

/// A SHA-256 digest of something the entry commits to (message bytes, evidence blob, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub label: String,
    /// Lowercase hex, 64 digits.
    pub sha256: String,
}

/// One log entry (version 1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub kind: EntryKind,
    /// Milliseconds since the Unix epoch, UTC.
    pub time_ms: u64,
    /// Who acted: a node id, or `node/user`.
    pub actor: String,
    #[serde(default)]
    pub subjects: Vec<Subject>,
    #[serde(default)]
    pub digests: Vec<Digest>,
    #[serde(default)]
    pub attrs: BTreeMap<String, String>,
}

fn check_token(what: &str, t: &str) -> Result<()> {
    let ok = !t.is_empty()
        && t.len() <= MAX_TOKEN
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:/@".contains(&b));
    if !ok {
        return Err(LedgerError::EntryFormat(format!(
            "{what} {t:?} must be 1 to {MAX_TOKEN} characters from A-Z a-z 0-9 . _ : / @ -"
        )));
    }
    Ok(())
}

impl Entry {
    /// Checks every rule of the format; [`Entry::to_bytes`] refuses entries that break one.
    pub fn validate(&self) -> Result<()> {
        check_token("actor", &self.actor)?;
        for (what, n) in [
            ("subjects", self.subjects.len()),
            ("digests", self.digests.len()),
            ("attrs", self.attrs.len()),
        ] {
            if n > MAX_ITEMS {
                return Err(LedgerError::EntryFormat(format!(
                    "{n} {what}, at most {MAX_ITEMS} allowed"
                )));
            }
        }
        for (i, s) in self.subjects.iter().enumerate() {
            check_token("subject type", &s.kind)?;
            check_token("subject id", &s.id)?;
            if self.subjects[..i].contains(s) {
                return Err(LedgerError::EntryFormat(format!(
                    "subject {} {} appears twice",
                    s.kind, s.id
                )));
            }
        }
        for (i, d) in self.digests.iter().enumerate() {
            check_token("digest label", &d.label)?;
            let hex_ok = d.sha256.len() == 64
                && d.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex_ok {
                return Err(LedgerError::EntryFormat(format!(
                    "digest {} is not 64 lowercase hex digits",
                    d.label
                )));
            }
            if self.digests[..i].iter().any(|o| o.label == d.label) {
                return Err(LedgerError::EntryFormat(format!(
                    "digest label {} appears twice",
                    d.label
                )));
            }
        }
        for (k, v) in &self.attrs {
            check_token("attr key", k)?;
            check_token("attr value", v)?;
        }
        Ok(())
    }

    /// The canonical bytes (see the module documentation); the leaf hash covers exactly these.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let mut s = format!(
            "{ENTRY_HEADER_V1}\nkind {}\ntime {}\nactor {}\n",
            self.kind.as_str(),
            self.time_ms,
            self.actor
        );
        for sub in &self.subjects {
            s.push_str(&format!("subject {} {}\n", sub.kind, sub.id));
        }
        for d in &self.digests {
            s.push_str(&format!("digest {} sha256:{}\n", d.label, d.sha256));
        }
        for (k, v) in &self.attrs {
            s.push_str(&format!("attr {k} {v}\n"));
        }
        if s.len() > usize::from(u16::MAX) {
            return Err(LedgerError::EntryTooLarge(s.len()));
        }
        Ok(s.into_bytes())
    }

    /// Parses canonical bytes; anything else (other order, spacing, case, version) is refused.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bad = |m: String| LedgerError::EntryFormat(m);
        let text = std::str::from_utf8(bytes).map_err(|_| bad("entry is not UTF-8".into()))?;
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("entry does not end with a newline".into()))?;
        let mut lines = body.split('\n');
        let header = lines.next().unwrap_or_default();
        if header != ENTRY_HEADER_V1 {
            return Err(bad(format!(
                "first line is {header:?}, expected {ENTRY_HEADER_V1:?}"
            )));
        }
        let mut field = |name: &str| -> Result<String> {
            let line = lines
                .next()
                .ok_or_else(|| bad(format!("{name} line is missing")))?;
            line.strip_prefix(name)
                .and_then(|r| r.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or_else(|| bad(format!("expected a {name} line, got {line:?}")))
        };
        let kind = EntryKind::parse(&field("kind")?)?;
        let time_s = field("time")?;
        let time_ms = (time_s == "0" || !time_s.starts_with('0'))
            .then(|| time_s.parse::<u64>().ok())
            .flatten()
            .filter(|_| time_s.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| bad(format!("time {time_s:?} is not decimal milliseconds")))?;
        let actor = field("actor")?;
        let mut entry = Entry {
            kind,
            time_ms,
            actor,
            subjects: Vec::new(),
            digests: Vec::new(),
            attrs: BTreeMap::new(),
        };
        for line in lines {
            let mut parts = line.splitn(3, ' ');
            let (Some(tag), Some(a), Some(b)) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad(format!("line {line:?} is not `tag a b`")));
            };
            match tag {
                "subject" => entry.subjects.push(Subject {
                    kind: a.to_owned(),
                    id: b.to_owned(),
                }),
                "digest" => {
                    let hex = b
                        .strip_prefix("sha256:")
                        .ok_or_else(|| bad(format!("digest {a} is not sha256:<hex>")))?;
                    entry.digests.push(Digest {
                        label: a.to_owned(),
                        sha256: hex.to_owned(),
                    });
                }
                "attr" => {
                    entry.attrs.insert(a.to_owned(), b.to_owned());
                }
                other => return Err(bad(format!("unknown line tag {other:?}"))),
            }
        }
        if entry.to_bytes()? != bytes {
            return Err(bad(
                "entry is not in canonical form (line order, attribute order or spacing)".into(),
            ));
        }
        Ok(entry)
    }
}
