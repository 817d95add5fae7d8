//! The stored form of an evidence blob (pure: keys and randomness are passed in).
//!
//! Version 3 (written now) binds the blob to the item it holds: the random blob key is wrapped
//! in a trailer, written once the whole plaintext has been hashed, whose associated data holds
//! the plaintext's SHA-256 and length. The key is therefore released only for that digest and
//! size, and every chunk, sealed under that key with its index and last flag in the nonce, is
//! bound to the item, its size and its position.
//!
//! ```text
//! version 3
//! offset     len  field
//! 0          8    magic "CMTYEVB3"
//! 8          4    chunk size C (plaintext bytes per chunk, u32 big-endian)
//! 12         7    STREAM nonce prefix (random)
//! 19         ..   chunks: chunk i = AES-256-GCM STREAM (BE32) encryption of plaintext bytes
//!                 [iC, iC+C) under the blob key, position i, last flag on the final chunk,
//!                 aad = bytes 0..19
//! end-120    32   SHA-256 of the plaintext
//! end-88     8    plaintext length L, u64 big-endian
//! end-80     8    wrap key id
//! end-72     24   XChaCha20-Poly1305 nonce of the key wrap (random)
//! end-48     48   wrapped blob key: XChaCha20-Poly1305(wrap key, nonce, blob key,
//!                 aad = bytes 0..19 || trailer bytes 0..48)
//!
//! versions 2 and 1 (read only)
//! 0          8    magic "CMTYEVB2" (AES-256-GCM chunks) or "CMTYEVB1" (ChaCha20-Poly1305)
//! 8          4    chunk size C
//! 12         7    STREAM nonce prefix
//! 19         8    wrap key id
//! 27         24   XChaCha20-Poly1305 nonce of the key wrap
//! 51         48   wrapped blob key (aad = bytes 0..27)
//! 99         ..   chunks, as in version 3
//! ```
//!
//! The STREAM nonce of chunk i is the 12 bytes `prefix || u32 BE i || last` (`last` = 0x01 on the
//! final chunk, 0x00 otherwise), as in Hoang–Reyhanitabar–Rogaway–Vizár's STREAM and RustCrypto's
//! `StreamBE32`; each chunk is stored as its ciphertext followed by the 16-byte tag.
//!
//! A blob of L plaintext bytes has max(1, ceil(L / C)) chunks (an empty file is one empty final
//! chunk); the object is `19 + L + 16 * chunks + 120` bytes long in version 3 and
//! `99 + L + 16 * chunks` in versions 1 and 2, so the layout is recovered from the object's
//! length alone (and, in version 3, must agree with the authenticated length in the trailer).
//!
//! Nonce budget: every blob has its own random 256-bit key, so a (key, nonce) pair can repeat
//! only within one blob, where the counter and flag make each nonce distinct for up to 2^32
//! chunks (a chunk index beyond that is refused, never wrapped). Re-sealing a chunk (a transfer
//! receiving a chunk twice) repeats the nonce only with the same plaintext, checked against its
//! digest first, which yields the same ciphertext and reveals nothing. Each GCM message is at
//! most 16 MiB, far below GCM's 2^36 − 32 byte limit; AES's birthday bound keeps the
//! distinguishing advantage under (blocks)² / 2^129, about 2^-57 for a 1 TiB blob.

use aead_stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305, XNonce};
use comity_seal::NodeSecrets;
use comity_seal::rand_core::CryptoRng;
use hkdf::Hkdf;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::digest::Sha256Digest;
use crate::error::{EvidenceError, Result};

/// The format version written now.
pub const VERSION: u8 = 3;
/// Magic of the blobs written now (version 3).
pub const MAGIC: &[u8; 8] = MAGIC_V3;
/// Version 3: AES-256-GCM chunks, key wrapped in a trailer bound to the digest and size.
pub const MAGIC_V3: &[u8; 8] = b"CMTYEVB3";
/// Version 2: AES-256-GCM chunks, key wrapped in the header (read only).
pub const MAGIC_V2: &[u8; 8] = b"CMTYEVB2";
/// Version 1: ChaCha20-Poly1305 chunks (read only).
pub const MAGIC_V1: &[u8; 8] = b"CMTYEVB1";
/// Bytes before the first chunk in version 3.
pub const HEAD_LEN: usize = 19;
/// Bytes after the last chunk in version 3.
pub const TRAILER_LEN: usize = 120;
/// Bytes before the first chunk in versions 1 and 2.
pub const LEGACY_HEADER_LEN: usize = 99;
/// Authentication tag added to each chunk.
pub const TAG_LEN: u64 = 16;
pub const DEFAULT_CHUNK_SIZE: u32 = 1024 * 1024;
pub const MIN_CHUNK_SIZE: u32 = 1024;
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// HKDF `info` of the vault wrap key derived from the node's signing seed.
pub const WRAP_KEY_INFO: &[u8] = b"comity/v1/evidence-wrap-key";
const KEY_ID_CONTEXT: &[u8] = b"comity/v1/evidence-wrap-key-id";
const PREFIX: std::ops::Range<usize> = 12..19;
/// Trailer bytes covered by the key wrap's associated data: digest, length, wrap key id.
const BOUND_LEN: usize = 48;

