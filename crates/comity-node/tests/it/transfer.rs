//! Evidence sent between real nodes: seized in France, pulled by Algeria chunk by chunk over
//! mutual TLS, checked and recorded on both sides; a transfer cut by a restart resumes; a
//! provider's swapped object serves nothing until it is restored; chunks that do not match the
//! signed offer are refused with nothing registered; use conditions hold
//! until the provider consents; chunks are served only to the node they were offered to.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{Api, Backend, Federation, backends, fast_config};

const FR: &str = "fr-ocl";
const DZ: &str = "dz-247";
const BE: &str = "be-fccu";

fn content(len: u32, salt: u32) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + salt) % 251) as u8).collect()
}

async fn seize(api: &Api, case: &str, name: &str, bytes: Vec<u8>) -> String {
    let (status, item) = api
        .post_bytes(&format!("/api/v1/evidence?case={case}&name={name}"), bytes)
        .await;
    assert_eq!(status, 201, "{item}");
    item["sha256"].as_str().unwrap().to_owned()
}

async fn send(api: &Api, sha: &str, to: &str, purpose: &str, conditions: Value) -> (u16, Value) {
    api.post(
        &format!("/api/v1/evidence/{sha}/send"),
        &json!({"to": to, "purpose": purpose, "conditions": conditions,
                "legal_basis": ["Budapest Art. 28", "Second Protocol Art. 14"]}),
    )
    .await
}

