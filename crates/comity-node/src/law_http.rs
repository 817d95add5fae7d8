//! The law engine through the node: the questions `comity law eval` answers (legal basis, dual
//! criminality, extradition, competing requests, jurisdiction; docs/lawpacks.md), against the
//! law packs this node decides its requests with.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::post};

use crate::{Node, NodeError};

pub(crate) fn api_routes() -> Router<Node> {
    Router::new().route("/api/v1/law/eval", post(eval))
}

/// The question is the JSON body; the answer, with the articles it rests on, is the JSON
/// response. A question the engine cannot take is 422 with the law code and the field at fault.
async fn eval(
    State(node): State<Node>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, NodeError> {
    let held = node.read_api_body(&headers, body).await?;
    let question = std::str::from_utf8(&held.bytes)
        .map_err(|e| NodeError::BadRequest(format!("the question is not UTF-8 text: {e}")))?;
    let answer = node.workflows().law.eval_to_string(question, false)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], answer).into_response())
}
