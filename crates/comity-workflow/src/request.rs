//! A request with its state, due time, links and history, and the transitions on it.

use std::collections::BTreeMap;

use comity_model::{MessageId, NodeId, PreservationRequest, Role, Timestamp};
use serde::{Deserialize, Serialize};

use crate::fields::Problems;
use crate::table::{self, Guard, Row};
use crate::{
    Action, ActionTag, AssistanceMeasure, Body, Consent, Destination, Due, Kind, Party, Preflight,
    Rules, State, Targets, UseConditions, WorkflowError,
};

/// The stored format's version.
pub const REQUEST_VERSION: u32 = 1;

/// The node acting and the role it acts in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub node: NodeId,
    pub role: Role,
}

/// How two requests belong together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rel {
    /// This request follows the other (an assistance request following a preservation, an
    /// extradition request following a provisional arrest).
    Follows,
    /// The other request follows this one.
    FollowedBy,
    /// This request was opened because of the other (onward preservation after a traffic
    /// disclosure, prosecution in lieu after a refusal on nationality).
    SpawnedFrom,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub rel: Rel,
    pub request: MessageId,
}

/// One entry of a request's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    /// `None` when the time passing acted (a hard deadline).
    pub actor: Option<Actor>,
    pub action: Option<Action>,
    pub from: Option<State>,
    pub to: State,
    pub articles: Vec<String>,
    /// The version (number of history entries) the actor applied the action on; with the time
    /// and the actor it orders concurrent actions (see `Request::merge`). Absent for the opening
    /// and expiries, and in entries written before it existed (their position is their base).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<u32>,
}

/// What the node should do next because of a transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "follow_up", rename_all = "snake_case")]
pub enum FollowUp {
    /// Apply `extend` to this preservation request (Art. 29.7).
    ExtendPreservation { preservation: MessageId },
    /// Apply `extradition_received` to this provisional arrest.
    CloseProvisionalArrest { arrest: MessageId },
    /// The path continues in another state: preserve there too (Art. 30.1).
    OnwardPreservation {
        next_state: comity_model::Jurisdiction,
    },
    /// The requesting state may ask for the case to be submitted for prosecution (Art. 24.6).
    ProsecutionInLieu { extradition: MessageId },
}

/// The result of a transition: the new state, its due time and the articles relied on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub request: MessageId,
    pub from: Option<State>,
    pub to: State,
    pub due: Option<Due>,
    pub articles: Vec<String>,
    pub follow_ups: Vec<FollowUp>,
}

/// What an officer fills in before sending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Draft {
    pub id: MessageId,
    pub requesting: NodeId,
    pub requested: NodeId,
    pub body: Body,
    /// Answers to the content items the instruments require, keyed by the item's words.
    #[serde(default)]
    pub content: BTreeMap<String, String>,
    pub conditions: UseConditions,
    pub preflight: Option<Preflight>,
    #[serde(default)]
    pub links: Vec<Link>,
}

/// A request as stored by both nodes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    pub v: u32,
    pub id: MessageId,
    pub kind: Kind,
    pub requesting: NodeId,
    pub requested: NodeId,
    pub body: Body,
    pub content: BTreeMap<String, String>,
    pub conditions: UseConditions,
    pub preflight: Option<Preflight>,
    pub state: State,
    /// Set in every non-terminal state.
    pub due: Option<Due>,
    pub links: Vec<Link>,
    pub history: Vec<Event>,
    /// The conditions the requested side attached to what it handed over (the latest ones);
    /// consents to forward the results are recorded here.
    pub answer_conditions: Option<UseConditions>,
    /// Actions of either side that lost to a concurrent one and could not be applied after it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<crate::merge::Superseded>,
    /// The due time and links the request was opened with, to replay its actions from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opening: Option<crate::merge::Opening>,
}

