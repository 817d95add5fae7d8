//! HTTP routes of the ledger. On the federation listener, the C2SP tlog-tiles read API
//! (`/ledger/checkpoint`, `/ledger/tile/...`) and the cosignature submission; on the user API,
//! status, proofs, entries, witnessing health and alarms.

use axum::body::Body;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use comity_model::Timestamp;
use comity_store::{AlarmRecord, IntegrityCursor, LedgerRecord, StoredCheckpoint, Witnessed};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::ledger::decode_entry;
use crate::tls::PeerNode;
use crate::witness::COSIGNATURE_PATH;
use crate::{Node, NodeError};

const NOTE_TYPE: &str = "text/plain; charset=utf-8";
/// Full tiles and bundles never change: any cache may keep them.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Checkpoints and partial tiles change as the log grows.
const SHORT: &str = "public, max-age=2";
/// Largest cosigned checkpoint a witness may post: a note with a signature line per member.
const MAX_COSIGNED_NOTE_BYTES: usize = 256 * 1024;

pub(crate) fn federation_routes() -> Router<Node> {
    Router::new()
        .route("/ledger/checkpoint", get(checkpoint))
        .route("/ledger/tile/{*path}", get(tile))
        .route(COSIGNATURE_PATH, post(cosignature))
}

pub(crate) fn api_routes() -> Router<Node> {
    Router::new()
        .route("/api/v1/ledger", get(status))
        .route("/api/v1/ledger/proof/{index}", get(proof))
        .route("/api/v1/ledger/consistency", get(consistency))
        .route("/api/v1/ledger/entries", get(entries))
        .route("/api/v1/ledger/alarms", get(alarms))
}

async fn checkpoint(State(node): State<Node>) -> Result<Response, NodeError> {
    let cp = match node.store().latest_checkpoint(false).await? {
        Some(cp) => cp,
        None => node.sign_checkpoint().await?,
    };
    let headers = [
        (header::CONTENT_TYPE, NOTE_TYPE),
        (header::CACHE_CONTROL, SHORT),
    ];
    Ok((headers, cp.cosigned_note()).into_response())
}

async fn tile(State(node): State<Node>, Path(path): Path<String>) -> Result<Response, NodeError> {
    let path = format!("tile/{path}");
    match node.tile(&path).await? {
        Some((id, bytes)) => {
            let cache = if id.is_full() { IMMUTABLE } else { SHORT };
            let headers = [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, cache),
            ];
            Ok((headers, bytes).into_response())
        }
        None => Err(NodeError::NotFound(format!(
            "{path} (not in this log's current tree)"
        ))),
    }
}

