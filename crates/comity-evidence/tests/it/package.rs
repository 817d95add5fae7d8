//! Packages: what verifies, what tampering is named by item and check, and the trust anchor.
//! The readers' refusals of ambiguous entries are in `package_entries.rs`.

use std::path::Path;

use comity_evidence::package::{INDEX_PATH, write_dir, write_zip};
use comity_evidence::verify::Report;
use comity_evidence::{AnchorStatus, VerifyOptions, verify_package, verify_package_with};
use comity_seal::key_id;

use crate::support::{Node, Story, package};

pub const CONTENT: &[u8] = b"From: someone@example.dz\nSubject: the evidence\n\nbody\n";

/// Verification against the story's federation root.
pub fn anchored(s: &Story) -> VerifyOptions {
    VerifyOptions::anchored(s.root.public(), "the test federation's root")
}

fn fresh(tmp: &Path) -> (std::path::PathBuf, VerifyOptions) {
    let (pkg, s) = package(tmp, CONTENT);
    let dir = tmp.join("pkg");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    (dir, anchored(&s))
}

fn failed(r: &Report) -> Vec<(String, String)> {
    r.failures()
        .map(|c| (c.item.clone(), c.check.clone()))
        .collect()
}

fn assert_fails(r: &Report, item: &str, check: &str) {
    assert!(!r.consistent && !r.verified, "{}", r.to_text());
    assert!(
        r.failures()
            .any(|c| c.item.contains(item) && c.check == check),
        "expected a failure of {check:?} on {item:?}, got {:?}\n{}",
        failed(r),
        r.to_text()
    );
}

/// The failure of `check` on `item` has the stable `code`.
fn assert_code(r: &Report, item: &str, check: &str, code: &str) {
    assert_fails(r, item, check);
    assert!(
        r.failures()
            .any(|c| c.item.contains(item) && c.check == check && c.code == Some(code)),
        "expected {code} on {item:?} ({check}), got {:?}\n{}",
        r.failures().map(|c| (&c.item, c.code)).collect::<Vec<_>>(),
        r.to_text()
    );
}

pub fn files(dir: &Path) -> Vec<String> {
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
fn a_fresh_package_verifies_as_directory_and_zip_against_its_federation_root() {
    let tmp = tempfile::tempdir().unwrap();
    let (pkg, s) = package(tmp.path(), CONTENT);
    let dir = tmp.path().join("pkg");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    let r = verify_package_with(&dir, &anchored(&s));
    assert!(r.verified && r.consistent, "{}", r.to_text());
    assert_eq!(r.anchor.status, AnchorStatus::Authenticated);
    let root = key_id(&s.root.public());
    assert_eq!(r.anchor.root.as_deref(), Some(root.as_str()));
    let text = r.to_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1],
        format!("VERIFIED against federation root {root} (the test federation's root)"),
        "{text}"
    );
    assert!(
        lines[2].starts_with("What holds: 1 exhibit exported by fr-ocl")
            && lines[2].contains("6 custody events signed by dz-moj, fr-ocl"),
        "{text}"
    );
    assert!(
        lines[3].starts_with(&format!("Trust anchor: federation root {root}"))
            && lines[3]
                .contains("the exporter fr-ocl and every signer (dz-moj, fr-ocl) are members"),
        "{text}"
    );
    assert!(text.contains("cosigned by dz-moj.comity/witness"), "{text}");
    for check in [
        "index layout",
        "file digest",
        "event signature",
        "custody chain",
        "ledger inclusion",
        "use conditions",
        "manifest",
        "index signature",
        "descriptor",
        "trust anchor",
        "member of the federation",
    ] {
        assert!(
            r.checks.iter().any(|c| c.check == check),
            "no {check} check"
        );
    }
    assert!(r.checks.iter().all(|c| c.code.is_none()));

    let (pkg, s) = package(&tmp.path().join("z").tap_mkdir(), CONTENT);
    let zip = tmp.path().join("pkg.zip");
    write_zip(&pkg, &zip, s.fr.secrets.signing_key()).unwrap();
    let r = verify_package_with(&zip, &anchored(&s));
    assert!(r.verified, "{}", r.to_text());
}

