//! One error type for the crate; every variant has a stable `code()`.

use thiserror::Error;

use crate::digest::Sha256Digest;

pub type Result<T, E = EvidenceError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum EvidenceError {
    #[error("blob {0} is not in the vault")]
    NotFound(Sha256Digest),
    #[error("stored blob {blob} is malformed: {reason}")]
    BlobFormat { blob: String, reason: String },
    #[error(
        "blob {blob} was encrypted under another node key (wrap key id {key_id}): re-wrap it with the key that stored it"
    )]
    WrongWrapKey { blob: String, key_id: String },
    #[error("chunk {index} of {blob} does not decrypt: the stored object was altered or truncated")]
    ChunkDecrypt { blob: String, index: u64 },
    /// A stored blob failed its integrity check while it was read: nothing after the last good
    /// chunk was returned.
    #[error(
        "stored evidence {blob} fails its integrity check{}: {reason}. The stored object was altered, swapped or damaged; restore it from a backup or add the original file again",
        chunk.map(|i| format!(" at chunk {i}")).unwrap_or_default()
    )]
    Tampered {
        blob: String,
        chunk: Option<u64>,
        reason: String,
    },
    #[error("chunk {index} is out of range: the blob has {chunks} chunks")]
    ChunkRange { index: u64, chunks: u64 },
    #[error("chunk {index} refused: {reason}")]
    ChunkRefused { index: u64, reason: String },
    #[error("digest mismatch: expected sha256:{expected}, got sha256:{actual}; nothing was kept")]
    DigestMismatch {
        expected: Sha256Digest,
        actual: Sha256Digest,
    },
    #[error("transfer incomplete: {missing} of {chunks} chunks still missing")]
    Incomplete { missing: u64, chunks: u64 },
    #[error("invalid chunk size {0}: must be between 1 KiB and 16 MiB")]
    ChunkSize(u64),
    #[error("storage error: {0}")]
    Storage(String),
    #[error("I/O error reading the source: {0}")]
    Source(String),
    #[error("invalid digest {0:?}: expected 64 lowercase hex digits, optionally after `sha256:`")]
    BadDigest(String),
    #[error("invalid custody event: {0}")]
    EventFormat(String),
    #[error("custody event signature does not verify against the key of {0}")]
    EventSignature(String),
    #[error("custody chain broken at event {index}: {reason}")]
    Chain { index: usize, reason: String },
    #[error("refused by use condition {condition}: {reason}")]
    ConditionRefused { condition: String, reason: String },
    #[error("invalid package: {0}")]
    PackageFormat(String),
    #[error("package file error: {0}")]
    PackageIo(String),
    #[error(
        "package entry {entry:?} refused: {reason}; package entries are named A-Z a-z 0-9 . _ - in folders separated by /"
    )]
    PackageEntryName { entry: String, reason: String },
    #[error(
        "package entry {entry:?} refused: {reason}; an extractor could show either copy, so neither is read"
    )]
    PackageDuplicate { entry: String, reason: String },
    #[error("package entry {entry:?} refused: {reason}; a package holds only plain files")]
    PackageEntryType { entry: String, reason: String },
    #[error(
        "zip structure refused at {entry}: {reason}; verify the zip exactly as the node exported it, or a folder extracted from it"
    )]
    PackageZipLayout { entry: String, reason: String },
    #[error("package entry {entry:?} refused: {reason}")]
    PackageTooLarge { entry: String, reason: String },
    #[error("{0} is listed by the signed index but missing from the package")]
    PackageMissing(String),
    #[error(transparent)]
    Ledger(#[from] comity_ledger::LedgerError),
}

impl EvidenceError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "evidence.not_found",
            Self::BlobFormat { .. } => "evidence.blob_format",
            Self::WrongWrapKey { .. } => "evidence.wrong_wrap_key",
            Self::ChunkDecrypt { .. } => "evidence.chunk_decrypt",
            Self::Tampered { .. } => "evidence.tampered",
            Self::ChunkRange { .. } => "evidence.chunk_range",
            Self::ChunkRefused { .. } => "evidence.chunk_refused",
            Self::DigestMismatch { .. } => "evidence.digest_mismatch",
            Self::Incomplete { .. } => "evidence.incomplete",
            Self::ChunkSize(_) => "evidence.chunk_size",
            Self::Storage(_) => "evidence.storage",
            Self::Source(_) => "evidence.source",
            Self::BadDigest(_) => "evidence.bad_digest",
            Self::EventFormat(_) => "evidence.event_format",
            Self::EventSignature(_) => "evidence.event_signature",
            Self::Chain { .. } => "evidence.chain",
            Self::ConditionRefused { .. } => "evidence.condition_refused",
            Self::PackageFormat(_) => "evidence.package_format",
            Self::PackageIo(_) => "evidence.package_io",
            Self::PackageEntryName { .. } => "evidence.package_entry_name",
            Self::PackageDuplicate { .. } => "evidence.package_duplicate",
            Self::PackageEntryType { .. } => "evidence.package_entry_type",
            Self::PackageZipLayout { .. } => "evidence.package_zip_layout",
            Self::PackageTooLarge { .. } => "evidence.package_too_large",
            Self::PackageMissing(_) => "evidence.package_missing",
            Self::Ledger(e) => e.code(),
        }
    }
}

impl From<object_store::Error> for EvidenceError {
    fn from(e: object_store::Error) -> Self {
        match e {
            object_store::Error::NotFound { path, .. } => {
                Self::Storage(format!("{path} not found"))
            }
            other => Self::Storage(other.to_string()),
        }
    }
}
