//! The node's ledger: the entries it appends for what it does, the checkpoints it signs, the
//! tiles it serves, the cosignatures its witnesses return, and inclusion proofs for users.
//!
//! Entries are committed by the store in the transaction of the state change they record; this
//! module only decides what an entry says.

use comity_ledger::entry::{Digest, Subject};
use comity_ledger::tile::{TileLevel, encode_bundle};
use comity_ledger::{
    Checkpoint, Cosigner, Entry, EntryKind, LedgerError, NoteSigner, NoteVerifier, ProofBundle,
    SignedCheckpoint, TileId, names, tile, tree,
};
use comity_model::{Header, NodeId, Timestamp};
use comity_seal::NodeSecrets;
use comity_store::{LedgerAppend, StoredCheckpoint};

use crate::{Node, NodeError, now_ms};

/// The node's keys in the ledger formats: its log key and its witness key, both its Ed25519
/// identity key under the names of `comity_ledger::names`.
pub(crate) struct LogKeys {
    pub(crate) signer: NoteSigner,
    pub(crate) cosigner: Cosigner,
}

impl LogKeys {
    pub(crate) fn new(me: &NodeId, secrets: &NodeSecrets) -> Result<Self, NodeError> {
        Ok(Self {
            signer: names::log_signer(me.as_str(), secrets.signing_key())?,
            cosigner: names::witness_cosigner(me.as_str(), secrets.signing_key())?,
        })
    }
}

/// The log verifier keys of `node`: its current signing key and retired keys still valid now.
pub(crate) fn log_verifiers(node: &Node, peer: &NodeId) -> Vec<NoteVerifier> {
    keys_of(node, peer, names::log_verifier)
}

/// The witness verifier keys of every member but this node.
pub(crate) fn witness_verifiers(node: &Node) -> Vec<NoteVerifier> {
    let members: Vec<NodeId> = node
        .trust()
        .members()
        .map(|d| d.node.clone())
        .filter(|m| m != node.id())
        .collect();
    members
        .iter()
        .flat_map(|m| keys_of(node, m, names::witness_verifier))
        .collect()
}

fn keys_of(
    node: &Node,
    peer: &NodeId,
    make: fn(&str, &ed25519_dalek::VerifyingKey) -> comity_ledger::Result<NoteVerifier>,
) -> Vec<NoteVerifier> {
    let now = Timestamp::from_unix_ms(now_ms());
    node.trust()
        .signing_keys_at(peer, now)
        .iter()
        .filter_map(|k| ed25519_dalek::VerifyingKey::from_bytes(k.as_bytes()).ok())
        .filter_map(|k| make(peer.as_str(), &k).ok())
        .collect()
}

fn sha256_digest(label: &str, digest: &[u8]) -> Digest {
    Digest {
        label: label.to_owned(),
        sha256: hex::encode(digest),
    }
}

fn subject(kind: &str, id: impl ToString) -> Subject {
    Subject {
        kind: kind.to_owned(),
        id: id.to_string(),
    }
}

pub(crate) fn to_append(entry: &Entry) -> Result<LedgerAppend, NodeError> {
    Ok(LedgerAppend {
        kind: entry.kind.as_str().to_owned(),
        time: i64::try_from(entry.time_ms).unwrap_or(i64::MAX),
        bytes: entry.to_bytes()?,
    })
}

/// `message_sent` / `message_received`: which message, with whom, and the digest of the exact
/// envelope bytes (what the receipt also signs).
pub(crate) fn message_entry(
    kind: EntryKind,
    me: &NodeId,
    header: &Header,
    envelope_digest: &[u8],
    at_ms: i64,
) -> Result<LedgerAppend, NodeError> {
    let peer = if kind == EntryKind::MessageSent {
        &header.to
    } else {
        &header.from
    };
    let mut subjects = vec![
        subject("message", header.id),
        subject("conversation", header.conversation),
        subject("node", peer),
    ];
    if let Some(parent) = header.in_reply_to {
        subjects.push(subject("in_reply_to", parent));
    }
    let entry = Entry {
        kind,
        time_ms: u64::try_from(at_ms).unwrap_or(0),
        actor: me.to_string(),
        subjects,
        digests: vec![sha256_digest("envelope", envelope_digest)],
        attrs: [("message_kind".to_owned(), header.kind.to_string())].into(),
    };
    to_append(&entry)
}

impl Node {
    pub(crate) fn log_origin(&self) -> String {
        names::log_origin(self.id().as_str())
    }

