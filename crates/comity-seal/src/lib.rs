//! Comity's cryptographic layer, wire format v1: node keys, signed descriptors, the federation
//! trust list, sealed message envelopes and signed receipts. `docs/protocol.md` specifies every
//! byte.
//!
//! Pure: no I/O, no clock, no operating-system randomness. Callers pass time values and a random
//! number generator implementing [`rand_core::CryptoRng`] of the re-exported version. A binary
//! gets one from the operating system with `getrandom` 0.4 (feature `sys_rng`):
//!
//! ```text
//! let mut rng = comity_seal::rand_core::UnwrapErr(getrandom::SysRng);
//! let secrets = comity_seal::NodeSecrets::generate(&mut rng);
//! ```
//!
//! or with `rand` 0.10: `let mut rng = rand::rng();` (`rand` 0.9 implements an older `rand_core`
//! and does not fit).
//!
//! Signature verification follows the strict Ed25519 rules of `docs/protocol.md`.

pub use rand_core;

mod descriptor;
mod encoding;
mod envelope;
mod error;
mod hpke_suite;
mod keys;
mod receipt;
mod secrets;
mod trust;

pub use descriptor::{DESCRIPTOR_CONTEXT, Descriptor, KeySignature, SignedDescriptor};
pub use envelope::{
    Envelope, INNER_CONTEXT, OUTER_CONTEXT, Opened, WIRE_VERSION, canonical_body, canonical_header,
    inner_signed_bytes, open, seal, seal_with, sign_inner, verify_inner, verify_outer,
};
pub use error::SealError;
pub use hpke_suite::HPKE_INFO;
pub use keys::{HpkeKey, HpkePublicKey, PublicKey, Suite, key_id};
pub use receipt::{RECEIPT_CONTEXT, Receipt};
pub use secrets::{FederationRoot, KdfParams, NodeSecrets};
pub use trust::{RetiredKey, SignedTrustList, TRUST_LIST_CONTEXT, Trust, TrustList};
