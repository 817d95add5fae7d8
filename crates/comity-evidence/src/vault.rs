//! The node's evidence vault: blobs addressed by the SHA-256 of their plaintext, encrypted at rest
//! in the [`blob`](crate::blob) format, kept in an [`ObjectStore`] (local files by default,
//! S3-compatible storage with the `s3` feature).
//!
//! Object names: `blobs/<64 hex>` (published blobs), `tmp/<32 hex>` (ingests in progress). A blob
//! appears under `blobs/` only after its digest is known and its temporary object is complete,
//! so a failed ingest (source error, disk full) never leaves a blob half registered. Every read
//! goes through [`ChunkReader`](crate::read::ChunkReader) or [`Vault::read_chunk`], which check
//! the object against the name it is read by before the first chunk and each chunk before it is
//! returned.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use comity_seal::rand_core::UnwrapErr;
use futures_util::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::blob::{
    Binding, BlobCipher, ChunkLayout, DEFAULT_CHUNK_SIZE, HEAD_LEN, LEGACY_HEADER_LEN, TAG_LEN,
    TRAILER_LEN, WrapKey, head_len, tail_len, version_of,
};
use crate::digest::Sha256Digest;
use crate::error::{EvidenceError, Result};
use crate::read::ChunkReader;

/// Parts handed to the object store during ingest; with at most [`UPLOAD_CONCURRENCY`] in flight
/// this bounds ingest memory (see `docs/evidence.md`).
const UPLOAD_PART: usize = 8 * 1024 * 1024;
const UPLOAD_CONCURRENCY: usize = 2;

/// What the vault knows about a stored blob.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobInfo {
    pub sha256: Sha256Digest,
    pub size: u64,
    pub chunk_size: u32,
    pub chunks: u64,
    /// True when an ingest found the blob already stored (same content); a stored copy that did
    /// not read whole in the current format was replaced by the new one.
    #[serde(default)]
    pub already_present: bool,
}

/// What a sender offers for transfer: enough for the receiver to check each chunk on arrival.
/// Carried inside a sealed message, so the list is signed by the sender.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferOffer {
    pub sha256: Sha256Digest,
    pub size: u64,
    pub chunk_size: u32,
    /// SHA-256 of each plaintext chunk, in order.
    pub chunk_sha256: Vec<Sha256Digest>,
}

impl TransferOffer {
    pub fn layout(&self) -> Result<ChunkLayout> {
        let l = ChunkLayout::new(self.size, self.chunk_size)?;
        if l.chunks() != self.chunk_sha256.len() as u64 {
            return Err(EvidenceError::ChunkRefused {
                index: 0,
                reason: format!(
                    "offer lists {} chunk digests, {} bytes in chunks of {} need {}",
                    self.chunk_sha256.len(),
                    self.size,
                    self.chunk_size,
                    l.chunks()
                ),
            });
        }
        Ok(l)
    }
}

/// What [`Vault::migrate`] did with a blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Migration {
    /// Already in the current format: nothing written.
    Current,
    /// A version 1 or 2 blob whose whole digest matched, rewritten in the current format.
    Rewritten { from: u8 },
}

pub struct Vault {
    pub(crate) store: Arc<dyn ObjectStore>,
    wrap: WrapKey,
    chunk_size: u32,
    staging: PathBuf,
    /// Held while a published blob is replaced (migration, re-wrapping, repair), so two
    /// rewrites of one blob never interleave; readers follow a rewrite (see `ChunkReader`).
    rewriting: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({}, {:?})", self.store, self.wrap)
    }
}

pub(crate) fn blob_path(sha: &Sha256Digest) -> Path {
    Path::from(format!("blobs/{}", sha.hex()))
}

fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

/// An integrity failure of the stored blob `sha`.
pub(crate) fn tampered(sha: &Sha256Digest, chunk: Option<u64>, reason: String) -> EvidenceError {
    EvidenceError::Tampered {
        blob: sha.hex(),
        chunk,
        reason,
    }
}

/// Errors of opening a stored header: a malformed one is an integrity failure of the blob.
fn opening(e: EvidenceError, sha: &Sha256Digest) -> EvidenceError {
    match e {
        EvidenceError::BlobFormat { reason, .. } => tampered(sha, None, reason),
        EvidenceError::WrongWrapKey { key_id, .. } => EvidenceError::WrongWrapKey {
            blob: sha.hex(),
            key_id,
        },
        EvidenceError::ChunkSize(c) => tampered(
            sha,
            None,
            format!("the header names a chunk size of {c} bytes, out of range"),
        ),
        other => other,
    }
}

