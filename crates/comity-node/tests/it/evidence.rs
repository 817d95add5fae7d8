//! Evidence through the user API: a file streamed into the vault, its custody timeline with the
//! ledger entries that record it, reading it back (logged first), unknown items refused; a
//! stored object swapped or damaged refused with a JSON error or a failed transfer, reported as
//! tampering; a failed export that leaves nothing and records nothing.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{Federation, TOKEN, backends};

fn url(fed: &Federation, path: &str) -> String {
    format!("http://{}{path}", fed.node("dz-247").api_addr)
}

async fn upload(fed: &Federation, query: &str, content: Vec<u8>) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url(fed, &format!("/api/v1/evidence?{query}")))
        .bearer_auth(TOKEN)
        .body(content)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn actions(item: &Value) -> Vec<(String, u64)> {
    item["custody"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["ledger_index"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn added_files_have_a_logged_custody_timeline_and_read_back_exactly() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let api = fed.api("dz-247");
        // Several chunks' worth, not a multiple of any power of two.
        let content: Vec<u8> = (0..3_000_017u32).map(|i| (i * 31 % 251) as u8).collect();
        let sha = hex::encode(Sha256::digest(&content));

        let (status, added) = upload(&fed, "case=C-2026-7&name=mail.pst", content.clone()).await;
        assert_eq!(status, 201, "{backend:?}: {added}");
        assert_eq!(added["sha256"], sha.as_str());
        assert_eq!(added["size"], content.len());
        let timeline = actions(&added);
        let names: Vec<&str> = timeline.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(names, ["acquired", "sealed"]);
        assert_eq!(added["custody"][0]["signed"]["event"]["user"], "api");

        let (status, again) = upload(&fed, "case=C-2026-7&name=copy.pst", content.clone()).await;
        assert_eq!(status, 200, "the same content is one item");
        assert_eq!(actions(&again), timeline);

        let (_, logged) = api.get("/api/v1/ledger/entries?kind=custody_event").await;
        let mut logged: Vec<u64> = logged
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["index"].as_u64().unwrap())
            .collect();
        logged.sort_unstable();
        let indexes: Vec<u64> = timeline.iter().map(|(_, i)| *i).collect();
        assert_eq!(logged, indexes, "{backend:?}");

        let (_, listed) = api.get("/api/v1/evidence?case=C-2026-7").await;
        assert_eq!(listed["items"][0]["sha256"], sha.as_str());
        assert_eq!(listed["items"][0]["name"], "mail.pst");
        let (_, other) = api.get("/api/v1/evidence?case=C-other").await;
        assert_eq!(other["items"], serde_json::json!([]));

        let read = reqwest::Client::new()
            .get(url(&fed, &format!("/api/v1/evidence/{sha}/content")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(read.status().as_u16(), 200);
        assert_eq!(read.bytes().await.unwrap().as_ref(), content.as_slice());
        let (_, shown) = api.get(&format!("/api/v1/evidence/{sha}")).await;
        let after = actions(&shown);
        assert_eq!(after.len(), 3);
        assert_eq!(after[2].0, "accessed");
        assert_eq!(shown["custody"][2]["seq"], 2);

        let unknown = "ab".repeat(32);
        let (status, err) = api.get(&format!("/api/v1/evidence/{unknown}")).await;
        assert_eq!(status, 404);
        assert_eq!(err["error"]["code"], "api.not_found");
        let (status, _) = api
            .get(&format!("/api/v1/evidence/{unknown}/content"))
            .await;
        assert_eq!(status, 404);
        let (status, err) = api.get("/api/v1/evidence").await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (400, Some("api.bad_request")),
            "no case"
        );
        let (status, err) = api.get("/api/v1/evidence/not-hex").await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (400, Some("api.bad_request"))
        );

        let (status, err) = upload(&fed, "case=bad%20case&name=x", b"x".to_vec()).await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (400, Some("evidence.event_format"))
        );
        fed.shutdown().await;
    }
}

fn bytes_of(len: u32, salt: u32) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + salt) % 251) as u8).collect()
}

/// Where the stored object of `sha` lies at `node`.
fn object(fed: &Federation, node: &str, sha: &str) -> std::path::PathBuf {
    fed.evidence_dir(node).join("objects/blobs").join(sha)
}

/// Byte `at` of chunk `chunk` of a stored object in chunks of 1 MiB (format version 3: 19 bytes
/// of header, then each chunk followed by its 16-byte tag).
fn chunk_byte(chunk: u64, at: u64) -> u64 {
    19 + chunk * (1024 * 1024 + 16) + at
}

fn flip(path: &std::path::Path, at: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at as usize] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

