//! Signed receipts: the recipient's proof that it received a given envelope at a given time.

use comity_model::{Header, MessageId, NodeId, Timestamp};
use serde_json::{Value, json};

use crate::encoding::{Fields, b64, jcs, parse_canonical, tbs};
use crate::keys::sign;
use crate::{Envelope, NodeSecrets, PublicKey, SealError, key_id};

/// Domain-separation context of receipt signatures.
pub const RECEIPT_CONTEXT: &str = "comity/v1/receipt";

const FIELDS: [&str; 9] = [
    "v",
    "message",
    "digest",
    "from",
    "to",
    "received_at",
    "log_index",
    "signer",
    "signature",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub message: MessageId,
    /// [`Envelope::digest`] of the envelope's wire bytes.
    pub digest: [u8; 32],
    /// The recipient, who signs.
    pub from: NodeId,
    /// The sender of the message.
    pub to: NodeId,
    pub received_at: Timestamp,
    /// The recipient's ledger index for the message, once it has one.
    pub log_index: Option<u64>,
    /// [`key_id`] of the recipient's signing key.
    pub signer: String,
    pub signature: [u8; 64],
}

impl Receipt {
    pub fn sign(
        recipient: &NodeSecrets,
        message: MessageId,
        digest: [u8; 32],
        from: NodeId,
        to: NodeId,
        received_at: Timestamp,
        log_index: Option<u64>,
    ) -> Receipt {
        let mut receipt = Receipt {
            message,
            digest,
            from,
            to,
            received_at,
            log_index,
            signer: key_id(&recipient.signing_public()),
            signature: [0; 64],
        };
        receipt.signature = sign(recipient.signing_key(), &receipt.signed_bytes());
        receipt
    }

    /// The receipt for an envelope received as `wire_bytes` with this `header`.
    pub fn for_envelope(
        recipient: &NodeSecrets,
        header: &Header,
        wire_bytes: &[u8],
        received_at: Timestamp,
        log_index: Option<u64>,
    ) -> Receipt {
        Receipt::sign(
            recipient,
            header.id,
            Envelope::digest(wire_bytes),
            header.to.clone(),
            header.from.clone(),
            received_at,
            log_index,
        )
    }

    fn unsigned_value(&self) -> Value {
        json!({
            "v": 1,
            "message": self.message,
            "digest": b64(&self.digest),
            "from": self.from,
            "to": self.to,
            "received_at": self.received_at,
            "log_index": self.log_index,
            "signer": self.signer,
        })
    }

    /// The bytes the signature covers: every field but `signature`.
    pub fn signed_bytes(&self) -> Vec<u8> {
        tbs(RECEIPT_CONTEXT, &[&jcs(&self.unsigned_value())])
    }

    /// Checks that the receipt is for `expected_digest` and signed by one of the recipient's keys.
    pub fn verify(
        &self,
        recipient_keys: &[PublicKey],
        expected_digest: &[u8; 32],
    ) -> Result<(), SealError> {
        if self.digest != *expected_digest {
            return Err(SealError::ReceiptMismatch(format!(
                "digest {} differs from the envelope's {}",
                hex::encode(self.digest),
                hex::encode(expected_digest)
            )));
        }
        let mut candidates = recipient_keys
            .iter()
            .filter(|k| key_id(k) == self.signer)
            .peekable();
        if candidates.peek().is_none() {
            return Err(SealError::UnknownSigner {
                node: self.from.to_string(),
                signer: self.signer.clone(),
            });
        }
        let signed = self.signed_bytes();
        if candidates.any(|k| k.verify(&signed, &self.signature)) {
            Ok(())
        } else {
            Err(SealError::BadReceiptSignature(self.signer.clone()))
        }
    }

    /// Everything a sender checks on the receipt for the envelope it sent as `wire_bytes`: the
    /// digest, the message id, that it comes from the addressee and is meant for the sender, and
    /// the signature.
    pub fn verify_for(
        &self,
        header: &Header,
        wire_bytes: &[u8],
        recipient_keys: &[PublicKey],
    ) -> Result<(), SealError> {
        if self.message != header.id || self.from != header.to || self.to != header.from {
            return Err(SealError::ReceiptMismatch(format!(
                "receipt for message {} from {} to {} does not answer message {} from {} to {}",
                self.message, self.from, self.to, header.id, header.from, header.to
            )));
        }
        self.verify(recipient_keys, &Envelope::digest(wire_bytes))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut value = self.unsigned_value();
        value["signature"] = b64(&self.signature).into();
        jcs(&value)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Receipt, SealError> {
        let bad = SealError::MalformedReceipt;
        let value = parse_canonical(bytes, "receipt").map_err(bad)?;
        let mut f = Fields::new(value, "receipt", &FIELDS).map_err(bad)?;
        let v = f.u64("v").map_err(bad)?;
        if v != 1 {
            return Err(SealError::UnsupportedVersion {
                what: "receipt",
                found: v,
            });
        }
        let log_index = match f.take("log_index").map_err(bad)? {
            Value::Null => None,
            n => Some(n.as_u64().filter(|n| *n < (1 << 53)).ok_or_else(|| {
                bad("field `log_index` in receipt must be null or an integer below 2^53".into())
            })?),
        };
        Ok(Receipt {
            message: f.parse("message").map_err(bad)?,
            digest: f.fixed::<32>("digest").map_err(bad)?,
            from: f.parse("from").map_err(bad)?,
            to: f.parse("to").map_err(bad)?,
            received_at: f.parse("received_at").map_err(bad)?,
            log_index,
            signer: f.str("signer").map_err(bad)?,
            signature: f.fixed::<64>("signature").map_err(bad)?,
        })
    }
}
