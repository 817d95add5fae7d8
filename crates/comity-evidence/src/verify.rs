//! Offline verification of a package, with a report a lawyer can read: one line per check
//! (item, check, pass or fail, reason) and an all-or-nothing verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use comity_ledger::names;
use comity_ledger::{NoteVerifier, ProofBundle};
use comity_model::NodeId;
use comity_seal::{PublicKey, SignedDescriptor, SignedTrustList, Trust, key_id};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::conditions::Operation;
use crate::custody::{SignedEvent, Timeline};
use crate::digest::Sha256Digest;
use crate::error::{EvidenceError, Result};
use crate::package::{INDEX_PATH, PACKAGE_FORMAT, SignedIndex, manifest_bytes};

/// One check and its outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `package`, `exhibit 1 (photo.jpg)`, `node dz-moj`, a file path...
    pub item: String,
    /// Which check: `file digest`, `event signature`, `ledger inclusion`...
    pub check: String,
    pub passed: bool,
    pub reason: String,
}

/// Every check made, and the verdict: the package holds only if every check passed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub package: String,
    pub verified: bool,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed)
    }

    /// Plain text for people: a verdict line, then `PASS`/`FAIL` lines.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "Package {}: {}\n{} checks, {} failed\n\n",
            self.package,
            if self.verified {
                "VERIFIED: every check passed"
            } else {
                "NOT VERIFIED: at least one check failed"
            },
            self.checks.len(),
            self.failures().count()
        );
        for c in &self.checks {
            s.push_str(&format!(
                "{} {} | {} | {}\n",
                if c.passed { "PASS" } else { "FAIL" },
                c.item,
                c.check,
                c.reason
            ));
        }
        s
    }
}

/// Read access to a package, directory or zip.
trait Source {
    fn paths(&self) -> Vec<String>;
    fn open(&mut self, path: &str) -> Result<Box<dyn Read + '_>>;
}

struct DirSource {
    root: PathBuf,
    paths: Vec<String>,
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) -> Result<()> {
    let rd = std::fs::read_dir(dir)
        .map_err(|e| EvidenceError::PackageIo(format!("{}: {e}", dir.display())))?;
    for e in rd {
        let e = e.map_err(|e| EvidenceError::PackageIo(e.to_string()))?;
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out)?;
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
    Ok(())
}

impl Source for DirSource {
    fn paths(&self) -> Vec<String> {
        self.paths.clone()
    }
    fn open(&mut self, path: &str) -> Result<Box<dyn Read + '_>> {
        if !self.paths.iter().any(|p| p == path) {
            return Err(EvidenceError::PackageFormat(format!("{path} is missing")));
        }
        let f = File::open(self.root.join(path))
            .map_err(|e| EvidenceError::PackageIo(format!("{path}: {e}")))?;
        Ok(Box::new(f))
    }
}

struct ZipSource(zip::ZipArchive<File>);

impl Source for ZipSource {
    fn paths(&self) -> Vec<String> {
        self.0
            .file_names()
            .filter(|n| !n.ends_with('/'))
            .map(str::to_owned)
            .collect()
    }
    fn open(&mut self, path: &str) -> Result<Box<dyn Read + '_>> {
        let f = self
            .0
            .by_name(path)
            .map_err(|_| EvidenceError::PackageFormat(format!("{path} is missing")))?;
        Ok(Box::new(f))
    }
}

fn open_source(path: &Path) -> Result<Box<dyn Source>> {
    if path.is_dir() {
        let mut paths = Vec::new();
        walk(path, path, &mut paths)?;
        paths.sort();
        return Ok(Box::new(DirSource {
            root: path.to_owned(),
            paths,
        }));
    }
    let f = File::open(path)
        .map_err(|e| EvidenceError::PackageIo(format!("{}: {e}", path.display())))?;
    let z = zip::ZipArchive::new(f)
        .map_err(|e| EvidenceError::PackageFormat(format!("not a directory or a zip file: {e}")))?;
    Ok(Box::new(ZipSource(z)))
}

/// Most bytes read into memory for one small file (events, proofs, descriptors, index).
const SMALL_FILE_MAX: u64 = 16 * 1024 * 1024;

fn read_small(src: &mut dyn Source, path: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    src.open(path)?
        .take(SMALL_FILE_MAX + 1)
        .read_to_end(&mut out)
        .map_err(|e| EvidenceError::PackageIo(format!("{path}: {e}")))?;
    if out.len() as u64 > SMALL_FILE_MAX {
        return Err(EvidenceError::PackageFormat(format!(
            "{path} is larger than 16 MiB"
        )));
    }
    Ok(out)
}

