//! A node's store damaged or edited behind its back (issue 12): the node refuses to start on a
//! log that contradicts its own signed checkpoint, on an empty store under an identity with
//! history, on another node's descriptor or database; stored content that contradicts what was
//! signed is never shown and raises an `integrity` alarm; what a sender signed can be shown to a
//! third party, who checks it with the sender's public key alone.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use comity_store::{Store, TamperValue};
use serde_json::{Value, json};

use crate::harness::{Api, Federation, backends, note};
use crate::requests::{conditions, content_for, reaches};

/// Waits until `api`'s node has signed a checkpoint of its whole log; returns its size.
async fn signed_all(api: &Api) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, s) = api.get("/api/v1/ledger").await;
        if s["checkpoint"]["size"] == s["size"] && s["size"].as_u64() > Some(0) {
            return s["size"].as_u64().unwrap();
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of the whole log: {s}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits for an `integrity` alarm about `table` row `row`; returns its evidence.
async fn alarm_about(api: &Api, table: &str, row: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, alarms) = api.get("/api/v1/ledger/alarms").await;
        let found = alarms.as_array().unwrap().iter().find(|a| {
            a["kind"] == "integrity"
                && a["evidence"]["table"] == table
                && a["evidence"]["row"] == row
        });
        if let Some(a) = found {
            return a["evidence"].clone();
        }
        assert!(
            Instant::now() < deadline,
            "no integrity alarm about {table} {row}: {alarms}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn store_of(fed: &Federation, id: &str) -> Store {
    Store::open(&fed.members[fed.index(id)].database_url)
        .await
        .unwrap()
}

async fn send_notes(fed: &Federation, n: usize) -> Vec<String> {
    let dz = fed.api("dz-247");
    let mut ids = Vec::new();
    for round in 0..n {
        let id = dz
            .send(
                "fr-ocl",
                "note",
                note(&format!("the original text {round}")),
                None,
            )
            .await;
        assert_eq!(dz.settled(&id).await["state"], "delivered");
        ids.push(id);
    }
    ids
}

/// The finding of issue 12: one entry of fr-ocl's log edited and one stored hash deleted. The
/// node used to rebuild its tree from the edited entries ("ledger hashes rebuilt") and sign a
/// checkpoint that contradicts its own cosigned one. Now it refuses to start, names the entry,
/// says to restore a backup, and signs nothing.
#[tokio::test]
async fn an_edited_ledger_entry_with_a_deleted_hash_stops_the_node_before_it_signs() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let fr = fed.api("fr-ocl");
        let ids = send_notes(&fed, 3).await;
        let (_, m) = fr.get(&format!("/api/v1/messages/{}", ids[1])).await;
        let index = m["log_index"].as_u64().unwrap();
        signed_all(&fr).await;
        let ifr = fed.index("fr-ocl");
        fed.stop_node(ifr).await;

        let store = store_of(&fed, "fr-ocl").await;
        let entry = store.ledger_entry(index).await.unwrap().unwrap();
        let edited = String::from_utf8(entry.bytes)
            .unwrap()
            .replace("message_kind note", "message_kind preservation.request");
        let edit = "UPDATE ledger_entry SET bytes = $1 WHERE idx = $2";
        let args = [
            TamperValue::Bytes(edited.into_bytes()),
            TamperValue::Int(index as i64),
        ];
        assert_eq!(store.tamper(edit, &args).await.unwrap(), 1);
        let delete = "DELETE FROM ledger_hash WHERE idx = (SELECT MAX(idx) FROM ledger_hash)";
        assert_eq!(store.tamper(delete, &[]).await.unwrap(), 1);
        let signed = store.latest_checkpoint(false).await.unwrap().unwrap();
        store.close().await;
        let copy = std::fs::read(fed.checkpoint_file(ifr)).unwrap();
        assert_eq!(
            copy,
            signed.note.as_bytes(),
            "the copy is the latest checkpoint"
        );

        let err = fed
            .try_start_node(ifr)
            .await
            .expect_err("the node refuses to start");
        assert_eq!(err.code(), "store.ledger_diverged", "{backend:?}: {err}");
        let text = err.to_string();
        assert!(text.contains(&format!("ledger entry {index} ")), "{text}");
        assert!(
            text.contains("restore the database from a backup"),
            "{text}"
        );

        let store = store_of(&fed, "fr-ocl").await;
        let after = store.latest_checkpoint(false).await.unwrap().unwrap();
        assert_eq!((after.size, after.note), (signed.size, signed.note));
        let size = store.ledger_size().await.unwrap();
        let first = store.ledger_verify_range(0, size).await.unwrap().unwrap();
        assert_eq!(
            (first.first, first.last),
            (index, index),
            "the stored hashes still hold the original entry: nothing was rebuilt ({first})"
        );
        store.close().await;
        assert_eq!(std::fs::read(fed.checkpoint_file(ifr)).unwrap(), copy);
        fed.shutdown().await;
    }
}

