//! The reader refuses what two extractors or two file systems could read differently: the cases
//! of `tests/data/package-entries.json` (names given twice or equal once extracted, absolute and
//! `..` names, unexpected entries, links, folders and FIFOs where files are expected), and zips
//! whose structure lets a streaming extractor see other entries than the central directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use comity_evidence::package::{write_dir, write_zip};
use comity_evidence::verify::Report;
use comity_evidence::verify_package_with;
use serde::Deserialize;
use zip::write::SimpleFileOptions;

use crate::package::{CONTENT, anchored, files};
use crate::support::package;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    case: String,
    form: String,
    add: Vec<Extra>,
    /// `(entry, code)`: each must be a failed check of that entry with that code.
    refused: Vec<(String, String)>,
    #[serde(default)]
    verified: bool,
}

/// An entry added to a genuine package.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Extra {
    name: String,
    /// Its content, or for a link its target.
    text: Option<String>,
    /// Its content (for a zip link, its target) is this genuine entry's.
    copy: Option<String>,
    /// `file` (default), `dir`, `symlink` or `fifo`.
    #[serde(default)]
    kind: String,
    /// Written before the genuine entries of the zip.
    #[serde(default)]
    first: bool,
    /// Replaces the genuine entry of that name.
    #[serde(default)]
    replace: bool,
}

fn failures(r: &Report) -> Vec<(String, Option<&'static str>)> {
    r.failures().map(|c| (c.item.clone(), c.code)).collect()
}

/// Replaces every occurrence of `from` by `to` (same length) in `bytes`.
fn patch(bytes: &mut [u8], from: &[u8], to: &[u8]) -> usize {
    assert_eq!(from.len(), to.len());
    let mut n = 0;
    let mut i = 0;
    while i + from.len() <= bytes.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            n += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    n
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true)
}

/// A zip of the genuine package `dir` with the extras. Each extra is written under a placeholder
/// of the same length, then renamed in place, so names reach the archive byte for byte (the zip
/// writer refuses a name twice, as an attacker's tool would not).
fn zip_with(dir: &Path, extras: &[Extra], out: &Path) -> PathBuf {
    let mut w = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    let mut renames = Vec::new();
    let mut put = |w: &mut zip::ZipWriter<std::fs::File>, i: usize, e: &Extra| {
        let len = e.name.len();
        let mut placeholder = format!("~{i}~");
        while placeholder.len() < len {
            placeholder.push('#');
        }
        if e.kind == "dir" {
            placeholder.replace_range(len - 1.., "/");
        }
        renames.push((placeholder.clone(), e.name.clone()));
        let content = match (&e.copy, &e.text) {
            (Some(c), _) => std::fs::read(dir.join(c)).unwrap(),
            (None, Some(t)) => t.clone().into_bytes(),
            (None, None) => Vec::new(),
        };
        // Folders and links are small: no ZIP64 sizes, which the zip writer would leave unset.
        let small = options().large_file(false);
        match e.kind.as_str() {
            "dir" => w.add_directory(placeholder, small).unwrap(),
            "symlink" => w
                .add_symlink(placeholder, String::from_utf8(content).unwrap(), small)
                .unwrap(),
            _ => {
                w.start_file(placeholder, options()).unwrap();
                w.write_all(&content).unwrap();
            }
        }
    };
    for (i, e) in extras.iter().enumerate().filter(|(_, e)| e.first) {
        put(&mut w, i, e);
    }
    for f in files(dir) {
        if extras.iter().any(|e| e.replace && e.name == f) {
            continue;
        }
        w.start_file(f.as_str(), options()).unwrap();
        w.write_all(&std::fs::read(dir.join(&f)).unwrap()).unwrap();
    }
    for (i, e) in extras.iter().enumerate().filter(|(_, e)| !e.first) {
        put(&mut w, i, e);
    }
    w.finish().unwrap();
    let mut bytes = std::fs::read(out).unwrap();
    for (placeholder, name) in renames {
        assert_eq!(
            patch(&mut bytes, placeholder.as_bytes(), name.as_bytes()),
            2,
            "{name}: one local and one central record"
        );
    }
    std::fs::write(out, bytes).unwrap();
    out.to_owned()
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy_tree(&e.path(), &to.join(e.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

/// A copy of the genuine package folder `dir` with the extras; links point to copies made
/// outside the package.
fn dir_with(dir: &Path, extras: &[Extra], out: &Path) -> PathBuf {
    copy_tree(dir, out);
    for e in extras {
        let path = out.join(&e.name);
        if e.replace {
            if path.is_dir() {
                std::fs::remove_dir_all(&path).unwrap();
            } else {
                std::fs::remove_file(&path).unwrap();
            }
        }
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        match e.kind.as_str() {
            "dir" => std::fs::create_dir_all(&path).unwrap(),
            "fifo" => {
                let made = std::process::Command::new("mkfifo")
                    .arg(&path)
                    .status()
                    .unwrap();
                assert!(made.success());
            }
            "symlink" => {
                let target = match (&e.copy, &e.text) {
                    (Some(c), _) => {
                        let outside = out.with_extension("outside").join(c);
                        std::fs::create_dir_all(outside.parent().unwrap()).unwrap();
                        copy_tree(&dir.join(c), &outside);
                        outside
                    }
                    (None, t) => PathBuf::from(t.clone().unwrap_or_default()),
                };
                std::os::unix::fs::symlink(target, &path).unwrap();
            }
            _ => {
                let content = match (&e.copy, &e.text) {
                    (Some(c), _) => std::fs::read(dir.join(c)).unwrap(),
                    (None, t) => t.clone().unwrap_or_default().into_bytes(),
                };
                std::fs::write(&path, content).unwrap();
            }
        }
    }
    out.to_owned()
}

#[test]
fn entries_a_reader_could_take_differently_are_refused_by_name_and_code() {
    let cases: Vec<Case> = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/package-entries.json"
    )))
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (pkg, s) = package(tmp.path(), CONTENT);
    let genuine = tmp.path().join("genuine");
    write_dir(&pkg, &genuine, s.fr.secrets.signing_key()).unwrap();
    let root = anchored(&s);
    let sha = pkg.items[0].sha256.hex();

    // What the cases start from verifies, as a zip and as a folder.
    for base in [
        zip_with(&genuine, &[], &tmp.path().join("base.zip")),
        dir_with(&genuine, &[], &tmp.path().join("base")),
    ] {
        let r = verify_package_with(&base, &root);
        assert!(r.verified, "{}", r.to_text());
    }

    for (i, c) in cases.iter().enumerate() {
        let out = tmp.path().join(format!("case-{i}"));
        let path = match c.form.as_str() {
            "zip" => zip_with(&genuine, &c.add, &out.with_extension("zip")),
            "dir" => dir_with(&genuine, &c.add, &out),
            other => panic!("{}: unknown form {other}", c.case),
        };
        let r = verify_package_with(&path, &root);
        assert_eq!(r.verified, c.verified, "{}:\n{}", c.case, r.to_text());
        for (entry, code) in &c.refused {
            let entry = entry.replace("{sha}", &sha);
            assert!(
                r.failures()
                    .any(|f| f.item == entry && f.code == Some(code.as_str())),
                "{}: expected {code} on {entry:?}, got {:?}\n{}",
                c.case,
                failures(&r),
                r.to_text()
            );
        }
        if !c.verified {
            assert!(!r.consistent, "{}", c.case);
        }
    }
}

