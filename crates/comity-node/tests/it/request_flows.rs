//! Requests across nodes beyond one exchange: both sides acting on the same version, a state
//! change whose message cannot be queued, the extradition question in the pre-flight, the
//! follow-ups a node offers, and the use conditions on passing information on.

use std::time::{Duration, Instant};

use comity_model::Role;
use serde_json::{Value, json};

use crate::harness::{Api, Federation, backends, fast_config};
use crate::requests::{conditions, content_for, open, reaches};

/// Opens a request from `api`'s node, answering the content the pre-flight asks for; returns
/// the last answer (201 when opened).
async fn open_to(api: &Api, to: &str, body: Value, conditions: Value) -> (u16, Value) {
    let mut req = json!({"to": to, "body": body, "conditions": conditions,
        "override_reason": "sent on the officer's responsibility: see the case file DZ-2026-0042"});
    let (status, v) = api.post("/api/v1/requests", &req).await;
    if status != 422 || v["error"]["code"] != "workflow.invalid_fields" {
        return (status, v);
    }
    req["content"] = content_for(v["error"]["problems"].as_array().unwrap());
    api.post("/api/v1/requests", &req).await
}

async fn act(api: &Api, id: &str, action: Value) -> (u16, Value) {
    api.post(
        &format!("/api/v1/requests/{id}/actions"),
        &json!({ "action": action }),
    )
    .await
}

/// Waits until `check` holds for the request as `api`'s node shows it.
async fn until(api: &Api, id: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, v) = api.get(&format!("/api/v1/requests/{id}")).await;
        if (status == 200 && check(&v)) || Instant::now() > deadline {
            assert!(check(&v), "{v}");
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn request_states(api: &Api, id: &str) -> usize {
    let (_, entries) = api.get("/api/v1/ledger/entries?kind=request_state").await;
    entries
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["entry"]["subjects"][0]["id"] == id)
        .count()
}

fn case() -> Value {
    json!({"requesting_authority": "Public Prosecutor of Algiers",
           "case_reference": "DZ-2026-0042",
           "offences": ["illegal_access", "computer_fraud"],
           "facts": "Servers hosted in France were used to divert payments."})
}

fn person(nationality: &str) -> Value {
    json!({"name": "K. B.", "birth_date": "1990-01-01", "nationalities": [nationality],
           "description": "Holder of the accounts"})
}

fn extradition(nationality: &str, arrest: Option<&str>) -> Value {
    json!({"kind": "extradition", "body": {
        "case": case(), "person": person(nationality), "purpose": "prosecution",
        "warrant_reference": "DZ-WARRANT-17", "sentence_months": null,
        "max_penalty_months": 60, "place_of_commission": "DZ", "committed_on": null,
        "provisional_arrest": arrest}})
}

/// dz-247, fr-ocl and ma-dgsn, each a 24/7 point, extradition and central authority.
async fn three_nodes(backend: crate::harness::Backend) -> Federation {
    let mut fed = Federation::start_with(
        backend,
        &["dz-247", "fr-ocl", "ma-dgsn"],
        fast_config(),
        |members, ds| {
            for (m, d) in members.iter().zip(ds.iter_mut()) {
                let mut desc = d.descriptor.clone();
                desc.roles = vec![
                    Role::TwentyFourSeven,
                    Role::Extradition,
                    Role::CentralAuthority,
                ];
                *d = comity_seal::SignedDescriptor::sign(desc, &m.secrets, None);
            }
        },
    )
    .await;
    // Each node acts in the roles the trust list gives it: restart it with that descriptor.
    for i in 0..fed.members.len() {
        let node = fed.members[i].id.clone();
        let listed = fed
            .trust_list
            .list
            .members
            .iter()
            .find(|d| d.descriptor.node == node)
            .unwrap()
            .clone();
        fed.members[i].descriptor = listed;
        fed.stop_node(i).await;
        fed.start_node(i).await;
    }
    fed
}

