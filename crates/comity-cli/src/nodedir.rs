//! A node directory: configuration, encrypted secrets, signed descriptor, trust list, API token,
//! and (by default) the SQLite database. Everything in it is private (`private.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use comity_node::NodeConfig;
use comity_seal::{NodeSecrets, PublicKey, SignedDescriptor, SignedTrustList};
use serde::{Deserialize, Serialize};

use crate::nodelimits::LimitsFile;

pub const PASSPHRASE_ENV: &str = "COMITY_PASSPHRASE";
/// Shortest API token a node starts with: a shorter one is within reach of guessing.
pub const MIN_TOKEN_CHARS: usize = 32;
/// The copy of the latest checkpoint the node signed, kept beside its database: a database
/// emptied, replaced or rolled back under it is refused at start.
pub const CHECKPOINT_FILE: &str = "ledger-checkpoint";

/// `node.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    pub id: String,
    pub jurisdiction: String,
    pub roles: Vec<String>,
    pub name: String,
    /// Where peers reach this node (`https://host:port`), as published in its descriptor.
    pub endpoint: String,
    /// Address the federation (HTTPS) server binds.
    pub federation_listen: SocketAddr,
    /// Address the user API (HTTP) binds; keep it on loopback.
    pub api_listen: SocketAddr,
    /// `postgres://...` to share node state between processes; default: SQLite in this directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
    /// The federation root key this node trusts (base64), set by `comity node join`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federation_root: Option<String>,
    #[serde(default)]
    pub delivery: DeliveryFile,
    #[serde(default)]
    pub ledger: LedgerFile,
    #[serde(default)]
    pub limits: LimitsFile,
    #[serde(default)]
    pub integrity: IntegrityFile,
}

/// Optional tunables of the check of stored content against what was signed; absent values
/// keep the defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntegrityFile {
    /// Newest ledger entries hashed again at start (default 10,000).
    pub start_entries: Option<u64>,
    /// Newest messages of each direction and newest requests checked at start (default 1,000).
    pub start_rows: Option<i64>,
    /// Seconds between two steps of the background check (default 10).
    pub interval_seconds: Option<u64>,
    /// Ledger entries per background step (default 10,000).
    pub batch_entries: Option<u64>,
    /// Messages (each direction) and requests per background step (default 200).
    pub batch_rows: Option<i64>,
}

/// Optional ledger tunables; absent values keep the defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerFile {
    /// How often a new checkpoint is signed when the log grew (default 1000 ms).
    pub checkpoint_interval_ms: Option<u64>,
    /// How often peers' checkpoints are fetched, checked and cosigned (default 10 s).
    pub witness_interval_ms: Option<u64>,
}

/// Optional delivery tunables; absent values keep the defaults.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryFile {
    pub max_message_bytes: Option<usize>,
    pub clock_skew_seconds: Option<i64>,
    pub dead_letter_after_hours: Option<i64>,
    pub retry_base_ms: Option<i64>,
    pub retry_max_ms: Option<i64>,
    /// How often subscribed hash lists are pulled from their publishers.
    pub hash_list_poll_seconds: Option<u64>,
    /// How often pending evidence transfers are retried.
    pub evidence_poll_seconds: Option<u64>,
    /// Refusals a peer may cause in one window before its batches are turned away (default 1000).
    pub refusal_budget: Option<u64>,
    /// The window refusals are counted, stored and logged in (default 60 s).
    pub refusal_window_seconds: Option<u64>,
}

pub struct NodeDir {
    pub path: PathBuf,
}

