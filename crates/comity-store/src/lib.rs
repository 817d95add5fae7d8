//! Persistence for a Comity node.
//!
//! The only crate that knows SQL. Every query is written once and runs on both back-ends:
//! SQLite (the embedded default, WAL with `synchronous=FULL` so an acknowledged write survives a
//! power cut) and PostgreSQL (chosen by a `postgres://` URL, for several node processes sharing
//! one database). Times are Unix milliseconds; envelope and receipt bytes are stored verbatim.

mod checkpoints;
mod error;
mod evidence;
mod hashlists;
mod identity;
mod inbox;
mod integrity;
mod ledger;
mod ledger_check;
mod outbox;
mod peers;
mod pool;
mod provision;
mod refusals;
mod requests;
mod rows;
mod transfers;

pub use checkpoints::{AlarmRecord, StoredCheckpoint, Witnessed};
pub use error::{LedgerDivergence, StoreError};
pub use evidence::{CustodyRecord, EvidenceItem, NewCustodyEvent};
pub use hashlists::{ListHead, ListUpdateRow, PullError, Subscription};
pub use identity::StoreIdentity;
pub use inbox::InboundOutcome;
pub use integrity::IntegrityCursor;
#[cfg(feature = "fault-injection")]
pub use integrity::TamperValue;
pub use ledger::{LedgerAppend, LedgerRecord};
pub use ledger_check::{LedgerAnchor, LedgerCheck, RangeMismatch};
pub use pool::Store;
pub use requests::{NewRequest, RequestChange, RequestEvent, Side, StoredEvent, StoredRequest};
pub use rows::{DeliveryState, Inbound, NewOutbound, Outbound, PeerHealth, RefusalSummary};
pub use transfers::{ForeignEvent, Transfer};
