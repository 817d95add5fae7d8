//! `comity pdq`: being built (see the issue that owns crates/comity-pdq).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum PdqCommand {}

pub fn run(cmd: PdqCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
