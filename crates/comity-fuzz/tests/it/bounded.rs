//! Each target over its checked-in corpus, its seeds and a fixed number of seeded mutations.
//! `COMITY_FUZZ_RUNS` sets the number of mutations per target (default below); a failing input
//! is written under the test's temporary folder, named in the failure, for `scripts/fuzz` to
//! replay.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Once;

use comity_fuzz::mutate::{Rng, mutate};
use comity_fuzz::{Scratch, Target, seeds::seeds, target};
use sha2::{Digest, Sha256};

/// Mutations per target when `COMITY_FUZZ_RUNS` is not set.
const DEFAULT_RUNS: usize = 400;

fn runs() -> usize {
    std::env::var("COMITY_FUZZ_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_RUNS)
}

fn corpus(name: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(name);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

thread_local! {
    /// Set while a target runs: its panics are reported by `run_one`, not by the panic hook.
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

fn quiet_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                default(info);
            }
        }));
    });
}

/// Runs one input; a failure writes the input where `scripts/fuzz --replay` takes it.
fn run_one(t: &Target, scratch: &Scratch, input: &[u8], how: &str) {
    QUIET.with(|q| q.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(|| (t.run)(scratch, input)));
    QUIET.with(|q| q.set(false));
    let Err(panic) = outcome else {
        return;
    };
    let why = panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-failures");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!(
        "{}-{}",
        t.name,
        hex::encode(&Sha256::digest(input)[..8])
    ));
    std::fs::write(&file, input).unwrap();
    panic!(
        "target {} failed on {how} input {} ({} bytes): {why}\nreplay: scripts/fuzz --replay {} {}",
        t.name,
        file.display(),
        input.len(),
        t.name,
        file.display()
    );
}

fn bounded(name: &str) {
    let t = target(name).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let scratch = Scratch::new(tmp.path());
    let mut seen = BTreeSet::new();
    let mut pool: Vec<Vec<u8>> = corpus(name)
        .into_iter()
        .chain(seeds(name, &scratch))
        .filter(|s| seen.insert(s.clone()))
        .collect();
    assert!(
        !pool.is_empty(),
        "target {name} has neither corpus nor seeds"
    );
    quiet_hook();
    for input in &pool {
        run_one(t, &scratch, input, "corpus");
    }
    let mut rng = Rng::new(u64::from_be_bytes(
        Sha256::digest(name.as_bytes())[..8].try_into().unwrap(),
    ));
    let base = pool.len();
    for _ in 0..runs() {
        let a = rng.below(pool.len());
        let b = rng.below(pool.len());
        let m = mutate(&mut rng, &pool[a], &pool[b], t.max_len);
        run_one(t, &scratch, &m, "mutated");
        // Keep some mutants to mutate further, as a fuzzer's corpus grows.
        if pool.len() < base * 4 && rng.below(4) == 0 {
            pool.push(m);
        }
    }
}

macro_rules! bounded_tests {
    ($($name:ident),* $(,)?) => {
        $(#[test]
        fn $name() {
            bounded(stringify!($name));
        })*

        /// The names above, to check that every target is run here.
        pub const RUN: &[&str] = &[$(stringify!($name)),*];
    };
}

bounded_tests!(
    envelope,
    receipt,
    descriptor,
    trust_list,
    message_body,
    checkpoint,
    tile,
    ledger_entry,
    proof_bundle,
    hash_list,
    pdq_index,
    pdq_image,
    custody_event,
    evidence_message,
    package_zip,
    package_edit,
    law_question,
    law_pack,
    workflow_draft,
    workflow_actions,
);
