//! Evidence through the user API: a file streamed into the vault, its custody timeline with the
//! ledger entries that record it, reading it back (logged first), unknown items refused.

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
