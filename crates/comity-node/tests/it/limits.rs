//! Batches fit the receiver's limits: the sender cuts its batches to its own
//! `max_batch_bytes`, halves them when a peer with a lower limit answers `413`, and marks
//! refused a message the peer refuses on its own.

use serde_json::json;

use crate::harness::{Federation, backends, fast_config};

#[tokio::test]
async fn batches_shrink_to_what_the_receiver_takes() {
    let mut fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    let fr = fed.index("fr-ocl");
    fed.stop_node(fr).await;
    // The receiver now takes 24 KiB per request and 16 KiB per envelope; the sender, started
    // with the defaults, would send the whole queue in one batch of about 80 KiB.
    let mut config = fast_config();
    config.max_message_bytes = 16 * 1024;
    config.limits.max_batch_bytes = 24 * 1024;
    config.limits.body_budget_bytes = 8 << 20;
    fed.config = config;

    let dz = fed.api("dz-247");
    let text = "x".repeat(4 * 1024);
    let note = |i: usize| json!({"text": format!("{i} {text}")});
    let mut small = Vec::new();
    for i in 0..6 {
        small.push(dz.send("fr-ocl", "note", note(i), None).await);
    }
    let big = dz
        .send("fr-ocl", "note", json!({"text": "y".repeat(19_000)}), None)
        .await;
    for i in 6..12 {
        small.push(dz.send("fr-ocl", "note", note(i), None).await);
    }
    fed.start_node(fr).await;

    for id in &small {
        let m = dz.settled(id).await;
        assert_eq!(m["state"], "delivered", "{m}");
    }
    let refused = dz.settled(&big).await;
    assert_eq!(refused["state"], "refused", "{refused}");
    let reason = refused["last_error"].as_str().unwrap_or("");
    assert!(
        reason.starts_with("http.too_large") && reason.contains("24576"),
        "{refused}"
    );
    let (_, inbox) = fed.api("fr-ocl").get("/api/v1/inbox?limit=100").await;
    assert_eq!(inbox.as_array().unwrap().len(), small.len());
    fed.shutdown().await;
}