impl Request {
    /// Reads a stored request, refusing a format version this crate does not know.
    pub fn from_json(text: &str) -> Result<Request, WorkflowError> {
        #[derive(Deserialize)]
        struct Version {
            v: u32,
        }
        let unreadable = |e: serde_json::Error| WorkflowError::Unreadable {
            reason: e.to_string(),
        };
        let Version { v } = serde_json::from_str(text).map_err(unreadable)?;
        if v != REQUEST_VERSION {
            return Err(WorkflowError::UnsupportedVersion {
                found: v,
                supported: REQUEST_VERSION,
            });
        }
        serde_json::from_str(text).map_err(unreadable)
    }

    /// Opens (sends) a request: checks every field, the content the instruments require and the
    /// pre-flight clearance, then enters `sent` with its due time.
    pub fn open(
        draft: Draft,
        rules: &Rules,
        now: Timestamp,
    ) -> Result<(Request, Transition), WorkflowError> {
        let kind = draft.body.kind();
        let mut p = Problems::new("");
        if draft.requesting == draft.requested {
            p.add("requested", "must differ from the requesting node");
        }
        p.nested("body", |p| draft.body.check(p));
        p.nested("conditions", |p| draft.conditions.check(p));
        match (&draft.preflight, draft.body.measure()) {
            (None, Some(m)) => p.add(
                "preflight",
                format!("is required for a {kind} request: ask the law engine about {m} first"),
            ),
            (Some(pf), Some(m)) if pf.measure != m.as_str() => p.add(
                "preflight.measure",
                format!("is {:?} but the request is for {m}", pf.measure),
            ),
            (Some(pf), _) => {
                for (item, instrument) in pf.required_content() {
                    let ok = draft
                        .content
                        .get(item)
                        .is_some_and(|v| !v.trim().is_empty());
                    if !ok {
                        p.add(
                            &format!("content[{item:?}]"),
                            format!("is required by {instrument}"),
                        );
                    }
                }
            }
            (None, None) => {}
        }
        p.finish()?;
        if let Some(pf) = &draft.preflight {
            pf.clearance()?;
        }
        let due = rules.due(kind, State::Sent, now, None);
        let mut follow_ups = Vec::new();
        let mut links = draft.links;
        match &draft.body {
            Body::MutualAssistance(b) => {
                if let Some(pres) = b.preservation {
                    follow_ups.push(FollowUp::ExtendPreservation { preservation: pres });
                    push_link(&mut links, Rel::Follows, pres);
                }
            }
            Body::Extradition(b) => {
                if let Some(arrest) = b.provisional_arrest {
                    follow_ups.push(FollowUp::CloseProvisionalArrest { arrest });
                    push_link(&mut links, Rel::Follows, arrest);
                }
            }
            Body::TrafficDisclosure(b) => {
                if let Some(pres) = b.preservation {
                    push_link(&mut links, Rel::Follows, pres);
                }
            }
            Body::ProsecutionInLieu(b) => push_link(&mut links, Rel::SpawnedFrom, b.extradition),
            _ => {}
        }
        let event = Event {
            at: now,
            actor: None,
            action: None,
            from: None,
            to: State::Sent,
            articles: Vec::new(),
            base: None,
        };
        let opening = crate::merge::Opening {
            due: due.clone(),
            links: links.clone(),
        };
        let request = Request {
            v: REQUEST_VERSION,
            id: draft.id,
            kind,
            requesting: draft.requesting,
            requested: draft.requested,
            body: draft.body,
            content: draft.content,
            conditions: draft.conditions,
            preflight: draft.preflight,
            state: State::Sent,
            due: due.clone(),
            links,
            history: vec![event],
            answer_conditions: None,
            superseded: Vec::new(),
            opening: Some(opening),
        };
        let t = Transition {
            request: request.id,
            from: None,
            to: State::Sent,
            due,
            articles: Vec::new(),
            follow_ups,
        };
        Ok((request, t))
    }