/// The node's view of transfer `id`, once `done` holds (or after a minute, for the assertion
/// that follows to show what it is).
async fn transfer_when(api: &Api, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, list) = api.get("/api/v1/evidence/transfers").await;
        let found = list["transfers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["id"] == id)
            .cloned()
            .unwrap_or(Value::Null);
        if done(&found) || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn ended(t: &Value) -> bool {
    t["state"] == "completed" || t["state"] == "refused"
}

fn actions(item: &Value) -> Vec<String> {
    item["custody"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

async fn custody_entries(api: &Api) -> Vec<u64> {
    let (_, logged) = api.get("/api/v1/ledger/entries?kind=custody_event").await;
    let mut logged: Vec<u64> = logged
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    logged.sort_unstable();
    logged
}

#[tokio::test]
async fn evidence_seized_in_france_is_received_and_verified_in_algeria() {
    for backend in backends() {
        let fed = Federation::start(backend, &[FR, DZ]).await;
        let (fr, dz) = (fed.api(FR), fed.api(DZ));
        let bytes = content(3_000_017, 7);
        let sha = seize(&fr, "FR-2026-88", "mailbox.mbox", bytes.clone()).await;
        assert_eq!(sha, hex::encode(Sha256::digest(&bytes)));

        let conditions = json!([{"type": "purpose_limited", "purposes": ["DZ-2026-1"]}]);
        let (status, offered) = send(&fr, &sha, DZ, "DZ-2026-1", conditions).await;
        assert_eq!(status, 202, "{backend:?}: {offered}");
        assert_eq!(offered["state"], "offered");
        assert_eq!(offered["chunks"], 3);
        let id = offered["id"].as_str().unwrap().to_owned();

        let received = transfer_when(&dz, &id, ended).await;
        assert_eq!(received["state"], "completed", "{backend:?}: {received}");
        assert_eq!(
            (
                received["direction"].as_str(),
                received["received"].as_u64()
            ),
            (Some("in"), Some(3))
        );
        let (status, got) = dz
            .get_bytes(&format!("/api/v1/evidence/{sha}/content"))
            .await;
        assert_eq!(status, 200);
        assert!(got == bytes, "{backend:?}: the received content differs");

        let (_, item) = dz.get(&format!("/api/v1/evidence/{sha}")).await;
        assert_eq!(item["provider"], FR);
        assert_eq!(item["case"], "FR-2026-88");
        assert_eq!(item["conditions"]["provider"], FR);
        assert_eq!(
            actions(&item),
            [
                "acquired", "sealed", "sent", "received", "verified", "accessed"
            ]
        );
        let custody = item["custody"].as_array().unwrap();
        for e in &custody[..3] {
            assert_eq!(
                (e["foreign"].as_bool(), e["ledger_index"].is_null()),
                (Some(true), true)
            );
            assert_eq!(e["signed"]["event"]["node"], FR);
        }
        assert_eq!(custody[3]["signed"]["event"]["counterpart"], FR);
        assert_eq!(custody[3]["signed"]["event"]["node"], DZ);
        let own: Vec<u64> = custody[3..]
            .iter()
            .map(|e| e["ledger_index"].as_u64().unwrap())
            .collect();
        assert_eq!(custody_entries(&dz).await, own, "{backend:?}: dz's ledger");
        assert_eq!(item["transfers"][0]["state"], "completed");

        let sent = transfer_when(&fr, &id, ended).await;
        assert_eq!(
            sent["state"], "completed",
            "{backend:?}: the report reached fr: {sent}"
        );
        let (_, item) = fr.get(&format!("/api/v1/evidence/{sha}")).await;
        assert_eq!(actions(&item), ["acquired", "sealed", "sent"]);
        assert_eq!(item["custody"][2]["signed"]["event"]["counterpart"], DZ);
        assert_eq!(item["transfers"][0]["direction"], "out");
        assert_eq!(item["transfers"][0]["state"], "completed");
        assert_eq!(
            custody_entries(&fr).await.len(),
            3,
            "{backend:?}: fr's ledger"
        );

        let (status, again) = send(&fr, &sha, DZ, "DZ-2026-1", json!([])).await;
        assert_eq!(status, 202, "{again}");
        let again = transfer_when(&dz, again["id"].as_str().unwrap(), ended).await;
        assert_eq!(
            (again["state"].as_str(), again["error"]["code"].as_str()),
            (Some("refused"), Some("evidence.already_held"))
        );
        // The refused offer goes through the refusal accounting, charged to its signer (the
        // transfer is stored as refused just before).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let held = loop {
            let (_, refusals) = dz.get("/api/v1/rejections").await;
            let found = refusals
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["code"] == "evidence.already_held")
                .cloned();
            match found {
                Some(held) => break held,
                None if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                None => panic!("{backend:?}: {refusals}"),
            }
        };
        assert_eq!(
            (held["peer"].as_str(), held["count"].as_i64()),
            (Some(FR), Some(1))
        );
        assert!(
            held["sample"]["detail"]
                .as_str()
                .unwrap()
                .starts_with("evidence.offer refused: "),
            "{held}"
        );
        let (_, peers) = dz.get("/api/v1/peers").await;
        let fr_seen = peers
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["node"] == FR)
            .unwrap();
        assert_eq!(fr_seen["refused_last_hour"], 1, "{fr_seen}");
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn a_transfer_cut_by_a_restart_of_the_recipient_resumes_and_ends_exact() {
    for backend in backends() {
        let mut config = fast_config();
        config.evidence_chunk_size = 1024;
        let mut fed = Federation::start_with(backend, &[FR, DZ], config, |_, _| {}).await;
        let bytes = content(4 * 1024 * 1024 + 11, 3);
        let sha = seize(&fed.api(FR), "FR-2026-9", "disk.img", bytes.clone()).await;
        let (status, offered) = send(&fed.api(FR), &sha, DZ, "DZ-2026-2", json!([])).await;
        assert_eq!(status, 202, "{offered}");
        let id = offered["id"].as_str().unwrap().to_owned();
        let total = offered["chunks"].as_u64().unwrap();

        let partial = transfer_when(&fed.api(DZ), &id, |t| {
            t["received"].as_u64().is_some_and(|r| r >= 64) || ended(t)
        })
        .await;
        let dz = fed.index(DZ);
        fed.stop_node(dz).await;
        assert_eq!(
            partial["state"], "pending",
            "{backend:?}: stopped mid-transfer"
        );
        // What the stopped node had stored: a restart from scratch would first store 32.
        let store = comity_store::Store::open(&fed.members[dz].database_url)
            .await
            .unwrap();
        let stored = store.transfer(&id).await.unwrap().unwrap();
        store.close().await;
        let before = u64::try_from(stored.received).unwrap();
        assert!((64..total).contains(&before), "{backend:?}: {stored:?}");
        fed.start_node(dz).await;

        let resumed = transfer_when(&fed.api(DZ), &id, |t| {
            t["received"].as_u64() != Some(before) || ended(t)
        })
        .await;
        assert!(
            resumed["received"].as_u64().unwrap() > before,
            "{backend:?}: the restarted node resumed from {before}, not from the start: {resumed}"
        );
        let done = transfer_when(&fed.api(DZ), &id, ended).await;
        assert_eq!(done["state"], "completed", "{backend:?}: {done}");
        let (_, got) = fed
            .api(DZ)
            .get_bytes(&format!("/api/v1/evidence/{sha}/content"))
            .await;
        assert!(got == bytes, "{backend:?}: the received content differs");
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn a_provider_whose_object_was_swapped_serves_nothing_until_it_is_restored() {
    for backend in backends() {
        let mut config = fast_config();
        config.evidence_poll_ms = 100;
        let mut fed = Federation::start_with(backend, &[FR, DZ], config, |_, _| {}).await;
        let fr = fed.api(FR);
        let sha = seize(&fr, "FR-2026-3", "real.bin", content(2_500_000, 1)).await;
        let decoy = seize(&fr, "FR-2026-3", "decoy.bin", content(2_500_000, 2)).await;
        let dz = fed.index(DZ);
        fed.stop_node(dz).await;
        let (status, offered) = send(&fr, &sha, DZ, "DZ-2026-3", json!([])).await;
        assert_eq!(status, 202, "{offered}");
        let id = offered["id"].as_str().unwrap().to_owned();
        // Two genuine objects of the provider's vault, each under the other's name: the
        // provider's own check refuses them before a chunk leaves.
        let blobs = fed.evidence_dir(FR).join("objects/blobs");
        let swap = blobs.join("swap");
        std::fs::rename(blobs.join(&sha), &swap).unwrap();
        std::fs::rename(blobs.join(&decoy), blobs.join(&sha)).unwrap();
        std::fs::rename(&swap, blobs.join(&decoy)).unwrap();
        fed.start_node(dz).await;

        let waiting = transfer_when(&fed.api(DZ), &id, |t| {
            t["error"]["code"] == "evidence.tampered"
        })
        .await;
        assert_eq!(waiting["state"], "pending", "{backend:?}: {waiting}");
        assert_eq!(waiting["received"], 0);
        let (status, _) = fed.api(DZ).get(&format!("/api/v1/evidence/{sha}")).await;
        assert_eq!(status, 404, "{backend:?}: nothing registered");
        let (_, alarms) = fr.get("/api/v1/ledger/alarms").await;
        let alarm = alarms
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["kind"] == "evidence_tampered")
            .cloned()
            .unwrap_or(Value::Null);
        assert_eq!(alarm["evidence"]["item"], sha.as_str(), "{alarms}");

        // Restored, the same transfer completes.
        std::fs::rename(blobs.join(&sha), &swap).unwrap();
        std::fs::rename(blobs.join(&decoy), blobs.join(&sha)).unwrap();
        std::fs::rename(&swap, blobs.join(&decoy)).unwrap();
        let done = transfer_when(&fed.api(DZ), &id, ended).await;
        assert_eq!(done["state"], "completed", "{backend:?}: {done}");
        let (status, got) = fed
            .api(DZ)
            .get_bytes(&format!("/api/v1/evidence/{sha}/content"))
            .await;
        assert!(status == 200 && got == content(2_500_000, 1), "{backend:?}");
        fed.shutdown().await;
    }
}

/// A version 3 object of the provider's own making that holds `other` under the item `real`: what
/// a hostile member, which holds its keys, could serve.
fn forged_object(fed: &Federation, provider: &str, real: &[u8], other: &[u8]) -> Vec<u8> {
    use comity_evidence::blob::{BlobCipher, ChunkLayout};
    let member = &fed.members[fed.index(provider)];
    let wrap = comity_evidence::WrapKey::from_node_secrets(&member.secrets);
    let mut rng = rand::rng();
    let cipher = BlobCipher::create(1024 * 1024, &mut rng).unwrap();
    let layout = ChunkLayout::new(other.len() as u64, 1024 * 1024).unwrap();
    let mut out = cipher.head().to_vec();
    for i in 0..layout.chunks() {
        let r = layout.plain_range(i).unwrap();
        let mut chunk = other[r.start as usize..r.end as usize].to_vec();
        cipher.seal_chunk(i, layout.is_last(i), &mut chunk).unwrap();
        out.extend(chunk);
    }
    let sha = comity_evidence::Sha256Digest::of(real);
    out.extend(
        cipher
            .trailer(&wrap, &sha, real.len() as u64, &mut rng)
            .unwrap(),
    );
    out
}

#[tokio::test]
async fn chunks_that_do_not_match_the_offer_are_refused_and_nothing_is_registered() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &[FR, DZ]).await;
        let fr = fed.api(FR);
        let (real, other) = (content(2_500_000, 1), content(2_500_000, 2));
        let sha = seize(&fr, "FR-2026-3", "real.bin", real.clone()).await;
        let dz = fed.index(DZ);
        fed.stop_node(dz).await;
        let (status, offered) = send(&fr, &sha, DZ, "DZ-2026-3", json!([])).await;
        assert_eq!(status, 202, "{offered}");
        let id = offered["id"].as_str().unwrap().to_owned();
        // A hostile provider, which holds its own keys, serves other bytes under the offered
        // item: only the recipient's check against the signed offer can catch it.
        let forged = forged_object(&fed, FR, &real, &other);
        std::fs::write(
            fed.evidence_dir(FR).join("objects/blobs").join(&sha),
            forged,
        )
        .unwrap();
        fed.start_node(dz).await;

        let refused = transfer_when(&fed.api(DZ), &id, ended).await;
        assert_eq!(refused["state"], "refused", "{backend:?}: {refused}");
        assert_eq!(refused["error"]["code"], "evidence.chunk_refused");
        let (status, _) = fed.api(DZ).get(&format!("/api/v1/evidence/{sha}")).await;
        assert_eq!(status, 404, "{backend:?}: nothing registered");
        assert!(
            !fed.evidence_dir(DZ)
                .join("objects/blobs")
                .join(&sha)
                .exists()
        );
        let staging = fed.evidence_dir(DZ).join("staging");
        let left = std::fs::read_dir(&staging).unwrap().count();
        assert_eq!(left, 0, "{backend:?}: no staging file is left");
        assert!(custody_entries(&fed.api(DZ)).await.is_empty());

        let reported = transfer_when(&fr, &id, ended).await;
        assert_eq!(reported["state"], "refused", "{backend:?}: {reported}");
        assert_eq!(reported["error"]["code"], "evidence.chunk_refused");
        let (_, item) = fr.get(&format!("/api/v1/evidence/{sha}")).await;
        assert_eq!(item["transfers"][0]["state"], "refused");
        fed.shutdown().await;
    }
}

