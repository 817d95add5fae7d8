//! Delivery workers: each peer's queue is sent in acceptance order, in batches, by one worker at a
//! time (a lease in the store, so several processes can share a PostgreSQL database). Failures back
//! off exponentially with jitter; messages too old are dead-lettered, never dropped.

use std::time::Duration;

use comity_model::NodeId;
use comity_seal::{Receipt, key_id};
use comity_store::Outbound;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::federation::{BatchAnswer, EnvelopeAnswer};
use crate::{ENVELOPES_MEDIA_TYPE, FEDERATION_MESSAGES_PATH, Node, NodeError, now_ms};

/// How long a peer's queue stays with a worker that stops renewing it. Short, so that the queue
/// of a process that died moves to another within seconds; a live worker renews it every
/// [`RENEW_EVERY`], however long its batch takes.
const LEASE_MS: i64 = 15_000;
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// The longest `Retry-After` of a peer that is followed; a longer one waits this long.
const MAX_RETRY_AFTER_S: u64 = 3600;

/// Why a delivery attempt failed, and when the peer asked to be tried again.
struct Failure {
    reason: String,
    retry_after_ms: Option<i64>,
}

impl From<String> for Failure {
    fn from(reason: String) -> Failure {
        Failure {
            reason,
            retry_after_ms: None,
        }
    }
}

pub(crate) async fn run(node: Node, mut shutdown: watch::Receiver<bool>) {
    let tick = Duration::from_millis(node.config().tick_ms);
    let mut last_dead_letter = 0;
    // Workers live in this set so that stopping ends them before the node gives up its
    // leases: a worker left running would renew a lease after it was released.
    let mut workers = JoinSet::new();
    loop {
        // Wakes come with every accepted message; the dead-letter pass is a write, so it runs
        // at most once per tick to keep writers from queueing behind it.
        let now = now_ms();
        let dead_letter = now - last_dead_letter >= node.config().tick_ms as i64;
        if dead_letter {
            last_dead_letter = now;
        }
        if let Err(e) = sweep(&node, dead_letter, &mut workers).await {
            tracing::warn!(error = %e, "delivery sweep failed");
        }
        while workers.try_join_next().is_some() {}
        tokio::select! {
            _ = node.inner.wake.notified() => {}
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => {
                workers.shutdown().await;
                return;
            }
        }
    }
}

/// Dead-letters what is too old (when asked), then starts a worker for every peer with due
/// messages.
async fn sweep(node: &Node, dead_letter: bool, workers: &mut JoinSet<()>) -> Result<(), NodeError> {
    let now = now_ms();
    let store = node.store();
    let dead = if dead_letter {
        store
            .dead_letter_older_than(now - node.config().dead_letter_after_ms)
            .await?
    } else {
        0
    };
    if dead > 0 {
        tracing::warn!(
            count = dead,
            "dead-lettered messages older than the maximum age"
        );
    }
    for peer in store.peers_ready(now).await? {
        let started = node
            .inner
            .delivering
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(peer.clone());
        if started {
            let node = node.clone();
            workers.spawn(async move {
                if let Err(e) = deliver_to(&node, &peer).await {
                    tracing::warn!(peer, error = %e, "delivery worker stopped");
                }
                node.inner
                    .delivering
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&peer);
                node.inner.wake.notify_one();
            });
        }
    }
    Ok(())
}

async fn deliver_to(node: &Node, peer: &str) -> Result<(), NodeError> {
    let store = node.store();
    let holder = &node.inner.holder;
    if !store
        .lease_peer(peer, holder, now_ms(), now_ms() + LEASE_MS)
        .await?
    {
        return Ok(());
    }
    // Losing the lease drops the batch in flight: the new holder sends it again and the peer
    // answers the copies it already has as duplicates. That is no failure of the peer's.
    let result = tokio::select! {
        result = drain(node, peer) => result,
        lost = keep_lease(node, peer) => {
            tracing::warn!(peer, "delivery worker stopped: {lost}");
            Ok(())
        }
    };
    store.release_peer(peer, holder).await?;
    if let Err(failure) = &result {
        let reason = &failure.reason;
        let failures = store.peer_failed(peer, reason, now_ms()).await?;
        // A peer that says when to come back (it throttled us) is tried then, not sooner.
        let wait = failure
            .retry_after_ms
            .unwrap_or_else(|| backoff_ms(node, failures));
        store.retry_peer_at(peer, now_ms() + wait).await?;
        tracing::info!(
            peer,
            failures,
            retry_in_ms = wait,
            "delivery failed: {reason}"
        );
    }
    Ok(())
}