/// A stored blob, opened and checked against the name it was asked by.
pub(crate) struct Opened {
    pub(crate) cipher: BlobCipher,
    pub(crate) layout: ChunkLayout,
    /// The header and trailer as read: another value means the object was rewritten.
    pub(crate) frame: Vec<u8>,
}

/// One chunk on its way through the ingest pipeline.
struct Piece {
    index: u64,
    last: bool,
    /// Plaintext, then (after sealing) ciphertext and tag; capacity for the tag from the start.
    buf: Vec<u8>,
}

/// Chunks waiting between two ingest stages: enough to absorb the moments one stage waits for
/// a core. With the chunk being read, the one read ahead, one in each stage and four per queue,
/// at most sixteen chunks are in the pipeline.
const STAGE_QUEUE: usize = 4;

fn pipeline_closed() -> EvidenceError {
    EvidenceError::Storage("an ingest stage stopped".into())
}

/// Reads until `buf` holds `want` bytes or the source ends.
async fn fill<R: AsyncRead + Unpin>(r: &mut R, buf: &mut Vec<u8>, want: usize) -> Result<()> {
    buf.clear();
    while buf.len() < want {
        let n = r
            .take((want - buf.len()) as u64)
            .read_buf(buf)
            .await
            .map_err(|e| EvidenceError::Source(e.to_string()))?;
        if n == 0 {
            break;
        }
    }
    Ok(())
}

impl Vault {
    /// A vault over any object store; `staging` is a local directory for incoming transfers.
    pub fn new(store: Arc<dyn ObjectStore>, wrap: WrapKey, staging: PathBuf) -> Self {
        Self {
            store,
            wrap,
            chunk_size: DEFAULT_CHUNK_SIZE,
            staging,
            rewriting: tokio::sync::Mutex::new(()),
        }
    }

    /// A vault on the local file system: objects under `root/objects`, staging in `root/staging`.
    pub fn local(root: &FsPath, wrap: WrapKey) -> Result<Self> {
        let objects = root.join("objects");
        let staging = root.join("staging");
        for d in [&objects, &staging] {
            std::fs::create_dir_all(d)
                .map_err(|e| EvidenceError::Storage(format!("{}: {e}", d.display())))?;
        }
        // fsync before publishing: a blob that is listed must survive a power cut.
        let store = LocalFileSystem::new_with_prefix(&objects)?.with_fsync(true);
        Ok(Self::new(Arc::new(store), wrap, staging))
    }

    /// Plaintext bytes per chunk for new blobs (existing blobs keep theirs).
    pub fn with_chunk_size(mut self, chunk_size: u32) -> Result<Self> {
        crate::blob::check_chunk_size(chunk_size)?;
        self.chunk_size = chunk_size;
        Ok(self)
    }

