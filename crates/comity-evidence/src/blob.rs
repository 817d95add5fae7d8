//! The stored form of an evidence blob (pure: keys and randomness are passed in).
//!
//! Two versions share one layout and differ only in the magic and the chunk AEAD. New blobs are
//! written as version 2; version 1 blobs stay readable.
//!
//! ```text
//! offset len  field
//! 0      8    magic "CMTYEVB2" (version 2) or "CMTYEVB1" (version 1)
//! 8      4    chunk size C (plaintext bytes per chunk, u32 big-endian)
//! 12     7    STREAM nonce prefix (random)
//! 19     8    wrap key id
//! 27     24   XChaCha20-Poly1305 nonce of the key wrap (random)
//! 51     48   wrapped blob key: XChaCha20-Poly1305(wrap key, nonce, blob key, aad = bytes 0..27)
//! 99     ..   chunks: chunk i = STREAM (BE32) encryption of plaintext bytes [iC, iC+C) under the
//!             blob key, position i, last flag on the final chunk, aad = bytes 0..19, with
//!             AES-256-GCM (version 2) or ChaCha20-Poly1305 (version 1)
//! ```
//!
//! The STREAM nonce of chunk i is the 12 bytes `prefix || u32 BE i || last` (`last` = 0x01 on the
//! final chunk, 0x00 otherwise), as in Hoang–Reyhanitabar–Rogaway–Vizár's STREAM and RustCrypto's
//! `StreamBE32`; each chunk is stored as its ciphertext followed by the 16-byte tag.
//!
//! A blob of L plaintext bytes has max(1, ceil(L / C)) chunks (an empty file is one empty final
//! chunk), and the object is `99 + L + 16 * chunks` bytes long, so the layout is recovered from
//! the object's length alone. Only the final chunk may be shorter than C, and it carries the
//! STREAM "last" flag, so truncation at a chunk boundary is detected.
//!
//! Nonce budget (version 2): every blob has its own random 256-bit key, so a (key, nonce) pair
//! can repeat only within one blob, where the counter and flag make each nonce distinct for up to
//! 2^32 chunks (a chunk index beyond that is refused, never wrapped). Re-sealing a chunk (a
//! transfer receiving a chunk twice) repeats the nonce only with the same plaintext, checked
//! against its digest first, which yields the same ciphertext and reveals nothing. Each GCM
//! message is at most 16 MiB, far below GCM's 2^36 − 32 byte limit; AES's birthday bound keeps
//! the distinguishing advantage under (blocks)² / 2^129, about 2^-57 for a 1 TiB blob.

use aead_stream::{NewStream, StreamBE32, StreamPrimitive};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305, XNonce};
use comity_seal::NodeSecrets;
use comity_seal::rand_core::CryptoRng;
use hkdf::Hkdf;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{EvidenceError, Result};

/// Magic of the blobs written now (version 2).
pub const MAGIC: &[u8; 8] = MAGIC_V2;
/// Version 2: AES-256-GCM chunks.
pub const MAGIC_V2: &[u8; 8] = b"CMTYEVB2";
/// Version 1: ChaCha20-Poly1305 chunks (read only).
pub const MAGIC_V1: &[u8; 8] = b"CMTYEVB1";
pub const HEADER_LEN: usize = 99;
/// Authentication tag added to each chunk.
pub const TAG_LEN: u64 = 16;
pub const DEFAULT_CHUNK_SIZE: u32 = 1024 * 1024;
pub const MIN_CHUNK_SIZE: u32 = 1024;
pub const MAX_CHUNK_SIZE: u32 = 16 * 1024 * 1024;
/// HKDF `info` of the vault wrap key derived from the node's signing seed.
pub const WRAP_KEY_INFO: &[u8] = b"comity/v1/evidence-wrap-key";
const KEY_ID_CONTEXT: &[u8] = b"comity/v1/evidence-wrap-key-id";
const CHUNK_AAD_LEN: usize = 19;
const WRAP_AAD_LEN: usize = 27;
const PREFIX: std::ops::Range<usize> = 12..19;

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

