//! Offline verification of inclusion and consistency proofs (RFC 9162 §2.1.3.2, §2.1.4.2).

use crate::error::{LedgerError, Result};
use crate::hash::{Hash, node_hash};

/// Number of proof hashes below and above the point where the paths to `index` and to the
/// last leaf of a tree of `size` diverge.
fn decompose(index: u64, size: u64) -> (usize, usize) {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner as usize, border as usize)
}

/// Root hash implied by an inclusion proof, or an error when the proof cannot belong to a
/// tree of `size` leaves.
pub fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash> {
    if index >= size {
        return Err(LedgerError::IndexBeyondSize { index, size });
    }
    let (inner, border) = decompose(index, size);
    if proof.len() != inner + border {
        return Err(LedgerError::ProofLength {
            got: proof.len(),
            want: inner + border,
        });
    }
    let (inner_part, border_part) = proof.split_at(inner);
    let mut h = *leaf;
    for (level, p) in inner_part.iter().enumerate() {
        h = if (index >> level) & 1 == 0 {
            node_hash(&h, p)
        } else {
            node_hash(p, &h)
        };
    }
    for p in border_part {
        h = node_hash(p, &h);
    }
    Ok(h)
}

/// Checks that `leaf` is leaf number `index` of the tree of `size` leaves with root `root`.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    if root_from_inclusion_proof(index, size, leaf, proof)? != *root {
        return Err(LedgerError::InclusionMismatch);
    }
    Ok(())
}

/// Number of hashes in the RFC 9162 consistency proof from `old` to `new` (0 < old < new).
pub fn consistency_proof_len(old: u64, new: u64) -> usize {
    if old == 0 || old >= new {
        return 0;
    }
    let (fork, border) = decompose(old - 1, new);
    let shift = old.trailing_zeros() as usize;
    usize::from(!old.is_power_of_two()) + fork.saturating_sub(shift) + border
}

/// Both roots a consistency proof implies: the root it rebuilds for the old tree (from the old
/// tree's nodes only) and the root it rebuilds for the new tree. The caller compares them with
/// the roots it trusts; [`verify_consistency`] does so.
///
/// When `old` is a power of two the old root is itself the first node of the proof, so the
/// first returned value is `old_root` by construction.
pub fn consistency_roots(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
) -> Result<(Hash, Hash)> {
    if new < old {
        return Err(LedgerError::ConsistencyOrder { old, new });
    }
    if old == 0 {
        return Err(LedgerError::ConsistencyFromEmpty);
    }
    if old == new {
        if !proof.is_empty() {
            return Err(LedgerError::ProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        return Ok((*old_root, *old_root));
    }
    let seeded = old.is_power_of_two();
    let want = consistency_proof_len(old, new);
    if proof.len() != want {
        return Err(LedgerError::ProofLength {
            got: proof.len(),
            want,
        });
    }
    // RFC 9162 §2.1.4.2, with the old root in front when the old tree is a complete subtree.
    let mut path = Vec::with_capacity(proof.len() + 1);
    if seeded {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut iter = path.iter();
    let first = *iter
        .next()
        .ok_or(LedgerError::ProofLength { got: 0, want })?;
    let (mut fr, mut sr) = (first, first);
    for c in iter {
        if sn == 0 {
            return Err(LedgerError::ProofLength {
                got: proof.len(),
                want,
            });
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(LedgerError::ProofLength {
            got: proof.len(),
            want,
        });
    }
    Ok((fr, sr))
}

/// Checks that the tree of `new` leaves with `new_root` extends the tree of `old` leaves with
/// `old_root`. Equal sizes need an empty proof and equal roots; an empty old tree is refused.
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<()> {
    if old == new && old != 0 && proof.is_empty() && old_root != new_root {
        return Err(LedgerError::SameSizeRootsDiffer);
    }
    let (fr, sr) = consistency_roots(old, new, proof, old_root)?;
    if fr != *old_root {
        return Err(LedgerError::ConsistencyOldRootMismatch);
    }
    if sr != *new_root {
        return Err(LedgerError::ConsistencyNewRootMismatch);
    }
    Ok(())
}

fn hashes(raw: &[Vec<u8>]) -> Result<Vec<Hash>> {
    raw.iter().map(|h| Hash::from_slice(h)).collect()
}

/// Inclusion check on untyped bytes (e.g. decoded JSON): every hash must be exactly 32 bytes.
pub fn verify_inclusion_raw(
    index: u64,
    size: u64,
    leaf: &[u8],
    proof: &[Vec<u8>],
    root: &[u8],
) -> Result<()> {
    verify_inclusion(
        index,
        size,
        &Hash::from_slice(leaf)?,
        &hashes(proof)?,
        &Hash::from_slice(root)?,
    )
}

/// Consistency check on untyped bytes, with the exact semantics of the transparency-dev
/// vectors: sizes are checked first (old > new and old = 0 are refused, even for two empty
/// trees); for equal sizes the proof must be empty and the roots byte-identical, whatever their
/// length, because nothing is hashed; otherwise every hash must be 32 bytes.
pub fn verify_consistency_raw(
    old: u64,
    new: u64,
    proof: &[Vec<u8>],
    old_root: &[u8],
    new_root: &[u8],
) -> Result<()> {
    if new < old {
        return Err(LedgerError::ConsistencyOrder { old, new });
    }
    if old == 0 {
        return Err(LedgerError::ConsistencyFromEmpty);
    }
    if old == new {
        if !proof.is_empty() {
            return Err(LedgerError::ProofLength {
                got: proof.len(),
                want: 0,
            });
        }
        if old_root != new_root {
            return Err(LedgerError::SameSizeRootsDiffer);
        }
        return Ok(());
    }
    verify_consistency(
        old,
        new,
        &hashes(proof)?,
        &Hash::from_slice(old_root)?,
        &Hash::from_slice(new_root)?,
    )
}
