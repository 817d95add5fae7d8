//! Deterministic keys, descriptors and messages for tests.

use std::convert::Infallible;

use comity_model::{
    Body, Handling, Header, MessageId, MessageKind, Note, PreservationRequest, Timestamp,
};
use comity_seal::rand_core::{TryCryptoRng, TryRng};
use comity_seal::{Descriptor, NodeSecrets};
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

/// A reproducible byte stream: SHA-256(label || counter) blocks. Not secure; tests only.
pub struct DetRng {
    label: Vec<u8>,
    counter: u64,
    buf: Vec<u8>,
}

impl DetRng {
    pub fn new(label: &str) -> Self {
        Self {
            label: label.as_bytes().to_vec(),
            counter: 0,
            buf: Vec::new(),
        }
    }

    pub fn take(&mut self, n: usize) -> Vec<u8> {
        let mut out = vec![0; n];
        self.fill(&mut out);
        out
    }

    fn fill(&mut self, dst: &mut [u8]) {
        for b in dst {
            if self.buf.is_empty() {
                let mut h = Sha256::new();
                h.update(&self.label);
                h.update(self.counter.to_be_bytes());
                self.counter += 1;
                self.buf = h.finalize().to_vec();
                self.buf.reverse();
            }
            *b = self.buf.pop().unwrap_or(0);
        }
    }
}

impl TryRng for DetRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.fill(&mut b);
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.fill(&mut b);
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.fill(dst);
        Ok(())
    }
}

impl TryCryptoRng for DetRng {}

/// Yields exactly the given bytes, then zeros: lets a vector state the randomness it consumed.
pub struct FixedRng(pub Vec<u8>, pub usize);

impl TryRng for FixedRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for b in dst {
            *b = self.0.get(self.1).copied().unwrap_or(0);
            self.1 += 1;
        }
        Ok(())
    }
}

impl TryCryptoRng for FixedRng {}

/// The 128 secret bytes a node made from `label` is built from (see `docs/protocol.md`).
pub fn seeds(label: &str) -> Vec<u8> {
    DetRng::new(label).take(128)
}

pub fn node(label: &str) -> NodeSecrets {
    NodeSecrets::generate(&mut DetRng::new(label))
}

/// The Ed25519 signing key inside `node(label)`, for forging in tests.
pub fn raw_signing_key(label: &str) -> SigningKey {
    let s = seeds(label);
    SigningKey::from_bytes(&s[..32].try_into().unwrap())
}

pub fn raw_sign(label: &str, msg: &[u8]) -> [u8; 64] {
    raw_signing_key(label).sign(msg).to_bytes()
}

pub const T0: i64 = 1_795_000_000_000;

pub fn ts(offset_ms: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + offset_ms)
}

pub fn descriptor(secrets: &NodeSecrets, node: &str, jurisdiction: &str, port: u16) -> Descriptor {
    Descriptor::for_secrets(
        secrets,
        node.parse().unwrap(),
        jurisdiction.parse().unwrap(),
        vec!["24-7".parse().unwrap()],
        format!("{node} test node"),
        format!("https://127.0.0.1:{port}"),
        ts(0),
    )
}

pub fn header(from: &str, to: &str, kind: MessageKind, n: u8) -> Header {
    let id = MessageId::from_parts((T0 + i64::from(n)) as u64, [n; 10]);
    Header {
        id,
        from: from.parse().unwrap(),
        to: to.parse().unwrap(),
        kind,
        conversation: id,
        in_reply_to: None,
        sent_at: ts(i64::from(n)),
        schema: comity_model::SCHEMA_VERSION,
        handling: Handling::default(),
    }
}

pub fn note(text: &str) -> Body {
    Body::Note(Note {
        text: text.to_owned(),
    })
}

pub fn preservation() -> Body {
    Body::PreservationRequest(PreservationRequest {
        requesting_authority: "Algerian 24/7 point of contact, Ministry of Justice".into(),
        case_reference: "DZ-2026-0042".into(),
        offences: vec!["illegal-access".into()],
        facts: "Intrusion into a ministry mail server on 2026-11-20; \"exfiltration\" via a VPS in Paris.".into(),
        data: "Subscriber and connection logs for the VPS at 192.0.2.10, 2026-11-19 to 2026-11-21".into(),
        relation_to_offence: "The VPS received the exfiltrated mailboxes".into(),
        custodian_or_location: "Hosting provider, Roubaix, France".into(),
        necessity: "Logs are deleted after 30 days".into(),
        mla_to_follow: true,
        preservation_days: 90,
    })
}