async fn tamper_alarms(fed: &Federation, node: &str) -> Vec<Value> {
    let (_, alarms) = fed.api(node).get("/api/v1/ledger/alarms").await;
    alarms
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "evidence_tampered")
        .cloned()
        .collect()
}

async fn actions_of(fed: &Federation, sha: &str) -> Vec<String> {
    let (_, item) = fed
        .api("dz-247")
        .get(&format!("/api/v1/evidence/{sha}"))
        .await;
    item["custody"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn another_items_object_under_an_items_name_is_refused_with_a_json_error_and_an_alarm() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let api = fed.api("dz-247");
        let (a, b) = (bytes_of(3_000_017, 1), bytes_of(2_500_000, 2));
        let (_, item_a) = upload(&fed, "case=C-9&name=a.bin", a).await;
        let (_, item_b) = upload(&fed, "case=C-9&name=b.bin", b.clone()).await;
        let (sha_a, sha_b) = (
            item_a["sha256"].as_str().unwrap().to_owned(),
            item_b["sha256"].as_str().unwrap().to_owned(),
        );
        // Both are genuine objects of this node's vault.
        std::fs::copy(
            object(&fed, "dz-247", &sha_b),
            object(&fed, "dz-247", &sha_a),
        )
        .unwrap();
        for _ in 0..2 {
            let r = reqwest::Client::new()
                .get(url(&fed, &format!("/api/v1/evidence/{sha_a}/content")))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status().as_u16(),
                500,
                "{backend:?}: no 200 for another item's bytes"
            );
            let err: Value = r.json().await.unwrap();
            assert_eq!(err["error"]["code"], "evidence.tampered", "{err}");
            let message = err["error"]["message"].as_str().unwrap();
            assert!(message.contains(&sha_b), "{message}");
        }
        // One alarm (however often it is read), naming the item and no chunk.
        let alarms = tamper_alarms(&fed, "dz-247").await;
        assert_eq!(alarms.len(), 1, "{backend:?}: {alarms:?}");
        assert_eq!(alarms[0]["peer"], "dz-247");
        assert_eq!(alarms[0]["evidence"]["item"], sha_a.as_str());
        assert_eq!(alarms[0]["evidence"]["chunk"], Value::Null);
        assert_eq!(alarms[0]["evidence"]["code"], "evidence.tampered");
        let (_, shown) = api.get(&format!("/api/v1/evidence/{sha_a}")).await;
        assert_eq!(
            shown["tampering"][0]["code"], "evidence.tampered",
            "{shown}"
        );
        // Nothing left the node, so nothing was accessed.
        assert_eq!(actions_of(&fed, &sha_a).await, ["acquired", "sealed"]);
        let (_, other) = api.get(&format!("/api/v1/evidence/{sha_b}")).await;
        assert_eq!(other["tampering"], serde_json::json!([]));
        let (status, read) = api
            .get_bytes(&format!("/api/v1/evidence/{sha_b}/content"))
            .await;
        assert_eq!((status, read == b), (200, true));
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn a_damaged_chunk_is_refused_before_the_first_byte_or_aborts_the_transfer() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let content = bytes_of(3_000_017, 3);
        let (_, item) = upload(&fed, "case=C-10&name=mail.pst", content.clone()).await;
        let sha = item["sha256"].as_str().unwrap().to_owned();
        let path = object(&fed, "dz-247", &sha);
        let good = std::fs::read(&path).unwrap();
        let read = || async {
            reqwest::Client::new()
                .get(url(&fed, &format!("/api/v1/evidence/{sha}/content")))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap()
        };

        // The first chunk damaged: refused before any byte, with a JSON error.
        flip(&path, chunk_byte(0, 1000));
        let r = read().await;
        assert_eq!(r.status().as_u16(), 500, "{backend:?}");
        let err: Value = r.json().await.unwrap();
        assert_eq!(err["error"]["code"], "evidence.tampered", "{err}");
        assert_eq!(actions_of(&fed, &sha).await, ["acquired", "sealed"]);

        // The last chunk damaged: the answer has begun, so it is cut short, and the client
        // sees a failed transfer of fewer bytes than announced, never a complete-looking body.
        std::fs::write(&path, &good).unwrap();
        flip(&path, chunk_byte(2, 1000));
        let r = read().await;
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(r.content_length(), Some(content.len() as u64));
        let mut r = r;
        let mut received = Vec::new();
        let failed = loop {
            match r.chunk().await {
                Ok(Some(bytes)) => received.extend_from_slice(&bytes),
                Ok(None) => break false,
                Err(_) => break true,
            }
        };
        assert!(failed, "{backend:?}: the transfer must fail");
        assert!(received.len() <= 2 * 1024 * 1024, "{}", received.len());
        assert_eq!(received, content[..received.len()]);
        let alarms = tamper_alarms(&fed, "dz-247").await;
        let chunks: Vec<&Value> = alarms.iter().map(|a| &a["evidence"]["chunk"]).collect();
        assert_eq!(chunks, [&Value::from(0), &Value::from(2)], "{backend:?}");
        assert_eq!(
            actions_of(&fed, &sha).await,
            ["acquired", "sealed", "accessed"]
        );
        let (_, shown) = fed
            .api("dz-247")
            .get(&format!("/api/v1/evidence/{sha}"))
            .await;
        assert_eq!(shown["tampering"].as_array().unwrap().len(), 2);

        // Restored from a backup, it reads whole again.
        std::fs::write(&path, &good).unwrap();
        let (status, back) = fed
            .api("dz-247")
            .get_bytes(&format!("/api/v1/evidence/{sha}/content"))
            .await;
        assert_eq!((status, back == content), (200, true));
        fed.shutdown().await;
    }
}

