use crate::pool::on_pool;
use crate::{PeerHealth, Store, StoreError};

impl Store {
    /// Peers that have queued messages, are not backing off and are not leased to a live worker.
    pub async fn peers_ready(&self, now: i64) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT p.peer FROM peers p WHERE p.next_attempt_at <= $1 AND p.lease_until <= $1 \
                   AND EXISTS (SELECT 1 FROM outbox o WHERE o.peer = p.peer AND o.state = 'queued') \
                   ORDER BY p.peer";
        let rows: Vec<(String,)> =
            on_pool!(self, pool => sqlx::query_as(sql).bind(now).fetch_all(pool).await?);
        Ok(rows.into_iter().map(|(p,)| p).collect())
    }

    /// Gives `holder` the peer's queue until `until`, so that one worker at a time delivers to a
    /// peer and messages arrive in the order they were accepted. Returns false if someone else
    /// holds it.
    pub async fn lease_peer(
        &self,
        peer: &str,
        holder: &str,
        now: i64,
        until: i64,
    ) -> Result<bool, StoreError> {
        let sql = "UPDATE peers SET lease_holder = $1, lease_until = $2 \
                   WHERE peer = $3 AND (lease_until <= $4 OR lease_holder = $1)";
        let n = on_pool!(self, pool => {
            sqlx::query(sql).bind(holder).bind(until).bind(peer).bind(now).execute(pool).await?.rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn release_peer(&self, peer: &str, holder: &str) -> Result<(), StoreError> {
        let sql = "UPDATE peers SET lease_until = 0, lease_holder = NULL WHERE peer = $1 AND lease_holder = $2";
        on_pool!(self, pool => sqlx::query(sql).bind(peer).bind(holder).execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// Gives up every delivery lease `holder` still has, so a node that stops with a delivery
    /// in flight does not hold its restarted self back until the lease runs out.
    pub async fn release_leases(&self, holder: &str) -> Result<u64, StoreError> {
        let sql = "UPDATE peers SET lease_until = 0, lease_holder = NULL WHERE lease_holder = $1";
        let done = on_pool!(self, pool => sqlx::query(sql).bind(holder).execute(pool).await.map(|r| r.rows_affected())?);
        Ok(done)
    }

    /// Frees, when a node starts, the leases left by a process that died holding them. A SQLite
    /// database is served by one process, so every lease found there is an orphan and is freed
    /// at once; on PostgreSQL other live processes may hold leases, so these are left to lapse
    /// at their expiry, which their holders keep pushing forward while they work.
    pub async fn free_orphaned_leases(&self) -> Result<u64, StoreError> {
        let crate::pool::Db::Sqlite(pool) = &self.db else {
            return Ok(0);
        };
        let sql =
            "UPDATE peers SET lease_until = 0, lease_holder = NULL WHERE lease_holder IS NOT NULL";
        Ok(sqlx::query(sql).execute(pool).await?.rows_affected())
    }

    /// Records a failed delivery attempt and returns the number of failures in a row.
    pub async fn peer_failed(&self, peer: &str, error: &str, now: i64) -> Result<i64, StoreError> {
        let sql = "UPDATE peers SET failures = failures + 1, last_error = $1, last_error_at = $2 WHERE peer = $3";
        on_pool!(self, pool => sqlx::query(sql).bind(error).bind(now).bind(peer).execute(pool).await.map(|_| ())?);
        let (failures,): (i64,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT failures FROM peers WHERE peer = $1").bind(peer).fetch_one(pool).await?
        });
        Ok(failures)
    }

    /// Holds deliveries to `peer` back until `at`.
    pub async fn retry_peer_at(&self, peer: &str, at: i64) -> Result<(), StoreError> {
        let sql = "UPDATE peers SET next_attempt_at = $1 WHERE peer = $2";
        on_pool!(self, pool => sqlx::query(sql).bind(at).bind(peer).execute(pool).await.map(|_| ())?);
        Ok(())
    }

    /// Delivery health of every peer this node has written to.
    pub async fn peer_health(&self) -> Result<Vec<PeerHealth>, StoreError> {
        let sql = "SELECT p.peer, \
                   (SELECT COUNT(*) FROM outbox o WHERE o.peer = p.peer AND o.state = 'queued') AS queued, \
                   (SELECT COUNT(*) FROM outbox o WHERE o.peer = p.peer AND o.state = 'dead') AS dead, \
                   (SELECT MIN(o.created_at) FROM outbox o WHERE o.peer = p.peer AND o.state = 'queued') AS oldest_queued_at, \
                   p.last_success_at, p.last_error, p.last_error_at, p.next_attempt_at, p.failures \
                   FROM peers p ORDER BY p.peer";
        let rows = on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await?);
        Ok(rows)
    }
}
