//! Checkpoints this node signed and the cosignatures its peers returned; the checkpoints of
//! peers' logs it verified; alarms (evidence of a peer's contradictory checkpoints).

use crate::ledger::{index_from_db, index_to_db};
use crate::pool::on_pool;
use crate::{Store, StoreError};

/// A checkpoint this node signed, with the signature lines of the witnesses that cosigned it.
#[derive(Debug, Clone)]
pub struct StoredCheckpoint {
    pub size: u64,
    /// The signed note with the log's signature only.
    pub note: String,
    pub signed_at: i64,
    /// `— <witness name> <base64>` lines, each ending in a newline, in witness-name order.
    pub cosignatures: Vec<String>,
}

impl StoredCheckpoint {
    /// The note with every cosignature appended: what is served and put in proofs.
    pub fn cosigned_note(&self) -> String {
        let mut note = self.note.clone();
        for line in &self.cosignatures {
            note.push_str(line);
        }
        note
    }
}

/// The last thing this node knows about one peer's log.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Witnessed {
    pub peer: String,
    /// Largest verified checkpoint (size and signed note), if any.
    pub size: Option<i64>,
    pub note: Option<String>,
    pub verified_at: Option<i64>,
    pub cosigned_at: Option<i64>,
    pub checked_at: i64,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AlarmRecord {
    pub seq: i64,
    pub peer: String,
    pub kind: String,
    /// The alarm evidence as JSON (comity-ledger `Alarm`), verifiable by anyone.
    pub evidence: String,
    pub detected_at: i64,
}

