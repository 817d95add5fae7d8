//! `comity evidence add|list|show|export|send|transfers|consent`: evidence through a running
//! node's API. Files are streamed (constant memory, whatever their size); the node hashes,
//! encrypts and records custody; transfers to other nodes run in the node.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use futures_util::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use tokio_util::io::ReaderStream;

use crate::client::Api;
use crate::nodedir::NodeDir;

/// Bytes read from a file at a time when it is uploaded to the node.
const UPLOAD_READ: usize = 1 << 20;

#[derive(clap::Subcommand)]
pub enum EvidenceCommand {
    /// Add files (folders: every file under them) to a case; prints `SHA256 SIZE PATH` per file.
    Add {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        case: String,
        /// Who seized the files (default: the API user).
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        location: Option<String>,
        #[arg(long)]
        tool: Option<String>,
        #[arg(long)]
        method: Option<String>,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// The items of a case: `SHA256 SIZE NAME`.
    List {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        case: String,
    },
    /// Export a case as a court package (a zip file if OUT ends in `.zip`, else a new
    /// directory): items, signed custody events, ledger inclusion proofs, node descriptors.
    Export {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        case: String,
        /// The proceedings the package is for.
        #[arg(long)]
        purpose: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// An item's custody timeline, one event a line, with its ledger index, then its transfers.
    Show {
        #[arg(long)]
        dir: PathBuf,
        sha256: String,
    },
    /// Send an item to another node: records `sent` with the conditions and offers the item;
    /// the recipient pulls it. Prints the transfer id.
    Send {
        #[arg(long)]
        dir: PathBuf,
        sha256: String,
        #[arg(long)]
        to: String,
        /// The investigation or proceedings the item is sent for.
        #[arg(long)]
        purpose: String,
        /// A use condition: `confidential`, `no_onward_transfer` or `purpose_limited=P[,P...]`.
        #[arg(long = "condition")]
        conditions: Vec<String>,
        /// A legal basis cited for the conditions, e.g. `Budapest Art. 28`.
        #[arg(long = "legal-basis")]
        legal_basis: Vec<String>,
        /// The cooperation request this answers.
        #[arg(long)]
        request: Option<String>,
    },
    /// Transfers in and out: `ID DIRECTION PEER STATE RECEIVED/CHUNKS SHA256 [CODE]`.
    Transfers {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Withdraw an offer this node sent that is still open (e.g. sent to the wrong node): its
    /// chunks are no longer served and the recipient registers nothing.
    Withdraw {
        #[arg(long)]
        dir: PathBuf,
        transfer: String,
        #[arg(long)]
        reason: String,
    },
    /// As a node that sent the item, consent to the holder forwarding (`--forward-to`) or
    /// exporting (`--export`) it for a purpose; the signed consent is sent to the holder.
    Consent {
        #[arg(long)]
        dir: PathBuf,
        sha256: String,
        #[arg(long)]
        holder: String,
        #[arg(long, conflicts_with = "export", required_unless_present = "export")]
        forward_to: Option<String>,
        #[arg(long)]
        export: bool,
        #[arg(long)]
        purpose: String,
    },
}

/// `confidential`, `no_onward_transfer`, `purpose_limited=P[,P...]` as the API's JSON.
fn condition(s: &str) -> anyhow::Result<Value> {
    Ok(match s.split_once('=') {
        None if s == "confidential" || s == "no_onward_transfer" => json!({ "type": s }),
        Some(("purpose_limited", purposes)) => json!({
            "type": "purpose_limited",
            "purposes": purposes.split(',').map(str::trim).collect::<Vec<_>>(),
        }),
        _ => bail!(
            "unknown condition {s:?}: use confidential, no_onward_transfer or purpose_limited=P[,P...]"
        ),
    })
}

pub fn run(cmd: EvidenceCommand) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(run_async(cmd))
}

async fn run_async(cmd: EvidenceCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        EvidenceCommand::Add {
            dir,
            case,
            by,
            location,
            tool,
            method,
            paths,
        } => {
            let mut query = vec![("case", case)];
            for (k, v) in [
                ("by", by),
                ("location", location),
                ("tool", tool),
                ("method", method),
            ] {
                if let Some(v) = v {
                    query.push((k, v));
                }
            }
            add(&dir, &query, &paths).await
        }
        EvidenceCommand::List { dir, case } => {
            let v = Api::for_dir(&dir)?
                .get(&format!("/api/v1/evidence?case={}", encode(&case)))
                .await?;
            for item in v["items"].as_array().into_iter().flatten() {
                println!(
                    "{} {} {}",
                    item["sha256"].as_str().unwrap_or("?"),
                    item["size"],
                    item["name"].as_str().unwrap_or("?")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Export {
            dir,
            case,
            purpose,
            out,
        } => export(&dir, &case, &purpose, &out).await,
        EvidenceCommand::Show { dir, sha256 } => {
            let v = Api::for_dir(&dir)?
                .get(&format!("/api/v1/evidence/{}", encode(&sha256)))
                .await?;
            println!(
                "{} {} bytes, case {}, name {}, provided by {}",
                v["sha256"].as_str().unwrap_or("?"),
                v["size"],
                v["case"].as_str().unwrap_or("?"),
                v["name"].as_str().unwrap_or("?"),
                v["provider"].as_str().unwrap_or("?")
            );
            for e in v["custody"].as_array().into_iter().flatten() {
                println!(
                    "{}\t{}\t{}\t{}\tledger {}",
                    e["seq"],
                    e["at"].as_str().unwrap_or("?"),
                    e["action"].as_str().unwrap_or("?"),
                    e["actor"].as_str().unwrap_or("?"),
                    if e["foreign"] == true {
                        "of the signer (proof kept)".to_owned()
                    } else {
                        e["ledger_index"].to_string()
                    }
                );
            }
            for t in v["transfers"].as_array().into_iter().flatten() {
                println!("transfer {}", transfer_line(t));
            }
            for t in v["tampering"].as_array().into_iter().flatten() {
                println!(
                    "TAMPERED {} {}{}: {}",
                    t["detected_at"].as_str().unwrap_or("?"),
                    t["code"].as_str().unwrap_or("?"),
                    t["chunk"]
                        .as_u64()
                        .map(|c| format!(" at chunk {c}"))
                        .unwrap_or_default(),
                    t["reason"].as_str().unwrap_or("?")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Send {
            dir,
            sha256,
            to,
            purpose,
            conditions,
            legal_basis,
            request,
        } => {
            let conditions = conditions
                .iter()
                .map(|c| condition(c))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let v = Api::for_dir(&dir)?
                .post(
                    &format!("/api/v1/evidence/{}/send", encode(&sha256)),
                    &json!({"to": to, "purpose": purpose, "conditions": conditions,
                            "legal_basis": legal_basis, "request": request}),
                )
                .await?;
            println!("{}", transfer_line(&v));
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Transfers { dir } => {
            let v = Api::for_dir(&dir)?
                .get("/api/v1/evidence/transfers")
                .await?;
            for t in v["transfers"].as_array().into_iter().flatten() {
                println!("{}", transfer_line(t));
            }
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Withdraw {
            dir,
            transfer,
            reason,
        } => {
            let t = Api::for_dir(&dir)?
                .post(
                    &format!("/api/v1/evidence/transfers/{}/withdraw", encode(&transfer)),
                    &json!({ "reason": reason }),
                )
                .await?;
            println!("{}", transfer_line(&t));
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::Consent {
            dir,
            sha256,
            holder,
            forward_to,
            export: _,
            purpose,
        } => {
            let operation = match forward_to {
                Some(to) => json!({"type": "forward", "to": to, "purpose": purpose}),
                None => json!({"type": "export", "purpose": purpose}),
            };
            let v = Api::for_dir(&dir)?
                .post(
                    &format!("/api/v1/evidence/{}/consents", encode(&sha256)),
                    &json!({"holder": holder, "operation": operation}),
                )
                .await?;
            println!(
                "consent sent to {} (message {})",
                v["holder"].as_str().unwrap_or("?"),
                v["message_id"].as_str().unwrap_or("?")
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `ID DIRECTION PEER STATE RECEIVED/CHUNKS SHA256 [CODE]`.
fn transfer_line(t: &Value) -> String {
    let mut line = format!(
        "{} {} {} {} {}/{} {}",
        t["id"].as_str().unwrap_or("?"),
        t["direction"].as_str().unwrap_or("?"),
        t["peer"].as_str().unwrap_or("?"),
        t["state"].as_str().unwrap_or("?"),
        t["received"],
        t["chunks"],
        t["sha256"].as_str().unwrap_or("?"),
    );
    if let Some(code) = t["error"]["code"].as_str() {
        line.push(' ');
        line.push_str(code);
    }
    line
}

/// Percent-encodes a query or path value (unreserved characters stay).
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn collect(paths: &[PathBuf], files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for path in paths {
        if path.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .with_context(|| format!("{}", path.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()
                .with_context(|| format!("{}", path.display()))?;
            entries.sort();
            collect(&entries, files)?;
        } else {
            files.push(path.clone());
        }
    }
    Ok(())
}

fn progress(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes}, {bytes_per_sec}, {eta} left")
    {
        bar.set_style(style);
    }
    bar
}

async fn add(dir: &Path, query: &[(&str, String)], paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut files = Vec::new();
    collect(paths, &mut files)?;
    let mut total = 0;
    for f in &files {
        total += std::fs::metadata(f)
            .with_context(|| format!("{}", f.display()))?
            .len();
    }
    let nd = NodeDir::new(dir);
    let base = format!("http://{}", nd.read_config()?.api_listen);
    let token = nd.api_token()?;
    let http = reqwest::Client::new();
    let bar = progress(total);
    for f in &files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| f.display().to_string());
        let file = tokio::fs::File::open(f)
            .await
            .with_context(|| format!("{}", f.display()))?;
        let counted = bar.clone();
        // Large reads: the default 4 KiB ones cost a thread hand-off each and cap the upload.
        let stream = ReaderStream::with_capacity(file, UPLOAD_READ)
            .inspect_ok(move |b| counted.inc(b.len() as u64));
        let mut q: Vec<(&str, String)> = query.to_vec();
        q.push(("name", name));
        let response = http
            .post(format!("{base}/api/v1/evidence"))
            .query(&q)
            .bearer_auth(&token)
            .body(reqwest::Body::wrap_stream(stream))
            .send()
            .await
            .with_context(|| {
                format!("cannot reach the node at {base}; is `comity node serve` running?")
            })?;
        let status = response.status();
        let v: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bar.abandon();
            bail!(
                "{}: [{}] {}",
                f.display(),
                v["error"]["code"].as_str().unwrap_or("?"),
                v["error"]["message"].as_str().unwrap_or("?")
            );
        }
        bar.suspend(|| {
            println!(
                "{} {} {}",
                v["sha256"].as_str().unwrap_or("?"),
                v["size"],
                f.display()
            )
        });
    }
    bar.finish_and_clear();
    Ok(ExitCode::SUCCESS)
}

async fn export(dir: &Path, case: &str, purpose: &str, out: &Path) -> anyhow::Result<ExitCode> {
    if out.exists() {
        bail!("{} already exists", out.display());
    }
    let nd = NodeDir::new(dir);
    let base = format!("http://{}", nd.read_config()?.api_listen);
    let response = reqwest::Client::new()
        .get(format!("{base}/api/v1/evidence/export"))
        .query(&[("case", case), ("purpose", purpose)])
        .bearer_auth(nd.api_token()?)
        .send()
        .await
        .with_context(|| {
            format!("cannot reach the node at {base}; is `comity node serve` running?")
        })?;
    let status = response.status();
    if !status.is_success() {
        let v: Value = response.json().await.unwrap_or(Value::Null);
        bail!(
            "[{}] {}",
            v["error"]["code"].as_str().unwrap_or("?"),
            v["error"]["message"].as_str().unwrap_or("?")
        );
    }
    let is_zip = out
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("zip"));
    // The package goes first to a private file next to the destination (0600), removed if the
    // transfer fails or is interrupted: an export cut short leaves no partial package behind.
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let download = tempfile::Builder::new()
        .prefix(".comity-export-")
        .suffix(".zip")
        .tempfile_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    let mut file = tokio::fs::File::from_std(download.reopen()?);
    let copied = async {
        let mut body = response.bytes_stream();
        while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
            let chunk = chunk.context("the transfer of the package failed; nothing was kept")?;
            tokio::io::AsyncWriteExt::write_all(&mut file, &chunk).await?;
        }
        tokio::io::AsyncWriteExt::flush(&mut file).await?;
        file.sync_all().await?;
        anyhow::Ok(())
    };
    tokio::select! {
        r = copied => r?,
        _ = tokio::signal::ctrl_c() => bail!("interrupted; nothing was kept"),
    }
    drop(file);
    if is_zip {
        download
            .persist_noclobber(out)
            .with_context(|| format!("{}", out.display()))?;
    } else {
        let extracted = zip::ZipArchive::new(download.reopen()?)
            .and_then(|mut z| z.extract(out))
            .with_context(|| format!("{}", out.display()));
        if extracted.is_err() && out.exists() {
            let _ = std::fs::remove_dir_all(out);
        }
        extracted?;
    }
    eprintln!("case {case} exported to {}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// `comity verify`: a package checked offline against a trust anchor the verifier brings.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The package: the zip as exported, or a folder extracted from it.
    pub package: PathBuf,
    /// The federation root key (base64), obtained from the federation, as given to
    /// `comity node join --root`.
    #[arg(long, conflicts_with = "dir")]
    pub root: Option<String>,
    /// A node folder of the federation: verify against the root key it pinned when it joined.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Without --root or --dir, exit 0 for a consistent package even though nothing
    /// authenticates its signers (the report still says so).
    #[arg(long, conflicts_with_all = ["root", "dir"])]
    pub allow_unanchored: bool,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `comity verify PACKAGE (--root KEY | --dir D | --allow-unanchored)`: exit 0 when the package
/// is verified against the trust anchor (or, with `--allow-unanchored`, consistent), 1 when it
/// is not, 2 when the anchor or the package cannot be read.
pub fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let options = match (&args.root, &args.dir) {
        (Some(root), _) => {
            let key = root
                .trim()
                .parse()
                .map_err(|e: comity_seal::SealError| anyhow::anyhow!("--root: {e}"))?;
            comity_evidence::VerifyOptions::anchored(key, "given with --root")
        }
        (None, Some(dir)) => {
            let config = NodeDir::new(dir).read_config()?;
            comity_evidence::VerifyOptions::anchored(
                NodeDir::federation_root(&config)?,
                format!("pinned by node folder {}", dir.display()),
            )
        }
        (None, None) => comity_evidence::VerifyOptions::default(),
    };
    std::fs::metadata(&args.package)
        .with_context(|| format!("cannot read {}", args.package.display()))?;
    let report = comity_evidence::verify_package_with(&args.package, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if let Some(io) = report
        .failures()
        .find(|c| c.code == Some("evidence.package_io"))
    {
        bail!("the package could not be read: {}", io.reason);
    }
    let unanchored = report.anchor.status == comity_evidence::AnchorStatus::Unanchored;
    if unanchored && !args.allow_unanchored {
        eprintln!(
            "no trust anchor: pass --root KEY (the federation's root key, as given to `comity node join --root`) or --dir D (a node folder of the federation) to authenticate the signers"
        );
    }
    Ok(
        if report.verified || (unanchored && args.allow_unanchored && report.consistent) {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}
