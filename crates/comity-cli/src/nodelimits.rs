//! The optional `[limits]` table of `node.toml`: timeouts, connection caps and body sizes of
//! the node's listeners (docs/protocol.md §12.2). Absent keys keep the defaults.

use comity_node::Limits;
use serde::{Deserialize, Serialize};

/// Declares the table with one optional key per field of `Limits`, and how it applies.
macro_rules! limits_file {
    ($($(#[$doc:meta])* $field:ident: $ty:ty,)*) => {
        #[derive(Debug, Clone, Default, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct LimitsFile {
            $($(#[$doc])* #[serde(default, skip_serializing_if = "Option::is_none")] pub $field: Option<$ty>,)*
        }

        impl LimitsFile {
            /// The defaults of `comity-node`, with the keys given here in their place.
            pub fn apply(&self, limits: &mut Limits) {
                $(if let Some(v) = self.$field {
                    limits.$field = v;
                })*
            }
        }
    };
}

limits_file! {
    /// Time a federation client has to complete the TLS handshake (default 5000).
    tls_handshake_timeout_ms: u64,
    /// Time a client has to send a whole request head once it began (default 10000).
    header_read_timeout_ms: u64,
    /// Time a connection may stay open between requests (default 60000).
    idle_timeout_ms: u64,
    /// Longest a federation request may take, body included (default 60000).
    request_timeout_ms: u64,
    /// Largest request head (default 65536, at least 8192).
    max_header_bytes: usize,
    /// User API connections at once (default 256).
    max_api_connections: usize,
    /// Federation connections before or in the TLS handshake (default 128).
    max_pending_handshakes: usize,
    /// Authenticated federation connections, all members (default 512).
    max_peer_connections: usize,
    /// Authenticated federation connections of one member (default 32).
    max_connections_per_member: usize,
    /// Descriptors kept out of the connection caps (default 128).
    reserved_descriptors: u64,
    /// Largest batch of envelopes in one request, received or sent (default 32 MiB).
    max_batch_bytes: usize,
    /// Largest JSON body of the user API (default 4 MiB).
    max_api_body_bytes: usize,
    /// Bytes of request bodies held at once (default 128 MiB).
    body_budget_bytes: usize,
    /// How long a body waits for budget before `node.busy` (default 5000).
    body_budget_wait_ms: u64,
}
