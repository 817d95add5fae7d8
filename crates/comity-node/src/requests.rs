//! Cooperation requests in the running node (docs/workflows.md "In the node"). Both nodes of a
//! request replay the same pure workflow functions: the requesting node sends the draft it
//! opened and the time; each transition travels as the acting node, its role, the action and
//! the time. Every state change is stored with its event and its `request_state` ledger entry in
//! one transaction; the scheduler follows the due times and records reminders, escalations and
//! expiries.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use comity_law::{Channel, LawPacks, Measure, Question};
use comity_ledger::entry::{Digest, Subject};
use comity_ledger::{Entry, EntryKind};
use comity_model::{
    Body as MessageBody, MessageId, MessageKind, NodeId, REQUEST_MESSAGE_VERSION, RequestAction,
    RequestOpen, Role, Timestamp,
};
use comity_store::{
    Inbound, NewRequest, Rejection, RequestChange, RequestEvent, Side, StoredRequest,
};
use comity_workflow::{
    Action, Actor, Alert, AlertKind, Body, Draft, FollowUp, Link, Request, Rules, Scheduler,
    Transition, UseConditions, WorkflowError,
};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::ledger::to_append;
use crate::{Node, NodeError, SendRequest, now_ms};

/// The law packs, deadline rules and scheduler of a node.
pub(crate) struct Workflows {
    pub(crate) law: Arc<LawPacks>,
    pub(crate) rules: Rules,
    pub(crate) scheduler: Mutex<Scheduler>,
}

impl Workflows {
    pub(crate) fn new(law: Arc<LawPacks>, supervisor: &str) -> Result<Self, NodeError> {
        Ok(Workflows {
            law,
            rules: Rules::shipped()?,
            scheduler: Mutex::new(Scheduler::new(supervisor)),
        })
    }
}

/// What an officer asks the node to open.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRequest {
    pub to: NodeId,
    /// `{"kind": "...", "body": {...}}`, as `comity_workflow::Body`.
    pub body: Body,
    /// Answers to the content items the instruments require, keyed by the item's words.
    #[serde(default)]
    pub content: BTreeMap<String, String>,
    pub conditions: UseConditions,
    #[serde(default)]
    pub links: Vec<Link>,
    /// The channel to use (`24_7`, `central_authority`, ...); the first the bases allow otherwise.
    pub channel: Option<String>,
    /// Needed to send against a negative pre-flight; the recipient sees it.
    pub override_reason: Option<String>,
}

/// An action of this node on a request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActOn {
    /// The role this node acts in; the first role of its descriptor otherwise.
    pub role: Option<Role>,
    pub action: Action,
}

fn law_error(e: comity_law::LawError) -> WorkflowError {
    WorkflowError::LawQuestion {
        code: e.code(),
        message: e.to_string(),
    }
}

fn subject(kind: &str, id: impl ToString) -> Subject {
    Subject {
        kind: kind.to_owned(),
        id: id.to_string(),
    }
}

/// The `request_state` entry of a transition: which request, with whom, the states, and the
/// digest of the request JSON after it.
fn state_entry(
    me: &NodeId,
    actor: Option<&Actor>,
    peer: &str,
    request: &Request,
    t: &Transition,
    json: &str,
    at: Timestamp,
) -> Result<comity_store::LedgerAppend, NodeError> {
    let mut attrs: BTreeMap<String, String> = BTreeMap::new();
    attrs.insert("kind".into(), request.kind.as_str().into());
    attrs.insert("to".into(), t.to.as_str().into());
    if let Some(from) = t.from {
        attrs.insert("from".into(), from.as_str().into());
    }
    if let Some(a) = actor {
        attrs.insert("role".into(), a.role.as_str().into());
    }
    let entry = Entry {
        kind: EntryKind::RequestState,
        time_ms: u64::try_from(at.unix_ms()).unwrap_or(0),
        actor: actor.map_or_else(|| me.to_string(), |a| a.node.to_string()),
        subjects: vec![subject("request", request.id), subject("node", peer)],
        digests: vec![Digest {
            label: "request".into(),
            sha256: hex::encode(Sha256::digest(json.as_bytes())),
        }],
        attrs,
    };
    to_append(&entry)
}

fn change_of(request: &Request) -> Result<(RequestChange, String), NodeError> {
    let json = serde_json::to_string(request)
        .map_err(|e| NodeError::BadRequest(format!("request cannot be written: {e}")))?;
    Ok((
        RequestChange {
            state: request.state.as_str().to_owned(),
            due_at: request.due.as_ref().map(|d| d.at.unix_ms()),
            request: json.clone(),
        },
        json,
    ))
}

