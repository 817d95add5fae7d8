//! The evidence France returns: seized into the executing node's vault, where the ingest seals
//! it and records its custody; the results cite its SHA-256.

use anyhow::{Context, Result};

use crate::client::Api;

/// A file held in a node's vault.
pub struct Seized {
    pub name: String,
    pub sha256: String,
    pub size: u64,
    pub custody_events: usize,
}

/// The executing node seizes the servers' logs into its vault (`POST /api/v1/evidence`), which
/// records `acquired` and `sealed` custody events, each with its ledger entry. The results of
/// the request name the file by its SHA-256.
pub async fn seize_logs(executing: &Api, node: &str, case: &str) -> Result<Seized> {
    let name = "servers-roubaix-access-logs-2026-11.log";
    let logs: String = (0..400)
        .map(|i| {
            format!(
                "2026-11-{:02}T{:02}:{:02}:17Z srv-{:02} sshd: Accepted publickey for admin from 196.200.{}.{} port {}\n",
                2 + i % 8,
                i % 24,
                (i * 7) % 60,
                i % 3,
                (i * 13) % 256,
                (i * 29) % 256,
                40_000 + i
            )
        })
        .collect();
    let location = format!("hosting provider, Roubaix, seized by {node}");
    let item = executing
        .post_bytes(
            "/api/v1/evidence",
            &[
                ("case", case),
                ("name", name),
                ("location", &location),
                (
                    "method",
                    "copy of the preserved logs handed over by the provider",
                ),
            ],
            logs.into_bytes(),
        )
        .await
        .context("seizing the logs into the executing node's vault")?;
    Ok(Seized {
        name: name.to_owned(),
        sha256: item["sha256"].as_str().context("no digest")?.to_owned(),
        size: item["size"].as_u64().unwrap_or(0),
        custody_events: item["custody"].as_array().map_or(0, Vec::len),
    })
}
