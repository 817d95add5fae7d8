//! `dual_criminality`: is the conduct a crime in both states, above the threshold that applies?

use chrono::NaiveDate;
use serde::Serialize;

use super::treaty_cite;
use crate::answer::{Cite, Matched, Say, Step};
use crate::pack::{LawPacks, OffenceId, Provision};
use crate::question::{DualCriminalityQ, Facts};
use crate::vocab::{Purpose, State};

#[derive(Debug, Clone, Serialize)]
pub struct DualCriminalityAnswer<'a> {
    pub question: &'static str,
    /// Criminal in both states and, where a threshold applies, above it on both sides.
    pub satisfied: bool,
    pub criminal_in_both: bool,
    /// Whether dual criminality is a condition for this purpose between these states.
    pub required: bool,
    pub requesting: Side<'a>,
    pub requested: Side<'a>,
    pub threshold: Option<Threshold<'a>>,
    pub explanation: Vec<Step<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Side<'a> {
    pub state: State,
    /// The provisions that cover the conduct, written out as [`Matched`].
    #[serde(serialize_with = "as_matched")]
    pub provisions: Vec<&'a Provision>,
    /// The highest maximum penalty among the provisions that cover the conduct.
    pub max_months: Option<u32>,
}

fn as_matched<S: serde::Serializer>(list: &[&Provision], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(|p| Matched::from(*p)))
}

#[derive(Debug, Clone, Serialize)]
pub struct Threshold<'a> {
    pub months: u32,
    pub met: bool,
    pub cite: Cite<'a>,
}

/// The provisions of one state that cover the conduct.
pub(crate) struct Coverage<'a> {
    pub provisions: Vec<&'a Provision>,
}

impl<'a> Coverage<'a> {
    pub fn max_months(&self) -> Option<u32> {
        self.provisions.iter().map(|p| p.max_months).max()
    }

    pub fn side(self, state: State) -> Side<'a> {
        let max_months = self.max_months();
        Side {
            state,
            provisions: self.provisions,
            max_months,
        }
    }
}

