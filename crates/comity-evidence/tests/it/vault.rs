use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use comity_evidence::blob::{ChunkLayout, HEAD_LEN, MAGIC_V3, TRAILER_LEN};
use comity_evidence::{Sha256Digest, Vault};
use tokio::io::{AsyncRead, ReadBuf};

use crate::support::Node;

fn data(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

fn objects(root: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for sub in ["objects/blobs", "objects/tmp"] {
        if let Ok(rd) = std::fs::read_dir(root.join(sub)) {
            out.extend(rd.map(|e| format!("{sub}/{}", e.unwrap().file_name().to_string_lossy())));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn ingest_round_trips_for_sizes_around_chunk_boundaries() {
    let tmp = tempfile::tempdir().unwrap();
    let n = Node::new("dz-moj", "DZ");
    let vault = Vault::local(tmp.path(), n.wrap_key())
        .unwrap()
        .with_chunk_size(1024)
        .unwrap();
    for size in [0usize, 1, 1023, 1024, 1025, 2048, 5000] {
        let bytes = data(size);
        let mut seen = 0;
        let info = vault.ingest(bytes.as_slice(), |n| seen = n).await.unwrap();
        assert_eq!(info.sha256, Sha256Digest::of(&bytes), "size {size}");
        assert_eq!((info.size, seen), (size as u64, size as u64));
        assert_eq!(
            info.chunks,
            ChunkLayout::new(size as u64, 1024).unwrap().chunks()
        );
        let mut out = Vec::new();
        vault.copy_to(&info.sha256, &mut out).await.unwrap();
        assert_eq!(out, bytes, "size {size}");
        let mut joined = Vec::new();
        for i in 0..info.chunks {
            joined.extend(vault.read_chunk(&info.sha256, i).await.unwrap());
        }
        assert_eq!(joined, bytes);
        let stored =
            std::fs::read(tmp.path().join("objects/blobs").join(info.sha256.hex())).unwrap();
        assert_eq!(
            stored.len() as u64,
            ChunkLayout::new(size as u64, 1024).unwrap().stored_len()
        );
        if size > 64 {
            assert!(
                stored.windows(64).all(|w| w != &bytes[..64]),
                "plaintext visible at rest"
            );
        }
    }
    assert!(
        objects(tmp.path())
            .iter()
            .all(|o| o.starts_with("objects/blobs/"))
    );
}

#[tokio::test]
async fn same_content_is_stored_once() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::local(tmp.path(), Node::new("dz-moj", "DZ").wrap_key()).unwrap();
    let a = vault.ingest(&b"same bytes"[..], |_| {}).await.unwrap();
    let b = vault.ingest(&b"same bytes"[..], |_| {}).await.unwrap();
    assert!(!a.already_present && b.already_present);
    assert_eq!(vault.list().await.unwrap(), vec![a.sha256]);
    assert_eq!(objects(tmp.path()).len(), 1);
}

/// A source that fails after `ok` bytes, as a full disk or a pulled cable would.
struct Failing {
    left: usize,
}

impl AsyncRead for Failing {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.left == 0 {
            return Poll::Ready(Err(io::Error::other("No space left on device")));
        }
        let n = self.left.min(buf.remaining()).min(700);
        buf.put_slice(&vec![7u8; n]);
        self.left -= n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test]
async fn failed_ingest_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::local(tmp.path(), Node::new("dz-moj", "DZ").wrap_key())
        .unwrap()
        .with_chunk_size(1024)
        .unwrap();
    let err = vault
        .ingest(Failing { left: 10_000 }, |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.code(), "evidence.source");
    assert!(vault.list().await.unwrap().is_empty());
    assert_eq!(objects(tmp.path()), Vec::<String>::new());
    let leftovers: Vec<_> = walk(tmp.path().join("objects").as_path());
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[tokio::test]
async fn another_nodes_key_cannot_open_a_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = Vault::local(tmp.path(), Node::new("dz-moj", "DZ").wrap_key()).unwrap();
    let info = vault.ingest(data(3000).as_slice(), |_| {}).await.unwrap();
    let other = Vault::local(tmp.path(), Node::new("fr-ocl", "FR").wrap_key()).unwrap();
    let err = other.read_chunk(&info.sha256, 0).await.unwrap_err();
    assert_eq!(err.code(), "evidence.wrong_wrap_key");
    assert!(err.to_string().contains(&info.sha256.hex()), "{err}");
    let missing = Sha256Digest::of(b"never stored");
    assert_eq!(
        vault.read_chunk(&missing, 0).await.unwrap_err().code(),
        "evidence.not_found"
    );
}

#[test]
fn layout_is_recovered_from_the_stored_length() {
    for version in 1..=3 {
        for size in [0u64, 1, 1023, 1024, 1025, 4096, 100_000] {
            let l = ChunkLayout::of_version(version, size, 1024).unwrap();
            assert_eq!(
                ChunkLayout::from_stored_len(version, l.stored_len(), 1024).unwrap(),
                l
            );
        }
    }
    assert!(
        ChunkLayout::from_stored_len(3, (HEAD_LEN + TRAILER_LEN) as u64 + 1040 + 16, 1024).is_err()
    );
    assert!(ChunkLayout::from_stored_len(3, 10, 1024).is_err());
    assert!(ChunkLayout::new(1, 10).is_err());
}

mod full_disk {
    //! A store that runs out of space after `room` bytes of uploads, as a full disk does.

    use std::ops::Range;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use async_trait::async_trait;
    use bytes::Bytes;
    use futures_util::FutureExt;
    use futures_util::stream::BoxStream;
    use object_store::path::Path;
    use object_store::{
        CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
        PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, UploadPart,
    };

    #[derive(Debug)]
    pub struct FullDisk {
        pub inner: Arc<dyn ObjectStore>,
        pub room: Arc<AtomicU64>,
    }

    impl std::fmt::Display for FullDisk {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "FullDisk({})", self.inner)
        }
    }

    fn full() -> object_store::Error {
        object_store::Error::Generic {
            store: "full-disk",
            source: "No space left on device (os error 28)".into(),
        }
    }

    #[derive(Debug)]
    struct Upload {
        inner: Box<dyn MultipartUpload>,
        room: Arc<AtomicU64>,
    }

    #[async_trait]
    impl MultipartUpload for Upload {
        fn put_part(&mut self, data: PutPayload) -> UploadPart {
            let n = data.content_length() as u64;
            let ok = self
                .room
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |r| r.checked_sub(n))
                .is_ok();
            if ok {
                self.inner.put_part(data)
            } else {
                async { Err(full()) }.boxed()
            }
        }
        async fn complete(&mut self) -> object_store::Result<PutResult> {
            self.inner.complete().await
        }
        async fn abort(&mut self) -> object_store::Result<()> {
            self.inner.abort().await
        }
    }

    #[async_trait]
    impl ObjectStore for FullDisk {
        async fn put_opts(
            &self,
            l: &Path,
            p: PutPayload,
            o: PutOptions,
        ) -> object_store::Result<PutResult> {
            self.inner.put_opts(l, p, o).await
        }
        async fn put_multipart_opts(
            &self,
            l: &Path,
            o: PutMultipartOptions,
        ) -> object_store::Result<Box<dyn MultipartUpload>> {
            let inner = self.inner.put_multipart_opts(l, o).await?;
            Ok(Box::new(Upload {
                inner,
                room: Arc::clone(&self.room),
            }))
        }
        async fn get_opts(&self, l: &Path, o: GetOptions) -> object_store::Result<GetResult> {
            self.inner.get_opts(l, o).await
        }
        async fn get_ranges(&self, l: &Path, r: &[Range<u64>]) -> object_store::Result<Vec<Bytes>> {
            self.inner.get_ranges(l, r).await
        }
        fn delete_stream(
            &self,
            l: BoxStream<'static, object_store::Result<Path>>,
        ) -> BoxStream<'static, object_store::Result<Path>> {
            self.inner.delete_stream(l)
        }
        fn list(&self, p: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
            self.inner.list(p)
        }
        async fn list_with_delimiter(&self, p: Option<&Path>) -> object_store::Result<ListResult> {
            self.inner.list_with_delimiter(p).await
        }
        async fn copy_opts(&self, f: &Path, t: &Path, o: CopyOptions) -> object_store::Result<()> {
            self.inner.copy_opts(f, t, o).await
        }
        async fn rename_opts(
            &self,
            f: &Path,
            t: &Path,
            o: RenameOptions,
        ) -> object_store::Result<()> {
            self.inner.rename_opts(f, t, o).await
        }
    }
}