#[test]
fn without_a_trust_anchor_a_consistent_package_is_not_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = fresh(tmp.path());
    let r = verify_package(&dir);
    assert!(r.consistent && !r.verified, "{}", r.to_text());
    assert_eq!(r.anchor.status, AnchorStatus::Unanchored);
    let text = r.to_text();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[1],
        "NOT VERIFIED: signatures consistent, signers not authenticated"
    );
    assert!(lines[2].starts_with("What holds: "), "{text}");
    assert!(
        lines[3].starts_with(
            "Trust anchor: none given, so signatures consistent, signers not authenticated"
        ) && lines[3].contains("the package's own trust list names root"),
        "{text}"
    );
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
    let (dir, root) = fresh(tmp.path());
    for f in files(&dir) {
        let path = dir.join(&f);
        let good = std::fs::read(&path).unwrap();
        for at in [0, good.len() / 2, good.len() - 2] {
            let mut bad = good.clone();
            bad[at] ^= 0x04;
            std::fs::write(&path, &bad).unwrap();
            let r = verify_package_with(&dir, &root);
            assert!(!r.consistent, "flip at {at} of {f} went unnoticed");
            if f != INDEX_PATH {
                assert_code(&r, &f, "file digest", "evidence.package_digest");
            }
        }
        std::fs::write(&path, &good).unwrap();
    }
    assert!(verify_package_with(&dir, &root).verified);
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
    assert_code(
        &r,
        "exhibit 1",
        "use conditions",
        "evidence.condition_refused",
    );
}

#[test]
fn edited_manifest_and_extra_or_missing_files_fail() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, _) = fresh(tmp.path());
    let m = dir.join("manifest.jsonld");
    let text = std::fs::read_to_string(&m).unwrap();
    std::fs::write(&m, text.replace("FTK Imager 4.7.1", "FTK Imager 4.7.2")).unwrap();
    let r = verify_package(&dir);
    assert_fails(&r, "manifest.jsonld", "manifest");
    std::fs::write(&m, &text).unwrap();

    std::fs::write(dir.join("files/extra.txt"), b"planted").unwrap();
    assert_code(
        &verify_package(&dir),
        "files/extra.txt",
        "listed in index",
        "evidence.package_unexpected",
    );
    std::fs::remove_file(dir.join("files/extra.txt")).unwrap();

    let ev = files(&dir)
        .into_iter()
        .find(|f| f.starts_with("events/") && f.ends_with("/5.json"))
        .unwrap();
    std::fs::remove_file(dir.join(&ev)).unwrap();
    assert_code(
        &verify_package(&dir),
        &ev,
        "file digest",
        "evidence.package_missing",
    );
}

pub fn clone(p: &comity_evidence::Package) -> comity_evidence::Package {
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
    let tmp = tempfile::tempdir().unwrap();
    let (mut pkg, s) = package(tmp.path(), CONTENT);
    let dir = tmp.path().join("pkg");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    let r = verify_package_with(&dir, &anchored(&s));
    assert!(r.verified, "{}", r.to_text());
    assert_eq!(
        r.checks
            .iter()
            .filter(|c| c.check == "member of the federation")
            .count(),
        2
    );

    // A list that does not name fr-ocl: its descriptor is not trusted.
    pkg.trust_list = Some(crate::support::trust_list_of(&s.root, &[&s.dz]));
    let dir = tmp.path().join("pkg2");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    let r = verify_package_with(&dir, &anchored(&s));
    assert_code(
        &r,
        "node fr-ocl",
        "member of the federation",
        "evidence.package_not_member",
    );
    assert_eq!(r.anchor.status, AnchorStatus::Refused);

    // No trust list at all: nothing to authenticate the signers with.
    pkg.trust_list = None;
    let dir = tmp.path().join("pkg3");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    let r = verify_package_with(&dir, &anchored(&s));
    assert_code(
        &r,
        "package",
        "trust anchor",
        "evidence.package_no_trust_list",
    );
    assert!(
        verify_package(&dir).consistent,
        "without a root it is only consistent"
    );
}

