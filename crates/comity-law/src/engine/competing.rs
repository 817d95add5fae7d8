//! `competing_requests`: several states ask for the same person; an advisory, explained ranking.

use serde::Serialize;

use crate::answer::{Cite, Step};
use crate::pack::LawPacks;
use crate::question::{CompetingQ, CompetingRequest};
use crate::vocab::{ExtraditionPurpose, Factor, Measure, State};

#[derive(Debug, Clone, Serialize)]
pub struct CompetingAnswer<'a> {
    pub question: &'static str,
    /// Always true: the law leaves the decision to the requested state, weighing all circumstances.
    pub advisory: bool,
    pub frameworks: Vec<Cite<'a>>,
    pub factors: Vec<Factor>,
    pub ranking: Vec<Ranked>,
    pub explanation: Vec<Step<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Ranked {
    pub rank: usize,
    pub id: String,
    pub requesting: State,
    /// Mean of the factor scores, each between 0 and 1, all factors weighing the same.
    pub score: f64,
    pub factors: Vec<FactorScore>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FactorScore {
    pub factor: Factor,
    pub score: f64,
    pub reason: String,
}

const GUIDANCE: &str = "no instrument binding the requested state sets criteria for competing requests; the factors common to extradition treaties are weighed as guidance";

impl LawPacks {
    pub fn competing_requests<'a>(&'a self, q: &CompetingQ) -> CompetingAnswer<'a> {
        let mut explanation = Vec::new();
        let mut frameworks: Vec<Cite> = Vec::new();
        let mut factors: Vec<Factor> = Vec::new();
        for t in self.treaties.iter().filter(|t| !t.competing.is_empty()) {
            let bound: Vec<State> = q
                .requests
                .iter()
                .map(|r| r.requesting)
                .filter(|s| t.in_force_for(q.requested, q.date) && t.in_force_for(*s, q.date))
                .collect();
            if bound.is_empty() {
                continue;
            }
            let article = t.competing.first().map_or("", |(_, a)| a.as_str());
            let cite = Cite::Treaty {
                treaty: &t.id,
                article,
            };
            frameworks.push(cite);
            for (f, _) in &t.competing {
                if !factors.contains(f) {
                    factors.push(*f);
                }
            }
            let names: Vec<&str> = bound.iter().map(State::as_str).collect();
            explanation.push(Step::text(
                cite,
                format!(
                    "{} binds {} and {}: its criteria are weighed ({})",
                    t.title,
                    q.requested,
                    names.join(", "),
                    t.competing
                        .iter()
                        .map(|(f, _)| f.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        if frameworks.is_empty() {
            match self
                .jurisdiction(q.requested)
                .and_then(|j| j.competing.as_ref())
            {
                Some(r) => {
                    let cite = Cite::National {
                        state: q.requested,
                        provision: &r.provision,
                    };
                    frameworks.push(cite);
                    factors.clone_from(&r.rule);
                    explanation.push(Step::text(
                        cite,
                        format!("{}'s law sets the criteria", q.requested),
                    ));
                }
                None => {
                    let cite = Cite::Guidance { note: GUIDANCE };
                    frameworks.push(cite);
                    factors = vec![
                        Factor::Seriousness,
                        Factor::PlaceOfCommission,
                        Factor::DatesOfRequests,
                        Factor::Nationality,
                        Factor::ReExtradition,
                    ];
                    explanation.push(Step::text(cite, GUIDANCE.to_owned()));
                }
            }
        }
        explanation.push(Step::text(frameworks.first().copied().unwrap_or(Cite::Guidance { note: GUIDANCE }),
            "no factor has priority over another: each is scored from 0 to 1 and weighs the same; the requested state decides".into()));

        let penalties: Vec<u32> = q.requests.iter().map(|r| self.penalty(r, q)).collect();
        let top_penalty = penalties.iter().copied().max().unwrap_or(0);
        let mut received: Vec<_> = q.requests.iter().map(|r| r.received).collect();
        received.sort();
        received.dedup();
        let mut ranking: Vec<Ranked> = q
            .requests
            .iter()
            .zip(&penalties)
            .map(|(r, &penalty)| {
                let scores: Vec<FactorScore> = factors
                    .iter()
                    .map(|f| self.score(*f, r, q, penalty, top_penalty, &received))
                    .collect();
                let score = if scores.is_empty() {
                    0.0
                } else {
                    scores.iter().map(|s| s.score).sum::<f64>() / scores.len() as f64
                };
                Ranked {
                    rank: 0,
                    id: r.id.clone(),
                    requesting: r.requesting,
                    score: round(score),
                    factors: scores,
                }
            })
            .collect();
        ranking.sort_by(|a, b| b.score.total_cmp(&a.score));
        for (i, r) in ranking.iter_mut().enumerate() {
            r.rank = i + 1;
        }
        let cite = frameworks
            .first()
            .copied()
            .unwrap_or(Cite::Guidance { note: GUIDANCE });
        for r in &ranking {
            let strongest: Vec<&str> = r
                .factors
                .iter()
                .filter(|f| f.score >= 1.0)
                .map(|f| f.factor.as_str())
                .collect();
            explanation.push(Step::text(
                cite,
                format!(
                    "{}. request {} from {}: score {:.2}{}",
                    r.rank,
                    r.id,
                    r.requesting,
                    r.score,
                    if strongest.is_empty() {
                        String::new()
                    } else {
                        format!(", strongest on {}", strongest.join(", "))
                    }
                ),
            ));
        }
        CompetingAnswer {
            question: "competing_requests",
            advisory: true,
            frameworks,
            factors,
            ranking,
            explanation,
        }
    }

    /// The seriousness of a request: the penalty given, else the highest the requesting state's
    /// provisions for the offences carry.
    fn penalty(&self, r: &CompetingRequest, q: &CompetingQ) -> u32 {
        if let Some(m) = r.max_penalty_months {
            return m;
        }
        let Some(j) = self.jurisdiction(r.requesting) else {
            return 0;
        };
        r.offences
            .iter()
            .flat_map(|o| j.provisions_for(*o).iter())
            .filter_map(|ix| j.provision(*ix))
            .filter(|p| p.in_force_on(q.date))
            .map(|p| p.max_months)
            .max()
            .unwrap_or(0)
    }

    fn score(
        &self,
        f: Factor,
        r: &CompetingRequest,
        q: &CompetingQ,
        penalty: u32,
        top: u32,
        received: &[chrono::NaiveDate],
    ) -> FactorScore {
        let (score, reason) = match f {
            Factor::Seriousness => (
                if top == 0 {
                    0.0
                } else {
                    f64::from(penalty) / f64::from(top)
                },
                format!("maximum penalty {penalty} months (highest among the requests: {top})"),
            ),
            Factor::PlaceOfCommission => {
                let here = r.place_of_commission == r.requesting;
                (
                    if here { 1.0 } else { 0.0 },
                    format!(
                        "the offence was committed in {}{}",
                        r.place_of_commission,
                        if here {
                            ", the requesting state"
                        } else {
                            ", not in the requesting state"
                        }
                    ),
                )
            }
            Factor::DatesOfRequests => {
                let pos = received.iter().position(|d| *d == r.received).unwrap_or(0);
                let n = received.len();
                let score = if n <= 1 {
                    1.0
                } else {
                    1.0 - pos as f64 / (n - 1) as f64
                };
                (
                    score,
                    format!("received on {} ({} of {} dates)", r.received, pos + 1, n),
                )
            }
            Factor::Nationality => {
                let national = q.nationalities.contains(&r.requesting);
                (
                    if national { 1.0 } else { 0.0 },
                    format!(
                        "the person {} a national of {}",
                        if national { "is" } else { "is not" },
                        r.requesting
                    ),
                )
            }
            Factor::ReExtradition => {
                let others: Vec<State> = q
                    .requests
                    .iter()
                    .map(|o| o.requesting)
                    .filter(|s| *s != r.requesting)
                    .collect();
                let can: Vec<&str> = others
                    .iter()
                    .filter(|o| self.could_extradite(r.requesting, **o, q.date))
                    .map(State::as_str)
                    .collect();
                let score = if others.is_empty() {
                    0.0
                } else {
                    can.len() as f64 / others.len() as f64
                };
                (
                    score,
                    if can.is_empty() {
                        format!(
                            "{} could not later extradite the person to the other requesting states",
                            r.requesting
                        )
                    } else {
                        format!(
                            "{} could later extradite the person to {}",
                            r.requesting,
                            can.join(", ")
                        )
                    },
                )
            }
            Factor::Purpose => (
                0.0,
                format!(
                    "sought for {}; the instrument names the purpose as a circumstance without ranking it",
                    match r.purpose {
                        ExtraditionPurpose::Prosecution => "prosecution",
                        ExtraditionPurpose::Enforcement => "enforcement of a sentence",
                    }
                ),
            ),
        };
        FactorScore {
            factor: f,
            score: round(score),
            reason,
        }
    }

    /// Whether `from` could extradite to `to` on `date`: a treaty binds both, or `from` needs none.
    fn could_extradite(&self, from: State, to: State, date: chrono::NaiveDate) -> bool {
        self.treaties_between(to, from, Measure::Extradition, date)
            .next()
            .is_some()
            || self
                .jurisdiction(from)
                .is_some_and(|j| !j.extradition.treaty_required.rule)
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}