    /// A new temporary object and the upload that writes it.
    async fn temporary(&self) -> Result<(Path, WriteMultipart)> {
        let mut tmp_name = [0u8; 16];
        comity_seal::rand_core::Rng::fill_bytes(&mut rng(), &mut tmp_name);
        let tmp = Path::from(format!("tmp/{}", hex::encode(tmp_name)));
        let upload = self.store.put_multipart(&tmp).await?;
        Ok((
            tmp,
            WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART),
        ))
    }

    /// Streams `source` into the vault: one pass hashes and encrypts; `progress` gets the bytes
    /// read so far. Memory stays bounded whatever the size.
    pub async fn ingest<R: AsyncRead + Unpin>(
        &self,
        mut source: R,
        mut progress: impl FnMut(u64),
    ) -> Result<BlobInfo> {
        let cipher = BlobCipher::create(self.chunk_size, &mut rng())?;
        let chunk_size = cipher.chunk_size();
        let (tmp, mut out) = self.temporary().await?;
        match self
            .ingest_into(cipher, &mut source, &mut out, &mut progress)
            .await
        {
            Ok((sha, size)) => match out.finish().await {
                Ok(_) => self.publish(&tmp, sha, size, chunk_size).await,
                Err(e) => Err(e.into()),
            },
            Err(e) => {
                // The upload is abandoned whole; abort removes its parts.
                let _ = out.abort().await;
                Err(e)
            }
        }
    }

    /// The ingest pipeline: this task reads chunks (one ahead, to know the last), a blocking
    /// thread hashes them, another seals them, and this task hands the sealed chunks to the
    /// upload, then the trailer that binds the blob key to the digest and size. Hashing and
    /// sealing run on separate cores at the same time and never block the runtime; bounded
    /// queues keep memory bounded whatever the size.
    async fn ingest_into<R: AsyncRead + Unpin>(
        &self,
        cipher: BlobCipher,
        source: &mut R,
        out: &mut WriteMultipart,
        progress: &mut impl FnMut(u64),
    ) -> Result<(Sha256Digest, u64)> {
        let c = cipher.chunk_size() as usize;
        let slot = c + TAG_LEN as usize;
        out.write(cipher.head());
        let (to_hash, mut hash_in) = tokio::sync::mpsc::channel::<Piece>(STAGE_QUEUE);
        let (to_seal, seal_in) = std::sync::mpsc::sync_channel::<Piece>(STAGE_QUEUE);
        let (to_write, mut write_in) = tokio::sync::mpsc::channel::<Result<Piece>>(STAGE_QUEUE);
        // Each stage ends when its input closes or its output is gone, so an error or a dropped
        // ingest future stops the threads too.
        let hashing = tokio::task::spawn_blocking(move || {
            let mut hasher = ring::digest::Context::new(&ring::digest::SHA256);
            while let Some(p) = hash_in.blocking_recv() {
                hasher.update(&p.buf);
                if to_seal.send(p).is_err() {
                    break;
                }
            }
            hasher.finish()
        });
        let sealing = tokio::task::spawn_blocking(move || {
            for mut p in seal_in {
                let sealed = cipher.seal_chunk(p.index, p.last, &mut p.buf).map(|()| p);
                if to_write.blocking_send(sealed).is_err() {
                    break;
                }
            }
            cipher
        });
        let read = async move {
            let mut cur = Vec::with_capacity(slot);
            fill(source, &mut cur, c).await?;
            let mut index = 0u64;
            loop {
                let mut next = Vec::new();
                let last = cur.len() < c || {
                    next.reserve_exact(slot);
                    fill(source, &mut next, c).await?;
                    next.is_empty()
                };
                let piece = Piece {
                    index,
                    last,
                    buf: cur,
                };
                to_hash.send(piece).await.map_err(|_| pipeline_closed())?;
                if last {
                    return Ok(());
                }
                cur = next;
                index += 1;
            }
        };
        let write = async {
            let mut total = 0u64;
            while let Some(p) = write_in.recv().await {
                let p = p?;
                total += (p.buf.len() - TAG_LEN as usize) as u64;
                out.wait_for_capacity(UPLOAD_CONCURRENCY).await?;
                out.put(Bytes::from(p.buf));
                progress(total);
                if p.last {
                    return Ok(total);
                }
            }
            Err(pipeline_closed())
        };
        let ((), total) = futures_util::future::try_join(read, write).await?;
        let cipher = sealing.await.map_err(|_| pipeline_closed())?;
        let digest = hashing.await.map_err(|_| pipeline_closed())?;
        let sha = Sha256Digest(digest.as_ref().try_into().map_err(|_| pipeline_closed())?);
        out.write(&cipher.trailer(&self.wrap, &sha, total, &mut rng())?);
        Ok((sha, total))
    }

    /// Publishes the complete temporary object `tmp` as the blob `sha`. A stored copy that reads
    /// whole in the current format is kept; a damaged or legacy one is replaced by `tmp`.
    async fn publish(
        &self,
        tmp: &Path,
        sha: Sha256Digest,
        size: u64,
        chunk_size: u32,
    ) -> Result<BlobInfo> {
        let dest = blob_path(&sha);
        let mut info = BlobInfo {
            sha256: sha,
            size,
            chunk_size,
            chunks: ChunkLayout::new(size, chunk_size)?.chunks(),
            already_present: false,
        };
        let replaced = match self.store.rename_if_not_exists(tmp, &dest).await {
            Ok(()) => return Ok(info),
            Err(object_store::Error::AlreadyExists { .. }) => {
                info.already_present = true;
                if self.holds_current(&sha).await? {
                    self.store.delete(tmp).await?;
                    return Ok(info);
                }
                let _rewriting = self.rewriting.lock().await;
                self.store.rename(tmp, &dest).await
            }
            // Stores without conditional copy (plain S3): a concurrent overwrite is harmless, the
            // object is bound to the same digest, and readers follow a rewrite.
            Err(
                object_store::Error::NotImplemented { .. }
                | object_store::Error::NotSupported { .. },
            ) => {
                info.already_present = self.contains(&sha).await?;
                self.store.rename(tmp, &dest).await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = replaced {
            let _ = self.store.delete(tmp).await;
            return Err(e.into());
        }
        Ok(info)
    }

    /// Whether the blob is stored in the current format and reads whole.
    async fn holds_current(&self, sha: &Sha256Digest) -> Result<bool> {
        match self.open_object(sha).await {
            Ok(o) if o.cipher.version() >= crate::blob::VERSION => {}
            Ok(_) | Err(EvidenceError::NotFound(_)) => return Ok(false),
            Err(e @ EvidenceError::Storage(_)) => return Err(e),
            Err(_) => return Ok(false),
        }
        match self.verify(sha).await {
            Ok(_) => Ok(true),
            Err(e @ EvidenceError::Storage(_)) => Err(e),
            Err(_) => Ok(false),
        }
    }

    /// Removes leftovers of ingests interrupted by a crash (call at start-up).
    pub async fn clean_temporary(&self) -> Result<u64> {
        let mut list = self.store.list(Some(&Path::from("tmp")));
        let mut n = 0;
        while let Some(meta) = list.next().await {
            self.store.delete(&meta?.location).await?;
            n += 1;
        }
        Ok(n)
    }

    pub async fn contains(&self, sha: &Sha256Digest) -> Result<bool> {
        match self.store.head(&blob_path(sha)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Every blob in the vault.
    pub async fn list(&self) -> Result<Vec<Sha256Digest>> {
        let mut list = self.store.list(Some(&Path::from("blobs")));
        let mut out = Vec::new();
        while let Some(meta) = list.next().await {
            if let Some(name) = meta?.location.filename() {
                out.push(name.parse()?);
            }
        }
        out.sort();
        Ok(out)
    }

    /// Opens the stored object of `sha` and checks its frame: the header parses, and in version 3
    /// the trailer authenticates, names `sha` and gives the object's exact length. Anything else
    /// is [`EvidenceError::Tampered`], before any chunk is read.
    pub(crate) async fn open_object(&self, sha: &Sha256Digest) -> Result<Opened> {
        let path = blob_path(sha);
        let len = match self.store.head(&path).await {
            Err(object_store::Error::NotFound { .. }) => return Err(EvidenceError::NotFound(*sha)),
            r => r?.size,
        };
        let first = self
            .store
            .get_range(&path, 0..len.min(LEGACY_HEADER_LEN as u64))
            .await?;
        let version = version_of(&first).map_err(|e| opening(e, sha))?;
        let frame = (head_len(version) + tail_len(version)) as u64;
        if len < frame + TAG_LEN {
            return Err(tampered(
                sha,
                None,
                format!("the object is {len} bytes, shorter than an empty blob: truncated"),
            ));
        }
        let tail = if version >= 3 {
            self.store
                .get_range(&path, len - TRAILER_LEN as u64..len)
                .await?
        } else {
            Bytes::new()
        };
        // What the trailer claims is checked before its key id: an object that names another
        // item or has another length is refused as such whatever key wrapped it; the claims are
        // then authenticated by the key wrap.
        let claimed = Binding::claimed(&tail);
        if let Some(bound) = claimed {
            if bound.sha256 != *sha {
                return Err(tampered(
                    sha,
                    None,
                    format!(
                        "the object holds the item sha256:{}, not this one: another item's object was put under this name",
                        bound.sha256
                    ),
                ));
            }
            let c = u32::from_be_bytes([first[8], first[9], first[10], first[11]]);
            let expected = ChunkLayout::of_version(version, bound.size, c)
                .map_err(|e| opening(e, sha))?
                .stored_len();
            if expected != len {
                return Err(tampered(
                    sha,
                    None,
                    format!(
                        "the object is {len} bytes where the item's {} bytes make {expected}: truncated or extended",
                        bound.size
                    ),
                ));
            }
        }
        let cipher =
            BlobCipher::open_parts(&first, &tail, &self.wrap).map_err(|e| opening(e, sha))?;
        let layout = match claimed {
            Some(bound) => ChunkLayout::of_version(version, bound.size, cipher.chunk_size())?,
            None => ChunkLayout::from_stored_len(version, len, cipher.chunk_size())
                .map_err(|e| opening(e, sha))?,
        };
        let mut frame = first[..head_len(version)].to_vec();
        frame.extend_from_slice(&tail);
        Ok(Opened {
            cipher,
            layout,
            frame,
        })
    }

    /// The blob's size and chunking, from its checked header (no chunk is read).
    pub async fn info(&self, sha: &Sha256Digest) -> Result<BlobInfo> {
        let l = self.open_object(sha).await?.layout;
        Ok(BlobInfo {
            sha256: *sha,
            size: l.size,
            chunk_size: l.chunk_size,
            chunks: l.chunks(),
            already_present: false,
        })
    }

    /// The plaintext of chunk `index`, authenticated as a chunk of this item at this position:
    /// what a transfer serves. A version 1 or 2 blob, whose chunks are not bound to the item, is
    /// first migrated (its whole digest checked, then rewritten in the current format).
    pub async fn read_chunk(&self, sha: &Sha256Digest, index: u64) -> Result<Vec<u8>> {
        let opened = self.open_object(sha).await?;
        let opened = if opened.cipher.version() < crate::blob::VERSION {
            self.migrate(sha).await?;
            self.open_object(sha).await?
        } else {
            opened
        };
        ChunkReader::single(self, *sha, opened)
            .chunk_at(index)
            .await
    }

    /// Writes the plaintext to `out`, each chunk checked before it is written and the whole
    /// digest before the last one is; on an error `out` holds a prefix and must be discarded.
    pub async fn copy_to<W: AsyncWrite + Unpin>(
        &self,
        sha: &Sha256Digest,
        out: &mut W,
    ) -> Result<BlobInfo> {
        let mut reader = ChunkReader::open(self, sha).await?;
        while let Some(chunk) = reader.next_chunk().await? {
            out.write_all(&chunk)
                .await
                .map_err(|e| EvidenceError::PackageIo(e.to_string()))?;
        }
        out.flush()
            .await
            .map_err(|e| EvidenceError::PackageIo(e.to_string()))?;
        Ok(reader.info())
    }

    /// Decrypts the whole blob and checks that it still hashes to its name.
    pub async fn verify(&self, sha: &Sha256Digest) -> Result<BlobInfo> {
        let mut reader = ChunkReader::open(self, sha).await?;
        while reader.next_chunk().await?.is_some() {}
        Ok(reader.info())
    }

    /// The transfer offer for a blob (one pass over it to hash each chunk).
    pub async fn offer(&self, sha: &Sha256Digest) -> Result<TransferOffer> {
        let mut reader = ChunkReader::open(self, sha).await?;
        let mut chunk_sha256 = Vec::new();
        while let Some(chunk) = reader.next_chunk().await? {
            chunk_sha256.push(Sha256Digest::of(&chunk));
        }
        let info = reader.info();
        Ok(TransferOffer {
            sha256: *sha,
            size: info.size,
            chunk_size: info.chunk_size,
            chunk_sha256,
        })
    }

    /// Rewrites a version 1 or 2 blob in the current format, after checking every chunk and the
    /// whole digest under its old key; a blob already current is left alone. The new object
    /// replaces the old one only once complete; a failure (a digest that does not match, a full
    /// disk) leaves the old one as it was. Existing transfer offers stay valid: the chunk size
    /// is kept, so each chunk's plaintext is the same.
    pub async fn migrate(&self, sha: &Sha256Digest) -> Result<Migration> {
        let _rewriting = self.rewriting.lock().await;
        let opened = self.open_object(sha).await?;
        let from = opened.cipher.version();
        if from >= crate::blob::VERSION {
            return Ok(Migration::Current);
        }
        let layout = opened.layout;
        let cipher = BlobCipher::create(layout.chunk_size, &mut rng())?;
        let mut reader = ChunkReader::whole(self, *sha, opened);
        let (tmp, mut out) = self.temporary().await?;
        let written: Result<()> = async {
            out.write(cipher.head());
            let mut index = 0;
            while let Some(mut chunk) = reader.next_chunk().await? {
                cipher.seal_chunk(index, layout.is_last(index), &mut chunk)?;
                out.wait_for_capacity(UPLOAD_CONCURRENCY).await?;
                out.put(Bytes::from(chunk));
                index += 1;
            }
            out.write(&cipher.trailer(&self.wrap, sha, layout.size, &mut rng())?);
            Ok(())
        }
        .await;
        if let Err(e) = written {
            let _ = out.abort().await;
            return Err(e);
        }
        out.finish().await?;
        if let Err(e) = self.store.rename(&tmp, &blob_path(sha)).await {
            let _ = self.store.delete(&tmp).await;
            return Err(e.into());
        }
        Ok(Migration::Rewritten { from })
    }

    /// After a signing-key rotation: re-wraps a blob's key from `old` to this vault's wrap key by
    /// copying the object with a new header or trailer (the content is not re-encrypted) and
    /// replacing it.
    pub async fn rewrap(&self, sha: &Sha256Digest, old: &WrapKey) -> Result<()> {
        let _rewriting = self.rewriting.lock().await;
        let path = blob_path(sha);
        let len = match self.store.head(&path).await {
            Err(object_store::Error::NotFound { .. }) => return Err(EvidenceError::NotFound(*sha)),
            r => r?.size,
        };
        let first = self
            .store
            .get_range(&path, 0..len.min(LEGACY_HEADER_LEN as u64))
            .await?;
        let version = version_of(&first).map_err(|e| opening(e, sha))?;
        let (head, tail) = (head_len(version) as u64, tail_len(version) as u64);
        if len < head + tail + TAG_LEN {
            return Err(tampered(
                sha,
                None,
                format!("the object is {len} bytes: truncated"),
            ));
        }
        let old_tail = if tail > 0 {
            self.store.get_range(&path, len - tail..len).await?
        } else {
            Bytes::new()
        };
        let (new_head, new_tail) =
            BlobCipher::rewrap(&first, &old_tail, old, &self.wrap, &mut rng())
                .map_err(|e| opening(e, sha))?;
        let (tmp, mut out) = self.temporary().await?;
        out.write(&new_head);
        let copied: Result<()> = async {
            let mut body = self
                .store
                .get_opts(
                    &path,
                    object_store::GetOptions {
                        range: Some((head..len - tail).into()),
                        ..Default::default()
                    },
                )
                .await?
                .into_stream();
            while let Some(b) = body.next().await {
                out.wait_for_capacity(UPLOAD_CONCURRENCY).await?;
                out.put(b?);
            }
            Ok(())
        }
        .await;
        if let Err(e) = copied {
            let _ = out.abort().await;
            return Err(e);
        }
        out.write(&new_tail);
        out.finish().await?;
        self.store.rename(&tmp, &path).await?;
        Ok(())
    }

    /// Destroys a blob (the `destroyed` custody event is the caller's to record).
    pub async fn delete(&self, sha: &Sha256Digest) -> Result<()> {
        match self.store.delete(&blob_path(sha)).await {
            Err(object_store::Error::NotFound { .. }) => Err(EvidenceError::NotFound(*sha)),
            r => Ok(r?),
        }
    }

    /// Starts, or resumes after any interruption, receiving the blob described by `offer`.
    pub fn assembler(&self, offer: TransferOffer) -> Result<Assembler> {
        Assembler::open(&self.staging, &self.wrap, offer)
    }

    /// Publishes a completed transfer (called by [`Assembler::finish`]).
    async fn publish_file(&self, file: &FsPath, info: BlobInfo) -> Result<BlobInfo> {
        if self.holds_current(&info.sha256).await? {
            return Ok(BlobInfo {
                already_present: true,
                ..info
            });
        }
        let (tmp, mut out) = self.temporary().await?;
        let mut f = tokio::fs::File::open(file)
            .await
            .map_err(|e| EvidenceError::Storage(format!("{}: {e}", file.display())))?;
        let mut buf = Vec::with_capacity(UPLOAD_PART);
        let copied: Result<()> = async {
            loop {
                fill(&mut f, &mut buf, UPLOAD_PART).await?;
                if buf.is_empty() {
                    return Ok(());
                }
                out.wait_for_capacity(UPLOAD_CONCURRENCY).await?;
                out.write(&buf);
            }
        }
        .await;
        if let Err(e) = copied {
            let _ = out.abort().await;
            return Err(e);
        }
        out.finish().await?;
        self.publish(&tmp, info.sha256, info.size, info.chunk_size)
            .await
    }
}

impl Vault {
    /// A blob's plaintext as a synchronous reader for the package writers (see
    /// [`BlobReader`](crate::read::BlobReader)).
    pub fn blocking_reader(
        self: &Arc<Self>,
        sha: Sha256Digest,
        handle: tokio::runtime::Handle,
    ) -> crate::read::BlobReader {
        crate::read::BlobReader::new(Arc::clone(self), sha, handle)
    }
}

/// Receives one blob chunk by chunk, in any order, across restarts.
///
/// Chunks are checked against the offer's chunk digests on arrival (a wrong chunk is refused and
/// not written), encrypted with a fresh blob key straight into a staging file that has the
/// vault's blob format, and the blob is published only when every chunk is there and the whole
/// plaintext hashes to the offered digest. After a restart the received chunks are found again
/// by authenticating each slot of the staging file.
pub struct Assembler {
    offer: TransferOffer,
    layout: ChunkLayout,
    cipher: BlobCipher,
    file: File,
    path: PathBuf,
    received: BTreeSet<u64>,
    /// The whole digest over the chunks received in order so far (`hashed` of them): chunks
    /// mostly arrive in order, and then `finish` need not read the staging file again.
    in_order: Sha256,
    hashed: u64,
}

impl std::fmt::Debug for Assembler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Assembler({}, {}/{} chunks)",
            self.offer.sha256,
            self.received.len(),
            self.layout.chunks()
        )
    }
}

