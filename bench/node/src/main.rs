//! Load generator for `bench/node/run.sh`: drives a running sender node through its user API.
//!
//! usage: comity-node-bench API_URL TOKEN PEER MESSAGES CONCURRENCY [RATE_PER_S SECONDS]
//! Without a rate: sends MESSAGES as fast as CONCURRENCY clients can, waits until all are
//! delivered, prints the rate. With a rate: paces sends at RATE_PER_S for SECONDS, waits, prints
//! p50 and p99 of accept-to-receipt latency.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    async fn send(&self, to: &str, i: usize) -> String {
        let body = json!({"to": to, "kind": "note", "body": {"text": format!("benchmark message {i}: {}", "x".repeat(400))}});
        let r = self.http.post(format!("{}/api/v1/messages", self.base)).bearer_auth(&self.token).json(&body).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 202);
        let v: Value = r.json().await.unwrap();
        v["id"].as_str().unwrap().to_owned()
    }

    async fn outbox(&self, query: &str) -> Vec<Value> {
        let r = self.http.get(format!("{}/api/v1/outbox?{query}", self.base)).bearer_auth(&self.token).send().await.unwrap();
        r.json::<Vec<Value>>().await.unwrap()
    }

    async fn wait_drained(&self) {
        while !self.outbox("state=queued&limit=1").await.is_empty() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

fn ms(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    // 2026-11-28T10:00:00.123Z: time of day is enough for differences within one run.
    let t = s.get(11..23)?;
    let h: i64 = t.get(0..2)?.parse().ok()?;
    let m: i64 = t.get(3..5)?.parse().ok()?;
    let sec: i64 = t.get(6..8)?.parse().ok()?;
    let milli: i64 = t.get(9..12)?.parse().ok()?;
    Some(((h * 60 + m) * 60 + sec) * 1000 + milli)
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().collect();
    let api = Arc::new(Api { base: args[1].clone(), token: args[2].clone(), http: reqwest::Client::new() });
    let peer = args[3].clone();
    let messages: usize = args[4].parse().unwrap();
    let concurrency: usize = args[5].parse().unwrap();
    let rate: Option<f64> = args.get(6).map(|r| r.parse().unwrap());
    let seconds: f64 = args.get(7).map_or(5.0, |s| s.parse().unwrap());

    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let total = rate.map_or(messages, |r| (r * seconds) as usize);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (api, peer, next) = (api.clone(), peer.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    return ids;
                }
                if let Some(r) = rate {
                    let due = start + Duration::from_secs_f64(i as f64 / r);
                    tokio::time::sleep_until(due.into()).await;
                }
                ids.push(api.send(&peer, i).await);
            }
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    let accepted = start.elapsed();
    api.wait_drained().await;
    let done = start.elapsed();
    match rate {
        None => println!(
            "throughput: {total} messages accepted in {:.2} s, all delivered in {:.2} s: {:.0} messages/s",
            accepted.as_secs_f64(),
            done.as_secs_f64(),
            total as f64 / done.as_secs_f64()
        ),
        Some(r) => {
            let wanted: std::collections::HashSet<String> = ids.into_iter().collect();
            let rows = api.outbox(&format!("limit={}", wanted.len() + 10)).await;
            let mut lat: Vec<i64> = rows
                .iter()
                .filter(|m| wanted.contains(m["id"].as_str().unwrap_or("")))
                .filter_map(|m| Some(ms(&m["delivered_at"])? - ms(&m["created_at"])?))
                .collect();
            lat.sort();
            let p = |q: f64| lat[((lat.len() as f64 * q) as usize).min(lat.len() - 1)];
            println!(
                "latency at {r:.0} messages/s over {seconds} s: {} messages, p50 {} ms, p99 {} ms, max {} ms",
                lat.len(),
                p(0.50),
                p(0.99),
                lat.last().unwrap()
            );
        }
    }
}
