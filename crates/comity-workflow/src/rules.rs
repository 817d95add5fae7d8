//! Deadline rules: the due time of every non-terminal state, from `data/deadlines.toml`.

use std::collections::HashMap;

use comity_model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::{Kind, Party, State, WorkflowError, table};

/// The rules shipped with the crate.
pub const SHIPPED_RULES: &str = include_str!("../data/deadlines.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    kind: Kind,
    state: State,
    what: String,
    days: Option<u32>,
    hours: Option<u32>,
    party: Party,
    #[serde(default)]
    hard: bool,
    article: String,
    source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeriodic {
    what: String,
    days: u32,
    article: String,
    source: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRules {
    rule: Vec<RawRule>,
    periodic: RawPeriodic,
}

/// One rule: how long a state may last and who must act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub what: String,
    pub period_ms: i64,
    pub party: Party,
    pub hard: bool,
    pub article: String,
    pub source: String,
}

/// A due time, stored with the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Due {
    pub at: Timestamp,
    /// When the period started: reminders and escalations are placed along it.
    pub since: Timestamp,
    pub what: String,
    /// The side that must act.
    pub party: Party,
    /// The state ends by itself at `at` (preservation lapses, provisional arrest ends).
    pub hard: bool,
    pub article: String,
}

/// Every deadline rule, indexed by kind and state.
#[derive(Debug, Clone)]
pub struct Rules {
    by_state: HashMap<(Kind, State), Rule>,
    periodic: Rule,
}

const HOUR_MS: i64 = 3_600_000;

impl Rules {
    /// The rules shipped with the crate.
    pub fn shipped() -> Result<Rules, WorkflowError> {
        Rules::from_toml(SHIPPED_RULES)
    }

    /// Reads rules and checks that every non-terminal state of every kind has exactly one.
    pub fn from_toml(text: &str) -> Result<Rules, WorkflowError> {
        let raw: RawRules = toml::from_str(text).map_err(|e| WorkflowError::BadRules {
            reason: e.to_string(),
        })?;
        let mut by_state = HashMap::new();
        let mut problems = Vec::new();
        for r in raw.rule {
            let period_ms = match (r.days, r.hours) {
                (Some(d), None) if d > 0 => i64::from(d) * 24 * HOUR_MS,
                (None, Some(h)) if h > 0 => i64::from(h) * HOUR_MS,
                _ => {
                    problems.push(format!(
                        "{} {}: give exactly one of days or hours, above zero",
                        r.kind, r.state
                    ));
                    continue;
                }
            };
            if r.source.trim().is_empty() || r.article.trim().is_empty() {
                problems.push(format!(
                    "{} {}: article and source are required",
                    r.kind, r.state
                ));
            }
            let rule = Rule {
                what: r.what,
                period_ms,
                party: r.party,
                hard: r.hard,
                article: r.article,
                source: r.source,
            };
            if by_state.insert((r.kind, r.state), rule).is_some() {
                problems.push(format!("{} {}: more than one rule", r.kind, r.state));
            }
        }
        for &kind in Kind::ALL {
            for state in table::states(kind) {
                if !state.is_terminal() && !by_state.contains_key(&(kind, state)) {
                    problems.push(format!("{kind} {state}: no rule gives its due time"));
                }
            }
        }
        for (kind, state) in by_state.keys() {
            if state.is_terminal() || !table::states(*kind).contains(state) {
                problems.push(format!(
                    "{kind} {state}: not a non-terminal state of the kind"
                ));
            }
        }
        if !problems.is_empty() {
            problems.sort();
            return Err(WorkflowError::BadRules {
                reason: problems.join("; "),
            });
        }
        let p = raw.periodic;
        Ok(Rules {
            by_state,
            periodic: Rule {
                what: p.what,
                period_ms: i64::from(p.days) * 24 * HOUR_MS,
                party: Party::Requesting,
                hard: false,
                article: p.article,
                source: p.source,
            },
        })
    }

    pub fn rule(&self, kind: Kind, state: State) -> Option<&Rule> {
        self.by_state.get(&(kind, state))
    }

    /// The due time of entering `state` at `now`, or at `at` when the action fixes it.
    pub(crate) fn due(
        &self,
        kind: Kind,
        state: State,
        now: Timestamp,
        at: Option<Timestamp>,
    ) -> Option<Due> {
        let rule = self.rule(kind, state)?;
        Some(Due {
            at: at.unwrap_or(now.plus_ms(rule.period_ms)),
            since: now,
            what: rule.what.clone(),
            party: rule.party,
            hard: rule.hard,
            article: rule.article.clone(),
        })
    }

    /// When the next periodic notification of convictions is due, after one sent at `last`.
    pub fn next_conviction_notice(&self, last: Timestamp) -> Due {
        let r = &self.periodic;
        Due {
            at: last.plus_ms(r.period_ms),
            since: last,
            what: r.what.clone(),
            party: r.party,
            hard: false,
            article: r.article.clone(),
        }
    }
}