/// What a staging file left by an interrupted transfer holds.
struct Resumed {
    cipher: BlobCipher,
    received: BTreeSet<u64>,
    in_order: Sha256,
    hashed: u64,
}

fn io(path: &FsPath) -> impl Fn(std::io::Error) -> EvidenceError + '_ {
    move |e| EvidenceError::Storage(format!("{}: {e}", path.display()))
}

impl Assembler {
    fn open(staging: &FsPath, wrap: &WrapKey, offer: TransferOffer) -> Result<Self> {
        let layout = offer.layout()?;
        let path = staging.join(format!("{}.part", offer.sha256.hex()));
        let resumed = match File::open(&path) {
            Ok(f) => Self::resume(f, &path, wrap, &offer, layout).ok(),
            Err(_) => None,
        };
        if let Some(Resumed {
            cipher,
            received,
            in_order,
            hashed,
        }) = resumed
        {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .map_err(io(&path))?;
            return Ok(Self {
                offer,
                layout,
                cipher,
                file,
                path,
                received,
                in_order,
                hashed,
            });
        }
        // The staging file is a complete blob from the start, its trailer bound to the offered
        // digest and size; it is published only once the received plaintext has that digest.
        let cipher = BlobCipher::create(offer.chunk_size, &mut rng())?;
        let trailer = cipher.trailer(wrap, &offer.sha256, offer.size, &mut rng())?;
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(io(&path))?;
        let len = layout.stored_len();
        file.set_len(len).map_err(io(&path))?;
        file.write_all_at(cipher.head(), 0).map_err(io(&path))?;
        file.write_all_at(&trailer, len - TRAILER_LEN as u64)
            .map_err(io(&path))?;
        Ok(Self {
            offer,
            layout,
            cipher,
            file,
            path,
            received: BTreeSet::new(),
            in_order: Sha256::new(),
            hashed: 0,
        })
    }

