//! `comity ledger checkpoint|prove|entries|alarms|fetch`: the ledger of a running node, through
//! its user API, and the log another node serves, fetched over pinned TLS.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use comity_ledger::tile::{entry_bundles_for_size, hash_tiles_for_size};
use comity_ledger::{SignedCheckpoint, names};
use comity_model::{NodeId, Timestamp};
use comity_seal::Trust;
use serde_json::Value;

use crate::client::Api;
use crate::nodedir::NodeDir;

/// `comity ledger checkpoint`: the node's latest signed checkpoint and who cosigned it.
pub async fn checkpoint(dir: &Path, json: bool) -> Result<()> {
    let status = Api::for_dir(dir)?.get("/api/v1/ledger").await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(());
    }
    let cp = &status["checkpoint"];
    println!("log       {}", status["origin"].as_str().unwrap_or("?"));
    println!("log key   {}", status["log_key"].as_str().unwrap_or("?"));
    println!("entries   {}", status["size"]);
    println!(
        "checkpoint size {} root {} signed {}",
        cp["size"],
        cp["root"].as_str().unwrap_or("?"),
        cp["signed_at"].as_str().unwrap_or("?")
    );
    let cosigned = &status["cosigned_checkpoint"];
    if cosigned.is_null() {
        println!("cosigned  no witness has cosigned a checkpoint yet");
    } else {
        let by: Vec<&str> = cosigned["cosigned_by"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!("cosigned  size {} by {}", cosigned["size"], by.join(", "));
    }
    for w in status["witnessing"].as_array().into_iter().flatten() {
        println!(
            "witnessing {:<12} size {:<8} checked {} {}",
            w["peer"].as_str().unwrap_or("?"),
            w["size"],
            w["checked_at"].as_str().unwrap_or("?"),
            w["last_error"]
                .as_str()
                .map(|e| format!("ERROR {e}"))
                .unwrap_or_else(|| "ok".into())
        );
    }
    let alarms = status["alarms"].as_u64().unwrap_or(0);
    if alarms > 0 {
        println!("ALARMS    {alarms} (see `comity ledger alarms`)");
    }
    println!();
    print!("{}", cp["note"].as_str().unwrap_or(""));
    Ok(())
}

/// `comity ledger prove INDEX`: an inclusion proof file, and how to check it offline.
pub async fn prove(dir: &Path, index: u64, size: Option<u64>, out: Option<&Path>) -> Result<()> {
    let api = Api::for_dir(dir)?;
    let path = match size {
        Some(size) => format!("/api/v1/ledger/proof/{index}?size={size}"),
        None => format!("/api/v1/ledger/proof/{index}"),
    };
    let bundle = api.get(&path).await?;
    let text = serde_json::to_string_pretty(&bundle)?;
    match out {
        Some(file) => {
            std::fs::write(file, format!("{text}\n"))
                .with_context(|| format!("writing {}", file.display()))?;
            let status = api.get("/api/v1/ledger").await?;
            eprintln!(
                "wrote {}; check it anywhere, offline:\n  comity ledger verify --proof {} --key '{}'",
                file.display(),
                file.display(),
                status["log_key"].as_str().unwrap_or("?")
            );
        }
        None => println!("{text}"),
    }
    Ok(())
}

pub async fn entries(dir: &Path, kind: Option<&str>, limit: u32, json: bool) -> Result<()> {
    let mut path = format!("/api/v1/ledger/entries?limit={limit}");
    if let Some(kind) = kind {
        path.push_str(&format!("&kind={kind}"));
    }
    let list = Api::for_dir(dir)?.get(&path).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(());
    }
    for e in list.as_array().into_iter().flatten() {
        let entry = &e["entry"];
        let subjects: Vec<String> = entry["subjects"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                format!(
                    "{} {}",
                    s["type"].as_str().unwrap_or("?"),
                    s["id"].as_str().unwrap_or("?")
                )
            })
            .collect();
        println!(
            "{:>8}  {}  {:<16} {:<20} {}",
            e["index"],
            e["time"].as_str().unwrap_or("?"),
            e["kind"].as_str().unwrap_or("?"),
            entry["actor"].as_str().unwrap_or("?"),
            subjects.join(", ")
        );
    }
    Ok(())
}

