use serde_json::json;

use crate::harness::{Federation, backends, preservation_request};

#[tokio::test]
async fn missing_fields_are_all_reported_with_their_names() {
    let fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    let dz = fed.api("dz-247");
    let mut body = preservation_request();
    body["facts"] = json!("  ");
    body["offences"] = json!([]);
    body["preservation_days"] = json!(30);
    body["mla_to_follow"] = json!(false);
    let (status, e) = dz
        .post(
            "/api/v1/messages",
            &json!({"to": "fr-ocl", "kind": "preservation.request", "body": body}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(e["error"]["code"], "model.invalid_fields");
    let fields: Vec<&str> = e["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["offences", "facts", "mla_to_follow", "preservation_days"]
    );

    let mut missing = preservation_request();
    missing.as_object_mut().unwrap().remove("necessity");
    let (status, e) = dz
        .post(
            "/api/v1/messages",
            &json!({"to": "fr-ocl", "kind": "preservation.request", "body": missing}),
        )
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (400, Some("model.malformed_body")),
        "{e}"
    );
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("necessity")
    );
    fed.shutdown().await;
}

#[tokio::test]
async fn unknown_peers_kinds_and_tokens_are_refused_with_codes() {
    let fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    let dz = fed.api("dz-247");
    let cases = [
        (
            json!({"to": "xx-nobody", "kind": "note", "body": {"text": "hi"}}),
            403,
            "fed.unknown_node",
        ),
        (
            json!({"to": "fr-ocl", "kind": "gossip", "body": {"text": "hi"}}),
            400,
            "model.unknown_kind",
        ),
        (
            json!({"to": "dz-247", "kind": "note", "body": {"text": "hi"}}),
            400,
            "api.bad_request",
        ),
        (
            json!({"to": "fr-ocl", "kind": "note"}),
            400,
            "api.bad_request",
        ),
        (
            json!({"to": "fr-ocl", "kind": "note", "body": {"text": "hi"}, "in_reply_to": "01900000-0000-7000-8000-000000000000"}),
            404,
            "api.not_found",
        ),
    ];
    for (request, status, code) in cases {
        let (got, e) = dz.post("/api/v1/messages", &request).await;
        assert_eq!(
            (got, e["error"]["code"].as_str()),
            (status, Some(code)),
            "{request}: {e}"
        );
    }
    let r = reqwest::Client::new()
        .get(format!(
            "http://{}/api/v1/outbox",
            fed.node("dz-247").api_addr
        ))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let e: serde_json::Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], "api.unauthorized");
    fed.shutdown().await;
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    let r = reqwest::get(format!(
        "http://{}/openapi.json",
        fed.node("dz-247").api_addr
    ))
    .await
    .unwrap();
    let doc: serde_json::Value = r.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{method} {path}"));
            let api = fed.api("dz-247");
            let (status, _) = match method.as_str() {
                "get" => api.get(path).await,
                "post" => api.post(path, &json!({})).await,
                other => panic!("unexpected method {other}"),
            };
            assert_ne!(status, 405, "{method} {path} documented but not routed");
        }
    }
    documented.sort();
    assert_eq!(
        documented,
        [
            "get /api/v1/evidence",
            "get /api/v1/evidence/export",
            "get /api/v1/evidence/transfers",
            "get /api/v1/evidence/{sha256}",
            "get /api/v1/evidence/{sha256}/content",
            "get /api/v1/inbox",
            "get /api/v1/ledger",
            "get /api/v1/ledger/alarms",
            "get /api/v1/ledger/consistency",
            "get /api/v1/ledger/entries",
            "get /api/v1/ledger/proof/{index}",
            "get /api/v1/messages/{id}",
            "get /api/v1/messages/{id}/signed",
            "get /api/v1/node",
            "get /api/v1/outbox",
            "get /api/v1/pdq/lists",
            "get /api/v1/pdq/peers/{peer}/lists",
            "get /api/v1/pdq/subscriptions",
            "get /api/v1/peers",
            "get /api/v1/rejections",
            "get /api/v1/requests",
            "get /api/v1/requests/{id}",
            "get /api/v1/requests/{id}/allowed",
            "get /api/v1/requests/{id}/follow-ups",
            "get /openapi.json",
            "post /api/v1/evidence",
            "post /api/v1/evidence/transfers/{id}/withdraw",
            "post /api/v1/evidence/{sha256}/consents",
            "post /api/v1/evidence/{sha256}/send",
            "post /api/v1/law/eval",
            "post /api/v1/messages",
            "post /api/v1/outbox/requeue",
            "post /api/v1/pdq/match",
            "post /api/v1/pdq/notify",
            "post /api/v1/pdq/publish",
            "post /api/v1/pdq/subscribe",
            "post /api/v1/pdq/unsubscribe",
            "post /api/v1/requests",
            "post /api/v1/requests/preview",
            "post /api/v1/requests/{id}/actions",
            "post /api/v1/requests/{id}/follow-ups",
        ]
    );
    let (_, node) = fed.api("dz-247").get("/api/v1/node").await;
    assert_eq!(node["node"], "dz-247");
    assert_eq!(node["trust_list_serial"], 1);
    fed.shutdown().await;
}

/// The law engine answers through the node as `comity law eval` does, with the node's packs;
/// a question it cannot take names the field, and the route needs the API token.
#[tokio::test]
async fn the_law_engine_answers_through_the_node() {
    let fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    let dz = fed.api("dz-247");
    let question = json!({"question": "legal_basis", "requesting": "DZ", "requested": "FR",
                          "measure": "stored_data", "date": "2026-11-28"});
    let (status, answer) = dz.post("/api/v1/law/eval", &question).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["question"], "legal_basis");
    let treaties: Vec<&str> = answer["instruments"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["treaty"].as_str())
        .collect();
    assert!(treaties.contains(&"fr_dz_mla_2016"), "{answer}");
    let offline = comity_law::LawPacks::shipped()
        .unwrap()
        .eval_to_string(&question.to_string(), false)
        .unwrap();
    let offline: serde_json::Value = serde_json::from_str(&offline).unwrap();
    assert_eq!(
        answer, offline,
        "the node answers as the engine does offline"
    );

    let (status, e) = dz
        .post(
            "/api/v1/law/eval",
            &json!({"question": "legal_basis", "requesting": "DZ"}),
        )
        .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["code"], "law.missing_field");
    assert_eq!(e["error"]["field"], "requested");
    let (status, e) = dz
        .post_bytes("/api/v1/law/eval", b"{not json".to_vec())
        .await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (422, Some("law.invalid_json")),
        "{e}"
    );

    let anonymous = reqwest::Client::new()
        .post(format!("{}/api/v1/law/eval", dz.base))
        .json(&question)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    fed.shutdown().await;
}

/// Defence in depth behind the binary's own check: the node library refuses to start with an
/// empty API token, which would open the user API to anyone.
#[tokio::test]
async fn a_node_refuses_to_start_with_an_empty_token() {
    let mut fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    fed.stop_node(0).await;
    for blank in ["", "  \n"] {
        fed.config.api_token = blank.into();
        let refused = fed.try_start_node(0).await.expect_err("refused");
        assert_eq!(refused.code(), "node.config", "{refused}");
        assert!(refused.to_string().contains("API token"), "{refused}");
    }
    fed.shutdown().await;
}
