//! Cooperation requests and their timelines. A transition is the request's new state, its event,
//! its `request_state` ledger entry and, when this node acted, the message that tells the peer,
//! committed in one transaction: no state change the peer is never told of.

use crate::ledger::{append_locked, index_to_db, lock_head};
use crate::outbox::insert_outbound;
use crate::pool::{BeginWrite, on_pool};
use crate::{Inbound, LedgerAppend, NewOutbound, Store, StoreError};

/// Which side of a request this node is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Requesting,
    Requested,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Requesting => "requesting",
            Side::Requested => "requested",
        }
    }

    fn parse(s: &str) -> Result<Side, StoreError> {
        match s {
            "requesting" => Ok(Side::Requesting),
            "requested" => Ok(Side::Requested),
            other => Err(StoreError::Corrupt(format!("request side {other:?}"))),
        }
    }
}

/// A request as stored: the workflow JSON and the columns copied from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRequest {
    pub id: String,
    pub kind: String,
    pub side: Side,
    pub peer: String,
    pub state: String,
    pub due_at: Option<i64>,
    /// The workflow crate's JSON of the request.
    pub request: String,
    /// How many transitions the request went through; a transition names the version it read.
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    /// Index of the `request_state` ledger entry of the latest transition, whose `request`
    /// digest covers `request`; `None` for a request last changed before migration 0008.
    pub log_index: Option<i64>,
}

/// A request this node opened or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRequest {
    pub id: String,
    pub kind: String,
    pub side: Side,
    pub peer: String,
    pub change: RequestChange,
}

/// What a transition or the opening changes in the request row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestChange {
    pub state: String,
    pub due_at: Option<i64>,
    pub request: String,
}

/// One entry of a request's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestEvent {
    /// `transition` or `alert`.
    pub event: String,
    pub actor_node: Option<String>,
    pub actor_role: Option<String>,
    /// The workflow action JSON of a transition.
    pub action: Option<String>,
    pub from_state: Option<String>,
    pub to_state: String,
    pub at: i64,
    /// JSON array of the articles relied on.
    pub articles: String,
    /// What an alert says (reminder, escalation, overdue).
    pub detail: Option<String>,
    /// The message the transition travelled in.
    pub message_id: Option<String>,
}

/// A timeline entry with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: i64,
    pub event: RequestEvent,
    /// Index of the transition's `request_state` ledger entry, whose `event` digest covers the
    /// event; `None` for alerts (never in the ledger) and for transitions stored before
    /// migration 0008.
    pub log_index: Option<i64>,
}

type RequestRow = (
    String,
    String,
    String,
    String,
    String,
    Option<i64>,
    String,
    i64,
    i64,
    i64,
    Option<i64>,
);

type EventRow = (
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
);

const REQUEST_COLUMNS: &str =
    "id, kind, side, peer, state, due_at, request, version, created_at, updated_at, log_index";
const EVENT_COLUMNS: &str = "seq, event, actor_node, actor_role, action, from_state, to_state, \
                             at, articles, detail, message_id, log_index";

fn request_from(r: RequestRow) -> Result<StoredRequest, StoreError> {
    Ok(StoredRequest {
        id: r.0,
        kind: r.1,
        side: Side::parse(&r.2)?,
        peer: r.3,
        state: r.4,
        due_at: r.5,
        request: r.6,
        version: r.7,
        created_at: r.8,
        updated_at: r.9,
        log_index: r.10,
    })
}

fn event_from(r: EventRow) -> StoredEvent {
    StoredEvent {
        seq: r.0,
        event: RequestEvent {
            event: r.1,
            actor_node: r.2,
            actor_role: r.3,
            action: r.4,
            from_state: r.5,
            to_state: r.6,
            at: r.7,
            articles: r.8,
            detail: r.9,
            message_id: r.10,
        },
        log_index: r.11,
    }
}

