//! A damaged or edited store is found: the ledger against the trees this node signed (repaired
//! only when the entries rebuild them, else the first bad entry named), SQLite's own integrity
//! check, the identity a database belongs to, and the integrity cursors.

use comity_ledger::tree::stored_hash_index;
use comity_ledger::{MemoryLog, TileId, tile};
use comity_store::{IntegrityCursor, LedgerAnchor, LedgerCheck, Store, StoreError, StoreIdentity};

use crate::backends::{Arg, TestDb, each_backend, raw};
use crate::ledger::append_and_compare;

fn anchor(reference: &MemoryLog, size: u64) -> LedgerAnchor {
    LedgerAnchor {
        size,
        root: reference.root_at(size).unwrap(),
    }
}

async fn edit_entry(db: &TestDb, index: u64) {
    let bytes = format!("entry {index} edited").into_bytes();
    let n = raw(
        &db.url,
        "UPDATE ledger_entry SET bytes = $1 WHERE idx = $2",
        &[Arg::Bytes(bytes), Arg::Int(index as i64)],
    )
    .await;
    assert_eq!(n, 1);
}

async fn delete_hash(db: &TestDb, index: u64) {
    let n = raw(
        &db.url,
        "DELETE FROM ledger_hash WHERE idx = $1",
        &[Arg::Int(index as i64)],
    )
    .await;
    assert_eq!(n, 1);
}

async fn hash_rows(db: &TestDb) -> Vec<(i64, Vec<u8>)> {
    crate::backends::hash_rows(&db.url).await
}

fn diverged(err: StoreError) -> comity_store::LedgerDivergence {
    match err {
        StoreError::LedgerDiverged(d) => *d,
        other => panic!("expected store.ledger_diverged, got {other:?}"),
    }
}

/// The finding of issue 12: one entry edited and one stored hash deleted. The old start-up
/// rebuilt the tree from the edited entries; now the signed checkpoint decides, the entry is
/// named, and not one hash row is written.
#[tokio::test]
async fn an_edited_entry_with_a_deleted_hash_is_named_and_nothing_is_rebuilt() {
    for db in each_backend().await {
        let s = &db.store;
        let reference = append_and_compare(s, &[700]).await;
        let signed = [anchor(&reference, 600)];
        edit_entry(&db, 123).await;
        delete_hash(&db, stored_hash_index(0, 650)).await;
        let before = hash_rows(&db).await;
        let err = s.ledger_check(&signed, 100).await.unwrap_err();
        assert_eq!(err.code(), "store.ledger_diverged", "{err}");
        assert!(err.to_string().contains("restore"), "{err}");
        let d = diverged(err);
        assert_eq!(
            (d.first, d.last, d.signed_size),
            (123, 123, Some(600)),
            "{d}"
        );
        assert_eq!(hash_rows(&db).await, before, "nothing was rewritten");
        assert_eq!(s.ledger_size().await.unwrap(), 700);

        // With the edited entry's own leaf hash deleted, the descent can only narrow it to the
        // pair whose signed hash it holds; still nothing is rebuilt.
        delete_hash(&db, stored_hash_index(0, 123)).await;
        let d = diverged(s.ledger_check(&signed, 100).await.unwrap_err());
        assert!(
            d.first <= 123 && 123 <= d.last && d.last - d.first < 2,
            "{d}"
        );
    }
}

#[tokio::test]
async fn missing_or_wrong_hashes_are_rebuilt_only_when_the_entries_rebuild_the_signed_tree() {
    for db in each_backend().await {
        let s = &db.store;
        let reference = append_and_compare(s, &[700]).await;
        let signed = [anchor(&reference, 512), anchor(&reference, 690)];
        raw(&db.url, "DELETE FROM ledger_hash WHERE idx > 100", &[]).await;
        raw(
            &db.url,
            "UPDATE ledger_hash SET hash = $1 WHERE idx = $2",
            &[Arg::Bytes(vec![9; 32]), Arg::Int(40)],
        )
        .await;
        let check = s.ledger_check(&signed, 50).await.unwrap();
        let LedgerCheck::Repaired { size: 700, detail } = check else {
            panic!("{check:?}")
        };
        assert!(detail.contains("1 wrong"), "{detail}");
        assert_eq!(s.ledger_root(700).await.unwrap(), reference.root().unwrap());
        assert_eq!(
            s.ledger_check(&signed, 700).await.unwrap(),
            LedgerCheck::Consistent {
                size: 700,
                rehashed_from: 0
            }
        );
        let id = TileId::parse_path("tile/0/001.p/188").unwrap();
        let bytes = s
            .ledger_compute(|r| tile::tile_bytes(&id, r))
            .await
            .unwrap();
        assert_eq!(bytes, reference.tile(&id).unwrap());
    }
}

