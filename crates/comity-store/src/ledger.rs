//! The node's Merkle log on disk: entries, stored hashes (tlog layout), signed checkpoints and
//! the cosignatures peers returned for them.
//!
//! Every write that appends takes the single `ledger_head` row first. That one statement
//! serialises appenders on both back-ends (SQLite's write lock, PostgreSQL's row lock) before any
//! read, so the size read is the size written after, even with several node processes.
//! The tree functions of `comity-ledger` read hashes through a synchronous trait; they are run
//! twice, once to learn which stored hashes they need and once on those hashes fetched in one
//! query (see `needed_hashes`).

use std::cell::RefCell;
use std::collections::HashMap;

use comity_ledger::{Hash, HashReader, LedgerError, tree};

use crate::pool::{BeginWrite, on_pool};
use crate::{Store, StoreError};

/// One entry to append: its canonical bytes (comity-ledger entry format) and the two fields the
/// node lists and filters by.
#[derive(Debug, Clone)]
pub struct LedgerAppend {
    pub kind: String,
    pub time: i64,
    pub bytes: Vec<u8>,
}

/// An entry as stored, with its index in the log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LedgerRecord {
    pub idx: i64,
    pub kind: String,
    pub time: i64,
    pub bytes: Vec<u8>,
}

/// Writes go to SQLite in statements of at most this many rows (well under its 32,766 bound
/// variables; PostgreSQL allows 65,535).
pub(crate) const ROWS_PER_STATEMENT: usize = 128;

#[derive(Default)]
struct Recorder(RefCell<Vec<u64>>);

impl HashReader for Recorder {
    fn read_hashes(&self, indexes: &[u64]) -> comity_ledger::Result<Vec<Hash>> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![Hash([0; 32]); indexes.len()])
    }
}

pub(crate) struct Fetched(pub(crate) HashMap<u64, Hash>);

impl HashReader for Fetched {
    fn read_hashes(&self, indexes: &[u64]) -> comity_ledger::Result<Vec<Hash>> {
        indexes
            .iter()
            .map(|i| self.0.get(i).copied().ok_or(LedgerError::MissingHash(*i)))
            .collect()
    }
}

/// The stored hashes `f` reads: a dry run on placeholder hashes. The tree functions choose which
/// hashes to read from the sizes alone, never from hash values, so the dry run asks for the same.
pub(crate) fn needed_hashes<T>(
    f: &impl Fn(&dyn HashReader) -> comity_ledger::Result<T>,
) -> Vec<u64> {
    let recorder = Recorder::default();
    let _ = f(&recorder);
    let mut indexes = recorder.0.into_inner();
    indexes.sort_unstable();
    indexes.dedup();
    indexes
}

pub(crate) fn index_to_db(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n)
        .map_err(|_| StoreError::Corrupt(format!("ledger index {n} does not fit the database")))
}

pub(crate) fn index_from_db(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("negative ledger index {n}")))
}

/// `SELECT idx, hash FROM ledger_hash WHERE idx IN (...)` on any executor, as a map.
macro_rules! fetch_hashes {
    ($exec:expr, $indexes:expr) => {{
        let mut found: std::collections::HashMap<u64, comity_ledger::Hash> =
            std::collections::HashMap::new();
        for chunk in $indexes.chunks($crate::ledger::ROWS_PER_STATEMENT) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT idx, hash FROM ledger_hash WHERE idx IN ({})",
                marks.join(", ")
            );
            let mut q = sqlx::query_as::<_, (i64, Vec<u8>)>(&sql);
            for i in chunk {
                q = q.bind($crate::ledger::index_to_db(*i)?);
            }
            for (idx, bytes) in q.fetch_all($exec).await? {
                let hash = comity_ledger::Hash::from_slice(&bytes).map_err(|_| {
                    $crate::StoreError::Corrupt(format!("stored ledger hash {idx} is not 32 bytes"))
                })?;
                found.insert($crate::ledger::index_from_db(idx)?, hash);
            }
        }
        found
    }};
}
pub(crate) use fetch_hashes;

/// Takes the ledger's write lock inside transaction `$tx`; evaluates to the current size.
macro_rules! lock_head {
    ($tx:expr) => {{
        let (size,): (i64,) =
            sqlx::query_as("UPDATE ledger_head SET size = size WHERE id = 1 RETURNING size")
                .fetch_one(&mut *$tx)
                .await?;
        $crate::ledger::index_from_db(size)?
    }};
}
pub(crate) use lock_head;

/// Appends `$entries` at `$size` inside transaction `$tx`, whose head `lock_head!` locked:
/// entry rows, their stored hashes, the new size.
macro_rules! append_locked {
    ($tx:expr, $size:expr, $entries:expr) => {{
        let size: u64 = $size;
        let entries: &[$crate::LedgerAppend] = $entries;
        let first_entry = $crate::ledger::index_to_db(size)?;
        for (n, chunk) in entries
            .chunks($crate::ledger::ROWS_PER_STATEMENT)
            .enumerate()
        {
            let sql = $crate::ledger::values_sql(
                "INSERT INTO ledger_entry (idx, kind, time, bytes) VALUES ",
                chunk.len(),
                4,
            );
            let mut q = sqlx::query(&sql);
            let base = first_entry + (n * $crate::ledger::ROWS_PER_STATEMENT) as i64;
            for (k, e) in chunk.iter().enumerate() {
                q = q
                    .bind(base + k as i64)
                    .bind(&e.kind)
                    .bind(e.time)
                    .bind(&e.bytes);
            }
            q.execute(&mut *$tx).await?;
        }
        $crate::ledger::hash_locked!($tx, size, entries);
    }};
}
pub(crate) use append_locked;

