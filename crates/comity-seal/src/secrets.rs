//! Private keys of a node and of a federation root, and their encrypted file form.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::SigningKey;
use hpke::kem::{X25519HkdfSha256, XWing};
use hpke::{Deserializable, Kem, Serializable};
use rand_core::CryptoRng;
use serde_json::json;
use zeroize::Zeroizing;

use crate::encoding::{Fields, b64, jcs, parse_canonical};
use crate::keys::public_of;
use crate::{HpkeKey, HpkePublicKey, PublicKey, SealError, Suite};

/// Argon2id cost parameters, stored in the secrets file so that they can be raised later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub m_cost_kib: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

impl KdfParams {
    /// For people typing a passphrase: 64 MiB, 3 passes (RFC 9106 second recommended option).
    pub const INTERACTIVE: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 3,
        p_cost: 1,
    };
    /// For tests only: cheap, and still a valid Argon2id.
    pub const TEST: KdfParams = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    /// Files asking for more memory than this are refused rather than exhausting the machine.
    pub const MAX_M_COST_KIB: u32 = 1024 * 1024;
}

const NODE_KIND: &str = "comity.node-secrets";
const ROOT_KIND: &str = "comity.federation-root";
const AEAD_NAME: &str = "XChaCha20Poly1305";
const KDF_NAME: &str = "argon2id";

/// A node's private keys: Ed25519 signing, HPKE (X25519 and X-Wing) decryption, Ed25519 TLS.
pub struct NodeSecrets {
    signing: SigningKey,
    x25519: Zeroizing<[u8; 32]>,
    xwing_seed: Zeroizing<[u8; 32]>,
    tls: SigningKey,
    x25519_sk: <X25519HkdfSha256 as Kem>::PrivateKey,
    xwing_sk: <XWing as Kem>::PrivateKey,
}

impl std::fmt::Debug for NodeSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "NodeSecrets(signing {})",
            crate::key_id(&self.signing_public())
        )
    }
}

