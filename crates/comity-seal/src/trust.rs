//! The federation trust list: which nodes belong, with which keys, signed by the root.

use std::collections::{BTreeMap, BTreeSet};

use comity_model::{NodeId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::encoding::{base64_bytes, jcs, parse_canonical, tbs};
use crate::keys::sign;
use crate::{Descriptor, FederationRoot, PublicKey, SealError, SignedDescriptor, key_id};

/// Domain-separation context of trust-list signatures.
pub const TRUST_LIST_CONTEXT: &str = "comity/v1/trust-list";

/// A signing key a node used before a rotation, accepted until `not_after`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetiredKey {
    pub node: NodeId,
    pub key: PublicKey,
    pub not_after: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustList {
    pub federation: String,
    /// Increases with every list the root publishes; nodes refuse a lower serial than they hold.
    pub serial: u64,
    pub issued_at: Timestamp,
    pub members: Vec<SignedDescriptor>,
    pub retired_keys: Vec<RetiredKey>,
}

impl TrustList {
    pub fn signed_bytes(&self) -> Vec<u8> {
        tbs(TRUST_LIST_CONTEXT, &[&jcs(self)])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedTrustList {
    pub v: u32,
    pub list: TrustList,
    pub root_key: PublicKey,
    #[serde(with = "base64_bytes")]
    pub signature: [u8; 64],
}

impl SignedTrustList {
    pub fn sign(list: TrustList, root: &FederationRoot) -> SignedTrustList {
        let signature = sign(root.signing_key(), &list.signed_bytes());
        SignedTrustList {
            v: 1,
            list,
            root_key: root.public(),
            signature,
        }
    }

    /// Checks the root signature against the pinned root key, every member descriptor, and the
    /// rotation rule: a member at descriptor version > 1 carries a signature by a key that the
    /// list names as retired for that same node.
    pub fn verify(&self, pinned_root: &PublicKey) -> Result<(), SealError> {
        let bad = |m: String| Err(SealError::BadTrustList(m));
        if self.v != 1 {
            return Err(SealError::UnsupportedVersion {
                what: "trust list",
                found: self.v.into(),
            });
        }
        if self.root_key != *pinned_root {
            return bad(format!(
                "signed by root {} but this node pins root {}",
                key_id(&self.root_key),
                key_id(pinned_root)
            ));
        }
        if !pinned_root.verify(&self.list.signed_bytes(), &self.signature) {
            return bad("root signature does not verify".into());
        }
        let list = &self.list;
        if list.federation.trim().is_empty() {
            return bad("federation name is empty".into());
        }
        let mut nodes = BTreeSet::new();
        for member in &list.members {
            member.verify()?;
            let d = &member.descriptor;
            if !nodes.insert(d.node.clone()) {
                return bad(format!("{} is listed twice", d.node));
            }
            if let Some(prev) = &member.previous_key_signature {
                let retired = list
                    .retired_keys
                    .iter()
                    .any(|r| r.node == d.node && r.key == prev.key);
                if !retired {
                    return bad(format!(
                        "{} rotated from key {} which the list does not name as retired for it",
                        d.node,
                        key_id(&prev.key)
                    ));
                }
            }
        }
        for r in &list.retired_keys {
            let Some(member) = list.members.iter().find(|m| m.descriptor.node == r.node) else {
                return bad(format!(
                    "retired key {} belongs to {}, which is not a member",
                    key_id(&r.key),
                    r.node
                ));
            };
            if member.descriptor.signing_key == r.key {
                return bad(format!(
                    "{}'s current signing key is also listed as retired",
                    r.node
                ));
            }
        }
        Ok(())
    }

    pub fn to_json(&self) -> Vec<u8> {
        jcs(self)
    }

    /// Reads canonical JSON; call [`verify`](Self::verify) or [`Trust::from_verified`] next.
    pub fn from_json(bytes: &[u8]) -> Result<SignedTrustList, SealError> {
        let value = parse_canonical(bytes, "trust list").map_err(SealError::BadTrustList)?;
        let list: SignedTrustList =
            serde_json::from_value(value).map_err(|e| SealError::BadTrustList(e.to_string()))?;
        // A field left out (read as null) would give one signed trust list two spellings.
        if list.to_json() != bytes {
            return Err(SealError::BadTrustList(
                "trust list is not the encoding of its fields (a field is left out)".into(),
            ));
        }
        Ok(list)
    }
}

/// The members and keys a node accepts, built only from a verified trust list.
#[derive(Debug, Clone)]
pub struct Trust {
    federation: String,
    serial: u64,
    root: PublicKey,
    members: BTreeMap<NodeId, Descriptor>,
    retired: BTreeMap<NodeId, Vec<RetiredKey>>,
}

impl Trust {
    pub fn from_verified(
        signed: &SignedTrustList,
        pinned_root: &PublicKey,
    ) -> Result<Trust, SealError> {
        signed.verify(pinned_root)?;
        let mut retired: BTreeMap<NodeId, Vec<RetiredKey>> = BTreeMap::new();
        for r in &signed.list.retired_keys {
            retired.entry(r.node.clone()).or_default().push(r.clone());
        }
        Ok(Trust {
            federation: signed.list.federation.clone(),
            serial: signed.list.serial,
            root: signed.root_key,
            members: signed
                .list
                .members
                .iter()
                .map(|m| (m.descriptor.node.clone(), m.descriptor.clone()))
                .collect(),
            retired,
        })
    }

    pub fn federation(&self) -> &str {
        &self.federation
    }

    pub fn serial(&self) -> u64 {
        self.serial
    }

    pub fn root(&self) -> &PublicKey {
        &self.root
    }

    pub fn member(&self, node: &NodeId) -> Option<&Descriptor> {
        self.members.get(node)
    }

    pub fn members(&self) -> impl Iterator<Item = &Descriptor> {
        self.members.values()
    }

    /// The node's current signing key and its retired keys still valid at `at` (`not_after > at`).
    /// Pass the time the message was received, not the sender's claimed `sent_at`.
    pub fn signing_keys_at(&self, node: &NodeId, at: Timestamp) -> Vec<PublicKey> {
        let Some(d) = self.members.get(node) else {
            return Vec::new();
        };
        let mut keys = vec![d.signing_key];
        keys.extend(
            self.retired_keys(node)
                .filter(|r| r.not_after > at)
                .map(|r| r.key),
        );
        keys
    }

    /// Every signing key the list knows for `node`: its current key and all its retired keys,
    /// whatever their `not_after`. For checking what `node` itself signed in the past (its own
    /// checkpoints and receipts), where the time a key was retired does not matter.
    pub fn signing_keys_ever(&self, node: &NodeId) -> Vec<PublicKey> {
        let Some(d) = self.members.get(node) else {
            return Vec::new();
        };
        let mut keys = vec![d.signing_key];
        keys.extend(self.retired_keys(node).map(|r| r.key));
        keys
    }

    /// The keys to check a message from `node` signed by key id `signer` at time `at`, or why
    /// none apply: not a member, an unknown key, or a key retired before `at`.
    pub fn sender_keys(
        &self,
        node: &NodeId,
        signer: &str,
        at: Timestamp,
    ) -> Result<Vec<PublicKey>, SealError> {
        let unknown = || SealError::UnknownSigner {
            node: node.to_string(),
            signer: signer.to_owned(),
        };
        if !self.members.contains_key(node) {
            return Err(unknown());
        }
        let keys: Vec<PublicKey> = self
            .signing_keys_at(node, at)
            .into_iter()
            .filter(|k| key_id(k) == signer)
            .collect();
        if !keys.is_empty() {
            return Ok(keys);
        }
        match self.retired_keys(node).find(|r| key_id(&r.key) == signer) {
            Some(r) => Err(SealError::KeyRetired {
                node: node.to_string(),
                signer: signer.to_owned(),
                not_after: r.not_after.to_string(),
            }),
            None => Err(unknown()),
        }
    }

    fn retired_keys(&self, node: &NodeId) -> impl Iterator<Item = &RetiredKey> {
        self.retired.get(node).into_iter().flatten()
    }
}
