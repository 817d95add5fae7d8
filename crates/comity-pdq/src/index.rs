//! Exact radius search over PDQ hashes by multi-index hashing.
//!
//! The 256 bits are cut into 16 chunks of 16 bits. If two hashes differ in at most `r` bits, then
//! by the pigeonhole principle some chunk differs in at most `r / 16` bits, so probing, in each
//! chunk's table, every 16-bit value within `r / 16` of the query's chunk finds every hash within
//! `r` (for the default radius 31: 17 probes per chunk). Candidates are then checked on all 256
//! bits, so the result is exactly the brute-force set. Small indexes and very large radii are
//! served by a linear scan, which is faster there.

use std::sync::OnceLock;

use crate::{PdqError, PdqHash};

/// Radius under which Meta recommends treating two PDQ hashes as the same picture.
pub const DEFAULT_RADIUS: u32 = 31;

const CHUNKS: usize = 16;
const CHUNK_BITS: u32 = 16;
const BUCKETS: usize = 1 << CHUNK_BITS;
/// Below this many entries a scan beats the probes and the tables' fixed 25 MiB.
const LINEAR_LIMIT: usize = 20_000;
/// Chunk radius from which a scan costs less than probing (697 probes per chunk at 3).
const MAX_CHUNK_RADIUS: u32 = 2;

/// One hash within the radius: the entry id it was inserted with and its Hamming distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IndexMatch {
    pub distance: u32,
    pub id: u64,
}

#[derive(Debug, Clone, Default)]
pub struct HashIndex {
    hashes: Vec<PdqHash>,
    ids: Vec<u64>,
    /// `CHUNKS * BUCKETS` posting lists of positions in `hashes`, once the index is large enough.
    tables: Option<Vec<Vec<u32>>>,
}

fn chunk(hash: &PdqHash, c: usize) -> usize {
    let words = hash.words();
    let word = words.get(c / 4).copied().unwrap_or(0);
    ((word >> (CHUNK_BITS as usize * (c % 4))) & 0xffff) as usize
}

/// Every 16-bit mask of at most `radius` set bits (up to [`MAX_CHUNK_RADIUS`]).
fn masks(radius: u32) -> &'static [usize] {
    static MASKS: OnceLock<Vec<Vec<usize>>> = OnceLock::new();
    let all = MASKS.get_or_init(|| {
        (0..=MAX_CHUNK_RADIUS)
            .map(|r| (0..BUCKETS).filter(|m| m.count_ones() <= r).collect())
            .collect()
    });
    all.get(radius as usize).map_or(&[], Vec::as_slice)
}

impl HashIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an index in one pass, sizing every posting list exactly.
    pub fn from_entries(
        entries: impl IntoIterator<Item = (PdqHash, u64)>,
    ) -> Result<Self, PdqError> {
        let (hashes, ids): (Vec<PdqHash>, Vec<u64>) = entries.into_iter().unzip();
        if u32::try_from(hashes.len()).is_err() {
            return Err(PdqError::IndexFull(hashes.len() as u64));
        }
        let mut index = Self {
            hashes,
            ids,
            tables: None,
        };
        if index.hashes.len() >= LINEAR_LIMIT {
            index.build_tables();
        }
        Ok(index)
    }

    fn build_tables(&mut self) {
        let mut counts = vec![0u32; CHUNKS * BUCKETS];
        for hash in &self.hashes {
            for c in 0..CHUNKS {
                if let Some(n) = counts.get_mut(c * BUCKETS + chunk(hash, c)) {
                    *n += 1;
                }
            }
        }
        let mut tables: Vec<Vec<u32>> = counts
            .iter()
            .map(|n| Vec::with_capacity(*n as usize))
            .collect();
        for (pos, hash) in self.hashes.iter().enumerate() {
            for c in 0..CHUNKS {
                if let Some(list) = tables.get_mut(c * BUCKETS + chunk(hash, c)) {
                    list.push(pos as u32);
                }
            }
        }
        self.tables = Some(tables);
    }

    /// Adds one hash; the id is what searches return for it (the caller's list-entry id).
    pub fn insert(&mut self, hash: PdqHash, id: u64) -> Result<(), PdqError> {
        let pos = u32::try_from(self.hashes.len())
            .map_err(|_| PdqError::IndexFull(self.hashes.len() as u64 + 1))?;
        self.hashes.push(hash);
        self.ids.push(id);
        match &mut self.tables {
            Some(tables) => {
                for c in 0..CHUNKS {
                    if let Some(list) = tables.get_mut(c * BUCKETS + chunk(&hash, c)) {
                        list.push(pos);
                    }
                }
            }
            None if self.hashes.len() >= LINEAR_LIMIT => self.build_tables(),
            None => {}
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Every entry within `radius` bits of `query`, nearest first (ties by id).
    pub fn search(&self, query: &PdqHash, radius: u32) -> Vec<IndexMatch> {
        let chunk_radius = radius / CHUNKS as u32;
        let mut found = match &self.tables {
            Some(tables) if chunk_radius <= MAX_CHUNK_RADIUS => {
                self.search_tables(tables, query, radius, chunk_radius)
            }
            _ => self.scan(query, radius),
        };
        found.sort_unstable();
        found
    }

    fn scan(&self, query: &PdqHash, radius: u32) -> Vec<IndexMatch> {
        self.hashes
            .iter()
            .zip(&self.ids)
            .filter_map(|(hash, id)| {
                let distance = hash.distance(query);
                (distance <= radius).then_some(IndexMatch { distance, id: *id })
            })
            .collect()
    }

    fn search_tables(
        &self,
        tables: &[Vec<u32>],
        query: &PdqHash,
        radius: u32,
        chunk_radius: u32,
    ) -> Vec<IndexMatch> {
        let masks = masks(chunk_radius);
        let query_chunks: [usize; CHUNKS] = std::array::from_fn(|c| chunk(query, c));
        let mut found = Vec::new();
        for (c, &qc) in query_chunks.iter().enumerate() {
            for mask in masks {
                let Some(list) = tables.get(c * BUCKETS + (qc ^ mask)) else {
                    continue;
                };
                for &pos in list {
                    let Some(hash) = self.hashes.get(pos as usize) else {
                        continue;
                    };
                    let distance = hash.distance(query);
                    // A hash near in several chunks is reported only from the first of them.
                    if distance <= radius
                        && !query_chunks.iter().take(c).enumerate().any(|(e, &q)| {
                            ((q ^ chunk(hash, e)) as u32).count_ones() <= chunk_radius
                        })
                        && let Some(id) = self.ids.get(pos as usize)
                    {
                        found.push(IndexMatch { distance, id: *id });
                    }
                }
            }
        }
        found
    }

    /// Heap bytes held (hashes, ids, posting lists and their headers).
    pub fn memory_bytes(&self) -> usize {
        let tables = self.tables.as_ref().map_or(0, |t| {
            t.capacity() * std::mem::size_of::<Vec<u32>>()
                + t.iter().map(|l| l.capacity() * 4).sum::<usize>()
        });
        self.hashes.capacity() * 32 + self.ids.capacity() * 8 + tables
    }

    pub fn entries(&self) -> impl Iterator<Item = (PdqHash, u64)> + '_ {
        self.hashes.iter().copied().zip(self.ids.iter().copied())
    }
}
