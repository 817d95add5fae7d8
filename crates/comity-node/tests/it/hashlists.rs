//! Hash lists shared between nodes: publish, pull and verify, match, revoke, notify, restart;
//! forged, gapped and malformed updates refused and shown in the subscriber's health.

use std::time::{Duration, Instant};

use comity_model::Timestamp;
use comity_pdq::PdqHash;
use comity_pdq::list::{ListEntry, ListUpdate, SignedListUpdate, SigningKey, signed_update_bytes};
use comity_store::ListUpdateRow;
use serde_json::{Value, json};

use crate::harness::{Api, Federation, backends};

const LIST: &str = "dz-247/csam-baseline";

fn hash(seed: u8) -> String {
    let bytes: Vec<u8> = (0..32u8)
        .map(|i| i.wrapping_mul(37).wrapping_add(seed).rotate_left(3))
        .collect();
    hex::encode(bytes)
}

/// `h` with its first `bits` bits flipped.
fn near(h: &str, bits: usize) -> String {
    let mut bytes = hex::decode(h).unwrap();
    for k in 0..bits {
        bytes[k / 8] ^= 0x80 >> (k % 8);
    }
    hex::encode(bytes)
}

fn entry(pdq: &str, series: Option<&str>) -> Value {
    json!({"pdq": pdq, "quality": 90, "category": "csam-baseline", "series": series,
           "victim_identified": true, "sha256": "ab".repeat(32)})
}