const INSERT_EVENT: &str = "INSERT INTO request_events (request_id, seq, event, actor_node, \
    actor_role, action, from_state, to_state, at, articles, detail, message_id, log_index) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)";

/// Inserts event `$e` of request `$id` at `$seq`; `$log_index` is its ledger entry's index, if
/// it has one.
macro_rules! insert_event {
    ($tx:expr, $id:expr, $seq:expr, $e:expr, $log_index:expr) => {{
        let log_index: Option<i64> = $log_index;
        let e: &RequestEvent = $e;
        sqlx::query(INSERT_EVENT)
            .bind($id)
            .bind($seq)
            .bind(&e.event)
            .bind(&e.actor_node)
            .bind(&e.actor_role)
            .bind(&e.action)
            .bind(&e.from_state)
            .bind(&e.to_state)
            .bind(e.at)
            .bind(&e.articles)
            .bind(&e.detail)
            .bind(&e.message_id)
            .bind(log_index)
            .execute(&mut *$tx)
            .await?;
    }};
}

/// Appends the `request_state` entry `$ledger` and, if `$outbound` is some, queues that message
/// after it with its `message_sent` entry, in transaction `$tx` whose ledger head is `$size`.
macro_rules! queue_with {
    ($tx:expr, $size:expr, $ledger:expr, $outbound:expr) => {{
        let outbound: Option<&NewOutbound> = $outbound;
        let mut entries = vec![$ledger.clone()];
        if let Some(m) = outbound {
            insert_outbound!($tx, m, index_to_db($size)? + 1);
            entries.push(m.ledger.clone());
        }
        append_locked!($tx, $size, &entries);
    }};
}

