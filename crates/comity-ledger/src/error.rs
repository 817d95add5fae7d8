//! The one error type of the crate. Every variant has a stable `code()`.

/// Everything that can go wrong in the ledger core. Messages say what was wrong with the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("hash must be 32 bytes, got {0}")]
    HashLength(usize),
    #[error("invalid base64 in {what}")]
    Base64 { what: &'static str },
    #[error("leaf index {index} is not below tree size {size}")]
    IndexBeyondSize { index: u64, size: u64 },
    #[error("tree size {asked} was asked for, but the log has only {size} entries")]
    SizeBeyondLog { asked: u64, size: u64 },
    #[error("tree size {0} is too large for this implementation")]
    SizeTooLarge(u64),
    #[error("proof has {got} hashes, a proof for these sizes has {want}")]
    ProofLength { got: usize, want: usize },
    #[error("inclusion proof does not lead to the checkpoint's root hash")]
    InclusionMismatch,
    #[error("old tree size {old} is larger than new tree size {new}")]
    ConsistencyOrder { old: u64, new: u64 },
    #[error("a consistency proof from an empty tree proves nothing; refused")]
    ConsistencyFromEmpty,
    #[error("tree sizes are equal but the root hashes differ")]
    SameSizeRootsDiffer,
    #[error("consistency proof does not reproduce the old root hash")]
    ConsistencyOldRootMismatch,
    #[error("consistency proof does not reproduce the new root hash")]
    ConsistencyNewRootMismatch,
    #[error("the hash store has no hash at stored index {0}")]
    MissingHash(u64),
    #[error("the hash store returned {got} hashes for {want} requested indexes")]
    ReaderCount { got: usize, want: usize },
    #[error("hash store failed: {0}")]
    Storage(String),
    #[error("note is malformed: {0}")]
    NoteFormat(String),
    #[error("note has no valid signature from a known key ({0})")]
    NoteUnverified(String),
    #[error("note signature by {name} (key id {key_id:08x}) does not verify")]
    NoteBadSignature { name: String, key_id: u32 },
    #[error("verifier key is malformed: {0}")]
    VerifierKey(String),
    #[error("key name {0:?} is not allowed (it must be non-empty, without spaces or '+')")]
    KeyName(String),
    #[error("checkpoint is malformed: {0}")]
    CheckpointFormat(String),
    #[error("checkpoint origin is {got:?}, expected {want:?}")]
    OriginMismatch { got: String, want: String },
    #[error("cosignature is malformed: {0}")]
    CosignatureFormat(String),
    #[error("tile path is malformed: {0}")]
    TilePath(String),
    #[error("tile {path} has {got} bytes, expected {want}")]
    TileLength {
        path: String,
        got: usize,
        want: usize,
    },
    #[error("tile {path} does not match the tree: {reason}")]
    TileMismatch { path: String, reason: String },
    #[error("tile {0} is missing")]
    TileMissing(String),
    #[error("entry bundle is malformed: {0}")]
    BundleFormat(String),
    #[error("entry is malformed: {0}")]
    EntryFormat(String),
    #[error("entry is {0} bytes; entries are limited to 65535 bytes by tlog-tiles bundles")]
    EntryTooLarge(usize),
    #[error("alarm evidence does not show what it claims: {0}")]
    AlarmEvidence(String),
    #[error("proof file is malformed: {0}")]
    ProofFile(String),
}

impl LedgerError {
    /// A stable identifier for programs and translations; never changes once published.
    pub fn code(&self) -> &'static str {
        match self {
            Self::HashLength(_) => "ledger.hash_length",
            Self::Base64 { .. } => "ledger.base64",
            Self::IndexBeyondSize { .. } => "ledger.index_beyond_size",
            Self::SizeBeyondLog { .. } => "ledger.size_beyond_log",
            Self::SizeTooLarge(_) => "ledger.size_too_large",
            Self::ProofLength { .. } => "ledger.proof_length",
            Self::InclusionMismatch => "ledger.inclusion_mismatch",
            Self::ConsistencyOrder { .. } => "ledger.consistency_order",
            Self::ConsistencyFromEmpty => "ledger.consistency_from_empty",
            Self::SameSizeRootsDiffer => "ledger.same_size_roots_differ",
            Self::ConsistencyOldRootMismatch => "ledger.consistency_old_root_mismatch",
            Self::ConsistencyNewRootMismatch => "ledger.consistency_new_root_mismatch",
            Self::MissingHash(_) => "ledger.missing_hash",
            Self::ReaderCount { .. } => "ledger.reader_count",
            Self::Storage(_) => "ledger.storage",
            Self::NoteFormat(_) => "ledger.note_format",
            Self::NoteUnverified(_) => "ledger.note_unverified",
            Self::NoteBadSignature { .. } => "ledger.note_bad_signature",
            Self::VerifierKey(_) => "ledger.verifier_key",
            Self::KeyName(_) => "ledger.key_name",
            Self::CheckpointFormat(_) => "ledger.checkpoint_format",
            Self::OriginMismatch { .. } => "ledger.origin_mismatch",
            Self::CosignatureFormat(_) => "ledger.cosignature_format",
            Self::TilePath(_) => "ledger.tile_path",
            Self::TileLength { .. } => "ledger.tile_length",
            Self::TileMismatch { .. } => "ledger.tile_mismatch",
            Self::TileMissing(_) => "ledger.tile_missing",
            Self::BundleFormat(_) => "ledger.bundle_format",
            Self::EntryFormat(_) => "ledger.entry_format",
            Self::EntryTooLarge(_) => "ledger.entry_too_large",
            Self::AlarmEvidence(_) => "ledger.alarm_evidence",
            Self::ProofFile(_) => "ledger.proof_file",
        }
    }
}

pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
