//! JSON views of stored messages and peers, as the API shows them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use comity_seal::Receipt;
use comity_store::{Inbound, Outbound, PeerHealth, RefusalSummary};
use serde::Serialize;
use serde_json::{Value, json};

use crate::integrity::{CheckedMessage, Mismatch, Proof};
use crate::{Node, NodeError};

fn ts(ms: i64) -> String {
    comity_model::Timestamp::from_unix_ms(ms).to_string()
}

/// One message, sent or received, with its receipt. Its header fields and body come from
/// stored bytes checked against what was signed (`integrity`).
#[derive(Debug, Serialize)]
pub struct MessageView {
    pub id: String,
    /// `outbound` (sent by this node) or `inbound`.
    pub direction: &'static str,
    pub peer: String,
    pub kind: String,
    pub conversation: String,
    pub in_reply_to: Option<String>,
    /// `queued`, `delivered`, `refused` or `dead` for outbound; `received` for inbound.
    pub state: String,
    pub created_at: Option<String>,
    pub sent_at: Option<String>,
    pub delivered_at: Option<String>,
    pub received_at: Option<String>,
    pub attempts: Option<i64>,
    pub last_error: Option<String>,
    /// SHA-256 of the envelope's wire bytes, hex.
    pub digest: String,
    pub body: Value,
    /// Whether the body and header were checked against the sender's signatures.
    pub verified: bool,
    /// How they were checked, or why they could not be.
    pub verification: String,
    /// Whether the sender's inner signature is kept with the message
    /// (`GET /api/v1/messages/{id}/signed`); not for messages stored before store migration 0008.
    pub inner_signature_kept: bool,
    /// The signed receipt as stored, and whether its signature checks against the recipient's keys.
    pub receipt: Option<Value>,
    pub receipt_verified: Option<bool>,
    /// Index of this node's ledger entry recording the message (`message_sent` or
    /// `message_received`); the receipt of a delivered message names the recipient's.
    pub log_index: Option<i64>,
    /// In a list, a message whose stored rows contradict what was signed: listed with this
    /// error (`store.tampered`) and without its content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tampered: Option<Value>,
}

fn body_value(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or(Value::Null)
}

impl MessageView {
    pub(crate) fn outbound(node: &Node, m: Outbound) -> Result<MessageView, Box<Mismatch>> {
        let checked = node.check_outbound(&m)?;
        let (receipt, receipt_verified) = match &m.receipt {
            Some(bytes) => {
                let verified = verify_receipt(node, bytes, &m.digest, &m.peer);
                (serde_json::from_slice(bytes).ok(), Some(verified))
            }
            None => (None, None),
        };
        let h = &checked.header;
        Ok(MessageView {
            id: h.id.to_string(),
            direction: "outbound",
            peer: h.to.to_string(),
            kind: h.kind.to_string(),
            conversation: h.conversation.to_string(),
            in_reply_to: h.in_reply_to.map(|p| p.to_string()),
            state: m.state.as_str().to_owned(),
            created_at: Some(ts(m.created_at)),
            sent_at: Some(h.sent_at.to_string()),
            delivered_at: m.delivered_at.map(ts),
            received_at: None,
            attempts: Some(m.attempts),
            last_error: m.last_error,
            digest: hex::encode(&m.digest),
            body: body_value(&checked.body),
            verified: checked.proof.verified(),
            verification: checked.proof.describe(),
            inner_signature_kept: checked.inner_signature.is_some(),
            receipt,
            receipt_verified,
            log_index: m.log_index,
            tampered: None,
        })
    }

    pub(crate) fn inbound(node: &Node, m: Inbound) -> Result<MessageView, Box<Mismatch>> {
        let checked = node.check_inbound(&m)?;
        let h = &checked.header;
        Ok(MessageView {
            id: h.id.to_string(),
            direction: "inbound",
            peer: h.from.to_string(),
            kind: h.kind.to_string(),
            conversation: h.conversation.to_string(),
            in_reply_to: h.in_reply_to.map(|p| p.to_string()),
            state: "received".into(),
            created_at: None,
            sent_at: Some(h.sent_at.to_string()),
            delivered_at: None,
            received_at: Some(ts(m.received_at)),
            attempts: None,
            last_error: None,
            digest: hex::encode(&m.digest),
            body: body_value(&checked.body),
            verified: checked.proof.verified(),
            verification: checked.proof.describe(),
            inner_signature_kept: checked.inner_signature.is_some(),
            receipt: serde_json::from_slice(&m.receipt).ok(),
            receipt_verified: None,
            log_index: m.log_index,
            tampered: None,
        })
    }

    /// A listed message that failed its check: its id and the error, nothing it stores.
    pub(crate) fn withheld(direction: &'static str, id: String, error: &NodeError) -> MessageView {
        MessageView {
            id,
            direction,
            peer: String::new(),
            kind: String::new(),
            conversation: String::new(),
            in_reply_to: None,
            state: String::new(),
            created_at: None,
            sent_at: None,
            delivered_at: None,
            received_at: None,
            attempts: None,
            last_error: None,
            digest: String::new(),
            body: Value::Null,
            verified: false,
            verification: error.to_string(),
            inner_signature_kept: false,
            receipt: None,
            receipt_verified: None,
            log_index: None,
            tampered: Some(error.to_json()),
        }
    }
}

