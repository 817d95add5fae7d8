//! A `comity node serve` process attacked through its listeners: strangers holding idle and
//! slow connections and a member trickling request heads, under a low descriptor limit, while
//! an honest member delivers and the user API answers; and concurrent large bodies, which stay
//! within the configured body budget.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use comity_model::NodeId;
use comity_seal::{NodeSecrets, PublicKey, SignedDescriptor};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::rustls::ClientConfig;

use crate::cli::{Node, PASSPHRASE, Served, federation, serve};

/// What the test needs of a node's identity: who it is, where peers reach it, its TLS key.
struct Identity {
    id: NodeId,
    endpoint: String,
    tls_key: PublicKey,
}

fn identity(node: &Node) -> Identity {
    let bytes = std::fs::read(node.dir.join("descriptor.json")).unwrap();
    let d = SignedDescriptor::from_json(&bytes).unwrap().descriptor;
    Identity {
        id: d.node,
        endpoint: d.endpoint,
        tls_key: d.tls_key,
    }
}

fn secrets(node: &Node) -> NodeSecrets {
    let bytes = std::fs::read(node.dir.join("secrets.json")).unwrap();
    NodeSecrets::decrypt(&bytes, PASSPHRASE).unwrap()
}

/// The TLS set-up of member `from` talking to `to`.
fn member_tls(from: &NodeSecrets, to: &Identity) -> ClientConfig {
    comity_node::peer_tls_config(&to.id, to.tls_key, from).unwrap()
}

fn member_client(from: &NodeSecrets, to: &Identity) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_backend_preconfigured(member_tls(from, to))
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// Adds a `[limits]` table to a node's `node.toml`.
fn set_limits(node: &Node, limits: &[(&str, i64)]) {
    let path = node.dir.join("node.toml");
    let mut config: toml::Table = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let table = limits
        .iter()
        .map(|(k, v)| ((*k).to_owned(), toml::Value::Integer(*v)))
        .collect();
    config.insert("limits".into(), toml::Value::Table(table));
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
}

