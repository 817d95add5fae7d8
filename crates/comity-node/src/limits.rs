//! The limits of the node's two listeners (time, connections, bodies), and the connection caps
//! they come to under the process's descriptor limit.

use std::time::Duration;

use crate::NodeError;

const MIB: usize = 1024 * 1024;

/// Explicit bounds on what a connection may cost the node; docs/protocol.md §12.2 explains each.
/// The defaults suit a production node; `node.toml` `[limits]` overrides them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Time a federation client has to complete the TLS handshake after connecting.
    pub tls_handshake_timeout_ms: u64,
    /// Time a client has to send a complete request head once its first byte arrived.
    pub header_read_timeout_ms: u64,
    /// Time a connection may stay open with no request in progress (keep-alive).
    pub idle_timeout_ms: u64,
    /// Longest a federation request may take, body included (a sender gives up after 60 s).
    pub request_timeout_ms: u64,
    /// Largest request head (request line and headers); at least 8192.
    pub max_header_bytes: usize,
    /// Connections of the user API at once.
    pub max_api_connections: usize,
    /// Federation connections still in (or before) the TLS handshake; when full, the oldest
    /// is dropped, those that sent nothing first.
    pub max_pending_handshakes: usize,
    /// Authenticated federation connections at once, all members together.
    pub max_peer_connections: usize,
    /// Authenticated federation connections of one member.
    pub max_connections_per_member: usize,
    /// Descriptors kept for the database, evidence files and outgoing connections: the
    /// connection caps shrink so that they fit in the process's descriptor limit minus these.
    pub reserved_descriptors: u64,
    /// Largest batch of envelopes a peer may post (and this node sends) in one request.
    pub max_batch_bytes: usize,
    /// Largest JSON body of the user API.
    pub max_api_body_bytes: usize,
    /// Bytes of request bodies held in memory at once, across all connections; a member holds
    /// at most `max_batch_bytes` of it.
    pub body_budget_bytes: usize,
    /// How long a body waits for its share of the budget before it is answered `node.busy`.
    pub body_budget_wait_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            tls_handshake_timeout_ms: 5_000,
            header_read_timeout_ms: 10_000,
            idle_timeout_ms: 60_000,
            request_timeout_ms: 60_000,
            max_header_bytes: 64 * 1024,
            max_api_connections: 256,
            max_pending_handshakes: 128,
            max_peer_connections: 512,
            max_connections_per_member: 32,
            reserved_descriptors: 128,
            max_batch_bytes: 32 * MIB,
            max_api_body_bytes: 4 * MIB,
            body_budget_bytes: 128 * MIB,
            body_budget_wait_ms: 5_000,
        }
    }
}

/// The connection caps in force: the configured ones, shrunk to the descriptor budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caps {
    pub(crate) api: usize,
    pub(crate) pending: usize,
    pub(crate) peers: usize,
    pub(crate) per_member: usize,
}

/// The fewest descriptors the listeners can work with.
const MIN_LISTENER_DESCRIPTORS: u64 = 8;

