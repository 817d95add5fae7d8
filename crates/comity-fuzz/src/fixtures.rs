//! Genuine objects made once with fixed keys: the seeds start from them, and the targets check
//! that nothing but them ever verifies.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use comity_evidence::conditions::{UseCondition, UseConditions};
use comity_evidence::custody::{Acquisition, Action, CustodyEvent, SignedEvent};
use comity_evidence::package::{Package, PackageItem};
use comity_evidence::{Sha256Digest, TransferOffer};
use comity_ledger::{
    Cosigner, Entry, EntryKind, MemoryLog, NoteSigner, NoteVerifier, ProofBundle, SignedCheckpoint,
    names, tile,
};
use comity_model::{
    Body, Handling, Header, MessageId, MessageKind, NodeId, Note, RequestAction, RequestOpen,
    SCHEMA_VERSION, Timestamp,
};
use comity_pdq::list::{
    Category, ListEntry, ListId, ListUpdate, SignedListUpdate, encode_list_file,
    signed_update_bytes,
};
use comity_pdq::{HashIndex, PdqHash};
use comity_seal::{
    Descriptor, FederationRoot, NodeSecrets, PublicKey, Receipt, SignedDescriptor, SignedTrustList,
    Suite, TrustList,
};
use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};

/// 2025-11-28T10:00:00.000Z: every fixture is dated from here.
pub const T0: i64 = 1_764_324_000_000;
/// The purpose the package is exported for (its conditions allow it).
pub const PURPOSE: &str = "proceedings-FR-2026-88";

pub fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + ms)
}

fn node(s: &str) -> NodeId {
    s.parse().expect("fixture node ids are valid")
}

/// A member of the fixture federation.
pub struct Member {
    pub id: NodeId,
    pub secrets: NodeSecrets,
    pub descriptor: SignedDescriptor,
    pub log: MemoryLog,
}

impl Member {
    fn new(id: &str, jurisdiction: &str, rng: &mut StdRng) -> Self {
        let secrets = NodeSecrets::generate(rng);
        let d = Descriptor::for_secrets(
            &secrets,
            node(id),
            jurisdiction
                .parse()
                .expect("fixture jurisdictions are valid"),
            vec!["24-7".parse().expect("a role")],
            format!("{id} fuzz fixture"),
            "https://127.0.0.1:8443".into(),
            ts(0),
        );
        Self {
            id: node(id),
            descriptor: SignedDescriptor::sign(d, &secrets, None),
            log: MemoryLog::new(&names::log_origin(id)),
            secrets,
        }
    }

    pub fn key(&self) -> PublicKey {
        self.secrets.signing_public()
    }

    pub fn log_signer(&self) -> NoteSigner {
        names::log_signer(self.id.as_str(), self.secrets.signing_key()).expect("a valid name")
    }

    pub fn log_verifier(&self) -> NoteVerifier {
        self.log_signer().verifier().clone()
    }

    pub fn cosigner(&self) -> Cosigner {
        names::witness_cosigner(self.id.as_str(), self.secrets.signing_key()).expect("a valid name")
    }
}

/// Everything genuine the targets and seeds need.
pub struct Fixtures {
    pub dz: Member,
    pub fr: Member,
    pub root: FederationRoot,
    pub trust_list: Vec<u8>,
    /// Sealed by dz-moj to fr-ocl, one per body kind and suite.
    pub envelopes: Vec<Vec<u8>>,
    /// fr-ocl's receipts for `envelopes`.
    pub receipts: Vec<Vec<u8>>,
    pub bodies: Vec<(MessageKind, Vec<u8>)>,
    /// dz-moj's log: checkpoints (plain and cosigned by fr-ocl), entries, tiles and proofs.
    pub checkpoints: Vec<Vec<u8>>,
    pub entries: Vec<Vec<u8>>,
    pub tiles: Vec<(String, Vec<u8>)>,
    pub proofs: Vec<Vec<u8>>,
    pub checkpoint_size: u64,
    /// A hash list of dz-moj in two versions, as signed updates and as a list file.
    pub list_updates: Vec<Vec<u8>>,
    pub list_file: Vec<u8>,
    pub pdq_index: Vec<u8>,
    pub events: Vec<Vec<u8>>,
    pub offers: Vec<Vec<u8>>,
    /// The exhibit of the custody story, its signed events and their inclusion proofs.
    pub exhibit: Vec<u8>,
    pub story: Vec<SignedEvent>,
    pub story_proofs: Vec<Vec<u8>>,
    genuine: BTreeSet<[u8; 32]>,
}