fn hash_file(src: &mut dyn Source, path: &str) -> Result<(Sha256Digest, u64)> {
    let mut r = src.open(path)?;
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

struct Checks(Vec<Check>);

impl Checks {
    fn add(
        &mut self,
        item: &str,
        check: &str,
        outcome: std::result::Result<String, String>,
    ) -> bool {
        let passed = outcome.is_ok();
        let reason = match outcome {
            Ok(r) | Err(r) => r,
        };
        self.0.push(Check {
            item: item.to_owned(),
            check: check.to_owned(),
            passed,
            reason,
        });
        passed
    }
}

/// What the verifier brings from outside the package.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    /// The federation root key, obtained from the federation (not from the package). With it,
    /// every descriptor must be confirmed by the package's trust list signed by that root.
    pub federation_root: Option<PublicKey>,
}

/// [`verify_package_with`] without a federation root: descriptors are checked for themselves
/// and their key ids are reported for comparison.
pub fn verify_package(path: &Path) -> Report {
    verify_package_with(path, &VerifyOptions::default())
}

/// Verifies a package directory or zip file, offline. Never stops at the first failure: every
/// check that can still be made is made, so the report is complete.
pub fn verify_package_with(path: &Path, options: &VerifyOptions) -> Report {
    let mut checks = Checks(Vec::new());
    let name = path.display().to_string();
    match open_source(path) {
        Ok(mut src) => verify_source(src.as_mut(), &mut checks, options),
        Err(e) => {
            checks.add("package", "readable", Err(e.to_string()));
        }
    }
    let verified = !checks.0.is_empty() && checks.0.iter().all(|c| c.passed);
    Report {
        package: name,
        verified,
        checks: checks.0,
    }
}

fn verify_source(src: &mut dyn Source, checks: &mut Checks, options: &VerifyOptions) {
    let index = match read_small(src, INDEX_PATH).and_then(|b| parse_index(&b)) {
        Ok(i) => i,
        Err(e) => {
            checks.add("package", "index", Err(format!("{INDEX_PATH}: {e}")));
            return;
        }
    };
    let idx = &index.index;
    checks.add(
        "package",
        "index",
        Ok(format!(
            "{PACKAGE_FORMAT}, exported by {} on {} for {:?}",
            idx.exporter, idx.created, idx.purpose
        )),
    );

    // Files: every listed file present with its digest; nothing unlisted.
    let listed: BTreeSet<&str> = idx.files().iter().map(|f| f.path.as_str()).collect();
    for f in idx.files() {
        let outcome = match hash_file(src, &f.path) {
            Ok((d, n)) if d == f.sha256 && n == f.size => Ok(format!("sha256:{d}, {n} bytes")),
            Ok((d, n)) => Err(format!(
                "expected sha256:{} ({} bytes), found sha256:{d} ({n} bytes)",
                f.sha256, f.size
            )),
            Err(e) => Err(e.to_string()),
        };
        checks.add(&f.path, "file digest", outcome);
    }
    for p in src.paths() {
        if p != INDEX_PATH && !listed.contains(p.as_str()) {
            checks.add(
                &p,
                "listed in index",
                Err("file is not listed in the signed index".into()),
            );
        }
    }

    // Descriptors.
    let mut descriptors: BTreeMap<NodeId, SignedDescriptor> = BTreeMap::new();
    for f in &idx.descriptors {
        let outcome = read_small(src, &f.path).and_then(|b| {
            SignedDescriptor::from_json(&b)
                .map_err(|e| EvidenceError::PackageFormat(format!("{}: {e}", e.code())))
        });
        match outcome {
            Ok(d) => {
                let node = d.descriptor.node.clone();
                checks.add(
                    &format!("node {node}"),
                    "descriptor",
                    Ok(format!(
                        "{} ({}), signing key {} (compare with the federation's published key)",
                        d.descriptor.name,
                        d.descriptor.jurisdiction,
                        key_id(&d.descriptor.signing_key)
                    )),
                );
                descriptors.insert(node, d);
            }
            Err(e) => {
                checks.add(&f.path, "descriptor", Err(e.to_string()));
            }
        }
    }
    federation_checks(src, checks, options, idx, &descriptors);
    let key_of = |n: &NodeId| descriptors.get(n).map(|d| d.descriptor.signing_key);

    // Index signature by the exporter.
    let sig = match key_of(&idx.exporter) {
        Some(k) if index.verify(&k) => Ok(format!("signed by exporter {}", idx.exporter)),
        Some(_) => Err(format!(
            "signature does not verify against {}'s key",
            idx.exporter
        )),
        None => Err(format!("no descriptor for exporter {}", idx.exporter)),
    };
    checks.add("package", "index signature", sig);

    let witnesses: Vec<NoteVerifier> = descriptors
        .values()
        .filter_map(|d| {
            let key = ed25519_dalek::VerifyingKey::from_bytes(d.descriptor.signing_key.as_bytes())
                .ok()?;
            names::witness_verifier(d.descriptor.node.as_str(), &key).ok()
        })
        .collect();

    let mut all_events = Vec::new();
    for it in &idx.items {
        let label = format!("exhibit {} ({})", it.exhibit, it.name);
        let mut events = Vec::new();
        let mut parsed_all = it.events.len() == it.proofs.len();
        for f in &it.events {
            match read_small(src, &f.path).and_then(|b| SignedEvent::from_json(&b)) {
                Ok(e) => events.push(e),
                Err(e) => {
                    parsed_all = false;
                    checks.add(&label, "custody event", Err(format!("{}: {e}", f.path)));
                }
            }
        }
        if parsed_all {
            item_checks(src, checks, &label, it, &events, &key_of, &witnesses, idx);
        } else {
            checks.add(
                &label,
                "custody chain",
                Err("events or proofs are missing or unreadable".into()),
            );
        }
        all_events.push(events);
    }

    // Manifest: must be exactly what the verified contents produce.
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
    let outcome = match read_small(src, &idx.manifest.path) {
        Ok(b) if b == expected => {
            Ok("CASE/UCO manifest matches the files, events and descriptors".into())
        }
        Ok(_) => {
            Err("manifest differs from the one the package contents produce: it was edited".into())
        }
        Err(e) => Err(e.to_string()),
    };
    checks.add(&idx.manifest.path, "manifest", outcome);
}

