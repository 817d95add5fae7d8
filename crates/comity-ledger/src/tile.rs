//! C2SP tlog-tiles: tile paths, tile bytes from stored hashes, entry bundles, and checking a
//! set of fetched tiles against a checkpoint.

use std::collections::BTreeMap;
use std::fmt;

use crate::error::{LedgerError, Result};
use crate::hash::{Hash, leaf_hash, node_hash, root_of_leaf_hashes};
use crate::tree::{
    HashReader, MAX_TREE_SIZE, split_stored_hash_index, stored_hash_index, tree_hash,
};

/// Hashes per full tile.
pub const TILE_WIDTH: u64 = 256;
/// Merkle levels spanned by one tile level.
pub const TILE_HEIGHT: u32 = 8;
/// Highest tile level the path format allows.
pub const MAX_TILE_LEVEL: u8 = 63;

/// What a tile holds: Merkle hashes at a tile level, or the log entries themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileLevel {
    Hashes(u8),
    Entries,
}

/// One tile or entry bundle: level, index within the level, and width (256 for a full tile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    pub level: TileLevel,
    pub index: u64,
    pub width: u16,
}

impl TileId {
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// `<N>` encoded as zero-padded 3-digit elements, all but the last prefixed with `x`.
    pub fn index_path(index: u64) -> String {
        let mut groups = vec![index % 1000];
        let mut n = index / 1000;
        while n > 0 {
            groups.push(n % 1000);
            n /= 1000;
        }
        let last = groups.len() - 1;
        groups
            .iter()
            .rev()
            .enumerate()
            .map(|(i, g)| {
                if i == last {
                    format!("{g:03}")
                } else {
                    format!("x{g:03}")
                }
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The resource path under the log prefix, e.g. `tile/0/x001/x234/067.p/12`.
    pub fn path(&self) -> String {
        let level = match self.level {
            TileLevel::Hashes(l) => l.to_string(),
            TileLevel::Entries => "entries".to_owned(),
        };
        let mut p = format!("tile/{level}/{}", Self::index_path(self.index));
        if !self.is_full() {
            p.push_str(&format!(".p/{}", self.width));
        }
        p
    }

    /// Parses a path produced by [`TileId::path`]; any other spelling of the same tile
    /// (leading zeros, extra `x000` elements, `.p/256`) is refused so each tile has one URL.
    pub fn parse_path(path: &str) -> Result<Self> {
        let bad = |why: &str| LedgerError::TilePath(format!("{path:?}: {why}"));
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| bad("does not start with tile/"))?;
        let (level_s, rest) = rest.split_once('/').ok_or_else(|| bad("no tile index"))?;
        let level = if level_s == "entries" {
            TileLevel::Entries
        } else {
            let l = canonical_decimal(level_s)
                .and_then(|l| u8::try_from(l).ok())
                .filter(|&l| l <= MAX_TILE_LEVEL)
                .ok_or_else(|| bad("level is not a decimal between 0 and 63"))?;
            TileLevel::Hashes(l)
        };
        let (index_s, width) = match rest.split_once(".p/") {
            Some((i, w)) => {
                let w = canonical_decimal(w)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or_else(|| bad("partial width is not a decimal between 1 and 255"))?;
                (i, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let elems: Vec<&str> = index_s.split('/').collect();
        let mut index: u64 = 0;
        let last = elems.len() - 1;
        for (i, e) in elems.iter().enumerate() {
            let digits = if i == last {
                Some(*e)
            } else {
                e.strip_prefix('x')
            };
            let d = digits
                .filter(|d| d.len() == 3 && d.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|d| d.parse::<u64>().ok())
                .ok_or_else(|| {
                    bad("index elements must be 3 digits, all but the last prefixed by x")
                })?;
            if i == 0 && last > 0 && d == 0 {
                return Err(bad("index has a leading x000 element"));
            }
            index = index
                .checked_mul(1000)
                .and_then(|x| x.checked_add(d))
                .ok_or_else(|| bad("index is too large"))?;
        }
        let id = Self {
            level,
            index,
            width,
        };
        if id.path() != path {
            return Err(bad("not the canonical spelling of this tile"));
        }
        Ok(id)
    }

    /// Whether this tile (at this width) exists in a tree of `size` leaves.
    pub fn exists_in(&self, size: u64) -> bool {
        let entries = level_entries(size, self.level);
        self.index
            .checked_mul(TILE_WIDTH)
            .and_then(|s| s.checked_add(u64::from(self.width)))
            .is_some_and(|end| end <= entries)
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

fn canonical_decimal(s: &str) -> Option<u64> {
    let ok =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if ok { s.parse().ok() } else { None }
}

fn merkle_level(level: TileLevel) -> u32 {
    match level {
        TileLevel::Hashes(l) => u32::from(l) * TILE_HEIGHT,
        TileLevel::Entries => 0,
    }
}

/// Number of hashes at a tile level in a tree of `size` leaves: `floor(size / 256^l)`.
pub fn level_entries(size: u64, level: TileLevel) -> u64 {
    size.checked_shr(merkle_level(level)).unwrap_or(0)
}

/// Every tile (full ones and the rightmost partial ones) of a tree of `size` leaves,
/// at `level` (hash tiles) or for entry bundles.
fn tiles_at(size: u64, level: TileLevel) -> Vec<TileId> {
    let n = level_entries(size, level);
    let (full, partial) = (n / TILE_WIDTH, n % TILE_WIDTH);
    let mut out: Vec<TileId> = (0..full)
        .map(|index| TileId {
            level,
            index,
            width: TILE_WIDTH as u16,
        })
        .collect();
    if partial > 0 {
        out.push(TileId {
            level,
            index: full,
            width: partial as u16,
        });
    }
    out
}

/// All hash tiles a log of `size` leaves serves, level by level.
pub fn hash_tiles_for_size(size: u64) -> Vec<TileId> {
    (0..=MAX_TILE_LEVEL)
        .map(TileLevel::Hashes)
        .take_while(|&l| level_entries(size, l) > 0)
        .flat_map(|l| tiles_at(size, l))
        .collect()
}

/// All entry bundles a log of `size` leaves serves.
pub fn entry_bundles_for_size(size: u64) -> Vec<TileId> {
    tiles_at(size, TileLevel::Entries)
}

/// Stored-hash indexes of the hashes in a hash tile, in tile order.
pub fn tile_hash_indexes(id: &TileId) -> Result<Vec<u64>> {
    let TileLevel::Hashes(_) = id.level else {
        return Err(LedgerError::TilePath(format!(
            "{id} is an entry bundle, not a hash tile"
        )));
    };
    let level = merkle_level(id.level);
    let first = id
        .index
        .checked_mul(TILE_WIDTH)
        .filter(|f| {
            f.checked_shl(level)
                .is_some_and(|s| s >> level == *f && s < MAX_TREE_SIZE)
        })
        .ok_or_else(|| LedgerError::TilePath(format!("{id} is beyond the largest tree")))?;
    Ok((0..u64::from(id.width))
        .map(|i| stored_hash_index(level, first + i))
        .collect())
}

/// The bytes of a hash tile: its hashes concatenated, read from the store in one call.
pub fn tile_bytes<R: HashReader + ?Sized>(id: &TileId, reader: &R) -> Result<Vec<u8>> {
    let hashes = reader.read_hashes(&tile_hash_indexes(id)?)?;
    if hashes.len() != usize::from(id.width) {
        return Err(LedgerError::ReaderCount {
            got: hashes.len(),
            want: usize::from(id.width),
        });
    }
    Ok(hashes.iter().flat_map(|h| h.0).collect())
}

/// Splits tile bytes into hashes; the length must be exactly `width` hashes.
pub fn parse_tile(id: &TileId, bytes: &[u8]) -> Result<Vec<Hash>> {
    let want = usize::from(id.width) * 32;
    if bytes.len() != want {
        return Err(LedgerError::TileLength {
            path: id.path(),
            got: bytes.len(),
            want,
        });
    }
    bytes.chunks_exact(32).map(Hash::from_slice).collect()
}

/// Entry bundle: each entry prefixed by its length as a big-endian u16.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    for e in entries {
        let e = e.as_ref();
        let len = u16::try_from(e.len()).map_err(|_| LedgerError::EntryTooLarge(e.len()))?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(e);
    }
    Ok(out)
}

/// Splits an entry bundle; truncation or trailing bytes are errors.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_at_checked(2)
            .ok_or_else(|| LedgerError::BundleFormat("truncated length prefix".into()))?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let (entry, tail) = tail.split_at_checked(len).ok_or_else(|| {
            LedgerError::BundleFormat(format!("entry {} is truncated", out.len()))
        })?;
        out.push(entry.to_vec());
        rest = tail;
    }
    Ok(out)
}

/// Tiles fetched from a log, checked against a checkpoint, then usable as a [`HashReader`] to
/// compute proofs locally (what a monitor, witness or court tool does).
#[derive(Clone, Debug, Default)]
pub struct TileSet {
    size: u64,
    tiles: BTreeMap<(u8, u64), Vec<Hash>>,
}

impl TileSet {
    pub fn new(size: u64) -> Self {
        Self {
            size,
            tiles: BTreeMap::new(),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a fetched hash tile; its length must match its width.
    pub fn insert(&mut self, id: &TileId, bytes: &[u8]) -> Result<()> {
        let TileLevel::Hashes(level) = id.level else {
            return Err(LedgerError::TilePath(format!("{id} is not a hash tile")));
        };
        let hashes = parse_tile(id, bytes)?;
        self.tiles.insert((level, id.index), hashes);
        Ok(())
    }

    /// Checks every tile the tree of `size` needs: present, each full tile's hash equals its
    /// slot in the tile above, and the tiles hash to `root`. A truncated, reordered or
    /// substituted tile fails one of these.
    pub fn verify(&self, root: &Hash) -> Result<()> {
        for id in hash_tiles_for_size(self.size) {
            let TileLevel::Hashes(level) = id.level else {
                continue;
            };
            let hashes = self
                .tiles
                .get(&(level, id.index))
                .ok_or_else(|| LedgerError::TileMissing(id.path()))?;
            if hashes.len() < usize::from(id.width) {
                return Err(LedgerError::TileLength {
                    path: id.path(),
                    got: hashes.len() * 32,
                    want: usize::from(id.width) * 32,
                });
            }
            if !id.is_full() || level == MAX_TILE_LEVEL {
                continue;
            }
            let parent = id.index / TILE_WIDTH;
            let slot = (id.index % TILE_WIDTH) as usize;
            let above = self
                .tiles
                .get(&(level + 1, parent))
                .and_then(|t| t.get(slot))
                .ok_or_else(|| {
                    LedgerError::TileMissing(format!(
                        "tile/{}/{} (parent of {id})",
                        level + 1,
                        TileId::index_path(parent)
                    ))
                })?;
            if root_of_leaf_hashes(hashes) != *above {
                return Err(LedgerError::TileMismatch {
                    path: id.path(),
                    reason: format!("its hash differs from slot {slot} of the tile above"),
                });
            }
        }
        let computed = tree_hash(self.size, self)?;
        if computed != *root {
            return Err(LedgerError::TileMismatch {
                path: "checkpoint".into(),
                reason: format!("tiles hash to {computed}, the checkpoint says {root}"),
            });
        }
        Ok(())
    }

    /// Checks an entry bundle against the level-0 tile it belongs to.
    pub fn verify_bundle(&self, id: &TileId, bytes: &[u8]) -> Result<Vec<Vec<u8>>> {
        let entries = decode_bundle(bytes)?;
        if entries.len() != usize::from(id.width) {
            return Err(LedgerError::BundleFormat(format!(
                "{id} holds {} entries, expected {}",
                entries.len(),
                id.width
            )));
        }
        let tile = self.tiles.get(&(0, id.index)).ok_or_else(|| {
            LedgerError::TileMissing(format!("tile/0/{}", TileId::index_path(id.index)))
        })?;
        for (i, e) in entries.iter().enumerate() {
            if tile.get(i) != Some(&leaf_hash(e)) {
                return Err(LedgerError::TileMismatch {
                    path: id.path(),
                    reason: format!("entry {i} does not hash to the level-0 tile"),
                });
            }
        }
        Ok(entries)
    }

    fn stored_hash(&self, index: u64) -> Result<Hash> {
        let (level, n) = split_stored_hash_index(index);
        let tile_level = level / TILE_HEIGHT;
        let within = level % TILE_HEIGHT;
        let first = n << within;
        let count = 1usize << within;
        let key = (tile_level as u8, first / TILE_WIDTH);
        let start = (first % TILE_WIDTH) as usize;
        let hashes = self
            .tiles
            .get(&key)
            .and_then(|t| t.get(start..start + count))
            .ok_or(LedgerError::MissingHash(index))?;
        let mut layer = hashes.to_vec();
        while layer.len() > 1 {
            layer = layer
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
        }
        layer.pop().ok_or(LedgerError::MissingHash(index))
    }
}

impl HashReader for TileSet {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        indexes.iter().map(|&i| self.stored_hash(i)).collect()
    }
}

/// Records which stored hashes a computation asks for, answering with placeholders.
struct Recorder(std::cell::RefCell<Vec<u64>>);

impl HashReader for Recorder {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>> {
        self.0.borrow_mut().extend_from_slice(indexes);
        Ok(vec![Hash::default(); indexes.len()])
    }
}

fn recorded<F: FnOnce(&Recorder) -> Result<()>>(f: F) -> Result<Vec<u64>> {
    let r = Recorder(std::cell::RefCell::new(Vec::new()));
    f(&r)?;
    Ok(r.0.into_inner())
}

/// The hash tiles, with their widths in a tree of `size`, that hold the given stored hashes.
pub fn tiles_for_stored_hashes(size: u64, indexes: &[u64]) -> Vec<TileId> {
    let mut out: Vec<TileId> = indexes
        .iter()
        .map(|&i| {
            let (level, n) = split_stored_hash_index(i);
            let tile_level = (level / TILE_HEIGHT) as u8;
            let index = (n << (level % TILE_HEIGHT)) / TILE_WIDTH;
            let entries = level_entries(size, TileLevel::Hashes(tile_level));
            let width = entries.saturating_sub(index * TILE_WIDTH).min(TILE_WIDTH) as u16;
            TileId {
                level: TileLevel::Hashes(tile_level),
                index,
                width,
            }
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Tiles a client fetches (for a tree of `size`) to compute the inclusion proof of `index`.
pub fn tiles_for_inclusion(index: u64, size: u64) -> Result<Vec<TileId>> {
    let idx = recorded(|r| crate::tree::inclusion_proof(index, size, r).map(drop))?;
    Ok(tiles_for_stored_hashes(size, &idx))
}

/// Tiles a witness fetches (for the tree of `new`) to compute the consistency proof from `old`
/// and, when `old` is a power of two, the larger tree's own hash of the first `old` entries.
pub fn tiles_for_consistency(old: u64, new: u64) -> Result<Vec<TileId>> {
    let mut idx = recorded(|r| crate::tree::consistency_proof(old, new, r).map(drop))?;
    if old.is_power_of_two() {
        idx.extend(recorded(|r| tree_hash(old, r).map(drop))?);
    }
    Ok(tiles_for_stored_hashes(new, &idx))
}
