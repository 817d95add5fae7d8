//! Witnessing, as a pure decision: given the last checkpoint a node has seen from a peer's log,
//! a new one and a consistency proof, cosign, ignore, or raise an alarm with evidence.

use serde::{Deserialize, Serialize};

use crate::checkpoint::SignedCheckpoint;
use crate::error::{LedgerError, Result};
use crate::hash::Hash;
use crate::note::NoteVerifier;
use crate::proof::{consistency_proof_len, consistency_roots};
use crate::tile::TileSet;
use crate::tree::{consistency_proof, tree_hash};

/// Version of the serialized [`Alarm`].
pub const ALARM_VERSION: u32 = 1;

/// What the witness should do with the new checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WitnessDecision {
    /// The new tree is the first seen, the same tree, or a proven extension: cosign it and
    /// remember it as the last checkpoint.
    Cosign,
    /// The new tree is proven to be a prefix of the last one seen: nothing to cosign (a
    /// cosignature states "the largest tree I have seen"), keep the last checkpoint.
    Older,
    /// The log signed two trees that cannot both be true. Store it; never clear it silently.
    Alarm(Alarm),
}

/// Which contradiction the evidence shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmKind {
    /// Two signed checkpoints of the same size with different roots.
    SameSizeDifferentRoots,
    /// The larger signed tree's own nodes (the proof rebuilds its signed root) give a different
    /// root for the smaller size than the smaller signed checkpoint: the smaller tree is not a
    /// prefix of the larger.
    NotAPrefix,
}

/// Evidence that a log forked: both signed checkpoints verbatim, and the proof nodes that
/// chain to the larger tree's signed root. Anyone with the log's key can re-check it with
/// [`Alarm::verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alarm {
    pub version: u32,
    pub kind: AlarmKind,
    pub origin: String,
    /// Signed checkpoint text with the smaller (or equal) tree size.
    pub smaller: String,
    /// Signed checkpoint text with the larger (or equal) tree size.
    pub larger: String,
    /// Consistency proof from `smaller` to `larger` as served by the log (empty for same size).
    pub proof: Vec<Hash>,
    /// For `not_a_prefix`: the root of the smaller size that the larger tree implies.
    pub implied_root: Option<Hash>,
}

impl Alarm {
    /// Re-checks the evidence from scratch: both checkpoints carry the log's valid signature
    /// and contradict each other as `kind` says.
    pub fn verify(&self, log: &NoteVerifier) -> Result<()> {
        let small = SignedCheckpoint::open(self.smaller.as_bytes(), log)?;
        let large = SignedCheckpoint::open(self.larger.as_bytes(), log)?;
        let (s, l) = (&small.checkpoint, &large.checkpoint);
        let holds = match self.kind {
            AlarmKind::SameSizeDifferentRoots => s.size == l.size && s.root != l.root,
            AlarmKind::NotAPrefix => {
                let (fr, sr) = implied_roots(s.size, l.size, &self.proof, &s.root)?;
                s.size < l.size && sr == l.root && fr != s.root
            }
        };
        if !holds {
            return Err(LedgerError::AlarmEvidence(format!(
                "{:?} between sizes {} and {}",
                self.kind, s.size, l.size
            )));
        }
        Ok(())
    }
}

/// Roots of the smaller and larger tree implied by a consistency proof. When the smaller size is
/// a power of two the RFC proof omits the prefix's own hash (the verifier supplies it); an
/// *extended* proof carries the larger tree's hash of that prefix first, so a fork at such a size
/// is provable too.
fn implied_roots(
    small: u64,
    large: u64,
    proof: &[Hash],
    small_root: &Hash,
) -> Result<(Hash, Hash)> {
    if small.is_power_of_two()
        && proof.len() == consistency_proof_len(small, large) + 1
        && let Some((prefix, rest)) = proof.split_first()
    {
        return consistency_roots(small, large, rest, prefix);
    }
    consistency_roots(small, large, proof, small_root)
}

