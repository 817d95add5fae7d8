//! `comity pdq share|catalogue|subscribe|unsubscribe|lists|notify` and `comity pdq match --dir`:
//! hash lists shared between nodes, through a running node's API. Images are hashed here; only
//! hashes reach the node, and nothing leaves it when matching.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use comity_pdq::PdqHash;
use serde_json::{Value, json};

use crate::client::Api;
use crate::pdq::{collect_files, hash_files, hash_lines, report_problems, some_unhashed};

#[derive(clap::Subcommand)]
pub enum ShareCommand {
    /// Publish the next version of one of the node's own lists (named NODE/NAME): add the hashes
    /// read from `comity pdq hash` output and revoke entries by id. The node signs it; subscribers
    /// pull it.
    Share {
        #[arg(long)]
        dir: PathBuf,
        /// e.g. `dz-247/csam-baseline`.
        #[arg(long)]
        list: String,
        #[arg(long, required_unless_present = "revoke")]
        category: Option<String>,
        /// Opaque series reference in hex, known only to this node.
        #[arg(long)]
        series: Option<String>,
        #[arg(long = "victim-identified")]
        victim_identified: bool,
        /// Entry ids to revoke in this version.
        #[arg(long = "revoke", value_name = "ID")]
        revoke: Vec<u64>,
        /// Output of `comity pdq hash`; `-` reads standard input.
        hashes: Option<PathBuf>,
    },
    /// A peer's own lists (asked over the federation channel): what can be subscribed to.
    Catalogue {
        #[arg(long)]
        dir: PathBuf,
        peer: String,
    },
    /// Pull a peer's list from now on; updates are verified against the peer's key.
    Subscribe {
        #[arg(long)]
        dir: PathBuf,
        peer: String,
        list: String,
    },
    /// Stop pulling a list and forget its entries.
    Unsubscribe {
        #[arg(long)]
        dir: PathBuf,
        list: String,
    },
    /// The node's lists (own and pulled) and the health of its subscriptions.
    Lists {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Tell an entry's contributor that it matched here (a sealed message). Optional: nothing is
    /// sent unless asked.
    Notify {
        #[arg(long)]
        dir: PathBuf,
        list: String,
        entry: u64,
        #[arg(long)]
        distance: Option<u32>,
        #[arg(long)]
        note: Option<String>,
    },
}

pub fn run(cmd: ShareCommand) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(run_async(cmd))?;
    Ok(ExitCode::SUCCESS)
}

