//! Court packages of a case (issue 6): every item with its signed custody events, an inclusion
//! proof of each event's ledger entry under a signed checkpoint, this node's descriptor and the
//! federation's trust list.
//! Each item's `exported` event is recorded first, so the package shows the export itself.
//! Items received from another node are exported only if their provider's use conditions allow
//! it or the provider consented; their consents, the provider's events with the proofs that came
//! with them and the descriptor of every node that signed an event travel in the package.

use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use comity_evidence::{Action, Operation, Package, PackageItem, SignedEvent};
use comity_model::Timestamp;
use serde::Deserialize;
use tokio_util::io::ReaderStream;

use crate::evidence::ApiQuery;
use crate::{Node, NodeError, now_ms};

#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    case: String,
    purpose: String,
}

/// `GET /api/v1/evidence/export?case=C&purpose=P`: the package as a zip file.
pub(crate) async fn export(
    State(node): State<Node>,
    ApiQuery(q): ApiQuery<ExportQuery>,
) -> Result<Response, NodeError> {
    let items = node.inner.store.evidence_items(&q.case).await?;
    if items.is_empty() {
        return Err(NodeError::NotFound(format!("evidence of case {}", q.case)));
    }
    // Every item is checked before any is marked exported: a refusal leaves no trace but itself.
    let export = Operation::Export {
        purpose: q.purpose.clone(),
    };
    for item in &items {
        node.check_use(item, &export).await?;
    }
    let mut package_items = Vec::new();
    let mut signers = std::collections::BTreeSet::new();
    for item in &items {
        let sha: comity_evidence::Sha256Digest = item.sha256.parse()?;
        node.record_next(&sha, Action::Exported).await?;
        let mut events = Vec::new();
        let mut proofs = Vec::new();
        for r in node.inner.store.custody_events(&item.sha256).await? {
            let event = SignedEvent::from_json(&r.signed)?;
            signers.insert(event.event.node.clone());
            events.push(event);
            match (r.ledger_index, r.proof) {
                (Some(index), _) => {
                    let index = u64::try_from(index).unwrap_or(u64::MAX);
                    proofs.push(node.prove(index, None).await?.to_json().into_bytes());
                }
                (None, Some(proof)) => proofs.push(proof),
                (None, None) => {
                    return Err(NodeError::BadRequest(format!(
                        "evidence {sha}: event {} has no proof",
                        r.seq
                    )));
                }
            }
        }
        let vault = Arc::clone(&node.inner.vault);
        let handle = tokio::runtime::Handle::current();
        package_items.push(PackageItem {
            name: item.name.clone(),
            sha256: sha,
            size: u64::try_from(item.size).unwrap_or(0),
            content: Arc::new(move || {
                Ok(Box::new(vault.blocking_reader(sha, handle.clone())) as Box<dyn std::io::Read>)
            }),
            events,
            proofs,
            consents: node.consents_of(&item.sha256).await?,
        });
    }
    signers.insert(node.id().clone());
    let descriptors = node
        .inner
        .trust_list
        .list
        .members
        .iter()
        .filter(|d| signers.contains(&d.descriptor.node))
        .cloned()
        .collect();
    let package = Package {
        exporter: node.id().clone(),
        created: Timestamp::from_unix_ms(now_ms()),
        purpose: q.purpose,
        items: package_items,
        descriptors,
        trust_list: Some(node.inner.trust_list.clone()),
    };
    let name = rand::random::<[u8; 16]>();
    let path: PathBuf = node
        .inner
        .evidence_exports
        .join(format!("{}.zip", hex::encode(name)));
    let key = node.inner.secrets.signing_key().clone();
    let written = path.clone();
    let file = tokio::task::spawn_blocking(move || {
        comity_evidence::write_zip(&package, &written, &key)?;
        let file = std::fs::File::open(&written)
            .map_err(|e| comity_evidence::EvidenceError::PackageIo(e.to_string()))?;
        // The open handle keeps the bytes until the answer is sent; nothing is left behind.
        let _ = std::fs::remove_file(&written);
        Ok::<_, NodeError>(file)
    })
    .await
    .map_err(|e| NodeError::BadRequest(format!("export failed: {e}")))??;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let stream = ReaderStream::new(tokio::fs::File::from_std(file));
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
