//! A federation of nodes started in-process, each with its own database and listeners.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use comity_model::{Jurisdiction, NodeId, Role, Timestamp};
use comity_node::{NodeConfig, NodeSetup, RunningNode};
use comity_seal::{
    Descriptor, FederationRoot, KdfParams, NodeSecrets, SignedDescriptor, SignedTrustList,
    TrustList,
};
use comity_store::Store;
use serde_json::{Value, json};
use tokio::net::TcpListener;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite always; PostgreSQL when `COMITY_TEST_POSTGRES` names a server (required when `CI` is set).
pub fn backends() -> Vec<Backend> {
    match std::env::var("COMITY_TEST_POSTGRES") {
        Ok(url) if !url.is_empty() => vec![Backend::Sqlite, Backend::Postgres],
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI must test PostgreSQL: set COMITY_TEST_POSTGRES")
        }
        _ => vec![Backend::Sqlite],
    }
}

async fn database(backend: Backend, dir: &std::path::Path, node: &str) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite:{}", dir.join(format!("{node}.db")).display()),
        Backend::Postgres => {
            static N: AtomicU32 = AtomicU32::new(0);
            let admin_url = std::env::var("COMITY_TEST_POSTGRES").unwrap();
            let name = format!(
                "comity_node_{}_{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            );
            Store::create_postgres_database(&admin_url, &name)
                .await
                .unwrap()
        }
    }
}

/// Clones secrets through their encrypted form (they are deliberately not `Clone`).
pub fn copy_secrets(s: &NodeSecrets) -> NodeSecrets {
    let bytes = s.encrypt("copy", KdfParams::TEST, &mut rand::rng());
    NodeSecrets::decrypt(&bytes, "copy").unwrap()
}

/// Yields the given seed bytes: lets a test know the private key inside a `NodeSecrets`.
struct SeedRng([u8; 128], usize);

impl comity_seal::rand_core::TryRng for SeedRng {
    type Error = std::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            *b = self.0.get(self.1).copied().unwrap_or(0);
            self.1 += 1;
        }
        Ok(())
    }
}

impl comity_seal::rand_core::TryCryptoRng for SeedRng {}

pub struct Member {
    pub id: NodeId,
    /// The seed bytes of `secrets`; the first 32 are the Ed25519 signing key (docs/protocol.md).
    pub seeds: [u8; 128],
    pub secrets: NodeSecrets,
    pub descriptor: SignedDescriptor,
    pub database_url: String,
    pub federation: Option<TcpListener>,
    pub api_addr: std::net::SocketAddr,
}

pub struct Federation {
    pub root: FederationRoot,
    pub trust_list: SignedTrustList,
    pub members: Vec<Member>,
    pub running: Vec<Option<RunningNode>>,
    pub config: NodeConfig,
    pub backend: Backend,
    _dir: tempfile::TempDir,
}

pub const TOKEN: &str = "test-token";

/// The shipped law packs, loaded once for every node of the test binary.
pub fn law_packs() -> std::sync::Arc<comity_law::LawPacks> {
    static PACKS: std::sync::OnceLock<std::sync::Arc<comity_law::LawPacks>> =
        std::sync::OnceLock::new();
    PACKS
        .get_or_init(|| std::sync::Arc::new(comity_law::LawPacks::shipped().unwrap()))
        .clone()
}

/// A config that retries fast, so tests of outages finish quickly.
pub fn fast_config() -> NodeConfig {
    let mut c = NodeConfig::with_token(TOKEN.into());
    c.retry_base_ms = 50;
    c.retry_max_ms = 400;
    c.tick_ms = 50;
    c.checkpoint_interval_ms = 50;
    c.witness_interval_ms = 100;
    c.hash_list_poll_ms = 100;
    c.integrity_interval_ms = 200;
    c
}

impl Federation {
    /// Creates the members (ids such as `dz-247`) and starts them all.
    pub async fn start(backend: Backend, ids: &[&str]) -> Federation {
        Federation::start_with(backend, ids, fast_config(), |_, _| {}).await
    }

    /// As `start`, letting the caller change the trust list's descriptors before it is signed.
    pub async fn start_with(
        backend: Backend,
        ids: &[&str],
        config: NodeConfig,
        edit: impl FnOnce(&[Member], &mut Vec<SignedDescriptor>),
    ) -> Federation {
        let dir = tempfile::tempdir().unwrap();
        let root = FederationRoot::generate(&mut rand::rng());
        let mut members = Vec::new();
        for id in ids {
            let seeds: [u8; 128] = std::array::from_fn(|_| rand::random());
            let secrets = NodeSecrets::generate(&mut SeedRng(seeds, 0));
            let federation = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = federation.local_addr().unwrap().port();
            let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let jurisdiction: Jurisdiction = id[..2].to_uppercase().parse().unwrap();
            let d = Descriptor::for_secrets(
                &secrets,
                id.parse().unwrap(),
                jurisdiction,
                vec![Role::TwentyFourSeven],
                format!("{id} test node"),
                format!("https://127.0.0.1:{port}"),
                Timestamp::from_unix_ms(comity_node::now_ms()),
            );
            let descriptor = SignedDescriptor::sign(d, &secrets, None);
            members.push(Member {
                id: id.parse().unwrap(),
                seeds,
                secrets,
                descriptor,
                database_url: database(backend, dir.path(), id).await,
                federation: Some(federation),
                api_addr: api.local_addr().unwrap(),
            });
        }
        let mut descriptors: Vec<SignedDescriptor> =
            members.iter().map(|m| m.descriptor.clone()).collect();
        edit(&members, &mut descriptors);
        let list = TrustList {
            federation: "test".into(),
            serial: 1,
            issued_at: Timestamp::from_unix_ms(comity_node::now_ms()),
            members: descriptors,
            retired_keys: vec![],
        };
        let trust_list = SignedTrustList::sign(list, &root);
        let mut fed = Federation {
            root,
            trust_list,
            running: members.iter().map(|_| None).collect(),
            members,

            config,
            backend,
            _dir: dir,
        };
        for i in 0..ids.len() {
            fed.start_node(i).await;
        }
        fed
    }