/// An entry edited under intact hash rows: the start-up recheck of the newest entries finds
/// it; an older one is beyond the bounded check and found by walking the log range by range.
#[tokio::test]
async fn an_edited_entry_under_its_stored_hashes_is_found() {
    for db in each_backend().await {
        let s = &db.store;
        let reference = append_and_compare(s, &[700]).await;
        let signed = [anchor(&reference, 700)];
        edit_entry(&db, 650).await;
        let d = diverged(s.ledger_check(&signed, 100).await.unwrap_err());
        assert_eq!((d.first, d.last), (650, 650), "{d}");

        raw(
            &db.url,
            "UPDATE ledger_entry SET bytes = $1 WHERE idx = $2",
            &[Arg::Bytes(b"entry 650".to_vec()), Arg::Int(650)],
        )
        .await;
        edit_entry(&db, 10).await;
        assert!(matches!(
            s.ledger_check(&signed, 100).await.unwrap(),
            LedgerCheck::Consistent { size: 700, .. }
        ));
        assert_eq!(s.ledger_verify_range(300, 700).await.unwrap(), None);
        let m = s.ledger_verify_range(0, 300).await.unwrap().unwrap();
        assert_eq!(
            (m.first, m.last, m.hash_index),
            (10, 10, stored_hash_index(0, 10))
        );
        assert_eq!(
            m.found,
            Some(reference.stored_hashes()[m.hash_index as usize])
        );
        assert!(m.to_string().contains("entry 10"), "{m}");
    }
}

/// Entries after the last signed checkpoint are covered by no signature: a stored hash there
/// that the entries no longer give is refused rather than rebuilt.
#[tokio::test]
async fn an_edit_after_the_last_checkpoint_is_refused() {
    for db in each_backend().await {
        let s = &db.store;
        let reference = append_and_compare(s, &[700]).await;
        edit_entry(&db, 650).await;
        delete_hash(&db, stored_hash_index(0, 20)).await;
        let d = diverged(
            s.ledger_check(&[anchor(&reference, 600)], 10)
                .await
                .unwrap_err(),
        );
        assert_eq!((d.first, d.last, d.signed_size), (650, 650, None), "{d}");
    }
}

#[tokio::test]
async fn a_store_shorter_than_a_signed_checkpoint_is_refused() {
    for db in each_backend().await {
        let s = &db.store;
        let reference = append_and_compare(s, &[300]).await;
        let mut later = MemoryLog::new("test.comity/ledger");
        for i in 0..320 {
            later.append(&crate::ledger::entry(i).bytes).unwrap();
        }
        let err = s
            .ledger_check(&[anchor(&reference, 300), anchor(&later, 320)], 10)
            .await
            .unwrap_err();
        assert_eq!(err.code(), "store.ledger_behind");
        assert!(err.to_string().contains("300") && err.to_string().contains("320"));
    }
}

/// A page of the SQLite file overwritten: SQLite's own check reports it and the store refuses
/// to open, before any migration or write.
#[tokio::test]
async fn a_damaged_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.db");
    let url = format!("sqlite:{}", path.display());
    let s = Store::open(&url).await.unwrap();
    append_and_compare(&s, &[3000]).await;
    s.close().await;
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 40 * 4096, "{} bytes", bytes.len());
    for b in &mut bytes[20 * 4096..21 * 4096] {
        *b = 0x5a;
    }
    std::fs::write(&path, &bytes).unwrap();
    let err = Store::open(&url).await.err().unwrap();
    assert_eq!(err.code(), "store.damaged", "{err}");
    assert!(err.to_string().contains("quick_check"), "{err}");
}

#[tokio::test]
async fn the_identity_and_the_integrity_cursors_are_kept() {
    for db in each_backend().await {
        let s = &db.store;
        assert_eq!(s.identity().await.unwrap(), None);
        let mut id = StoreIdentity {
            node: "dz-247".into(),
            signing_key: "key-1".into(),
            descriptor_version: 1,
            recorded_at: 5,
        };
        s.record_identity(&id).await.unwrap();
        id.signing_key = "key-2".into();
        id.descriptor_version = 2;
        s.record_identity(&id).await.unwrap();
        assert_eq!(s.identity().await.unwrap(), Some(id));

        let cursor = IntegrityCursor {
            source: "inbox".into(),
            position: "42".into(),
            passes: 3,
            updated_at: 9,
        };
        s.set_integrity_cursor(&cursor).await.unwrap();
        assert_eq!(
            s.integrity_cursor("inbox").await.unwrap(),
            Some(cursor.clone())
        );
        assert_eq!(s.integrity_cursor("ledger").await.unwrap(), None);
        assert_eq!(s.integrity_cursors().await.unwrap(), vec![cursor]);
    }
}
