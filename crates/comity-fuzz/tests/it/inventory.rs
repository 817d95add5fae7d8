//! The list of targets, the libFuzzer binaries, the bounded tests and `docs/fuzzing.md` agree,
//! so a target cannot be added in one place and forgotten in another.

use std::collections::BTreeSet;
use std::path::Path;

use comity_fuzz::TARGETS;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .parent()
        .unwrap()
}

fn names() -> BTreeSet<String> {
    TARGETS.iter().map(|t| t.name.to_owned()).collect()
}

#[test]
fn every_target_runs_in_the_test_suite() {
    let run: BTreeSet<String> = crate::bounded::RUN
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(run, names());
}

#[test]
fn every_target_has_a_libfuzzer_binary() {
    let manifest = std::fs::read_to_string(root().join("fuzz/Cargo.toml")).unwrap();
    let mut bins = BTreeSet::new();
    for name in names() {
        let file = root().join(format!("fuzz/fuzz_targets/{name}.rs"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            text.contains(&format!("\"{name}\"")),
            "{} runs another target",
            file.display()
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml lacks {name}"
        );
        bins.insert(name);
    }
    let files: BTreeSet<String> = std::fs::read_dir(root().join("fuzz/fuzz_targets"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(files, bins, "fuzz/fuzz_targets holds a binary of no target");
}

#[test]
fn every_target_is_documented() {
    let doc = std::fs::read_to_string(root().join("docs/fuzzing.md")).unwrap();
    for t in TARGETS {
        assert!(
            doc.contains(&format!("`{}`", t.name)),
            "docs/fuzzing.md does not describe {}",
            t.name
        );
    }
}