/// What the sender of a message signed, for anyone to check with the sender's public key alone:
/// `signed_bytes` = `TBS("comity/v1/message", header_jcs, body_jcs)` (docs/protocol.md §7.2),
/// `signature` is Ed25519 over them by the key `signer` names.
pub(crate) fn signed_view(
    direction: &str,
    checked: &CheckedMessage,
    signature: &[u8; 64],
) -> Value {
    let header = comity_seal::canonical_header(&checked.header);
    let key = match &checked.proof {
        Proof::InnerSignature(k) => Some(k.to_string()),
        _ => None,
    };
    json!({
        "id": checked.header.id,
        "direction": direction,
        "from": checked.header.from,
        "to": checked.header.to,
        "context": comity_seal::INNER_CONTEXT,
        "header": checked.header,
        "body": body_value(&checked.body),
        "header_jcs": B64.encode(&header),
        "body_jcs": B64.encode(&checked.body),
        "signed_bytes": B64.encode(comity_seal::inner_signed_bytes(&checked.header, &checked.body)),
        "signature": B64.encode(signature),
        "signer": checked.signer,
        "signer_key": key,
        "verified": checked.proof.verified(),
        "verification": checked.proof.describe(),
    })
}

fn verify_receipt(node: &Node, bytes: &[u8], digest: &[u8], peer: &str) -> bool {
    let (Ok(receipt), Ok(digest), Ok(peer)) = (
        Receipt::from_bytes(bytes),
        <[u8; 32]>::try_from(digest),
        peer.parse(),
    ) else {
        return false;
    };
    let keys = node
        .trust()
        .signing_keys_at(&peer, receipt.received_at.plus_ms(1));
    receipt.verify(&keys, &digest).is_ok()
}

/// A federation member and how delivery to it is going.
#[derive(Debug, Serialize)]
pub struct PeerView {
    pub node: String,
    pub name: String,
    pub jurisdiction: String,
    pub roles: Vec<String>,
    pub endpoint: String,
    pub queued: i64,
    pub dead: i64,
    pub oldest_undelivered_at: Option<String>,
    pub last_success_at: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub next_attempt_at: Option<String>,
    pub consecutive_failures: i64,
    /// Input from this peer this node refused in the last hour (`GET /api/v1/rejections`).
    pub refused_last_hour: i64,
    /// Set while this node turns the peer's batches away for too many refusals.
    pub throttled_until: Option<String>,
}

/// How far back `refused_last_hour` counts.
pub(crate) const REFUSALS_SHOWN_MS: i64 = 3_600_000;

pub(crate) fn peers(
    node: &Node,
    health: Vec<PeerHealth>,
    refused: Vec<(String, i64)>,
) -> Vec<PeerView> {
    let now = crate::now_ms();
    let trust = node.trust();
    trust
        .members()
        .filter(|d| d.node != *node.id())
        .map(|d| {
            let h = health.iter().find(|h| h.peer == d.node.as_str());
            PeerView {
                node: d.node.to_string(),
                name: d.name.clone(),
                jurisdiction: d.jurisdiction.to_string(),
                roles: d.roles.iter().map(|r| r.to_string()).collect(),
                endpoint: d.endpoint.clone(),
                queued: h.map_or(0, |h| h.queued),
                dead: h.map_or(0, |h| h.dead),
                oldest_undelivered_at: h.and_then(|h| h.oldest_queued_at).map(ts),
                last_success_at: h.and_then(|h| h.last_success_at).map(ts),
                last_error: h.and_then(|h| h.last_error.clone()),
                last_error_at: h.and_then(|h| h.last_error_at).map(ts),
                next_attempt_at: h.map(|h| h.next_attempt_at).filter(|t| *t > 0).map(ts),
                consecutive_failures: h.map_or(0, |h| h.failures),
                refused_last_hour: refused
                    .iter()
                    .find(|(p, _)| p == d.node.as_str())
                    .map_or(0, |(_, n)| *n),
                throttled_until: node
                    .inner
                    .refusals
                    .throttled_until(d.node.as_str(), now)
                    .map(ts),
            }
        })
        .collect()
}

/// The refusals of one peer with one code in one window, as `GET /api/v1/rejections` shows them.
#[derive(Debug, Serialize)]
pub(crate) struct RefusalView {
    /// The member the input came from (TLS client or signer); null for refusals recorded before
    /// refusals were attributed.
    pub peer: Option<String>,
    pub code: String,
    pub count: i64,
    pub window_start: String,
    pub first_at: String,
    pub last_at: String,
    /// The first refusal of the window: what it claimed (unverified) and why it was refused.
    pub sample: RefusalSample,
}

#[derive(Debug, Serialize)]
pub(crate) struct RefusalSample {
    pub message_id: Option<String>,
    pub claimed_from: Option<String>,
    pub detail: String,
}

impl From<RefusalSummary> for RefusalView {
    fn from(r: RefusalSummary) -> RefusalView {
        RefusalView {
            peer: Some(r.peer).filter(|p| !p.is_empty()),
            code: r.code,
            count: r.count,
            window_start: ts(r.window_start),
            first_at: ts(r.first_at),
            last_at: ts(r.last_at),
            sample: RefusalSample {
                message_id: r.message_id,
                claimed_from: r.claimed_from,
                detail: r.detail,
            },
        }
    }
}