/// Renews the worker's lease on `peer` until it cannot; returns why.
async fn keep_lease(node: &Node, peer: &str) -> String {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let now = now_ms();
        match node
            .store()
            .lease_peer(peer, &node.inner.holder, now, now + LEASE_MS)
            .await
        {
            Ok(true) => {}
            Ok(false) => return "the delivery lease passed to another process".to_owned(),
            Err(e) => return format!("the delivery lease could not be renewed: {e}"),
        }
    }
}

/// Sends the peer's queue batch by batch until it is empty or the peer fails. A batch holds at
/// most `batch_size` envelopes and `limits.max_batch_bytes` bytes; a peer that refuses a batch
/// as too large (its limit is lower) gets batches half as large, down to single envelopes, and
/// an envelope it refuses alone is marked refused.
async fn drain(node: &Node, peer: &str) -> Result<(), Failure> {
    let store = node.store();
    let peer_id: NodeId = peer.parse().map_err(|e| format!("{e}"))?;
    let mut max_bytes = node.config().limits.max_batch_bytes;
    loop {
        let mut batch = store
            .queued_for(peer, node.config().batch_size as i64)
            .await
            .map_err(|e| e.to_string())?;
        if batch.is_empty() {
            return Ok(());
        }
        batch.truncate(fitting(&batch, max_bytes));
        let answer = match post(node, &peer_id, &batch).await {
            Ok(answer) => answer,
            Err(Posted::TooLarge(_)) if batch.len() > 1 => {
                max_bytes = batch_bytes(&batch) / 2;
                continue;
            }
            Err(Posted::TooLarge(text)) => {
                let refusal = format!("http.too_large: {text}");
                tracing::warn!(peer, id = batch[0].id, "peer refused a message: {refusal}");
                store
                    .mark_refused(&[(batch[0].id.clone(), refusal)])
                    .await
                    .map_err(|e| Failure::from(e.to_string()))?;
                continue;
            }
            Err(Posted::Failed(reason)) => return Err(reason),
        };
        if answer.results.len() != batch.len() {
            return Err(format!(
                "peer answered {} results for {} envelopes",
                answer.results.len(),
                batch.len()
            )
            .into());
        }
        let keys = node
            .trust()
            .signing_keys_at(&peer_id, comity_model::Timestamp::from_unix_ms(now_ms()));
        let mut delivered = Vec::new();
        let mut refused = Vec::new();
        let mut transient = None;
        for (message, result) in batch.iter().zip(answer.results) {
            match result {
                EnvelopeAnswer::Receipt(text) => {
                    match check_receipt(message, text.as_bytes(), &keys) {
                        Ok(()) => delivered.push((message.id.clone(), text.into_bytes())),
                        Err(e) => {
                            transient = Some(format!("invalid receipt for {}: {e}", message.id));
                            break;
                        }
                    }
                }
                EnvelopeAnswer::Error {
                    code,
                    message: text,
                } if is_transient_code(&code) => {
                    transient = Some(format!("{code}: {text}"));
                    break;
                }
                EnvelopeAnswer::Error {
                    code,
                    message: text,
                } => {
                    tracing::warn!(
                        peer,
                        id = message.id,
                        code,
                        "peer refused a message: {text}"
                    );
                    refused.push((message.id.clone(), format!("{code}: {text}")));
                }
            }
        }
        let now = now_ms();
        store
            .mark_delivered(peer, &delivered, now)
            .await
            .map_err(|e| e.to_string())?;
        store
            .mark_refused(&refused)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(reason) = transient {
            return Err(reason.into());
        }
    }
}

/// The bytes of a batch as posted: each envelope and its newline.
fn batch_bytes(batch: &[Outbound]) -> usize {
    batch.iter().map(|m| m.envelope.len() + 1).sum()
}

/// How many envelopes from the front of `batch` fit in `max_bytes` (at least one).
fn fitting(batch: &[Outbound], max_bytes: usize) -> usize {
    let mut total = 0;
    let fit = batch
        .iter()
        .take_while(|m| {
            total += m.envelope.len() + 1;
            total <= max_bytes
        })
        .count();
    fit.max(1)
}

/// Why a batch was not answered.
enum Posted {
    /// The peer refused the request as too large (`413`), with its answer.
    TooLarge(String),
    Failed(Failure),
}

fn is_transient_code(code: &str) -> bool {
    code.starts_with("store.") || code == "node.shutting_down"
}

