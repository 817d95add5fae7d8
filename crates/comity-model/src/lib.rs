//! Comity's shared vocabulary.
//!
//! Pure: no I/O, no clock, no randomness. Values that need the current time or fresh randomness
//! (message ids, timestamps) are built from inputs the caller passes in.

mod error;
mod evidence;
mod header;
mod ids;
mod jurisdiction;
mod kind;
mod preservation;
mod request;
mod role;
mod time;

pub use error::{FieldProblem, ModelError};
pub use evidence::{
    CustodyLink, EVIDENCE_MESSAGE_VERSION, EvidenceConsent, EvidenceOffer, EvidenceReport,
    TransferOutcome,
};
pub use header::{Classification, Handling, Header, SCHEMA_VERSION};
pub use ids::{ConversationId, MessageId, NodeId};
pub use jurisdiction::Jurisdiction;
pub use kind::{Body, MessageKind, Note, PdqMatchNotice};
pub use preservation::{
    MIN_PRESERVATION_DAYS, PreservationAck, PreservationRequest, PreservationStatus,
};
pub use request::{REQUEST_MESSAGE_VERSION, RequestAction, RequestOpen};
pub use role::Role;
pub use time::Timestamp;
