//! Evidence in the node (issue 6): files streamed into the vault, and every step of an item's
//! life a custody event signed with the node's key and committed with its ledger entry.
//! Reading content checks the stored object and its first chunk, then records `accessed`, before
//! a byte leaves the node; a later chunk that fails its check aborts the transfer.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use comity_evidence::{Acquisition, Action, ChunkReader, CustodyEvent, Sha256Digest, SignedEvent};
use comity_model::Timestamp;
use comity_store::{CustodyRecord, EvidenceItem, NewCustodyEvent};
use futures_util::{StreamExt, TryStreamExt};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio_util::io::StreamReader;

use crate::ledger::to_append;
use crate::{Node, NodeError, now_ms};

/// The user an API call acts as (its ledger actor is `<node>/api`).
pub(crate) const API_USER: &str = "api";
/// The user of events the node records by itself (a transfer received and verified).
pub(crate) const NODE_USER: &str = "node";
/// Attempts at appending an event when concurrent events of the same item keep coming first.
pub(crate) const APPEND_ATTEMPTS: usize = 8;

pub(crate) fn routes() -> Router<Node> {
    Router::new()
        .route("/api/v1/evidence", post(add).get(list))
        .route(
            "/api/v1/evidence/export",
            get(crate::evidence_export::export),
        )
        .route("/api/v1/evidence/{sha256}", get(show))
        .route("/api/v1/evidence/{sha256}/content", get(content))
        .merge(crate::evidence_transfer::routes())
}

/// Query-string failures become API errors with a stable code rather than axum's plain text.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequestParts<S>
    for ApiQuery<T>
{
    type Rejection = NodeError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, NodeError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(NodeError::BadRequest(e.body_text())),
        }
    }
}

#[derive(Deserialize)]
struct AddQuery {
    case: String,
    name: String,
    by: Option<String>,
    location: Option<String>,
    tool: Option<String>,
    method: Option<String>,
}

#[derive(Deserialize)]
struct ListQuery {
    case: String,
}

pub(crate) fn parse_sha(s: &str) -> Result<Sha256Digest, NodeError> {
    s.parse()
        .map_err(|_| NodeError::BadRequest(format!("{s:?} is not a SHA-256 in hex")))
}

fn item_view(item: &EvidenceItem) -> Value {
    let conditions = item
        .conditions
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok());
    json!({
        "sha256": item.sha256,
        "case": item.case_id,
        "name": item.name,
        "size": item.size,
        "conditions": conditions,
        "provider": item.provider,
        "created_at": Timestamp::from_unix_ms(item.created_at).to_string(),
    })
}

fn event_view(r: &CustodyRecord) -> Value {
    let event = serde_json::from_slice::<Value>(&r.signed).unwrap_or(Value::Null);
    json!({
        "seq": r.seq,
        "action": r.action,
        "actor": r.actor,
        "at": Timestamp::from_unix_ms(r.at).to_string(),
        "ledger_index": r.ledger_index,
        "foreign": r.proof.is_some(),
        "signed": event,
    })
}

impl Node {
    pub(crate) fn to_record(&self, event: CustodyEvent) -> Result<NewCustodyEvent, NodeError> {
        let ledger = to_append(&event.ledger_entry()?)?;
        let signed = event.sign(self.inner.secrets.signing_key())?;
        Ok(NewCustodyEvent {
            sha256: signed.event.evidence.hex(),
            seq: i64::try_from(signed.event.seq).unwrap_or(i64::MAX),
            action: signed.event.action.as_str().to_owned(),
            actor: format!("{}/{}", signed.event.node, signed.event.user),
            at: signed.event.time.unix_ms(),
            signed: signed.to_json(),
            ledger,
        })
    }

    /// Appends `action` after the item's newest event, rebuilding it if another event won.
    pub(crate) async fn record_next(
        &self,
        sha: &Sha256Digest,
        action: Action,
    ) -> Result<u64, NodeError> {
        let store = &self.inner.store;
        for _ in 0..APPEND_ATTEMPTS {
            let events = store.custody_events(&sha.hex()).await?;
            let last = events
                .last()
                .ok_or_else(|| NodeError::NotFound(format!("evidence {sha}")))?;
            let prev = SignedEvent::from_json(&last.signed)?;
            let next = CustodyEvent::next_after(
                &prev.event,
                action,
                Timestamp::from_unix_ms(now_ms()),
                self.id().clone(),
                API_USER,
            );
            if let Some(index) = store.record_custody(&self.to_record(next)?).await? {
                return Ok(index);
            }
        }
        Err(NodeError::BadRequest(format!(
            "evidence {sha}: custody events kept changing; try again"
        )))
    }