    fn resume(
        f: File,
        path: &FsPath,
        wrap: &WrapKey,
        offer: &TransferOffer,
        layout: ChunkLayout,
    ) -> Result<Resumed> {
        let len = f.metadata().map_err(io(path))?.len();
        if len != layout.stored_len() {
            return Err(EvidenceError::Storage(
                "staging file has another length".into(),
            ));
        }
        let mut head = [0u8; HEAD_LEN];
        f.read_exact_at(&mut head, 0).map_err(io(path))?;
        let mut tail = [0u8; TRAILER_LEN];
        f.read_exact_at(&mut tail, len - TRAILER_LEN as u64)
            .map_err(io(path))?;
        let cipher = BlobCipher::open_parts(&head, &tail, wrap)?;
        let bound = cipher.binding().map(|b| (b.sha256, b.size));
        if cipher.chunk_size() != offer.chunk_size || bound != Some((offer.sha256, offer.size)) {
            return Err(EvidenceError::Storage(
                "staging file is for another offer".into(),
            ));
        }
        let mut received = BTreeSet::new();
        let (mut in_order, mut hashed) = (Sha256::new(), 0);
        let mut buf = Vec::new();
        for i in 0..layout.chunks() {
            let r = layout.stored_range(i)?;
            buf.resize((r.end - r.start) as usize, 0);
            f.read_exact_at(&mut buf, r.start).map_err(io(path))?;
            let ok = cipher.open_chunk(i, layout.is_last(i), &mut buf).is_ok()
                && Sha256Digest::of(&buf) == offer.chunk_sha256[i as usize];
            if ok {
                received.insert(i);
                if hashed == i {
                    in_order.update(&buf);
                    hashed += 1;
                }
            }
        }
        Ok(Resumed {
            cipher,
            received,
            in_order,
            hashed,
        })
    }

