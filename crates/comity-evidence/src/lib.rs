//! Comity evidence: the encrypted, content-addressed vault, chunked transfer between nodes,
//! signed custody events, use conditions, CASE/UCO manifests and court packages that are verified
//! offline. `docs/evidence.md` specifies every format.
//!
//! Only [`vault`], [`read`], the file side of [`package`] and the package reader
//! ([`package_read`]) do I/O; the formats ([`blob`], [`custody`], [`conditions`], [`manifest`],
//! [`verify`]) are pure and take time, keys and randomness as arguments.

pub mod blob;
pub mod conditions;
pub mod custody;
pub mod digest;
pub mod error;
pub mod manifest;
pub mod package;
pub mod package_read;
mod package_zip;
pub mod read;
pub mod report;
pub mod vault;
pub mod verify;
mod verify_trust;

pub use object_store;

pub use blob::{BlobKey, ChunkLayout, WrapKey};
pub use conditions::{Consent, Operation, UseCondition, UseConditions};
pub use custody::{Acquisition, Action, CustodyEvent, SignedEvent, Timeline};
pub use digest::Sha256Digest;
pub use error::{EvidenceError, Result};
pub use package::{Package, PackageItem, ZipPackage, file_content, write_dir, write_zip};
pub use package_read::PackageSource;
pub use read::{BlobReader, ChunkReader};
pub use report::{AnchorReport, AnchorStatus, Check, Report};
pub use vault::{Assembler, BlobInfo, Migration, TransferOffer, Vault};
pub use verify::{TrustAnchor, VerifyOptions, verify_package, verify_package_with};