impl Fixtures {
    /// Whether `bytes` are one of the genuinely signed objects above.
    pub fn is_genuine(&self, bytes: &[u8]) -> bool {
        self.genuine
            .contains(&<[u8; 32]>::from(Sha256::digest(bytes)))
    }

    pub fn keys(&self) -> Vec<PublicKey> {
        vec![self.dz.key(), self.fr.key()]
    }

    pub fn key_of(&self, n: &NodeId) -> Option<PublicKey> {
        [&self.dz, &self.fr]
            .into_iter()
            .find(|m| &m.id == n)
            .map(Member::key)
    }

    pub fn witnesses(&self) -> Vec<NoteVerifier> {
        vec![
            self.fr.cosigner().verifier().clone(),
            self.dz.cosigner().verifier().clone(),
        ]
    }
}

/// The fixtures, made on first use.
pub fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(make)
}

fn make() -> Fixtures {
    let mut rng = StdRng::seed_from_u64(0x00c0_417e);
    let mut dz = Member::new("dz-moj", "DZ", &mut rng);
    let mut fr = Member::new("fr-ocl", "FR", &mut rng);
    let root = FederationRoot::generate(&mut rng);
    let trust = SignedTrustList::sign(
        TrustList {
            federation: "fuzz-federation".into(),
            serial: 1,
            issued_at: ts(0),
            members: vec![dz.descriptor.clone(), fr.descriptor.clone()],
            retired_keys: vec![],
        },
        &root,
    );
    let mut genuine = BTreeSet::new();
    let mut keep = |b: &[u8]| {
        genuine.insert(<[u8; 32]>::from(Sha256::digest(b)));
    };
    keep(&trust.to_json());
    keep(&dz.descriptor.to_json());
    keep(&fr.descriptor.to_json());

    let bodies = bodies();
    let mut envelopes = Vec::new();
    let mut receipts = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        for suite in Suite::ALL {
            let n = envelopes.len() as u8;
            let id = MessageId::from_parts((T0 + i as i64) as u64, [n; 10]);
            let header = Header {
                id,
                from: dz.id.clone(),
                to: fr.id.clone(),
                kind: body.kind(),
                conversation: id,
                in_reply_to: None,
                sent_at: ts(i as i64),
                schema: SCHEMA_VERSION,
                handling: Handling::default(),
            };
            let env = comity_seal::seal_with(
                &dz.secrets,
                suite,
                &fr.secrets.hpke_public_for(suite),
                header.clone(),
                body,
                &mut rng,
            )
            .expect("fixture bodies are valid");
            let bytes = env.to_bytes();
            let log_index = n.is_multiple_of(2).then_some(u64::from(n));
            let receipt = Receipt::for_envelope(&fr.secrets, &header, &bytes, ts(1_000), log_index)
                .to_bytes();
            keep(&bytes);
            keep(&receipt);
            envelopes.push(bytes);
            receipts.push(receipt);
        }
    }

    // dz-moj's log: entries of every kind, then custody events of one item.
    let content = b"fuzz fixture exhibit: a mailbox export\n".to_vec();
    let sha = Sha256Digest::of(&content);
    let mut entries = Vec::new();
    for (i, kind) in EntryKind::ALL.into_iter().enumerate() {
        let mut attrs = BTreeMap::new();
        attrs.insert("peer".to_owned(), "fr-ocl".to_owned());
        let e = Entry {
            kind,
            time_ms: (T0 + i as i64) as u64,
            actor: "dz-moj/officer-17".into(),
            subjects: vec![comity_ledger::entry::Subject {
                kind: "message".into(),
                id: MessageId::from_parts(T0 as u64, [i as u8; 10]).to_string(),
            }],
            digests: vec![comity_ledger::entry::Digest {
                label: "envelope".into(),
                sha256: hex::encode(Sha256::digest(&envelopes[i % envelopes.len()])),
            }],
            attrs,
        };
        let bytes = e.to_bytes().expect("fixture entries are valid");
        dz.log.append(&bytes).expect("a small log");
        entries.push(bytes);
    }
    let (events, event_proofs) = story(&mut dz, &mut fr, sha);
    for e in &events {
        keep(e.to_json().as_slice());
    }

    let old_size = 3;
    let old_cp = checkpoint_at(&dz, old_size);
    let signer = dz.log_signer();
    let mut cp = dz.log.checkpoint(&signer).expect("a checkpoint");
    let checkpoint_size = cp.checkpoint.size;
    let plain = cp.to_text().into_bytes();
    cp.add_signature(
        fr.cosigner()
            .cosign(&cp.checkpoint, 1_764_324_100)
            .expect("a cosignature"),
    );
    let cosigned = cp.to_text().into_bytes();
    keep(&plain);
    keep(&cosigned);
    keep(old_cp.to_text().as_bytes());
    let mut tiles = Vec::new();
    for id in tile::hash_tiles_for_size(checkpoint_size) {
        let bytes = dz.log.tile(&id).expect("a tile of the log");
        tiles.push((id.path(), bytes));
    }
    for id in tile::entry_bundles_for_size(checkpoint_size) {
        let all: Vec<&[u8]> = (0..checkpoint_size)
            .filter_map(|i| dz.log.entry(i))
            .collect();
        tiles.push((id.path(), tile::encode_bundle(&all).expect("small entries")));
    }
    let mut proofs = event_proofs;
    proofs.push(
        ProofBundle::inclusion(
            &cp,
            1,
            dz.log.entry(1).expect("entry 1"),
            dz.log.inclusion_proof(1, checkpoint_size).expect("a proof"),
        )
        .to_json()
        .into_bytes(),
    );
    proofs.push(
        ProofBundle::consistency(
            &old_cp,
            &cp,
            dz.log
                .consistency_proof(old_size, checkpoint_size)
                .expect("a proof"),
        )
        .to_json()
        .into_bytes(),
    );

    let (list_updates, list_file, pdq_index) = hash_list(&dz);
    for u in &list_updates {
        keep(u);
    }
    keep(&list_file);

    let (offers, consent) = offers(&content, &events, &proofs, &fr);
    keep(&consent);
    for v in crate::seeds::ENVELOPE_VECTORS {
        // The seal vectors' descriptors are self-signed under their own keys: genuine too.
        if let Some(d) = serde_json::from_str::<serde_json::Value>(v)
            .ok()
            .and_then(|v| v["recipient_descriptor"].as_str().map(str::to_owned))
        {
            keep(d.as_bytes());
        }
    }
    let story_proofs = proofs[..events.len()].to_vec();

    let bodies_json = bodies
        .iter()
        .map(|b| {
            (
                b.kind(),
                serde_json::to_vec(&b.to_json()).unwrap_or_default(),
            )
        })
        .collect();
    Fixtures {
        trust_list: trust.to_json(),
        envelopes,
        receipts,
        bodies: bodies_json,
        checkpoints: vec![plain, cosigned, old_cp.to_text().into_bytes()],
        entries,
        tiles,
        proofs,
        checkpoint_size,
        list_updates,
        list_file,
        pdq_index,
        events: events.iter().map(SignedEvent::to_json).collect(),
        offers,
        exhibit: content,
        story: events,
        story_proofs,
        dz,
        fr,
        root,
        genuine,
    }
}

