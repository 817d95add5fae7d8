//! Witnessing: on a schedule, this node fetches each peer's checkpoint, checks that the peer's
//! tree extends the largest one it saw before (computing the consistency proof itself from the
//! peer's tiles, so a dishonest log cannot choose the proof), and returns a cosignature.
//! Contradictory checkpoints become stored alarms.

use std::time::Duration;

use comity_ledger::tile::TileSet;
use comity_ledger::{SignedCheckpoint, WitnessDecision, tile, witness, witness_from_tiles};
use comity_model::NodeId;
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::delivery::client_for;
use crate::ledger::log_verifiers;
use crate::{Node, now_ms};

/// Path of the cosignature submission, on the federation listener.
pub(crate) const COSIGNATURE_PATH: &str = "/federation/v1/ledger/cosignature";

/// Signs a checkpoint whenever the log grew, and witnesses every peer, until shutdown.
pub(crate) async fn run(node: Node, mut shutdown: watch::Receiver<bool>) {
    let checkpoint_every = Duration::from_millis(node.config().checkpoint_interval_ms.max(1));
    let witness_every = node.config().witness_interval_ms.max(1);
    // The first round waits one interval: peers started at the same time get to listen.
    let mut next_witness = now_ms() + i64::try_from(witness_every).unwrap_or(i64::MAX);
    loop {
        if let Err(e) = node.sign_checkpoint().await {
            tracing::error!(code = e.code(), "could not sign a checkpoint: {e}");
        }
        if now_ms() >= next_witness {
            witness_all(&node).await;
            next_witness = now_ms() + i64::try_from(witness_every).unwrap_or(i64::MAX);
        }
        tokio::select! {
            _ = tokio::time::sleep(checkpoint_every) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// One witnessing round over every peer, concurrently (a peer that is down only delays itself).
pub(crate) async fn witness_all(node: &Node) {
    let peers: Vec<NodeId> = node
        .trust()
        .members()
        .map(|d| d.node.clone())
        .filter(|p| p != node.id())
        .collect();
    let mut round = JoinSet::new();
    for peer in peers {
        let node = node.clone();
        round.spawn(async move {
            let outcome = witness_peer(&node, &peer).await;
            let store = node.store();
            let recorded = match outcome {
                Ok(()) => Ok(()),
                Err(reason) => {
                    // Recorded as the peer's witnessing health; a fork is logged as an error.
                    tracing::debug!(%peer, "witnessing failed: {reason}");
                    store
                        .record_witness_check(peer.as_str(), now_ms(), Some(&reason))
                        .await
                }
            };
            if let Err(e) = recorded {
                tracing::error!(%peer, error = %e, "could not record a witnessing result");
            }
        });
    }
    while round.join_next().await.is_some() {}
}

async fn fetch(node: &Node, peer: &NodeId, path: &str) -> Result<Vec<u8>, String> {
    let (client, endpoint) = client_for(node, peer)?;
    let url = format!("{endpoint}{path}");
    let response = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("GET {url}: HTTP {status}"));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    Ok(bytes.to_vec())
}

async fn witness_peer(node: &Node, peer: &NodeId) -> Result<(), String> {
    let store = node.store();
    let now = now_ms();
    let note = fetch(node, peer, "/ledger/checkpoint").await?;
    let verifiers = log_verifiers(node, peer);
    let (verifier, new) = verifiers
        .iter()
        .find_map(|v| SignedCheckpoint::open(&note, v).ok().map(|cp| (v, cp)))
        .ok_or_else(|| {
            let why = verifiers
                .first()
                .map(|v| SignedCheckpoint::open(&note, v).err())
                .map(|e| e.map(|e| e.to_string()).unwrap_or_default())
                .unwrap_or_else(|| "no signing key in the trust list".into());
            format!("checkpoint served by {peer} does not verify under its log key: {why}")
        })?;
    let kept = store
        .witnessed(peer.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let last = match kept.as_ref().and_then(|w| w.note.as_deref()) {
        Some(text) => Some(
            SignedCheckpoint::parse_unverified(text.as_bytes())
                .map_err(|e| format!("stored checkpoint of {peer} is unreadable: {e}"))?,
        ),
        None => None,
    };
    let (old, new_size) = (
        last.as_ref().map_or(0, |c| c.checkpoint.size),
        new.checkpoint.size,
    );
    if new_size < old {
        return Err(format!(
            "{peer} now serves a tree of {new_size} entries, smaller than the {old} it signed before"
        ));
    }
    let decision = if old == 0 || old == new_size {
        witness(verifier, last.as_ref(), &new, &[])
    } else {
        let mut tiles = TileSet::new(new_size);
        let needed = tile::tiles_for_consistency(old, new_size).map_err(|e| e.to_string())?;
        for id in needed {
            let bytes = fetch(node, peer, &format!("/ledger/{}", id.path())).await?;
            tiles
                .insert(&id, &bytes)
                .map_err(|e| format!("tile {} from {peer}: {e}", id.path()))?;
        }
        witness_from_tiles(verifier, last.as_ref(), &new, &tiles)
    }
    .map_err(|e| format!("checkpoint of size {new_size} from {peer}: {e}"))?;
    match decision {
        WitnessDecision::Cosign => {
            let already = new
                .note
                .signatures
                .iter()
                .any(|s| s.name == node.inner.log_keys.cosigner.verifier().name());
            let cosigned = if already {
                false
            } else {
                submit_cosignature(node, peer, new.clone()).await?;
                true
            };
            store
                .record_witnessed(peer.as_str(), new_size, &new.to_text(), now, cosigned)
                .await
                .map_err(|e| e.to_string())
        }
        WitnessDecision::Older => Err(format!(
            "{peer} served a checkpoint of {new_size} entries, older than the {old} already seen"
        )),
        WitnessDecision::Alarm(alarm) => {
            let evidence = serde_json::to_string(&alarm).map_err(|e| e.to_string())?;
            let fingerprint = hex::encode(Sha256::digest(evidence.as_bytes()));
            let kind = serde_json::to_value(alarm.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "fork".into());
            let new_alarm = store
                .record_alarm(peer.as_str(), &kind, &evidence, &fingerprint, now)
                .await
                .map_err(|e| e.to_string())?;
            if new_alarm {
                tracing::error!(%peer, %kind, "LEDGER ALARM: {peer} signed two checkpoints that cannot both be true");
            }
            Err(format!(
                "ALARM {kind}: {peer} signed two checkpoints that cannot both be true (see ledger alarms)"
            ))
        }
    }
}

async fn submit_cosignature(
    node: &Node,
    peer: &NodeId,
    mut checkpoint: SignedCheckpoint,
) -> Result<(), String> {
    let timestamp = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let signature = node
        .inner
        .log_keys
        .cosigner
        .cosign(&checkpoint.checkpoint, timestamp)
        .map_err(|e| e.to_string())?;
    checkpoint.add_signature(signature);
    let (client, endpoint) = client_for(node, peer)?;
    let url = format!("{endpoint}{COSIGNATURE_PATH}");
    let response = client
        .post(&url)
        .header("content-type", "text/plain; charset=utf-8")
        .body(checkpoint.to_text())
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!(
            "{peer} refused our cosignature: HTTP {status} {body}"
        ));
    }
    Ok(())
}
