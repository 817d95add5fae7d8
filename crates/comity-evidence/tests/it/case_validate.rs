//! The manifest passes `case_validate` (Python `case-utils` 0.18, bundling CASE 1.5.0). The tool
//! is run through the interpreter, so it works whether or not pip's script directory is on PATH.

use std::process::Command;

use comity_evidence::package::write_dir;

use crate::support::package;

const RUN: &str =
    "import sys; from case_utils.case_validate import main; sys.argv[0] = 'case_validate'; main()";

fn has_case_utils() -> bool {
    Command::new("python3")
        .args(["-c", "import case_utils.case_validate"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn manifest_passes_case_validate() {
    if !has_case_utils() {
        let msg = "case-utils not found: python3 -m pip install -r crates/comity-evidence/tests/requirements.txt";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED (not in CI): {msg}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (pkg, s) = package(tmp.path(), b"some evidence");
    let dir = tmp.path().join("pkg");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    let out = Command::new("python3")
        .args(["-c", RUN, "--built-version", "case-1.5.0"])
        .arg(dir.join("manifest.jsonld"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "case_validate refused the manifest:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("Conforms: True"), "{report}");
}
