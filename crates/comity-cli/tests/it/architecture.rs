//! The dependency invariants of ARCHITECTURE.md, checked on the resolved dependency graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

/// Crates that must stay pure: no async runtime, no database, no HTTP, no TLS.
const PURE: &[&str] = &[
    "comity-model",
    "comity-law",
    "comity-seal",
    "comity-ledger",
    "comity-pdq",
    "comity-workflow",
];
const IO_CRATES: &[&str] = &[
    "tokio",
    "sqlx",
    "axum",
    "hyper",
    "reqwest",
    "rustls",
    "object_store",
    "mio",
];

fn metadata() -> Value {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Normal (non-dev, non-build) dependencies of every package, by name.
fn graph(meta: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let names: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let deps = n["deps"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| {
                    d["dep_kinds"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|k| k["kind"].is_null())
                })
                .map(|d| names[d["pkg"].as_str().unwrap()].to_owned())
                .collect();
            (names[n["id"].as_str().unwrap()].to_owned(), deps)
        })
        .collect()
}

fn closure(graph: &BTreeMap<String, BTreeSet<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(n) = stack.pop() {
        for d in graph.get(&n).into_iter().flatten() {
            if seen.insert(d.clone()) {
                stack.push(d.clone());
            }
        }
    }
    seen
}

#[test]
fn pure_crates_depend_on_no_runtime_database_or_network() {
    let g = graph(&metadata());
    for krate in PURE {
        let all = closure(&g, krate);
        let bad: Vec<_> = IO_CRATES.iter().filter(|c| all.contains(**c)).collect();
        assert!(bad.is_empty(), "{krate} pulls in {bad:?}");
        let shells: Vec<_> = all
            .iter()
            .filter(|c| ["comity-store", "comity-node", "comity-cli"].contains(&c.as_str()))
            .collect();
        assert!(shells.is_empty(), "{krate} depends on {shells:?}");
    }
}

#[test]
fn only_the_store_crate_knows_sql() {
    let g = graph(&metadata());
    for (krate, deps) in &g {
        if krate.starts_with("comity-") && krate != "comity-store" {
            assert!(!deps.contains("sqlx"), "{krate} depends on sqlx directly");
        }
    }
}

/// Library crates get configuration from their callers; only the binary reads the environment
/// or configuration files.
#[test]
fn only_the_binary_reads_the_environment() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    for entry in std::fs::read_dir(crates).unwrap() {
        let dir = entry.unwrap().path();
        if dir.ends_with("comity-cli") {
            continue;
        }
        for file in walk(&dir.join("src")) {
            let text = std::fs::read_to_string(&file).unwrap();
            for needle in ["std::env::var", "env::var(", "env::args", "dotenv"] {
                assert!(!text.contains(needle), "{} uses {needle}", file.display());
            }
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}
