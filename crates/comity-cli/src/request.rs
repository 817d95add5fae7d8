//! `comity request`: open, list, show and act on cooperation requests through a running node.
//! Times travel in UTC; they are shown in the user's zone (`--tz`, else the local one).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset, Local, Offset, Utc};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::client::Api;

#[derive(Args)]
pub struct Zone {
    /// Show times in this zone: `UTC`, `local`, or an offset such as `+01:00`.
    #[arg(long, default_value = "local")]
    tz: String,
}

#[derive(Subcommand)]
pub enum RequestCommand {
    /// Open a request. The file holds what `POST /api/v1/requests` takes: `to`, `body`
    /// (`{"kind", "body"}`), `conditions`, and `content`, `channel`, `override_reason` as needed.
    Open {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        body: PathBuf,
        #[command(flatten)]
        zone: Zone,
    },
    /// Requests this node takes part in, newest first.
    List {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        state: Option<String>,
        #[command(flatten)]
        zone: Zone,
    },
    /// One request with its timeline: who acted, in which role, the articles relied on.
    Show {
        #[arg(long)]
        dir: PathBuf,
        id: String,
        #[command(flatten)]
        zone: Zone,
    },
    /// Act on a request. The file holds `{"action": {"action": "...", ...}, "role"?: "..."}`
    /// or just the action.
    Act {
        #[arg(long)]
        dir: PathBuf,
        id: String,
        #[arg(long)]
        action: PathBuf,
        #[command(flatten)]
        zone: Zone,
    },
    /// Requests past their due time, most overdue first.
    Overdue {
        #[arg(long)]
        dir: PathBuf,
        #[command(flatten)]
        zone: Zone,
    },
}

fn read_json(path: &Path) -> Result<Value> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?
    };
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

/// The user's zone as a fixed offset, for the times shown.
fn offset(zone: &Zone) -> Result<FixedOffset> {
    match zone.tz.as_str() {
        "UTC" | "utc" | "Z" => Ok(Utc.fix()),
        "local" => Ok(*Local::now().offset()),
        other => other.parse::<FixedOffset>().map_err(|_| {
            anyhow::anyhow!(
                "--tz {other:?} is not understood: use UTC, local or an offset such as +01:00"
            )
        }),
    }
}

/// A UTC time from the API, in the user's zone.
fn shown(v: &Value, tz: &FixedOffset) -> String {
    match v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok()) {
        Some(t) => t.with_timezone(tz).format("%Y-%m-%d %H:%M %:z").to_string(),
        None => "-".to_owned(),
    }
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn print_list(list: &Value, tz: &FixedOffset) {
    for r in list.as_array().into_iter().flatten() {
        println!(
            "{}  {:<24} {:<10} {:<12} {:<18} due {}{}",
            s(&r["id"]),
            s(&r["kind"]),
            s(&r["side"]),
            s(&r["peer"]),
            s(&r["state"]),
            shown(&r["due"]["at"], tz),
            if r["overdue"] == true {
                "  OVERDUE"
            } else {
                ""
            }
        );
    }
}

fn print_request(r: &Value, tz: &FixedOffset) {
    println!(
        "{} request {} ({} side, with {})",
        s(&r["kind"]),
        s(&r["id"]),
        s(&r["side"]),
        s(&r["peer"])
    );
    println!("state: {}", s(&r["state"]));
    if r["due"].is_object() {
        println!(
            "due:   {} ({}, by the {} side; {}){}",
            shown(&r["due"]["at"], tz),
            s(&r["due"]["what"]),
            s(&r["due"]["party"]),
            s(&r["due"]["article"]),
            if r["overdue"] == true {
                "  OVERDUE"
            } else {
                ""
            }
        );
    }
    let allowed: Vec<&str> = r["allowed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    println!("allowed now: {}", allowed.join(", "));
    println!("timeline:");
    for e in r["timeline"].as_array().into_iter().flatten() {
        let who = match (&e["actor"]["node"], &e["actor"]["role"]) {
            (Value::String(n), Value::String(role)) => format!("{n} ({role})"),
            (Value::String(n), _) => n.clone(),
            _ => "scheduler".to_owned(),
        };
        let what = if e["event"] == "alert" {
            s(&e["detail"]).to_owned()
        } else {
            format!(
                "{} → {}",
                e["action"]["action"].as_str().unwrap_or("open"),
                s(&e["to"])
            )
        };
        let articles: Vec<&str> = e["articles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        println!(
            "  {}  {:<22} {}{}",
            shown(&e["at"], tz),
            who,
            what,
            if articles.is_empty() {
                String::new()
            } else {
                format!("  [{}]", articles.join("; "))
            }
        );
    }
}

pub async fn run(cmd: RequestCommand) -> Result<()> {
    match cmd {
        RequestCommand::Open { dir, body, zone } => {
            let tz = offset(&zone)?;
            let r = Api::for_dir(&dir)?
                .post("/api/v1/requests", &read_json(&body)?)
                .await?;
            print_request(&r, &tz);
        }
        RequestCommand::List { dir, state, zone } => {
            let tz = offset(&zone)?;
            let query = state.map(|s| format!("?state={s}")).unwrap_or_default();
            let list = Api::for_dir(&dir)?
                .get(&format!("/api/v1/requests{query}"))
                .await?;
            print_list(&list, &tz);
        }
        RequestCommand::Show { dir, id, zone } => {
            let tz = offset(&zone)?;
            let r = Api::for_dir(&dir)?
                .get(&format!("/api/v1/requests/{id}"))
                .await?;
            print_request(&r, &tz);
        }
        RequestCommand::Act {
            dir,
            id,
            action,
            zone,
        } => {
            let tz = offset(&zone)?;
            let mut body = read_json(&action)?;
            if body.get("action").is_some_and(Value::is_string) {
                body = json!({ "action": body });
            }
            if !body.get("action").is_some_and(Value::is_object) {
                bail!(
                    "{} must hold an action: {{\"action\": {{\"action\": \"acknowledge\", ...}}}}",
                    action.display()
                );
            }
            let r = Api::for_dir(&dir)?
                .post(&format!("/api/v1/requests/{id}/actions"), &body)
                .await?;
            print_request(&r, &tz);
        }
        RequestCommand::Overdue { dir, zone } => {
            let tz = offset(&zone)?;
            let list = Api::for_dir(&dir)?
                .get("/api/v1/requests?overdue=true")
                .await?;
            print_list(&list, &tz);
        }
    }
    Ok(())
}
