//! `comity msg`: send and read messages through a running node.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use serde_json::{Value, json};

use crate::client::Api;

#[derive(Subcommand)]
pub enum MsgCommand {
    /// Send a message: its body is a JSON file (or - for standard input).
    Send {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        to: String,
        /// preservation.request, preservation.ack or note.
        #[arg(long)]
        kind: String,
        #[arg(long)]
        body: PathBuf,
        #[arg(long)]
        in_reply_to: Option<String>,
    },
    /// Messages sent, newest first, with delivery state.
    Outbox {
        #[arg(long)]
        dir: PathBuf,
        /// queued, delivered, refused or dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Messages received, newest first.
    Inbox {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// One message with its body and receipt (JSON).
    Show {
        #[arg(long)]
        dir: PathBuf,
        id: String,
        /// What the sender signed instead: header, body and inner signature, which anyone can
        /// check with the sender's public key alone.
        #[arg(long)]
        signed: bool,
    },
    /// Put dead-lettered messages back in the queue: one id, or all.
    Requeue {
        #[arg(long)]
        dir: PathBuf,
        id: Option<String>,
    },
    /// Input from peers this node refused: per peer, code and window, with the count and the
    /// first refusal (what it claimed is unverified).
    Rejections {
        #[arg(long)]
        dir: PathBuf,
    },
}

pub async fn run(cmd: MsgCommand) -> Result<()> {
    match cmd {
        MsgCommand::Send {
            dir,
            to,
            kind,
            body,
            in_reply_to,
        } => {
            let text = if body.as_os_str() == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                std::fs::read_to_string(&body)
                    .with_context(|| format!("cannot read {}", body.display()))?
            };
            let body: Value = serde_json::from_str(&text).context("the body is not JSON")?;
            let request =
                json!({ "to": to, "kind": kind, "body": body, "in_reply_to": in_reply_to });
            let accepted = Api::for_dir(&dir)?
                .post("/api/v1/messages", &request)
                .await?;
            println!(
                "queued {} (conversation {})",
                accepted["id"].as_str().unwrap_or("?"),
                accepted["conversation"].as_str().unwrap_or("?")
            );
        }
        MsgCommand::Outbox { dir, state, limit } => {
            let query = state.map(|s| format!("&state={s}")).unwrap_or_default();
            let list = Api::for_dir(&dir)?
                .get(&format!("/api/v1/outbox?limit={limit}{query}"))
                .await?;
            print_list(&list, "to");
        }
        MsgCommand::Inbox { dir, limit } => {
            let list = Api::for_dir(&dir)?
                .get(&format!("/api/v1/inbox?limit={limit}"))
                .await?;
            print_list(&list, "from");
        }
        MsgCommand::Show { dir, id, signed } => {
            let path = if signed {
                format!("/api/v1/messages/{id}/signed")
            } else {
                format!("/api/v1/messages/{id}")
            };
            let m = Api::for_dir(&dir)?.get(&path).await?;
            println!("{}", serde_json::to_string_pretty(&m)?);
        }
        MsgCommand::Requeue { dir, id } => {
            let r = Api::for_dir(&dir)?
                .post("/api/v1/outbox/requeue", &json!({ "id": id }))
                .await?;
            println!("requeued {}", r["requeued"]);
        }
        MsgCommand::Rejections { dir } => {
            let list = Api::for_dir(&dir)?.get("/api/v1/rejections").await?;
            for r in list.as_array().into_iter().flatten() {
                let sample = &r["sample"];
                println!(
                    "{}  {:<28} {:>6}x from {:<12} first: {} (claimed sender {}, message {})",
                    s(&r["window_start"]),
                    s(&r["code"]),
                    r["count"],
                    r["peer"].as_str().unwrap_or("(unknown)"),
                    s(&sample["detail"]),
                    s(&sample["claimed_from"]),
                    s(&sample["message_id"])
                );
            }
        }
    }
    Ok(())
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn print_list(list: &Value, peer_label: &str) {
    for m in list.as_array().into_iter().flatten() {
        let when = m["received_at"]
            .as_str()
            .or(m["created_at"].as_str())
            .unwrap_or("-");
        println!(
            "{}  {when}  {:<20} {peer_label} {:<12} {:<9} {}",
            s(&m["id"]),
            s(&m["kind"]),
            s(&m["peer"]),
            s(&m["state"]),
            m["last_error"].as_str().unwrap_or("")
        );
    }
}