impl Store {
    /// Records a checkpoint signed by this node. Signing is deterministic, so two processes
    /// signing the same size store the same note; the first one stays.
    pub async fn save_checkpoint(
        &self,
        size: u64,
        note: &str,
        signed_at: i64,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO ledger_checkpoint (size, note, signed_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (size) DO NOTHING";
        let size = index_to_db(size)?;
        on_pool!(self, pool => sqlx::query(sql).bind(size).bind(note).bind(signed_at).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The largest signed checkpoint, or the largest one with at least one cosignature.
    pub async fn latest_checkpoint(
        &self,
        cosigned: bool,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let sql = if cosigned {
            "SELECT MAX(size) FROM ledger_cosignature"
        } else {
            "SELECT MAX(size) FROM ledger_checkpoint"
        };
        let (size,): (Option<i64>,) =
            on_pool!(self, pool => sqlx::query_as(sql).fetch_one(pool).await?);
        match size {
            Some(size) => self.checkpoint_at(index_from_db(size)?).await,
            None => Ok(None),
        }
    }

    /// The smallest signed checkpoint of at least `size` entries.
    pub async fn checkpoint_covering(
        &self,
        size: u64,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let sql = "SELECT MIN(size) FROM ledger_checkpoint WHERE size >= $1";
        let size = index_to_db(size)?;
        let (found,): (Option<i64>,) =
            on_pool!(self, pool => sqlx::query_as(sql).bind(size).fetch_one(pool).await?);
        match found {
            Some(s) => self.checkpoint_at(index_from_db(s)?).await,
            None => Ok(None),
        }
    }

    pub async fn checkpoint_at(&self, size: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let size_db = index_to_db(size)?;
        let (row, lines): (Option<(String, i64)>, Vec<(String,)>) = on_pool!(self, pool => {
            let row = sqlx::query_as("SELECT note, signed_at FROM ledger_checkpoint WHERE size = $1")
                .bind(size_db)
                .fetch_optional(pool)
                .await?;
            let lines = sqlx::query_as(
                "SELECT line FROM ledger_cosignature WHERE size = $1 ORDER BY witness",
            )
            .bind(size_db)
            .fetch_all(pool)
            .await?;
            (row, lines)
        });
        Ok(row.map(|(note, signed_at)| StoredCheckpoint {
            size,
            note,
            signed_at,
            cosignatures: lines.into_iter().map(|(l,)| l).collect(),
        }))
    }

    /// Keeps a witness's cosignature line for checkpoint `size` (a newer one from the same
    /// witness replaces the older).
    pub async fn add_cosignature(
        &self,
        size: u64,
        witness: &str,
        line: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO ledger_cosignature (size, witness, line, received_at) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (size, witness) \
                   DO UPDATE SET line = excluded.line, received_at = excluded.received_at";
        let size = index_to_db(size)?;
        on_pool!(self, pool => sqlx::query(sql).bind(size).bind(witness).bind(line).bind(at).execute(pool).await?.rows_affected());
        Ok(())
    }

    pub async fn witnessed(&self, peer: &str) -> Result<Option<Witnessed>, StoreError> {
        let sql = "SELECT peer, size, note, verified_at, cosigned_at, checked_at, last_error \
                   FROM witnessed WHERE peer = $1";
        let row =
            on_pool!(self, pool => sqlx::query_as(sql).bind(peer).fetch_optional(pool).await?);
        Ok(row)
    }

    pub async fn witness_health(&self) -> Result<Vec<Witnessed>, StoreError> {
        let sql = "SELECT peer, size, note, verified_at, cosigned_at, checked_at, last_error \
                   FROM witnessed ORDER BY peer";
        let rows = on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows)
    }

    /// Records a verified checkpoint of `peer`'s log. Only a larger (or equal) tree replaces the
    /// one kept: the kept checkpoint is what the next one must extend.
    pub async fn record_witnessed(
        &self,
        peer: &str,
        size: u64,
        note: &str,
        at: i64,
        cosigned: bool,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO witnessed (peer, size, note, verified_at, cosigned_at, checked_at, last_error) \
                   VALUES ($1, $2, $3, $4, $5, $4, NULL) ON CONFLICT (peer) DO UPDATE SET \
                   size = excluded.size, note = excluded.note, verified_at = excluded.verified_at, \
                   cosigned_at = COALESCE(excluded.cosigned_at, witnessed.cosigned_at), \
                   checked_at = excluded.checked_at, last_error = NULL \
                   WHERE witnessed.size IS NULL OR witnessed.size <= excluded.size";
        let size = index_to_db(size)?;
        let cosigned_at = cosigned.then_some(at);
        on_pool!(self, pool => {
            sqlx::query(sql).bind(peer).bind(size).bind(note).bind(at).bind(cosigned_at).execute(pool).await?.rows_affected()
        });
        Ok(())
    }

    /// Records a witnessing attempt that did not verify a new checkpoint (`error` says why, or
    /// `None` when there was simply nothing new).
    pub async fn record_witness_check(
        &self,
        peer: &str,
        at: i64,
        error: Option<&str>,
    ) -> Result<(), StoreError> {
        let sql = "INSERT INTO witnessed (peer, checked_at, last_error) VALUES ($1, $2, $3) \
                   ON CONFLICT (peer) DO UPDATE SET checked_at = excluded.checked_at, \
                   last_error = excluded.last_error";
        on_pool!(self, pool => sqlx::query(sql).bind(peer).bind(at).bind(error).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Stores an alarm once per distinct evidence; returns whether it is new.
    pub async fn record_alarm(
        &self,
        peer: &str,
        kind: &str,
        evidence: &str,
        fingerprint: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO ledger_alarm (peer, kind, evidence, fingerprint, detected_at) \
                   VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fingerprint) DO NOTHING";
        let done = on_pool!(self, pool => {
            sqlx::query(sql).bind(peer).bind(kind).bind(evidence).bind(fingerprint).bind(at).execute(pool).await?.rows_affected()
        });
        Ok(done == 1)
    }

    /// Every alarm ever raised, oldest first. There is no way to delete one.
    pub async fn alarms(&self) -> Result<Vec<AlarmRecord>, StoreError> {
        let sql = "SELECT seq, peer, kind, evidence, detected_at FROM ledger_alarm ORDER BY seq";
        let rows = on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows)
    }
}
