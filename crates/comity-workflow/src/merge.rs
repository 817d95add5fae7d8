//! Actions of both sides on the same version of a request. Each side applies its own action at
//! once and sends it with the version it was applied on (its `base`). An incoming action that
//! comes after everything a side holds is applied on top; one that does not is put in its place
//! and the history is replayed from the opening. The place is a total order both sides compute
//! alike: base, then time, then acting node, then the action's JSON. An action that can no longer
//! be applied where it falls is kept as superseded (`workflow.superseded`) with the refusal it
//! met. The result depends only on the set of actions, so both sides hold the same request once
//! they have seen the same actions, whatever the order of delivery.

use std::cmp::Ordering;

use comity_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::request::{Actor, Link, Rel, Request, Transition};
use crate::{Action, Due, Rules, State, WorkflowError};

/// The code of an action that lost to a concurrent one.
pub const SUPERSEDED: &str = "workflow.superseded";

/// The due time and links a request was opened with, to replay its actions from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Opening {
    pub due: Option<Due>,
    pub links: Vec<Link>,
}

/// An action as it travels: who acted, what, when, and on which version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamped {
    pub actor: Actor,
    pub action: Action,
    pub at: Timestamp,
    pub base: u32,
}

/// An action that a concurrent one came before and that could not be applied after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Superseded {
    pub actor: Actor,
    pub action: Action,
    pub at: Timestamp,
    pub base: u32,
    /// Always `workflow.superseded`.
    pub code: String,
    /// The code of the refusal the action met where it fell (`workflow.illegal_transition`...).
    pub cause: String,
    /// What happened, in words.
    pub reason: String,
}

impl Superseded {
    fn stamped(&self) -> Stamped {
        Stamped {
            actor: self.actor.clone(),
            action: self.action.clone(),
            at: self.at,
            base: self.base,
        }
    }
}

/// What merging an incoming action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    /// From the state before the merge to the state after it, with the due time now; the
    /// articles and follow-ups are the incoming action's when it applied.
    pub transition: Transition,
    /// Whether the history was replayed to put the action in its place.
    pub replayed: bool,
    /// The actions this merge found superseded (the incoming one, or one already applied).
    pub superseded: Vec<Superseded>,
}

fn order(a: &Stamped, b: &Stamped) -> Ordering {
    let action = |s: &Stamped| serde_json::to_string(&s.action).unwrap_or_default();
    a.base
        .cmp(&b.base)
        .then(a.at.cmp(&b.at))
        .then_with(|| a.actor.node.as_str().cmp(b.actor.node.as_str()))
        .then_with(|| action(a).cmp(&action(b)))
}

fn superseded(s: &Stamped, after: &Request, e: &WorkflowError) -> Superseded {
    let before = after
        .history
        .last()
        .and_then(|ev| Some((ev.actor.as_ref()?, ev.action.as_ref()?)))
        .map_or_else(
            || "the request's own deadline".to_owned(),
            |(a, act)| format!("{}'s `{}`", a.node, act.tag()),
        );
    Superseded {
        actor: s.actor.clone(),
        action: s.action.clone(),
        at: s.at,
        base: s.base,
        code: SUPERSEDED.to_owned(),
        cause: e.code().to_owned(),
        reason: format!(
            "{}'s `{}` on version {} was superseded: it comes after {before} and was then refused: {e}",
            s.actor.node,
            s.action.tag(),
            s.base
        ),
    }
}

impl Request {
    /// The actions of the history and the superseded ones, as they travelled.
    pub fn stamped(&self) -> Vec<Stamped> {
        let mut out: Vec<Stamped> = self
            .history
            .iter()
            .enumerate()
            .skip(1)
            .filter_map(|(i, e)| {
                Some(Stamped {
                    actor: e.actor.clone()?,
                    action: e.action.clone()?,
                    at: e.at,
                    base: e.base.unwrap_or(u32::try_from(i).unwrap_or(u32::MAX)),
                })
            })
            .collect();
        out.extend(self.superseded.iter().map(Superseded::stamped));
        out
    }

