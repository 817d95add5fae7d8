//! `cargo run --release` in bench/ledger: appends, inclusion-proof generation and verification
//! per second, each against raw SHA-256 over the same number of tree nodes in the same run.

use std::hint::black_box;
use std::time::{Duration, Instant};

use comity_ledger::tree::stored_hash_count;
use comity_ledger::{Hash, MemoryLog, leaf_hash, verify_inclusion};
use sha2::{Digest, Sha256};

/// Raw SHA-256 over `n` node-sized inputs (0x01 || 64 bytes), chained so nothing is skipped.
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

/// Deterministic spread of indexes (no OS randomness needed).
fn indexes(count: usize, below: u64) -> Vec<u64> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count)
        .map(|_| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (x >> 11) % below
        })
        .collect()
}

fn per_sec(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let size: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1 << 20);
    let entries: Vec<Vec<u8>> = (0..size).map(|i| format!("entry {i:012}\n").into_bytes()).collect();

    // Appends: each append hashes the entry and every subtree it completes.
    let mut log = MemoryLog::new("bench.example/log");
    let start = Instant::now();
    for e in &entries {
        log.append(e).unwrap();
    }
    let append = start.elapsed();
    let nodes = stored_hash_count(size);
    let append_ref = raw_sha256(nodes);

    let mut batched = MemoryLog::new("bench.example/log");
    let start = Instant::now();
    for chunk in entries.chunks(1000) {
        batched.append_batch(chunk).unwrap();
    }
    let batch = start.elapsed();
    assert_eq!(batched.root().unwrap(), log.root().unwrap());

    // Inclusion proofs from stored hashes, and their verification.
    let root = log.root().unwrap();
    let picks = indexes(100_000, size);
    let start = Instant::now();
    let proofs: Vec<Vec<Hash>> = picks.iter().map(|&i| log.inclusion_proof(i, size).unwrap()).collect();
    let prove = start.elapsed();
    let proof_nodes: u64 = proofs.iter().map(|p| p.len() as u64).sum();
    let leaves: Vec<Hash> = picks.iter().map(|&i| leaf_hash(&entries[i as usize])).collect();
    let start = Instant::now();
    for ((i, p), l) in picks.iter().zip(&proofs).zip(&leaves) {
        verify_inclusion(*i, size, l, p, &root).unwrap();
    }
    let verify = start.elapsed();
    let proof_ref = raw_sha256(proof_nodes);

    let n = picks.len() as u64;
    println!("tree size {size}, {nodes} stored hashes, {n} proofs of {:.1} nodes on average", proof_nodes as f64 / n as f64);
    println!("{:<34} {:>14} {:>22}", "operation", "per second", "time / raw SHA-256");
    let row = |name: &str, count: u64, d: Duration, reference: Duration| {
        println!("{name:<34} {:>14.0} {:>21.2}x", per_sec(count, d), d.as_secs_f64() / reference.as_secs_f64());
    };
    row("append (one at a time)", size, append, append_ref);
    row("append (batches of 1000)", size, batch, append_ref);
    row("inclusion proof generation", n, prove, proof_ref);
    row("inclusion proof verification", n, verify, proof_ref);
    println!("raw SHA-256 node hashes per second: {:.0}", per_sec(nodes, append_ref));
}
