//! Court packages: the files, the CASE/UCO manifest, the signed custody events, ledger inclusion
//! proofs and the descriptors of every node involved, in a directory or a `.zip` with the same
//! paths. The index `comity-package.json` lists every other file with its SHA-256 and is signed
//! by the exporting node, so nothing can be added, removed or altered unnoticed. The contents are
//! written first, then what names them (see [`ZipPackage`]).
//!
//! ```text
//! comity-package.json            signed index (this module's `SignedIndex`)
//! manifest.jsonld                CASE/UCO manifest, recomputable from the rest
//! files/<exhibit>-<name>         the evidence, plaintext
//! events/<sha256>/<seq>.json     signed custody events (canonical JSON)
//! proofs/<sha256>/<seq>.json     comity-ledger-proof/v1 inclusion proof of each event's entry
//! descriptors/<node>.json        signed descriptors (canonical JSON)
//! trust-list.json                the federation's signed trust list (optional)
//! ```

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use comity_model::{NodeId, Timestamp};
use comity_seal::{PublicKey, SignedDescriptor, SignedTrustList};
use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::conditions::SignedConsent;
use crate::custody::{SignedEvent, jcs};
use crate::digest::Sha256Digest;
use crate::error::{EvidenceError, Result};
use crate::manifest::{self, ManifestItem, ManifestNode};

pub const PACKAGE_FORMAT: &str = "comity-evidence-package/v1";
pub const INDEX_PATH: &str = "comity-package.json";
pub const MANIFEST_PATH: &str = "manifest.jsonld";
pub const TRUST_LIST_PATH: &str = "trust-list.json";
/// Domain-separation context of the index signature.
pub const INDEX_CONTEXT: &str = "comity/v1/evidence-package";

/// Where an item's plaintext comes from; called once per write.
pub type ContentSource = Arc<dyn Fn() -> std::io::Result<Box<dyn Read>> + Send + Sync>;

/// Content read from a plaintext file.
pub fn file_content(path: PathBuf) -> ContentSource {
    Arc::new(move || Ok(Box::new(File::open(&path)?) as Box<dyn Read>))
}

/// One item of a package as the exporter assembles it.
pub struct PackageItem {
    /// Original file name (shown to the court; sanitised in the package path).
    pub name: String,
    pub sha256: Sha256Digest,
    pub size: u64,
    /// The plaintext: [`file_content`], or straight from the vault with
    /// `Vault::blocking_reader` (the writers are synchronous; run them on a blocking thread).
    /// Whatever it yields is hashed as it is written and must match `sha256`.
    pub content: ContentSource,
    /// The item's custody events, in order.
    pub events: Vec<SignedEvent>,
    /// For each event, its inclusion proof (`comity-ledger-proof/v1` JSON) in the acting node's
    /// log.
    pub proofs: Vec<Vec<u8>>,
    /// Consents of the providing node that allow this export.
    pub consents: Vec<SignedConsent>,
}

impl std::fmt::Debug for PackageItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "PackageItem({}, {}, {} events)",
            self.name,
            self.sha256,
            self.events.len()
        )
    }
}

/// Everything the exporter puts in a package.
#[derive(Debug)]
pub struct Package {
    pub exporter: NodeId,
    pub created: Timestamp,
    /// The proceedings the package is for (checked against purpose limitations).
    pub purpose: String,
    pub items: Vec<PackageItem>,
    /// Signed descriptors of every node that appears in an event, exporter included.
    pub descriptors: Vec<SignedDescriptor>,
    /// The federation's trust list, so a verifier holding the federation root key can check
    /// that the descriptors are the members' real keys.
    pub trust_list: Option<SignedTrustList>,
}

