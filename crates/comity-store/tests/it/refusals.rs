//! Refusals summarised per peer, code and window; accepted messages whose processing was
//! refused; and the refusals of a database older than the summaries, carried over.

use std::path::Path;

use comity_store::{RefusalSummary, Store};

use crate::backends::{each_backend, fresh_postgres, postgres_url};

fn refused(peer: &str, code: &str, window_start: i64, count: i64, at: i64) -> RefusalSummary {
    RefusalSummary {
        peer: peer.into(),
        code: code.into(),
        window_start,
        count,
        first_at: at,
        last_at: at,
        message_id: Some(format!("claimed-{at}")),
        claimed_from: Some("ma-moj".into()),
        detail: format!("refused at {at}"),
    }
}

#[tokio::test]
async fn refusals_are_summarised_per_peer_code_and_window() {
    for db in each_backend().await {
        let s = &db.store;
        s.record_refusals(&[
            refused("dz-247", "seal.malformed_envelope", 60_000, 3, 60_001),
            refused("dz-247", "fed.clock_skew", 60_000, 1, 60_002),
        ])
        .await
        .unwrap();
        s.record_refusals(&[refused(
            "dz-247",
            "seal.malformed_envelope",
            60_000,
            250,
            60_900,
        )])
        .await
        .unwrap();
        s.record_refusals(&[
            refused("dz-247", "seal.malformed_envelope", 120_000, 1, 120_005),
            refused("ma-moj", "fed.clock_skew", 120_000, 2, 120_006),
        ])
        .await
        .unwrap();
        s.record_refusals(&[]).await.unwrap();

        let rows = s.refusals(100).await.unwrap();
        assert_eq!(rows.len(), 4, "{rows:?}");
        let first = rows
            .iter()
            .find(|r| r.code == "seal.malformed_envelope" && r.window_start == 60_000)
            .unwrap();
        assert_eq!(first.count, 253, "counts add up");
        assert_eq!((first.first_at, first.last_at), (60_001, 60_900));
        assert_eq!(
            first.detail, "refused at 60001",
            "the first refusal stays the sample"
        );
        assert_eq!(first.message_id.as_deref(), Some("claimed-60001"));
        assert_eq!(first.claimed_from.as_deref(), Some("ma-moj"));
        assert_eq!(rows[0].last_at, 120_006, "most recent first: {rows:?}");
        assert_eq!(s.refusals(1).await.unwrap().len(), 1);

        assert_eq!(
            s.refusal_counts_since(0).await.unwrap(),
            [("dz-247".to_owned(), 255), ("ma-moj".to_owned(), 2)]
        );
        assert_eq!(
            s.refusal_counts_since(120_000).await.unwrap(),
            [("dz-247".to_owned(), 1), ("ma-moj".to_owned(), 2)]
        );
    }
}

/// The migrations before the summaries, copied out so a database can be stopped there.
fn migrations_before_summaries(backend: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend);
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.as_str() < "0009" {
            std::fs::copy(&path, to.join(name)).unwrap();
        }
    }
}

const OLD_INBOX: &str = "INSERT INTO inbox (id, peer, conversation, kind, sent_at, \
     received_at, envelope, digest, body, receipt) \
     VALUES ('a1', 'fr-ocl', 'c', 'request.open', 1, 2, $1, $1, $1, $1)";
const OLD_ROWS: [&str; 3] = [
    "INSERT INTO rejections (at, peer, message_id, code, detail) \
     VALUES (60001, 'xx-claimed', 'm1', 'seal.malformed_envelope', 'first')",
    "INSERT INTO rejections (at, peer, message_id, code, detail) \
     VALUES (60002, 'yy-claimed', 'm2', 'seal.malformed_envelope', 'second')",
    "INSERT INTO rejections (at, peer, message_id, code, detail) \
     VALUES (120000, 'fr-ocl', 'a1', 'workflow.unreadable', 'request.open could not be replayed')",
];

#[tokio::test]
async fn refusals_of_an_older_database_are_carried_over() {
    let dir = tempfile::tempdir().unwrap();
    let mut urls = Vec::new();
    let old = dir.path().join("sqlite");
    migrations_before_summaries("sqlite", &old);
    let url = format!("sqlite:{}", dir.path().join("old.db").display());
    {
        let options = <sqlx::sqlite::SqliteConnectOptions as std::str::FromStr>::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
        let migrator = sqlx::migrate::Migrator::new(old.as_path()).await.unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::query(OLD_INBOX)
            .bind(b"x".to_vec())
            .execute(&pool)
            .await
            .unwrap();
        for sql in OLD_ROWS {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    }
    urls.push(url);
    if let Some(admin) = postgres_url() {
        let old = dir.path().join("postgres");
        migrations_before_summaries("postgres", &old);
        let url = fresh_postgres(&admin).await;
        let pool = sqlx::PgPool::connect(&url).await.unwrap();
        let migrator = sqlx::migrate::Migrator::new(old.as_path()).await.unwrap();
        migrator.run(&pool).await.unwrap();
        sqlx::query(OLD_INBOX)
            .bind(b"x".to_vec())
            .execute(&pool)
            .await
            .unwrap();
        for sql in OLD_ROWS {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
        urls.push(url);
    }
    for url in urls {
        let s = Store::open(&url).await.unwrap();
        let rows = s.refusals(10).await.unwrap();
        assert_eq!(rows.len(), 2, "{url}: {rows:?}");
        let malformed = rows
            .iter()
            .find(|r| r.code == "seal.malformed_envelope")
            .unwrap();
        assert_eq!(malformed.count, 2);
        assert_eq!(malformed.window_start, 60_000);
        assert_eq!((malformed.first_at, malformed.last_at), (60_001, 60_002));
        assert_eq!(malformed.peer, "", "who sent it is not known");
        assert_eq!(malformed.claimed_from.as_deref(), Some("xx-claimed"));
        assert_eq!(malformed.message_id.as_deref(), Some("m1"));
        assert_eq!(malformed.detail, "first");
        assert!(
            s.unreplayed_request_messages(10).await.unwrap().is_empty(),
            "{url}: a request message refused before stays refused"
        );
    }
}
