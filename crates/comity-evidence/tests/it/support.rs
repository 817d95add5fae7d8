//! Two nodes (dz-moj provides, fr-ocl requests), their ledgers, and a full custody story.

use std::path::{Path, PathBuf};

use comity_evidence::conditions::{UseCondition, UseConditions};
use comity_evidence::custody::{Acquisition, Action, CustodyEvent, SignedEvent};
use comity_evidence::package::{Package, PackageItem, file_content};
use comity_evidence::{Sha256Digest, WrapKey};
use comity_ledger::{MemoryLog, ProofBundle, names};
use comity_model::{NodeId, Timestamp};
use comity_seal::rand_core::UnwrapErr;
use comity_seal::{
    Descriptor, FederationRoot, NodeSecrets, SignedDescriptor, SignedTrustList, TrustList,
};

pub fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(1_764_324_000_000 + ms)
}

pub fn node(s: &str) -> NodeId {
    s.parse().unwrap()
}

pub struct Node {
    pub id: NodeId,
    pub secrets: NodeSecrets,
    pub descriptor: SignedDescriptor,
    pub log: MemoryLog,
}

impl Node {
    pub fn new(id: &str, jurisdiction: &str) -> Self {
        let secrets = NodeSecrets::generate(&mut rng());
        let d = Descriptor::for_secrets(
            &secrets,
            node(id),
            jurisdiction.parse().unwrap(),
            vec!["24-7".parse().unwrap()],
            format!("{id} test node"),
            "https://127.0.0.1:8443".into(),
            ts(0),
        );
        let descriptor = SignedDescriptor::sign(d, &secrets, None);
        Self {
            id: node(id),
            log: MemoryLog::new(&names::log_origin(id)),
            secrets,
            descriptor,
        }
    }

    pub fn wrap_key(&self) -> WrapKey {
        WrapKey::from_node_secrets(&self.secrets)
    }

    /// Signs the event and appends its ledger entry; returns the event and its log index.
    pub fn record(&mut self, e: CustodyEvent) -> (SignedEvent, u64) {
        let entry = e.ledger_entry().unwrap().to_bytes().unwrap();
        let signed = e.sign(self.secrets.signing_key()).unwrap();
        // Other activity between events, so indexes are not trivially 0, 1, 2.
        self.log.append(b"other entry").unwrap();
        let index = self.log.append(&entry).unwrap();
        (signed, index)
    }

    /// Inclusion proof of entry `index` against a checkpoint cosigned by `witness`.
    pub fn proof(&self, index: u64, witness: &Node) -> Vec<u8> {
        let signer = names::log_signer(self.id.as_str(), self.secrets.signing_key()).unwrap();
        let mut cp = self.log.checkpoint(&signer).unwrap();
        let cosigner =
            names::witness_cosigner(witness.id.as_str(), witness.secrets.signing_key()).unwrap();
        cp.add_signature(cosigner.cosign(&cp.checkpoint, 1_764_324_100).unwrap());
        let entry = self.log.entry(index).unwrap().to_vec();
        let proof = self.log.inclusion_proof(index, self.log.size()).unwrap();
        ProofBundle::inclusion(&cp, index, &entry, proof)
            .to_json()
            .into_bytes()
    }
}

pub const PURPOSE: &str = "proceedings-FR-2026-88";

pub fn conditions() -> UseConditions {
    UseConditions {
        provider: node("dz-moj"),
        legal_basis: vec!["Budapest Art. 28".into(), "Law 09-04 Art. 18".into()],
        conditions: vec![
            UseCondition::Confidential,
            UseCondition::PurposeLimited {
                purposes: vec![PURPOSE.into()],
            },
            UseCondition::NoOnwardTransfer,
        ],
    }
}