#[tokio::test]
async fn a_full_disk_during_ingest_leaves_no_blob_and_no_temporary_object() {
    use std::sync::Arc;
    use std::sync::atomic::AtomicU64;

    let tmp = tempfile::tempdir().unwrap();
    let objects = tmp.path().join("objects");
    std::fs::create_dir_all(&objects).unwrap();
    let local = object_store::local::LocalFileSystem::new_with_prefix(&objects).unwrap();
    let room = Arc::new(AtomicU64::new(1024 * 1024));
    let store = full_disk::FullDisk {
        inner: Arc::new(local),
        room: Arc::clone(&room),
    };
    let vault = Vault::new(
        Arc::new(store),
        Node::new("dz-moj", "DZ").wrap_key(),
        tmp.path().join("staging"),
    );
    // The first 8 MiB upload part does not fit in 1 MiB of room.
    let big = vec![9u8; 9 * 1024 * 1024];
    let err = vault.ingest(big.as_slice(), |_| {}).await.unwrap_err();
    assert_eq!(err.code(), "evidence.storage");
    assert!(err.to_string().contains("No space left"), "{err}");
    assert!(vault.list().await.unwrap().is_empty());
    assert!(walk(&objects).is_empty(), "{:?}", walk(&objects));

    // With room again, ingests succeed whole.
    room.store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
    let info = vault.ingest(&big[..5000], |_| {}).await.unwrap();
    assert_eq!(vault.verify(&info.sha256).await.unwrap().size, 5000);
}

