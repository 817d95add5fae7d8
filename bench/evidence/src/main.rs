//! `cargo run --release -- [SIZE_MIB] [WORK_DIR]`: writes a SIZE_MIB file (default 1024) in
//! WORK_DIR (default /tmp/comity-evidence-bench), times `openssl dgst -sha256` on it, the hashing
//! and the chunk sealing alone on one core, a `dd` copy with fsync of the same file (the storage
//! limit), and the ingest into a local vault in a child process (which reports its peak resident
//! memory); then packages the file with two signed custody events and their ledger proofs and
//! times `verify_package`. Deletes WORK_DIR at the end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[path = "input.rs"]
mod input;

use comity_evidence::custody::{Acquisition, Action, CustodyEvent};
use comity_evidence::package::{Package, PackageItem, file_content, write_dir};
use comity_evidence::{Sha256Digest, Vault, WrapKey, verify_package};
use comity_ledger::{MemoryLog, ProofBundle, names};
use comity_model::Timestamp;
use comity_seal::rand_core::UnwrapErr;
use comity_seal::{Descriptor, NodeSecrets, SignedDescriptor};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("ingest") {
        ingest_child(Path::new(&args[2]), Path::new(&args[3]));
        return;
    }
    let mib: u64 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
    let work = PathBuf::from(
        args.get(2)
            .cloned()
            .unwrap_or("/tmp/comity-evidence-bench".into()),
    );
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).unwrap();
    let input = work.join("input.bin");
    input::write(&input, mib, 0);
    let bytes = mib * 1024 * 1024;
    let mb = bytes as f64 / 1e6;

    // Warm the page cache for both runs alike.
    let _ = Command::new("cat")
        .arg(&input)
        .stdout(std::process::Stdio::null())
        .status();

    let (sha_only, seal_only) = components(&input);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();

    // Interleaved rounds, medians reported: other processes' load varies from second to second.
    let mut rounds = Vec::new();
    let mut hwm_kib = 0;
    let mut sha = None;
    for round in 0..ROUNDS {
        let (openssl, openssl_hex) = openssl_sha256(&input);
        let copy = dd_fsync(&input, &work.join("dd.bin"));
        let vault = work.join(format!("vault-{round}"));
        let t = Instant::now();
        let child = Command::new(std::env::current_exe().unwrap())
            .arg("ingest")
            .arg(&input)
            .arg(&vault)
            .output()
            .unwrap();
        let ingest = t.elapsed().as_secs_f64();
        let report = String::from_utf8_lossy(&child.stdout);
        assert!(
            child.status.success(),
            "{report}{}",
            String::from_utf8_lossy(&child.stderr)
        );
        let mut lines = report.lines();
        let digest: Sha256Digest = lines.next().unwrap().parse().unwrap();
        hwm_kib = hwm_kib.max(lines.next().unwrap().parse::<u64>().unwrap());
        assert_eq!(
            digest.hex(),
            openssl_hex,
            "our digest differs from openssl's"
        );
        sha = Some(digest);
        std::fs::remove_dir_all(&vault).unwrap();
        rounds.push((openssl, copy, ingest));
    }
    let sha = sha.unwrap();
    let median = |f: fn(&(f64, f64, f64)) -> f64| {
        let mut v: Vec<f64> = rounds.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (openssl, copy, ingest) = (median(|r| r.0), median(|r| r.1), median(|r| r.2));
    let ratios: Vec<String> = rounds.iter().map(|r| format!("{:.2}", r.0 / r.2)).collect();

    let pkg_dir = package(&work, &input, sha, bytes);
    let t = Instant::now();
    let r = verify_package(&pkg_dir);
    let verify = t.elapsed().as_secs_f64();
    // The bench's package carries no trust list: what is timed is every check but the anchor.
    assert!(r.consistent, "{}", r.to_text());

    println!("file: {mib} MiB ({bytes} bytes), sha256 {sha}; medians of {ROUNDS} rounds");
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let avg = |l: &str| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    println!(
        "load average (1, 5, 15 min) before the rounds: {}, after: {}",
        avg(&load),
        avg(&load_after)
    );
    println!(
        "openssl dgst -sha256: {openssl:.2} s, {:.0} MB/s",
        mb / openssl
    );
    println!(
        "ingest (hash + encrypt + store, child process): {ingest:.2} s, {:.0} MB/s, {:.2} of openssl (rounds: {})",
        mb / ingest,
        openssl / ingest,
        ratios.join(", ")
    );
    println!(
        "dd copy with fsync (storage limit): {copy:.2} s, {:.0} MB/s; ingest is {:.2} of it",
        mb / copy,
        copy / ingest
    );
    println!(
        "components on one core, file read from page cache: SHA-256 {:.0} MB/s, AES-256-GCM chunk sealing {:.0} MB/s",
        mb / sha_only,
        mb / seal_only
    );
    println!(
        "ingest peak resident memory (VmHWM): {:.1} MiB",
        hwm_kib as f64 / 1024.0
    );
    println!(
        "verify_package ({} checks): {verify:.2} s, {:.0} MB/s, {:.2} of openssl",
        r.checks.len(),
        mb / verify,
        openssl / verify
    );
    std::fs::remove_dir_all(&work).unwrap();
}

