//! The node-to-node API: peers post batches of sealed envelopes and get one answer each.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

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

/// Largest batch accepted in one request.
const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

pub(crate) fn router(node: Node) -> Router {
    Router::new()
        .route(
            FEDERATION_MESSAGES_PATH,
            post(receive).layer(axum::middleware::from_fn_with_state(
                (node.clone(), MAX_BATCH_BYTES),
                crate::refusals::throttle,
            )),
        )
        .route("/federation/v1/descriptor", get(descriptor))
        .merge(crate::ledger_http::federation_routes())
        .merge(crate::hashlists::federation_routes())
        .merge(crate::evidence_pull::federation_routes())
        .layer(DefaultBodyLimit::max(MAX_BATCH_BYTES))
        .with_state(node)
}

async fn receive(
    State(node): State<Node>,
    Sender(peer): Sender,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if media != ENVELOPES_MEDIA_TYPE {
        let e = NodeError::BadRequest(format!("content type must be {ENVELOPES_MEDIA_TYPE}"));
        return e.into_response();
    }
    match node.receive_batch(&peer, &body).await {
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
