//! `legal_basis`: which instruments allow a measure between two states on a date, and how.

use chrono::NaiveDate;
use serde::Serialize;

use super::{reservation_cite, treaty_cite};
use crate::answer::{Cite, Step};
use crate::pack::{Deadline, Jurisdiction, LawPacks, OffenceId, Provides, Treaty};
use crate::question::LegalBasisQ;
use crate::vocab::{Channel, DualCriminalityRule, Effect, Measure, RefusalGround, State};

#[derive(Debug, Clone, Serialize)]
pub struct LegalBasisAnswer<'a> {
    pub question: &'static str,
    pub requesting: State,
    pub requested: State,
    pub measure: Measure,
    pub date: NaiveDate,
    /// Whether the request can be made at all (an instrument or reciprocity, and national law).
    pub available: bool,
    pub instruments: Vec<Instrument<'a>>,
    pub reciprocity: Option<Reciprocity<'a>>,
    /// Every channel the request may use, over all bases.
    pub channels: Vec<Channel>,
    /// Whether dual criminality is required on the most favourable basis.
    pub dual_criminality_required: bool,
    pub national_measure: NationalMeasureStatus<'a>,
    pub explanation: Vec<Step<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Instrument<'a> {
    pub treaty: &'a str,
    pub title: &'a str,
    pub articles: &'a [String],
    pub channels: Vec<Channel>,
    pub dual_criminality_required: bool,
    pub threshold_months: Option<u32>,
    pub sentence_threshold_months: Option<u32>,
    pub refusal_grounds: &'a [RefusalGround],
    pub deadlines: &'a [Deadline],
    pub required_content: &'a [String],
    /// Offences of the question outside the instrument's scope.
    pub offences_not_covered: Vec<&'a str>,
    pub reservations: Vec<ReservationNote<'a>>,
    pub verified: bool,
    pub source: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReservationNote<'a> {
    pub state: State,
    pub article: &'a str,
    pub effect: Effect,
    pub text: &'a str,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reciprocity<'a> {
    pub provision: &'a str,
    pub channels: Vec<Channel>,
    pub verified: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct NationalMeasureStatus<'a> {
    /// `available`, `not_available` or `not_recorded` (the pack says nothing).
    pub status: &'static str,
    pub provision: Option<&'a str>,
}

/// An instrument that binds both states on the date and provides for the measure.
pub(crate) struct Applicable<'a> {
    pub treaty: &'a Treaty,
    pub provides: &'a Provides,
    pub dual_required: bool,
    pub threshold_months: Option<u32>,
    /// The article that sets the threshold: the treaty's, or a reservation's.
    pub threshold_article: &'a str,
    pub excluded_by: Option<&'a crate::pack::Reservation>,
}

