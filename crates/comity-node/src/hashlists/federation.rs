//! What peers pull: the catalogue of this node's own lists and their signed updates.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use comity_model::Timestamp;
use comity_pdq::list::{ListId, encode_list_file, parse_signed_update_bytes};
use serde::{Deserialize, Serialize};

use super::{FEDERATION_LISTS_PATH, LIST_FILE_MEDIA_TYPE, PAGE_BYTES, UPDATES_PER_PAGE};
use crate::{Node, NodeError};

/// One entry of the catalogue.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CatalogueEntry {
    pub list: String,
    pub publisher: String,
    pub version: i64,
    pub issued_at: Timestamp,
}

pub(crate) fn routes() -> Router<Node> {
    Router::new()
        .route(FEDERATION_LISTS_PATH, get(catalogue))
        .route(
            &format!("{FEDERATION_LISTS_PATH}/{{list}}/updates"),
            get(updates),
        )
}

async fn catalogue(State(node): State<Node>) -> Result<Json<Vec<CatalogueEntry>>, NodeError> {
    let heads = node.store().list_heads(Some(node.id().as_str())).await?;
    Ok(Json(
        heads
            .into_iter()
            .map(|h| CatalogueEntry {
                list: h.list,
                publisher: h.publisher,
                version: h.version,
                issued_at: Timestamp::from_unix_ms(h.issued_at),
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct After {
    #[serde(default)]
    after: i64,
}

/// The list file of the versions after `after` (at most a page of them; empty when up to date).
async fn updates(
    State(node): State<Node>,
    Path(list): Path<String>,
    Query(q): Query<After>,
) -> Result<Response, NodeError> {
    let id: ListId = list.parse()?;
    let own = node
        .store()
        .list_heads(Some(node.id().as_str()))
        .await?
        .into_iter()
        .any(|h| h.list == id.as_str());
    if !own {
        return Err(NodeError::UnknownList(id.to_string()));
    }
    let rows = node
        .store()
        .list_updates(id.as_str(), q.after.max(0), UPDATES_PER_PAGE)
        .await?;
    // Stored bytes are canonical, so decoding and re-encoding serves them unchanged.
    let mut updates = Vec::new();
    let mut size = 0;
    for r in &rows {
        if size >= PAGE_BYTES {
            break;
        }
        size += r.signed.len();
        updates.push(parse_signed_update_bytes(&r.signed)?);
    }
    Ok((
        [(header::CONTENT_TYPE, LIST_FILE_MEDIA_TYPE)],
        encode_list_file(&updates),
    )
        .into_response())
}
