//! Offline verification of a package: every entry judged before anything is read
//! ([`crate::package_read`]), then the index, the files, the descriptors against the trust
//! anchor ([`crate::verify_trust`]), the custody chains, the ledger proofs, the use conditions
//! and the manifest; the outcome is a [`Report`] a lawyer can read.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use comity_ledger::names;
use comity_ledger::{NoteVerifier, ProofBundle};
use comity_model::NodeId;
use comity_seal::{PublicKey, SignedDescriptor, key_id};
use sha2::{Digest, Sha256};

use crate::conditions::Operation;
use crate::custody::{SignedEvent, Timeline};
use crate::digest::Sha256Digest;
use crate::error::{EvidenceError, Result};
use crate::package::{
    FileRef, INDEX_PATH, Index, IndexItem, MANIFEST_PATH, PACKAGE_FORMAT, SignedIndex,
    TRUST_LIST_PATH, file_path, manifest_bytes,
};
use crate::package_read::{EntryKind, METADATA_MAX, PackageSource, collision_keys, name_problem};
pub use crate::report::{AnchorReport, AnchorStatus, Check, Report, UNANCHORED};
use crate::verify_trust::{TrustInput, trust_checks};

/// The federation root a verifier brings from outside the package (published by the
/// federation, pinned by a node), never taken from the package itself.
#[derive(Clone, Debug)]
pub struct TrustAnchor {
    pub root: PublicKey,
    /// Where the root comes from, shown in the report: `given with --root`, `pinned by node
    /// folder /srv/fr-ocl`...
    pub source: String,
}

/// What the verifier brings from outside the package.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// Without an anchor the report can show only that the package is consistent with the keys
    /// it carries ([`UNANCHORED`]), and `Report::verified` is false.
    pub anchor: Option<TrustAnchor>,
}

impl VerifyOptions {
    /// Verification against the federation root `root`, described in the report by `source`.
    pub fn anchored(root: PublicKey, source: impl Into<String>) -> Self {
        Self {
            anchor: Some(TrustAnchor {
                root,
                source: source.into(),
            }),
        }
    }
}

/// The checks a report is made of, each with its name and the code of its failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Readable,
    Entry,
    Index,
    IndexLayout,
    FileDigest,
    Listed,
    Descriptor,
    TrustList,
    TrustAnchor,
    Member,
    IndexSignature,
    CustodyEvent,
    EventSubject,
    EventSignature,
    CustodyChain,
    LedgerInclusion,
    UseConditions,
    Manifest,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Readable => "readable",
            Kind::Entry => "entry",
            Kind::Index => "index",
            Kind::IndexLayout => "index layout",
            Kind::FileDigest => "file digest",
            Kind::Listed => "listed in index",
            Kind::Descriptor => "descriptor",
            Kind::TrustList => "trust list",
            Kind::TrustAnchor => "trust anchor",
            Kind::Member => "member of the federation",
            Kind::IndexSignature => "index signature",
            Kind::CustodyEvent => "custody event",
            Kind::EventSubject => "event subject",
            Kind::EventSignature => "event signature",
            Kind::CustodyChain => "custody chain",
            Kind::LedgerInclusion => "ledger inclusion",
            Kind::UseConditions => "use conditions",
            Kind::Manifest => "manifest",
        }
    }

    /// The code of a failure that carries no more precise one.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Kind::Readable => "evidence.package_io",
            Kind::Entry => "evidence.package_entry_name",
            Kind::Index => "evidence.package_format",
            Kind::IndexLayout => "evidence.package_layout",
            Kind::FileDigest => "evidence.package_digest",
            Kind::Listed => "evidence.package_unexpected",
            Kind::Descriptor => "evidence.package_descriptor",
            Kind::TrustList => "evidence.package_trust_list",
            Kind::TrustAnchor => "evidence.package_foreign_root",
            Kind::Member => "evidence.package_not_member",
            Kind::IndexSignature => "evidence.package_signature",
            Kind::CustodyEvent | Kind::EventSubject => "evidence.event_format",
            Kind::EventSignature => "evidence.event_signature",
            Kind::CustodyChain => "evidence.chain",
            Kind::LedgerInclusion => "evidence.package_proof",
            Kind::UseConditions => "evidence.condition_refused",
            Kind::Manifest => "evidence.package_manifest",
        }
    }
}

