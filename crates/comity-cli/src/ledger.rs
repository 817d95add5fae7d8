//! `comity ledger`: offline checks of a proof file or of a log directory, and (in
//! `ledger_node`) the ledger of a running node.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use comity_ledger::tile::{TileSet, entry_bundles_for_size, hash_tiles_for_size};
use comity_ledger::{Entry, LedgerError, NoteVerifier, ProofBundle, SignedCheckpoint};

use crate::ledger_node;

#[derive(clap::Subcommand)]
pub enum LedgerCommand {
    /// Verify, with the log's public key: a proof file (inclusion or consistency, with its
    /// signed checkpoint) or a log directory laid out as C2SP tlog-tiles, offline; or the whole
    /// log a federation member serves (`--node`), fetched over pinned TLS.
    Verify(VerifyArgs),
    /// The running node's latest signed checkpoint, its cosignatures, and how witnessing of
    /// each peer goes.
    Checkpoint {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// An inclusion proof of entry INDEX against a signed (preferably cosigned) checkpoint.
    Prove {
        #[arg(long)]
        dir: PathBuf,
        index: u64,
        /// Prove against the signed checkpoint of this tree size.
        #[arg(long)]
        size: Option<u64>,
        /// Write the proof file here (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The newest entries of the node's ledger.
    Entries {
        #[arg(long)]
        dir: PathBuf,
        /// message_sent, message_received, request_state, custody_event or data_access.
        #[arg(long)]
        kind: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Alarms: peers that signed two checkpoints that cannot both be true, and this node's
    /// stored content found to contradict what was signed for it (exit 1 if any).
    Alarms {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Proof file (JSON, format comity-ledger-proof/v1).
    #[arg(long, conflicts_with_all = ["log_dir", "node"])]
    proof: Option<PathBuf>,
    /// Directory holding `checkpoint`, `tile/<L>/...` and `tile/entries/...` as a node serves them.
    #[arg(long, conflicts_with = "node")]
    log_dir: Option<PathBuf>,
    /// A federation member (or this node) whose served log to fetch and verify; keys come from
    /// the trust list of the node in `--dir`.
    #[arg(long, requires = "dir")]
    node: Option<String>,
    /// The node directory whose trust list names `--node`.
    #[arg(long)]
    dir: Option<PathBuf>,
    /// With `--node`: keep the fetched log in this directory (default: a temporary one).
    #[arg(long, requires = "node")]
    save: Option<PathBuf>,
    /// The log's verifier key (`name+keyid+base64`), or a file containing it.
    #[arg(long, required_unless_present = "node")]
    key: Option<String>,
    /// A witness verifier key whose valid cosignature is required (repeatable; value or file).
    #[arg(long = "witness")]
    witnesses: Vec<String>,
    /// Print the verified facts as JSON.
    #[arg(long)]
    json: bool,
}

pub fn run(cmd: LedgerCommand) -> anyhow::Result<ExitCode> {
    let ok = ExitCode::SUCCESS;
    match cmd {
        LedgerCommand::Verify(args) => verify(&args),
        LedgerCommand::Checkpoint { dir, json } => {
            crate::runtime()?.block_on(ledger_node::checkpoint(&dir, json))?;
            Ok(ok)
        }
        LedgerCommand::Prove {
            dir,
            index,
            size,
            out,
        } => {
            crate::runtime()?.block_on(ledger_node::prove(&dir, index, size, out.as_deref()))?;
            Ok(ok)
        }
        LedgerCommand::Entries {
            dir,
            kind,
            limit,
            json,
        } => {
            crate::runtime()?.block_on(ledger_node::entries(&dir, kind.as_deref(), limit, json))?;
            Ok(ok)
        }
        LedgerCommand::Alarms { dir, json } => {
            let any = crate::runtime()?.block_on(ledger_node::alarms(&dir, json))?;
            Ok(if any { ExitCode::from(1) } else { ok })
        }
    }
}

fn read_vkey(arg: &str) -> anyhow::Result<NoteVerifier> {
    let text = if Path::new(arg).is_file() {
        std::fs::read_to_string(arg).with_context(|| format!("reading key file {arg}"))?
    } else {
        arg.to_owned()
    };
    NoteVerifier::parse(&text).with_context(|| format!("verifier key {:?}", text.trim()))
}

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let witnesses = args
        .witnesses
        .iter()
        .map(|w| read_vkey(w))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let outcome = match (&args.proof, &args.log_dir, &args.node, &args.dir) {
        (Some(file), _, _, _) => {
            let log = read_vkey(args.key.as_deref().unwrap_or_default())?;
            let bytes =
                std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
            verify_proof_file(&bytes, &log, &witnesses)
        }
        (None, Some(dir), _, _) => {
            let log = read_vkey(args.key.as_deref().unwrap_or_default())?;
            verify_log_dir(dir, &log, &witnesses)?
        }
        (None, None, Some(peer), Some(node_dir)) => {
            let (dir, _temporary) = ledger_node::fetch_dir(args.save.as_deref())?;
            let log_vkey = crate::runtime()?.block_on(ledger_node::fetch(node_dir, peer, &dir))?;
            let log = match &args.key {
                Some(k) => read_vkey(k)?,
                None => read_vkey(&log_vkey)?,
            };
            verify_log_dir(&dir, &log, &witnesses)?
        }
        _ => anyhow::bail!("give --proof FILE, --log-dir DIR, or --node PEER --dir NODE_DIR"),
    };
    match outcome {
        Ok(mut report) => {
            if args.json {
                if let Some(obj) = report.json.as_object_mut() {
                    obj.insert("ok".into(), serde_json::Value::Bool(true));
                }
                println!("{}", serde_json::to_string_pretty(&report.json)?);
            } else {
                println!("OK {}", report.text);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            if args.json {
                let json =
                    serde_json::json!({"ok": false, "code": err.code(), "error": err.to_string()});
                println!("{}", serde_json::to_string_pretty(&json)?);
            } else {
                println!("FAILED [{}] {err}", err.code());
            }
            Ok(ExitCode::from(1))
        }
    }
}

struct Report {
    text: String,
    json: serde_json::Value,
}

fn require_witnesses(
    found: &[comity_ledger::VerifiedSignature],
    witnesses: &[NoteVerifier],
) -> Result<(), LedgerError> {
    for w in witnesses {
        if !found
            .iter()
            .any(|c| c.name == w.name() && c.key_id == w.key_id())
        {
            return Err(LedgerError::NoteUnverified(format!(
                "no cosignature from required witness {}",
                w.name()
            )));
        }
    }
    Ok(())
}

fn cosigned_by(found: &[comity_ledger::VerifiedSignature]) -> String {
    if found.is_empty() {
        return String::new();
    }
    let names: Vec<String> = found
        .iter()
        .map(|c| match c.timestamp {
            Some(t) => format!("{} (time {t})", c.name),
            None => c.name.clone(),
        })
        .collect();
    format!("; cosigned by {}", names.join(", "))
}

fn verify_proof_file(
    bytes: &[u8],
    log: &NoteVerifier,
    witnesses: &[NoteVerifier],
) -> Result<Report, LedgerError> {
    let bundle = ProofBundle::from_json(bytes)?;
    let v = bundle.verify(log, witnesses)?;
    require_witnesses(&v.cosignatures, witnesses)?;
    let text = match (v.index, v.old_size) {
        (Some(index), _) => {
            let what = v
                .entry
                .as_ref()
                .map(|e| format!(" ({} by {} at {} ms)", e.kind.as_str(), e.actor, e.time_ms))
                .unwrap_or_default();
            format!(
                "entry {index}{what} is in log {} at size {} (root {}){}",
                v.origin,
                v.size,
                v.root,
                cosigned_by(&v.cosignatures)
            )
        }
        (None, Some(old)) => format!(
            "log {} at size {} (root {}) extends size {old}{}",
            v.origin,
            v.size,
            v.root,
            cosigned_by(&v.cosignatures)
        ),
        (None, None) => format!("log {} at size {}", v.origin, v.size),
    };
    let json = serde_json::to_value(&v).map_err(|e| LedgerError::ProofFile(e.to_string()))?;
    Ok(Report { text, json })
}

fn verify_log_dir(
    dir: &Path,
    log: &NoteVerifier,
    witnesses: &[NoteVerifier],
) -> anyhow::Result<Result<Report, LedgerError>> {
    let cp_bytes = std::fs::read(dir.join("checkpoint"))
        .with_context(|| format!("reading {}/checkpoint", dir.display()))?;
    let cp = match SignedCheckpoint::open(&cp_bytes, log) {
        Ok(cp) => cp,
        Err(e) => return Ok(Err(e)),
    };
    let cosigs = match cp
        .cosignatures(witnesses)
        .and_then(|c| require_witnesses(&c, witnesses).map(|()| c))
    {
        Ok(c) => c,
        Err(e) => return Ok(Err(e)),
    };
    let size = cp.checkpoint.size;
    let mut set = TileSet::new(size);
    let read =
        |path: String| std::fs::read(dir.join(&path)).map_err(|_| LedgerError::TileMissing(path));
    let mut kinds: BTreeMap<String, u64> = BTreeMap::new();
    let result = (|| {
        for id in hash_tiles_for_size(size) {
            set.insert(&id, &read(id.path())?)?;
        }
        set.verify(&cp.checkpoint.root)?;
        for id in entry_bundles_for_size(size) {
            for e in set.verify_bundle(&id, &read(id.path())?)? {
                let kind = Entry::parse(&e).map_or("other", |e| e.kind.as_str());
                *kinds.entry(kind.to_owned()).or_default() += 1;
            }
        }
        Ok::<(), LedgerError>(())
    })();
    if let Err(e) = result {
        return Ok(Err(e));
    }
    let summary: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let text = format!(
        "log {} at size {} (root {}): every tile and entry bundle matches the signed checkpoint [{}]{}",
        cp.checkpoint.origin,
        size,
        cp.checkpoint.root,
        summary.join(", "),
        cosigned_by(&cosigs)
    );
    let json = serde_json::json!({
        "origin": cp.checkpoint.origin,
        "size": size,
        "root": cp.checkpoint.root,
        "entries_by_kind": kinds,
        "cosignatures": cosigs,
    });
    Ok(Ok(Report { text, json }))
}
