//! What a node checks before it serves or signs anything: that its descriptor is the one of its
//! secrets, that the database belongs to it, and that the stored log still holds the trees it
//! signed (its latest checkpoint in the database and the copy it keeps beside the database).
//! Each refusal names what is wrong and what to do.

use std::path::Path;

use comity_ledger::{NoteVerifier, SignedCheckpoint, names};
use comity_model::NodeId;
use comity_seal::{Descriptor, NodeSecrets, SignedDescriptor, Trust, key_id};
use comity_store::{LedgerAnchor, Store, StoreIdentity};

use crate::NodeError;

/// The descriptor the node starts with must describe the keys it holds: another node's
/// descriptor would have it serve under that node's name with its own keys.
pub(crate) fn check_keys(d: &Descriptor, secrets: &NodeSecrets) -> Result<(), NodeError> {
    let mut wrong = Vec::new();
    if d.signing_key != secrets.signing_public() {
        wrong.push("signing key");
    }
    if d.tls_key != secrets.tls_public() {
        wrong.push("TLS key");
    }
    let hpke = d
        .hpke_keys
        .iter()
        .filter_map(|k| k.known_suite().map(|s| (s, &k.key)))
        .any(|(suite, key)| *key != secrets.hpke_public_for(suite));
    if hpke {
        wrong.push("HPKE keys");
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(NodeError::IdentityMismatch(format!(
        "descriptor.json describes node {} (signing key {}) but its {} are not those of the \
         secrets this node holds (signing key {}): it is another node's descriptor, or another \
         node's secrets; put back this node's own descriptor.json and secrets.json",
        d.node,
        key_id(&d.signing_key),
        wrong.join(", "),
        key_id(&secrets.signing_public())
    )))
}

/// The database must belong to this node: recorded at its first start, updated on a key
/// rotation the trust list vouches for. Returns the identity to record once every check passed.
pub(crate) async fn check_store_identity(
    store: &Store,
    signed: &SignedDescriptor,
    trust: &Trust,
    now: i64,
) -> Result<StoreIdentity, NodeError> {
    let d = &signed.descriptor;
    let current = StoreIdentity {
        node: d.node.to_string(),
        signing_key: d.signing_key.to_string(),
        descriptor_version: i64::from(d.version),
        recorded_at: now,
    };
    let Some(recorded) = store.identity().await? else {
        return Ok(current);
    };
    if recorded.node != current.node {
        return Err(NodeError::ForeignStore(format!(
            "the database belongs to node {} but this node is {}: point database_url at this \
             node's own database (or restore it from a backup)",
            recorded.node, current.node
        )));
    }
    if recorded.signing_key == current.signing_key {
        return Ok(StoreIdentity {
            recorded_at: recorded.recorded_at,
            ..current
        });
    }
    let previous = signed
        .previous_key_signature
        .as_ref()
        .map(|p| p.key.to_string());
    let known = trust
        .signing_keys_ever(&d.node)
        .iter()
        .any(|k| k.to_string() == recorded.signing_key);
    if current.descriptor_version > recorded.descriptor_version
        && (known || previous.as_deref() == Some(recorded.signing_key.as_str()))
    {
        return Ok(current);
    }
    Err(NodeError::ForeignStore(format!(
        "the database of {} was last run with signing key {} (descriptor version {}), which \
         is not a previous key of descriptor version {} nor one the trust list names: it is \
         another installation's database; point database_url at this node's own database",
        recorded.node,
        short_key(&recorded.signing_key),
        recorded.descriptor_version,
        current.descriptor_version
    )))
}

fn short_key(text: &str) -> String {
    text.parse::<comity_seal::PublicKey>()
        .map(|k| key_id(&k))
        .unwrap_or_else(|_| text.to_owned())
}

/// The log keys of every signing key the trust list knows for this node: its checkpoints were
/// signed with whichever it held then.
pub(crate) fn own_verifiers(me: &NodeId, trust: &Trust) -> Vec<NoteVerifier> {
    trust
        .signing_keys_ever(me)
        .iter()
        .filter_map(|k| ed25519_dalek::VerifyingKey::from_bytes(k.as_bytes()).ok())
        .filter_map(|k| names::log_verifier(me.as_str(), &k).ok())
        .collect()
}

/// A checkpoint of this node's own log, signed by one of its keys.
pub(crate) fn open_own(
    bytes: &[u8],
    verifiers: &[NoteVerifier],
    what: &str,
) -> Result<SignedCheckpoint, NodeError> {
    let mut last = None;
    for v in verifiers {
        match SignedCheckpoint::open(bytes, v) {
            Ok(cp) => return Ok(cp),
            Err(e) => last = Some(e),
        }
    }
    let why = last.map_or_else(|| "no key to check it with".to_owned(), |e| e.to_string());
    Err(NodeError::CheckpointInvalid(format!(
        "{what} is not a checkpoint of this node's log signed by its key ({why}): it was altered \
         or belongs to another node; restore it from a backup"
    )))
}

/// The trees the stored log must hold: the latest checkpoint the database keeps and the copy in
/// `file` (which survives a database emptied, replaced or rolled back), each verified. Also
/// returns the size of the copy (0 without one).
pub(crate) async fn anchors(
    store: &Store,
    verifiers: &[NoteVerifier],
    file: Option<&Path>,
) -> Result<(Vec<LedgerAnchor>, u64), NodeError> {
    let mut anchors = Vec::new();
    if let Some(cp) = store.latest_checkpoint(false).await? {
        let what = format!("the latest checkpoint in the database (size {})", cp.size);
        let signed = open_own(cp.note.as_bytes(), verifiers, &what)?;
        if signed.checkpoint.size != cp.size {
            return Err(NodeError::CheckpointInvalid(format!(
                "{what} says size {}: the database was altered; restore it from a backup",
                signed.checkpoint.size
            )));
        }
        anchors.push(anchor(&signed));
    }
    let mut copied = 0;
    if let Some(path) = file {
        match std::fs::read(path) {
            Ok(bytes) => {
                let what = format!("{}", path.display());
                let cp = open_own(&bytes, verifiers, &what)?;
                copied = cp.checkpoint.size;
                anchors.push(anchor(&cp));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(NodeError::CheckpointInvalid(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        }
    }
    Ok((anchors, copied))
}

fn anchor(cp: &SignedCheckpoint) -> LedgerAnchor {
    LedgerAnchor {
        size: cp.checkpoint.size,
        root: cp.checkpoint.root,
    }
}

/// Replaces `path` with `note` so that a crash leaves the old or the new file, never half of
/// one: written beside it, flushed, then renamed over it.
pub(crate) fn write_checkpoint_file(path: &Path, note: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(note.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}
