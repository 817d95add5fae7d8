//! `comity evidence add|list|show|export|send` against a running node: folders walked, files
//! streamed, the custody timeline shown with ledger indexes; a damaged item shown as tampered and
//! its failed export leaving nothing where the package was to go; `comity verify` of exported and
//! forged packages, with and without a trust anchor.

use std::path::Path;
use std::process::Output;

use crate::cli::{comity, federation, ok, serve};
use crate::forge::{rekeyed, root_of, zip_with};

#[test]
fn files_and_folders_are_added_listed_and_their_custody_shown() {
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let _served = serve(&nodes[0]);
    let dir = nodes[0].dir.to_str().unwrap();
    let seized = base.path().join("seized");
    std::fs::create_dir_all(seized.join("phone")).unwrap();
    std::fs::write(seized.join("mail.txt"), b"hello").unwrap();
    std::fs::write(seized.join("phone/chat.db"), b"").unwrap();
    let single = base.path().join("note.txt");
    std::fs::write(&single, b"abc").unwrap();

    let out = ok(&[
        "evidence",
        "add",
        "--dir",
        dir,
        "--case",
        "C-1",
        "--tool",
        "dd 9.4",
        seized.to_str().unwrap(),
        single.to_str().unwrap(),
    ]);
    let hello = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    assert_eq!(
        out,
        format!(
            "{hello} 5 {}\n{empty} 0 {}\n{abc} 3 {}\n",
            seized.join("mail.txt").display(),
            seized.join("phone/chat.db").display(),
            single.display()
        )
    );

    let listed = ok(&["evidence", "list", "--dir", dir, "--case", "C-1"]);
    for line in [
        format!("{hello} 5 mail.txt"),
        format!("{empty} 0 chat.db"),
        format!("{abc} 3 note.txt"),
    ] {
        assert!(listed.contains(&line), "{listed}");
    }

    let shown = ok(&["evidence", "show", "--dir", dir, hello]);
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 3, "{shown}");
    assert!(lines[0].starts_with(&format!("{hello} 5 bytes, case C-1, name mail.txt")));
    assert!(lines[1].starts_with("0\t") && lines[1].contains("\tacquired\tdz-247/api\tledger "));
    assert!(lines[2].starts_with("1\t") && lines[2].contains("\tsealed\tdz-247/api\tledger "));

    let missing = comity(&["evidence", "show", "--dir", dir, &"ab".repeat(32)]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("[api.not_found]"));
    let bad = comity(&[
        "evidence",
        "add",
        "--dir",
        dir,
        "--case",
        "bad case",
        single.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("[evidence.event_format]"), "{err}");
}

