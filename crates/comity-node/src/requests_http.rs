//! The request routes of the user API: open, list, show with the timeline, act, allowed
//! actions. Times are UTC; clients show them in the user's zone.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use comity_model::Timestamp;
use comity_store::{StoredEvent, StoredRequest};
use comity_workflow::Request;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::ApiJson;
use crate::integrity::CheckError;
use crate::{ActOn, Node, NodeError, Offer, OpenFollowUp, OpenRequest, now_ms};

pub(crate) fn api_routes() -> Router<Node> {
    Router::new()
        .route("/api/v1/requests", post(open).get(list))
        .route(
            "/api/v1/requests/preview",
            post(crate::requests_preview::preview),
        )
        .route("/api/v1/requests/{id}", get(show))
        .route("/api/v1/requests/{id}/actions", post(act))
        .route("/api/v1/requests/{id}/allowed", get(allowed))
        .route(
            "/api/v1/requests/{id}/follow-ups",
            get(follow_ups).post(open_follow_up),
        )
}

fn summary(stored: &StoredRequest, request: &Request, now: Timestamp) -> Value {
    json!({
        "id": stored.id,
        "kind": stored.kind,
        "side": stored.side.as_str(),
        "peer": stored.peer,
        "requesting": request.requesting,
        "requested": request.requested,
        "state": stored.state,
        "due": request.due,
        "overdue": request.due.as_ref().is_some_and(|d| d.at < now),
        "links": request.links,
        "created_at": Timestamp::from_unix_ms(stored.created_at),
        "updated_at": Timestamp::from_unix_ms(stored.updated_at),
    })
}

fn timeline_entry(e: &StoredEvent) -> Value {
    let verified = e.log_index.is_some();
    let e2 = &e.event;
    let parse = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| serde_json::from_str::<Value>(s).ok())
            .unwrap_or(Value::Null)
    };
    let actor = match (&e2.actor_node, &e2.actor_role) {
        (Some(node), role) => json!({"node": node, "role": role}),
        _ => Value::Null,
    };
    json!({
        "seq": e.seq,
        "event": e2.event,
        "at": Timestamp::from_unix_ms(e2.at),
        "actor": actor,
        "action": parse(&e2.action),
        "from": e2.from_state,
        "to": e2.to_state,
        "articles": parse(&Some(e2.articles.clone())),
        "detail": e2.detail,
        "message_id": e2.message_id,
        "log_index": e.log_index,
        "verified": verified,
    })
}

/// Reads the request and then its timeline; a transition committed between the two reads
/// would show a timeline ahead of the request, so the pair is read again until the request's
/// version held across both.
async fn consistent_read(
    node: &Node,
    id: &str,
) -> Result<(StoredRequest, Vec<StoredEvent>), NodeError> {
    let read = || async {
        node.store()
            .get_request(id)
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("request {id}")))
    };
    let mut stored = read().await?;
    loop {
        let events = node.store().request_events(id).await?;
        let again = read().await?;
        if again.version == stored.version {
            return Ok((stored, events));
        }
        stored = again;
    }
}

/// The request and its timeline as the API shows them: only after the request matched the
/// digest its latest ledger entry recorded and each transition matched its own entry.
async fn full_view(node: &Node, id: &str) -> Result<Value, NodeError> {
    let (stored, events) = consistent_read(node, id).await?;
    let checked = async {
        let (request, unverified) = node.check_request(&stored).await?;
        let bound = node.check_events(id, &events).await?;
        Ok::<_, CheckError>((request, unverified, bound))
    }
    .await;
    let (request, unverified, bound) = node.verdict(checked).await?;
    let mut v = summary(&stored, &request, Timestamp::from_unix_ms(now_ms()));
    v["verified"] = json!(unverified.is_none());
    if let Some(why) = unverified {
        v["verification"] = json!(why);
    }
    v["timeline_verified"] = json!(bound);
    v["allowed"] = json!(request.allowed());
    v["timeline"] = events.iter().map(timeline_entry).collect();
    v["request"] = serde_json::to_value(&request).unwrap_or(Value::Null);
    Ok(v)
}

async fn open(
    State(node): State<Node>,
    ApiJson(req): ApiJson<OpenRequest>,
) -> Result<Response, NodeError> {
    let request = node.open_request(req).await?;
    let view = full_view(&node, &request.id.to_string()).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    state: Option<String>,
    /// `true`: only requests past their due time.
    overdue: Option<bool>,
    /// The time "overdue" is judged at (RFC 3339 UTC); now otherwise.
    at: Option<String>,
    limit: Option<i64>,
}

async fn list(
    State(node): State<Node>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Vec<Value>>, NodeError> {
    let at = match q.at.as_deref() {
        Some(t) => t.parse::<Timestamp>()?,
        None => Timestamp::from_unix_ms(now_ms()),
    };
    let due_before = q.overdue.unwrap_or(false).then(|| at.unix_ms());
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    node.record_access("requests", "list", "list").await?;
    let rows = node
        .store()
        .list_requests(q.state.as_deref(), due_before, limit)
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for stored in &rows {
        // One request that fails its check is listed without its content; the others are shown.
        let checked = node.check_request(stored).await;
        match node.verdict(checked).await {
            Ok((request, unverified)) => {
                let mut v = summary(stored, &request, at);
                v["verified"] = json!(unverified.is_none());
                out.push(v);
            }
            Err(e @ NodeError::Tampered(_)) => {
                out.push(json!({"id": stored.id, "verified": false, "tampered": e.to_json()}));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(Json(out))
}

async fn show(State(node): State<Node>, Path(id): Path<String>) -> Result<Json<Value>, NodeError> {
    let view = full_view(&node, &id).await?;
    node.record_access("request", &id, "read").await?;
    Ok(Json(view))
}

async fn act(
    State(node): State<Node>,
    Path(id): Path<String>,
    ApiJson(act): ApiJson<ActOn>,
) -> Result<Json<Value>, NodeError> {
    node.act_on_request(&id, act).await?;
    Ok(Json(full_view(&node, &id).await?))
}

async fn allowed(
    State(node): State<Node>,
    Path(id): Path<String>,
) -> Result<Json<Value>, NodeError> {
    let stored = node
        .store()
        .get_request(&id)
        .await?
        .ok_or_else(|| NodeError::NotFound(format!("request {id}")))?;
    let request = node.read_request(&stored).await?;
    Ok(Json(json!({
        "id": id,
        "state": request.state,
        "due": request.due,
        "allowed": request.allowed(),
    })))
}

async fn follow_ups(
    State(node): State<Node>,
    Path(id): Path<String>,
) -> Result<Json<Vec<Offer>>, NodeError> {
    Ok(Json(node.follow_ups(&id).await?))
}

async fn open_follow_up(
    State(node): State<Node>,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<OpenFollowUp>,
) -> Result<Response, NodeError> {
    let request = node.open_follow_up(&id, req).await?;
    let view = full_view(&node, &request.id.to_string()).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}