/// The node's key-encryption key for its vault.
pub struct WrapKey {
    key: Zeroizing<[u8; 32]>,
    id: [u8; 8],
}

impl std::fmt::Debug for WrapKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WrapKey({})", hex::encode(self.id))
    }
}

impl WrapKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut h = Sha256::new();
        h.update(KEY_ID_CONTEXT);
        h.update([0]);
        h.update(bytes);
        let d = h.finalize();
        let mut id = [0u8; 8];
        id.copy_from_slice(&d[..8]);
        Self {
            key: Zeroizing::new(bytes),
            id,
        }
    }

    /// HKDF-SHA256 (no salt, info [`WRAP_KEY_INFO`]) of the node's Ed25519 signing seed. HKDF
    /// makes the wrap key independent of signatures made with the same seed.
    pub fn from_node_secrets(secrets: &NodeSecrets) -> Self {
        let seed = Zeroizing::new(secrets.signing_key().to_bytes());
        let hk = Hkdf::<Sha256>::new(None, seed.as_ref());
        let mut okm = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's 8160-byte limit.
        hk.expand(WRAP_KEY_INFO, &mut okm)
            .unwrap_or_else(|_| unreachable!("32-byte HKDF output"));
        Self::from_bytes(okm)
    }

    pub fn id(&self) -> [u8; 8] {
        self.id
    }

    fn aead(&self) -> Result<XChaCha20Poly1305> {
        XChaCha20Poly1305::new_from_slice(self.key.as_ref())
            .map_err(|_| blob_err("wrap key length".into()))
    }

    /// A fresh nonce and `key` wrapped under this key with associated data `aad`.
    fn wrap(
        &self,
        key: &BlobKey,
        aad: &[u8],
        rng: &mut impl CryptoRng,
    ) -> Result<([u8; 24], Vec<u8>)> {
        let mut nonce = [0u8; 24];
        rng.fill_bytes(&mut nonce);
        let wrapped = self
            .aead()?
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: key.0.as_ref(),
                    aad,
                },
            )
            .map_err(|_| blob_err("key wrap failed".into()))?;
        Ok((nonce, wrapped))
    }

    /// The blob key, if `wrapped` authenticates under this key with `nonce` and `aad`.
    fn unwrap(&self, id: &[u8], nonce: &[u8], wrapped: &[u8], aad: &[u8]) -> Result<BlobKey> {
        if id != self.id {
            return Err(EvidenceError::WrongWrapKey {
                blob: String::new(),
                key_id: hex::encode(id),
            });
        }
        let nonce = XNonce::try_from(nonce).map_err(|_| blob_err("wrap nonce length".into()))?;
        let key = self
            .aead()?
            .decrypt(&nonce, Payload { msg: wrapped, aad })
            .map_err(|_| {
                blob_err("the wrapped key does not authenticate: header altered".into())
            })?;
        let key: [u8; 32] = key
            .try_into()
            .map_err(|_| blob_err("wrapped key length".into()))?;
        Ok(BlobKey(Zeroizing::new(key)))
    }
}

/// The random key that encrypts one blob's chunks; never stored unwrapped.
pub struct BlobKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for BlobKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlobKey(..)")
    }
}

impl BlobKey {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut k = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(k.as_mut());
        Self(k)
    }
}

/// The format version a stored object's first bytes announce.
pub fn version_of(head: &[u8]) -> Result<u8> {
    match head.get(..8) {
        Some(m) if m == MAGIC_V3 => Ok(3),
        Some(m) if m == MAGIC_V2 => Ok(2),
        Some(m) if m == MAGIC_V1 => Ok(1),
        Some(_) => Err(blob_err("not a Comity evidence blob (bad magic)".into())),
        None => Err(blob_err("header is truncated".into())),
    }
}

/// Bytes before the first chunk in `version`.
pub fn head_len(version: u8) -> usize {
    if version >= 3 {
        HEAD_LEN
    } else {
        LEGACY_HEADER_LEN
    }
}

