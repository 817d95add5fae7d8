//! A member floods a node with garbage: refusals are charged to the member TLS authenticated,
//! whatever the envelopes claim, and summarised (one row per peer, code and window); past its
//! refusal budget the member's batches are turned away unparsed with `429 fed.throttled` until the
//! window ends, its own node shows the throttling as its delivery error and delivers its queued
//! messages afterwards, and the other members' messages go through all along.

use std::time::{Duration, Instant};

use comity_model::{Handling, Header, MessageId, MessageKind, SCHEMA_VERSION, Timestamp};
use comity_node::{ENVELOPES_MEDIA_TYPE, FEDERATION_MESSAGES_PATH, now_ms};
use serde_json::{Value, json};

use crate::harness::{Api, Federation, backends, fast_config, note};

const WINDOW_MS: i64 = 15_000;
const BUDGET: u64 = 300;

/// A federation client holding `from`'s TLS identity, posting to `to`.
fn client_as(fed: &Federation, from: &str, to: &str) -> (reqwest::Client, String) {
    let m = &fed.members[fed.index(to)];
    let own = &fed.members[fed.index(from)];
    let tls =
        comity_node::peer_tls_config(&m.id, m.descriptor.descriptor.tls_key, &own.secrets).unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    let url = format!(
        "{}{FEDERATION_MESSAGES_PATH}",
        m.descriptor.descriptor.endpoint
    );
    (client, url)
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    lines: &[Vec<u8>],
) -> (u16, Option<String>, Value) {
    let r = client
        .post(url)
        .header("content-type", ENVELOPES_MEDIA_TYPE)
        .body(lines.join(&b'\n'))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry_after = r
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, retry_after, r.json().await.unwrap_or(Value::Null))
}

/// Garbage of three kinds, the first lines claiming to come from `claimed`: an envelope sealed
/// by the sender under another member's name, a header without an envelope, and bytes that are
/// not JSON.
fn garbage(fed: &Federation, sender: &str, claimed: &str, to: &str, lines: usize) -> Vec<Vec<u8>> {
    let s = &fed.members[fed.index(sender)];
    let recipient = &fed.members[fed.index(to)].descriptor.descriptor;
    let header = Header {
        id: MessageId::from_parts(u64::try_from(now_ms()).unwrap(), rand::random()),
        from: claimed.parse().unwrap(),
        to: to.parse().unwrap(),
        kind: MessageKind::Note,
        conversation: MessageId::from_parts(1, [1; 10]),
        in_reply_to: None,
        sent_at: Timestamp::from_unix_ms(now_ms()),
        schema: SCHEMA_VERSION,
        handling: Handling::default(),
    };
    let body = comity_model::Body::Note(comity_model::Note { text: "x".into() });
    let forged = comity_seal::seal(&s.secrets, recipient, header, &body, &mut rand::rng())
        .unwrap()
        .to_bytes();
    let claim = json!({"header": {"from": claimed, "id": "claimed-id"}}).to_string();
    (0..lines)
        .map(|i| match i % 3 {
            0 => forged.clone(),
            1 => claim.clone().into_bytes(),
            _ => b"\x00garbage".to_vec(),
        })
        .collect()
}

async fn peer_view(api: &Api, peer: &str) -> Value {
    let (status, peers) = api.get("/api/v1/peers").await;
    assert_eq!(status, 200, "{peers}");
    peers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["node"] == peer)
        .cloned()
        .unwrap()
}

async fn summaries(api: &Api) -> Vec<Value> {
    let (status, rows) = api.get("/api/v1/rejections?limit=1000").await;
    assert_eq!(status, 200, "{rows}");
    rows.as_array().unwrap().clone()
}

