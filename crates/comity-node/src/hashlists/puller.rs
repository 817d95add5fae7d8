//! Pulls subscribed lists from their publishers on a schedule, verifies every update and stores
//! what verified; the first refused update stops the pull and shows in the subscription's health.

use std::time::Duration;

use comity_model::NodeId;
use comity_pdq::PdqError;
use comity_pdq::list::{ListId, SignedListUpdate, decode_list_file};
use comity_store::{PullError, Subscription};
use tokio::sync::watch;

use super::federation::CatalogueEntry;
use super::{FEDERATION_LISTS_PATH, MAX_ANSWER_BYTES, apply_to_matcher, row_for};
use crate::{Node, now_ms};

/// The peer could not be reached or answered something that is not a list file.
const TRANSPORT: &str = "pdq.pull_transport";
/// The stored versions of a subscribed list no longer verify.
const UNVERIFIABLE: &str = "pdq.list_unverifiable";
/// Pages fetched per list and round; the rest waits for the next round.
const MAX_PAGES: usize = 64;

pub(crate) async fn run(node: Node, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(node.config().hash_list_poll_ms.max(1));
    loop {
        match node.store().subscriptions().await {
            Ok(subs) => {
                for sub in subs {
                    pull(&node, &sub).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read hash-list subscriptions"),
        }
        tokio::select! {
            _ = node.inner.hash_lists.wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

fn pull_error(code: &str, message: impl Into<String>) -> PullError {
    PullError {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// Pulls one list until it is up to date, a page fails, or `MAX_PAGES` pages came.
async fn pull(node: &Node, sub: &Subscription) {
    let (list, peer) = match (sub.list.parse::<ListId>(), sub.peer.parse::<NodeId>()) {
        (Ok(l), Ok(p)) => (l, p),
        _ => return,
    };
    let held = node.inner.hash_lists.version(&list);
    if i64::try_from(held).ok() != Some(sub.applied_version) {
        // Stored versions that no longer verify were left out at start; pulling on top of them
        // cannot succeed, so say so instead of retrying.
        let error = pull_error(
            UNVERIFIABLE,
            format!(
                "{} versions are stored but only {held} verify now (has the publisher left the \
                 trust list?); unsubscribe and subscribe again to start over",
                sub.applied_version
            ),
        );
        if let Err(e) = node
            .store()
            .record_pull(&sub.list, &[], Some(&error), now_ms())
            .await
        {
            tracing::warn!(list = %list, error = %e, "cannot record a hash-list pull");
        }
        return;
    }
    for _ in 0..MAX_PAGES {
        let after = node.inner.hash_lists.version(&list);
        let (updates, error) = match fetch(node, &peer, &list, after).await {
            Ok(updates) => (updates, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let more = !updates.is_empty();
        match apply_and_record(node, &list, &peer, after, &updates, error).await {
            Ok(true) if more => continue,
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(list = %list, error = %e, "cannot record a hash-list pull");
                return;
            }
        }
    }
}

async fn fetch(
    node: &Node,
    peer: &NodeId,
    list: &ListId,
    after: u64,
) -> Result<Vec<SignedListUpdate>, PullError> {
    let (client, endpoint) =
        crate::delivery::client_for(node, peer).map_err(|e| pull_error(TRANSPORT, e))?;
    // List ids hold no character but `/` that a path segment cannot carry.
    let segment = list.as_str().replace('/', "%2F");
    let url = format!("{endpoint}{FEDERATION_LISTS_PATH}/{segment}/updates?after={after}");
    let response = client.get(url).send().await.map_err(|e| {
        pull_error(
            TRANSPORT,
            crate::delivery::describe_transport_error(peer, &e),
        )
    })?;
    let status = response.status();
    let bytes = read_capped(peer, response).await?;
    if !status.is_success() {
        let refusal: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let code = refusal
            .as_ref()
            .and_then(|v| v["error"]["code"].as_str())
            .unwrap_or(TRANSPORT);
        let message = refusal
            .as_ref()
            .and_then(|v| v["error"]["message"].as_str())
            .map_or_else(|| format!("{peer} answered HTTP {status}"), str::to_owned);
        return Err(pull_error(code, message));
    }
    decode_list_file(&bytes).map_err(|e| pull_error(e.code(), e.to_string()))
}

/// Reads an answer of at most `MAX_ANSWER_BYTES`.
async fn read_capped(peer: &NodeId, mut response: reqwest::Response) -> Result<Vec<u8>, PullError> {
    let too_large = || {
        pull_error(
            TRANSPORT,
            format!("{peer} answered more than {MAX_ANSWER_BYTES} bytes"),
        )
    };
    if response
        .content_length()
        .is_some_and(|n| n > MAX_ANSWER_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| pull_error(TRANSPORT, format!("reading the answer of {peer}: {e}")))?
    {
        if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(too_large());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The peer's catalogue of its own lists.
pub(crate) async fn catalogue(
    node: &Node,
    peer: &NodeId,
) -> Result<Vec<CatalogueEntry>, PullError> {
    let (client, endpoint) =
        crate::delivery::client_for(node, peer).map_err(|e| pull_error(TRANSPORT, e))?;
    let response = client
        .get(format!("{endpoint}{FEDERATION_LISTS_PATH}"))
        .send()
        .await
        .map_err(|e| {
            pull_error(
                TRANSPORT,
                crate::delivery::describe_transport_error(peer, &e),
            )
        })?;
    let status = response.status();
    let bytes = read_capped(peer, response).await?;
    if !status.is_success() {
        return Err(pull_error(
            TRANSPORT,
            format!("{peer} answered HTTP {status}"),
        ));
    }
    serde_json::from_slice(&bytes)
        .map_err(|e| pull_error(TRANSPORT, format!("unreadable catalogue from {peer}: {e}")))
}

/// Applies the updates in order under the lists' change lock, then stores those that verified
/// together with the first refusal. Returns whether every update was applied.
async fn apply_and_record(
    node: &Node,
    list: &ListId,
    peer: &NodeId,
    after: u64,
    updates: &[SignedListUpdate],
    mut error: Option<PullError>,
) -> Result<bool, crate::NodeError> {
    let s = &node.inner;
    let sharing = &s.hash_lists;
    let _changing = sharing.changing.lock().await;
    if sharing.version(list) != after {
        return Ok(false);
    }
    let now = now_ms();
    let mut rows = Vec::new();
    {
        let mut matcher = sharing.write();
        for u in updates {
            let applied = check_origin(u, list, peer)
                .and_then(|()| apply_to_matcher(&mut matcher, u, &s.trust));
            match applied {
                Ok(true) => rows.push(row_for(u, now)),
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(list = %list, peer = %peer, code = e.code(), "refused a hash-list update: {e}");
                    error = Some(pull_error(e.code(), e.to_string()));
                    break;
                }
            }
        }
    }
    let complete = error.is_none();
    let recorded = s
        .store
        .record_pull(list.as_str(), &rows, error.as_ref(), now)
        .await;
    if !matches!(recorded, Ok(true)) {
        sharing.reload(&s.store, &s.trust).await?;
    }
    Ok(recorded? && complete)
}

/// An update pulled for `list` from `peer` must be that list's, published by that peer.
fn check_origin(u: &SignedListUpdate, list: &ListId, peer: &NodeId) -> Result<(), PdqError> {
    if &u.update.list != list {
        return Err(PdqError::ListMismatch {
            want: list.to_string(),
            got: u.update.list.to_string(),
        });
    }
    if &u.update.publisher != peer {
        return Err(PdqError::ListField {
            field: "publisher",
            reason: format!("{peer} served an update signed as {}", u.update.publisher),
        });
    }
    Ok(())
}
