//! The node-to-node API: peers post batches of sealed envelopes and get one answer each.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use comity_model::NodeId;
use serde::{Deserialize, Serialize};

use crate::body::HeldBody;
use crate::refusals::Sender;
use crate::{ENVELOPES_MEDIA_TYPE, FEDERATION_MESSAGES_PATH, Node, NodeError};

/// The answer to a batch: one entry per envelope, in order.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct BatchAnswer {
    pub results: Vec<EnvelopeAnswer>,
}

/// Either the receipt's exact bytes (as a string: receipts are UTF-8 JSON) or a refusal.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum EnvelopeAnswer {
    Receipt(String),
    Error { code: String, message: String },
}

pub(crate) fn router(node: Node) -> Router {
    let max_batch = node.config().limits.max_batch_bytes;
    Router::new()
        .route(
            FEDERATION_MESSAGES_PATH,
            post(receive).layer(axum::middleware::from_fn_with_state(
                node.clone(),
                crate::refusals::throttle,
            )),
        )
        .route("/federation/v1/descriptor", get(descriptor))
        .merge(crate::ledger_http::federation_routes())
        .merge(crate::hashlists::federation_routes())
        .merge(crate::evidence_pull::federation_routes())
        .with_state(node)
        .layer(middleware::from_fn(crate::http_errors::json_errors))
        .layer(middleware::from_fn_with_state(
            max_batch,
            crate::body::drain_unread,
        ))
}

/// Reads a batch as it arrives, refusing it once over `max_batch_bytes` and holding it within
/// the node's body budget (the sending member's share first).
pub(crate) async fn read_batch(
    node: &Node,
    member: &NodeId,
    headers: &HeaderMap,
    body: Body,
) -> Result<HeldBody, NodeError> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if media != ENVELOPES_MEDIA_TYPE {
        return Err(NodeError::UnsupportedMediaType(format!(
            "content type must be {ENVELOPES_MEDIA_TYPE}"
        )));
    }
    let limit = node.config().limits.max_batch_bytes;
    node.inner
        .bodies
        .read(Some(member), headers, body, limit)
        .await
}

/// Envelopes from the member named by the client certificate; refusals are charged to it.
async fn receive(
    State(node): State<Node>,
    Sender(peer): Sender,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let batch = match read_batch(&node, &peer, &headers, body).await {
        Ok(batch) => batch,
        Err(e) => return e.into_response(),
    };
    match node.receive_batch(&peer, &batch.bytes).await {
        Ok(answers) => {
            let results = answers
                .into_iter()
                .map(|a| match a {
                    Ok(receipt) => {
                        EnvelopeAnswer::Receipt(String::from_utf8_lossy(&receipt).into_owned())
                    }
                    Err(e) => EnvelopeAnswer::Error {
                        code: e.code().to_owned(),
                        message: e.to_string(),
                    },
                })
                .collect();
            (StatusCode::OK, Json(BatchAnswer { results })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn descriptor(State(node): State<Node>) -> Response {
    let bytes = node.descriptor().to_json();
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}