#[tokio::test]
async fn a_member_flooding_garbage_is_summarised_throttled_and_honest_traffic_flows() {
    let backend = *backends().last().unwrap();
    let mut config = fast_config();
    config.refusal_budget = BUDGET;
    config.refusal_window_ms = WINDOW_MS;
    let batch = config.max_batch_envelopes;
    let fed =
        Federation::start_with(backend, &["dz-247", "fr-ocl", "ma-moj"], config, |_, _| {}).await;
    let fr = fed.api("fr-ocl");
    let (client, url) = client_as(&fed, "dz-247", "fr-ocl");

    // Start at the beginning of a window, so that the throttling below outlasts the checks.
    let into = now_ms().rem_euclid(WINDOW_MS);
    tokio::time::sleep(Duration::from_millis(
        u64::try_from(WINDOW_MS - into + 200).unwrap(),
    ))
    .await;

    let oversized = garbage(&fed, "dz-247", "ma-moj", "fr-ocl", batch + 1);
    let (status, _, e) = post(&client, &url, &oversized).await;
    assert_eq!(
        (status, e["error"]["code"].as_str()),
        (413, Some("fed.batch_too_large")),
        "a batch over the limit is refused whole"
    );

    let lines = garbage(&fed, "dz-247", "ma-moj", "fr-ocl", batch);
    let mut processed = 0u64;
    let mut throttled = 0u64;
    let mut retry_after = None;
    for _ in 0..40 {
        let (status, after, answer) = post(&client, &url, &lines).await;
        match status {
            200 => {
                let results = answer["results"].as_array().unwrap();
                assert_eq!(results.len(), lines.len());
                assert!(
                    results.iter().all(|r| r["error"]["code"].is_string()),
                    "{answer}"
                );
                processed += results.len() as u64;
            }
            429 => {
                assert_eq!(answer["error"]["code"], "fed.throttled", "{answer}");
                retry_after = after;
                throttled += 1;
            }
            other => panic!("unexpected {other}: {answer}"),
        }
    }
    assert!(
        throttled > 0,
        "the flood was never throttled ({processed} lines processed)"
    );
    assert!(
        processed >= BUDGET && processed < BUDGET + 2 * batch as u64,
        "garbage is processed up to the budget, then turned away unparsed: {processed} lines"
    );
    let retry_after: u64 = retry_after
        .expect("429 carries Retry-After")
        .parse()
        .unwrap();
    assert!((1..=15).contains(&retry_after), "{retry_after}");

    // The receiving operator sees the counts and the throttling, charged to the TLS peer.
    let dz_seen = peer_view(&fr, "dz-247").await;
    assert!(
        dz_seen["refused_last_hour"].as_u64().unwrap() > processed,
        "{dz_seen}"
    );
    assert!(dz_seen["throttled_until"].is_string(), "{dz_seen}");
    let ma_seen = peer_view(&fr, "ma-moj").await;
    assert_eq!(ma_seen["refused_last_hour"], 0, "{ma_seen}");
    assert!(ma_seen["throttled_until"].is_null(), "{ma_seen}");

    let rows = summaries(&fr).await;
    assert!(
        rows.iter().all(|r| r["peer"] == "dz-247"),
        "every refusal names the TLS peer: {rows:?}"
    );
    assert!(
        rows.len() <= 6,
        "one row per code and window: {} rows {rows:?}",
        rows.len()
    );
    let counted: u64 = rows
        .iter()
        .filter(|r| r["code"] != "fed.batch_too_large")
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, processed, "every refused line is counted once");
    let forged = rows
        .iter()
        .find(|r| r["code"] == "seal.unknown_signer")
        .expect("the forged envelopes are summarised");
    assert_eq!(forged["sample"]["claimed_from"], "ma-moj", "{forged}");
    assert!(forged["sample"]["message_id"].is_string(), "{forged}");
    assert!(
        rows.iter()
            .any(|r| r["code"] == "fed.batch_too_large" && r["count"] == 1)
    );

    // Another member's messages are delivered while dz-247 is throttled.
    let ma = fed.api("ma-moj");
    let honest = ma.send("fr-ocl", "note", note("from Morocco"), None).await;
    assert_eq!(ma.settled(&honest).await["state"], "delivered");

    // dz-247's own node is turned away too: it keeps the message queued, shows why, and
    // delivers it once the window has passed.
    let dz = fed.api("dz-247");
    let id = dz.send("fr-ocl", "note", note("from Algeria"), None).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    let told = loop {
        let fr_seen = peer_view(&dz, "fr-ocl").await;
        let error = fr_seen["last_error"].as_str().unwrap_or("").to_owned();
        if error.contains("fed.throttled") || Instant::now() > deadline {
            break fr_seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        told["last_error"]
            .as_str()
            .unwrap()
            .contains("fed.throttled"),
        "the sender's operator is told: {told}"
    );
    let (_, queued) = dz.get(&format!("/api/v1/messages/{id}")).await;
    assert_eq!(queued["state"], "queued", "{queued}");
    let delivered = dz.settled(&id).await;
    assert_eq!(delivered["state"], "delivered", "{delivered}");
    let (status, got) = fr.get(&format!("/api/v1/messages/{id}")).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["body"]["text"], "from Algeria");

    // The requests turned away are summarised when their window ends.
    let deadline = Instant::now() + Duration::from_secs(60);
    let turned_away = loop {
        let n: u64 = summaries(&fr)
            .await
            .iter()
            .filter(|r| r["code"] == "fed.throttled")
            .map(|r| r["count"].as_u64().unwrap())
            .sum();
        if n > throttled || Instant::now() > deadline {
            break n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        turned_away > throttled,
        "the test's and dz-247's node's turned-away batches are counted: {turned_away}"
    );
    fed.shutdown().await;
}

/// What the node logs, kept in memory.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// The node's log grows by one line per peer, code and window, with the count, however much
/// garbage arrives (the nodes run on this test's thread, so their log is captured here).
#[tokio::test]
async fn a_flood_is_logged_once_per_peer_code_and_window() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _logging = tracing::subscriber::set_default(subscriber);
    let mut config = fast_config();
    config.refusal_window_ms = 1000;
    config.refusal_budget = 1_000_000;
    let fed = Federation::start_with(backends()[0], &["dz-247", "fr-ocl"], config, |_, _| {}).await;
    let (client, url) = client_as(&fed, "dz-247", "fr-ocl");
    let lines = garbage(&fed, "dz-247", "fr-ocl", "fr-ocl", 256);
    let first = now_ms();
    for _ in 0..8 {
        let (status, _, _) = post(&client, &url, &lines).await;
        assert_eq!(status, 200);
    }
    let windows = (now_ms() / 1000 - first / 1000 + 1) as usize;
    // Ended windows are logged as time passes, without more traffic.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    fed.shutdown().await;
    let text = log.text();
    let summaries: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("refused with"))
        .collect();
    let counted: u64 = summaries
        .iter()
        .map(|l| {
            let field = l.split(" count=").nth(1).unwrap();
            field.split(' ').next().unwrap().parse::<u64>().unwrap()
        })
        .sum();
    assert_eq!(counted, 8 * 256, "every refusal is in a count: {text}");
    assert!(
        summaries.len() <= 2 * windows,
        "one line per code and window ({windows} windows): {text}"
    );
    assert!(
        text.lines().count() <= 2 * windows + 10,
        "2,048 refusals, {} bytes of log: {text}",
        text.len()
    );
}