/// A failure: its code and reason.
pub(crate) type Failure = (&'static str, String);

pub(crate) struct Checks(Vec<Check>);

impl Checks {
    /// Adds a check whose failure has the kind's code.
    pub(crate) fn add(
        &mut self,
        item: &str,
        kind: Kind,
        outcome: std::result::Result<String, String>,
    ) {
        self.coded(item, kind, outcome.map_err(|r| (kind.code(), r)));
    }

    /// Adds a check whose failure names its own code.
    pub(crate) fn coded(
        &mut self,
        item: &str,
        kind: Kind,
        outcome: std::result::Result<String, Failure>,
    ) {
        let (passed, code, reason) = match outcome {
            Ok(r) => (true, None, r),
            Err((code, r)) => (false, Some(code), r),
        };
        self.0.push(Check {
            item: item.to_owned(),
            check: kind.name().to_owned(),
            passed,
            code,
            reason,
        });
    }

    /// Adds a failure from an error, with the error's code.
    pub(crate) fn error(&mut self, item: &str, kind: Kind, e: &EvidenceError) {
        self.coded(item, kind, Err((e.code(), e.to_string())));
    }
}

/// [`verify_package_with`] without a trust anchor: the report can say at best
/// [`UNANCHORED`]; `verified` is false.
pub fn verify_package(path: &Path) -> Report {
    verify_package_with(path, &VerifyOptions::default())
}

/// Verifies a package folder or zip file, offline. Never stops at the first failure: every check
/// that can still be made is made, so the report is complete.
pub fn verify_package_with(path: &Path, options: &VerifyOptions) -> Report {
    let mut checks = Checks(Vec::new());
    let mut summary = String::new();
    let anchor = match PackageSource::open(path) {
        Ok(mut src) => verify_source(&mut src, &mut checks, options, &mut summary),
        Err(e) => {
            checks.error("package", Kind::Readable, &e);
            crate::verify_trust::not_reached(options, "the package")
        }
    };
    let consistent = !checks.0.is_empty() && checks.0.iter().all(|c| c.passed);
    Report {
        package: path.display().to_string(),
        verified: consistent && anchor.status == AnchorStatus::Authenticated,
        consistent,
        anchor,
        summary,
        checks: checks.0,
    }
}

fn verify_source(
    src: &mut PackageSource,
    checks: &mut Checks,
    options: &VerifyOptions,
    summary: &mut String,
) -> AnchorReport {
    for p in src.problems().to_vec() {
        checks.error(&p.entry, Kind::Entry, &p.error());
    }
    let index = match src.read_metadata(INDEX_PATH).and_then(|b| parse_index(&b)) {
        Ok(i) => i,
        Err(e) => {
            checks.error(INDEX_PATH, Kind::Index, &e);
            return crate::verify_trust::not_reached(options, "the package's index");
        }
    };
    let idx = &index.index;
    checks.add(
        "package",
        Kind::Index,
        Ok(format!(
            "{PACKAGE_FORMAT}, exported by {} on {} for {:?}",
            idx.exporter, idx.created, idx.purpose
        )),
    );
    layout_checks(checks, idx);
    file_checks(src, checks, idx);

    let descriptors = descriptor_checks(src, checks, idx);
    let events: Vec<Option<Vec<SignedEvent>>> = idx
        .items
        .iter()
        .map(|it| read_events(src, checks, it))
        .collect();
    let mut signers: BTreeSet<NodeId> = BTreeSet::from([idx.exporter.clone()]);
    for e in events.iter().flatten().flatten() {
        signers.insert(e.event.node.clone());
        signers.extend(e.event.conditions.iter().map(|c| c.provider.clone()));
    }
    let anchor = trust_checks(
        checks,
        options,
        TrustInput {
            src,
            index: idx,
            descriptors: &descriptors,
            signers: &signers,
        },
    );
    let key_of = |n: &NodeId| descriptors.get(n).map(|d| d.descriptor.signing_key);

    let sig = match key_of(&idx.exporter) {
        Some(k) if index.verify(&k) => Ok(format!("signed by exporter {}", idx.exporter)),
        Some(_) => Err(format!(
            "signature does not verify against {}'s key",
            idx.exporter
        )),
        None => Err(format!("no descriptor for exporter {}", idx.exporter)),
    };
    checks.add("package", Kind::IndexSignature, sig);

    let witnesses: Vec<NoteVerifier> = descriptors
        .values()
        .filter_map(|d| {
            let key = ed25519_dalek::VerifyingKey::from_bytes(d.descriptor.signing_key.as_bytes())
                .ok()?;
            names::witness_verifier(d.descriptor.node.as_str(), &key).ok()
        })
        .collect();
    for (it, evs) in idx.items.iter().zip(&events) {
        let label = format!("exhibit {} ({})", it.exhibit, it.name);
        match evs {
            Some(evs) => item_checks(src, checks, &label, it, evs, &key_of, &witnesses, idx),
            None => checks.add(
                &label,
                Kind::CustodyChain,
                Err("events or proofs are missing or unreadable".into()),
            ),
        }
    }

    // Manifest: must be exactly what the verified contents produce.
    let all_events: Vec<Vec<SignedEvent>> =
        events.into_iter().map(Option::unwrap_or_default).collect();
    let descs: Vec<SignedDescriptor> = idx
        .descriptors
        .iter()
        .filter_map(|f| {
            let path = f.path.strip_prefix("descriptors/")?.strip_suffix(".json")?;
            descriptors
                .values()
                .find(|d| d.descriptor.node.as_str() == path)
                .cloned()
        })
        .collect();
    let expected = manifest_bytes(idx, &all_events, &descs);
    let outcome = match src.read_metadata(&idx.manifest.path) {
        Ok(b) if b == expected => {
            Ok("CASE/UCO manifest matches the files, events and descriptors".into())
        }
        Ok(_) => Err((
            Kind::Manifest.code(),
            "manifest differs from the one the package contents produce: it was edited".into(),
        )),
        Err(e) => Err((e.code(), e.to_string())),
    };
    checks.coded(&idx.manifest.path, Kind::Manifest, outcome);

    let count: usize = all_events.iter().map(Vec::len).sum();
    let signed_by: Vec<String> = signers.iter().map(ToString::to_string).collect();
    let exhibits = match idx.items.len() {
        1 => "1 exhibit".to_owned(),
        n => format!("{n} exhibits"),
    };
    *summary = format!(
        "{exhibits} exported by {} on {} for {:?}, each file as the signed index lists it; {count} custody events signed by {}, each chain unbroken and each event in its signer's ledger",
        idx.exporter,
        idx.created,
        idx.purpose,
        signed_by.join(", ")
    );
    anchor
}

/// Every path the index lists is where the package layout puts it, once, under a name the
/// reader accepts; exhibits are numbered 1, 2, ... in order.
fn layout_checks(checks: &mut Checks, idx: &Index) {
    let mut wrong: Vec<(String, String)> = Vec::new();
    let expect = |wrong: &mut Vec<(String, String)>, f: &FileRef, want: &str| {
        if f.path != want {
            wrong.push((
                f.path.clone(),
                format!("listed where the layout has {want}"),
            ));
        }
    };
    expect(&mut wrong, &idx.manifest, MANIFEST_PATH);
    if let Some(t) = &idx.trust_list {
        expect(&mut wrong, t, TRUST_LIST_PATH);
    }
    for (i, it) in idx.items.iter().enumerate() {
        let exhibit = i + 1;
        if it.exhibit != exhibit {
            wrong.push((
                it.file.path.clone(),
                format!("exhibit {} listed in position {exhibit}", it.exhibit),
            ));
        }
        expect(&mut wrong, &it.file, &file_path(it.exhibit, &it.name));
        let sha = it.file.sha256.hex();
        for (seq, f) in it.events.iter().enumerate() {
            expect(&mut wrong, f, &format!("events/{sha}/{seq}.json"));
        }
        for (seq, f) in it.proofs.iter().enumerate() {
            expect(&mut wrong, f, &format!("proofs/{sha}/{seq}.json"));
        }
    }
    for f in &idx.descriptors {
        let node = f
            .path
            .strip_prefix("descriptors/")
            .and_then(|p| p.strip_suffix(".json"));
        if node.is_none_or(|n| n.parse::<NodeId>().is_err()) {
            wrong.push((f.path.clone(), "not descriptors/<node id>.json".into()));
        }
    }
    let mut seen: BTreeSet<String> = collision_keys(INDEX_PATH).into_iter().collect();
    for f in idx.files() {
        if let Some(reason) = name_problem(&f.path) {
            wrong.push((f.path.clone(), reason));
        } else if !collision_keys(&f.path).into_iter().all(|k| seen.insert(k)) {
            wrong.push((
                f.path.clone(),
                "listed twice, or under a name that extracts to the same file as another".into(),
            ));
        }
    }
    if wrong.is_empty() {
        checks.add(
            "package",
            Kind::IndexLayout,
            Ok(format!(
                "{} listed files, each once where the layout puts it",
                idx.files().len()
            )),
        );
    }
    for (path, reason) in wrong {
        checks.add(&path, Kind::IndexLayout, Err(reason));
    }
}

/// Every listed file present with its digest and size; nothing else in the package.
fn file_checks(src: &mut PackageSource, checks: &mut Checks, idx: &Index) {
    let contents: BTreeSet<&str> = idx.items.iter().map(|i| i.file.path.as_str()).collect();
    for f in idx.files() {
        let outcome = if !contents.contains(f.path.as_str()) && f.size > METADATA_MAX {
            let e = EvidenceError::PackageTooLarge {
                entry: f.path.clone(),
                reason: format!(
                    "listed at {} bytes, where a metadata file may hold at most {METADATA_MAX} bytes (16 MiB)",
                    f.size
                ),
            };
            Err((e.code(), e.to_string()))
        } else {
            match hash_file(src, &f.path, f.size) {
                Ok((d, n)) if d == f.sha256 && n == f.size => Ok(format!("sha256:{d}, {n} bytes")),
                Ok((_, n)) if n > f.size => Err((
                    Kind::FileDigest.code(),
                    format!(
                        "expected sha256:{} ({} bytes), found more bytes",
                        f.sha256, f.size
                    ),
                )),
                Ok((d, n)) => Err((
                    Kind::FileDigest.code(),
                    format!(
                        "expected sha256:{} ({} bytes), found sha256:{d} ({n} bytes)",
                        f.sha256, f.size
                    ),
                )),
                Err(e) => Err((e.code(), e.to_string())),
            }
        };
        checks.coded(&f.path, Kind::FileDigest, outcome);
    }

    let mut expected: BTreeSet<&str> = idx.files().iter().map(|f| f.path.as_str()).collect();
    expected.insert(INDEX_PATH);
    let folders: BTreeSet<&str> = expected
        .iter()
        .flat_map(|p| p.match_indices('/').map(|(i, _)| &p[..=i]))
        .collect();
    let unexpected: Vec<String> = src
        .entries()
        .iter()
        .filter(|e| !src.is_refused(&e.name))
        .filter(|e| match e.kind {
            EntryKind::Dir => !folders.contains(e.name.as_str()),
            _ => !expected.contains(e.name.as_str()),
        })
        .map(|e| e.name.clone())
        .collect();
    for name in unexpected {
        checks.add(
            &name,
            Kind::Listed,
            Err(if name.ends_with('/') {
                "a folder that holds nothing the signed index lists".into()
            } else {
                "not listed in the signed index, nor one of the package's fixed files".into()
            }),
        );
    }
}

/// The package's descriptors, each verified for itself and stored under its node's name.
fn descriptor_checks(
    src: &mut PackageSource,
    checks: &mut Checks,
    idx: &Index,
) -> BTreeMap<NodeId, SignedDescriptor> {
    let mut descriptors = BTreeMap::new();
    for f in &idx.descriptors {
        let outcome = src.read_metadata(&f.path).and_then(|b| {
            SignedDescriptor::from_json(&b)
                .map_err(|e| EvidenceError::PackageFormat(format!("{}: {e}", e.code())))
        });
        match outcome {
            Ok(d) if f.path != format!("descriptors/{}.json", d.descriptor.node) => {
                checks.add(
                    &f.path,
                    Kind::Descriptor,
                    Err(format!("holds the descriptor of {}", d.descriptor.node)),
                );
            }
            Ok(d) => {
                let node = d.descriptor.node.clone();
                checks.add(
                    &format!("node {node}"),
                    Kind::Descriptor,
                    Ok(format!(
                        "{} ({}), signing key {}",
                        d.descriptor.name,
                        d.descriptor.jurisdiction,
                        key_id(&d.descriptor.signing_key)
                    )),
                );
                descriptors.insert(node, d);
            }
            Err(e) => checks.coded(
                &f.path,
                Kind::Descriptor,
                Err((
                    if matches!(e, EvidenceError::PackageFormat(_)) {
                        Kind::Descriptor.code()
                    } else {
                        e.code()
                    },
                    e.to_string(),
                )),
            ),
        }
    }
    descriptors
}

/// An item's signed events, or none when one is unreadable or events and proofs do not pair.
fn read_events(
    src: &mut PackageSource,
    checks: &mut Checks,
    it: &IndexItem,
) -> Option<Vec<SignedEvent>> {
    let label = format!("exhibit {} ({})", it.exhibit, it.name);
    let mut events = Vec::new();
    let mut all = it.events.len() == it.proofs.len();
    for f in &it.events {
        match src
            .read_metadata(&f.path)
            .and_then(|b| SignedEvent::from_json(&b))
        {
            Ok(e) => events.push(e),
            Err(e) => {
                all = false;
                checks.coded(
                    &label,
                    Kind::CustodyEvent,
                    Err((e.code(), format!("{}: {e}", f.path))),
                );
            }
        }
    }
    all.then_some(events)
}

/// SHA-256 and length of a file, reading at most one byte more than `listed`.
fn hash_file(src: &mut PackageSource, path: &str, listed: u64) -> Result<(Sha256Digest, u64)> {
    let mut r = src.open_file(path)?.take(listed.saturating_add(1));
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = r
            .read(&mut buf)
            .map_err(|e| EvidenceError::PackageIo(format!("{path}: {e}")))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((Sha256Digest(h.finalize().into()), n))
}

fn parse_index(bytes: &[u8]) -> Result<SignedIndex> {
    let i: SignedIndex =
        serde_json::from_slice(bytes).map_err(|e| EvidenceError::PackageFormat(e.to_string()))?;
    if i.index.format != PACKAGE_FORMAT {
        return Err(EvidenceError::PackageFormat(format!(
            "format {:?}, expected {PACKAGE_FORMAT:?}",
            i.index.format
        )));
    }
    let mut canonical = serde_json::to_vec_pretty(&i).unwrap_or_default();
    canonical.push(b'\n');
    if canonical != bytes {
        return Err(EvidenceError::PackageFormat(
            "index is not in its canonical form".into(),
        ));
    }
    Ok(i)
}

#[allow(clippy::too_many_arguments)]
fn item_checks(
    src: &mut PackageSource,
    checks: &mut Checks,
    label: &str,
    it: &IndexItem,
    events: &[SignedEvent],
    key_of: &dyn Fn(&NodeId) -> Option<PublicKey>,
    witnesses: &[NoteVerifier],
    idx: &Index,
) {
    // Each event: about this item, signed by its node.
    for e in events {
        let ev = &e.event;
        let what = format!(
            "event {} ({}) by {}/{}",
            ev.seq,
            ev.action.as_str(),
            ev.node,
            ev.user
        );
        if ev.evidence != it.file.sha256 {
            checks.add(
                label,
                Kind::EventSubject,
                Err(format!(
                    "{what} is about sha256:{}, not this file",
                    ev.evidence
                )),
            );
        }
        let outcome = match key_of(&ev.node) {
            None => Err(format!(
                "{what}: no descriptor for node {} in the package",
                ev.node
            )),
            Some(k) => e
                .verify(&k)
                .map(|()| format!("{what} signed by {}", ev.node))
                .map_err(|_| {
                    format!(
                        "{what}: signature does not verify against {}'s key",
                        ev.node
                    )
                }),
        };
        checks.add(label, Kind::EventSignature, outcome);
    }
    let chain = Timeline::new(events.to_vec());
    checks.add(
        label,
        Kind::CustodyChain,
        chain
            .as_ref()
            .map(|t| {
                format!(
                    "{} events, unbroken, from acquisition to {}",
                    t.events().len(),
                    t.last().action.as_str()
                )
            })
            .map_err(ToString::to_string),
    );

    // Each event in its node's ledger.
    for (e, pf) in events.iter().zip(&it.proofs) {
        let ev = &e.event;
        let what = format!("event {} ({})", ev.seq, ev.action.as_str());
        let outcome = (|| -> std::result::Result<String, String> {
            let key = key_of(&ev.node)
                .ok_or_else(|| format!("{what}: no descriptor for node {}", ev.node))?;
            let vk = ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes())
                .map_err(|e| e.to_string())?;
            let log = names::log_verifier(ev.node.as_str(), &vk).map_err(|e| e.to_string())?;
            let bytes = src.read_metadata(&pf.path).map_err(|e| e.to_string())?;
            let bundle = ProofBundle::from_json(&bytes).map_err(|e| format!("{}: {e}", pf.path))?;
            let v = bundle
                .verify(&log, witnesses)
                .map_err(|e| format!("{what}: [{}] {e}", e.code()))?;
            let want = ev
                .ledger_entry()
                .and_then(|en| Ok(en.to_bytes()?))
                .map_err(|e| e.to_string())?;
            let got = v.entry.as_ref().and_then(|en| en.to_bytes().ok());
            if got.as_deref() != Some(want.as_slice()) {
                return Err(format!(
                    "{what}: the proven ledger entry is not this event's entry"
                ));
            }
            let cosigners: Vec<&str> = v.cosignatures.iter().map(|c| c.name.as_str()).collect();
            Ok(format!(
                "{what} is entry {} of {}'s log (tree size {}), cosigned by {}",
                v.index.unwrap_or_default(),
                ev.node,
                v.size,
                if cosigners.is_empty() {
                    "no witness in the package".to_owned()
                } else {
                    cosigners.join(", ")
                }
            ))
        })();
        checks.add(label, Kind::LedgerInclusion, outcome);
    }

    // Use conditions: the export must be allowed by the conditions of every node that sent the
    // item on its way to the exporter, or consented to by that node.
    if let Ok(t) = &chain {
        let events = t.events();
        let exporter = events.last().map(|e| e.event.node.clone());
        let sets: Vec<_> = events
            .iter()
            .filter(|e| Some(&e.event.node) != exporter.as_ref())
            .filter_map(|e| e.event.conditions.clone())
            .collect();
        let export = Operation::Export {
            purpose: idx.purpose.clone(),
        };
        let outcome = if sets.is_empty() {
            Ok("no use conditions".to_owned())
        } else {
            sets.iter()
                .try_for_each(|c| match key_of(&c.provider) {
                    None => Err(format!("no descriptor for providing node {}", c.provider)),
                    Some(k) => c
                        .check(&it.file.sha256, &export, &it.consents, &k)
                        .map_err(|e| e.to_string()),
                })
                .map(|()| {
                    let providers: BTreeSet<String> =
                        sets.iter().map(|c| c.provider.to_string()).collect();
                    let providers: Vec<String> = providers.into_iter().collect();
                    format!(
                        "export for {:?} is allowed by the conditions of {}",
                        idx.purpose,
                        providers.join(" and ")
                    )
                })
        };
        checks.add(label, Kind::UseConditions, outcome);
    }
}
