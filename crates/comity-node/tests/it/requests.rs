//! Cooperation requests between running nodes: opened on one side, replayed on the other, each
//! transition stored with its `request_state` ledger entry; refusals with their codes; the
//! scheduler's alerts and the overdue list, with a time override instead of real waiting.

use std::time::{Duration, Instant};

use comity_model::Timestamp;
use serde_json::{Value, json};

use crate::harness::{Api, Federation, backends};

pub fn body() -> Value {
    json!({"kind": "preservation", "body": {
        "requesting_authority": "Algeria 24/7 point of contact",
        "case_reference": "DZ-2026-0042",
        "offences": ["illegal_access", "computer_fraud"],
        "facts": "Servers hosted in France were taken over and used to divert payments.",
        "data": "Connection logs of the servers used, 1-20 January 2026",
        "relation_to_offence": "The intrusion was run through them.",
        "custodian_or_location": "Hosting provider in Roubaix, France",
        "necessity": "Logs are overwritten within 30 days.",
        "mla_to_follow": true,
        "preservation_days": 90
    }})
}

pub fn conditions() -> Value {
    json!({"owner": "dz-247", "confidential": true,
           "purposes": ["investigation and prosecution in case DZ-2026-0042"],
           "onward": "consent_required"})
}

/// The content items a refused opening names (`content["item"]`), answered.
pub fn content_for(problems: &[Value]) -> Value {
    let mut content = serde_json::Map::new();
    for p in problems {
        let field = p["field"].as_str().unwrap();
        if let Some(item) = field
            .strip_prefix("content[")
            .and_then(|f| f.strip_suffix(']'))
        {
            let item: String = serde_json::from_str(item).unwrap();
            content.insert(item, json!("see the body of the request"));
        }
    }
    Value::Object(content)
}

/// Opens the preservation request from dz-247 to fr-ocl, answering what the pre-flight asks.
pub async fn open(dz: &Api) -> Value {
    open_with(dz, body()).await
}

/// Opens a request from dz-247 to fr-ocl, answering what the pre-flight asks.
pub async fn open_with(dz: &Api, body: Value) -> Value {
    let mut req = json!({"to": "fr-ocl", "body": body, "conditions": conditions(),
        "override_reason": "urgent: the logs will be lost before a treaty basis is settled"});
    let (status, v) = dz.post("/api/v1/requests", &req).await;
    if status == 201 {
        return v;
    }
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "workflow.invalid_fields", "{v}");
    req["content"] = content_for(v["error"]["problems"].as_array().unwrap());
    let (status, v) = dz.post("/api/v1/requests", &req).await;
    assert_eq!(status, 201, "{v}");
    v
}

/// Waits until the request reaches `state` on `api`'s node.
pub async fn reaches(api: &Api, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, v) = api.get(&format!("/api/v1/requests/{id}")).await;
        if (status == 200 && v["state"] == state) || Instant::now() > deadline {
            assert_eq!(v["state"], state, "{v}");
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The timeline without what only one side knows (message ids, alert events).
fn shared(timeline: &Value) -> Vec<Value> {
    timeline
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "transition")
        .map(|e| {
            json!([
                e["at"],
                e["actor"],
                e["action"],
                e["from"],
                e["to"],
                e["articles"]
            ])
        })
        .collect()
}