impl LawPacks {
    /// The provisions of `state` in force on `date`, mapped to one of `offences`, whose every
    /// condition the facts establish (the test is on the conduct, Budapest Art. 25.5).
    pub(crate) fn coverage<'a>(
        &'a self,
        state: State,
        offences: &[OffenceId],
        facts: &Facts,
        date: NaiveDate,
        steps: &mut Vec<Step<'a>>,
    ) -> Coverage<'a> {
        let mut provisions: Vec<&Provision> = Vec::new();
        let Some(j) = self.jurisdiction(state) else {
            return Coverage { provisions };
        };
        // A provision mapped to several of the offences is looked at once.
        let mut seen: Vec<u32> = Vec::new();
        for o in offences {
            for &ix in j.provisions_for(*o) {
                let Some(p) = j.provision(ix) else { continue };
                if p.offences.len() > 1 && offences.len() > 1 {
                    if seen.contains(&ix) {
                        continue;
                    }
                    seen.push(ix);
                }
                if !p.in_force_on(date) {
                    continue;
                }
                let cite = Cite::National {
                    state,
                    provision: &p.citation,
                };
                match p.conditions.iter().find(|c| !facts.holds(**c)) {
                    Some(c) => {
                        let condition = self.condition(*c).map_or("?", |c| c.id.as_str());
                        steps.push(Step::new(
                            cite,
                            Say::ConditionUnmet {
                                state,
                                provision: p,
                                condition,
                            },
                        ));
                    }
                    None => {
                        steps.push(Step::new(
                            cite,
                            Say::Matched {
                                state,
                                provision: p,
                            },
                        ));
                        provisions.push(p);
                    }
                }
            }
        }
        if provisions.is_empty() {
            let provision = j.provisions.first().map_or("", |p| p.citation.as_str());
            steps.push(Step::new(
                Cite::National { state, provision },
                Say::NoProvision { state },
            ));
        }
        Coverage { provisions }
    }

    pub fn dual_criminality<'a>(&'a self, q: &DualCriminalityQ) -> DualCriminalityAnswer<'a> {
        let mut explanation = Vec::with_capacity(16);
        let measure = q.purpose.measure();
        let applicable = self.applicable(q.requesting, q.requested, measure, q.date, &q.offences);
        let applicable: Vec<_> = applicable
            .into_iter()
            .filter(|a| a.excluded_by.is_none() && q.offences.iter().any(|o| a.provides.covers(*o)))
            .collect();

        let (required, requirement) = match applicable
            .iter()
            .find(|a| !a.dual_required)
            .or(applicable.first())
        {
            Some(a) => (
                a.dual_required,
                Step::new(
                    treaty_cite(a.treaty, &a.provides.dual_criminality_article),
                    Say::Requirement {
                        required: a.dual_required,
                        measure: measure.as_str(),
                        why: "so the instrument provides",
                    },
                ),
            ),
            None => {
                let req = self.jurisdiction(q.requested);
                let national = req.and_then(|j| j.measure(measure));
                let required = q.purpose == Purpose::Extradition
                    || national.is_none_or(|m| m.dual_criminality);
                let provision = match (q.purpose, national, req) {
                    (Purpose::Extradition, _, Some(j)) => {
                        j.extradition.threshold.provision.as_str()
                    }
                    (_, Some(m), _) => m.provision.as_str(),
                    _ => "",
                };
                let why = match national {
                    None if q.purpose != Purpose::Extradition => {
                        "no treaty applies and the requested state's pack does not record its rule, so it is taken as required"
                    }
                    _ => "no treaty applies, so the requested state's law decides",
                };
                (
                    required,
                    Step::new(
                        Cite::National {
                            state: q.requested,
                            provision,
                        },
                        Say::Requirement {
                            required,
                            measure: measure.as_str(),
                            why,
                        },
                    ),
                )
            }
        };
        explanation.push(requirement);
        if let Some(a) = applicable.first() {
            explanation.push(Step::new(
                treaty_cite(a.treaty, &a.provides.dual_criminality_article),
                Say::ConductTest,
            ));
        }

        let requesting = self.coverage(
            q.requesting,
            &q.offences,
            &q.facts,
            q.date,
            &mut explanation,
        );
        let requested = self.coverage(q.requested, &q.offences, &q.facts, q.date, &mut explanation);
        let criminal_in_both =
            !requesting.provisions.is_empty() && !requested.provisions.is_empty();

        let threshold = match applicable
            .iter()
            .filter_map(|a| a.threshold_months.map(|m| (m, a)))
            .min_by_key(|(m, _)| *m)
        {
            Some((months, a)) => Some((months, treaty_cite(a.treaty, a.threshold_article))),
            None if q.purpose == Purpose::Extradition => self.jurisdiction(q.requested).map(|j| {
                let t = &j.extradition.threshold;
                (
                    t.rule.0,
                    Cite::National {
                        state: q.requested,
                        provision: &t.provision,
                    },
                )
            }),
            None => None,
        };
        let threshold = threshold.map(|(months, cite)| {
            let lowest = [
                (q.requesting, requesting.max_months()),
                (q.requested, requested.max_months()),
            ]
            .into_iter()
            .filter_map(|(s, m)| m.map(|m| (s, m)))
            .min_by_key(|(_, m)| *m);
            let met = criminal_in_both && lowest.is_some_and(|(_, m)| m >= months);
            explanation.push(Step::new(
                cite,
                Say::Threshold {
                    months,
                    met,
                    lowest: lowest.filter(|_| criminal_in_both),
                },
            ));
            Threshold { months, met, cite }
        });
        let satisfied = criminal_in_both && threshold.as_ref().is_none_or(|t| t.met);
        DualCriminalityAnswer {
            question: "dual_criminality",
            satisfied,
            criminal_in_both,
            required,
            requesting: requesting.side(q.requesting),
            requested: requested.side(q.requested),
            threshold,
            explanation,
        }
    }
}
