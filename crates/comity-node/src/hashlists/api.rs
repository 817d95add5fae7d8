//! The user API of hash lists: publish and revoke, subscribe, list, match, notify.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use comity_model::{NodeId, Timestamp};
use comity_pdq::list::{Category, EntryId, ListEntry, ListId, ListMatch, MatchKind, SeriesId};
use comity_pdq::{DEFAULT_RADIUS, PdqError, PdqHash};
use comity_store::Subscription;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{check_list_owner, now_ts};
use crate::api::ApiJson;
use crate::{Node, NodeError, SendRequest};

/// Largest radius accepted: beyond it a query approaches a scan of every hash.
const MAX_RADIUS: u32 = 64;
/// Most hashes in one match request.
const MAX_QUERIES: usize = 1024;

pub(crate) fn routes() -> Router<Node> {
    Router::new()
        .route("/api/v1/pdq/lists", get(lists))
        .route("/api/v1/pdq/publish", post(publish))
        .route("/api/v1/pdq/subscriptions", get(subscriptions))
        .route("/api/v1/pdq/peers/{peer}/lists", get(peer_lists))
        .route("/api/v1/pdq/subscribe", post(subscribe))
        .route("/api/v1/pdq/unsubscribe", post(unsubscribe))
        .route("/api/v1/pdq/match", post(match_hashes))
        .route("/api/v1/pdq/notify", post(notify))
}

fn hex_digest<const N: usize>(field: &'static str, text: &str) -> Result<[u8; N], PdqError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).map_err(|_| PdqError::ListField {
        field,
        reason: format!("expected {} hexadecimal digits, got {text:?}", 2 * N),
    })?;
    Ok(out)
}

#[derive(Debug, Serialize)]
struct ListView {
    list: String,
    publisher: String,
    /// Published by this node (otherwise pulled from the publisher).
    own: bool,
    version: u64,
    live_entries: usize,
    head_digest: String,
}

