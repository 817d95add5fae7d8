//! `cargo run --release --bin recheck [ENTRIES]` in bench/ledger: what checking a node's stored
//! log against the tree it signed costs (docs/ledger.md "Integrity of the store"), on SQLite and
//! PostgreSQL (`COMITY_BENCH_POSTGRES`, default the local server): opening the file (SQLite's
//! quick_check), the bounded start-up check, the background walk over every entry, the full
//! recompute that repairs a missing hash, and the one that refuses an edited entry and names it;
//! next to raw SHA-256 of the same number of tree nodes in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use comity_ledger::entry::{Digest, Subject};
use comity_ledger::tree::{stored_hash_count, stored_hash_index};
use comity_ledger::{Entry, EntryKind};
use comity_store::{LedgerAnchor, LedgerCheck, LedgerAppend, Store, StoreError, TamperValue};
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

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

async fn run(name: &str, url: &str, total: u64) {
    let store = Store::open(url).await.unwrap();
    let start = Instant::now();
    let mut next = 0;
    while next < total {
        let batch: Vec<LedgerAppend> = (next..(next + 1000).min(total)).map(entry).collect();
        store.ledger_append(&batch).await.unwrap();
        next += batch.len() as u64;
    }
    println!("{name:<8} {total} entries appended in {}", secs(start.elapsed()));
    let anchor = LedgerAnchor { size: total, root: store.ledger_root(total).await.unwrap() };
    store.close().await;
    if let Some(path) = url.strip_prefix("sqlite:") {
        let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        println!("{name:<8} database file {:.0} MB", bytes as f64 / 1e6);
    }

    let start = Instant::now();
    let store = Store::open(url).await.unwrap();
    println!("{name:<8} open (SQLite: PRAGMA quick_check first): {}", secs(start.elapsed()));

    let start = Instant::now();
    let check = store.ledger_check(&[anchor], 10_000).await.unwrap();
    assert!(matches!(check, LedgerCheck::Consistent { .. }), "{check:?}");
    println!("{name:<8} start-up check (counts, signed root, newest 10,000 entries rehashed): {}", secs(start.elapsed()));

    let start = Instant::now();
    let mut from = 0;
    let mut steps = 0;
    while from < total {
        let to = (from + 10_000).min(total);
        assert!(store.ledger_verify_range(from, to).await.unwrap().is_none());
        from = to;
        steps += 1;
    }
    let walk = start.elapsed();
    println!(
        "{name:<8} background walk over every entry, {steps} steps of 10,000: {} ({:.0} ms a step)",
        secs(walk),
        walk.as_secs_f64() * 1000.0 / steps as f64
    );

    let delete = "DELETE FROM ledger_hash WHERE idx = $1";
    let missing = TamperValue::Int(stored_hash_index(0, total / 2) as i64);
    store.tamper(delete, &[missing]).await.unwrap();
    let start = Instant::now();
    let check = store.ledger_check(&[anchor], 10_000).await.unwrap();
    assert!(matches!(check, LedgerCheck::Repaired { .. }), "{check:?}");
    println!("{name:<8} full recompute, one hash missing, rows rewritten: {}", secs(start.elapsed()));

    let edited = (total / 3, b"comity-ledger-entry/v1\nkind data_access\n".to_vec());
    store
        .tamper(
            "UPDATE ledger_entry SET bytes = $1 WHERE idx = $2",
            &[TamperValue::Bytes(edited.1), TamperValue::Int(edited.0 as i64)],
        )
        .await
        .unwrap();
    store.tamper(delete, &[TamperValue::Int(stored_hash_count(total) as i64 - 1)]).await.unwrap();
    let start = Instant::now();
    match store.ledger_check(&[anchor], 10_000).await {
        Err(StoreError::LedgerDiverged(d)) => {
            assert_eq!((d.first, d.last), (edited.0, edited.0));
            println!("{name:<8} full recompute, entry {} edited: refused naming it in {}", d.first, secs(start.elapsed()));
        }
        other => panic!("{other:?}"),
    }
    let reference = raw_sha256(stored_hash_count(total));
    println!("{name:<8} raw SHA-256 of the {} tree nodes: {}", stored_hash_count(total), secs(reference));
    store.close().await;
}

#[tokio::main]
async fn main() {
    let total: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite:{}", dir.path().join("bench.db").display());
    run("sqlite", &sqlite, total).await;
    let admin = std::env::var("COMITY_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("comity_recheck_bench_{}", std::process::id());
    match Store::create_postgres_database(&admin, &name).await {
        Ok(url) => run("postgres", &url, total).await,
        Err(e) => println!("postgres skipped: {e}"),
    }
}
