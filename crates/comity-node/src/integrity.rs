//! Stored content checked against what was signed for it: a message against its envelope's
//! signatures, the sender's inner signature kept with it, the receipt and its ledger entry; a
//! request against the digest its latest `request_state` entry records, each transition of its
//! timeline against its own entry. What the API shows passes these checks first; a row that
//! fails one is never shown, and becomes an `integrity` alarm naming the table, the row, what
//! was expected and what was found.

use std::collections::HashMap;

use comity_ledger::{Entry, EntryKind};
use comity_model::{Header, Timestamp};
use comity_seal::{Envelope, PublicKey, Receipt, SealError, key_id, verify_inner, verify_outer};
use comity_store::{Inbound, Outbound, StoreError, StoredEvent, StoredRequest};
use comity_workflow::Request;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::{Node, NodeError, now_ms};

/// The alarm kind of a stored row that contradicts what was signed.
pub(crate) const ALARM_KIND: &str = "integrity";

/// A stored row that contradicts what was signed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mismatch {
    pub(crate) table: &'static str,
    pub(crate) row: String,
    pub(crate) field: &'static str,
    pub(crate) expected: String,
    pub(crate) found: String,
}

impl Mismatch {
    fn new(
        table: &'static str,
        row: &str,
        field: &'static str,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Box<Mismatch> {
        Box::new(Mismatch {
            table,
            row: row.to_owned(),
            field,
            expected: expected.into(),
            found: found.into(),
        })
    }

    /// The alarm's evidence: the same mismatch always gives the same bytes, so it is recorded
    /// once however often it is found.
    pub(crate) fn evidence(&self) -> Value {
        json!({
            "version": 1,
            "table": self.table,
            "row": self.row,
            "field": self.field,
            "expected": self.expected,
            "found": self.found,
        })
    }

    pub(crate) fn message(&self) -> String {
        format!(
            "stored {} row {}: {} contradicts what was signed for it (expected {}, found {}); \
             it is not shown: restore it from a backup (see `comity ledger alarms`)",
            self.table, self.row, self.field, self.expected, self.found
        )
    }
}

/// Why a check could not conclude: the row contradicts what was signed, or the node could not
/// read what it needed.
#[derive(Debug)]
pub(crate) enum CheckError {
    Mismatch(Box<Mismatch>),
    Node(NodeError),
}

impl From<Box<Mismatch>> for CheckError {
    fn from(m: Box<Mismatch>) -> Self {
        CheckError::Mismatch(m)
    }
}

impl From<NodeError> for CheckError {
    fn from(e: NodeError) -> Self {
        CheckError::Node(e)
    }
}

impl From<StoreError> for CheckError {
    fn from(e: StoreError) -> Self {
        CheckError::Node(e.into())
    }
}

impl From<comity_workflow::WorkflowError> for CheckError {
    fn from(e: comity_workflow::WorkflowError) -> Self {
        CheckError::Node(e.into())
    }
}

pub(crate) type Checked<T> = Result<T, CheckError>;

/// How the content of a stored message was found to be what was signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Proof {
    /// By the sender's inner signature kept with it, made by this key.
    InnerSignature(PublicKey),
    /// Received before inner signatures were kept: the stored envelope was opened again.
    Reopened,
    /// Not checked, and why.
    None(String),
}

impl Proof {
    pub(crate) fn verified(&self) -> bool {
        !matches!(self, Proof::None(_))
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Proof::InnerSignature(k) => format!("inner signature of key {}", key_id(k)),
            Proof::Reopened => "received before the inner signature was kept (store migration \
                                0008): checked by opening the stored envelope again"
                .into(),
            Proof::None(why) => format!("not verified: {why}"),
        }
    }
}