/// An empty database under a node whose log has history: it used to start as a fresh node
/// under the old identity (a fork waiting to happen).
#[tokio::test]
async fn an_empty_store_under_an_identity_with_history_is_refused() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let fr = fed.api("fr-ocl");
        send_notes(&fed, 2).await;
        let size = signed_all(&fr).await;
        let ifr = fed.index("fr-ocl");
        fed.stop_node(ifr).await;
        fed.replace_database(ifr, 2).await;
        let err = fed.try_start_node(ifr).await.expect_err("refused");
        assert_eq!(err.code(), "store.ledger_behind", "{backend:?}: {err}");
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "holds 0 ledger entries but this node signed a checkpoint of {size}"
            )),
            "{text}"
        );
        assert!(text.contains("restore"), "{text}");
        fed.shutdown().await;
    }
}

/// Another node's descriptor with this node's secrets, and this node on another node's
/// database: both refused before anything is served.
#[tokio::test]
async fn a_foreign_descriptor_or_database_is_refused() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        send_notes(&fed, 1).await;
        let (idz, ifr) = (fed.index("dz-247"), fed.index("fr-ocl"));
        fed.stop_node(ifr).await;
        let dz_descriptor = fed.members[idz].descriptor.clone();
        let fr_secrets = crate::harness::copy_secrets(&fed.members[ifr].secrets);
        let err = fed
            .try_start_as(ifr, Some((dz_descriptor, &fr_secrets)))
            .await
            .expect_err("refused");
        assert_eq!(err.code(), "node.identity_mismatch", "{backend:?}: {err}");
        assert!(err.to_string().contains("dz-247"), "{err}");

        let own = fed.members[ifr].database_url.clone();
        fed.members[ifr].database_url = fed.members[idz].database_url.clone();
        std::fs::remove_file(fed.checkpoint_file(ifr)).ok();
        let err = fed.try_start_node(ifr).await.expect_err("refused");
        assert_eq!(err.code(), "store.foreign", "{backend:?}: {err}");
        assert!(
            err.to_string()
                .contains("the database belongs to node dz-247 but this node is fr-ocl"),
            "{err}"
        );
        fed.members[ifr].database_url = own;
        fed.shutdown().await;
    }
}

/// A received message's body edited in the database: the background check raises an alarm
/// naming the row, and the API never shows the edited text.
#[tokio::test]
async fn an_edited_message_body_is_never_shown_and_raises_an_alarm() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let fr = fed.api("fr-ocl");
        let id = send_notes(&fed, 1).await.remove(0);
        let (status, m) = fr.get(&format!("/api/v1/messages/{id}")).await;
        assert_eq!(status, 200, "{m}");
        assert_eq!(m["body"]["text"], "the original text 0");
        assert_eq!(
            (&m["verified"], &m["inner_signature_kept"]),
            (&json!(true), &json!(true))
        );

        let store = store_of(&fed, "fr-ocl").await;
        let edit = "UPDATE inbox SET body = $1 WHERE id = $2";
        let args = [
            TamperValue::Bytes(br#"{"text":"an edited text"}"#.to_vec()),
            TamperValue::Text(id.clone()),
        ];
        assert_eq!(store.tamper(edit, &args).await.unwrap(), 1);
        store.close().await;

        let evidence = alarm_about(&fr, "inbox", &id).await;
        assert_eq!(evidence["field"], "body", "{evidence}");
        let (status, m) = fr.get(&format!("/api/v1/messages/{id}")).await;
        assert_eq!(status, 500, "{m}");
        assert_eq!(m["error"]["code"], "store.tampered", "{m}");
        assert!(!m.to_string().contains("edited"), "{m}");
        let (status, inbox) = fr.get("/api/v1/inbox").await;
        assert_eq!(status, 200);
        let listed = &inbox[0];
        assert_eq!(listed["id"], id.as_str());
        assert_eq!(listed["tampered"]["code"], "store.tampered", "{listed}");
        assert!(!inbox.to_string().contains("edited"), "{inbox}");
        let (_, status) = fr.get("/api/v1/ledger").await;
        assert!(
            status["integrity"]["alarms"].as_u64() >= Some(1),
            "{status}"
        );
        fed.shutdown().await;
    }
}

