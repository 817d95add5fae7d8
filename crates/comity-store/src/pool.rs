use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::StoreError;

/// A node's database, on either back-end.
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Db,
}

#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Starts a transaction that writes. On SQLite it takes the write lock at once (`BEGIN
/// IMMEDIATE`, waiting up to the busy timeout): a deferred transaction that reads first and
/// writes later fails with "database is locked", without waiting, if another connection wrote in
/// between. PostgreSQL locks rows as statements touch them.
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error>> + Send
    {
        self.begin_with("BEGIN IMMEDIATE")
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, sqlx::Postgres>, sqlx::Error>> + Send
    {
        self.begin()
    }
}

/// Runs the same expression against whichever pool the store holds; the SQL text is shared
/// (both back-ends accept `$n` placeholders), the Rust types differ per back-end.
macro_rules! on_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.db {
            $crate::pool::Db::Sqlite($pool) => $body,
            $crate::pool::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// How many problems SQLite's integrity check lists at most: enough to show what is wrong.
const QUICK_CHECK_REPORTED: u32 = 10;

/// SQLite's own check of the file (`PRAGMA quick_check`: every page and record well formed,
/// without the index-content comparison of the slower `integrity_check`), before anything is
/// migrated or served. It reads the whole file once. Anything but `ok` refuses the database.
async fn quick_check(pool: &SqlitePool) -> Result<(), StoreError> {
    let sql = format!("PRAGMA quick_check({QUICK_CHECK_REPORTED})");
    let rows: Vec<(String,)> = match sqlx::query_as(&sql).fetch_all(pool).await {
        Ok(rows) => rows,
        Err(sqlx::Error::Database(e)) => return Err(StoreError::Damaged(e.message().to_owned())),
        Err(e) => return Err(StoreError::Open(e)),
    };
    let report: Vec<String> = rows.into_iter().map(|(line,)| line).collect();
    if report == ["ok"] {
        Ok(())
    } else {
        Err(StoreError::Damaged(report.join("; ")))
    }
}

/// SQLite says "malformed" (SQLITE_CORRUPT, 11) or "not a database" (SQLITE_NOTADB, 26) when a
/// damaged file is opened: that is a damaged database, not an unavailable one.
fn sqlite_open_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(d) = &e
        && matches!(d.code().as_deref(), Some("11" | "26"))
    {
        return StoreError::Damaged(d.message().to_owned());
    }
    StoreError::Open(e)
}

impl Store {
    /// Opens (creating if needed) and migrates the database at `url`:
    /// `sqlite:PATH` or `postgres://...`. A SQLite file that fails SQLite's own integrity check
    /// is refused (`store.damaged`) before anything is written to it.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        let db = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .map_err(StoreError::Open)?;
            sqlx::migrate!("migrations/postgres").run(&pool).await?;
            Db::Postgres(pool)
        } else if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|_| StoreError::BadUrl(url.to_owned()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(30))
                .foreign_keys(true);
            let pool = SqlitePoolOptions::new()
                .max_connections(4)
                .connect_with(options)
                .await
                .map_err(sqlite_open_error)?;
            if let Err(e) = quick_check(&pool).await {
                pool.close().await;
                return Err(e);
            }
            sqlx::migrate!("migrations/sqlite").run(&pool).await?;
            Db::Sqlite(pool)
        } else {
            return Err(StoreError::BadUrl(url.to_owned()));
        };
        Ok(Store { db })
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self.db {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }

    /// Closes the pool. On SQLite the write-ahead log is first copied into the database file
    /// and emptied, so a node that stopped leaves one self-contained file (what a backup copies).
    pub async fn close(&self) {
        if let Db::Sqlite(pool) = &self.db {
            // A checkpoint that cannot run (another process reading) leaves the log in place,
            // which loses nothing: SQLite replays it on the next open.
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(pool)
                .await;
        }
        on_pool!(self, pool => pool.close().await)
    }
}
