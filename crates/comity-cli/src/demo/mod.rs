//! `comity demo`: a whole federation on this machine, built with the same commands and files an
//! operator uses (`federation init/admit/publish`, `node init/join/serve`), then the
//! cross-border case of issue 7 run between the live nodes (`case.rs`).

mod case;
mod evidence;
mod ledger;
mod live;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use comity_law::LawPacks;
use comity_model::Timestamp;
use comity_node::RunningNode;
use comity_seal::{FederationRoot, KdfParams, NodeSecrets, PublicKey};

use crate::client::Api;
use crate::federation;
use crate::nodecmd::{self, InitArgs};
use crate::nodedir::{NodeDir, PASSPHRASE_ENV};
use live::{Live, Party};

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Directory for the federation and the nodes (default: a new temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Leave after the scenario; exit code 0 only if every step was delivered and verified.
    #[arg(long)]
    pub exit: bool,
}

struct Member {
    id: &'static str,
    jurisdiction: &'static str,
    roles: &'static [&'static str],
    name: &'static str,
}

const MEMBERS: [Member; 6] = [
    Member {
        id: "dz-moj",
        jurisdiction: "DZ",
        roles: &["central-authority", "extradition"],
        name: "Algeria — Ministry of Justice",
    },
    Member {
        id: "dz-247",
        jurisdiction: "DZ",
        roles: &["24-7", "police"],
        name: "Algeria — 24/7 cybercrime point of contact",
    },
    Member {
        id: "fr-ocl",
        jurisdiction: "FR",
        roles: &["24-7", "police"],
        name: "France — OFAC 24/7 point of contact",
    },
    Member {
        id: "fr-moj",
        jurisdiction: "FR",
        roles: &["central-authority", "extradition"],
        name: "France — Ministry of Justice (BEPI)",
    },
    Member {
        id: "ma-moj",
        jurisdiction: "MA",
        roles: &["central-authority", "24-7", "extradition"],
        name: "Morocco — Ministry of Justice",
    },
    Member {
        id: "es-moj",
        jurisdiction: "ES",
        roles: &["central-authority", "extradition"],
        name: "Spain — Ministry of Justice",
    },
];

pub async fn run(args: DemoArgs) -> Result<std::process::ExitCode> {
    let (base, _temp) = match &args.dir {
        Some(d) => (d.clone(), None),
        None => {
            let t = tempfile::Builder::new().prefix("comity-demo-").tempdir()?;
            (t.path().to_owned(), Some(t))
        }
    };
    let passphrase =
        std::env::var(PASSPHRASE_ENV).unwrap_or_else(|_| hex::encode(rand::random::<[u8; 12]>()));
    println!(
        "Comity demo: a federation of {} nodes on 127.0.0.1, each on SQLite in {}",
        MEMBERS.len(),
        base.display()
    );
    let (nodes, root) = build(&base, &passphrase).await?;
    for (m, n) in MEMBERS.iter().zip(&nodes) {
        println!(
            "  {:<7} {}  {:<36} https://{}  api http://{}",
            m.id,
            m.jurisdiction,
            m.roles.join(", "),
            n.federation_addr,
            n.api_addr
        );
    }
    let ok = match story(&base, root).await {
        Ok(()) => {
            println!(
                "\nEvery step was acted by its node in its role, delivered sealed, receipted, and replayed by both sides."
            );
            true
        }
        Err(e) => {
            println!("\nThe scenario failed: {e:#}");
            false
        }
    };
    if !args.exit {
        println!(
            "\nServing until Ctrl-C. Try: comity request list --dir {}",
            base.join("es-moj").display()
        );
        if args.dir.is_some() {
            println!(
                "(restart a node later with {PASSPHRASE_ENV}={passphrase} comity node serve --dir DIR/NODE)"
            );
        }
        nodecmd::wait_for_stop().await;
    }
    for n in nodes {
        n.shutdown().await;
    }
    Ok(if ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    })
}

/// Creates the federation and its members on disk, then starts every node; returns them and
/// the federation's root key.
async fn build(base: &Path, passphrase: &str) -> Result<(Vec<RunningNode>, PublicKey)> {
    let fed = base.join("federation");
    if fed.join("federation.toml").exists() {
        bail!(
            "{} already holds a demo: pass another --dir or remove it",
            base.display()
        );
    }
    let root = FederationRoot::generate(&mut rand::rng());
    federation::init(
        &fed,
        "comity-demo",
        &root,
        passphrase,
        KdfParams::INTERACTIVE,
    )?;
    for m in &MEMBERS {
        let fed_port = free_port()?;
        let args = InitArgs {
            dir: base.join(m.id),
            id: m.id.into(),
            jurisdiction: m.jurisdiction.into(),
            roles: m.roles.iter().map(|r| r.to_string()).collect(),
            name: m.name.into(),
            endpoint: format!("https://127.0.0.1:{fed_port}"),
            federation_listen: None,
            api_listen: format!("127.0.0.1:{}", free_port()?).parse()?,
            database_url: None,
        };
        nodecmd::init(
            args,
            &NodeSecrets::generate(&mut rand::rng()),
            passphrase,
            KdfParams::INTERACTIVE,
        )?;
        let nd = NodeDir::new(&base.join(m.id));
        let mut config = nd.read_config()?;
        // Peers witness each other every second, so the demo shows cosigned checkpoints at once.
        config.ledger.witness_interval_ms = Some(1000);
        nd.write_config(&config)?;
        let descriptor = nd.read_descriptor()?;
        federation::admit(
            &fed,
            descriptor,
            Timestamp::from_unix_ms(comity_node::now_ms()),
        )?;
    }
    federation::publish(&fed, &root, Timestamp::from_unix_ms(comity_node::now_ms()))?;
    let list = std::fs::read(fed.join("trust-list.json"))?;
    let mut nodes = Vec::new();
    for m in &MEMBERS {
        let nd = NodeDir::new(&base.join(m.id));
        nodecmd::join(&nd, &list, &root.public().to_string())?;
        nodes.push(nodecmd::start(&nd, passphrase).await?);
    }
    Ok((nodes, root.public()))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn story(base: &Path, root: PublicKey) -> Result<()> {
    let start = Instant::now();
    let mut parties = Vec::new();
    for m in &MEMBERS {
        parties.push(Party {
            id: m.id,
            jurisdiction: m.jurisdiction,
            api: Api::for_dir(&base.join(m.id))?,
        });
    }
    println!(
        "\nThe case {}: a fraud and intrusion run from Algeria against servers in France, the",
        case::CASE
    );
    println!(
        "proceeds through Morocco, the Moroccan operator found in Spain and also wanted by France."
    );
    println!(
        "Each step: time (UTC, {}), request, the node acting and its role, action → new state,",
        live::today()
    );
    println!("the articles cited, and why. Read back from both nodes of each request.");
    let mut live = Live::new(parties, LawPacks::shipped()?, root);
    case::run(&mut live).await?;
    println!("  the case ran in {:.1} s", start.elapsed().as_secs_f64());
    let peers = live.api("dz-moj")?.get("/api/v1/peers").await?;
    println!("\nPeer health seen from dz-moj:");
    for p in peers.as_array().into_iter().flatten() {
        println!(
            "  {:<7} queued {}  dead {}  last success {}",
            p["node"].as_str().unwrap_or("?"),
            p["queued"],
            p["dead"],
            p["last_success_at"].as_str().unwrap_or("never")
        );
    }
    Ok(())
}
