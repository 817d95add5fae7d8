//! Witnessing, as a pure decision: given the last checkpoint a node has seen from a peer's log,
//! a new one and a consistency proof, cosign, ignore, or raise an alarm with evidence.

use serde::{Deserialize, Serialize};

use crate::checkpoint::SignedCheckpoint;
use crate::error::{LedgerError, Result};
use crate::hash::Hash;
use crate::note::NoteVerifier;
use crate::proof::consistency_roots;

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
                let (fr, sr) = consistency_roots(s.size, l.size, &self.proof, &s.root)?;
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

/// Decides what to do with `new` from the log whose key is `log`, given the `last` checkpoint
/// this witness accepted from it (already stored, re-verified here) and a consistency proof
/// between the two sizes (from the smaller to the larger, as the log serves it).
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
    let (implied_small, implied_large) = consistency_roots(s.size, l.size, proof, &s.root)?;
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
