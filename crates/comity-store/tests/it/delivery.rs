use comity_store::{DeliveryState, LedgerAppend, NewOutbound};

use crate::backends::each_backend;

pub fn message(id: &str, peer: &str, conversation: &str, created_at: i64) -> NewOutbound {
    NewOutbound {
        id: id.into(),
        peer: peer.into(),
        conversation: conversation.into(),
        in_reply_to: None,
        kind: "note".into(),
        created_at,
        envelope: format!("envelope {id}").into_bytes(),
        digest: vec![7; 32],
        body: "{}".into(),
        inner_signature: vec![7; 64],
        ledger: LedgerAppend {
            kind: "message_sent".into(),
            time: created_at,
            bytes: format!("sent {id}").into_bytes(),
        },
    }
}

#[tokio::test]
async fn queue_keeps_acceptance_order_per_peer() {
    for db in each_backend().await {
        let s = &db.store;
        let batch: Vec<_> = (0..5)
            .map(|i| message(&format!("m{i}"), "fr-ocl", "c", i))
            .collect();
        s.enqueue(&batch).await.unwrap();
        s.enqueue(&[message("x", "ma-dgsn", "c2", 9)])
            .await
            .unwrap();
        let ids: Vec<_> = s
            .queued_for("fr-ocl", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["m0", "m1", "m2", "m3", "m4"], "{}", s.backend());
        assert_eq!(s.peers_ready(100).await.unwrap(), ["fr-ocl", "ma-dgsn"]);
    }
}

#[tokio::test]
async fn duplicate_ids_are_refused_and_the_batch_rolls_back() {
    for db in each_backend().await {
        let s = &db.store;
        s.enqueue(&[message("m1", "fr-ocl", "c", 1)]).await.unwrap();
        let err = s
            .enqueue(&[
                message("m2", "fr-ocl", "c", 2),
                message("m1", "fr-ocl", "c", 3),
            ])
            .await;
        assert!(err.is_err());
        assert_eq!(
            s.queued_for("fr-ocl", 10).await.unwrap().len(),
            1,
            "{}",
            s.backend()
        );
    }
}

#[tokio::test]
async fn delivery_failure_backoff_and_success() {
    for db in each_backend().await {
        let s = &db.store;
        s.enqueue(&[message("m1", "fr-ocl", "c", 1)]).await.unwrap();
        assert_eq!(
            s.peer_failed("fr-ocl", "connection refused", 10)
                .await
                .unwrap(),
            1
        );
        s.retry_peer_at("fr-ocl", 1_000).await.unwrap();
        assert!(s.peers_ready(500).await.unwrap().is_empty(), "backing off");
        assert_eq!(s.peers_ready(1_000).await.unwrap(), ["fr-ocl"]);
        let health = s.peer_health().await.unwrap();
        assert_eq!(health[0].queued, 1);
        assert_eq!(health[0].oldest_queued_at, Some(1));
        assert_eq!(health[0].last_error.as_deref(), Some("connection refused"));

        s.mark_delivered("fr-ocl", &[("m1".into(), b"receipt".to_vec())], 2_000)
            .await
            .unwrap();
        let m = s.get_outbound("m1").await.unwrap().unwrap();
        assert_eq!(m.state, DeliveryState::Delivered);
        assert_eq!(m.receipt.as_deref(), Some(&b"receipt"[..]));
        let health = s.peer_health().await.unwrap();
        assert_eq!(
            (
                health[0].queued,
                health[0].failures,
                health[0].last_success_at
            ),
            (0, 0, Some(2_000))
        );
        assert!(s.peers_ready(3_000).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn one_worker_at_a_time_holds_a_peer() {
    for db in each_backend().await {
        let s = &db.store;
        s.enqueue(&[message("m1", "fr-ocl", "c", 1)]).await.unwrap();
        assert!(s.lease_peer("fr-ocl", "w1", 10, 100).await.unwrap());
        assert!(!s.lease_peer("fr-ocl", "w2", 20, 120).await.unwrap());
        assert!(s.peers_ready(20).await.unwrap().is_empty());
        assert!(
            s.lease_peer("fr-ocl", "w2", 100, 200).await.unwrap(),
            "expired lease is taken over"
        );
        s.release_peer("fr-ocl", "w2").await.unwrap();
        assert!(s.lease_peer("fr-ocl", "w1", 101, 300).await.unwrap());
        // A stopping worker gives up what it holds: another takes the peer at once.
        s.enqueue(&[message("m2", "us-doj", "c", 1)]).await.unwrap();
        assert!(s.lease_peer("us-doj", "w1", 102, 300).await.unwrap());
        assert_eq!(s.release_leases("w2").await.unwrap(), 0);
        assert_eq!(s.release_leases("w1").await.unwrap(), 2);
        assert!(s.lease_peer("fr-ocl", "w3", 103, 400).await.unwrap());
        assert!(s.lease_peer("us-doj", "w3", 103, 400).await.unwrap());
        // A process killed while holding leases: at the next start, a SQLite store (one serving
        // process) frees them at once; PostgreSQL leaves them to lapse, as a live process sharing
        // the database may hold them.
        let freed = s.free_orphaned_leases().await.unwrap();
        let taken = s.lease_peer("fr-ocl", "w4", 104, 500).await.unwrap();
        match s.backend() {
            "sqlite" => assert_eq!((freed, taken), (2, true)),
            _ => assert_eq!((freed, taken), (0, false)),
        }
    }
}

#[tokio::test]
async fn old_messages_are_dead_lettered_visibly_and_can_be_requeued() {
    for db in each_backend().await {
        let s = &db.store;
        s.enqueue(&[
            message("old", "fr-ocl", "c", 1),
            message("new", "fr-ocl", "c", 500),
        ])
        .await
        .unwrap();
        assert_eq!(s.dead_letter_older_than(100).await.unwrap(), 1);
        let dead = s.list_outbox(Some(DeliveryState::Dead), 10).await.unwrap();
        assert_eq!(dead.len(), 1);
        assert_eq!(dead[0].id, "old");
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("dead-lettered")
        );
        assert_eq!(s.peer_health().await.unwrap()[0].dead, 1);
        assert_eq!(s.requeue_dead(Some("old")).await.unwrap(), 1);
        assert_eq!(s.queued_for("fr-ocl", 10).await.unwrap().len(), 2);
        let counts = s.outbox_counts().await.unwrap();
        assert_eq!(counts, [("queued".to_string(), 2)]);
    }
}

#[tokio::test]
async fn refused_messages_leave_the_queue_with_the_reason() {
    for db in each_backend().await {
        let s = &db.store;
        s.enqueue(&[
            message("bad", "fr-ocl", "c", 1),
            message("good", "fr-ocl", "c", 2),
        ])
        .await
        .unwrap();
        s.mark_refused(&[("bad".into(), "fed.replay: id reused".into())])
            .await
            .unwrap();
        let ids: Vec<_> = s
            .queued_for("fr-ocl", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.id)
            .collect();
        assert_eq!(ids, ["good"]);
        let bad = s.get_outbound("bad").await.unwrap().unwrap();
        assert_eq!(bad.state, DeliveryState::Refused);
        assert_eq!(bad.last_error.as_deref(), Some("fed.replay: id reused"));
    }
}