/// Stores the hashes that entries `$entries`, already stored from index `$size`, add to the
/// tree, and moves the head past them.
macro_rules! hash_locked {
    ($tx:expr, $size:expr, $entries:expr) => {{
        let size: u64 = $size;
        let entries: &[$crate::LedgerAppend] = $entries;
        if !entries.is_empty() {
            let leaves: Vec<comity_ledger::Hash> = entries
                .iter()
                .map(|e| comity_ledger::leaf_hash(&e.bytes))
                .collect();
            let compute = |r: &dyn comity_ledger::HashReader| {
                comity_ledger::tree::stored_hashes_for_leaves(size, &leaves, r)
            };
            let indexes = $crate::ledger::needed_hashes(&compute);
            let found = $crate::ledger::fetch_hashes!(&mut *$tx, &indexes);
            let hashes = compute(&$crate::ledger::Fetched(found))?;
            let first_hash =
                $crate::ledger::index_to_db(comity_ledger::tree::stored_hash_count(size))?;
            for (n, chunk) in hashes
                .chunks($crate::ledger::ROWS_PER_STATEMENT)
                .enumerate()
            {
                let sql = $crate::ledger::values_sql(
                    "INSERT INTO ledger_hash (idx, hash) VALUES ",
                    chunk.len(),
                    2,
                );
                let mut q = sqlx::query(&sql);
                let base = first_hash + (n * $crate::ledger::ROWS_PER_STATEMENT) as i64;
                for (k, h) in chunk.iter().enumerate() {
                    q = q.bind(base + k as i64).bind(h.0.to_vec());
                }
                q.execute(&mut *$tx).await?;
            }
            sqlx::query("UPDATE ledger_head SET size = $1 WHERE id = 1")
                .bind($crate::ledger::index_to_db(size)? + entries.len() as i64)
                .execute(&mut *$tx)
                .await?;
        }
    }};
}
pub(crate) use hash_locked;

/// `prefix ($1, $2, ...), (...)` for `rows` rows of `columns` placeholders.
pub(crate) fn values_sql(prefix: &str, rows: usize, columns: usize) -> String {
    let mut sql = String::with_capacity(prefix.len() + rows * columns * 6);
    sql.push_str(prefix);
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push('$');
            sql.push_str(&(r * columns + c + 1).to_string());
        }
        sql.push(')');
    }
    sql
}

impl Store {
    /// Appends entries in one transaction; returns the index of the first.
    pub async fn ledger_append(&self, entries: &[LedgerAppend]) -> Result<u64, StoreError> {
        let first = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let size = lock_head!(tx);
            append_locked!(tx, size, entries);
            tx.commit().await?;
            size
        });
        Ok(first)
    }

    /// Number of committed entries.
    pub async fn ledger_size(&self) -> Result<u64, StoreError> {
        let sql = "SELECT size FROM ledger_head WHERE id = 1";
        let (size,): (i64,) = on_pool!(self, pool => sqlx::query_as(sql).fetch_one(pool).await?);
        index_from_db(size)
    }

    /// Runs a tree function of `comity-ledger` (tree head, proof, tile) on the stored hashes,
    /// fetched in one query. Sizes passed to `f` must not exceed `ledger_size()`.
    pub async fn ledger_compute<T>(
        &self,
        f: impl Fn(&dyn HashReader) -> comity_ledger::Result<T>,
    ) -> Result<T, StoreError> {
        let indexes = needed_hashes(&f);
        let found = on_pool!(self, pool => fetch_hashes!(pool, &indexes));
        Ok(f(&Fetched(found))?)
    }

    /// The root of the tree of the first `size` entries.
    pub async fn ledger_root(&self, size: u64) -> Result<Hash, StoreError> {
        self.ledger_compute(|r| tree::tree_hash(size, r)).await
    }

    /// Entry bytes for indexes `from..to`, in order.
    pub async fn ledger_entries(&self, from: u64, to: u64) -> Result<Vec<Vec<u8>>, StoreError> {
        let sql = "SELECT bytes FROM ledger_entry WHERE idx >= $1 AND idx < $2 ORDER BY idx";
        let (from, to) = (index_to_db(from)?, index_to_db(to)?);
        let rows: Vec<(Vec<u8>,)> = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(from).bind(to).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|(b,)| b).collect())
    }

    pub async fn ledger_entry(&self, index: u64) -> Result<Option<LedgerRecord>, StoreError> {
        let sql = "SELECT idx, kind, time, bytes FROM ledger_entry WHERE idx = $1";
        let index = index_to_db(index)?;
        let row =
            on_pool!(self, pool => sqlx::query_as(sql).bind(index).fetch_optional(pool).await?);
        Ok(row)
    }

    /// Newest first, optionally of one kind.
    pub async fn ledger_recent(
        &self,
        kind: Option<&str>,
        limit: i64,
    ) -> Result<Vec<LedgerRecord>, StoreError> {
        let sql = "SELECT idx, kind, time, bytes FROM ledger_entry \
                   WHERE ($1 IS NULL OR kind = $1) ORDER BY idx DESC LIMIT $2";
        let rows = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(kind).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }
}
