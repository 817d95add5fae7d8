//! `comity node`: create a node, join a federation, rotate keys, renew the API token, serve.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use comity_model::{Jurisdiction, NodeId, Role, Timestamp};
use comity_node::{NodeSetup, RunningNode};
use comity_seal::{Descriptor, KdfParams, NodeSecrets, SignedDescriptor, Trust};
use comity_store::Store;

use crate::nodedir::{NodeDir, NodeFile, passphrase, write_file};

#[derive(Subcommand)]
pub enum NodeCommand {
    /// Create a node directory: keys (encrypted), signed descriptor, configuration, API token.
    Init(InitArgs),
    /// Install a federation trust list and pin its root key.
    Join {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        trust_list: PathBuf,
        /// The federation root key (base64), obtained out of band from the federation.
        #[arg(long)]
        root: String,
    },
    /// Replace the node's keys: a new descriptor version signed by the old and the new key.
    Rotate {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Run the node until Ctrl-C.
    Serve {
        #[arg(long)]
        dir: PathBuf,
    },
    /// A running node's state and the delivery health of each peer.
    Status {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Write a new random API token (`api.token`, readable by its owner only); a running node
    /// uses it once restarted.
    Token {
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(clap::Args)]
pub struct InitArgs {
    #[arg(long)]
    pub dir: PathBuf,
    /// Node id, e.g. dz-moj.
    #[arg(long)]
    pub id: String,
    /// ISO 3166-1 alpha-2 code, e.g. DZ.
    #[arg(long)]
    pub jurisdiction: String,
    /// central-authority, 24-7, extradition, police, judicial, hash-contributor (repeatable).
    #[arg(long = "role", required = true)]
    pub roles: Vec<String>,
    /// Display name, e.g. "Ministry of Justice of Algeria".
    #[arg(long)]
    pub name: String,
    /// Where peers reach this node.
    #[arg(long, default_value = "https://127.0.0.1:7401")]
    pub endpoint: String,
    /// Address the federation server binds (default: the endpoint's address).
    #[arg(long)]
    pub federation_listen: Option<SocketAddr>,
    /// Address the user API binds.
    #[arg(long, default_value = "127.0.0.1:7501")]
    pub api_listen: SocketAddr,
    /// PostgreSQL URL; default SQLite in the node directory.
    #[arg(long)]
    pub database_url: Option<String>,
}

pub async fn run(cmd: NodeCommand) -> Result<()> {
    match cmd {
        NodeCommand::Init(args) => {
            let dir = args.dir.clone();
            let secrets = NodeSecrets::generate(&mut rand::rng());
            let d = init(args, &secrets, &passphrase(true)?, KdfParams::INTERACTIVE)?;
            println!("node {} created in {}", d.node, dir.display());
            println!("signing key {}", comity_seal::key_id(&d.signing_key));
            println!(
                "next: send {} to the federation to be admitted",
                dir.join("descriptor.json").display()
            );
            Ok(())
        }
        NodeCommand::Join {
            dir,
            trust_list,
            root,
        } => {
            let bytes = std::fs::read(&trust_list)
                .with_context(|| format!("cannot read {}", trust_list.display()))?;
            let serial = join(&NodeDir::new(&dir), &bytes, &root)?;
            println!("joined: trust list serial {serial} installed, root pinned");
            Ok(())
        }
        NodeCommand::Rotate { dir } => {
            let nd = NodeDir::new(&dir);
            let pass = passphrase(false)?;
            let d = rotate(&nd, &pass, KdfParams::INTERACTIVE)?;
            println!(
                "keys rotated: descriptor version {} with signing key {}",
                d.version,
                comity_seal::key_id(&d.signing_key)
            );
            println!(
                "next: have the federation admit {} and publish a new trust list",
                nd.file("descriptor.json").display()
            );
            Ok(())
        }
        NodeCommand::Serve { dir } => {
            let running = start(&NodeDir::new(&dir), &passphrase(false)?).await?;
            println!(
                "node {} serving peers on https://{}",
                running.node.id(),
                running.federation_addr
            );
            println!("user API on http://{}", running.api_addr);
            wait_for_stop().await;
            running.shutdown().await;
            Ok(())
        }
        NodeCommand::Status { dir } => status(&dir).await,
        NodeCommand::Token { dir } => {
            let nd = NodeDir::new(&dir);
            nd.read_config()?;
            nd.new_api_token()?;
            println!(
                "new API token written to {} (readable by its owner only); restart `comity node serve` for the node to use it",
                nd.file("api.token").display()
            );
            Ok(())
        }
    }
}

async fn status(dir: &std::path::Path) -> Result<()> {
    let api = crate::client::Api::for_dir(dir)?;
    let node = api.get("/api/v1/node").await?;
    let text = |v: &serde_json::Value| {
        v.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| v.to_string())
    };
    println!(
        "{} ({}, {}) federation {} serial {}, store {}",
        text(&node["node"]),
        text(&node["jurisdiction"]),
        text(&node["name"]),
        text(&node["federation"]),
        node["trust_list_serial"],
        text(&node["store"])
    );
    println!("outbox {}  inbox {}", node["outbox"], node["inbox"]);
    let ledger = api.get("/api/v1/ledger").await?;
    println!(
        "ledger {} entries, checkpoint {} cosigned by {}, alarms {}",
        ledger["size"],
        ledger["cosigned_checkpoint"]["size"],
        ledger["cosigned_checkpoint"]["cosigned_by"]
            .as_array()
            .map_or(0, Vec::len),
        ledger["alarms"]
    );
    let integrity = &ledger["integrity"];
    let checks: Vec<String> = integrity["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            format!(
                "{} pass {} at {}",
                text(&c["source"]),
                c["passes"],
                if c["position"] == "" {
                    "start".to_owned()
                } else {
                    text(&c["position"])
                }
            )
        })
        .collect();
    println!(
        "integrity alarms {}{}",
        integrity["alarms"],
        if checks.is_empty() {
            String::new()
        } else {
            format!(", background check: {}", checks.join(", "))
        }
    );
    for p in api
        .get("/api/v1/peers")
        .await?
        .as_array()
        .into_iter()
        .flatten()
    {
        println!(
            "  {:<10} queued {:<5} dead {:<4} oldest undelivered {:<24} last success {:<24} failures {} refused (1 h) {}{}{}",
            text(&p["node"]),
            p["queued"],
            p["dead"],
            p["oldest_undelivered_at"].as_str().unwrap_or("-"),
            p["last_success_at"].as_str().unwrap_or("never"),
            p["consecutive_failures"],
            p["refused_last_hour"],
            p["throttled_until"]
                .as_str()
                .map(|t| format!("  THROTTLED until {t}"))
                .unwrap_or_default(),
            p["last_error"]
                .as_str()
                .map(|e| format!("  last error: {e}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// Creates the node directory; refuses to overwrite an existing node.
pub fn init(
    args: InitArgs,
    secrets: &NodeSecrets,
    passphrase: &str,
    kdf: KdfParams,
) -> Result<Descriptor> {
    let nd = NodeDir::new(&args.dir);
    if nd.file("node.toml").exists() {
        bail!("{} already holds a node", args.dir.display());
    }
    let id: NodeId = args.id.parse()?;
    let jurisdiction: Jurisdiction = args.jurisdiction.parse()?;
    let roles: Vec<Role> = args
        .roles
        .iter()
        .map(|r| r.parse())
        .collect::<Result<_, _>>()?;
    let url = args
        .endpoint
        .strip_prefix("https://")
        .context("the endpoint must start with https://")?;
    let federation_listen = match args.federation_listen {
        Some(a) => a,
        None => url
            .trim_end_matches('/')
            .parse()
            .context("give --federation-listen when the endpoint is not IP:PORT")?,
    };
    crate::private::create_dir(&args.dir)?;
    let now = Timestamp::from_unix_ms(comity_node::now_ms());
    let descriptor = Descriptor::for_secrets(
        secrets,
        id.clone(),
        jurisdiction,
        roles.clone(),
        args.name.clone(),
        args.endpoint.clone(),
        now,
    );
    let signed = SignedDescriptor::sign(descriptor.clone(), secrets, None);
    write_file(
        &nd.file("secrets.json"),
        &secrets.encrypt(passphrase, kdf, &mut rand::rng()),
    )?;
    write_file(&nd.file("descriptor.json"), &signed.to_json())?;
    nd.new_api_token()?;
    nd.write_config(&NodeFile {
        id: id.to_string(),
        jurisdiction: jurisdiction.to_string(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        name: args.name,
        endpoint: args.endpoint,
        federation_listen,
        api_listen: args.api_listen,
        database_url: args.database_url,
        federation_root: None,
        delivery: Default::default(),
        ledger: Default::default(),
        limits: Default::default(),
        integrity: Default::default(),
    })?;
    Ok(descriptor)
}

/// Verifies a trust list against the given root, checks that it lists this node as it is and
/// that it is newer than the one installed.
pub fn join(nd: &NodeDir, list_bytes: &[u8], root: &str) -> Result<u64> {
    let mut config = nd.read_config()?;
    let root_key: comity_seal::PublicKey =
        root.parse().map_err(|e| anyhow::anyhow!("--root: {e}"))?;
    let list = comity_seal::SignedTrustList::from_json(list_bytes)
        .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
    let trust = Trust::from_verified(&list, &root_key)
        .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
    let me = nd.read_descriptor()?.descriptor;
    match trust.member(&me.node) {
        Some(d) if d.signing_key == me.signing_key => {}
        Some(_) => bail!(
            "the trust list holds another key for {}: has the latest descriptor been admitted?",
            me.node
        ),
        None => bail!(
            "{} is not a member of this trust list: have it admitted first",
            me.node
        ),
    }
    refuse_rollback(nd, &list, list_bytes)?;
    write_file(&nd.file("trust-list.json"), list_bytes)?;
    config.federation_root = Some(root_key.to_string());
    nd.write_config(&config)?;
    Ok(trust.serial())
}

/// A trust list replaces the installed one of the same root only with a higher serial: an older
/// list would bring back members and keys the federation removed. Re-joining with the very same
/// list is fine.
fn refuse_rollback(
    nd: &NodeDir,
    list: &comity_seal::SignedTrustList,
    list_bytes: &[u8],
) -> Result<()> {
    let path = nd.file("trust-list.json");
    let installed = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => bail!("cannot read the installed {}: {e}", path.display()),
    };
    if installed == list_bytes {
        return Ok(());
    }
    let installed = comity_seal::SignedTrustList::from_json(&installed).map_err(|e| {
        anyhow::anyhow!(
            "the installed {} is unreadable ([{}] {e}): move it away to install another list",
            path.display(),
            e.code()
        )
    })?;
    let (had, new) = (installed.list.serial, list.list.serial);
    if installed.root_key == list.root_key && new <= had {
        bail!(
            "refusing trust list serial {new}: the installed list has serial {had}, and a list is \
             replaced only by one with a higher serial (a lower or equal serial with other \
             contents could bring back members or keys the federation removed); ask the \
             federation for its latest list"
        );
    }
    Ok(())
}

/// New keys; the new descriptor is signed by both, the old secrets are kept beside the new ones.
pub fn rotate(nd: &NodeDir, passphrase: &str, kdf: KdfParams) -> Result<Descriptor> {
    let old = nd.read_secrets(passphrase)?;
    let mut descriptor = nd.read_descriptor()?.descriptor;
    let fresh = NodeSecrets::generate(&mut rand::rng());
    descriptor.version += 1;
    descriptor.signing_key = fresh.signing_public();
    descriptor.hpke_keys = fresh.hpke_keys();
    descriptor.tls_key = fresh.tls_public();
    descriptor.valid_from = Timestamp::from_unix_ms(comity_node::now_ms());
    let signed = SignedDescriptor::sign(descriptor.clone(), &fresh, Some(&old));
    let previous = format!("secrets.v{}.json", descriptor.version - 1);
    std::fs::rename(nd.file("secrets.json"), nd.file(&previous))?;
    write_file(
        &nd.file("secrets.json"),
        &fresh.encrypt(passphrase, kdf, &mut rand::rng()),
    )?;
    write_file(&nd.file("descriptor.json"), &signed.to_json())?;
    Ok(descriptor)
}

/// Reads the node directory, opens the store, binds both listeners and starts the node.
/// Refuses a missing, blank or short API token before anything else, and makes the node
/// directory private (an older node's files were written under the umask).
pub async fn start(nd: &NodeDir, passphrase: &str) -> Result<RunningNode> {
    let config = nd.read_config()?;
    let api_token = nd.api_token()?;
    crate::private::make_private(&nd.path)?;
    let setup = NodeSetup {
        config: NodeDir::node_config(&config, api_token),
        secrets: nd.read_secrets(passphrase)?,
        descriptor: nd.read_descriptor()?,
        trust_list: nd.read_trust_list()?,
        federation_root: NodeDir::federation_root(&config)?,
        store: Store::open(&nd.database_url(&config))
            .await
            .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?,
        federation_listener: bind(config.federation_listen).await?,
        api_listener: bind(config.api_listen).await?,
        law: std::sync::Arc::new(comity_law::LawPacks::shipped()?),
        evidence_dir: nd.path.join("evidence"),
        checkpoint_file: Some(nd.file(crate::nodedir::CHECKPOINT_FILE)),
    };
    RunningNode::start(setup)
        .await
        .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))
}

async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))
}

/// Ctrl-C or SIGTERM.
pub async fn wait_for_stop() {
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