#[tokio::test]
async fn a_preservation_request_runs_on_both_nodes_with_the_same_timeline() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let opened = open(&dz).await;
        let id = opened["id"].as_str().unwrap().to_owned();
        assert_eq!(opened["state"], "sent");
        assert_eq!(opened["side"], "requesting");
        assert!(opened["due"]["at"].is_string(), "{opened}");

        let received = reaches(&fr, &id, "sent").await;
        assert_eq!(received["side"], "requested");
        assert_eq!(received["peer"], "dz-247");
        let (_, allowed) = fr.get(&format!("/api/v1/requests/{id}/allowed")).await;
        assert!(
            allowed["allowed"]
                .as_array()
                .unwrap()
                .contains(&json!("acknowledge")),
            "{allowed}"
        );

        for action in [
            json!({"action": "acknowledge", "reference": "FR-247-1187"}),
            json!({"action": "preserve", "until": null}),
        ] {
            let (status, v) = fr
                .post(
                    &format!("/api/v1/requests/{id}/actions"),
                    &json!({"action": action}),
                )
                .await;
            assert_eq!(status, 200, "{v}");
        }
        let theirs = reaches(&fr, &id, "preserved").await;
        let ours = reaches(&dz, &id, "preserved").await;
        assert_eq!(ours["request"], theirs["request"], "{backend:?}");
        assert_eq!(shared(&ours["timeline"]), shared(&theirs["timeline"]));
        let timeline = ours["timeline"].as_array().unwrap();
        assert_eq!(timeline.len(), 3, "{ours}");
        assert_eq!(timeline[1]["actor"]["node"], "fr-ocl");
        assert_eq!(timeline[1]["actor"]["role"], "24-7");
        assert!(
            timeline[2]["articles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str().unwrap().contains("29.7")),
            "{ours}"
        );
        assert!(
            timeline.iter().all(|e| e["message_id"].is_string()),
            "{ours}"
        );

        // Every transition is a request_state entry on both sides.
        for api in [&dz, &fr] {
            let (_, entries) = api.get("/api/v1/ledger/entries?kind=request_state").await;
            let states: Vec<&str> = entries
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["entry"]["subjects"][0]["id"] == id.as_str())
                .map(|e| e["entry"]["attrs"]["to"].as_str().unwrap())
                .collect();
            let mut states = states;
            states.sort();
            assert_eq!(states, ["acknowledged", "preserved", "sent"], "{entries}");
        }

        let (_, list) = dz.get("/api/v1/requests?state=preserved").await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

        // The assistance request that follows extends the preservation on both sides.
        let mla = open_with(
            &dz,
            json!({"kind": "mutual_assistance", "body": {
                "case": {"requesting_authority": "Public Prosecutor of Algiers",
                         "case_reference": "DZ-2026-0042",
                         "offences": ["illegal_access", "computer_fraud"],
                         "facts": "Servers hosted in France were used to divert payments."},
                "measure": "stored_data",
                "data": "The preserved connection logs",
                "custodian_or_location": "Hosting provider in Roubaix, France",
                "preservation": id}}),
        )
        .await;
        let mla_id = mla["id"].as_str().unwrap();
        assert!(
            mla["request"]["preflight"]["dual_criminality"].is_object(),
            "the pre-flight asked about dual criminality: {mla}"
        );
        reaches(&fr, mla_id, "sent").await;
        let deadline = Instant::now() + Duration::from_secs(60);
        let extended = loop {
            let (_, v) = fr.get(&format!("/api/v1/requests/{id}")).await;
            if v["timeline"].as_array().unwrap().len() == 4 || Instant::now() > deadline {
                break v;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(
            extended["timeline"][3]["action"]["action"], "extend",
            "{extended}"
        );
        assert_eq!(extended["timeline"][3]["actor"]["node"], "dz-247");
        let (_, ours) = dz.get(&format!("/api/v1/requests/{id}")).await;
        assert_eq!(
            ours["request"], extended["request"],
            "\nDZ {}\nFR {}",
            ours["timeline"], extended["timeline"]
        );
        assert!(
            ours["request"]["links"]
                .as_array()
                .unwrap()
                .contains(&json!({"rel": "followed_by", "request": mla_id})),
            "{ours}"
        );
        let (_, list) = dz.get("/api/v1/requests?state=sent").await;
        let kinds: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["mutual_assistance"], "{list}");
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn illegal_and_wrong_party_transitions_and_faulty_fields_are_refused_with_codes() {
    let fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));

    let mut faulty = body();
    faulty["body"]["data"] = json!("");
    faulty["body"]["mla_to_follow"] = json!(false);
    faulty["body"]["preservation_days"] = json!(30);
    let (status, v) = dz
        .post(
            "/api/v1/requests",
            &json!({"to": "fr-ocl", "body": faulty, "conditions": conditions(),
                    "override_reason": "urgent: the logs will be lost before a treaty basis is settled"}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(v["error"]["code"], "workflow.invalid_fields");
    let fields: Vec<&str> = v["error"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["body.data", "body.mla_to_follow", "body.preservation_days"],
        "{v}"
    );

    let id = open(&dz).await["id"].as_str().unwrap().to_owned();
    reaches(&fr, &id, "sent").await;
    let act = |action: Value| json!({ "action": action });
    let (status, v) = fr
        .post(
            &format!("/api/v1/requests/{id}/actions"),
            &act(json!({"action": "surrender", "place": "Madrid"})),
        )
        .await;
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "workflow.illegal_transition");
    let (status, v) = dz
        .post(
            &format!("/api/v1/requests/{id}/actions"),
            &act(json!({"action": "acknowledge", "reference": "mine"})),
        )
        .await;
    assert_eq!(status, 403, "{v}");
    assert_eq!(v["error"]["code"], "workflow.wrong_party");
    let (_, shown) = dz.get(&format!("/api/v1/requests/{id}")).await;
    assert_eq!(shown["state"], "sent");
    assert_eq!(shown["timeline"].as_array().unwrap().len(), 1);

    let (status, v) = dz
        .get("/api/v1/requests/0193a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d")
        .await;
    assert_eq!(status, 404, "{v}");

    // Request messages only travel with their stored request.
    let (status, v) = dz
        .post(
            "/api/v1/messages",
            &json!({"to": "fr-ocl", "kind": "request.action", "body": {}}),
        )
        .await;
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["code"], "api.bad_request");
    fed.shutdown().await;
}

