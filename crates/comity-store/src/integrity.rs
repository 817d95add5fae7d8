//! What the node's integrity check reads: stored rows in the order it walks them, the ledger
//! entries they name, and where each walk stands (a cursor per source, so the background check
//! resumes where it stopped and covers the whole store over time).

use std::collections::HashMap;

use crate::ledger::{index_from_db, index_to_db};
use crate::pool::on_pool;
use crate::{Inbound, Store, StoreError};

/// Where the background check of one source stands.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IntegrityCursor {
    /// `ledger`, `inbox`, `outbox` or `requests`.
    pub source: String,
    /// The last position checked (a ledger index, a row's `seq`, a request id); empty at the
    /// start of a pass.
    pub position: String,
    /// Full passes over the source completed.
    pub passes: i64,
    pub updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct SeqInbound {
    seq: i64,
    #[sqlx(flatten)]
    message: Inbound,
}

impl Store {
    pub async fn integrity_cursors(&self) -> Result<Vec<IntegrityCursor>, StoreError> {
        let sql =
            "SELECT source, position, passes, updated_at FROM integrity_cursor ORDER BY source";
        let rows = on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows)
    }

    pub async fn integrity_cursor(
        &self,
        source: &str,
    ) -> Result<Option<IntegrityCursor>, StoreError> {
        let sql = "SELECT source, position, passes, updated_at FROM integrity_cursor \
                   WHERE source = $1";
        let row =
            on_pool!(self, pool => sqlx::query_as(sql).bind(source).fetch_optional(pool).await?);
        Ok(row)
    }

    pub async fn set_integrity_cursor(&self, cursor: &IntegrityCursor) -> Result<(), StoreError> {
        let sql = "INSERT INTO integrity_cursor (source, position, passes, updated_at) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (source) DO UPDATE SET \
                   position = excluded.position, passes = excluded.passes, \
                   updated_at = excluded.updated_at";
        on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(&cursor.source)
                .bind(&cursor.position)
                .bind(cursor.passes)
                .bind(cursor.updated_at)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Received messages after `seq` in the order they were accepted, with their `seq`.
    pub async fn inbox_after(
        &self,
        seq: i64,
        limit: i64,
    ) -> Result<Vec<(i64, Inbound)>, StoreError> {
        let sql = format!(
            "SELECT seq, {} FROM inbox WHERE seq > $1 ORDER BY seq LIMIT $2",
            crate::inbox::COLUMNS
        );
        let rows: Vec<SeqInbound> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(seq).bind(limit).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(|r| (r.seq, r.message)).collect())
    }

    /// The stored bytes of the ledger entries at `indexes` (those that exist).
    pub async fn ledger_entries_at(
        &self,
        indexes: &[u64],
    ) -> Result<HashMap<u64, Vec<u8>>, StoreError> {
        let mut found = HashMap::new();
        for chunk in indexes.chunks(crate::ledger::ROWS_PER_STATEMENT) {
            let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT idx, bytes FROM ledger_entry WHERE idx IN ({})",
                marks.join(", ")
            );
            let rows: Vec<(i64, Vec<u8>)> = on_pool!(self, pool => {
                let mut q = sqlx::query_as(&sql);
                for i in chunk {
                    q = q.bind(index_to_db(*i)?);
                }
                q.fetch_all(pool).await?
            });
            for (idx, bytes) in rows {
                found.insert(index_from_db(idx)?, bytes);
            }
        }
        Ok(found)
    }
}

/// A value bound into a statement run by [`Store::tamper`].
#[cfg(feature = "fault-injection")]
#[derive(Debug, Clone)]
pub enum TamperValue {
    Text(String),
    Bytes(Vec<u8>),
    Int(i64),
}

#[cfg(feature = "fault-injection")]
impl Store {
    /// Runs one statement with `$n` parameters, bypassing every rule of this crate: for tests
    /// that damage a database the way an intruder or a failing disk would. Only built with the
    /// `fault-injection` feature, which no binary enables.
    pub async fn tamper(&self, sql: &str, args: &[TamperValue]) -> Result<u64, StoreError> {
        let done = on_pool!(self, pool => {
            let mut q = sqlx::query(sql);
            for a in args {
                q = match a {
                    TamperValue::Text(t) => q.bind(t.clone()),
                    TamperValue::Bytes(b) => q.bind(b.clone()),
                    TamperValue::Int(i) => q.bind(*i),
                };
            }
            q.execute(pool).await?.rows_affected()
        });
        Ok(done)
    }
}
