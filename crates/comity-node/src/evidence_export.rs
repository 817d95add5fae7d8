//! Court packages of a case (issue 6): every item with its signed custody events, an inclusion
//! proof of each event's ledger entry under a signed checkpoint, this node's descriptor and the
//! federation's trust list. Items received from another node are exported only if their
//! provider's use conditions allow it or the provider consented; their consents, the provider's
//! events with the proofs that came with them and the descriptor of every node that signed an
//! event travel in the package.
//!
//! The package is written to a file that never has a name on disk (created 0600 in the 0700
//! exports folder and unlinked before its first byte), so whatever happens (a tampered blob, a
//! full disk, the client gone, a panic in the writer) no plaintext is left behind. It is written
//! in three steps: the items' contents first, each chunk and each whole digest checked; then the
//! `exported` events of every item, in one transaction, once the contents are known good; then
//! the events, proofs and signed index, so that the package shows the export itself. A failure
//! before the second step records nothing; after it, an `export_unfinished` alarm names the
//! recorded events.

use std::fs::File;
use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use comity_evidence::{
    Action, CustodyEvent, EvidenceError, Operation, Package, PackageItem, Sha256Digest,
    SignedEvent, ZipPackage,
};
use comity_model::Timestamp;
use comity_store::EvidenceItem;
use serde::Deserialize;
use serde_json::json;
use tokio_util::io::ReaderStream;

use crate::evidence::{API_USER, APPEND_ATTEMPTS, ApiQuery};
use crate::evidence_integrity::EXPORT_UNFINISHED;
use crate::{Node, NodeError, now_ms};

#[derive(Deserialize)]
pub(crate) struct ExportQuery {
    case: String,
    purpose: String,
}

/// Set when the request that asked for an export goes away, so the content writer stops at its
/// next chunk instead of reading the rest of the case for nobody.
struct Abandoned(Arc<AtomicBool>);

impl Drop for Abandoned {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// An item's plaintext from the vault that stops once the export is abandoned.
struct Content {
    inner: Box<dyn Read>,
    abandoned: Arc<AtomicBool>,
}

impl Read for Content {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.abandoned.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("the client went away"));
        }
        self.inner.read(buf)
    }
}

/// The folder packages are written in, `<evidence dir>/exports`: created private (0700), and
/// emptied of whatever an older version of the node left there (this one never leaves a name).
pub(crate) fn exports_dir(evidence_dir: &Path) -> Result<std::path::PathBuf, NodeError> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let dir = evidence_dir.join("exports");
    let failed = |e: std::io::Error| {
        NodeError::Evidence(EvidenceError::Storage(format!("{}: {e}", dir.display())))
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&dir)
        .map_err(failed)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).map_err(failed)?;
    let mut removed = 0;
    for entry in std::fs::read_dir(&dir).map_err(failed)? {
        let path = entry.map_err(failed)?.path();
        if path.is_file() {
            std::fs::remove_file(&path).map_err(failed)?;
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::warn!(
            removed,
            "files left in {} by an earlier export removed",
            dir.display()
        );
    }
    Ok(dir)
}