/// Bytes after the last chunk in `version`.
pub fn tail_len(version: u8) -> usize {
    if version >= 3 { TRAILER_LEN } else { 0 }
}

/// Where each chunk lies, for a plaintext length, chunk size and format version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLayout {
    pub size: u64,
    pub chunk_size: u32,
    version: u8,
}

impl ChunkLayout {
    /// The layout of a blob in the format written now.
    pub fn new(size: u64, chunk_size: u32) -> Result<Self> {
        Self::of_version(VERSION, size, chunk_size)
    }

    pub fn of_version(version: u8, size: u64, chunk_size: u32) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        Ok(Self {
            size,
            chunk_size,
            version,
        })
    }

    pub fn version(&self) -> u8 {
        self.version
    }

    pub fn chunks(&self) -> u64 {
        self.size.div_ceil(u64::from(self.chunk_size)).max(1)
    }

    /// Plaintext byte range of chunk `index`.
    pub fn plain_range(&self, index: u64) -> Result<std::ops::Range<u64>> {
        if index >= self.chunks() {
            return Err(EvidenceError::ChunkRange {
                index,
                chunks: self.chunks(),
            });
        }
        let c = u64::from(self.chunk_size);
        let start = index * c;
        Ok(start..(start + c).min(self.size))
    }

    /// Byte range of chunk `index` (with its tag) in the stored object.
    pub fn stored_range(&self, index: u64) -> Result<std::ops::Range<u64>> {
        let p = self.plain_range(index)?;
        let start = head_len(self.version) as u64 + index * (u64::from(self.chunk_size) + TAG_LEN);
        Ok(start..start + (p.end - p.start) + TAG_LEN)
    }

    /// The stored object's length (saturating: no real object comes near 2^64 bytes).
    pub fn stored_len(&self) -> u64 {
        ((head_len(self.version) + tail_len(self.version)) as u64)
            .saturating_add(self.size)
            .saturating_add(TAG_LEN.saturating_mul(self.chunks()))
    }

    pub fn is_last(&self, index: u64) -> bool {
        index + 1 == self.chunks()
    }

    /// Recovers the layout from a stored object's length (see the module documentation).
    pub fn from_stored_len(version: u8, stored: u64, chunk_size: u32) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        let frame = (head_len(version) + tail_len(version)) as u64;
        let body = stored
            .checked_sub(frame + TAG_LEN)
            .ok_or_else(|| format!("{stored} bytes is shorter than an empty blob"))
            .map_err(blob_err)?
            + TAG_LEN;
        let slot = u64::from(chunk_size) + TAG_LEN;
        let chunks = body.div_ceil(slot);
        let last = body - (chunks - 1) * slot;
        if last < TAG_LEN || (chunks > 1 && last == TAG_LEN) {
            return Err(blob_err(format!(
                "length {stored} does not match chunk size {chunk_size}"
            )));
        }
        Ok(Self {
            size: body - TAG_LEN * chunks,
            chunk_size,
            version,
        })
    }
}

fn blob_err(reason: String) -> EvidenceError {
    EvidenceError::BlobFormat {
        blob: String::new(),
        reason,
    }
}

pub fn check_chunk_size(c: u32) -> Result<()> {
    if !(MIN_CHUNK_SIZE..=MAX_CHUNK_SIZE).contains(&c) {
        return Err(EvidenceError::ChunkSize(c.into()));
    }
    Ok(())
}

/// What a version 3 trailer binds its blob to: the plaintext's digest and length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    pub sha256: Sha256Digest,
    pub size: u64,
}

impl Binding {
    /// What a trailer claims, before it is authenticated: lets a reader refuse an object that
    /// names another item or does not have the length it claims whatever key it was wrapped
    /// under. Only [`BlobCipher::binding`] is authenticated.
    pub fn claimed(trailer: &[u8]) -> Option<Self> {
        let sha: [u8; 32] = trailer.get(..32)?.try_into().ok()?;
        let size: [u8; 8] = trailer.get(32..40)?.try_into().ok()?;
        Some(Self {
            sha256: Sha256Digest(sha),
            size: u64::from_be_bytes(size),
        })
    }
}

/// An open blob: the parsed header, the chunk cipher and, from version 3, the item it is bound to.
pub struct BlobCipher {
    version: u8,
    head: Vec<u8>,
    key: BlobKey,
    binding: Option<Binding>,
    chunks: ChunkAead,
}

