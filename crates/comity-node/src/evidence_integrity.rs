//! Integrity of the stored evidence: a read that finds an item's object altered, swapped or
//! damaged is reported as tampering with that item (an error log line and an
//! `evidence_tampered` alarm, shown in the item's view), and at start the vault's version 1 and
//! 2 blobs are rewritten in the bound format in the background, each after its whole digest
//! matched.

use comity_evidence::{EvidenceError, Migration, Sha256Digest};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::{Node, NodeError, now_ms};

/// Alarm kind of an integrity failure of a stored item.
pub(crate) const TAMPERED: &str = "evidence_tampered";
/// Alarm kind of an export that recorded its `exported` events but produced no package.
pub(crate) const EXPORT_UNFINISHED: &str = "export_unfinished";

impl Node {
    /// Records an alarm of this node about itself, once per distinct `evidence`.
    pub(crate) async fn raise_alarm(&self, kind: &str, evidence: &Value) -> bool {
        let text = evidence.to_string();
        let fingerprint = hex::encode(Sha256::digest(format!("{kind}\n{text}").as_bytes()));
        match self
            .store()
            .record_alarm(self.id().as_str(), kind, &text, &fingerprint, now_ms())
            .await
        {
            Ok(new) => new,
            Err(e) => {
                tracing::error!(%kind, error = %e, "cannot record an alarm: {text}");
                false
            }
        }
    }

    /// Passes `r`, a read of the registered item `sha`, through; an integrity failure of its
    /// stored object found by `read` (`content`, `chunk`, `export`, `offer`) is first logged and
    /// raised as an `evidence_tampered` alarm naming the item, the chunk and what failed.
    pub(crate) async fn reported<T>(
        &self,
        sha: &Sha256Digest,
        read: &str,
        r: Result<T, EvidenceError>,
    ) -> Result<T, NodeError> {
        match r {
            Ok(v) => Ok(v),
            Err(e) => Err(self.integrity_error(sha, read, e).await),
        }
    }

    /// The error of a failed read of the registered item `sha`, reported when it is an
    /// integrity failure; a registered item whose object is gone is one too.
    pub(crate) async fn integrity_error(
        &self,
        sha: &Sha256Digest,
        read: &str,
        e: EvidenceError,
    ) -> NodeError {
        let e = match e {
            EvidenceError::NotFound(_) => EvidenceError::Tampered {
                blob: sha.hex(),
                chunk: None,
                reason: "the stored object of this registered item is missing: deleted or lost"
                    .into(),
            },
            other => other,
        };
        self.report_integrity(sha, read, &e).await;
        e.into()
    }

    pub(crate) async fn report_integrity(&self, sha: &Sha256Digest, read: &str, e: &EvidenceError) {
        let (chunk, reason) = match e {
            EvidenceError::Tampered { chunk, reason, .. } => (*chunk, reason.clone()),
            EvidenceError::WrongWrapKey { .. } => (None, e.to_string()),
            _ => return,
        };
        tracing::error!(
            sha256 = %sha,
            chunk,
            code = e.code(),
            %read,
            "EVIDENCE TAMPERED: stored evidence {sha} fails its integrity check: {reason}"
        );
        // The read that found it is not part of the alarm's identity: one alarm per failure.
        let evidence =
            json!({"item": sha.hex(), "chunk": chunk, "code": e.code(), "reason": reason});
        if self.raise_alarm(TAMPERED, &evidence).await {
            tracing::error!(sha256 = %sha, %read, "alarm raised: {TAMPERED}");
        }
    }

    /// The integrity alarms raised about item `sha` (hex), oldest first, for its view.
    pub(crate) async fn tampering_of(&self, sha: &str) -> Result<Vec<Value>, NodeError> {
        let alarms = self.store().alarms().await?;
        Ok(alarms
            .iter()
            .filter(|a| a.kind == TAMPERED)
            .filter_map(|a| {
                let e: Value = serde_json::from_str(&a.evidence).ok()?;
                (e["item"] == sha).then(|| {
                    json!({
                        "detected_at": comity_model::Timestamp::from_unix_ms(a.detected_at).to_string(),
                        "chunk": e["chunk"],
                        "code": e["code"],
                        "reason": e["reason"],
                    })
                })
            })
            .collect())
    }
}

/// At start, in the background: rewrites every version 1 or 2 blob in the current format, one
/// at a time, each after its whole digest matched. Resumable: a blob is replaced only once its new object is complete, and the next
/// start skips those already rewritten. Until then a legacy blob is read whole before its first
/// byte is served.
pub(crate) async fn migrate_vault(node: Node, mut shutdown: watch::Receiver<bool>) {
    let vault = &node.inner.vault;
    let blobs = match vault.list().await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "cannot list the evidence vault; legacy blobs stay as they are");
            return;
        }
    };
    let (mut rewritten, mut refused) = (0u64, 0u64);
    for sha in blobs {
        let step = tokio::select! {
            r = vault.migrate(&sha) => r,
            _ = shutdown.changed() => return,
        };
        match step {
            Ok(Migration::Current) => {}
            Ok(Migration::Rewritten { from }) => {
                rewritten += 1;
                tracing::info!(sha256 = %sha, from, "evidence blob rewritten in format version 3");
            }
            Err(e) => {
                refused += 1;
                node.report_integrity(&sha, "migration", &e).await;
                tracing::warn!(sha256 = %sha, code = e.code(), "evidence blob not migrated: {e}");
            }
        }
    }
    if rewritten + refused > 0 {
        tracing::info!(rewritten, refused, "evidence vault migration done");
    }
}