fn files_under(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// A case with one seized file, exported by a served node as a zip and as a folder; returns
/// the node's folder and both packages.
fn exported_case(base: &Path) -> (std::path::PathBuf, [std::path::PathBuf; 2]) {
    let nodes = federation(base, &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let served = serve(&nodes[0]);
    let dir = nodes[0].dir.to_str().unwrap();
    let seized = base.join("disk.img");
    std::fs::write(&seized, b"the seized disk image").unwrap();
    ok(&[
        "evidence",
        "add",
        "--dir",
        dir,
        "--case",
        "C-9",
        seized.to_str().unwrap(),
    ]);
    let zip = base.join("C-9.zip");
    let pkg = base.join("C-9");
    for out in [&zip, &pkg] {
        ok(&[
            "evidence",
            "export",
            "--dir",
            dir,
            "--case",
            "C-9",
            "--purpose",
            "proceedings 2026/41",
            "--out",
            out.to_str().unwrap(),
        ]);
    }
    let unknown = comity(&[
        "evidence",
        "export",
        "--dir",
        dir,
        "--case",
        "C-none",
        "--purpose",
        "p",
        "--out",
        base.join("none.zip").to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("[api.not_found]"));
    let shown = ok(&[
        "evidence",
        "show",
        "--dir",
        dir,
        &sha_of(b"the seized disk image"),
    ]);
    assert!(
        shown.contains("\texported\t"),
        "the export is in the timeline: {shown}"
    );
    drop(served);
    (nodes[0].dir.clone(), [zip, pkg])
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit code and stdout of `comity verify ARGS`.
fn verify(args: &[&str]) -> (Option<i32>, String) {
    let out = comity(&[&["verify"], args].concat());
    (out.status.code(), stdout(&out))
}

#[test]
fn an_exported_case_verifies_offline_against_the_federation_root_and_a_flipped_byte_is_named() {
    let base = tempfile::tempdir().unwrap();
    let (node, [zip, pkg]) = exported_case(base.path());
    let root = root_of(&node);
    let root_id = comity_seal::key_id(&root.parse().unwrap());
    let dir = node.to_str().unwrap();

    for package in [&zip, &pkg] {
        let package = package.to_str().unwrap();
        let (code, text) = verify(&["--root", &root, package]);
        assert_eq!(code, Some(0), "{text}");
        assert_eq!(
            text.lines().nth(1),
            Some(
                format!("VERIFIED against federation root {root_id} (given with --root)").as_str()
            ),
            "{text}"
        );
        assert!(
            text.lines()
                .nth(2)
                .unwrap()
                .starts_with("What holds: 1 exhibit exported by dz-247"),
            "{text}"
        );
        let (code, text) = verify(&["--dir", dir, package]);
        assert_eq!(code, Some(0), "with the node's pinned root: {text}");
        assert!(
            text.contains(&format!(
                "VERIFIED against federation root {root_id} (pinned by node folder {dir})"
            )),
            "{text}"
        );

        // No anchor: consistent, not authenticated, refused unless accepted as such.
        let out = comity(&["verify", package]);
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert_eq!(
            text.lines().nth(1),
            Some("NOT VERIFIED: signatures consistent, signers not authenticated"),
            "{text}"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("pass --root KEY"));
        let (code, text) = verify(&["--allow-unanchored", package]);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains("signatures consistent, signers not authenticated"),
            "{text}"
        );

        let (code, json) = verify(&["--root", &root, "--json", package]);
        assert_eq!(code, Some(0));
        let json: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(json["verified"], true);
        assert_eq!(json["anchor"]["status"], "authenticated");
        assert_eq!(json["anchor"]["root"], root_id.as_str());
    }

    let mut files = Vec::new();
    files_under(&pkg, &mut files);
    let item = files
        .iter()
        .find(|p| std::fs::read(p).unwrap() == b"the seized disk image")
        .expect("the item's file is in the package");
    let mut bytes = std::fs::read(item).unwrap();
    bytes[4] ^= 1;
    std::fs::write(item, bytes).unwrap();
    let (code, text) = verify(&["--root", &root, pkg.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("FAIL files/1-disk.img | file digest | [evidence.package_digest]"),
        "the failure names the item: {text}"
    );
}

#[test]
fn forged_packages_are_refused_naming_what_was_forged() {
    let base = tempfile::tempdir().unwrap();
    let (node, [_, pkg]) = exported_case(base.path());
    let root = root_of(&node);
    let root_id = comity_seal::key_id(&root.parse().unwrap());

    // Every signature made again under fresh keys and a fresh root.
    let (forged, fake_root) = rekeyed(&pkg, &base.path().join("rekeyed.zip"));
    let fake_id = comity_seal::key_id(&fake_root.parse().unwrap());
    let forged = forged.to_str().unwrap();
    let (code, text) = verify(&[forged]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("NOT VERIFIED: signatures consistent, signers not authenticated"),
        "{text}"
    );
    let (code, text) = verify(&["--allow-unanchored", forged]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("NOT VERIFIED: signatures consistent, signers not authenticated"),
        "the statement is still printed: {text}"
    );
    let (code, text) = verify(&["--root", &root, forged]);
    assert_eq!(code, Some(1), "{text}");
    let refusal = text
        .lines()
        .find(|l| l.starts_with("FAIL package | trust anchor | [evidence.package_foreign_root]"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        refusal.contains(&fake_id) && refusal.contains(&root_id),
        "both roots are named: {refusal}"
    );
    let (code, text) = verify(&["--dir", node.to_str().unwrap(), forged]);
    assert_eq!(code, Some(1), "{text}");
    // The forger's own root authenticates the forgery, and nothing else: the anchor is the
    // verifier's to obtain from the federation.
    let (code, text) = verify(&["--root", &fake_root, forged]);
    assert_eq!(code, Some(0), "{text}");

    // Entries added to the genuine zip: each refused by name with its code.
    for (label, name, code) in [
        (
            "a name twice",
            "files/1-disk.img",
            "evidence.package_duplicate",
        ),
        (
            "a .. name",
            "../../comity-planted.txt",
            "evidence.package_entry_name",
        ),
        (
            "an absolute name",
            "/tmp/comity-planted.txt",
            "evidence.package_entry_name",
        ),
        (
            "an unlisted file",
            "files/2-extra.img",
            "evidence.package_unexpected",
        ),
    ] {
        let zip = zip_with(
            &pkg,
            &[(name, b"another disk image")],
            &base.path().join(format!("{label}.zip")),
        );
        let (exit, text) = verify(&["--root", &root, zip.to_str().unwrap()]);
        assert_eq!(exit, Some(1), "{label}: {text}");
        assert!(
            text.contains(&format!("FAIL {name} | entry | [{code}]"))
                || text.contains(&format!("FAIL {name} | listed in index | [{code}]")),
            "{label}: {text}"
        );
    }
}

#[test]
fn verify_says_why_it_cannot_start_with_exit_code_2() {
    let base = tempfile::tempdir().unwrap();
    let junk = base.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let junk = junk.to_str().unwrap();
    let key = "A".repeat(43) + "=";
    for (args, says) in [
        (vec!["--root", "not-a-key", junk], "--root"),
        (
            vec!["--root", &key, "--dir", ".", junk],
            "cannot be used with",
        ),
        (
            vec!["--allow-unanchored", "--root", &key, junk],
            "cannot be used with",
        ),
        (
            vec!["--root", &key, "/nonexistent/package.zip"],
            "cannot read",
        ),
        (vec!["--dir", "/nonexistent", junk], "node.toml"),
    ] {
        let out = comity(&[&["verify"], args.as_slice()].concat());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    let (code, text) = verify(&["--root", &key, junk]);
    assert_eq!(code, Some(1), "not a package: not verified: {text}");
}

fn sha_of(bytes: &[u8]) -> String {
    comity_evidence::Sha256Digest::of(bytes).hex()
}

#[test]
fn evidence_is_sent_to_another_node_and_the_transfer_listed_on_both_sides() {
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("fr-ocl", "FR"), ("dz-247", "DZ")]);
    let _fr = serve(&nodes[0]);
    let _dz = serve(&nodes[1]);
    let (fr, dz) = (
        nodes[0].dir.to_str().unwrap(),
        nodes[1].dir.to_str().unwrap(),
    );
    let seized = base.path().join("phone.img");
    std::fs::write(&seized, b"a seized phone image").unwrap();
    ok(&[
        "evidence",
        "add",
        "--dir",
        fr,
        "--case",
        "FR-7",
        seized.to_str().unwrap(),
    ]);
    let sha = sha_of(b"a seized phone image");

    let bad = comity(&[
        "evidence",
        "send",
        "--dir",
        fr,
        &sha,
        "--to",
        "dz-247",
        "--purpose",
        "DZ-1",
        "--condition",
        "secret",
    ]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown condition"));
    let sent = ok(&[
        "evidence",
        "send",
        "--dir",
        fr,
        &sha,
        "--to",
        "dz-247",
        "--purpose",
        "DZ-1",
        "--condition",
        "no_onward_transfer",
        "--condition",
        "purpose_limited=DZ-1,DZ-2",
        "--legal-basis",
        "Budapest Art. 28",
    ]);
    let id = sent.split(' ').next().unwrap().to_owned();
    assert_eq!(id.len(), 32, "{sent}");
    assert!(sent.contains(" out dz-247 offered 0/1 "), "{sent}");

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let line = |dir: &str| {
        ok(&["evidence", "transfers", "--dir", dir])
            .lines()
            .find(|l| l.starts_with(&id))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    while !(line(dz).contains(" completed ") && line(fr).contains(" completed "))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(line(dz), format!("{id} in fr-ocl completed 1/1 {sha}"));
    assert_eq!(line(fr), format!("{id} out dz-247 completed 1/1 {sha}"));
    let late = comity(&[
        "evidence", "withdraw", "--dir", fr, &id, "--reason", "too late",
    ]);
    let err = String::from_utf8_lossy(&late.stderr);
    assert!(
        !late.status.success() && err.contains("[evidence.transfer_ended]"),
        "a completed transfer cannot be withdrawn: {err}"
    );
    let shown = ok(&["evidence", "show", "--dir", dz, &sha]);
    for action in [
        "\tacquired\tfr-ocl/api\t",
        "\tsent\tfr-ocl/api\t",
        "\treceived\tdz-247/node\t",
        "\tverified\tdz-247/node\t",
    ] {
        assert!(shown.contains(action), "{action} in {shown}");
    }
    assert!(
        shown.contains(&format!("transfer {id} in fr-ocl completed")),
        "{shown}"
    );
}

#[test]
fn a_damaged_item_is_shown_tampered_and_its_failed_export_leaves_nothing() {
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let _served = serve(&nodes[0]);
    let dir = nodes[0].dir.to_str().unwrap();
    let content: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let seized = base.path().join("disk.img");
    std::fs::write(&seized, &content).unwrap();
    let args = ["evidence", "add", "--dir", dir, "--case", "C-5"];
    ok(&[&args[..], &[seized.to_str().unwrap()]].concat());
    let sha = sha_of(&content);
    // Byte 10 of chunk 1 (1 MiB chunks; 19 bytes of header, 16 of tag per chunk).
    let object = nodes[0].dir.join("evidence/objects/blobs").join(&sha);
    let mut stored = std::fs::read(&object).unwrap();
    stored[19 + 1024 * 1024 + 16 + 10] ^= 1;
    std::fs::write(&object, stored).unwrap();

    let out = base.path().join("out");
    std::fs::create_dir(&out).unwrap();
    for target in [out.join("C-5.zip"), out.join("C-5")] {
        let failed = comity(&[
            "evidence",
            "export",
            "--dir",
            dir,
            "--case",
            "C-5",
            "--purpose",
            "court",
            "--out",
            target.to_str().unwrap(),
        ]);
        assert_eq!(failed.status.code(), Some(2));
        let err = String::from_utf8_lossy(&failed.stderr);
        assert!(err.contains("[evidence.tampered]"), "{err}");
        assert_eq!(
            std::fs::read_dir(&out).unwrap().count(),
            0,
            "nothing is left where the package was to go"
        );
    }
    let shown = ok(&["evidence", "show", "--dir", dir, &sha]);
    assert!(
        shown.contains("TAMPERED ") && shown.contains("evidence.tampered at chunk 1: "),
        "{shown}"
    );
    assert!(!shown.contains("\texported\t"), "{shown}");
}
