use comity_store::{EvidenceItem, ForeignEvent, LedgerAppend, NewCustodyEvent, Transfer};

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
            [
                (0, "acquired", Some(0)),
                (1, "sealed", Some(1)),
                (2, "accessed", Some(3))
            ]
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

#[tokio::test]
async fn events_of_several_items_are_recorded_all_or_none() {
    for db in each_backend().await {
        let s = &db.store;
        for sha in ["aa", "bb"] {
            s.add_evidence(&item(sha, "C-1", 5), &[event(sha, 0, "acquired")])
                .await
                .unwrap()
                .unwrap();
        }
        // One stale event refuses the whole batch: nothing of it is stored.
        assert_eq!(
            s.record_custody_all(&[event("aa", 1, "exported"), event("bb", 3, "exported")])
                .await
                .unwrap(),
            None,
            "{}",
            s.backend()
        );
        assert_eq!(s.ledger_size().await.unwrap(), 2);
        assert_eq!(s.custody_events("aa").await.unwrap().len(), 1);
        assert_eq!(
            s.record_custody_all(&[event("aa", 1, "exported"), event("bb", 1, "exported")])
                .await
                .unwrap(),
            Some(vec![2, 3])
        );
        let logged = s.ledger_entry(3).await.unwrap().unwrap();
        assert_eq!(logged.bytes, b"entry bb 1");
        assert_eq!(
            s.custody_events("bb").await.unwrap()[1].ledger_index,
            Some(3)
        );
    }
}

fn transfer(id: &str, direction: &str, state: &str) -> Transfer {
    Transfer {
        id: id.into(),
        direction: direction.into(),
        peer: "fr-ocl".into(),
        sha256: "cc".into(),
        case_id: "FR-1".into(),
        name: "cc.bin".into(),
        purpose: "p".into(),
        request: None,
        offer: "{}".into(),
        conditions: "{}".into(),
        custody: "[]".into(),
        chunks: 4,
        received: 0,
        state: state.into(),
        error_code: None,
        error_message: None,
        message_id: None,
        created_at: 10,
        updated_at: 10,
    }
}

#[tokio::test]
async fn a_received_item_continues_the_providers_chain_and_ends_its_transfer() {
    for db in each_backend().await {
        let s = &db.store;
        assert!(
            s.create_transfer(&transfer("t1", "in", "pending"))
                .await
                .unwrap()
        );
        assert!(
            !s.create_transfer(&transfer("t1", "in", "pending"))
                .await
                .unwrap()
        );
        s.transfer_progress("t1", Some(2), Some(("evidence.pull_transport", "down")), 11)
            .await
            .unwrap();
        s.transfer_progress("t1", None, None, 12).await.unwrap();
        let t = s.transfer("t1").await.unwrap().unwrap();
        assert_eq!((t.received, t.error_code, t.updated_at), (2, None, 12));
        assert_eq!(s.pending_transfers().await.unwrap().len(), 1);

        let foreign: Vec<ForeignEvent> = ["acquired", "sealed", "sent"]
            .iter()
            .enumerate()
            .map(|(i, a)| ForeignEvent {
                seq: i as i64,
                signed: format!("fr event {i}").into_bytes(),
                action: (*a).into(),
                actor: "fr-ocl/api".into(),
                at: 100 + i as i64,
                proof: format!("proof {i}").into_bytes(),
            })
            .collect();
        let own = [event("cc", 3, "received"), event("cc", 4, "verified")];
        let indexes = s
            .receive_evidence("t1", &item("cc", "FR-1", 20), &foreign, &own, 20)
            .await
            .unwrap();
        assert_eq!(indexes, Some(vec![0, 1]), "{}", s.backend());
        let chain: Vec<_> = s
            .custody_events("cc")
            .await
            .unwrap()
            .into_iter()
            .map(|e| (e.seq, e.action, e.ledger_index, e.proof.is_some()))
            .collect();
        assert_eq!(
            chain,
            [
                (0, "acquired".into(), None, true),
                (1, "sealed".into(), None, true),
                (2, "sent".into(), None, true),
                (3, "received".into(), Some(0), false),
                (4, "verified".into(), Some(1), false),
            ]
        );
        assert_eq!(
            s.record_custody(&event("cc", 5, "accessed")).await.unwrap(),
            Some(2)
        );
        assert_eq!(
            s.record_custody(&event("cc", 3, "accessed")).await.unwrap(),
            None
        );
        let t = s.transfer("t1").await.unwrap().unwrap();
        assert_eq!((t.state.as_str(), t.received), ("completed", 4));
        assert!(s.pending_transfers().await.unwrap().is_empty());
        assert_eq!(
            s.receive_evidence("t1", &item("cc", "FR-1", 20), &[], &[], 21)
                .await
                .unwrap(),
            None,
            "an item is registered once"
        );

        s.create_transfer(&transfer("t2", "out", "offered"))
            .await
            .unwrap();
        assert!(s.offered_to("cc", "fr-ocl").await.unwrap());
        assert!(!s.offered_to("cc", "be-fccu").await.unwrap());
        assert!(
            s.end_transfer(
                "t2",
                "out",
                "refused",
                Some(("evidence.chunk_refused", "x")),
                30
            )
            .await
            .unwrap()
        );
        assert!(
            !s.end_transfer("t2", "out", "completed", None, 31)
                .await
                .unwrap()
        );
        assert!(!s.offered_to("cc", "fr-ocl").await.unwrap());
        let all = s.transfers(Some("cc")).await.unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].error_code.as_deref(), Some("evidence.chunk_refused"));
        assert!(s.transfers(Some("zz")).await.unwrap().is_empty());

        s.record_consent("cc", "op1", "fr-ocl", "signed 1", 40)
            .await
            .unwrap();
        s.record_consent("cc", "op1", "fr-ocl", "signed 2", 41)
            .await
            .unwrap();
        s.record_consent("cc", "op2", "fr-ocl", "signed 3", 42)
            .await
            .unwrap();
        assert_eq!(s.consents("cc").await.unwrap(), ["signed 2", "signed 3"]);
    }
}