fn transition_event(
    actor: Option<&Actor>,
    action: Option<&Action>,
    t: &Transition,
    at: Timestamp,
    message_id: Option<String>,
) -> RequestEvent {
    RequestEvent {
        event: "transition".into(),
        actor_node: actor.map(|a| a.node.to_string()),
        actor_role: actor.map(|a| a.role.as_str().to_owned()),
        action: action.and_then(|a| serde_json::to_string(a).ok()),
        from_state: t.from.map(|s| s.as_str().to_owned()),
        to_state: t.to.as_str().to_owned(),
        at: at.unix_ms(),
        articles: serde_json::to_string(&t.articles).unwrap_or_else(|_| "[]".into()),
        detail: None,
        message_id,
    }
}

/// Request messages are sent by the node itself, with the request stored first: a user sending
/// one through the message route would leave the two sides with different requests.
pub(crate) fn refuse_raw(kind: &str) -> Result<(), NodeError> {
    if kind == MessageKind::RequestOpen.as_str() || kind == MessageKind::RequestAction.as_str() {
        return Err(NodeError::BadRequest(format!(
            "{kind} messages are sent by the node: use /api/v1/requests"
        )));
    }
    if crate::evidence_transfer::is_evidence_kind(kind) {
        return Err(NodeError::BadRequest(format!(
            "{kind} messages are sent by the node: use /api/v1/evidence/{{sha256}}/send or \
             /api/v1/evidence/{{sha256}}/consents"
        )));
    }
    Ok(())
}

pub(crate) fn read_request(stored: &StoredRequest) -> Result<Request, NodeError> {
    Ok(Request::from_json(&stored.request)?)
}

impl Node {
    fn workflows(&self) -> &Workflows {
        &self.inner.workflows
    }

    fn track(&self, t: &Transition, now: Timestamp) {
        if let Ok(mut s) = self.workflows().scheduler.lock() {
            s.track(t, now);
        }
    }

    /// Asks the law engine about the measure between this node's state and the peer's (and
    /// about dual criminality where the basis requires it), and keeps its answers as the
    /// request's pre-flight record.
    fn preflight(
        &self,
        to: &NodeId,
        body: &Body,
        channel: Option<&str>,
        override_reason: Option<String>,
        now: Timestamp,
    ) -> Result<Option<comity_workflow::Preflight>, NodeError> {
        let Some(measure) = body.measure() else {
            return Ok(None);
        };
        let peer = self
            .trust()
            .member(to)
            .ok_or_else(|| NodeError::UnknownNode(to.to_string()))?;
        let law = &self.workflows().law;
        let date = &now.to_string()[..10];
        let q = law
            .question_from_json(&serde_json::json!({
                "question": "legal_basis",
                "requesting": self.descriptor().descriptor.jurisdiction.to_string(),
                "requested": peer.jurisdiction.to_string(),
                "measure": measure.as_str(),
                "date": date,
                "offences": body.offences(),
            }))
            .map_err(law_error)?;
        let Question::LegalBasis(q) = q else {
            return Err(NodeError::BadRequest(
                "the law engine read a legal_basis question as another".into(),
            ));
        };
        let basis = law.legal_basis(&q);
        let channel = match channel {
            Some(c) => Some(Channel::parse(c).ok_or_else(|| {
                NodeError::BadRequest(format!(
                    "unknown channel {c:?}: use one of {}",
                    Channel::spellings()
                ))
            })?),
            None => basis.channels.first().copied(),
        };
        let dual = if basis.dual_criminality_required && !body.offences().is_empty() {
            let purpose = match measure {
                Measure::Preservation => "preservation",
                Measure::Extradition | Measure::ProvisionalArrest => "extradition",
                _ => "mla",
            };
            let q = law
                .question_from_json(&serde_json::json!({
                    "question": "dual_criminality",
                    "requesting": basis.requesting.to_string(),
                    "requested": basis.requested.to_string(),
                    "purpose": purpose,
                    "conduct": {"offences": body.offences()},
                    "date": date,
                }))
                .map_err(law_error)?;
            match q {
                Question::DualCriminality(q) => Some(law.dual_criminality(&q)),
                _ => None,
            }
        } else {
            None
        };
        let mut pf = comity_workflow::preflight(&basis, dual.as_ref(), None, channel);
        if let Some(reason) = override_reason {
            pf = pf.with_override(reason);
        }
        Ok(Some(pf))
    }