impl NodeDir {
    pub fn new(path: &Path) -> Self {
        NodeDir {
            path: path.to_owned(),
        }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    pub fn read_config(&self) -> Result<NodeFile> {
        let path = self.file("node.toml");
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (create the node with `comity node init`)",
                path.display()
            )
        })?;
        toml::from_str(&text)
            .with_context(|| format!("{} is not a valid node configuration", path.display()))
    }

    pub fn write_config(&self, config: &NodeFile) -> Result<()> {
        write_file(
            &self.file("node.toml"),
            toml::to_string_pretty(config)?.as_bytes(),
        )
    }

    pub fn read_secrets(&self, passphrase: &str) -> Result<NodeSecrets> {
        let bytes = std::fs::read(self.file("secrets.json")).context("cannot read secrets.json")?;
        NodeSecrets::decrypt(&bytes, passphrase).map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))
    }

    pub fn read_descriptor(&self) -> Result<SignedDescriptor> {
        let bytes =
            std::fs::read(self.file("descriptor.json")).context("cannot read descriptor.json")?;
        SignedDescriptor::from_json(&bytes)
            .map_err(|e| anyhow::anyhow!("descriptor.json: [{}] {e}", e.code()))
    }

    pub fn read_trust_list(&self) -> Result<SignedTrustList> {
        let path = self.file("trust-list.json");
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "cannot read {} (install one with `comity node join`)",
                path.display()
            )
        })?;
        SignedTrustList::from_json(&bytes)
            .map_err(|e| anyhow::anyhow!("trust-list.json: [{}] {e}", e.code()))
    }

    /// The user API's bearer token; refused when missing, unreadable, blank or short, with the
    /// way to make a new one.
    pub fn api_token(&self) -> Result<String> {
        let path = self.file("api.token");
        let fix = format!(
            "make a new one with `comity node token --dir {}`",
            self.path.display()
        );
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}: {fix}", path.display()))?;
        let token = text.trim();
        if token.chars().count() < MIN_TOKEN_CHARS {
            bail!(
                "{} holds a token of {} characters, too short to resist guessing (at least \
                 {MIN_TOKEN_CHARS}): {fix}",
                path.display(),
                token.chars().count()
            );
        }
        if !token.bytes().all(|b| b.is_ascii_graphic()) {
            bail!(
                "{} holds a token with spaces or characters an HTTP header cannot carry: {fix}",
                path.display()
            );
        }
        Ok(token.to_owned())
    }

    /// Writes a fresh random API token (64 hex digits), readable by its owner only.
    pub fn new_api_token(&self) -> Result<()> {
        write_file(
            &self.file("api.token"),
            hex::encode(rand::random::<[u8; 32]>()).as_bytes(),
        )
    }

    pub fn database_url(&self, config: &NodeFile) -> String {
        config
            .database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite:{}", self.file("node.db").display()))
    }

    pub fn federation_root(config: &NodeFile) -> Result<PublicKey> {
        let Some(root) = &config.federation_root else {
            bail!(
                "this node trusts no federation yet: run `comity node join --trust-list FILE --root KEY`"
            );
        };
        root.parse()
            .map_err(|e: comity_seal::SealError| anyhow::anyhow!("federation_root: {e}"))
    }

    pub fn node_config(config: &NodeFile, api_token: String) -> NodeConfig {
        let mut c = NodeConfig::with_token(api_token);
        let d = &config.delivery;
        if let Some(v) = d.max_message_bytes {
            c.max_message_bytes = v;
        }
        if let Some(v) = d.clock_skew_seconds {
            c.clock_skew_ms = v * 1000;
        }
        if let Some(v) = d.dead_letter_after_hours {
            c.dead_letter_after_ms = v * 3_600_000;
            c.max_message_age_ms = c.max_message_age_ms.max(c.dead_letter_after_ms * 2);
        }
        if let Some(v) = d.retry_base_ms {
            c.retry_base_ms = v;
        }
        if let Some(v) = d.retry_max_ms {
            c.retry_max_ms = v;
        }
        if let Some(v) = config.ledger.checkpoint_interval_ms {
            c.checkpoint_interval_ms = v;
        }
        if let Some(v) = config.ledger.witness_interval_ms {
            c.witness_interval_ms = v;
        }
        if let Some(v) = d.hash_list_poll_seconds {
            c.hash_list_poll_ms = v.saturating_mul(1000);
        }
        if let Some(v) = d.evidence_poll_seconds {
            c.evidence_poll_ms = v.saturating_mul(1000);
        }
        config.limits.apply(&mut c.limits);
        if let Some(v) = d.refusal_budget {
            c.refusal_budget = v;
        }
        if let Some(v) = d.refusal_window_seconds {
            c.refusal_window_ms = i64::try_from(v.saturating_mul(1000)).unwrap_or(i64::MAX);
        }
        let i = &config.integrity;
        if let Some(v) = i.start_entries {
            c.integrity_start_entries = v;
        }
        if let Some(v) = i.start_rows {
            c.integrity_start_rows = v;
        }
        if let Some(v) = i.interval_seconds {
            c.integrity_interval_ms = v.saturating_mul(1000);
        }
        if let Some(v) = i.batch_entries {
            c.integrity_batch_entries = v;
        }
        if let Some(v) = i.batch_rows {
            c.integrity_batch_rows = v;
        }
        c
    }
}

/// Writes a file readable by its owner only (an existing file is made so too).
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(crate::private::FILE_MODE);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    crate::private::set_mode(path, crate::private::FILE_MODE)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// The passphrase protecting private keys: from `COMITY_PASSPHRASE`, else asked on the terminal.
pub fn passphrase(confirm: bool) -> Result<String> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        if p.is_empty() {
            bail!("{PASSPHRASE_ENV} is set but empty");
        }
        return Ok(p);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        bail!("no passphrase: set {PASSPHRASE_ENV} or run on a terminal to be asked");
    }
    let p = rpassword::prompt_password("Passphrase for the private keys: ")?;
    if p.chars().count() < 12 {
        bail!("use a passphrase of at least 12 characters");
    }
    if confirm && rpassword::prompt_password("Repeat it: ")? != p {
        bail!("the two passphrases differ");
    }
    Ok(p)
}
