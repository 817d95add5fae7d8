//! `comity`: the only place that reads configuration, the environment and the terminal.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod client;
mod demo;
mod evidence;
mod federation;
mod law;
mod ledger;
mod ledger_node;
mod msg;
mod nodecmd;
mod nodedir;
mod nodelimits;
mod pdq;
mod pdqshare;
mod private;
mod request;
mod request_preview;

#[derive(Parser)]
#[command(
    name = "comity",
    version,
    about = "Federated cooperation between states against cybercrime"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a local federation (Algeria, Morocco, France, the United States) and a scripted
    /// preservation request, then keep serving until Ctrl-C.
    Demo(demo::DemoArgs),
    /// Create, join and run a node.
    #[command(subcommand)]
    Node(nodecmd::NodeCommand),
    /// Hold a federation's root key: admit members and publish the trust list.
    #[command(subcommand)]
    Federation(federation::FederationCommand),
    /// Send and read messages through a running node.
    #[command(subcommand)]
    Msg(msg::MsgCommand),
    /// Law packs: validate them and ask the legal reasoning engine.
    #[command(subcommand)]
    Law(law::LawCommand),
    /// Ledger: checkpoints and proofs of a node's transparency log.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// PDQ perceptual hashes: hash images, match against hash lists, share lists between nodes.
    #[command(subcommand)]
    Pdq(pdq::PdqCommand),
    /// Cooperation requests through a running node: open, list, show, act, overdue.
    #[command(subcommand)]
    Request(request::RequestCommand),
    /// Evidence in a running node: add files to a case, list a case, show custody timelines.
    #[command(subcommand)]
    Evidence(evidence::EvidenceCommand),
    /// Verify an evidence package (zip or folder) offline against the federation's root key:
    /// exit 0 if it is verified, 1 if it is not, 2 on a usage or read error.
    Verify(evidence::VerifyArgs),
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn main() -> ExitCode {
    // Node directories, databases, evidence and packages hold case data: nothing this process
    // creates is for other local users, whatever umask it was started with.
    private::restrict_umask();
    let cli = Cli::parse();
    comity_node::install_default_provider();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("COMITY_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(demo::run(args))),
        Command::Node(cmd) => runtime()
            .and_then(|rt| rt.block_on(nodecmd::run(cmd)))
            .map(|()| ExitCode::SUCCESS),
        Command::Federation(cmd) => federation::run(cmd).map(|()| ExitCode::SUCCESS),
        Command::Msg(cmd) => runtime()
            .and_then(|rt| rt.block_on(msg::run(cmd)))
            .map(|()| ExitCode::SUCCESS),
        Command::Law(cmd) => law::run(cmd),
        Command::Ledger(cmd) => ledger::run(cmd),
        Command::Pdq(cmd) => pdq::run(cmd),
        Command::Request(cmd) => runtime()
            .and_then(|rt| rt.block_on(request::run(cmd)))
            .map(|()| ExitCode::SUCCESS),
        Command::Evidence(cmd) => evidence::run(cmd),
        Command::Verify(args) => evidence::verify(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