/// What is in `<evidence dir>/exports` of `node`.
fn exports(fed: &Federation, node: &str) -> Vec<String> {
    std::fs::read_dir(fed.evidence_dir(node).join("exports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn a_failed_export_leaves_nothing_and_records_nothing_and_a_good_one_verifies_offline() {
    use std::os::unix::fs::PermissionsExt;
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let api = fed.api("dz-247");
        let (_, first) = upload(&fed, "case=C-11&name=first.bin", bytes_of(1_500_000, 4)).await;
        let (_, second) = upload(&fed, "case=C-11&name=second.bin", bytes_of(2_200_000, 5)).await;
        let shas = [&first, &second].map(|i| i["sha256"].as_str().unwrap().to_owned());
        let ledger_before = api.get("/api/v1/ledger/entries?kind=custody_event").await.1;
        let mode = std::fs::metadata(fed.evidence_dir("dz-247").join("exports"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "the exports folder is private");

        // The second item's last chunk is damaged: the first item's content is already in the
        // package when the export fails.
        let path = object(&fed, "dz-247", &shas[1]);
        let good = std::fs::read(&path).unwrap();
        flip(&path, chunk_byte(2, 5));
        let (status, body) = api
            .get_bytes("/api/v1/evidence/export?case=C-11&purpose=court")
            .await;
        let err: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, 500, "{backend:?}: {err}");
        assert_eq!(err["error"]["code"], "evidence.tampered", "{err}");
        assert_eq!(exports(&fed, "dz-247"), Vec::<String>::new(), "{backend:?}");
        for sha in &shas {
            assert_eq!(
                actions_of(&fed, sha).await,
                ["acquired", "sealed"],
                "{backend:?}"
            );
        }
        let ledger_after = api.get("/api/v1/ledger/entries?kind=custody_event").await.1;
        assert_eq!(ledger_after, ledger_before, "no exported entry");
        let alarms = tamper_alarms(&fed, "dz-247").await;
        assert_eq!(alarms[0]["evidence"]["item"], shas[1].as_str());
        assert_eq!(alarms[0]["evidence"]["chunk"], 2);

        // Restored, the export goes through, shows itself and verifies offline.
        std::fs::write(&path, &good).unwrap();
        let (status, zip) = api
            .get_bytes("/api/v1/evidence/export?case=C-11&purpose=court")
            .await;
        assert_eq!(
            status,
            200,
            "{backend:?}: {}",
            String::from_utf8_lossy(&zip)
        );
        assert_eq!(exports(&fed, "dz-247"), Vec::<String>::new());
        for sha in &shas {
            assert_eq!(
                actions_of(&fed, sha).await,
                ["acquired", "sealed", "exported"],
                "{backend:?}"
            );
        }
        let tmp = tempfile::tempdir().unwrap();
        let package = tmp.path().join("case.zip");
        std::fs::write(&package, &zip).unwrap();
        let report = comity_evidence::verify_package_with(
            &package,
            &comity_evidence::VerifyOptions::anchored(fed.root.public(), "the test federation"),
        );
        assert!(report.verified, "{}", report.to_text());
        let chains: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| c.check == "custody chain")
            .map(|c| c.reason.as_str())
            .collect();
        assert_eq!(chains.len(), 2);
        for chain in chains {
            assert!(
                chain.starts_with("3 events, unbroken, from acquisition to exported"),
                "the package shows the export itself: {chain}"
            );
        }
        fed.shutdown().await;
    }
}
