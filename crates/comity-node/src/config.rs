use crate::{Limits, NodeError};

/// Tunables of a node. The binary fills this from its configuration file; defaults suit a
/// production node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Largest envelope accepted or sent, in bytes.
    pub max_message_bytes: usize,
    /// How far in the future a message's `sent_at` may be.
    pub clock_skew_ms: i64,
    /// How old a message's `sent_at` may be when it arrives (a peer may have been down for
    /// days); longer than `dead_letter_after_ms` so that whatever the sender still tries is taken.
    pub max_message_age_ms: i64,
    /// Undelivered messages older than this are dead-lettered (kept and shown, not sent).
    pub dead_letter_after_ms: i64,
    /// First retry delay after a failed delivery; doubles per failure up to `retry_max_ms`.
    pub retry_base_ms: i64,
    pub retry_max_ms: i64,
    /// Envelopes per delivery request.
    pub batch_size: usize,
    /// Most envelopes a peer's batch may hold: a larger batch is refused whole, unparsed
    /// (`fed.batch_too_large`). At least the `batch_size` every member sends.
    pub max_batch_envelopes: usize,
    /// Refusals a peer may cause in one window before its batches are turned away unparsed with
    /// `429 fed.throttled` until the window ends.
    pub refusal_budget: u64,
    /// Length of the windows refusals are counted, summarised and logged in (one stored row and
    /// one log line per peer, code and window).
    pub refusal_window_ms: i64,
    /// How often the delivery loop looks for due work when nothing wakes it.
    pub tick_ms: u64,
    /// How often the node signs a new checkpoint of its ledger (when it grew).
    pub checkpoint_interval_ms: u64,
    /// How often the node fetches, checks and cosigns its peers' checkpoints.
    pub witness_interval_ms: u64,
    /// How often subscribed hash lists are pulled from their publishers.
    pub hash_list_poll_ms: u64,
    /// How often pending evidence transfers are retried (a new offer starts at once).
    pub evidence_poll_ms: u64,
    /// Plaintext bytes per chunk of the blobs this node stores, and so of the transfers it offers.
    pub evidence_chunk_size: u32,
    /// Newest ledger entries hashed again at start-up (on top of each signed root checked from
    /// the stored hashes); older ones are covered by the background check.
    pub integrity_start_entries: u64,
    /// Newest received and sent messages and newest requests checked against their signatures
    /// and ledger entries at start-up, per table.
    pub integrity_start_rows: i64,
    /// How often the background integrity check takes its next step.
    pub integrity_interval_ms: u64,
    /// Ledger entries hashed again per background step.
    pub integrity_batch_entries: u64,
    /// Messages (of each direction) and requests checked per background step.
    pub integrity_batch_rows: i64,
    /// Bearer token of the user API; never empty.
    pub api_token: String,
    /// Who request deadlines escalate to after the central authority.
    pub supervisor: String,
    /// Timeouts, connection caps and body sizes of both listeners.
    pub limits: Limits,
}

const DAY_MS: i64 = 86_400_000;

impl NodeConfig {
    pub fn with_token(api_token: String) -> Self {
        NodeConfig {
            max_message_bytes: 8 * 1024 * 1024,
            clock_skew_ms: 5 * 60 * 1000,
            max_message_age_ms: 30 * DAY_MS,
            dead_letter_after_ms: 14 * DAY_MS,
            retry_base_ms: 500,
            retry_max_ms: 5 * 60 * 1000,
            batch_size: 256,
            max_batch_envelopes: 256,
            refusal_budget: 1000,
            refusal_window_ms: 60_000,
            tick_ms: 500,
            checkpoint_interval_ms: 1000,
            witness_interval_ms: 10_000,
            hash_list_poll_ms: 5 * 60 * 1000,
            evidence_poll_ms: 30 * 1000,
            evidence_chunk_size: 1024 * 1024,
            integrity_start_entries: 10_000,
            integrity_start_rows: 1_000,
            integrity_interval_ms: 10_000,
            integrity_batch_entries: 10_000,
            integrity_batch_rows: 200,
            api_token,
            supervisor: "the duty supervisor".into(),
            limits: Limits::default(),
        }
    }

    /// Refuses settings a node cannot run safely with.
    pub fn check(&self) -> Result<(), NodeError> {
        if self.api_token.trim().is_empty() {
            return Err(NodeError::Config(
                "the API token is empty: it would let anyone use the user API".into(),
            ));
        }
        if self.max_batch_envelopes == 0
            || self.refusal_budget == 0
            || self.refusal_window_ms < 1000
        {
            return Err(NodeError::Config(format!(
                "max_batch_envelopes ({}) and refusal_budget ({}) must be positive and \
                 refusal_window_ms ({}) at least 1000",
                self.max_batch_envelopes, self.refusal_budget, self.refusal_window_ms
            )));
        }
        Ok(())
    }
}
