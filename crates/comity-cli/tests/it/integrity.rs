//! `comity node serve` on a damaged or foreign node directory (issue 12): a database file SQLite
//! reports as malformed, an empty or rolled-back database under a node whose log has history,
//! another node's `descriptor.json`. Each is refused before anything is served, with a stable
//! code, a message that says what to do, and a non-zero exit.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use comity_store::{Store, TamperValue};

use crate::cli::{Node, PASSPHRASE, Served, comity, federation, ok, serve};

async fn get(node: &Node, path: &str) -> Value {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", node.api))
        .bearer_auth(&node.token)
        .send()
        .await
        .unwrap();
    r.json().await.unwrap()
}

/// Sends a note from `from` to `to`, waits until it is delivered and returns its id.
async fn deliver(from: &Node, to: &str, text: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/messages", from.api))
        .bearer_auth(&from.token)
        .json(&json!({"to": to, "kind": "note", "body": {"text": text}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let m = get(from, &format!("/api/v1/messages/{id}")).await;
        if m["state"] == "delivered" {
            return id;
        }
        assert!(Instant::now() < deadline, "not delivered: {m}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The size of the checkpoint copy the node keeps beside its database.
fn copied_size(node: &Node) -> u64 {
    std::fs::read_to_string(node.dir.join("ledger-checkpoint"))
        .ok()
        .and_then(|t| t.lines().nth(1).and_then(|l| l.parse().ok()))
        .unwrap_or(0)
}

/// Waits until the node has signed (and copied) a checkpoint of its whole log.
async fn signed_all(node: &Node) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = get(node, "/api/v1/ledger").await;
        let size = s["size"].as_u64().unwrap();
        if size > 0 && copied_size(node) == size {
            return size;
        }
        assert!(Instant::now() < deadline, "no checkpoint copy: {s}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Stops a node the way a supervisor does (SIGTERM): it shuts down cleanly, leaving its
/// database in one file.
fn stop(mut served: Served) {
    let pid = served.0.id().to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    while served.0.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the node did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the node's API answers HTTP (its port is bound before the start-up checks run, so
/// a connection alone does not tell).
fn answers(node: &Node) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(node.api.trim_start_matches("http://")) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(200)));
    let mut answer = [0u8; 12];
    s.write_all(b"GET /openapi.json HTTP/1.0\r\n\r\n").is_ok()
        && s.read_exact(&mut answer).is_ok()
        && answer.starts_with(b"HTTP/1.1 200")
}

/// Runs `comity node serve` expecting a refusal: the exit status and what it printed. A node
/// that starts instead is killed and the test fails.
fn refused(node: &Node) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["node", "serve", "--dir", node.dir.to_str().unwrap()])
        .env("COMITY_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if answers(node) || Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            let mut printed = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut printed).unwrap_or_default();
            }
            panic!("the node started (or hung) instead of refusing:\n{printed}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code().unwrap_or(-1), stderr)
}

/// Two nodes that exchanged a message; fr-ocl stopped cleanly afterwards.
async fn history(base: &Path) -> Vec<Node> {
    let nodes = federation(base, &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let dz = serve(&nodes[0]);
    let fr = serve(&nodes[1]);
    deliver(&nodes[0], "fr-ocl", "before the damage").await;
    signed_all(&nodes[1]).await;
    stop(fr);
    stop(dz);
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_a_database_file_sqlite_reports_as_damaged() {
    comity_node::install_default_provider();
    let base = tempfile::tempdir().unwrap();
    let nodes = history(base.path()).await;
    let fr = &nodes[1];
    let db = fr.dir.join("node.db");
    assert!(
        !fr.dir.join("node.db-wal").exists()
            || std::fs::metadata(fr.dir.join("node.db-wal")).unwrap().len() == 0
    );
    // The page holding the received message's body: the start-up of the node before this
    // check never read it, so it started on the damaged file and accepted messages.
    let mut bytes = std::fs::read(&db).unwrap();
    let text = b"before the damage";
    let at = bytes
        .windows(text.len())
        .position(|w| w == text)
        .expect("the body is in the file");
    let page = at / 4096;
    assert!(page > 0, "not the header page");
    for b in &mut bytes[page * 4096..(page + 1) * 4096] {
        *b = 0x5a;
    }
    std::fs::write(&db, &bytes).unwrap();
    let (code, stderr) = refused(fr);
    assert_ne!(code, 0);
    assert!(stderr.contains("[store.damaged]"), "{stderr}");
    assert!(stderr.contains("quick_check"), "{stderr}");
    assert!(
        stderr.contains("restore the database from a backup"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_an_empty_or_rolled_back_database_under_a_node_with_history() {
    comity_node::install_default_provider();
    let base = tempfile::tempdir().unwrap();
    let nodes = history(base.path()).await;
    let fr = &nodes[1];
    let db = fr.dir.join("node.db");
    let backup = base.path().join("fr-ocl.db.bak");
    std::fs::copy(&db, &backup).unwrap();

    // More history after the backup, then the backup put back: the log is shorter than the
    // checkpoint the node signed since.
    let dz = serve(&nodes[0]);
    let served = serve(fr);
    deliver(&nodes[0], "fr-ocl", "after the backup").await;
    let size = signed_all(fr).await;
    stop(served);
    stop(dz);
    std::fs::copy(&backup, &db).unwrap();
    let (code, stderr) = refused(fr);
    assert_ne!(code, 0);
    assert!(stderr.contains("[store.ledger_behind]"), "{stderr}");
    assert!(
        stderr.contains(&format!("but this node signed a checkpoint of {size}")),
        "{stderr}"
    );

    // An empty database: it would have started as a fresh node under the old identity.
    std::fs::remove_file(&db).unwrap();
    let (code, stderr) = refused(fr);
    assert_ne!(code, 0);
    assert!(stderr.contains("[store.ledger_behind]"), "{stderr}");
    assert!(stderr.contains("holds 0 ledger entries"), "{stderr}");
    assert!(stderr.contains("restore the latest backup"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_refuses_another_nodes_descriptor() {
    comity_node::install_default_provider();
    let base = tempfile::tempdir().unwrap();
    let nodes = history(base.path()).await;
    let (dz, fr) = (&nodes[0], &nodes[1]);
    std::fs::copy(
        dz.dir.join("descriptor.json"),
        fr.dir.join("descriptor.json"),
    )
    .unwrap();
    let (code, stderr) = refused(fr);
    assert_ne!(code, 0);
    assert!(stderr.contains("[node.identity_mismatch]"), "{stderr}");
    assert!(stderr.contains("describes node dz-247"), "{stderr}");
    assert!(
        stderr.contains("put back this node's own descriptor.json"),
        "{stderr}"
    );
}

/// What the CLI shows of stored content that contradicts what was signed, and of what a sender
/// signed: `msg show --signed`, then, after a received body is edited in the database,
/// `ledger alarms` (exit 1, naming the row), `node status`, and `msg show` refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_shows_signed_messages_and_integrity_alarms() {
    comity_node::install_default_provider();
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let (dz, fr) = (&nodes[0], &nodes[1]);
    let config = fr.dir.join("node.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(text.contains("\n[integrity]\n"), "{text}");
    let text = text.replace("\n[integrity]\n", "\n[integrity]\ninterval_seconds = 1\n");
    std::fs::write(&config, text).unwrap();
    let _dz = serve(dz);
    let _fr = serve(fr);
    let id = deliver(dz, "fr-ocl", "the original text").await;
    let d = fr.dir.to_str().unwrap();

    let signed: Value =
        serde_json::from_str(&ok(&["msg", "show", "--dir", d, "--signed", &id])).unwrap();
    assert_eq!(signed["verified"], true, "{signed}");
    assert_eq!(signed["from"], "dz-247");
    assert_eq!(
        signed["signature"].as_str().map(str::len),
        Some(88),
        "{signed}"
    );
    let alarms = comity(&["ledger", "alarms", "--dir", d]);
    assert_eq!(alarms.status.code(), Some(0));

    let store = Store::open(&format!("sqlite:{}", fr.dir.join("node.db").display()))
        .await
        .unwrap();
    let edit = "UPDATE inbox SET body = $1 WHERE id = $2";
    let args = [
        TamperValue::Bytes(br#"{"text":"an edited text"}"#.to_vec()),
        TamperValue::Text(id.clone()),
    ];
    assert_eq!(store.tamper(edit, &args).await.unwrap(), 1);
    store.close().await;

    let deadline = Instant::now() + Duration::from_secs(60);
    let listed = loop {
        let out = comity(&["ledger", "alarms", "--dir", d]);
        if out.status.code() == Some(1) {
            break String::from_utf8(out.stdout).unwrap();
        }
        assert!(Instant::now() < deadline, "no alarm");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(listed.contains("fr-ocl integrity"), "{listed}");
    assert!(
        listed.contains(&format!("stored inbox row {id}: body")),
        "{listed}"
    );
    let status = ok(&["node", "status", "--dir", d]);
    assert!(status.contains("integrity alarms 1"), "{status}");
    let shown = comity(&["msg", "show", "--dir", d, &id]);
    assert!(!shown.status.success());
    let stderr = String::from_utf8_lossy(&shown.stderr);
    assert!(stderr.contains("[store.tampered]"), "{stderr}");
    assert!(!String::from_utf8_lossy(&shown.stdout).contains("edited"));
}

/// A key rotation is not a foreign identity: after `comity node rotate` and a trust list that
/// admits it, the node starts on its own database (its checkpoints signed with the retired key
/// still verify), signs on with the new key and keeps exchanging.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_keys_were_rotated_keeps_its_database() {
    comity_node::install_default_provider();
    let base = tempfile::tempdir().unwrap();
    let nodes = history(base.path()).await;
    let fed = base.path().join("federation");
    let (dz, fr) = (&nodes[0], &nodes[1]);
    let root = std::fs::read_to_string(fr.dir.join("node.toml"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("federation_root = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let before = copied_size(fr);
    ok(&["node", "rotate", "--dir", fr.dir.to_str().unwrap()]);
    let f = fed.to_str().unwrap();
    ok(&[
        "federation",
        "admit",
        "--dir",
        f,
        fr.dir.join("descriptor.json").to_str().unwrap(),
    ]);
    ok(&["federation", "publish", "--dir", f]);
    let list = fed.join("trust-list.json");
    for n in &nodes {
        let d = n.dir.to_str().unwrap();
        ok(&[
            "node",
            "join",
            "--dir",
            d,
            "--trust-list",
            list.to_str().unwrap(),
            "--root",
            &root,
        ]);
    }
    let _dz = serve(dz);
    let _fr = serve(fr);
    deliver(dz, "fr-ocl", "after the rotation").await;
    let size = signed_all(fr).await;
    assert!(size > before, "{size} after {before}");
    let status = get(fr, "/api/v1/ledger").await;
    assert_eq!(status["integrity"]["alarms"], 0, "{status}");
}
