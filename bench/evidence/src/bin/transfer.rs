//! `cargo run --release --bin transfer -- COMITY_BIN [SIZE_MIB] [ROUNDS] [WORK_DIR]`: node-to-node
//! evidence transfer on loopback. Sets up a federation of two nodes (`fr-ocl`, `dz-247`) with the
//! `comity` binary, serves both (SQLite, mutual TLS on 127.0.0.1), and per round writes a
//! SIZE_MIB file (default 256) of its own, times `openssl dgst -sha256` and an in-process vault
//! ingest of it (the references), adds it to France's node (`comity evidence add`), sends it to
//! Algeria (`comity evidence send`: `vault.offer` hashes the item, then `sent` and the offer
//! commit) and polls Algeria's transfers until the transfer is completed, which Algeria records
//! in the transaction of its `verified` event. Deletes WORK_DIR at the end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "../input.rs"]
mod input;

use comity_evidence::{Vault, WrapKey};
use comity_seal::NodeSecrets;
use comity_seal::rand_core::UnwrapErr;

const PASSPHRASE: &str = "comity-transfer-bench";

struct Nodes {
    children: Vec<Child>,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn comity(bin: &Path, args: &[&str]) -> String {
    let out = Command::new(bin)
        .args(args)
        .env("COMITY_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "comity {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn setup(bin: &Path, work: &Path) -> Nodes {
    let dir = |n: &str| work.join(n).to_string_lossy().into_owned();
    let fed = dir("fed");
    let out = comity(
        bin,
        &["federation", "init", "--dir", &fed, "--name", "bench"],
    );
    let root = out
        .lines()
        .find_map(|l| l.strip_prefix("root key: "))
        .unwrap()
        .trim()
        .to_owned();
    let nodes = [
        ("fr-ocl", "FR", 17401, 17501),
        ("dz-247", "DZ", 17402, 17502),
    ];
    for (id, j, fport, aport) in nodes {
        comity(
            bin,
            &[
                "node",
                "init",
                "--dir",
                &dir(id),
                "--id",
                id,
                "--jurisdiction",
                j,
                "--role",
                "24-7",
                "--name",
                id,
                "--endpoint",
                &format!("https://127.0.0.1:{fport}"),
                "--api-listen",
                &format!("127.0.0.1:{aport}"),
            ],
        );
        let descriptor = format!("{}/descriptor.json", dir(id));
        comity(bin, &["federation", "admit", "--dir", &fed, &descriptor]);
    }
    comity(bin, &["federation", "publish", "--dir", &fed]);
    let list = format!("{fed}/trust-list.json");
    let mut children = Vec::new();
    for (id, ..) in nodes {
        comity(
            bin,
            &[
                "node",
                "join",
                "--dir",
                &dir(id),
                "--trust-list",
                &list,
                "--root",
                &root,
            ],
        );
        let log = std::fs::File::create(work.join(format!("{id}.log"))).unwrap();
        children.push(
            Command::new(bin)
                .args(["node", "serve", "--dir", &dir(id)])
                .env("COMITY_PASSPHRASE", PASSPHRASE)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }
    let running = Nodes { children };
    for (id, ..) in nodes {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !Command::new(bin)
            .args(["node", "status", "--dir", &dir(id)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            assert!(Instant::now() < deadline, "{id} did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    running
}

fn openssl(input: &Path) -> f64 {
    let t = Instant::now();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256"])
        .arg(input)
        .output()
        .unwrap();
    assert!(out.status.success());
    t.elapsed().as_secs_f64()
}

fn ingest(input: &Path, vault_dir: &Path) -> f64 {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t = Instant::now();
    rt.block_on(async {
        let secrets = NodeSecrets::generate(&mut UnwrapErr(getrandom::SysRng));
        let vault = Vault::local(vault_dir, WrapKey::from_node_secrets(&secrets)).unwrap();
        let f = tokio::fs::File::open(input).await.unwrap();
        vault.ingest(f, |_| {}).await.unwrap()
    });
    t.elapsed().as_secs_f64()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let bin = PathBuf::from(
        args.get(1)
            .expect("usage: transfer COMITY_BIN [SIZE_MIB] [ROUNDS] [WORK_DIR]"),
    );
    let mib: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(256);
    let rounds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(3);
    let work = PathBuf::from(
        args.get(4)
            .cloned()
            .unwrap_or("/tmp/comity-transfer-bench".into()),
    );
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let mb = (mib * 1024 * 1024) as f64 / 1e6;
    println!(
        "{mib} MiB, {rounds} rounds, load average at start {}",
        loadavg()
    );
    let nodes = setup(&bin, &work);
    let (fr, dz) = (work.join("fr-ocl"), work.join("dz-247"));
    let (fr, dz) = (fr.to_str().unwrap(), dz.to_str().unwrap());
    let mut rows: Vec<[f64; 5]> = Vec::new();
    for r in 0..rounds {
        let input = work.join(format!("input-{r}.bin"));
        input::write(&input, mib, r);
        let input_s = input.to_str().unwrap();
        let ssl = openssl(&input);
        let vault = ingest(&input, &work.join(format!("vault-{r}")));
        let t = Instant::now();
        let added = comity(
            bin.as_path(),
            &["evidence", "add", "--dir", fr, "--case", "BENCH-1", input_s],
        );
        let add = t.elapsed().as_secs_f64();
        let sha = added.split_whitespace().next().unwrap().to_owned();
        let t = Instant::now();
        let sent = comity(
            &bin,
            &[
                "evidence",
                "send",
                "--dir",
                fr,
                &sha,
                "--to",
                "dz-247",
                "--purpose",
                "BENCH",
            ],
        );
        let send = t.elapsed().as_secs_f64();
        let id = sent.split_whitespace().next().unwrap().to_owned();
        loop {
            let list = comity(&bin, &["evidence", "transfers", "--dir", dz]);
            let line = list.lines().find(|l| l.starts_with(&id)).unwrap_or("");
            if line.contains(" completed ") {
                break;
            }
            assert!(!line.contains(" refused "), "transfer refused: {line}");
            std::thread::sleep(Duration::from_millis(20));
        }
        let total = t.elapsed().as_secs_f64();
        println!(
            "round {r}: openssl {:.0} MB/s, vault ingest {:.0} MB/s, node add {:.0} MB/s, \
             send (offer) {:.2} s, send to verified {:.2} s = {:.0} MB/s ({:.2} of openssl, \
             {:.2} of ingest); load {}",
            mb / ssl,
            mb / vault,
            mb / add,
            send,
            total,
            mb / total,
            ssl / total,
            vault / total,
            loadavg()
        );
        rows.push([ssl, vault, add, send, total]);
        std::fs::remove_file(&input).unwrap();
        let _ = std::fs::remove_dir_all(work.join(format!("vault-{r}")));
    }
    let col = |k: usize| median(rows.iter().map(|r| r[k]).collect());
    let (ssl, vault, add, send, total) = (col(0), col(1), col(2), col(3), col(4));
    println!(
        "medians: openssl {:.0} MB/s, vault ingest {:.0} MB/s, node add {:.0} MB/s, send (offer) \
         {:.2} s, send to verified {:.2} s = {:.0} MB/s = {:.2} of openssl, {:.2} of ingest; \
         load average at end {}",
        mb / ssl,
        mb / vault,
        mb / add,
        send,
        total,
        mb / total,
        ssl / total,
        vault / total,
        loadavg()
    );
    drop(nodes);
    let _ = std::fs::remove_dir_all(&work);
}
