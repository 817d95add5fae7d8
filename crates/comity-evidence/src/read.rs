//! Reading blobs out of the vault: every chunk authenticated before it is returned, the whole
//! digest checked before the last chunk is returned, and a version 1 or 2 blob (whose key is not
//! bound to its item) checked whole before its first chunk is.

use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;
use object_store::ObjectStoreExt;
use sha2::{Digest, Sha256};

use crate::digest::Sha256Digest;
use crate::error::{EvidenceError, Result};
use crate::vault::{BlobInfo, Opened, Vault, blob_path, tampered};

/// Chunks fetched from the store at once by a sequential reader: one request per window (a local
/// read, or an object-store range GET), bounded memory.
const READ_WINDOW: u64 = 8;
/// Rewrites of the object (migration, re-wrapping, repair) a reader follows before it gives up.
const MAX_FOLLOWS: u8 = 2;

/// A blob's plaintext, chunk by chunk, each checked before it is returned.
///
/// The object is checked when the reader opens (see `Vault::open_object`: a swapped object, a
/// damaged header or a wrong length is refused before any chunk); each chunk must authenticate
/// under the blob key at its position, and the last chunk is returned only once the whole
/// plaintext hashes to the item's digest. So a reader never yields the final byte of anything
/// but the item, and an error means the output so far must be discarded. A version 1 or 2 blob
/// is read through once before its first chunk is returned: its key is not bound to the item.
///
/// When a chunk does not authenticate, the object is opened again: if it was rewritten in the
/// meantime by this vault (migration, re-wrapping) as a version 3 object of the same item, the
/// reader carries on with it; otherwise the error stands ([`EvidenceError::Tampered`]).
pub struct ChunkReader<V: Deref<Target = Vault>> {
    vault: V,
    sha: Sha256Digest,
    opened: Opened,
    next: u64,
    window: Bytes,
    window_first: u64,
    window_len: u64,
    window_max: u64,
    hasher: Sha256,
    follows: u8,
}

impl<V: Deref<Target = Vault>> std::fmt::Debug for ChunkReader<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChunkReader({}, chunk {})", self.sha, self.next)
    }
}

impl<V: Deref<Target = Vault>> ChunkReader<V> {
    fn with(vault: V, sha: Sha256Digest, opened: Opened, window_max: u64) -> Self {
        Self {
            vault,
            sha,
            opened,
            next: 0,
            window: Bytes::new(),
            window_first: 0,
            window_len: 0,
            window_max,
            hasher: Sha256::new(),
            follows: 0,
        }
    }

    /// Opens the blob `sha` for a sequential read (a version 1 or 2 blob is read through first).
    pub async fn open(vault: V, sha: &Sha256Digest) -> Result<Self> {
        let opened = vault.open_object(sha).await?;
        let legacy = opened.cipher.version() < crate::blob::VERSION;
        let mut reader = Self::whole(vault, *sha, opened);
        if legacy {
            while reader.next_chunk().await?.is_some() {}
            reader.next = 0;
            reader.window_len = 0;
            reader.hasher = Sha256::new();
        }
        Ok(reader)
    }

    /// A sequential reader of an opened object, without the preliminary pass over a legacy blob:
    /// for callers that use nothing before the whole digest matched (migration).
    pub(crate) fn whole(vault: V, sha: Sha256Digest, opened: Opened) -> Self {
        Self::with(vault, sha, opened, READ_WINDOW)
    }

    /// A reader of single chunks of an opened version 3 object, in any order.
    pub(crate) fn single(vault: V, sha: Sha256Digest, opened: Opened) -> Self {
        Self::with(vault, sha, opened, 1)
    }

    /// Reads `chunks` chunks per request to the store from here on (default 8): one keeps a
    /// reader's memory to a single chunk, for readers that stream to slow clients.
    pub fn with_window(mut self, chunks: u64) -> Self {
        self.window_max = chunks.max(1);
        self
    }

    pub fn info(&self) -> BlobInfo {
        let l = self.opened.layout;
        BlobInfo {
            sha256: self.sha,
            size: l.size,
            chunk_size: l.chunk_size,
            chunks: l.chunks(),
            already_present: false,
        }
    }

