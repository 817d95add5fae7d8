//! The manifest passes `case_validate` (Python `case-utils`, bundling CASE 1.5.0).

use std::process::Command;

use comity_evidence::package::write_dir;

use crate::support::package;

fn case_validate() -> Option<std::path::PathBuf> {
    let ok = Command::new("case_validate")
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then(|| "case_validate".into())
}

#[test]
fn manifest_passes_case_validate() {
    let Some(tool) = case_validate() else {
        let msg =
            "case_validate not found: pip install -r crates/comity-evidence/tests/requirements.txt";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED (not in CI): {msg}");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let (pkg, s) = package(tmp.path(), b"some evidence");
    let dir = tmp.path().join("pkg");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    let out = Command::new(tool)
        .args(["--built-version", "case-1.5.0"])
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
