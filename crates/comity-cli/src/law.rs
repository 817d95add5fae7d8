//! `comity law`: being built (see the issue that owns crates/comity-law).

use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum LawCommand {}

pub fn run(cmd: LawCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
