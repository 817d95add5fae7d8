//! The loader reports every problem of every file, at its line and column.

use comity_law::LawPacks;

use crate::support::{data, read_dir};

#[test]
fn broken_packs_report_every_problem_with_its_position() {
    let files = read_dir(&data("broken"));
    let err = LawPacks::load(files.iter().map(|(n, t)| (n.as_str(), t.as_str()))).unwrap_err();
    let got: Vec<String> = err
        .problems
        .iter()
        .map(|p| format!("{}:{}:{} {}", p.file, p.line, p.column, p.code))
        .collect();
    let expected: Vec<String> = std::fs::read_to_string(data("broken/expected.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(got, expected, "\nfull report:\n{err}");
    for p in &err.problems {
        assert!(!p.message.is_empty());
        assert!(
            p.to_string()
                .starts_with(&format!("{}:{}:{}: ", p.file, p.line, p.column))
        );
    }
}

#[test]
fn no_files_means_no_taxonomy() {
    let err = LawPacks::load(std::iter::empty()).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].code, "pack.no_taxonomy");
}

#[test]
fn fictional_packs_load_clean() {
    let packs = crate::support::load_dir(&data("fictional"));
    assert_eq!(packs.jurisdictions.len(), 5);
    assert_eq!(packs.treaties.len(), 4);
}