const ROUNDS: usize = 5;

/// Seconds and hex digest of `openssl dgst -sha256`.
fn openssl_sha256(input: &Path) -> (f64, String) {
    let t = Instant::now();
    let out = Command::new("openssl")
        .args(["dgst", "-sha256"])
        .arg(input)
        .output()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(out.status.success());
    let hex = String::from_utf8_lossy(&out.stdout)
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or("")
        .to_owned();
    (secs, hex)
}

/// Seconds to copy the file with an fsync at the end, as the vault does: the storage limit.
fn dd_fsync(input: &Path, out: &Path) -> f64 {
    let t = Instant::now();
    let dd = Command::new("dd")
        .arg(format!("if={}", input.display()))
        .arg(format!("of={}", out.display()))
        .args(["bs=8M", "conv=fsync", "status=none"])
        .status()
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert!(dd.success());
    std::fs::remove_file(out).unwrap();
    secs
}

/// Seconds for SHA-256 alone (ring, as ingest hashes) and for the chunk sealing alone (blob
/// format v3, AES-256-GCM), each on one core, without storage.
fn components(input: &Path) -> (f64, f64) {
    use comity_evidence::blob::BlobCipher;
    use std::io::Read;
    let cipher = BlobCipher::create(1 << 20, &mut UnwrapErr(getrandom::SysRng)).unwrap();
    let run = |seal: bool| {
        let mut f = std::fs::File::open(input).unwrap();
        let mut h = ring::digest::Context::new(&ring::digest::SHA256);
        let mut buf = Vec::with_capacity((1 << 20) + 16);
        let t = Instant::now();
        let mut i = 0;
        loop {
            buf.clear();
            let n = (&mut f).take(1 << 20).read_to_end(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            if seal {
                cipher.seal_chunk(i, false, &mut buf).unwrap();
            } else {
                h.update(&buf);
            }
            i += 1;
        }
        std::hint::black_box(h.finish());
        t.elapsed().as_secs_f64()
    };
    (run(false), run(true))
}

fn secrets() -> NodeSecrets {
    NodeSecrets::generate(&mut UnwrapErr(getrandom::SysRng))
}

fn ingest_child(input: &Path, vault_dir: &Path) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let info = rt.block_on(async {
        let vault = Vault::local(vault_dir, WrapKey::from_node_secrets(&secrets())).unwrap();
        let f = tokio::fs::File::open(input).await.unwrap();
        vault.ingest(f, |_| {}).await.unwrap()
    });
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .unwrap_or(0);
    println!("{}\n{hwm}", info.sha256);
}

/// A package of the file with two custody events, each with its ledger inclusion proof.
fn package(work: &Path, input: &Path, sha: Sha256Digest, size: u64) -> PathBuf {
    let s = secrets();
    let d = Descriptor::for_secrets(
        &s,
        "dz-moj".parse().unwrap(),
        "DZ".parse().unwrap(),
        vec!["24-7".parse().unwrap()],
        "bench node".into(),
        "https://127.0.0.1:8443".into(),
        Timestamp::from_unix_ms(0),
    );
    let desc = SignedDescriptor::sign(d, &s, None);
    let t = |ms: i64| Timestamp::from_unix_ms(1_764_324_000_000 + ms);
    let first = CustodyEvent {
        v: 1,
        evidence: sha,
        case: "BENCH-1".into(),
        seq: 0,
        prev: None,
        action: Action::Acquired,
        time: t(0),
        node: "dz-moj".parse().unwrap(),
        user: "bench".into(),
        acquisition: Some(Acquisition {
            by: "bench".into(),
            location: "here".into(),
            tool: "comity-evidence-bench".into(),
            method: "generated".into(),
        }),
        counterpart: None,
        conditions: None,
        note: None,
    };
    let second = CustodyEvent::next_after(
        &first,
        Action::Exported,
        t(1),
        "dz-moj".parse().unwrap(),
        "bench",
    );
    let mut log = MemoryLog::new(&names::log_origin("dz-moj"));
    let mut idx = Vec::new();
    for e in [&first, &second] {
        idx.push(
            log.append(&e.ledger_entry().unwrap().to_bytes().unwrap())
                .unwrap(),
        );
    }
    let cp = log
        .checkpoint(&names::log_signer("dz-moj", s.signing_key()).unwrap())
        .unwrap();
    let proofs = idx
        .iter()
        .map(|&i| {
            ProofBundle::inclusion(
                &cp,
                i,
                log.entry(i).unwrap(),
                log.inclusion_proof(i, log.size()).unwrap(),
            )
            .to_json()
            .into_bytes()
        })
        .collect();
    let events = vec![
        first.sign(s.signing_key()).unwrap(),
        second.sign(s.signing_key()).unwrap(),
    ];
    let pkg = Package {
        exporter: "dz-moj".parse().unwrap(),
        created: t(2),
        purpose: "bench".into(),
        items: vec![PackageItem {
            name: "input.bin".into(),
            sha256: sha,
            size,
            content: file_content(input.to_owned()),
            events,
            proofs,
            consents: vec![],
        }],
        descriptors: vec![desc],
        trust_list: None,
    };
    let dir = work.join("package");
    write_dir(&pkg, &dir, s.signing_key()).unwrap();
    dir
}