fn checkpoint_at(m: &Member, size: u64) -> SignedCheckpoint {
    let cp = comity_ledger::Checkpoint::new(
        m.log.origin(),
        size,
        m.log.root_at(size).expect("a smaller tree"),
    );
    SignedCheckpoint::sign(cp, &m.log_signer())
}

/// One valid body of every kind a member sends, requests taken from the workflow's own story.
fn bodies() -> Vec<Body> {
    let packs = comity_law::LawPacks::shipped().expect("shipped packs load");
    let rules = comity_workflow::Rules::shipped().expect("shipped rules load");
    let story = comity_workflow::scenario(&packs, &rules, ts(0)).expect("the shipped story runs");
    let request = &story.requests[0];
    let draft = draft_of(request);
    let mut out = vec![
        Body::Note(Note {
            text: "Please find attached the preservation reference DZ-2026-0042.".into(),
        }),
        Body::PreservationRequest(comity_model::PreservationRequest {
            requesting_authority: "Tribunal de Sidi M'Hamed".into(),
            case_reference: "DZ-2026-0042".into(),
            offences: vec!["illegal_access".into()],
            facts: "Intrusion into the servers of a ministry".into(),
            data: "Connection logs, 1-20 January 2026".into(),
            relation_to_offence: "The intruder connected through this provider".into(),
            custodian_or_location: "Hosting provider in Roubaix".into(),
            necessity: "Logs are deleted after 30 days".into(),
            mla_to_follow: true,
            preservation_days: 90,
        }),
        Body::RequestOpen(RequestOpen {
            v: 1,
            draft: serde_json::to_value(&draft).expect("a draft serialises"),
            at: ts(0),
        }),
    ];
    if let Some(s) = request.stamped().first() {
        out.push(Body::RequestAction(RequestAction {
            v: 1,
            request: request.id,
            node: s.actor.node.clone(),
            role: s.actor.role,
            action: serde_json::to_value(&s.action).expect("an action serialises"),
            at: s.at,
            base: Some(s.base),
        }));
    }
    out
}

