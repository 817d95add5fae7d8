//! Dispatch from a [`Suite`] to the HPKE types that implement it (RFC 9180, mode base).

use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::{X25519HkdfSha256, XWing};
use hpke::{Deserializable, Kem, OpModeR, OpModeS, Serializable};
use rand_core::CryptoRng;

use crate::{NodeSecrets, SealError, Suite};

/// HPKE `info` for every Comity envelope: binds the key schedule to this protocol and version.
pub const HPKE_INFO: &[u8] = b"comity/v1/envelope";

pub(crate) fn seal(
    suite: Suite,
    recipient_key: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRng,
) -> Result<(Vec<u8>, Vec<u8>), SealError> {
    match suite {
        Suite::X25519Sha256ChaCha20 => {
            seal_with::<X25519HkdfSha256>(suite, recipient_key, aad, plaintext, rng)
        }
        Suite::XWingSha256ChaCha20 => seal_with::<XWing>(suite, recipient_key, aad, plaintext, rng),
    }
}

fn seal_with<K: Kem>(
    suite: Suite,
    recipient_key: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut impl CryptoRng,
) -> Result<(Vec<u8>, Vec<u8>), SealError> {
    let pk = K::PublicKey::from_bytes(recipient_key)
        .map_err(|_| SealError::BadKey(format!("recipient {suite} key is malformed")))?;
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<ChaCha20Poly1305, HkdfSha256, K>(
        &OpModeS::Base,
        &pk,
        HPKE_INFO,
        plaintext,
        aad,
        rng,
    )
    .map_err(|e| SealError::BadKey(format!("recipient {suite} key refused: {e}")))?;
    Ok((enc.to_bytes().to_vec(), ciphertext))
}

pub(crate) fn open(
    suite: Suite,
    recipient: &NodeSecrets,
    enc: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, SealError> {
    match suite {
        Suite::X25519Sha256ChaCha20 => {
            open_with::<X25519HkdfSha256>(recipient.x25519_sk(), enc, aad, ciphertext)
        }
        Suite::XWingSha256ChaCha20 => {
            open_with::<XWing>(recipient.xwing_sk(), enc, aad, ciphertext)
        }
    }
}

fn open_with<K: Kem>(
    sk: &K::PrivateKey,
    enc: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let enc = K::EncappedKey::from_bytes(enc).map_err(|_| SealError::DecryptFailed)?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, K>(
        &OpModeR::Base,
        sk,
        &enc,
        HPKE_INFO,
        ciphertext,
        aad,
    )
    .map_err(|_| SealError::DecryptFailed)
}
