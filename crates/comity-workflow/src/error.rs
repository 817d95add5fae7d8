use comity_model::{FieldProblem, NodeId, Timestamp};
use thiserror::Error;

use crate::{ActionTag, Kind, Party, State};

/// Everything a caller can get wrong with a workflow. Each variant has a stable
/// [`code`](WorkflowError::code); no error changes the request it was raised on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WorkflowError {
    #[error("a {kind} request in state {state} cannot be sent `{action}`; allowed now: {allowed}")]
    IllegalTransition {
        kind: Kind,
        state: State,
        action: ActionTag,
        allowed: String,
    },
    #[error(
        "`{action}` on this {kind} request must come from the {expected} node ({node}); {actor} is not it"
    )]
    WrongParty {
        kind: Kind,
        action: ActionTag,
        expected: Party,
        node: NodeId,
        actor: NodeId,
    },
    #[error("{actor} owns nothing exchanged under this request: only {owners} can consent")]
    NotOwner { actor: NodeId, owners: String },
    #[error("`{action}` must be done by a node acting as {expected}; it acted as {role}")]
    WrongRole {
        action: ActionTag,
        expected: String,
        role: String,
    },
    #[error(
        "the request expired at {due} (now {now}); it can no longer be acted upon: open a new request, linked to this one"
    )]
    Expired { due: Timestamp, now: Timestamp },
    #[error("{}", describe(.0))]
    InvalidFields(Vec<FieldProblem>),
    #[error(
        "the pre-flight check is negative ({}); sending anyway needs a written override reason, which the recipient will see",
        .negatives.join("; ")
    )]
    OverrideRequired { negatives: Vec<String> },
    #[error(
        "forwarding to {destination} needs the recorded consent of {owner} ({why}); ask for it and record it first"
    )]
    ConsentRequired {
        destination: String,
        owner: NodeId,
        why: String,
    },
    #[error(
        "the purpose {purpose:?} is not among those the information was given for ({allowed}); ask {owner} for consent to the new purpose"
    )]
    PurposeNotAllowed {
        purpose: String,
        allowed: String,
        owner: NodeId,
    },
    #[error("{reason}")]
    BadLink { reason: String },
    #[error("the stored request cannot be read: {reason}")]
    Unreadable { reason: String },
    #[error("request format version {found} is not supported: this node reads version {supported}")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("the law engine could not answer: {message}")]
    LawQuestion { code: &'static str, message: String },
    #[error("deadline rules: {reason}")]
    BadRules { reason: String },
}

impl WorkflowError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::IllegalTransition { .. } => "workflow.illegal_transition",
            Self::WrongParty { .. } | Self::NotOwner { .. } => "workflow.wrong_party",
            Self::WrongRole { .. } => "workflow.wrong_role",
            Self::Expired { .. } => "workflow.expired",
            Self::InvalidFields(_) => "workflow.invalid_fields",
            Self::OverrideRequired { .. } => "workflow.override_required",
            Self::ConsentRequired { .. } => "workflow.consent_required",
            Self::PurposeNotAllowed { .. } => "workflow.purpose_not_allowed",
            Self::BadLink { .. } => "workflow.bad_link",
            Self::Unreadable { .. } => "workflow.unreadable",
            Self::UnsupportedVersion { .. } => "workflow.unsupported_version",
            Self::LawQuestion { .. } => "workflow.law_question",
            Self::BadRules { .. } => "workflow.bad_rules",
        }
    }

    /// The fields at fault, for `workflow.invalid_fields`.
    pub fn problems(&self) -> &[FieldProblem] {
        match self {
            Self::InvalidFields(p) => p,
            _ => &[],
        }
    }
}

fn describe(problems: &[FieldProblem]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .map(|p| format!("`{}` {}", p.field, p.reason))
        .collect();
    format!("invalid fields: {}", parts.join("; "))
}
