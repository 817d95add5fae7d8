use crate::ledger::{append_locked, index_to_db, lock_head};
use crate::pool::{BeginWrite, on_pool};
use crate::{Inbound, LedgerAppend, Store, StoreError};

/// What happened to one inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundOutcome {
    /// Stored now, for the first time.
    Accepted,
    /// The same bytes were accepted before; answer with the receipt given then.
    Duplicate { receipt: Vec<u8> },
    /// The id was accepted before with other content.
    Replay,
}

pub(crate) const COLUMNS: &str = "id, peer, conversation, in_reply_to, kind, sent_at, received_at, envelope, digest, body, inner_signature, receipt, log_index";

impl Store {
    /// The digest and receipt of an already accepted message, if any.
    pub async fn inbound_receipt(
        &self,
        id: &str,
    ) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
        let sql = "SELECT digest, receipt FROM inbox WHERE id = $1";
        let row = on_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await?);
        Ok(row)
    }

    /// Stores a batch of checked messages in one transaction, each new one with its
    /// `message_received` ledger entry (`entries[i]` for `messages[i]`). Each message is stored at
    /// most once: a repeat with the same digest is a duplicate, with another digest a replay.
    /// For each new message, `receipt_for(i, log_index)` signs the receipt naming its entry's
    /// index; it and the index are written into `messages[i]`.
    pub async fn accept_inbound(
        &self,
        messages: &mut [Inbound],
        entries: &[LedgerAppend],
        mut receipt_for: impl FnMut(usize, u64) -> Vec<u8>,
    ) -> Result<Vec<InboundOutcome>, StoreError> {
        if entries.len() != messages.len() {
            return Err(StoreError::Corrupt(format!(
                "{} ledger entries for {} inbound messages",
                entries.len(),
                messages.len()
            )));
        }
        let mut outcomes = Vec::with_capacity(messages.len());
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let size = lock_head!(tx);
            let mut appended: Vec<LedgerAppend> = Vec::new();
            for (i, m) in messages.iter_mut().enumerate() {
                let existing: Option<(Vec<u8>, Vec<u8>)> =
                    sqlx::query_as("SELECT digest, receipt FROM inbox WHERE id = $1")
                        .bind(&m.id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let outcome = match existing {
                    Some((digest, receipt)) if digest == m.digest => InboundOutcome::Duplicate { receipt },
                    Some(_) => InboundOutcome::Replay,
                    None => {
                        let index = size + appended.len() as u64;
                        m.receipt = receipt_for(i, index);
                        m.log_index = Some(index_to_db(index)?);
                        sqlx::query(
                            "INSERT INTO inbox (id, peer, conversation, in_reply_to, kind, sent_at, received_at, \
                             envelope, digest, body, inner_signature, receipt, log_index) \
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                        )
                        .bind(&m.id)
                        .bind(&m.peer)
                        .bind(&m.conversation)
                        .bind(&m.in_reply_to)
                        .bind(&m.kind)
                        .bind(m.sent_at)
                        .bind(m.received_at)
                        .bind(&m.envelope)
                        .bind(&m.digest)
                        .bind(&m.body)
                        .bind(&m.inner_signature)
                        .bind(&m.receipt)
                        .bind(m.log_index)
                        .execute(&mut *tx)
                        .await?;
                        appended.push(entries[i].clone());
                        InboundOutcome::Accepted
                    }
                };
                outcomes.push(outcome);
            }
            append_locked!(tx, size, &appended);
            tx.commit().await?;
        });
        Ok(outcomes)
    }

    /// Newest first.
    pub async fn list_inbox(&self, limit: i64) -> Result<Vec<Inbound>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM inbox ORDER BY seq DESC LIMIT $1");
        let rows = on_pool!(self, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await?);
        Ok(rows)
    }

    pub async fn get_inbound(&self, id: &str) -> Result<Option<Inbound>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM inbox WHERE id = $1");
        let row = on_pool!(self, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?);
        Ok(row)
    }

    /// Messages of one conversation in the order they were accepted.
    pub async fn inbox_conversation(&self, conversation: &str) -> Result<Vec<Inbound>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM inbox WHERE conversation = $1 ORDER BY seq");
        let rows =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(conversation).fetch_all(pool).await?);
        Ok(rows)
    }

    pub async fn inbox_count(&self) -> Result<i64, StoreError> {
        let (n,): (i64,) = on_pool!(self, pool => sqlx::query_as("SELECT COUNT(*) FROM inbox").fetch_one(pool).await?);
        Ok(n)
    }
}
