//! Tree heads and proofs computed from *stored hashes*, behind the [`HashReader`] trait.
//!
//! # Stored-hash scheme
//!
//! A log of `n` leaves persists exactly [`stored_hash_count`]`(n)` hashes in one append-only
//! sequence indexed from 0 (the scheme of Go's `golang.org/x/mod/sumdb/tlog`): after the leaf
//! hash of leaf `i`, the hashes of every complete subtree that leaf `i` closes are appended,
//! lowest level first. The hash of the complete subtree at `level` covering leaves
//! `[n·2^level, (n+1)·2^level)` sits at [`stored_hash_index`]`(level, n)`. Every stored hash is
//! written once and never changes, so a database keeps one row per `(index, hash)` and the tree
//! head, proofs and tiles of any size up to the current one are computed from those rows.

use std::collections::HashMap;

use crate::error::{LedgerError, Result};
use crate::hash::{Hash, empty_root, node_hash};

/// Largest tree size accepted, so index arithmetic can never overflow `u64`.
pub const MAX_TREE_SIZE: u64 = 1 << 62;

/// Source of stored hashes, implemented by the node's database and by [`crate::MemoryLog`].
///
/// `read_hashes` returns the hashes at `indexes`, in the same order, one per index. Proof and
/// tree-head functions call it once with every index they need, so an SQL implementation can
/// answer with a single `SELECT ... WHERE idx IN (...)`.
pub trait HashReader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>>;
}

impl<T: HashReader + ?Sized> HashReader for &T {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        (**self).read_hashes(indexes)
    }
}

/// A slice of all stored hashes in index order is a complete reader.
impl HashReader for [Hash] {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        indexes
            .iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.get(i))
                    .copied()
                    .ok_or(LedgerError::MissingHash(i))
            })
            .collect()
    }
}

fn check_size(size: u64) -> Result<()> {
    if size > MAX_TREE_SIZE {
        return Err(LedgerError::SizeTooLarge(size));
    }
    Ok(())
}

/// Index in the stored-hash sequence of the complete subtree at `level` (0 = leaves) number `n`.
/// Meaningful while `n · 2^level` stays below [`MAX_TREE_SIZE`].
pub fn stored_hash_index(level: u32, n: u64) -> u64 {
    // Leaf number of the last leaf under this node; its own hash is stored `level` positions
    // after that leaf's hash. Leaf k's hash sits at k + k/2 + k/4 + ... = 2k - popcount(k).
    // Wrapping arithmetic: callers stay below MAX_TREE_SIZE, where nothing wraps, and
    // out-of-range input must not panic.
    let last_leaf = n.wrapping_shl(level) | 1u64.wrapping_shl(level).wrapping_sub(1);
    last_leaf
        .wrapping_mul(2)
        .wrapping_sub(u64::from(last_leaf.count_ones()))
        .wrapping_add(u64::from(level))
}

/// Inverse of [`stored_hash_index`]: the `(level, n)` of the hash stored at `index`.
pub fn split_stored_hash_index(index: u64) -> (u32, u64) {
    // stored_hash_index(0, k) <= 2k, so the last leaf stored at or before `index` is >= index/2,
    // and at most 64 leaves further.
    let mut leaf = index / 2;
    for _ in 0..64 {
        if stored_hash_index(0, leaf + 1) > index {
            break;
        }
        leaf += 1;
    }
    let level = u32::try_from(index - stored_hash_index(0, leaf)).unwrap_or(0);
    (level, leaf >> level)
}

/// Number of stored hashes for a tree of `size` leaves.
pub fn stored_hash_count(size: u64) -> u64 {
    if size == 0 {
        return 0;
    }
    let last = size - 1;
    stored_hash_index(0, last) + 1 + u64::from(last.trailing_ones())
}

/// Largest power of two strictly below `n` (n >= 2): the RFC 6962 split point.
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// Maximal aligned complete subtrees covering `[lo, hi)`, left to right, as `(level, n)`.
fn subtrees(mut lo: u64, hi: u64) -> Vec<(u32, u64)> {
    let mut out = Vec::new();
    while lo < hi {
        let mut level = if lo == 0 { 63 } else { lo.trailing_zeros() };
        while (1u64 << level) > hi - lo {
            level -= 1;
        }
        out.push((level, lo >> level));
        lo += 1u64 << level;
    }
    out
}

