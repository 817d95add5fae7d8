//! Hash-list updates (own and subscribed, signed bytes verbatim) and subscriptions with their
//! pull health. Verifying updates is the node's job; these queries only keep versions contiguous.

use crate::pool::{BeginWrite, on_pool};
use crate::{Store, StoreError};

/// One signed update of a list, as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ListUpdateRow {
    pub list: String,
    pub version: i64,
    pub publisher: String,
    pub issued_at: i64,
    pub stored_at: i64,
    /// The signed update exactly as the publisher signed it.
    pub signed: Vec<u8>,
}

/// A list's newest stored version.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ListHead {
    pub list: String,
    pub publisher: String,
    pub version: i64,
    pub issued_at: i64,
}

/// A list this node pulls from a peer, with the outcome of the last pulls.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Subscription {
    pub list: String,
    pub peer: String,
    pub created_at: i64,
    pub applied_version: i64,
    pub last_attempt_at: Option<i64>,
    pub last_success_at: Option<i64>,
    /// Failed pulls in a row.
    pub failures: i64,
    pub last_error_code: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<i64>,
}

/// Why a pull failed, for the subscription's health.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullError {
    pub code: String,
    pub message: String,
}

const UPDATE_COLUMNS: &str = "list, version, publisher, issued_at, stored_at, signed";
const SUBSCRIPTION_COLUMNS: &str = "list, peer, created_at, applied_version, last_attempt_at, \
     last_success_at, failures, last_error_code, last_error, last_error_at";
const INSERT_UPDATE: &str = "INSERT INTO hash_list_updates (list, version, publisher, issued_at, \
     stored_at, signed) VALUES ($1, $2, $3, $4, $5, $6)";

impl Store {
    /// Stores the next version of one of this node's own lists. Returns false, storing nothing,
    /// when it is not the version after the newest stored (a concurrent publication won).
    pub async fn append_own_list_update(&self, row: &ListUpdateRow) -> Result<bool, StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let (newest,): (Option<i64>,) =
                sqlx::query_as("SELECT MAX(version) FROM hash_list_updates WHERE list = $1")
                    .bind(&row.list)
                    .fetch_one(&mut *tx)
                    .await?;
            if newest.unwrap_or(0) + 1 != row.version {
                return Ok(false);
            }
            sqlx::query(INSERT_UPDATE)
                .bind(&row.list)
                .bind(row.version)
                .bind(&row.publisher)
                .bind(row.issued_at)
                .bind(row.stored_at)
                .bind(&row.signed)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(true)
    }

    /// Versions after `after`, oldest first, at most `limit`.
    pub async fn list_updates(
        &self,
        list: &str,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ListUpdateRow>, StoreError> {
        let sql = format!(
            "SELECT {UPDATE_COLUMNS} FROM hash_list_updates WHERE list = $1 AND version > $2 \
             ORDER BY version LIMIT $3"
        );
        let rows = on_pool!(self, pool => {
            sqlx::query_as(&sql).bind(list).bind(after).bind(limit).fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Every stored update, list by list, oldest version first: what a node replays at start.
    pub async fn all_list_updates(&self) -> Result<Vec<ListUpdateRow>, StoreError> {
        let sql = format!("SELECT {UPDATE_COLUMNS} FROM hash_list_updates ORDER BY list, version");
        let rows = on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        Ok(rows)
    }

    /// The newest version of every stored list, or of those `publisher` signs.
    pub async fn list_heads(&self, publisher: Option<&str>) -> Result<Vec<ListHead>, StoreError> {
        let sql = "SELECT list, publisher, MAX(version) AS version, MAX(issued_at) AS issued_at \
                   FROM hash_list_updates WHERE ($1 IS NULL OR publisher = $1) \
                   GROUP BY list, publisher ORDER BY list";
        let rows =
            on_pool!(self, pool => sqlx::query_as(sql).bind(publisher).fetch_all(pool).await?);
        Ok(rows)
    }

    /// Starts pulling `list` from `peer`. Returns false if the list is already subscribed.
    pub async fn subscribe_list(
        &self,
        list: &str,
        peer: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let sql = "INSERT INTO hash_list_subscriptions (list, peer, created_at) VALUES ($1, $2, $3) \
                   ON CONFLICT (list) DO NOTHING";
        let n = on_pool!(self, pool => {
            sqlx::query(sql).bind(list).bind(peer).bind(now).execute(pool).await?.rows_affected()
        });
        Ok(n == 1)
    }

    /// Stops pulling `list` and forgets its updates. Returns false if it was not subscribed.
    pub async fn unsubscribe_list(&self, list: &str) -> Result<bool, StoreError> {
        let n = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query("DELETE FROM hash_list_subscriptions WHERE list = $1")
                .bind(list)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            sqlx::query("DELETE FROM hash_list_updates WHERE list = $1")
                .bind(list)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            n
        });
        Ok(n == 1)
    }

    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, StoreError> {
        let sql =
            format!("SELECT {SUBSCRIPTION_COLUMNS} FROM hash_list_subscriptions ORDER BY list");
        let rows = on_pool!(self, pool => sqlx::query_as(&sql).fetch_all(pool).await?);
        Ok(rows)
    }

    /// Records one pull in one transaction: the verified updates it brought (the versions right
    /// after the applied one, in order) and, if it stopped early, why. Returns false, storing
    /// nothing, if the subscription is gone or has moved on meanwhile.
    pub async fn record_pull(
        &self,
        list: &str,
        updates: &[ListUpdateRow],
        error: Option<&PullError>,
        now: i64,
    ) -> Result<bool, StoreError> {
        on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let applied: Option<(i64,)> = sqlx::query_as(
                "SELECT applied_version FROM hash_list_subscriptions WHERE list = $1",
            )
            .bind(list)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((mut applied,)) = applied else {
                return Ok(false);
            };
            for u in updates {
                if u.list != list || u.version != applied + 1 {
                    return Ok(false);
                }
                sqlx::query(INSERT_UPDATE)
                    .bind(&u.list)
                    .bind(u.version)
                    .bind(&u.publisher)
                    .bind(u.issued_at)
                    .bind(u.stored_at)
                    .bind(&u.signed)
                    .execute(&mut *tx)
                    .await?;
                applied = u.version;
            }
            match error {
                None => {
                    sqlx::query(
                        "UPDATE hash_list_subscriptions SET applied_version = $1, last_attempt_at = $2, \
                         last_success_at = $2, failures = 0, last_error_code = NULL, last_error = NULL, \
                         last_error_at = NULL WHERE list = $3",
                    )
                    .bind(applied)
                    .bind(now)
                    .bind(list)
                    .execute(&mut *tx)
                    .await?;
                }
                Some(e) => {
                    sqlx::query(
                        "UPDATE hash_list_subscriptions SET applied_version = $1, last_attempt_at = $2, \
                         failures = failures + 1, last_error_code = $3, last_error = $4, \
                         last_error_at = $2 WHERE list = $5",
                    )
                    .bind(applied)
                    .bind(now)
                    .bind(&e.code)
                    .bind(&e.message)
                    .bind(list)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            tx.commit().await?;
        });
        Ok(true)
    }
}
