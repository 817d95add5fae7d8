//! Custody events (pure): every step of an item's life, signed by the acting node, naming the
//! user, chained to the previous event of the same item, and recorded in the node's ledger.
//!
//! Signed bytes: `"comity/v1/custody-event" || 0x00 || u32 BE length || JCS(event)` (RFC 8785
//! canonical JSON, the same framing as comity-seal's signatures). The event digest that chains
//! events and goes into the ledger is `SHA-256(JCS(event))`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use comity_ledger::Entry;
use comity_ledger::EntryKind;
use comity_ledger::entry::{Digest as EntryDigest, Subject};
use comity_model::{NodeId, Timestamp};
use comity_seal::PublicKey;
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::conditions::UseConditions;
use crate::digest::Sha256Digest;
use crate::error::{EvidenceError, Result};

/// Domain-separation context of custody event signatures.
pub const EVENT_CONTEXT: &str = "comity/v1/custody-event";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Acquired,
    Sealed,
    Sent,
    Received,
    Verified,
    Accessed,
    Exported,
    Returned,
    Destroyed,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acquired => "acquired",
            Self::Sealed => "sealed",
            Self::Sent => "sent",
            Self::Received => "received",
            Self::Verified => "verified",
            Self::Accessed => "accessed",
            Self::Exported => "exported",
            Self::Returned => "returned",
            Self::Destroyed => "destroyed",
        }
    }
}

/// How an item was seized: the facts a court asks about first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acquisition {
    /// The person who seized it (name and function).
    pub by: String,
    /// Where: premises, device, account.
    pub location: String,
    /// Tool and version, e.g. `FTK Imager 4.7.1`.
    pub tool: String,
    /// Method, e.g. `logical copy of the mailbox under warrant 2026/113`.
    pub method: String,
}

/// One custody event, version 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyEvent {
    pub v: u32,
    /// The item: SHA-256 of its plaintext.
    pub evidence: Sha256Digest,
    /// The case the item belongs to at the acting node.
    pub case: String,
    /// 0 for the first event of the item, then +1.
    pub seq: u64,
    /// Digest of the previous event of the item (absent for seq 0).
    pub prev: Option<Sha256Digest>,
    pub action: Action,
    pub time: Timestamp,
    /// The acting node; it signs the event.
    pub node: NodeId,
    /// The user at that node who acted.
    pub user: String,
    /// Required for `acquired`.
    pub acquisition: Option<Acquisition>,
    /// The other node of a `sent`, `received` or `returned`.
    pub counterpart: Option<NodeId>,
    /// Conditions set by the providing state (on `acquired` and `sent`).
    pub conditions: Option<UseConditions>,
    pub note: Option<String>,
}

fn token_ok(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 128
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:/@".contains(&b))
}

