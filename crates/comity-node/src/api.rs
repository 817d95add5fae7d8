//! The user API: send, list, read, health. Every route but the OpenAPI document needs the
//! node's bearer token.

use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use comity_store::DeliveryState;
use serde::Deserialize;
use serde_json::json;

use crate::integrity::{CheckError, Mismatch};
use crate::views::{self, MessageView};
use crate::{Node, NodeError, SendRequest};

const OPENAPI: &str = include_str!("../openapi.json");

pub(crate) fn router(node: Node) -> Router {
    let protected = Router::new()
        .route("/api/v1/messages", post(send))
        .route("/api/v1/messages/{id}", get(message))
        .route("/api/v1/messages/{id}/signed", get(signed))
        .route("/api/v1/outbox", get(outbox))
        .route("/api/v1/outbox/requeue", post(requeue))
        .route("/api/v1/inbox", get(inbox))
        .route("/api/v1/node", get(node_info))
        .route("/api/v1/peers", get(peers))
        .route("/api/v1/rejections", get(rejections))
        .merge(crate::ledger_http::api_routes())
        .merge(crate::hashlists::api_routes())
        .merge(crate::requests_http::api_routes())
        .merge(crate::law_http::api_routes())
        .merge(crate::evidence::routes())
        .route_layer(middleware::from_fn_with_state(node.clone(), require_token));
    Router::new()
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .merge(protected)
        .fallback(|| async { NodeError::NotFound("route (see /openapi.json)".into()) })
        .with_state(node.clone())
        .layer(middleware::from_fn(crate::http_errors::json_errors))
        .layer(middleware::from_fn_with_state(
            node.config().limits.max_api_body_bytes,
            crate::body::drain_unread,
        ))
}

