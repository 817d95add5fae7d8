//! Custody events, evidence messages and packages of `comity-evidence`.

use std::collections::BTreeMap;
use std::path::Path;

use comity_evidence::conditions::{Operation, SignedConsent, UseConditions};
use comity_evidence::custody::{SignedEvent, Timeline};
use comity_evidence::{TransferOffer, VerifyOptions, verify_package_with};
use comity_ledger::ProofBundle;
use comity_model::{Body, MessageKind};
use serde_json::Value;

use crate::Scratch;
use crate::fixtures::{PURPOSE, dir_files, fixtures, genuine_package};
use crate::input::Input;
use crate::unzip;

pub(super) fn custody_event(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    let Ok(e) = SignedEvent::from_json(data) else {
        return;
    };
    assert_eq!(
        e.to_json(),
        data,
        "an event read back must have one spelling"
    );
    if let Some(key) = f.key_of(&e.event.node)
        && e.verify(&key).is_ok()
    {
        assert!(f.is_genuine(data), "an event nobody signed verified");
    }
    let entry = e.event.ledger_entry();
    assert!(
        entry.is_ok(),
        "a valid event must have a ledger entry: {:?}",
        entry.err()
    );
    let _ = Timeline::new(vec![e]);
}

pub(super) fn evidence_message(_: &Scratch, data: &[u8]) {
    let f = fixtures();
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    if let Ok(Body::EvidenceConsent(c)) =
        Body::from_json(MessageKind::EvidenceConsent, value.clone())
        && let Ok(consent) = serde_json::from_value::<SignedConsent>(c.consent)
        && let Some(key) = f.key_of(&consent.consent.provider)
        && consent.verify(&key)
    {
        assert!(
            f.is_genuine(&consent.consent.signed_bytes()),
            "a consent nobody signed verified"
        );
    }
    let Ok(Body::EvidenceOffer(o)) = Body::from_json(MessageKind::EvidenceOffer, value) else {
        return;
    };
    if let Ok(offer) = serde_json::from_value::<TransferOffer>(o.offer)
        && let Ok(layout) = offer.layout()
    {
        let chunks = layout.chunks();
        assert_eq!(chunks, offer.chunk_sha256.len() as u64);
        let mut total = 0;
        for i in 0..chunks.min(64) {
            let r = layout.plain_range(i).expect("a chunk of the layout");
            total += r.end - r.start;
            assert!(layout.stored_range(i).is_ok());
        }
        if chunks <= 64 {
            assert_eq!(total, offer.size, "the chunks must cover the item exactly");
        }
    }
    let mut events = Vec::new();
    for link in &o.custody {
        let Ok(event) = SignedEvent::from_json(link.event.as_bytes()) else {
            return;
        };
        if let Some(p) = &link.proof
            && let Ok(bundle) = ProofBundle::from_json(p.as_bytes())
            && let Some(key) = f.key_of(&event.event.node)
            && let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes())
            && let Ok(log) = comity_ledger::names::log_verifier(event.event.node.as_str(), &vk)
            && let Ok(v) = bundle.verify(&log, &f.witnesses())
        {
            let want = event
                .event
                .ledger_entry()
                .and_then(|e| Ok(e.to_bytes()?))
                .ok();
            let got = v.entry.and_then(|e| e.to_bytes().ok());
            if got.is_some() && got == want {
                // The entry commits to the event's digest, not to its signature.
                assert!(
                    f.story.iter().any(|g| g.event == event.event),
                    "an event the log never recorded was proven"
                );
            }
        }
        events.push(event);
    }
    if let Ok(t) = Timeline::new(events)
        && t.verify_signatures(|n| f.key_of(n)).is_ok()
    {
        assert!(t.events().iter().all(|e| f.is_genuine(&e.to_json())));
        if let Ok(c) = serde_json::from_value::<UseConditions>(o.conditions) {
            let export = Operation::Export {
                purpose: PURPOSE.into(),
            };
            if let Some(k) = f.key_of(&c.provider) {
                let _ = c.check(&t.evidence(), &export, &[], &k);
            }
        }
    }
}

/// What a verified package must hold: exactly the genuine package's files, each once.
fn assert_genuine(genuine: &BTreeMap<String, Vec<u8>>, found: &[(String, Vec<u8>)], what: &str) {
    let mut names = std::collections::BTreeSet::new();
    for (name, bytes) in found {
        assert!(
            names.insert(name),
            "a verified {what} holds two entries named {name}"
        );
        assert!(
            !name.ends_with('/') || bytes.is_empty(),
            "a verified {what} holds data under a folder entry {name}"
        );
    }
    let mut seen = BTreeMap::new();
    // An empty folder entry is what an extractor makes a folder of: nothing to compare.
    for (name, bytes) in found.iter().filter(|(n, _)| !n.ends_with('/')) {
        seen.insert(name.clone(), bytes);
        assert_eq!(
            genuine.get(name),
            Some(bytes),
            "a verified {what} shows other bytes than the exporter signed under {name}"
        );
    }
    assert_eq!(seen.len(), genuine.len(), "a verified {what} lacks a file");
}

