//! `jurisdiction`: which states may prosecute a cross-border offence, and on which basis.

use serde::Serialize;

use crate::answer::{Cite, Step};
use crate::pack::LawPacks;
use crate::question::JurisdictionQ;
use crate::vocab::{Basis, Effect, NationalsRule, State};

#[derive(Debug, Clone, Serialize)]
pub struct JurisdictionAnswer<'a> {
    pub question: &'static str,
    pub claims: Vec<Claim<'a>>,
    /// More than one state has a basis.
    pub conflict: bool,
    pub consultation: Vec<Consultation<'a>>,
    pub must_consult: bool,
    pub explanation: Vec<Step<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Claim<'a> {
    pub state: State,
    pub bases: Vec<BasisClaim<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BasisClaim<'a> {
    pub basis: Basis,
    pub cites: Vec<Cite<'a>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Consultation<'a> {
    pub cite: Cite<'a>,
    /// The claimants bound by the instrument that calls for consultation.
    pub states: Vec<State>,
}

impl LawPacks {
    pub fn jurisdiction_conflict<'a>(&'a self, q: &JurisdictionQ) -> JurisdictionAnswer<'a> {
        let mut explanation = Vec::new();
        let mut states: Vec<State> = Vec::new();
        for list in [
            &q.acts_in,
            &q.systems_in,
            &q.effects_in,
            &q.offender_nationalities,
            &q.victim_nationalities,
            &q.offender_present_in,
            &q.state_interests_in,
        ] {
            for s in list {
                if !states.contains(s) {
                    states.push(*s);
                }
            }
        }
        let mut claims = Vec::new();
        for &s in &states {
            let Some(j) = self.jurisdiction(s) else {
                continue;
            };
            let refuses_nationals = j.extradition.nationals.rule == NationalsRule::Refused;
            let triggered = [
                (Basis::TerritorialityAct, q.acts_in.contains(&s)),
                (Basis::TerritorialitySystem, q.systems_in.contains(&s)),
                (Basis::Effects, q.effects_in.contains(&s)),
                (
                    Basis::ActiveNationality,
                    q.offender_nationalities.contains(&s),
                ),
                (
                    Basis::PassivePersonality,
                    q.victim_nationalities.contains(&s),
                ),
                (Basis::Protective, q.state_interests_in.contains(&s)),
                (
                    Basis::PresenceNoExtradition,
                    q.offender_present_in.contains(&s)
                        && q.offender_nationalities.contains(&s)
                        && refuses_nationals,
                ),
            ];
            let mut bases = Vec::new();
            for (basis, _) in triggered.iter().filter(|(_, on)| *on) {
                let mut cites = Vec::new();
                if let Some((_, provision, _)) = j.basis(*basis) {
                    let cite = Cite::National {
                        state: s,
                        provision,
                    };
                    explanation.push(Step::text(
                        cite,
                        format!("{s} has jurisdiction by {basis} under its own law"),
                    ));
                    cites.push(cite);
                }
                for t in &self.treaties {
                    let Some(tj) = &t.jurisdiction else { continue };
                    let Some((_, article)) = tj.bases.iter().find(|(b, _)| b == basis) else {
                        continue;
                    };
                    if !t.in_force_for(s, q.date) {
                        continue;
                    }
                    if !q
                        .offences
                        .iter()
                        .all(|o| tj.offences.as_ref().is_none_or(|l| l.contains(o)))
                    {
                        continue;
                    }
                    let cite = Cite::Treaty {
                        treaty: &t.id,
                        article,
                    };
                    if let Some(r) = t
                        .reservations_of(s, Effect::NoJurisdictionBasis, q.date)
                        .find(|r| r.bases.contains(basis))
                    {
                        explanation.push(Step::text(
                            Cite::Treaty {
                                treaty: &t.id,
                                article: &r.article,
                            },
                            format!(
                                "{s} reserved the right not to apply {basis} under {} ({})",
                                t.title, r.text
                            ),
                        ));
                        continue;
                    }
                    explanation.push(Step::text(
                        cite,
                        format!(
                            "{} obliges {s} to establish jurisdiction by {basis}",
                            t.title
                        ),
                    ));
                    cites.push(cite);
                }
                if cites.is_empty() {
                    let provision = j.bases.first().map_or("", |b| b.1.as_str());
                    explanation.push(Step::text(Cite::National { state: s, provision }, format!(
                        "{s}: the facts point to {basis}, but neither its law (as recorded) nor a treaty binding it gives that basis"
                    )));
                } else {
                    bases.push(BasisClaim {
                        basis: *basis,
                        cites,
                    });
                }
            }
            if !bases.is_empty() {
                claims.push(Claim { state: s, bases });
            }
        }
        let conflict = claims.len() > 1;
        let mut consultation = Vec::new();
        if conflict {
            for t in &self.treaties {
                let Some(tj) = &t.jurisdiction else { continue };
                if !q
                    .offences
                    .iter()
                    .all(|o| tj.offences.as_ref().is_none_or(|l| l.contains(o)))
                {
                    continue;
                }
                let bound: Vec<State> = claims
                    .iter()
                    .map(|c| c.state)
                    .filter(|s| t.in_force_for(*s, q.date))
                    .collect();
                if bound.len() < 2 {
                    continue;
                }
                let cite = Cite::Treaty {
                    treaty: &t.id,
                    article: &tj.consult_article,
                };
                let names: Vec<&str> = bound.iter().map(State::as_str).collect();
                explanation.push(Step::text(cite, format!(
                    "{} claim jurisdiction and are bound by {}: they must consult, where appropriate, to determine the most appropriate jurisdiction for prosecution",
                    names.join(", "), t.title
                )));
                consultation.push(Consultation {
                    cite,
                    states: bound,
                });
            }
            if consultation.is_empty() {
                explanation.push(Step::text(Cite::Guidance { note: "no treaty binding two of the claimants calls for consultation" },
                    "several states claim jurisdiction; consultation is advisable though no treaty binding them requires it".into()));
            }
        }
        let must_consult = !consultation.is_empty();
        JurisdictionAnswer {
            question: "jurisdiction",
            claims,
            conflict,
            consultation,
            must_consult,
            explanation,
        }
    }
}