/// Starts `comity node serve` under a descriptor limit of `nofile` (soft and hard) and waits
/// until its API answers.
fn serve_limited(node: &Node, nofile: u32) -> Served {
    let child: Child = Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -n {nofile} && exec \"$0\" node serve --dir \"$1\""),
            env!("CARGO_BIN_EXE_comity"),
            node.dir.to_str().unwrap(),
        ])
        .env("COMITY_PASSPHRASE", PASSPHRASE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = Served(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(node.api.trim_start_matches("http://")).is_err() {
        assert!(Instant::now() < deadline, "node did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    served
}

/// CPU time the process has used, from the scheduler's accounting of each of its threads.
fn cpu_time(pid: u32) -> Duration {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    let nanos = tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

/// A field of /proc/PID/status, in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
        .unwrap()
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

async fn get(api: &Node, path: &str) -> (u16, Value) {
    // A fresh connection each time: a person's client that finds the node, not a pooled one.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let r = client
        .get(format!("{}{path}", api.api))
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{path}: the user API did not answer: {e}"));
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn send_note(api: &Node, to: &str, text: &str) -> String {
    let r = reqwest::Client::new()
        .post(format!("{}/api/v1/messages", api.api))
        .bearer_auth(&api.token)
        .json(&json!({"to": to, "kind": "note", "body": {"text": text}}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    let v: Value = r.json().await.unwrap();
    v["id"].as_str().unwrap().to_owned()
}

async fn delivered(api: &Node, id: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let (_, m) = get(api, &format!("/api/v1/messages/{id}")).await;
        if m["state"] == "delivered" {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

/// Keeps `count` connections to `addr` open that never send a byte, opening new ones as the
/// node closes old ones, until `stop`. Counts the connections opened.
async fn idle_connections(
    addr: String,
    count: usize,
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicUsize>,
) {
    let mut held: Vec<TcpStream> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        held.retain(|c| {
            let mut probe = [0u8; 1];
            match c.try_read(&mut probe) {
                Ok(0) => false,
                Ok(_) => true,
                Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
            }
        });
        while held.len() < count {
            match TcpStream::connect(&addr).await {
                Ok(c) => {
                    held.push(c);
                    opened.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => break,
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Keeps `count` connections sending a request head one byte every `every`, through `connect`
/// (plain TCP or a member's TLS), reopening those the node closes, until `stop`.
async fn slow_heads<S, F, Fut>(
    connect: F,
    count: usize,
    every: Duration,
    stop: Arc<AtomicBool>,
    opened: Arc<AtomicUsize>,
) where
    S: tokio::io::AsyncWrite + Unpin,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<S>>,
{
    const HEAD: &[u8] = b"GET /federation/v1/descriptor HTTP/1.1\r\nhost: x\r\nx-slow: ";
    let mut held: Vec<(S, usize)> = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let mut kept = Vec::with_capacity(held.len());
        for (mut c, sent) in held.drain(..) {
            let byte = HEAD.get(sent).copied().unwrap_or(b'a');
            if c.write_all(&[byte]).await.is_ok() && c.flush().await.is_ok() {
                kept.push((c, sent + 1));
            }
        }
        held = kept;
        while held.len() < count && !stop.load(Ordering::Relaxed) {
            match connect().await {
                Some(c) => {
                    held.push((c, 0));
                    opened.fetch_add(1, Ordering::Relaxed);
                }
                None => break,
            }
        }
        tokio::time::sleep(every).await;
    }
}

fn host_port(endpoint: &str) -> String {
    endpoint
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_connections_do_not_take_the_node_off_line() {
    comity_node::install_default_provider();
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(
        base.path(),
        &[("dz-247", "DZ"), ("fr-ocl", "FR"), ("nl-np", "NL")],
    );
    let (dz, fr, nl) = (&nodes[0], &nodes[1], &nodes[2]);
    let _dz = serve(dz);
    let fr_served = serve_limited(fr, 256);
    let pid = fr_served.0.id();
    let (_, info) = get(fr, "/api/v1/node").await;
    let listeners = &info["listeners"];
    assert_eq!(listeners["descriptor_limit"], 256, "{info}");
    let caps: u64 = [
        "max_api_connections",
        "max_pending_handshakes",
        "max_peer_connections",
    ]
    .iter()
    .map(|k| listeners[k].as_u64().unwrap())
    .sum();
    assert!(
        caps <= 256 - 128,
        "the caps fit the descriptors left: {listeners}"
    );
    let first = send_note(dz, "fr-ocl", "before").await;
    assert!(
        delivered(dz, &first).await,
        "delivery works before the attack"
    );

    let target = identity(fr);
    let federation_addr = host_port(&target.endpoint);
    let api_addr = fr.api.trim_start_matches("http://").to_owned();
    let hostile = Arc::new(member_tls(&secrets(nl), &target));
    let stop = Arc::new(AtomicBool::new(false));
    let (idle_opened, api_opened, member_opened) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
    );
    let mut attack = tokio::task::JoinSet::new();
    attack.spawn(idle_connections(
        federation_addr.clone(),
        300,
        stop.clone(),
        idle_opened.clone(),
    ));
    let addr = api_addr.clone();
    attack.spawn(slow_heads(
        move || {
            let addr = addr.clone();
            async move { TcpStream::connect(addr).await.ok() }
        },
        100,
        Duration::from_secs(1),
        stop.clone(),
        api_opened.clone(),
    ));
    let addr = federation_addr.clone();
    attack.spawn(slow_heads(
        move || {
            let (addr, tls) = (addr.clone(), hostile.clone());
            async move {
                let tcp = TcpStream::connect(addr).await.ok()?;
                let name =
                    tokio_rustls::rustls::pki_types::ServerName::try_from("comity-node").ok()?;
                tokio_rustls::TlsConnector::from(tls)
                    .connect(name, tcp)
                    .await
                    .ok()
            }
        },
        300,
        Duration::from_secs(2),
        stop.clone(),
        member_opened.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(3)).await;

    // While the attack holds, over more than a header timeout: the honest member delivers,
    // the user API answers, and the node does not spin.
    let cpu_before = cpu_time(pid);
    let window = Instant::now();
    let mut rounds = 0;
    while window.elapsed() < Duration::from_secs(15) || rounds < 3 {
        let id = send_note(dz, "fr-ocl", &format!("during the attack {rounds}")).await;
        assert!(
            delivered(dz, &id).await,
            "{id} not delivered during the attack"
        );
        let (status, info) = get(fr, "/api/v1/node").await;
        assert_eq!(status, 200, "{info}");
        let descriptors = open_descriptors(pid);
        assert!(descriptors < 256, "{descriptors} descriptors open");
        rounds += 1;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let cpu = cpu_time(pid) - cpu_before;
    let elapsed = window.elapsed();
    stop.store(true, Ordering::Relaxed);
    while attack.join_next().await.is_some() {}
    let opened = (
        idle_opened.load(Ordering::Relaxed),
        api_opened.load(Ordering::Relaxed),
        member_opened.load(Ordering::Relaxed),
    );
    eprintln!(
        "attack: {opened:?} connections opened (idle, slow API heads, slow member heads); node CPU {cpu:?} over {elapsed:?}, {rounds} rounds"
    );
    assert!(
        opened.0 >= 300 && opened.1 >= 100 && opened.2 >= 300,
        "{opened:?}"
    );
    assert!(
        cpu < elapsed / 2,
        "the node used {cpu:?} of CPU in {elapsed:?}: it spins instead of waiting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_large_bodies_stay_within_the_body_budget() {
    comity_node::install_default_provider();
    const MIB: usize = 1024 * 1024;
    const BUDGET: usize = 32 * MIB;
    const BATCH: usize = 16 * MIB;
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(
        base.path(),
        &[("dz-247", "DZ"), ("fr-ocl", "FR"), ("nl-np", "NL")],
    );
    let (dz, fr, nl) = (&nodes[0], &nodes[1], &nodes[2]);
    set_limits(
        fr,
        &[
            ("max_batch_bytes", BATCH as i64),
            ("body_budget_bytes", BUDGET as i64),
            ("body_budget_wait_ms", 1000),
        ],
    );
    let fr_served = serve(fr);
    let pid = fr_served.0.id();
    let target = identity(fr);
    let url = format!(
        "{}{}",
        target.endpoint,
        comity_node::FEDERATION_MESSAGES_PATH
    );
    let senders = [
        member_client(&secrets(dz), &target),
        member_client(&secrets(nl), &target),
    ];
    // A streamed body has no length of its own: `length` declares it.
    let post = |client: &reqwest::Client, body: reqwest::Body, length: Option<usize>| {
        let mut request = client.post(&url).header(
            reqwest::header::CONTENT_TYPE,
            comity_node::ENVELOPES_MEDIA_TYPE,
        );
        if let Some(n) = length {
            request = request.header(reqwest::header::CONTENT_LENGTH, n);
        }
        request.body(body).send()
    };
    // Warm up, then reset the peak (Linux: 5 > clear_refs) so that the peak measured after
    // is the bodies', not start-up's.
    let r = post(&senders[0], b"x\n".to_vec().into(), None)
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = status_kb(pid, "VmHWM:");

    // Sixteen bodies just under the batch limit, eight from each member, all at once. Each is
    // one line over the envelope limit, refused at once, so what counts is holding them.
    let body = bytes::Bytes::from(vec![b'x'; BATCH - MIB]);
    let mut sending = tokio::task::JoinSet::new();
    for i in 0..16 {
        let request = post(&senders[i % 2], body.clone().into(), None);
        sending.spawn(async move {
            let r = request.await.unwrap();
            let status = r.status().as_u16();
            let retry = r.headers().get(reqwest::header::RETRY_AFTER).is_some();
            (
                status,
                retry,
                r.json::<Value>().await.unwrap_or(Value::Null),
            )
        });
    }
    let mut answered = (0, 0);
    while let Some(answer) = sending.join_next().await {
        match answer.unwrap() {
            (200, _, v) => {
                assert_eq!(v["results"][0]["error"]["code"], "fed.too_large", "{v}");
                answered.0 += 1;
            }
            (503, true, v) => {
                assert_eq!(v["error"]["code"], "node.busy", "{v}");
                answered.1 += 1;
            }
            other => panic!("neither taken nor node.busy with Retry-After: {other:?}"),
        }
    }
    let after = status_kb(pid, "VmHWM:");
    let grown_mib = (after.saturating_sub(before) / 1024) as usize;
    eprintln!(
        "16 bodies of {} MiB: {} taken, {} busy; VmHWM {before} kB -> {after} kB",
        (BATCH - MIB) / MIB,
        answered.0,
        answered.1
    );
    assert!(answered.0 >= 2, "{answered:?}");
    assert!(
        grown_mib < 3 * BUDGET / MIB,
        "peak memory grew by {grown_mib} MiB for a body budget of {} MiB",
        BUDGET / MIB
    );

    // A member holding its share with a body it does not finish: its next body waits and is
    // answered node.busy, while another member's body is taken.
    let stalled = futures_util::stream::once(async {
        Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x"))
    })
    .chain(futures_util::stream::pending());
    let held = tokio::spawn(post(
        &senders[0],
        reqwest::Body::wrap_stream(stalled),
        Some(BATCH - MIB),
    ));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let small = bytes::Bytes::from(vec![b'x'; 2 * MIB]);
    let r = post(&senders[0], small.clone().into(), None).await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    assert!(r.headers().get(reqwest::header::RETRY_AFTER).is_some());
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "node.busy", "{v}");
    let r = post(&senders[1], small.clone().into(), None).await.unwrap();
    assert_eq!(r.status().as_u16(), 200, "another member is served");
    held.abort();

    // Over the batch limit: 413 in JSON, with the limit, before the body is read.
    let never = futures_util::stream::pending::<Result<bytes::Bytes, std::io::Error>>();
    let r = post(
        &senders[1],
        reqwest::Body::wrap_stream(never),
        Some(BATCH + 1),
    )
    .await
    .unwrap();
    assert_eq!(r.status().as_u16(), 413);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "http.too_large", "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&BATCH.to_string()),
        "{v}"
    );
}
