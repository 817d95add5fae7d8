//! Blob format versions 1, 2 and 3 against an independent implementation
//! (`tests/blob_oracle.py`, Python `cryptography`): golden vectors it wrote
//! (`tests/data/blob-vectors.json`) open in the vault, it decrypts what the vault writes and the
//! vault reads what it writes, and a version 3 blob it wrote is refused under another item's
//! name. Property tests: round trip, truncation, chunk swaps, bit flips.

use std::path::{Path, PathBuf};
use std::process::Command;

use comity_evidence::blob::{
    BlobCipher, ChunkLayout, HEAD_LEN, LEGACY_HEADER_LEN, MAGIC_V3, TRAILER_LEN,
};
use comity_evidence::{Sha256Digest, Vault, WrapKey};
use proptest::prelude::*;
use serde::Deserialize;

use crate::support::rng;

#[derive(Deserialize)]
struct Vector {
    version: u8,
    wrap_key_hex: String,
    chunk_size: u32,
    plaintext_hex: String,
    plaintext_sha256: String,
    blob_hex: String,
}

fn wrap_key(hex_key: &str) -> WrapKey {
    WrapKey::from_bytes(hex::decode(hex_key).unwrap().try_into().unwrap())
}

/// Stores `blob` in a local vault under `root` as the blob of `plain`, as if it had been ingested.
fn planted(root: &Path, wrap: &str, plain: &[u8], blob: &[u8]) -> (Vault, Sha256Digest) {
    let vault = Vault::local(root, wrap_key(wrap)).unwrap();
    let sha = Sha256Digest::of(plain);
    std::fs::create_dir_all(root.join("objects/blobs")).unwrap();
    std::fs::write(root.join("objects/blobs").join(sha.hex()), blob).unwrap();
    (vault, sha)
}

#[tokio::test]
async fn golden_vectors_of_every_version_open_in_the_vault() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/blob-vectors.json"
    ))
    .unwrap();
    let vectors: Vec<Vector> = serde_json::from_str(&text).unwrap();
    assert_eq!(
        vectors.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2, 3]
    );
    for v in vectors {
        let tmp = tempfile::tempdir().unwrap();
        let plain = hex::decode(&v.plaintext_hex).unwrap();
        let blob = hex::decode(&v.blob_hex).unwrap();
        let (vault, sha) = planted(tmp.path(), &v.wrap_key_hex, &plain, &blob);
        assert_eq!(sha.hex(), v.plaintext_sha256);
        let cipher = BlobCipher::open(&blob, &wrap_key(&v.wrap_key_hex)).unwrap();
        assert_eq!(cipher.version(), v.version);
        // Version 3 names its item and size in the authenticated trailer; 1 and 2 name nothing.
        assert_eq!(
            cipher.binding().map(|b| (b.sha256, b.size)),
            (v.version == 3).then_some((sha, 2500))
        );
        let info = vault.verify(&sha).await.unwrap();
        assert_eq!((info.size, info.chunk_size), (2500, v.chunk_size));
        let mut out = Vec::new();
        vault.copy_to(&sha, &mut out).await.unwrap();
        assert_eq!(out, plain, "version {}", v.version);
        assert_eq!(vault.offer(&sha).await.unwrap().chunk_sha256.len(), 3);
        // A key rotation re-wraps a blob of any version without changing its version.
        let rotated = Vault::local(tmp.path(), wrap_key(WRAP)).unwrap();
        rotated
            .rewrap(&sha, &wrap_key(&v.wrap_key_hex))
            .await
            .unwrap();
        let stored = std::fs::read(tmp.path().join("objects/blobs").join(sha.hex())).unwrap();
        assert_eq!(stored[..8], blob[..8]);
        let (head, tail) = if v.version == 3 {
            (HEAD_LEN, TRAILER_LEN)
        } else {
            (LEGACY_HEADER_LEN, 0)
        };
        assert_eq!(
            stored[head..stored.len() - tail],
            blob[head..blob.len() - tail]
        );
        assert_eq!(rotated.verify(&sha).await.unwrap().size, 2500);
        // Serving single chunks needs them bound to the item: a legacy blob is migrated first.
        assert_eq!(rotated.read_chunk(&sha, 2).await.unwrap(), plain[2048..]);
        let stored = std::fs::read(tmp.path().join("objects/blobs").join(sha.hex())).unwrap();
        assert_eq!(&stored[..8], MAGIC_V3, "version {}", v.version);
    }
}