    /// The request as it was opened. Requests stored before the opening was kept get the due
    /// time the rules give and lose the links actions added.
    fn reopened(&self, rules: &Rules) -> Request {
        let mut r = self.clone();
        r.state = State::Sent;
        r.history.truncate(1);
        r.superseded.clear();
        r.answer_conditions = None;
        match &self.opening {
            Some(o) => {
                r.due = o.due.clone();
                r.links = o.links.clone();
            }
            None => {
                let at = self
                    .history
                    .first()
                    .map_or(Timestamp::from_unix_ms(0), |e| e.at);
                r.due = rules.due(self.kind, State::Sent, at, None);
                r.links.retain(|l| l.rel != Rel::FollowedBy);
            }
        }
        r
    }

    /// Applies this side's own action on the current version, as `apply`. When an action
    /// already held sorts after it (one of the other side's, applied on the same version and
    /// stamped later than this side's clock says now), the history is replayed in order, as the
    /// other side will do on receiving it.
    pub fn act(
        &mut self,
        rules: &Rules,
        actor: &Actor,
        action: Action,
        now: Timestamp,
    ) -> Result<Transition, WorkflowError> {
        let before = self.clone();
        let s = Stamped {
            actor: actor.clone(),
            action: action.clone(),
            at: now,
            base: self.version(),
        };
        let t = self.apply(rules, actor, action, now)?;
        if before
            .stamped()
            .iter()
            .all(|x| order(x, &s) == Ordering::Less)
        {
            return Ok(t);
        }
        *self = before;
        let merged = self.replay(rules, s);
        Ok(merged.transition)
    }

    /// Merges an action the other side applied on version `s.base`. Returns `None` when the
    /// request already holds it. Never fails: an action that cannot be applied where it falls
    /// is recorded as superseded, on both sides alike.
    pub fn merge(&mut self, rules: &Rules, s: Stamped) -> Option<Merged> {
        let actions = self.stamped();
        if actions.contains(&s) {
            return None;
        }
        let from = self.state;
        let last = actions.iter().max_by(|a, b| order(a, b));
        let on_top = last.is_none_or(|l| order(&s, l) == Ordering::Greater);
        if on_top && self.expired_at().is_none() {
            return Some(
                match self.apply_based(rules, &s.actor, s.action.clone(), s.at, s.base) {
                    Ok(transition) => Merged {
                        transition,
                        replayed: false,
                        superseded: Vec::new(),
                    },
                    Err(e) => {
                        let lost = superseded(&s, self, &e);
                        self.superseded.push(lost.clone());
                        Merged {
                            transition: self.unchanged_from(from),
                            replayed: false,
                            superseded: vec![lost],
                        }
                    }
                },
            );
        }
        Some(self.replay(rules, s))
    }

    /// Puts `s` among the actions held and replays them all from the opening, in order.
    fn replay(&mut self, rules: &Rules, s: Stamped) -> Merged {
        let from = self.state;
        let expired_at = self.expired_at();
        let mut actions = self.stamped();
        let known: Vec<Stamped> = self.superseded.iter().map(Superseded::stamped).collect();
        actions.push(s.clone());
        actions.sort_by(order);
        let mut r = self.reopened(rules);
        let mut incoming = None;
        for a in &actions {
            match r.apply_based(rules, &a.actor, a.action.clone(), a.at, a.base) {
                Ok(t) if *a == s => incoming = Some(t),
                Ok(_) => {}
                Err(e) => {
                    let lost = superseded(a, &r, &e);
                    r.superseded.push(lost);
                }
            }
        }
        if let Some(at) = expired_at {
            r.expire(at);
        }
        let fresh: Vec<Superseded> = r
            .superseded
            .iter()
            .filter(|x| !known.contains(&x.stamped()))
            .cloned()
            .collect();
        *self = r;
        let mut transition = self.unchanged_from(from);
        if let Some(t) = incoming {
            transition.articles = t.articles;
            transition.follow_ups = t.follow_ups;
        }
        Merged {
            transition,
            replayed: true,
            superseded: fresh,
        }
    }

    /// When this side recorded that the hard deadline passed.
    fn expired_at(&self) -> Option<Timestamp> {
        self.history
            .iter()
            .rev()
            .find(|e| e.actor.is_none() && e.from.is_some())
            .map(|e| e.at)
    }

    fn unchanged_from(&self, from: State) -> Transition {
        Transition {
            request: self.id,
            from: Some(from),
            to: self.state,
            due: self.due.clone(),
            articles: Vec::new(),
            follow_ups: Vec::new(),
        }
    }
}