/// With a federation root: the trust list verifies under it and lists each node with the
/// descriptor the package carries (or a key it names as retired for that node).
fn federation_checks(
    src: &mut dyn Source,
    checks: &mut Checks,
    options: &VerifyOptions,
    idx: &crate::package::Index,
    descriptors: &BTreeMap<NodeId, SignedDescriptor>,
) {
    let Some(root) = &options.federation_root else {
        checks.add(
            "package",
            "federation trust",
            Ok("not checked: no federation root key was given; compare the key ids above with the federation's".into()),
        );
        return;
    };
    let trust = match &idx.trust_list {
        None => Err("the package holds no trust list".to_owned()),
        Some(f) => read_small(src, &f.path)
            .map_err(|e| e.to_string())
            .and_then(|b| SignedTrustList::from_json(&b).map_err(|e| e.to_string()))
            .and_then(|t| {
                Trust::from_verified(&t, root).map_err(|e| format!("[{}] {e}", e.code()))
            }),
    };
    let trust = match trust {
        Ok(t) => {
            checks.add(
                "package",
                "federation trust",
                Ok(format!(
                    "trust list {} serial {} signed by the given root {}",
                    t.federation(),
                    t.serial(),
                    key_id(root)
                )),
            );
            t
        }
        Err(e) => {
            checks.add("package", "federation trust", Err(e));
            return;
        }
    };
    for (node, d) in descriptors {
        let key = d.descriptor.signing_key;
        // Events may predate a rotation: any key the list names for the node counts, current
        // or retired (the earliest instant makes every retired key eligible).
        let known = trust
            .signing_keys_at(node, comity_model::Timestamp::from_unix_ms(i64::MIN))
            .contains(&key);
        let outcome = if known {
            Ok(format!(
                "{node}'s key {} is a member key in the trust list",
                key_id(&key)
            ))
        } else {
            Err(format!(
                "{node}'s key {} is not in the federation's trust list",
                key_id(&key)
            ))
        };
        checks.add(&format!("node {node}"), "member of the federation", outcome);
    }
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
    src: &mut dyn Source,
    checks: &mut Checks,
    label: &str,
    it: &crate::package::IndexItem,
    events: &[SignedEvent],
    key_of: &dyn Fn(&NodeId) -> Option<comity_seal::PublicKey>,
    witnesses: &[NoteVerifier],
    idx: &crate::package::Index,
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
                "event subject",
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
        checks.add(label, "event signature", outcome);
    }
    let chain = Timeline::new(events.to_vec());
    checks.add(
        label,
        "custody chain",
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
            let bytes = read_small(src, &pf.path).map_err(|e| e.to_string())?;
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
        checks.add(label, "ledger inclusion", outcome);
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
                    let providers: Vec<String> =
                        sets.iter().map(|c| c.provider.to_string()).collect();
                    format!(
                        "export for {:?} is allowed by the conditions of {}",
                        idx.purpose,
                        providers.join(" and ")
                    )
                })
        };
        checks.add(label, "use conditions", outcome);
    }
}
