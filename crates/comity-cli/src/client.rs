//! A client of a running node's user API (`comity msg`, `comity node status`, the demo).

use std::path::Path;

use anyhow::{Result, bail};
use serde_json::Value;

use crate::nodedir::NodeDir;

pub struct Api {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(addr: std::net::SocketAddr, token: String) -> Api {
        Api {
            base: format!("http://{addr}"),
            token,
            http: reqwest::Client::new(),
        }
    }

    /// The API of the node whose directory is `dir`.
    pub fn for_dir(dir: &Path) -> Result<Api> {
        let nd = NodeDir::new(dir);
        let config = nd.read_config()?;
        Ok(Api::new(config.api_listen, nd.api_token()?))
    }

    pub async fn get(&self, path: &str) -> Result<Value> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await;
        answer(response, &self.base).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await;
        answer(response, &self.base).await
    }

    /// Downloads a binary answer (a package), with the query string encoded.
    pub async fn get_bytes(&self, path: &str, query: &[(&str, &str)]) -> Result<Vec<u8>> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(&self.token)
            .send()
            .await;
        let response = match response {
            Ok(r) if r.status().is_success() => r,
            other => {
                answer(other, &self.base).await?;
                bail!("{} answered {path} without content", self.base)
            }
        };
        Ok(response.bytes().await?.to_vec())
    }

    /// Posts raw bytes (a file to ingest), with the query string encoded.
    pub async fn post_bytes(
        &self,
        path: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Value> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .query(query)
            .bearer_auth(&self.token)
            .body(body)
            .send()
            .await;
        answer(response, &self.base).await
    }
}

async fn answer(response: reqwest::Result<reqwest::Response>, base: &str) -> Result<Value> {
    let response = match response {
        Ok(r) => r,
        Err(e) => bail!("cannot reach the node at {base} ({e}); is `comity node serve` running?"),
    };
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(value);
    }
    let e = &value["error"];
    let mut text = format!(
        "[{}] {}",
        e["code"].as_str().unwrap_or("?"),
        e["message"].as_str().unwrap_or("?")
    );
    if let Some(problems) = e["problems"].as_array() {
        for p in problems {
            text.push_str(&format!(
                "\n  - {}: {}",
                p["field"].as_str().unwrap_or("?"),
                p["reason"].as_str().unwrap_or("?")
            ));
        }
    }
    bail!("{text}")
}
