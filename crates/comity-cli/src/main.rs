//! `comity`: the only place that reads configuration, the environment and the terminal.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod law;
mod ledger;
mod pdq;

#[derive(Parser)]
#[command(name = "comity", version, about = "Federated cooperation between states against cybercrime")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Law packs: validate them and ask the legal reasoning engine.
    #[command(subcommand)]
    Law(law::LawCommand),
    /// Ledger: checkpoints and proofs of a node's transparency log.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// PDQ perceptual hashes: hash images, match against hash lists.
    #[command(subcommand)]
    Pdq(pdq::PdqCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Law(cmd) => law::run(cmd),
        Command::Ledger(cmd) => ledger::run(cmd),
        Command::Pdq(cmd) => pdq::run(cmd),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
