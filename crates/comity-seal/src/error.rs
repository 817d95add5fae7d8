use comity_model::ModelError;
use thiserror::Error;

/// Everything that can be wrong with keys, descriptors, trust lists, envelopes and receipts.
///
/// Each variant has a stable [`code`](SealError::code); the table is in `docs/protocol.md`.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum SealError {
    #[error("malformed envelope: {0}")]
    MalformedEnvelope(String),
    #[error("unsupported wire version {found} in {what}: this node reads version 1")]
    UnsupportedVersion { what: &'static str, found: u64 },
    #[error("unsupported HPKE suite {0:?}: this node supports {supported}", supported = crate::Suite::names())]
    UnsupportedSuite(String),
    #[error(
        "outer signature does not verify against signer key {0}: the envelope was altered or forged"
    )]
    BadOuterSignature(String),
    #[error("inner signature over header and body does not verify against signer key {0}")]
    BadInnerSignature(String),
    #[error("signer key {signer} is not a current key of {node}: check the trust list")]
    UnknownSigner { node: String, signer: String },
    #[error("signer key {signer} of {node} was retired at {not_after}")]
    KeyRetired {
        node: String,
        signer: String,
        not_after: String,
    },
    #[error("decryption failed: the envelope was not sealed to this node's key, or was altered")]
    DecryptFailed,
    #[error("decrypted plaintext is malformed: {0}")]
    MalformedPlaintext(String),
    #[error("wrong passphrase (or the secrets file was altered)")]
    WrongPassphrase,
    #[error("secrets file is unreadable: {0}")]
    BadSecretsFile(String),
    #[error("invalid public key: {0}")]
    BadKey(String),
    #[error("invalid descriptor: {0}")]
    BadDescriptor(String),
    #[error("invalid trust list: {0}")]
    BadTrustList(String),
    #[error("malformed receipt: {0}")]
    MalformedReceipt(String),
    #[error("receipt signature does not verify against signer key {0}")]
    BadReceiptSignature(String),
    #[error("receipt is for another message: {0}")]
    ReceiptMismatch(String),
    #[error(transparent)]
    Model(#[from] ModelError),
}

impl SealError {
    /// Stable machine-readable code. A wrapped [`ModelError`] keeps its own code (for example
    /// `model.unknown_kind`), so a refused header names the precise problem.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedEnvelope(_) => "seal.malformed_envelope",
            Self::UnsupportedVersion { .. } => "seal.unsupported_version",
            Self::UnsupportedSuite(_) => "seal.unsupported_suite",
            Self::BadOuterSignature(_) => "seal.bad_outer_signature",
            Self::BadInnerSignature(_) => "seal.bad_inner_signature",
            Self::UnknownSigner { .. } => "seal.unknown_signer",
            Self::KeyRetired { .. } => "seal.key_retired",
            Self::DecryptFailed => "seal.decrypt_failed",
            Self::MalformedPlaintext(_) => "seal.malformed_plaintext",
            Self::WrongPassphrase => "seal.wrong_passphrase",
            Self::BadSecretsFile(_) => "seal.bad_secrets_file",
            Self::BadKey(_) => "seal.bad_key",
            Self::BadDescriptor(_) => "seal.bad_descriptor",
            Self::BadTrustList(_) => "seal.bad_trust_list",
            Self::MalformedReceipt(_) => "seal.malformed_receipt",
            Self::BadReceiptSignature(_) => "seal.bad_receipt_signature",
            Self::ReceiptMismatch(_) => "seal.receipt_mismatch",
            Self::Model(e) => e.code(),
        }
    }

    /// The wrapped domain error, when the problem was in the header or body.
    pub fn model(&self) -> Option<&ModelError> {
        match self {
            Self::Model(e) => Some(e),
            _ => None,
        }
    }
}