#[tokio::test]
async fn after_a_key_rotation_blobs_are_rewrapped_without_reencryption() {
    let tmp = tempfile::tempdir().unwrap();
    let before = Node::new("dz-moj", "DZ");
    let after = Node::new("dz-moj", "DZ");
    let old = Vault::local(tmp.path(), before.wrap_key())
        .unwrap()
        .with_chunk_size(1024)
        .unwrap();
    let bytes = data(4000);
    let info = old.ingest(bytes.as_slice(), |_| {}).await.unwrap();
    let path = tmp.path().join("objects/blobs").join(info.sha256.hex());
    let stored = std::fs::read(&path).unwrap();
    let body = stored[..stored.len() - TRAILER_LEN].to_vec();

    let new = Vault::local(tmp.path(), after.wrap_key()).unwrap();
    assert_eq!(
        new.verify(&info.sha256).await.unwrap_err().code(),
        "evidence.wrong_wrap_key"
    );
    assert_eq!(
        new.rewrap(&info.sha256, &after.wrap_key())
            .await
            .unwrap_err()
            .code(),
        "evidence.wrong_wrap_key"
    );
    new.rewrap(&info.sha256, &before.wrap_key()).await.unwrap();
    let rewrapped = std::fs::read(&path).unwrap();
    assert_eq!(rewrapped.len(), stored.len());
    assert_eq!(rewrapped[..body.len()], body[..]);
    let mut out = Vec::new();
    new.copy_to(&info.sha256, &mut out).await.unwrap();
    assert_eq!(out, bytes);
    assert_eq!(
        old.verify(&info.sha256).await.unwrap_err().code(),
        "evidence.wrong_wrap_key"
    );
    assert!(
        objects(tmp.path())
            .iter()
            .all(|o| o.starts_with("objects/blobs/"))
    );
}

/// A vault holding `contents`, in chunks of 1 KiB, with the paths of their stored objects.
async fn vault_with(
    root: &std::path::Path,
    contents: &[Vec<u8>],
) -> (Vault, Vec<(Sha256Digest, std::path::PathBuf)>) {
    let vault = Vault::local(root, Node::new("dz-moj", "DZ").wrap_key())
        .unwrap()
        .with_chunk_size(1024)
        .unwrap();
    let mut blobs = Vec::new();
    for c in contents {
        let info = vault.ingest(c.as_slice(), |_| {}).await.unwrap();
        blobs.push((
            info.sha256,
            root.join("objects/blobs").join(info.sha256.hex()),
        ));
    }
    (vault, blobs)
}

/// What each way of reading returns for `sha`: the bytes `copy_to` wrote before it stopped, the
/// bytes the blocking reader gave, and the error codes, chunks named and messages.
struct Reads {
    copied: Vec<u8>,
    blocking: Vec<u8>,
    errors: Vec<(String, String)>,
}

