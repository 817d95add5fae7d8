use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use comity_law::LawPacks;
use comity_model::NodeId;
use comity_seal::{NodeSecrets, PublicKey, SignedDescriptor, SignedTrustList, Trust};
use comity_store::{LedgerCheck, Store, StoreIdentity};
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use crate::ledger::LogKeys;
use crate::outbound::{Pending, run_writer};
use crate::{NodeConfig, NodeError, delivery, serve, witness};

/// How long a stopping node lets delivery end its workers before cutting them off.
const DELIVERY_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Milliseconds since the Unix epoch, from the system clock.
pub fn now_ms() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    since
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Everything a node needs to start; the binary reads it from the node directory.
pub struct NodeSetup {
    pub config: NodeConfig,
    pub secrets: NodeSecrets,
    pub descriptor: SignedDescriptor,
    pub trust_list: SignedTrustList,
    pub federation_root: PublicKey,
    pub store: Store,
    /// Where peers reach this node (HTTPS).
    pub federation_listener: TcpListener,
    /// Where this node's users reach it (HTTP; bind it to loopback).
    pub api_listener: TcpListener,
    /// The law packs the pre-flight of requests asks.
    pub law: Arc<LawPacks>,
    /// The evidence vault's directory (encrypted blobs and staging).
    pub evidence_dir: std::path::PathBuf,
    /// Where the node keeps a copy of the latest checkpoint it signed, outside the database: at
    /// start the stored log must still hold it, so a database emptied, replaced or rolled back
    /// under an identity that has history is refused. `None` keeps no copy.
    pub checkpoint_file: Option<std::path::PathBuf>,
}

/// A handle on a node's state, shared by its servers and workers.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Shared>,
}

pub(crate) struct Shared {
    pub(crate) me: NodeId,
    pub(crate) config: NodeConfig,
    pub(crate) secrets: NodeSecrets,
    pub(crate) descriptor: SignedDescriptor,
    pub(crate) trust: Trust,
    pub(crate) store: Store,
    pub(crate) writer: mpsc::Sender<Pending>,
    /// Wakes the delivery loop when new messages are queued.
    pub(crate) wake: Notify,
    /// Wakes the evidence puller when an offer is accepted.
    pub(crate) transfers_wake: Notify,
    /// Identifies this process in delivery leases.
    pub(crate) holder: String,
    pub(crate) clients: Mutex<HashMap<NodeId, (PublicKey, reqwest::Client)>>,
    pub(crate) log_keys: LogKeys,
    pub(crate) delivering: Mutex<HashSet<String>>,
    pub(crate) hash_lists: crate::hashlists::Sharing,
    pub(crate) workflows: crate::requests::Workflows,
    pub(crate) vault: Arc<comity_evidence::Vault>,
    /// Where packages are written before they are sent.
    pub(crate) evidence_exports: std::path::PathBuf,
    /// The signed trust list the node started with, put in evidence packages.
    pub(crate) trust_list: SignedTrustList,
    /// The bytes of request bodies held at once, on both listeners.
    pub(crate) bodies: crate::body::BodyBudget,
    /// The connection caps in force, and the descriptor limit they were fitted to.
    pub(crate) caps: (crate::limits::Caps, Option<u64>),
    /// Peers' refusals in the current window, for throttling and summaries.
    pub(crate) refusals: crate::refusals::Refusals,
    /// Where the latest signed checkpoint is copied (`NodeSetup::checkpoint_file`), and the
    /// size of the copy there.
    pub(crate) checkpoint_file: Option<std::path::PathBuf>,
    pub(crate) checkpoint_copied: tokio::sync::Mutex<u64>,
}

