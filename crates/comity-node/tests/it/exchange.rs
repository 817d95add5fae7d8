use serde_json::json;

use crate::harness::{Federation, backends, note, preservation_request};

#[tokio::test]
async fn preservation_request_ack_and_follow_up_with_verified_receipts() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl", "ma-moj"]).await;
        let dz = fed.api("dz-247");
        let fr = fed.api("fr-ocl");

        let req = dz
            .send(
                "fr-ocl",
                "preservation.request",
                preservation_request(),
                None,
            )
            .await;
        let sent = dz.settled(&req).await;
        assert_eq!(sent["state"], "delivered", "{backend:?}: {sent}");
        assert_eq!(sent["receipt_verified"], true);
        assert_eq!(sent["receipt"]["from"], "fr-ocl");
        assert_eq!(sent["receipt"]["message"], req.as_str());

        let (status, got) = fr.get(&format!("/api/v1/messages/{req}")).await;
        assert_eq!(status, 200);
        assert_eq!(got["direction"], "inbound");
        assert_eq!(
            got["digest"], sent["digest"],
            "recipient holds the same envelope"
        );
        assert_eq!(got["body"], preservation_request());
        assert_eq!(
            got["receipt"], sent["receipt"],
            "sender stores exactly the receipt the recipient signed"
        );

        let received: comity_model::Timestamp =
            got["received_at"].as_str().unwrap().parse().unwrap();
        let ack = json!({
            "request": req, "status": "preserved", "reference": "FR-1",
            "preserved_until": received.plus_days(90), "remarks": ""
        });
        let ack_id = fr.send("dz-247", "preservation.ack", ack, Some(&req)).await;
        assert_eq!(fr.settled(&ack_id).await["state"], "delivered");
        let follow = dz
            .send("fr-ocl", "note", note("MLA request follows"), Some(&ack_id))
            .await;
        assert_eq!(dz.settled(&follow).await["state"], "delivered");

        let (_, f) = fr.get(&format!("/api/v1/messages/{follow}")).await;
        assert_eq!(
            f["conversation"],
            req.as_str(),
            "replies join the request's conversation"
        );
        assert_eq!(f["in_reply_to"], ack_id.as_str());

        let (_, inbox) = fed.api("ma-moj").get("/api/v1/inbox").await;
        assert_eq!(inbox, json!([]), "a third node sees nothing");
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn acknowledgements_must_answer_a_request_and_keep_data_long_enough() {
    let fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    let dz = fed.api("dz-247");
    let fr = fed.api("fr-ocl");
    let req = dz
        .send(
            "fr-ocl",
            "preservation.request",
            preservation_request(),
            None,
        )
        .await;
    dz.settled(&req).await;

    let too_short = json!({
        "request": req, "status": "preserved", "reference": "FR-1",
        "preserved_until": comity_model::Timestamp::from_unix_ms(comity_node::now_ms()).plus_days(30), "remarks": ""
    });
    let (status, e) = fr
        .post(
            "/api/v1/messages",
            &json!({"to": "dz-247", "kind": "preservation.ack", "body": too_short}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("request.preservation_too_short")),
        "{e}"
    );

    let unknown = json!({
        "request": "01900000-0000-7000-8000-000000000000", "status": "in_progress", "reference": "FR-1",
        "preserved_until": null, "remarks": ""
    });
    let (status, e) = fr
        .post(
            "/api/v1/messages",
            &json!({"to": "dz-247", "kind": "preservation.ack", "body": unknown}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("request.unknown")),
        "{e}"
    );
    let (_, out) = fr.get("/api/v1/outbox").await;
    assert_eq!(out, json!([]), "refused sends queue nothing");
    fed.shutdown().await;
}
