use std::path::Path;

use comity_evidence::package::{INDEX_PATH, write_dir, write_zip};
use comity_evidence::verify::Report;
use comity_evidence::verify_package;

use crate::support::{Node, package};

const CONTENT: &[u8] = b"From: someone@example.dz\nSubject: the evidence\n\nbody\n";

fn fresh(tmp: &Path) -> std::path::PathBuf {
    let (pkg, s) = package(tmp, CONTENT);
    let dir = tmp.join("pkg");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    dir
}

fn failed(r: &Report) -> Vec<(String, String)> {
    r.failures()
        .map(|c| (c.item.clone(), c.check.clone()))
        .collect()
}

fn assert_fails(r: &Report, item: &str, check: &str) {
    assert!(!r.verified, "{}", r.to_text());
    assert!(
        r.failures()
            .any(|c| c.item.contains(item) && c.check == check),
        "expected a failure of {check:?} on {item:?}, got {:?}\n{}",
        failed(r),
        r.to_text()
    );
}

fn files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_fresh_package_verifies_as_directory_and_zip() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh(tmp.path());
    let r = verify_package(&dir);
    assert!(r.verified, "{}", r.to_text());
    let text = r.to_text();
    assert!(text.contains("VERIFIED"), "{text}");
    assert!(text.contains("cosigned by dz-moj.comity/witness"), "{text}");
    for check in [
        "file digest",
        "event signature",
        "custody chain",
        "ledger inclusion",
        "use conditions",
        "manifest",
        "index signature",
        "descriptor",
    ] {
        assert!(
            r.checks.iter().any(|c| c.check == check),
            "no {check} check"
        );
    }

    let (pkg, s) = package(&tmp.path().join("z").tap_mkdir(), CONTENT);
    let zip = tmp.path().join("pkg.zip");
    write_zip(&pkg, &zip, s.fr.secrets.signing_key()).unwrap();
    let r = verify_package(&zip);
    assert!(r.verified, "{}", r.to_text());
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}
impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[test]
fn a_byte_flipped_in_any_file_fails_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh(tmp.path());
    for f in files(&dir) {
        let path = dir.join(&f);
        let good = std::fs::read(&path).unwrap();
        for at in [0, good.len() / 2, good.len() - 2] {
            let mut bad = good.clone();
            bad[at] ^= 0x04;
            std::fs::write(&path, &bad).unwrap();
            let r = verify_package(&dir);
            assert!(!r.verified, "flip at {at} of {f} went unnoticed");
            if f != INDEX_PATH {
                assert_fails(&r, &f, "file digest");
            }
        }
        std::fs::write(&path, &good).unwrap();
    }
    assert!(verify_package(&dir).verified);
}

#[test]
fn tampering_is_named_by_item_and_check() {
    let tmp = tempfile::tempdir().unwrap();
    let (pkg, s) = package(tmp.path(), CONTENT);
    let write = |name: &str, pkg: &comity_evidence::Package| {
        let dir = tmp.path().join(name);
        write_dir(pkg, &dir, s.fr.secrets.signing_key()).unwrap();
        verify_package(&dir)
    };
    let edit = |name: &str, f: &dyn Fn(&mut comity_evidence::Package)| {
        let mut p = clone(&pkg);
        f(&mut p);
        write(name, &p)
    };

    // A custody event removed, or two reordered (the exporter re-signs the index: the chain
    // itself must show it).
    let r = edit("removed", &|p| {
        p.items[0].events.remove(2);
        p.items[0].proofs.remove(2);
    });
    assert_fails(&r, "exhibit 1", "custody chain");
    let r = edit("reordered", &|p| {
        p.items[0].events.swap(3, 4);
        p.items[0].proofs.swap(3, 4);
    });
    assert_fails(&r, "exhibit 1", "custody chain");

    // An event re-signed by another key.
    let mallory = Node::new("dz-moj", "DZ");
    let r = edit("resigned", &|p| {
        let e = p.items[0].events[1].event.clone();
        p.items[0].events[1] = e.sign(mallory.secrets.signing_key()).unwrap();
    });
    assert_fails(&r, "exhibit 1", "event signature");
    assert!(
        r.failures().any(|c| c.reason.contains("event 1 (sealed)")),
        "{}",
        r.to_text()
    );

    // A proof for another checkpoint: event 1's proof replaced by event 0's.
    let r = edit("other-proof", &|p| {
        p.items[0].proofs[1] = p.items[0].proofs[0].clone();
    });
    assert_fails(&r, "exhibit 1", "ledger inclusion");
    // A proof against a checkpoint of another log (fr-ocl's for a dz-moj event).
    let r = edit("other-log", &|p| {
        p.items[0].proofs[0] = p.items[0].proofs[3].clone();
    });
    assert_fails(&r, "exhibit 1", "ledger inclusion");

    // A missing descriptor.
    let r = edit("no-descriptor", &|p| {
        p.descriptors.remove(0);
    });
    assert_fails(&r, "exhibit 1", "event signature");
    assert!(
        r.failures()
            .any(|c| c.reason.contains("no descriptor for node dz-moj")),
        "{}",
        r.to_text()
    );

    // Exported for a purpose the provider did not accept, without consent.
    let r = edit("purpose", &|p| p.purpose = "press-conference".into());
    assert_fails(&r, "exhibit 1", "use conditions");
}

