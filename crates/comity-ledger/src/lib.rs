//! Comity's ledger core: each node's tamper-evident, append-only Merkle log.
//!
//! Pure: no I/O, no clock, no randomness. Storage sits behind [`HashReader`]; time and keys are
//! passed in. Formats follow RFC 6962/9162 (hashing, proofs) and the C2SP specifications
//! signed-note, tlog-checkpoint, tlog-cosignature and tlog-tiles. See `docs/ledger.md`.

pub mod bundle;
pub mod checkpoint;
pub mod cosignature;
pub mod entry;
pub mod error;
pub mod hash;
pub mod memlog;
pub mod names;
pub mod note;
pub mod proof;
pub mod tile;
pub mod tree;
pub mod witness;

pub use bundle::{ProofBundle, VerifiedProof};
pub use checkpoint::{Checkpoint, SignedCheckpoint};
pub use cosignature::Cosigner;
pub use entry::{Entry, EntryKind};
pub use error::{LedgerError, Result};
pub use hash::{Hash, empty_root, leaf_hash, node_hash};
pub use memlog::MemoryLog;
pub use note::{KeyKind, Note, NoteSignature, NoteSigner, NoteVerifier, VerifiedSignature};
pub use proof::{verify_consistency, verify_inclusion};
pub use tile::TileId;
pub use tree::HashReader;
pub use witness::{Alarm, AlarmKind, WitnessDecision, witness, witness_from_tiles};