pub fn acquired(sha: Sha256Digest) -> CustodyEvent {
    CustodyEvent {
        v: 1,
        evidence: sha,
        case: "DZ-2026-0017".into(),
        seq: 0,
        prev: None,
        action: Action::Acquired,
        time: ts(1_000),
        node: node("dz-moj"),
        user: "officer-17".into(),
        acquisition: Some(Acquisition {
            by: "Inspector A. Benali, cybercrime unit".into(),
            location: "Server room, 12 rue Didouche Mourad, Algiers".into(),
            tool: "FTK Imager 4.7.1".into(),
            method: "Logical copy of the mailbox under warrant 2026/113".into(),
        }),
        counterpart: None,
        conditions: Some(conditions()),
        note: None,
    }
}

/// The whole story: acquired, sealed, sent (dz-moj); received, verified, exported (fr-ocl),
/// in a federation of its own root.
pub struct Story {
    pub dz: Node,
    pub fr: Node,
    pub events: Vec<SignedEvent>,
    pub proofs: Vec<Vec<u8>>,
    pub root: FederationRoot,
}

pub fn story(sha: Sha256Digest) -> Story {
    let mut dz = Node::new("dz-moj", "DZ");
    let mut fr = Node::new("fr-ocl", "FR");
    let mut recorded = Vec::new();
    let mut e = acquired(sha);
    let steps = [
        (Action::Sealed, "dz-moj", "officer-17", None),
        (Action::Sent, "dz-moj", "clerk-2", Some("fr-ocl")),
        (Action::Received, "fr-ocl", "analyst-5", Some("dz-moj")),
        (Action::Verified, "fr-ocl", "analyst-5", None),
        (Action::Exported, "fr-ocl", "prosecutor-1", None),
    ];
    recorded.push((dz.record(e.clone()), "dz-moj"));
    for (i, (action, at, user, other)) in steps.into_iter().enumerate() {
        let mut next =
            CustodyEvent::next_after(&e, action, ts(2_000 + i as i64 * 1_000), node(at), user);
        next.counterpart = other.map(node);
        if action == Action::Sent {
            next.conditions = Some(conditions());
        }
        let n = if at == "dz-moj" { &mut dz } else { &mut fr };
        recorded.push((n.record(next.clone()), at));
        e = next;
    }
    let mut events = Vec::new();
    let mut proofs = Vec::new();
    for ((ev, index), at) in recorded {
        let p = if at == "dz-moj" {
            dz.proof(index, &fr)
        } else {
            fr.proof(index, &dz)
        };
        events.push(ev);
        proofs.push(p);
    }
    Story {
        dz,
        fr,
        events,
        proofs,
        root: FederationRoot::generate(&mut rng()),
    }
}

/// The trust list of `root` naming `members`.
pub fn trust_list_of(root: &FederationRoot, members: &[&Node]) -> SignedTrustList {
    let list = TrustList {
        federation: "test-federation".into(),
        serial: 1,
        issued_at: ts(0),
        members: members.iter().map(|n| n.descriptor.clone()).collect(),
        retired_keys: vec![],
    };
    SignedTrustList::sign(list, root)
}

pub fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A package of one item with its full story, exported by fr-ocl, with the trust list of the
/// story's federation root.
pub fn package(tmp: &Path, content: &[u8]) -> (Package, Story) {
    let sha = Sha256Digest::of(content);
    let s = story(sha);
    let pkg = Package {
        exporter: node("fr-ocl"),
        created: ts(10_000),
        purpose: PURPOSE.into(),
        items: vec![PackageItem {
            name: "mailbox export.mbox".into(),
            sha256: sha,
            size: content.len() as u64,
            content: file_content(write_file(tmp, "content.bin", content)),
            events: s.events.clone(),
            proofs: s.proofs.clone(),
            consents: vec![],
        }],
        descriptors: vec![s.dz.descriptor.clone(), s.fr.descriptor.clone()],
        trust_list: Some(trust_list_of(&s.root, &[&s.dz, &s.fr])),
    };
    (pkg, s)
}