async fn lists(State(node): State<Node>) -> Json<Vec<ListView>> {
    let matcher = node.inner.hash_lists.read();
    Json(
        matcher
            .lists()
            .map(|l| ListView {
                list: l.id().to_string(),
                publisher: l.publisher().to_string(),
                own: l.publisher() == node.id(),
                version: l.version(),
                live_entries: l.live_entries().count(),
                head_digest: hex::encode(l.head_digest()),
            })
            .collect(),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryInput {
    pdq: String,
    quality: u8,
    sha256: Option<String>,
    md5: Option<String>,
    category: String,
    /// Hexadecimal, 1-64 bytes, meaningful only to the contributor.
    series: Option<String>,
    #[serde(default)]
    victim_identified: bool,
    /// Defaults to this node.
    contributor: Option<NodeId>,
}

impl EntryInput {
    fn into_entry(self, me: &NodeId, at: Timestamp) -> Result<ListEntry, PdqError> {
        if self.quality > 100 {
            return Err(PdqError::ListField {
                field: "quality",
                reason: format!("{} is above 100", self.quality),
            });
        }
        Ok(ListEntry {
            id: 0,
            pdq: self.pdq.parse()?,
            quality: self.quality,
            sha256: self
                .sha256
                .map(|t| hex_digest::<32>("sha256", &t))
                .transpose()?,
            md5: self.md5.map(|t| hex_digest::<16>("md5", &t)).transpose()?,
            category: self.category.parse::<Category>()?,
            series: self.series.map(|t| SeriesId::from_hex(&t)).transpose()?,
            victim_identified: self.victim_identified,
            contributor: self.contributor.unwrap_or_else(|| me.clone()),
            added_at: at,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PublishRequest {
    list: String,
    #[serde(default)]
    add: Vec<EntryInput>,
    #[serde(default)]
    revoke: Vec<EntryId>,
}

async fn publish(
    State(node): State<Node>,
    ApiJson(req): ApiJson<PublishRequest>,
) -> Result<Response, NodeError> {
    let list: ListId = req.list.parse()?;
    check_list_owner(&list, node.id())?;
    let now = now_ts();
    let add = req
        .add
        .into_iter()
        .map(|e| e.into_entry(node.id(), now))
        .collect::<Result<Vec<_>, _>>()?;
    let mut revoke = req.revoke;
    revoke.sort_unstable();
    let signed = node.publish_list_update(list, add, revoke).await?;
    let u = &signed.update;
    let added: Vec<_> = u
        .added
        .iter()
        .map(|e| json!({"id": e.id, "pdq": e.pdq.to_string()}))
        .collect();
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "list": u.list.to_string(),
            "version": u.version,
            "issued_at": u.issued_at,
            "digest": hex::encode(u.digest()),
            "added": added,
            "revoked": u.revoked,
        })),
    )
        .into_response())
}

#[derive(Debug, Serialize)]
struct SubscriptionView {
    list: String,
    peer: String,
    subscribed_at: Timestamp,
    applied_version: i64,
    last_attempt_at: Option<Timestamp>,
    last_success_at: Option<Timestamp>,
    /// Failed pulls in a row; 0 when the last pull succeeded.
    failures: i64,
    last_error: Option<serde_json::Value>,
}

impl From<Subscription> for SubscriptionView {
    fn from(s: Subscription) -> Self {
        let ts = |ms: Option<i64>| ms.map(Timestamp::from_unix_ms);
        let last_error = s.last_error_code.map(|code| {
            json!({
                "code": code,
                "message": s.last_error.unwrap_or_default(),
                "at": ts(s.last_error_at),
            })
        });
        SubscriptionView {
            list: s.list,
            peer: s.peer,
            subscribed_at: Timestamp::from_unix_ms(s.created_at),
            applied_version: s.applied_version,
            last_attempt_at: ts(s.last_attempt_at),
            last_success_at: ts(s.last_success_at),
            failures: s.failures,
            last_error,
        }
    }
}

async fn subscriptions(State(node): State<Node>) -> Result<Json<Vec<SubscriptionView>>, NodeError> {
    let subs = node.store().subscriptions().await?;
    Ok(Json(subs.into_iter().map(Into::into).collect()))
}

/// A peer's catalogue, fetched over the pinned federation channel: what can be subscribed to.
async fn peer_lists(
    State(node): State<Node>,
    Path(peer): Path<String>,
) -> Result<Json<Vec<super::federation::CatalogueEntry>>, NodeError> {
    let peer: NodeId = peer.parse()?;
    if node.trust().member(&peer).is_none() {
        return Err(NodeError::UnknownNode(peer.to_string()));
    }
    super::puller::catalogue(&node, &peer)
        .await
        .map(Json)
        .map_err(|e| NodeError::PeerUnavailable(format!("[{}] {}", e.code, e.message)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscribeRequest {
    peer: NodeId,
    list: String,
}

async fn subscribe(
    State(node): State<Node>,
    ApiJson(req): ApiJson<SubscribeRequest>,
) -> Result<Response, NodeError> {
    let list: ListId = req.list.parse()?;
    if req.peer == *node.id() {
        return Err(NodeError::BadRequest(
            "a node does not subscribe to its own lists".into(),
        ));
    }
    if node.trust().member(&req.peer).is_none() {
        return Err(NodeError::UnknownNode(req.peer.to_string()));
    }
    check_list_owner(&list, &req.peer)?;
    let new = node
        .store()
        .subscribe_list(list.as_str(), req.peer.as_str(), crate::now_ms())
        .await?;
    node.inner.hash_lists.wake.notify_one();
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({"list": list.to_string(), "peer": req.peer, "new": new})),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsubscribeRequest {
    list: String,
}

async fn unsubscribe(
    State(node): State<Node>,
    ApiJson(req): ApiJson<UnsubscribeRequest>,
) -> Result<Json<serde_json::Value>, NodeError> {
    let list: ListId = req.list.parse()?;
    let sharing = &node.inner.hash_lists;
    let _changing = sharing.changing.lock().await;
    let removed = node.store().unsubscribe_list(list.as_str()).await?;
    if removed {
        sharing.reload(node.store(), node.trust()).await?;
    }
    Ok(Json(json!({"list": list.to_string(), "removed": removed})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchRequest {
    #[serde(default)]
    pdq: Vec<String>,
    #[serde(default)]
    sha256: Vec<String>,
    #[serde(default)]
    md5: Vec<String>,
    radius: Option<u32>,
}

#[derive(Debug, Serialize)]
struct MatchView {
    list: String,
    publisher: String,
    entry: EntryId,
    /// The node that contributed the picture's hashes: the one to ask about it.
    contributor: String,
    series: Option<String>,
    category: String,
    victim_identified: bool,
    /// `pdq`, `sha256` or `md5`.
    by: &'static str,
    distance: Option<u32>,
}

fn view(m: ListMatch) -> MatchView {
    let (by, distance) = match m.kind {
        MatchKind::Pdq { distance, .. } => ("pdq", Some(distance)),
        MatchKind::Sha256 => ("sha256", None),
        MatchKind::Md5 => ("md5", None),
    };
    let publisher = m
        .list
        .as_str()
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    MatchView {
        list: m.list.to_string(),
        publisher,
        entry: m.entry,
        contributor: m.contributor.to_string(),
        series: m.series.map(|s| s.to_string()),
        category: m.category.to_string(),
        victim_identified: m.victim_identified,
        by,
        distance,
    }
}

async fn match_hashes(
    State(node): State<Node>,
    ApiJson(req): ApiJson<MatchRequest>,
) -> Result<Json<serde_json::Value>, NodeError> {
    let radius = req.radius.unwrap_or(DEFAULT_RADIUS);
    if radius > MAX_RADIUS {
        return Err(NodeError::BadRequest(format!(
            "radius {radius} is above the maximum of {MAX_RADIUS}"
        )));
    }
    if req.pdq.len() + req.sha256.len() + req.md5.len() > MAX_QUERIES {
        return Err(NodeError::BadRequest(format!(
            "at most {MAX_QUERIES} hashes per request"
        )));
    }
    let pdq = req
        .pdq
        .iter()
        .map(|t| t.parse::<PdqHash>())
        .collect::<Result<Vec<_>, _>>()?;
    let sha256 = req
        .sha256
        .iter()
        .map(|t| hex_digest::<32>("sha256", t))
        .collect::<Result<Vec<_>, _>>()?;
    let md5 = req
        .md5
        .iter()
        .map(|t| hex_digest::<16>("md5", t))
        .collect::<Result<Vec<_>, _>>()?;
    let matcher = node.inner.hash_lists.read();
    let mut results = Vec::new();
    let mut answer = |by: &str, query: String, found: Vec<ListMatch>| {
        let matches: Vec<MatchView> = found.into_iter().map(view).collect();
        results.push(json!({"by": by, "query": query, "matches": matches}));
    };
    for (h, text) in pdq.iter().zip(&req.pdq) {
        answer("pdq", text.clone(), matcher.match_pdq(h, radius));
    }
    for (d, text) in sha256.iter().zip(&req.sha256) {
        answer("sha256", text.clone(), matcher.match_sha256(d));
    }
    for (d, text) in md5.iter().zip(&req.md5) {
        answer("md5", text.clone(), matcher.match_md5(d));
    }
    Ok(Json(json!({"radius": radius, "results": results})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifyRequest {
    list: String,
    entry: EntryId,
    distance: Option<u32>,
    note: Option<String>,
}

/// Tells the contributor of an entry that it matched here: a normal sealed message, sent only
/// when the investigator asks for it.
async fn notify(
    State(node): State<Node>,
    ApiJson(req): ApiJson<NotifyRequest>,
) -> Result<Response, NodeError> {
    let list: ListId = req.list.parse()?;
    let (contributor, series) = {
        let matcher = node.inner.hash_lists.read();
        let entry = matcher
            .lists()
            .find(|l| l.id() == &list)
            .and_then(|l| l.is_live(req.entry).then(|| l.entry(req.entry)).flatten())
            .ok_or_else(|| NodeError::UnknownList(format!("{list} entry {}", req.entry)))?;
        (
            entry.contributor.clone(),
            entry.series.as_ref().map(ToString::to_string),
        )
    };
    let body = json!({
        "list": list.to_string(),
        "entry": req.entry,
        "series": series,
        "distance": req.distance,
        "note": req.note,
    });
    let accepted = node
        .send(SendRequest {
            to: contributor,
            kind: comity_model::MessageKind::PdqMatchNotice
                .as_str()
                .to_owned(),
            body,
            in_reply_to: None,
            handling: None,
        })
        .await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}
