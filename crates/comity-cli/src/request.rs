//! `comity request`: open, list, show and act on cooperation requests through a running node.
//! Times travel in UTC; they are shown in the user's zone (`--tz`, else the local one).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use chrono::{DateTime, FixedOffset, Local, Utc};
use chrono_tz::Tz;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::client::Api;

#[derive(Args)]
pub struct Zone {
    /// Show times in this zone: `UTC`, `local`, a named zone such as `Europe/Paris` or
    /// `Africa/Algiers` (its offset on each date, summer time included), or a fixed offset such
    /// as `+01:00`. Stored and sent times stay UTC.
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
    /// What opening would do, without opening: the law engine's answers for the two states,
    /// the content the instruments require (ticked when the file gives it), and the refusal
    /// opening would meet. Same file as `open`; exits 0 only if the request is ready to open.
    Preview {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        body: PathBuf,
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
    /// Consent, as the owner of information exchanged under the request, to its passing on:
    /// to another node (`--to`) or to an authority outside Comity (`--domestic`), for one
    /// purpose (`--purpose`) or any of those it was given for. Allowed in any state.
    Consent {
        #[arg(long)]
        dir: PathBuf,
        id: String,
        #[arg(
            long,
            required_unless_present = "domestic",
            conflicts_with = "domestic"
        )]
        to: Option<String>,
        #[arg(long)]
        domestic: Option<String>,
        #[arg(long)]
        purpose: Option<String>,
        /// This node's reference for the consent (a letter, a file number).
        #[arg(long)]
        reference: String,
        #[command(flatten)]
        zone: Zone,
    },
    /// The drafts this node may open next because of a request (prosecution in lieu, onward
    /// preservation).
    FollowUps {
        #[arg(long)]
        dir: PathBuf,
        id: String,
    },
    /// Open an offered draft in one call. The file holds `{"follow_up": "...", "to"?,
    /// "evidence"?, "body"?, "conditions"?, "content"?, "channel"?, "override_reason"?}`, or
    /// give just `--follow-up NAME`.
    FollowUp {
        #[arg(long)]
        dir: PathBuf,
        id: String,
        #[arg(long, conflicts_with = "follow_up")]
        file: Option<PathBuf>,
        #[arg(long)]
        follow_up: Option<String>,
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

/// The zone times are shown in.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Shown {
    Local,
    Named(Tz),
    Fixed(FixedOffset),
}

/// Reads `--tz`: a named zone of the IANA database shipped in the binary, `local`, or an offset.
fn offset(zone: &Zone) -> Result<Shown> {
    match zone.tz.as_str() {
        "UTC" | "utc" | "Z" => Ok(Shown::Named(Tz::UTC)),
        "local" => Ok(Shown::Local),
        other => {
            if let Ok(tz) = other.parse::<Tz>() {
                return Ok(Shown::Named(tz));
            }
            other.parse::<FixedOffset>().map(Shown::Fixed).map_err(|_| {
                anyhow::anyhow!(
                    "--tz {other:?} is not understood: use UTC, local, a zone name such as Europe/Paris or Africa/Algiers, or an offset such as +01:00"
                )
            })
        }
    }
}

/// A UTC time from the API, in the user's zone.
fn shown(v: &Value, tz: &Shown) -> String {
    const FORMAT: &str = "%Y-%m-%d %H:%M %:z";
    match v.as_str().and_then(|s| s.parse::<DateTime<Utc>>().ok()) {
        Some(t) => match tz {
            Shown::Local => t.with_timezone(&Local).format(FORMAT).to_string(),
            Shown::Named(z) => t.with_timezone(z).format(FORMAT).to_string(),
            Shown::Fixed(o) => t.with_timezone(o).format(FORMAT).to_string(),
        },
        None => "-".to_owned(),
    }
}

/// The strings of a JSON array (nothing for anything else).
pub(crate) fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