#[tokio::test]
async fn reminders_and_escalations_are_recorded_and_overdue_requests_listed() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let dz = fed.api("dz-247");
        let opened = open(&dz).await;
        // The scheduler is rebuilt from the stored due times when the node starts again.
        let i = fed.index("dz-247");
        fed.stop_node(i).await;
        fed.start_node(i).await;
        let id = opened["id"].as_str().unwrap().to_owned();
        let due: Timestamp = opened["due"]["at"].as_str().unwrap().parse().unwrap();

        let (_, list) = dz.get("/api/v1/requests?overdue=true").await;
        assert_eq!(list.as_array().unwrap().len(), 0, "{list}");
        let later = due.plus_ms(1);
        let (_, list) = dz
            .get(&format!("/api/v1/requests?overdue=true&at={later}"))
            .await;
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(list[0]["id"], id.as_str());
        assert_eq!(list[0]["overdue"], true);

        // The node's scheduler, asked at later times: a reminder at half the period, then,
        // several steps missed at once, only the highest.
        let node = &fed.node("dz-247").node;
        let since: Timestamp = opened["due"]["since"].as_str().unwrap().parse().unwrap();
        let half = since.plus_ms((due.unix_ms() - since.unix_ms()) / 2 + 1);
        let alerts = node.poll_requests(half).await.unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let alerts = node.poll_requests(later).await.unwrap();
        assert_eq!(alerts.len(), 1, "{alerts:?}");
        let (_, shown) = dz.get(&format!("/api/v1/requests/{id}")).await;
        let alerts: Vec<&str> = shown["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event"] == "alert")
            .map(|e| e["to"].as_str().unwrap())
            .collect();
        assert_eq!(alerts, ["reminder", "overdue"], "{shown}");
        assert_eq!(
            shown["state"], "sent",
            "a soft deadline does not end the request"
        );
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn a_lapsed_preservation_expires_on_both_sides_and_cannot_be_acted_upon() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let id = open(&dz).await["id"].as_str().unwrap().to_owned();
        reaches(&fr, &id, "sent").await;
        for action in [
            json!({"action": "acknowledge", "reference": "FR-1"}),
            json!({"action": "preserve", "until": null}),
        ] {
            let (status, v) = fr
                .post(
                    &format!("/api/v1/requests/{id}/actions"),
                    &json!({ "action": action }),
                )
                .await;
            assert_eq!(status, 200, "{v}");
        }
        let preserved = reaches(&dz, &id, "preserved").await;
        assert_eq!(preserved["due"]["hard"], true, "{preserved}");
        let due: Timestamp = preserved["due"]["at"].as_str().unwrap().parse().unwrap();

        // Each side notices the lapse on its own and records the same expiry, dated at the
        // deadline.
        for node in ["dz-247", "fr-ocl"] {
            fed.node(node)
                .node
                .poll_requests(due.plus_ms(1))
                .await
                .unwrap();
        }
        let ours = reaches(&dz, &id, "expired").await;
        let theirs = reaches(&fr, &id, "expired").await;
        assert_eq!(ours["request"], theirs["request"]);
        let last = ours["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|e| e["event"] == "transition")
            .unwrap()
            .clone();
        assert_eq!(last["to"], "expired");
        assert_eq!(last["at"], due.to_string());

        let (status, v) = dz
            .post(
                &format!("/api/v1/requests/{id}/actions"),
                &json!({"action": {"action": "release", "reason": "no longer needed"}}),
            )
            .await;
        assert_eq!(status, 409, "{v}");
        assert_eq!(v["error"]["code"], "workflow.expired");
        let (_, entries) = dz.get("/api/v1/ledger/entries?kind=request_state").await;
        assert_eq!(entries[0]["entry"]["attrs"]["to"], "expired", "{entries}");
        fed.shutdown().await;
    }
}

