//! Evidence transfers between nodes, custody events signed by other nodes, and the consents of
//! providing nodes. A received item is registered with the provider's events, this node's
//! `received` and `verified` events and their ledger entries, and its transfer marked completed,
//! in one transaction.

use crate::evidence::{EvidenceItem, NewCustodyEvent, insert_events, insert_item};
use crate::ledger::{append_locked, index_to_db, lock_head};
use crate::outbox::insert_outbound;
use crate::pool::{BeginWrite, on_pool};
use crate::{LedgerAppend, NewOutbound, Store, StoreError};

/// A transfer as stored, on either side.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Transfer {
    /// 32 hex digits chosen by the provider; the same on both sides.
    pub id: String,
    /// `out` at the provider, `in` at the recipient.
    pub direction: String,
    pub peer: String,
    pub sha256: String,
    pub case_id: String,
    pub name: String,
    pub purpose: String,
    pub request: Option<String>,
    /// The offer's JSON (`comity_evidence::TransferOffer`).
    pub offer: String,
    /// The provider's use conditions (JSON).
    pub conditions: String,
    /// The custody chain that came with the offer (JSON array of `{event, proof}`); kept on the
    /// recipient until the item is registered.
    pub custody: String,
    pub chunks: i64,
    pub received: i64,
    /// `offered` (out), `pending` (in), `completed` or `refused`.
    pub state: String,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The `evidence.offer` message.
    pub message_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A custody event signed by another node, with the inclusion proof of its ledger entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignEvent {
    pub seq: i64,
    pub signed: Vec<u8>,
    pub action: String,
    pub actor: String,
    pub at: i64,
    pub proof: Vec<u8>,
}

/// An error's code and message as two nullable columns.
fn split(error: Option<(&str, &str)>) -> (Option<String>, Option<String>) {
    match error {
        Some((code, message)) => (Some(code.to_owned()), Some(message.to_owned())),
        None => (None, None),
    }
}