fn read_checked<R: HashReader + ?Sized>(reader: &R, indexes: &[u64]) -> Result<Vec<Hash>> {
    let hashes = reader.read_hashes(indexes)?;
    if hashes.len() != indexes.len() {
        return Err(LedgerError::ReaderCount {
            got: hashes.len(),
            want: indexes.len(),
        });
    }
    Ok(hashes)
}

/// Merkle tree hashes of the given leaf ranges, with one call to the reader.
/// Each range must be a subtree of the RFC 6962 recursion (its start aligned to its size).
fn range_hashes<R: HashReader + ?Sized>(reader: &R, ranges: &[(u64, u64)]) -> Result<Vec<Hash>> {
    let plans: Vec<Vec<u64>> = ranges
        .iter()
        .map(|&(lo, hi)| {
            subtrees(lo, hi)
                .into_iter()
                .map(|(level, n)| stored_hash_index(level, n))
                .collect()
        })
        .collect();
    let all: Vec<u64> = plans.iter().flatten().copied().collect();
    let hashes = read_checked(reader, &all)?;
    let mut offset = 0;
    let mut out = Vec::with_capacity(ranges.len());
    for plan in &plans {
        let part = hashes.get(offset..offset + plan.len()).unwrap_or(&[]);
        offset += plan.len();
        let mut iter = part.iter().rev();
        let mut acc = *iter.next().ok_or(LedgerError::ReaderCount {
            got: 0,
            want: plan.len(),
        })?;
        for left in iter {
            acc = node_hash(left, &acc);
        }
        out.push(acc);
    }
    Ok(out)
}

/// Root hash of the tree of the first `size` leaves.
pub fn tree_hash<R: HashReader + ?Sized>(size: u64, reader: &R) -> Result<Hash> {
    check_size(size)?;
    if size == 0 {
        return Ok(empty_root());
    }
    let mut hashes = range_hashes(reader, &[(0, size)])?;
    hashes
        .pop()
        .ok_or(LedgerError::ReaderCount { got: 0, want: 1 })
}

/// Ranges whose hashes form the inclusion proof of leaf `index` in a tree of `size`, bottom-up
/// (RFC 9162 §2.1.3.1 PATH).
fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi) = (0, size);
    let mut out = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    out
}

/// Ranges whose hashes form the consistency proof from `old` to `new` leaves (0 < old < new),
/// deepest first (RFC 9162 §2.1.4.1 SUBPROOF).
fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    let (mut lo, mut hi, mut whole_old_tree) = (0, new, true);
    let mut out = Vec::new();
    loop {
        if old == hi {
            if !whole_old_tree {
                out.push((lo, hi));
            }
            break;
        }
        let k = split_point(hi - lo);
        if old <= lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
            whole_old_tree = false;
        }
    }
    out.reverse();
    out
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves, from stored hashes.
pub fn inclusion_proof<R: HashReader + ?Sized>(
    index: u64,
    size: u64,
    reader: &R,
) -> Result<Vec<Hash>> {
    check_size(size)?;
    if index >= size {
        return Err(LedgerError::IndexBeyondSize { index, size });
    }
    range_hashes(reader, &inclusion_ranges(index, size))
}

/// Consistency proof from the tree of `old` leaves to the tree of `new` leaves.
/// Equal sizes give an empty proof; an empty old tree is refused (nothing to prove).
pub fn consistency_proof<R: HashReader + ?Sized>(
    old: u64,
    new: u64,
    reader: &R,
) -> Result<Vec<Hash>> {
    check_size(new)?;
    if old > new {
        return Err(LedgerError::ConsistencyOrder { old, new });
    }
    if old == 0 {
        return Err(LedgerError::ConsistencyFromEmpty);
    }
    if old == new {
        return Ok(Vec::new());
    }
    range_hashes(reader, &consistency_ranges(old, new))
}

