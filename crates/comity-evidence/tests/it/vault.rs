use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use comity_evidence::blob::{ChunkLayout, HEADER_LEN};
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
async fn altered_or_foreign_blobs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dz = Node::new("dz-moj", "DZ");
    let vault = Vault::local(tmp.path(), dz.wrap_key())
        .unwrap()
        .with_chunk_size(1024)
        .unwrap();
    let bytes = data(3000);
    let info = vault.ingest(bytes.as_slice(), |_| {}).await.unwrap();
    let path = tmp.path().join("objects/blobs").join(info.sha256.hex());
    let good = std::fs::read(&path).unwrap();

    // Another node's key cannot open it.
    let other = Vault::local(tmp.path(), Node::new("fr-ocl", "FR").wrap_key()).unwrap();
    assert_eq!(
        other.read_chunk(&info.sha256, 0).await.unwrap_err().code(),
        "evidence.wrong_wrap_key"
    );

    // A flipped byte in chunk 1 is caught when that chunk is read and when the blob is read.
    let mut bad = good.clone();
    bad[HEADER_LEN + 1040 + 5] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    assert!(vault.read_chunk(&info.sha256, 0).await.is_ok());
    assert_eq!(
        vault.read_chunk(&info.sha256, 1).await.unwrap_err().code(),
        "evidence.chunk_decrypt"
    );
    assert_eq!(
        vault.verify(&info.sha256).await.unwrap_err().code(),
        "evidence.chunk_decrypt"
    );

    // Truncation at a chunk boundary (dropping the last chunk) is caught by the STREAM last flag.
    std::fs::write(&path, &good[..HEADER_LEN + 2 * 1040]).unwrap();
    assert_eq!(
        vault.verify(&info.sha256).await.unwrap_err().code(),
        "evidence.chunk_decrypt"
    );

    // A flipped byte in the wrapped key.
    let mut bad = good.clone();
    bad[60] ^= 1;
    std::fs::write(&path, &bad).unwrap();
    assert_eq!(
        vault.verify(&info.sha256).await.unwrap_err().code(),
        "evidence.blob_format"
    );

    std::fs::write(&path, &good).unwrap();
    assert_eq!(vault.verify(&info.sha256).await.unwrap().size, 3000);
    let missing = Sha256Digest::of(b"never stored");
    assert_eq!(
        vault.read_chunk(&missing, 0).await.unwrap_err().code(),
        "evidence.not_found"
    );
}

#[test]
fn layout_is_recovered_from_the_stored_length() {
    for size in [0u64, 1, 1023, 1024, 1025, 4096, 100_000] {
        let l = ChunkLayout::new(size, 1024).unwrap();
        assert_eq!(
            ChunkLayout::from_stored_len(l.stored_len(), 1024).unwrap(),
            l
        );
    }
    assert!(ChunkLayout::from_stored_len(HEADER_LEN as u64 + 1040 + 16, 1024).is_err());
    assert!(ChunkLayout::from_stored_len(10, 1024).is_err());
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
    let body = std::fs::read(&path).unwrap()[HEADER_LEN..].to_vec();

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
    assert_eq!(std::fs::read(&path).unwrap()[HEADER_LEN..], body[..]);
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
