//! Answers and their explanations. Answers borrow from the packs, so building one copies little;
//! the words of each step are only written out when the answer is serialised.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::pack::Provision;
use crate::vocab::State;

/// What a step of an explanation rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Cite<'a> {
    /// An article of a treaty in the packs.
    Treaty { treaty: &'a str, article: &'a str },
    /// A provision of a state's law, as its pack cites it.
    National { state: State, provision: &'a str },
    /// Practice the engine follows where no instrument binding the states decides the point.
    Guidance { note: &'static str },
}

/// One step of an explanation: what was decided and on which text.
#[derive(Debug, Clone, Serialize)]
pub struct Step<'a> {
    pub cite: Cite<'a>,
    #[serde(serialize_with = "as_text")]
    pub text: Say<'a>,
}

impl<'a> Step<'a> {
    pub fn new(cite: Cite<'a>, text: Say<'a>) -> Self {
        Step { cite, text }
    }

    pub fn text(cite: Cite<'a>, text: String) -> Self {
        Step {
            cite,
            text: Say::Text(text),
        }
    }
}

fn as_text<S: Serializer>(say: &Say<'_>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(say)
}

/// The words of a step. The variants used on hot paths keep their data and render on demand.
#[derive(Debug, Clone)]
pub enum Say<'a> {
    Text(String),
    Matched {
        state: State,
        provision: &'a Provision,
    },
    ConditionUnmet {
        state: State,
        provision: &'a Provision,
        condition: &'a str,
    },
    NoProvision {
        state: State,
    },
    ConductTest,
    Threshold {
        months: u32,
        met: bool,
        lowest: Option<(State, u32)>,
    },
    Requirement {
        required: bool,
        measure: &'static str,
        why: &'static str,
    },
}

impl fmt::Display for Say<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Say::Text(t) => f.write_str(t),
            Say::Matched { state, provision } => write!(
                f,
                "{state}: {} covers the conduct (up to {} months{})",
                provision.citation,
                provision.max_months,
                if provision.death_penalty {
                    ", or death"
                } else {
                    ""
                }
            ),
            Say::ConditionUnmet {
                state,
                provision,
                condition,
            } => write!(
                f,
                "{state}: {} does not count, its condition {condition:?} is not established by the facts",
                provision.citation
            ),
            Say::NoProvision { state } => {
                write!(
                    f,
                    "{state}: no provision in force on the date covers the conduct as described"
                )
            }
            Say::ConductTest => f.write_str(
                "dual criminality is tested on the conduct, not on the name of the offence",
            ),
            Say::Threshold {
                months,
                met,
                lowest,
            } => match (met, lowest) {
                (true, _) => write!(
                    f,
                    "the penalty threshold of {months} months is met on both sides"
                ),
                (false, Some((state, max))) => write!(
                    f,
                    "the penalty threshold of {months} months is not met: {state} punishes the conduct with at most {max} months"
                ),
                (false, None) => write!(
                    f,
                    "the penalty threshold of {months} months cannot be met: the conduct is not punishable on both sides"
                ),
            },
            Say::Requirement {
                required,
                measure,
                why,
            } => write!(
                f,
                "dual criminality {} for {measure}: {why}",
                if *required {
                    "is required"
                } else {
                    "is not required"
                }
            ),
        }
    }
}

/// A national provision found to cover the conduct.
#[derive(Debug, Clone, Serialize)]
pub struct Matched<'a> {
    pub id: &'a str,
    pub citation: &'a str,
    pub max_months: u32,
    pub min_months: u32,
    pub death_penalty: bool,
    pub verified: bool,
}

impl<'a> From<&'a Provision> for Matched<'a> {
    fn from(p: &'a Provision) -> Self {
        Matched {
            id: &p.id,
            citation: &p.citation,
            max_months: p.max_months,
            min_months: p.min_months,
            death_penalty: p.death_penalty,
            verified: p.fact.verified,
        }
    }
}

/// The answer to any question, as the JSON the CLI and the HTTP API return.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Answer<'a> {
    LegalBasis(crate::engine::basis::LegalBasisAnswer<'a>),
    DualCriminality(crate::engine::dual::DualCriminalityAnswer<'a>),
    Extradition(crate::engine::extradition::ExtraditionAnswer<'a>),
    CompetingRequests(crate::engine::competing::CompetingAnswer<'a>),
    Jurisdiction(crate::engine::jurisdiction::JurisdictionAnswer<'a>),
}

impl Answer<'_> {
    pub fn explanation(&self) -> &[Step<'_>] {
        match self {
            Answer::LegalBasis(a) => &a.explanation,
            Answer::DualCriminality(a) => &a.explanation,
            Answer::Extradition(a) => &a.explanation,
            Answer::CompetingRequests(a) => &a.explanation,
            Answer::Jurisdiction(a) => &a.explanation,
        }
    }
}