pub(crate) fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn print_list(list: &Value, tz: &Shown) {
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

fn print_request(r: &Value, tz: &Shown) {
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
    let allowed = strings(&r["allowed"]);
    println!("allowed now: {}", allowed.join(", "));
    let pf = &r["request"]["preflight"];
    for n in pf["negatives"].as_array().into_iter().flatten() {
        println!("pre-flight negative: {}", s(n));
    }
    for o in pf["obstacles"].as_array().into_iter().flatten() {
        println!(
            "obstacle: {} ({}): {}",
            s(&o["code"]),
            s(&o["cite"]),
            s(&o["reason"])
        );
    }
    if let Some(reason) = pf["override_reason"].as_str() {
        println!("sent against it because: {reason}");
    }
    for x in r["request"]["superseded"].as_array().into_iter().flatten() {
        println!("superseded ({}): {}", s(&x["cause"]), s(&x["reason"]));
    }
    println!("timeline:");
    for e in r["timeline"].as_array().into_iter().flatten() {
        let who = match (&e["actor"]["node"], &e["actor"]["role"]) {
            (Value::String(n), Value::String(role)) => format!("{n} ({role})"),
            (Value::String(n), _) => n.clone(),
            _ => "scheduler".to_owned(),
        };
        let action = &e["action"];
        let what = if e["event"] == "alert" {
            s(&e["detail"]).to_owned()
        } else if action["action"] == "consent" {
            let to = &action["to"];
            format!(
                "consent to {} for {} (ref. {})",
                to["node"]
                    .as_str()
                    .or(to["domestic"].as_str())
                    .unwrap_or("?"),
                action["purpose"].as_str().unwrap_or("any purpose given"),
                s(&action["reference"])
            )
        } else {
            format!(
                "{} → {}",
                e["action"]["action"].as_str().unwrap_or("open"),
                s(&e["to"])
            )
        };
        let articles = strings(&e["articles"]);
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
        RequestCommand::Preview { dir, body } => {
            let p = Api::for_dir(&dir)?
                .post("/api/v1/requests/preview", &read_json(&body)?)
                .await?;
            crate::request_preview::print(&p)?;
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
        RequestCommand::Consent {
            dir,
            id,
            to,
            domestic,
            purpose,
            reference,
            zone,
        } => {
            let tz = offset(&zone)?;
            let to = match (to, domestic) {
                (Some(node), _) => json!({ "node": node }),
                (None, Some(authority)) => json!({ "domestic": authority }),
                (None, None) => bail!("give --to NODE or --domestic AUTHORITY"),
            };
            let body = json!({"action": {"action": "consent", "to": to, "purpose": purpose,
                                         "reference": reference}});
            let r = Api::for_dir(&dir)?
                .post(&format!("/api/v1/requests/{id}/actions"), &body)
                .await?;
            print_request(&r, &tz);
        }
        RequestCommand::FollowUps { dir, id } => {
            let offers = Api::for_dir(&dir)?
                .get(&format!("/api/v1/requests/{id}/follow-ups"))
                .await?;
            let offers = offers.as_array().cloned().unwrap_or_default();
            if offers.is_empty() {
                println!("nothing to follow up");
            }
            for o in &offers {
                println!(
                    "{:<22} to {:<12} {}",
                    s(&o["follow_up"]),
                    s(&o["to"]),
                    s(&o["why"])
                );
            }
        }
        RequestCommand::FollowUp {
            dir,
            id,
            file,
            follow_up,
            zone,
        } => {
            let tz = offset(&zone)?;
            let body = match (file, follow_up) {
                (Some(f), _) => read_json(&f)?,
                (None, Some(name)) => json!({ "follow_up": name }),
                (None, None) => bail!("give --follow-up NAME or --file FILE"),
            };
            let r = Api::for_dir(&dir)?
                .post(&format!("/api/v1/requests/{id}/follow-ups"), &body)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn zone(tz: &str) -> Zone {
        Zone { tz: tz.to_owned() }
    }

    #[test]
    fn named_zones_follow_summer_time() {
        let paris = offset(&zone("Europe/Paris")).unwrap();
        assert_eq!(
            shown(&json!("2026-01-15T08:00:00.000Z"), &paris),
            "2026-01-15 09:00 +01:00"
        );
        assert_eq!(
            shown(&json!("2026-07-15T08:00:00.000Z"), &paris),
            "2026-07-15 10:00 +02:00"
        );
        let algiers = offset(&zone("Africa/Algiers")).unwrap();
        assert_eq!(
            shown(&json!("2026-07-15T08:00:00.000Z"), &algiers),
            "2026-07-15 09:00 +01:00"
        );
        let utc = offset(&zone("UTC")).unwrap();
        assert_eq!(
            shown(&json!("2026-07-15T08:00:00.000Z"), &utc),
            "2026-07-15 08:00 +00:00"
        );
        let fixed = offset(&zone("-03:00")).unwrap();
        assert_eq!(
            shown(&json!("2026-07-15T08:00:00.000Z"), &fixed),
            "2026-07-15 05:00 -03:00"
        );
    }

    #[test]
    fn an_unknown_zone_says_what_is_understood() {
        let e = offset(&zone("Europe/Atlantis")).unwrap_err().to_string();
        assert!(e.contains("Europe/Paris"), "{e}");
    }
}
