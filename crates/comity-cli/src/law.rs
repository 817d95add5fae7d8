//! `comity law`: validate law packs and ask the legal reasoning engine.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use comity_law::LawPacks;

#[derive(clap::Subcommand)]
pub enum LawCommand {
    /// Validate law packs; prints every problem as file:line:column: message.
    Check {
        /// Directory of packs to use instead of the shipped ones.
        #[arg(long, value_name = "DIR")]
        packs: Option<PathBuf>,
    },
    /// Answer a question given as JSON (see docs/lawpacks.md), printing the answer as JSON.
    Eval {
        /// Directory of packs that replaces the shipped ones entirely.
        #[arg(long, value_name = "DIR")]
        packs: Option<PathBuf>,
        /// File holding the question; `-` or nothing reads standard input.
        file: Option<PathBuf>,
    },
}

pub fn run(cmd: LawCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        LawCommand::Check { packs } => {
            let loaded = load(packs.as_deref())?;
            match loaded {
                Ok(p) => {
                    println!(
                        "ok: {} offences, {} treaties, {} jurisdictions",
                        p.offences.len(),
                        p.treaties.len(),
                        p.jurisdictions.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("{e}");
                    eprintln!("{} problem(s)", e.problems.len());
                    Ok(ExitCode::from(1))
                }
            }
        }
        LawCommand::Eval { packs, file } => {
            let packs = match load(packs.as_deref())? {
                Ok(p) => p,
                Err(e) => anyhow::bail!("the law packs do not load:\n{e}"),
            };
            let text = match file.as_deref() {
                None => read_stdin()?,
                Some(p) if p == Path::new("-") => read_stdin()?,
                Some(p) => std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?,
            };
            match packs.eval_to_string(&text, true) {
                Ok(answer) => {
                    println!("{answer}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    println!("{}", serde_json::to_string_pretty(&e.to_json())?);
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}

fn read_stdin() -> anyhow::Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading the question from standard input")?;
    Ok(s)
}

/// The shipped packs, or every `.toml` file under `dir` (named relative to it in messages).
fn load(dir: Option<&Path>) -> anyhow::Result<Result<LawPacks, comity_law::LoadError>> {
    let Some(dir) = dir else {
        return Ok(LawPacks::shipped());
    };
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).with_context(|| format!("reading {}", d.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                let name = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                files.push((name, text));
            }
        }
    }
    files.sort();
    if files.is_empty() {
        anyhow::bail!("{} holds no .toml law-pack files", dir.display());
    }
    Ok(LawPacks::load(
        files.iter().map(|(n, t)| (n.as_str(), t.as_str())),
    ))
}