/// `comity ledger alarms`: every alarm, with its evidence; exit status 1 when there is one.
pub async fn alarms(dir: &Path, json: bool) -> Result<bool> {
    let list = Api::for_dir(dir)?.get("/api/v1/ledger/alarms").await?;
    let alarms = list.as_array().cloned().unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
    } else if alarms.is_empty() {
        println!(
            "no alarm: every peer's log this node witnessed only ever grew, and its stored \
             content matched what was signed"
        );
    } else {
        for a in &alarms {
            let (seq, peer, kind, at) = (
                &a["seq"],
                a["peer"].as_str().unwrap_or("?"),
                a["kind"].as_str().unwrap_or("?"),
                a["detected_at"].as_str().unwrap_or("?"),
            );
            if kind == "integrity" {
                let e = &a["evidence"];
                println!(
                    "ALARM #{seq} {peer} integrity detected {at}: stored {} row {}: {} does not \
                     match what was signed (expected {}, found {}); restore it from a backup",
                    e["table"].as_str().unwrap_or("?"),
                    e["row"].as_str().unwrap_or("?"),
                    e["field"].as_str().unwrap_or("?"),
                    e["expected"].as_str().unwrap_or("?"),
                    e["found"].as_str().unwrap_or("?"),
                );
            } else {
                println!(
                    "ALARM #{seq} {peer} {kind} detected {at}: {}",
                    alarm_meaning(kind)
                );
                println!("{}", serde_json::to_string_pretty(&a["evidence"])?);
            }
        }
    }
    Ok(!alarms.is_empty())
}

/// What an alarm of `kind` says, in a sentence.
fn alarm_meaning(kind: &str) -> &'static str {
    match kind {
        "evidence_tampered" => {
            "this node's stored copy of an item failed its integrity check (see the item with `comity evidence show`)"
        }
        "export_unfinished" => "an export recorded its exported events but produced no package",
        _ => "it signed two checkpoints that cannot both be true",
    }
}

/// Downloads the log `peer` serves (checkpoint, every tile and entry bundle) into `out`, over
/// TLS pinned to the peer's key in this node's trust list and authenticated with this node's
/// TLS key; returns the log key (vkey) to verify it with.
pub async fn fetch(dir: &Path, peer: &str, out: &Path) -> Result<String> {
    let nd = NodeDir::new(dir);
    let config = nd.read_config()?;
    let root = NodeDir::federation_root(&config)?;
    let trust = Trust::from_verified(&nd.read_trust_list()?, &root)
        .map_err(|e| anyhow::anyhow!("trust-list.json: [{}] {e}", e.code()))?;
    let peer: NodeId = peer.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(d) = trust.member(&peer) else {
        bail!("{peer} is not a member of this node's federation");
    };
    let now = Timestamp::from_unix_ms(comity_node::now_ms());
    let log_key = trust
        .signing_keys_at(&peer, now)
        .first()
        .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(k.as_bytes()).ok())
        .context("no valid signing key for the peer in the trust list")?;
    let log_vkey = names::log_verifier(peer.as_str(), &log_key)?.to_vkey();
    // Nodes serve their logs to federation members only (mutual TLS): fetch as this node.
    let secrets = nd.read_secrets(&crate::nodedir::passphrase(false)?)?;
    let tls = comity_node::peer_tls_config(&peer, d.tls_key, &secrets)?;
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()?;
    let base = format!("{}/ledger", d.endpoint.trim_end_matches('/'));
    let get = |path: String| {
        let client = client.clone();
        let url = format!("{base}/{path}");
        async move {
            let r = client
                .get(&url)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            if !r.status().is_success() {
                bail!("GET {url}: HTTP {}", r.status());
            }
            Ok::<Vec<u8>, anyhow::Error>(r.bytes().await?.to_vec())
        }
    };
    let note = get("checkpoint".into()).await?;
    let cp = SignedCheckpoint::parse_unverified(&note)
        .map_err(|e| anyhow::anyhow!("checkpoint served by {peer}: [{}] {e}", e.code()))?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join("checkpoint"), &note)?;
    let size = cp.checkpoint.size;
    for id in hash_tiles_for_size(size)
        .into_iter()
        .chain(entry_bundles_for_size(size))
    {
        let bytes = get(id.path()).await?;
        let path = out.join(id.path());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, bytes)?;
    }
    Ok(log_vkey)
}

/// A directory for a fetched log: the one asked for, or a fresh temporary one.
pub fn fetch_dir(save: Option<&Path>) -> Result<(PathBuf, Option<tempfile::TempDir>)> {
    match save {
        Some(p) => Ok((p.to_owned(), None)),
        None => {
            let t = tempfile::tempdir()?;
            Ok((t.path().to_owned(), Some(t)))
        }
    }
}
