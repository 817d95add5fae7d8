use comity_ledger::{MemoryLog, tile, tree};
use comity_store::{LedgerAppend, LedgerCheck, Store};

use crate::backends::each_backend;
use crate::delivery::message;

pub fn entry(i: u64) -> LedgerAppend {
    LedgerAppend {
        kind: "data_access".into(),
        time: i as i64,
        bytes: format!("entry {i}").into_bytes(),
    }
}

/// Appends `batches` to the store and to the reference log, then checks that every tree head,
/// proof and tile the store computes equals the reference's.
pub async fn append_and_compare(s: &Store, batches: &[u64]) -> MemoryLog {
    let mut reference = MemoryLog::new("test.comity/ledger");
    let mut next = 0;
    for &n in batches {
        let batch: Vec<LedgerAppend> = (next..next + n).map(entry).collect();
        let first = s.ledger_append(&batch).await.unwrap();
        assert_eq!(first, next);
        for e in &batch {
            reference.append(&e.bytes).unwrap();
        }
        next += n;
        assert_eq!(s.ledger_size().await.unwrap(), next);
    }
    let size = reference.size();
    for probe in [1, size / 3, size / 2, size - 1, size] {
        if probe == 0 {
            continue;
        }
        assert_eq!(
            s.ledger_root(probe).await.unwrap(),
            reference.root_at(probe).unwrap(),
            "{} root at {probe}",
            s.backend()
        );
        let index = probe / 2;
        let proof = s
            .ledger_compute(|r| tree::inclusion_proof(index, probe, r))
            .await
            .unwrap();
        assert_eq!(proof, reference.inclusion_proof(index, probe).unwrap());
        if probe < size {
            let proof = s
                .ledger_compute(|r| tree::consistency_proof(probe, size, r))
                .await
                .unwrap();
            assert_eq!(proof, reference.consistency_proof(probe, size).unwrap());
        }
    }
    for id in tile::hash_tiles_for_size(size) {
        let bytes = s
            .ledger_compute(|r| tile::tile_bytes(&id, r))
            .await
            .unwrap();
        assert_eq!(bytes, reference.tile(&id).unwrap(), "tile {}", id.path());
    }
    reference
}

#[tokio::test]
async fn batches_build_the_same_tree_as_the_reference() {
    for db in each_backend().await {
        let s = &db.store;
        let reference = append_and_compare(s, &[1, 2, 5, 300, 1, 2500, 7]).await;
        let bytes = s.ledger_entries(256, 260).await.unwrap();
        let expected: Vec<Vec<u8>> = (256..260)
            .map(|i| reference.entry(i).unwrap().to_vec())
            .collect();
        assert_eq!(bytes, expected);
        assert_eq!(
            s.ledger_check(&[], 100).await.unwrap(),
            LedgerCheck::Consistent {
                size: 2816,
                rehashed_from: 2716
            }
        );
        let recent = s.ledger_recent(Some("data_access"), 2).await.unwrap();
        assert_eq!(
            recent.iter().map(|r| r.idx).collect::<Vec<_>>(),
            [2815, 2814]
        );
        assert!(
            s.ledger_recent(Some("message_sent"), 2)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn queued_messages_are_logged_in_the_same_transaction() {
    for db in each_backend().await {
        let s = &db.store;
        s.ledger_append(&[entry(0)]).await.unwrap();
        s.enqueue(&[
            message("m1", "fr-ocl", "c", 1),
            message("m2", "fr-ocl", "c", 2),
        ])
        .await
        .unwrap();
        let m2 = s.get_outbound("m2").await.unwrap().unwrap();
        assert_eq!(m2.log_index, Some(2));
        let logged = s.ledger_entry(2).await.unwrap().unwrap();
        assert_eq!(
            (logged.kind.as_str(), logged.bytes.as_slice()),
            ("message_sent", &b"sent m2"[..])
        );
        // A message refused by the database (duplicate id) takes its entry down with it.
        assert!(s.enqueue(&[message("m1", "fr-ocl", "c", 3)]).await.is_err());
        assert_eq!(s.ledger_size().await.unwrap(), 3);
        assert_eq!(
            s.ledger_check(&[], 10).await.unwrap(),
            LedgerCheck::Consistent {
                size: 3,
                rehashed_from: 0
            }
        );
    }
}

#[tokio::test]
async fn checkpoints_cosignatures_witnessing_and_alarms() {
    for db in each_backend().await {
        let s = &db.store;
        assert!(s.latest_checkpoint(false).await.unwrap().is_none());
        s.save_checkpoint(3, "log\n3\nroot3\n\n— log AAAA\n", 10)
            .await
            .unwrap();
        s.save_checkpoint(3, "something else", 11).await.unwrap();
        s.save_checkpoint(9, "log\n9\nroot9\n\n— log BBBB\n", 12)
            .await
            .unwrap();
        s.add_cosignature(
            3,
            "fr-ocl.comity/witness",
            "— fr-ocl.comity/witness X\n",
            13,
        )
        .await
        .unwrap();
        s.add_cosignature(
            3,
            "fr-ocl.comity/witness",
            "— fr-ocl.comity/witness Y\n",
            14,
        )
        .await
        .unwrap();
        let latest = s.latest_checkpoint(false).await.unwrap().unwrap();
        assert_eq!((latest.size, latest.cosignatures.len()), (9, 0));
        let cosigned = s.latest_checkpoint(true).await.unwrap().unwrap();
        assert_eq!(cosigned.size, 3);
        assert_eq!(
            cosigned.cosigned_note(),
            "log\n3\nroot3\n\n— log AAAA\n— fr-ocl.comity/witness Y\n",
            "the first note signed for a size stays; a witness's newer line replaces its older"
        );
        assert_eq!(s.checkpoint_covering(4).await.unwrap().unwrap().size, 9);
        assert!(s.checkpoint_covering(10).await.unwrap().is_none());

        s.record_witness_check("ma-moj", 20, Some("connection refused"))
            .await
            .unwrap();
        s.record_witnessed("ma-moj", 5, "n5", 21, true)
            .await
            .unwrap();
        s.record_witnessed("ma-moj", 4, "n4", 22, false)
            .await
            .unwrap();
        let w = s.witnessed("ma-moj").await.unwrap().unwrap();
        assert_eq!(
            (w.size, w.note.as_deref(), w.last_error),
            (Some(5), Some("n5"), None)
        );
        assert_eq!(
            w.cosigned_at,
            Some(21),
            "a smaller tree never replaces the kept one"
        );
        s.record_witness_check("ma-moj", 23, Some("bad proof"))
            .await
            .unwrap();
        let w = &s.witness_health().await.unwrap()[0];
        assert_eq!(
            (w.size, w.checked_at, w.last_error.as_deref()),
            (Some(5), 23, Some("bad proof"))
        );

        assert!(
            s.record_alarm("ma-moj", "not_a_prefix", "{}", "f1", 30)
                .await
                .unwrap()
        );
        assert!(
            !s.record_alarm("ma-moj", "not_a_prefix", "{}", "f1", 31)
                .await
                .unwrap()
        );
        let alarms = s.alarms().await.unwrap();
        assert_eq!(alarms.len(), 1);
        assert_eq!(
            (alarms[0].peer.as_str(), alarms[0].detected_at),
            ("ma-moj", 30)
        );
    }
}