    /// Opens a request from this node's user: pre-flight, open, store, send.
    pub async fn open_request(&self, req: OpenRequest) -> Result<Request, NodeError> {
        if self.trust().member(&req.to).is_none() {
            return Err(NodeError::UnknownNode(req.to.to_string()));
        }
        let now_ms = now_ms();
        let now = Timestamp::from_unix_ms(now_ms);
        let preflight = self.preflight(
            &req.to,
            &req.body,
            req.channel.as_deref(),
            req.override_reason,
            now,
        )?;
        let id = MessageId::from_parts(u64::try_from(now_ms).unwrap_or(0), rand::random());
        let draft = Draft {
            id,
            requesting: self.id().clone(),
            requested: req.to.clone(),
            body: req.body,
            content: req.content,
            conditions: req.conditions,
            preflight,
            links: req.links,
        };
        let draft_json = serde_json::to_value(&draft)
            .map_err(|e| NodeError::BadRequest(format!("draft cannot be written: {e}")))?;
        let (request, t) = Request::open(draft, &self.workflows().rules, now)?;
        let (change, json) = change_of(&request)?;
        let ledger = state_entry(self.id(), None, req.to.as_str(), &request, &t, &json, now)?;
        let event = transition_event(None, None, &t, now, None);
        let new = NewRequest {
            id: id.to_string(),
            kind: request.kind.as_str().to_owned(),
            side: Side::Requesting,
            peer: req.to.to_string(),
            change,
        };
        self.store().insert_request(&new, &event, &ledger).await?;
        self.track(&t, now);
        let body = MessageBody::RequestOpen(RequestOpen {
            v: REQUEST_MESSAGE_VERSION,
            draft: draft_json,
            at: now,
        });
        self.send_request_message(&request, 1, body, None).await?;
        for f in &t.follow_ups {
            if let FollowUp::ExtendPreservation { preservation } = f {
                self.extend_preservation(*preservation, request.id, &req.to)
                    .await;
            }
        }
        Ok(request)
    }

    /// The assistance request that follows a preservation extends it (Art. 29.7): the
    /// requesting node applies `extend` to the preservation it sent to the same peer. A
    /// preservation that is not (or no longer) preserved is left as it is.
    async fn extend_preservation(&self, preservation: MessageId, mla: MessageId, peer: &NodeId) {
        let id = preservation.to_string();
        match self.store().get_request(&id).await {
            Ok(Some(r)) if r.peer == peer.as_str() && r.side == Side::Requesting => {}
            _ => return,
        }
        let act = ActOn {
            role: None,
            action: Action::Extend { mla },
        };
        if let Err(e) = self.act_on_request(&id, act).await {
            tracing::warn!(code = e.code(), request = %id, "preservation not extended: {e}");
        }
    }