/// Traffic data disclosed under a request, edited in the database (the request JSON, then the
/// timeline): the requesting node refuses to show either and raises an alarm for each.
#[tokio::test]
async fn an_edited_request_disclosure_is_never_shown_and_raises_an_alarm() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let body = json!({"kind": "traffic_disclosure", "body": {
            "case": {"requesting_authority": "Public Prosecutor of Algiers",
                     "case_reference": "DZ-2026-0042",
                     "offences": ["illegal_access", "computer_fraud"],
                     "facts": "Servers hosted in France were used to divert payments."},
            "preservation": null,
            "communication": "Connections to 203.0.113.7 on 12 January 2026"}});
        let mut req = json!({"to": "fr-ocl", "body": body, "conditions": conditions(),
            "override_reason": "sent on the officer's responsibility: see the case file"});
        let (mut status, mut opened) = dz.post("/api/v1/requests", &req).await;
        if status == 422 {
            req["content"] = content_for(opened["error"]["problems"].as_array().unwrap());
            (status, opened) = dz.post("/api/v1/requests", &req).await;
        }
        assert_eq!(status, 201, "{opened}");
        let id = opened["id"].as_str().unwrap().to_owned();
        reaches(&fr, &id, "sent").await;
        let (status, v) = fr
            .post(
                &format!("/api/v1/requests/{id}/actions"),
                &json!({"action": {"action": "disclose", "traffic_data": "Relayed from AS 36903",
                        "next_state": null, "next_provider": null, "use_conditions": null}}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let shown = reaches(&dz, &id, "results_returned").await;
        assert_eq!(
            (&shown["verified"], &shown["timeline_verified"]),
            (&json!(true), &json!(true))
        );
        assert!(shown.to_string().contains("AS 36903"));

        let store = store_of(&fed, "dz-247").await;
        let swap = |table: &str, column: &str, key: &str, from: &str, to: &str| {
            format!(
                "UPDATE {table} SET {column} = replace({column}, '{from}', '{to}') \
                 WHERE {key} = $1 AND {column} LIKE '%{from}%'"
            )
        };
        let edit = swap("requests", "request", "id", "AS 36903", "AS 64512");
        let args = [TamperValue::Text(id.clone())];
        assert_eq!(store.tamper(&edit, &args).await.unwrap(), 1);
        let evidence = alarm_about(&dz, "requests", &id).await;
        assert_eq!(evidence["field"], "request", "{evidence}");
        let (status, v) = dz.get(&format!("/api/v1/requests/{id}")).await;
        assert_eq!(
            (status, &v["error"]["code"]),
            (500, &json!("store.tampered")),
            "{v}"
        );
        assert!(!v.to_string().contains("64512"), "{v}");
        let (_, list) = dz.get("/api/v1/requests").await;
        assert!(!list.to_string().contains("64512"), "{list}");

        let restore = swap("requests", "request", "id", "AS 64512", "AS 36903");
        assert_eq!(store.tamper(&restore, &args).await.unwrap(), 1);
        let edit = swap(
            "request_events",
            "action",
            "request_id",
            "AS 36903",
            "AS 64512",
        );
        assert_eq!(store.tamper(&edit, &args).await.unwrap(), 1);
        store.close().await;
        let (status, v) = dz.get(&format!("/api/v1/requests/{id}")).await;
        assert_eq!(
            (status, &v["error"]["code"]),
            (500, &json!("store.tampered")),
            "{v}"
        );
        assert!(!v.to_string().contains("64512"), "{v}");
        let evidence = alarm_about(&dz, "request_events", &format!("{id}#2")).await;
        assert_eq!(evidence["field"], "event", "{evidence}");
        fed.shutdown().await;
    }
}