#[test]
fn edited_manifest_and_extra_or_missing_files_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fresh(tmp.path());
    let m = dir.join("manifest.jsonld");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(&m, text.replace("FTK Imager 4.7.1", "FTK Imager 4.7.2")).unwrap();
    let r = verify_package(&dir);
    assert_fails(&r, "manifest.jsonld", "manifest");
    std::fs::write(&m, &text).unwrap();

    std::fs::write(dir.join("files/extra.txt"), b"planted").unwrap();
    assert_fails(&verify_package(&dir), "files/extra.txt", "listed in index");
    std::fs::remove_file(dir.join("files/extra.txt")).unwrap();

    let ev = files(&dir)
        .into_iter()
        .find(|f| f.starts_with("events/") && f.ends_with("/5.json"))
        .unwrap();
    std::fs::remove_file(dir.join(&ev)).unwrap();
    assert_fails(&verify_package(&dir), &ev, "file digest");
}

fn clone(p: &comity_evidence::Package) -> comity_evidence::Package {
    comity_evidence::Package {
        exporter: p.exporter.clone(),
        created: p.created,
        purpose: p.purpose.clone(),
        items: p
            .items
            .iter()
            .map(|i| comity_evidence::PackageItem {
                name: i.name.clone(),
                sha256: i.sha256,
                size: i.size,
                content: i.content.clone(),
                events: i.events.clone(),
                proofs: i.proofs.clone(),
                consents: i.consents.clone(),
            })
            .collect(),
        descriptors: p.descriptors.clone(),
        trust_list: p.trust_list.clone(),
    }
}

#[test]
fn with_the_federation_root_descriptors_must_be_members() {
    use comity_evidence::{VerifyOptions, verify_package_with};

    let tmp = tempfile::tempdir().unwrap();
    let (mut pkg, s) = package(tmp.path(), CONTENT);
    let (list, root) = crate::support::trust_list(&[&s.dz, &s.fr]);
    pkg.trust_list = Some(list);
    let dir = tmp.path().join("pkg");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    let good = VerifyOptions {
        federation_root: Some(root.public()),
    };
    let r = verify_package_with(&dir, &good);
    assert!(r.verified, "{}", r.to_text());
    assert_eq!(
        r.checks
            .iter()
            .filter(|c| c.check == "member of the federation")
            .count(),
        2
    );

    // Another root: the list is refused.
    let other = comity_seal::FederationRoot::generate(&mut crate::support::rng());
    let r = verify_package_with(
        &dir,
        &VerifyOptions {
            federation_root: Some(other.public()),
        },
    );
    assert_fails(&r, "package", "federation trust");

    // A list that does not name fr-ocl: its descriptor is not trusted.
    let (list, root) = crate::support::trust_list(&[&s.dz]);
    pkg.trust_list = Some(list);
    let dir = tmp.path().join("pkg2");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    let r = verify_package_with(
        &dir,
        &VerifyOptions {
            federation_root: Some(root.public()),
        },
    );
    assert_fails(&r, "node fr-ocl", "member of the federation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zip_is_written_straight_from_the_vault() {
    use std::sync::Arc;

    let tmp = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..5000u32).map(|i| (i % 253) as u8).collect();
    let (mut pkg, s) = package(tmp.path(), &content);
    let vault = Arc::new(
        comity_evidence::Vault::local(&tmp.path().join("vault"), s.fr.wrap_key())
            .unwrap()
            .with_chunk_size(1024)
            .unwrap(),
    );
    let info = vault.ingest(content.as_slice(), |_| {}).await.unwrap();
    let handle = tokio::runtime::Handle::current();
    let v = Arc::clone(&vault);
    pkg.items[0].content = Arc::new(move || {
        Ok(Box::new(v.blocking_reader(info.sha256, handle.clone())) as Box<dyn std::io::Read>)
    });
    let zip = tmp.path().join("pkg.zip");
    let key = s.fr.secrets.signing_key().clone();
    let report = tokio::task::spawn_blocking(move || {
        write_zip(&pkg, &zip, &key).unwrap();
        verify_package(&zip)
    })
    .await
    .unwrap();
    assert!(report.verified, "{}", report.to_text());
}