async fn read_every_way(vault: Vault, sha: Sha256Digest) -> (Vault, Reads) {
    let mut errors = Vec::new();
    let mut copied = Vec::new();
    if let Err(e) = vault.copy_to(&sha, &mut copied).await {
        errors.push((e.code().to_owned(), e.to_string()));
    }
    if let Err(e) = vault.verify(&sha).await {
        errors.push((e.code().to_owned(), e.to_string()));
    }
    if let Err(e) = vault.offer(&sha).await {
        errors.push((e.code().to_owned(), e.to_string()));
    }
    let vault = std::sync::Arc::new(vault);
    let handle = tokio::runtime::Handle::current();
    let reader = vault.blocking_reader(sha, handle);
    let (blocking, err) = tokio::task::spawn_blocking(move || {
        let mut reader = reader;
        let mut out = Vec::new();
        let err = std::io::Read::read_to_end(&mut reader, &mut out).err();
        (out, err)
    })
    .await
    .unwrap();
    if let Some(e) = err {
        let inner = e.into_inner().unwrap();
        let e = inner.downcast::<comity_evidence::EvidenceError>().unwrap();
        errors.push((e.code().to_owned(), e.to_string()));
    }
    let vault = std::sync::Arc::try_unwrap(vault).unwrap();
    (
        vault,
        Reads {
            copied,
            blocking,
            errors,
        },
    )
}

#[tokio::test]
async fn another_items_object_under_this_name_is_refused_before_any_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (data(5000), data(4000));
    let (vault, blobs) = vault_with(tmp.path(), &[a, b.clone()]).await;
    let ((sha_a, path_a), (sha_b, path_b)) = (blobs[0].clone(), blobs[1].clone());
    // Both objects are genuine objects of this vault: only the binding tells them apart.
    std::fs::copy(&path_b, &path_a).unwrap();
    let err = vault.read_chunk(&sha_a, 0).await.unwrap_err();
    assert_eq!(err.code(), "evidence.tampered", "{err}");
    assert!(err.to_string().contains(&sha_b.to_string()), "{err}");
    let (vault, reads) = read_every_way(vault, sha_a).await;
    assert!(reads.copied.is_empty() && reads.blocking.is_empty());
    assert_eq!(reads.errors.len(), 4);
    for (code, message) in &reads.errors {
        assert_eq!(code, "evidence.tampered", "{message}");
        assert!(
            !message.contains("at chunk"),
            "refused before any chunk: {message}"
        );
    }
    // B itself still reads whole.
    let mut out = Vec::new();
    vault.copy_to(&sha_b, &mut out).await.unwrap();
    assert_eq!(out, b);
}

#[tokio::test]
async fn a_flipped_byte_in_the_first_or_a_later_chunk_is_refused_at_that_chunk() {
    let tmp = tempfile::tempdir().unwrap();
    let content = data(5000);
    let (vault, blobs) = vault_with(tmp.path(), std::slice::from_ref(&content)).await;
    let (sha, path) = blobs[0].clone();
    let good = std::fs::read(&path).unwrap();
    let mut vault = vault;
    for chunk in [0usize, 3] {
        let mut bad = good.clone();
        bad[HEAD_LEN + chunk * 1040 + 100] ^= 0x20;
        std::fs::write(&path, &bad).unwrap();
        let err = vault.read_chunk(&sha, chunk as u64).await.unwrap_err();
        assert_eq!(err.code(), "evidence.tampered", "{err}");
        assert!(
            err.to_string().contains(&format!("at chunk {chunk}")),
            "{err}"
        );
        let (v, reads) = read_every_way(vault, sha).await;
        vault = v;
        // Everything before the damaged chunk, nothing of it or after it.
        assert_eq!(reads.copied, content[..chunk * 1024], "chunk {chunk}");
        assert_eq!(reads.blocking, content[..chunk * 1024], "chunk {chunk}");
        assert_eq!(reads.errors.len(), 4);
        for (code, message) in &reads.errors {
            assert_eq!(code, "evidence.tampered");
            assert!(message.contains(&format!("at chunk {chunk}")), "{message}");
        }
    }
    std::fs::write(&path, &good).unwrap();
    assert_eq!(vault.verify(&sha).await.unwrap().size, 5000);
}