/// Where each chunk lies, for a plaintext length and chunk size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkLayout {
    pub size: u64,
    pub chunk_size: u32,
}

impl ChunkLayout {
    pub fn new(size: u64, chunk_size: u32) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        Ok(Self { size, chunk_size })
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
        let start = HEADER_LEN as u64 + index * (u64::from(self.chunk_size) + TAG_LEN);
        Ok(start..start + (p.end - p.start) + TAG_LEN)
    }

    pub fn stored_len(&self) -> u64 {
        HEADER_LEN as u64 + self.size + TAG_LEN * self.chunks()
    }

    pub fn is_last(&self, index: u64) -> bool {
        index + 1 == self.chunks()
    }

    /// Recovers the layout from a stored object's length (see the module documentation).
    pub fn from_stored_len(stored: u64, chunk_size: u32) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        let body = stored
            .checked_sub(HEADER_LEN as u64 + TAG_LEN)
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

/// Writes the wrap key id, a fresh nonce and the wrapped blob key into bytes 19..99.
fn wrap_key(
    header: &mut [u8; HEADER_LEN],
    wrap: &WrapKey,
    key: &BlobKey,
    rng: &mut impl CryptoRng,
) -> Result<()> {
    header[19..27].copy_from_slice(&wrap.id);
    rng.fill_bytes(&mut header[27..51]);
    let kek = XChaCha20Poly1305::new_from_slice(wrap.key.as_ref())
        .map_err(|_| blob_err("wrap key length".into()))?;
    let wrapped = kek
        .encrypt(
            &XNonce::try_from(&header[27..51]).map_err(|_| blob_err("wrap nonce length".into()))?,
            Payload {
                msg: key.0.as_ref(),
                aad: &header[..WRAP_AAD_LEN],
            },
        )
        .map_err(|_| blob_err("key wrap failed".into()))?;
    header[51..].copy_from_slice(&wrapped);
    Ok(())
}

/// Checks a stored header and recovers its blob key with `wrap`.
fn unwrap_key(header: &[u8], wrap: &WrapKey) -> Result<([u8; HEADER_LEN], BlobKey)> {
    let header: [u8; HEADER_LEN] = header
        .get(..HEADER_LEN)
        .and_then(|h| h.try_into().ok())
        .ok_or_else(|| blob_err("header is truncated".into()))?;
    if &header[..8] != MAGIC_V2 && &header[..8] != MAGIC_V1 {
        return Err(blob_err("not a Comity evidence blob (bad magic)".into()));
    }
    check_chunk_size(u32::from_be_bytes([
        header[8], header[9], header[10], header[11],
    ]))?;
    if header[19..27] != wrap.id {
        return Err(EvidenceError::WrongWrapKey(hex::encode(&header[19..27])));
    }
    let kek = XChaCha20Poly1305::new_from_slice(wrap.key.as_ref())
        .map_err(|_| blob_err("wrap key length".into()))?;
    let key = kek
        .decrypt(
            &XNonce::try_from(&header[27..51]).map_err(|_| blob_err("wrap nonce length".into()))?,
            Payload {
                msg: &header[51..],
                aad: &header[..WRAP_AAD_LEN],
            },
        )
        .map_err(|_| blob_err("wrapped key does not decrypt: header altered".into()))?;
    let key: [u8; 32] = key
        .try_into()
        .map_err(|_| blob_err("wrapped key length".into()))?;
    Ok((header, BlobKey(Zeroizing::new(key))))
}

/// An open blob: the parsed header and the chunk cipher.
pub struct BlobCipher {
    header: [u8; HEADER_LEN],
    chunks: ChunkAead,
}

/// The chunk AEAD of each format version.
enum ChunkAead {
    V1(StreamBE32<ChaCha20Poly1305>),
    /// ring's AES-256-GCM (AES-NI and carry-less multiplication where the CPU has them); the
    /// STREAM nonces are built by [`stream_nonce`].
    V2(Box<LessSafeKey>),
}

impl std::fmt::Debug for BlobCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "BlobCipher(v{}, chunk size {})",
            self.version(),
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

