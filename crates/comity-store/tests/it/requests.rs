use comity_store::{LedgerAppend, NewRequest, RequestChange, RequestEvent, Side, Store};

use crate::backends::each_backend;

fn ledger(n: i64) -> LedgerAppend {
    LedgerAppend {
        kind: "request_state".into(),
        time: n,
        bytes: format!("request entry {n}").into_bytes(),
    }
}

fn change(state: &str, due_at: Option<i64>) -> RequestChange {
    RequestChange {
        state: state.into(),
        due_at,
        request: format!("{{\"state\":\"{state}\"}}"),
    }
}

fn transition(to: &str, at: i64, message: Option<&str>) -> RequestEvent {
    RequestEvent {
        event: "transition".into(),
        actor_node: Some("fr-ocl".into()),
        actor_role: Some("24-7".into()),
        action: Some("{\"action\":\"acknowledge\",\"reference\":\"r\"}".into()),
        from_state: Some("sent".into()),
        to_state: to.into(),
        at,
        articles: "[\"Budapest Art. 29.3\"]".into(),
        detail: None,
        message_id: message.map(str::to_owned),
    }
}

async fn open(s: &Store, id: &str, due_at: i64) -> bool {
    s.insert_request(
        &NewRequest {
            id: id.into(),
            kind: "preservation".into(),
            side: Side::Requesting,
            peer: "fr-ocl".into(),
            change: change("sent", Some(due_at)),
        },
        &transition("sent", 10, None),
        &ledger(10),
        None,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_transition_stores_state_event_and_ledger_entry_together() {
    for db in each_backend().await {
        let s = &db.store;
        assert!(open(s, "r1", 1_000).await);
        assert!(!open(s, "r1", 2_000).await, "opening twice changes nothing");
        assert_eq!(s.ledger_size().await.unwrap(), 1);
        let r = s.get_request("r1").await.unwrap().unwrap();
        assert_eq!(
            (r.state.as_str(), r.due_at, r.version),
            ("sent", Some(1_000), 1)
        );
        assert_eq!(r.side, Side::Requesting);

        let seq = s
            .record_transition(
                "r1",
                r.version,
                &change("acknowledged", Some(5_000)),
                &transition("acknowledged", 20, Some("m2")),
                &ledger(20),
                None,
            )
            .await
            .unwrap();
        assert_eq!(seq, 2);
        assert_eq!(s.ledger_size().await.unwrap(), 2);
        let recent = s.ledger_recent(Some("request_state"), 10).await.unwrap();
        assert_eq!(recent.len(), 2);

        // A writer that read the old version is refused and nothing changes.
        let e = s
            .record_transition(
                "r1",
                r.version,
                &change("refused", None),
                &transition("refused", 30, None),
                &ledger(30),
                None,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "store.conflict");
        assert_eq!(s.ledger_size().await.unwrap(), 2);
        let r = s.get_request("r1").await.unwrap().unwrap();
        assert_eq!((r.state.as_str(), r.version), ("acknowledged", 2));

        // Alerts join the timeline without changing the state or the version.
        let mut alert = transition("reminder", 25, None);
        alert.event = "alert".into();
        alert.detail = Some("reminder: preserve".into());
        s.record_request_alert("r1", &alert).await.unwrap();
        let events = s.request_events("r1").await.unwrap();
        let seen: Vec<(i64, &str, Option<&str>)> = events
            .iter()
            .map(|e| {
                (
                    e.seq,
                    e.event.to_state.as_str(),
                    e.event.message_id.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (1, "sent", None),
                (2, "acknowledged", Some("m2")),
                (3, "reminder", None)
            ]
        );
        assert!(s.request_message_seen("m2").await.unwrap());
        assert!(!s.request_message_seen("m3").await.unwrap());
        let r = s.get_request("r1").await.unwrap().unwrap();
        assert_eq!(r.version, 2);
        let seq = s
            .record_transition(
                "r1",
                2,
                &change("preserved", Some(9_000)),
                &transition("preserved", 40, None),
                &ledger(40),
                None,
            )
            .await
            .unwrap();
        assert_eq!(seq, 4);
    }
}

#[tokio::test]
async fn requests_are_listed_by_state_and_due_time() {
    for db in each_backend().await {
        let s = &db.store;
        open(s, "a", 3_000).await;
        open(s, "b", 1_000).await;
        open(s, "c", 2_000).await;
        s.record_transition(
            "c",
            1,
            &change("closed", None),
            &transition("closed", 50, None),
            &ledger(50),
            None,
        )
        .await
        .unwrap();
        let ids =
            |v: Vec<comity_store::StoredRequest>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.list_requests(Some("sent"), None, 10).await.unwrap()).len(),
            2
        );
        assert_eq!(
            ids(s.list_requests(None, Some(3_500), 10).await.unwrap()),
            ["b", "a"]
        );
        assert_eq!(
            ids(s.list_requests(None, Some(2_500), 10).await.unwrap()),
            ["b"]
        );
        let mut due = ids(s.requests_with_due().await.unwrap());
        due.sort();
        assert_eq!(due, ["a", "b"]);
        assert!(s.get_request("zz").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_transition_and_its_message_commit_together() {
    for db in each_backend().await {
        let s = &db.store;
        let opening = crate::delivery::message("m1", "fr-ocl", "m1", 10);
        let new = NewRequest {
            id: "r1".into(),
            kind: "preservation".into(),
            side: Side::Requesting,
            peer: "fr-ocl".into(),
            change: change("sent", Some(1_000)),
        };
        let inserted = s
            .insert_request(
                &new,
                &transition("sent", 10, Some("m1")),
                &ledger(10),
                Some(&opening),
            )
            .await
            .unwrap();
        assert!(inserted);
        let queued = s.get_outbound("m1").await.unwrap().unwrap();
        assert_eq!(
            queued.log_index,
            Some(1),
            "the message_sent entry follows request_state"
        );
        assert_eq!(s.ledger_size().await.unwrap(), 2);

        // A transition refused as a conflict queues nothing either.
        let m2 = crate::delivery::message("m2", "fr-ocl", "m1", 20);
        let e = s
            .record_transition(
                "r1",
                7,
                &change("acknowledged", Some(2_000)),
                &transition("acknowledged", 20, Some("m2")),
                &ledger(20),
                Some(&m2),
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), "store.conflict");
        assert!(s.get_outbound("m2").await.unwrap().is_none());
        assert_eq!(s.ledger_size().await.unwrap(), 2);
        s.record_transition(
            "r1",
            1,
            &change("acknowledged", Some(2_000)),
            &transition("acknowledged", 20, Some("m2")),
            &ledger(20),
            Some(&m2),
        )
        .await
        .unwrap();
        assert_eq!(
            s.get_outbound("m2").await.unwrap().unwrap().log_index,
            Some(3)
        );
        assert_eq!(s.ledger_size().await.unwrap(), 4);
    }
}

#[tokio::test]
async fn request_messages_not_yet_replayed_are_found_again() {
    for db in each_backend().await {
        let s = &db.store;
        let mut batch: Vec<comity_store::Inbound> = ["a1", "a2", "n1"]
            .iter()
            .map(|id| comity_store::Inbound {
                id: (*id).into(),
                peer: "fr-ocl".into(),
                conversation: "c".into(),
                in_reply_to: None,
                kind: if id.starts_with('n') {
                    "note"
                } else {
                    "request.action"
                }
                .into(),
                sent_at: 1,
                received_at: 2,
                envelope: id.as_bytes().to_vec(),
                digest: vec![id.as_bytes()[1]; 32],
                body: b"{}".to_vec(),
                inner_signature: None,
                receipt: Vec::new(),
                log_index: None,
            })
            .collect();
        let entries: Vec<LedgerAppend> = (0..3).map(ledger).collect();
        s.accept_inbound(&mut batch, &entries, |_, _| b"receipt".to_vec())
            .await
            .unwrap();
        let ids = |v: Vec<comity_store::Inbound>| v.into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(
            ids(s.unreplayed_request_messages(10).await.unwrap()),
            ["a1", "a2"]
        );
        assert!(open(s, "r1", 1_000).await);
        s.record_transition(
            "r1",
            1,
            &change("acknowledged", None),
            &transition("acknowledged", 20, Some("a1")),
            &ledger(20),
            None,
        )
        .await
        .unwrap();
        s.refuse_inbound("a2", "workflow.unreadable", 3)
            .await
            .unwrap();
        s.refuse_inbound("a2", "request.other", 4).await.unwrap();
        assert!(s.unreplayed_request_messages(10).await.unwrap().is_empty());
    }
}