async fn run_async(cmd: ShareCommand) -> anyhow::Result<()> {
    match cmd {
        ShareCommand::Share {
            dir,
            list,
            category,
            series,
            victim_identified,
            revoke,
            hashes,
        } => {
            let add = match hashes {
                Some(path) => entries(&path, category.as_deref(), series, victim_identified)?,
                None => Vec::new(),
            };
            let v = Api::for_dir(&dir)?
                .post(
                    "/api/v1/pdq/publish",
                    &json!({"list": list, "add": add, "revoke": revoke}),
                )
                .await?;
            let ids: Vec<String> = v["added"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| format!("{} {}", e["id"], e["pdq"].as_str().unwrap_or("?")))
                .collect();
            for line in &ids {
                println!("{line}");
            }
            eprintln!(
                "{list}: version {}, {} added, {} revoked",
                v["version"],
                ids.len(),
                v["revoked"].as_array().map_or(0, Vec::len)
            );
        }
        ShareCommand::Catalogue { dir, peer } => {
            let lists = Api::for_dir(&dir)?
                .get(&format!("/api/v1/pdq/peers/{peer}/lists"))
                .await?;
            println!("LIST\tVERSION\tISSUED");
            for l in lists.as_array().into_iter().flatten() {
                println!(
                    "{}\t{}\t{}",
                    text(&l["list"]),
                    l["version"],
                    text(&l["issued_at"])
                );
            }
        }
        ShareCommand::Subscribe { dir, peer, list } => {
            let v = Api::for_dir(&dir)?
                .post(
                    "/api/v1/pdq/subscribe",
                    &json!({"peer": peer, "list": list}),
                )
                .await?;
            let state = if v["new"] == true {
                "subscribed"
            } else {
                "already subscribed"
            };
            println!("{list} from {peer}: {state}");
        }
        ShareCommand::Unsubscribe { dir, list } => {
            let v = Api::for_dir(&dir)?
                .post("/api/v1/pdq/unsubscribe", &json!({"list": list}))
                .await?;
            if v["removed"] != true {
                bail!("{list} is not subscribed");
            }
            println!("{list}: unsubscribed");
        }
        ShareCommand::Lists { dir } => {
            let api = Api::for_dir(&dir)?;
            let lists = api.get("/api/v1/pdq/lists").await?;
            println!("LIST\tPUBLISHER\tVERSION\tLIVE ENTRIES");
            for l in lists.as_array().into_iter().flatten() {
                println!(
                    "{}\t{}\t{}\t{}",
                    text(&l["list"]),
                    text(&l["publisher"]),
                    l["version"],
                    l["live_entries"]
                );
            }
            let subs = api.get("/api/v1/pdq/subscriptions").await?;
            for s in subs.as_array().into_iter().flatten() {
                let health = match s["last_error"].as_object() {
                    Some(e) => format!(
                        "FAILING x{} [{}] {}",
                        s["failures"],
                        e.get("code").map_or("?".into(), text),
                        e.get("message").map_or("?".into(), text)
                    ),
                    None => format!("ok, last pulled {}", text(&s["last_success_at"])),
                };
                println!(
                    "subscription {} from {}: version {}, {health}",
                    text(&s["list"]),
                    text(&s["peer"]),
                    s["applied_version"]
                );
            }
        }
        ShareCommand::Notify {
            dir,
            list,
            entry,
            distance,
            note,
        } => {
            let v = Api::for_dir(&dir)?
                .post(
                    "/api/v1/pdq/notify",
                    &json!({"list": list, "entry": entry, "distance": distance, "note": note}),
                )
                .await?;
            println!("{}", text(&v["id"]));
        }
    }
    Ok(())
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// Entries from `comity pdq hash` output (`HASH QUALITY PATH`); exact digests of the files that
/// can still be read.
fn entries(
    path: &Path,
    category: Option<&str>,
    series: Option<String>,
    victim_identified: bool,
) -> anyhow::Result<Vec<Value>> {
    let category = category.context("--category is needed to add entries")?;
    let text = if path == Path::new("-") {
        std::io::read_to_string(std::io::stdin())?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    let mut out = Vec::new();
    for line in hash_lines(&text) {
        let (pdq, quality, digests) = line?;
        out.push(json!({
            "pdq": pdq.to_string(),
            "quality": quality,
            "sha256": digests.map(|d| hex::encode(d.sha256)),
            "md5": digests.map(|d| hex::encode(d.md5)),
            "category": category,
            "series": series,
            "victim_identified": victim_identified,
        }));
    }
    Ok(out)
}

/// One line per match, as `comity pdq match` prints them from list files.
fn describe(target: &str, m: &Value) -> String {
    let by = match m["distance"].as_u64() {
        Some(d) => format!("pdq distance={d}"),
        None => text(&m["by"]),
    };
    format!(
        "{target}\tlist={} entry={} contributor={} series={} category={} victim-identified={} match={by}",
        text(&m["list"]),
        m["entry"],
        text(&m["contributor"]),
        m["series"].as_str().unwrap_or("-"),
        text(&m["category"]),
        if m["victim_identified"] == true {
            "yes"
        } else {
            "no"
        },
    )
}

/// Each entry once per target, at its nearest (exact-digest matches count as distance 0).
fn nearest(answer: &Value) -> Vec<Value> {
    let mut best: BTreeMap<(String, u64), (u64, Value)> = BTreeMap::new();
    for r in answer["results"].as_array().into_iter().flatten() {
        for m in r["matches"].as_array().into_iter().flatten() {
            let key = (text(&m["list"]), m["entry"].as_u64().unwrap_or(0));
            let d = m["distance"].as_u64().unwrap_or(0);
            if best.get(&key).is_none_or(|(old, _)| d < *old) {
                best.insert(key, (d, m.clone()));
            }
        }
    }
    let mut out: Vec<(u64, Value)> = best.into_values().collect();
    out.sort_by_key(|(d, _)| *d);
    out.into_iter().map(|(_, m)| m).collect()
}

/// `comity pdq match --dir`: exit status 0 if something matched, 1 if nothing did, 2 on error.
pub fn match_via_node(dir: &Path, targets: &[String], radius: u32) -> anyhow::Result<ExitCode> {
    let api = Api::for_dir(dir)?;
    let rt = crate::runtime()?;
    let mut queries: Vec<(String, Value)> = Vec::new();
    let mut paths = Vec::new();
    for target in targets {
        match target.parse::<PdqHash>() {
            Ok(hash) => queries.push((
                target.clone(),
                json!({"pdq": [hash.to_string()], "radius": radius}),
            )),
            Err(_) => paths.push(PathBuf::from(target)),
        }
    }
    let (files, problems) = collect_files(&paths);
    report_problems(&problems);
    let failures = hash_files(&files, |path, hashed| {
        if hashed.hashes.quality < 50 {
            eprintln!(
                "{}: quality {} is low; PDQ matches are unreliable",
                path.display(),
                hashed.hashes.quality
            );
        }
        let pdq: Vec<String> = hashed
            .hashes
            .hashes
            .iter()
            .map(ToString::to_string)
            .collect();
        queries.push((
            path.display().to_string(),
            json!({"pdq": pdq, "sha256": [hex::encode(hashed.sha256)],
                   "md5": [hex::encode(hashed.md5)], "radius": radius}),
        ));
        Ok(())
    })?;
    let mut matched = false;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (target, query) in queries {
        let answer = rt.block_on(api.post("/api/v1/pdq/match", &query))?;
        for m in nearest(&answer) {
            matched = true;
            writeln!(out, "{}", describe(&target, &m))?;
        }
    }
    out.flush()?;
    if some_unhashed(failures + problems.len(), files.len()) {
        return Ok(ExitCode::from(2));
    }
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