/// The chunk AEAD of each format version.
enum ChunkAead {
    ChaCha(StreamBE32<ChaCha20Poly1305>),
    /// ring's AES-256-GCM (AES-NI and carry-less multiplication where the CPU has them); the
    /// STREAM nonces are built by [`stream_nonce`].
    Aes(Box<LessSafeKey>),
}

impl std::fmt::Debug for BlobCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BlobCipher(v{}, chunk size {})",
            self.version,
            self.chunk_size()
        )
    }
}

/// STREAM's nonce for chunk `position`: `prefix || u32 BE position || last`, the same nonces as
/// `aead_stream::StreamBE32` gives version 1.
fn stream_nonce(prefix: &[u8], position: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&position.to_be_bytes());
    n[11] = u8::from(last);
    n
}

/// Associated data of a version 3 key wrap: the head, then the digest, length and wrap key id.
fn bound_aad(head: &[u8], trailer: &[u8]) -> Vec<u8> {
    let mut aad = head.to_vec();
    aad.extend_from_slice(&trailer[..BOUND_LEN]);
    aad
}

impl BlobCipher {
    /// A new version 3 blob: random blob key and nonce prefix. The trailer that wraps the key is
    /// made by [`BlobCipher::trailer`] once the plaintext's digest and length are known.
    pub fn create(chunk_size: u32, rng: &mut impl CryptoRng) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        let key = BlobKey::generate(rng);
        let mut head = vec![0u8; HEAD_LEN];
        head[..8].copy_from_slice(MAGIC_V3);
        head[8..12].copy_from_slice(&chunk_size.to_be_bytes());
        rng.fill_bytes(&mut head[PREFIX]);
        Self::with_key(VERSION, head, key, None)
    }

    /// The version 3 trailer that wraps this blob's key under `wrap`, bound to `sha256` and
    /// `size`: written after the last chunk, once the digest of the whole plaintext is known.
    pub fn trailer(
        &self,
        wrap: &WrapKey,
        sha256: &Sha256Digest,
        size: u64,
        rng: &mut impl CryptoRng,
    ) -> Result<[u8; TRAILER_LEN]> {
        if self.version != 3 {
            return Err(blob_err(format!(
                "a version {} blob has no trailer",
                self.version
            )));
        }
        let mut t = [0u8; TRAILER_LEN];
        t[..32].copy_from_slice(&sha256.0);
        t[32..40].copy_from_slice(&size.to_be_bytes());
        t[40..48].copy_from_slice(&wrap.id);
        let (nonce, wrapped) = wrap.wrap(&self.key, &bound_aad(&self.head, &t), rng)?;
        t[48..72].copy_from_slice(&nonce);
        t[72..].copy_from_slice(&wrapped);
        Ok(t)
    }

    /// Opens a whole stored object held in memory (its head and trailer).
    pub fn open(object: &[u8], wrap: &WrapKey) -> Result<Self> {
        let tail = tail_len(version_of(object)?);
        let at = object
            .len()
            .checked_sub(tail)
            .ok_or_else(|| blob_err("object is shorter than its header".into()))?;
        Self::open_parts(object, &object[at..], wrap)
    }

    /// Opens a stored blob from its first bytes (at least the header) and, in version 3, its last
    /// [`TRAILER_LEN`] bytes, with the node's wrap key. A version 3 blob is opened only if its
    /// trailer authenticates, and [`BlobCipher::binding`] then names the item it holds.
    pub fn open_parts(head: &[u8], tail: &[u8], wrap: &WrapKey) -> Result<Self> {
        let version = version_of(head)?;
        let head = head
            .get(..head_len(version))
            .ok_or_else(|| blob_err("header is truncated".into()))?;
        check_chunk_size(u32::from_be_bytes([head[8], head[9], head[10], head[11]]))?;
        if version < 3 {
            let key = wrap.unwrap(&head[19..27], &head[27..51], &head[51..99], &head[..27])?;
            return Self::with_key(version, head.to_vec(), key, None);
        }
        if tail.len() != TRAILER_LEN {
            return Err(blob_err("trailer is truncated".into()));
        }
        let key = wrap.unwrap(
            &tail[40..48],
            &tail[48..72],
            &tail[72..],
            &bound_aad(head, tail),
        )?;
        let binding = Binding::claimed(tail);
        Self::with_key(version, head.to_vec(), key, binding)
    }

    /// The same blob's header and trailer with its key wrapped under `new` instead (after a key
    /// rotation). Versions 1 and 2 change header bytes 19..99; version 3 changes the trailer's
    /// key id, nonce and wrapped key. The chunks stay valid: their associated data is bytes 0..19.
    pub fn rewrap(
        head: &[u8],
        tail: &[u8],
        old: &WrapKey,
        new: &WrapKey,
        rng: &mut impl CryptoRng,
    ) -> Result<(Vec<u8>, Vec<u8>)> {
        let opened = Self::open_parts(head, tail, old)?;
        let mut head = opened.head.clone();
        if opened.version < 3 {
            head[19..27].copy_from_slice(&new.id);
            let (nonce, wrapped) = new.wrap(&opened.key, &head[..27], rng)?;
            head[27..51].copy_from_slice(&nonce);
            head[51..].copy_from_slice(&wrapped);
            return Ok((head, Vec::new()));
        }
        let mut tail = tail.to_vec();
        tail[40..48].copy_from_slice(&new.id);
        let (nonce, wrapped) = new.wrap(&opened.key, &bound_aad(&head, &tail), rng)?;
        tail[48..72].copy_from_slice(&nonce);
        tail[72..].copy_from_slice(&wrapped);
        Ok((head, tail))
    }

    fn with_key(
        version: u8,
        head: Vec<u8>,
        key: BlobKey,
        binding: Option<Binding>,
    ) -> Result<Self> {
        let chunks = if version == 1 {
            let aead = ChaCha20Poly1305::new_from_slice(key.0.as_ref())
                .map_err(|_| blob_err("blob key length".into()))?;
            let prefix = aead_stream::Nonce::<
                ChaCha20Poly1305,
                aead_stream::StreamBE32<ChaCha20Poly1305>,
            >::try_from(&head[PREFIX])
            .map_err(|_| blob_err("nonce prefix length".into()))?;
            ChunkAead::ChaCha(StreamBE32::from_aead(aead, &prefix))
        } else {
            let aes = UnboundKey::new(&AES_256_GCM, key.0.as_ref())
                .map_err(|_| blob_err("blob key length".into()))?;
            ChunkAead::Aes(Box::new(LessSafeKey::new(aes)))
        };
        Ok(Self {
            version,
            head,
            key,
            binding,
            chunks,
        })
    }

    /// The format version of this blob (1, 2 or 3).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// The bytes before the first chunk.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The item an opened version 3 blob holds (its authenticated trailer); `None` for a blob
    /// being created and for versions 1 and 2, which bind nothing.
    pub fn binding(&self) -> Option<Binding> {
        self.binding
    }

    pub fn chunk_size(&self) -> u32 {
        u32::from_be_bytes([self.head[8], self.head[9], self.head[10], self.head[11]])
    }

    fn position(index: u64) -> Result<u32> {
        u32::try_from(index).map_err(|_| blob_err(format!("chunk index {index} beyond 2^32")))
    }

    fn chunk_aad(&self) -> &[u8] {
        &self.head[..HEAD_LEN]
    }

    /// Encrypts chunk `index` in place (appends the tag).
    pub fn seal_chunk(&self, index: u64, last: bool, buf: &mut Vec<u8>) -> Result<()> {
        let position = Self::position(index)?;
        let aad = self.chunk_aad();
        match &self.chunks {
            ChunkAead::ChaCha(stream) => stream
                .encrypt_in_place(position, last, aad, buf)
                .map_err(|_| blob_err("chunk encryption failed".into())),
            ChunkAead::Aes(key) => {
                let nonce = stream_nonce(&self.head[PREFIX], position, last);
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad),
                        buf.as_mut_slice(),
                    )
                    .map_err(|_| blob_err("chunk encryption failed".into()))?;
                buf.extend_from_slice(tag.as_ref());
                Ok(())
            }
        }
    }

    /// Decrypts chunk `index` in place (removes the tag); fails on any alteration.
    pub fn open_chunk(&self, index: u64, last: bool, buf: &mut Vec<u8>) -> Result<()> {
        let position = Self::position(index)?;
        let aad = self.chunk_aad();
        let refused = EvidenceError::ChunkDecrypt {
            blob: String::new(),
            index,
        };
        match &self.chunks {
            ChunkAead::ChaCha(stream) => stream
                .decrypt_in_place(position, last, aad, buf)
                .map_err(|_| refused),
            ChunkAead::Aes(key) => {
                let nonce = stream_nonce(&self.head[PREFIX], position, last);
                let plain = key
                    .open_in_place(
                        Nonce::assume_unique_for_key(nonce),
                        Aad::from(aad),
                        buf.as_mut_slice(),
                    )
                    .map_err(|_| refused)?
                    .len();
                buf.truncate(plain);
                Ok(())
            }
        }
    }
}
