//! Measurements driven by bench/pdq/bench.py, which runs the references in the same session.
//!
//! `pdq_bench match DB QUERIES RADIUS` — DB and QUERIES hold 32-byte hashes back to back. Prints
//! one JSON object: build time, memory, queries per second on one and on all cores, and per query
//! the number of results and a checksum of their ids, so the driver can compare result sets.
//!
//! `pdq_bench hash FILE...` — decode and hash every file, once on one core and once on all.

use std::time::Instant;

use comity_pdq::{DecodeLimits, HashIndex, PdqHash, hash_image_bytes};
use rayon::prelude::*;

fn read_hashes(path: &str) -> Vec<PdqHash> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(32)
        .map(|c| {
            let mut a = [0u8; 32];
            a.copy_from_slice(c);
            PdqHash::from_bytes(a)
        })
        .collect()
}

/// Order-independent digest of a result set (count, sum of ids, sum of squared ids).
fn digest(ids: impl Iterator<Item = u64>) -> (u64, u64, u64) {
    ids.fold((0, 0, 0), |(n, s, q), id| {
        (
            n + 1,
            s.wrapping_add(id),
            q.wrapping_add(id.wrapping_mul(id)),
        )
    })
}

fn bench_match(db: &str, queries: &str, radius: u32) {
    let db = read_hashes(db);
    let queries = read_hashes(queries);
    let start = Instant::now();
    let index =
        HashIndex::from_entries(db.iter().enumerate().map(|(i, h)| (*h, i as u64))).unwrap();
    let build_s = start.elapsed().as_secs_f64();
    let one_core_n = queries.len().min(500);
    let start = Instant::now();
    for q in &queries[..one_core_n] {
        std::hint::black_box(index.search(q, radius));
    }
    let one_core_qps = one_core_n as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let results: Vec<(u64, u64, u64)> = queries
        .par_iter()
        .map(|q| digest(index.search(q, radius).into_iter().map(|m| m.id)))
        .collect();
    let all_cores_qps = queries.len() as f64 / start.elapsed().as_secs_f64();
    let per_query: Vec<String> = results
        .iter()
        .map(|(n, s, q)| format!("[{n},{s},{q}]"))
        .collect();
    println!(
        "{{\"n\":{},\"build_s\":{build_s:.3},\"bytes_per_hash\":{:.1},\"one_core_qps\":{one_core_qps:.1},\"all_cores_qps\":{all_cores_qps:.1},\"threads\":{},\"results\":[{}]}}",
        db.len(),
        index.memory_bytes() as f64 / db.len() as f64,
        rayon::current_num_threads(),
        per_query.join(",")
    );
}

fn bench_hash(files: &[String]) {
    let data: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).unwrap_or_else(|e| panic!("{f}: {e}")))
        .collect();
    let limits = DecodeLimits::default();
    let start = Instant::now();
    for bytes in &data {
        std::hint::black_box(hash_image_bytes(bytes, &limits).unwrap());
    }
    let one_core = data.len() as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let hashes: Vec<String> = data
        .par_iter()
        .map(|b| hash_image_bytes(b, &limits).unwrap().hash.to_string())
        .collect();
    let all_cores = data.len() as f64 / start.elapsed().as_secs_f64();
    let quoted: Vec<String> = hashes.iter().map(|h| format!("\"{h}\"")).collect();
    println!(
        "{{\"images\":{},\"one_core_ips\":{one_core:.1},\"all_cores_ips\":{all_cores:.1},\"threads\":{},\"hashes\":[{}]}}",
        data.len(),
        rayon::current_num_threads(),
        quoted.join(",")
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("match") if args.len() == 4 => {
            bench_match(&args[1], &args[2], args[3].parse().unwrap())
        }
        Some("hash") if args.len() > 1 => bench_hash(&args[1..]),
        _ => {
            eprintln!("usage: pdq_bench match DB QUERIES RADIUS | pdq_bench hash FILE...");
            std::process::exit(2);
        }
    }
}
