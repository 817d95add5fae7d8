use comity_store::{Inbound, InboundOutcome, LedgerAppend, Store};

use crate::backends::each_backend;

fn inbound(id: &str, digest: u8, conversation: &str) -> Inbound {
    Inbound {
        id: id.into(),
        peer: "dz-moj".into(),
        conversation: conversation.into(),
        in_reply_to: None,
        kind: "note".into(),
        sent_at: 1,
        received_at: 2,
        envelope: b"env".to_vec(),
        digest: vec![digest; 32],
        body: b"{}".to_vec(),
        inner_signature: Some(vec![digest; 64]),
        receipt: Vec::new(),
        log_index: None,
    }
}

/// Accepts a batch with placeholder ledger entries; receipts name the message and log index.
async fn accept(s: &Store, mut batch: Vec<Inbound>) -> Vec<InboundOutcome> {
    let entries: Vec<LedgerAppend> = batch
        .iter()
        .map(|m| LedgerAppend {
            kind: "message_received".into(),
            time: m.received_at,
            bytes: format!("received {}", m.id).into_bytes(),
        })
        .collect();
    let ids: Vec<String> = batch.iter().map(|m| m.id.clone()).collect();
    s.accept_inbound(&mut batch, &entries, |i, index| {
        format!("receipt {} {index}", ids[i]).into_bytes()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn each_message_is_accepted_once() {
    for db in each_backend().await {
        let s = &db.store;
        let out = accept(s, vec![inbound("a", 1, "c"), inbound("b", 1, "c")]).await;
        assert_eq!(out, [InboundOutcome::Accepted, InboundOutcome::Accepted]);
        let again = accept(s, vec![inbound("a", 1, "c"), inbound("b", 9, "c")]).await;
        assert_eq!(
            again,
            [
                InboundOutcome::Duplicate {
                    receipt: b"receipt a 0".to_vec()
                },
                InboundOutcome::Replay
            ],
            "{}",
            s.backend()
        );
        assert_eq!(s.inbox_count().await.unwrap(), 2);
        let stored = s.get_inbound("b").await.unwrap().unwrap();
        assert_eq!(stored.digest, vec![1; 32], "a replay changes nothing");
        let (digest, receipt) = s.inbound_receipt("a").await.unwrap().unwrap();
        assert_eq!((digest, receipt), (vec![1; 32], b"receipt a 0".to_vec()));
        assert_eq!(
            stored.log_index,
            Some(1),
            "b is the second entry of the ledger"
        );
        assert_eq!(
            s.ledger_size().await.unwrap(),
            2,
            "duplicates and replays add nothing"
        );
        let entry = s.ledger_entry(1).await.unwrap().unwrap();
        assert_eq!(entry.bytes, b"received b");
        let ids: Vec<_> = s
            .inbox_conversation("c")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["a", "b"]);
    }
}

#[tokio::test]
async fn a_duplicate_inside_one_batch_is_stored_once() {
    for db in each_backend().await {
        let s = &db.store;
        let out = accept(s, vec![inbound("a", 1, "c"), inbound("a", 1, "c")]).await;
        assert_eq!(out[0], InboundOutcome::Accepted);
        assert!(matches!(out[1], InboundOutcome::Duplicate { .. }));
        assert_eq!(s.list_inbox(10).await.unwrap().len(), 1);
        assert_eq!(s.ledger_size().await.unwrap(), 1);
    }
}