#[tokio::test]
async fn both_sides_acting_on_the_same_version_end_in_the_same_state() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let id = open(&dz).await["id"].as_str().unwrap().to_owned();
        reaches(&fr, &id, "sent").await;
        let (idz, ifr) = (fed.index("dz-247"), fed.index("fr-ocl"));

        // France refuses while Algeria is down, then Algeria withdraws while France is down:
        // each acts on version 1 without having seen the other's action.
        fed.stop_node(idz).await;
        let (status, v) = act(
            &fr,
            &id,
            json!({"action": "refuse", "grounds": ["essential_interests"],
                   "reasons": "The servers belong to a state operator.", "consulted": true}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        fed.stop_node(ifr).await;
        fed.start_node(idz).await;
        let (status, v) = act(
            &dz,
            &id,
            json!({"action": "withdraw", "reason": "The suspect was identified otherwise."}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["state"], "withdrawn");
        fed.start_node(ifr).await;

        // The refusal came first: on both sides the request is refused and the withdrawal is
        // kept as superseded, with its code and the refusal it met.
        let lost = |v: &Value| {
            v["request"]["superseded"]
                .as_array()
                .is_some_and(|s| s.len() == 1)
        };
        let ours = until(&dz, &id, |v| v["state"] == "refused" && lost(v)).await;
        let theirs = until(&fr, &id, |v| v["state"] == "refused" && lost(v)).await;
        assert_eq!(ours["request"], theirs["request"], "{backend:?}");
        let superseded = &ours["request"]["superseded"][0];
        assert_eq!(superseded["code"], "workflow.superseded");
        assert_eq!(superseded["cause"], "workflow.illegal_transition");
        assert_eq!(superseded["actor"]["node"], "dz-247");
        assert_eq!(superseded["action"]["action"], "withdraw");
        let replayed = ours["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["detail"].as_str().is_some_and(|d| d.contains("replayed")));
        assert!(replayed, "{ours}");
        let told = theirs["timeline"].as_array().unwrap().iter().any(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.contains("workflow.superseded"))
        });
        assert!(told, "{theirs}");
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn a_transition_whose_message_cannot_be_queued_changes_nothing() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let id = open(&dz).await["id"].as_str().unwrap().to_owned();
        reaches(&fr, &id, "sent").await;
        let ifr = fed.index("fr-ocl");

        // France's node now refuses to seal any message: its acknowledgement cannot be queued.
        fed.stop_node(ifr).await;
        let normal = fed.config.clone();
        fed.config.max_message_bytes = 200;
        fed.start_node(ifr).await;
        let (status, v) = act(
            &fr,
            &id,
            json!({"action": "acknowledge", "reference": "FR-1"}),
        )
        .await;
        assert_eq!(status, 413, "{v}");
        assert_eq!(v["error"]["code"], "fed.too_large");
        let (_, shown) = fr.get(&format!("/api/v1/requests/{id}")).await;
        assert_eq!(
            shown["state"], "sent",
            "the state did not move without its message"
        );
        assert_eq!(shown["timeline"].as_array().unwrap().len(), 1, "{shown}");
        assert_eq!(request_states(&fr, &id).await, 1);

        fed.stop_node(ifr).await;
        fed.config = normal;
        fed.start_node(ifr).await;
        let (status, v) = act(
            &fr,
            &id,
            json!({"action": "acknowledge", "reference": "FR-1"}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        let theirs = reaches(&fr, &id, "acknowledged").await;
        let ours = reaches(&dz, &id, "acknowledged").await;
        assert_eq!(ours["request"], theirs["request"]);
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn the_assistance_request_extends_the_preservation_alike_on_both_sides() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let id = open(&dz).await["id"].as_str().unwrap().to_owned();
        reaches(&fr, &id, "sent").await;
        let (status, v) = act(&fr, &id, json!({"action": "preserve", "until": null})).await;
        assert_eq!(status, 200, "{v}");
        let preserved = reaches(&dz, &id, "preserved").await;
        let before = preserved["due"]["at"].as_str().unwrap().to_owned();
        let (status, mla) = open_to(
            &dz,
            "fr-ocl",
            json!({"kind": "mutual_assistance", "body": {
                "case": case(), "measure": "stored_data",
                "data": "The preserved connection logs",
                "custodian_or_location": "Hosting provider in Roubaix, France",
                "preservation": id}}),
            conditions(),
        )
        .await;
        assert_eq!(status, 201, "{mla}");
        let extended = |v: &Value| v["timeline"].as_array().unwrap().len() == 3;
        let ours = until(&dz, &id, extended).await;
        let theirs = until(&fr, &id, extended).await;
        // One extension, dated at the time it travelled with, on both sides.
        assert_eq!(
            ours["request"], theirs["request"],
            "dz-247's view: {ours}\nfr-ocl's view: {theirs}"
        );
        assert_eq!(ours["due"], theirs["due"]);
        assert_ne!(ours["due"]["at"], before.as_str());
        let extend = &ours["request"]["history"][2];
        assert_eq!(extend["action"]["action"], "extend");
        assert_eq!(extend["base"], 2);
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn the_preflight_asks_the_extradition_question() {
    for backend in backends() {
        let fed = three_nodes(backend).await;
        let dz = fed.api("dz-247");
        // France does not extradite its nationals: a negative answer, with its articles.
        let mut req = json!({"to": "fr-ocl", "body": extradition("FR", None),
                             "conditions": conditions()});
        let (status, v) = dz.post("/api/v1/requests", &req).await;
        if v["error"]["code"] == "workflow.invalid_fields" {
            req["content"] = content_for(v["error"]["problems"].as_array().unwrap());
        }
        let (status2, v2) = dz.post("/api/v1/requests", &req).await;
        let (status, v) = if status == 422 && v["error"]["code"] == "workflow.invalid_fields" {
            (status2, v2)
        } else {
            (status, v)
        };
        assert_eq!(status, 422, "{v}");
        assert_eq!(v["error"]["code"], "workflow.override_required", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("extradition would be refused"),
            "{v}"
        );
        let (status, opened) = open_to(&dz, "fr-ocl", extradition("FR", None), conditions()).await;
        assert_eq!(status, 201, "{opened}");
        let pf = &opened["request"]["preflight"];
        assert!(
            pf["explanation"].as_array().unwrap().iter().any(|l| l
                .as_str()
                .unwrap()
                .starts_with("extradition question: refused")),
            "{pf}"
        );
        let obstacle = &pf["obstacles"][0];
        assert!(obstacle["code"].is_string(), "{pf}");
        assert!(
            obstacle["cite"].as_str().is_some_and(|c| !c.is_empty()),
            "{pf}"
        );
        assert!(pf["override_reason"].is_string());
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn follow_ups_are_offered_and_opened_in_one_call() {
    for backend in backends() {
        let fed = three_nodes(backend).await;
        let (dz, fr, ma) = (fed.api("dz-247"), fed.api("fr-ocl"), fed.api("ma-dgsn"));

        // Refused on nationality: the prosecution in lieu is offered to Algeria, addressed to
        // France, and opens linked to the extradition request.
        let (status, x) = open_to(&dz, "fr-ocl", extradition("FR", None), conditions()).await;
        assert_eq!(status, 201, "{x}");
        let xid = x["id"].as_str().unwrap().to_owned();
        reaches(&fr, &xid, "sent").await;
        let (_, none) = dz.get(&format!("/api/v1/requests/{xid}/follow-ups")).await;
        assert_eq!(none, json!([]));
        for action in [
            json!({"action": "acknowledge", "reference": "FR-EXT-1"}),
            json!({"action": "refuse_nationality", "reasons": "The person is a French national."}),
        ] {
            let (status, v) = fr
                .post(
                    &format!("/api/v1/requests/{xid}/actions"),
                    &json!({"action": action, "role": "extradition"}),
                )
                .await;
            assert_eq!(status, 200, "{v}");
        }
        reaches(&dz, &xid, "refused_nationality").await;
        let (_, offers) = dz.get(&format!("/api/v1/requests/{xid}/follow-ups")).await;
        assert_eq!(offers.as_array().unwrap().len(), 1, "{offers}");
        assert_eq!(offers[0]["follow_up"], "prosecution_in_lieu");
        assert_eq!(offers[0]["to"], "fr-ocl");
        let (_, theirs) = fr.get(&format!("/api/v1/requests/{xid}/follow-ups")).await;
        assert_eq!(theirs, json!([]), "only the requesting side may ask");
        let (status, pil) = dz
            .post(
                &format!("/api/v1/requests/{xid}/follow-ups"),
                &json!({"follow_up": "prosecution_in_lieu",
                        "evidence": "Bank statements and connection logs (annexes 1-12)"}),
            )
            .await;
        assert_eq!(status, 201, "{pil}");
        assert_eq!(pil["kind"], "prosecution_in_lieu");
        assert!(
            pil["links"]
                .as_array()
                .unwrap()
                .contains(&json!({"rel": "spawned_from", "request": xid})),
            "{pil}"
        );
        reaches(&fr, pil["id"].as_str().unwrap(), "sent").await;
        let (status, v) = dz
            .post(
                &format!("/api/v1/requests/{xid}/follow-ups"),
                &json!({"follow_up": "onward_preservation"}),
            )
            .await;
        assert_eq!(status, 404, "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("prosecution_in_lieu to fr-ocl")
        );

        // A traffic disclosure naming Morocco: the onward preservation to ma-dgsn is offered.
        let (status, td) = open_to(
            &dz,
            "fr-ocl",
            json!({"kind": "traffic_disclosure", "body": {"case": case(), "preservation": null,
                   "communication": "Connections to 203.0.113.7 on 12 January 2026"}}),
            conditions(),
        )
        .await;
        assert_eq!(status, 201, "{td}");
        let tid = td["id"].as_str().unwrap().to_owned();
        reaches(&fr, &tid, "sent").await;
        let (status, v) = act(
            &fr,
            &tid,
            json!({"action": "disclose", "traffic_data": "Relayed from AS 36903",
                   "next_state": "MA", "next_provider": "Maroc Telecom", "use_conditions": null}),
        )
        .await;
        assert_eq!(status, 200, "{v}");
        reaches(&dz, &tid, "results_returned").await;
        let (_, offers) = dz.get(&format!("/api/v1/requests/{tid}/follow-ups")).await;
        assert_eq!(offers[0]["follow_up"], "onward_preservation", "{offers}");
        assert_eq!(offers[0]["to"], "ma-dgsn");
        assert_eq!(
            offers[0]["draft"]["body"]["body"]["custodian_or_location"],
            "Maroc Telecom"
        );
        let mut req = json!({"follow_up": "onward_preservation",
            "override_reason": "sent on the officer's responsibility: see the case file DZ-2026-0042"});
        let (mut status, mut onward) = dz
            .post(&format!("/api/v1/requests/{tid}/follow-ups"), &req)
            .await;
        if status == 422 {
            req["content"] = content_for(onward["error"]["problems"].as_array().unwrap());
            (status, onward) = dz
                .post(&format!("/api/v1/requests/{tid}/follow-ups"), &req)
                .await;
        }
        assert_eq!(status, 201, "{onward}");
        assert_eq!(onward["kind"], "preservation");
        assert_eq!(onward["peer"], "ma-dgsn");
        reaches(&ma, onward["id"].as_str().unwrap(), "sent").await;

        // The extradition request that follows a provisional arrest closes it on both sides.
        let (status, arrest) = open_to(
            &dz,
            "fr-ocl",
            json!({"kind": "provisional_arrest", "body": {"case": case(), "person": person("MA"),
                   "warrant_reference": "DZ-WARRANT-18", "urgency": "The person is about to leave.",
                   "extradition_to_follow": true}}),
            conditions(),
        )
        .await;
        assert_eq!(status, 201, "{arrest}");
        let aid = arrest["id"].as_str().unwrap().to_owned();
        reaches(&fr, &aid, "sent").await;
        let (status, v) = fr
            .post(
                &format!("/api/v1/requests/{aid}/actions"),
                &json!({"action": {"action": "arrest", "place": "Paris"}, "role": "extradition"}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        reaches(&dz, &aid, "arrested").await;
        let (status, x2) =
            open_to(&dz, "fr-ocl", extradition("MA", Some(&aid)), conditions()).await;
        assert_eq!(status, 201, "{x2}");
        let ours = reaches(&dz, &aid, "closed").await;
        let theirs = reaches(&fr, &aid, "closed").await;
        assert_eq!(ours["request"], theirs["request"]);
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn information_is_not_passed_to_a_third_node_without_the_owners_consent() {
    for backend in backends() {
        let fed = three_nodes(backend).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        // Algeria's request is confidential, onward transfer only with its consent.
        let id = open(&dz).await["id"].as_str().unwrap().to_owned();
        reaches(&fr, &id, "sent").await;
        let spontaneous = json!({"kind": "spontaneous_information", "body": {
            "providing_authority": "OCLCTIC",
            "offences": ["illegal_access"],
            "summary": "Servers in France relay an intrusion campaign run from Algeria."}});
        let mut forward = json!({"to": "ma-dgsn", "body": spontaneous,
            "conditions": {"owner": "fr-ocl", "confidential": true,
                           "purposes": ["investigation and prosecution in case DZ-2026-0042"],
                           "onward": "consent_required"},
            "links": [{"rel": "spawned_from", "request": id}],
            "override_reason": "sent on the officer's responsibility: see the case file DZ-2026-0042"});
        let (mut status, mut v) = fr.post("/api/v1/requests", &forward).await;
        if v["error"]["code"] == "workflow.invalid_fields" {
            forward["content"] = content_for(v["error"]["problems"].as_array().unwrap());
            (status, v) = fr.post("/api/v1/requests", &forward).await;
        }
        assert_eq!(status, 403, "{v}");
        assert_eq!(v["error"]["code"], "workflow.consent_required");
        assert!(
            v["error"]["message"].as_str().unwrap().contains("dz-247"),
            "{v}"
        );
        let (_, list) = fr.get("/api/v1/requests").await;
        assert_eq!(
            list.as_array().unwrap().len(),
            1,
            "nothing was opened: {list}"
        );

        // Only the owner consents; once Algeria's consent reaches France, the same forward
        // goes through.
        let consent = |reference: &str| {
            json!({"action": {"action": "consent", "to": {"node": "ma-dgsn"}, "purpose": null,
                              "reference": reference}})
        };
        let actions = format!("/api/v1/requests/{id}/actions");
        let (status, v) = fr.post(&actions, &consent("FR-SELF-1")).await;
        assert_eq!(status, 403, "{v}");
        assert_eq!(v["error"]["code"], "workflow.wrong_party", "{v}");
        let (status, v) = dz.post(&actions, &consent("DZ-CONSENT-4")).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["state"], "sent", "a consent changes no state: {v}");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, theirs) = fr.get(&format!("/api/v1/requests/{id}")).await;
            let history = theirs["request"]["history"].as_array().unwrap().clone();
            if history.iter().any(|e| e["action"]["action"] == "consent") {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the consent never reached fr-ocl: {theirs}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (status, v) = fr.post("/api/v1/requests", &forward).await;
        assert_eq!(status, 201, "{v}");

        // A request whose owner consented to Morocco beforehand may be passed on.
        let mut consented = conditions();
        consented["consents"] = json!([{"to": {"node": "ma-dgsn"}, "purpose": null,
            "given_by": "dz-247", "at": "2026-01-15T08:00:00.000Z", "reference": "DZ-CONSENT-3"}]);
        let (status, v2) = open_to(&dz, "fr-ocl", crate::requests::body(), consented).await;
        assert_eq!(status, 201, "{v2}");
        let id2 = v2["id"].as_str().unwrap().to_owned();
        reaches(&fr, &id2, "sent").await;
        forward["links"] = json!([{"rel": "spawned_from", "request": id2}]);
        let (status, v) = fr.post("/api/v1/requests", &forward).await;
        assert_eq!(status, 201, "{v}");
        fed.shutdown().await;
    }
}

/// Opens an extradition of an Algerian national from dz-247 to fr-ocl with `facts` established.
async fn open_with_facts(dz: &Api, facts: Value) -> (u16, Value) {
    let mut req = json!({"to": "fr-ocl", "body": extradition("DZ", None),
                         "conditions": conditions(), "facts": facts,
                         "override_reason": "the facts are set out in the warrant"});
    let (status, v) = dz.post("/api/v1/requests", &req).await;
    if status == 422 && v["error"]["code"] == "workflow.invalid_fields" {
        req["content"] = content_for(v["error"]["problems"].as_array().unwrap());
        return dz.post("/api/v1/requests", &req).await;
    }
    (status, v)
}

#[tokio::test]
async fn the_facts_established_reach_the_dual_criminality_question() {
    for backend in backends() {
        let fed = three_nodes(backend).await;
        let dz = fed.api("dz-247");
        let negatives = |v: &Value| -> Vec<String> {
            v["request"]["preflight"]["negatives"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_owned())
                .collect()
        };
        let dual = |v: &Value| v["request"]["preflight"]["dual_criminality"].clone();
        let (status, bare) = open_with_facts(&dz, json!({})).await;
        assert_eq!(status, 201, "{bare}");
        let (status, established) = open_with_facts(
            &dz,
            json!({
                "security_measure_infringed": true,
                "economic_benefit_intended": true,
                "loss_of_property": true,
            }),
        )
        .await;
        assert_eq!(status, 201, "{established}");
        // The elements only the facts can establish decide whether the conduct is criminal in
        // France too: the answers differ, and the established one has no dual-criminality
        // negative.
        assert_ne!(dual(&bare), dual(&established), "{bare}\n{established}");
        assert!(
            !negatives(&established)
                .iter()
                .any(|n| n.contains("dual criminality")),
            "{established}"
        );
        // An element the taxonomy does not know is named, and nothing is opened.
        let (status, v) = open_with_facts(&dz, json!({"hacked_hard": true})).await;
        assert_eq!(status, 400, "{v}");
        assert_eq!(v["error"]["code"], "workflow.law_question", "{v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("conduct.facts.hacked_hard"),
            "{v}"
        );
        let (_, list) = dz.get("/api/v1/requests").await;
        assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
        fed.shutdown().await;
    }
}
