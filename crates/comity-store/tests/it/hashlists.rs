use comity_store::{ListUpdateRow, PullError};

use crate::backends::each_backend;

fn update(list: &str, version: i64) -> ListUpdateRow {
    ListUpdateRow {
        list: list.into(),
        version,
        publisher: list.split('/').next().unwrap().into(),
        issued_at: 100 + version,
        stored_at: 200 + version,
        signed: format!("signed {list} {version}").into_bytes(),
    }
}

#[tokio::test]
async fn own_lists_grow_one_version_at_a_time() {
    for db in each_backend().await {
        let s = &db.store;
        assert!(
            s.append_own_list_update(&update("dz-247/a", 1))
                .await
                .unwrap()
        );
        assert!(
            !s.append_own_list_update(&update("dz-247/a", 1))
                .await
                .unwrap()
        );
        assert!(
            !s.append_own_list_update(&update("dz-247/a", 3))
                .await
                .unwrap(),
            "a gap"
        );
        assert!(
            s.append_own_list_update(&update("dz-247/a", 2))
                .await
                .unwrap()
        );
        assert!(
            s.append_own_list_update(&update("dz-247/b", 1))
                .await
                .unwrap()
        );
        let after_1 = s.list_updates("dz-247/a", 1, 10).await.unwrap();
        assert_eq!(after_1, [update("dz-247/a", 2)], "{}", s.backend());
        assert_eq!(s.list_updates("dz-247/a", 0, 1).await.unwrap().len(), 1);
        let heads = s.list_heads(Some("dz-247")).await.unwrap();
        let heads: Vec<_> = heads.iter().map(|h| (h.list.as_str(), h.version)).collect();
        assert_eq!(heads, [("dz-247/a", 2), ("dz-247/b", 1)]);
        assert!(s.list_heads(Some("fr-ocl")).await.unwrap().is_empty());
        assert_eq!(s.all_list_updates().await.unwrap().len(), 3);
    }
}

#[tokio::test]
async fn pulls_store_contiguous_versions_and_record_health() {
    for db in each_backend().await {
        let s = &db.store;
        assert!(s.subscribe_list("fr-ocl/x", "fr-ocl", 5).await.unwrap());
        assert!(!s.subscribe_list("fr-ocl/x", "fr-ocl", 6).await.unwrap());
        let ok = [update("fr-ocl/x", 1), update("fr-ocl/x", 2)];
        assert!(s.record_pull("fr-ocl/x", &ok, None, 10).await.unwrap());
        let gap = [update("fr-ocl/x", 4)];
        assert!(
            !s.record_pull("fr-ocl/x", &gap, None, 11).await.unwrap(),
            "a gap stores nothing"
        );
        let bad = PullError {
            code: "pdq.list_signature".into(),
            message: "bad signature".into(),
        };
        let more = [update("fr-ocl/x", 3)];
        assert!(
            s.record_pull("fr-ocl/x", &more, Some(&bad), 12)
                .await
                .unwrap()
        );
        let sub = &s.subscriptions().await.unwrap()[0];
        assert_eq!(
            (sub.applied_version, sub.failures, sub.last_success_at),
            (3, 1, Some(10)),
            "{}",
            s.backend()
        );
        assert_eq!(sub.last_error_code.as_deref(), Some("pdq.list_signature"));
        assert_eq!(sub.last_error_at, Some(12));
        assert!(s.record_pull("fr-ocl/x", &[], None, 13).await.unwrap());
        let sub = &s.subscriptions().await.unwrap()[0];
        assert_eq!((sub.failures, sub.last_error.as_deref()), (0, None));
        assert_eq!(s.list_updates("fr-ocl/x", 0, 10).await.unwrap().len(), 3);

        assert!(s.unsubscribe_list("fr-ocl/x").await.unwrap());
        assert!(!s.unsubscribe_list("fr-ocl/x").await.unwrap());
        assert!(s.all_list_updates().await.unwrap().is_empty());
        assert!(!s.record_pull("fr-ocl/x", &ok, None, 14).await.unwrap());
        assert!(s.all_list_updates().await.unwrap().is_empty());
    }
}
