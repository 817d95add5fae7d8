//! Checking the stored log against what this node signed: at start-up (bounded), and range by
//! range in the background.
//!
//! The stored hash rows are derived data, but they are also what the node signs checkpoints
//! from, so rebuilding them from the entries is only sound when the entries rebuild the trees
//! this node already signed: otherwise the rebuilt tree is a fork, and signing it would put this
//! node's key on two contradictory logs. The caller passes the checkpoints it signed (size and
//! root, their signatures already verified with its log key) as anchors.

use comity_ledger::tree::{self, split_stored_hash_index, stored_hash_count, stored_hash_index};
use comity_ledger::{Hash, LedgerError, leaf_hash, node_hash};

use crate::ledger::{Fetched, fetch_hashes, index_from_db, index_to_db, lock_head, needed_hashes};
use crate::pool::{BeginWrite, on_pool};
use crate::{LedgerDivergence, Store, StoreError};

/// Entries read per query when the whole log is hashed again.
const RECOMPUTE_BATCH: u64 = 10_000;

/// A tree this node signed: the stored log must still hold exactly it as a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerAnchor {
    pub size: u64,
    pub root: Hash,
}

/// What the start-up check found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerCheck {
    /// Head, entries and hashes agree, the stored tree holds every anchor, and the entries from
    /// `rehashed_from` to the end hash to their stored hashes.
    Consistent { size: u64, rehashed_from: u64 },
    /// Stored hashes were missing or wrong and were rewritten from the entries, which rebuild
    /// every anchor.
    Repaired { size: u64, detail: String },
}

/// The first stored hash of a range that its entries do not rebuild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeMismatch {
    /// Position in the stored-hash sequence.
    pub hash_index: u64,
    /// The entries the hash covers (`first == last` for a leaf hash).
    pub first: u64,
    pub last: u64,
    /// What the entries and the stored hashes before them give.
    pub expected: Hash,
    /// What is stored there, `None` when the row is missing.
    pub found: Option<Hash>,
}

impl std::fmt::Display for RangeMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.first == self.last {
            format!("the leaf hash of entry {}", self.first)
        } else {
            format!("the stored hash of entries {}..={}", self.first, self.last)
        };
        match self.found {
            Some(found) => write!(
                f,
                "{what} (stored hash {}) is {} but the entries hash to {}",
                self.hash_index,
                found.to_hex(),
                self.expected.to_hex()
            ),
            None => write!(
                f,
                "{what} (stored hash {}) is missing; the entries hash to {}",
                self.hash_index,
                self.expected.to_hex()
            ),
        }
    }
}

fn entries_of(hash_index: u64) -> (u64, u64) {
    let (level, n) = split_stored_hash_index(hash_index);
    let first = n << level;
    (first, first + (1u64 << level) - 1)
}

/// Largest power of two strictly below `n` (n >= 2): where RFC 6962 splits a tree of `n`.
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The complete subtrees (level, number) whose hashes make up the tree hash of the `n` entries
/// from `lo`, left to right: `lo` is aligned to each, as in every subtree of the tree the
/// descent below walks.
fn range_parts(lo: u64, n: u64) -> Vec<(u32, u64)> {
    let (mut start, mut left, mut parts) = (lo, n, Vec::new());
    while left > 0 {
        let k = if left.is_power_of_two() {
            left
        } else {
            split_point(left)
        };
        parts.push((k.trailing_zeros(), start / k));
        start += k;
        left -= k;
    }
    parts
}

/// RFC 6962's hash of a range from the hashes of its parts (`range_parts`).
fn combine(parts: &[Hash]) -> Option<Hash> {
    let (last, rest) = parts.split_last()?;
    Some(rest.iter().rev().fold(*last, |h, p| node_hash(p, &h)))
}

fn range_hash_in(hashes: &[Hash], lo: u64, n: u64) -> Option<Hash> {
    let parts: Option<Vec<Hash>> = range_parts(lo, n)
        .into_iter()
        .map(|(level, k)| {
            usize::try_from(stored_hash_index(level, k))
                .ok()
                .and_then(|i| hashes.get(i))
                .copied()
        })
        .collect();
    combine(&parts?)
}

