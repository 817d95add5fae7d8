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
use comity_store::{Inbound, NewRequest, RequestChange, RequestEvent, Side, StoredRequest};
use comity_workflow::{
    Action, Actor, Alert, AlertKind, Body, Draft, FollowUp, Link, Merged, Request, Rules,
    Scheduler, Stamped, Transition, UseConditions, WorkflowError,
};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::ledger::to_append;
use crate::{Node, NodeError, SendRequest, now_ms};

/// How often a write that raced with another is read and tried again.
const CONFLICT_RETRIES: usize = 8;
/// How long a request message that could not be replayed yet (its request not arrived, the
/// store busy) is kept for another try before it is refused; a day covers a peer's queue that
/// was held back by an outage.
const PENDING_MS: i64 = 86_400_000;
/// How many waiting request messages one tick replays.
const PENDING_BATCH: i64 = 100;

/// Whether a replay failed for a reason that may pass: the store busy or in conflict, or a
/// request not (yet) stored here.
fn passing(e: &NodeError) -> bool {
    match e {
        NodeError::NotFound(_) => true,
        NodeError::Store(s) => !matches!(s, comity_store::StoreError::Corrupt(_)),
        _ => false,
    }
}

/// What a merge did, for the timeline: replayed in order, and the actions it superseded.
fn merge_detail(m: &Merged) -> Option<String> {
    let mut parts = Vec::new();
    if m.replayed {
        parts.push(
            "concurrent actions: the history was replayed in the order (version, time, node)"
                .to_owned(),
        );
    }
    parts.extend(
        m.superseded
            .iter()
            .map(|s| format!("{}: {}", s.code, s.reason)),
    );
    (!parts.is_empty()).then(|| parts.join("; "))
}

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

