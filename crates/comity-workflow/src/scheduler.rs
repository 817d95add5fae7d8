//! Reminders, escalations and overdue items for open deadlines.
//!
//! Each open deadline climbs a ladder along its period: a reminder to the side that must act at
//! half the period, escalation to the node's central authority at three quarters, to the named
//! supervisor at nine tenths, and overdue at the due time. The next step of every deadline is
//! kept in an ordered set, so adding, moving or closing a deadline costs O(log n) and a poll
//! costs O(log n) per alert it yields, whatever the number of open deadlines.

use std::collections::{BTreeSet, HashMap};

use comity_model::{MessageId, Timestamp};
use serde::{Deserialize, Serialize};

use crate::{Due, Party, Transition};

/// Steps of the ladder, as (numerator, denominator) of the period elapsed.
const LADDER: [(i64, i64); 4] = [(1, 2), (3, 4), (9, 10), (1, 1)];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "alert", rename_all = "snake_case")]
pub enum AlertKind {
    /// Remind the side that must act.
    Reminder,
    /// Escalate to the node's central authority.
    CentralAuthority,
    /// Escalate to the named supervisor.
    Supervisor { name: String },
    /// The due time has passed; for a hard deadline, call `Request::expire`.
    Overdue,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub request: MessageId,
    pub kind: AlertKind,
    pub due: Timestamp,
    pub what: String,
    pub party: Party,
    pub hard: bool,
    pub article: String,
}

#[derive(Debug, Clone)]
struct Entry {
    due: Due,
    /// Index in `LADDER` of the next step.
    step: usize,
    next: Timestamp,
}

/// The open deadlines of a node.
#[derive(Debug, Clone)]
pub struct Scheduler {
    supervisor: String,
    steps: BTreeSet<(Timestamp, MessageId)>,
    by_due: BTreeSet<(Timestamp, MessageId)>,
    entries: HashMap<MessageId, Entry>,
}

fn step_time(due: &Due, step: usize) -> Timestamp {
    let (num, den) = LADDER[step];
    let span = due.at.unix_ms().saturating_sub(due.since.unix_ms()).max(0);
    due.since.plus_ms(span / den * num + span % den * num / den)
}

impl Scheduler {
    /// `supervisor` is the person escalations go to after the central authority.
    pub fn new(supervisor: impl Into<String>) -> Self {
        Scheduler {
            supervisor: supervisor.into(),
            steps: BTreeSet::new(),
            by_due: BTreeSet::new(),
            entries: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Sets (or moves) the deadline of a request. Steps already behind `now` are skipped, so a
    /// deadline set late starts at the step its time calls for.
    pub fn set(&mut self, request: MessageId, due: Due, now: Timestamp) {
        self.remove(request);
        let step = (0..LADDER.len())
            .find(|&s| step_time(&due, s) > now)
            .unwrap_or(LADDER.len() - 1);
        let next = step_time(&due, step);
        self.steps.insert((next, request));
        self.by_due.insert((due.at, request));
        self.entries.insert(request, Entry { due, step, next });
    }

    /// Closes the deadline of a request.
    pub fn remove(&mut self, request: MessageId) {
        if let Some(e) = self.entries.remove(&request) {
            self.steps.remove(&(e.next, request));
            self.by_due.remove(&(e.due.at, request));
        }
    }

    /// Follows a transition: the request's deadline moves or closes.
    pub fn track(&mut self, t: &Transition, now: Timestamp) {
        match &t.due {
            Some(due) => self.set(t.request, due.clone(), now),
            None => self.remove(t.request),
        }
    }

    /// When the next alert falls, for a timer.
    pub fn next_wake(&self) -> Option<Timestamp> {
        self.steps.first().map(|(t, _)| *t)
    }

    /// The alerts due at `now`. A deadline whose several steps passed at once (the node was
    /// down) yields only the highest one.
    pub fn poll(&mut self, now: Timestamp) -> Vec<Alert> {
        let mut out = Vec::new();
        while let Some(&(t, id)) = self.steps.first() {
            if t > now {
                break;
            }
            self.steps.pop_first();
            let Some(e) = self.entries.get_mut(&id) else {
                continue;
            };
            let mut step = e.step;
            while step + 1 < LADDER.len() && step_time(&e.due, step + 1) <= now {
                step += 1;
            }
            let kind = match step {
                0 => AlertKind::Reminder,
                1 => AlertKind::CentralAuthority,
                2 => AlertKind::Supervisor {
                    name: self.supervisor.clone(),
                },
                _ => AlertKind::Overdue,
            };
            out.push(Alert {
                request: id,
                kind,
                due: e.due.at,
                what: e.due.what.clone(),
                party: e.due.party,
                hard: e.due.hard,
                article: e.due.article.clone(),
            });
            if step + 1 < LADDER.len() {
                e.step = step + 1;
                e.next = step_time(&e.due, e.step);
                self.steps.insert((e.next, id));
            } else {
                // The last step is taken; the deadline stays listed as overdue until closed.
                e.step = LADDER.len();
            }
        }
        out
    }

    /// The requests past their due time, most overdue first.
    pub fn overdue(&self, now: Timestamp) -> impl Iterator<Item = (MessageId, &Due)> + '_ {
        self.by_due
            .range(..=(now, MessageId::from_parts(u64::MAX >> 16, [0xff; 10])))
            .filter_map(|(_, id)| self.entries.get(id).map(|e| (*id, &e.due)))
    }
}