async fn consents_of(api: &Api, sha: &str, n: usize) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, item) = api.get(&format!("/api/v1/evidence/{sha}")).await;
        if item["consents"].as_array().is_some_and(|c| c.len() >= n) || Instant::now() > deadline {
            return item["consents"].clone();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn export(api: &Api, case: &str, purpose: &str) -> (u16, Vec<u8>) {
    api.get_bytes(&format!(
        "/api/v1/evidence/export?case={case}&purpose={purpose}"
    ))
    .await
}

fn code(body: &[u8]) -> (String, String) {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    (
        v["error"]["code"].as_str().unwrap_or("").to_owned(),
        v["error"]["message"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn use_conditions_hold_until_the_provider_consents() {
    for backend in backends() {
        let fed = Federation::start(backend, &[FR, DZ, BE]).await;
        let (fr, dz, be) = (fed.api(FR), fed.api(DZ), fed.api(BE));
        let anchor =
            comity_evidence::VerifyOptions::anchored(fed.root.public(), "the test federation");
        let bytes = content(70_000, 5);
        let sha = seize(&fr, "FR-2026-88", "ledger.xlsx", bytes).await;
        let conditions = json!([{"type": "no_onward_transfer"},
            {"type": "purpose_limited", "purposes": ["DZ-2026-7"]}]);
        let (_, offered) = send(&fr, &sha, DZ, "DZ-2026-7", conditions).await;
        let id = offered["id"].as_str().unwrap().to_owned();
        let done = transfer_when(&dz, &id, ended).await;
        assert_eq!(done["state"], "completed", "{backend:?}: {done}");

        let (status, refused) = send(&dz, &sha, BE, "DZ-2026-7", json!([])).await;
        assert_eq!(status, 403, "{backend:?}: {refused}");
        assert_eq!(refused["error"]["code"], "evidence.condition_refused");
        let message = refused["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("no_onward_transfer") && message.contains("Second Protocol Art. 14"),
            "{message}"
        );
        let (status, body) = export(&dz, "FR-2026-88", "court-DZ-2026-7").await;
        let (c, message) = code(&body);
        assert_eq!((status, c.as_str()), (403, "evidence.condition_refused"));
        assert!(message.contains("purpose_limited") && message.contains("Budapest Art. 28(2)(b)"));
        let (_, item) = dz.get(&format!("/api/v1/evidence/{sha}")).await;
        assert!(
            !actions(&item).contains(&"exported".to_owned()),
            "a refused export leaves no event"
        );

        let (status, given) = fr
            .post(
                &format!("/api/v1/evidence/{sha}/consents"),
                &json!({"holder": DZ, "operation": {"type": "forward", "to": BE, "purpose": "DZ-2026-7"}}),
            )
            .await;
        assert_eq!(status, 202, "{given}");
        consents_of(&dz, &sha, 1).await;
        let (status, forwarded) = send(&dz, &sha, BE, "DZ-2026-7", json!([])).await;
        assert_eq!(
            status, 202,
            "{backend:?}: allowed after consent: {forwarded}"
        );
        let at_be = transfer_when(&be, forwarded["id"].as_str().unwrap(), ended).await;
        assert_eq!(at_be["state"], "completed", "{at_be}");

        // Algeria set no conditions of its own, but France's still bind in Belgium, and France
        // consents there directly.
        let (status, body) = export(&be, "FR-2026-88", "court-BE-2026-3").await;
        let (c, message) = code(&body);
        assert_eq!(
            (status, c.as_str()),
            (403, "evidence.condition_refused"),
            "{backend:?}"
        );
        assert!(
            message.contains("purpose_limited") && message.contains(FR),
            "{message}"
        );
        let (status, _) = send(&be, &sha, DZ, "DZ-2026-7", json!([])).await;
        assert_eq!(
            status, 403,
            "France's no_onward_transfer holds after the second hop"
        );
        let (status, given) = fr
            .post(
                &format!("/api/v1/evidence/{sha}/consents"),
                &json!({"holder": BE, "operation": {"type": "export", "purpose": "court-BE-2026-3"}}),
            )
            .await;
        assert_eq!(status, 202, "{given}");
        consents_of(&be, &sha, 1).await;
        let (status, zip) = export(&be, "FR-2026-88", "court-BE-2026-3").await;
        assert_eq!(status, 200, "{backend:?}: {:?}", code(&zip));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("belgium.zip");
        std::fs::write(&path, &zip).unwrap();
        let report = comity_evidence::verify_package_with(&path, &anchor);
        assert!(
            report.verified,
            "{backend:?}: {:?}",
            report.failures().collect::<Vec<_>>()
        );
        let allowed = report
            .checks
            .iter()
            .find(|c| c.check == "use conditions")
            .unwrap();
        assert!(
            allowed.reason.contains(FR) && allowed.reason.contains(DZ),
            "both senders' conditions are checked offline: {}",
            allowed.reason
        );
        let (status, _) = fr
            .post(
                &format!("/api/v1/evidence/{sha}/consents"),
                &json!({"holder": FR, "operation": {"type": "export", "purpose": "x"}}),
            )
            .await;
        assert_eq!(status, 404, "no consent to itself");

        fr.post(
            &format!("/api/v1/evidence/{sha}/consents"),
            &json!({"holder": DZ, "operation": {"type": "export", "purpose": "court-DZ-2026-7"}}),
        )
        .await;
        consents_of(&dz, &sha, 2).await;
        let (status, zip) = export(&dz, "FR-2026-88", "court-DZ-2026-7").await;
        assert_eq!(status, 200, "{backend:?}: {:?}", code(&zip));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("package.zip");
        std::fs::write(&path, &zip).unwrap();
        let report = comity_evidence::verify_package_with(&path, &anchor);
        let failures: Vec<String> = report
            .failures()
            .map(|c| format!("{} | {} | {}", c.item, c.check, c.reason))
            .collect();
        assert!(report.verified, "{backend:?}: {failures:#?}");
        let nodes: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.check == "descriptor")
            .map(|c| c.item.as_str())
            .collect();
        assert_eq!(nodes.len(), 2, "{nodes:?}");
        assert!(nodes.iter().any(|n| n.contains(FR)) && nodes.iter().any(|n| n.contains(DZ)));
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn chunks_are_served_only_to_the_node_they_were_offered_to() {
    let backend = Backend::Sqlite;
    let fed = Federation::start(backend, &[FR, DZ, BE]).await;
    let fr = fed.api(FR);
    let sha = seize(&fr, "FR-2026-5", "a.bin", content(5000, 9)).await;
    let (_, offered) = send(&fr, &sha, DZ, "DZ-2026-5", json!([])).await;
    transfer_when(&fr, offered["id"].as_str().unwrap(), ended).await;
    let unsent = seize(&fr, "FR-2026-5", "b.bin", content(5000, 8)).await;

    let fr_member = &fed.members[fed.index(FR)];
    let endpoint = &fr_member.descriptor.descriptor.endpoint;
    let as_member = |who: &str| {
        let m = &fed.members[fed.index(who)];
        let tls = comity_node::peer_tls_config(
            &fr_member.id,
            fr_member.descriptor.descriptor.tls_key,
            &m.secrets,
        )
        .unwrap();
        reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .build()
            .unwrap()
    };
    comity_node::install_default_provider();
    for (who, item) in [(BE, &sha), (DZ, &unsent), (BE, &"ab".repeat(32))] {
        let r = as_member(who)
            .get(format!("{endpoint}/federation/v1/evidence/{item}/chunks/0"))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap();
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (404, Some("evidence.not_offered")),
            "{who} asking for {item}"
        );
    }

    let stranger = comity_seal::NodeSecrets::generate(&mut rand::rng());
    let tls = comity_node::peer_tls_config(
        &fr_member.id,
        fr_member.descriptor.descriptor.tls_key,
        &stranger,
    )
    .unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let r = client
        .get(format!("{endpoint}/federation/v1/evidence/{sha}/chunks/0"))
        .send()
        .await;
    assert!(
        r.is_err(),
        "a key outside the trust list is refused at the handshake"
    );
    fed.shutdown().await;
}

async fn ledger_size(api: &Api) -> u64 {
    api.get("/api/v1/ledger").await.1["size"].as_u64().unwrap()
}

#[tokio::test]
async fn a_send_whose_offer_cannot_be_queued_records_nothing() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &[FR, DZ]).await;
        let sha = seize(&fed.api(FR), "FR-2026-7", "a.bin", content(5000, 3)).await;
        // France's node now refuses to seal any message: the offer cannot be queued.
        let fr = fed.index(FR);
        fed.stop_node(fr).await;
        fed.config.max_message_bytes = 200;
        fed.start_node(fr).await;
        let api = fed.api(FR);
        let before = ledger_size(&api).await;
        let (status, v) = send(&api, &sha, DZ, "DZ-2026-7", json!([])).await;
        assert_eq!(status, 413, "{backend:?}: {v}");
        assert_eq!(v["error"]["code"], "fed.too_large");

        let (_, item) = api.get(&format!("/api/v1/evidence/{sha}")).await;
        assert_eq!(
            actions(&item),
            ["acquired", "sealed"],
            "{backend:?}: no `sent`"
        );
        assert_eq!(item["transfers"], json!([]), "{backend:?}: no transfer");
        let (_, all) = api.get("/api/v1/evidence/transfers").await;
        assert_eq!(all["transfers"], json!([]));
        assert_eq!(
            ledger_size(&api).await,
            before,
            "{backend:?}: no ledger entry"
        );
        fed.shutdown().await;
    }
}

/// An `evidence.offer` from France to Algeria composed by hand: France's real events with the
/// proofs its node serves, as `edit` leaves them, and a `sent` signed with France's key.
async fn hand_made_offer(
    fed: &Federation,
    sha: &str,
    edit: impl Fn(&mut [Value]),
) -> (String, Vec<u8>) {
    use comity_evidence::{Action, CustodyEvent, SignedEvent, UseConditions};
    let fr = fed.api(FR);
    let m = &fed.members[fed.index(FR)];
    let (_, item) = fr.get(&format!("/api/v1/evidence/{sha}")).await;
    let mut links = Vec::new();
    let mut events = Vec::new();
    for e in item["custody"].as_array().unwrap() {
        let signed = SignedEvent::from_json(&serde_json::to_vec(&e["signed"]).unwrap()).unwrap();
        let index = e["ledger_index"].as_u64().unwrap();
        let (_, proof) = fr.get(&format!("/api/v1/ledger/proof/{index}")).await;
        events.push(signed);
        links.push(proof);
    }
    let conditions = UseConditions {
        provider: FR.parse().unwrap(),
        legal_basis: vec![],
        conditions: vec![],
    };
    let now = comity_model::Timestamp::from_unix_ms(events[1].event.time.unix_ms() + 1);
    let mut sent =
        CustodyEvent::next_after(&events[1].event, Action::Sent, now, m.id.clone(), "api");
    sent.counterpart = Some(DZ.parse().unwrap());
    sent.conditions = Some(conditions.clone());
    let sent = sent.sign(m.secrets.signing_key()).unwrap();
    edit(&mut links);
    let mut custody: Vec<Value> = events
        .iter()
        .zip(&links)
        .map(|(e, proof)| {
            json!({"event": String::from_utf8(e.to_json()).unwrap(),
                   "proof": serde_json::to_string(proof).unwrap()})
        })
        .collect();
    custody.push(json!({"event": String::from_utf8(sent.to_json()).unwrap()}));
    // One chunk: its digest is the item's.
    let offer =
        json!({"sha256": sha, "size": 5000, "chunk_size": 1_048_576, "chunk_sha256": [sha]});
    let transfer = hex::encode(rand::random::<[u8; 16]>());
    let body = comity_model::Body::from_json(
        comity_model::MessageKind::EvidenceOffer,
        json!({"v": 1, "transfer": transfer, "offer": offer, "name": "a.bin",
               "case": "FR-2026-6", "purpose": "DZ-2026-6", "conditions": conditions,
               "custody": custody}),
    )
    .unwrap();
    let dz = &fed.members[fed.index(DZ)];
    let now_ms = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let header = comity_model::Header {
        id: comity_model::MessageId::from_parts(u64::try_from(now_ms).unwrap(), rand::random()),
        from: m.id.clone(),
        to: dz.id.clone(),
        kind: comity_model::MessageKind::EvidenceOffer,
        conversation: comity_model::MessageId::from_parts(1, rand::random()),
        in_reply_to: None,
        sent_at: comity_model::Timestamp::from_unix_ms(now_ms),
        schema: comity_model::SCHEMA_VERSION,
        handling: comity_model::Handling::default(),
    };
    let env = comity_seal::seal(
        &m.secrets,
        &dz.descriptor.descriptor,
        header,
        &body,
        &mut rand::rng(),
    )
    .unwrap();
    (transfer, env.to_bytes())
}

/// Delivers an envelope to Algeria's federation listener over France's mutual TLS.
async fn deliver(fed: &Federation, envelope: Vec<u8>) {
    let (fr, dz) = (&fed.members[fed.index(FR)], &fed.members[fed.index(DZ)]);
    let tls = comity_node::peer_tls_config(&dz.id, dz.descriptor.descriptor.tls_key, &fr.secrets)
        .unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let r = client
        .post(format!(
            "{}{}",
            dz.descriptor.descriptor.endpoint,
            comity_node::FEDERATION_MESSAGES_PATH
        ))
        .header("content-type", comity_node::ENVELOPES_MEDIA_TYPE)
        .body(envelope)
        .send()
        .await
        .unwrap();
    let answer: Value = r.json().await.unwrap();
    assert!(answer["results"][0]["error"].is_null(), "{answer}");
}

#[tokio::test]
async fn an_offer_whose_proof_does_not_prove_its_event_is_refused() {
    for backend in backends() {
        let fed = Federation::start(backend, &[FR, DZ]).await;
        comity_node::install_default_provider();
        let sha = seize(&fed.api(FR), "FR-2026-6", "a.bin", content(5000, 4)).await;
        let dz = fed.api(DZ);

        let swapped = |p: &mut [Value]| p[1] = p[0].clone();
        let rerooted = |p: &mut [Value]| {
            let note = p[1]["checkpoint"].as_str().unwrap().to_owned();
            let mut lines: Vec<String> = note.split('\n').map(str::to_owned).collect();
            lines[2] = format!("{}=", "A".repeat(43));
            p[1]["checkpoint"] = json!(lines.join("\n"));
        };
        // `sealed` with the proof of `acquired` (valid, of another entry), then with a root
        // its checkpoint's signature does not cover.
        for (edit, why) in [
            (&swapped as &dyn Fn(&mut [Value]), "not this event's entry"),
            (&rerooted, "signature"),
        ] {
            let (id, envelope) = hand_made_offer(&fed, &sha, edit).await;
            deliver(&fed, envelope).await;
            let refused = transfer_when(&dz, &id, ended).await;
            assert_eq!(refused["state"], "refused", "{backend:?}: {refused}");
            assert_eq!(refused["error"]["code"], "evidence.proof_refused");
            let message = refused["error"]["message"].as_str().unwrap();
            assert!(message.contains("custody event 1 (sealed)"), "{message}");
            assert!(message.contains(why), "{message}");
        }
        // The same offer with the proofs as served passes the check (and fails later, France
        // never having offered the item).
        let (id, envelope) = hand_made_offer(&fed, &sha, |_| {}).await;
        deliver(&fed, envelope).await;
        let control = transfer_when(&dz, &id, ended).await;
        assert_eq!(control["direction"], "in", "{backend:?}: {control}");
        assert_ne!(control["error"]["code"], "evidence.proof_refused");
        let (status, _) = dz.get(&format!("/api/v1/evidence/{sha}")).await;
        assert_eq!(status, 404, "{backend:?}: nothing registered");
        fed.shutdown().await;
    }
}

/// The provider withdraws an offer before the recipient could pull it: the recipient's pull
/// ends refused with nothing registered and no staging file left; an ended transfer cannot be
/// withdrawn; the provider's `sent` stays in the item's custody.
#[tokio::test]
async fn a_withdrawn_offer_is_not_pulled_and_leaves_nothing_at_the_recipient() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &[FR, DZ]).await;
        let fr = fed.api(FR);
        let sha = seize(&fr, "FR-2026-12", "wrong-node.pcap", content(300_000, 9)).await;
        let dz = fed.index(DZ);
        fed.stop_node(dz).await;
        let (status, offered) = send(&fr, &sha, DZ, "DZ-2026-4", json!([])).await;
        assert_eq!(status, 202, "{offered}");
        let id = offered["id"].as_str().unwrap().to_owned();
        let withdraw = format!("/api/v1/evidence/transfers/{id}/withdraw");
        let (status, v) = fr.post(&withdraw, &json!({"reason": " "})).await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some("api.bad_request")),
            "{v}"
        );
        let (status, withdrawn) = fr
            .post(&withdraw, &json!({"reason": "sent to the wrong node"}))
            .await;
        assert_eq!(status, 200, "{withdrawn}");
        assert_eq!(withdrawn["state"], "withdrawn");
        assert_eq!(withdrawn["error"]["code"], "evidence.withdrawn");
        let (status, again) = fr.post(&withdraw, &json!({"reason": "twice"})).await;
        assert_eq!(
            (status, again["error"]["code"].as_str()),
            (409, Some("evidence.transfer_ended")),
            "{again}"
        );
        let (status, _) = fr
            .post(
                "/api/v1/evidence/transfers/nope/withdraw",
                &json!({"reason": "x"}),
            )
            .await;
        assert_eq!(status, 404);

        fed.start_node(dz).await;
        let at_dz = transfer_when(&fed.api(DZ), &id, ended).await;
        assert_eq!(at_dz["state"], "refused", "{backend:?}: {at_dz}");
        assert!(
            at_dz["error"]["message"]
                .as_str()
                .unwrap()
                .contains("evidence.not_offered"),
            "{at_dz}"
        );
        let (status, _) = fed.api(DZ).get(&format!("/api/v1/evidence/{sha}")).await;
        assert_eq!(status, 404, "nothing registered");
        let staging = fed.evidence_dir(DZ).join("staging");
        let left = std::fs::read_dir(&staging).map_or(0, |d| d.count());
        assert_eq!(left, 0, "no staging file left in {}", staging.display());
        let at_fr = transfer_when(&fr, &id, |t| t["state"] != "offered").await;
        assert_eq!(
            at_fr["state"], "withdrawn",
            "the recipient's report changes nothing"
        );
        let (_, item) = fr.get(&format!("/api/v1/evidence/{sha}")).await;
        assert!(actions(&item).contains(&"sent".to_owned()), "{item}");
        fed.shutdown().await;
    }
}