fn options() -> [VerifyOptions; 2] {
    let anchored = VerifyOptions::anchored(fixtures().root.public(), "the fixtures' root");
    [VerifyOptions::default(), anchored]
}

pub(super) fn package_zip(scratch: &Scratch, data: &[u8]) {
    let pkg = genuine_package(scratch.dir());
    let path = scratch.dir().join("fuzzed.zip");
    std::fs::write(&path, data).expect("the scratch folder is writable");
    for o in options() {
        let report = verify_package_with(&path, &o);
        assert!(
            !report.checks.is_empty(),
            "a report must say what was checked"
        );
        if report.verified || report.consistent {
            let found = unzip::entries(data).expect("a verified package is a plain zip");
            assert_genuine(&pkg.files, &found, "zip package");
        }
    }
}

/// Ways to spell a name that a careless reader might take for another.
fn variant(name: &str, how: usize) -> String {
    match how {
        0 => format!("./{name}"),
        1 => format!("/{name}"),
        2 => name.replace('/', "\\"),
        3 => format!("x/../{name}"),
        4 => name.to_uppercase(),
        5 => format!("{name}/"),
        6 => format!("{name} "),
        _ => name.replacen('/', "//", 1),
    }
}

/// Edits a genuine package entry by entry (duplicate, replace, remove, add, rename, reorder),
/// then writes it as a zip or a directory and verifies it.
pub(super) fn package_edit(scratch: &Scratch, data: &[u8]) {
    let pkg = genuine_package(scratch.dir());
    let mut entries: Vec<(String, Vec<u8>)> = pkg.files.clone().into_iter().collect();
    let mut input = Input::new(data);
    let as_dir = input.byte() & 1 == 1;
    for _ in 0..1 + input.below(4) {
        if input.is_empty() || entries.is_empty() {
            break;
        }
        let k = input.below(entries.len());
        match input.below(7) {
            0 => {
                let bytes = input.bytes().to_vec();
                let dup = (entries[k].0.clone(), bytes);
                let at = input.below(entries.len() + 1);
                entries.insert(at, dup);
            }
            1 => entries[k].1 = input.bytes().to_vec(),
            2 => {
                entries.remove(k);
            }
            3 => {
                let name = String::from_utf8_lossy(input.bytes()).into_owned();
                entries.push((name, input.bytes().to_vec()));
            }
            4 => entries[k].0 = variant(&entries[k].0, input.below(8)),
            5 => {
                let j = input.below(entries.len());
                entries.swap(k, j);
            }
            _ => {
                let len = entries[k].1.len();
                if len > 0 {
                    let i = input.below(len);
                    entries[k].1[i] ^= input.byte() | 1;
                }
            }
        }
    }
    if as_dir {
        check_dir(scratch, &pkg.files, &entries);
    } else if let Some(zip) = write_zip(&entries) {
        package_zip(scratch, &zip);
    }
}

/// A zip of stored entries in this order, duplicate names included (the zip writer refuses
/// them, so duplicates are written under a stand-in name of the same length and renamed after).
fn write_zip(entries: &[(String, Vec<u8>)]) -> Option<Vec<u8>> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut renames = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for (i, (name, bytes)) in entries.iter().enumerate() {
        let written = if used.insert(name.clone()) {
            name.clone()
        } else {
            let stand_in = format!("\u{1}{i:0>width$}", width = name.len().max(4) - 1);
            let stand_in: String = stand_in.chars().take(name.len()).collect();
            if stand_in.len() != name.len() || !used.insert(stand_in.clone()) {
                return None;
            }
            renames.push((stand_in.clone(), name.clone()));
            stand_in
        };
        w.start_file(written, opts).ok()?;
        w.write_all(bytes).ok()?;
    }
    let mut zip = w.finish().ok()?.into_inner();
    for (from, to) in renames {
        let (from, to) = (from.as_bytes(), to.as_bytes());
        let mut i = 0;
        while let Some(p) = zip[i..].windows(from.len()).position(|w| w == from) {
            zip[i + p..i + p + from.len()].copy_from_slice(to);
            i += p + from.len();
        }
    }
    Some(zip)
}

/// Writes the entries as a package directory (names that would leave it, or collide with a
/// folder, cannot be written and are left out) and verifies it.
fn check_dir(
    scratch: &Scratch,
    genuine: &BTreeMap<String, Vec<u8>>,
    entries: &[(String, Vec<u8>)],
) {
    let dir = scratch.dir().join("fuzzed-dir");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch folder is writable");
    for (name, bytes) in entries {
        let rel = Path::new(name);
        let safe = !name.is_empty()
            && rel
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !safe {
            continue;
        }
        let p = dir.join(rel);
        if let Some(parent) = p.parent()
            && std::fs::create_dir_all(parent).is_err()
        {
            continue;
        }
        let _ = std::fs::write(&p, bytes);
    }
    let found: Vec<(String, Vec<u8>)> = dir_files(&dir).into_iter().collect();
    for o in options() {
        let report = verify_package_with(&dir, &o);
        assert!(
            !report.checks.is_empty(),
            "a report must say what was checked"
        );
        if report.verified || report.consistent {
            assert_genuine(genuine, &found, "package directory");
        }
    }
}
