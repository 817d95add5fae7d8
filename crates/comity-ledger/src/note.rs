//! C2SP signed notes: text signed by one or more keys, Ed25519 key ids and verifier keys.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{LedgerError, Result};

/// Signature type byte of plain Ed25519 note signatures.
pub const SIG_TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 checkpoint cosignatures (tlog-cosignature).
pub const SIG_TYPE_COSIGNATURE_V1: u8 = 0x04;
/// More signatures than this make a note refused; the specification requires at least 16.
pub const MAX_SIGNATURES: usize = 64;
/// Larger notes are refused before parsing.
pub const MAX_NOTE_BYTES: usize = 1 << 20;

const SIG_PREFIX: &str = "\u{2014} ";

/// Key id: the first four bytes, big-endian, of SHA-256(name || 0x0A || type || public key).
pub fn key_id(name: &str, sig_type: u8, public_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', sig_type]);
    h.update(public_key);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Key names (and checkpoint origins used as key names) are non-empty, without Unicode
/// spaces, `+`, or control characters.
pub fn check_key_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(LedgerError::KeyName(name.to_owned()));
    }
    Ok(())
}

/// One signature line: `— <name> base64(key id || signature)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: u32,
    /// The bytes after the key id (for cosignatures: timestamp then Ed25519 signature).
    pub signature: Vec<u8>,
}

impl NoteSignature {
    pub fn to_line(&self) -> String {
        let mut blob = Vec::with_capacity(4 + self.signature.len());
        blob.extend_from_slice(&self.key_id.to_be_bytes());
        blob.extend_from_slice(&self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(blob))
    }

    /// Parses one line without its final newline.
    pub fn parse_line(line: &str) -> Result<Self> {
        let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(|| {
            LedgerError::NoteFormat(format!(
                "signature line does not start with an em dash: {line:?}"
            ))
        })?;
        let (name, b64) = rest.split_once(' ').ok_or_else(|| {
            LedgerError::NoteFormat(format!("signature line has no signature: {line:?}"))
        })?;
        check_key_name(name)?;
        let blob = B64.decode(b64).map_err(|_| LedgerError::Base64 {
            what: "note signature",
        })?;
        let (id, sig) = blob.split_at_checked(4).ok_or_else(|| {
            LedgerError::NoteFormat(format!("signature by {name} is shorter than a key id"))
        })?;
        if sig.is_empty() {
            return Err(LedgerError::NoteFormat(format!(
                "signature by {name} is empty"
            )));
        }
        let key_id = u32::from_be_bytes([id[0], id[1], id[2], id[3]]);
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signature: sig.to_vec(),
        })
    }
}

/// A note: its text (ending in a newline) and its signature lines. Not yet verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub text: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    /// Parses a signed note; no signature is checked here (see [`Note::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_NOTE_BYTES {
            return Err(LedgerError::NoteFormat(format!(
                "note is {} bytes, more than {MAX_NOTE_BYTES}",
                bytes.len()
            )));
        }
        let s = std::str::from_utf8(bytes)
            .map_err(|_| LedgerError::NoteFormat("note is not valid UTF-8".into()))?;
        if s.chars().any(|c| c.is_ascii_control() && c != '\n') {
            return Err(LedgerError::NoteFormat(
                "note contains a control character other than newline".into(),
            ));
        }
        if !s.ends_with('\n') {
            return Err(LedgerError::NoteFormat(
                "note does not end with a newline".into(),
            ));
        }
        let split = s.rfind("\n\n").ok_or_else(|| {
            LedgerError::NoteFormat("note has no blank line before its signatures".into())
        })?;
        let text = &s[..=split];
        let sig_block = &s[split + 2..];
        let signatures = sig_block
            .lines()
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>>>()?;
        if signatures.is_empty() {
            return Err(LedgerError::NoteFormat(
                "note has no signature lines".into(),
            ));
        }
        if signatures.len() > MAX_SIGNATURES {
            return Err(LedgerError::NoteFormat(format!(
                "note has {} signatures, more than {MAX_SIGNATURES}",
                signatures.len()
            )));
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The note as served: text, blank line, one line per signature.
    pub fn to_text(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for sig in &self.signatures {
            out.push_str(&sig.to_line());
        }
        out
    }

    /// Applies the signed-note rules: signatures whose (name, key id) match no known verifier are
    /// ignored; a known signature that fails rejects the whole note; at least one must verify.
    pub fn verify(&self, verifiers: &[NoteVerifier]) -> Result<Vec<VerifiedSignature>> {
        let mut ok = Vec::new();
        for sig in &self.signatures {
            let Some(v) = verifiers
                .iter()
                .find(|v| v.name == sig.name && v.key_id == sig.key_id)
            else {
                continue;
            };
            ok.push(v.verify(&self.text, sig)?);
        }
        if ok.is_empty() {
            let names: Vec<String> = verifiers.iter().map(|v| v.to_vkey()).collect();
            return Err(LedgerError::NoteUnverified(format!(
                "expected one of: {}",
                names.join(", ")
            )));
        }
        Ok(ok)
    }
}

/// A signature that verified, with the cosignature timestamp when it is one.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VerifiedSignature {
    pub name: String,
    pub key_id: u32,
    pub timestamp: Option<u64>,
}

