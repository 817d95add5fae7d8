//! Runs the real binary: federation and node set-up on disk, as an operator would.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const PASSPHRASE: &str = "correct horse battery staple";

pub fn comity(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env("COMITY_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn ok(args: &[&str]) -> String {
    let out = comity(args);
    assert!(
        out.status.success(),
        "comity {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Node {
    pub dir: PathBuf,
    pub api: String,
    pub token: String,
}

/// A federation of nodes created with the CLI; returns each node's directory and API address.
pub fn federation(base: &Path, ids: &[(&str, &str)]) -> Vec<Node> {
    let fed = base.join("federation");
    let out = ok(&[
        "federation",
        "init",
        "--dir",
        fed.to_str().unwrap(),
        "--name",
        "test",
    ]);
    let root = out
        .lines()
        .find_map(|l| l.strip_prefix("root key: "))
        .unwrap()
        .to_owned();
    let mut nodes = Vec::new();
    for (id, jurisdiction) in ids {
        let dir = base.join(id);
        let api = format!("127.0.0.1:{}", free_port());
        ok(&[
            "node",
            "init",
            "--dir",
            dir.to_str().unwrap(),
            "--id",
            id,
            "--jurisdiction",
            jurisdiction,
            "--role",
            "24-7",
            "--name",
            id,
            "--endpoint",
            &format!("https://127.0.0.1:{}", free_port()),
            "--api-listen",
            &api,
        ]);
        ok(&[
            "federation",
            "admit",
            "--dir",
            fed.to_str().unwrap(),
            dir.join("descriptor.json").to_str().unwrap(),
        ]);
        let token = std::fs::read_to_string(dir.join("api.token")).unwrap();
        nodes.push(Node {
            dir,
            api: format!("http://{api}"),
            token,
        });
    }
    ok(&["federation", "publish", "--dir", fed.to_str().unwrap()]);
    let list = fed.join("trust-list.json");
    for n in &nodes {
        ok(&[
            "node",
            "join",
            "--dir",
            n.dir.to_str().unwrap(),
            "--trust-list",
            list.to_str().unwrap(),
            "--root",
            &root,
        ]);
    }
    nodes
}

/// A `comity node serve` process, killed when dropped (also when a test fails).
pub struct Served(pub Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `comity node serve` and waits until its API answers.
pub fn serve(node: &Node) -> Served {
    let child = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["node", "serve", "--dir", node.dir.to_str().unwrap()])
        .env("COMITY_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(node.api.trim_start_matches("http://")).is_err() {
        assert!(
            Instant::now() < deadline,
            "node {} did not start",
            node.dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Served(child)
}

#[test]
fn node_set_up_refuses_bad_input_with_clear_messages() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("n");
    let d = dir.to_str().unwrap();
    let bad = comity(&[
        "node",
        "init",
        "--dir",
        d,
        "--id",
        "DZ MOJ",
        "--jurisdiction",
        "DZ",
        "--role",
        "24-7",
        "--name",
        "x",
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("invalid node id"));
    let bad = comity(&[
        "node",
        "init",
        "--dir",
        d,
        "--id",
        "dz-moj",
        "--jurisdiction",
        "XX",
        "--role",
        "24-7",
        "--name",
        "x",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown jurisdiction"));
    let bad = comity(&[
        "node",
        "init",
        "--dir",
        d,
        "--id",
        "dz-moj",
        "--jurisdiction",
        "DZ",
        "--role",
        "spy",
        "--name",
        "x",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"));

    ok(&[
        "node",
        "init",
        "--dir",
        d,
        "--id",
        "dz-moj",
        "--jurisdiction",
        "DZ",
        "--role",
        "central-authority",
        "--name",
        "x",
    ]);
    let again = comity(&[
        "node",
        "init",
        "--dir",
        d,
        "--id",
        "dz-moj",
        "--jurisdiction",
        "DZ",
        "--role",
        "24-7",
        "--name",
        "x",
    ]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("already holds a node"));
    let secrets = std::fs::read_to_string(dir.join("secrets.json")).unwrap();
    assert!(
        !secrets.contains(PASSPHRASE),
        "the passphrase is not stored"
    );

    let wrong = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["node", "rotate", "--dir", d])
        .env("COMITY_PASSPHRASE", "not the passphrase")
        .output()
        .unwrap();
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("seal.wrong_passphrase"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );

    let serve = comity(&["node", "serve", "--dir", d]);
    assert!(
        String::from_utf8_lossy(&serve.stderr).contains("comity node join"),
        "a node without a trust list says what to do"
    );
}

#[test]
fn key_rotation_is_admitted_and_the_old_key_is_retired() {
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let fed = base.path().join("federation");
    let d = nodes[0].dir.to_str().unwrap();
    let out = ok(&["node", "rotate", "--dir", d]);
    assert!(out.contains("descriptor version 2"), "{out}");
    let note = ok(&[
        "federation",
        "admit",
        "--dir",
        fed.to_str().unwrap(),
        nodes[0].dir.join("descriptor.json").to_str().unwrap(),
    ]);
    assert!(note.contains("retired after"), "{note}");
    let published = ok(&["federation", "publish", "--dir", fed.to_str().unwrap()]);
    assert!(published.contains("serial 2"), "{published}");
    let stale = comity(&[
        "federation",
        "admit",
        "--dir",
        fed.to_str().unwrap(),
        nodes[1].dir.join("descriptor.json").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&stale.stderr).contains("higher version"));
}
