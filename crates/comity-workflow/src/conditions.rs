//! Use conditions on what is exchanged: confidentiality, purpose limitation, onward transfer
//! (Budapest Arts. 26.2, 27.8, 28; Second Additional Protocol Art. 14).

use std::fmt;

use comity_model::{NodeId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::WorkflowError;
use crate::fields::Problems;

/// Whether what was received may go further.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Onward {
    /// Only with the provider's recorded consent.
    ConsentRequired,
    /// Free to pass on (within the purposes).
    Free,
}

/// Where information would go.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// Another node of the federation (another state, or an authority of one).
    Node(NodeId),
    /// An authority outside Comity in the receiving state (a court, a prosecutor), or an export
    /// to a file: named in words.
    Domestic(String),
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Destination::Node(n) => write!(f, "node {n}"),
            Destination::Domestic(d) => write!(f, "{d:?}"),
        }
    }
}

/// A consent given by the provider, recorded with the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub to: Destination,
    /// The purpose consented to; `None` for any of the conditions' purposes.
    pub purpose: Option<String>,
    pub given_by: NodeId,
    pub at: Timestamp,
    /// The provider's reference for the consent (a message id, a letter).
    pub reference: String,
}

/// The conditions attached to a request or an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UseConditions {
    /// Whose information it is: the node whose consent counts.
    pub owner: NodeId,
    /// Kept confidential (Art. 27.8, 28.2.a): never passed on, even domestically, without
    /// consent.
    pub confidential: bool,
    /// The purposes it may be used for (Art. 28.2.b); at least one.
    pub purposes: Vec<String>,
    pub onward: Onward,
    #[serde(default)]
    pub consents: Vec<Consent>,
}

impl UseConditions {
    /// The usual conditions of an answer to mutual assistance: confidential, for the case only.
    pub fn case_only(owner: NodeId, case_reference: &str) -> Self {
        UseConditions {
            owner,
            confidential: true,
            purposes: vec![format!(
                "investigation and prosecution in case {case_reference}"
            )],
            onward: Onward::ConsentRequired,
            consents: Vec::new(),
        }
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        if self.purposes.is_empty() {
            p.add(
                "purposes",
                "needs at least one purpose the information may be used for (Art. 28.2.b)",
            );
        }
        for (i, purpose) in self.purposes.iter().enumerate() {
            p.text(&format!("purposes[{i}]"), purpose, 500);
        }
        for (i, c) in self.consents.iter().enumerate() {
            p.text(&format!("consents[{i}].reference"), &c.reference, 200);
            if c.given_by != self.owner {
                p.add(
                    &format!("consents[{i}].given_by"),
                    format!("must be the owner {}: only it can consent", self.owner),
                );
            }
        }
    }

    /// Checks the conditions on their own.
    pub fn validate(&self) -> Result<(), WorkflowError> {
        let mut p = Problems::new("conditions");
        self.check(&mut p);
        p.finish()
    }

    /// May this be forwarded or exported to `to`, for `purpose`? Refuses unless the purpose is
    /// one of the conditions' and, where the conditions ask for it, a consent for that
    /// destination (and purpose) is recorded.
    pub fn may_forward(&self, to: &Destination, purpose: &str) -> Result<(), WorkflowError> {
        if let Destination::Node(n) = to
            && *n == self.owner
        {
            return Ok(());
        }
        let consented = |c: &Consent| {
            c.to == *to
                && c.given_by == self.owner
                && c.purpose.as_deref().is_none_or(|p| p == purpose)
        };
        let purpose_allowed = self.purposes.iter().any(|p| p == purpose);
        let consent = self.consents.iter().find(|c| consented(c));
        if !purpose_allowed && consent.is_none_or(|c| c.purpose.is_none()) {
            return Err(WorkflowError::PurposeNotAllowed {
                purpose: purpose.to_owned(),
                allowed: self.purposes.join(", "),
                owner: self.owner.clone(),
            });
        }
        let why = if self.confidential {
            "the information is confidential"
        } else if self.onward == Onward::ConsentRequired && matches!(to, Destination::Node(_)) {
            "onward transfer needs consent"
        } else {
            return Ok(());
        };
        if consent.is_some() {
            Ok(())
        } else {
            Err(WorkflowError::ConsentRequired {
                destination: to.to_string(),
                owner: self.owner.clone(),
                why: why.to_owned(),
            })
        }
    }

    /// Records a consent given by the owner.
    pub fn record_consent(&mut self, consent: Consent) -> Result<(), WorkflowError> {
        let mut p = Problems::new("consent");
        p.text("reference", &consent.reference, 200);
        if consent.given_by != self.owner {
            p.add(
                "given_by",
                format!("must be the owner {}: only it can consent", self.owner),
            );
        }
        p.finish()?;
        self.consents.push(consent);
        Ok(())
    }
}