fn check_receipt(
    message: &Outbound,
    bytes: &[u8],
    keys: &[comity_seal::PublicKey],
) -> Result<(), String> {
    let receipt = Receipt::from_bytes(bytes).map_err(|e| e.to_string())?;
    let digest: [u8; 32] = message
        .digest
        .as_slice()
        .try_into()
        .map_err(|_| "stored digest is not 32 bytes".to_owned())?;
    if receipt.message.to_string() != message.id {
        return Err(format!("receipt is for message {}", receipt.message));
    }
    receipt.verify(keys, &digest).map_err(|e| e.to_string())
}

async fn post(node: &Node, peer: &NodeId, batch: &[Outbound]) -> Result<BatchAnswer, Posted> {
    let (client, endpoint) = client_for(node, peer).map_err(|e| Posted::Failed(e.into()))?;
    let mut body = Vec::with_capacity(batch_bytes(batch));
    for m in batch {
        body.extend_from_slice(&m.envelope);
        body.push(b'\n');
    }
    let response = client
        .post(format!("{endpoint}{FEDERATION_MESSAGES_PATH}"))
        .header(reqwest::header::CONTENT_TYPE, ENVELOPES_MEDIA_TYPE)
        .body(body)
        .send()
        .await
        .map_err(|e| Posted::Failed(describe_transport_error(peer, &e).into()))?;
    let status = response.status();
    if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        return Err(Posted::Failed(throttled(peer, response).await));
    }
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let text = text.chars().take(300).collect::<String>();
        return Err(if status == reqwest::StatusCode::PAYLOAD_TOO_LARGE {
            Posted::TooLarge(text)
        } else {
            Posted::Failed(format!("peer answered HTTP {status}: {text}").into())
        });
    }
    response
        .json::<BatchAnswer>()
        .await
        .map_err(|e| Posted::Failed(format!("unreadable answer from peer: {e}").into()))
}

/// The peer turned the batch away for too many refusals: nothing was processed, the messages
/// stay queued until the time it gave (`Retry-After`, seconds).
async fn throttled(peer: &NodeId, response: reqwest::Response) -> Failure {
    let retry_after_s = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.clamp(1, MAX_RETRY_AFTER_S));
    let error: serde_json::Value = response.json().await.unwrap_or_default();
    let field = |name: &str| {
        error["error"][name]
            .as_str()
            .unwrap_or("?")
            .chars()
            .take(300)
            .collect::<String>()
    };
    let wait = retry_after_s.map_or_else(|| "later".to_owned(), |s| format!("in {s} s"));
    Failure {
        reason: format!(
            "throttled by {peer} (HTTP 429): [{}] {}; the queue is kept and sent again {wait}",
            field("code"),
            field("message")
        ),
        retry_after_ms: retry_after_s.map(|s| i64::try_from(s * 1000).unwrap_or(i64::MAX)),
    }
}

/// The whole cause chain: a pinning failure is only visible deep inside it.
pub(crate) fn describe_transport_error(peer: &NodeId, e: &reqwest::Error) -> String {
    let mut text = format!("cannot reach {peer}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

pub(crate) fn client_for(node: &Node, peer: &NodeId) -> Result<(reqwest::Client, String), String> {
    let trust = node.trust();
    let descriptor = trust
        .member(peer)
        .ok_or_else(|| format!("{peer} is no longer in the trust list"))?;
    let endpoint = descriptor.endpoint.trim_end_matches('/').to_owned();
    let mut clients = node.inner.clients.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((pinned, client)) = clients.get(peer)
        && *pinned == descriptor.tls_key
    {
        return Ok((client.clone(), endpoint));
    }
    let tls = crate::tls::client_config(peer, descriptor.tls_key, &node.inner.secrets)
        .map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| {
            format!(
                "HTTP client for {peer} (key {}): {e}",
                key_id(&descriptor.tls_key)
            )
        })?;
    clients.insert(peer.clone(), (descriptor.tls_key, client.clone()));
    Ok((client, endpoint))
}

/// Exponential back-off with full jitter: a random wait in [base·2ⁿ⁻¹/2, base·2ⁿ⁻¹], capped.
fn backoff_ms(node: &Node, failures: i64) -> i64 {
    let cfg = node.config();
    let exp = u32::try_from(failures.clamp(1, 30) - 1).unwrap_or(0);
    let ceiling = cfg
        .retry_base_ms
        .saturating_mul(1i64 << exp)
        .min(cfg.retry_max_ms)
        .max(1);
    let half = ceiling / 2;
    half + (rand::random::<u64>() % u64::try_from(ceiling - half + 1).unwrap_or(1)) as i64
}
