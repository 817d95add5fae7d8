//! Sealed messages: wire format v1.

use comity_model::{Body, Header, ModelError, SCHEMA_VERSION};
use rand_core::CryptoRng;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::encoding::{Fields, b64, jcs, parse_canonical, tbs};
use crate::keys::sign;
use crate::{
    Descriptor, HpkePublicKey, NodeSecrets, PublicKey, SealError, Suite, hpke_suite, key_id,
};

/// Domain-separation context of the outer signature.
pub const OUTER_CONTEXT: &str = "comity/v1/envelope-outer";
/// Domain-separation context of the inner (message) signature.
pub const INNER_CONTEXT: &str = "comity/v1/message";
/// The wire version written in every envelope's `v`.
pub const WIRE_VERSION: u64 = 1;

const FIELDS: [&str; 7] = [
    "v",
    "header",
    "suite",
    "signer",
    "enc",
    "ciphertext",
    "signature",
];

/// A sealed message as it travels: clear header, HPKE ciphertext, outer signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub header: Header,
    pub suite: Suite,
    /// [`key_id`] of the sender's signing key.
    pub signer: String,
    pub enc: Vec<u8>,
    pub ciphertext: Vec<u8>,
    pub signature: [u8; 64],
}

impl Envelope {
    /// Canonical wire bytes: RFC 8785 JSON with `"v":1`.
    pub fn to_bytes(&self) -> Vec<u8> {
        jcs(&json!({
            "v": WIRE_VERSION,
            "header": self.header,
            "suite": self.suite.as_str(),
            "signer": self.signer,
            "enc": b64(&self.enc),
            "ciphertext": b64(&self.ciphertext),
            "signature": b64(&self.signature),
        }))
    }

    /// Reads wire bytes strictly: canonical JSON only, no unknown or missing field, exact lengths.
    pub fn from_bytes(bytes: &[u8]) -> Result<Envelope, SealError> {
        let malformed = SealError::MalformedEnvelope;
        let value = parse_canonical(bytes, "envelope").map_err(malformed)?;
        let mut f = Fields::new(value, "envelope", &FIELDS).map_err(malformed)?;
        let v = f.u64("v").map_err(malformed)?;
        if v != WIRE_VERSION {
            return Err(SealError::UnsupportedVersion {
                what: "envelope",
                found: v,
            });
        }
        let header =
            Header::from_json(&f.take("header").map_err(malformed)?).map_err(|e| match e {
                ModelError::MalformedBody { reason, .. } => malformed(format!("header: {reason}")),
                other => SealError::Model(other),
            })?;
        let suite: Suite = f.str("suite").map_err(malformed)?.parse()?;
        let signer = f.str("signer").map_err(malformed)?;
        if signer.len() != 16
            || !signer
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(malformed(format!(
                "signer {signer:?} is not a key id (16 lower-case hex digits)"
            )));
        }
        let enc = f.bytes("enc").map_err(malformed)?;
        if enc.len() != suite.enc_len() {
            return Err(malformed(format!(
                "enc is {} bytes, {suite} needs {}",
                enc.len(),
                suite.enc_len()
            )));
        }
        let ciphertext = f.bytes("ciphertext").map_err(malformed)?;
        if ciphertext.len() < 16 {
            return Err(malformed(
                "ciphertext is shorter than its 16-byte tag".into(),
            ));
        }
        let signature = f.fixed::<64>("signature").map_err(malformed)?;
        let env = Envelope {
            header,
            suite,
            signer,
            enc,
            ciphertext,
            signature,
        };
        // A field left out (`in_reply_to` read as null) would give one envelope two spellings.
        if env.to_bytes() != bytes {
            return Err(malformed(
                "envelope is not the encoding of its fields (a field is left out)".into(),
            ));
        }
        Ok(env)
    }

    /// SHA-256 of the wire bytes: the message digest that receipts sign.
    pub fn digest(bytes: &[u8]) -> [u8; 32] {
        Sha256::digest(bytes).into()
    }

    /// The bytes the outer signature covers.
    pub fn outer_signed_bytes(&self) -> Vec<u8> {
        outer_tbs(
            &jcs(&self.header),
            self.suite,
            &self.signer,
            &self.enc,
            &self.ciphertext,
        )
    }
}