/// A custody story of one item: dz-moj acquires, seals and sends it; fr-ocl receives, verifies
/// and exports it. Returns the signed events and their inclusion proofs.
fn story(dz: &mut Member, fr: &mut Member, sha: Sha256Digest) -> (Vec<SignedEvent>, Vec<Vec<u8>>) {
    let mut e = CustodyEvent {
        v: 1,
        evidence: sha,
        case: "DZ-2026-0017".into(),
        seq: 0,
        prev: None,
        action: Action::Acquired,
        time: ts(1_000),
        node: dz.id.clone(),
        user: "officer-17".into(),
        acquisition: Some(Acquisition {
            by: "Inspector A. Benali, cybercrime unit".into(),
            location: "Server room, Algiers".into(),
            tool: "FTK Imager 4.7.1".into(),
            method: "Logical copy of the mailbox under warrant 2026/113".into(),
        }),
        counterpart: None,
        conditions: Some(conditions()),
        note: None,
    };
    let steps = [
        (Action::Sealed, true, "officer-17", false),
        (Action::Sent, true, "clerk-2", true),
        (Action::Received, false, "analyst-5", true),
        (Action::Verified, false, "analyst-5", false),
        (Action::Exported, false, "prosecutor-1", false),
    ];
    let mut recorded = vec![(record(dz, &e), true)];
    for (i, (action, at_dz, user, other)) in steps.into_iter().enumerate() {
        let (me, them) = if at_dz { (&*dz, &*fr) } else { (&*fr, &*dz) };
        let mut next = CustodyEvent::next_after(
            &e,
            action,
            ts(2_000 + i as i64 * 1_000),
            me.id.clone(),
            user,
        );
        next.counterpart = other.then(|| them.id.clone());
        if action == Action::Sent {
            next.conditions = Some(conditions());
        }
        let m = if at_dz { &mut *dz } else { &mut *fr };
        recorded.push((record(m, &next), at_dz));
        e = next;
    }
    let mut events = Vec::new();
    let mut proofs = Vec::new();
    for ((ev, index), at_dz) in recorded {
        let (log_of, witness) = if at_dz { (&*dz, &*fr) } else { (&*fr, &*dz) };
        let mut cp = log_of
            .log
            .checkpoint(&log_of.log_signer())
            .expect("a checkpoint");
        cp.add_signature(
            witness
                .cosigner()
                .cosign(&cp.checkpoint, 1_764_324_100)
                .expect("a cosignature"),
        );
        let entry = log_of.log.entry(index).expect("the event's entry").to_vec();
        let proof = log_of
            .log
            .inclusion_proof(index, log_of.log.size())
            .expect("a proof");
        events.push(ev);
        proofs.push(
            ProofBundle::inclusion(&cp, index, &entry, proof)
                .to_json()
                .into_bytes(),
        );
    }
    (events, proofs)
}

