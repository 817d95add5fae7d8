//! The ledger in running nodes: entries committed with messages, receipts naming the
//! recipient's entry, proofs a court can check with the node's public key, peers cosigning each
//! other's checkpoints, served tiles read by an independent implementation, and fork alarms.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use comity_ledger::tile::{TileSet, entry_bundles_for_size, hash_tiles_for_size};
use comity_ledger::{EntryKind, NoteVerifier, ProofBundle, SignedCheckpoint, names};
use comity_seal::NodeSecrets;
use serde_json::{Value, json};

use crate::harness::{Api, Federation, backends, note, preservation_request};

fn key_of(fed: &Federation, id: &str) -> ed25519_dalek::VerifyingKey {
    let key = fed.members[fed.index(id)].descriptor.descriptor.signing_key;
    ed25519_dalek::VerifyingKey::from_bytes(key.as_bytes()).unwrap()
}

fn log_key(fed: &Federation, id: &str) -> NoteVerifier {
    names::log_verifier(id, &key_of(fed, id)).unwrap()
}

fn witness_key(fed: &Federation, id: &str) -> NoteVerifier {
    names::witness_verifier(id, &key_of(fed, id)).unwrap()
}

/// Waits until `api`'s newest checkpoint covers the whole log and carries `witnesses`
/// cosignatures; returns the ledger status.
async fn cosigned_by(api: &Api, witnesses: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, s) = api.get("/api/v1/ledger").await;
        let cp = &s["checkpoint"];
        let done = cp["size"] == s["size"]
            && cp["cosigned_by"].as_array().map_or(0, Vec::len) >= witnesses;
        if done || Instant::now() > deadline {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn proof(api: &Api, index: u64) -> ProofBundle {
    let (status, v) = api.get(&format!("/api/v1/ledger/proof/{index}")).await;
    assert_eq!(status, 200, "{v}");
    ProofBundle::from_json(v.to_string().as_bytes()).unwrap()
}

#[tokio::test]
async fn receipts_name_the_recipients_entry_and_its_proof_verifies_with_cosignatures() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl", "ma-moj"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let id = dz
            .send(
                "fr-ocl",
                "preservation.request",
                preservation_request(),
                None,
            )
            .await;
        let sent = dz.settled(&id).await;
        assert_eq!(sent["state"], "delivered", "{backend:?}: {sent}");
        let index = sent["receipt"]["log_index"]
            .as_u64()
            .unwrap_or_else(|| panic!("receipt names no log index: {sent}"));

        let (_, got) = fr.get(&format!("/api/v1/messages/{id}")).await;
        assert_eq!(
            got["log_index"], index,
            "the recipient's entry is the one the receipt names"
        );
        let sent_entry = sent["log_index"].as_u64().unwrap();
        let (_, mine) = dz.get("/api/v1/ledger/entries?kind=message_sent").await;
        assert_eq!(mine[0]["index"], sent_entry);
        assert_eq!(mine[0]["entry"]["subjects"][0]["id"], id.as_str());

        let status = cosigned_by(&fr, 2).await;
        assert_eq!(
            status["checkpoint"]["cosigned_by"],
            json!(["dz-247.comity/witness", "ma-moj.comity/witness"]),
            "{backend:?}: {status}"
        );
        let bundle = proof(&fr, index).await;
        let witnesses = [witness_key(&fed, "dz-247"), witness_key(&fed, "ma-moj")];
        let verified = bundle.verify(&log_key(&fed, "fr-ocl"), &witnesses).unwrap();
        assert_eq!(verified.cosignatures.len(), 2);
        let entry = verified.entry.expect("a Comity entry");
        assert_eq!(entry.kind, EntryKind::MessageReceived);
        assert_eq!(entry.actor, "fr-ocl");
        assert_eq!(entry.subjects[0].id, id);
        assert_eq!(entry.digests[0].sha256, sent["digest"].as_str().unwrap());
        assert!(
            bundle.verify(&log_key(&fed, "dz-247"), &[]).is_err(),
            "another node's key does not verify fr-ocl's checkpoint"
        );

        let (_, witnessing) = dz.get("/api/v1/ledger").await;
        let of_fr = witnessing["witnessing"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["peer"] == "fr-ocl")
            .cloned()
            .unwrap();
        assert!(of_fr["size"].as_u64().unwrap() > index, "{of_fr}");
        assert_eq!(of_fr["last_error"], Value::Null);

        let (_, access) = fr.get("/api/v1/ledger/entries?kind=data_access").await;
        assert!(
            access
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["entry"]["subjects"][0]["id"] == id.as_str()),
            "reading a received message is logged: {access}"
        );
        let (status, bad) = fr.get("/api/v1/ledger/entries?kind=gossip").await;
        assert_eq!(
            (status, bad["error"]["code"].as_str()),
            (400, Some("ledger.entry_format"))
        );
        let (status, missing) = fr.get("/api/v1/ledger/proof/999999").await;
        assert_eq!(status, 404, "{missing}");
        fed.shutdown().await;
    }
}