    pub fn index(&self, id: &str) -> usize {
        self.members
            .iter()
            .position(|m| m.id.as_str() == id)
            .unwrap()
    }

    /// Starts (or restarts) member `i` on its own database and addresses.
    pub async fn start_node(&mut self, i: usize) {
        self.try_start_node(i).await.unwrap();
    }

    /// Starts member `i` as `start_node` does, with the descriptor and secrets given (its own
    /// when `None`), returning why it refused to start.
    pub async fn try_start_node(&mut self, i: usize) -> Result<(), comity_node::NodeError> {
        self.try_start_as(i, None).await
    }

    pub async fn try_start_as(
        &mut self,
        i: usize,
        identity: Option<(SignedDescriptor, &NodeSecrets)>,
    ) -> Result<(), comity_node::NodeError> {
        let checkpoint_file = self.checkpoint_file(i);
        let m = &mut self.members[i];
        let federation_listener = match m.federation.take() {
            Some(l) => l,
            None => TcpListener::bind(
                m.descriptor
                    .descriptor
                    .endpoint
                    .trim_start_matches("https://"),
            )
            .await
            .unwrap(),
        };
        let (descriptor, secrets) = match identity {
            Some((d, s)) => (d, copy_secrets(s)),
            None => (m.descriptor.clone(), copy_secrets(&m.secrets)),
        };
        let setup = NodeSetup {
            config: self.config.clone(),
            secrets,
            descriptor,
            trust_list: self.trust_list.clone(),
            federation_root: self.root.public(),
            store: Store::open(&m.database_url).await.unwrap(),
            federation_listener,
            api_listener: TcpListener::bind(m.api_addr).await.unwrap(),
            law: law_packs(),
            evidence_dir: self._dir.path().join(format!("{}-evidence", m.id)),
            checkpoint_file: Some(checkpoint_file),
        };
        self.running[i] = Some(RunningNode::start(setup).await?);
        Ok(())
    }

    /// Where member `i` keeps the copy of the latest checkpoint it signed.
    pub fn checkpoint_file(&self, i: usize) -> std::path::PathBuf {
        self._dir
            .path()
            .join(format!("{}-ledger-checkpoint", self.members[i].id))
    }

    /// Removes member `i`'s copy of its latest checkpoint: with `replace_database`, a node that
    /// rewrote its history and covered its tracks.
    pub fn forget_checkpoint_copy(&self, i: usize) {
        std::fs::remove_file(self.checkpoint_file(i)).unwrap();
    }

    /// Points member `i` at a new, empty database: a node that lost or rewrote its history.
    pub async fn replace_database(&mut self, i: usize, generation: u32) {
        let name = format!("{}-{generation}", self.members[i].id);
        self.members[i].database_url = database(self.backend, self._dir.path(), &name).await;
    }

    pub async fn stop_node(&mut self, i: usize) {
        if let Some(n) = self.running[i].take() {
            n.shutdown().await;
        }
    }

    pub fn node(&self, id: &str) -> &RunningNode {
        self.running[self.index(id)]
            .as_ref()
            .expect("node is running")
    }

    /// Where member `id` keeps its vault (`objects/blobs/<sha256>`, `staging/`).
    pub fn evidence_dir(&self, id: &str) -> std::path::PathBuf {
        self._dir.path().join(format!("{id}-evidence"))
    }

    pub fn api(&self, id: &str) -> Api {
        Api {
            base: format!("http://{}", self.members[self.index(id)].api_addr),
            http: reqwest::Client::new(),
        }
    }

    pub async fn shutdown(mut self) {
        for i in 0..self.running.len() {
            self.stop_node(i).await;
        }
    }
}

pub struct Api {
    pub base: String,
    http: reqwest::Client,
}

impl Api {
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// The raw answer (status and bytes), for content and packages.
    pub async fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.bytes().await.unwrap().to_vec())
    }

    /// Posts raw bytes (an evidence upload) and returns the JSON answer.
    pub async fn post_bytes(&self, path: &str, body: Vec<u8>) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .json(body)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    /// Sends and returns the new message id, failing the test if the node refuses.
    pub async fn send(
        &self,
        to: &str,
        kind: &str,
        body: Value,
        in_reply_to: Option<&str>,
    ) -> String {
        let (status, v) = self
            .post(
                "/api/v1/messages",
                &json!({"to": to, "kind": kind, "body": body, "in_reply_to": in_reply_to}),
            )
            .await;
        assert_eq!(status, 202, "{v}");
        v["id"].as_str().unwrap().to_owned()
    }

    /// Waits until the message leaves the `queued` state and returns it.
    pub async fn settled(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let (_, m) = self.get(&format!("/api/v1/messages/{id}")).await;
            if m["state"] != "queued" || Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn preservation_request() -> Value {
    json!({
        "requesting_authority": "Algeria 24/7 point of contact",
        "case_reference": "DZ-2026-1",
        "offences": ["budapest.art2.illegal_access"],
        "facts": "Bank accounts accessed with stolen credentials.",
        "data": "Connection logs of mailbox x@example.fr",
        "relation_to_offence": "Credentials were sent to this mailbox.",
        "custodian_or_location": "Example Mail SAS, France",
        "necessity": "Logs are deleted after 30 days.",
        "mla_to_follow": true,
        "preservation_days": 90
    })
}

pub fn note(text: &str) -> Value {
    json!({ "text": text })
}
