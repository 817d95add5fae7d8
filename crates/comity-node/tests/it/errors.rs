//! Every error of both listeners is JSON with a stable code: a table of bad requests
//! (`tests/data/bad_requests.toml`) walked against a running node, and ledger indexes beyond
//! the log answered as not found (`404` with a ledger code) rather than as a corrupt store.

use serde::Deserialize;
use serde_json::Value;

use crate::harness::{Federation, TOKEN, backends, fast_config, note};

#[derive(Deserialize)]
struct Table {
    case: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    what: String,
    listener: String,
    #[serde(default = "yes")]
    token: bool,
    method: String,
    path: String,
    #[serde(rename = "type")]
    content_type: Option<String>,
    body: Option<String>,
    body_bytes: Option<usize>,
    status: u16,
    code: Option<String>,
    message: Option<String>,
}

fn yes() -> bool {
    true
}

/// The limits the table's sizes are written against.
fn small_limits() -> comity_node::NodeConfig {
    let mut config = fast_config();
    config.max_message_bytes = 32 * 1024;
    config.limits.max_api_body_bytes = 65_536;
    config.limits.max_batch_bytes = 262_144;
    config.limits.body_budget_bytes = 1 << 20;
    config
}

/// A client of `to`'s federation listener, authenticated as member `from`.
pub fn member_client(fed: &Federation, from: &str, to: &str) -> (reqwest::Client, String) {
    let to = &fed.members[fed.index(to)];
    let from = &fed.members[fed.index(from)];
    let tls = comity_node::peer_tls_config(&to.id, to.descriptor.descriptor.tls_key, &from.secrets)
        .unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .build()
        .unwrap();
    (client, to.descriptor.descriptor.endpoint.clone())
}

/// What is wrong with an answer, if anything.
fn judge(case: &Case, status: u16, media: &str, text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let code = v["error"]["code"].as_str().unwrap_or("");
    let message = v["error"]["message"].as_str().unwrap_or("");
    let wrong = if !media.starts_with("application/json") {
        "not JSON".to_owned()
    } else if code.is_empty() || message.is_empty() {
        "no error code and message".to_owned()
    } else if status != case.status {
        format!("status {status}, expected {}", case.status)
    } else if case.code.as_deref().is_some_and(|c| c != code) {
        format!(
            "code {code}, expected {}",
            case.code.as_deref().unwrap_or("")
        )
    } else if case
        .message
        .as_deref()
        .is_some_and(|m| !message.contains(m))
    {
        format!("message lacks {:?}", case.message.as_deref().unwrap_or(""))
    } else {
        return None;
    };
    Some(format!(
        "{}: {} {} answered {status} {media:?} {text:?}: {wrong}",
        case.what, case.method, case.path
    ))
}

#[tokio::test]
async fn every_bad_request_is_answered_in_json_with_a_code() {
    let fed = Federation::start_with(
        backends()[0],
        &["dz-247", "fr-ocl"],
        small_limits(),
        |_, _| {},
    )
    .await;
    let dz = fed.api("dz-247");
    let id = dz.send("fr-ocl", "note", note("hello"), None).await;
    assert_eq!(dz.settled(&id).await["state"], "delivered");

    let table: Table = toml::from_str(include_str!("../data/bad_requests.toml")).unwrap();
    let api = reqwest::Client::new();
    let (member, endpoint) = member_client(&fed, "dz-247", "fr-ocl");
    let mut wrong = Vec::new();
    for case in &table.case {
        let (client, base) = match case.listener.as_str() {
            "api" => (&api, dz.base.clone()),
            "federation" => (&member, endpoint.clone()),
            other => panic!("{}: unknown listener {other}", case.what),
        };
        let method = reqwest::Method::from_bytes(case.method.as_bytes()).unwrap();
        let mut request = client.request(method, format!("{base}{}", case.path));
        if case.listener == "api" && case.token {
            request = request.bearer_auth(TOKEN);
        }
        if let Some(t) = &case.content_type {
            request = request.header(reqwest::header::CONTENT_TYPE, t);
        }
        if let Some(n) = case.body_bytes {
            request = request.body(vec![b'x'; n]);
        } else if let Some(body) = &case.body {
            request = request.body(body.clone());
        }
        let r = request.send().await.unwrap();
        let status = r.status().as_u16();
        let media = r
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = r.text().await.unwrap_or_default();
        wrong.extend(judge(case, status, &media, &text));
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    fed.shutdown().await;
}

#[tokio::test]
async fn ledger_indexes_beyond_the_log_are_not_found_rather_than_a_corrupt_store() {
    let fed = Federation::start(backends()[0], &["dz-247", "fr-ocl"]).await;
    let dz = fed.api("dz-247");
    let id = dz.send("fr-ocl", "note", note("hello"), None).await;
    assert_eq!(dz.settled(&id).await["state"], "delivered");
    let (_, ledger) = dz.get("/api/v1/ledger").await;
    let size = ledger["size"].as_u64().unwrap();
    assert!(size > 0);

    let cases = [
        (
            format!("/api/v1/ledger/proof/{}", u64::MAX),
            "ledger.index_beyond_size",
        ),
        (
            format!("/api/v1/ledger/proof/{size}"),
            "ledger.index_beyond_size",
        ),
        (
            format!("/api/v1/ledger/proof/0?size={}", u64::MAX),
            "ledger.size_beyond_log",
        ),
        (
            format!(
                "/api/v1/ledger/consistency?old=1&new={}",
                i64::MAX as u64 + 1
            ),
            "ledger.size_beyond_log",
        ),
    ];
    for (path, code) in cases {
        let (status, e) = dz.get(&path).await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (404, Some(code)),
            "{path}: {e}"
        );
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains(&size.to_string()),
            "the message says how large the log is: {e}"
        );
    }
    let (status, proof) = dz.get(&format!("/api/v1/ledger/proof/{}", size - 1)).await;
    assert_eq!(status, 200, "the last entry is still proved: {proof}");
    fed.shutdown().await;
}

/// A route that refuses before reading its body (an upload under a case name the custody record
/// cannot take) still has its answer reach the sender: the node reads and drops the rest of the
/// body behind the answer instead of closing on unread bytes, which the kernel would turn into
/// a reset that can overtake the answer.
#[tokio::test]
async fn an_upload_refused_before_it_is_read_gets_its_answer() {
    let fed = Federation::start(backends()[0], &["dz-247"]).await;
    let dz = fed.api("dz-247");
    for _ in 0..50 {
        let (status, e) = dz
            .post_bytes("/api/v1/evidence?case=bad%20case&name=x", vec![7; 300_000])
            .await;
        assert_eq!(
            (status, e["error"]["code"].as_str()),
            (400, Some("evidence.event_format")),
            "{e}"
        );
    }
    fed.shutdown().await;
}
