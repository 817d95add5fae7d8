//! The node's evidence vault: blobs addressed by the SHA-256 of their plaintext, encrypted at rest
//! in the [`blob`](crate::blob) format, kept in an [`ObjectStore`] (local files by default,
//! S3-compatible storage with the `s3` feature).
//!
//! Object names: `blobs/<64 hex>` (published blobs), `tmp/<32 hex>` (ingests in progress). A blob
//! appears under `blobs/` only after its digest is known and its temporary object is complete,
//! so a failed ingest (source error, disk full) never leaves a blob half registered.

use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use comity_seal::rand_core::UnwrapErr;
use futures_util::StreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::blob::{BlobCipher, ChunkLayout, DEFAULT_CHUNK_SIZE, HEADER_LEN, TAG_LEN, WrapKey};
use crate::digest::Sha256Digest;
use crate::error::{EvidenceError, Result};

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
    /// True when an ingest found the blob already stored (same content).
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

pub struct Vault {
    store: Arc<dyn ObjectStore>,
    wrap: WrapKey,
    chunk_size: u32,
    staging: PathBuf,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({}, {:?})", self.store, self.wrap)
    }
}

fn blob_path(sha: &Sha256Digest) -> Path {
    Path::from(format!("blobs/{}", sha.hex()))
}

fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

fn named(e: EvidenceError, sha: &Sha256Digest) -> EvidenceError {
    match e {
        EvidenceError::BlobFormat { reason, .. } => EvidenceError::BlobFormat {
            blob: sha.hex(),
            reason,
        },
        EvidenceError::ChunkDecrypt { index, .. } => EvidenceError::ChunkDecrypt {
            blob: sha.hex(),
            index,
        },
        other => other,
    }
}

/// One chunk on its way through the ingest pipeline.
struct Piece {
    index: u64,
    last: bool,
    /// Plaintext, then (after sealing) ciphertext and tag; capacity for the tag from the start.
    buf: Vec<u8>,
}