/// Inserts transfer `$t` through `$conn` (a connection or a transaction); the rows inserted,
/// 0 when its id is already known.
macro_rules! insert_transfer {
    ($conn:expr, $t:expr) => {{
        let t: &Transfer = $t;
        sqlx::query(
            "INSERT INTO evidence_transfers (id, direction, peer, sha256, case_id, name, purpose, \
             request, offer, conditions, custody, chunks, received, state, error_code, \
             error_message, message_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, \
             $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&t.id)
        .bind(&t.direction)
        .bind(&t.peer)
        .bind(&t.sha256)
        .bind(&t.case_id)
        .bind(&t.name)
        .bind(&t.purpose)
        .bind(&t.request)
        .bind(&t.offer)
        .bind(&t.conditions)
        .bind(&t.custody)
        .bind(t.chunks)
        .bind(t.received)
        .bind(&t.state)
        .bind(&t.error_code)
        .bind(&t.error_message)
        .bind(&t.message_id)
        .bind(t.created_at)
        .bind(t.updated_at)
        .execute(&mut *$conn)
        .await?
        .rows_affected()
    }};
}

const COLUMNS: &str = "id, direction, peer, sha256, case_id, name, purpose, request, offer, \
    conditions, custody, chunks, received, state, error_code, error_message, message_id, created_at, \
    updated_at";

impl Store {
    /// Stores a new transfer; `false` (nothing changed) when its id is already known.
    pub async fn create_transfer(&self, t: &Transfer) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            insert_transfer!(conn, t)
        });
        Ok(n == 1)
    }

    /// Offers an item: the provider's `sent` event with its ledger entry, the outgoing transfer
    /// and the `evidence.offer` message with its `message_sent` entry, in one transaction, so a
    /// crash never leaves a `sent` without its offer. `None`, storing nothing, when `sent` no
    /// longer follows the item's newest event (another event won: rebuild and try again).
    pub async fn offer_evidence(
        &self,
        sent: &NewCustodyEvent,
        transfer: &Transfer,
        offer: &NewOutbound,
    ) -> Result<Option<u64>, StoreError> {
        let index = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let size = lock_head!(tx);
            let (newest,): (Option<i64>,) = sqlx::query_as(
                "SELECT MAX(seq) FROM (SELECT seq FROM custody_events WHERE sha256 = $1 \
                 UNION ALL SELECT seq FROM foreign_custody_events WHERE sha256 = $1) AS chain",
            )
            .bind(&sent.sha256)
            .fetch_one(&mut *tx)
            .await?;
            if newest.map(|n| n + 1) != Some(sent.seq) {
                return Ok(None);
            }
            if insert_transfer!(tx, transfer) != 1 {
                return Err(StoreError::Conflict(format!("transfer {} already exists", transfer.id)));
            }
            let _ = insert_events!(tx, size, std::slice::from_ref(sent));
            insert_outbound!(tx, offer, index_to_db(size + 1)?);
            append_locked!(tx, size + 1, std::slice::from_ref(&offer.ledger));
            tx.commit().await?;
            size
        });
        Ok(Some(index))
    }

    pub async fn transfer(&self, id: &str) -> Result<Option<Transfer>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM evidence_transfers WHERE id = $1");
        let row = on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        Ok(row)
    }

    /// Every transfer, or those of one item, oldest first.
    pub async fn transfers(&self, sha256: Option<&str>) -> Result<Vec<Transfer>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM evidence_transfers WHERE ($1 IS NULL OR sha256 = $1) \
             ORDER BY created_at, id"
        );
        let rows = on_pool!(self, pool => sqlx::query_as(&sql).bind(sha256).fetch_all(pool).await?);
        Ok(rows)
    }

    /// Incoming transfers still to pull.
    pub async fn pending_transfers(&self) -> Result<Vec<Transfer>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM evidence_transfers WHERE direction = 'in' AND state = 'pending' \
             ORDER BY created_at, id"
        );
        let rows = on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        Ok(rows)
    }

    /// Whether `sha256` is offered to `peer` and not yet completed or refused.
    pub async fn offered_to(&self, sha256: &str, peer: &str) -> Result<bool, StoreError> {
        let (n,): (i64,) = on_pool!(self, pool => sqlx::query_as(
            "SELECT COUNT(*) FROM evidence_transfers WHERE direction = 'out' AND state = 'offered' \
             AND sha256 = $1 AND peer = $2",
        )
        .bind(sha256)
        .bind(peer)
        .fetch_one(pool)
        .await?);
        Ok(n > 0)
    }

    /// Records how far a pending transfer got (unchanged when `received` is `None`), and the
    /// last error of a pull (cleared by `None`).
    pub async fn transfer_progress(
        &self,
        id: &str,
        received: Option<i64>,
        error: Option<(&str, &str)>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (code, message) = split(error);
        let _ = on_pool!(self, pool => sqlx::query(
            "UPDATE evidence_transfers SET received = COALESCE($2, received), error_code = $3, error_message = $4, \
             updated_at = $5 WHERE id = $1 AND state = 'pending'",
        )
        .bind(id)
        .bind(received)
        .bind(code)
        .bind(message)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// Ends an open transfer (`offered` or `pending`) as `completed` (every chunk received),
    /// `refused` or `withdrawn`; `false` when it had already ended (a repeated report changes
    /// nothing). `completed` also ends a withdrawn offer: the recipient had every chunk before
    /// the withdrawal took effect, and the record says what happened.
    pub async fn end_transfer(
        &self,
        id: &str,
        direction: &str,
        state: &str,
        error: Option<(&str, &str)>,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (code, message) = split(error);
        let n = on_pool!(self, pool => sqlx::query(
            "UPDATE evidence_transfers SET state = $3, error_code = $4, error_message = $5, \
             updated_at = $6, received = CASE WHEN $3 = 'completed' THEN chunks ELSE received END \
             WHERE id = $1 AND direction = $2 \
             AND (state IN ('offered', 'pending') OR ($3 = 'completed' AND state = 'withdrawn'))",
        )
        .bind(id)
        .bind(direction)
        .bind(state)
        .bind(code)
        .bind(message)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(n == 1)
    }

    /// Registers a received item: the provider's events verbatim with their proofs, then this
    /// node's events with their ledger entries, and ends the transfer as completed, in one
    /// transaction. `None`, storing nothing, when the item is already registered.
    pub async fn receive_evidence(
        &self,
        transfer: &str,
        item: &EvidenceItem,
        foreign: &[ForeignEvent],
        events: &[NewCustodyEvent],
        now: i64,
    ) -> Result<Option<Vec<u64>>, StoreError> {
        let indexes = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let size = lock_head!(tx);
            let inserted = insert_item!(tx, item);
            if inserted == 0 {
                return Ok(None);
            }
            for e in foreign {
                sqlx::query(
                    "INSERT INTO foreign_custody_events (sha256, seq, signed, action, actor, at, proof) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&item.sha256)
                .bind(e.seq)
                .bind(&e.signed)
                .bind(&e.action)
                .bind(&e.actor)
                .bind(e.at)
                .bind(&e.proof)
                .execute(&mut *tx)
                .await?;
            }
            let indexes = insert_events!(tx, size, events);
            sqlx::query(
                "UPDATE evidence_transfers SET state = 'completed', received = chunks, \
                 error_code = NULL, error_message = NULL, updated_at = $2 WHERE id = $1",
            )
            .bind(transfer)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            indexes
        });
        Ok(Some(indexes))
    }

    /// Keeps the provider's signed consent to one operation on an item (the newest per operation).
    pub async fn record_consent(
        &self,
        sha256: &str,
        operation: &str,
        provider: &str,
        signed: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let _ = on_pool!(self, pool => sqlx::query(
            "INSERT INTO evidence_consents (sha256, operation, provider, signed, recorded_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256, operation) DO UPDATE SET \
             provider = excluded.provider, signed = excluded.signed, recorded_at = excluded.recorded_at",
        )
        .bind(sha256)
        .bind(operation)
        .bind(provider)
        .bind(signed)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
        Ok(())
    }

    /// The consents recorded for an item (signed JSON, verbatim).
    pub async fn consents(&self, sha256: &str) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = on_pool!(self, pool => sqlx::query_as(
            "SELECT signed FROM evidence_consents WHERE sha256 = $1 ORDER BY recorded_at, operation",
        )
        .bind(sha256)
        .fetch_all(pool)
        .await?);
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}