    /// Applies an action of this node's user, stores it and sends it to the other side.
    pub async fn act_on_request(&self, id: &str, act: ActOn) -> Result<Request, NodeError> {
        let stored = self
            .store()
            .get_request(id)
            .await?
            .ok_or_else(|| NodeError::NotFound(format!("request {id}")))?;
        let roles = &self.descriptor().descriptor.roles;
        let role = match act.role {
            Some(r) if roles.contains(&r) => r,
            Some(r) => {
                return Err(NodeError::BadRequest(format!(
                    "this node does not hold the role {r} (its roles: {})",
                    roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            None => *roles
                .first()
                .ok_or_else(|| NodeError::BadRequest("this node holds no role".into()))?,
        };
        let actor = Actor {
            node: self.id().clone(),
            role,
        };
        let now = Timestamp::from_unix_ms(now_ms());
        let mut request = read_request(&stored)?;
        let t = request.apply(&self.workflows().rules, &actor, act.action.clone(), now)?;
        let (change, json) = change_of(&request)?;
        let ledger = state_entry(
            self.id(),
            Some(&actor),
            &stored.peer,
            &request,
            &t,
            &json,
            now,
        )?;
        let event = transition_event(Some(&actor), Some(&act.action), &t, now, None);
        let seq = self
            .store()
            .record_transition(id, stored.version, &change, &event, &ledger)
            .await?;
        self.track(&t, now);
        let action = serde_json::to_value(&act.action)
            .map_err(|e| NodeError::BadRequest(format!("action cannot be written: {e}")))?;
        let body = MessageBody::RequestAction(RequestAction {
            v: REQUEST_MESSAGE_VERSION,
            request: request.id,
            node: actor.node.clone(),
            role,
            action,
            at: now,
        });
        let parent = self.opening_message(id).await?;
        self.send_request_message(&request, seq, body, parent)
            .await?;
        Ok(request)
    }

    /// The message the request travelled in when it was opened, for threading the actions.
    async fn opening_message(&self, id: &str) -> Result<Option<MessageId>, NodeError> {
        let events = self.store().request_events(id).await?;
        Ok(events
            .first()
            .and_then(|e| e.event.message_id.as_deref())
            .and_then(|m| m.parse().ok()))
    }

    async fn send_request_message(
        &self,
        request: &Request,
        seq: i64,
        body: MessageBody,
        in_reply_to: Option<MessageId>,
    ) -> Result<(), NodeError> {
        let to = if request.requesting == *self.id() {
            request.requested.clone()
        } else {
            request.requesting.clone()
        };
        let accepted = self
            .send(SendRequest {
                to,
                kind: body.kind().to_string(),
                body: body.to_json(),
                in_reply_to,
                handling: None,
            })
            .await?;
        self.store()
            .set_request_event_message(&request.id.to_string(), seq, &accepted.id.to_string())
            .await?;
        Ok(())
    }

    /// Replays a request message accepted from a peer. Idempotent; a refusal is recorded with
    /// its code and never changes a stored request.
    pub(crate) async fn replay_request_message(&self, m: &Inbound) {
        let outcome = match m.kind.as_str() {
            "request.open" => self.replay_open(m).await,
            "request.action" => self.replay_action(m).await,
            _ => return,
        };
        if let Err(e) = outcome {
            let rejection = Rejection {
                at: now_ms(),
                peer: Some(m.peer.clone()),
                message_id: Some(m.id.clone()),
                code: e.code().to_owned(),
                detail: format!("{} could not be replayed: {e}", m.kind),
            };
            tracing::warn!(code = e.code(), peer = %m.peer, "refused a request message: {e}");
            if let Err(e) = self.store().record_rejection(&rejection).await {
                tracing::error!(error = %e, "could not record a refusal");
            }
        }
    }

    async fn replay_open(&self, m: &Inbound) -> Result<(), NodeError> {
        let open: RequestOpen = serde_json::from_slice(&m.body)
            .map_err(|e| NodeError::BadRequest(format!("request.open body: {e}")))?;
        let draft: Draft =
            serde_json::from_value(open.draft).map_err(|e| WorkflowError::Unreadable {
                reason: e.to_string(),
            })?;
        if draft.requesting.as_str() != m.peer || draft.requested != *self.id() {
            return Err(NodeError::BadRequest(format!(
                "a request from {} to {} cannot arrive from {} at {}",
                draft.requesting,
                draft.requested,
                m.peer,
                self.id()
            )));
        }
        let id = draft.id.to_string();
        let (request, t) = Request::open(draft, &self.workflows().rules, open.at)?;
        let (change, json) = change_of(&request)?;
        let ledger = state_entry(self.id(), None, &m.peer, &request, &t, &json, open.at)?;
        let event = transition_event(None, None, &t, open.at, Some(m.id.clone()));
        let new = NewRequest {
            id,
            kind: request.kind.as_str().to_owned(),
            side: Side::Requested,
            peer: m.peer.clone(),
            change,
        };
        let inserted = self.store().insert_request(&new, &event, &ledger).await?;
        if inserted {
            self.track(&t, Timestamp::from_unix_ms(now_ms()));
        }
        Ok(())
    }

    async fn replay_action(&self, m: &Inbound) -> Result<(), NodeError> {
        if self.store().request_message_seen(&m.id).await? {
            return Ok(());
        }
        let msg: RequestAction = serde_json::from_slice(&m.body)
            .map_err(|e| NodeError::BadRequest(format!("request.action body: {e}")))?;
        if msg.node.as_str() != m.peer {
            return Err(NodeError::BadRequest(format!(
                "an action of {} cannot arrive from {}",
                msg.node, m.peer
            )));
        }
        let holds = self
            .trust()
            .member(&msg.node)
            .is_some_and(|d| d.roles.contains(&msg.role));
        if !holds {
            return Err(NodeError::BadRequest(format!(
                "{} does not hold the role {} in the trust list",
                msg.node, msg.role
            )));
        }
        let action: Action =
            serde_json::from_value(msg.action).map_err(|e| WorkflowError::Unreadable {
                reason: e.to_string(),
            })?;
        let id = msg.request.to_string();
        let stored = self
            .store()
            .get_request(&id)
            .await?
            .filter(|r| r.peer == m.peer)
            .ok_or_else(|| NodeError::NotFound(format!("request {id} shared with {}", m.peer)))?;
        let mut request = read_request(&stored)?;
        let actor = Actor {
            node: msg.node,
            role: msg.role,
        };
        let t = request.apply(&self.workflows().rules, &actor, action.clone(), msg.at)?;
        let (change, json) = change_of(&request)?;
        let ledger = state_entry(
            self.id(),
            Some(&actor),
            &m.peer,
            &request,
            &t,
            &json,
            msg.at,
        )?;
        let event = transition_event(Some(&actor), Some(&action), &t, msg.at, Some(m.id.clone()));
        self.store()
            .record_transition(&id, stored.version, &change, &event, &ledger)
            .await?;
        self.track(&t, Timestamp::from_unix_ms(now_ms()));
        Ok(())
    }

    /// Rebuilds the scheduler from the stored requests' due times.
    pub(crate) async fn load_schedule(&self) -> Result<usize, NodeError> {
        let now = Timestamp::from_unix_ms(now_ms());
        let mut loaded = Vec::new();
        for stored in self.store().requests_with_due().await? {
            match read_request(&stored) {
                Ok(r) => {
                    if let Some(due) = r.due {
                        loaded.push((r.id, due));
                    }
                }
                Err(e) => tracing::error!(request = %stored.id, "stored request unreadable: {e}"),
            }
        }
        let n = loaded.len();
        if let Ok(mut s) = self.workflows().scheduler.lock() {
            for (id, due) in loaded {
                s.set(id, due, now);
            }
        }
        Ok(n)
    }

    /// Records the reminders, escalations and overdue alerts due at `now`, and ends the
    /// requests whose hard deadline passed. The node calls it on every tick; tests pass a
    /// later `now` instead of waiting for real deadlines. Returns the alerts recorded.
    pub async fn poll_requests(&self, now: Timestamp) -> Result<Vec<Alert>, NodeError> {
        let alerts = match self.workflows().scheduler.lock() {
            Ok(mut s) => s.poll(now),
            Err(_) => Vec::new(),
        };
        for alert in &alerts {
            let id = alert.request.to_string();
            let Some(stored) = self.store().get_request(&id).await? else {
                continue;
            };
            let (detail, to) = match &alert.kind {
                AlertKind::Reminder => (format!("reminder: {}", alert.what), "reminder"),
                AlertKind::CentralAuthority => (
                    format!("escalated to the central authority: {}", alert.what),
                    "central_authority",
                ),
                AlertKind::Supervisor { name } => {
                    (format!("escalated to {name}: {}", alert.what), "supervisor")
                }
                AlertKind::Overdue => (format!("overdue: {}", alert.what), "overdue"),
            };
            let event = RequestEvent {
                event: "alert".into(),
                actor_node: None,
                actor_role: None,
                action: None,
                from_state: Some(stored.state.clone()),
                to_state: to.into(),
                at: now.unix_ms(),
                articles: serde_json::to_string(&[&alert.article]).unwrap_or_default(),
                detail: Some(format!("{detail} (due {})", alert.due)),
                message_id: None,
            };
            self.store().record_request_alert(&id, &event).await?;
            if alert.kind == AlertKind::Overdue && alert.hard {
                self.expire_request(&id, now).await?;
            }
        }
        Ok(alerts)
    }

    async fn expire_request(&self, id: &str, now: Timestamp) -> Result<(), NodeError> {
        let Some(stored) = self.store().get_request(id).await? else {
            return Ok(());
        };
        let mut request = read_request(&stored)?;
        let Some(t) = request.expire(now) else {
            return Ok(());
        };
        let at = request.history.last().map_or(now, |e| e.at);
        let (change, json) = change_of(&request)?;
        let ledger = state_entry(self.id(), None, &stored.peer, &request, &t, &json, at)?;
        let event = transition_event(None, None, &t, at, None);
        self.store()
            .record_transition(id, stored.version, &change, &event, &ledger)
            .await?;
        self.track(&t, now);
        Ok(())
    }
}

/// Polls the scheduler on every tick until shutdown (`RunningNode::start` loaded it).
pub(crate) async fn run(node: Node, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_millis(node.config().tick_ms.max(1));
    loop {
        if let Err(e) = node.poll_requests(Timestamp::from_unix_ms(now_ms())).await {
            tracing::error!(code = e.code(), "request scheduler: {e}");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}
