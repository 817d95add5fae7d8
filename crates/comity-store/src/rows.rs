use crate::StoreError;

/// A message accepted from a user, ready to be queued for delivery.
#[derive(Debug, Clone)]
pub struct NewOutbound {
    pub id: String,
    pub peer: String,
    pub conversation: String,
    pub in_reply_to: Option<String>,
    pub kind: String,
    pub created_at: i64,
    pub envelope: Vec<u8>,
    pub digest: Vec<u8>,
    /// The sender's own readable copy of the body: its canonical JSON, the bytes the inner
    /// signature covers.
    pub body: String,
    /// This node's inner signature over header and body, as sealed in the envelope.
    pub inner_signature: Vec<u8>,
    /// The `message_sent` entry committed with the message.
    pub ledger: crate::LedgerAppend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Queued,
    Delivered,
    /// The peer refused it for good (its code is in `last_error`); kept and shown.
    Refused,
    /// Not delivered before the configured maximum age; kept and shown, never dropped.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::Refused => "refused",
            Self::Dead => "dead",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "queued" => Ok(Self::Queued),
            "delivered" => Ok(Self::Delivered),
            "refused" => Ok(Self::Refused),
            "dead" => Ok(Self::Dead),
            other => Err(StoreError::Corrupt(format!(
                "unknown delivery state {other:?}"
            ))),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Outbound {
    pub seq: i64,
    pub id: String,
    pub peer: String,
    pub conversation: String,
    pub in_reply_to: Option<String>,
    pub kind: String,
    pub created_at: i64,
    pub envelope: Vec<u8>,
    pub digest: Vec<u8>,
    pub body: String,
    /// `None` for messages queued before the store kept it (migration 0008).
    pub inner_signature: Option<Vec<u8>>,
    pub state: DeliveryState,
    pub attempts: i64,
    pub delivered_at: Option<i64>,
    pub receipt: Option<Vec<u8>>,
    pub last_error: Option<String>,
    /// Index of the `message_sent` entry in this node's ledger.
    pub log_index: Option<i64>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct OutboundRow {
    seq: i64,
    id: String,
    peer: String,
    conversation: String,
    in_reply_to: Option<String>,
    kind: String,
    created_at: i64,
    envelope: Vec<u8>,
    digest: Vec<u8>,
    body: String,
    inner_signature: Option<Vec<u8>>,
    state: String,
    attempts: i64,
    delivered_at: Option<i64>,
    receipt: Option<Vec<u8>>,
    last_error: Option<String>,
    log_index: Option<i64>,
}

impl TryFrom<OutboundRow> for Outbound {
    type Error = StoreError;
    fn try_from(r: OutboundRow) -> Result<Self, StoreError> {
        Ok(Outbound {
            seq: r.seq,
            id: r.id,
            peer: r.peer,
            conversation: r.conversation,
            in_reply_to: r.in_reply_to,
            kind: r.kind,
            created_at: r.created_at,
            envelope: r.envelope,
            digest: r.digest,
            body: r.body,
            inner_signature: r.inner_signature,
            state: DeliveryState::parse(&r.state)?,
            attempts: r.attempts,
            delivered_at: r.delivered_at,
            receipt: r.receipt,
            last_error: r.last_error,
            log_index: r.log_index,
        })
    }
}

/// A message that passed every check, with the receipt this node signed for it: what is stored,
/// and what is read back. `accept_inbound` fills in `receipt` and `log_index`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Inbound {
    pub id: String,
    pub peer: String,
    pub conversation: String,
    pub in_reply_to: Option<String>,
    pub kind: String,
    pub sent_at: i64,
    pub received_at: i64,
    pub envelope: Vec<u8>,
    pub digest: Vec<u8>,
    /// The canonical body bytes exactly as the sender signed them.
    pub body: Vec<u8>,
    /// The sender's inner signature over header and body, from inside the sealed payload: with
    /// the envelope's header it shows anyone holding the sender's key what the sender signed.
    /// `None` for messages stored before the store kept it (migration 0008).
    pub inner_signature: Option<Vec<u8>>,
    pub receipt: Vec<u8>,
    /// Index of the `message_received` entry in this node's ledger, named in the receipt.
    pub log_index: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PeerHealth {
    pub peer: String,
    pub queued: i64,
    pub dead: i64,
    pub oldest_queued_at: Option<i64>,
    pub last_success_at: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
    pub next_attempt_at: i64,
    pub failures: i64,
}

/// The refusals of one peer's input with one code in one window, the first kept as a sample.
/// Written with the refusals to add; read with the totals.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RefusalSummary {
    /// The member the input came from: authenticated by TLS, or the signer of an accepted
    /// message. Empty for refusals recorded before they were attributed (migration 0009).
    pub peer: String,
    pub code: String,
    /// Unix ms at which the window starts.
    pub window_start: i64,
    pub count: i64,
    pub first_at: i64,
    pub last_at: i64,
    /// The sample: the message id and sender the first refused input claimed (unverified),
    /// and why it was refused.
    pub message_id: Option<String>,
    pub claimed_from: Option<String>,
    pub detail: String,
}