/// Which statement a verifier key checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// Plain Ed25519 signature over the note text (type 0x01): the log's own key.
    Ed25519,
    /// tlog-cosignature/v1: timestamped Ed25519 over `cosignature/v1` + time + note text (0x04).
    CosignatureV1,
}

impl KeyKind {
    fn type_byte(self) -> u8 {
        match self {
            Self::Ed25519 => SIG_TYPE_ED25519,
            Self::CosignatureV1 => SIG_TYPE_COSIGNATURE_V1,
        }
    }
}

/// A public key that checks note signatures, written as a vkey `name+hex(key id)+base64(type || key)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    kind: KeyKind,
    key: VerifyingKey,
}

impl NoteVerifier {
    pub fn new(name: &str, kind: KeyKind, key: VerifyingKey) -> Result<Self> {
        check_key_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, kind.type_byte(), key.as_bytes()),
            kind,
            key,
        })
    }

    /// Parses a vkey. The key id must be the one computed from name, type and key, so a vkey
    /// with a wrong name or a wrong id is refused here rather than silently never matching.
    pub fn parse(vkey: &str) -> Result<Self> {
        let vkey = vkey.trim();
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(id_hex), Some(b64)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LedgerError::VerifierKey(format!(
                "{vkey:?} is not name+keyid+key"
            )));
        };
        check_key_name(name)?;
        // Lowercase only, as every vkey is written: one key has one spelling.
        let lower_hex = |b: u8| b.is_ascii_digit() || (b'a'..=b'f').contains(&b);
        if id_hex.len() != 8 || !id_hex.bytes().all(lower_hex) {
            return Err(LedgerError::VerifierKey(format!(
                "key id {id_hex:?} is not 8 lowercase hex digits"
            )));
        }
        let id = u32::from_str_radix(id_hex, 16)
            .map_err(|_| LedgerError::VerifierKey(format!("key id {id_hex:?} is not hex")))?;
        let blob = B64.decode(b64).map_err(|_| LedgerError::Base64 {
            what: "verifier key",
        })?;
        let (kind, key) = match blob.split_first() {
            Some((&SIG_TYPE_ED25519, k)) => (KeyKind::Ed25519, k),
            Some((&SIG_TYPE_COSIGNATURE_V1, k)) => (KeyKind::CosignatureV1, k),
            Some((t, _)) => {
                return Err(LedgerError::VerifierKey(format!(
                    "signature type 0x{t:02x} is not supported (Ed25519 0x01 or cosignature 0x04)"
                )));
            }
            None => return Err(LedgerError::VerifierKey("key material is empty".into())),
        };
        let key: [u8; 32] = key.try_into().map_err(|_| {
            LedgerError::VerifierKey(format!("Ed25519 key is {} bytes, expected 32", key.len()))
        })?;
        let key = VerifyingKey::from_bytes(&key)
            .map_err(|_| LedgerError::VerifierKey("not a valid Ed25519 public key".into()))?;
        let v = Self::new(name, kind, key)?;
        if v.key_id != id {
            return Err(LedgerError::VerifierKey(format!(
                "key id {id:08x} does not match name {name:?} and key (expected {:08x})",
                v.key_id
            )));
        }
        Ok(v)
    }

    pub fn to_vkey(&self) -> String {
        let mut blob = vec![self.kind.type_byte()];
        blob.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.key_id, B64.encode(blob))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Checks one signature on `text` (the note text including its final newline).
    /// Ed25519 is verified strictly (canonical encodings, no small-order keys).
    pub fn verify(&self, text: &str, sig: &NoteSignature) -> Result<VerifiedSignature> {
        let bad = || LedgerError::NoteBadSignature {
            name: sig.name.clone(),
            key_id: sig.key_id,
        };
        if sig.name != self.name || sig.key_id != self.key_id {
            return Err(bad());
        }
        let (message, raw, timestamp) = match self.kind {
            KeyKind::Ed25519 => (text.as_bytes().to_vec(), sig.signature.as_slice(), None),
            KeyKind::CosignatureV1 => {
                let (ts, raw) = crate::cosignature::split(&sig.signature)?;
                (crate::cosignature::message(ts, text), raw, Some(ts))
            }
        };
        let raw: [u8; 64] = raw.try_into().map_err(|_| bad())?;
        self.key
            .verify_strict(&message, &Signature::from_bytes(&raw))
            .map_err(|_| bad())?;
        Ok(VerifiedSignature {
            name: sig.name.clone(),
            key_id: sig.key_id,
            timestamp,
        })
    }
}

/// The log's note signing key (Ed25519, type 0x01). The node keeps the seed; it is passed in.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
    verifier: NoteVerifier,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "NoteSigner({})", self.verifier.to_vkey())
    }
}

impl NoteSigner {
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self> {
        let key = SigningKey::from_bytes(seed);
        let verifier = NoteVerifier::new(name, KeyKind::Ed25519, key.verifying_key())?;
        Ok(Self {
            name: name.to_owned(),
            key,
            verifier,
        })
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Signs note text (which must end in a newline to form a valid note).
    pub fn sign(&self, text: &str) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: self.verifier.key_id,
            signature: self.key.sign(text.as_bytes()).to_bytes().to_vec(),
        }
    }
}