impl CustodyEvent {
    /// Checks the rules of the format; signing refuses an event that breaks one.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(EvidenceError::EventFormat(m));
        if self.v != 1 {
            return bad(format!("version {} is not 1", self.v));
        }
        if !token_ok(&self.case) {
            return bad(format!(
                "case {:?} must be 1 to 128 characters from A-Z a-z 0-9 . _ : / @ -",
                self.case
            ));
        }
        if !token_ok(&self.user) || self.user.contains('/') {
            return bad(format!(
                "user {:?} must be 1 to 128 characters from A-Z a-z 0-9 . _ : @ -",
                self.user
            ));
        }
        if (self.seq == 0) != self.prev.is_none() {
            return bad("the first event (seq 0) and only it has no `prev`".into());
        }
        if (self.action == Action::Acquired) != self.acquisition.is_some() {
            return bad("`acquisition` is required on `acquired` and only there".into());
        }
        let needs_counterpart = matches!(
            self.action,
            Action::Sent | Action::Received | Action::Returned
        );
        if needs_counterpart != self.counterpart.is_some() {
            return bad(format!(
                "`counterpart` is required on sent, received and returned only (action {})",
                self.action.as_str()
            ));
        }
        if let Some(a) = &self.acquisition
            && [&a.by, &a.location, &a.tool, &a.method]
                .iter()
                .any(|s| s.trim().is_empty())
        {
            return bad("acquisition needs by, location, tool and method".into());
        }
        // Every event is recorded in its node's ledger: what no entry can record (a time before
        // 1970, a node and user longer than an entry's actor) is not an event.
        self.ledger_entry().map_err(|e| {
            EvidenceError::EventFormat(format!("no ledger entry can record it: {e}"))
        })?;
        Ok(())
    }

    /// RFC 8785 canonical JSON of the event.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        jcs(self)
    }

    /// `SHA-256(JCS(event))`: chains events and is committed in the ledger entry.
    pub fn digest(&self) -> Sha256Digest {
        Sha256Digest::of(&self.canonical_bytes())
    }

    pub fn signed_bytes(&self) -> Vec<u8> {
        let body = self.canonical_bytes();
        let mut out = Vec::with_capacity(EVENT_CONTEXT.len() + 5 + body.len());
        out.extend_from_slice(EVENT_CONTEXT.as_bytes());
        out.push(0);
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Signs with the acting node's key (`NodeSecrets::signing_key()`).
    pub fn sign(self, key: &SigningKey) -> Result<SignedEvent> {
        self.validate()?;
        let signature = key.sign(&self.signed_bytes()).to_bytes();
        Ok(SignedEvent {
            event: self,
            signature: B64.encode(signature),
        })
    }

    /// The event that follows `prev` for the same item.
    pub fn next_after(
        prev: &CustodyEvent,
        action: Action,
        time: Timestamp,
        node: NodeId,
        user: &str,
    ) -> Self {
        Self {
            v: 1,
            evidence: prev.evidence,
            case: prev.case.clone(),
            seq: prev.seq + 1,
            prev: Some(prev.digest()),
            action,
            time,
            node,
            user: user.to_owned(),
            acquisition: None,
            counterpart: None,
            conditions: None,
            note: None,
        }
    }

    /// The ledger entry (v1, kind `custody_event`) the acting node appends for this event.
    pub fn ledger_entry(&self) -> Result<Entry> {
        let time_ms = u64::try_from(self.time.unix_ms())
            .map_err(|_| EvidenceError::EventFormat("time before 1970".into()))?;
        let mut attrs = BTreeMap::new();
        attrs.insert("action".to_owned(), self.action.as_str().to_owned());
        attrs.insert("seq".to_owned(), self.seq.to_string());
        if let Some(c) = &self.counterpart {
            attrs.insert("counterpart".to_owned(), c.to_string());
        }
        let entry = Entry {
            kind: EntryKind::CustodyEvent,
            time_ms,
            actor: format!("{}/{}", self.node, self.user),
            subjects: vec![
                Subject {
                    kind: "evidence".into(),
                    id: self.evidence.hex(),
                },
                Subject {
                    kind: "case".into(),
                    id: self.case.clone(),
                },
            ],
            digests: vec![EntryDigest {
                label: "event".into(),
                sha256: self.digest().hex(),
            }],
            attrs,
        };
        entry.validate()?;
        Ok(entry)
    }
}

pub(crate) fn jcs<T: Serialize>(value: &T) -> Vec<u8> {
    // Our types have string keys and no floats, so canonicalisation cannot fail.
    serde_json_canonicalizer::to_vec(value).unwrap_or_default()
}

/// An event with its Ed25519 signature (base64). Stored and shipped as its canonical JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEvent {
    pub event: CustodyEvent,
    pub signature: String,
}

impl SignedEvent {
    pub fn to_json(&self) -> Vec<u8> {
        jcs(self)
    }

    /// Parses canonical JSON only, so one event has one byte string.
    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let e: SignedEvent =
            serde_json::from_slice(bytes).map_err(|e| EvidenceError::EventFormat(e.to_string()))?;
        if e.to_json() != bytes {
            return Err(EvidenceError::EventFormat(
                "not in canonical JSON form (RFC 8785)".into(),
            ));
        }
        e.event.validate()?;
        Ok(e)
    }

    /// Checks the signature against `key` (the acting node's signing key from its descriptor).
    pub fn verify(&self, key: &PublicKey) -> Result<()> {
        let sig: [u8; 64] = B64
            .decode(&self.signature)
            .ok()
            .and_then(|v| v.try_into().ok())
            .ok_or_else(|| EvidenceError::EventSignature(self.event.node.to_string()))?;
        if !key.verify(&self.event.signed_bytes(), &sig) {
            return Err(EvidenceError::EventSignature(self.event.node.to_string()));
        }
        Ok(())
    }
}