/// The genuine zip as the package writer makes it, and its bytes.
fn genuine_zip(tmp: &Path) -> (Vec<u8>, comity_evidence::VerifyOptions) {
    let (pkg, s) = package(tmp, CONTENT);
    let zip = tmp.join("genuine.zip");
    write_zip(&pkg, &zip, s.fr.secrets.signing_key()).unwrap();
    (std::fs::read(&zip).unwrap(), anchored(&s))
}

/// Offset of the local header of entry `name`.
fn local_header(bytes: &[u8], name: &str) -> usize {
    (0..bytes.len() - 30)
        .find(|&i| {
            bytes[i..i + 4] == *b"PK\x03\x04"
                && bytes.get(i + 30..i + 30 + name.len()) == Some(name.as_bytes())
        })
        .unwrap()
}

#[test]
fn zips_that_readers_could_walk_differently_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (zip, root) = genuine_zip(tmp.path());
    let check = |label: &str, bytes: Vec<u8>, entry: &str| {
        let path = tmp.path().join(format!("{label}.zip"));
        std::fs::write(&path, bytes).unwrap();
        let r = verify_package_with(&path, &root);
        assert!(!r.consistent, "{label}: {}", r.to_text());
        assert!(
            r.failures()
                .any(|f| f.item == entry && f.code == Some("evidence.package_zip_layout")),
            "{label}: expected evidence.package_zip_layout on {entry:?}, got {:?}\n{}",
            failures(&r),
            r.to_text()
        );
    };
    let path = tmp.path().join("as-written.zip");
    std::fs::write(&path, &zip).unwrap();
    assert!(verify_package_with(&path, &root).verified);

    check(
        "prefixed",
        [b"#!/bin/sh\nexit 0\n".as_slice(), &zip].concat(),
        "zip archive",
    );
    check(
        "suffixed",
        [zip.as_slice(), b"trailing bytes"].concat(),
        "zip archive",
    );
    let mut commented = zip.clone();
    let n = commented.len();
    commented[n - 2..].copy_from_slice(&7u16.to_le_bytes());
    commented.extend_from_slice(b"comment");
    check("commented", commented, "zip archive");

    // The manifest's local header renamed: streaming extractors would call it something else.
    let mut renamed = zip.clone();
    let at = local_header(&renamed, "manifest.jsonld");
    renamed[at + 30 + 14] = b'e';
    check("local-name", renamed, "manifest.jsonld");

    // The manifest's local CRC-32 altered: local and central records disagree.
    let mut crc = zip.clone();
    let at = local_header(&crc, "manifest.jsonld");
    crc[at + 14] ^= 1;
    check("local-crc", crc, "manifest.jsonld");

    // Written by a streaming zip writer: every size deferred to a data descriptor.
    let unzipped = tmp.path().join("unzipped");
    zip::ZipArchive::new(std::io::Cursor::new(&zip))
        .unwrap()
        .extract(&unzipped)
        .unwrap();
    let mut w = zip::ZipWriter::new_stream(Vec::new());
    for f in files(&unzipped) {
        w.start_file(f.as_str(), options()).unwrap();
        w.write_all(&std::fs::read(unzipped.join(&f)).unwrap())
            .unwrap();
    }
    let streamed = w.finish().unwrap().into_inner();
    check("streamed", streamed, "manifest.jsonld");
}