    /// Records that a user of this node read shared data (`subject`: type and id), before the
    /// data is returned: no read goes unrecorded.
    pub(crate) async fn record_access(
        &self,
        subject_kind: &str,
        subject_id: &str,
        what: &str,
    ) -> Result<(), NodeError> {
        let entry = Entry {
            kind: EntryKind::DataAccess,
            time_ms: u64::try_from(now_ms()).unwrap_or(0),
            actor: format!("{}/api", self.id()),
            subjects: vec![subject(subject_kind, subject_id)],
            digests: Vec::new(),
            attrs: [("what".to_owned(), what.to_owned())].into(),
        };
        self.inner
            .store
            .ledger_append(&[to_append(&entry)?])
            .await?;
        Ok(())
    }

    /// The latest checkpoint, signing a new one first when the log has grown. A new one is
    /// signed only while the stored tree still holds the last one signed: never a fork.
    pub(crate) async fn sign_checkpoint(&self) -> Result<StoredCheckpoint, NodeError> {
        let store = &self.inner.store;
        let size = store.ledger_size().await?;
        let latest = store.latest_checkpoint(false).await?;
        if let Some(cp) = &latest
            && cp.size >= size
        {
            return Ok(cp.clone());
        }
        if latest.is_some() {
            self.check_signed_root().await?;
        }
        let root = store.ledger_root(size).await?;
        let signed = SignedCheckpoint::sign(
            Checkpoint::new(&self.log_origin(), size, root),
            &self.inner.log_keys.signer,
        );
        store
            .save_checkpoint(size, &signed.to_text(), now_ms())
            .await?;
        let cp = store
            .checkpoint_at(size)
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("checkpoint of size {size}")))?;
        self.copy_checkpoint(&cp).await;
        Ok(cp)
    }

    /// Copies a signed checkpoint larger than the last copy to `NodeSetup::checkpoint_file`.
    /// A copy that cannot be written only weakens the next start-up check: it is logged.
    pub(crate) async fn copy_checkpoint(&self, cp: &StoredCheckpoint) {
        let Some(path) = self.inner.checkpoint_file.clone() else {
            return;
        };
        // Held while writing, so copies land in the order of their sizes.
        let mut copied = self.inner.checkpoint_copied.lock().await;
        if *copied >= cp.size {
            return;
        }
        let note = cp.note.clone();
        let written = tokio::task::spawn_blocking(move || {
            crate::startup::write_checkpoint_file(&path, &note).map_err(|e| (path, e))
        })
        .await;
        match written {
            Ok(Ok(())) => *copied = cp.size,
            Ok(Err((path, e))) => {
                tracing::warn!(
                    size = cp.size,
                    "cannot copy the checkpoint to {}: {e}",
                    path.display()
                )
            }
            Err(e) => tracing::warn!(size = cp.size, "checkpoint copy interrupted: {e}"),
        }
    }

    /// A served tile or entry bundle, if it exists in the current tree.
    pub(crate) async fn tile(&self, path: &str) -> Result<Option<(TileId, Vec<u8>)>, NodeError> {
        let id = TileId::parse_path(path)?;
        let size = self.inner.store.ledger_size().await?;
        if !id.exists_in(size) {
            return Ok(None);
        }
        let bytes = match id.level {
            TileLevel::Entries => {
                let from = id.index * tile::TILE_WIDTH;
                let entries = self
                    .inner
                    .store
                    .ledger_entries(from, from + u64::from(id.width))
                    .await?;
                encode_bundle(&entries)?
            }
            TileLevel::Hashes(_) => {
                self.inner
                    .store
                    .ledger_compute(|r| tile::tile_bytes(&id, r))
                    .await?
            }
        };
        Ok(Some((id, bytes)))
    }

    /// Keeps the cosignatures a witness returned on one of this node's checkpoints. The note
    /// must carry this log's valid signature on a checkpoint it stored; each cosignature must
    /// verify under a federation member's witness key. Returns the witnesses kept.
    pub(crate) async fn accept_cosignatures(&self, note: &[u8]) -> Result<Vec<String>, NodeError> {
        let own = self.inner.log_keys.signer.verifier().clone();
        let cp = SignedCheckpoint::open(note, &own)?;
        let store = &self.inner.store;
        let log_size = store.ledger_size().await?;
        if cp.checkpoint.size > log_size {
            return Err(LedgerError::SizeBeyondLog {
                asked: cp.checkpoint.size,
                size: log_size,
            }
            .into());
        }
        let stored = store
            .checkpoint_at(cp.checkpoint.size)
            .await?
            .ok_or_else(|| {
                NodeError::NotFound(format!(
                    "checkpoint of size {} (this node never published it)",
                    cp.checkpoint.size
                ))
            })?;
        let ours = SignedCheckpoint::open(stored.note.as_bytes(), &own)?;
        if ours.checkpoint != cp.checkpoint {
            return Err(NodeError::BadRequest(format!(
                "the cosigned checkpoint of size {} differs from the one this node signed",
                cp.checkpoint.size
            )));
        }
        let verified = cp.cosignatures(&witness_verifiers(self))?;
        if verified.is_empty() {
            return Err(NodeError::BadRequest(
                "no cosignature from a federation member's witness key".into(),
            ));
        }
        let now = now_ms();
        let mut kept = Vec::new();
        for v in &verified {
            let line = cp
                .note
                .signatures
                .iter()
                .find(|s| s.name == v.name && s.key_id == v.key_id)
                .map(|s| s.to_line());
            if let Some(line) = line {
                store
                    .add_cosignature(cp.checkpoint.size, &v.name, &line, now)
                    .await?;
                kept.push(v.name.clone());
            }
        }
        Ok(kept)
    }

    /// An inclusion proof for entry `index` against a signed checkpoint: the one of `size` if
    /// given, else the latest cosigned checkpoint (the one most recently vouched for by
    /// witnesses) if it contains the entry, else the smallest signed one that does (signing a
    /// new checkpoint if the entry is newer than all of them).
    pub(crate) async fn prove(
        &self,
        index: u64,
        size: Option<u64>,
    ) -> Result<ProofBundle, NodeError> {
        let store = &self.inner.store;
        let log_size = store.ledger_size().await?;
        if index >= log_size {
            return Err(LedgerError::IndexBeyondSize {
                index,
                size: log_size,
            }
            .into());
        }
        if let Some(asked) = size.filter(|&s| s > log_size) {
            return Err(LedgerError::SizeBeyondLog {
                asked,
                size: log_size,
            }
            .into());
        }
        let record = store
            .ledger_entry(index)
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("ledger entry {index}")))?;
        let checkpoint = match size {
            Some(size) if size <= index => {
                return Err(NodeError::BadRequest(format!(
                    "entry {index} is not in a tree of {size} entries"
                )));
            }
            Some(size) => store
                .checkpoint_at(size)
                .await?
                .ok_or_else(|| NodeError::NotFound(format!("signed checkpoint of size {size}")))?,
            None => match store.latest_checkpoint(true).await? {
                Some(cp) if cp.size > index => cp,
                _ => match store.checkpoint_covering(index + 1).await? {
                    Some(cp) => cp,
                    None => self.sign_checkpoint().await?,
                },
            },
        };
        let signed = SignedCheckpoint::parse_unverified(checkpoint.cosigned_note().as_bytes())?;
        let tree_size = checkpoint.size;
        let proof = store
            .ledger_compute(|r| tree::inclusion_proof(index, tree_size, r))
            .await?;
        Ok(ProofBundle::inclusion(&signed, index, &record.bytes, proof))
    }

    /// A consistency proof between two signed checkpoints of this log.
    pub(crate) async fn prove_consistency(
        &self,
        old: u64,
        new: u64,
    ) -> Result<ProofBundle, NodeError> {
        let store = &self.inner.store;
        let log_size = store.ledger_size().await?;
        if new > log_size {
            return Err(LedgerError::SizeBeyondLog {
                asked: new,
                size: log_size,
            }
            .into());
        }
        let get = |size: u64| async move {
            let cp = store
                .checkpoint_at(size)
                .await?
                .ok_or_else(|| NodeError::NotFound(format!("signed checkpoint of size {size}")))?;
            Ok::<_, NodeError>(SignedCheckpoint::parse_unverified(
                cp.cosigned_note().as_bytes(),
            )?)
        };
        let (old_cp, new_cp) = (get(old).await?, get(new).await?);
        let proof = store
            .ledger_compute(|r| tree::consistency_proof(old, new, r))
            .await?;
        Ok(ProofBundle::consistency(&old_cp, &new_cp, proof))
    }
}

/// Entries decoded for display; an entry that is not a v1 Comity entry is shown as absent.
pub(crate) fn decode_entry(bytes: &[u8]) -> Option<Entry> {
    Entry::parse(bytes).ok()
}