/// A file of the package and its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    pub path: String,
    pub sha256: Sha256Digest,
    pub size: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexItem {
    pub exhibit: usize,
    pub name: String,
    pub file: FileRef,
    pub events: Vec<FileRef>,
    pub proofs: Vec<FileRef>,
    pub consents: Vec<SignedConsent>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub format: String,
    pub exporter: NodeId,
    pub created: Timestamp,
    pub purpose: String,
    pub manifest: FileRef,
    pub items: Vec<IndexItem>,
    pub descriptors: Vec<FileRef>,
    pub trust_list: Option<FileRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedIndex {
    pub index: Index,
    /// Ed25519 by the exporter's signing key over `INDEX_CONTEXT || 0x00 || u32 len || JCS(index)`.
    pub signature: String,
}

impl Index {
    pub fn signed_bytes(&self) -> Vec<u8> {
        let body = jcs(self);
        let mut out = INDEX_CONTEXT.as_bytes().to_vec();
        out.push(0);
        out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// Every file the index lists, manifest and descriptors included.
    pub fn files(&self) -> Vec<&FileRef> {
        let mut out = vec![&self.manifest];
        for it in &self.items {
            out.push(&it.file);
            out.extend(&it.events);
            out.extend(&it.proofs);
        }
        out.extend(&self.descriptors);
        out.extend(&self.trust_list);
        out
    }
}

impl SignedIndex {
    pub fn verify(&self, exporter_key: &PublicKey) -> bool {
        B64.decode(&self.signature)
            .ok()
            .and_then(|v| <[u8; 64]>::try_from(v).ok())
            .is_some_and(|sig| exporter_key.verify(&self.index.signed_bytes(), &sig))
    }
}

/// `files/<exhibit>-<name>` with anything but `A-Z a-z 0-9 . _ -` replaced by `_`.
pub fn file_path(exhibit: usize, name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    let clean = clean.trim_start_matches('.');
    format!("files/{exhibit}-{clean}")
}

/// The manifest of an index, given the events and descriptors it points to (the verifier
/// rebuilds it the same way and compares bytes).
pub fn manifest_bytes(
    index: &Index,
    events: &[Vec<SignedEvent>],
    descriptors: &[SignedDescriptor],
) -> Vec<u8> {
    let items: Vec<ManifestItem<'_>> = index
        .items
        .iter()
        .zip(events)
        .map(|(it, ev)| ManifestItem {
            exhibit: it.exhibit,
            file_name: &it.name,
            sha256: it.file.sha256,
            size: it.file.size,
            events: ev,
        })
        .collect();
    let nodes: Vec<(String, String, String)> = descriptors
        .iter()
        .map(|d| {
            (
                d.descriptor.node.to_string(),
                d.descriptor.name.clone(),
                d.descriptor.jurisdiction.to_string(),
            )
        })
        .collect();
    let nodes: Vec<ManifestNode<'_>> = nodes
        .iter()
        .map(|(n, name, j)| ManifestNode {
            node: n,
            name,
            jurisdiction: j,
        })
        .collect();
    let mut out = serde_json::to_vec_pretty(&manifest::build(&items, &nodes)).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Where package files go.
trait Sink {
    fn put(&mut self, path: &str, content: &mut dyn Read) -> Result<FileRef>;
}

struct DirSink(PathBuf);

struct ZipSink<W: Write + Seek>(zip::ZipWriter<W>);

fn pio(what: &str) -> impl Fn(std::io::Error) -> EvidenceError + '_ {
    move |e| EvidenceError::PackageIo(format!("{what}: {e}"))
}

/// A read error of a content source: the vault's own error when it is one (a tampered blob
/// stays `evidence.tampered`), else a package I/O error.
fn source_error(path: &str) -> impl Fn(std::io::Error) -> EvidenceError + '_ {
    move |e| {
        let text = format!("{path}: {e}");
        match e.into_inner().map(|i| i.downcast::<EvidenceError>()) {
            Some(Ok(inner)) => *inner,
            _ => EvidenceError::PackageIo(text),
        }
    }
}

/// Copies while hashing, in 1 MiB steps.
fn copy_hashed(from: &mut dyn Read, to: &mut dyn Write, path: &str) -> Result<FileRef> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = from.read(&mut buf).map_err(source_error(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        to.write_all(&buf[..n]).map_err(pio(path))?;
        size += n as u64;
    }
    Ok(FileRef {
        path: path.to_owned(),
        sha256: Sha256Digest(h.finalize().into()),
        size,
    })
}

impl Sink for DirSink {
    fn put(&mut self, path: &str, content: &mut dyn Read) -> Result<FileRef> {
        let dest = self.0.join(path);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(pio(path))?;
        }
        let mut f = File::create_new(&dest).map_err(pio(path))?;
        let r = copy_hashed(content, &mut f, path)?;
        f.sync_all().map_err(pio(path))?;
        Ok(r)
    }
}

