//! Fresh databases for each test, on every back-end that is available.

use std::sync::atomic::{AtomicU32, Ordering};

use comity_store::Store;

/// A store plus what keeps it alive (the temporary directory of a SQLite file).
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// A value bound into a statement run by [`raw`].
pub enum Arg {
    Bytes(Vec<u8>),
    Int(i64),
}

/// Runs one statement on the database behind `url` outside the store: how tests damage it.
pub async fn raw(url: &str, sql: &str, args: &[Arg]) -> u64 {
    macro_rules! run {
        ($pool:expr) => {{
            let pool = $pool;
            let mut q = sqlx::query(sql);
            for a in args {
                q = match a {
                    Arg::Bytes(b) => q.bind(b.clone()),
                    Arg::Int(i) => q.bind(*i),
                };
            }
            let n = q.execute(&pool).await.unwrap().rows_affected();
            pool.close().await;
            n
        }};
    }
    if url.starts_with("sqlite:") {
        run!(sqlx::SqlitePool::connect(url).await.unwrap())
    } else {
        run!(sqlx::PgPool::connect(url).await.unwrap())
    }
}

/// The PostgreSQL server to test against: `COMITY_TEST_POSTGRES`, required when `CI` is set.
pub fn postgres_url() -> Option<String> {
    match std::env::var("COMITY_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => Some(url),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI must test PostgreSQL: set COMITY_TEST_POSTGRES=postgres://USER@HOST/DB")
        }
        _ => None,
    }
}

pub async fn fresh_postgres(admin_url: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "comity_store_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    Store::create_postgres_database(admin_url, &name)
        .await
        .expect("create a PostgreSQL test database")
}

/// Every stored ledger hash row, read outside the store.
pub async fn hash_rows(url: &str) -> Vec<(i64, Vec<u8>)> {
    let sql = "SELECT idx, hash FROM ledger_hash ORDER BY idx";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        let rows = sqlx::query_as(sql).fetch_all(&pool).await.unwrap();
        pool.close().await;
        rows
    }
}

/// One fresh store per available back-end: SQLite always, PostgreSQL when configured.
pub async fn each_backend() -> Vec<TestDb> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("node.db").display());
    let mut dbs = vec![TestDb {
        store: Store::open(&url).await.unwrap(),
        url,
        _dir: Some(dir),
    }];
    if let Some(admin) = postgres_url() {
        let url = fresh_postgres(&admin).await;
        dbs.push(TestDb {
            store: Store::open(&url).await.unwrap(),
            url,
            _dir: None,
        });
    }
    dbs
}

#[tokio::test]
async fn opens_both_backends_and_refuses_unknown_urls() {
    let dbs = each_backend().await;
    assert_eq!(dbs[0].store.backend(), "sqlite");
    if postgres_url().is_some() {
        assert_eq!(dbs[1].store.backend(), "postgres");
    }
    let err = Store::open("mysql://x").await.err().unwrap();
    assert_eq!(err.code(), "store.bad_url");
}

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("node.db").display());
    let store = Store::open(&url).await.unwrap();
    store
        .enqueue(&[crate::delivery::message("m1", "fr-ocl", "c1", 1)])
        .await
        .unwrap();
    store.close().await;
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.queued_for("fr-ocl", 10).await.unwrap().len(), 1);
}