/// Polls `path` until `done` holds (or a minute passes) and returns the last answer.
async fn wait_for(api: &Api, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, v) = api.get(path).await;
        if done(&v) || Instant::now() > deadline {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn version_of(lists: &Value, list: &str) -> Option<u64> {
    lists
        .as_array()?
        .iter()
        .find(|l| l["list"] == list)
        .and_then(|l| l["version"].as_u64())
}

#[tokio::test]
async fn a_subscriber_pulls_matches_sees_revocations_and_may_notify() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let (h1, h2) = (hash(1), hash(2));
        let (status, v) = dz
            .post(
                "/api/v1/pdq/publish",
                &json!({"list": LIST, "add": [entry(&h1, Some("5e21")), entry(&h2, None)]}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        assert_eq!(
            (v["version"].as_u64(), v["added"][1]["id"].as_u64()),
            (Some(1), Some(2))
        );

        let (status, catalogue) = fr.get("/api/v1/pdq/peers/dz-247/lists").await;
        assert_eq!(status, 200, "{catalogue}");
        assert_eq!(version_of(&catalogue, LIST), Some(1), "{catalogue}");
        let (status, v) = fr
            .post(
                "/api/v1/pdq/subscribe",
                &json!({"peer": "dz-247", "list": LIST}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        let lists = wait_for(&fr, "/api/v1/pdq/lists", |l| version_of(l, LIST) == Some(1)).await;
        assert_eq!(version_of(&lists, LIST), Some(1), "{backend:?}: {lists}");
        assert_eq!(lists[0]["own"], false);

        let (status, v) = fr
            .post(
                "/api/v1/pdq/match",
                &json!({"pdq": [near(&h1, 3)], "sha256": ["ab".repeat(32)]}),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        let m = &v["results"][0]["matches"][0];
        assert_eq!(
            (
                &m["list"],
                &m["contributor"],
                &m["series"],
                &m["distance"],
                &m["victim_identified"]
            ),
            (
                &json!(LIST),
                &json!("dz-247"),
                &json!("5e21"),
                &json!(3),
                &json!(true)
            ),
            "{v}"
        );
        assert_eq!(v["results"][1]["by"], "sha256");
        assert_eq!(v["results"][1]["matches"].as_array().unwrap().len(), 2);

        let (status, v) = dz
            .post("/api/v1/pdq/publish", &json!({"list": LIST, "revoke": [1]}))
            .await;
        assert_eq!(status, 201, "{v}");
        wait_for(&fr, "/api/v1/pdq/lists", |l| version_of(l, LIST) == Some(2)).await;
        let (_, v) = fr
            .post(
                "/api/v1/pdq/match",
                &json!({"pdq": [h1.clone(), h2.clone()]}),
            )
            .await;
        assert_eq!(
            v["results"][0]["matches"],
            json!([]),
            "a revoked entry no longer matches"
        );
        assert_eq!(v["results"][1]["matches"][0]["entry"], 2);

        // The matcher takes a version just before the store records it.
        let subs = wait_for(&fr, "/api/v1/pdq/subscriptions", |s| {
            s[0]["applied_version"] == 2
        })
        .await;
        assert_eq!(
            (&subs[0]["applied_version"], &subs[0]["failures"]),
            (&json!(2), &json!(0))
        );
        assert!(subs[0]["last_error"].is_null(), "{subs}");

        let (status, v) = fr
            .post(
                "/api/v1/pdq/notify",
                &json!({"list": LIST, "entry": 2, "distance": 0, "note": "found on a seized disk"}),
            )
            .await;
        assert_eq!(status, 202, "{v}");
        let inbox = wait_for(&dz, "/api/v1/inbox", |i| {
            i.as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
        assert_eq!(inbox[0]["kind"], "pdq.match_notice", "{inbox}");
        assert_eq!(inbox[0]["peer"], "fr-ocl");
        assert_eq!(
            (&inbox[0]["body"]["list"], &inbox[0]["body"]["entry"]),
            (&json!(LIST), &json!(2))
        );

        let (_, v) = fr
            .post("/api/v1/pdq/unsubscribe", &json!({"list": LIST}))
            .await;
        assert_eq!(v["removed"], true);
        let (_, v) = fr
            .post("/api/v1/pdq/match", &json!({"pdq": [h2.clone()]}))
            .await;
        assert_eq!(v["results"][0]["matches"], json!([]));
        fed.shutdown().await;
    }
}

fn update(list: &str, version: u64, previous: [u8; 32], pdq: &str) -> ListUpdate {
    let at = Timestamp::from_unix_ms(comity_node::now_ms());
    ListUpdate {
        list: list.parse().unwrap(),
        publisher: "dz-247".parse().unwrap(),
        version,
        previous,
        issued_at: at,
        added: vec![ListEntry {
            id: version,
            pdq: pdq.parse::<PdqHash>().unwrap(),
            quality: 80,
            sha256: None,
            md5: None,
            category: "csam-baseline".parse().unwrap(),
            series: None,
            victim_identified: false,
            contributor: "dz-247".parse().unwrap(),
            added_at: at,
        }],
        revoked: vec![],
    }
}

/// Stored as the publisher's version `version`, whatever the update says.
fn row(version: i64, u: &SignedListUpdate) -> ListUpdateRow {
    ListUpdateRow {
        list: u.update.list.to_string(),
        version,
        publisher: "dz-247".into(),
        issued_at: u.update.issued_at.unix_ms(),
        stored_at: 0,
        signed: signed_update_bytes(u),
    }
}

#[tokio::test]
async fn forged_gapped_and_malformed_updates_are_refused_and_shown() {
    for backend in backends() {
        let fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (dz, fr) = (fed.api("dz-247"), fed.api("fr-ocl"));
        let seeds = &fed.members[fed.index("dz-247")].seeds;
        let key = SigningKey::from_bytes(&seeds[..32].try_into().unwrap());
        let store = fed.node("dz-247").node.store().clone();

        let forged = update("dz-247/forged", 1, [0; 32], &hash(3))
            .sign(&SigningKey::from_bytes(&[7; 32]))
            .unwrap();
        assert!(
            store
                .append_own_list_update(&row(1, &forged))
                .await
                .unwrap()
        );
        let v1 = update("dz-247/gappy", 1, [0; 32], &hash(4))
            .sign(&key)
            .unwrap();
        let v2 = update("dz-247/gappy", 2, v1.update.digest(), &hash(5))
            .sign(&key)
            .unwrap();
        let v3 = update("dz-247/gappy", 3, v2.update.digest(), &hash(6))
            .sign(&key)
            .unwrap();
        assert!(store.append_own_list_update(&row(1, &v1)).await.unwrap());
        assert!(store.append_own_list_update(&row(2, &v3)).await.unwrap());
        let zeros = update("dz-247/zeros", 1, [0; 32], &"0".repeat(64))
            .sign(&key)
            .unwrap();
        assert!(store.append_own_list_update(&row(1, &zeros)).await.unwrap());

        for list in ["dz-247/forged", "dz-247/gappy", "dz-247/zeros"] {
            let (status, v) = fr
                .post(
                    "/api/v1/pdq/subscribe",
                    &json!({"peer": "dz-247", "list": list}),
                )
                .await;
            assert_eq!(status, 201, "{v}");
        }
        let subs = wait_for(&fr, "/api/v1/pdq/subscriptions", |s| {
            s.as_array()
                .is_some_and(|a| a.len() == 3 && a.iter().all(|s| !s["last_error"].is_null()))
        })
        .await;
        let health: Vec<_> = subs
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["list"].clone(),
                    s["applied_version"].clone(),
                    s["last_error"]["code"].clone(),
                )
            })
            .collect();
        assert_eq!(
            health,
            [
                (
                    json!("dz-247/forged"),
                    json!(0),
                    json!("pdq.list_signature")
                ),
                (json!("dz-247/gappy"), json!(1), json!("pdq.list_gap")),
                (json!("dz-247/zeros"), json!(0), json!("pdq.list_entry")),
            ],
            "{backend:?}: {subs}"
        );
        let (_, lists) = fr.get("/api/v1/pdq/lists").await;
        assert_eq!(version_of(&lists, "dz-247/gappy"), Some(1));
        assert_eq!(version_of(&lists, "dz-247/forged"), None);
        let (_, v) = fr
            .post("/api/v1/pdq/match", &json!({"pdq": [hash(3), hash(6)]}))
            .await;
        assert_eq!(v["results"][0]["matches"], json!([]));
        assert_eq!(v["results"][1]["matches"], json!([]));

        let bad = [
            (
                json!({"list": LIST, "add": [entry("xyz", None)]}),
                "pdq.bad_hash",
            ),
            (
                json!({"list": LIST, "add": [{"pdq": hash(1), "quality": 90, "category": "csam-baseline", "md5": "12"}]}),
                "pdq.list_field",
            ),
            (
                json!({"list": LIST, "add": [entry(&"0".repeat(64), None)]}),
                "pdq.list_entry",
            ),
            (json!({"list": LIST, "revoke": [9]}), "pdq.list_entry"),
            (
                json!({"list": "fr-ocl/theirs", "add": [entry(&hash(1), None)]}),
                "pdq.list_field",
            ),
        ];
        for (body, code) in bad {
            let (status, v) = dz.post("/api/v1/pdq/publish", &body).await;
            assert_eq!(
                (status, v["error"]["code"].as_str()),
                (400, Some(code)),
                "{body}: {v}"
            );
        }
        let (_, lists) = dz.get("/api/v1/pdq/lists").await;
        assert_eq!(
            version_of(&lists, LIST),
            None,
            "refused updates change nothing"
        );
        let (status, v) = fr
            .post(
                "/api/v1/pdq/subscribe",
                &json!({"peer": "dz-247", "list": "fr-ocl/x"}),
            )
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some("pdq.list_field"))
        );
        let (status, v) = fr
            .post(
                "/api/v1/pdq/match",
                &json!({"pdq": [hash(1)], "radius": 200}),
            )
            .await;
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (400, Some("api.bad_request"))
        );
        fed.shutdown().await;
    }
}