fn record(m: &mut Member, e: &CustodyEvent) -> (SignedEvent, u64) {
    let entry = e
        .ledger_entry()
        .and_then(|en| Ok(en.to_bytes()?))
        .expect("fixture events make entries");
    let signed = e
        .clone()
        .sign(m.secrets.signing_key())
        .expect("fixture events are valid");
    let index = m.log.append(&entry).expect("a small log");
    (signed, index)
}

fn conditions() -> UseConditions {
    UseConditions {
        provider: node("dz-moj"),
        legal_basis: vec!["Budapest Art. 28".into()],
        conditions: vec![
            UseCondition::Confidential,
            UseCondition::PurposeLimited {
                purposes: vec![PURPOSE.into()],
            },
            UseCondition::NoOnwardTransfer,
        ],
    }
}

fn hash_list(dz: &Member) -> (Vec<Vec<u8>>, Vec<u8>, Vec<u8>) {
    let list: ListId = "dz-moj/csam-baseline".parse().expect("a list id");
    let entry = |id: u64, fill: u8, with_digests: bool| ListEntry {
        id,
        pdq: PdqHash::from_bytes([fill; 32]),
        quality: 90,
        sha256: with_digests.then_some([fill; 32]),
        md5: with_digests.then_some([fill; 16]),
        category: "csam-baseline".parse::<Category>().expect("a category"),
        series: comity_pdq::list::SeriesId::new(vec![fill; 8]).ok(),
        victim_identified: id.is_multiple_of(2),
        contributor: dz.id.clone(),
        added_at: ts(id as i64),
    };
    let first = ListUpdate {
        list,
        publisher: dz.id.clone(),
        version: 1,
        previous: [0; 32],
        issued_at: ts(0),
        added: vec![entry(1, 0x5a, true), entry(2, 0xa5, false)],
        revoked: vec![],
    };
    let v1 = first
        .clone()
        .sign(dz.secrets.signing_key())
        .expect("a valid update");
    let mut second = first;
    second.version = 2;
    second.previous = v1.update.digest();
    second.issued_at = ts(1_000);
    second.added = vec![entry(3, 0x3c, true)];
    second.revoked = vec![1];
    let v2 = second
        .sign(dz.secrets.signing_key())
        .expect("a valid update");
    let updates: Vec<SignedListUpdate> = vec![v1, v2];
    let mut index = HashIndex::new();
    for (i, fill) in [0x5au8, 0xa5, 0x3c].into_iter().enumerate() {
        index
            .insert(PdqHash::from_bytes([fill; 32]), i as u64 + 1)
            .expect("distinct ids");
    }
    (
        updates.iter().map(signed_update_bytes).collect(),
        encode_list_file(&updates),
        index.to_bytes(),
    )
}