async fn require_token(State(node): State<Node>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let expected = node.config().api_token.as_bytes();
    if !expected.is_empty() && constant_time_eq(given.as_bytes(), expected) {
        next.run(request).await
    } else {
        NodeError::Unauthorized.into_response()
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A JSON body, read within `limits.max_api_body_bytes` and the node's body budget; every
/// failure is an API error with a stable code.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<Node> for ApiJson<T> {
    type Rejection = NodeError;
    async fn from_request(req: Request, node: &Node) -> Result<Self, NodeError> {
        let (parts, body) = req.into_parts();
        if !crate::http_errors::is_json(&parts.headers) {
            return Err(NodeError::UnsupportedMediaType(
                "send the body as JSON, with Content-Type: application/json".into(),
            ));
        }
        let held = node.read_api_body(&parts.headers, body).await?;
        serde_json::from_slice(&held.bytes)
            .map(ApiJson)
            .map_err(|e| {
                NodeError::BadRequest(format!("the JSON body does not fit this route: {e}"))
            })
    }
}

impl Node {
    /// A user-API body, read within `limits.max_api_body_bytes` and the node's body budget.
    pub(crate) async fn read_api_body(
        &self,
        headers: &axum::http::HeaderMap,
        body: axum::body::Body,
    ) -> Result<crate::body::HeldBody, NodeError> {
        let limit = self.config().limits.max_api_body_bytes;
        self.inner.bodies.read(None, headers, body, limit).await
    }
}

async fn send(
    State(node): State<Node>,
    ApiJson(req): ApiJson<SendRequest>,
) -> Result<Response, NodeError> {
    crate::requests::refuse_raw(&req.kind)?;
    let accepted = node.send(req).await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

/// One message, shown only once its stored rows passed the check against what was signed
/// (`store.tampered` otherwise, never the stored content).
async fn message(
    State(node): State<Node>,
    Path(id): Path<String>,
) -> Result<Json<MessageView>, NodeError> {
    if let Some(m) = node.store().get_outbound(&id).await? {
        let view = MessageView::outbound(&node, m).map_err(CheckError::from);
        return Ok(Json(node.verdict(view).await?));
    }
    match node.store().get_inbound(&id).await? {
        Some(m) => {
            node.record_access("message", &m.id, "read").await?;
            let view = MessageView::inbound(&node, m).map_err(CheckError::from);
            Ok(Json(node.verdict(view).await?))
        }
        None => Err(NodeError::NotFound(id)),
    }
}

/// What the sender signed (header, body, inner signature), for a third party to check with
/// the sender's public key alone.
async fn signed(
    State(node): State<Node>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, NodeError> {
    let (direction, checked) = if let Some(m) = node.store().get_outbound(&id).await? {
        ("outbound", node.check_outbound(&m))
    } else if let Some(m) = node.store().get_inbound(&id).await? {
        node.record_access("message", &m.id, "read").await?;
        ("inbound", node.check_inbound(&m))
    } else {
        return Err(NodeError::NotFound(id));
    };
    let checked = node.verdict(checked.map_err(CheckError::from)).await?;
    let signature = checked
        .inner_signature
        .ok_or_else(|| NodeError::SignatureNotKept(id.clone()))?;
    Ok(Json(views::signed_view(direction, &checked, &signature)))
}

/// Each row as `view` makes it, or, when it fails its check, withheld with the error (and an
/// alarm raised): one damaged row does not hide the others.
async fn checked_list<T>(
    node: &Node,
    direction: &'static str,
    rows: Vec<T>,
    id: impl Fn(&T) -> String,
    view: impl Fn(&Node, T) -> Result<MessageView, Box<Mismatch>>,
) -> Result<Vec<MessageView>, NodeError> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let row_id = id(&row);
        let checked = view(node, row).map_err(CheckError::from);
        match node.verdict(checked).await {
            Ok(v) => out.push(v),
            Err(e @ NodeError::Tampered(_)) => {
                out.push(MessageView::withheld(direction, row_id, &e))
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

#[derive(Deserialize)]
struct ListQuery {
    state: Option<String>,
    limit: Option<i64>,
}

fn limit(q: &ListQuery) -> i64 {
    q.limit.unwrap_or(100).clamp(1, 10_000)
}

async fn outbox(
    State(node): State<Node>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<MessageView>>, NodeError> {
    let state = match q.state.as_deref() {
        None => None,
        Some("queued") => Some(DeliveryState::Queued),
        Some("delivered") => Some(DeliveryState::Delivered),
        Some("refused") => Some(DeliveryState::Refused),
        Some("dead") => Some(DeliveryState::Dead),
        Some(other) => {
            return Err(NodeError::BadRequest(format!(
                "unknown state {other:?}: use queued, delivered, refused or dead"
            )));
        }
    };
    let rows = node.store().list_outbox(state, limit(&q)).await?;
    let list = checked_list(
        &node,
        "outbound",
        rows,
        |m| m.id.clone(),
        MessageView::outbound,
    )
    .await?;
    Ok(Json(list))
}

async fn inbox(
    State(node): State<Node>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<MessageView>>, NodeError> {
    node.record_access("mailbox", "inbox", "list").await?;
    let rows = node.store().list_inbox(limit(&q)).await?;
    let list = checked_list(
        &node,
        "inbound",
        rows,
        |m| m.id.clone(),
        MessageView::inbound,
    )
    .await?;
    Ok(Json(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Requeue {
    id: Option<String>,
}

async fn requeue(
    State(node): State<Node>,
    ApiJson(r): ApiJson<Requeue>,
) -> Result<Json<serde_json::Value>, NodeError> {
    let n = node.store().requeue_dead(r.id.as_deref()).await?;
    node.inner.wake.notify_one();
    Ok(Json(json!({ "requeued": n })))
}

async fn node_info(State(node): State<Node>) -> Result<Json<serde_json::Value>, NodeError> {
    let d = &node.descriptor().descriptor;
    let counts: serde_json::Map<String, serde_json::Value> = node
        .store()
        .outbox_counts()
        .await?
        .into_iter()
        .map(|(k, v)| (k, json!(v)))
        .collect();
    Ok(Json(json!({
        "node": d.node,
        "name": d.name,
        "jurisdiction": d.jurisdiction,
        "roles": d.roles,
        "endpoint": d.endpoint,
        "descriptor_version": d.version,
        "signing_key_id": comity_seal::key_id(&d.signing_key),
        "federation": node.trust().federation(),
        "trust_list_serial": node.trust().serial(),
        "store": node.store().backend(),
        "outbox": counts,
        "inbox": node.store().inbox_count().await?,
        "listeners": listeners_view(&node),
    })))
}

/// The connection caps in force (after fitting the descriptor limit) and the body limits.
fn listeners_view(node: &Node) -> serde_json::Value {
    let (caps, descriptors) = node.inner.caps;
    let limits = &node.config().limits;
    json!({
        "descriptor_limit": descriptors,
        "reserved_descriptors": limits.reserved_descriptors,
        "max_api_connections": caps.api,
        "max_pending_handshakes": caps.pending,
        "max_peer_connections": caps.peers,
        "max_connections_per_member": caps.per_member,
        "max_batch_bytes": limits.max_batch_bytes,
        "max_api_body_bytes": limits.max_api_body_bytes,
        "body_budget_bytes": limits.body_budget_bytes,
    })
}

async fn peers(State(node): State<Node>) -> Result<Json<Vec<views::PeerView>>, NodeError> {
    let health = node.store().peer_health().await?;
    let refused = node
        .store()
        .refusal_counts_since(crate::now_ms() - views::REFUSALS_SHOWN_MS)
        .await?;
    Ok(Json(views::peers(&node, health, refused)))
}

async fn rejections(
    State(node): State<Node>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<views::RefusalView>>, NodeError> {
    let rows = node.store().refusals(limit(&q)).await?;
    Ok(Json(
        rows.into_iter().map(views::RefusalView::from).collect(),
    ))
}
