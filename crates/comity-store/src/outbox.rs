use crate::ledger::{append_locked, index_to_db, lock_head};
use crate::pool::{BeginWrite, on_pool};
use crate::rows::OutboundRow;
use crate::{DeliveryState, LedgerAppend, NewOutbound, Outbound, Store, StoreError};

const COLUMNS: &str = "seq, id, peer, conversation, in_reply_to, kind, created_at, envelope, digest, \
                       body, inner_signature, state, attempts, delivered_at, receipt, last_error, log_index";

fn convert(rows: Vec<OutboundRow>) -> Result<Vec<Outbound>, StoreError> {
    rows.into_iter().map(Outbound::try_from).collect()
}

/// Queues `$m` inside transaction `$tx`; `$log_index` is its `message_sent` entry's index,
/// which the caller appends in the same transaction.
macro_rules! insert_outbound {
    ($tx:expr, $m:expr, $log_index:expr) => {{
        let m: &$crate::NewOutbound = $m;
        sqlx::query(
            "INSERT INTO outbox (id, peer, conversation, in_reply_to, kind, created_at, envelope, digest, body, \
             inner_signature, state, log_index) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', $11)",
        )
        .bind(&m.id)
        .bind(&m.peer)
        .bind(&m.conversation)
        .bind(&m.in_reply_to)
        .bind(&m.kind)
        .bind(m.created_at)
        .bind(&m.envelope)
        .bind(&m.digest)
        .bind(&m.body)
        .bind(&m.inner_signature)
        .bind($log_index)
        .execute(&mut *$tx)
        .await?;
        sqlx::query("INSERT INTO peers (peer) VALUES ($1) ON CONFLICT (peer) DO NOTHING")
            .bind(&m.peer)
            .execute(&mut *$tx)
            .await?;
    }};
}
pub(crate) use insert_outbound;

impl Store {
    /// Queues messages for delivery in one transaction, each with its `message_sent` ledger
    /// entry: when this returns, all of them are durable.
    pub async fn enqueue(&self, messages: &[NewOutbound]) -> Result<(), StoreError> {
        let entries: Vec<LedgerAppend> = messages.iter().map(|m| m.ledger.clone()).collect();
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let size = lock_head!(tx);
            let first = index_to_db(size)?;
            for (k, m) in messages.iter().enumerate() {
                insert_outbound!(tx, m, first + k as i64);
            }
            append_locked!(tx, size, &entries);
            tx.commit().await?;
        });
        Ok(())
    }

    /// The oldest queued messages for `peer`, in the order they were accepted.
    pub async fn queued_for(&self, peer: &str, limit: i64) -> Result<Vec<Outbound>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE peer = $1 AND state = 'queued' ORDER BY seq LIMIT $2"
        );
        let rows: Vec<OutboundRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(peer).bind(limit).fetch_all(pool).await?
        });
        convert(rows)
    }

    /// Records the receipts of delivered messages and clears the peer's back-off.
    pub async fn mark_delivered(
        &self,
        peer: &str,
        delivered: &[(String, Vec<u8>)],
        now: i64,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for (id, receipt) in delivered {
                sqlx::query(
                    "UPDATE outbox SET state = 'delivered', delivered_at = $1, receipt = $2, \
                     attempts = attempts + 1, last_error = NULL WHERE id = $3 AND state <> 'delivered'",
                )
                .bind(now)
                .bind(receipt)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "UPDATE peers SET failures = 0, next_attempt_at = 0, last_success_at = $1 WHERE peer = $2",
            )
            .bind(now)
            .bind(peer)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records messages the peer refused for good, with its reason; they leave the queue so the
    /// messages behind them can go.
    pub async fn mark_refused(&self, refused: &[(String, String)]) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            for (id, reason) in refused {
                sqlx::query(
                    "UPDATE outbox SET state = 'refused', attempts = attempts + 1, last_error = $1 \
                     WHERE id = $2 AND state = 'queued'",
                )
                .bind(reason)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Moves messages still undelivered after `max_age_ms` to the dead-letter state.
    pub async fn dead_letter_older_than(&self, cutoff: i64) -> Result<u64, StoreError> {
        let sql = "UPDATE outbox SET state = 'dead', \
                   last_error = COALESCE(last_error, 'not delivered') || ' (dead-lettered: too old)' \
                   WHERE state = 'queued' AND created_at < $1";
        let done = on_pool!(self, pool => sqlx::query(sql).bind(cutoff).execute(pool).await?.rows_affected());
        Ok(done)
    }

    /// Puts dead-lettered messages back in the queue (one id, or all when `id` is `None`).
    pub async fn requeue_dead(&self, id: Option<&str>) -> Result<u64, StoreError> {
        let sql =
            "UPDATE outbox SET state = 'queued' WHERE state = 'dead' AND ($1 IS NULL OR id = $1)";
        let done =
            on_pool!(self, pool => sqlx::query(sql).bind(id).execute(pool).await?.rows_affected());
        Ok(done)
    }

    /// Newest first, optionally only one delivery state.
    pub async fn list_outbox(
        &self,
        state: Option<DeliveryState>,
        limit: i64,
    ) -> Result<Vec<Outbound>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE ($1 IS NULL OR state = $1) ORDER BY seq DESC LIMIT $2"
        );
        let state = state.map(DeliveryState::as_str);
        let rows: Vec<OutboundRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(state).bind(limit).fetch_all(pool).await?
        });
        convert(rows)
    }

    /// Messages queued after `seq`, in the order they were queued.
    pub async fn outbox_after(&self, seq: i64, limit: i64) -> Result<Vec<Outbound>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows: Vec<OutboundRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(seq).bind(limit).fetch_all(pool).await?
        });
        convert(rows)
    }

    pub async fn get_outbound(&self, id: &str) -> Result<Option<Outbound>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
        let row: Option<OutboundRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(Outbound::try_from).transpose()
    }

    /// Counts per delivery state, for tests and the demo's summary.
    pub async fn outbox_counts(&self) -> Result<Vec<(String, i64)>, StoreError> {
        let sql = "SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state";
        let rows = on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows)
    }
}
