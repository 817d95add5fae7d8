//! The evidence France returns: seized into the executing node's vault, where the ingest seals
//! it and records its custody; the results cite its SHA-256.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use comity_seal::PublicKey;
use serde_json::{Value, json};

use crate::client::Api;

/// A file held in a node's vault.
pub struct Seized {
    pub case: String,
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
        case: case.to_owned(),
        name: name.to_owned(),
        sha256: item["sha256"].as_str().context("no digest")?.to_owned(),
        size: item["size"].as_u64().unwrap_or(0),
        custody_events: item["custody"].as_array().map_or(0, Vec::len),
    })
}

/// How long the requesting node may take to pull and verify the returned file.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(30);

/// The executing node sends the seized file to the requesting node under its use conditions
/// (Budapest Art. 28): the requesting node pulls it over mutual TLS, checks the digest and
/// records `received` and `verified`; then it exports the case for its court and the package
/// is verified offline against the federation's root key, as a court would.
pub async fn return_to_requesting(
    executing: (&Api, &str),
    requesting: (&Api, &str),
    seized: &Seized,
    request: &str,
    purpose: &str,
    federation_root: PublicKey,
) -> Result<()> {
    let (provider, provider_id) = executing;
    let (holder, holder_id) = requesting;
    provider
        .post(
            &format!("/api/v1/evidence/{}/send", seized.sha256),
            &json!({
                "to": holder_id,
                "purpose": purpose,
                "conditions": [
                    {"type": "purpose_limited", "purposes": [purpose]},
                    {"type": "no_onward_transfer"},
                ],
                "legal_basis": ["Budapest Art. 28"],
                "request": request,
            }),
        )
        .await
        .with_context(|| format!("{provider_id} sending the evidence to {holder_id}"))?;
    let item = received(holder, &seized.sha256).await?;
    let chain: Vec<String> = item["custody"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            format!(
                "{} ({})",
                e["action"].as_str().unwrap_or("?"),
                e["actor"].as_str().unwrap_or("?")
            )
        })
        .collect();
    println!(
        "      {holder_id} pulled the file from {provider_id} over mutual TLS and checked its SHA-256; custody: {}",
        chain.join(" → ")
    );
    let zip = holder
        .get_bytes(
            "/api/v1/evidence/export",
            &[("case", seized.case.as_str()), ("purpose", purpose)],
        )
        .await
        .with_context(|| format!("{holder_id} exporting the case for its court"))?;
    let file = tempfile::Builder::new()
        .prefix("comity-demo-package-")
        .suffix(".zip")
        .tempfile()?;
    std::fs::write(file.path(), &zip)?;
    let report = comity_evidence::verify_package_with(
        file.path(),
        &comity_evidence::VerifyOptions::anchored(federation_root, "the federation's root key"),
    );
    if !report.verified {
        let failed: Vec<String> = report
            .failures()
            .map(|c| format!("{}: {} ({})", c.item, c.check, c.reason))
            .collect();
        bail!(
            "the package {holder_id} exported fails offline verification: {}; {}",
            report.verdict(),
            failed.join("; ")
        );
    }
    let mut signers: Vec<&str> = item["custody"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["actor"].as_str()?.split('/').next())
        .collect();
    signers.dedup();
    println!(
        "      {holder_id} exported the case for its court ({} bytes); verified offline with no network against the federation root {}: {} checks passed, custody signed by {}",
        zip.len(),
        comity_seal::key_id(&federation_root),
        report.checks.len(),
        signers.join(" and ")
    );
    Ok(())
}

/// Waits until the holder lists the item with its `verified` event, or its transfer failed.
async fn received(holder: &Api, sha256: &str) -> Result<Value> {
    let deadline = Instant::now() + TRANSFER_TIMEOUT;
    loop {
        if let Ok(item) = holder.get(&format!("/api/v1/evidence/{sha256}")).await {
            let verified = item["custody"]
                .as_array()
                .is_some_and(|c| c.iter().any(|e| e["action"] == "verified"));
            if verified {
                return Ok(item);
            }
        }
        let transfers = holder.get("/api/v1/evidence/transfers").await?;
        let refused = transfers["transfers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|t| t["sha256"] == sha256 && t["state"] == "refused");
        if let Some(t) = refused {
            bail!("the transfer of {sha256} was refused: {t}");
        }
        if Instant::now() > deadline {
            bail!(
                "the transfer of {sha256} did not complete within {} s",
                TRANSFER_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