fn outer_tbs(header: &[u8], suite: Suite, signer: &str, enc: &[u8], ciphertext: &[u8]) -> Vec<u8> {
    tbs(
        OUTER_CONTEXT,
        &[
            header,
            suite.as_str().as_bytes(),
            signer.as_bytes(),
            enc,
            ciphertext,
        ],
    )
}

fn inner_tbs(header: &[u8], body: &[u8]) -> Vec<u8> {
    tbs(INNER_CONTEXT, &[header, body])
}

/// Seals `body` to `recipient` with the first suite of its list that this build supports.
pub fn seal(
    sender: &NodeSecrets,
    recipient: &Descriptor,
    header: Header,
    body: &Body,
    rng: &mut impl CryptoRng,
) -> Result<Envelope, SealError> {
    if header.to != recipient.node {
        return Err(SealError::MalformedEnvelope(format!(
            "header is addressed to {} but the recipient descriptor is {}",
            header.to, recipient.node
        )));
    }
    let (suite, key) = recipient.preferred_suite().ok_or_else(|| {
        let offered: Vec<&str> = recipient
            .hpke_keys
            .iter()
            .map(|k| k.suite.as_str())
            .collect();
        SealError::UnsupportedSuite(offered.join(", "))
    })?;
    seal_with(sender, suite, &key.key, header, body, rng)
}

/// Seals with a given suite and recipient key.
pub fn seal_with(
    sender: &NodeSecrets,
    suite: Suite,
    recipient_key: &HpkePublicKey,
    header: Header,
    body: &Body,
    rng: &mut impl CryptoRng,
) -> Result<Envelope, SealError> {
    check_header_body(&header, body)?;
    let header_bytes = jcs(&header);
    let body_value = body.to_json();
    let inner = sign(
        sender.signing_key(),
        &inner_tbs(&header_bytes, &jcs(&body_value)),
    );
    let plaintext = jcs(&json!({ "body": body_value, "signature": b64(&inner) }));
    let (enc, ciphertext) = hpke_suite::seal(
        suite,
        recipient_key.as_bytes(),
        &header_bytes,
        &plaintext,
        rng,
    )?;
    let signer = key_id(&sender.signing_public());
    let signature = sign(
        sender.signing_key(),
        &outer_tbs(&header_bytes, suite, &signer, &enc, &ciphertext),
    );
    Ok(Envelope {
        header,
        suite,
        signer,
        enc,
        ciphertext,
        signature,
    })
}

fn check_header_body(header: &Header, body: &Body) -> Result<(), SealError> {
    if header.schema != SCHEMA_VERSION {
        return Err(ModelError::UnsupportedSchema {
            found: header.schema,
            supported: SCHEMA_VERSION,
        }
        .into());
    }
    if body.kind() != header.kind {
        return Err(ModelError::MalformedBody {
            kind: header.kind.as_str().to_owned(),
            reason: format!(
                "the header says {} but the body is {}",
                header.kind,
                body.kind()
            ),
        }
        .into());
    }
    body.validate()?;
    Ok(())
}

/// Checks the outer signature against the sender's keys whose id matches `env.signer`, before any
/// decryption. Returns the key that verified.
pub fn verify_outer(env: &Envelope, sender_keys: &[PublicKey]) -> Result<PublicKey, SealError> {
    let mut candidates = sender_keys
        .iter()
        .filter(|k| key_id(k) == env.signer)
        .peekable();
    if candidates.peek().is_none() {
        return Err(SealError::UnknownSigner {
            node: env.header.from.to_string(),
            signer: env.signer.clone(),
        });
    }
    let signed = env.outer_signed_bytes();
    candidates
        .find(|k| k.verify(&signed, &env.signature))
        .copied()
        .ok_or_else(|| SealError::BadOuterSignature(env.signer.clone()))
}

