//! `extradition`: may the requested state surrender this person for these offences?

use chrono::Datelike;
use serde::Serialize;

use super::treaty_cite;
use crate::answer::{Cite, Step};
use crate::engine::basis::Applicable;
use crate::engine::dual::Side;
use crate::error::LawError;
use crate::pack::{Jurisdiction, LawPacks, Provides, Rule};
use crate::question::ExtraditionQ;
use crate::vocab::{
    DeathPenaltyRule, ExtraditionPurpose, GroundRule, InstrumentNationals, Measure, NationalsRule,
    RefusalGround, State,
};

#[derive(Debug, Clone, Serialize)]
pub struct ExtraditionAnswer<'a> {
    pub question: &'static str,
    /// `permitted`, `refused` or `conditional`.
    pub decision: &'static str,
    /// The instrument the decision rests on, or `national_law` (reciprocity), or none.
    pub basis: Option<&'a str>,
    pub obstacles: Vec<Obstacle<'a>>,
    pub conditions: Vec<Obstacle<'a>>,
    pub criminal_in_both: bool,
    pub requesting: Side<'a>,
    pub requested: Side<'a>,
    /// Set when the requested state refuses a national and must then consider prosecuting.
    pub submit_for_prosecution: Option<Submission<'a>>,
    pub explanation: Vec<Step<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Obstacle<'a> {
    /// Stable code, e.g. `national_not_extradited`.
    pub code: &'static str,
    pub cite: Cite<'a>,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Submission<'a> {
    pub required: bool,
    /// Whether the duty arises only when the requesting state asks for it (Budapest Art. 24.6).
    pub on_request: bool,
    pub cite: Cite<'a>,
}

/// A fact-dependent refusal ground: whether the fact holds, the ground, the national rule, the
/// obstacle code and the reason in words.
type GroundCheck<'a> = (
    bool,
    RefusalGround,
    Option<&'a Rule<GroundRule>>,
    &'static str,
    &'static str,
);

/// One basis the request could rest on: an instrument, or the requested state's own law.
struct Candidate<'a> {
    name: &'a str,
    cite: Cite<'a>,
    provides: Option<&'a Provides>,
    threshold: (u32, Cite<'a>),
    sentence_threshold: (u32, Cite<'a>),
}

#[derive(Default)]
struct Outcome<'a> {
    obstacles: Vec<Obstacle<'a>>,
    conditions: Vec<Obstacle<'a>>,
    steps: Vec<Step<'a>>,
}

impl Outcome<'_> {
    fn rank(&self) -> (usize, usize) {
        (self.obstacles.len(), self.conditions.len())
    }
}

