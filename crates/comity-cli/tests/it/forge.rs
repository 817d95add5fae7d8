//! Packages forged from a genuine export, as an attacker would make them: every signature made
//! again under fresh keys and a fresh federation root, or entries added to the zip under names
//! of the attacker's choosing (a name given twice included, which the zip writer refuses).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use comity_evidence::custody::SignedEvent;
use comity_evidence::package::{Package, PackageItem, SignedIndex, file_content, write_zip};
use comity_ledger::{MemoryLog, ProofBundle, names};
use comity_model::NodeId;
use comity_seal::{
    Descriptor, FederationRoot, NodeSecrets, SignedDescriptor, SignedTrustList, TrustList,
};

/// The federation root key (base64) a node folder pinned when it joined.
pub fn root_of(node_dir: &Path) -> String {
    let config: toml::Value =
        toml::from_str(&std::fs::read_to_string(node_dir.join("node.toml")).unwrap()).unwrap();
    config["federation_root"].as_str().unwrap().to_owned()
}

fn read(dir: &Path, path: &str) -> Vec<u8> {
    std::fs::read(dir.join(path)).unwrap()
}

/// The package folder `genuine` signed again throughout: a fresh key for every node, their own
/// ledgers and proofs, and a trust list of the fresh descriptors under a fresh root. Returns the
/// forged zip and the fresh root's key.
pub fn rekeyed(genuine: &Path, out: &Path) -> (PathBuf, String) {
    let index: SignedIndex = serde_json::from_slice(&read(genuine, "comity-package.json")).unwrap();
    let idx = index.index;
    let mut secrets: BTreeMap<NodeId, NodeSecrets> = BTreeMap::new();
    let mut descriptors = Vec::new();
    for f in &idx.descriptors {
        let d = SignedDescriptor::from_json(&read(genuine, &f.path))
            .unwrap()
            .descriptor;
        let fresh = NodeSecrets::generate(&mut rand::rng());
        let forged = Descriptor::for_secrets(
            &fresh,
            d.node.clone(),
            d.jurisdiction,
            d.roles,
            d.name,
            d.endpoint,
            d.valid_from,
        );
        descriptors.push(SignedDescriptor::sign(forged, &fresh, None));
        secrets.insert(d.node, fresh);
    }
    let mut logs: BTreeMap<NodeId, MemoryLog> = BTreeMap::new();
    let mut items = Vec::new();
    for it in &idx.items {
        let mut events = Vec::new();
        let mut at = Vec::new();
        for f in &it.events {
            let event = SignedEvent::from_json(&read(genuine, &f.path))
                .unwrap()
                .event;
            let node = event.node.clone();
            let entry = event.ledger_entry().unwrap().to_bytes().unwrap();
            let log = logs
                .entry(node.clone())
                .or_insert_with(|| MemoryLog::new(&names::log_origin(node.as_str())));
            at.push((node.clone(), log.append(&entry).unwrap()));
            events.push(event.sign(secrets[&node].signing_key()).unwrap());
        }
        items.push((it, events, at));
    }
    let mut package_items = Vec::new();
    for (it, events, at) in items {
        let proofs = at
            .iter()
            .map(|(node, i)| {
                let log = &logs[node];
                let signer = names::log_signer(node.as_str(), secrets[node].signing_key()).unwrap();
                let cp = log.checkpoint(&signer).unwrap();
                let proof = log.inclusion_proof(*i, log.size()).unwrap();
                ProofBundle::inclusion(&cp, *i, log.entry(*i).unwrap(), proof)
                    .to_json()
                    .into_bytes()
            })
            .collect();
        package_items.push(PackageItem {
            name: it.name.clone(),
            sha256: it.file.sha256,
            size: it.file.size,
            content: file_content(genuine.join(&it.file.path)),
            events,
            proofs,
            consents: vec![],
        });
    }
    let root = FederationRoot::generate(&mut rand::rng());
    let genuine_list = SignedTrustList::from_json(&read(genuine, "trust-list.json")).unwrap();
    let list = TrustList {
        members: descriptors.clone(),
        retired_keys: vec![],
        ..genuine_list.list
    };
    let package = Package {
        exporter: idx.exporter.clone(),
        created: idx.created,
        purpose: idx.purpose.clone(),
        items: package_items,
        descriptors,
        trust_list: Some(SignedTrustList::sign(list, &root)),
    };
    write_zip(&package, out, secrets[&idx.exporter].signing_key()).unwrap();
    (out.to_owned(), root.public().to_string())
}

/// A zip of the package folder `genuine` with `extras` written first, each under a placeholder
/// of its length renamed in place afterwards, so any name reaches the archive as given.
pub fn zip_with(genuine: &Path, extras: &[(&str, &[u8])], out: &Path) -> PathBuf {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut w = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let mut renames = Vec::new();
    for (i, (name, bytes)) in extras.iter().enumerate() {
        let mut placeholder = format!("~{i}~");
        while placeholder.len() < name.len() {
            placeholder.push('#');
        }
        w.start_file(placeholder.as_str(), options).unwrap();
        w.write_all(bytes).unwrap();
        renames.push((placeholder, name.to_string()));
    }
    let mut stack = vec![genuine.to_owned()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p.strip_prefix(genuine).unwrap().display().to_string());
            }
        }
    }
    files.sort();
    for f in files {
        w.start_file(f.as_str(), options).unwrap();
        w.write_all(&read(genuine, &f)).unwrap();
    }
    w.finish().unwrap();
    let mut bytes = std::fs::read(out).unwrap();
    for (placeholder, name) in renames {
        let (from, to) = (placeholder.as_bytes(), name.as_bytes());
        let mut i = 0;
        while i + from.len() <= bytes.len() {
            if &bytes[i..i + from.len()] == from {
                bytes[i..i + from.len()].copy_from_slice(to);
            }
            i += 1;
        }
    }
    std::fs::write(out, bytes).unwrap();
    out.to_owned()
}
