//! A node directory is private whatever the umask `comity` runs under: files 0600, folders
//! 0700, including the SQLite database, its WAL and the evidence vault; an older node's files
//! are made private when it is served again, and the change is logged.
#![cfg(unix)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::cli::PASSPHRASE;

/// `comity ARGS` started by a shell whose umask lets everyone read what it creates.
fn under_umask_022(args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg("umask 022 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env("COMITY_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null());
    c
}

fn run(args: &[&str]) -> String {
    let out: Output = under_umask_022(args).output().unwrap();
    assert!(
        out.status.success(),
        "comity {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &str, api: &str, log: &Path) -> Serving {
    let child = under_umask_022(&["node", "serve", "--dir", dir])
        .env("COMITY_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let served = Serving(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(api).is_err() {
        assert!(
            Instant::now() < deadline,
            "the node did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    served
}

/// Every path under `dir` (and `dir` itself) whose mode is not 0700 (folders) or 0600 (files).
fn not_private(dir: &Path) -> Vec<String> {
    let mut wrong = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        let want = if meta.is_dir() { 0o700 } else { 0o600 };
        if mode != want {
            wrong.push(format!("{} {mode:o}", p.display()));
        }
        if meta.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
        }
    }
    wrong.sort();
    wrong
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn node_files_are_private_whatever_the_umask() {
    let base = tempfile::tempdir().unwrap();
    let fed = base.path().join("federation");
    let f = fed.to_str().unwrap();
    let node = base.path().join("nodes").join("dz-247");
    let dir = node.to_str().unwrap();
    let api = format!("127.0.0.1:{}", free_port());
    let out = run(&["federation", "init", "--dir", f, "--name", "test"]);
    let root = out
        .lines()
        .find_map(|l| l.strip_prefix("root key: "))
        .unwrap()
        .to_owned();
    run(&[
        "node",
        "init",
        "--dir",
        dir,
        "--id",
        "dz-247",
        "--jurisdiction",
        "DZ",
        "--role",
        "24-7",
        "--name",
        "dz",
        "--endpoint",
        &format!("https://127.0.0.1:{}", free_port()),
        "--api-listen",
        &api,
    ]);
    let descriptor = node.join("descriptor.json");
    run(&[
        "federation",
        "admit",
        "--dir",
        f,
        descriptor.to_str().unwrap(),
    ]);
    run(&["federation", "publish", "--dir", f]);
    let list = fed.join("trust-list.json");
    run(&[
        "node",
        "join",
        "--dir",
        dir,
        "--trust-list",
        list.to_str().unwrap(),
        "--root",
        &root,
    ]);
    assert_eq!(
        not_private(&node),
        Vec::<String>::new(),
        "after init and join"
    );

    let log = base.path().join("serve.log");
    let served = serve(dir, &api, &log);
    let seized = base.path().join("seized.txt");
    std::fs::write(&seized, b"the suspect's chat log").unwrap();
    run(&[
        "evidence",
        "add",
        "--dir",
        dir,
        "--case",
        "C-1",
        seized.to_str().unwrap(),
    ]);
    let package = base.path().join("C-1.zip");
    run(&[
        "evidence",
        "export",
        "--dir",
        dir,
        "--case",
        "C-1",
        "--purpose",
        "proceedings 2026/1",
        "--out",
        package.to_str().unwrap(),
    ]);
    let names: Vec<PathBuf> = files_under(&node);
    assert!(
        names.iter().any(|p| p.ends_with("node.db-wal")),
        "the WAL is there to check: {names:?}"
    );
    assert!(
        names
            .iter()
            .any(|p| p.starts_with(node.join("evidence/objects"))),
        "the vault holds the item: {names:?}"
    );
    assert_eq!(
        not_private(&node),
        Vec::<String>::new(),
        "while serving, after evidence was added and exported"
    );
    let package_mode = std::fs::metadata(&package).unwrap().permissions().mode() & 0o777;
    assert_eq!(
        package_mode, 0o600,
        "the exported package holds evidence in clear"
    );
    drop(served);

    // An older node's directory, written under the umask: served again, it is made private.
    let loosen = [
        (node.clone(), 0o755),
        (node.join("node.toml"), 0o644),
        (node.join("descriptor.json"), 0o644),
        (node.join("node.db"), 0o644),
        (node.join("evidence"), 0o755),
    ];
    for (p, mode) in &loosen {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    let log = base.path().join("serve-again.log");
    let served = serve(dir, &api, &log);
    assert_eq!(not_private(&node), Vec::<String>::new(), "served again");
    drop(served);
    let text = std::fs::read_to_string(&log).unwrap();
    for (p, mode) in &loosen {
        assert!(
            text.contains(&format!("{} was mode {mode:o}", p.display())),
            "the change of {} is logged: {text}",
            p.display()
        );
    }
}