    /// The next chunk's plaintext, or `None` after the last one.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>> {
        let layout = self.opened.layout;
        let index = self.next;
        if index >= layout.chunks() {
            return Ok(None);
        }
        let plain = self.chunk_at(index).await?;
        self.hasher.update(&plain);
        if layout.is_last(index) {
            let actual = Sha256Digest(std::mem::take(&mut self.hasher).finalize().into());
            if actual != self.sha {
                return Err(tampered(
                    &self.sha,
                    None,
                    format!(
                        "the whole plaintext hashes to sha256:{actual}, not to the item's digest"
                    ),
                ));
            }
        }
        self.next += 1;
        Ok(Some(plain))
    }

    /// Chunk `index`, authenticated; follows a rewrite of the object (see the type's
    /// documentation).
    pub(crate) async fn chunk_at(&mut self, index: u64) -> Result<Vec<u8>> {
        match self.try_chunk(index).await {
            Ok(plain) => Ok(plain),
            Err(e) if matches!(e, EvidenceError::ChunkRange { .. }) => Err(e),
            Err(e) => {
                if self.follow_rewrite().await? {
                    self.try_chunk(index).await
                } else {
                    Err(e)
                }
            }
        }
    }

    async fn try_chunk(&mut self, index: u64) -> Result<Vec<u8>> {
        let layout = self.opened.layout;
        let range = layout.stored_range(index)?;
        if !(self.window_first..self.window_first + self.window_len).contains(&index) {
            self.window_len = 0;
            let last = (index + self.window_max - 1).min(layout.chunks() - 1);
            let end = layout.stored_range(last)?.end;
            self.window = self
                .vault
                .store
                .get_range(&blob_path(&self.sha), range.start..end)
                .await?;
            self.window_first = index;
            self.window_len = last - index + 1;
        }
        let base = layout.stored_range(self.window_first)?.start;
        let sealed = self
            .window
            .get((range.start - base) as usize..(range.end - base) as usize)
            .ok_or_else(|| {
                tampered(
                    &self.sha,
                    Some(index),
                    "the object ended before this chunk".into(),
                )
            })?;
        let mut buf = sealed.to_vec();
        self.opened
            .cipher
            .open_chunk(index, layout.is_last(index), &mut buf)
            .map_err(|_| {
                tampered(
                    &self.sha,
                    Some(index),
                    "the chunk does not authenticate under the item's key at this position: altered, moved or from another object".into(),
                )
            })?;
        Ok(buf)
    }

    /// Opens the object again; true if it was rewritten as a version 3 object of the same item,
    /// which then replaces the one being read.
    async fn follow_rewrite(&mut self) -> Result<bool> {
        if self.follows == MAX_FOLLOWS {
            return Ok(false);
        }
        let now = self.vault.open_object(&self.sha).await?;
        let (was, is) = (self.opened.layout, now.layout);
        let same_item = now.cipher.binding().is_some()
            && (is.size, is.chunk_size) == (was.size, was.chunk_size);
        if now.frame == self.opened.frame || !same_item {
            return Ok(false);
        }
        self.opened = now;
        self.window_len = 0;
        self.follows += 1;
        Ok(true)
    }
}

/// A blob's plaintext as a synchronous reader, chunk by chunk, for the synchronous package
/// writers. Use it on a blocking thread (`spawn_blocking`), never on a runtime thread: each chunk
/// is fetched with `handle.block_on`. It reads through a [`ChunkReader`], so it yields nothing
/// of a swapped object and fails instead of ending when a chunk or the whole digest does not
/// match; the error wraps the [`EvidenceError`] (`std::io::Error::into_inner`).
pub struct BlobReader {
    vault: Arc<Vault>,
    sha: Sha256Digest,
    handle: tokio::runtime::Handle,
    reader: Option<ChunkReader<Arc<Vault>>>,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

impl std::fmt::Debug for BlobReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlobReader({})", self.sha)
    }
}

impl BlobReader {
    pub(crate) fn new(
        vault: Arc<Vault>,
        sha: Sha256Digest,
        handle: tokio::runtime::Handle,
    ) -> Self {
        Self {
            vault,
            sha,
            handle,
            reader: None,
            buf: Vec::new(),
            pos: 0,
            done: false,
        }
    }

    fn fill(&mut self) -> Result<()> {
        let reader = match &mut self.reader {
            Some(r) => r,
            None => {
                let opened = self
                    .handle
                    .block_on(ChunkReader::open(Arc::clone(&self.vault), &self.sha))?;
                self.reader.insert(opened)
            }
        };
        match self.handle.block_on(reader.next_chunk())? {
            Some(chunk) => self.buf = chunk,
            None => {
                self.buf.clear();
                self.done = true;
            }
        }
        self.pos = 0;
        Ok(())
    }
}

impl std::io::Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            self.fill().map_err(std::io::Error::other)?;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}