#[tokio::test]
async fn lists_are_replayed_from_the_store_after_a_restart() {
    for backend in backends() {
        let mut fed = Federation::start(backend, &["dz-247", "fr-ocl"]).await;
        let (h1, h2) = (hash(1), hash(2));
        let (status, v) = fed
            .api("dz-247")
            .post(
                "/api/v1/pdq/publish",
                &json!({"list": LIST, "add": [entry(&h1, None)]}),
            )
            .await;
        assert_eq!(status, 201, "{v}");
        fed.api("fr-ocl")
            .post(
                "/api/v1/pdq/subscribe",
                &json!({"peer": "dz-247", "list": LIST}),
            )
            .await;
        let subs = wait_for(&fed.api("fr-ocl"), "/api/v1/pdq/subscriptions", |s| {
            s[0]["applied_version"] == 1
        })
        .await;
        assert_eq!(subs[0]["applied_version"], 1, "{subs}");
        for id in ["dz-247", "fr-ocl"] {
            let i = fed.index(id);
            fed.stop_node(i).await;
            fed.start_node(i).await;
        }
        let (_, v) = fed
            .api("fr-ocl")
            .post("/api/v1/pdq/match", &json!({"pdq": [h1.clone()]}))
            .await;
        assert_eq!(
            v["results"][0]["matches"][0]["entry"], 1,
            "{backend:?}: {v}"
        );
        let (status, v) = fed
            .api("dz-247")
            .post(
                "/api/v1/pdq/publish",
                &json!({"list": LIST, "add": [entry(&h2, None)]}),
            )
            .await;
        assert_eq!((status, &v["version"]), (201, &json!(2)), "{v}");
        let lists = wait_for(&fed.api("fr-ocl"), "/api/v1/pdq/lists", |l| {
            version_of(l, LIST) == Some(2)
        })
        .await;
        assert_eq!(version_of(&lists, LIST), Some(2), "{lists}");
        fed.shutdown().await;
    }
}