impl Store {
    /// Start-up check of the log. Cheap whatever the log's size: the counts of head, entries and
    /// hash rows; each anchor's root from the stored hashes (about log2 n rows each); and the
    /// newest `recheck` entries hashed again and compared with their stored hashes. Anything
    /// that does not agree leads to the full recompute (`recompute`), which repairs the hash
    /// rows only when the entries rebuild every anchor, and otherwise refuses, naming the first
    /// entry that does not match what was signed.
    pub async fn ledger_check(
        &self,
        anchors: &[LedgerAnchor],
        recheck: u64,
    ) -> Result<LedgerCheck, StoreError> {
        let size = self.ledger_size().await?;
        let (entries, max_idx, hashes): (i64, Option<i64>, i64) = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM ledger_entry), (SELECT MAX(idx) FROM ledger_entry), \
                 (SELECT COUNT(*) FROM ledger_hash)",
            )
            .fetch_one(pool)
            .await?
        });
        let entries = index_from_db(entries)?;
        if entries != size || max_idx.map_or(0, |m| m + 1) != index_to_db(size)? {
            return Err(StoreError::Corrupt(format!(
                "the ledger head says {size} entries but {entries} are stored \
                 (highest index {max_idx:?}); restore the database from a backup"
            )));
        }
        if let Some(a) = anchors
            .iter()
            .filter(|a| a.size > size)
            .max_by_key(|a| a.size)
        {
            return Err(StoreError::LedgerBehind {
                stored: size,
                signed: a.size,
            });
        }
        let expected = stored_hash_count(size);
        let hashes = index_from_db(hashes)?;
        if hashes != expected {
            let why = format!("{hashes} stored hashes for {size} entries, expected {expected}");
            return self.recompute(size, anchors, why).await;
        }
        for a in anchors.iter().filter(|a| a.size > 0) {
            let root = self.ledger_root(a.size).await?;
            if root != a.root {
                let why = format!(
                    "the stored hashes give root {} for the {} entries signed with root {}",
                    root.to_hex(),
                    a.size,
                    a.root.to_hex()
                );
                return self.recompute(size, anchors, why).await;
            }
        }
        let from = size.saturating_sub(recheck);
        if let Some(m) = self.ledger_verify_range(from, size).await? {
            return self.recompute(size, anchors, m.to_string()).await;
        }
        Ok(LedgerCheck::Consistent {
            size,
            rehashed_from: from,
        })
    }

    /// Hashes entries `from..to` again and compares the stored hashes they add to the tree
    /// (their leaf hashes and the subtrees they close, built on the stored hashes before
    /// `from`); returns the first that differs or is missing. One read of the entries and two
    /// of hashes, for the background check to walk the log in steps.
    pub async fn ledger_verify_range(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Option<RangeMismatch>, StoreError> {
        if from >= to {
            return Ok(None);
        }
        let leaves: Vec<Hash> = self
            .ledger_entries(from, to)
            .await?
            .iter()
            .map(|e| leaf_hash(e))
            .collect();
        if leaves.len() as u64 != to - from {
            return Err(StoreError::Corrupt(format!(
                "ledger entries {from}..{to}: {} of {} are stored",
                leaves.len(),
                to - from
            )));
        }
        let compute =
            |r: &dyn comity_ledger::HashReader| tree::stored_hashes_for_leaves(from, &leaves, r);
        let before = needed_hashes(&compute);
        let (first, end) = (stored_hash_count(from), stored_hash_count(to));
        let (found_before, stored) = on_pool!(self, pool => {
            let found = fetch_hashes!(pool, &before);
            let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT idx, hash FROM ledger_hash WHERE idx >= $1 AND idx < $2 ORDER BY idx",
            )
            .bind(index_to_db(first)?)
            .bind(index_to_db(end)?)
            .fetch_all(pool)
            .await?;
            (found, rows)
        });
        let computed = match compute(&Fetched(found_before)) {
            Ok(h) => h,
            Err(LedgerError::MissingHash(i)) => {
                let (first, last) = entries_of(i);
                return Ok(Some(RangeMismatch {
                    hash_index: i,
                    first,
                    last,
                    expected: Hash([0; 32]),
                    found: None,
                }));
            }
            Err(e) => return Err(e.into()),
        };
        let mut stored = stored.into_iter().peekable();
        for (k, expected) in computed.into_iter().enumerate() {
            let index = first + k as u64;
            let found = match stored.peek() {
                Some((i, _)) if index_from_db(*i)? == index => {
                    let (_, bytes) = stored.next().unwrap_or_default();
                    Some(Hash::from_slice(&bytes).map_err(|_| {
                        StoreError::Corrupt(format!("stored ledger hash {index} is not 32 bytes"))
                    })?)
                }
                _ => None,
            };
            if found != Some(expected) {
                let (first, last) = entries_of(index);
                return Ok(Some(RangeMismatch {
                    hash_index: index,
                    first,
                    last,
                    expected,
                    found,
                }));
            }
        }
        Ok(None)
    }

    /// Hashes every entry again, in memory (32 bytes per stored hash, about 64 MB per million
    /// entries), and decides: the entries must rebuild every anchor, else the first entry that
    /// does not is named and nothing is written; stored hashes after the largest anchor that
    /// differ from the entries are refused too (nothing signed says which is right). Otherwise
    /// the hash rows are rewritten from the entries.
    async fn recompute(
        &self,
        size: u64,
        anchors: &[LedgerAnchor],
        why: String,
    ) -> Result<LedgerCheck, StoreError> {
        let count = usize::try_from(stored_hash_count(size))
            .map_err(|_| StoreError::Corrupt(format!("a log of {size} entries is too large")))?;
        let mut hashes: Vec<Hash> = Vec::with_capacity(count);
        let mut done = 0;
        while done < size {
            let to = (done + RECOMPUTE_BATCH).min(size);
            let leaves: Vec<Hash> = self
                .ledger_entries(done, to)
                .await?
                .iter()
                .map(|e| leaf_hash(e))
                .collect();
            if leaves.len() as u64 != to - done {
                return Err(StoreError::Corrupt(format!(
                    "ledger entries {done}..{to} are not all stored; restore the database from a backup"
                )));
            }
            let new = tree::stored_hashes_for_leaves(done, &leaves, hashes.as_slice())?;
            hashes.extend(new);
            done = to;
        }
        let mut sorted: Vec<&LedgerAnchor> = anchors.iter().filter(|a| a.size > 0).collect();
        sorted.sort_by_key(|a| a.size);
        for a in &sorted {
            if tree::tree_hash(a.size, hashes.as_slice())? != a.root {
                let divergence = self.locate(a, &hashes).await?;
                return Err(StoreError::LedgerDiverged(Box::new(divergence)));
            }
        }
        let signed_rows = stored_hash_count(sorted.last().map_or(0, |a| a.size));
        let (mut missing, mut wrong, mut extra) = (0u64, 0u64, 0u64);
        let mut next = 0u64;
        let total = hashes.len() as u64;
        loop {
            let rows: Vec<(i64, Vec<u8>)> = on_pool!(self, pool => {
                sqlx::query_as(
                    "SELECT idx, hash FROM ledger_hash WHERE idx >= $1 ORDER BY idx LIMIT $2",
                )
                .bind(index_to_db(next)?)
                .bind(RECOMPUTE_BATCH as i64)
                .fetch_all(pool)
                .await?
            });
            let Some(last) = rows.last().map(|r| r.0) else {
                break;
            };
            for (idx, bytes) in rows {
                let idx = index_from_db(idx)?;
                let Some(expected) = usize::try_from(idx).ok().and_then(|i| hashes.get(i)) else {
                    missing += total.saturating_sub(next);
                    next = next.max(total);
                    extra += 1;
                    continue;
                };
                missing += idx - next;
                next = idx + 1;
                if bytes.as_slice() == expected.as_bytes() {
                    continue;
                }
                if idx >= signed_rows {
                    let (first, last) = entries_of(idx);
                    let found = Hash::from_slice(&bytes).ok();
                    let m = RangeMismatch {
                        hash_index: idx,
                        first,
                        last,
                        expected: *expected,
                        found,
                    };
                    return Err(StoreError::LedgerDiverged(Box::new(LedgerDivergence {
                        first,
                        last,
                        signed_size: None,
                        detail: m.to_string(),
                    })));
                }
                wrong += 1;
            }
            next = next.max(index_from_db(last)? + 1);
        }
        missing += total.saturating_sub(next);
        self.rewrite_hashes(size, &hashes).await?;
        let signed = sorted.last().map_or(0, |a| a.size);
        Ok(LedgerCheck::Repaired {
            size,
            detail: format!(
                "{why}: {missing} missing, {wrong} wrong and {extra} extra stored hashes rewritten \
                 from the entries, which rebuild the checkpoint of {signed} entries this node signed"
            ),
        })
    }

    /// Walks down the signed tree to the first entry the stored entries get wrong. Each step
    /// keeps a hash known to be the signed one: the root, then a child whose stored hash, with
    /// its sibling's (stored or recomputed), hashes to the parent already known — by collision
    /// resistance, it is the hash that was signed. Where no such pair exists (the rows that
    /// would say are missing or changed too), the range reached is reported.
    async fn locate(
        &self,
        anchor: &LedgerAnchor,
        recomputed: &[Hash],
    ) -> Result<LedgerDivergence, StoreError> {
        let (mut lo, mut n, mut trusted) = (0u64, anchor.size, anchor.root);
        let missing = || StoreError::Corrupt("recomputed ledger hashes are incomplete".into());
        loop {
            if n == 1 {
                let kind = self
                    .ledger_entry(lo)
                    .await?
                    .map_or_else(|| "?".into(), |r| r.kind);
                let found = range_hash_in(recomputed, lo, 1).ok_or_else(missing)?;
                return Ok(LedgerDivergence {
                    first: lo,
                    last: lo,
                    signed_size: Some(anchor.size),
                    detail: format!(
                        "the stored {kind} entry hashes to {} where the signed tree holds {}",
                        found.to_hex(),
                        trusted.to_hex()
                    ),
                });
            }
            let k = split_point(n);
            let rl = range_hash_in(recomputed, lo, k).ok_or_else(missing)?;
            let rr = range_hash_in(recomputed, lo + k, n - k).ok_or_else(missing)?;
            let sl = self.stored_range_hash(lo, k).await?;
            let sr = self.stored_range_hash(lo + k, n - k).await?;
            let next = match (sl, sr) {
                (Some(l), Some(r)) if node_hash(&l, &r) == trusted => {
                    if rl != l {
                        (lo, k, l)
                    } else {
                        (lo + k, n - k, r)
                    }
                }
                (_, Some(r)) if node_hash(&rl, &r) == trusted => (lo + k, n - k, r),
                (Some(l), _) if node_hash(&l, &rr) == trusted => (lo, k, l),
                _ => {
                    return Ok(LedgerDivergence {
                        first: lo,
                        last: lo + n - 1,
                        signed_size: Some(anchor.size),
                        detail: "these entries do not hash to the signed tree, and the stored \
                                 hashes that would tell which one changed are missing or \
                                 changed too"
                            .into(),
                    });
                }
            };
            (lo, n, trusted) = next;
        }
    }

    /// The tree hash of `n` entries from `lo` from the stored hashes, `None` if one is missing.
    async fn stored_range_hash(&self, lo: u64, n: u64) -> Result<Option<Hash>, StoreError> {
        let indexes: Vec<u64> = range_parts(lo, n)
            .into_iter()
            .map(|(level, k)| stored_hash_index(level, k))
            .collect();
        let found = on_pool!(self, pool => fetch_hashes!(pool, &indexes));
        let parts: Option<Vec<Hash>> = indexes.iter().map(|i| found.get(i).copied()).collect();
        Ok(parts.and_then(|p| combine(&p)))
    }

    /// Replaces every hash row with `hashes` in one transaction holding the ledger's write lock;
    /// refused if the log grew meanwhile (another process appending to a shared database).
    async fn rewrite_hashes(&self, size: u64, hashes: &[Hash]) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let now = lock_head!(tx);
            if now != size {
                tx.rollback().await?;
                return Err(StoreError::Conflict(format!(
                    "the ledger grew from {size} to {now} entries while its hashes were checked; \
                     start the node again"
                )));
            }
            sqlx::query("DELETE FROM ledger_hash").execute(&mut *tx).await?;
            for (n, chunk) in hashes.chunks(crate::ledger::ROWS_PER_STATEMENT).enumerate() {
                let sql = crate::ledger::values_sql(
                    "INSERT INTO ledger_hash (idx, hash) VALUES ",
                    chunk.len(),
                    2,
                );
                let mut q = sqlx::query(&sql);
                let base = (n * crate::ledger::ROWS_PER_STATEMENT) as i64;
                for (k, h) in chunk.iter().enumerate() {
                    q = q.bind(base + k as i64).bind(h.0.to_vec());
                }
                q.execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
