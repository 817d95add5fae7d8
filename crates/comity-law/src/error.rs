use std::fmt;

use thiserror::Error;

/// A problem in a law-pack file, at a position a person can open in an editor.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackProblem {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Stable code, e.g. `pack.unknown_offence`.
    pub code: &'static str,
    pub message: String,
}

impl fmt::Display for PackProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// Everything wrong with a set of law packs (never just the first problem).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub problems: Vec<PackProblem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// A question the engine cannot answer as asked. Each variant names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LawError {
    #[error("the question is not valid JSON: {reason}")]
    InvalidJson { reason: String },
    #[error("`{field}` is required")]
    MissingField { field: String },
    #[error("`{field}` is not a field of this question; remove it or check its spelling")]
    UnknownField { field: String },
    #[error("`{field}` {reason}")]
    Malformed { field: String, reason: String },
    #[error(
        "`{field}`: unknown question {value:?}; expected one of legal_basis, dual_criminality, extradition, competing_requests, jurisdiction"
    )]
    UnknownQuestion { field: String, value: String },
    #[error(
        "`{field}`: {value:?} is not a state with a law pack loaded; use the ISO 3166-1 alpha-2 code of a state that has one (see `comity law check`)"
    )]
    UnknownState { field: String, value: String },
    #[error("`{field}`: unknown measure {value:?}; expected one of {allowed}")]
    UnknownMeasure {
        field: String,
        value: String,
        allowed: String,
    },
    #[error("`{field}`: {value:?} is not an offence of the taxonomy")]
    UnknownOffence { field: String, value: String },
    #[error(
        "`{field}`: {value:?} is not a condition of the taxonomy nor a fact the engine knows ({builtin})"
    )]
    UnknownCondition {
        field: String,
        value: String,
        builtin: String,
    },
    #[error("`{field}`: {value:?} is not allowed; expected one of {allowed}")]
    UnknownValue {
        field: String,
        value: String,
        allowed: String,
    },
    #[error("`{field}`: {value:?} is not a calendar date; write YYYY-MM-DD, e.g. 2026-11-28")]
    InvalidDate { field: String, value: String },
    #[error("`{field}`: the requesting and the requested state must differ")]
    SameState { field: String },
    #[error("`{field}` {reason}")]
    Empty { field: String, reason: String },
}

impl LawError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson { .. } => "law.invalid_json",
            Self::MissingField { .. } => "law.missing_field",
            Self::UnknownField { .. } => "law.unknown_field",
            Self::Malformed { .. } => "law.malformed",
            Self::UnknownQuestion { .. } => "law.unknown_question",
            Self::UnknownState { .. } => "law.unknown_state",
            Self::UnknownMeasure { .. } => "law.unknown_measure",
            Self::UnknownOffence { .. } => "law.unknown_offence",
            Self::UnknownCondition { .. } => "law.unknown_condition",
            Self::UnknownValue { .. } => "law.unknown_value",
            Self::InvalidDate { .. } => "law.invalid_date",
            Self::SameState { .. } => "law.same_state",
            Self::Empty { .. } => "law.empty",
        }
    }

    /// The JSON path of the field at fault (empty for the question as a whole).
    pub fn field(&self) -> &str {
        match self {
            Self::InvalidJson { .. } => "",
            Self::MissingField { field }
            | Self::UnknownField { field }
            | Self::Malformed { field, .. }
            | Self::UnknownQuestion { field, .. }
            | Self::UnknownState { field, .. }
            | Self::UnknownMeasure { field, .. }
            | Self::UnknownOffence { field, .. }
            | Self::UnknownCondition { field, .. }
            | Self::UnknownValue { field, .. }
            | Self::InvalidDate { field, .. }
            | Self::SameState { field }
            | Self::Empty { field, .. } => field,
        }
    }

    /// The error as the JSON object that `comity law eval` and the HTTP API return.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "error": { "code": self.code(), "field": self.field(), "message": self.to_string() }
        })
    }
}
