//! PDQ perceptual hashing, an exact radius-search index over PDQ hashes, and signed hash lists.
//!
//! Pure: no file, network or clock access. Image bytes, keys and times are passed in.

mod decode;
mod digests;
mod error;
mod hash;
mod hasher;
mod index;
mod index_file;
pub mod list;

pub use decode::{DecodeLimits, DecodedImage, decode, hash_image_bytes, hash_image_bytes_dihedral};
pub use digests::{ExactDigests, exact_digests};
pub use error::PdqError;
pub use hash::{Dihedral, DihedralHashes, HashAndQuality, PdqHash};
pub use hasher::{MIN_DIMENSION, RgbPixels, hash, hash_dihedral};
pub use index::{DEFAULT_RADIUS, HashIndex, IndexMatch};