#[tokio::test]
async fn a_truncated_or_extended_object_is_refused_before_any_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, blobs) = vault_with(tmp.path(), &[data(5000)]).await;
    let (sha, path) = blobs[0].clone();
    let good = std::fs::read(&path).unwrap();
    let trailer = &good[good.len() - TRAILER_LEN..];
    let mut without_last = good[..HEAD_LEN + 4 * 1040].to_vec();
    without_last.extend_from_slice(trailer);
    let mut extended = good[..good.len() - TRAILER_LEN].to_vec();
    extended.extend_from_slice(&[0; 1040]);
    extended.extend_from_slice(trailer);
    let mut vault = vault;
    for (what, object) in [
        ("cut at the end", good[..good.len() - 1].to_vec()),
        ("cut in the middle", good[..2500].to_vec()),
        ("last chunk dropped", without_last),
        ("a chunk appended", extended),
    ] {
        std::fs::write(&path, &object).unwrap();
        let err = vault.read_chunk(&sha, 0).await.unwrap_err();
        assert_eq!(err.code(), "evidence.tampered", "{what}: {err}");
        let (v, reads) = read_every_way(vault, sha).await;
        vault = v;
        assert!(
            reads.copied.is_empty() && reads.blocking.is_empty(),
            "{what}"
        );
        assert!(
            reads
                .errors
                .iter()
                .all(|(c, m)| c == "evidence.tampered" && !m.contains("at chunk")),
            "{what}: {:?}",
            reads.errors
        );
    }
}

#[tokio::test]
async fn an_altered_header_or_trailer_is_refused_before_any_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let (vault, blobs) = vault_with(tmp.path(), &[data(3000)]).await;
    let (sha, path) = blobs[0].clone();
    let good = std::fs::read(&path).unwrap();
    let end = good.len();
    let mut vault = vault;
    // Magic, chunk size, nonce prefix; then digest, length, nonce and wrapped key of the trailer.
    for at in [0, 9, 15, end - 120, end - 90, end - 60, end - 1] {
        let mut bad = good.clone();
        bad[at] ^= 0x01;
        std::fs::write(&path, &bad).unwrap();
        let (v, reads) = read_every_way(vault, sha).await;
        vault = v;
        assert!(
            reads.copied.is_empty() && reads.blocking.is_empty(),
            "byte {at}"
        );
        assert_eq!(reads.errors.len(), 4, "byte {at}");
        for (code, message) in &reads.errors {
            assert_eq!(code, "evidence.tampered", "byte {at}: {message}");
            assert!(!message.contains("at chunk"), "byte {at}: {message}");
        }
    }
}

#[tokio::test]
async fn adding_the_same_file_again_repairs_a_damaged_object() {
    let tmp = tempfile::tempdir().unwrap();
    let content = data(5000);
    let (vault, blobs) = vault_with(tmp.path(), std::slice::from_ref(&content)).await;
    let (sha, path) = blobs[0].clone();
    let mut bad = std::fs::read(&path).unwrap();
    bad[HEAD_LEN + 2 * 1040 + 7] ^= 0x80;
    std::fs::write(&path, &bad).unwrap();
    assert_eq!(
        vault.verify(&sha).await.unwrap_err().code(),
        "evidence.tampered"
    );
    let again = vault.ingest(content.as_slice(), |_| {}).await.unwrap();
    assert!(again.already_present);
    let mut out = Vec::new();
    vault.copy_to(&sha, &mut out).await.unwrap();
    assert_eq!(out, content);
    assert!(
        objects(tmp.path())
            .iter()
            .all(|o| o.starts_with("objects/blobs/"))
    );
}

#[derive(serde::Deserialize)]
struct Vector {
    version: u8,
    wrap_key_hex: String,
    plaintext_hex: String,
    blob_hex: String,
}

/// The golden version 1 and 2 blobs (`tests/data/blob-vectors.json`): 2,500 bytes in 1 KiB chunks.
fn legacy_vectors() -> Vec<Vector> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/blob-vectors.json"
    ))
    .unwrap();
    let all: Vec<Vector> = serde_json::from_str(&text).unwrap();
    all.into_iter().filter(|v| v.version < 3).collect()
}

fn legacy_vault(root: &std::path::Path, v: &Vector) -> Vault {
    let key: [u8; 32] = hex::decode(&v.wrap_key_hex).unwrap().try_into().unwrap();
    std::fs::create_dir_all(root.join("objects/blobs")).unwrap();
    Vault::local(root, comity_evidence::WrapKey::from_bytes(key)).unwrap()
}

