use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Problems;
use crate::ids::string_serde;
use crate::{
    EvidenceConsent, EvidenceOffer, EvidenceReport, ModelError, PreservationAck,
    PreservationRequest, RequestAction, RequestOpen,
};

/// What a message is; decides the type of its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    PreservationRequest,
    PreservationAck,
    Note,
    PdqMatchNotice,
    RequestOpen,
    RequestAction,
    EvidenceOffer,
    EvidenceReport,
    EvidenceConsent,
}

impl MessageKind {
    pub const ALL: [MessageKind; 9] = [
        MessageKind::PreservationRequest,
        MessageKind::PreservationAck,
        MessageKind::Note,
        MessageKind::PdqMatchNotice,
        MessageKind::RequestOpen,
        MessageKind::RequestAction,
        MessageKind::EvidenceOffer,
        MessageKind::EvidenceReport,
        MessageKind::EvidenceConsent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::PreservationRequest => "preservation.request",
            MessageKind::PreservationAck => "preservation.ack",
            MessageKind::Note => "note",
            MessageKind::PdqMatchNotice => "pdq.match_notice",
            MessageKind::RequestOpen => "request.open",
            MessageKind::RequestAction => "request.action",
            MessageKind::EvidenceOffer => "evidence.offer",
            MessageKind::EvidenceReport => "evidence.report",
            MessageKind::EvidenceConsent => "evidence.consent",
        }
    }
}

impl FromStr for MessageKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        MessageKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| ModelError::UnknownKind(s.to_owned()))
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

string_serde!(MessageKind);

/// A free-text follow-up within a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Note {
    pub text: String,
}

/// Tells a hash-list contributor that one of its entries matched a picture at the sender's node;
/// sent only when the matching node chooses to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PdqMatchNotice {
    pub list: String,
    pub entry: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distance: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A typed message body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    PreservationRequest(PreservationRequest),
    PreservationAck(PreservationAck),
    Note(Note),
    PdqMatchNotice(PdqMatchNotice),
    RequestOpen(RequestOpen),
    RequestAction(RequestAction),
    EvidenceOffer(EvidenceOffer),
    EvidenceReport(EvidenceReport),
    EvidenceConsent(EvidenceConsent),
}

impl Body {
    pub fn kind(&self) -> MessageKind {
        match self {
            Body::PreservationRequest(_) => MessageKind::PreservationRequest,
            Body::PreservationAck(_) => MessageKind::PreservationAck,
            Body::Note(_) => MessageKind::Note,
            Body::PdqMatchNotice(_) => MessageKind::PdqMatchNotice,
            Body::RequestOpen(_) => MessageKind::RequestOpen,
            Body::RequestAction(_) => MessageKind::RequestAction,
            Body::EvidenceOffer(_) => MessageKind::EvidenceOffer,
            Body::EvidenceReport(_) => MessageKind::EvidenceReport,
            Body::EvidenceConsent(_) => MessageKind::EvidenceConsent,
        }
    }

    /// Reads a body of the given kind and checks every field.
    pub fn from_json(kind: MessageKind, value: Value) -> Result<Body, ModelError> {
        fn parse<T: serde::de::DeserializeOwned>(
            kind: MessageKind,
            v: Value,
        ) -> Result<T, ModelError> {
            serde_json::from_value(v).map_err(|e| ModelError::MalformedBody {
                kind: kind.as_str().to_owned(),
                reason: e.to_string(),
            })
        }
        let body = match kind {
            MessageKind::PreservationRequest => Body::PreservationRequest(parse(kind, value)?),
            MessageKind::PreservationAck => Body::PreservationAck(parse(kind, value)?),
            MessageKind::Note => Body::Note(parse(kind, value)?),
            MessageKind::PdqMatchNotice => Body::PdqMatchNotice(parse(kind, value)?),
            MessageKind::RequestOpen => Body::RequestOpen(parse(kind, value)?),
            MessageKind::RequestAction => Body::RequestAction(parse(kind, value)?),
            MessageKind::EvidenceOffer => Body::EvidenceOffer(parse(kind, value)?),
            MessageKind::EvidenceReport => Body::EvidenceReport(parse(kind, value)?),
            MessageKind::EvidenceConsent => Body::EvidenceConsent(parse(kind, value)?),
        };
        body.validate()?;
        Ok(body)
    }

    pub fn to_json(&self) -> Value {
        let value = match self {
            Body::PreservationRequest(b) => serde_json::to_value(b),
            Body::PreservationAck(b) => serde_json::to_value(b),
            Body::Note(b) => serde_json::to_value(b),
            Body::PdqMatchNotice(b) => serde_json::to_value(b),
            Body::RequestOpen(b) => serde_json::to_value(b),
            Body::RequestAction(b) => serde_json::to_value(b),
            Body::EvidenceOffer(b) => serde_json::to_value(b),
            Body::EvidenceReport(b) => serde_json::to_value(b),
            Body::EvidenceConsent(b) => serde_json::to_value(b),
        };
        // These types hold only strings, integers, booleans, JSON values and sequences of them.
        value.unwrap_or(Value::Null)
    }

    /// Reports every missing or out-of-range field at once.
    pub fn validate(&self) -> Result<(), ModelError> {
        let mut problems = Problems::default();
        match self {
            Body::PreservationRequest(b) => b.check(&mut problems),
            Body::PreservationAck(b) => b.check(&mut problems),
            Body::Note(n) => problems.require_text("text", &n.text, 20_000),
            Body::PdqMatchNotice(n) => {
                problems.require_text("list", &n.list, 80);
                if let Some(note) = &n.note {
                    problems.require_text("note", note, 20_000);
                }
                if n.distance.is_some_and(|d| d > 256) {
                    problems.add("distance", "a PDQ distance is at most 256");
                }
            }
            Body::RequestOpen(b) => b.check(&mut problems),
            Body::RequestAction(b) => b.check(&mut problems),
            Body::EvidenceOffer(b) => b.check(&mut problems),
            Body::EvidenceReport(b) => b.check(&mut problems),
            Body::EvidenceConsent(b) => b.check(&mut problems),
        }
        problems.finish()
    }
}
