use std::time::Duration;

use serde_json::json;

use crate::harness::{Federation, backends, fast_config, note};

#[tokio::test]
async fn a_peer_that_was_down_gets_everything_in_order_when_it_returns() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let fr = fed.index("fr-ocl");
        fed.stop_node(fr).await;
        let dz = fed.api("dz-247");

        let first_a = dz.send("fr-ocl", "note", note("a0"), None).await;
        let first_b = dz.send("fr-ocl", "note", note("b0"), None).await;
        let (mut last_a, mut last_b) = (first_a.clone(), first_b.clone());
        for i in 1..20 {
            last_a = dz
                .send("fr-ocl", "note", note(&format!("a{i}")), Some(&last_a))
                .await;
            last_b = dz
                .send("fr-ocl", "note", note(&format!("b{i}")), Some(&last_b))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (_, peers) = dz.get("/api/v1/peers").await;
        let p = &peers[0];
        assert_eq!(p["node"], "fr-ocl");
        assert_eq!(p["queued"], 40, "{p}");
        assert!(p["consecutive_failures"].as_i64().unwrap() >= 1, "{p}");
        assert!(p["last_error"].as_str().unwrap().contains("fr-ocl"), "{p}");
        assert!(p["oldest_undelivered_at"].is_string());

        fed.start_node(fr).await;
        let dz = fed.api("dz-247");
        assert_eq!(dz.settled(&last_a).await["state"], "delivered");
        assert_eq!(dz.settled(&last_b).await["state"], "delivered");

        let (_, inbox) = fed.api("fr-ocl").get("/api/v1/inbox?limit=100").await;
        let mut texts: Vec<String> = inbox
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["body"]["text"].as_str().unwrap().to_owned())
            .collect();
        texts.reverse();
        assert_eq!(texts.len(), 40);
        for conv in ["a", "b"] {
            let order: Vec<&String> = texts.iter().filter(|t| t.starts_with(conv)).collect();
            let expected: Vec<String> = (0..20).map(|i| format!("{conv}{i}")).collect();
            assert_eq!(
                order,
                expected.iter().collect::<Vec<_>>(),
                "{backend:?}: in-reply-to order kept"
            );
        }
        let (_, peers) = dz.get("/api/v1/peers").await;
        assert_eq!(
            (
                peers[0]["queued"].as_i64(),
                peers[0]["consecutive_failures"].as_i64()
            ),
            (Some(0), Some(0))
        );
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn undeliverable_messages_are_dead_lettered_visibly_then_requeued() {
    let mut config = fast_config();
    config.dead_letter_after_ms = 200;
    let mut fed =
        Federation::start_with(backends()[0], &["dz-247", "fr-ocl"], config, |_, _| {}).await;
    let fr = fed.index("fr-ocl");
    fed.stop_node(fr).await;
    let dz = fed.api("dz-247");
    let id = dz.send("fr-ocl", "note", note("lost?"), None).await;
    let m = dz.settled(&id).await;
    assert_eq!(m["state"], "dead", "{m}");
    assert!(m["last_error"].as_str().unwrap().contains("dead-lettered"));
    let (_, dead) = dz.get("/api/v1/outbox?state=dead").await;
    assert_eq!(dead.as_array().unwrap().len(), 1);

    fed.stop_node(fed.index("dz-247")).await;
    fed.config.dead_letter_after_ms = 3_600_000;
    fed.start_node(fed.index("dz-247")).await;
    fed.start_node(fr).await;
    let dz = fed.api("dz-247");
    let (_, r) = dz.post("/api/v1/outbox/requeue", &json!({"id": id})).await;
    assert_eq!(r["requeued"], 1);
    assert_eq!(dz.settled(&id).await["state"], "delivered");
    fed.shutdown().await;
}

#[tokio::test]
async fn a_peer_presenting_another_tls_key_is_not_delivered_to() {
    let other = comity_seal::NodeSecrets::generate(&mut rand::rng()).tls_public();
    let fed = Federation::start_with(
        backends()[0],
        &["dz-247", "fr-ocl"],
        fast_config(),
        |members, ds| {
            let fr = ds
                .iter_mut()
                .find(|d| d.descriptor.node.as_str() == "fr-ocl")
                .unwrap();
            let mut forged = fr.descriptor.clone();
            forged.tls_key = other;
            *fr = comity_seal::SignedDescriptor::sign(forged, &members[1].secrets, None);
        },
    )
    .await;
    let dz = fed.api("dz-247");
    dz.send("fr-ocl", "note", note("to an impostor?"), None)
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, peers) = dz.get("/api/v1/peers").await;
    let err = peers[0]["last_error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        err.contains("TLS key of peer fr-ocl does not match"),
        "{err}"
    );
    assert_eq!(peers[0]["queued"], 1);
    let (_, inbox) = fed.api("fr-ocl").get("/api/v1/inbox").await;
    assert_eq!(inbox, json!([]));
    fed.shutdown().await;
}