/// What dz-247 signed reaches fr-ocl sealed to fr-ocl's key; fr-ocl shows it to a third party
/// (Python's `cryptography`, given only dz-247's public key), who checks the signature. The
/// sender shows the same signature for its own copy.
#[tokio::test]
async fn a_third_party_checks_what_the_sender_signed_with_its_public_key_alone() {
    let backend = backends()[0];
    let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
    let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
    let id = send_notes(&fed, 1).await.remove(0);
    let (status, view) = fr.get(&format!("/api/v1/messages/{id}/signed")).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["verified"], true);
    let key = fed.members[fed.index("dz-247")]
        .descriptor
        .descriptor
        .signing_key
        .to_string();
    assert_eq!(view["signer_key"], key.as_str());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("signed.json");
    std::fs::write(&path, view.to_string()).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/inner_signature.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&path)
        .arg(&key)
        .arg("the original text 0")
        .output()
        .expect("python3 is required for the signature oracle");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the third party's check failed:\n{stderr}"
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["checks"].as_array().unwrap().len(), 5, "{report}");
    assert_eq!(
        (&report["from"], &report["to"]),
        (&json!("dz-247"), &json!("fr-ocl"))
    );

    let (status, own) = dz.get(&format!("/api/v1/messages/{id}/signed")).await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["signature"], view["signature"]);
    assert_eq!(own["signed_bytes"], view["signed_bytes"]);

    // A message stored before the signature was kept: the view says so, and the body is still
    // checked, by opening the stored envelope again.
    let store = store_of(&fed, "fr-ocl").await;
    let forget = "UPDATE inbox SET inner_signature = NULL WHERE id = $1";
    store
        .tamper(forget, &[TamperValue::Text(id.clone())])
        .await
        .unwrap();
    store.close().await;
    let (status, v) = fr.get(&format!("/api/v1/messages/{id}/signed")).await;
    assert_eq!(
        (status, &v["error"]["code"]),
        (404, &json!("store.signature_not_kept")),
        "{v}"
    );
    let (status, m) = fr.get(&format!("/api/v1/messages/{id}")).await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        (&m["verified"], &m["inner_signature_kept"]),
        (&json!(true), &json!(false))
    );
    assert!(m["verification"].as_str().unwrap().contains("0008"), "{m}");
    fed.shutdown().await;
}

/// Damage done while the node runs: the background walk finds a sent message's body edited and
/// a ledger entry edited; a stored hash changed under the signed tree stops the signing of new
/// checkpoints.
#[tokio::test]
async fn the_background_walk_finds_damage_done_while_the_node_runs() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let ids = send_notes(&fed, 2).await;
        let (_, sent) = dz.get(&format!("/api/v1/messages/{}", ids[0])).await;
        assert_eq!(
            (&sent["verified"], &sent["inner_signature_kept"]),
            (&json!(true), &json!(true))
        );

        let store = store_of(&fed, "dz-247").await;
        let edit = "UPDATE outbox SET body = $1 WHERE id = $2";
        let args = [
            TamperValue::Text(r#"{"text":"an edited text"}"#.into()),
            TamperValue::Text(ids[0].clone()),
        ];
        assert_eq!(store.tamper(edit, &args).await.unwrap(), 1);
        store.close().await;
        let evidence = alarm_about(&dz, "outbox", &ids[0]).await;
        assert_eq!(evidence["field"], "body", "{evidence}");
        let (status, v) = dz.get(&format!("/api/v1/messages/{}", ids[0])).await;
        assert_eq!(
            (status, &v["error"]["code"]),
            (500, &json!("store.tampered")),
            "{v}"
        );

        let (_, m) = fr.get(&format!("/api/v1/messages/{}", ids[0])).await;
        let index = m["log_index"].as_u64().unwrap();
        let store = store_of(&fed, "fr-ocl").await;
        let entry = store.ledger_entry(index).await.unwrap().unwrap();
        let edited = String::from_utf8(entry.bytes)
            .unwrap()
            .replace("note", "notes");
        let edit = "UPDATE ledger_entry SET bytes = $1 WHERE idx = $2";
        let args = [
            TamperValue::Bytes(edited.into_bytes()),
            TamperValue::Int(index as i64),
        ];
        assert_eq!(store.tamper(edit, &args).await.unwrap(), 1);
        let evidence = alarm_about(&fr, "ledger_entry", &index.to_string()).await;
        assert_eq!(evidence["field"], "hash", "{evidence}");

        let signed = signed_all(&fr).await;
        // The hash of the largest complete subtree on the left: part of every root from here.
        let level = 63 - signed.leading_zeros();
        let index = comity_ledger::tree::stored_hash_index(level, 0);
        let edit = "UPDATE ledger_hash SET hash = $1 WHERE idx = $2";
        let args = [
            TamperValue::Bytes(vec![7; 32]),
            TamperValue::Int(index as i64),
        ];
        assert_eq!(store.tamper(edit, &args).await.unwrap(), 1);
        store.close().await;
        send_notes(&fed, 1).await;
        alarm_about(&fr, "ledger_hash", &format!("tree of {signed} entries")).await;
        let (_, status) = fr.get("/api/v1/ledger").await;
        assert_eq!(
            status["checkpoint"]["size"], signed,
            "no checkpoint signed on a changed tree: {status}"
        );
        assert!(status["size"].as_u64().unwrap() > signed);
        fed.shutdown().await;
    }
}