impl<W: Write + Seek> Sink for ZipSink<W> {
    fn put(&mut self, path: &str, content: &mut dyn Read) -> Result<FileRef> {
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored)
            .large_file(true);
        self.0
            .start_file(path, opts)
            .map_err(|e| EvidenceError::PackageIo(format!("{path}: {e}")))?;
        copy_hashed(content, &mut self.0, path)
    }
}

/// Writes `pkg` into a new directory `dir` (which must not exist yet); signs the index with
/// `exporter_key`.
pub fn write_dir(pkg: &Package, dir: &Path, exporter_key: &SigningKey) -> Result<SignedIndex> {
    std::fs::create_dir(dir).map_err(pio(&dir.display().to_string()))?;
    let mut sink = DirSink(dir.to_owned());
    let contents = write_contents(&pkg.items, &mut sink)?;
    write_records(pkg, contents, &mut sink, exporter_key)
}

/// Writes `pkg` as a new zip file (entries stored, not compressed: evidence is often already
/// compressed, and stored entries keep the writer simple and fast).
pub fn write_zip(pkg: &Package, path: &Path, exporter_key: &SigningKey) -> Result<SignedIndex> {
    let f = File::create_new(path).map_err(pio(&path.display().to_string()))?;
    let mut zip = ZipPackage::new(f);
    zip.write_contents(&pkg.items)?;
    let (index, f) = zip.finish(pkg, exporter_key)?;
    f.sync_all().map_err(pio(&path.display().to_string()))?;
    Ok(index)
}

/// A zip package written in two steps, so that an exporter can act between them: first the
/// items' contents ([`ZipPackage::write_contents`], each hashed and checked against its digest),
/// then everything that names them ([`ZipPackage::finish`]: events, proofs, descriptors, trust
/// list, manifest, signed index). A node records its `exported` custody events in between, once
/// the contents are known good, and the package then carries those events with their proofs.
pub struct ZipPackage<W: Write + Seek> {
    zip: ZipSink<W>,
    contents: Vec<FileRef>,
}

impl<W: Write + Seek> std::fmt::Debug for ZipPackage<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZipPackage({} contents)", self.contents.len())
    }
}

impl<W: Write + Seek> ZipPackage<W> {
    pub fn new(out: W) -> Self {
        Self {
            zip: ZipSink(zip::ZipWriter::new(out)),
            contents: Vec::new(),
        }
    }

    /// Writes the contents of `items`, in order (exhibit 1, 2, ...).
    pub fn write_contents(&mut self, items: &[PackageItem]) -> Result<()> {
        self.contents = write_contents(items, &mut self.zip)?;
        Ok(())
    }

    /// Writes the rest of `pkg`, whose items must be those whose contents were written, and
    /// returns the signed index and the finished output. Content sources are not read again.
    pub fn finish(mut self, pkg: &Package, exporter_key: &SigningKey) -> Result<(SignedIndex, W)> {
        let index = write_records(pkg, self.contents, &mut self.zip, exporter_key)?;
        let out = self
            .zip
            .0
            .finish()
            .map_err(|e| EvidenceError::PackageIo(e.to_string()))?;
        Ok((index, out))
    }
}