    pub(crate) async fn item_or_404(&self, sha: &str) -> Result<EvidenceItem, NodeError> {
        let sha = parse_sha(sha)?;
        self.inner
            .store
            .evidence_item(&sha.hex())
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("evidence {sha}")))
    }

    async fn timeline_view(&self, item: &EvidenceItem) -> Result<Value, NodeError> {
        let events = self.inner.store.custody_events(&item.sha256).await?;
        let transfers = self.inner.store.transfers(Some(&item.sha256)).await?;
        let mut view = item_view(item);
        view["custody"] = events.iter().map(event_view).collect();
        view["transfers"] = transfers
            .iter()
            .map(crate::evidence_transfer::transfer_view)
            .collect();
        view["consents"] =
            serde_json::to_value(self.consents_of(&item.sha256).await?).unwrap_or(Value::Null);
        view["tampering"] = self.tampering_of(&item.sha256).await?.into();
        Ok(view)
    }
}

async fn add(
    State(node): State<Node>,
    ApiQuery(q): ApiQuery<AddQuery>,
    body: Body,
) -> Result<Response, NodeError> {
    let now = Timestamp::from_unix_ms(now_ms());
    let acquisition = Acquisition {
        by: q.by.unwrap_or_else(|| format!("{}/{API_USER}", node.id())),
        location: q
            .location
            .unwrap_or_else(|| format!("uploaded to {}", node.id())),
        tool: q.tool.unwrap_or_else(|| "comity node API".into()),
        method: q
            .method
            .unwrap_or_else(|| "streamed upload, SHA-256 computed on ingest".into()),
    };
    let mut acquired = CustodyEvent {
        v: 1,
        evidence: Sha256Digest([0; 32]),
        case: q.case,
        seq: 0,
        prev: None,
        action: Action::Acquired,
        time: now,
        node: node.id().clone(),
        user: API_USER.into(),
        acquisition: Some(acquisition),
        counterpart: None,
        conditions: None,
        note: None,
    };
    // Refuse a bad case or acquisition before reading the upload.
    acquired.validate()?;
    if q.name.is_empty() || q.name.len() > 1024 {
        return Err(NodeError::BadRequest("name must be 1 to 1024 bytes".into()));
    }
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .boxed();
    let info = node
        .inner
        .vault
        .ingest(StreamReader::new(stream), |_| {})
        .await?;
    let store = &node.inner.store;
    if let Some(existing) = store.evidence_item(&info.sha256.hex()).await? {
        return Ok((StatusCode::OK, Json(node.timeline_view(&existing).await?)).into_response());
    }
    acquired.evidence = info.sha256;
    let sealed =
        CustodyEvent::next_after(&acquired, Action::Sealed, now, node.id().clone(), API_USER);
    let item = EvidenceItem {
        sha256: info.sha256.hex(),
        case_id: acquired.case.clone(),
        name: q.name,
        size: i64::try_from(info.size).unwrap_or(i64::MAX),
        conditions: None,
        provider: node.id().to_string(),
        created_at: now.unix_ms(),
    };
    let events = [node.to_record(acquired)?, node.to_record(sealed)?];
    let status = match store.add_evidence(&item, &events).await? {
        Some(_) => StatusCode::CREATED,
        None => StatusCode::OK,
    };
    let stored = node.item_or_404(&item.sha256).await?;
    Ok((status, Json(node.timeline_view(&stored).await?)).into_response())
}

async fn list(
    State(node): State<Node>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Value>, NodeError> {
    let items = node.inner.store.evidence_items(&q.case).await?;
    Ok(Json(
        json!({ "items": items.iter().map(item_view).collect::<Vec<_>>() }),
    ))
}

async fn show(State(node): State<Node>, Path(sha): Path<String>) -> Result<Json<Value>, NodeError> {
    let item = node.item_or_404(&sha).await?;
    Ok(Json(node.timeline_view(&item).await?))
}

async fn content(State(node): State<Node>, Path(sha): Path<String>) -> Result<Response, NodeError> {
    let item = node.item_or_404(&sha).await?;
    let sha = parse_sha(&item.sha256)?;
    // The object is checked against the item (a legacy one read whole) and its first chunk
    // authenticated before anything is recorded or sent: a swapped or damaged object gets an
    // error, never a 200.
    let vault = std::sync::Arc::clone(&node.inner.vault);
    let opened = ChunkReader::open(vault, &sha).await;
    // One chunk in memory per download, however slow the client.
    let mut reader = node.reported(&sha, "content", opened).await?.with_window(1);
    let first = reader.next_chunk().await;
    let first = node.reported(&sha, "content", first).await?;
    let size = reader.info().size;
    node.record_next(&sha, Action::Accessed).await?;
    // Then chunk by chunk, each checked before it is sent and the whole digest before the last
    // one is. A failure aborts the body: with the Content-Length announced, the client sees a
    // failed transfer, never a short answer it could take as complete.
    let chunks =
        futures_util::stream::unfold(Some((first, reader, node)), move |state| async move {
            let (pending, mut reader, node) = state?;
            let next = match pending {
                Some(chunk) => Ok(Some(chunk)),
                None => reader.next_chunk().await,
            };
            match next {
                Ok(Some(chunk)) => {
                    Some((Ok(bytes::Bytes::from(chunk)), Some((None, reader, node))))
                }
                Ok(None) => None,
                Err(e) => {
                    node.report_integrity(&sha, "content", &e).await;
                    Some((Err(std::io::Error::other(e)), None))
                }
            }
        });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        Body::from_stream(chunks),
    )
        .into_response())
}