/// The evidence messages of a transfer: the offer body with its custody links, a consent; and
/// the bytes the consent's signature covers.
fn offers(
    content: &[u8],
    events: &[SignedEvent],
    proofs: &[Vec<u8>],
    fr: &Member,
) -> (Vec<Vec<u8>>, Vec<u8>) {
    let chunk_size = 4096u32;
    let offer = TransferOffer {
        sha256: Sha256Digest::of(content),
        size: content.len() as u64,
        chunk_size,
        chunk_sha256: content
            .chunks(chunk_size as usize)
            .map(Sha256Digest::of)
            .collect(),
    };
    let custody: Vec<serde_json::Value> = events
        .iter()
        .zip(proofs)
        .take(3)
        .map(|(e, p)| {
            serde_json::json!({
                "event": String::from_utf8_lossy(&e.to_json()),
                "proof": String::from_utf8_lossy(p),
            })
        })
        .collect();
    let body = serde_json::json!({
        "v": 1,
        "transfer": "00112233445566778899aabbccddeeff",
        "offer": offer,
        "name": "mailbox export.mbox",
        "case": "FR-2026-88",
        "purpose": PURPOSE,
        "conditions": conditions(),
        "custody": custody,
    });
    let consent = comity_evidence::conditions::Consent {
        v: 1,
        evidence: offer.sha256,
        provider: fr.id.clone(),
        operation: comity_evidence::conditions::Operation::Export {
            purpose: PURPOSE.into(),
        },
        time: ts(9_000),
    }
    .sign(fr.secrets.signing_key());
    let messages = vec![
        serde_json::to_vec(&body).expect("an offer serialises"),
        serde_json::to_vec(&serde_json::json!({"v": 1, "consent": consent}))
            .expect("a consent serialises"),
    ];
    (messages, consent.consent.signed_bytes())
}

/// The package fr-ocl exports for the court: its zip bytes and its files by path.
pub struct GenuinePackage {
    pub zip: Vec<u8>,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// The genuine package, written once under `scratch` (a folder the caller owns).
pub fn genuine_package(scratch: &Path) -> &'static GenuinePackage {
    static P: OnceLock<GenuinePackage> = OnceLock::new();
    P.get_or_init(|| {
        let f = fixtures();
        let owned = f.exhibit.clone();
        let trust = SignedTrustList::from_json(&f.trust_list).expect("the fixture trust list");
        let pkg = Package {
            exporter: f.fr.id.clone(),
            created: ts(10_000),
            purpose: PURPOSE.into(),
            items: vec![PackageItem {
                name: "mailbox export.mbox".into(),
                sha256: Sha256Digest::of(&f.exhibit),
                size: f.exhibit.len() as u64,
                content: Arc::new(move || {
                    Ok(Box::new(std::io::Cursor::new(owned.clone())) as Box<dyn Read>)
                }),
                events: f.story.clone(),
                proofs: f.story_proofs.clone(),
                consents: vec![],
            }],
            descriptors: vec![f.dz.descriptor.clone(), f.fr.descriptor.clone()],
            trust_list: Some(trust),
        };
        let path = scratch.join("genuine-package.zip");
        let _ = std::fs::remove_file(&path);
        comity_evidence::package::write_zip(&pkg, &path, f.fr.secrets.signing_key())
            .expect("the fixture package is written");
        let zip = std::fs::read(&path).expect("the package just written");
        let _ = std::fs::remove_file(&path);
        let files = crate::unzip::entries(&zip)
            .expect("the fixture zip reads")
            .into_iter()
            .collect();
        GenuinePackage { zip, files }
    })
}

/// The draft a request was opened from.
pub fn draft_of(r: &comity_workflow::Request) -> comity_workflow::Draft {
    comity_workflow::Draft {
        id: r.id,
        requesting: r.requesting.clone(),
        requested: r.requested.clone(),
        body: r.body.clone(),
        content: r.content.clone(),
        conditions: r.conditions.clone(),
        preflight: r.preflight.clone(),
        links: Vec::new(),
    }
}

/// Files of a directory tree by relative path (`/`-separated), symlinks not followed.
pub fn dir_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let rel = p
                .strip_prefix(root)
                .map(|r| r.to_string_lossy().into_owned())
                .unwrap_or_default();
            if meta.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap_or_default());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}
