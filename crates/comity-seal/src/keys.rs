use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::SealError;
use crate::encoding::{b64, base64_bytes, unb64_fixed};

/// An Ed25519 public key (32 bytes); base64 in JSON.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PublicKey(#[serde(with = "base64_bytes")] pub [u8; 32]);

impl PublicKey {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Verifies with the strict rules of `docs/protocol.md` ("Ed25519 acceptance"): canonical
    /// encodings only, no small-order public key or R, `S < L`, cofactorless equation.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        key.verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }

    /// Checks that the bytes are a usable verification key (a canonical point of large order).
    pub fn check(&self) -> Result<(), SealError> {
        match VerifyingKey::from_bytes(&self.0) {
            Ok(key) if !key.is_weak() => Ok(()),
            _ => Err(SealError::BadKey(format!(
                "{self} is not a valid Ed25519 public key"
            ))),
        }
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&b64(&self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", key_id(self))
    }
}

impl FromStr for PublicKey {
    type Err = SealError;
    fn from_str(s: &str) -> Result<Self, SealError> {
        unb64_fixed::<32>(s).map(PublicKey).ok_or_else(|| {
            SealError::BadKey(format!("{s:?} is not 32 bytes in padded standard base64"))
        })
    }
}

/// The short name of a signing key: the first 8 bytes of SHA-256 of its 32 bytes, in lower-case hex.
pub fn key_id(key: &PublicKey) -> String {
    let digest = Sha256::digest(key.0);
    hex::encode(&digest[..8])
}

/// An HPKE recipient public key, as the bytes of its KEM's `SerializePublicKey`; base64 in JSON.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HpkePublicKey(#[serde(with = "base64_bytes")] pub Vec<u8>);

impl HpkePublicKey {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for HpkePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HpkePublicKey({} bytes)", self.0.len())
    }
}

/// An HPKE cipher suite (RFC 9180 mode base) that Comity can seal to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Suite {
    /// KEM 0x0020 DHKEM(X25519, HKDF-SHA256), KDF 0x0001 HKDF-SHA256, AEAD 0x0003 ChaCha20Poly1305.
    X25519Sha256ChaCha20,
    /// KEM 0x647a X-Wing (ML-KEM-768 + X25519), KDF 0x0001 HKDF-SHA256, AEAD 0x0003 ChaCha20Poly1305.
    XWingSha256ChaCha20,
}

impl Suite {
    /// In the order a node prefers them: post-quantum hybrid first.
    pub const ALL: [Suite; 2] = [Suite::XWingSha256ChaCha20, Suite::X25519Sha256ChaCha20];

    pub fn as_str(self) -> &'static str {
        match self {
            Suite::X25519Sha256ChaCha20 => "DHKEM-X25519-HKDF-SHA256/HKDF-SHA256/ChaCha20Poly1305",
            Suite::XWingSha256ChaCha20 => "X-Wing/HKDF-SHA256/ChaCha20Poly1305",
        }
    }

    /// RFC 9180 identifiers: (KEM, KDF, AEAD).
    pub fn ids(self) -> (u16, u16, u16) {
        match self {
            Suite::X25519Sha256ChaCha20 => (0x0020, 0x0001, 0x0003),
            Suite::XWingSha256ChaCha20 => (0x647a, 0x0001, 0x0003),
        }
    }

    /// Length of the recipient public key.
    pub fn public_key_len(self) -> usize {
        match self {
            Suite::X25519Sha256ChaCha20 => 32,
            Suite::XWingSha256ChaCha20 => 1216,
        }
    }

    /// Length of the encapsulated key `enc`.
    pub fn enc_len(self) -> usize {
        match self {
            Suite::X25519Sha256ChaCha20 => 32,
            Suite::XWingSha256ChaCha20 => 1120,
        }
    }

    pub(crate) fn names() -> String {
        Suite::ALL.map(Suite::as_str).join(", ")
    }
}

impl FromStr for Suite {
    type Err = SealError;
    fn from_str(s: &str) -> Result<Self, SealError> {
        Suite::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| SealError::UnsupportedSuite(s.to_owned()))
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Suite {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Suite {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One entry of a descriptor's list of accepted suites.
///
/// The suite is kept as its name so that a descriptor written by a newer node, listing a suite
/// this build does not know, still verifies; such entries are skipped when sealing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HpkeKey {
    pub suite: String,
    pub key: HpkePublicKey,
}

impl HpkeKey {
    pub fn new(suite: Suite, key: HpkePublicKey) -> Self {
        Self {
            suite: suite.as_str().to_owned(),
            key,
        }
    }

    /// The suite, when this build supports it.
    pub fn known_suite(&self) -> Option<Suite> {
        self.suite.parse().ok()
    }
}

/// An Ed25519 signature over a domain-separated message.
pub(crate) fn sign(key: &SigningKey, message: &[u8]) -> [u8; 64] {
    key.sign(message).to_bytes()
}

pub(crate) fn public_of(key: &SigningKey) -> PublicKey {
    PublicKey(key.verifying_key().to_bytes())
}
