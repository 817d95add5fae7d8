//! Bodies of the messages that carry cooperation requests between nodes.
//!
//! Both nodes run the same workflow functions (`comity-workflow`) on the same inputs: the
//! requesting node sends the draft it opened and the time it opened it; every transition
//! travels as the acting node, its role, the action and the time. The workflow JSON is carried
//! as it is; this crate checks its envelope, the receiving node replays it through the workflow
//! crate, which checks every field.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Problems;
use crate::{MessageId, NodeId, Role, Timestamp};

/// Version of the request message bodies.
pub const REQUEST_MESSAGE_VERSION: u32 = 1;

/// `request.open`: the draft the requesting node opened, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestOpen {
    pub v: u32,
    /// The workflow `Draft`, as JSON.
    pub draft: Value,
    pub at: Timestamp,
}

/// `request.action`: one transition of a request, as the acting node applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestAction {
    pub v: u32,
    pub request: MessageId,
    pub node: NodeId,
    pub role: Role,
    /// The workflow `Action`, as JSON (`{"action": "acknowledge", ...}`).
    pub action: Value,
    pub at: Timestamp,
    /// The version of the request (entries in its history) the action was applied on; the
    /// receiver orders concurrent actions of both sides by it. Absent: the receiver's current
    /// version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u32>,
}

fn check_version(p: &mut Problems, v: u32) {
    if v != REQUEST_MESSAGE_VERSION {
        p.add(
            "v",
            format!("must be {REQUEST_MESSAGE_VERSION}, the version this node reads"),
        );
    }
}

impl RequestOpen {
    pub(crate) fn check(&self, p: &mut Problems) {
        check_version(p, self.v);
        match self.draft.as_object() {
            None => p.add("draft", "must be an object (a workflow draft)"),
            Some(d) => {
                for field in ["id", "requesting", "requested", "body", "conditions"] {
                    if !d.contains_key(field) {
                        p.add(&format!("draft.{field}"), "is required");
                    }
                }
            }
        }
    }
}

impl RequestAction {
    pub(crate) fn check(&self, p: &mut Problems) {
        check_version(p, self.v);
        match self.action.get("action") {
            Some(Value::String(s)) if !s.trim().is_empty() => {}
            _ => p.add(
                "action.action",
                "is required: the name of the action, e.g. \"acknowledge\"",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::{Body, MessageKind, ModelError};

    #[test]
    fn request_kinds_read_back_and_old_kinds_still_parse() {
        for k in [
            "preservation.request",
            "preservation.ack",
            "note",
            "request.open",
            "request.action",
        ] {
            assert_eq!(k.parse::<MessageKind>().unwrap().as_str(), k);
        }
        let open = json!({"v": 1, "at": "2026-01-15T09:00:00.000Z",
            "draft": {"id": "x", "requesting": "dz-247", "requested": "fr-ocl", "body": {}, "conditions": {}}});
        let body = Body::from_json(MessageKind::RequestOpen, open.clone()).unwrap();
        assert_eq!(body.to_json(), open);
        let action = json!({"v": 1, "request": "0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
            "node": "fr-ocl", "role": "24-7", "action": {"action": "acknowledge", "reference": "r"},
            "at": "2026-01-15T09:00:00.000Z"});
        assert_eq!(
            Body::from_json(MessageKind::RequestAction, action.clone())
                .unwrap()
                .to_json(),
            action
        );
    }

    #[test]
    fn faulty_request_messages_name_each_field() {
        let open = json!({"v": 2, "at": "2026-01-15T09:00:00.000Z", "draft": {"id": "x"}});
        let Err(ModelError::InvalidFields(p)) = Body::from_json(MessageKind::RequestOpen, open)
        else {
            panic!("expected invalid fields")
        };
        let fields: Vec<&str> = p.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "v",
                "draft.requesting",
                "draft.requested",
                "draft.body",
                "draft.conditions"
            ]
        );
        let action = json!({"v": 1, "request": "0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
            "node": "fr-ocl", "role": "24-7", "action": {}, "at": "2026-01-15T09:00:00.000Z"});
        let e = Body::from_json(MessageKind::RequestAction, action).unwrap_err();
        assert_eq!(e.code(), "model.invalid_fields");
        let extra = json!({"v": 1, "draft": {}, "at": "2026-01-15T09:00:00.000Z", "more": 1});
        let e = Body::from_json(MessageKind::RequestOpen, extra).unwrap_err();
        assert_eq!(e.code(), "model.malformed_body");
    }
}