impl Limits {
    pub(crate) fn tls_handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.tls_handshake_timeout_ms)
    }

    pub(crate) fn header_read_timeout(&self) -> Duration {
        Duration::from_millis(self.header_read_timeout_ms)
    }

    pub(crate) fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    pub(crate) fn body_budget_wait(&self) -> Duration {
        Duration::from_millis(self.body_budget_wait_ms)
    }

    /// Refuses limits that cannot work together, naming the setting to change.
    pub(crate) fn validate(&self, max_message_bytes: usize) -> Result<(), NodeError> {
        let bad = |text: String| Err(NodeError::Config(text));
        let timeouts = [
            ("tls_handshake_timeout_ms", self.tls_handshake_timeout_ms),
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("body_budget_wait_ms", self.body_budget_wait_ms),
        ];
        if let Some((name, _)) = timeouts.iter().find(|(_, v)| *v == 0) {
            return bad(format!("limits.{name} must be above 0"));
        }
        let counts = [
            ("max_api_connections", self.max_api_connections),
            ("max_pending_handshakes", self.max_pending_handshakes),
            ("max_peer_connections", self.max_peer_connections),
            (
                "max_connections_per_member",
                self.max_connections_per_member,
            ),
            ("max_api_body_bytes", self.max_api_body_bytes),
        ];
        if let Some((name, _)) = counts.iter().find(|(_, v)| *v == 0) {
            return bad(format!("limits.{name} must be above 0"));
        }
        if self.max_header_bytes < 8192 {
            return bad(format!(
                "limits.max_header_bytes is {}: it must be at least 8192",
                self.max_header_bytes
            ));
        }
        if self.max_batch_bytes <= max_message_bytes {
            return bad(format!(
                "limits.max_batch_bytes ({}) must be above delivery.max_message_bytes ({max_message_bytes}): a batch holds at least one envelope and its newline",
                self.max_batch_bytes
            ));
        }
        if u32::try_from(self.max_batch_bytes).is_err()
            || u32::try_from(self.max_api_body_bytes).is_err()
        {
            return bad(
                "limits.max_batch_bytes and limits.max_api_body_bytes must be under 4 GiB".into(),
            );
        }
        let largest = self.max_batch_bytes.max(self.max_api_body_bytes);
        if self.body_budget_bytes < largest {
            return bad(format!(
                "limits.body_budget_bytes ({}) must hold the largest body allowed ({largest} bytes)",
                self.body_budget_bytes
            ));
        }
        Ok(())
    }

    /// The connection caps under a descriptor limit (`None`: unlimited). When the configured
    /// caps do not fit in the limit minus the reserve, each shrinks in proportion.
    pub(crate) fn caps(&self, descriptors: Option<u64>) -> Result<Caps, NodeError> {
        let configured = Caps {
            api: self.max_api_connections,
            pending: self.max_pending_handshakes,
            peers: self.max_peer_connections,
            per_member: self
                .max_connections_per_member
                .min(self.max_peer_connections),
        };
        let Some(limit) = descriptors else {
            return Ok(configured);
        };
        let budget = limit.saturating_sub(self.reserved_descriptors);
        if budget < MIN_LISTENER_DESCRIPTORS {
            return Err(NodeError::Config(format!(
                "the process may open {limit} descriptors and limits.reserved_descriptors keeps {}, leaving {budget} for connections: raise the limit (ulimit -n, LimitNOFILE) or lower the reserve",
                self.reserved_descriptors
            )));
        }
        let wanted = [configured.api, configured.pending, configured.peers]
            .iter()
            .map(|&n| n as u64)
            .sum::<u64>();
        if wanted <= budget {
            return Ok(configured);
        }
        let share = |n: usize| usize::try_from((n as u64 * budget / wanted).max(1)).unwrap_or(1);
        let peers = share(configured.peers);
        Ok(Caps {
            api: share(configured.api),
            pending: share(configured.pending),
            peers,
            per_member: configured.per_member.min(peers),
        })
    }
}

/// The process's soft limit on open descriptors, if it has one.
pub(crate) fn descriptor_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        rustix::process::getrlimit(rustix::process::Resource::Nofile).current
    }
    #[cfg(not(unix))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_fit_the_descriptor_limit_minus_the_reserve() {
        let limits = Limits::default();
        let roomy = limits.caps(Some(1 << 20)).unwrap();
        assert_eq!(
            roomy,
            Caps {
                api: 256,
                pending: 128,
                peers: 512,
                per_member: 32
            }
        );
        assert_eq!(limits.caps(None).unwrap(), roomy);
        let tight = limits.caps(Some(256)).unwrap();
        assert!(
            tight.api + tight.pending + tight.peers <= 256 - 128,
            "{tight:?}"
        );
        assert!(tight.api >= 1 && tight.pending >= 1 && tight.peers >= tight.per_member);
        assert!(matches!(limits.caps(Some(130)), Err(NodeError::Config(_))));
    }

    #[test]
    fn limits_that_cannot_work_together_are_refused_by_name() {
        let ok = Limits::default();
        assert!(ok.validate(8 * MIB).is_ok());
        let cases = [
            (
                Limits {
                    max_batch_bytes: 8 * MIB,
                    ..Limits::default()
                },
                "max_batch_bytes",
            ),
            (
                Limits {
                    body_budget_bytes: MIB,
                    ..Limits::default()
                },
                "body_budget_bytes",
            ),
            (
                Limits {
                    idle_timeout_ms: 0,
                    ..Limits::default()
                },
                "idle_timeout_ms",
            ),
            (
                Limits {
                    max_header_bytes: 100,
                    ..Limits::default()
                },
                "max_header_bytes",
            ),
        ];
        for (limits, name) in cases {
            let e = limits.validate(8 * MIB).unwrap_err();
            assert!(e.to_string().contains(name), "{e}");
        }
    }
}