/// The law engine's `extradition` question for an extradition or provisional arrest body: the
/// person's nationalities (a state may refuse its own), the offences and the penalty or sentence
/// (thresholds), the dates (lapse of time).
fn extradition_question(
    body: &Body,
    basis: &comity_law::LegalBasisAnswer<'_>,
    facts: &BTreeMap<String, bool>,
    date: &str,
) -> Option<serde_json::Value> {
    let (person, purpose, sentence, committed) = match body {
        Body::Extradition(x) => (
            &x.person,
            x.purpose,
            x.sentence_months,
            x.committed_on.map(|d| d.to_string()),
        ),
        Body::ProvisionalArrest(a) => (
            &a.person,
            comity_workflow::ExtraditionPurpose::Prosecution,
            None,
            None,
        ),
        _ => return None,
    };
    let mut q = serde_json::json!({
        "question": "extradition",
        "requesting": basis.requesting.to_string(),
        "requested": basis.requested.to_string(),
        "person": {"nationalities": person.nationalities},
        "offences": body.offences(),
        "purpose": purpose,
        "facts": facts,
        "date": date,
    });
    if let Some(m) = sentence {
        q["sentence_months"] = m.into();
    }
    if let Some(d) = committed {
        q["committed_on"] = d.into();
    }
    Some(q)
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
    /// The offence elements the facts establish (taxonomy conditions such as
    /// `security_measure_infringed`, and the engine's own such as `political_offence`), for the
    /// dual-criminality and extradition questions: a national provision counts only when the
    /// facts establish each of its conditions.
    #[serde(default)]
    pub facts: BTreeMap<String, bool>,
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

pub(crate) fn law_error(e: comity_law::LawError) -> WorkflowError {
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

/// What the `event` digest of a `request_state` entry covers: SHA-256 of the JSON array of the
/// timeline event's stored fields, in this order. The timeline row is checked against it.
pub(crate) fn event_digest(e: &RequestEvent) -> [u8; 32] {
    let fields = (
        &e.event,
        &e.actor_node,
        &e.actor_role,
        &e.action,
        &e.from_state,
        &e.to_state,
        e.at,
        &e.articles,
        &e.detail,
        &e.message_id,
    );
    let bytes = serde_json::to_vec(&fields).unwrap_or_default();
    Sha256::digest(bytes).into()
}

/// The `request_state` entry of a transition: which request, with whom, the states, the
/// digest of the request JSON after it and the digest of its timeline event.
#[allow(clippy::too_many_arguments)]
fn state_entry(
    me: &NodeId,
    actor: Option<&Actor>,
    peer: &str,
    request: &Request,
    t: &Transition,
    json: &str,
    at: Timestamp,
    event: &RequestEvent,
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
        digests: vec![
            Digest {
                label: "request".into(),
                sha256: hex::encode(Sha256::digest(json.as_bytes())),
            },
            Digest {
                label: "event".into(),
                sha256: hex::encode(event_digest(event)),
            },
        ],
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

impl Node {
    /// A stored request, checked against what its latest `request_state` entry recorded
    /// (`integrity::check_request`) before anything reads or builds on it.
    pub(crate) async fn read_request(&self, stored: &StoredRequest) -> Result<Request, NodeError> {
        let checked = self.check_request(stored).await;
        Ok(self.verdict(checked).await?.0)
    }

    pub(crate) fn workflows(&self) -> &Workflows {
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
    pub(crate) fn preflight(
        &self,
        to: &NodeId,
        body: &Body,
        facts: &BTreeMap<String, bool>,
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
                    "conduct": {"offences": body.offences(), "facts": facts},
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
        let extradition = match extradition_question(body, &basis, facts, date) {
            Some(json) => match law.question_from_json(&json).map_err(law_error)? {
                Question::Extradition(q) => Some(law.extradition(&q).map_err(law_error)?),
                _ => None,
            },
            None => None,
        };
        let mut pf =
            comity_workflow::preflight(&basis, dual.as_ref(), extradition.as_ref(), channel);
        if let Some(reason) = override_reason {
            pf = pf.with_override(reason);
        }
        Ok(Some(pf))
    }

    /// The draft `req` asks this node to open as `id`, with the pre-flight the law engine
    /// gives for it at `now`.
    pub(crate) fn draft(
        &self,
        req: OpenRequest,
        id: MessageId,
        now: Timestamp,
    ) -> Result<Draft, NodeError> {
        if self.trust().member(&req.to).is_none() {
            return Err(NodeError::UnknownNode(req.to.to_string()));
        }
        let preflight = self.preflight(
            &req.to,
            &req.body,
            &req.facts,
            req.channel.as_deref(),
            req.override_reason,
            now,
        )?;
        Ok(Draft {
            id,
            requesting: self.id().clone(),
            requested: req.to,
            body: req.body,
            content: req.content,
            conditions: req.conditions,
            preflight,
            links: req.links,
        })
    }

    /// Opens a request from this node's user: pre-flight, open, store, send.
    pub async fn open_request(&self, req: OpenRequest) -> Result<Request, NodeError> {
        let now_ms = now_ms();
        let now = Timestamp::from_unix_ms(now_ms);
        let id = MessageId::from_parts(u64::try_from(now_ms).unwrap_or(0), rand::random());
        let draft = self.draft(req, id, now)?;
        let to = draft.requested.clone();
        let draft_json = serde_json::to_value(&draft)
            .map_err(|e| NodeError::BadRequest(format!("draft cannot be written: {e}")))?;
        let (request, t) = Request::open(draft, &self.workflows().rules, now)?;
        self.check_forwarding(&request).await?;
        let body = MessageBody::RequestOpen(RequestOpen {
            v: REQUEST_MESSAGE_VERSION,
            draft: draft_json,
            at: now,
        });
        let (outbound, accepted) = self.seal_request_message(&request, body, None).await?;
        let (change, json) = change_of(&request)?;
        let event = transition_event(None, None, &t, now, Some(accepted.id.to_string()));
        let ledger = state_entry(
            self.id(),
            None,
            to.as_str(),
            &request,
            &t,
            &json,
            now,
            &event,
        )?;
        let new = NewRequest {
            id: id.to_string(),
            kind: request.kind.as_str().to_owned(),
            side: Side::Requesting,
            peer: to.to_string(),
            change,
        };
        self.store()
            .insert_request(&new, &event, &ledger, Some(&outbound))
            .await?;
        self.wake_delivery();
        self.track(&t, now);
        for f in &t.follow_ups {
            match f {
                FollowUp::ExtendPreservation { preservation } => {
                    let extend = Action::Extend { mla: request.id };
                    self.follow_up(*preservation, extend, &to).await;
                }
                FollowUp::CloseProvisionalArrest { arrest } => {
                    let received = Action::ExtraditionReceived {
                        extradition: request.id,
                    };
                    self.follow_up(*arrest, received, &to).await;
                }
                FollowUp::OnwardPreservation { .. } | FollowUp::ProsecutionInLieu { .. } => {}
            }
        }
        Ok(request)
    }

    /// A request linking another passes on what was received under it. To a third node that
    /// needs what the use conditions allow (Budapest Arts. 26.2, 28.2): the purposes of the new
    /// request among those given, and the owner's recorded consent where the information is
    /// confidential or onward transfer needs it. On the requesting side the conditions are those
    /// the answer came with; on the requested side, those of the request itself; either with
    /// the consents their owner gave in it since.
    pub(crate) async fn check_forwarding(&self, request: &Request) -> Result<(), NodeError> {
        let to = comity_workflow::Destination::Node(request.requested.clone());
        for link in &request.links {
            let Some(stored) = self.store().get_request(&link.request.to_string()).await? else {
                continue;
            };
            if stored.peer == request.requested.as_str() {
                continue;
            }
            let linked = self.read_request(&stored).await?;
            let conditions = match stored.side {
                Side::Requesting => linked.answer_conditions_in_force(),
                Side::Requested => Some(linked.conditions_in_force()),
            };
            let Some(c) = conditions else { continue };
            for purpose in &request.conditions.purposes {
                c.may_forward(&to, purpose)?;
            }
        }
        Ok(())
    }

    /// Applies what a new request implies for the one it follows, as this node's action sent
    /// like any other: the assistance request extends the preservation (Art. 29.7), the
    /// extradition request closes the provisional arrest (ETS 24 Art. 16). Only for a request
    /// this node sent to the same peer; one no longer in the state the action needs is left as
    /// it is (logged).
    async fn follow_up(&self, target: MessageId, action: Action, peer: &NodeId) {
        let id = target.to_string();
        match self.store().get_request(&id).await {
            Ok(Some(r)) if r.peer == peer.as_str() && r.side == Side::Requesting => {}
            _ => return,
        }
        let roles = self.descriptor().descriptor.roles.clone();
        let mut tries = roles.iter().map(|r| ActOn {
            role: Some(*r),
            action: action.clone(),
        });
        let Some(mut act) = tries.next() else { return };
        // A peer's action replayed meanwhile moves the version: read again and retry. The
        // action may need another of this node's roles than the first.
        for _ in 0..CONFLICT_RETRIES + roles.len() {
            match self.act_on_request(&id, act.clone()).await {
                Err(NodeError::Store(comity_store::StoreError::Conflict(_))) => continue,
                Err(NodeError::Workflow(WorkflowError::WrongRole { .. })) => {
                    if let Some(next) = tries.next() {
                        act = next;
                        continue;
                    }
                    tracing::warn!(request = %id, "follow-up not applied: no role of this node may do it");
                }
                Err(e) => {
                    tracing::warn!(code = e.code(), request = %id, "follow-up not applied: {e}");
                }
                Ok(_) => {}
            }
            return;
        }
        tracing::warn!(request = %id, "follow-up not applied: the request kept changing");
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
        let mut request = self.read_request(&stored).await?;
        let base = request.version();
        let t = request.act(&self.workflows().rules, &actor, act.action.clone(), now)?;
        let action = serde_json::to_value(&act.action)
            .map_err(|e| NodeError::BadRequest(format!("action cannot be written: {e}")))?;
        let body = MessageBody::RequestAction(RequestAction {
            v: REQUEST_MESSAGE_VERSION,
            request: request.id,
            node: actor.node.clone(),
            role,
            action,
            at: now,
            base: Some(base),
        });
        let parent = self.opening_message(id).await?;
        let (outbound, accepted) = self.seal_request_message(&request, body, parent).await?;
        let (change, json) = change_of(&request)?;
        let event = transition_event(
            Some(&actor),
            Some(&act.action),
            &t,
            now,
            Some(accepted.id.to_string()),
        );
        let ledger = state_entry(
            self.id(),
            Some(&actor),
            &stored.peer,
            &request,
            &t,
            &json,
            now,
            &event,
        )?;
        self.store()
            .record_transition(
                id,
                stored.version,
                &change,
                &event,
                &ledger,
                Some(&outbound),
            )
            .await?;
        self.wake_delivery();
        self.track(&t, now);
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

    /// Seals the message that tells the other side; the caller stores it with the state change
    /// it reports, in one transaction.
    async fn seal_request_message(
        &self,
        request: &Request,
        body: MessageBody,
        in_reply_to: Option<MessageId>,
    ) -> Result<(comity_store::NewOutbound, crate::Accepted), NodeError> {
        let to = if request.requesting == *self.id() {
            request.requested.clone()
        } else {
            request.requesting.clone()
        };
        self.seal_message(SendRequest {
            to,
            kind: body.kind().to_string(),
            body: body.to_json(),
            in_reply_to,
            handling: None,
        })
        .await
    }

    /// Replays a request message accepted from a peer. Idempotent; a refusal is recorded with
    /// its code and never changes a stored request. A replay that failed for a passing reason
    /// (the store busy, an action that arrived before its request) is left unrecorded, and
    /// `replay_pending` tries it again.
    pub(crate) async fn replay_request_message(&self, m: &Inbound) {
        let outcome = match m.kind.as_str() {
            "request.open" => self.replay_open(m).await,
            "request.action" => self.replay_action(m).await,
            _ => return,
        };
        let Err(e) = outcome else { return };
        let waiting = now_ms() - m.received_at < PENDING_MS;
        if passing(&e) && waiting {
            tracing::info!(code = e.code(), peer = %m.peer, "request message kept for a later replay: {e}");
            return;
        }
        self.refuse_message(m, &e, "could not be replayed").await;
    }

    /// Replays the request messages received but neither replayed nor refused, oldest first
    /// (on start and on every scheduler tick). Returns how many were tried.
    pub(crate) async fn replay_pending(&self) -> Result<usize, NodeError> {
        let pending = self
            .store()
            .unreplayed_request_messages(PENDING_BATCH)
            .await?;
        for m in &pending {
            // A stored message is replayed only as its sender signed it.
            if let Err(mismatch) = self.check_inbound(m) {
                self.raise(&mismatch).await;
                continue;
            }
            self.replay_request_message(m).await;
        }
        Ok(pending.len())
    }

    async fn replay_open(&self, m: &Inbound) -> Result<(), NodeError> {
        if self.store().request_message_seen(&m.id).await? {
            return Ok(());
        }
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
        let event = transition_event(None, None, &t, open.at, Some(m.id.clone()));
        let ledger = state_entry(
            self.id(),
            None,
            &m.peer,
            &request,
            &t,
            &json,
            open.at,
            &event,
        )?;
        let new = NewRequest {
            id,
            kind: request.kind.as_str().to_owned(),
            side: Side::Requested,
            peer: m.peer.clone(),
            change,
        };
        let inserted = self
            .store()
            .insert_request(&new, &event, &ledger, None)
            .await?;
        if !inserted && !self.store().request_message_seen(&m.id).await? {
            return Err(NodeError::BadRequest(format!(
                "request {} was already opened by another message",
                new.id
            )));
        }
        if inserted {
            self.track(&t, Timestamp::from_unix_ms(now_ms()));
        }
        Ok(())
    }

    async fn replay_action(&self, m: &Inbound) -> Result<(), NodeError> {
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
        let actor = Actor {
            node: msg.node,
            role: msg.role,
        };
        // The version guard refuses a write that raced with another; read again and merge again.
        for _ in 0..CONFLICT_RETRIES {
            if self.store().request_message_seen(&m.id).await? {
                return Ok(());
            }
            let stored = self
                .store()
                .get_request(&id)
                .await?
                .filter(|r| r.peer == m.peer)
                .ok_or_else(|| {
                    NodeError::NotFound(format!("request {id} shared with {}", m.peer))
                })?;
            let mut request = self.read_request(&stored).await?;
            let stamped = Stamped {
                actor: actor.clone(),
                action: action.clone(),
                at: msg.at,
                base: msg.base.unwrap_or_else(|| request.version()),
            };
            let merged = request
                .merge(&self.workflows().rules, stamped)
                .ok_or_else(|| {
                    NodeError::BadRequest(format!(
                        "request {id} already holds this action from another message"
                    ))
                })?;
            let t = &merged.transition;
            let (change, json) = change_of(&request)?;
            let mut event =
                transition_event(Some(&actor), Some(&action), t, msg.at, Some(m.id.clone()));
            event.detail = merge_detail(&merged);
            let ledger = state_entry(
                self.id(),
                Some(&actor),
                &m.peer,
                &request,
                t,
                &json,
                msg.at,
                &event,
            )?;
            match self
                .store()
                .record_transition(&id, stored.version, &change, &event, &ledger, None)
                .await
            {
                Ok(_) => {
                    self.track(t, Timestamp::from_unix_ms(now_ms()));
                    return Ok(());
                }
                Err(comity_store::StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(comity_store::StoreError::Conflict(format!(
            "request {id} kept changing while an action of {} was replayed",
            m.peer
        ))
        .into())
    }

    /// Rebuilds the scheduler from the stored requests' due times.
    pub(crate) async fn load_schedule(&self) -> Result<usize, NodeError> {
        let now = Timestamp::from_unix_ms(now_ms());
        let mut loaded = Vec::new();
        for stored in self.store().requests_with_due().await? {
            match self.read_request(&stored).await {
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
        let mut request = self.read_request(&stored).await?;
        let Some(t) = request.expire(now) else {
            return Ok(());
        };
        let at = request.history.last().map_or(now, |e| e.at);
        let (change, json) = change_of(&request)?;
        let event = transition_event(None, None, &t, at, None);
        let ledger = state_entry(
            self.id(),
            None,
            &stored.peer,
            &request,
            &t,
            &json,
            at,
            &event,
        )?;
        self.store()
            .record_transition(id, stored.version, &change, &event, &ledger, None)
            .await?;
        self.track(&t, now);
        Ok(())
    }
}

/// Polls the scheduler on every tick until shutdown (`RunningNode::start` loaded it).
pub(crate) async fn run(node: Node, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let every = std::time::Duration::from_millis(node.config().tick_ms.max(1));
    loop {
        if let Err(e) = node.replay_pending().await {
            tracing::error!(code = e.code(), "request replay: {e}");
        }
        if let Err(e) = node.poll_requests(Timestamp::from_unix_ms(now_ms())).await {
            tracing::error!(code = e.code(), "request scheduler: {e}");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
    }
}