fn has_python_cryptography() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import cryptography.hazmat.primitives.ciphers.aead"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let msg = "Python cryptography not found: python3 -m pip install -r crates/comity-evidence/tests/requirements.txt";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("SKIPPED (not in CI): {msg}");
    }
    found
}

fn oracle(args: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/blob_oracle.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "blob_oracle.py {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const WRAP: &str = "8f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn sample(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 131 % 253) as u8).collect()
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test]
async fn python_decrypts_what_the_vault_writes() {
    if !has_python_cryptography() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::local(tmp.path(), wrap_key(WRAP))
        .unwrap()
        .with_chunk_size(1024)
        .unwrap();
    for size in [0usize, 1024, 5000] {
        let plain = sample(size);
        let info = vault.ingest(plain.as_slice(), |_| {}).await.unwrap();
        let blob: PathBuf = tmp.path().join("objects/blobs").join(info.sha256.hex());
        assert_eq!(&std::fs::read(&blob).unwrap()[..8], MAGIC_V3);
        let out = tmp.path().join(format!("plain-{size}"));
        oracle(&["decrypt", WRAP, path_str(&blob), path_str(&out)]);
        assert_eq!(std::fs::read(&out).unwrap(), plain, "size {size}");
    }
}

#[tokio::test]
async fn the_vault_reads_what_python_writes() {
    if !has_python_cryptography() {
        return;
    }
    for (version, size) in [
        ("1", 3000usize),
        ("2", 0),
        ("2", 3000),
        ("3", 0),
        ("3", 2048),
        ("3", 3000),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let plain = sample(size);
        let input = tmp.path().join("plain");
        std::fs::write(&input, &plain).unwrap();
        let blob = tmp.path().join("blob");
        oracle(&[
            "encrypt",
            version,
            WRAP,
            "1024",
            path_str(&input),
            path_str(&blob),
        ]);
        let (vault, sha) = planted(
            &tmp.path().join("vault"),
            WRAP,
            &plain,
            &std::fs::read(&blob).unwrap(),
        );
        let mut out = Vec::new();
        vault.copy_to(&sha, &mut out).await.unwrap();
        assert_eq!(out, plain, "version {version}, size {size}");
    }
}

#[tokio::test]
async fn a_version_3_blob_python_wrote_is_refused_under_another_items_name() {
    if !has_python_cryptography() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let plain = sample(3000);
    let input = tmp.path().join("plain");
    std::fs::write(&input, &plain).unwrap();
    let blob = tmp.path().join("blob");
    oracle(&[
        "encrypt",
        "3",
        WRAP,
        "1024",
        path_str(&input),
        path_str(&blob),
    ]);
    let other = sample(2999);
    let (vault, sha) = planted(
        &tmp.path().join("vault"),
        WRAP,
        &other,
        &std::fs::read(&blob).unwrap(),
    );
    let err = vault.read_chunk(&sha, 0).await.unwrap_err();
    assert_eq!(err.code(), "evidence.tampered", "{err}");
    assert!(
        err.to_string()
            .contains(&Sha256Digest::of(&plain).to_string()),
        "{err}"
    );
}

/// The whole stored object of `plain` in chunks of `c`, as the vault writes it.
fn seal_all(cipher: &BlobCipher, wrap: &WrapKey, plain: &[u8], c: u32) -> Vec<u8> {
    let layout = ChunkLayout::new(plain.len() as u64, c).unwrap();
    let mut out = cipher.head().to_vec();
    for i in 0..layout.chunks() {
        let r = layout.plain_range(i).unwrap();
        let mut buf = plain[r.start as usize..r.end as usize].to_vec();
        cipher.seal_chunk(i, layout.is_last(i), &mut buf).unwrap();
        out.extend(buf);
    }
    let sha = Sha256Digest::of(plain);
    out.extend(
        cipher
            .trailer(wrap, &sha, plain.len() as u64, &mut rng())
            .unwrap(),
    );
    out
}

