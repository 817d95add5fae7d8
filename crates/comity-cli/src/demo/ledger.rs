//! The ledger behind a request: France's log records the request it received, its peers
//! cosign the checkpoint, and an inclusion proof is checked the way a court would, with
//! France's public key only.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use comity_ledger::{NoteVerifier, ProofBundle};
use serde_json::Value;

use super::MEMBERS;
use super::live::Live;

/// Shows the ledger entries behind the opening of preservation request `id` (dz-247 to fr-ocl).
pub async fn show(live: &Live, id: &str) -> Result<()> {
    let dz = live.api("dz-247")?;
    let fr = live.api("fr-ocl")?;
    let request = dz.get(&format!("/api/v1/requests/{id}")).await?;
    let message = request["timeline"][0]["message_id"]
        .as_str()
        .context("the request was sent in no message")?;
    let sent = dz.get(&format!("/api/v1/messages/{message}")).await?;
    let index = sent["receipt"]["log_index"]
        .as_u64()
        .context("the receipt names no log entry")?;
    println!(
        "  ledger: fr-ocl's signed receipt for the request names entry {index} of fr-ocl's log;"
    );
    println!(
        "          dz-247 logged the sending as entry {}",
        sent["log_index"]
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        let status = fr.get("/api/v1/ledger").await?;
        let cosigners = status["cosigned_checkpoint"]["cosigned_by"]
            .as_array()
            .map_or(0, Vec::len);
        let covered = status["cosigned_checkpoint"]["size"].as_u64().unwrap_or(0) > index;
        if (covered && cosigners + 1 == MEMBERS.len()) || Instant::now() > deadline {
            break status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let cosigned = &status["cosigned_checkpoint"];
    let by: Vec<&str> = cosigned["cosigned_by"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    println!(
        "          its checkpoint of {} entries is cosigned by {} witnesses: {}",
        cosigned["size"],
        by.len(),
        by.join(", ")
    );
    let proof = fr.get(&format!("/api/v1/ledger/proof/{index}")).await?;
    let bundle = ProofBundle::from_json(proof.to_string().as_bytes())?;
    let log_key = NoteVerifier::parse(status["log_key"].as_str().context("no log key")?)?;
    let dz_status = dz.get("/api/v1/ledger").await?;
    let dz_witness = NoteVerifier::parse(
        dz_status["witness_key"]
            .as_str()
            .context("no witness key")?,
    )?;
    let verified = bundle.verify(&log_key, std::slice::from_ref(&dz_witness))?;
    if verified.cosignatures.is_empty() {
        bail!("dz-247 has not cosigned fr-ocl's checkpoint within 20 s");
    }
    let entry = verified.entry.context("not a Comity entry")?;
    println!(
        "          inclusion proof of entry {index} verified offline with fr-ocl's key: {} by {}, cosigned by dz-247",
        entry.kind.as_str(),
        entry.actor,
    );
    Ok(())
}
