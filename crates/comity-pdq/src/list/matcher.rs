//! Local matching against every verified list a node subscribes to. Queries never leave the node;
//! a match names the contributor and series so the investigator can ask through the normal channel.

use std::collections::{BTreeMap, HashMap};

use comity_model::NodeId;
use ed25519_dalek::VerifyingKey;

use super::{Category, EntryId, HashList, ListEntry, ListId, SeriesId, SignedListUpdate};
use crate::{Dihedral, DihedralHashes, HashIndex, PdqError, PdqHash};

/// How a picture matched an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// PDQ within the radius; `variant` is the rotation or mirror of the query that matched.
    Pdq {
        distance: u32,
        variant: Dihedral,
    },
    Sha256,
    Md5,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListMatch {
    pub list: ListId,
    pub entry: EntryId,
    pub contributor: NodeId,
    pub series: Option<SeriesId>,
    pub category: Category,
    pub victim_identified: bool,
    pub kind: MatchKind,
}

/// Lists plus one PDQ index over all their entries and exact-hash maps, kept up to date as updates
/// arrive. Revoked entries stay in the index and are filtered out when matching.
#[derive(Debug, Default)]
pub struct Matcher {
    lists: BTreeMap<ListId, HashList>,
    /// Index ids are positions in this table.
    refs: Vec<(ListId, EntryId)>,
    index: HashIndex,
    sha256: HashMap<[u8; 32], Vec<u32>>,
    md5: HashMap<[u8; 16], Vec<u32>>,
}

impl Matcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a verified list (replacing none: a list id may be added once).
    pub fn add_list(&mut self, list: HashList) -> Result<(), PdqError> {
        if self.lists.contains_key(list.id()) {
            return Err(PdqError::ListField {
                field: "list",
                reason: format!("list {} is already loaded", list.id()),
            });
        }
        let entries: Vec<ListEntry> = list.live_entries().cloned().collect();
        let id = list.id().clone();
        self.lists.insert(id.clone(), list);
        self.index_entries(&id, &entries)
    }

    /// Verifies and applies the next update of a loaded list, indexing what it adds.
    pub fn apply(
        &mut self,
        update: &SignedListUpdate,
        publisher_key: &VerifyingKey,
    ) -> Result<bool, PdqError> {
        let id = update.update.list.clone();
        let list = self.lists.get_mut(&id).ok_or_else(|| PdqError::ListField {
            field: "list",
            reason: format!("list {id} is not loaded; start it from version 1"),
        })?;
        let applied = list.apply(update, publisher_key)?;
        if applied {
            self.index_entries(&id, &update.update.added)?;
        }
        Ok(applied)
    }

    fn index_entries(&mut self, list: &ListId, entries: &[ListEntry]) -> Result<(), PdqError> {
        for e in entries {
            let pos = u32::try_from(self.refs.len())
                .map_err(|_| PdqError::IndexFull(self.refs.len() as u64))?;
            self.index.insert(e.pdq, u64::from(pos))?;
            self.refs.push((list.clone(), e.id));
            if let Some(d) = e.sha256 {
                self.sha256.entry(d).or_default().push(pos);
            }
            if let Some(d) = e.md5 {
                self.md5.entry(d).or_default().push(pos);
            }
        }
        Ok(())
    }

    pub fn lists(&self) -> impl Iterator<Item = &HashList> {
        self.lists.values()
    }

    pub fn indexed_hashes(&self) -> usize {
        self.index.len()
    }

    fn live(&self, pos: u64, kind: MatchKind) -> Option<ListMatch> {
        let (list_id, entry_id) = self.refs.get(usize::try_from(pos).ok()?)?;
        let list = self.lists.get(list_id)?;
        if !list.is_live(*entry_id) {
            return None;
        }
        let e = list.entry(*entry_id)?;
        Some(ListMatch {
            list: list_id.clone(),
            entry: e.id,
            contributor: e.contributor.clone(),
            series: e.series.clone(),
            category: e.category.clone(),
            victim_identified: e.victim_identified,
            kind,
        })
    }

    /// Live entries within `radius` of one hash, nearest first.
    pub fn match_pdq(&self, hash: &PdqHash, radius: u32) -> Vec<ListMatch> {
        self.index
            .search(hash, radius)
            .into_iter()
            .filter_map(|m| {
                self.live(
                    m.id,
                    MatchKind::Pdq {
                        distance: m.distance,
                        variant: Dihedral::Original,
                    },
                )
            })
            .collect()
    }

    /// Matches a picture in all eight orientations; each entry is reported once, at its nearest.
    pub fn match_dihedral(&self, hashes: &DihedralHashes, radius: u32) -> Vec<ListMatch> {
        let mut best: BTreeMap<u64, (u32, Dihedral)> = BTreeMap::new();
        for (variant, hash) in Dihedral::ALL.iter().zip(&hashes.hashes) {
            for m in self.index.search(hash, radius) {
                let slot = best.entry(m.id).or_insert((m.distance, *variant));
                if m.distance < slot.0 {
                    *slot = (m.distance, *variant);
                }
            }
        }
        let mut out: Vec<ListMatch> = best
            .into_iter()
            .filter_map(|(pos, (distance, variant))| {
                self.live(pos, MatchKind::Pdq { distance, variant })
            })
            .collect();
        out.sort_by_key(|m| match m.kind {
            MatchKind::Pdq { distance, .. } => distance,
            _ => 0,
        });
        out
    }

    pub fn match_sha256(&self, digest: &[u8; 32]) -> Vec<ListMatch> {
        self.sha256
            .get(digest)
            .into_iter()
            .flatten()
            .filter_map(|pos| self.live(u64::from(*pos), MatchKind::Sha256))
            .collect()
    }

    pub fn match_md5(&self, digest: &[u8; 16]) -> Vec<ListMatch> {
        self.md5
            .get(digest)
            .into_iter()
            .flatten()
            .filter_map(|pos| self.live(u64::from(*pos), MatchKind::Md5))
            .collect()
    }
}