/// The preview runs the checks of opening without opening: it shows the law engine's answers,
/// lists the content the instruments require with what is given, and names the refusal opening
/// would meet; nothing is stored or sent, and a preview that says ready opens.
#[tokio::test]
async fn a_preview_shows_the_preflight_and_what_is_missing_and_opens_nothing() {
    let fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    let dz = fed.api("dz-247");
    // Assistance between Algeria and France rests on their 2016 convention, which asks for
    // content of its own.
    let mla = json!({"kind": "mutual_assistance", "body": {
        "case": {"requesting_authority": "Public Prosecutor of Algiers",
                 "case_reference": "DZ-2026-0042",
                 "offences": ["illegal_access", "computer_fraud"],
                 "facts": "Servers hosted in France were used to divert payments."},
        "measure": "stored_data",
        "data": "Connection logs of the servers used, 1-20 January 2026",
        "custodian_or_location": "Hosting provider in Roubaix, France"}});
    let mut req = json!({"to": "fr-ocl", "body": mla, "conditions": conditions()});
    let (status, first) = dz.post("/api/v1/requests/preview", &req).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["ready"], false, "{first}");
    assert_eq!(first["preflight"]["measure"], "stored_data", "{first}");
    assert!(
        first["preflight"]["dual_criminality"].is_object(),
        "the preview asks the engine as opening does: {first}"
    );
    assert_eq!(first["preflight"]["requested"], "FR", "{first}");
    let required = first["required_content"].as_array().unwrap();
    assert!(!required.is_empty(), "{first}");
    assert!(
        required
            .iter()
            .all(|r| r["given"] == false && r["instrument"].is_string())
    );
    let refusal = &first["refusal"];
    assert_eq!(refusal["code"], "workflow.invalid_fields", "{first}");
    let named: Vec<&str> = refusal["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    for r in required {
        let field = format!("content[{}]", r["item"]);
        assert!(named.contains(&field.as_str()), "{field} in {named:?}");
    }

    req["content"] = content_for(refusal["problems"].as_array().unwrap());
    let (_, second) = dz.post("/api/v1/requests/preview", &req).await;
    let all_given = second["required_content"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["given"] == true);
    assert!(all_given, "{second}");
    if second["preflight"]["negatives"]
        .as_array()
        .is_some_and(|n| !n.is_empty())
    {
        assert_eq!(second["ready"], false, "{second}");
        assert_eq!(second["refusal"]["code"], "workflow.override_required");
        req["override_reason"] =
            json!("urgent: the logs will be lost before a treaty basis is settled");
    }
    let (_, third) = dz.post("/api/v1/requests/preview", &req).await;
    assert_eq!(third["ready"], true, "{third}");
    assert_eq!(third["refusal"], Value::Null);
    let (_, listed) = dz.get("/api/v1/requests").await;
    assert_eq!(listed, json!([]), "a preview opens nothing");
    let (_, outbox) = dz.get("/api/v1/outbox").await;
    assert_eq!(outbox, json!([]), "a preview sends nothing");

    let (status, opened) = dz.post("/api/v1/requests", &req).await;
    assert_eq!(status, 201, "what the preview found ready opens: {opened}");
    let (status, unknown) = dz
        .post(
            "/api/v1/requests/preview",
            &json!({"to": "xx-nobody", "body": body(), "conditions": conditions()}),
        )
        .await;
    assert_eq!(
        (status, unknown["error"]["code"].as_str()),
        (403, Some("fed.unknown_node")),
        "as opening answers: {unknown}"
    );
    fed.shutdown().await;
}