/// Chunks read from the store at once when a blob is read whole: one request per window (a
/// local read, or an object-store range GET), bounded memory.
const READ_WINDOW: u64 = 8;

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

    /// Streams `source` into the vault: one pass hashes and encrypts; `progress` gets the bytes
    /// read so far. Memory stays bounded whatever the size.
    pub async fn ingest<R: AsyncRead + Unpin>(
        &self,
        mut source: R,
        mut progress: impl FnMut(u64),
    ) -> Result<BlobInfo> {
        let cipher = BlobCipher::create(&self.wrap, self.chunk_size, &mut rng())?;
        let mut tmp_name = [0u8; 16];
        comity_seal::rand_core::Rng::fill_bytes(&mut rng(), &mut tmp_name);
        let tmp = Path::from(format!("tmp/{}", hex::encode(tmp_name)));
        let upload = self.store.put_multipart(&tmp).await?;
        let mut out = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART);
        let chunk_size = cipher.chunk_size();
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
    /// upload. Hashing and sealing run on separate cores at the same time and never block the
    /// runtime; bounded queues keep memory bounded whatever the size.
    async fn ingest_into<R: AsyncRead + Unpin>(
        &self,
        cipher: BlobCipher,
        source: &mut R,
        out: &mut WriteMultipart,
        progress: &mut impl FnMut(u64),
    ) -> Result<(Sha256Digest, u64)> {
        let c = cipher.chunk_size() as usize;
        let slot = c + TAG_LEN as usize;
        out.write(cipher.header());
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
                out.put(bytes::Bytes::from(p.buf));
                progress(total);
                if p.last {
                    return Ok(total);
                }
            }
            Err(pipeline_closed())
        };
        let ((), total) = futures_util::future::try_join(read, write).await?;
        sealing.await.map_err(|_| pipeline_closed())?;
        let digest = hashing.await.map_err(|_| pipeline_closed())?;
        let sha = digest.as_ref().try_into().map_err(|_| pipeline_closed())?;
        Ok((Sha256Digest(sha), total))
    }

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
        if self.contains(&sha).await? {
            self.store.delete(tmp).await?;
            info.already_present = true;
            return Ok(info);
        }
        match self.store.rename_if_not_exists(tmp, &dest).await {
            Ok(()) => Ok(info),
            Err(object_store::Error::AlreadyExists { .. }) => {
                self.store.delete(tmp).await?;
                info.already_present = true;
                Ok(info)
            }
            // Stores without conditional copy (plain S3): content addressing makes a
            // concurrent overwrite harmless, the bytes decrypt to the same plaintext.
            Err(
                object_store::Error::NotImplemented { .. }
                | object_store::Error::NotSupported { .. },
            ) => {
                self.store.rename(tmp, &dest).await?;
                Ok(info)
            }
            Err(e) => {
                let _ = self.store.delete(tmp).await;
                Err(e.into())
            }
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

    async fn open(&self, sha: &Sha256Digest) -> Result<(BlobCipher, ChunkLayout)> {
        let path = blob_path(sha);
        let meta = match self.store.head(&path).await {
            Err(object_store::Error::NotFound { .. }) => return Err(EvidenceError::NotFound(*sha)),
            r => r?,
        };
        let header = self.store.get_range(&path, 0..HEADER_LEN as u64).await?;
        let cipher = BlobCipher::open(&header, &self.wrap).map_err(|e| named(e, sha))?;
        let layout = ChunkLayout::from_stored_len(meta.size, cipher.chunk_size())
            .map_err(|e| named(e, sha))?;
        Ok((cipher, layout))
    }

    pub async fn info(&self, sha: &Sha256Digest) -> Result<BlobInfo> {
        let (_, l) = self.open(sha).await?;
        Ok(BlobInfo {
            sha256: *sha,
            size: l.size,
            chunk_size: l.chunk_size,
            chunks: l.chunks(),
            already_present: false,
        })
    }

    /// The plaintext of chunk `index`, decrypted and authenticated: what a transfer serves.
    pub async fn read_chunk(&self, sha: &Sha256Digest, index: u64) -> Result<Vec<u8>> {
        let (cipher, layout) = self.open(sha).await?;
        let range = layout.stored_range(index)?;
        let mut buf = self.store.get_range(&blob_path(sha), range).await?.to_vec();
        cipher
            .open_chunk(index, layout.is_last(index), &mut buf)
            .map_err(|e| named(e, sha))?;
        Ok(buf)
    }

    /// Decrypts the whole blob in order into `sink(chunk index, plaintext)`, then checks the
    /// digest. A mismatch is an error after the last chunk: callers that write the output
    /// somewhere must discard it on error.
    async fn stream_plain(
        &self,
        sha: &Sha256Digest,
        mut sink: impl AsyncFnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<BlobInfo> {
        let (cipher, layout) = self.open(sha).await?;
        let path = blob_path(sha);
        let mut hasher = Sha256::new();
        let slot = layout.chunk_size as usize + TAG_LEN as usize;
        let mut buf: Vec<u8> = Vec::with_capacity(slot);
        let chunks = layout.chunks();
        let mut first = 0u64;
        while first < chunks {
            let last = (first + READ_WINDOW - 1).min(chunks - 1);
            let start = layout.stored_range(first)?.start;
            let window = self
                .store
                .get_range(&path, start..layout.stored_range(last)?.end)
                .await?;
            for index in first..=last {
                let r = layout.stored_range(index)?;
                let (from, to) = ((r.start - start) as usize, (r.end - start) as usize);
                let Some(sealed) = window.get(from..to) else {
                    return Err(named(
                        EvidenceError::ChunkDecrypt {
                            blob: String::new(),
                            index,
                        },
                        sha,
                    ));
                };
                buf.clear();
                buf.extend_from_slice(sealed);
                cipher
                    .open_chunk(index, layout.is_last(index), &mut buf)
                    .map_err(|e| named(e, sha))?;
                hasher.update(&buf);
                sink(index, &buf).await?;
            }
            first = last + 1;
        }
        let actual = Sha256Digest(hasher.finalize().into());
        if actual != *sha {
            return Err(EvidenceError::DigestMismatch {
                expected: *sha,
                actual,
            });
        }
        Ok(BlobInfo {
            sha256: *sha,
            size: layout.size,
            chunk_size: layout.chunk_size,
            chunks: layout.chunks(),
            already_present: false,
        })
    }

    /// Writes the plaintext to `out` and checks the digest (see [`Vault::verify`] for the
    /// error on mismatch; `out` must then be discarded).
    pub async fn copy_to<W: AsyncWrite + Unpin>(
        &self,
        sha: &Sha256Digest,
        out: &mut W,
    ) -> Result<BlobInfo> {
        let info = self
            .stream_plain(sha, async |_, b: &[u8]| {
                out.write_all(b)
                    .await
                    .map_err(|e| EvidenceError::PackageIo(e.to_string()))
            })
            .await?;
        out.flush()
            .await
            .map_err(|e| EvidenceError::PackageIo(e.to_string()))?;
        Ok(info)
    }

    /// Decrypts the whole blob and checks that it still hashes to its name.
    pub async fn verify(&self, sha: &Sha256Digest) -> Result<BlobInfo> {
        self.stream_plain(sha, async |_, _: &[u8]| Ok(())).await
    }

    /// The transfer offer for a blob (one pass over it to hash each chunk).
    pub async fn offer(&self, sha: &Sha256Digest) -> Result<TransferOffer> {
        let mut chunk_sha256 = Vec::new();
        let info = self
            .stream_plain(sha, async |_, b: &[u8]| {
                chunk_sha256.push(Sha256Digest::of(b));
                Ok(())
            })
            .await?;
        Ok(TransferOffer {
            sha256: *sha,
            size: info.size,
            chunk_size: info.chunk_size,
            chunk_sha256,
        })
    }

    /// After a signing-key rotation: re-wraps a blob's key from `old` to this vault's wrap key by
    /// copying the object with a new header (the content is not re-encrypted) and replacing it.
    pub async fn rewrap(&self, sha: &Sha256Digest, old: &WrapKey) -> Result<()> {
        let path = blob_path(sha);
        let meta = match self.store.head(&path).await {
            Err(object_store::Error::NotFound { .. }) => return Err(EvidenceError::NotFound(*sha)),
            r => r?,
        };
        let header = self.store.get_range(&path, 0..HEADER_LEN as u64).await?;
        let header =
            BlobCipher::rewrap(&header, old, &self.wrap, &mut rng()).map_err(|e| named(e, sha))?;
        let mut tmp_name = [0u8; 16];
        comity_seal::rand_core::Rng::fill_bytes(&mut rng(), &mut tmp_name);
        let tmp = Path::from(format!("tmp/{}", hex::encode(tmp_name)));
        let upload = self.store.put_multipart(&tmp).await?;
        let mut out = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART);
        out.write(&header);
        let copied: Result<()> = async {
            let mut body = self
                .store
                .get_opts(
                    &path,
                    object_store::GetOptions {
                        range: Some((HEADER_LEN as u64..meta.size).into()),
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
        if self.contains(&info.sha256).await? {
            return Ok(BlobInfo {
                already_present: true,
                ..info
            });
        }
        let mut tmp_name = [0u8; 16];
        comity_seal::rand_core::Rng::fill_bytes(&mut rng(), &mut tmp_name);
        let tmp = Path::from(format!("tmp/{}", hex::encode(tmp_name)));
        let upload = self.store.put_multipart(&tmp).await?;
        let mut out = WriteMultipart::new_with_chunk_size(upload, UPLOAD_PART);
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

/// A blob's plaintext as a synchronous reader, chunk by chunk, for the synchronous package
/// writers. Use it on a blocking thread (`spawn_blocking`), never on a runtime thread: each chunk
/// is fetched with `handle.block_on`. The digest is checked after the last chunk; a mismatch is an
/// error instead of the end of the stream.
pub struct BlobReader {
    vault: Arc<Vault>,
    sha: Sha256Digest,
    handle: tokio::runtime::Handle,
    chunks: Option<u64>,
    next: u64,
    buf: Vec<u8>,
    pos: usize,
    hasher: Sha256,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobReader({}, chunk {})", self.sha, self.next)
    }
}

impl Vault {
    pub fn blocking_reader(
        self: &Arc<Self>,
        sha: Sha256Digest,
        handle: tokio::runtime::Handle,
    ) -> BlobReader {
        BlobReader {
            vault: Arc::clone(self),
            sha,
            handle,
            chunks: None,
            next: 0,
            buf: Vec::new(),
            pos: 0,
            hasher: Sha256::new(),
        }
    }
}

impl std::io::Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let fail = |e: EvidenceError| std::io::Error::other(e.to_string());
        while self.pos == self.buf.len() {
            let chunks = match self.chunks {
                Some(n) => n,
                None => {
                    let n = self
                        .handle
                        .block_on(self.vault.info(&self.sha))
                        .map_err(fail)?
                        .chunks;
                    *self.chunks.insert(n)
                }
            };
            if self.next == chunks {
                let actual = Sha256Digest(std::mem::take(&mut self.hasher).finalize().into());
                if actual != self.sha {
                    return Err(fail(EvidenceError::DigestMismatch {
                        expected: self.sha,
                        actual,
                    }));
                }
                self.hasher = Sha256::new();
                self.next += 1;
                return Ok(0);
            }
            if self.next > chunks {
                return Ok(0);
            }
            self.buf = self
                .handle
                .block_on(self.vault.read_chunk(&self.sha, self.next))
                .map_err(fail)?;
            self.hasher.update(&self.buf);
            self.pos = 0;
            self.next += 1;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
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
        let cipher = BlobCipher::create(wrap, offer.chunk_size, &mut rng())?;
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(true)
            .open(&path)
            .map_err(io(&path))?;
        file.set_len(layout.stored_len()).map_err(io(&path))?;
        file.write_all_at(cipher.header(), 0).map_err(io(&path))?;
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
        let mut header = [0u8; HEADER_LEN];
        f.read_exact_at(&mut header, 0).map_err(io(path))?;
        let cipher = BlobCipher::open(&header, wrap)?;
        if cipher.chunk_size() != offer.chunk_size {
            return Err(EvidenceError::Storage(
                "staging file has another chunk size".into(),
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
