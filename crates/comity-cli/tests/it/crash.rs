//! The sending process is killed with SIGKILL in the middle of a burst of 1,000 messages and
//! restarted: every message its API had accepted is delivered, and processed exactly once.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cli::{Node, federation, serve};

async fn get(client: &reqwest::Client, node: &Node, path: &str) -> Value {
    let r = client
        .get(format!("{}{path}", node.api))
        .bearer_auth(&node.token)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_sender_loses_nothing_and_duplicates_nothing() {
    comity_node::install_default_provider();
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let (dz, fr) = (&nodes[0], &nodes[1]);
    let _receiver = serve(fr);
    let mut sender = serve(dz);

    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let client = reqwest::Client::new();
    let mut workers = Vec::new();
    for w in 0..8 {
        let (client, accepted, api, token) = (
            client.clone(),
            accepted.clone(),
            dz.api.clone(),
            dz.token.clone(),
        );
        workers.push(tokio::spawn(async move {
            for i in 0..125 {
                let body = json!({"to": "fr-ocl", "kind": "note", "body": {"text": format!("burst {w}-{i}")}});
                let r = client.post(format!("{api}/api/v1/messages")).bearer_auth(&token).json(&body).send().await;
                match r {
                    Ok(r) if r.status().as_u16() == 202 => {
                        let v: Value = r.json().await.unwrap();
                        accepted.lock().unwrap().insert(v["id"].as_str().unwrap().to_owned());
                    }
                    _ => return,
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while accepted.lock().unwrap().len() < 400 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sender.0.kill().unwrap();
    sender.0.wait().unwrap();
    for w in workers {
        w.await.unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();
    assert!(
        accepted.len() >= 400 && accepted.len() < 1000,
        "the kill came mid-burst ({} accepted)",
        accepted.len()
    );

    // The restarted sender resends what it had not recorded as delivered, including a batch
    // that reached the recipient just before the kill, so its outbox settles after the inbox.
    let _sender = serve(dz);
    let deadline = Instant::now() + Duration::from_secs(120);
    let (received, outbox) = loop {
        let inbox = get(&client, fr, "/api/v1/inbox?limit=10000").await;
        let ids: BTreeSet<String> = inbox
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        let outbox = get(&client, dz, "/api/v1/outbox?limit=10000").await;
        let settled = outbox
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["state"] != "queued");
        if (accepted.is_subset(&ids) && settled) || Instant::now() > deadline {
            break (ids, outbox);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let missing: Vec<_> = accepted.difference(&received).collect();
    assert!(
        missing.is_empty(),
        "{} accepted messages never arrived",
        missing.len()
    );

    // Nothing arrived that the sender does not hold, and every message is stored once.
    let sent: BTreeSet<String> = outbox
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        received, sent,
        "the recipient holds exactly what the sender committed"
    );
    let inbox = get(&client, fr, "/api/v1/inbox?limit=10000").await;
    assert_eq!(
        inbox.as_array().unwrap().len(),
        received.len(),
        "no message is stored twice"
    );
    let states: BTreeSet<String> = outbox
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(states, BTreeSet::from(["delivered".to_owned()]));
    let refused = get(&client, fr, "/api/v1/rejections").await;
    assert_eq!(
        refused,
        json!([]),
        "re-sent messages are answered as duplicates, not refused"
    );

    // Every committed message has its ledger entry, once; both logs verify tile by tile as
    // served, with the keys of the trust list.
    let d = dz.dir.to_str().unwrap();
    let own = crate::cli::ok(&["ledger", "verify", "--node", "dz-247", "--dir", d]);
    assert!(own.starts_with("OK log dz-247.comity/ledger"), "{own}");
    assert!(
        own.contains(&format!("[{} message_sent]", sent.len())),
        "one message_sent entry per committed message: {own}"
    );
    // The served checkpoint follows the log within a checkpoint interval.
    let expected = format!("{} message_received", received.len());
    let deadline = Instant::now() + Duration::from_secs(30);
    let theirs = loop {
        let out = crate::cli::ok(&["ledger", "verify", "--node", "fr-ocl", "--dir", d]);
        if out.contains(&expected) || Instant::now() > deadline {
            break out;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(theirs.contains(&expected), "{theirs}");
    let proof_file = base.path().join("proof.json");
    let f = fr.dir.to_str().unwrap();
    let newest = get(
        &client,
        fr,
        "/api/v1/ledger/entries?kind=message_received&limit=1",
    )
    .await;
    let index = newest[0]["index"].to_string();
    crate::cli::ok(&[
        "ledger",
        "prove",
        "--dir",
        f,
        &index,
        "--out",
        proof_file.to_str().unwrap(),
    ]);
    let checkpoint = crate::cli::ok(&["ledger", "checkpoint", "--dir", f]);
    let key = checkpoint
        .lines()
        .find_map(|l| l.strip_prefix("log key   "))
        .unwrap()
        .to_owned();
    let verified = crate::cli::ok(&[
        "ledger",
        "verify",
        "--proof",
        proof_file.to_str().unwrap(),
        "--key",
        &key,
    ]);
    assert!(
        verified.starts_with(&format!("OK entry {index} (message_received by fr-ocl")),
        "{verified}"
    );
    let alarms = crate::cli::comity(&["ledger", "alarms", "--dir", d]);
    assert!(alarms.status.success(), "no alarm between honest nodes");

    let status = crate::cli::ok(&["node", "status", "--dir", dz.dir.to_str().unwrap()]);
    assert!(status.starts_with("dz-247 (DZ"), "{status}");
    let fr_line = status
        .lines()
        .find(|l| l.trim_start().starts_with("fr-ocl"))
        .unwrap();
    assert!(
        fr_line.contains("queued 0") && fr_line.contains("failures 0"),
        "{fr_line}"
    );

    let body = base.path().join("note.json");
    std::fs::write(&body, r#"{"text": "sent with comity msg send"}"#).unwrap();
    let d = dz.dir.to_str().unwrap();
    let out = crate::cli::ok(&[
        "msg",
        "send",
        "--dir",
        d,
        "--to",
        "fr-ocl",
        "--kind",
        "note",
        "--body",
        body.to_str().unwrap(),
    ]);
    let id = out.split_whitespace().nth(1).unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !crate::cli::ok(&["msg", "show", "--dir", d, &id]).contains("\"delivered\"") {
        assert!(Instant::now() < deadline, "{id} not delivered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let inbox = crate::cli::ok(&[
        "msg",
        "inbox",
        "--dir",
        fr.dir.to_str().unwrap(),
        "--limit",
        "1",
    ]);
    assert!(
        inbox.starts_with(&id) && inbox.contains("from dz-247"),
        "{inbox}"
    );
    assert_eq!(
        crate::cli::ok(&["msg", "outbox", "--dir", d, "--state", "dead"]),
        ""
    );
    let bad = crate::cli::comity(&[
        "msg",
        "send",
        "--dir",
        d,
        "--to",
        "fr-ocl",
        "--kind",
        "preservation.request",
        "--body",
        body.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("[model.malformed_body]"), "{err}");
}
