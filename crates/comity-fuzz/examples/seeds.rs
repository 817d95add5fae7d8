//! Writes every target's seeds into `crates/comity-fuzz/corpus/<target>/` (files named by their
//! SHA-256), where libFuzzer and the bounded test run start; `scripts/fuzz` runs it first.
//! Usage: `cargo run -p comity-fuzz --example seeds [CORPUS_DIR]`.

use sha2::{Digest, Sha256};

fn main() -> std::io::Result<()> {
    let corpus = std::env::args()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let scratch = tempfile::tempdir()?;
    let scratch = comity_fuzz::Scratch::new(scratch.path());
    for t in comity_fuzz::TARGETS {
        let dir = corpus.join(t.name);
        std::fs::create_dir_all(&dir)?;
        let seeds = comity_fuzz::seeds::seeds(t.name, &scratch);
        for s in &seeds {
            std::fs::write(dir.join(hex::encode(&Sha256::digest(s)[..8])), s)?;
        }
        println!("{}: {} seeds", t.name, seeds.len());
    }
    Ok(())
}
