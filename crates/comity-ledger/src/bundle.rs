//! Proof files: a self-contained JSON document a court or peer verifies offline with the log's
//! verifier key (and optionally witness keys).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};

use crate::checkpoint::SignedCheckpoint;
use crate::entry::Entry;
use crate::error::{LedgerError, Result};
use crate::hash::{Hash, leaf_hash};
use crate::note::{NoteVerifier, VerifiedSignature};
use crate::proof::{verify_consistency, verify_inclusion};

/// Value of the `format` field of version-1 proof files.
pub const PROOF_FORMAT_V1: &str = "comity-ledger-proof/v1";

/// A proof file. `checkpoint` fields hold signed checkpoint notes verbatim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofBundle {
    pub format: String,
    #[serde(flatten)]
    pub proof: ProofBody,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ProofBody {
    /// Entry number `index` is in the tree of `checkpoint`.
    Inclusion {
        checkpoint: String,
        index: u64,
        /// The entry bytes, base64; the leaf hash is computed from them.
        entry: String,
        proof: Vec<Hash>,
    },
    /// The tree of `checkpoint` extends the tree of `old_checkpoint`.
    Consistency {
        old_checkpoint: String,
        checkpoint: String,
        proof: Vec<Hash>,
    },
}

/// What a verified proof file establishes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedProof {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// For inclusion: the index, leaf hash and the entry (decoded when it is a Comity entry).
    pub index: Option<u64>,
    pub leaf_hash: Option<Hash>,
    pub entry: Option<Entry>,
    /// For consistency: the older tree.
    pub old_size: Option<u64>,
    pub old_root: Option<Hash>,
    /// Witness cosignatures on `checkpoint` that verified.
    pub cosignatures: Vec<VerifiedSignature>,
}

impl ProofBundle {
    pub fn inclusion(
        checkpoint: &SignedCheckpoint,
        index: u64,
        entry: &[u8],
        proof: Vec<Hash>,
    ) -> Self {
        Self {
            format: PROOF_FORMAT_V1.to_owned(),
            proof: ProofBody::Inclusion {
                checkpoint: checkpoint.to_text(),
                index,
                entry: B64.encode(entry),
                proof,
            },
        }
    }

    pub fn consistency(old: &SignedCheckpoint, new: &SignedCheckpoint, proof: Vec<Hash>) -> Self {
        Self {
            format: PROOF_FORMAT_V1.to_owned(),
            proof: ProofBody::Consistency {
                old_checkpoint: old.to_text(),
                checkpoint: new.to_text(),
                proof,
            },
        }
    }

    pub fn from_json(bytes: &[u8]) -> Result<Self> {
        let b: Self =
            serde_json::from_slice(bytes).map_err(|e| LedgerError::ProofFile(e.to_string()))?;
        if b.format != PROOF_FORMAT_V1 {
            return Err(LedgerError::ProofFile(format!(
                "format is {:?}, expected {PROOF_FORMAT_V1:?}",
                b.format
            )));
        }
        Ok(b)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Verifies signatures (log key required; listed witnesses checked when present), then
    /// the proof itself.
    pub fn verify(&self, log: &NoteVerifier, witnesses: &[NoteVerifier]) -> Result<VerifiedProof> {
        match &self.proof {
            ProofBody::Inclusion {
                checkpoint,
                index,
                entry,
                proof,
            } => {
                let cp = SignedCheckpoint::open(checkpoint.as_bytes(), log)?;
                let bytes = B64
                    .decode(entry)
                    .map_err(|_| LedgerError::Base64 { what: "entry" })?;
                let leaf = leaf_hash(&bytes);
                verify_inclusion(
                    *index,
                    cp.checkpoint.size,
                    &leaf,
                    proof,
                    &cp.checkpoint.root,
                )?;
                Ok(VerifiedProof {
                    origin: cp.checkpoint.origin.clone(),
                    size: cp.checkpoint.size,
                    root: cp.checkpoint.root,
                    index: Some(*index),
                    leaf_hash: Some(leaf),
                    entry: Entry::parse(&bytes).ok(),
                    old_size: None,
                    old_root: None,
                    cosignatures: cp.cosignatures(witnesses)?,
                })
            }
            ProofBody::Consistency {
                old_checkpoint,
                checkpoint,
                proof,
            } => {
                let old = SignedCheckpoint::open(old_checkpoint.as_bytes(), log)?;
                let cp = SignedCheckpoint::open(checkpoint.as_bytes(), log)?;
                let (o, n) = (&old.checkpoint, &cp.checkpoint);
                verify_consistency(o.size, n.size, proof, &o.root, &n.root)?;
                Ok(VerifiedProof {
                    origin: n.origin.clone(),
                    size: n.size,
                    root: n.root,
                    index: None,
                    leaf_hash: None,
                    entry: None,
                    old_size: Some(o.size),
                    old_root: Some(o.root),
                    cosignatures: cp.cosignatures(witnesses)?,
                })
            }
        }
    }
}