    pub fn offer(&self) -> &TransferOffer {
        &self.offer
    }

    /// Chunks still to fetch, in order: what a resumed transfer asks for.
    pub fn missing(&self) -> Vec<u64> {
        (0..self.layout.chunks())
            .filter(|i| !self.received.contains(i))
            .collect()
    }

    pub fn is_complete(&self) -> bool {
        self.received.len() as u64 == self.layout.chunks()
    }

    /// Takes chunk `index`; refuses it (writing nothing) unless it has the offered length and
    /// digest. Receiving a chunk twice is harmless.
    pub fn accept(&mut self, index: u64, plain: &[u8]) -> Result<()> {
        let want = self.layout.plain_range(index)?;
        let refuse = |reason: String| EvidenceError::ChunkRefused { index, reason };
        if plain.len() as u64 != want.end - want.start {
            return Err(refuse(format!(
                "{} bytes, expected {}",
                plain.len(),
                want.end - want.start
            )));
        }
        let expected = self.offer.chunk_sha256[index as usize];
        let actual = Sha256Digest::of(plain);
        if actual != expected {
            return Err(refuse(format!(
                "digest sha256:{actual} differs from the offered sha256:{expected}"
            )));
        }
        let mut buf = Vec::with_capacity(plain.len() + TAG_LEN as usize);
        buf.extend_from_slice(plain);
        self.cipher
            .seal_chunk(index, self.layout.is_last(index), &mut buf)?;
        let at = self.layout.stored_range(index)?.start;
        self.file.write_all_at(&buf, at).map_err(io(&self.path))?;
        self.received.insert(index);
        if index == self.hashed {
            self.in_order.update(plain);
            self.hashed += 1;
        }
        Ok(())
    }

