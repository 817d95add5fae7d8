use comity_store::{Inbound, InboundOutcome, Rejection};

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
        receipt: format!("receipt {id} {digest}").into_bytes(),
    }
}

#[tokio::test]
async fn each_message_is_accepted_once() {
    for db in each_backend().await {
        let s = &db.store;
        let out = s
            .accept_inbound(&[inbound("a", 1, "c"), inbound("b", 1, "c")])
            .await
            .unwrap();
        assert_eq!(out, [InboundOutcome::Accepted, InboundOutcome::Accepted]);
        let again = s
            .accept_inbound(&[inbound("a", 1, "c"), inbound("b", 9, "c")])
            .await
            .unwrap();
        assert_eq!(
            again,
            [
                InboundOutcome::Duplicate {
                    receipt: b"receipt a 1".to_vec()
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
        assert_eq!((digest, receipt), (vec![1; 32], b"receipt a 1".to_vec()));
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
        let out = s
            .accept_inbound(&[inbound("a", 1, "c"), inbound("a", 1, "c")])
            .await
            .unwrap();
        assert_eq!(out[0], InboundOutcome::Accepted);
        assert!(matches!(out[1], InboundOutcome::Duplicate { .. }));
        assert_eq!(s.list_inbox(10).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn rejections_are_recorded() {
    for db in each_backend().await {
        let s = &db.store;
        let r = Rejection {
            at: 5,
            peer: Some("xx-evil".into()),
            message_id: None,
            code: "fed.unknown_sender".into(),
            detail: "not in the trust list".into(),
        };
        s.record_rejection(&r).await.unwrap();
        let got = s.rejections(10).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].code, "fed.unknown_sender");
    }
}