#[tokio::test]
async fn legacy_blobs_are_checked_whole_before_a_byte_is_read_then_migrated_to_version_3() {
    for v in legacy_vectors() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = legacy_vault(tmp.path(), &v);
        let plain = hex::decode(&v.plaintext_hex).unwrap();
        let legacy = hex::decode(&v.blob_hex).unwrap();
        let sha = Sha256Digest::of(&plain);
        let path = tmp.path().join("objects/blobs").join(sha.hex());
        std::fs::write(&path, &legacy).unwrap();

        // Under another item's name, an unbound legacy blob gives nothing: its whole digest is
        // checked before the first byte, and migration leaves it as it was.
        let other = Sha256Digest::of(b"another item");
        let misnamed = tmp.path().join("objects/blobs").join(other.hex());
        std::fs::write(&misnamed, &legacy).unwrap();
        let (vault, reads) = read_every_way(vault, other).await;
        assert!(
            reads.copied.is_empty() && reads.blocking.is_empty(),
            "v{}",
            v.version
        );
        assert!(
            reads.errors.iter().all(|(c, _)| c == "evidence.tampered"),
            "v{}: {:?}",
            v.version,
            reads.errors
        );
        assert_eq!(
            vault.migrate(&other).await.unwrap_err().code(),
            "evidence.tampered"
        );
        assert_eq!(
            vault.read_chunk(&other, 0).await.unwrap_err().code(),
            "evidence.tampered"
        );
        assert_eq!(std::fs::read(&misnamed).unwrap(), legacy);

        // Under its own name it reads, and migrates to a version 3 object bound to it.
        let mut out = Vec::new();
        vault.copy_to(&sha, &mut out).await.unwrap();
        assert_eq!(out, plain, "v{}", v.version);
        assert_eq!(
            vault.migrate(&sha).await.unwrap(),
            comity_evidence::Migration::Rewritten { from: v.version }
        );
        let migrated = std::fs::read(&path).unwrap();
        assert_eq!(&migrated[..8], MAGIC_V3);
        assert_eq!(
            migrated.len() as u64,
            ChunkLayout::new(2500, 1024).unwrap().stored_len()
        );
        assert_eq!(
            vault.migrate(&sha).await.unwrap(),
            comity_evidence::Migration::Current
        );
        let mut out = Vec::new();
        vault.copy_to(&sha, &mut out).await.unwrap();
        assert_eq!(out, plain);
        assert_eq!(vault.read_chunk(&sha, 2).await.unwrap(), plain[2048..]);
        assert!(
            objects(tmp.path())
                .iter()
                .all(|o| o.starts_with("objects/blobs/"))
        );
    }
}

#[tokio::test]
async fn a_chunk_read_of_a_legacy_blob_migrates_it_first_and_readers_follow_the_rewrite() {
    for v in legacy_vectors() {
        let tmp = tempfile::tempdir().unwrap();
        let vault = legacy_vault(tmp.path(), &v);
        let plain = hex::decode(&v.plaintext_hex).unwrap();
        let sha = Sha256Digest::of(&plain);
        let path = tmp.path().join("objects/blobs").join(sha.hex());
        std::fs::write(&path, hex::decode(&v.blob_hex).unwrap()).unwrap();

        // A reader is in the middle of the legacy object when it is rewritten under it.
        let mut reader = comity_evidence::ChunkReader::open(&vault, &sha)
            .await
            .unwrap();
        let first = reader.next_chunk().await.unwrap().unwrap();
        assert_eq!(vault.read_chunk(&sha, 1).await.unwrap(), plain[1024..2048]);
        assert_eq!(
            &std::fs::read(&path).unwrap()[..8],
            MAGIC_V3,
            "v{}",
            v.version
        );
        let mut out = first;
        while let Some(chunk) = reader.next_chunk().await.unwrap() {
            out.extend(chunk);
        }
        assert_eq!(out, plain, "v{}", v.version);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn any_single_byte_change_in_a_stored_object_is_detected_by_a_full_read(
        len in 0usize..4000,
        at in proptest::prelude::any::<proptest::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let content = data(len);
        let (vault, blobs) = rt.block_on(vault_with(tmp.path(), std::slice::from_ref(&content)));
        let (sha, path) = blobs[0].clone();
        let mut stored = std::fs::read(&path).unwrap();
        let at = at.index(stored.len());
        stored[at] ^= xor;
        std::fs::write(&path, &stored).unwrap();
        let mut out = Vec::new();
        let read = rt.block_on(vault.copy_to(&sha, &mut out));
        proptest::prop_assert!(read.is_err(), "byte {} of {} changed unnoticed", at, stored.len());
        proptest::prop_assert!(out.len() < content.len() || content.is_empty());
    }
}
