//! `cargo run --release --bin durable [ENTRIES]` in bench/ledger: durable appends per second
//! through the node's store (entries and stored hashes committed in one transaction per batch),
//! on SQLite (WAL, synchronous=FULL) and on PostgreSQL (`COMITY_BENCH_POSTGRES`, default the
//! local server), against raw SHA-256 of the same number of tree nodes in the same run; then
//! inclusion proofs generated from the database and verified, per second.

use std::hint::black_box;
use std::time::{Duration, Instant};

use comity_ledger::entry::{Digest, Subject};
use comity_ledger::tree::{inclusion_proof, stored_hash_count};
use comity_ledger::{Entry, EntryKind, leaf_hash, verify_inclusion};
use comity_store::{LedgerAppend, Store};
use sha2::{Digest as _, Sha256};

fn raw_sha256(n: u64) -> Duration {
    let mut buf = [0u8; 65];
    buf[0] = 1;
    let start = Instant::now();
    for _ in 0..n {
        let d = Sha256::digest(buf);
        buf[1..33].copy_from_slice(&d);
    }
    black_box(buf);
    start.elapsed()
}

/// A realistic entry: a message received, ~330 bytes.
fn entry(i: u64) -> LedgerAppend {
    let id = format!("0193a3c4-5e6f-7a8b-9c0d-{i:012x}");
    let e = Entry {
        kind: EntryKind::MessageReceived,
        time_ms: 1_764_324_000_000 + i,
        actor: "fr-ocl".into(),
        subjects: vec![
            Subject { kind: "message".into(), id: id.clone() },
            Subject { kind: "conversation".into(), id },
            Subject { kind: "node".into(), id: "dz-247".into() },
        ],
        digests: vec![Digest {
            label: "envelope".into(),
            sha256: hex::encode(Sha256::digest(i.to_be_bytes())),
        }],
        attrs: [("message_kind".to_owned(), "preservation.request".to_owned())].into(),
    };
    LedgerAppend { kind: "message_received".into(), time: e.time_ms as i64, bytes: e.to_bytes().unwrap() }
}

async fn appends(store: &Store, total: u64, batch: u64) -> Duration {
    let entries: Vec<LedgerAppend> = (0..total).map(entry).collect();
    let start = Instant::now();
    for chunk in entries.chunks(batch as usize) {
        store.ledger_append(chunk).await.unwrap();
    }
    start.elapsed()
}

async fn proofs(store: &Store, size: u64, count: u64) -> (Duration, Duration) {
    let root = store.ledger_root(size).await.unwrap();
    let mut made = Vec::new();
    let start = Instant::now();
    for k in 0..count {
        let index = (k * 7919) % size;
        let proof = store.ledger_compute(|r| inclusion_proof(index, size, r)).await.unwrap();
        made.push((index, proof));
    }
    let generated = start.elapsed();
    let leaves: Vec<_> = made
        .iter()
        .map(|(i, _)| leaf_hash(&entry(*i).bytes))
        .collect();
    let start = Instant::now();
    for ((index, proof), leaf) in made.iter().zip(&leaves) {
        verify_inclusion(*index, size, leaf, proof, &root).unwrap();
    }
    (generated, start.elapsed())
}

async fn run(name: &str, url: &str, total: u64) {
    for batch in [1000, 100] {
        let store = Store::open(url).await.unwrap();
        let took = appends(&store, total, batch).await;
        let nodes = stored_hash_count(total);
        let reference = raw_sha256(nodes);
        println!(
            "{name:<10} batch {batch:>5}: {:>9.0} durable appends/s  ({} entries, {:.2} s; raw SHA-256 of its {nodes} nodes {:.3} s, ratio {:.1}x)",
            total as f64 / took.as_secs_f64(),
            total,
            took.as_secs_f64(),
            reference.as_secs_f64(),
            took.as_secs_f64() / reference.as_secs_f64()
        );
        if batch == 1000 {
            let (generated, verified) = proofs(&store, total, 2000).await;
            println!(
                "{name:<10} inclusion proofs from the database: {:>8.0} generated/s, {:>8.0} verified/s",
                2000.0 / generated.as_secs_f64(),
                2000.0 / verified.as_secs_f64()
            );
        }
        store.close().await;
        if name == "postgres" {
            return;
        }
        let _ = std::fs::remove_file(url.trim_start_matches("sqlite:"));
    }
}

#[tokio::main]
async fn main() {
    let total: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("bench.db").display());
    run("sqlite", &sqlite, total).await;
    let admin = std::env::var("COMITY_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("comity_ledger_bench_{}", std::process::id());
    match Store::create_postgres_database(&admin, &name).await {
        Ok(url) => run("postgres", &url, total).await,
        Err(e) => println!("postgres   skipped: {e}"),
    }
}