/// The hashes to append to the stored sequence when leaf number `size` (the current tree size)
/// with `leaf` hash is added: the leaf hash, then one hash per subtree the leaf completes.
pub fn stored_hashes_for_leaf<R: HashReader + ?Sized>(
    size: u64,
    leaf: Hash,
    reader: &R,
) -> Result<Vec<Hash>> {
    check_size(size + 1)?;
    let mut siblings = Vec::new();
    let (mut n, mut level) = (size, 0u32);
    while n & 1 == 1 {
        siblings.push(stored_hash_index(level, n - 1));
        n >>= 1;
        level += 1;
    }
    let left = read_checked(reader, &siblings)?;
    let mut out = Vec::with_capacity(left.len() + 1);
    let mut h = leaf;
    out.push(h);
    for l in &left {
        h = node_hash(l, &h);
        out.push(h);
    }
    Ok(out)
}

/// Stored hashes for a batch of leaves appended to a tree of `size` leaves, in order. The few
/// committed hashes the batch builds on are read in a single call, so a database-backed batch
/// costs one read plus one insert.
pub fn stored_hashes_for_leaves<R: HashReader + ?Sized>(
    size: u64,
    leaves: &[Hash],
    reader: &R,
) -> Result<Vec<Hash>> {
    check_size(size.saturating_add(leaves.len() as u64))?;
    let base_count = stored_hash_count(size);
    let mut need = Vec::new();
    for i in 0..leaves.len() as u64 {
        let (mut n, mut level) = (size + i, 0u32);
        while n & 1 == 1 {
            let idx = stored_hash_index(level, n - 1);
            if idx < base_count {
                need.push(idx);
            }
            n >>= 1;
            level += 1;
        }
    }
    need.sort_unstable();
    need.dedup();
    let got = read_checked(reader, &need)?;
    let committed: HashMap<u64, Hash> = need.into_iter().zip(got).collect();
    let mut new = Vec::with_capacity(leaves.len() * 2);
    for (i, leaf) in leaves.iter().enumerate() {
        let view = BatchView {
            committed: &committed,
            base_count,
            new: &new,
        };
        let added = stored_hashes_for_leaf(size + i as u64, *leaf, &view)?;
        new.extend(added);
    }
    Ok(new)
}

/// Committed hashes a batch needs, followed by the hashes computed so far in the batch.
struct BatchView<'a> {
    committed: &'a HashMap<u64, Hash>,
    base_count: u64,
    new: &'a [Hash],
}

impl HashReader for BatchView<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        indexes
            .iter()
            .map(|&i| {
                let found = if i < self.base_count {
                    self.committed.get(&i)
                } else {
                    usize::try_from(i - self.base_count)
                        .ok()
                        .and_then(|j| self.new.get(j))
                };
                found.copied().ok_or(LedgerError::MissingHash(i))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_index_layout_matches_the_documented_order() {
        // Leaves 0,1 then node(0..2), leaf 2, leaf 3, node(2..4), node(0..4), leaf 4.
        assert_eq!(stored_hash_index(0, 0), 0);
        assert_eq!(stored_hash_index(0, 1), 1);
        assert_eq!(stored_hash_index(1, 0), 2);
        assert_eq!(stored_hash_index(0, 2), 3);
        assert_eq!(stored_hash_index(0, 3), 4);
        assert_eq!(stored_hash_index(1, 1), 5);
        assert_eq!(stored_hash_index(2, 0), 6);
        assert_eq!(stored_hash_index(0, 4), 7);
        assert_eq!(stored_hash_count(4), 7);
        assert_eq!(stored_hash_count(5), 8);
        for i in 0..2000 {
            let (level, n) = split_stored_hash_index(i);
            assert_eq!(stored_hash_index(level, n), i);
        }
    }

    #[test]
    fn subtree_decomposition_is_rfc_shaped() {
        assert_eq!(subtrees(0, 7), vec![(2, 0), (1, 2), (0, 6)]);
        assert_eq!(subtrees(8, 12), vec![(2, 2)]);
    }
}
