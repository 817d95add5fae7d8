//! `comity ledger`: being built (see the issue that owns crates/comity-ledger).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum LedgerCommand {}

pub fn run(cmd: LedgerCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
