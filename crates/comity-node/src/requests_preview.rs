//! What opening a request would do, before it is opened: the law engine's answers for the pair
//! of states (the pre-flight record that opening stores), the content the applicable instruments
//! require, and the refusal opening would meet. Nothing is stored or sent.

use axum::Json;
use axum::extract::State;
use comity_model::{MessageId, Timestamp};
use comity_workflow::Request;
use serde_json::{Value, json};

use crate::api::ApiJson;
use crate::{Node, NodeError, OpenRequest, now_ms};

impl Node {
    /// Runs every check `open_request` runs, on the same input, without opening: `ready` is
    /// whether opening would succeed now; `refusal` is the error it would meet otherwise.
    pub async fn preview_request(&self, req: OpenRequest) -> Result<Value, NodeError> {
        let now_ms = now_ms();
        let now = Timestamp::from_unix_ms(now_ms);
        let id = MessageId::from_parts(u64::try_from(now_ms).unwrap_or(0), [0; 10]);
        let draft = self.draft(req, id, now)?;
        let preflight = draft.preflight.clone();
        let required: Vec<Value> = preflight
            .iter()
            .flat_map(|pf| pf.required_content())
            .map(|(item, instrument)| {
                let given = draft
                    .content
                    .get(item)
                    .is_some_and(|v| !v.trim().is_empty());
                json!({"item": item, "instrument": instrument, "given": given})
            })
            .collect();
        let refusal = match Request::open(draft, &self.workflows().rules, now) {
            Ok((request, _)) => self.check_forwarding(&request).await.err(),
            Err(e) => Some(NodeError::from(e)),
        };
        Ok(json!({
            "ready": refusal.is_none(),
            "refusal": refusal.map(|e| e.to_json()),
            "preflight": preflight,
            "required_content": required,
        }))
    }
}

pub(crate) async fn preview(
    State(node): State<Node>,
    ApiJson(req): ApiJson<OpenRequest>,
) -> Result<Json<Value>, NodeError> {
    Ok(Json(node.preview_request(req).await?))
}
