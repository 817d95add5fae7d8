//! Independent implementation check: tlog-scales (Python registry) reads Comity's tiles from a
//! directory laid out as served (`checkpoint`, `tile/...`), recomputes the root, checks the
//! signed checkpoint and its cosignature, and recomputes and checks our proofs.
//! Requires `pip install -r crates/comity-ledger/tests/requirements.txt`.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use comity_ledger::MemoryLog;
use comity_ledger::tile::{entry_bundles_for_size, hash_tiles_for_size};
use serde_json::json;

use crate::support::{entry_bytes, log_of, log_signer, witness_key};

const SIZE: u64 = 70_000;

fn write_log(dir: &Path, log: &MemoryLog) {
    let mut cp = log.checkpoint(&log_signer()).unwrap();
    cp.add_signature(
        witness_key(1)
            .cosign(&cp.checkpoint, 1_764_300_000)
            .unwrap(),
    );
    std::fs::write(dir.join("checkpoint"), cp.to_text()).unwrap();
    for id in hash_tiles_for_size(log.size())
        .into_iter()
        .chain(entry_bundles_for_size(log.size()))
    {
        let path = dir.join(id.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, log.tile(&id).unwrap()).unwrap();
    }
}

fn run_oracle(dir: &Path, expect: serde_json::Value) -> (bool, serde_json::Value) {
    let expect_path = dir.join("expect.json");
    std::fs::write(&expect_path, expect.to_string()).unwrap();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/tlog_scales_check.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(dir)
        .arg(&expect_path)
        .output()
        .expect("python3 is required for the tlog-scales oracle");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("ModuleNotFoundError"),
        "tlog-scales is missing: pip install -r crates/comity-ledger/tests/requirements.txt\n{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .last()
        .unwrap_or_else(|| panic!("oracle printed nothing; stderr:\n{stderr}"));
    (out.status.success(), serde_json::from_str(line).unwrap())
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "comity-ledger-oracle-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn tlog_scales_reads_our_tiles_checkpoint_and_proofs() {
    let log = log_of(SIZE);
    let dir = temp_dir("good");
    write_log(&dir, &log);
    let inclusion: Vec<_> = [0, 1, 255, 256, 65_535, 65_536, 69_999]
        .into_iter()
        .map(|i| {
            json!({
                "index": i,
                "entry": B64.encode(entry_bytes(i)),
                "proof": log.inclusion_proof(i, SIZE).unwrap().iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let consistency: Vec<_> = [1, 2, 255, 256, 257, 65_536, 69_999, 70_000]
        .into_iter()
        .map(|m| {
            json!({
                "old_size": m,
                "old_root": log.root_at(m).unwrap().to_base64(),
                "proof": log.consistency_proof(m, SIZE).unwrap().iter().map(|h| h.to_base64()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let (ok, result) = run_oracle(
        &dir,
        json!({
            "log_vkey": log_signer().verifier().to_vkey(),
            "witness_vkey": witness_key(1).verifier().to_vkey(),
            "inclusion": inclusion,
            "consistency": consistency,
        }),
    );
    assert!(ok, "tlog-scales disagreed: {result}");
    assert_eq!(result["root_matches"], true);
    assert_eq!(result["size"], SIZE);
    assert_eq!(result["inclusion"], 7);
    assert_eq!(result["consistency"], 8);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tlog_scales_sees_a_reordered_tile_as_a_wrong_root() {
    let log = log_of(1000);
    let dir = temp_dir("reordered");
    write_log(&dir, &log);
    // The root is computed from the level-1 tile and the rightmost level-0 partial tile, so
    // that is the tile a root check must catch (full level-0 tiles are caught by proofs).
    let tile = dir.join("tile/0/003.p/232");
    let mut bytes = std::fs::read(&tile).unwrap();
    let (a, b) = bytes.split_at_mut(32);
    a.swap_with_slice(&mut b[..32]);
    std::fs::write(&tile, bytes).unwrap();
    let (ok, result) = run_oracle(
        &dir,
        json!({
            "log_vkey": log_signer().verifier().to_vkey(),
            "witness_vkey": witness_key(1).verifier().to_vkey(),
            "expect_root_mismatch": true,
        }),
    );
    assert!(ok, "tlog-scales accepted a reordered tile: {result}");
    assert_eq!(result["root_matches"], false);
    std::fs::remove_dir_all(&dir).unwrap();
}
