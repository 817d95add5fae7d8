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
        s.set_request_event_message("r1", 1, "m1").await.unwrap();
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
                (1, "sent", Some("m1")),
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