/// The events of one item in order, with the chain checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timeline {
    events: Vec<SignedEvent>,
}

impl Timeline {
    /// Checks that the events form one chain for one item: seq 0, 1, 2..., each `prev` the digest
    /// of the event before, times never going backwards. Signatures are checked separately
    /// ([`Timeline::verify_signatures`]), since the keys come from descriptors.
    pub fn new(events: Vec<SignedEvent>) -> Result<Self> {
        let first = events.first().ok_or_else(|| EvidenceError::Chain {
            index: 0,
            reason: "no events".into(),
        })?;
        let item = first.event.evidence;
        for (i, e) in events.iter().enumerate() {
            let ev = &e.event;
            let chain = |reason: String| Err(EvidenceError::Chain { index: i, reason });
            if ev.evidence != item {
                return chain(format!("event is about {}, not {item}", ev.evidence));
            }
            if ev.seq != i as u64 {
                return chain(format!(
                    "seq is {}, expected {i} (an event is missing or out of order)",
                    ev.seq
                ));
            }
            if i > 0 {
                let before = &events[i - 1].event;
                if ev.prev != Some(before.digest()) {
                    return chain("prev is not the digest of the event before it".into());
                }
                if ev.time < before.time {
                    return chain(format!(
                        "time {} is before the previous event's {}",
                        ev.time, before.time
                    ));
                }
            }
        }
        if first.event.action != Action::Acquired {
            return Err(EvidenceError::Chain {
                index: 0,
                reason: format!(
                    "the first event is {}, not acquired",
                    first.event.action.as_str()
                ),
            });
        }
        Ok(Self { events })
    }

    pub fn events(&self) -> &[SignedEvent] {
        &self.events
    }

    pub fn evidence(&self) -> Sha256Digest {
        self.events[0].event.evidence
    }

    pub fn last(&self) -> &CustodyEvent {
        &self.events[self.events.len() - 1].event
    }

    /// Checks every signature with `key_of(node)`; the error names the event.
    pub fn verify_signatures(&self, key_of: impl Fn(&NodeId) -> Option<PublicKey>) -> Result<()> {
        for (i, e) in self.events.iter().enumerate() {
            let key = key_of(&e.event.node).ok_or_else(|| EvidenceError::Chain {
                index: i,
                reason: format!("no descriptor for node {}", e.event.node),
            })?;
            e.verify(&key).map_err(|_| EvidenceError::Chain {
                index: i,
                reason: format!("signature does not verify against {}'s key", e.event.node),
            })?;
        }
        Ok(())
    }

    /// Appends an event after checking that it continues the chain.
    pub fn push(&mut self, e: SignedEvent) -> Result<()> {
        let mut all = std::mem::take(&mut self.events);
        all.push(e);
        match Self::new(all.clone()) {
            Ok(t) => {
                *self = t;
                Ok(())
            }
            Err(err) => {
                all.pop();
                self.events = all;
                Err(err)
            }
        }
    }

    /// One line per event, for people: `seq time action node/user [counterpart]`.
    pub fn lines(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| {
                let ev = &e.event;
                let mut s = format!(
                    "{:>3} {} {:<9} {}/{}",
                    ev.seq,
                    ev.time,
                    ev.action.as_str(),
                    ev.node,
                    ev.user
                );
                if let Some(c) = &ev.counterpart {
                    s.push_str(&format!(" <-> {c}"));
                }
                if let Some(a) = &ev.acquisition {
                    s.push_str(&format!(
                        " by {} at {} with {} ({})",
                        a.by, a.location, a.tool, a.method
                    ));
                }
                s
            })
            .collect()
    }
}