/// Writes each item's content as `files/<exhibit>-<name>`, hashed on the way; a content whose
/// digest is not the item's is refused.
fn write_contents(items: &[PackageItem], sink: &mut dyn Sink) -> Result<Vec<FileRef>> {
    let mut files = Vec::with_capacity(items.len());
    for (i, it) in items.iter().enumerate() {
        let path = file_path(i + 1, &it.name);
        let mut f = (it.content)().map_err(source_error(&it.name))?;
        let file = sink.put(&path, &mut f)?;
        if file.sha256 != it.sha256 {
            return Err(EvidenceError::DigestMismatch {
                expected: it.sha256,
                actual: file.sha256,
            });
        }
        files.push(file);
    }
    Ok(files)
}

/// Writes what names the contents already written (`contents`, one per item of `pkg`): signed
/// events, proofs, descriptors, trust list, manifest, then the signed index.
fn write_records(
    pkg: &Package,
    contents: Vec<FileRef>,
    sink: &mut dyn Sink,
    key: &SigningKey,
) -> Result<SignedIndex> {
    if contents.len() != pkg.items.len() {
        return Err(EvidenceError::PackageFormat(format!(
            "{} items but {} contents written",
            pkg.items.len(),
            contents.len()
        )));
    }
    let mut items = Vec::new();
    for (i, (it, file)) in pkg.items.iter().zip(contents).enumerate() {
        let exhibit = i + 1;
        if file.sha256 != it.sha256 || file.path != file_path(exhibit, &it.name) {
            return Err(EvidenceError::PackageFormat(format!(
                "item {}: its content was written as {}",
                it.name, file.path
            )));
        }
        if it.proofs.len() != it.events.len() {
            return Err(EvidenceError::PackageFormat(format!(
                "item {}: {} events but {} proofs",
                it.name,
                it.events.len(),
                it.proofs.len()
            )));
        }
        let sha = it.sha256.hex();
        let mut events = Vec::new();
        let mut proofs = Vec::new();
        for (e, p) in it.events.iter().zip(&it.proofs) {
            let seq = e.event.seq;
            events.push(sink.put(
                &format!("events/{sha}/{seq}.json"),
                &mut e.to_json().as_slice(),
            )?);
            proofs.push(sink.put(&format!("proofs/{sha}/{seq}.json"), &mut p.as_slice())?);
        }
        items.push(IndexItem {
            exhibit,
            name: it.name.clone(),
            file,
            events,
            proofs,
            consents: it.consents.clone(),
        });
    }
    let mut descriptors = Vec::new();
    for d in &pkg.descriptors {
        let path = format!("descriptors/{}.json", d.descriptor.node);
        descriptors.push(sink.put(&path, &mut d.to_json().as_slice())?);
    }
    let trust_list = match &pkg.trust_list {
        Some(t) => Some(sink.put(TRUST_LIST_PATH, &mut t.to_json().as_slice())?),
        None => None,
    };
    let mut index = Index {
        format: PACKAGE_FORMAT.to_owned(),
        exporter: pkg.exporter.clone(),
        created: pkg.created,
        purpose: pkg.purpose.clone(),
        manifest: FileRef {
            path: MANIFEST_PATH.to_owned(),
            sha256: Sha256Digest([0; 32]),
            size: 0,
        },
        items,
        descriptors,
        trust_list,
    };
    let events: Vec<Vec<SignedEvent>> = pkg.items.iter().map(|i| i.events.clone()).collect();
    let m = manifest_bytes(&index, &events, &pkg.descriptors);
    index.manifest = sink.put(MANIFEST_PATH, &mut m.as_slice())?;
    let signature = B64.encode(key.sign(&index.signed_bytes()).to_bytes());
    let signed = SignedIndex { index, signature };
    let mut bytes = serde_json::to_vec_pretty(&signed).unwrap_or_default();
    bytes.push(b'\n');
    sink.put(INDEX_PATH, &mut bytes.as_slice())?;
    Ok(signed)
}