/// A new file in `dir`, readable by this user only, whose name is removed before anything is
/// written to it: the open handle is the only way to its bytes, and they go with it.
fn private_file(dir: &Path) -> Result<File, NodeError> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!("{}.zip", hex::encode(rand::random::<[u8; 16]>())));
    let failed = |e: std::io::Error| {
        NodeError::ExportFailed(format!(
            "cannot create the package file in {}: {e}",
            dir.display()
        ))
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(failed)?;
    std::fs::remove_file(&path).map_err(failed)?;
    Ok(file)
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
    let abandoned = Abandoned(Arc::new(AtomicBool::new(false)));
    let mut package = Package {
        exporter: node.id().clone(),
        created: Timestamp::from_unix_ms(now_ms()),
        purpose: q.purpose.clone(),
        items: Vec::with_capacity(items.len()),
        descriptors: Vec::new(),
        trust_list: Some(node.inner.trust_list.clone()),
    };
    for item in &items {
        package
            .items
            .push(content_item(&node, item, Arc::clone(&abandoned.0))?);
    }
    let zip = ZipPackage::new(private_file(&node.inner.evidence_exports)?);
    let (zip, package) = write_contents(&node, zip, package).await?;
    // From here on the export runs to its end even if the client goes away: its `exported`
    // events must come with a package or with an alarm.
    let case = q.case.clone();
    let finished = tokio::spawn(finish(node, q, items, zip, package));
    let (file, size) = finished.await.map_err(|e| NodeError::ExportUnfinished {
        case,
        ledger: "unknown".into(),
        reason: format!("the export stopped: {e}"),
    })??;
    Ok((
        [
            (header::CONTENT_TYPE, "application/zip".to_owned()),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        Body::from_stream(ReaderStream::new(tokio::fs::File::from_std(file))),
    )
        .into_response())
}

/// A package item whose content is read from the vault, its events still to come.
fn content_item(
    node: &Node,
    item: &EvidenceItem,
    abandoned: Arc<AtomicBool>,
) -> Result<PackageItem, NodeError> {
    let sha: Sha256Digest = item.sha256.parse()?;
    let vault = Arc::clone(&node.inner.vault);
    let handle = tokio::runtime::Handle::current();
    Ok(PackageItem {
        name: item.name.clone(),
        sha256: sha,
        size: u64::try_from(item.size).unwrap_or(0),
        content: Arc::new(move || {
            Ok(Box::new(Content {
                inner: Box::new(vault.blocking_reader(sha, handle.clone())),
                abandoned: Arc::clone(&abandoned),
            }) as Box<dyn Read>)
        }),
        events: Vec::new(),
        proofs: Vec::new(),
        consents: Vec::new(),
    })
}

/// Step one, on a blocking thread: every item's content into the package, each chunk and each
/// whole digest checked. A tampered item is reported; nothing is recorded.
async fn write_contents(
    node: &Node,
    mut zip: ZipPackage<File>,
    package: Package,
) -> Result<(ZipPackage<File>, Package), NodeError> {
    let written = tokio::task::spawn_blocking(move || {
        let r = zip.write_contents(&package.items);
        r.map(|()| (zip, package))
    })
    .await
    .map_err(|e| NodeError::ExportFailed(format!("the package writer stopped: {e}")))?;
    let e = match written {
        Ok(done) => return Ok(done),
        Err(e) => e,
    };
    // Which item failed is in the error: the vault names the blob it was reading.
    let sha = match &e {
        EvidenceError::Tampered { blob, .. } | EvidenceError::WrongWrapKey { blob, .. } => {
            blob.parse::<Sha256Digest>().ok()
        }
        EvidenceError::NotFound(sha) => Some(*sha),
        _ => return Err(NodeError::ExportFailed(e.to_string())),
    };
    Err(match sha {
        Some(sha) => node.integrity_error(&sha, "export", e).await,
        None => e.into(),
    })
}

/// Steps two and three: the `exported` events, then the records that name the contents; the
/// finished package file, rewound, and its size.
async fn finish(
    node: Node,
    q: ExportQuery,
    items: Vec<EvidenceItem>,
    zip: ZipPackage<File>,
    mut package: Package,
) -> Result<(File, u64), NodeError> {
    let ledger = record_exported(&node, &items).await?;
    let done = async {
        let mut signers = std::collections::BTreeSet::from([node.id().clone()]);
        for (item, it) in items.iter().zip(package.items.iter_mut()) {
            for r in node.inner.store.custody_events(&item.sha256).await? {
                let event = SignedEvent::from_json(&r.signed)?;
                signers.insert(event.event.node.clone());
                it.events.push(event);
                it.proofs.push(match (r.ledger_index, r.proof) {
                    (Some(index), _) => {
                        let index = u64::try_from(index).unwrap_or(u64::MAX);
                        node.prove(index, None).await?.to_json().into_bytes()
                    }
                    (None, Some(proof)) => proof,
                    (None, None) => {
                        return Err(NodeError::BadRequest(format!(
                            "evidence {}: event {} has no proof",
                            item.sha256, r.seq
                        )));
                    }
                });
            }
            it.consents = node.consents_of(&item.sha256).await?;
        }
        package.descriptors = node
            .inner
            .trust_list
            .list
            .members
            .iter()
            .filter(|d| signers.contains(&d.descriptor.node))
            .cloned()
            .collect();
        let key = node.inner.secrets.signing_key().clone();
        tokio::task::spawn_blocking(move || {
            let (_, mut file) = zip.finish(&package, &key)?;
            file.sync_all()
                .and_then(|()| file.rewind())
                .and_then(|()| file.metadata())
                .map(|m| (file, m.len()))
                .map_err(|e| EvidenceError::PackageIo(e.to_string()).into())
        })
        .await
        .map_err(|e| NodeError::ExportFailed(format!("the package writer stopped: {e}")))?
    }
    .await;
    if let Err(e) = &done {
        let ledger = ledger
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(",");
        tracing::error!(case = %q.case, %ledger, code = e.code(), "export unfinished after its exported events were recorded: {e}");
        let evidence = json!({
            "case": q.case, "purpose": q.purpose, "ledger": ledger,
            "items": items.iter().map(|i| i.sha256.as_str()).collect::<Vec<_>>(),
            "code": e.code(), "reason": e.to_string(),
        });
        node.raise_alarm(EXPORT_UNFINISHED, &evidence).await;
        return Err(NodeError::ExportUnfinished {
            case: q.case,
            ledger,
            reason: e.to_string(),
        });
    }
    done
}

/// `exported` for every item, in one transaction with their ledger entries; rebuilt on the new
/// newest events if another event of an item came first. Returns the entries' ledger indexes.
async fn record_exported(node: &Node, items: &[EvidenceItem]) -> Result<Vec<u64>, NodeError> {
    let store = &node.inner.store;
    let now = Timestamp::from_unix_ms(now_ms());
    for _ in 0..APPEND_ATTEMPTS {
        let mut records = Vec::with_capacity(items.len());
        for item in items {
            let events = store.custody_events(&item.sha256).await?;
            let last = events
                .last()
                .ok_or_else(|| NodeError::NotFound(format!("evidence {}", item.sha256)))?;
            let prev = SignedEvent::from_json(&last.signed)?;
            let next = CustodyEvent::next_after(
                &prev.event,
                Action::Exported,
                now,
                node.id().clone(),
                API_USER,
            );
            records.push(node.to_record(next)?);
        }
        if let Some(indexes) = store.record_custody_all(&records).await? {
            return Ok(indexes);
        }
    }
    Err(NodeError::BadRequest(
        "custody events of the case kept changing; export again".into(),
    ))
}
