//! Keys and series ids as text (lowercase hex), for configuration files and the command line.

use ed25519_dalek::{SigningKey, VerifyingKey};

use super::SeriesId;
use crate::PdqError;

fn hex32(field: &'static str, text: &str) -> Result<[u8; 32], PdqError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut out).map_err(|_| PdqError::ListField {
        field,
        reason: "expected 64 hexadecimal digits".into(),
    })?;
    Ok(out)
}

/// A publisher's Ed25519 public key from 64 hexadecimal digits.
pub fn verifying_key_from_hex(text: &str) -> Result<VerifyingKey, PdqError> {
    VerifyingKey::from_bytes(&hex32("public key", text)?).map_err(|_| PdqError::ListField {
        field: "public key",
        reason: "not a valid Ed25519 public key".into(),
    })
}

/// An Ed25519 private key from its 32-byte seed in 64 hexadecimal digits.
pub fn signing_key_from_hex(text: &str) -> Result<SigningKey, PdqError> {
    Ok(SigningKey::from_bytes(&hex32("private key", text)?))
}

pub fn key_to_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

impl SeriesId {
    pub fn from_hex(text: &str) -> Result<Self, PdqError> {
        let bytes = hex::decode(text).map_err(|_| PdqError::ListField {
            field: "series id",
            reason: "expected hexadecimal digits".into(),
        })?;
        SeriesId::new(bytes)
    }
}
