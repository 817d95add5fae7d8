//! Bodies of the messages that move evidence between nodes (docs/evidence.md "Transfers").
//!
//! The evidence formats (offers, signed custody events, ledger proofs, use conditions, consents)
//! belong to `comity-evidence`, which builds on this crate; here they travel as JSON values or,
//! where bytes are signed, as the exact text that was signed. This crate checks the envelope of
//! each body; the receiving node parses and verifies the contents.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Problems;
use crate::{MessageId, Timestamp};

/// Version of the evidence message bodies.
pub const EVIDENCE_MESSAGE_VERSION: u32 = 1;

/// One custody event of the item so far, as its signer wrote it, with the inclusion proof of its
/// ledger entry in the signer's ledger. The provider's `sent`, last of the chain, travels without
/// its proof: its entry is committed in the transaction that queues the offer, so no checkpoint
/// covers it when the offer is sealed; the recipient fetches that proof with the chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyLink {
    /// The signed event file (canonical JSON), verbatim.
    pub event: String,
    /// The `comity-ledger-proof/v1` bundle, verbatim; absent only on the last link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// `evidence.offer`: the provider offers an item by reference; the recipient pulls its chunks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceOffer {
    pub v: u32,
    /// Names the transfer on both sides (32 lowercase hex digits, chosen by the provider).
    pub transfer: String,
    /// `comity_evidence::TransferOffer`: digest, size, chunk size, the digest of every chunk.
    pub offer: Value,
    pub name: String,
    pub case: String,
    pub purpose: String,
    /// The cooperation request this answers, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<MessageId>,
    /// `comity_evidence::UseConditions` the provider set.
    pub conditions: Value,
    /// The custody chain so far, ending with the provider's `sent` event.
    pub custody: Vec<CustodyLink>,
}

/// How a transfer ended at the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferOutcome {
    Completed,
    Refused,
}

/// `evidence.report`: the recipient tells the provider how a transfer ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceReport {
    pub v: u32,
    pub transfer: String,
    pub sha256: String,
    pub outcome: TransferOutcome,
    /// The stable error code of a refusal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub at: Timestamp,
}

/// `evidence.consent`: the provider's signed consent to one operation on an item it provided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConsent {
    pub v: u32,
    /// `comity_evidence::SignedConsent`.
    pub consent: Value,
}

fn check_version(p: &mut Problems, v: u32) {
    if v != EVIDENCE_MESSAGE_VERSION {
        p.add(
            "v",
            format!("must be {EVIDENCE_MESSAGE_VERSION}, the version this node reads"),
        );
    }
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_transfer(p: &mut Problems, transfer: &str) {
    if !is_hex(transfer, 32) {
        p.add("transfer", "must be 32 lowercase hex digits");
    }
}

impl EvidenceOffer {
    pub(crate) fn check(&self, p: &mut Problems) {
        check_version(p, self.v);
        check_transfer(p, &self.transfer);
        if !self.offer.is_object() {
            p.add("offer", "must be an object (a transfer offer)");
        }
        if !self.conditions.is_object() {
            p.add("conditions", "must be an object (use conditions)");
        }
        p.require_text("name", &self.name, 1024);
        p.require_text("case", &self.case, 128);
        p.require_text("purpose", &self.purpose, 1024);
        if self.custody.is_empty() {
            p.add("custody", "must hold the custody chain, ending with `sent`");
        }
    }
}

impl EvidenceReport {
    pub(crate) fn check(&self, p: &mut Problems) {
        check_version(p, self.v);
        check_transfer(p, &self.transfer);
        if !is_hex(&self.sha256, 64) {
            p.add("sha256", "must be 64 lowercase hex digits");
        }
        match (self.outcome, &self.code) {
            (TransferOutcome::Refused, None) => p.add("code", "is required on a refusal"),
            (TransferOutcome::Completed, Some(_)) => p.add("code", "is only for refusals"),
            _ => {}
        }
        if let Some(m) = &self.message {
            p.require_text("message", m, 2000);
        }
    }
}

impl EvidenceConsent {
    pub(crate) fn check(&self, p: &mut Problems) {
        check_version(p, self.v);
        if !self.consent.is_object() {
            p.add("consent", "must be an object (a signed consent)");
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{Body, MessageKind, ModelError};

    #[test]
    fn evidence_bodies_read_back_and_name_faulty_fields() {
        let offer = json!({"v": 1, "transfer": "0123456789abcdef0123456789abcdef",
            "offer": {"sha256": "ab"}, "name": "mail.pst", "case": "FR-1", "purpose": "p",
            "conditions": {"provider": "fr-ocl"}, "custody": [{"event": "{}", "proof": "x"}]});
        let body = Body::from_json(MessageKind::EvidenceOffer, offer.clone()).unwrap();
        assert_eq!(body.to_json(), offer);
        let bad = json!({"v": 2, "transfer": "XY", "offer": [], "name": "", "case": "c",
            "purpose": "p", "conditions": {}, "custody": []});
        let Err(ModelError::InvalidFields(p)) = Body::from_json(MessageKind::EvidenceOffer, bad)
        else {
            panic!("expected invalid fields")
        };
        let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["v", "transfer", "offer", "name", "custody"]);
        let report = json!({"v": 1, "transfer": "0123456789abcdef0123456789abcdef",
            "sha256": "ab".repeat(32), "outcome": "refused", "at": "2026-01-15T09:00:00.000Z"});
        let Err(ModelError::InvalidFields(p)) =
            Body::from_json(MessageKind::EvidenceReport, report)
        else {
            panic!("expected invalid fields")
        };
        assert_eq!(p[0].field, "code");
        let consent = json!({"v": 1, "consent": {"consent": {}, "signature": ""}});
        let body = Body::from_json(MessageKind::EvidenceConsent, consent.clone()).unwrap();
        assert_eq!(body.to_json(), consent);
    }
}