/// The bytes the inner signature covers: `TBS("comity/v1/message", JCS(header), body)`, where
/// `body` is the body's canonical JSON as signed. Anyone holding the sender's public key can
/// rebuild them from the stored header and body, without any decryption key.
pub fn inner_signed_bytes(header: &Header, body_bytes: &[u8]) -> Vec<u8> {
    inner_tbs(&jcs(header), body_bytes)
}

/// The canonical JSON (RFC 8785) of a header: the header bytes both signatures cover.
pub fn canonical_header(header: &Header) -> Vec<u8> {
    jcs(header)
}

/// The canonical JSON (RFC 8785) of a message body: the body bytes the inner signature covers.
pub fn canonical_body(body: &Body) -> Vec<u8> {
    jcs(&body.to_json())
}

/// The inner signature `seal` puts inside the envelope for this header and body. Ed25519
/// signatures are deterministic (RFC 8032), so a sender that keeps it can later show what it
/// signed, exactly as the recipient received it.
pub fn sign_inner(sender: &NodeSecrets, header: &Header, body: &Body) -> [u8; 64] {
    sign(
        sender.signing_key(),
        &inner_signed_bytes(header, &canonical_body(body)),
    )
}

/// Checks a kept inner signature: `signature` over `header` and `body_bytes` by the sender's key
/// whose id is `signer` (the envelope's `signer`). Returns the key that verified. This is how a
/// stored message is checked after it was opened, by the recipient or by a third party.
pub fn verify_inner(
    header: &Header,
    body_bytes: &[u8],
    signature: &[u8; 64],
    signer: &str,
    sender_keys: &[PublicKey],
) -> Result<PublicKey, SealError> {
    let mut candidates = sender_keys
        .iter()
        .filter(|k| key_id(k) == signer)
        .peekable();
    if candidates.peek().is_none() {
        return Err(SealError::UnknownSigner {
            node: header.from.to_string(),
            signer: signer.to_owned(),
        });
    }
    let signed = inner_signed_bytes(header, body_bytes);
    candidates
        .find(|k| k.verify(&signed, signature))
        .copied()
        .ok_or_else(|| SealError::BadInnerSignature(signer.to_owned()))
}

/// What a recipient keeps of an opened message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    pub header: Header,
    pub body: Body,
    /// The body's canonical JSON, exactly the bytes the inner signature covers with the header.
    pub body_bytes: Vec<u8>,
    pub inner_signature: [u8; 64],
    /// The sender key that made both signatures.
    pub signer: PublicKey,
}

impl Opened {
    /// The bytes the inner signature covers, for anyone re-checking a stored message later.
    pub fn inner_signed_bytes(&self) -> Vec<u8> {
        inner_signed_bytes(&self.header, &self.body_bytes)
    }
}

/// Verifies the outer signature, decrypts, verifies the inner signature with the same key, and
/// checks the body against the header's kind.
pub fn open(
    env: &Envelope,
    recipient: &NodeSecrets,
    sender_keys: &[PublicKey],
) -> Result<Opened, SealError> {
    let signer = verify_outer(env, sender_keys)?;
    let header_bytes = jcs(&env.header);
    let plaintext = hpke_suite::open(
        env.suite,
        recipient,
        &env.enc,
        &header_bytes,
        &env.ciphertext,
    )?;
    let bad = SealError::MalformedPlaintext;
    let value = parse_canonical(&plaintext, "plaintext").map_err(bad)?;
    let mut f = Fields::new(value, "plaintext", &["body", "signature"]).map_err(bad)?;
    let inner_signature = f.fixed::<64>("signature").map_err(bad)?;
    let body_value = f.take("body").map_err(bad)?;
    let body_bytes = jcs(&body_value);
    if !signer.verify(&inner_tbs(&header_bytes, &body_bytes), &inner_signature) {
        return Err(SealError::BadInnerSignature(env.signer.clone()));
    }
    let body = Body::from_json(env.header.kind, body_value)?;
    Ok(Opened {
        header: env.header.clone(),
        body,
        body_bytes,
        inner_signature,
        signer,
    })
}