async fn cosignature(
    State(node): State<Node>,
    peer: Option<Extension<PeerNode>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, NodeError> {
    let member = peer.as_ref().map(|Extension(PeerNode(id))| id);
    let note = node
        .inner
        .bodies
        .read(member, &headers, body, MAX_COSIGNED_NOTE_BYTES)
        .await?;
    let kept = node.accept_cosignatures(&note.bytes).await?;
    Ok(Json(json!({ "accepted": kept })))
}

fn checkpoint_view(cp: &StoredCheckpoint) -> Value {
    let root = comity_ledger::SignedCheckpoint::parse_unverified(cp.note.as_bytes())
        .ok()
        .map(|c| c.checkpoint.root.to_base64());
    let witnesses: Vec<String> = cp
        .cosignatures
        .iter()
        .filter_map(|l| l.strip_prefix("\u{2014} "))
        .filter_map(|l| l.split(' ').next())
        .map(str::to_owned)
        .collect();
    json!({
        "size": cp.size,
        "root": root,
        "signed_at": Timestamp::from_unix_ms(cp.signed_at),
        "cosigned_by": witnesses,
        "note": cp.cosigned_note(),
    })
}

fn witnessed_view(w: &Witnessed) -> Value {
    json!({
        "peer": w.peer,
        "size": w.size,
        "verified_at": w.verified_at.map(Timestamp::from_unix_ms),
        "cosigned_at": w.cosigned_at.map(Timestamp::from_unix_ms),
        "checked_at": Timestamp::from_unix_ms(w.checked_at),
        "last_error": w.last_error,
    })
}

fn alarm_view(a: &AlarmRecord) -> Value {
    json!({
        "seq": a.seq,
        "peer": a.peer,
        "kind": a.kind,
        "detected_at": Timestamp::from_unix_ms(a.detected_at),
        "evidence": serde_json::from_str::<Value>(&a.evidence).unwrap_or(Value::Null),
    })
}

fn cursor_view(c: &IntegrityCursor) -> Value {
    json!({
        "source": c.source,
        "position": c.position,
        "passes": c.passes,
        "updated_at": Timestamp::from_unix_ms(c.updated_at),
    })
}

fn entry_view(r: &LedgerRecord) -> Value {
    json!({
        "index": r.idx,
        "kind": r.kind,
        "time": Timestamp::from_unix_ms(r.time),
        "entry": decode_entry(&r.bytes),
    })
}

async fn status(State(node): State<Node>) -> Result<Json<Value>, NodeError> {
    let store = node.store();
    let latest = store.latest_checkpoint(false).await?;
    let cosigned = store.latest_checkpoint(true).await?;
    let witnesses = store.witness_health().await?;
    let alarms = store.alarms().await?;
    let integrity_alarms = alarms
        .iter()
        .filter(|a| a.kind == crate::integrity::ALARM_KIND)
        .count();
    let cursors = store.integrity_cursors().await?;
    let keys = &node.inner.log_keys;
    Ok(Json(json!({
        "origin": node.log_origin(),
        "size": store.ledger_size().await?,
        "log_key": keys.signer.verifier().to_vkey(),
        "witness_key": keys.cosigner.verifier().to_vkey(),
        "checkpoint": latest.as_ref().map(checkpoint_view),
        "cosigned_checkpoint": cosigned.as_ref().map(checkpoint_view),
        "witnessing": witnesses.iter().map(witnessed_view).collect::<Vec<_>>(),
        "alarms": alarms.len(),
        "integrity": {
            "alarms": integrity_alarms,
            "checks": cursors.iter().map(cursor_view).collect::<Vec<_>>(),
        },
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofQuery {
    size: Option<u64>,
}

async fn proof(
    State(node): State<Node>,
    Path(index): Path<u64>,
    Query(q): Query<ProofQuery>,
) -> Result<Response, NodeError> {
    let bundle = node.prove(index, q.size).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        bundle.to_json(),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    old: u64,
    new: u64,
}

async fn consistency(
    State(node): State<Node>,
    Query(q): Query<ConsistencyQuery>,
) -> Result<Response, NodeError> {
    if q.old == 0 || q.old > q.new {
        return Err(NodeError::BadRequest(format!(
            "consistency needs 0 < old <= new, got old {} new {}",
            q.old, q.new
        )));
    }
    let bundle = node.prove_consistency(q.old, q.new).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        bundle.to_json(),
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesQuery {
    kind: Option<String>,
    limit: Option<i64>,
}

async fn entries(
    State(node): State<Node>,
    Query(q): Query<EntriesQuery>,
) -> Result<Json<Vec<Value>>, NodeError> {
    if let Some(kind) = &q.kind {
        comity_ledger::EntryKind::parse(kind)?;
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 10_000);
    let rows = node.store().ledger_recent(q.kind.as_deref(), limit).await?;
    Ok(Json(rows.iter().map(entry_view).collect()))
}

async fn alarms(State(node): State<Node>) -> Result<Json<Vec<Value>>, NodeError> {
    let rows = node.store().alarms().await?;
    Ok(Json(rows.iter().map(alarm_view).collect()))
}
