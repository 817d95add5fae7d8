//! Use conditions that travel with an item, and the check that refuses forwarding or exporting
//! against them unless the providing node recorded its consent (pure).
//!
//! Sources: Budapest Convention Art. 28(2) (confidentiality, use limited to the investigation or
//! proceedings stated in the request), Second Additional Protocol Art. 14 (use limitation and no
//! onward transfer to another state or international organisation without the prior
//! authorisation of the transferring authority), Algerian Law 09-04 Art. 18 (data communicated
//! abroad used only for the purposes stated in the request).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use comity_model::{NodeId, Timestamp};
use comity_seal::PublicKey;
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::custody::jcs;
use crate::digest::Sha256Digest;
use crate::error::{EvidenceError, Result};

/// Domain-separation context of consent signatures.
pub const CONSENT_CONTEXT: &str = "comity/v1/use-consent";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum UseCondition {
    /// Not to be disclosed beyond the receiving authority: every export needs consent unless it
    /// serves a purpose the provider accepted.
    Confidential,
    /// Only for these purposes (investigation or proceedings named in the request).
    PurposeLimited { purposes: Vec<String> },
    /// No transfer to any node other than the provider without the provider's consent.
    NoOnwardTransfer,
}

impl UseCondition {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Confidential => "confidential",
            Self::PurposeLimited { .. } => "purpose_limited",
            Self::NoOnwardTransfer => "no_onward_transfer",
        }
    }

    /// The treaty and statute articles the condition comes from.
    pub fn articles(&self) -> &'static str {
        match self {
            Self::Confidential => "Budapest Art. 28(2)(a)",
            Self::PurposeLimited { .. } => {
                "Budapest Art. 28(2)(b); Second Protocol Art. 14; Law 09-04 Art. 18"
            }
            Self::NoOnwardTransfer => "Second Protocol Art. 14; Law 09-04 Art. 18",
        }
    }
}

/// The conditions the providing node set on an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseConditions {
    pub provider: NodeId,
    /// Legal bases cited, e.g. `Budapest Art. 28`, `Law 09-04 Art. 18`.
    pub legal_basis: Vec<String>,
    pub conditions: Vec<UseCondition>,
}

/// What someone wants to do with an item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    /// Send the item to another node.
    Forward { to: NodeId, purpose: String },
    /// Write it into a package that leaves the node (for a court).
    Export { purpose: String },
}

/// The provider's permission for one operation on one item.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub v: u32,
    pub evidence: Sha256Digest,
    pub provider: NodeId,
    pub operation: Operation,
    pub time: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedConsent {
    pub consent: Consent,
    pub signature: String,
}

impl Consent {
    pub fn signed_bytes(&self) -> Vec<u8> {
        let body = jcs(self);
        let mut out = CONSENT_CONTEXT.as_bytes().to_vec();
        out.push(0);
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Signed by the provider node's key.
    pub fn sign(self, key: &SigningKey) -> SignedConsent {
        let signature = B64.encode(key.sign(&self.signed_bytes()).to_bytes());
        SignedConsent {
            consent: self,
            signature,
        }
    }
}

impl SignedConsent {
    pub fn verify(&self, provider_key: &PublicKey) -> bool {
        B64.decode(&self.signature)
            .ok()
            .and_then(|v| <[u8; 64]>::try_from(v).ok())
            .is_some_and(|sig| provider_key.verify(&self.consent.signed_bytes(), &sig))
    }
}

impl UseConditions {
    /// Allows `op` on `evidence`, or refuses naming the condition, unless one of `consents` is a
    /// valid consent of the provider (checked with `provider_key`) for exactly this operation.
    pub fn check(
        &self,
        evidence: &Sha256Digest,
        op: &Operation,
        consents: &[SignedConsent],
        provider_key: &PublicKey,
    ) -> Result<()> {
        let Some(blocking) = self.blocking(op) else {
            return Ok(());
        };
        let consented = consents.iter().any(|c| {
            c.consent.v == 1
                && c.consent.evidence == *evidence
                && c.consent.provider == self.provider
                && c.consent.operation == *op
                && c.verify(provider_key)
        });
        if consented {
            return Ok(());
        }
        let what = match op {
            Operation::Forward { to, purpose } => {
                format!("forwarding {evidence} to {to} for {purpose:?}")
            }
            Operation::Export { purpose } => format!("exporting {evidence} for {purpose:?}"),
        };
        Err(EvidenceError::ConditionRefused {
            condition: blocking.name().to_owned(),
            reason: format!(
                "{what} needs the recorded consent of the providing node {} ({}; legal basis \
                 cited: {})",
                self.provider,
                blocking.articles(),
                self.legal_basis.join(", ")
            ),
        })
    }

    /// The first condition that `op` would break, if any.
    fn blocking(&self, op: &Operation) -> Option<&UseCondition> {
        let allowed_purpose = |p: &str| {
            self.conditions.iter().any(|c| {
                matches!(c, UseCondition::PurposeLimited { purposes } if purposes.iter().any(|q| q == p))
            })
        };
        self.conditions.iter().find(|c| match (c, op) {
            (UseCondition::NoOnwardTransfer, Operation::Forward { to, .. }) => *to != self.provider,
            (UseCondition::NoOnwardTransfer, Operation::Export { .. }) => false,
            (UseCondition::PurposeLimited { purposes }, Operation::Forward { purpose, .. })
            | (UseCondition::PurposeLimited { purposes }, Operation::Export { purpose }) => {
                !purposes.iter().any(|p| p == purpose)
            }
            (UseCondition::Confidential, Operation::Export { purpose }) => {
                !allowed_purpose(purpose)
            }
            (UseCondition::Confidential, Operation::Forward { to, purpose }) => {
                *to != self.provider && !allowed_purpose(purpose)
            }
        })
    }
}