    /// The actions possible in the current state, for menus and error messages.
    pub fn allowed(&self) -> Vec<ActionTag> {
        if self.state.is_terminal() {
            return Vec::new();
        }
        let mut out: Vec<ActionTag> = table::rows(self.kind)
            .filter(|r| r.from.contains(&self.state) && self.guard_holds(r.guard))
            .map(|r| r.action)
            .collect();
        out.push(ActionTag::Withdraw);
        out.dedup();
        out
    }

    fn guard_holds(&self, guard: Guard) -> bool {
        let broadcast = matches!(
            &self.body,
            Body::Notice(n) if n.targets == Targets::All
        );
        match guard {
            Guard::Any => true,
            Guard::Targeted => !broadcast,
            Guard::Broadcast => broadcast,
        }
    }

    fn illegal(&self, action: ActionTag) -> WorkflowError {
        let allowed = self.allowed();
        WorkflowError::IllegalTransition {
            kind: self.kind,
            state: self.state,
            action,
            allowed: if allowed.is_empty() {
                "nothing, the request is closed".to_owned()
            } else {
                allowed
                    .iter()
                    .map(|a| a.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        }
    }

    fn node_of(&self, party: Party) -> &NodeId {
        match party {
            Party::Requested => &self.requested,
            Party::Requesting | Party::Either => &self.requesting,
        }
    }

    /// How many entries the history has: what an action applied now is based on.
    pub fn version(&self) -> u32 {
        u32::try_from(self.history.len()).unwrap_or(u32::MAX)
    }

    /// Applies an action. On any error the request is left exactly as it was.
    pub fn apply(
        &mut self,
        rules: &Rules,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Result<Transition, WorkflowError> {
        let base = self.version();
        self.apply_based(rules, actor, action, now, base)
    }

    /// `apply`, recording that the actor applied the action on version `base`.
    pub(crate) fn apply_based(
        &mut self,
        rules: &Rules,
        actor: &Actor,
        action: Action,
        now: Timestamp,
        base: u32,
    ) -> Result<Transition, WorkflowError> {
        if let Action::Consent { .. } = action {
            return self.apply_consent(actor, action, now, base);
        }
        let tag = action.tag();
        if self.state == State::Expired {
            let at = self.history.last().map_or(now, |e| e.at);
            return Err(WorkflowError::Expired { due: at, now });
        }
        if self.state.is_terminal() {
            return Err(self.illegal(tag));
        }
        if let Some(due) = &self.due
            && due.hard
            && now >= due.at
        {
            return Err(WorkflowError::Expired { due: due.at, now });
        }
        let withdraw;
        let row: &Row = if tag == ActionTag::Withdraw {
            withdraw = Row {
                kind: self.kind,
                from: &[],
                action: tag,
                by: Party::Requesting,
                roles: &[],
                to: State::Withdrawn,
                articles: &[],
                guard: Guard::Any,
            };
            &withdraw
        } else {
            table::rows(self.kind)
                .find(|r| {
                    r.action == tag && r.from.contains(&self.state) && self.guard_holds(r.guard)
                })
                .ok_or_else(|| self.illegal(tag))?
        };
        let party_ok = match row.by {
            Party::Either => actor.node == self.requesting || actor.node == self.requested,
            p => actor.node == *self.node_of(p),
        };
        if !party_ok {
            return Err(WorkflowError::WrongParty {
                kind: self.kind,
                action: tag,
                expected: row.by,
                node: self.node_of(row.by).clone(),
                actor: actor.node.clone(),
            });
        }
        if !row.roles.is_empty() && !row.roles.contains(&actor.role) {
            return Err(WorkflowError::WrongRole {
                action: tag,
                expected: row
                    .roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                role: actor.role.to_string(),
            });
        }
        let mut p = Problems::new("action");
        action.check(&mut p);
        if let Some(c) = action.use_conditions()
            && c.owner != actor.node
        {
            p.add(
                "use_conditions.owner",
                format!(
                    "must be the node handing the information over, {}",
                    actor.node
                ),
            );
        }
        let at = self.check_for_kind(&action, now, &mut p);
        p.finish()?;

        let to = row.to;
        let due = if to.is_terminal() {
            None
        } else {
            rules.due(self.kind, to, now, at)
        };
        let mut articles: Vec<String> = row.articles.iter().map(|a| self.cite(a)).collect();
        if let Body::MutualAssistance(b) = &self.body
            && matches!(tag, ActionTag::Accept | ActionTag::ReturnResults)
        {
            articles.push(self.cite(measure_article(b.measure)));
        }
        let mut follow_ups = Vec::new();
        match &action {
            Action::Disclose {
                next_state: Some(s),
                ..
            } => follow_ups.push(FollowUp::OnwardPreservation { next_state: *s }),
            Action::RefuseNationality { .. } => follow_ups.push(FollowUp::ProsecutionInLieu {
                extradition: self.id,
            }),
            Action::Extend { mla } => push_link(&mut self.links, Rel::FollowedBy, *mla),
            Action::ExtraditionReceived { extradition } => {
                push_link(&mut self.links, Rel::FollowedBy, *extradition)
            }
            _ => {}
        }
        if let Some(c) = action.use_conditions() {
            self.answer_conditions = Some(c.clone());
        }
        let from = self.state;
        self.state = to;
        self.due = due.clone();
        self.history.push(Event {
            at: now,
            actor: Some(actor.clone()),
            action: Some(action),
            from: Some(from),
            to,
            articles: articles.clone(),
            base: Some(base),
        });
        Ok(Transition {
            request: self.id,
            from: Some(from),
            to,
            due,
            articles,
            follow_ups,
        })
    }

    /// Records the owner's consent to passing its information on: the state, due time and links
    /// stay as they are, in whatever state the request is.
    fn apply_consent(
        &mut self,
        actor: &Actor,
        action: Action,
        now: Timestamp,
        base: u32,
    ) -> Result<Transition, WorkflowError> {
        let owners = self.owners();
        if !owners.contains(&&actor.node) {
            let names: Vec<&str> = owners.iter().map(|n| n.as_str()).collect();
            return Err(WorkflowError::NotOwner {
                actor: actor.node.clone(),
                owners: names.join(" or "),
            });
        }
        let mut p = Problems::new("action");
        action.check(&mut p);
        if let Action::Consent {
            to: Destination::Node(n),
            ..
        } = &action
            && *n == actor.node
        {
            p.add("to", "is the owner itself, which needs no consent");
        }
        p.finish()?;
        let articles = vec![self.cite("Budapest Art. 28.2")];
        self.history.push(Event {
            at: now,
            actor: Some(actor.clone()),
            action: Some(action),
            from: Some(self.state),
            to: self.state,
            articles: articles.clone(),
            base: Some(base),
        });
        Ok(Transition {
            request: self.id,
            from: Some(self.state),
            to: self.state,
            due: self.due.clone(),
            articles,
            follow_ups: Vec::new(),
        })
    }

    /// The nodes whose information was exchanged under the request: the owner of its conditions
    /// and the owner of the answer's.
    fn owners(&self) -> Vec<&NodeId> {
        let mut owners = vec![&self.conditions.owner];
        if let Some(c) = &self.answer_conditions
            && c.owner != self.conditions.owner
        {
            owners.push(&c.owner);
        }
        owners
    }

    /// The request's conditions with the consents their owner gave since it was opened.
    pub fn conditions_in_force(&self) -> UseConditions {
        self.with_consents(&self.conditions)
    }

    /// The answer's conditions, if any, with the consents their owner gave.
    pub fn answer_conditions_in_force(&self) -> Option<UseConditions> {
        self.answer_conditions
            .as_ref()
            .map(|c| self.with_consents(c))
    }

    fn with_consents(&self, conditions: &UseConditions) -> UseConditions {
        let mut c = conditions.clone();
        for e in &self.history {
            if let (
                Some(actor),
                Some(Action::Consent {
                    to,
                    purpose,
                    reference,
                }),
            ) = (&e.actor, &e.action)
                && actor.node == c.owner
            {
                c.consents.push(Consent {
                    to: to.clone(),
                    purpose: purpose.clone(),
                    given_by: actor.node.clone(),
                    at: e.at,
                    reference: reference.clone(),
                });
            }
        }
        c
    }

    /// An article of the state machine, marked `(model)` when the pre-flight found that its
    /// instrument does not bind the two states: the procedure is followed as a model and the
    /// binding basis is the one the pre-flight record names. A prosecution in lieu and a
    /// jurisdiction consultation, which have no pre-flight, cite what their body records.
    fn cite(&self, article: &str) -> String {
        match &self.body {
            Body::ProsecutionInLieu(b) => return b.duty.clone(),
            Body::JurisdictionConsultation(b) => return b.basis.clone(),
            _ => {}
        }
        let Some(pf) = &self.preflight else {
            return article.to_owned();
        };
        let treaty = TREATY_PREFIXES
            .iter()
            .find(|(prefix, _)| article.starts_with(prefix))
            .map(|(_, id)| *id);
        match treaty {
            Some(id) if !pf.instruments.iter().any(|i| i.treaty == id) => {
                format!("{article} (model)")
            }
            _ => article.to_owned(),
        }
    }

    /// Checks that depend on the kind and the request, and the due time the action fixes.
    fn check_for_kind(
        &self,
        action: &Action,
        now: Timestamp,
        p: &mut Problems,
    ) -> Option<Timestamp> {
        match (action, &self.body) {
            (Action::Preserve { until }, Body::Preservation(b)) => {
                let minimum = now.plus_days(i64::from(crate::MIN_PRESERVATION_DAYS));
                match until {
                    Some(u) if *u < minimum => {
                        p.add(
                            "until",
                            format!("must be at least 60 days from now, {minimum} (Art. 29.7)"),
                        );
                        None
                    }
                    Some(u) => Some(*u),
                    None => Some(now.plus_days(i64::from(b.preservation_days))),
                }
            }
            (Action::Extend { .. }, Body::Preservation(b)) => {
                let current = self.due.as_ref().map_or(now, |d| d.at);
                Some(current.max(now.plus_days(i64::from(b.preservation_days))))
            }
            (Action::Refuse { grounds, .. }, Body::Preservation(_)) => {
                let dual_ok = self
                    .preflight
                    .as_ref()
                    .is_some_and(Preflight::dual_criminality_required);
                for (i, g) in grounds.iter().enumerate() {
                    let allowed = matches!(g.as_str(), "political_offence" | "essential_interests")
                        || (g == "dual_criminality" && dual_ok);
                    if !allowed {
                        p.add(
                            &format!("grounds[{i}]"),
                            format!(
                                "{g:?} is not a ground Art. 29.5 allows: political_offence, essential_interests{}",
                                if dual_ok { ", dual_criminality (Art. 29.4 reservation)" } else { "" }
                            ),
                        );
                    }
                }
                None
            }
            (Action::Refuse { grounds, .. }, Body::Extradition(_)) => {
                if let Some(i) = grounds.iter().position(|g| g == "nationality") {
                    p.add(
                        &format!("grounds[{i}]"),
                        "use refuse_nationality: a refusal on nationality carries the duty to prosecute (Art. 24.6)",
                    );
                }
                None
            }
            (Action::Postpone { until, .. }, _) => {
                if *until <= now {
                    p.add("until", "must be in the future");
                }
                Some(*until)
            }
            (Action::Propose { forum, .. }, Body::JurisdictionConsultation(b)) => {
                if !b.claimants.contains(forum) {
                    p.add("forum", "must be one of the claimants of the consultation");
                }
                None
            }
            _ => None,
        }
    }

    /// Ends a state whose hard deadline has passed (preservation lapses, provisional arrest
    /// ends). The event is dated at the deadline, not at `now`, so that both nodes record the
    /// same history whenever they notice. Returns `None` when nothing is due.
    pub fn expire(&mut self, now: Timestamp) -> Option<Transition> {
        let due = self.due.as_ref()?;
        if !due.hard || now < due.at || self.state.is_terminal() {
            return None;
        }
        let to = if self.kind == Kind::ProvisionalArrest {
            State::Released
        } else {
            State::Expired
        };
        let articles = vec![due.article.clone()];
        let at = due.at;
        let from = self.state;
        self.state = to;
        self.due = None;
        self.history.push(Event {
            at,
            actor: None,
            action: None,
            from: Some(from),
            to,
            articles: articles.clone(),
            base: None,
        });
        Some(Transition {
            request: self.id,
            from: Some(from),
            to,
            due: None,
            articles,
            follow_ups: Vec::new(),
        })
    }

    /// The draft of the prosecution in lieu the requesting state asks for after a refusal on
    /// nationality (Art. 24.6).
    /// `duty` cites what obliges the requested state to prosecute (the law engine's
    /// `submit_for_prosecution.cite`).
    pub fn prosecution_in_lieu(
        &self,
        id: MessageId,
        evidence: String,
        duty: String,
    ) -> Result<Draft, WorkflowError> {
        let Body::Extradition(x) = &self.body else {
            return Err(WorkflowError::BadLink {
                reason: format!(
                    "a prosecution in lieu follows an extradition request, not a {}",
                    self.kind
                ),
            });
        };
        if self.state != State::RefusedNationality {
            return Err(WorkflowError::BadLink {
                reason: format!(
                    "the extradition request is {}, not refused on nationality: Art. 24.6 does not apply",
                    self.state
                ),
            });
        }
        Ok(Draft {
            id,
            requesting: self.requesting.clone(),
            requested: self.requested.clone(),
            body: Body::ProsecutionInLieu(crate::body::ProsecutionInLieu {
                extradition: self.id,
                case: x.case.clone(),
                person: x.person.clone(),
                evidence,
                duty,
            }),
            content: BTreeMap::new(),
            conditions: self.conditions.clone(),
            preflight: None,
            links: Vec::new(),
        })
    }

    /// The draft of the preservation request to the next state on the path, after a traffic
    /// disclosure that named one (Art. 30.1). The caller adds the pre-flight for the new pair.
    pub fn onward_preservation(
        &self,
        id: MessageId,
        next: NodeId,
        body: PreservationRequest,
    ) -> Result<Draft, WorkflowError> {
        let named = self.history.iter().any(|e| {
            matches!(
                e.action,
                Some(Action::Disclose {
                    next_state: Some(_),
                    ..
                })
            )
        });
        if self.kind != Kind::TrafficDisclosure || !named {
            return Err(WorkflowError::BadLink {
                reason: "an onward preservation follows a traffic disclosure that named the next state on the path".to_owned(),
            });
        }
        Ok(Draft {
            id,
            requesting: self.requesting.clone(),
            requested: next,
            body: Body::Preservation(body),
            content: BTreeMap::new(),
            conditions: self.conditions.clone(),
            preflight: None,
            links: vec![Link {
                rel: Rel::SpawnedFrom,
                request: self.id,
            }],
        })
    }
}

/// How the tables name instruments, and their ids in the law packs.
const TREATY_PREFIXES: &[(&str, &str)] = &[
    ("Budapest ", "budapest"),
    ("Second Protocol ", "budapest_protocol2"),
    ("ETS 24 ", "ets24"),
    ("ETS 30 ", "ets30"),
];

fn push_link(links: &mut Vec<Link>, rel: Rel, request: MessageId) {
    let link = Link { rel, request };
    if !links.contains(&link) {
        links.push(link);
    }
}

fn measure_article(m: AssistanceMeasure) -> &'static str {
    match m {
        AssistanceMeasure::StoredData => "Budapest Art. 31",
        AssistanceMeasure::SubscriberInfo => "Budapest Art. 18.3",
        AssistanceMeasure::RealTimeTraffic => "Budapest Art. 33",
        AssistanceMeasure::Interception => "Budapest Art. 34",
    }
}
