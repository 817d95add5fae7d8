//! Both ends of a transfer's chunks. The provider serves a chunk only to the node it offered
//! the item to (identified by its TLS client certificate). The recipient pulls the missing
//! chunks into the vault's `Assembler` on a schedule, resuming after any interruption (the
//! staging file is authenticated slot by slot), checks the digest, then registers the item with
//! the provider's events and its own `received` and `verified`, and reports the outcome. A wrong
//! chunk or digest refuses the transfer and registers nothing.

use std::time::Duration;

use axum::extract::{Extension, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use comity_evidence::{
    Action, Assembler, CustodyEvent, EvidenceError, SignedEvent, TransferOffer, UseConditions,
};
use comity_model::{CustodyLink, NodeId, Timestamp};
use comity_store::{EvidenceItem, ForeignEvent, Transfer};
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::tls::PeerNode;
use crate::{Node, NodeError, now_ms};

/// Chunks of an item on the federation listener: `{path}/{sha256}/chunks/{index}`.
pub(crate) const FEDERATION_EVIDENCE_PATH: &str = "/federation/v1/evidence";
/// Chunk requests in flight at once, answered in order: the round trip and the provider's read
/// of the next chunks overlap the checking and sealing of this one.
const IN_FLIGHT: usize = 4;
/// Progress is stored after this many chunks (and at the end of each round).
const PROGRESS_EVERY: usize = 32;
/// The peer could not be reached or answered something that is not a chunk.
const TRANSPORT: &str = "evidence.pull_transport";

pub(crate) fn federation_routes() -> Router<Node> {
    Router::new()
        .route(
            &format!("{FEDERATION_EVIDENCE_PATH}/{{sha256}}/chunks/{{index}}"),
            get(chunk),
        )
        .route(
            &format!("{FEDERATION_EVIDENCE_PATH}/{{sha256}}/custody/{{seq}}/proof"),
            get(custody_proof),
        )
}

/// The item, if it is offered to the asking node. One answer for unknown and not offered: a
/// member learns nothing of items not sent to it.
async fn offered(
    node: &Node,
    peer: Option<Extension<PeerNode>>,
    sha: String,
) -> Result<comity_evidence::Sha256Digest, NodeError> {
    let Some(Extension(PeerNode(peer))) = peer else {
        return Err(NodeError::NotOffered(sha, "an unidentified client".into()));
    };
    let digest: comity_evidence::Sha256Digest = sha
        .parse()
        .map_err(|_| NodeError::NotOffered(sha.clone(), peer.to_string()))?;
    if !node
        .store()
        .offered_to(&digest.hex(), peer.as_str())
        .await?
    {
        return Err(NodeError::NotOffered(digest.hex(), peer.to_string()));
    }
    Ok(digest)
}

async fn chunk(
    State(node): State<Node>,
    peer: Option<Extension<PeerNode>>,
    Path((sha, index)): Path<(String, u64)>,
) -> Result<Response, NodeError> {
    let digest = offered(&node, peer, sha).await?;
    // Authenticated as this item's chunk at this position before it is served; a damaged or
    // swapped object is reported here and answered 500, so the puller tries again later.
    let read = node.inner.vault.read_chunk(&digest, index).await;
    let bytes = node.reported(&digest, "chunk", read).await?;
    Ok(([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response())
}

/// The inclusion proof of custody event `seq` of an offered item: this node's events proved
/// now (the offer's `sent` was committed with the offer, after it was sealed), other nodes'
/// as they came.
async fn custody_proof(
    State(node): State<Node>,
    peer: Option<Extension<PeerNode>>,
    Path((sha, seq)): Path<(String, i64)>,
) -> Result<Response, NodeError> {
    let digest = offered(&node, peer, sha).await?;
    let record = node
        .store()
        .custody_events(&digest.hex())
        .await?
        .into_iter()
        .find(|r| r.seq == seq)
        .ok_or_else(|| NodeError::NotFound(format!("custody event {seq} of {digest}")))?;
    let proof = match (record.ledger_index, record.proof) {
        (Some(index), _) => node
            .prove(u64::try_from(index).unwrap_or(u64::MAX), None)
            .await?
            .to_json()
            .into_bytes(),
        (None, Some(proof)) => proof,
        (None, None) => {
            return Err(NodeError::NotFound(format!(
                "proof of custody event {seq} of {digest}"
            )));
        }
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], proof).into_response())
}

pub(crate) async fn run(node: Node, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(node.config().evidence_poll_ms.max(1));
    loop {
        match node.store().pending_transfers().await {
            Ok(pending) => {
                for t in pending {
                    pull(&node, &t).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read pending evidence transfers"),
        }
        tokio::select! {
            _ = node.inner.transfers_wake.notified() => {}
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Why a round of pulling stopped.
enum Stop {
    /// Try again next round (peer unreachable, storage busy); the error is shown meanwhile.
    Retry(String, String),
    /// The transfer cannot succeed: refuse it and tell the provider.
    Refuse(NodeError),
}

async fn pull(node: &Node, t: &Transfer) {
    let outcome = match pull_round(node, t).await {
        Ok(()) => return,
        Err(stop) => stop,
    };
    let now = now_ms();
    match outcome {
        Stop::Retry(code, message) => {
            tracing::info!(transfer = %t.id, code = %code, "evidence transfer paused: {message}");
            if let Err(e) = node
                .store()
                .transfer_progress(&t.id, None, Some((&code, &message)), now)
                .await
            {
                tracing::warn!(transfer = %t.id, error = %e, "cannot record transfer progress");
            }
        }
        Stop::Refuse(e) => {
            tracing::warn!(transfer = %t.id, code = e.code(), "evidence transfer refused: {e}");
            let ended = node
                .store()
                .end_transfer(
                    &t.id,
                    "in",
                    "refused",
                    Some((e.code(), &e.to_string())),
                    now,
                )
                .await;
            match ended {
                Ok(true) => node.report_transfer(t, Some(&e)).await,
                Ok(false) => {}
                Err(e) => tracing::warn!(transfer = %t.id, error = %e, "cannot end a transfer"),
            }
        }
    }
}

fn transient(e: &NodeError) -> bool {
    e.is_transient() || matches!(e, NodeError::Evidence(EvidenceError::Storage(_)))
}

fn stop(e: NodeError) -> Stop {
    if transient(&e) {
        Stop::Retry(e.code().to_owned(), e.to_string())
    } else {
        Stop::Refuse(e)
    }
}

async fn pull_round(node: &Node, t: &Transfer) -> Result<(), Stop> {
    let offer: TransferOffer = serde_json::from_str(&t.offer)
        .map_err(|e| Stop::Refuse(NodeError::BadRequest(format!("stored offer: {e}"))))?;
    let peer: NodeId = t
        .peer
        .parse()
        .map_err(|e: comity_model::ModelError| Stop::Refuse(e.into()))?;
    // The chain first: an offer withdrawn or refused there leaves no staging file behind.
    let links = custody_with_proofs(node, t, &peer).await?;
    let vault = node.inner.vault.clone();
    let mut assembler = tokio::task::spawn_blocking(move || vault.assembler(offer))
        .await
        .map_err(|e| Stop::Retry(TRANSPORT.into(), e.to_string()))?
        .map_err(|e| stop(e.into()))?;
    let missing = assembler.missing();
    let total = missing.len();
    let requests = missing.into_iter().map(|index| {
        let path = format!("{}/chunks/{index}", t.sha256);
        let peer = &peer;
        async move { (index, fetch(node, peer, &path).await) }
    });
    let mut chunks = futures_util::stream::iter(requests).buffered(IN_FLIGHT);
    let mut k = 0;
    while let Some((index, fetched)) = chunks.next().await {
        let bytes = match fetched {
            Ok(bytes) => bytes,
            // The provider refused (the offer was withdrawn): nothing partial is kept.
            Err(refused @ Stop::Refuse(_)) => {
                let _ = assembler.abandon();
                return Err(refused);
            }
            Err(retry) => return Err(retry),
        };
        if let Err(e) = assembler.accept(index, &bytes) {
            let e: NodeError = e.into();
            if !transient(&e) {
                let _ = assembler.abandon();
            }
            return Err(stop(e));
        }
        k += 1;
        if k % PROGRESS_EVERY == 0 && k < total {
            save_progress(node, t, &assembler).await;
        }
    }
    save_progress(node, t, &assembler).await;
    register(node, t, assembler, links).await
}

/// The offer's custody chain with every proof: the provider's `sent`, which the offer carries
/// without one, is fetched and checked against the provider's log key before any chunk is.
async fn custody_with_proofs(
    node: &Node,
    t: &Transfer,
    peer: &NodeId,
) -> Result<Vec<CustodyLink>, Stop> {
    let mut links: Vec<CustodyLink> = serde_json::from_str(&t.custody)
        .map_err(|e| Stop::Refuse(NodeError::BadRequest(format!("stored custody: {e}"))))?;
    let Some(last) = links.last_mut() else {
        return Err(Stop::Refuse(NodeError::BadRequest(
            "stored custody chain is empty".into(),
        )));
    };
    if last.proof.is_none() {
        let signed = SignedEvent::from_json(last.event.as_bytes()).map_err(|e| stop(e.into()))?;
        let path = format!("{}/custody/{}/proof", t.sha256, signed.event.seq);
        let bytes = fetch(node, peer, &path).await?;
        let proof = String::from_utf8(bytes).map_err(|e| {
            Stop::Refuse(NodeError::ProofRefused {
                seq: signed.event.seq,
                action: signed.event.action.as_str().to_owned(),
                node: signed.event.node.to_string(),
                reason: format!("the proof served is not text: {e}"),
            })
        })?;
        node.check_proof(&signed.event, Some(&proof))
            .map_err(Stop::Refuse)?;
        last.proof = Some(proof);
    }
    Ok(links)
}

async fn save_progress(node: &Node, t: &Transfer, assembler: &Assembler) {
    let received = t.chunks - i64::try_from(assembler.missing().len()).unwrap_or(0);
    if let Err(e) = node
        .store()
        .transfer_progress(&t.id, Some(received), None, now_ms())
        .await
    {
        tracing::warn!(transfer = %t.id, error = %e, "cannot record transfer progress");
    }
}

/// GETs `{FEDERATION_EVIDENCE_PATH}/{path}` from the provider over mutual TLS.
async fn fetch(node: &Node, peer: &NodeId, path: &str) -> Result<Vec<u8>, Stop> {
    let retry = |m: String| Stop::Retry(TRANSPORT.into(), m);
    let (client, endpoint) = crate::delivery::client_for(node, peer).map_err(retry)?;
    let url = format!("{endpoint}{FEDERATION_EVIDENCE_PATH}/{path}");
    let response = client
        .get(url)
        .send()
        .await
        .map_err(|e| retry(crate::delivery::describe_transport_error(peer, &e)))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| retry(format!("reading {path} from {peer}: {e}")))?;
    if status.is_success() {
        return Ok(bytes.to_vec());
    }
    let refusal: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
    let code = refusal
        .as_ref()
        .and_then(|v| v["error"]["code"].as_str())
        .unwrap_or(TRANSPORT)
        .to_owned();
    let message = refusal
        .as_ref()
        .and_then(|v| v["error"]["message"].as_str())
        .map_or_else(|| format!("{peer} answered HTTP {status}"), str::to_owned);
    if status.is_server_error() {
        return Err(Stop::Retry(code, message));
    }
    Err(Stop::Refuse(NodeError::PeerRefused { code, message }))
}

/// Checks the whole digest, publishes the blob and registers the item with its custody chain.
async fn register(
    node: &Node,
    t: &Transfer,
    assembler: Assembler,
    links: Vec<CustodyLink>,
) -> Result<(), Stop> {
    let info = assembler
        .finish(&node.inner.vault)
        .await
        .map_err(|e| stop(e.into()))?;
    let conditions: UseConditions = serde_json::from_str(&t.conditions)
        .map_err(|e| Stop::Refuse(NodeError::BadRequest(format!("stored conditions: {e}"))))?;
    let mut foreign = Vec::with_capacity(links.len());
    let mut last = None;
    for link in &links {
        let signed = SignedEvent::from_json(link.event.as_bytes()).map_err(|e| stop(e.into()))?;
        foreign.push(ForeignEvent {
            seq: i64::try_from(signed.event.seq).unwrap_or(i64::MAX),
            signed: link.event.as_bytes().to_vec(),
            action: signed.event.action.as_str().to_owned(),
            actor: format!("{}/{}", signed.event.node, signed.event.user),
            at: signed.event.time.unix_ms(),
            proof: link.proof.clone().unwrap_or_default().into_bytes(),
        });
        last = Some(signed.event);
    }
    let Some(sent) = last else {
        return Err(Stop::Refuse(NodeError::BadRequest(
            "stored custody chain is empty".into(),
        )));
    };
    let now = Timestamp::from_unix_ms(now_ms());
    let mut received = CustodyEvent::next_after(
        &sent,
        Action::Received,
        now,
        node.id().clone(),
        crate::evidence::NODE_USER,
    );
    received.counterpart = Some(conditions.provider.clone());
    let verified = CustodyEvent::next_after(
        &received,
        Action::Verified,
        now,
        node.id().clone(),
        crate::evidence::NODE_USER,
    );
    let events = [
        node.to_record(received).map_err(stop)?,
        node.to_record(verified).map_err(stop)?,
    ];
    let item = EvidenceItem {
        sha256: info.sha256.hex(),
        case_id: t.case_id.clone(),
        name: t.name.clone(),
        size: i64::try_from(info.size).unwrap_or(i64::MAX),
        conditions: Some(t.conditions.clone()),
        provider: t.peer.clone(),
        created_at: now.unix_ms(),
    };
    let registered = node
        .store()
        .receive_evidence(&t.id, &item, &foreign, &events, now.unix_ms())
        .await
        .map_err(|e| stop(e.into()))?;
    if registered.is_none() {
        return Err(Stop::Refuse(NodeError::AlreadyHeld(item.sha256)));
    }
    tracing::info!(transfer = %t.id, sha256 = %item.sha256, "evidence received and verified");
    node.report_transfer(t, None).await;
    Ok(())
}