impl BlobCipher {
    /// A new blob: random blob key, nonce prefix and wrap nonce; returns the cipher and header.
    pub fn create(wrap: &WrapKey, chunk_size: u32, rng: &mut impl CryptoRng) -> Result<Self> {
        check_chunk_size(chunk_size)?;
        let key = BlobKey::generate(rng);
        let mut header = [0u8; HEADER_LEN];
        header[..8].copy_from_slice(MAGIC_V2);
        header[8..12].copy_from_slice(&chunk_size.to_be_bytes());
        rng.fill_bytes(&mut header[PREFIX]);
        wrap_key(&mut header, wrap, &key, rng)?;
        Self::with_key(header, &key)
    }

    /// Opens a stored header with the node's wrap key.
    pub fn open(header: &[u8], wrap: &WrapKey) -> Result<Self> {
        let (header, key) = unwrap_key(header, wrap)?;
        Self::with_key(header, &key)
    }

    /// The same blob's header with its key wrapped under `new` instead (after a key rotation):
    /// bytes 19..99 change; the chunks stay valid because their associated data is bytes 0..19.
    pub fn rewrap(
        header: &[u8],
        old: &WrapKey,
        new: &WrapKey,
        rng: &mut impl CryptoRng,
    ) -> Result<[u8; HEADER_LEN]> {
        let (mut header, key) = unwrap_key(header, old)?;
        wrap_key(&mut header, new, &key, rng)?;
        Ok(header)
    }

    fn with_key(header: [u8; HEADER_LEN], key: &BlobKey) -> Result<Self> {
        let chunks = if &header[..8] == MAGIC_V1 {
            let aead = ChaCha20Poly1305::new_from_slice(key.0.as_ref())
                .map_err(|_| blob_err("blob key length".into()))?;
            let prefix = aead_stream::Nonce::<
                ChaCha20Poly1305,
                aead_stream::StreamBE32<ChaCha20Poly1305>,
            >::try_from(&header[PREFIX])
            .map_err(|_| blob_err("nonce prefix length".into()))?;
            ChunkAead::V1(StreamBE32::from_aead(aead, &prefix))
        } else {
            let key = UnboundKey::new(&AES_256_GCM, key.0.as_ref())
                .map_err(|_| blob_err("blob key length".into()))?;
            ChunkAead::V2(Box::new(LessSafeKey::new(key)))
        };
        Ok(Self { header, chunks })
    }

    /// The format version of this blob (1 or 2).
    pub fn version(&self) -> u8 {
        match self.chunks {
            ChunkAead::V1(_) => 1,
            ChunkAead::V2(_) => 2,
        }
    }

    pub fn header(&self) -> &[u8; HEADER_LEN] {
        &self.header
    }

    pub fn chunk_size(&self) -> u32 {
        u32::from_be_bytes([
            self.header[8],
            self.header[9],
            self.header[10],
            self.header[11],
        ])
    }

    fn position(index: u64) -> Result<u32> {
        u32::try_from(index).map_err(|_| blob_err(format!("chunk index {index} beyond 2^32")))
    }

    /// Encrypts chunk `index` in place (appends the tag).
    pub fn seal_chunk(&self, index: u64, last: bool, buf: &mut Vec<u8>) -> Result<()> {
        let position = Self::position(index)?;
        let aad = &self.header[..CHUNK_AAD_LEN];
        match &self.chunks {
            ChunkAead::V1(stream) => stream
                .encrypt_in_place(position, last, aad, buf)
                .map_err(|_| blob_err("chunk encryption failed".into())),
            ChunkAead::V2(key) => {
                let nonce = stream_nonce(&self.header[PREFIX], position, last);
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
        let aad = &self.header[..CHUNK_AAD_LEN];
        let refused = EvidenceError::ChunkDecrypt {
            blob: String::new(),
            index,
        };
        match &self.chunks {
            ChunkAead::V1(stream) => stream
                .decrypt_in_place(position, last, aad, buf)
                .map_err(|_| refused),
            ChunkAead::V2(key) => {
                let nonce = stream_nonce(&self.header[PREFIX], position, last);
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
