use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{ConversationId, MessageId, MessageKind, ModelError, NodeId, Timestamp};

/// The body schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// Everything a node needs to route and check a message before it reads the body.
///
/// The header travels in clear (it is bound to the ciphertext as associated data), so it holds
/// nothing about the case itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    pub id: MessageId,
    pub from: NodeId,
    pub to: NodeId,
    pub kind: MessageKind,
    pub conversation: ConversationId,
    pub in_reply_to: Option<MessageId>,
    pub sent_at: Timestamp,
    pub schema: u32,
    pub handling: Handling,
}

impl Header {
    /// Parses a header, naming the precise problem: an unknown schema version or message kind is
    /// reported as such rather than as a generic shape error.
    pub fn from_json(value: &Value) -> Result<Header, ModelError> {
        let schema = value.get("schema").and_then(Value::as_u64);
        match schema {
            Some(s) if s == u64::from(SCHEMA_VERSION) => {}
            Some(s) => {
                return Err(ModelError::UnsupportedSchema {
                    found: u32::try_from(s).unwrap_or(u32::MAX),
                    supported: SCHEMA_VERSION,
                });
            }
            None => return Err(malformed("`schema` is missing or not a number")),
        }
        if let Some(kind) = value.get("kind").and_then(Value::as_str) {
            kind.parse::<MessageKind>()?;
        }
        Header::deserialize(value).map_err(|e| malformed(&e.to_string()))
    }
}

fn malformed(reason: &str) -> ModelError {
    ModelError::MalformedBody {
        kind: "header".into(),
        reason: reason.to_owned(),
    }
}

/// Conditions on the use of what a message carries (Budapest Convention Art. 27.8 and 28).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Handling {
    pub classification: Classification,
    /// The request itself must be kept confidential (Art. 27.8).
    pub confidential: bool,
    /// The content may be used only for the purpose stated in the request (Art. 28.2.b).
    pub purpose_limited: bool,
    /// No onward transfer to a third state without the sender's consent.
    pub no_onward_transfer: bool,
}

impl Default for Handling {
    fn default() -> Self {
        Self {
            classification: Classification::Restricted,
            confidential: true,
            purpose_limited: true,
            no_onward_transfer: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    Unclassified,
    Restricted,
    Confidential,
}
