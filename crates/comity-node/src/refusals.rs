//! Refusals of peers' input, charged to the member that sent it (the one its TLS client
//! certificate names, or the signer of an accepted message) and never to what the input claims.
//! They are counted per peer in fixed windows: one stored row and one log line per peer, code and
//! window, with the count and the first refusal as a sample. A peer past its refusal budget has
//! its batches turned away unparsed (`429 fed.throttled`) until the window ends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use comity_model::{NodeId, Timestamp};
use comity_store::{Inbound, RefusalSummary};
use tokio::sync::watch;

use crate::tls::PeerNode;
use crate::{Node, NodeConfig, NodeError, now_ms};

/// Characters of a refusal's message kept in its sample.
const MAX_DETAIL: usize = 500;
/// Characters kept of what refused input claims (its sender, its message id).
const MAX_CLAIM: usize = 64;
/// The code under which batches turned away unparsed are summarised.
const THROTTLED: &str = "fed.throttled";

/// One refused input and the error it was refused with.
pub(crate) struct Refused<'a> {
    pub(crate) error: &'a NodeError,
    pub(crate) input: Input<'a>,
}

/// What was refused, read only for the first refusal of its code in a window (the sample).
pub(crate) enum Input<'a> {
    /// A line of a batch: whatever it claims is kept as a claim.
    Envelope(&'a [u8]),
    /// A message accepted earlier whose processing (`what`: "could not be replayed",
    /// "refused") failed.
    Message(&'a Inbound, &'static str),
    /// A whole batch.
    Batch,
}

impl Refused<'_> {
    fn sample(&self) -> Sample {
        let detail = match &self.input {
            Input::Message(m, what) => format!("{} {what}: {}", m.kind, self.error),
            _ => self.error.to_string(),
        };
        let (message_id, claimed_from) = match &self.input {
            Input::Envelope(bytes) => claimed(bytes),
            Input::Message(m, _) => (Some(m.id.clone()), Some(m.peer.clone())),
            Input::Batch => (None, None),
        };
        Sample {
            message_id: message_id.map(|s| printable(&s, MAX_CLAIM)),
            claimed_from: claimed_from.map(|s| printable(&s, MAX_CLAIM)),
            detail: printable(&detail, MAX_DETAIL),
        }
    }
}

/// The id and sender a refused envelope claims, if it is JSON with a header saying so. Only
/// these two fields are read: everything else is skipped without being kept, so garbage of any
/// shape costs no more memory than its claim.
fn claimed(bytes: &[u8]) -> (Option<String>, Option<String>) {
    #[derive(serde::Deserialize)]
    struct Claim {
        header: Option<ClaimedHeader>,
    }
    #[derive(serde::Deserialize)]
    struct ClaimedHeader {
        id: Option<String>,
        from: Option<String>,
    }
    match serde_json::from_slice::<Claim>(bytes).map(|c| c.header) {
        Ok(Some(h)) => (h.id, h.from),
        _ => (None, None),
    }
}

