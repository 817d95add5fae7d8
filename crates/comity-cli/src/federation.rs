//! `comity federation`: the root of trust. Its holder admits member descriptors and publishes
//! the signed trust list that every node pins.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use comity_model::Timestamp;
use comity_seal::{
    FederationRoot, KdfParams, RetiredKey, SignedDescriptor, SignedTrustList, TrustList,
};
use serde::{Deserialize, Serialize};

use crate::nodedir::{passphrase, write_file};

#[derive(Subcommand)]
pub enum FederationCommand {
    /// Create a federation: its root key (encrypted) and an empty member list.
    Init {
        #[arg(long)]
        dir: PathBuf,
        /// The federation's name, e.g. "budapest-24-7".
        #[arg(long)]
        name: String,
    },
    /// Admit a node's signed descriptor (a new member, or a new version after key rotation).
    Admit {
        #[arg(long)]
        dir: PathBuf,
        descriptor: PathBuf,
        /// On rotation, how long the replaced signing key stays valid, in hours.
        #[arg(long, default_value_t = 168)]
        retire_after_hours: i64,
    },
    /// Sign and write the trust list (`trust-list.json` in the federation directory).
    Publish {
        #[arg(long)]
        dir: PathBuf,
    },
}

#[derive(Serialize, Deserialize)]
struct FederationFile {
    name: String,
    serial: u64,
    root: String,
}

pub fn run(cmd: FederationCommand) -> Result<()> {
    match cmd {
        FederationCommand::Init { dir, name } => {
            let root = FederationRoot::generate(&mut rand::rng());
            init(
                &dir,
                &name,
                &root,
                &passphrase(true)?,
                KdfParams::INTERACTIVE,
            )?;
            println!("federation {name} created in {}", dir.display());
            println!("root key: {}", root.public());
            Ok(())
        }
        FederationCommand::Admit {
            dir,
            descriptor,
            retire_after_hours,
        } => {
            let bytes = std::fs::read(&descriptor)
                .with_context(|| format!("cannot read {}", descriptor.display()))?;
            let signed = SignedDescriptor::from_json(&bytes)
                .map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))?;
            let now = Timestamp::from_unix_ms(comity_node::now_ms());
            let note = admit(&dir, signed, now.plus_ms(retire_after_hours * 3_600_000))?;
            println!("{note}");
            Ok(())
        }
        FederationCommand::Publish { dir } => {
            let root = read_root(&dir, &passphrase(false)?)?;
            let list = publish(&dir, &root, Timestamp::from_unix_ms(comity_node::now_ms()))?;
            println!(
                "trust list {} serial {} with {} members written to {}",
                list.list.federation,
                list.list.serial,
                list.list.members.len(),
                dir.join("trust-list.json").display()
            );
            Ok(())
        }
    }
}

pub fn init(
    dir: &Path,
    name: &str,
    root: &FederationRoot,
    passphrase: &str,
    kdf: KdfParams,
) -> Result<()> {
    if dir.join("federation.toml").exists() {
        bail!("{} already holds a federation", dir.display());
    }
    std::fs::create_dir_all(dir.join("members"))?;
    write_file(
        &dir.join("root.key"),
        &root.encrypt(passphrase, kdf, &mut rand::rng()),
    )?;
    let file = FederationFile {
        name: name.to_owned(),
        serial: 0,
        root: root.public().to_string(),
    };
    write_file(
        &dir.join("federation.toml"),
        toml::to_string_pretty(&file)?.as_bytes(),
    )?;
    write_file(&dir.join("retired.json"), b"[]")
}

fn read_file(dir: &Path) -> Result<FederationFile> {
    let text = std::fs::read_to_string(dir.join("federation.toml")).with_context(|| {
        format!(
            "{} is not a federation directory (run `comity federation init`)",
            dir.display()
        )
    })?;
    Ok(toml::from_str(&text)?)
}

fn read_root(dir: &Path, passphrase: &str) -> Result<FederationRoot> {
    let bytes = std::fs::read(dir.join("root.key"))?;
    FederationRoot::decrypt(&bytes, passphrase).map_err(|e| anyhow::anyhow!("[{}] {e}", e.code()))
}

fn read_retired(dir: &Path) -> Result<Vec<RetiredKey>> {
    Ok(serde_json::from_slice(&std::fs::read(
        dir.join("retired.json"),
    )?)?)
}

/// Adds or replaces a member. A replacement must be a newer version signed by the key it replaces;
/// that key is then retired at `retire_at`.
pub fn admit(dir: &Path, signed: SignedDescriptor, retire_at: Timestamp) -> Result<String> {
    read_file(dir)?;
    let d = &signed.descriptor;
    let path = dir.join("members").join(format!("{}.json", d.node));
    let mut note = format!(
        "admitted {} ({}, {}) version {}",
        d.node, d.jurisdiction, d.name, d.version
    );
    if path.exists() {
        let old = SignedDescriptor::from_json(&std::fs::read(&path)?)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let old_key = old.descriptor.signing_key;
        if d.version <= old.descriptor.version {
            bail!(
                "{} already has version {}; a replacement must have a higher version",
                d.node,
                old.descriptor.version
            );
        }
        if old_key != d.signing_key {
            match &signed.previous_key_signature {
                Some(p) if p.key == old_key => {}
                _ => bail!(
                    "the new descriptor of {} is not signed by its current key {}",
                    d.node,
                    comity_seal::key_id(&old_key)
                ),
            }
            let mut retired = read_retired(dir)?;
            retired.push(RetiredKey {
                node: d.node.clone(),
                key: old_key,
                not_after: retire_at,
            });
            write_file(
                &dir.join("retired.json"),
                &serde_json::to_vec_pretty(&retired)?,
            )?;
            note.push_str(&format!(
                "; key {} retired after {retire_at}",
                comity_seal::key_id(&old_key)
            ));
        }
    }
    write_file(&path, &signed.to_json())?;
    Ok(note)
}

/// Signs the current members into a new trust list with the next serial.
pub fn publish(dir: &Path, root: &FederationRoot, now: Timestamp) -> Result<SignedTrustList> {
    let mut file = read_file(dir)?;
    let mut members = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir.join("members"))?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let bytes = std::fs::read(entry.path())?;
        members.push(
            SignedDescriptor::from_json(&bytes)
                .map_err(|e| anyhow::anyhow!("{}: {e}", entry.path().display()))?,
        );
    }
    file.serial += 1;
    let list = TrustList {
        federation: file.name.clone(),
        serial: file.serial,
        issued_at: now,
        members,
        retired_keys: read_retired(dir)?,
    };
    let signed = SignedTrustList::sign(list, root);
    signed
        .verify(&root.public())
        .map_err(|e| anyhow::anyhow!("the new trust list does not verify: {e}"))?;
    write_file(&dir.join("trust-list.json"), &signed.to_json())?;
    write_file(
        &dir.join("federation.toml"),
        toml::to_string_pretty(&file)?.as_bytes(),
    )?;
    Ok(signed)
}
