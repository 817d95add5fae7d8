//! Signing updates and replaying them into a verified list: one version after another, each
//! chained to the digest of the one before, so a gap, a fork or a reordering is refused.

use std::collections::{BTreeMap, BTreeSet};

use comity_model::{NodeId, Timestamp};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::codec::encode_update;
use super::{EntryId, ListEntry, ListId, ListUpdate, SignedListUpdate};
use crate::PdqError;

/// Separates these signatures and digests from every other use of the publisher's key.
const DOMAIN: &[u8] = b"comity/pdq-list-update/v1\0";

/// SHA-256 of the domain and an update's canonical bytes; the next version carries it.
pub type UpdateDigest = [u8; 32];

impl ListUpdate {
    pub fn digest(&self) -> UpdateDigest {
        let mut h = Sha256::new();
        h.update(DOMAIN);
        h.update(encode_update(self));
        h.finalize().into()
    }

    /// Puts the update in canonical order and signs it with the publisher's key.
    pub fn sign(mut self, key: &SigningKey) -> Result<SignedListUpdate, PdqError> {
        self.added.sort_by_key(|e| e.id);
        self.revoked.sort_unstable();
        let dup_entry = self
            .added
            .windows(2)
            .find(|w| matches!(w, [a, b] if a.id == b.id));
        if let Some([a, _]) = dup_entry {
            return Err(entry_err(self.version, a.id, "added twice in one update"));
        }
        if let Some([a, _]) = self
            .revoked
            .windows(2)
            .find(|w| matches!(w, [a, b] if a == b))
        {
            return Err(entry_err(self.version, *a, "revoked twice in one update"));
        }
        let signature = key.sign(&signed_message(&self)).to_bytes();
        Ok(SignedListUpdate {
            update: self,
            signature,
        })
    }
}

impl SignedListUpdate {
    pub fn verify(&self, publisher_key: &VerifyingKey) -> Result<(), PdqError> {
        let signature = Signature::from_bytes(&self.signature);
        publisher_key
            .verify_strict(&signed_message(&self.update), &signature)
            .map_err(|_| PdqError::ListSignature {
                list: self.update.list.to_string(),
                version: self.update.version,
            })
    }
}

fn signed_message(update: &ListUpdate) -> Vec<u8> {
    let mut m = DOMAIN.to_vec();
    m.extend_from_slice(&update.digest());
    m
}

fn entry_err(version: u64, entry: EntryId, reason: &str) -> PdqError {
    PdqError::ListEntry {
        version,
        entry,
        reason: reason.to_owned(),
    }
}

/// A list as verified so far: every version from 1 to [`HashList::version`] applied in order.
#[derive(Debug, Clone)]
pub struct HashList {
    id: ListId,
    publisher: NodeId,
    /// `digests[n - 1]` is the digest of version n.
    digests: Vec<UpdateDigest>,
    issued_at: Timestamp,
    entries: BTreeMap<EntryId, ListEntry>,
    revoked: BTreeSet<EntryId>,
}

impl HashList {
    /// Starts a list from its first version.
    pub fn from_first(
        first: &SignedListUpdate,
        publisher_key: &VerifyingKey,
    ) -> Result<Self, PdqError> {
        let u = &first.update;
        if u.version != 1 {
            return Err(PdqError::ListGap {
                list: u.list.to_string(),
                have: 0,
                got: u.version,
            });
        }
        let mut list = Self {
            id: u.list.clone(),
            publisher: u.publisher.clone(),
            digests: Vec::new(),
            issued_at: u.issued_at,
            entries: BTreeMap::new(),
            revoked: BTreeSet::new(),
        };
        list.apply(first, publisher_key)?;
        Ok(list)
    }

    /// Verifies a whole history, oldest first.
    pub fn replay(
        updates: &[SignedListUpdate],
        publisher_key: &VerifyingKey,
    ) -> Result<Self, PdqError> {
        let (first, rest) = updates.split_first().ok_or_else(|| PdqError::ListField {
            field: "list",
            reason: "no updates: a list starts with version 1".into(),
        })?;
        let mut list = Self::from_first(first, publisher_key)?;
        for u in rest {
            list.apply(u, publisher_key)?;
        }
        Ok(list)
    }

