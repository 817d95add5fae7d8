use thiserror::Error;

/// Everything a caller can get wrong when building or parsing domain values.
///
/// Each variant has a stable [`code`](ModelError::code) that clients may match on.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ModelError {
    #[error(
        "invalid node id {0:?}: use 3 to 40 lowercase letters, digits or '-', starting with a letter, e.g. \"dz-moj\""
    )]
    InvalidNodeId(String),
    #[error(
        "unknown jurisdiction {0:?}: use an assigned ISO 3166-1 alpha-2 code such as \"DZ\" or \"FR\""
    )]
    InvalidJurisdiction(String),
    #[error(
        "unknown role {0:?}: expected one of central-authority, 24-7, extradition, police, judicial, hash-contributor"
    )]
    InvalidRole(String),
    #[error("invalid message id {0:?}: expected a UUIDv7")]
    InvalidMessageId(String),
    #[error(
        "invalid timestamp {0:?}: expected RFC 3339 UTC with milliseconds, e.g. 2026-11-28T10:00:00.000Z"
    )]
    InvalidTimestamp(String),
    #[error("unknown message kind {0:?}")]
    UnknownKind(String),
    #[error("unsupported schema version {found}: this node understands {supported}")]
    UnsupportedSchema { found: u32, supported: u32 },
    #[error("body does not match kind {kind}: {reason}")]
    MalformedBody { kind: String, reason: String },
    #[error("{}", describe(.0))]
    InvalidFields(Vec<FieldProblem>),
}

impl ModelError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidNodeId(_) => "model.invalid_node_id",
            Self::InvalidJurisdiction(_) => "model.invalid_jurisdiction",
            Self::InvalidRole(_) => "model.invalid_role",
            Self::InvalidMessageId(_) => "model.invalid_message_id",
            Self::InvalidTimestamp(_) => "model.invalid_timestamp",
            Self::UnknownKind(_) => "model.unknown_kind",
            Self::UnsupportedSchema { .. } => "model.unsupported_schema",
            Self::MalformedBody { .. } => "model.malformed_body",
            Self::InvalidFields(_) => "model.invalid_fields",
        }
    }
}

/// One field that failed validation, named by its JSON path (e.g. `body.preservation_days`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldProblem {
    pub field: String,
    pub reason: String,
}

fn describe(problems: &[FieldProblem]) -> String {
    let parts: Vec<String> = problems
        .iter()
        .map(|p| format!("`{}` {}", p.field, p.reason))
        .collect();
    format!("invalid fields: {}", parts.join("; "))
}

/// Collects every problem of a value instead of stopping at the first.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<FieldProblem>);

impl Problems {
    pub(crate) fn add(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(FieldProblem {
            field: field.to_owned(),
            reason: reason.into(),
        });
    }

    pub(crate) fn require_text(&mut self, field: &str, value: &str, max: usize) {
        if value.trim().is_empty() {
            self.add(field, "is required and must not be blank");
        } else if value.chars().count() > max {
            self.add(field, format!("is longer than {max} characters"));
        }
    }

    pub(crate) fn finish(self) -> Result<(), ModelError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ModelError::InvalidFields(self.0))
        }
    }
}
