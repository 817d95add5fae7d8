use comity_store::{EvidenceItem, LedgerAppend, NewCustodyEvent};

use crate::backends::each_backend;

fn item(sha: &str, case: &str, at: i64) -> EvidenceItem {
    EvidenceItem {
        sha256: sha.into(),
        case_id: case.into(),
        name: format!("{sha}.bin"),
        size: 42,
        conditions: None,
        provider: "dz-247".into(),
        created_at: at,
    }
}

fn event(sha: &str, seq: i64, action: &str) -> NewCustodyEvent {
    NewCustodyEvent {
        sha256: sha.into(),
        seq,
        signed: format!("signed {sha} {seq}").into_bytes(),
        action: action.into(),
        actor: "dz-247/api".into(),
        at: 1000 + seq,
        ledger: LedgerAppend {
            kind: "custody_event".into(),
            time: 1000 + seq,
            bytes: format!("entry {sha} {seq}").into_bytes(),
        },
    }
}

#[tokio::test]
async fn items_and_events_are_committed_with_their_ledger_entries() {
    for db in each_backend().await {
        let s = &db.store;
        let first = [event("aa", 0, "acquired"), event("aa", 1, "sealed")];
        let indexes = s.add_evidence(&item("aa", "C-1", 5), &first).await.unwrap();
        assert_eq!(indexes, Some(vec![0, 1]), "{}", s.backend());
        assert_eq!(
            s.add_evidence(&item("aa", "C-2", 6), &[event("aa", 0, "acquired")])
                .await
                .unwrap(),
            None,
            "an item is registered once"
        );
        assert_eq!(s.ledger_size().await.unwrap(), 2);
        s.add_evidence(&item("bb", "C-1", 7), &[event("bb", 0, "acquired")])
            .await
            .unwrap()
            .unwrap();

        assert_eq!(
            s.record_custody(&event("aa", 2, "accessed")).await.unwrap(),
            Some(3)
        );
        assert_eq!(
            s.record_custody(&event("aa", 2, "accessed")).await.unwrap(),
            None,
            "stale seq"
        );
        assert_eq!(
            s.record_custody(&event("aa", 4, "accessed")).await.unwrap(),
            None,
            "a gap"
        );
        assert_eq!(
            s.record_custody(&event("zz", 0, "accessed")).await.unwrap(),
            None,
            "unknown"
        );
        assert_eq!(s.ledger_size().await.unwrap(), 4);

        let logged = s.ledger_entry(3).await.unwrap().unwrap();
        assert_eq!(
            (logged.kind.as_str(), logged.bytes.as_slice()),
            ("custody_event", &b"entry aa 2"[..])
        );

        let timeline = s.custody_events("aa").await.unwrap();
        let summary: Vec<_> = timeline
            .iter()
            .map(|e| (e.seq, e.action.as_str(), e.ledger_index))
            .collect();
        assert_eq!(
            summary,
            [(0, "acquired", 0), (1, "sealed", 1), (2, "accessed", 3)]
        );
        assert_eq!(timeline[2].signed, b"signed aa 2");

        let items: Vec<_> = s
            .evidence_items("C-1")
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.sha256)
            .collect();
        assert_eq!(items, ["aa", "bb"]);
        assert!(s.evidence_items("C-2").await.unwrap().is_empty());
        assert_eq!(
            s.evidence_item("aa").await.unwrap(),
            Some(item("aa", "C-1", 5))
        );
        assert_eq!(s.evidence_item("zz").await.unwrap(), None);
    }
}
