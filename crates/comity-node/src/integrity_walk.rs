//! The integrity check over the whole store: at start-up the newest rows of each table, and in
//! the background a walk over every source (ledger, inbox, outbox, requests) one step at a
//! time, resuming from the cursor stored in the database, so the whole store is covered over
//! time whatever its size. Every mismatch becomes an `integrity` alarm.

use std::time::Duration;

use comity_ledger::SignedCheckpoint;
use comity_store::IntegrityCursor;
use tokio::sync::watch;

use crate::integrity::{CheckError, Mismatch};
use crate::{Node, NodeError, now_ms};

/// The sources the background check walks, in the order of each step.
pub(crate) const SOURCES: [&str; 4] = ["ledger", "inbox", "outbox", "requests"];

/// Where a step ended: the next position, or the end of a pass.
enum Step {
    At(String),
    PassDone,
}

/// Takes one step of each source every `integrity_interval_ms`, until shutdown.
pub(crate) async fn run(node: Node, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(node.config().integrity_interval_ms.max(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        for source in SOURCES {
            if let Err(e) = node.integrity_step(source).await {
                tracing::error!(code = e.code(), source, "integrity check: {e}");
            }
        }
    }
}

impl Node {
    /// Records what a check found: an alarm for a mismatch; other errors are returned.
    async fn settle(&self, checked: Result<(), CheckError>) -> Result<usize, NodeError> {
        match checked {
            Ok(()) => Ok(0),
            Err(CheckError::Mismatch(m)) => {
                self.raise(&m).await;
                Ok(1)
            }
            Err(CheckError::Node(e)) => Err(e),
        }
    }

    /// Raises every mismatch as an alarm; returns how many there were.
    async fn raise_all(&self, found: Vec<Mismatch>) -> usize {
        for m in &found {
            self.raise(m).await;
        }
        found.len()
    }

    /// The newest `integrity_start_rows` received and sent messages and requests, checked
    /// before the node serves. Returns how many mismatches were raised as alarms.
    pub(crate) async fn check_newest(&self) -> Result<usize, NodeError> {
        let n = self.config().integrity_start_rows;
        let inbox = self.store().list_inbox(n).await?;
        let outbox = self.store().list_outbox(None, n).await?;
        let found = self.check_messages(&inbox, &outbox).await?;
        let mut raised = self.raise_all(found).await;
        for r in self.store().list_requests(None, None, n).await? {
            raised += self.settle(self.check_request_row(&r).await).await?;
        }
        Ok(raised)
    }

    async fn check_request_row(&self, r: &comity_store::StoredRequest) -> Result<(), CheckError> {
        self.check_request(r).await?;
        let events = self.store().request_events(&r.id).await?;
        self.check_events(&r.id, &events).await?;
        Ok(())
    }

    /// One step of the background check of `source`, from its stored cursor.
    pub(crate) async fn integrity_step(&self, source: &str) -> Result<(), NodeError> {
        let store = self.store();
        let cursor = store
            .integrity_cursor(source)
            .await?
            .unwrap_or_else(|| IntegrityCursor {
                source: source.to_owned(),
                position: String::new(),
                passes: 0,
                updated_at: 0,
            });
        let batch = self.config().integrity_batch_rows.max(1);
        let step = match source {
            "ledger" => self.ledger_step(&cursor.position).await?,
            "inbox" => {
                let after = cursor.position.parse().unwrap_or(0);
                let rows = store.inbox_after(after, batch).await?;
                let last = rows.last().map(|(seq, _)| seq.to_string());
                let messages: Vec<_> = rows.into_iter().map(|(_, m)| m).collect();
                let found = self.check_messages(&messages, &[]).await?;
                self.raise_all(found).await;
                page_end(last, messages.len(), batch)
            }
            "outbox" => {
                let after = cursor.position.parse().unwrap_or(0);
                let rows = store.outbox_after(after, batch).await?;
                let found = self.check_messages(&[], &rows).await?;
                self.raise_all(found).await;
                page_end(rows.last().map(|m| m.seq.to_string()), rows.len(), batch)
            }
            "requests" => {
                let rows = store.requests_after(&cursor.position, batch).await?;
                for r in &rows {
                    self.settle(self.check_request_row(r).await).await?;
                }
                page_end(rows.last().map(|r| r.id.clone()), rows.len(), batch)
            }
            other => {
                return Err(NodeError::BadRequest(format!(
                    "no integrity source {other:?}"
                )));
            }
        };
        let (position, passes) = match step {
            Step::At(p) => (p, cursor.passes),
            Step::PassDone => (String::new(), cursor.passes + 1),
        };
        store
            .set_integrity_cursor(&IntegrityCursor {
                source: source.to_owned(),
                position,
                passes,
                updated_at: now_ms(),
            })
            .await?;
        Ok(())
    }

    /// Entries from `position` hashed again and compared with their stored hashes; at the end
    /// of a pass, the stored tree checked against the latest checkpoint this node signed.
    async fn ledger_step(&self, position: &str) -> Result<Step, NodeError> {
        let store = self.store();
        let from: u64 = position.parse().unwrap_or(0);
        let size = store.ledger_size().await?;
        if from >= size {
            self.check_signed_root().await?;
            return Ok(Step::PassDone);
        }
        let to = size.min(from + self.config().integrity_batch_entries.max(1));
        if let Some(m) = store.ledger_verify_range(from, to).await? {
            let mismatch = Mismatch {
                table: "ledger_entry",
                row: if m.first == m.last {
                    m.first.to_string()
                } else {
                    format!("{}..={}", m.first, m.last)
                },
                field: "hash",
                expected: format!("stored hash {} = {}", m.hash_index, m.expected.to_hex()),
                found: m.found.map_or_else(|| "missing".into(), |h| h.to_hex()),
            };
            self.raise(&mismatch).await;
        }
        Ok(Step::At(to.to_string()))
    }

    /// The stored hashes must still give the root of the latest checkpoint this node signed;
    /// a mismatch is raised as an alarm and returned.
    pub(crate) async fn check_signed_root(&self) -> Result<(), NodeError> {
        let store = self.store();
        let Some(cp) = store.latest_checkpoint(false).await? else {
            return Ok(());
        };
        let signed = SignedCheckpoint::parse_unverified(cp.note.as_bytes())?;
        let stored = store.ledger_root(cp.size).await?;
        if stored == signed.checkpoint.root {
            return Ok(());
        }
        let m = Mismatch {
            table: "ledger_hash",
            row: format!("tree of {} entries", cp.size),
            field: "root",
            expected: signed.checkpoint.root.to_hex(),
            found: stored.to_hex(),
        };
        self.raise(&m).await;
        Err(NodeError::Tampered(m.message()))
    }
}

fn page_end(last: Option<String>, got: usize, batch: i64) -> Step {
    match last {
        Some(p) if (got as i64) >= batch => Step::At(p),
        _ => Step::PassDone,
    }
}
