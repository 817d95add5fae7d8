//! Load generator for `bench/workflow/live.sh`: full mutual-assistance lifecycles between two
//! running nodes, driven through their user APIs as officers' clients do, against the plain
//! message rate of the same two nodes measured first in the same run.
//!
//! usage: comity-workflow-live-bench REQUESTING_API REQUESTING_TOKEN EXECUTING_API
//!        EXECUTING_TOKEN EXECUTING_ID CONTENT_JSON COUNT CONCURRENCY
//!
//! A lifecycle: the requesting node opens the request (pre-flight, store, seal, send); once the
//! executing node holds it, that node acknowledges, accepts and returns the results (three
//! transitions, each stored and sent); it ends when the requesting node holds the request in
//! `results_returned`. Four sealed messages, each replayed by the other side before its receipt.

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
    async fn post(&self, path: &str, body: &Value) -> Value {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{path}: {status} {v}");
        v
    }

    /// The state of request `id` on this node, without recording a data access (`/allowed`).
    async fn state(&self, id: &str) -> Option<String> {
        let r = self
            .http
            .get(format!("{}/api/v1/requests/{id}/allowed", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        if !r.status().is_success() {
            return None;
        }
        let v: Value = r.json().await.unwrap();
        v["state"].as_str().map(str::to_owned)
    }

    async fn wait_state(&self, id: &str, state: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.state(id).await.as_deref() != Some(state) {
            assert!(
                Instant::now() < deadline,
                "request {id} never reached {state}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    async fn queued(&self) -> bool {
        let r = self
            .http
            .get(format!("{}/api/v1/outbox?state=queued&limit=1", self.base))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        !r.json::<Vec<Value>>().await.unwrap().is_empty()
    }
}

fn mla(to: &str, content: &Value, i: usize) -> Value {
    json!({
        "to": to,
        "body": {"kind": "mutual_assistance", "body": {
            "case": {
                "requesting_authority": "Public Prosecutor of Algiers",
                "case_reference": format!("DZ-BENCH-{i}"),
                "offences": ["illegal_access", "computer_fraud"],
                "facts": "Servers in France were used to divert the payments of Algerian customers."
            },
            "measure": "stored_data",
            "data": "Connection logs of the servers, 1-20 November 2026",
            "custodian_or_location": "Hosting provider, Roubaix",
            "period_from": null, "period_to": null,
            "procedure": "Certified copy with its SHA-256",
            "preservation": null
        }},
        "content": content,
        "conditions": {"owner": "dz-moj", "confidential": true,
            "purposes": [format!("case DZ-BENCH-{i}")], "onward": "consent_required"},
        "override_reason": "benchmark: sent against the pre-flight's finding, reciprocity offered"
    })
}

async fn lifecycle(dz: &Api, fr: &Api, to: &str, content: &Value, i: usize) -> Duration {
    let start = Instant::now();
    let opened = dz.post("/api/v1/requests", &mla(to, content, i)).await;
    let id = opened["id"].as_str().unwrap().to_owned();
    fr.wait_state(&id, "sent").await;
    let act = format!("/api/v1/requests/{id}/actions");
    for action in [
        json!({"action": "acknowledge", "reference": format!("FR-{i}")}),
        json!({"action": "accept", "conditions": ["use limited to the case"]}),
        json!({"action": "return_results", "summary": "logs, SHA-256 listed", "use_conditions": null}),
    ] {
        fr.post(
            &act,
            &json!({"role": "central-authority", "action": action}),
        )
        .await;
    }
    dz.wait_state(&id, "results_returned").await;
    start.elapsed()
}

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let a: Vec<String> = std::env::args().collect();
    let http = reqwest::Client::new();
    let dz = Arc::new(Api {
        base: a[1].clone(),
        token: a[2].clone(),
        http: http.clone(),
    });
    let fr = Arc::new(Api {
        base: a[3].clone(),
        token: a[4].clone(),
        http,
    });
    let to = a[5].clone();
    let content: Arc<Value> = Arc::new(serde_json::from_str(&a[6]).unwrap());
    let count: usize = a[7].parse().unwrap();
    let concurrency: usize = a[8].parse().unwrap();

    // Reference: plain notes between the same two nodes, sent as fast as the clients can, the
    // clock stopped when the last verified receipt is stored.
    let notes = count * 4;
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (dz, to, next) = (dz.clone(), to.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= notes {
                    return;
                }
                let body = json!({"to": to, "kind": "note",
                    "body": {"text": format!("reference message {i}: {}", "x".repeat(400))}});
                dz.post("/api/v1/messages", &body).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    while dz.queued().await {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let reference = notes as f64 / start.elapsed().as_secs_f64();
    println!(
        "reference: {notes} notes delivered in {:.2} s: {reference:.0} messages/s",
        start.elapsed().as_secs_f64()
    );

    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (dz, fr, to, content, next) = (
            dz.clone(),
            fr.clone(),
            to.clone(),
            content.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= count {
                    return took;
                }
                took.push(lifecycle(&dz, &fr, &to, &content, i).await);
            }
        }));
    }
    let mut took = Vec::new();
    for t in tasks {
        took.extend(t.await.unwrap());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let rate = count as f64 / elapsed;
    took.sort();
    let p = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)].as_millis();
    println!(
        "lifecycles: {count} from opening to results returned in {elapsed:.2} s: {rate:.1} /s ({:.0} messages/s); each p50 {} ms, p99 {} ms",
        rate * 4.0,
        p(0.5),
        p(0.99)
    );
    println!(
        "ratio: lifecycle messages / plain messages = {:.2} (1.00 would mean the workflow costs nothing beyond its 4 messages)",
        rate * 4.0 / reference
    );
}