impl NodeSecrets {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut seeds = Zeroizing::new([0u8; 128]);
        rng.fill_bytes(seeds.as_mut());
        Self::from_seed_bytes(&seeds)
    }

    /// Builds from the 128 secret bytes of the file format: signing seed, X25519 secret, X-Wing
    /// seed, TLS seed, 32 bytes each.
    fn from_seed_bytes(seeds: &[u8; 128]) -> Self {
        let part = |i: usize| {
            let mut out = Zeroizing::new([0u8; 32]);
            out.copy_from_slice(&seeds[i * 32..(i + 1) * 32]);
            out
        };
        let x25519 = part(1);
        let xwing_seed = part(2);
        // Any 32 bytes are a valid secret for both KEMs; the lengths are fixed above.
        let x25519_sk = <X25519HkdfSha256 as Kem>::PrivateKey::from_bytes(x25519.as_ref())
            .unwrap_or_else(|_| unreachable!("32-byte X25519 secret"));
        let xwing_sk = <XWing as Kem>::PrivateKey::from_bytes(xwing_seed.as_ref())
            .unwrap_or_else(|_| unreachable!("32-byte X-Wing seed"));
        Self {
            signing: SigningKey::from_bytes(&part(0)),
            x25519,
            xwing_seed,
            tls: SigningKey::from_bytes(&part(3)),
            x25519_sk,
            xwing_sk,
        }
    }

    fn seed_bytes(&self) -> Zeroizing<[u8; 128]> {
        let mut out = Zeroizing::new([0u8; 128]);
        out[..32].copy_from_slice(&self.signing.to_bytes());
        out[32..64].copy_from_slice(self.x25519.as_ref());
        out[64..96].copy_from_slice(self.xwing_seed.as_ref());
        out[96..].copy_from_slice(&self.tls.to_bytes());
        out
    }

    pub fn signing_public(&self) -> PublicKey {
        public_of(&self.signing)
    }

    /// The node's Ed25519 signing key, for formats that carry their own domain separation and
    /// are signed with the node's identity: C2SP signed notes (ledger checkpoints and
    /// cosignatures: note text never holds the 0x00 byte that follows every Comity context)
    /// and hash-list updates.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The X25519 HPKE public key (suite `DHKEM-X25519-HKDF-SHA256/...`).
    pub fn hpke_public(&self) -> HpkePublicKey {
        self.hpke_public_for(Suite::X25519Sha256ChaCha20)
    }

    pub fn hpke_public_for(&self, suite: Suite) -> HpkePublicKey {
        let bytes = match suite {
            Suite::X25519Sha256ChaCha20 => X25519HkdfSha256::sk_to_pk(&self.x25519_sk)
                .to_bytes()
                .to_vec(),
            Suite::XWingSha256ChaCha20 => XWing::sk_to_pk(&self.xwing_sk).to_bytes().to_vec(),
        };
        HpkePublicKey(bytes)
    }

    /// Every suite this node accepts, most preferred first: what its descriptor lists.
    pub fn hpke_keys(&self) -> Vec<HpkeKey> {
        Suite::ALL
            .into_iter()
            .map(|s| HpkeKey::new(s, self.hpke_public_for(s)))
            .collect()
    }

    pub fn tls_public(&self) -> PublicKey {
        public_of(&self.tls)
    }

    /// The TLS key as a PKCS#8 v1 (RFC 8410) DER document, for building the node's certificate.
    pub fn tls_pkcs8_der(&self) -> Vec<u8> {
        const PREFIX: [u8; 16] = [
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        let mut der = PREFIX.to_vec();
        der.extend_from_slice(&self.tls.to_bytes());
        der
    }

    pub(crate) fn x25519_sk(&self) -> &<X25519HkdfSha256 as Kem>::PrivateKey {
        &self.x25519_sk
    }

    pub(crate) fn xwing_sk(&self) -> &<XWing as Kem>::PrivateKey {
        &self.xwing_sk
    }

    /// The secrets file: versioned JSON, keys encrypted under an Argon2id-derived key.
    pub fn encrypt(
        &self,
        passphrase: &str,
        params: KdfParams,
        rng: &mut impl CryptoRng,
    ) -> Vec<u8> {
        encrypt_file(
            NODE_KIND,
            self.seed_bytes().as_ref(),
            passphrase,
            params,
            rng,
        )
    }

    pub fn decrypt(bytes: &[u8], passphrase: &str) -> Result<NodeSecrets, SealError> {
        let plain = decrypt_file(NODE_KIND, bytes, passphrase)?;
        let seeds: Zeroizing<[u8; 128]> = Zeroizing::new(
            plain
                .as_slice()
                .try_into()
                .map_err(|_| SealError::BadSecretsFile("node secrets must be 128 bytes".into()))?,
        );
        Ok(Self::from_seed_bytes(&seeds))
    }
}

/// The federation root's signing key, which signs trust lists.
pub struct FederationRoot {
    key: SigningKey,
}

impl std::fmt::Debug for FederationRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FederationRoot({})", crate::key_id(&self.public()))
    }
}

impl FederationRoot {
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        Self {
            key: SigningKey::from_bytes(&seed),
        }
    }

    pub fn public(&self) -> PublicKey {
        public_of(&self.key)
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    pub fn encrypt(
        &self,
        passphrase: &str,
        params: KdfParams,
        rng: &mut impl CryptoRng,
    ) -> Vec<u8> {
        encrypt_file(ROOT_KIND, &self.key.to_bytes(), passphrase, params, rng)
    }

    pub fn decrypt(bytes: &[u8], passphrase: &str) -> Result<FederationRoot, SealError> {
        let plain = decrypt_file(ROOT_KIND, bytes, passphrase)?;
        let seed: Zeroizing<[u8; 32]> =
            Zeroizing::new(plain.as_slice().try_into().map_err(|_| {
                SealError::BadSecretsFile("a federation root key must be 32 bytes".into())
            })?);
        Ok(Self {
            key: SigningKey::from_bytes(&seed),
        })
    }
}

fn header_value(kind: &str, params: KdfParams, salt: &[u8], nonce: &[u8]) -> serde_json::Value {
    json!({
        "v": 1,
        "kind": kind,
        "kdf": {
            "alg": KDF_NAME,
            "m_cost_kib": params.m_cost_kib,
            "t_cost": params.t_cost,
            "p_cost": params.p_cost,
            "salt": b64(salt),
        },
        "aead": AEAD_NAME,
        "nonce": b64(nonce),
    })
}

