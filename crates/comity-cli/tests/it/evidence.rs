//! `comity evidence add|list|show|export` against a running node: folders walked, files
//! streamed, the custody timeline shown with ledger indexes; a damaged item shown as tampered,
//! and its failed export leaving nothing where the package was to go.

use crate::cli::{comity, federation, ok, serve};

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
    assert!(String::from_utf8_lossy(&bad.stderr).contains("[evidence.event_format]"));
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

#[test]
fn an_exported_case_verifies_offline_and_a_flipped_byte_is_named() {
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let served = serve(&nodes[0]);
    let dir = nodes[0].dir.to_str().unwrap();
    let seized = base.path().join("disk.img");
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

    let zip = base.path().join("C-9.zip");
    let pkg = base.path().join("C-9");
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
        base.path().join("none.zip").to_str().unwrap(),
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

    for package in [&zip, &pkg] {
        let good = comity(&["verify", package.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&good.stdout);
        assert_eq!(good.status.code(), Some(0), "{text}");
        let rooted = comity(&["verify", "--dir", dir, package.to_str().unwrap()]);
        let text = String::from_utf8_lossy(&rooted.stdout);
        assert_eq!(
            rooted.status.code(),
            Some(0),
            "with the federation root: {text}"
        );
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
    let bad = comity(&["verify", pkg.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{text}");
    assert!(
        text.contains("disk.img"),
        "the failure names the item: {text}"
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