impl LawPacks {
    pub fn extradition<'a>(&'a self, q: &ExtraditionQ) -> Result<ExtraditionAnswer<'a>, LawError> {
        let Some(req) = self.jurisdiction(q.requested) else {
            return Err(LawError::UnknownState {
                field: "requested".into(),
                value: q.requested.to_string(),
            });
        };
        if q.purpose == ExtraditionPurpose::Enforcement && q.sentence_months.is_none() {
            return Err(LawError::MissingField {
                field: "sentence_months".into(),
            });
        }
        let mut explanation = Vec::new();
        let applicable: Vec<Applicable> = self
            .applicable(
                q.requesting,
                q.requested,
                Measure::Extradition,
                q.date,
                &q.offences,
            )
            .into_iter()
            .filter(|a| {
                if let Some(r) = a.excluded_by {
                    explanation.push(Step::text(
                        treaty_cite(a.treaty, &r.article),
                        format!(
                            "{}: extradition excluded by {}'s reservation ({})",
                            a.treaty.title, r.state, r.text
                        ),
                    ));
                    return false;
                }
                let covers = q.offences.iter().all(|o| a.provides.covers(*o));
                if !covers {
                    explanation.push(Step::text(
                        treaty_cite(a.treaty, super::basis::first(&a.provides.articles)),
                        format!(
                            "{}: binds both states but does not cover every offence of the request",
                            a.treaty.title
                        ),
                    ));
                }
                covers
            })
            .collect();
        let national = &req.extradition.threshold;
        let national_cite = Cite::National {
            state: q.requested,
            provision: &national.provision,
        };
        let mut candidates: Vec<Candidate> = applicable
            .iter()
            .map(|a| {
                let p = a.provides;
                let cite = treaty_cite(a.treaty, super::basis::first(&p.articles));
                explanation.push(Step::text(
                    cite,
                    format!(
                        "{}: binds {} and {} on {} and provides for extradition",
                        a.treaty.title, q.requesting, q.requested, q.date
                    ),
                ));
                Candidate {
                    name: &a.treaty.id,
                    cite,
                    provides: Some(p),
                    threshold: a
                        .threshold_months
                        .map_or((national.rule.0, national_cite), |m| {
                            (m, treaty_cite(a.treaty, a.threshold_article))
                        }),
                    sentence_threshold: p
                        .sentence_threshold_months
                        .map_or((national.rule.1, national_cite), |m| {
                            (m, treaty_cite(a.treaty, &p.threshold_article))
                        }),
                }
            })
            .collect();
        let treaty_rule = &req.extradition.treaty_required;
        let treaty_cite_national = Cite::National {
            state: q.requested,
            provision: &treaty_rule.provision,
        };
        if candidates.is_empty() {
            if treaty_rule.rule {
                explanation.push(Step::text(treaty_cite_national, format!(
                    "no treaty binding both states on {} provides for extradition for these offences, and {} extradites only under a treaty",
                    q.date, q.requested
                )));
            } else {
                explanation.push(Step::text(treaty_cite_national, format!(
                    "no treaty applies; {}'s law allows extradition without a treaty (reciprocity)", q.requested
                )));
                candidates.push(Candidate {
                    name: "national_law",
                    cite: treaty_cite_national,
                    provides: None,
                    threshold: (national.rule.0, national_cite),
                    sentence_threshold: (national.rule.1, national_cite),
                });
            }
        }

        let facts = &q.facts;
        let requesting = self.coverage(q.requesting, &q.offences, facts, q.date, &mut explanation);
        let requested = self.coverage(q.requested, &q.offences, facts, q.date, &mut explanation);
        let criminal_in_both =
            !requesting.provisions.is_empty() && !requested.provisions.is_empty();

        let evaluate = |c: &Candidate<'a>| -> Outcome<'a> {
            let mut out = Outcome::default();
            let p = c.provides;
            let exempt = p.and_then(|p| p.exempt.as_ref()).filter(|e| {
                q.offences.iter().all(|o| e.offences.contains(o))
                    && requesting.max_months().is_some_and(|m| m >= e.min_months)
            });
            match (exempt, criminal_in_both) {
                (Some(e), _) => out.steps.push(Step::text(
                    Cite::Treaty { treaty: c.name, article: &e.article },
                    format!("{}: the offences are listed and punished in {} by at least {} months, so dual criminality is not verified", c.name, q.requesting, e.min_months),
                )),
                (None, true) => {}
                (None, false) => out.obstacles.push(Obstacle {
                    code: "no_dual_criminality",
                    cite: p.map_or(national_cite, |p| Cite::Treaty { treaty: c.name, article: &p.dual_criminality_article }),
                    reason: "the conduct is not a criminal offence under the law of both states".into(),
                }),
            }
            match q.purpose {
                ExtraditionPurpose::Prosecution => {
                    let (months, cite) = c.threshold;
                    let low = [
                        (q.requesting, requesting.max_months()),
                        (q.requested, requested.max_months()),
                    ]
                    .into_iter()
                    .filter(|(s, _)| exempt.is_none() || *s == q.requesting)
                    .find_map(|(s, m)| m.filter(|m| *m < months).map(|m| (s, m)));
                    match low {
                        Some((s, m)) => out.obstacles.push(Obstacle {
                            code: "below_threshold",
                            cite,
                            reason: format!("{s} punishes the conduct with at most {m} months; at least {months} are required"),
                        }),
                        None if criminal_in_both || exempt.is_some() => out.steps.push(Step::text(cite, format!(
                            "the penalty threshold of {months} months is met"
                        ))),
                        None => {}
                    }
                }
                ExtraditionPurpose::Enforcement => {
                    let (months, cite) = c.sentence_threshold;
                    let sentence = q.sentence_months.unwrap_or(0);
                    if sentence < months {
                        out.obstacles.push(Obstacle {
                            code: "below_threshold",
                            cite,
                            reason: format!("the sentence to enforce is {sentence} months; at least {months} are required"),
                        });
                    } else {
                        out.steps.push(Step::text(cite, format!(
                            "the sentence to enforce ({sentence} months) reaches the threshold of {months} months"
                        )));
                    }
                }
            }
            if q.nationalities.contains(&q.requested) {
                nationals(q.requested, req, c, &mut out);
            }
            self.grounds(
                q,
                req,
                c,
                &requesting.provisions,
                &requested.provisions,
                &mut out,
            );
            out
        };
        let mut best: Option<(usize, Outcome)> = None;
        for (i, c) in candidates.iter().enumerate() {
            let out = evaluate(c);
            if best.as_ref().is_none_or(|(_, b)| out.rank() < b.rank()) {
                best = Some((i, out));
            }
        }
        let (basis, mut outcome) = match best {
            Some((i, out)) => (candidates.get(i), out),
            None => {
                let none = Candidate {
                    name: "none",
                    cite: treaty_cite_national,
                    provides: None,
                    threshold: (national.rule.0, national_cite),
                    sentence_threshold: (national.rule.1, national_cite),
                };
                let mut out = evaluate(&none);
                out.obstacles.insert(0, Obstacle {
                    code: "no_legal_basis",
                    cite: treaty_cite_national,
                    reason: format!("{} extradites only under a treaty and none binding both states covers these offences on {}", q.requested, q.date),
                });
                (None, out)
            }
        };
        explanation.append(&mut outcome.steps);
        for o in outcome.obstacles.iter().chain(&outcome.conditions) {
            explanation.push(Step::text(o.cite, format!("{}: {}", o.code, o.reason)));
        }
        let submit_for_prosecution = if outcome
            .obstacles
            .iter()
            .any(|o| o.code == "national_not_extradited")
        {
            let by_treaty = basis
                .and_then(|c| c.provides)
                .and_then(|p| p.aut_dedere.as_deref().map(|a| (p, a)));
            match (by_treaty, &req.extradition.prosecute_instead) {
                (Some((_, article)), _) => {
                    let cite = Cite::Treaty {
                        treaty: basis.map_or("", |c| c.name),
                        article,
                    };
                    explanation.push(Step::text(cite, format!(
                        "having refused its national, {} must submit the case to its prosecuting authorities if {} asks, and report the outcome", q.requested, q.requesting
                    )));
                    Some(Submission {
                        required: true,
                        on_request: true,
                        cite,
                    })
                }
                (None, Some(r)) if r.rule => {
                    let cite = Cite::National {
                        state: q.requested,
                        provision: &r.provision,
                    };
                    explanation.push(Step::text(
                        cite,
                        format!(
                            "{}'s law provides for prosecuting its national instead",
                            q.requested
                        ),
                    ));
                    Some(Submission {
                        required: true,
                        on_request: false,
                        cite,
                    })
                }
                _ => None,
            }
        } else {
            None
        };
        let decision = if !outcome
            .obstacles
            .iter()
            .all(|o| o.code == "death_penalty_assurance_required")
        {
            "refused"
        } else if !outcome.obstacles.is_empty() || !outcome.conditions.is_empty() {
            "conditional"
        } else {
            "permitted"
        };
        let (conditional, refusing): (Vec<_>, Vec<_>) = outcome
            .obstacles
            .into_iter()
            .partition(|o| o.code == "death_penalty_assurance_required");
        let mut conditions = outcome.conditions;
        conditions.extend(conditional.iter().cloned());
        let mut obstacles = refusing;
        obstacles.extend(conditional);
        let cite = basis.map_or(treaty_cite_national, |c| c.cite);
        explanation.push(Step::text(
            cite,
            format!(
                "decision: {decision}{}",
                match obstacles.len() {
                    0 => String::new(),
                    _ => format!(
                        " ({})",
                        obstacles
                            .iter()
                            .map(|o| o.code)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                }
            ),
        ));
        Ok(ExtraditionAnswer {
            question: "extradition",
            decision,
            basis: basis.map(|c| c.name),
            obstacles,
            conditions,
            criminal_in_both,
            requesting: requesting.side(q.requesting),
            requested: requested.side(q.requested),
            submit_for_prosecution,
            explanation,
        })
    }

    /// Refusal grounds that depend on the facts and on national law; an instrument whose list of
    /// grounds is exhaustive shuts out the national grounds it does not list.
    fn grounds<'a>(
        &'a self,
        q: &ExtraditionQ,
        req: &'a Jurisdiction,
        c: &Candidate<'a>,
        requesting: &[&'a crate::pack::Provision],
        requested: &[&'a crate::pack::Provision],
        out: &mut Outcome<'a>,
    ) {
        let state = q.requested;
        let allowed = |g: RefusalGround| {
            c.provides
                .is_none_or(|p| !p.grounds_exhaustive || p.refusal_grounds.contains(&g))
        };
        let listed = |g: RefusalGround| c.provides.is_some_and(|p| p.refusal_grounds.contains(&g));
        let ground_cite = |g: RefusalGround, r: Option<&'a Rule<GroundRule>>| -> Option<Cite<'a>> {
            match r {
                Some(r) if r.rule == GroundRule::Refused && allowed(g) => Some(Cite::National {
                    state,
                    provision: &r.provision,
                }),
                _ if listed(g) => c.provides.map(|p| Cite::Treaty {
                    treaty: c.name,
                    article: &p.refusal_article,
                }),
                _ => None,
            }
        };
        let e = &req.extradition;
        let checks: [GroundCheck<'a>; 4] = [
            (
                q.facts.political_offence,
                RefusalGround::PoliticalOffence,
                Some(&e.political_offences),
                "political_offence",
                "the offence is regarded as political",
            ),
            (
                q.facts.military_offence,
                RefusalGround::MilitaryOffence,
                Some(&e.military_offences),
                "military_offence",
                "the offence is a purely military one",
            ),
            (
                q.facts.final_judgment_in_requested_state,
                RefusalGround::NeBisInIdem,
                e.ne_bis_in_idem.as_ref(),
                "ne_bis_in_idem",
                "a final judgment on the same acts was given in the requested state",
            ),
            (
                q.facts.discrimination_risk,
                RefusalGround::Discrimination,
                e.discrimination.as_ref(),
                "discrimination_risk",
                "there are substantial grounds to believe the request aims at punishing the person for race, religion, nationality or political opinion",
            ),
        ];
        for (fact, ground, rule, code, reason) in checks {
            if !fact {
                continue;
            }
            match ground_cite(ground, rule) {
                Some(cite) => out.obstacles.push(Obstacle {
                    code,
                    cite,
                    reason: reason.into(),
                }),
                None => out.steps.push(Step::text(
                    c.cite,
                    format!(
                        "{reason}, but {} cannot refuse on that ground under {}",
                        state, c.name
                    ),
                )),
            }
        }
        if requesting.iter().any(|p| p.death_penalty) {
            let r = &e.death_penalty;
            let cite = Cite::National {
                state,
                provision: &r.provision,
            };
            match r.rule {
                _ if !allowed(RefusalGround::DeathPenalty) => {}
                DeathPenaltyRule::AssuranceRequired => out.obstacles.push(Obstacle {
                    code: "death_penalty_assurance_required",
                    cite,
                    reason: format!("{} punishes the conduct with death; surrender only on assurances that it will not be imposed or carried out", q.requesting),
                }),
                DeathPenaltyRule::Refused => out.obstacles.push(Obstacle {
                    code: "death_penalty",
                    cite,
                    reason: format!("{} punishes the conduct with death, and {} does not extradite in that case", q.requesting, state),
                }),
                DeathPenaltyRule::NoObjection => {}
            }
        }
        if let Some(committed) = q.committed_on {
            let elapsed = years_between(committed, q.date);
            for (side, provisions) in [(q.requested, requested), (q.requesting, requesting)] {
                let limit = provisions
                    .iter()
                    .filter_map(|p| p.limitation_years.map(|y| (y, *p)))
                    .max_by_key(|(y, _)| *y);
                match limit {
                    Some((years, p)) if elapsed > i64::from(years) && allowed(RefusalGround::LapseOfTime) => {
                        out.obstacles.push(Obstacle {
                            code: "time_barred",
                            cite: Cite::National { state: side, provision: &p.citation },
                            reason: format!("{elapsed} full years have passed since the offence; {side}'s limitation period is {years} years"),
                        });
                    }
                    Some(_) => {}
                    None if !provisions.is_empty() => out.steps.push(Step::text(
                        Cite::National { state: side, provision: provisions.first().map_or("", |p| p.citation.as_str()) },
                        format!("{side}'s pack records no limitation period for these provisions; lapse of time not checked"),
                    )),
                    None => {}
                }
            }
        }
    }
}