/// The witness's own consistency proof, computed from tiles of the larger tree fetched from the
/// log (see [`crate::tile::tiles_for_consistency`]); extended with the prefix hash when `small`
/// is a power of two. The tiles need no separate check: the result is verified against the
/// signed roots.
pub fn proof_from_tiles(small: u64, large: u64, tiles: &TileSet) -> Result<Vec<Hash>> {
    if small == 0 || small == large {
        return Ok(Vec::new());
    }
    let mut proof = Vec::new();
    if small.is_power_of_two() {
        proof.push(tree_hash(small, tiles)?);
    }
    proof.extend(consistency_proof(small, large, tiles)?);
    Ok(proof)
}

/// [`witness`] with the proof computed from the larger tree's tiles (`tiles.size()` must be
/// the larger of the two checkpoint sizes). This is how a node witnesses a tlog-tiles log.
pub fn witness_from_tiles(
    log: &NoteVerifier,
    last: Option<&SignedCheckpoint>,
    new: &SignedCheckpoint,
    tiles: &TileSet,
) -> Result<WitnessDecision> {
    let Some(last_cp) = last else {
        return witness(log, None, new, &[]);
    };
    let (a, b) = (last_cp.checkpoint.size, new.checkpoint.size);
    let (small, large) = (a.min(b), a.max(b));
    if tiles.size() != large {
        return Err(LedgerError::SizeBeyondLog {
            asked: large,
            size: tiles.size(),
        });
    }
    let proof = proof_from_tiles(small, large, tiles)?;
    witness(log, last, new, &proof)
}

/// Decides what to do with `new` from the log whose key is `log`, given the `last` checkpoint
/// this witness accepted from it (already stored, re-verified here) and a consistency proof
/// between the two sizes (from the smaller to the larger), plain RFC 9162 or extended (see
/// [`proof_from_tiles`]).
///
/// Errors (not alarms) are returned when the input proves nothing: a bad signature or origin,
/// or a proof that does not rebuild the larger signed root. Those are not evidence against the
/// log (anyone could have corrupted them in transit); the caller retries and may report a log
/// that keeps failing.
pub fn witness(
    log: &NoteVerifier,
    last: Option<&SignedCheckpoint>,
    new: &SignedCheckpoint,
    proof: &[Hash],
) -> Result<WitnessDecision> {
    new.verify(log)?;
    let Some(last) = last else {
        return Ok(WitnessDecision::Cosign);
    };
    last.verify(log)?;
    let (old_cp, new_cp) = (&last.checkpoint, &new.checkpoint);
    let alarm = |kind, smaller: &SignedCheckpoint, larger: &SignedCheckpoint, implied| {
        WitnessDecision::Alarm(Alarm {
            version: ALARM_VERSION,
            kind,
            origin: new_cp.origin.clone(),
            smaller: smaller.to_text(),
            larger: larger.to_text(),
            proof: proof.to_vec(),
            implied_root: implied,
        })
    };
    if old_cp.size == new_cp.size {
        if old_cp.root != new_cp.root {
            return Ok(alarm(AlarmKind::SameSizeDifferentRoots, last, new, None));
        }
        return Ok(WitnessDecision::Cosign);
    }
    let (smaller, larger, grew) = if new_cp.size > old_cp.size {
        (last, new, true)
    } else {
        (new, last, false)
    };
    let (s, l) = (&smaller.checkpoint, &larger.checkpoint);
    if s.size == 0 {
        // Every tree extends the empty tree; there is nothing to prove.
        return Ok(if grew {
            WitnessDecision::Cosign
        } else {
            WitnessDecision::Older
        });
    }
    let (implied_small, implied_large) = implied_roots(s.size, l.size, proof, &s.root)?;
    if implied_large != l.root {
        return Err(LedgerError::ConsistencyNewRootMismatch);
    }
    if implied_small != s.root {
        return Ok(alarm(
            AlarmKind::NotAPrefix,
            smaller,
            larger,
            Some(implied_small),
        ));
    }
    Ok(if grew {
        WitnessDecision::Cosign
    } else {
        WitnessDecision::Older
    })
}