/// A stored message whose rows agree with its signed envelope.
#[derive(Debug, Clone)]
pub(crate) struct CheckedMessage {
    pub(crate) header: Header,
    /// The envelope's `signer` (key id of the sender's signing key).
    pub(crate) signer: String,
    /// The body's canonical JSON, as signed.
    pub(crate) body: Vec<u8>,
    pub(crate) inner_signature: Option<[u8; 64]>,
    pub(crate) proof: Proof,
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The envelope stored in `table` row `row`: its bytes hash to the digest stored with it (which
/// the receipt and the ledger entry name), it parses, and its header says what the columns say.
fn stored_envelope(
    table: &'static str,
    row: &str,
    envelope: &[u8],
    digest: &[u8],
    columns: &[(&'static str, String)],
) -> Result<Envelope, Box<Mismatch>> {
    let actual = Envelope::digest(envelope);
    if actual.as_slice() != digest {
        return Err(Mismatch::new(
            table,
            row,
            "envelope",
            format!("bytes of digest {}", hex::encode(digest)),
            format!("bytes of digest {}", hex::encode(actual)),
        ));
    }
    let env = Envelope::from_bytes(envelope)
        .map_err(|e| Mismatch::new(table, row, "envelope", "a v1 envelope", e.to_string()))?;
    let h = &env.header;
    let header_says = [
        ("id", h.id.to_string()),
        ("kind", h.kind.to_string()),
        ("conversation", h.conversation.to_string()),
        (
            "in_reply_to",
            h.in_reply_to.map(|m| m.to_string()).unwrap_or_default(),
        ),
        ("sent_at", h.sent_at.unix_ms().to_string()),
        ("from", h.from.to_string()),
        ("to", h.to.to_string()),
    ];
    for (name, stored) in columns {
        if let Some((_, signed)) = header_says.iter().find(|(n, _)| n == name)
            && signed != stored
        {
            return Err(Mismatch::new(
                table,
                row,
                name,
                signed.clone(),
                stored.clone(),
            ));
        }
    }
    Ok(env)
}

/// The outer signature of a stored envelope: `Ok(None)` when it verifies, `Ok(Some(why))` when
/// no key the trust list still knows can say.
fn outer_signature(
    table: &'static str,
    row: &str,
    env: &Envelope,
    keys: &[PublicKey],
) -> Result<Option<String>, Box<Mismatch>> {
    match verify_outer(env, keys) {
        Ok(_) => Ok(None),
        Err(e @ (SealError::UnknownSigner { .. } | SealError::KeyRetired { .. })) => {
            Ok(Some(e.to_string()))
        }
        Err(e) => Err(Mismatch::new(
            table,
            row,
            "envelope",
            format!("the signature of key {}", env.signer),
            e.to_string(),
        )),
    }
}

fn signature_bytes(
    table: &'static str,
    row: &str,
    sig: Option<&Vec<u8>>,
) -> Result<Option<[u8; 64]>, Box<Mismatch>> {
    sig.map(|s| {
        <[u8; 64]>::try_from(s.as_slice()).map_err(|_| {
            Mismatch::new(
                table,
                row,
                "inner_signature",
                "64 bytes",
                format!("{} bytes", s.len()),
            )
        })
    })
    .transpose()
}

/// The body bytes against the kept inner signature.
fn inner(
    table: &'static str,
    row: &str,
    env: &Envelope,
    body: &[u8],
    signature: &[u8; 64],
    keys: &[PublicKey],
) -> Result<Proof, Box<Mismatch>> {
    match verify_inner(&env.header, body, signature, &env.signer, keys) {
        Ok(key) => Ok(Proof::InnerSignature(key)),
        Err(SealError::UnknownSigner { .. }) => Ok(Proof::None(format!(
            "key {} is no longer in the trust list",
            env.signer
        ))),
        Err(_) => Err(Mismatch::new(
            table,
            row,
            "body",
            format!("the body signed by key {}", env.signer),
            format!(
                "a body of digest {} that its inner signature does not cover",
                hex_sha256(body)
            ),
        )),
    }
}

/// The `request_state` entry at `index` among `entries`, which must be about the request of
/// `row` (`<id>` or `<id>#<seq>`).
fn state_entry_in(
    entries: &HashMap<u64, Vec<u8>>,
    table: &'static str,
    row: &str,
    index: i64,
) -> Result<Entry, Box<Mismatch>> {
    let id = row.split('#').next().unwrap_or(row);
    let entry = u64::try_from(index)
        .ok()
        .and_then(|i| entries.get(&i))
        .and_then(|b| Entry::parse(b).ok());
    match entry {
        Some(e)
            if e.kind == EntryKind::RequestState
                && e.subjects
                    .first()
                    .is_some_and(|s| s.kind == "request" && s.id == id) =>
        {
            Ok(e)
        }
        other => Err(Mismatch::new(
            table,
            row,
            "log_index",
            format!("entry {index}: request_state of request {id}"),
            match other {
                Some(e) => format!("entry {index}: {}", e.kind.as_str()),
                None => format!("no readable entry {index}"),
            },
        )),
    }
}

/// A ledger entry of `kind` about message `id` with the envelope digest `digest`.
fn message_entry_matches(
    table: &'static str,
    id: &str,
    log_index: Option<i64>,
    kind: EntryKind,
    digest: &[u8],
    bytes: Option<&Vec<u8>>,
) -> Result<(), Box<Mismatch>> {
    let Some(index) = log_index else {
        return Err(Mismatch::new(
            table,
            id,
            "log_index",
            format!("the index of its {} entry", kind.as_str()),
            "none",
        ));
    };
    let expected = format!(
        "entry {index}: {} of message {id} with envelope digest {}",
        kind.as_str(),
        hex::encode(digest)
    );
    let entry = bytes.and_then(|b| Entry::parse(b).ok());
    let fits = entry.as_ref().is_some_and(|e| {
        e.kind == kind
            && e.subjects
                .first()
                .is_some_and(|s| s.kind == "message" && s.id == id)
            && e.digests
                .iter()
                .any(|d| d.label == "envelope" && d.sha256 == hex::encode(digest))
    });
    if fits {
        return Ok(());
    }
    let found = match &entry {
        Some(e) => format!(
            "entry {index}: {} of {} with digests {}",
            e.kind.as_str(),
            e.subjects
                .first()
                .map_or_else(String::new, |s| format!("{} {}", s.kind, s.id)),
            e.digests
                .iter()
                .map(|d| format!("{} {}", d.label, d.sha256))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => format!("no readable entry {index}"),
    };
    Err(Mismatch::new(table, id, "log_index", expected, found))
}

impl Node {
    /// Every signing key this node ever held that the trust list still names: for what it
    /// signed itself (receipts, envelopes, checkpoints).
    pub(crate) fn own_keys(&self) -> Vec<PublicKey> {
        self.trust().signing_keys_ever(self.id())
    }

    /// A received message checked against what its sender signed (and this node's receipt).
    pub(crate) fn check_inbound(&self, m: &Inbound) -> Result<CheckedMessage, Box<Mismatch>> {
        const T: &str = "inbox";
        let columns = [
            ("id", m.id.clone()),
            ("from", m.peer.clone()),
            ("to", self.id().to_string()),
            ("kind", m.kind.clone()),
            ("conversation", m.conversation.clone()),
            ("in_reply_to", m.in_reply_to.clone().unwrap_or_default()),
            ("sent_at", m.sent_at.to_string()),
        ];
        let env = stored_envelope(T, &m.id, &m.envelope, &m.digest, &columns)?;
        self.check_own_receipt(m)?;
        let keys = self
            .trust()
            .signing_keys_at(&env.header.from, Timestamp::from_unix_ms(m.received_at));
        let signature = signature_bytes(T, &m.id, m.inner_signature.as_ref())?;
        let proof = match outer_signature(T, &m.id, &env, &keys)? {
            Some(why) => Proof::None(why),
            None => match &signature {
                Some(sig) => inner(T, &m.id, &env, &m.body, sig, &keys)?,
                None => self.reopen(&m.id, &env, &m.body, &keys)?,
            },
        };
        Ok(CheckedMessage {
            header: env.header.clone(),
            signer: env.signer.clone(),
            body: m.body.clone(),
            inner_signature: signature,
            proof,
        })
    }

    /// A message received before inner signatures were kept: its envelope opened again with
    /// this node's key must give the stored body.
    fn reopen(
        &self,
        id: &str,
        env: &Envelope,
        body: &[u8],
        keys: &[PublicKey],
    ) -> Result<Proof, Box<Mismatch>> {
        match comity_seal::open(env, &self.inner.secrets, keys) {
            Ok(opened) if opened.body_bytes == body => Ok(Proof::Reopened),
            Ok(opened) => Err(Mismatch::new(
                "inbox",
                id,
                "body",
                format!("the body of digest {}", hex_sha256(&opened.body_bytes)),
                format!("a body of digest {}", hex_sha256(body)),
            )),
            Err(SealError::DecryptFailed) => Ok(Proof::None(
                "received before the inner signature was kept (store migration 0008) and sealed \
                 to a key this node no longer holds"
                    .into(),
            )),
            Err(e) => Err(Mismatch::new(
                "inbox",
                id,
                "envelope",
                "an envelope that opens",
                e.to_string(),
            )),
        }
    }

    /// The receipt this node signed for a received message names it, its digest and its entry.
    fn check_own_receipt(&self, m: &Inbound) -> Result<(), Box<Mismatch>> {
        let bad = |found: String| {
            Mismatch::new(
                "inbox",
                &m.id,
                "receipt",
                format!(
                    "this node's receipt for message {} of digest {} at entry {:?}",
                    m.id,
                    hex::encode(&m.digest),
                    m.log_index
                ),
                found,
            )
        };
        let receipt = Receipt::from_bytes(&m.receipt).map_err(|e| bad(e.to_string()))?;
        let digest = <[u8; 32]>::try_from(m.digest.as_slice())
            .map_err(|_| bad(format!("a digest of {} bytes", m.digest.len())))?;
        match receipt.verify(&self.own_keys(), &digest) {
            Ok(()) | Err(SealError::UnknownSigner { .. }) => {}
            Err(e) => return Err(bad(e.to_string())),
        }
        let index = receipt.log_index.and_then(|i| i64::try_from(i).ok());
        if receipt.message.to_string() != m.id || index != m.log_index {
            return Err(bad(format!(
                "a receipt for message {} at entry {:?}",
                receipt.message, receipt.log_index
            )));
        }
        Ok(())
    }

    /// A message this node sent checked against its envelope, its own inner signature kept
    /// with it, and the recipient's receipt.
    pub(crate) fn check_outbound(&self, m: &Outbound) -> Result<CheckedMessage, Box<Mismatch>> {
        const T: &str = "outbox";
        let columns = [
            ("id", m.id.clone()),
            ("from", self.id().to_string()),
            ("to", m.peer.clone()),
            ("kind", m.kind.clone()),
            ("conversation", m.conversation.clone()),
            ("in_reply_to", m.in_reply_to.clone().unwrap_or_default()),
            ("sent_at", m.created_at.to_string()),
        ];
        let env = stored_envelope(T, &m.id, &m.envelope, &m.digest, &columns)?;
        let keys = self.own_keys();
        let signature = signature_bytes(T, &m.id, m.inner_signature.as_ref())?;
        let proof = match outer_signature(T, &m.id, &env, &keys)? {
            Some(why) => Proof::None(why),
            None => match &signature {
                Some(sig) => inner(T, &m.id, &env, m.body.as_bytes(), sig, &keys)?,
                None => Proof::None(
                    "queued before this node kept its inner signature (store migration 0008)"
                        .into(),
                ),
            },
        };
        if let Some(bytes) = &m.receipt {
            self.check_peer_receipt(m, &env.header, bytes)?;
        }
        Ok(CheckedMessage {
            header: env.header.clone(),
            signer: env.signer.clone(),
            body: m.body.as_bytes().to_vec(),
            inner_signature: signature,
            proof,
        })
    }

    /// The receipt the recipient signed, verified before it was stored: it still must be.
    fn check_peer_receipt(
        &self,
        m: &Outbound,
        header: &Header,
        bytes: &[u8],
    ) -> Result<(), Box<Mismatch>> {
        let bad = |found: String| {
            Mismatch::new(
                "outbox",
                &m.id,
                "receipt",
                format!("{}'s signed receipt for this envelope", m.peer),
                found,
            )
        };
        let receipt = Receipt::from_bytes(bytes).map_err(|e| bad(e.to_string()))?;
        let keys = self
            .trust()
            .signing_keys_at(&header.to, receipt.received_at.plus_ms(1));
        match receipt.verify_for(header, &m.envelope, &keys) {
            Ok(()) | Err(SealError::UnknownSigner { .. } | SealError::KeyRetired { .. }) => Ok(()),
            Err(e) => Err(bad(e.to_string())),
        }
    }

    /// Stored messages each checked against what was signed (`check_inbound`/`check_outbound`)
    /// and against the ledger entry it names (`message_received` / `message_sent` of the same
    /// message with the same envelope digest), the entries read in one query. Returns every
    /// mismatch found.
    pub(crate) async fn check_messages(
        &self,
        inbound: &[Inbound],
        outbound: &[Outbound],
    ) -> Result<Vec<Mismatch>, NodeError> {
        let mut rows: Vec<(&'static str, &str, Option<i64>, &[u8])> = Vec::new();
        let mut found = Vec::new();
        for m in inbound {
            match self.check_inbound(m) {
                Ok(_) => rows.push(("inbox", &m.id, m.log_index, &m.digest)),
                Err(e) => found.push(*e),
            }
        }
        for m in outbound {
            match self.check_outbound(m) {
                Ok(_) => rows.push(("outbox", &m.id, m.log_index, &m.digest)),
                Err(e) => found.push(*e),
            }
        }
        let indexes: Vec<u64> = rows
            .iter()
            .filter_map(|r| r.2.and_then(|i| u64::try_from(i).ok()))
            .collect();
        let entries = self.store().ledger_entries_at(&indexes).await?;
        for (table, id, log_index, digest) in rows {
            let kind = if table == "inbox" {
                EntryKind::MessageReceived
            } else {
                EntryKind::MessageSent
            };
            let bytes = log_index
                .and_then(|i| u64::try_from(i).ok())
                .and_then(|i| entries.get(&i));
            if let Err(e) = message_entry_matches(table, id, log_index, kind, digest, bytes) {
                found.push(*e);
            }
        }
        Ok(found)
    }

    /// A stored request checked against the `request` digest of its latest `request_state`
    /// entry, and its copied columns against the request itself. Returns the request and, for
    /// one last changed before requests were bound to their entries, why it is not verified.
    pub(crate) async fn check_request(
        &self,
        stored: &StoredRequest,
    ) -> Checked<(Request, Option<String>)> {
        const T: &str = "requests";
        let id = &stored.id;
        let unverified = match stored.log_index {
            None => Some(
                "last changed before requests were bound to their ledger entries (store \
                 migration 0008)"
                    .to_owned(),
            ),
            Some(index) => {
                let digest = hex_sha256(stored.request.as_bytes());
                let entry = self.state_entry_at(T, id, index).await?;
                let signed = entry
                    .digests
                    .iter()
                    .find(|d| d.label == "request")
                    .map(|d| d.sha256.clone())
                    .unwrap_or_default();
                if signed != digest {
                    return Err(Mismatch::new(
                        T,
                        id,
                        "request",
                        format!("the request of digest {signed} (ledger entry {index})"),
                        format!("a request of digest {digest}"),
                    )
                    .into());
                }
                None
            }
        };
        let request = Request::from_json(&stored.request)?;
        let me = self.id();
        let (side, peer) = if request.requesting == *me {
            ("requesting", &request.requested)
        } else {
            ("requested", &request.requesting)
        };
        let columns = [
            (
                "state",
                request.state.as_str().to_owned(),
                stored.state.clone(),
            ),
            (
                "kind",
                request.kind.as_str().to_owned(),
                stored.kind.clone(),
            ),
            ("side", side.to_owned(), stored.side.as_str().to_owned()),
            ("peer", peer.to_string(), stored.peer.clone()),
            (
                "due_at",
                format!("{:?}", request.due.as_ref().map(|d| d.at.unix_ms())),
                format!("{:?}", stored.due_at),
            ),
        ];
        for (name, signed, column) in columns {
            if signed != column {
                return Err(Mismatch::new(T, id, name, signed, column).into());
            }
        }
        Ok((request, unverified))
    }

    /// The `request_state` entry at `index`, which must be about request `id`.
    async fn state_entry_at(&self, table: &'static str, row: &str, index: i64) -> Checked<Entry> {
        let at = u64::try_from(index).unwrap_or(u64::MAX);
        let found = self.store().ledger_entries_at(&[at]).await?;
        Ok(state_entry_in(&found, table, row, index)?)
    }

    /// Each transition of a timeline against the `event` digest of its own `request_state`
    /// entry (all read in one query). Returns whether every transition is bound to one (those
    /// stored before migration 0008 are not; alerts never are: they record the scheduler's
    /// reminders, not a change).
    pub(crate) async fn check_events(&self, id: &str, events: &[StoredEvent]) -> Checked<bool> {
        let indexes: Vec<u64> = events
            .iter()
            .filter_map(|e| e.log_index.and_then(|i| u64::try_from(i).ok()))
            .collect();
        let entries = self.store().ledger_entries_at(&indexes).await?;
        let mut all = true;
        for e in events {
            let Some(index) = e.log_index else {
                all &= e.event.event != "transition";
                continue;
            };
            let row = format!("{id}#{}", e.seq);
            let entry = state_entry_in(&entries, "request_events", &row, index)?;
            let digest = hex::encode(crate::requests::event_digest(&e.event));
            let signed = entry
                .digests
                .iter()
                .find(|d| d.label == "event")
                .map(|d| d.sha256.clone())
                .unwrap_or_default();
            if signed != digest {
                return Err(Mismatch::new(
                    "request_events",
                    &row,
                    "event",
                    format!("the event of digest {signed} (ledger entry {index})"),
                    format!("an event of digest {digest}"),
                )
                .into());
            }
        }
        Ok(all)
    }

    /// Records a mismatch as an `integrity` alarm (once per distinct evidence).
    pub(crate) async fn raise(&self, m: &Mismatch) {
        let evidence = m.evidence().to_string();
        let fingerprint = hex_sha256(evidence.as_bytes());
        let me = self.id().to_string();
        match self
            .store()
            .record_alarm(&me, ALARM_KIND, &evidence, &fingerprint, now_ms())
            .await
        {
            Ok(true) => tracing::error!("INTEGRITY ALARM: {}", m.message()),
            Ok(false) => {}
            Err(e) => {
                tracing::error!(error = %e, "could not record an integrity alarm: {}", m.message())
            }
        }
    }

    /// The outcome of a check as the API answers it: a mismatch is raised as an alarm and
    /// answered `store.tampered`, never with the stored content.
    pub(crate) async fn verdict<T>(&self, checked: Checked<T>) -> Result<T, NodeError> {
        match checked {
            Ok(v) => Ok(v),
            Err(CheckError::Node(e)) => Err(e),
            Err(CheckError::Mismatch(m)) => {
                self.raise(&m).await;
                Err(NodeError::Tampered(m.message()))
            }
        }
    }
}