/// Cut to `max` characters, control characters replaced: samples end up in logs.
fn printable(s: &str, max: usize) -> String {
    s.chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[derive(Clone)]
struct Sample {
    message_id: Option<String>,
    claimed_from: Option<String>,
    detail: String,
}

struct Tally {
    count: i64,
    first_at: i64,
    last_at: i64,
    sample: Sample,
}

impl Tally {
    fn new(at: i64, sample: Sample) -> Tally {
        Tally {
            count: 0,
            first_at: at,
            last_at: at,
            sample,
        }
    }
}

/// One peer's current window.
struct Window {
    start: i64,
    /// Refusals so far, against the budget.
    refused: u64,
    codes: BTreeMap<&'static str, Tally>,
    /// Requests turned away unparsed; stored when the window ends, so that a throttled peer
    /// costs no write.
    turned_away: Option<Tally>,
}

impl Window {
    fn new(start: i64) -> Window {
        Window {
            start,
            refused: 0,
            codes: BTreeMap::new(),
            turned_away: None,
        }
    }
}

/// A window that ended: what to log, and the turned-away requests still to store.
struct Ended {
    peer: String,
    window: Window,
}

/// What counting a peer's refusals produced.
struct Counted {
    rows: Vec<RefusalSummary>,
    ended: Vec<Ended>,
    /// Set when these refusals took the peer over its budget: until when it is throttled.
    throttled_until: Option<i64>,
    refused: u64,
}

/// The node's refusal counts, per peer, for the current window.
pub(crate) struct Refusals {
    budget: u64,
    window_ms: i64,
    peers: Mutex<HashMap<String, Window>>,
}

impl Refusals {
    pub(crate) fn new(config: &NodeConfig) -> Refusals {
        Refusals {
            budget: config.refusal_budget,
            window_ms: config.refusal_window_ms,
            peers: Mutex::new(HashMap::new()),
        }
    }

    fn window_start(&self, now: i64) -> i64 {
        now - now.rem_euclid(self.window_ms)
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<String, Window>> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn count(&self, peer: &str, refused: &[Refused<'_>], now: i64) -> Counted {
        let start = self.window_start(now);
        let mut peers = self.peers();
        let mut ended = Vec::new();
        let window = peers
            .entry(peer.to_owned())
            .or_insert_with(|| Window::new(start));
        if window.start != start {
            let old = std::mem::replace(window, Window::new(start));
            ended.push(Ended {
                peer: peer.to_owned(),
                window: old,
            });
        }
        let before = window.refused;
        let mut added: BTreeMap<&'static str, i64> = BTreeMap::new();
        for r in refused {
            let code = r.error.code();
            let tally = window
                .codes
                .entry(code)
                .or_insert_with(|| Tally::new(now, r.sample()));
            tally.count += 1;
            tally.last_at = now;
            *added.entry(code).or_default() += 1;
        }
        window.refused += refused.len() as u64;
        let mut rows: Vec<RefusalSummary> = added
            .into_iter()
            .map(|(code, count)| {
                let t = &window.codes[code];
                summary(peer, code, start, count, t.first_at, now, &t.sample)
            })
            .collect();
        rows.extend(ended.iter().filter_map(Ended::turned_away_row));
        let crossed = before < self.budget && window.refused >= self.budget;
        Counted {
            rows,
            ended,
            throttled_until: crossed.then_some(start + self.window_ms),
            refused: window.refused,
        }
    }

    /// Whether `peer` may be served now; when it is over its budget the request is counted as
    /// turned away and the answer says until when.
    fn admit(&self, peer: &str, now: i64) -> Result<(), (i64, u64)> {
        let start = self.window_start(now);
        let mut peers = self.peers();
        let Some(window) = peers.get_mut(peer) else {
            return Ok(());
        };
        if window.start != start || window.refused < self.budget {
            return Ok(());
        }
        let sample = Sample {
            message_id: None,
            claimed_from: None,
            detail: format!(
                "batches turned away unparsed: over the budget of {} refusals in the window",
                self.budget
            ),
        };
        let tally = window
            .turned_away
            .get_or_insert_with(|| Tally::new(now, sample));
        tally.count += 1;
        tally.last_at = now;
        Err((start + self.window_ms, self.budget))
    }

    /// Until when `peer` is throttled, if it is now.
    pub(crate) fn throttled_until(&self, peer: &str, now: i64) -> Option<i64> {
        let start = self.window_start(now);
        self.peers()
            .get(peer)
            .filter(|w| w.start == start && w.refused >= self.budget)
            .map(|_| start + self.window_ms)
    }

    /// Takes the windows that ended before `now` (every window when `now` is `None`).
    fn take_ended(&self, now: Option<i64>) -> Vec<Ended> {
        let current = now.map(|n| self.window_start(n));
        let mut peers = self.peers();
        let done: Vec<String> = peers
            .iter()
            .filter(|(_, w)| current.is_none_or(|c| w.start < c))
            .map(|(p, _)| p.clone())
            .collect();
        done.into_iter()
            .filter_map(|peer| {
                let window = peers.remove(&peer)?;
                Some(Ended { peer, window })
            })
            .collect()
    }
}

fn summary(
    peer: &str,
    code: &str,
    window_start: i64,
    count: i64,
    first_at: i64,
    last_at: i64,
    sample: &Sample,
) -> RefusalSummary {
    RefusalSummary {
        peer: peer.to_owned(),
        code: code.to_owned(),
        window_start,
        count,
        first_at,
        last_at,
        message_id: sample.message_id.clone(),
        claimed_from: sample.claimed_from.clone(),
        detail: sample.detail.clone(),
    }
}

impl Ended {
    fn turned_away_row(&self) -> Option<RefusalSummary> {
        let t = self.window.turned_away.as_ref()?;
        Some(summary(
            &self.peer,
            THROTTLED,
            self.window.start,
            t.count,
            t.first_at,
            t.last_at,
            &t.sample,
        ))
    }

    /// One line per code, with the count and the sample.
    fn log(&self) {
        let peer = &self.peer;
        let from = Timestamp::from_unix_ms(self.window.start);
        for (code, t) in &self.window.codes {
            let s = &t.sample;
            tracing::warn!(
                peer,
                code,
                count = t.count,
                window_start = %from,
                claimed_from = s.claimed_from.as_deref().unwrap_or("-"),
                message_id = s.message_id.as_deref().unwrap_or("-"),
                "{} input(s) from {peer} refused with {code} in the window from {from}; first: {}",
                t.count,
                s.detail
            );
        }
        if let Some(t) = &self.window.turned_away {
            tracing::warn!(
                peer,
                code = THROTTLED,
                count = t.count,
                window_start = %from,
                "{} request(s) from {peer} turned away unparsed in the window from {from}: over its refusal budget",
                t.count
            );
        }
    }
}

impl Node {
    /// Counts `peer`'s refused input, adds it to the stored summaries in one write and logs
    /// the windows that ended.
    pub(crate) async fn refuse(&self, peer: &str, refused: &[Refused<'_>]) {
        if refused.is_empty() {
            return;
        }
        let counted = self.inner.refusals.count(peer, refused, now_ms());
        if let Some(until) = counted.throttled_until {
            tracing::warn!(
                peer,
                refused = counted.refused,
                budget = self.inner.config.refusal_budget,
                "{peer} is throttled until {}: {} refusals in this window; its batches are answered 429 {THROTTLED} unparsed",
                Timestamp::from_unix_ms(until),
                counted.refused
            );
        }
        for e in &counted.ended {
            e.log();
        }
        if let Err(e) = self.inner.store.record_refusals(&counted.rows).await {
            tracing::error!(error = %e, "could not record refusals");
        }
    }

    /// A message accepted earlier whose processing was refused: counted against its signer,
    /// and marked so that it is not processed again.
    pub(crate) async fn refuse_message(&self, m: &Inbound, error: &NodeError, what: &'static str) {
        self.refuse(
            &m.peer,
            &[Refused {
                error,
                input: Input::Message(m, what),
            }],
        )
        .await;
        if let Err(e) = self
            .inner
            .store
            .refuse_inbound(&m.id, error.code(), now_ms())
            .await
        {
            tracing::error!(error = %e, message = %m.id, "could not mark a refused message");
        }
    }

    /// Refuses a request of a peer over its refusal budget (`fed.throttled`).
    pub(crate) fn admit(&self, peer: &NodeId) -> Result<(), NodeError> {
        let now = now_ms();
        self.inner
            .refusals
            .admit(peer.as_str(), now)
            .map_err(|(until, budget)| NodeError::Throttled {
                peer: peer.to_string(),
                budget,
                until: Timestamp::from_unix_ms(until).to_string(),
                retry_after_s: u64::try_from((until - now + 999) / 1000)
                    .unwrap_or(1)
                    .max(1),
            })
    }

    /// Logs and stores the windows that ended; all of them when `everything`.
    pub(crate) async fn close_windows(&self, everything: bool) {
        let now = (!everything).then(now_ms);
        let ended = self.inner.refusals.take_ended(now);
        for e in &ended {
            e.log();
        }
        let rows: Vec<RefusalSummary> = ended.iter().filter_map(Ended::turned_away_row).collect();
        if let Err(e) = self.inner.store.record_refusals(&rows).await {
            tracing::error!(error = %e, "could not record turned-away requests");
        }
    }
}

/// Closes ended windows as time passes, so that a peer that stops sending still gets its log
/// lines. The windows still open when the node stops are closed by `RunningNode::shutdown`,
/// once no task writes any more.
pub(crate) async fn run(node: Node, mut shutdown: watch::Receiver<bool>) {
    let every = Duration::from_millis(
        u64::try_from(node.config().refusal_window_ms / 4)
            .unwrap_or(1000)
            .clamp(250, 5000),
    );
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => node.close_windows(false).await,
            _ = shutdown.changed() => return,
        }
    }
}

/// The member a federation request comes from, named by its TLS client certificate.
pub(crate) struct Sender(pub(crate) NodeId);

impl FromRequestParts<Node> for Sender {
    type Rejection = NodeError;

    async fn from_request_parts(parts: &mut Parts, _node: &Node) -> Result<Self, NodeError> {
        match parts.extensions.get::<PeerNode>() {
            Some(PeerNode(peer)) => Ok(Sender(peer.clone())),
            None => Err(NodeError::UnknownNode(
                "(a client without a member's TLS certificate)".into(),
            )),
        }
    }
}

/// Turns away the batch of a member over its refusal budget with `429 fed.throttled`, before
/// anything of it is parsed; the body is read and dropped behind the answer
/// (`body::drain_unread`), so the sender sees `Retry-After` rather than a reset.
pub(crate) async fn throttle(State(node): State<Node>, request: Request, next: Next) -> Response {
    let throttled = request
        .extensions()
        .get::<PeerNode>()
        .and_then(|PeerNode(peer)| node.admit(peer).err());
    match throttled {
        Some(throttled) => throttled.into_response(),
        None => next.run(request).await,
    }
}
