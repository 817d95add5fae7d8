//! `comity node join` never goes back: a trust list whose serial is lower than or equal to the
//! installed one is refused (naming both serials) unless it is the very same list.

use crate::cli::{comity, federation, ok};

fn serial_of(list: &std::path::Path) -> u64 {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(list).unwrap()).unwrap();
    v["list"]["serial"].as_u64().unwrap()
}

#[test]
fn an_older_or_equal_trust_list_is_refused_and_the_same_one_accepted() {
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ")]);
    let fed = base.path().join("federation");
    let f = fed.to_str().unwrap();
    let dir = nodes[0].dir.to_str().unwrap();
    let installed = nodes[0].dir.join("trust-list.json");
    let federation_toml = std::fs::read_to_string(fed.join("federation.toml")).unwrap();
    let root = federation_toml
        .lines()
        .find_map(|l| l.strip_prefix("root = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_owned();
    let keep = |name: &str| {
        let to = base.path().join(name);
        std::fs::copy(fed.join("trust-list.json"), &to).unwrap();
        to
    };
    let join = |list: &std::path::Path| {
        comity(&[
            "node",
            "join",
            "--dir",
            dir,
            "--trust-list",
            list.to_str().unwrap(),
            "--root",
            &root,
        ])
    };

    let first = keep("serial-1.json");
    assert_eq!(serial_of(&first), 1);
    ok(&["federation", "publish", "--dir", f]);
    let second = keep("serial-2.json");
    let out = join(&second);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(serial_of(&installed), 2);

    let older = join(&first);
    let err = String::from_utf8_lossy(&older.stderr);
    assert!(
        !older.status.success(),
        "a lower serial is installed: {err}"
    );
    assert!(
        err.contains("serial 1") && err.contains("serial 2"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(&second).unwrap(),
        "the installed list is unchanged"
    );

    let same = join(&second);
    assert!(
        same.status.success(),
        "re-joining with the same list is fine: {}",
        String::from_utf8_lossy(&same.stderr)
    );

    // Another list under the same serial (the federation's counter set back by hand).
    std::fs::write(
        fed.join("federation.toml"),
        std::fs::read_to_string(fed.join("federation.toml"))
            .unwrap()
            .replace("serial = 2", "serial = 1"),
    )
    .unwrap();
    ok(&["federation", "publish", "--dir", f]);
    let twin = keep("serial-2-twin.json");
    assert_eq!(serial_of(&twin), 2);
    assert_ne!(
        std::fs::read(&twin).unwrap(),
        std::fs::read(&second).unwrap()
    );
    let equal = join(&twin);
    let err = String::from_utf8_lossy(&equal.stderr);
    assert!(
        !equal.status.success(),
        "an equal serial with other bytes: {err}"
    );
    assert!(err.contains("serial 2"), "{err}");

    ok(&["federation", "publish", "--dir", f]);
    let third = keep("serial-3.json");
    let out = join(&third);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("serial 3"));
    assert_eq!(serial_of(&installed), 3);
}
