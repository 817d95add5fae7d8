//! Evidence items and their custody events. The node signs the events and builds their ledger
//! entries; here each event is stored verbatim and committed in one transaction with its
//! `custody_event` entry, keeping the entry's index so a timeline can be proved.

use crate::ledger::{append_locked, index_to_db, lock_head};
use crate::pool::{BeginWrite, on_pool};
use crate::{LedgerAppend, Store, StoreError};

/// An item in the vault, as registered.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EvidenceItem {
    /// SHA-256 of the plaintext, lowercase hex: the item's identity.
    pub sha256: String,
    pub case_id: String,
    /// The file name it was added under.
    pub name: String,
    pub size: i64,
    /// The providing state's use conditions (JSON), when it set any.
    pub conditions: Option<String>,
    /// The node that provided the item (this node for local seizures).
    pub provider: String,
    pub created_at: i64,
}

/// A signed custody event to record, with its ledger entry.
#[derive(Debug, Clone)]
pub struct NewCustodyEvent {
    pub sha256: String,
    pub seq: i64,
    /// The signed event's canonical JSON, exactly as signed.
    pub signed: Vec<u8>,
    pub action: String,
    /// `node/user`.
    pub actor: String,
    pub at: i64,
    pub ledger: LedgerAppend,
}

/// A custody event as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CustodyRecord {
    pub sha256: String,
    pub seq: i64,
    pub signed: Vec<u8>,
    pub action: String,
    pub actor: String,
    pub at: i64,
    /// This node's ledger entry of the event; `None` for an event another node signed.
    pub ledger_index: Option<i64>,
    /// For an event another node signed: the inclusion proof of its entry in that node's ledger.
    pub proof: Option<Vec<u8>>,
}

const ITEM_COLUMNS: &str = "sha256, case_id, name, size, conditions, provider, created_at";

/// Inserts `$events` (ledger indexes from `$size` on) and their entries inside the locked `$tx`.
macro_rules! insert_events {
    ($tx:expr, $size:expr, $events:expr) => {{
        let events: &[NewCustodyEvent] = $events;
        let first = index_to_db($size)?;
        for (k, e) in events.iter().enumerate() {
            sqlx::query(
                "INSERT INTO custody_events (sha256, seq, signed, action, actor, at, ledger_index) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&e.sha256)
            .bind(e.seq)
            .bind(&e.signed)
            .bind(&e.action)
            .bind(&e.actor)
            .bind(e.at)
            .bind(first + k as i64)
            .execute(&mut *$tx)
            .await?;
        }
        let entries: Vec<LedgerAppend> = events.iter().map(|e| e.ledger.clone()).collect();
        append_locked!($tx, $size, &entries);
        (0..events.len() as u64)
            .map(|k| $size + k)
            .collect::<Vec<u64>>()
    }};
}
pub(crate) use insert_events;

/// Registers `item` inside the caller's transaction; 0 rows when the digest is already held.
macro_rules! insert_item {
    ($tx:ident, $item:expr) => {{
        let item: &$crate::evidence::EvidenceItem = $item;
        sqlx::query(
            "INSERT INTO evidence_items (sha256, case_id, name, size, conditions, provider, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(&item.sha256)
        .bind(&item.case_id)
        .bind(&item.name)
        .bind(item.size)
        .bind(&item.conditions)
        .bind(&item.provider)
        .bind(item.created_at)
        .execute(&mut *$tx)
        .await?
        .rows_affected()
    }};
}
pub(crate) use insert_item;

impl Store {
    /// Registers a new item with its first custody events (seq 0, 1, ...), all in one
    /// transaction with their ledger entries. Returns the entries' ledger indexes, or `None`,
    /// storing nothing, when the item is already registered.
    pub async fn add_evidence(
        &self,
        item: &EvidenceItem,
        events: &[NewCustodyEvent],
    ) -> Result<Option<Vec<u64>>, StoreError> {
        let indexes = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let size = lock_head!(tx);
            let inserted = insert_item!(tx, item);
            if inserted == 0 {
                return Ok(None);
            }
            let indexes = insert_events!(tx, size, events);
            tx.commit().await?;
            indexes
        });
        Ok(Some(indexes))
    }

    /// Records the next custody event of a registered item with its ledger entry. Returns the
    /// entry's ledger index, or `None`, storing nothing, when `event.seq` is not the one after
    /// the item's newest event (another event came first: rebuild it on the new newest).
    pub async fn record_custody(&self, event: &NewCustodyEvent) -> Result<Option<u64>, StoreError> {
        let indexes = self.record_custody_all(std::slice::from_ref(event)).await?;
        Ok(indexes.map(|i| i[0]))
    }

    /// Records the next custody event of each of several distinct items, with their ledger
    /// entries, in one transaction: all of them or none. Returns the entries' ledger indexes, in
    /// order, or `None`, storing nothing, when an event's `seq` is not the one after its item's
    /// newest event (rebuild them on the new newest).
    pub async fn record_custody_all(
        &self,
        events: &[NewCustodyEvent],
    ) -> Result<Option<Vec<u64>>, StoreError> {
        let indexes = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let size = lock_head!(tx);
            for event in events {
                let (newest,): (Option<i64>,) = sqlx::query_as(
                    "SELECT MAX(seq) FROM (SELECT seq FROM custody_events WHERE sha256 = $1 \
                     UNION ALL SELECT seq FROM foreign_custody_events WHERE sha256 = $1) AS chain",
                )
                .bind(&event.sha256)
                .fetch_one(&mut *tx)
                .await?;
                if newest.map(|n| n + 1) != Some(event.seq) {
                    return Ok(None);
                }
            }
            let indexes = insert_events!(tx, size, events);
            tx.commit().await?;
            indexes
        });
        Ok(Some(indexes))
    }

    pub async fn evidence_item(&self, sha256: &str) -> Result<Option<EvidenceItem>, StoreError> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM evidence_items WHERE sha256 = $1");
        let row =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(sha256).fetch_optional(pool).await?);
        Ok(row)
    }

    /// The items of a case, oldest first.
    pub async fn evidence_items(&self, case_id: &str) -> Result<Vec<EvidenceItem>, StoreError> {
        let sql = format!(
            "SELECT {ITEM_COLUMNS} FROM evidence_items WHERE case_id = $1 ORDER BY created_at, sha256"
        );
        let rows =
            on_pool!(self, pool => sqlx::query_as(&sql).bind(case_id).fetch_all(pool).await?);
        Ok(rows)
    }

    /// An item's custody events in order: those other nodes signed (received with the item)
    /// and this node's own.
    pub async fn custody_events(&self, sha256: &str) -> Result<Vec<CustodyRecord>, StoreError> {
        let sql = "SELECT sha256, seq, signed, action, actor, at, ledger_index, NULL AS proof \
                   FROM custody_events WHERE sha256 = $1 \
                   UNION ALL SELECT sha256, seq, signed, action, actor, at, NULL, proof \
                   FROM foreign_custody_events WHERE sha256 = $1 ORDER BY seq";
        let rows = on_pool!(self, pool => sqlx::query_as(sql).bind(sha256).fetch_all(pool).await?);
        Ok(rows)
    }
}