impl Store {
    /// Stores a newly opened request with its first event, its ledger entry and, when this node
    /// opened it, the message that sends it (queued with its `message_sent` entry). Returns
    /// `false` (and changes nothing) when a request with this id is already stored.
    pub async fn insert_request(
        &self,
        new: &NewRequest,
        event: &RequestEvent,
        ledger: &LedgerAppend,
        outbound: Option<&NewOutbound>,
    ) -> Result<bool, StoreError> {
        let (id, change) = (&new.id, &new.change);
        let inserted = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let size = lock_head!(tx);
            let done = sqlx::query(
                "INSERT INTO requests (id, kind, side, peer, state, due_at, request, version, events, created_at, updated_at, log_index) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, 1, $8, $8, $9) ON CONFLICT (id) DO NOTHING",
            )
            .bind(id)
            .bind(&new.kind)
            .bind(new.side.as_str())
            .bind(&new.peer)
            .bind(&change.state)
            .bind(change.due_at)
            .bind(&change.request)
            .bind(event.at)
            .bind(index_to_db(size)?)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done == 1 {
                insert_event!(tx, id, 1_i64, event, Some(index_to_db(size)?));
                queue_with!(tx, size, ledger, outbound);
                tx.commit().await?;
                true
            } else {
                tx.rollback().await?;
                false
            }
        });
        Ok(inserted)
    }

    /// Records a transition: the request's new state, its event, its ledger entry and, when this
    /// node acted, the message that tells the peer, in one transaction; returns the event's
    /// number. Refused with `store.conflict` when the request went through another transition
    /// since it was read (`read` is its version then).
    pub async fn record_transition(
        &self,
        id: &str,
        read: i64,
        change: &RequestChange,
        event: &RequestEvent,
        ledger: &LedgerAppend,
        outbound: Option<&NewOutbound>,
    ) -> Result<i64, StoreError> {
        let seq = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let size = lock_head!(tx);
            let seq: Option<(i64,)> = sqlx::query_as(
                "UPDATE requests SET state = $1, due_at = $2, request = $3, version = version + 1, \
                 events = events + 1, updated_at = $4, log_index = $7 WHERE id = $5 AND version = $6 \
                 RETURNING events",
            )
            .bind(&change.state)
            .bind(change.due_at)
            .bind(&change.request)
            .bind(event.at)
            .bind(id)
            .bind(read)
            .bind(index_to_db(size)?)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((seq,)) = seq else {
                tx.rollback().await?;
                return Err(StoreError::Conflict(format!(
                    "request {id} changed while this transition was prepared; read it again"
                )));
            };
            insert_event!(tx, id, seq, event, Some(index_to_db(size)?));
            queue_with!(tx, size, ledger, outbound);
            tx.commit().await?;
            seq
        });
        Ok(seq)
    }

    /// Adds a scheduler alert (reminder, escalation, overdue) to a request's timeline; the
    /// request's state does not change.
    pub async fn record_request_alert(
        &self,
        id: &str,
        event: &RequestEvent,
    ) -> Result<(), StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (seq,): (i64,) = sqlx::query_as(
                "UPDATE requests SET events = events + 1 WHERE id = $1 RETURNING events",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            insert_event!(tx, id, seq, event, None);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Whether a message was already replayed into a request (inbound idempotency).
    pub async fn request_message_seen(&self, message_id: &str) -> Result<bool, StoreError> {
        let sql = "SELECT COUNT(*) FROM request_events WHERE message_id = $1";
        let (n,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as(sql).bind(message_id).fetch_one(pool).await?
        });
        Ok(n > 0)
    }

    pub async fn get_request(&self, id: &str) -> Result<Option<StoredRequest>, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1");
        let row: Option<RequestRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await?
        });
        row.map(request_from).transpose()
    }

    /// Newest first; `state` filters on the state, `due_before` keeps requests due before
    /// that time (overdue ones, most overdue first).
    pub async fn list_requests(
        &self,
        state: Option<&str>,
        due_before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        let order = if due_before.is_some() {
            "due_at ASC"
        } else {
            "updated_at DESC, id DESC"
        };
        let sql = format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE ($1 IS NULL OR state = $1) \
             AND ($2 IS NULL OR due_at < $2) ORDER BY {order} LIMIT $3"
        );
        let rows: Vec<RequestRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(state).bind(due_before).bind(limit).fetch_all(pool).await?
        });
        rows.into_iter().map(request_from).collect()
    }

    /// Requests whose id sorts after `id`, in id order.
    pub async fn requests_after(
        &self,
        id: &str,
        limit: i64,
    ) -> Result<Vec<StoredRequest>, StoreError> {
        let sql =
            format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<RequestRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).bind(limit).fetch_all(pool).await?
        });
        rows.into_iter().map(request_from).collect()
    }

    /// Every request with an open deadline, for rebuilding the scheduler at start.
    pub async fn requests_with_due(&self) -> Result<Vec<StoredRequest>, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE due_at IS NOT NULL");
        let rows: Vec<RequestRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).fetch_all(pool).await?
        });
        rows.into_iter().map(request_from).collect()
    }

    /// A request's timeline, oldest first.
    pub async fn request_events(&self, id: &str) -> Result<Vec<StoredEvent>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM request_events WHERE request_id = $1 ORDER BY seq"
        );
        let rows: Vec<EventRow> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(id).fetch_all(pool).await?
        });
        Ok(rows.into_iter().map(event_from).collect())
    }

    /// Request messages received from peers that were neither replayed into a request nor
    /// refused, oldest first: a replay that failed for a passing reason (the store busy, an
    /// action that arrived before its request) is tried again from here.
    pub async fn unreplayed_request_messages(
        &self,
        limit: i64,
    ) -> Result<Vec<Inbound>, StoreError> {
        let sql = format!(
            "SELECT {} FROM inbox i WHERE i.kind IN ('request.open', 'request.action') \
             AND NOT EXISTS (SELECT 1 FROM request_events e WHERE e.message_id = i.id) \
             AND NOT EXISTS (SELECT 1 FROM refused_inbound r WHERE r.message_id = i.id) \
             ORDER BY i.seq LIMIT $1",
            crate::inbox::COLUMNS
        );
        let rows: Vec<Inbound> = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }
}