fn nationals<'a>(state: State, req: &'a Jurisdiction, c: &Candidate<'a>, out: &mut Outcome<'a>) {
    let rule = &req.extradition.nationals;
    let national = Cite::National {
        state,
        provision: &rule.provision,
    };
    let instrument = c.provides.map(|p| {
        (
            p.nationals,
            Cite::Treaty {
                treaty: c.name,
                article: &p.nationals_article,
            },
        )
    });
    match instrument {
        Some((InstrumentNationals::Surrender, cite)) => out.steps.push(Step::text(cite, format!(
            "{}: the person is a national of {state}, but the instrument requires surrender of nationals", c.name
        ))),
        Some((InstrumentNationals::SurrenderWithReturn, cite)) => out.conditions.push(Obstacle {
            code: "return_of_national",
            cite,
            reason: format!("{state} may require that its national be returned to serve any custodial sentence there"),
        }),
        _ => match rule.rule {
            NationalsRule::Refused => out.obstacles.push(Obstacle {
                code: "national_not_extradited",
                cite: national,
                reason: format!("the person is a national of {state}, whose law does not extradite its nationals"),
            }),
            NationalsRule::PermittedWithReturn => out.conditions.push(Obstacle {
                code: "return_of_national",
                cite: national,
                reason: format!("{state} extradites its nationals on condition that they are returned to serve any sentence"),
            }),
            NationalsRule::Permitted => out.steps.push(Step::text(national, format!(
                "the person is a national of {state}, whose law allows extraditing nationals"
            ))),
        },
    }
}

/// Whole years from `from` to `to` (negative if `to` is earlier).
fn years_between(from: chrono::NaiveDate, to: chrono::NaiveDate) -> i64 {
    let mut years = i64::from(to.year() - from.year());
    if (to.month(), to.day()) < (from.month(), from.day()) {
        years -= 1;
    }
    years
}
