//! Refusals of peers' input, summarised: one row per peer, code and window with a count and a
//! sample, and the accepted messages whose processing was refused.

use crate::pool::{BeginWrite, on_pool};
use crate::{RefusalSummary, Store, StoreError};

const COLUMNS: &str =
    "peer, code, window_start, count, first_at, last_at, message_id, claimed_from, detail";

impl Store {
    /// Adds refusals to their summaries in one transaction: a new (peer, code, window) keeps the
    /// given sample, a known one only grows its count and `last_at`. Refusals change no other
    /// state.
    pub async fn record_refusals(&self, refusals: &[RefusalSummary]) -> Result<(), StoreError> {
        if refusals.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO refusals ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (peer, code, window_start) DO UPDATE SET \
             count = refusals.count + excluded.count, \
             last_at = CASE WHEN excluded.last_at > refusals.last_at \
                       THEN excluded.last_at ELSE refusals.last_at END"
        );
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for r in refusals {
                sqlx::query(&sql)
                    .bind(&r.peer)
                    .bind(&r.code)
                    .bind(r.window_start)
                    .bind(r.count)
                    .bind(r.first_at)
                    .bind(r.last_at)
                    .bind(&r.message_id)
                    .bind(&r.claimed_from)
                    .bind(&r.detail)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Summaries, the most recently added to first.
    pub async fn refusals(&self, limit: i64) -> Result<Vec<RefusalSummary>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM refusals \
             ORDER BY last_at DESC, window_start DESC, peer, code LIMIT $1"
        );
        let rows = on_pool!(self, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await?);
        Ok(rows)
    }

    /// How many refusals each peer had in windows starting at or after `since`.
    pub async fn refusal_counts_since(&self, since: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = "SELECT peer, CAST(SUM(count) AS BIGINT) FROM refusals \
                   WHERE window_start >= $1 GROUP BY peer ORDER BY peer";
        let rows = on_pool!(self, pool => sqlx::query_as(sql).bind(since).fetch_all(pool).await?);
        Ok(rows)
    }

    /// Marks an accepted message whose processing was refused, so it is not tried again; the
    /// first refusal of a message is the one kept.
    pub async fn refuse_inbound(
        &self,
        message_id: &str,
        code: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO refused_inbound (message_id, code, at) VALUES ($1, $2, $3) \
                   ON CONFLICT (message_id) DO NOTHING";
        on_pool!(self, pool => {
            sqlx::query(sql).bind(message_id).bind(code).bind(at).execute(pool).await.map(|_| ())?
        });
        Ok(())
    }
}