/// Reads a stored object of `plain` back as the vault does: the trailer must name the item and
/// give the object's length, and each chunk must open.
fn open_all(wrap: &WrapKey, stored: &[u8], plain: &[u8]) -> Option<Vec<u8>> {
    let cipher = BlobCipher::open(stored, wrap).ok()?;
    let bound = cipher.binding()?;
    let layout = ChunkLayout::new(bound.size, cipher.chunk_size()).ok()?;
    if bound.sha256 != Sha256Digest::of(plain) || layout.stored_len() != stored.len() as u64 {
        return None;
    }
    let mut out = Vec::new();
    for i in 0..layout.chunks() {
        let r = layout.stored_range(i).unwrap();
        let mut buf = stored[r.start as usize..r.end as usize].to_vec();
        cipher.open_chunk(i, layout.is_last(i), &mut buf).ok()?;
        out.extend(buf);
    }
    Some(out)
}

fn blob_of(len: usize, c: u32) -> (WrapKey, Vec<u8>, Vec<u8>) {
    let wrap = wrap_key(WRAP);
    let cipher = BlobCipher::create(c, &mut rng()).unwrap();
    assert_eq!(cipher.version(), 3);
    let plain = sample(len);
    let stored = seal_all(&cipher, &wrap, &plain, c);
    (wrap, plain, stored)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn v3_round_trips(len in 0usize..6000, c in 1024u32..2100) {
        let (wrap, plain, stored) = blob_of(len, c);
        prop_assert_eq!(open_all(&wrap, &stored, &plain), Some(plain.clone()));
    }

    #[test]
    fn v3_truncation_is_refused(len in 0usize..6000, cut in 1usize..6100) {
        let (wrap, plain, stored) = blob_of(len, 1024);
        let keep = stored.len().saturating_sub(cut);
        prop_assert_eq!(open_all(&wrap, &stored[..keep], &plain), None);
    }

    #[test]
    fn v3_swapped_or_dropped_chunks_are_refused(len in 2049usize..6000, a in 0u64..6, b in 0u64..6) {
        let (wrap, plain, stored) = blob_of(len, 1024);
        let layout = ChunkLayout::new(len as u64, 1024).unwrap();
        // Full-size chunks only, so that the swapped object keeps its length and layout.
        let full = layout.chunks() - 1;
        let (a, b) = (a % full, b % full);
        prop_assume!(a != b);
        let (ra, rb) = (layout.stored_range(a).unwrap(), layout.stored_range(b).unwrap());
        let mut swapped = stored.clone();
        swapped[ra.start as usize..ra.end as usize]
            .copy_from_slice(&stored[rb.start as usize..rb.end as usize]);
        swapped[rb.start as usize..rb.end as usize]
            .copy_from_slice(&stored[ra.start as usize..ra.end as usize]);
        prop_assert_eq!(open_all(&wrap, &swapped, &plain), None);
        // Dropping the last chunk (trailer kept) leaves an object shorter than the trailer says,
        // whose new last chunk lacks the flag.
        let last = layout.stored_range(full).unwrap();
        let mut dropped = stored[..last.start as usize].to_vec();
        dropped.extend_from_slice(&stored[stored.len() - TRAILER_LEN..]);
        prop_assert_eq!(open_all(&wrap, &dropped, &plain), None);
    }

    #[test]
    fn v3_any_bit_flip_is_refused(len in 0usize..3000, bit in any::<proptest::sample::Index>()) {
        let (wrap, plain, stored) = blob_of(len, 1024);
        let bit = bit.index(stored.len() * 8);
        let mut altered = stored.clone();
        altered[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(open_all(&wrap, &altered, &plain), None, "flip of bit {}", bit);
    }
}
