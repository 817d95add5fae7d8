use std::fmt;
use std::str::FromStr;

use crate::PdqError;

/// A 256-bit PDQ hash.
///
/// Bit `k` is DCT coefficient `k` (row-major in the 16x16 block) compared with the median. The
/// textual form is the 256-bit number written as 64 lowercase hexadecimal digits, most significant
/// first, which is how the reference tools print it, so `words[0]` holds digits 0..16.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PdqHash {
    words: [u64; 4],
}

impl PdqHash {
    pub const BITS: u32 = 256;

    pub const fn from_words(words: [u64; 4]) -> Self {
        Self { words }
    }

    pub const fn words(&self) -> [u64; 4] {
        self.words
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        let mut words = [0u64; 4];
        for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut buf = [0u8; 8];
            buf.copy_from_slice(chunk);
            *word = u64::from_be_bytes(buf);
        }
        Self { words }
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(8).zip(self.words) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }

    /// Sets DCT bit `k` (0..256); larger values are ignored.
    pub(crate) fn set_bit(&mut self, k: usize) {
        if let Some(word) = self.words.get_mut(3usize.wrapping_sub(k / 64)) {
            *word |= 1u64 << (k % 64);
        }
    }

    pub fn bit(&self, k: usize) -> bool {
        self.words
            .get(3usize.wrapping_sub(k / 64))
            .is_some_and(|w| (w >> (k % 64)) & 1 == 1)
    }

    pub fn distance(&self, other: &Self) -> u32 {
        self.words
            .iter()
            .zip(other.words.iter())
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    pub fn count_ones(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for word in self.words {
            write!(f, "{word:016x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PdqHash({self})")
    }
}

impl FromStr for PdqHash {
    type Err = PdqError;

    /// Accepts exactly 64 hexadecimal digits (either case).
    fn from_str(s: &str) -> Result<Self, PdqError> {
        let bad = || PdqError::BadHashText(s.chars().take(80).collect());
        if s.len() != 64 {
            return Err(bad());
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| bad())?;
        Ok(Self::from_bytes(bytes))
    }
}

/// A hash with the quality score (0..=100) the hasher gave it; below 50 is usually too featureless
/// to match reliably.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashAndQuality {
    pub hash: PdqHash,
    pub quality: u8,
}

/// The eight symmetries of the square, named as the reference implementation names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dihedral {
    Original,
    Rotate90,
    Rotate180,
    Rotate270,
    FlipX,
    FlipY,
    FlipPlus1,
    FlipMinus1,
}

impl Dihedral {
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Dihedral::Original => "original",
            Dihedral::Rotate90 => "rotate90",
            Dihedral::Rotate180 => "rotate180",
            Dihedral::Rotate270 => "rotate270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipPlus1 => "flipplus1",
            Dihedral::FlipMinus1 => "flipminus1",
        }
    }
}

/// The hashes of an image and of its seven rotations and mirror images, with one quality score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DihedralHashes {
    /// In the order of [`Dihedral::ALL`].
    pub hashes: [PdqHash; 8],
    pub quality: u8,
}

impl DihedralHashes {
    pub fn get(&self, which: Dihedral) -> PdqHash {
        let i = Dihedral::ALL.iter().position(|d| *d == which).unwrap_or(0);
        self.hashes.get(i).copied().unwrap_or_default()
    }
}