    /// Applies the next version. Returns `Ok(false)` for a version already applied with the same
    /// digest (a harmless redelivery), an error for anything else out of sequence.
    pub fn apply(
        &mut self,
        signed: &SignedListUpdate,
        publisher_key: &VerifyingKey,
    ) -> Result<bool, PdqError> {
        let u = &signed.update;
        let list = self.id.to_string();
        if u.list != self.id {
            return Err(PdqError::ListMismatch {
                want: list,
                got: u.list.to_string(),
            });
        }
        if u.publisher != self.publisher {
            return Err(PdqError::ListField {
                field: "publisher",
                reason: format!(
                    "list {list} is published by {}, not {}",
                    self.publisher, u.publisher
                ),
            });
        }
        signed.verify(publisher_key)?;
        let have = self.version();
        let digest = u.digest();
        if u.version <= have {
            let known = u
                .version
                .checked_sub(1)
                .and_then(|i| self.digests.get(i as usize));
            return match known {
                Some(d) if *d == digest && u.version == have => Ok(false),
                Some(d) if *d != digest => Err(PdqError::ListFork {
                    list,
                    version: u.version,
                }),
                _ => Err(PdqError::ListStale {
                    list,
                    have,
                    got: u.version,
                }),
            };
        }
        if u.version != have + 1 {
            return Err(PdqError::ListGap {
                list,
                have,
                got: u.version,
            });
        }
        let expected_previous = self.digests.last().copied().unwrap_or([0; 32]);
        if u.previous != expected_previous {
            return Err(PdqError::ListChain {
                list,
                version: u.version,
            });
        }
        if have > 0 && u.issued_at < self.issued_at {
            return Err(PdqError::ListField {
                field: "issued_at",
                reason: format!("version {} is dated before version {have}", u.version),
            });
        }
        self.check_changes(u)?;
        for e in &u.added {
            self.entries.insert(e.id, e.clone());
        }
        self.revoked.extend(u.revoked.iter().copied());
        self.digests.push(digest);
        self.issued_at = u.issued_at;
        Ok(true)
    }

    fn check_changes(&self, u: &ListUpdate) -> Result<(), PdqError> {
        for e in &u.added {
            if self.entries.contains_key(&e.id) {
                return Err(entry_err(u.version, e.id, "id already used in this list"));
            }
            if e.pdq.count_ones() == 0 {
                return Err(entry_err(
                    u.version,
                    e.id,
                    "all-zero PDQ hash (the reference's 'no hash')",
                ));
            }
        }
        for id in &u.revoked {
            if !self.entries.contains_key(id) && !u.added.iter().any(|e| e.id == *id) {
                return Err(entry_err(
                    u.version,
                    *id,
                    "revokes an entry the list does not have",
                ));
            }
            if self.revoked.contains(id) {
                return Err(entry_err(u.version, *id, "already revoked"));
            }
        }
        Ok(())
    }

    pub fn id(&self) -> &ListId {
        &self.id
    }

    pub fn publisher(&self) -> &NodeId {
        &self.publisher
    }

    /// 0 only transiently; a constructed list has at least version 1.
    pub fn version(&self) -> u64 {
        self.digests.len() as u64
    }

    pub fn head_digest(&self) -> UpdateDigest {
        self.digests.last().copied().unwrap_or([0; 32])
    }

    pub fn entry(&self, id: EntryId) -> Option<&ListEntry> {
        self.entries.get(&id)
    }

    pub fn is_live(&self, id: EntryId) -> bool {
        self.entries.contains_key(&id) && !self.revoked.contains(&id)
    }

    /// Entries not revoked, in id order.
    pub fn live_entries(&self) -> impl Iterator<Item = &ListEntry> {
        self.entries
            .values()
            .filter(|e| !self.revoked.contains(&e.id))
    }

    /// The next update's skeleton: version, chain digest and the id after the highest used.
    pub fn next_update(&self, issued_at: Timestamp) -> ListUpdate {
        ListUpdate {
            list: self.id.clone(),
            publisher: self.publisher.clone(),
            version: self.version() + 1,
            previous: self.head_digest(),
            issued_at,
            added: Vec::new(),
            revoked: Vec::new(),
        }
    }

    pub fn next_entry_id(&self) -> EntryId {
        self.entries.keys().next_back().map_or(1, |id| id + 1)
    }
}