    /// Checks the whole digest and publishes the blob in `vault`. On a mismatch the staging file
    /// is deleted and nothing is kept.
    pub async fn finish(self, vault: &Vault) -> Result<BlobInfo> {
        if !self.is_complete() {
            return Err(EvidenceError::Incomplete {
                missing: self.missing().len() as u64,
                chunks: self.layout.chunks(),
            });
        }
        // The staging file needs no sync: the blob is published as a synced copy, and a
        // restart finds the received chunks by authenticating them.
        let actual = if self.hashed == self.layout.chunks() {
            Sha256Digest(self.in_order.clone().finalize().into())
        } else {
            self.plain_digest()?
        };
        if actual != self.offer.sha256 {
            let _ = std::fs::remove_file(&self.path);
            return Err(EvidenceError::DigestMismatch {
                expected: self.offer.sha256,
                actual,
            });
        }
        let info = BlobInfo {
            sha256: actual,
            size: self.layout.size,
            chunk_size: self.layout.chunk_size,
            chunks: self.layout.chunks(),
            already_present: false,
        };
        let out = vault.publish_file(&self.path, info).await?;
        let _ = std::fs::remove_file(&self.path);
        Ok(out)
    }

    /// Cancels the transfer and removes its staging file.
    pub fn abandon(self) -> Result<()> {
        std::fs::remove_file(&self.path).map_err(io(&self.path))
    }

    fn plain_digest(&self) -> Result<Sha256Digest> {
        let mut hasher = Sha256::new();
        let mut buf = Vec::new();
        for i in 0..self.layout.chunks() {
            let r = self.layout.stored_range(i)?;
            buf.resize((r.end - r.start) as usize, 0);
            self.file
                .read_exact_at(&mut buf, r.start)
                .map_err(io(&self.path))?;
            self.cipher
                .open_chunk(i, self.layout.is_last(i), &mut buf)?;
            hasher.update(&buf);
        }
        Ok(Sha256Digest(hasher.finalize().into()))
    }
}