impl Node {
    pub fn id(&self) -> &NodeId {
        &self.inner.me
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn descriptor(&self) -> &SignedDescriptor {
        &self.inner.descriptor
    }

    pub fn config(&self) -> &NodeConfig {
        &self.inner.config
    }

    /// The members and keys this node accepts (from the trust list it was started with).
    pub fn trust(&self) -> &Trust {
        &self.inner.trust
    }
}

/// Everything that must hold before the node serves or signs: its descriptor is the one of its
/// secrets, the database is its own, and the stored log holds every tree it signed (checked
/// against the latest checkpoint in the database and the copy beside it; hash rows are rebuilt
/// only when the entries rebuild those trees). Returns the identity to record once started and
/// the size of the checkpoint copy beside the database.
async fn check_before_serving(
    setup: &NodeSetup,
    trust: &Trust,
) -> Result<(StoreIdentity, u64), NodeError> {
    let me = &setup.descriptor.descriptor.node;
    crate::startup::check_keys(&setup.descriptor.descriptor, &setup.secrets)?;
    let identity =
        crate::startup::check_store_identity(&setup.store, &setup.descriptor, trust, now_ms())
            .await?;
    let verifiers = crate::startup::own_verifiers(me, trust);
    let (anchors, copied) =
        crate::startup::anchors(&setup.store, &verifiers, setup.checkpoint_file.as_deref()).await?;
    let recheck = setup.config.integrity_start_entries;
    match setup.store.ledger_check(&anchors, recheck).await? {
        LedgerCheck::Consistent {
            size,
            rehashed_from,
        } => tracing::info!(
            size,
            rehashed_from,
            signed = anchors.iter().map(|a| a.size).max().unwrap_or(0),
            "ledger verified against the checkpoints this node signed"
        ),
        LedgerCheck::Repaired { size, detail } => {
            tracing::warn!(size, "ledger hashes rebuilt from its entries: {detail}")
        }
    }
    Ok((identity, copied))
}

/// A started node: its addresses, and the way to stop it.
pub struct RunningNode {
    pub node: Node,
    pub federation_addr: SocketAddr,
    pub api_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    delivery: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningNode {
    /// Starts the node's servers, its outbox writer and its delivery loop.
    pub async fn start(setup: NodeSetup) -> Result<RunningNode, NodeError> {
        crate::tls::install_default_provider();
        setup.config.check()?;
        let limits = setup.config.limits.clone();
        limits.validate(setup.config.max_message_bytes)?;
        let descriptors = crate::limits::descriptor_limit();
        let caps = limits.caps(descriptors)?;
        if caps != limits.caps(None)? {
            tracing::warn!(
                descriptors = ?descriptors,
                reserved = limits.reserved_descriptors,
                api = caps.api,
                pending_handshakes = caps.pending,
                peers = caps.peers,
                per_member = caps.per_member,
                "connection caps lowered to fit the descriptor limit (raise it with ulimit -n or LimitNOFILE)"
            );
        }
        let trust = Trust::from_verified(&setup.trust_list, &setup.federation_root)?;
        setup.descriptor.verify()?;
        let me = setup.descriptor.descriptor.node.clone();
        if trust.member(&me).is_none() {
            return Err(NodeError::UnknownNode(me.to_string()));
        }
        let federation_addr = setup
            .federation_listener
            .local_addr()
            .map_err(|e| NodeError::Listen(e.to_string()))?;
        let api_addr = setup
            .api_listener
            .local_addr()
            .map_err(|e| NodeError::Listen(e.to_string()))?;
        let (identity, copied) = check_before_serving(&setup, &trust).await?;
        let member_tls_keys = trust.members().map(|d| d.tls_key).collect();
        let tls = crate::tls::server_config(&setup.secrets, member_tls_keys)?;
        let members = trust
            .members()
            .map(|d| (d.node.clone(), d.tls_key))
            .collect();
        let log_keys = LogKeys::new(&me, &setup.secrets)?;
        let vault = Arc::new(
            comity_evidence::Vault::local(
                &setup.evidence_dir,
                comity_evidence::WrapKey::from_node_secrets(&setup.secrets),
            )?
            .with_chunk_size(setup.config.evidence_chunk_size)?,
        );
        let evidence_exports = crate::evidence_export::exports_dir(&setup.evidence_dir)?;
        let removed = vault.clean_temporary().await?;
        if removed > 0 {
            tracing::info!(removed, "leftovers of interrupted evidence ingests removed");
        }
        let hash_lists = crate::hashlists::Sharing::load(&setup.store, &trust).await?;
        let workflows = crate::requests::Workflows::new(setup.law, &setup.config.supervisor)?;
        let (writer_tx, writer_rx) = mpsc::channel(4096);
        let (shutdown, shutdown_rx) = watch::channel(false);
        let refusals = crate::refusals::Refusals::new(&setup.config);
        let node = Node {
            inner: Arc::new(Shared {
                me,
                config: setup.config,
                secrets: setup.secrets,
                descriptor: setup.descriptor,
                trust,
                store: setup.store,
                writer: writer_tx,
                wake: Notify::new(),
                transfers_wake: Notify::new(),
                holder: format!(
                    "{}-{}",
                    std::process::id(),
                    hex::encode(rand::random::<[u8; 6]>())
                ),
                clients: Mutex::new(HashMap::new()),
                log_keys,
                delivering: Mutex::new(HashSet::new()),
                hash_lists,
                workflows,
                vault,
                evidence_exports,
                trust_list: setup.trust_list,
                bodies: crate::body::BodyBudget::new(&limits),
                caps: (caps, descriptors),
                refusals,
                checkpoint_file: setup.checkpoint_file,
                checkpoint_copied: tokio::sync::Mutex::new(copied),
            }),
        };
        let found = node.check_newest().await?;
        if found > 0 {
            tracing::error!(
                found,
                "stored content contradicts what was signed for it: see `comity ledger alarms`"
            );
        }
        node.inner.store.record_identity(&identity).await?;
        if let Some(cp) = node.inner.store.latest_checkpoint(false).await? {
            node.copy_checkpoint(&cp).await;
        }
        let freed = node.inner.store.free_orphaned_leases().await?;
        if freed > 0 {
            tracing::info!(
                freed,
                "delivery leases left by a process that stopped without giving them up are freed"
            );
        }
        let open = node.load_schedule().await?;
        tracing::info!(open, "request deadlines loaded");
        let delivery = tokio::spawn(delivery::run(node.clone(), shutdown_rx.clone()));
        let tasks = vec![
            tokio::spawn(run_writer(node.inner.store.clone(), writer_rx)),
            tokio::spawn(witness::run(node.clone(), shutdown_rx.clone())),
            tokio::spawn(crate::integrity_walk::run(
                node.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(crate::hashlists::run_puller(
                node.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(crate::requests::run(node.clone(), shutdown_rx.clone())),
            tokio::spawn(crate::evidence_pull::run(node.clone(), shutdown_rx.clone())),
            tokio::spawn(crate::refusals::run(node.clone(), shutdown_rx.clone())),
            tokio::spawn(crate::evidence_integrity::migrate_vault(
                node.clone(),
                shutdown_rx.clone(),
            )),
            tokio::spawn(serve::federation(
                serve::Listening {
                    listener: setup.federation_listener,
                    router: crate::federation::router(node.clone()),
                    limits: limits.clone(),
                    caps,
                    shutdown: shutdown_rx.clone(),
                },
                Arc::new(tls),
                members,
            )),
            tokio::spawn(serve::plain(serve::Listening {
                listener: setup.api_listener,
                router: crate::api::router(node.clone()),
                limits,
                caps,
                shutdown: shutdown_rx,
            })),
        ];
        Ok(RunningNode {
            node,
            federation_addr,
            api_addr,
            shutdown,
            delivery,
            tasks,
        })
    }

    /// Stops accepting work and waits for the servers and workers to finish.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        // Delivery stops its workers itself; a worker cut off mid-batch would keep its lease.
        if tokio::time::timeout(DELIVERY_GRACE, &mut self.delivery)
            .await
            .is_err()
        {
            self.delivery.abort();
        }
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        self.node.close_windows(true).await;
        let inner = &self.node.inner;
        if let Err(e) = inner.store.release_leases(&inner.holder).await {
            tracing::warn!(error = %e, "delivery leases not released; they lapse on their own");
        }
        inner.store.close().await;
    }
}