fn derive_key(
    passphrase: &str,
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 32]>, SealError> {
    let bad =
        |e: argon2::Error| SealError::BadSecretsFile(format!("argon2id parameters refused: {e}"));
    let p = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(32)).map_err(bad)?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(passphrase.as_bytes(), salt, key.as_mut())
        .map_err(bad)?;
    Ok(key)
}

fn encrypt_file(
    kind: &str,
    secret: &[u8],
    passphrase: &str,
    params: KdfParams,
    rng: &mut impl CryptoRng,
) -> Vec<u8> {
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rng.fill_bytes(&mut salt);
    rng.fill_bytes(&mut nonce);
    let header = header_value(kind, params, &salt, &nonce);
    let aad = jcs(&header);
    // Parameters come from the caller's constants; a refused set is a programming error that the
    // file would carry anyway, so it surfaces on decrypt with the parameters named.
    let ciphertext = derive_key(passphrase, &salt, params)
        .ok()
        .and_then(|key| XChaCha20Poly1305::new_from_slice(key.as_ref()).ok())
        .and_then(|cipher| {
            cipher
                .encrypt(
                    &XNonce::from(nonce),
                    Payload {
                        msg: secret,
                        aad: &aad,
                    },
                )
                .ok()
        })
        .unwrap_or_default();
    let mut file = header;
    file["ciphertext"] = b64(&ciphertext).into();
    jcs(&file)
}

fn decrypt_file(
    kind: &str,
    bytes: &[u8],
    passphrase: &str,
) -> Result<Zeroizing<Vec<u8>>, SealError> {
    let value = parse_canonical(bytes, "secrets file").map_err(SealError::BadSecretsFile)?;
    let mut f = Fields::new(
        value,
        "secrets file",
        &["v", "kind", "kdf", "aead", "nonce", "ciphertext"],
    )
    .map_err(SealError::BadSecretsFile)?;
    let parsed = (|| -> Result<_, String> {
        let v = f.u64("v")?;
        let file_kind = f.str("kind")?;
        let aead = f.str("aead")?;
        let nonce = f.fixed::<24>("nonce")?;
        let ciphertext = f.bytes("ciphertext")?;
        let mut k = Fields::new(
            f.take("kdf")?,
            "kdf",
            &["alg", "m_cost_kib", "t_cost", "p_cost", "salt"],
        )?;
        let alg = k.str("alg")?;
        let to_u32 =
            |n: u64, name: &str| u32::try_from(n).map_err(|_| format!("kdf `{name}` is too large"));
        let params = KdfParams {
            m_cost_kib: to_u32(k.u64("m_cost_kib")?, "m_cost_kib")?,
            t_cost: to_u32(k.u64("t_cost")?, "t_cost")?,
            p_cost: to_u32(k.u64("p_cost")?, "p_cost")?,
        };
        let salt = k.bytes("salt")?;
        Ok((v, file_kind, aead, nonce, ciphertext, alg, params, salt))
    })()
    .map_err(SealError::BadSecretsFile)?;
    let (v, file_kind, aead, nonce, ciphertext, alg, params, salt) = parsed;
    if v != 1 {
        return Err(SealError::UnsupportedVersion {
            what: "secrets file",
            found: v,
        });
    }
    if file_kind != kind {
        return Err(SealError::BadSecretsFile(format!(
            "this file holds {file_kind:?}, expected {kind:?}"
        )));
    }
    if alg != KDF_NAME || aead != AEAD_NAME {
        return Err(SealError::BadSecretsFile(format!(
            "unsupported algorithms {alg}/{aead}"
        )));
    }
    if params.m_cost_kib > KdfParams::MAX_M_COST_KIB {
        return Err(SealError::BadSecretsFile(format!(
            "argon2id memory cost {} KiB is above the limit of {} KiB",
            params.m_cost_kib,
            KdfParams::MAX_M_COST_KIB
        )));
    }
    let aad = jcs(&header_value(kind, params, &salt, &nonce));
    let key = derive_key(passphrase, &salt, params)?;
    let cipher = XChaCha20Poly1305::new_from_slice(key.as_ref())
        .map_err(|_| SealError::BadSecretsFile("key length".into()))?;
    cipher
        .decrypt(
            &XNonce::from(nonce),
            Payload {
                msg: &ciphertext,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| SealError::WrongPassphrase)
}
