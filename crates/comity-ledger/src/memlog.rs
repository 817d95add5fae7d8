//! An in-memory log: the reference behaviour the node's database-backed log must match.

use crate::checkpoint::{Checkpoint, SignedCheckpoint};
use crate::error::{LedgerError, Result};
use crate::hash::{Hash, leaf_hash};
use crate::note::NoteSigner;
use crate::tile::{TileId, TileLevel, encode_bundle, tile_bytes};
use crate::tree::{self, HashReader};

/// Entries and stored hashes in memory; appends are O(log n) hash computations.
#[derive(Clone, Debug)]
pub struct MemoryLog {
    origin: String,
    entries: Vec<Vec<u8>>,
    hashes: Vec<Hash>,
}

impl MemoryLog {
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            entries: Vec::new(),
            hashes: Vec::new(),
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn size(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Appends one entry and returns its index.
    pub fn append(&mut self, entry: &[u8]) -> Result<u64> {
        if entry.len() > usize::from(u16::MAX) {
            return Err(LedgerError::EntryTooLarge(entry.len()));
        }
        let index = self.size();
        let new = tree::stored_hashes_for_leaf(index, leaf_hash(entry), self.hashes.as_slice())?;
        self.hashes.extend(new);
        self.entries.push(entry.to_vec());
        Ok(index)
    }

    /// Appends entries in one step (as the node does per transaction); returns the first index.
    pub fn append_batch<E: AsRef<[u8]>>(&mut self, entries: &[E]) -> Result<u64> {
        if let Some(e) = entries
            .iter()
            .find(|e| e.as_ref().len() > usize::from(u16::MAX))
        {
            return Err(LedgerError::EntryTooLarge(e.as_ref().len()));
        }
        let first = self.size();
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e.as_ref())).collect();
        let new = tree::stored_hashes_for_leaves(first, &leaves, self.hashes.as_slice())?;
        self.hashes.extend(new);
        self.entries
            .extend(entries.iter().map(|e| e.as_ref().to_vec()));
        Ok(first)
    }

    pub fn entry(&self, index: u64) -> Option<&[u8]> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.entries.get(i))
            .map(Vec::as_slice)
    }

    /// All stored hashes, in stored-hash index order (what a database would hold).
    pub fn stored_hashes(&self) -> &[Hash] {
        &self.hashes
    }

    pub fn root(&self) -> Result<Hash> {
        self.root_at(self.size())
    }

    pub fn root_at(&self, size: u64) -> Result<Hash> {
        self.check_size(size)?;
        tree::tree_hash(size, self)
    }

    /// Signs the current tree head; the signer's name must be the log's origin.
    pub fn checkpoint(&self, signer: &NoteSigner) -> Result<SignedCheckpoint> {
        if signer.name() != self.origin {
            return Err(LedgerError::OriginMismatch {
                got: signer.name().to_owned(),
                want: self.origin.clone(),
            });
        }
        let cp = Checkpoint::new(&self.origin, self.size(), self.root()?);
        Ok(SignedCheckpoint::sign(cp, signer))
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size(size)?;
        tree::inclusion_proof(index, size, self)
    }

    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        self.check_size(new)?;
        tree::consistency_proof(old, new, self)
    }

    /// Bytes of a hash tile or entry bundle that exists at the current size.
    pub fn tile(&self, id: &TileId) -> Result<Vec<u8>> {
        if !id.exists_in(self.size()) {
            return Err(LedgerError::TileMissing(id.path()));
        }
        match id.level {
            TileLevel::Hashes(_) => tile_bytes(id, self),
            TileLevel::Entries => {
                let start = id.index * 256;
                let end = start + u64::from(id.width);
                let slice = self
                    .entries
                    .get(start as usize..end as usize)
                    .ok_or_else(|| LedgerError::TileMissing(id.path()))?;
                encode_bundle(slice)
            }
        }
    }

    fn check_size(&self, size: u64) -> Result<()> {
        if size > self.size() {
            return Err(LedgerError::SizeBeyondLog {
                asked: size,
                size: self.size(),
            });
        }
        Ok(())
    }
}

impl HashReader for MemoryLog {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        self.hashes.as_slice().read_hashes(indexes)
    }
}