/// The attack: every signature of the package made again with fresh keys (events, proofs,
/// descriptors, index) and a fresh federation root signing a trust list of the fresh
/// descriptors. Only a trust anchor from outside the package tells it apart.
#[test]
fn a_rekeyed_package_is_consistent_and_refused_against_the_true_root() {
    let tmp = tempfile::tempdir().unwrap();
    let (genuine, s) = package(tmp.path(), CONTENT);
    let (forged, mallory) = package(tmp.path(), CONTENT);
    let (good, bad) = (tmp.path().join("good"), tmp.path().join("forged.zip"));
    write_dir(&genuine, &good, s.fr.secrets.signing_key()).unwrap();
    write_zip(&forged, &bad, mallory.fr.secrets.signing_key()).unwrap();
    let (true_root, fake_root) = (key_id(&s.root.public()), key_id(&mallory.root.public()));

    let unanchored = verify_package(&bad);
    assert!(
        unanchored.consistent && !unanchored.verified,
        "{}",
        unanchored.to_text()
    );
    assert!(
        unanchored
            .to_text()
            .contains("NOT VERIFIED: signatures consistent, signers not authenticated"),
        "{}",
        unanchored.to_text()
    );

    let r = verify_package_with(&bad, &anchored(&s));
    assert_code(
        &r,
        "package",
        "trust anchor",
        "evidence.package_foreign_root",
    );
    let refusal = r.failures().find(|c| c.check == "trust anchor").unwrap();
    assert!(
        refusal.reason.contains(&fake_root) && refusal.reason.contains(&true_root),
        "both roots are named: {}",
        refusal.reason
    );
    assert_eq!(r.anchor.status, AnchorStatus::Refused);
    assert!(
        r.anchor.statement.contains(&fake_root),
        "{}",
        r.anchor.statement
    );

    let r = verify_package_with(&good, &anchored(&s));
    assert!(r.verified, "{}", r.to_text());

    // The federation's genuine trust list kept, the descriptors and signatures forged: the
    // descriptors are not the ones the list holds.
    let mut swapped = crate::package::clone(&forged);
    swapped.trust_list = genuine.trust_list.clone();
    let dir = tmp.path().join("swapped");
    write_dir(&swapped, &dir, mallory.fr.secrets.signing_key()).unwrap();
    let r = verify_package_with(&dir, &anchored(&s));
    assert_code(
        &r,
        "node dz-moj",
        "member of the federation",
        "evidence.package_descriptor_mismatch",
    );
    let mismatch = r.failures().find(|c| c.item == "node dz-moj").unwrap();
    assert!(
        mismatch
            .reason
            .contains(&key_id(&mallory.dz.descriptor.descriptor.signing_key))
            && mismatch
                .reason
                .contains(&key_id(&s.dz.descriptor.descriptor.signing_key)),
        "{}",
        mismatch.reason
    );

    // A signer whose descriptor is left out cannot be shown to be a member.
    let mut missing = crate::package::clone(&genuine);
    missing.descriptors.remove(0);
    let dir = tmp.path().join("missing");
    write_dir(&missing, &dir, s.fr.secrets.signing_key()).unwrap();
    let r = verify_package_with(&dir, &anchored(&s));
    assert_code(
        &r,
        "node dz-moj",
        "member of the federation",
        "evidence.package_not_member",
    );
}

#[test]
fn a_metadata_file_over_16_mib_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut pkg, s) = package(tmp.path(), CONTENT);
    pkg.items[0].proofs[0] = vec![b' '; 16 * 1024 * 1024 + 1];
    let dir = tmp.path().join("pkg");
    write_dir(&pkg, &dir, s.fr.secrets.signing_key()).unwrap();
    let proof = format!("proofs/{}/0.json", pkg.items[0].sha256.hex());
    let r = verify_package_with(&dir, &anchored(&s));
    assert_code(&r, &proof, "file digest", "evidence.package_too_large");
    assert!(
        r.failures()
            .any(|c| c.check == "ledger inclusion" && c.reason.contains("16777216")),
        "{}",
        r.to_text()
    );
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
    let root = anchored(&s);
    let report = tokio::task::spawn_blocking(move || {
        write_zip(&pkg, &zip, &key).unwrap();
        verify_package_with(&zip, &root)
    })
    .await
    .unwrap();
    assert!(report.verified, "{}", report.to_text());
}