/// A client of `id`'s federation listener over mutual TLS, authenticated with `secrets`.
fn federation_client(fed: &Federation, id: &str, secrets: &NodeSecrets) -> reqwest::Client {
    let m = &fed.members[fed.index(id)];
    let tls =
        comity_node::peer_tls_config(&m.id, m.descriptor.descriptor.tls_key, secrets).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap()
}

/// Fetches a node's checkpoint and every tile and bundle of its tree over pinned TLS, as a
/// witness (member `by`) would, into `dir` laid out as served.
async fn mirror(fed: &Federation, id: &str, by: &str, dir: &Path) -> SignedCheckpoint {
    let d = &fed.members[fed.index(id)].descriptor.descriptor;
    let client = federation_client(fed, id, &fed.members[fed.index(by)].secrets);
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{}/ledger/{path}", d.endpoint);
        async move {
            let r = client.get(&url).send().await.unwrap();
            assert_eq!(r.status(), 200, "{url}");
            r.bytes().await.unwrap().to_vec()
        }
    };
    let note = get("checkpoint".into()).await;
    std::fs::write(dir.join("checkpoint"), &note).unwrap();
    let cp = SignedCheckpoint::open(&note, &log_key(fed, id)).unwrap();
    let size = cp.checkpoint.size;
    let mut tiles = TileSet::new(size);
    for tile in hash_tiles_for_size(size) {
        let bytes = get(tile.path()).await;
        tiles.insert(&tile, &bytes).unwrap();
        let path = dir.join(tile.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    tiles.verify(&cp.checkpoint.root).unwrap();
    for bundle in entry_bundles_for_size(size) {
        let bytes = get(bundle.path()).await;
        tiles.verify_bundle(&bundle, &bytes).unwrap();
        let path = dir.join(bundle.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    cp
}

fn run_tlog_scales(dir: &Path, expect: &Value) -> Value {
    let expect_path = dir.join("expect.json");
    std::fs::write(&expect_path, expect.to_string()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../comity-ledger/tests/oracle/tlog_scales_check.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg(&expect_path)
        .output()
        .expect("python3 is required for the tlog-scales oracle");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "tlog-scales is missing: pip install -r crates/comity-ledger/tests/requirements.txt\n{stderr}"
    );
    assert!(out.status.success(), "tlog-scales disagrees:\n{stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

#[tokio::test]
async fn served_tiles_are_read_by_tlog_scales() {
    let backend = backends()[0];
    let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
    let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
    // More than one full tile of entries (256), so full and partial tiles and bundles are served.
    for round in 0..140 {
        let id = dz
            .send("fr-ocl", "note", note(&format!("note {round}")), None)
            .await;
        let _ = fr.get(&format!("/api/v1/messages/{id}")).await;
    }
    let mut last = String::new();
    for round in 0..140 {
        last = dz
            .send("fr-ocl", "note", note(&format!("more {round}")), None)
            .await;
    }
    assert_eq!(dz.settled(&last).await["state"], "delivered");
    let status = cosigned_by(&fr, 1).await;
    let size = status["size"].as_u64().unwrap();
    assert!(size > 256, "{status}");

    let dir = tempfile::tempdir().unwrap();
    let cp = mirror(&fed, "fr-ocl", "dz-247", dir.path()).await;
    let stranger = NodeSecrets::generate(&mut rand::rng());
    let endpoint = &fed.members[fed.index("fr-ocl")]
        .descriptor
        .descriptor
        .endpoint;
    let refused = federation_client(&fed, "fr-ocl", &stranger)
        .get(format!("{endpoint}/ledger/checkpoint"))
        .send()
        .await;
    assert!(
        refused.is_err(),
        "a client whose TLS key is no member's is refused at the handshake"
    );
    assert_eq!(cp.checkpoint.size, size);
    let mut cases = Vec::new();
    for i in [0, 255, 256, size - 1] {
        let bundle = proof(&fr, i).await;
        let v: Value = serde_json::from_str(&bundle.to_json()).unwrap();
        let checkpoint =
            SignedCheckpoint::parse_unverified(v["checkpoint"].as_str().unwrap().as_bytes())
                .unwrap();
        if checkpoint.checkpoint.size == size {
            cases.push(json!({ "index": i, "entry": v["entry"], "proof": v["proof"] }));
        }
    }
    assert!(!cases.is_empty());
    let old = cp.checkpoint.size / 2;
    let (_, consistency) = fr
        .get(&format!("/api/v1/ledger/consistency?old={old}&new={size}"))
        .await;
    let consistency_cases = if consistency["proof"].is_array() {
        let old_cp = SignedCheckpoint::parse_unverified(
            consistency["old_checkpoint"].as_str().unwrap().as_bytes(),
        )
        .unwrap();
        vec![json!({
            "old_size": old,
            "old_root": B64.encode(old_cp.checkpoint.root.as_bytes()),
            "proof": consistency["proof"],
        })]
    } else {
        Vec::new()
    };
    let expect = json!({
        "log_vkey": log_key(&fed, "fr-ocl").to_vkey(),
        "witness_vkey": witness_key(&fed, "dz-247").to_vkey(),
        "inclusion": cases,
        "consistency": consistency_cases,
    });
    let result = run_tlog_scales(dir.path(), &expect);
    assert_eq!(result["root_matches"], true, "{result}");
    assert_eq!(result["size"], size);
    fed.shutdown().await;
}

#[tokio::test]
async fn a_node_that_rewrites_its_history_raises_an_alarm_at_its_witnesses() {
    let backend = backends()[0];
    let mut fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
    let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
    for round in 0..3 {
        let id = dz
            .send("fr-ocl", "note", note(&format!("before {round}")), None)
            .await;
        assert_eq!(dz.settled(&id).await["state"], "delivered");
    }
    // dz-247 has now verified and cosigned fr-ocl's tree of 3 entries.
    let status = cosigned_by(&fr, 1).await;
    assert_eq!(status["size"], 3, "{status}");
    let fr_index = fed.index("fr-ocl");
    fed.stop_node(fr_index).await;
    fed.replace_database(fr_index, 2).await;
    fed.forget_checkpoint_copy(fr_index);
    fed.start_node(fr_index).await;
    // The rewritten log: three different entries, same size, then more.
    for round in 0..3 {
        let id = dz
            .send("fr-ocl", "note", note(&format!("after {round}")), None)
            .await;
        let m = dz.settled(&id).await;
        assert_eq!(
            m["state"],
            "delivered",
            "{m} {}",
            dz.get("/api/v1/peers").await.1
        );
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let alarms = loop {
        let (_, alarms) = dz.get("/api/v1/ledger/alarms").await;
        if !alarms.as_array().unwrap().is_empty() || Instant::now() > deadline {
            break alarms;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let alarm = &alarms[0];
    assert_eq!(alarm["peer"], "fr-ocl", "{alarms}");
    let evidence: comity_ledger::Alarm = serde_json::from_value(alarm["evidence"].clone()).unwrap();
    evidence
        .verify(&log_key(&fed, "fr-ocl"))
        .expect("the stored evidence proves the fork to anyone holding fr-ocl's key");
    let (_, status) = dz.get("/api/v1/ledger").await;
    assert_eq!(status["alarms"], 1);
    let of_fr = status["witnessing"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["peer"] == "fr-ocl")
        .cloned()
        .unwrap();
    assert!(
        of_fr["last_error"].as_str().unwrap_or("").contains("ALARM"),
        "{of_fr}"
    );
    assert_eq!(
        of_fr["size"], 3,
        "the witness keeps the tree it trusted, not the rewritten one"
    );
    fed.shutdown().await;
}
