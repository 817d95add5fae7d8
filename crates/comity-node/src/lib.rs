//! A Comity node: the shell around the pure crates.
//!
//! It accepts messages from its users (HTTP API), seals them, commits them to a durable outbox
//! and delivers them to peers over pinned TLS; it accepts sealed messages from peers, checks
//! them, stores each exactly once and answers with a signed receipt.

mod accept;
mod api;
mod body;
mod config;
mod conns;
mod delivery;
mod error;
mod evidence;
mod evidence_export;
mod evidence_integrity;
mod evidence_pull;
mod evidence_transfer;
mod federation;
mod hashlists;
mod http_errors;
mod inbound;
mod integrity;
mod integrity_walk;
mod law_http;
mod ledger;
mod ledger_http;
mod limits;
mod node;
mod outbound;
mod refusals;
mod requests;
mod requests_follow;
mod requests_http;
mod requests_preview;
mod serve;
mod startup;
mod tls;
mod views;
mod witness;

pub use config::NodeConfig;
pub use error::NodeError;
pub use limits::Limits;
pub use node::{Node, NodeSetup, RunningNode, now_ms};
pub use outbound::{Accepted, SendRequest};
pub use requests::{ActOn, OpenRequest};
pub use requests_follow::{Offer, OpenFollowUp};
pub use tls::{client_config as peer_tls_config, install_default_provider};
pub use views::{MessageView, PeerView};

/// The path peers post sealed envelopes to.
pub const FEDERATION_MESSAGES_PATH: &str = "/federation/v1/messages";
/// Media type of a batch of envelopes: canonical envelope bytes separated by `\n`
/// (canonical JSON never contains a raw newline).
pub const ENVELOPES_MEDIA_TYPE: &str = "application/vnd.comity.envelopes";