impl LawPacks {
    /// Every instrument between the two states for the measure, with reservations applied.
    pub(crate) fn applicable<'a>(
        &'a self,
        requesting: State,
        requested: State,
        measure: Measure,
        date: NaiveDate,
        offences: &[OffenceId],
    ) -> Vec<Applicable<'a>> {
        let Some(req) = self.jurisdiction(requested) else {
            return Vec::new();
        };
        self.treaties_between(requesting, requested, measure, date)
            .map(|(treaty, provides)| {
                // A reservation modifies the treaty in both directions (VCLT Art. 21.1), so an
                // exclusion by either state removes the measure between them.
                let excluded_by = [requesting, requested].into_iter().find_map(|s| {
                    treaty
                        .reservations_of(s, Effect::ExcludeMeasure, date)
                        .find(|r| r.measures.contains(&measure))
                });
                let national_dc = req.measure(measure).is_some_and(|m| m.dual_criminality);
                let mut dual_required = match provides.dual_criminality {
                    DualCriminalityRule::Required => true,
                    DualCriminalityRule::NotRequired => false,
                    DualCriminalityRule::NationalLaw => national_dc || measure.is_extradition(),
                };
                if treaty
                    .reservations_of(requested, Effect::RequireDualCriminality, date)
                    .any(|r| {
                        r.measures.contains(&measure) && !covers_all(&r.except_offences, offences)
                    })
                {
                    dual_required = true;
                }
                let reserved = treaty
                    .reservations_of(requested, Effect::PenaltyThreshold, date)
                    .find(|r| r.measures.contains(&measure));
                let (threshold_months, threshold_article) = match reserved {
                    Some(r) => (r.months, r.article.as_str()),
                    None => (
                        provides.threshold_months,
                        provides.threshold_article.as_str(),
                    ),
                };
                Applicable {
                    treaty,
                    provides,
                    dual_required,
                    threshold_months,
                    threshold_article,
                    excluded_by,
                }
            })
            .collect()
    }

    pub fn legal_basis<'a>(&'a self, q: &LegalBasisQ) -> LegalBasisAnswer<'a> {
        let req = self.jurisdiction(q.requested);
        let mut explanation = Vec::new();
        let mut instruments = Vec::new();
        let mut channels: Vec<Channel> = Vec::new();
        let mut dual_min: Option<bool> = None;
        for a in self.applicable(q.requesting, q.requested, q.measure, q.date, &q.offences) {
            let t = a.treaty;
            let p = a.provides;
            if let Some(r) = a.excluded_by {
                explanation.push(Step::text(
                    reservation_cite(t, r),
                    format!(
                        "{}: not available, {} excluded {} by reservation or declaration ({})",
                        t.title, r.state, q.measure, r.text
                    ),
                ));
                continue;
            }
            let not_covered: Vec<&str> = q
                .offences
                .iter()
                .filter(|o| !p.covers(**o))
                .map(|o| self.offence(*o).map_or("?", |o| o.id.as_str()))
                .collect();
            if !q.offences.is_empty() && not_covered.len() == q.offences.len() {
                explanation.push(Step::text(
                    treaty_cite(t, first(&p.articles)),
                    format!(
                        "{}: binds both states but does not cover {} for these offences",
                        t.title, q.measure
                    ),
                ));
                continue;
            }
            let article = first(&p.articles);
            explanation.push(Step::text(
                treaty_cite(t, article),
                format!(
                    "{}: {} and {} are both bound on {} and it provides for {} (Art. {})",
                    t.title,
                    q.requesting,
                    q.requested,
                    q.date,
                    q.measure,
                    p.articles.join(", ")
                ),
            ));
            let dc_article: &str = &p.dual_criminality_article;
            explanation.push(Step::text(
                treaty_cite(t, dc_article),
                format!(
                    "{}: dual criminality {}",
                    t.title,
                    if a.dual_required {
                        "is required"
                    } else {
                        "is not required"
                    }
                ),
            ));
            let mut reservations = Vec::new();
            for r in t.reservations.iter().filter(|r| {
                (r.state == q.requested
                    || (r.state == q.requesting && r.effect == Effect::ExcludeMeasure))
                    && r.measures.contains(&q.measure)
                    && r.from
                        .or(t.party(r.state).and_then(|p| p.in_force))
                        .is_none_or(|d| d <= q.date)
            }) {
                explanation.push(Step::text(
                    reservation_cite(t, r),
                    format!(
                        "{} made a reservation or declaration ({}): {}",
                        r.state, r.effect, r.text
                    ),
                ));
                reservations.push(ReservationNote {
                    state: r.state,
                    article: &r.article,
                    effect: r.effect,
                    text: &r.text,
                });
            }
            let inst_channels =
                req.map_or_else(|| p.channels.clone(), |j| channels_for(t, p, j, q.date));
            for c in &inst_channels {
                if !channels.contains(c) {
                    channels.push(*c);
                }
            }
            dual_min = Some(dual_min.map_or(a.dual_required, |d| d && a.dual_required));
            instruments.push(Instrument {
                treaty: &t.id,
                title: &t.title,
                articles: &p.articles,
                channels: inst_channels,
                dual_criminality_required: a.dual_required,
                threshold_months: a.threshold_months,
                sentence_threshold_months: p.sentence_threshold_months,
                refusal_grounds: &p.refusal_grounds,
                deadlines: &p.deadlines,
                required_content: &p.required_content,
                offences_not_covered: not_covered,
                reservations,
                verified: p.fact.verified && t.fact.verified,
                source: &p.fact.source,
            });
        }
        let mut reciprocity = None;
        if let (true, Some(req)) = (instruments.is_empty(), req) {
            reciprocity = self.reciprocity(req, q.measure, &mut explanation);
            if let Some(r) = &reciprocity {
                channels.clone_from(&r.channels);
                let dc = q.measure.is_extradition()
                    || req.measure(q.measure).is_some_and(|m| m.dual_criminality);
                dual_min = Some(dc);
            }
        }
        let national_measure = match req.and_then(|j| j.measure(q.measure)) {
            Some(m) => {
                explanation.push(Step::text(
                    Cite::National {
                        state: q.requested,
                        provision: &m.provision,
                    },
                    format!(
                        "{}'s law {} {}",
                        q.requested,
                        if m.available {
                            "provides for"
                        } else {
                            "does not provide for"
                        },
                        q.measure
                    ),
                ));
                NationalMeasureStatus {
                    status: if m.available {
                        "available"
                    } else {
                        "not_available"
                    },
                    provision: Some(&m.provision),
                }
            }
            None => NationalMeasureStatus {
                status: "not_recorded",
                provision: None,
            },
        };
        let has_basis = !instruments.is_empty() || reciprocity.is_some();
        LegalBasisAnswer {
            question: "legal_basis",
            requesting: q.requesting,
            requested: q.requested,
            measure: q.measure,
            date: q.date,
            available: has_basis && national_measure.status != "not_available",
            instruments,
            reciprocity,
            channels,
            dual_criminality_required: dual_min.unwrap_or(true),
            national_measure,
            explanation,
        }
    }

    /// The basis when no treaty applies: the requested state's law, if it cooperates without one.
    fn reciprocity<'a>(
        &'a self,
        req: &'a Jurisdiction,
        measure: Measure,
        explanation: &mut Vec<Step<'a>>,
    ) -> Option<Reciprocity<'a>> {
        let state = req.state;
        let (allowed, provision, verified) = if measure.is_extradition() {
            let r = &req.extradition.treaty_required;
            (!r.rule, r.provision.as_str(), r.fact.verified)
        } else {
            let r = &req.assistance;
            (r.rule, r.provision.as_str(), r.fact.verified)
        };
        let cite = Cite::National { state, provision };
        if !allowed {
            explanation.push(Step::text(cite, format!(
                "no treaty binding both states provides for {measure}, and {state}'s law does not cooperate without one"
            )));
            return None;
        }
        let mut channels = vec![Channel::Diplomatic];
        if measure == Measure::ProvisionalArrest && accepts(req, Channel::Interpol) {
            channels.push(Channel::Interpol);
        }
        if !measure.is_extradition() && accepts(req, Channel::CentralAuthority) {
            channels.push(Channel::CentralAuthority);
        }
        explanation.push(Step::text(cite, format!(
            "no treaty binding both states provides for {measure}; {state}'s law allows it on the basis of reciprocity"
        )));
        Some(Reciprocity {
            provision,
            channels,
            verified,
        })
    }
}

/// The instrument's channels, narrowed by the requested state's declarations and to the channels
/// its recorded authorities accept (unless it records none of them).
fn channels_for(t: &Treaty, p: &Provides, req: &Jurisdiction, date: NaiveDate) -> Vec<Channel> {
    let mut channels = if t
        .reservations_of(req.state, Effect::CentralAuthorityOnly, date)
        .any(|r| r.measures.contains(&p.measure))
    {
        vec![Channel::CentralAuthority]
    } else {
        p.channels.clone()
    };
    let accepted: Vec<Channel> = channels
        .iter()
        .copied()
        .filter(|c| accepts(req, *c))
        .collect();
    if !accepted.is_empty() {
        channels = accepted;
    }
    channels
}

fn accepts(j: &Jurisdiction, c: Channel) -> bool {
    j.accepted_channels.contains(&c)
}

fn covers_all(list: &[OffenceId], offences: &[OffenceId]) -> bool {
    !offences.is_empty() && offences.iter().all(|o| list.contains(o))
}

pub(crate) fn first(list: &[String]) -> &str {
    list.first().map_or("", String::as_str)
}
