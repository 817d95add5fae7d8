//! Fuzz targets for every parser of outside input (bytes from a peer, a user, a package or a
//! damaged disk), their seed corpora, and the bounded run the test suite makes of them.
//!
//! A target is a function of bytes that panics when a property fails: more than "no panic",
//! each checks what its format promises: parse, encode and parse again gives the same value and
//! the same bytes (one spelling per value), and nothing but a genuinely signed fixture ever
//! verifies. The same functions run under libFuzzer (`fuzz/`, `scripts/fuzz`) and, over their
//! corpus and seeded mutations, in `cargo test` (`tests/it/bounded.rs`). `docs/fuzzing.md`.

use std::path::{Path, PathBuf};

pub mod fixtures;
pub mod input;
pub mod mutate;
pub mod seeds;
mod targets;
pub mod unzip;

/// A folder the targets that read files (packages) write their input into; the caller owns it.
#[derive(Debug, Clone)]
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    pub fn new(dir: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// One fuzz target: its name (also its libFuzzer binary and corpus folder) and what it runs.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    /// What reaches this parser, for `docs/fuzzing.md` and failure messages.
    pub parses: &'static str,
    pub run: fn(&Scratch, &[u8]),
    /// Inputs longer than this are cut (large inputs only slow the search).
    pub max_len: usize,
}

/// Every target.
pub const TARGETS: &[Target] = targets::ALL;

pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|t| t.name == name)
}
