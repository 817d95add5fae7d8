//! Turns `(file name, text)` pairs into [`LawPacks`], collecting every problem on the way.

use std::collections::HashMap;
use std::ops::Range;

use chrono::NaiveDate;
use toml::value::Datetime;

use super::LawPacks;
use super::model::*;
use super::raw::{self, S};
use crate::error::{LoadError, PackProblem};
use crate::vocab::{
    Basis, Channel, DeadlineKind, DeathPenaltyRule, DualCriminalityRule, Effect, Factor,
    GroundRule, InstrumentNationals, MEASURE_COUNT, Measure, NationalsRule, RefusalGround, State,
};

const NO_INDEX: u16 = u16::MAX;

impl LawPacks {
    /// Loads packs from `(file name, text)` pairs; the file name is only used in messages.
    ///
    /// Returns every problem found, each as `file:line:column: message`. Shape errors (a
    /// missing field, a wrong type) stop the reading of that one file; all other files and all
    /// cross-references are still checked.
    pub fn load<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<LawPacks, LoadError> {
        let mut problems = Vec::new();
        let mut taxonomies = Vec::new();
        let mut treaties = Vec::new();
        let mut states = Vec::new();
        for (name, text) in files {
            let mut cx = Cx {
                file: name,
                text,
                problems: &mut problems,
            };
            match kind_of(&mut cx) {
                Some(Kind::Taxonomy) => {
                    if let Some(t) = cx.parse::<raw::TaxonomyFile>() {
                        taxonomies.push((name, text, t));
                    }
                }
                Some(Kind::Treaty) => {
                    if let Some(t) = cx.parse::<raw::TreatyFile>() {
                        treaties.push((name, text, t));
                    }
                }
                Some(Kind::Jurisdiction) => {
                    if let Some(j) = cx.parse::<raw::JurisdictionFile>() {
                        states.push((name, text, j));
                    }
                }
                None => {}
            }
        }
        let mut packs = LawPacks {
            offences: Vec::new(),
            offence_ix: HashMap::new(),
            conditions: Vec::new(),
            condition_ix: HashMap::new(),
            treaties: Vec::new(),
            jurisdictions: Vec::new(),
            state_ix: vec![NO_INDEX; 26 * 26],
        };
        match taxonomies.as_slice() {
            [] => problems.push(PackProblem {
                file: "<packs>".into(),
                line: 1,
                column: 1,
                code: "pack.no_taxonomy",
                message: "no file has kind = \"taxonomy\"; the packs need exactly one".into(),
            }),
            [first, rest @ ..] => {
                for (name, text, _) in rest {
                    let mut cx = Cx {
                        file: name,
                        text,
                        problems: &mut problems,
                    };
                    cx.at(
                        0..0,
                        "pack.duplicate_taxonomy",
                        format!(
                            "a second taxonomy; the packs need exactly one (the first is {})",
                            first.0
                        ),
                    );
                }
                let (name, text, tax) = first;
                let mut cx = Cx {
                    file: name,
                    text,
                    problems: &mut problems,
                };
                load_taxonomy(&mut cx, tax, &mut packs);
            }
        }
        for (name, text, t) in &treaties {
            let mut cx = Cx {
                file: name,
                text,
                problems: &mut problems,
            };
            if let Some(treaty) = load_treaty(&mut cx, t, &packs) {
                packs.treaties.push(treaty);
            }
        }
        for (name, text, tax) in taxonomies.iter().take(1) {
            let mut cx = Cx {
                file: name,
                text,
                problems: &mut problems,
            };
            check_instruments(&mut cx, tax, &packs);
        }
        for (name, text, j) in &states {
            let mut cx = Cx {
                file: name,
                text,
                problems: &mut problems,
            };
            if let Some(jur) = load_jurisdiction(&mut cx, j, &packs) {
                let slot = jur.state.index();
                if packs.state_ix.get(slot).is_some_and(|&ix| ix != NO_INDEX) {
                    cx.at(
                        j.state.span(),
                        "pack.duplicate_state",
                        format!(
                            "a second pack for state {}; each state has exactly one",
                            jur.state
                        ),
                    );
                } else if let Some(entry) = packs.state_ix.get_mut(slot) {
                    *entry = u16::try_from(packs.jurisdictions.len()).unwrap_or(NO_INDEX);
                    packs.jurisdictions.push(jur);
                }
            }
        }
        problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        if problems.is_empty() {
            Ok(packs)
        } else {
            Err(LoadError { problems })
        }
    }
}

enum Kind {
    Taxonomy,
    Treaty,
    Jurisdiction,
}

fn kind_of(cx: &mut Cx) -> Option<Kind> {
    let head = cx.parse::<raw::KindOnly>()?;
    let Some(kind) = head.kind else {
        cx.at(0..0, "pack.missing_kind",
            "add `kind = \"taxonomy\"`, `kind = \"treaty\"` or `kind = \"jurisdiction\"` at the top");
        return None;
    };
    match kind.get_ref().as_str() {
        "taxonomy" => Some(Kind::Taxonomy),
        "treaty" => Some(Kind::Treaty),
        "jurisdiction" => Some(Kind::Jurisdiction),
        other => {
            cx.at(
                kind.span(),
                "pack.unknown_kind",
                format!("unknown kind {other:?}; expected taxonomy, treaty or jurisdiction"),
            );
            None
        }
    }
}

/// The file being read and where its problems go.
struct Cx<'a> {
    file: &'a str,
    text: &'a str,
    problems: &'a mut Vec<PackProblem>,
}

impl Cx<'_> {
    fn at(&mut self, span: Range<usize>, code: &'static str, message: impl Into<String>) {
        let (line, column) = line_column(self.text, span.start);
        self.problems.push(PackProblem {
            file: self.file.to_owned(),
            line,
            column,
            code,
            message: message.into(),
        });
    }

    fn parse<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        match toml::from_str::<T>(self.text) {
            Ok(v) => Some(v),
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                let message = e.message().trim().to_owned();
                self.at(span, "pack.syntax", message);
                None
            }
        }
    }

    fn fact(&mut self, source: &S<String>, verified: bool) -> Fact {
        if source.get_ref().trim().is_empty() {
            self.at(source.span(), "pack.missing_source",
                "`source` is empty: say where this fact comes from (a URL, an official journal, a register)");
        }
        Fact {
            source: source.get_ref().clone(),
            verified,
        }
    }

    fn state(&mut self, s: &S<String>) -> Option<State> {
        let state = State::parse(s.get_ref());
        if state.is_none() {
            self.at(s.span(), "pack.invalid_state", format!(
                "{:?} is not an ISO 3166-1 alpha-2 code (e.g. \"DZ\", \"FR\"; \"XA\"..\"XZ\" for fictional states)",
                s.get_ref()
            ));
        }
        state
    }

    fn vocab<T>(
        &mut self,
        s: &S<String>,
        what: &str,
        parse: fn(&str) -> Option<T>,
        spellings: fn() -> String,
    ) -> Option<T> {
        let v = parse(s.get_ref());
        if v.is_none() {
            self.at(
                s.span(),
                "pack.unknown_value",
                format!(
                    "unknown {what} {:?}; expected one of {}",
                    s.get_ref(),
                    spellings()
                ),
            );
        }
        v
    }

    fn vocab_list<T>(
        &mut self,
        list: &[S<String>],
        what: &str,
        parse: fn(&str) -> Option<T>,
        spellings: fn() -> String,
    ) -> Vec<T> {
        list.iter()
            .filter_map(|s| self.vocab(s, what, parse, spellings))
            .collect()
    }

    fn offences(&mut self, list: &[S<String>], packs: &LawPacks) -> Vec<OffenceId> {
        let mut out = Vec::with_capacity(list.len());
        for s in list {
            match packs.offence_id(s.get_ref()) {
                Some(id) => out.push(id),
                None => self.at(
                    s.span(),
                    "pack.unknown_offence",
                    format!("{:?} is not an offence id of the taxonomy", s.get_ref()),
                ),
            }
        }
        out
    }

    fn date(&mut self, d: Option<&S<Datetime>>) -> Option<NaiveDate> {
        let d = d?;
        let dt = d.get_ref();
        let date = match (dt.date, dt.time, dt.offset) {
            (Some(date), None, None) => NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            ),
            _ => None,
        };
        if date.is_none() {
            self.at(
                d.span(),
                "pack.invalid_date",
                format!("{dt} is not a calendar date; write it as 2004-07-01 (no time)"),
            );
        }
        date
    }

    fn require_order(
        &mut self,
        first: Option<NaiveDate>,
        then: Option<&S<Datetime>>,
        then_date: Option<NaiveDate>,
        what: &str,
    ) {
        if let (Some(a), Some(b), Some(span)) = (first, then_date, then)
            && b < a
        {
            self.at(
                span.span(),
                "pack.date_order",
                format!("{what} ({b}) is before {a}"),
            );
        }
    }
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn load_taxonomy(cx: &mut Cx, tax: &raw::TaxonomyFile, packs: &mut LawPacks) {
    for c in &tax.condition {
        let c = c.get_ref();
        let id = c.id.get_ref();
        if !is_identifier(id) {
            cx.at(
                c.id.span(),
                "pack.invalid_id",
                format!("condition id {id:?}: use lower-case letters, digits and '_'"),
            );
        } else if packs.condition_ix.contains_key(id)
            || crate::question::BUILTIN_FACTS.contains(&id.as_str())
        {
            cx.at(
                c.id.span(),
                "pack.duplicate_id",
                format!("condition {id:?} is defined twice (or is a built-in fact)"),
            );
        } else {
            let ix = ConditionId(u16::try_from(packs.conditions.len()).unwrap_or(u16::MAX));
            packs.condition_ix.insert(id.clone(), ix);
            packs.conditions.push(Condition {
                id: id.clone(),
                description: c.description.clone(),
            });
        }
    }
    for o in &tax.offence {
        let o = o.get_ref();
        let id = o.id.get_ref();
        let fact = cx.fact(&o.source, o.verified);
        if !is_identifier(id) {
            cx.at(
                o.id.span(),
                "pack.invalid_id",
                format!("offence id {id:?}: use lower-case letters, digits and '_'"),
            );
        } else if packs.offence_ix.contains_key(id) {
            cx.at(
                o.id.span(),
                "pack.duplicate_id",
                format!("offence {id:?} is defined twice"),
            );
        } else {
            let instruments = o
                .instruments
                .iter()
                .map(|s| match s.get_ref().split_once(':') {
                    Some((t, a)) => (t.to_owned(), a.to_owned()),
                    None => (s.get_ref().clone(), String::new()),
                })
                .collect();
            let ix = OffenceId(u16::try_from(packs.offences.len()).unwrap_or(u16::MAX));
            packs.offence_ix.insert(id.clone(), ix);
            packs.offences.push(Offence {
                id: id.clone(),
                name: o.name.clone(),
                instruments,
                fact,
            });
        }
    }
}

fn check_instruments(cx: &mut Cx, tax: &raw::TaxonomyFile, packs: &LawPacks) {
    for o in &tax.offence {
        for s in &o.get_ref().instruments {
            match s.get_ref().split_once(':') {
                Some((t, a)) if !a.is_empty() => {
                    if packs.treaty(t).is_none() {
                        cx.at(s.span(), "pack.unknown_treaty", format!("{t:?} is not the id of a treaty in the packs"));
                    }
                }
                _ => cx.at(s.span(), "pack.invalid_reference", format!(
                    "{:?}: write an instrument reference as \"treaty_id:article\", e.g. \"budapest:2\"",
                    s.get_ref()
                )),
            }
        }
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn load_treaty(cx: &mut Cx, t: &raw::TreatyFile, packs: &LawPacks) -> Option<Treaty> {
    let id = t.id.get_ref();
    if !is_identifier(id) {
        cx.at(
            t.id.span(),
            "pack.invalid_id",
            format!("treaty id {id:?}: use lower-case letters, digits and '_'"),
        );
    }
    if packs.treaty(id).is_some() {
        cx.at(
            t.id.span(),
            "pack.duplicate_id",
            format!("treaty {id:?} is defined twice"),
        );
        return None;
    }
    let fact = cx.fact(&t.source, t.verified);
    let mut parties: Vec<Party> = Vec::new();
    let mut party_ix = vec![NO_INDEX; 26 * 26];
    for p in &t.party {
        let p = p.get_ref();
        let fact = cx.fact(&p.source, p.verified);
        let signed = cx.date(p.signed.as_ref());
        let ratified = cx.date(p.ratified.as_ref());
        let in_force = cx.date(p.in_force.as_ref());
        let left = cx.date(p.left.as_ref());
        cx.require_order(signed, p.ratified.as_ref(), ratified, "ratification");
        cx.require_order(
            ratified.or(signed),
            p.in_force.as_ref(),
            in_force,
            "entry into force",
        );
        cx.require_order(in_force, p.left.as_ref(), left, "the date the state left");
        let Some(state) = cx.state(&p.state) else {
            continue;
        };
        if party_ix
            .get(state.index())
            .is_some_and(|&ix| ix != NO_INDEX)
        {
            cx.at(
                p.state.span(),
                "pack.duplicate_party",
                format!("{state} is listed twice as a party"),
            );
            continue;
        }
        if let Some(slot) = party_ix.get_mut(state.index()) {
            *slot = u16::try_from(parties.len()).unwrap_or(NO_INDEX);
        }
        parties.push(Party {
            state,
            signed,
            ratified,
            in_force,
            left,
            fact,
        });
    }
    let mut provides = Vec::new();
    let mut by_measure = [None; MEASURE_COUNT];
    for p in &t.provides {
        let p = p.get_ref();
        let Some(measure) = cx.vocab(&p.measure, "measure", Measure::parse, Measure::spellings)
        else {
            continue;
        };
        if by_measure[measure.index()].is_some() {
            cx.at(
                p.measure.span(),
                "pack.duplicate_measure",
                format!(
                    "measure {measure} is provided for twice in this treaty; merge the two tables"
                ),
            );
            continue;
        }
        if let Some(prov) = load_provides(cx, p, measure, packs) {
            by_measure[measure.index()] = u16::try_from(provides.len()).ok();
            provides.push(prov);
        }
    }
    let mut reservations = Vec::new();
    for r in &t.reservation {
        let r = r.get_ref();
        let fact = cx.fact(&r.source, r.verified);
        let effect = cx.vocab(&r.effect, "effect", Effect::parse, Effect::spellings);
        let measures = cx.vocab_list(&r.measures, "measure", Measure::parse, Measure::spellings);
        let except_offences = cx.offences(&r.except_offences, packs);
        let bases = cx.vocab_list(
            &r.bases,
            "jurisdiction basis",
            Basis::parse,
            Basis::spellings,
        );
        let from = cx.date(r.from.as_ref());
        let Some(state) = cx.state(&r.state) else {
            continue;
        };
        if party_ix.get(state.index()).is_none_or(|&ix| ix == NO_INDEX) {
            cx.at(r.state.span(), "pack.reservation_by_non_party", format!(
                "{state} makes a reservation but is not listed as a party; add a [[party]] for it"
            ));
        }
        let Some(effect) = effect else { continue };
        let needs = match effect {
            Effect::ExcludeMeasure
            | Effect::RequireDualCriminality
            | Effect::CentralAuthorityOnly => (measures.is_empty()).then_some("`measures`"),
            Effect::PenaltyThreshold => {
                (measures.is_empty() || r.months.is_none()).then_some("`measures` and `months`")
            }
            Effect::NoJurisdictionBasis => bases.is_empty().then_some("`bases`"),
        };
        if let Some(what) = needs {
            cx.at(
                r.effect.span(),
                "pack.incomplete_reservation",
                format!("a reservation with effect {effect} needs {what}"),
            );
            continue;
        }
        reservations.push(Reservation {
            state,
            article: r.article.clone(),
            effect,
            measures,
            except_offences,
            months: r.months,
            bases,
            text: r.text.clone(),
            from,
            fact,
        });
    }
    let jurisdiction = t.jurisdiction.as_ref().map(|j| {
        let j = j.get_ref();
        let fact = cx.fact(&j.source, j.verified);
        let offences = j.offences.as_ref().map(|o| cx.offences(o, packs));
        let bases = j
            .basis
            .iter()
            .filter_map(|b| {
                let basis = cx.vocab(
                    &b.basis,
                    "jurisdiction basis",
                    Basis::parse,
                    Basis::spellings,
                )?;
                Some((basis, b.article.clone()))
            })
            .collect();
        TreatyJurisdiction {
            offences,
            bases,
            consult_article: j.consult_article.clone(),
            fact,
        }
    });
    let competing = t
        .competing_factor
        .iter()
        .filter_map(|f| {
            let f = f.get_ref();
            let factor = cx.vocab(&f.factor, "factor", Factor::parse, Factor::spellings)?;
            Some((factor, f.article.clone()))
        })
        .collect();
    Some(Treaty {
        id: id.clone(),
        title: t.title.clone(),
        parties,
        party_ix,
        provides,
        by_measure,
        reservations,
        jurisdiction,
        competing,
        fact,
    })
}

fn load_provides(
    cx: &mut Cx,
    p: &raw::RawProvides,
    measure: Measure,
    packs: &LawPacks,
) -> Option<Provides> {
    let fact = cx.fact(&p.source, p.verified);
    let channels = cx.vocab_list(&p.channels, "channel", Channel::parse, Channel::spellings);
    let dual = cx.vocab(
        &p.dual_criminality,
        "dual-criminality rule",
        DualCriminalityRule::parse,
        DualCriminalityRule::spellings,
    );
    let offences = p.offences.as_ref().map(|o| cx.offences(o, packs));
    let refusal_grounds = cx.vocab_list(
        &p.refusal_grounds,
        "refusal ground",
        RefusalGround::parse,
        RefusalGround::spellings,
    );
    let nationals = match &p.nationals {
        Some(n) => cx.vocab(
            n,
            "nationals rule",
            InstrumentNationals::parse,
            InstrumentNationals::spellings,
        ),
        None => Some(InstrumentNationals::NationalLaw),
    };
    let mut deadlines = Vec::new();
    for d in &p.deadline {
        let span = d.span();
        let d = d.get_ref();
        let Some(kind) = cx.vocab(
            &d.kind,
            "deadline kind",
            DeadlineKind::parse,
            DeadlineKind::spellings,
        ) else {
            continue;
        };
        if d.days.is_none() == d.hours.is_none() {
            cx.at(
                span,
                "pack.invalid_deadline",
                "a deadline gives exactly one of `days` or `hours`",
            );
            continue;
        }
        deadlines.push(Deadline {
            what: d.what.clone(),
            days: d.days,
            hours: d.hours,
            kind,
            article: d.article.clone(),
        });
    }
    let exempt = match (&p.exempt_offences, p.exempt_min_months) {
        (None, None) => None,
        (Some(list), Some(min_months)) => Some(Exemption {
            offences: cx.offences(list, packs),
            min_months,
            article: p.exempt_article.clone().unwrap_or_default(),
        }),
        _ => {
            cx.at(
                p.measure.span(),
                "pack.incomplete_exemption",
                "`exempt_offences` and `exempt_min_months` go together: give both or neither",
            );
            None
        }
    };
    if p.articles.is_empty() {
        cx.at(
            p.measure.span(),
            "pack.missing_article",
            "`articles` is empty: cite the articles that provide for this measure",
        );
    }
    let first = p.articles.first().cloned().unwrap_or_default();
    Some(Provides {
        measure,
        articles: p.articles.clone(),
        channels,
        dual_criminality: dual?,
        dual_criminality_article: p
            .dual_criminality_article
            .clone()
            .unwrap_or_else(|| first.clone()),
        threshold_months: p.threshold_months,
        sentence_threshold_months: p.sentence_threshold_months,
        threshold_article: p.threshold_article.clone().unwrap_or_else(|| first.clone()),
        offences,
        refusal_grounds,
        refusal_article: p.refusal_article.clone().unwrap_or_else(|| first.clone()),
        grounds_exhaustive: p.refusal_grounds_exhaustive,
        deadlines,
        required_content: p.required_content.clone(),
        content_article: p.content_article.clone().unwrap_or_else(|| first.clone()),
        aut_dedere: p.aut_dedere.clone(),
        nationals: nationals?,
        nationals_article: p.nationals_article.clone().unwrap_or(first),
        exempt,
        fact,
    })
}

fn rule<T: Clone>(cx: &mut Cx, r: &raw::RawRule<T>) -> Rule<T> {
    Rule {
        rule: r.rule.clone(),
        provision: r.provision.clone(),
        fact: cx.fact(&r.source, r.verified),
    }
}

fn vocab_rule<T>(
    cx: &mut Cx,
    r: &raw::RawRule<S<String>>,
    what: &str,
    parse: fn(&str) -> Option<T>,
    spellings: fn() -> String,
) -> Option<Rule<T>> {
    let fact = cx.fact(&r.source, r.verified);
    let v = cx.vocab(&r.rule, what, parse, spellings)?;
    Some(Rule {
        rule: v,
        provision: r.provision.clone(),
        fact,
    })
}

fn load_jurisdiction(
    cx: &mut Cx,
    j: &raw::JurisdictionFile,
    packs: &LawPacks,
) -> Option<Jurisdiction> {
    let state = cx.state(&j.state);
    let mut authorities = Vec::new();
    let mut accepted_channels: Vec<Channel> = Vec::new();
    for a in &j.authority {
        let a = a.get_ref();
        let fact = cx.fact(&a.source, a.verified);
        let channels = cx.vocab_list(&a.channels, "channel", Channel::parse, Channel::spellings);
        for c in &channels {
            if !accepted_channels.contains(c) {
                accepted_channels.push(*c);
            }
        }
        authorities.push(Authority {
            role: a.role.clone(),
            name: a.name.clone(),
            channels,
            fact,
        });
    }
    let mut measures = Vec::new();
    let mut measure_ix = [None; MEASURE_COUNT];
    for m in &j.measure {
        let m = m.get_ref();
        let fact = cx.fact(&m.source, m.verified);
        let Some(measure) = cx.vocab(&m.measure, "measure", Measure::parse, Measure::spellings)
        else {
            continue;
        };
        if measure_ix[measure.index()].is_some() {
            cx.at(
                m.measure.span(),
                "pack.duplicate_measure",
                format!("measure {measure} is listed twice"),
            );
            continue;
        }
        measure_ix[measure.index()] = u16::try_from(measures.len()).ok();
        measures.push(NationalMeasure {
            measure,
            available: m.available,
            dual_criminality: m.dual_criminality,
            provision: m.provision.clone(),
            fact,
        });
    }
    let mut provisions: Vec<Provision> = Vec::new();
    let mut by_offence = vec![Vec::new(); packs.offences.len()];
    for p in &j.provision {
        let span = p.span();
        let p = p.get_ref();
        let fact = cx.fact(&p.source, p.verified);
        let offences = cx.offences(&p.offences, packs);
        let mut conditions = Vec::new();
        for c in &p.conditions {
            match packs.condition_id(c.get_ref()) {
                Some(id) => conditions.push(id),
                None => cx.at(
                    c.span(),
                    "pack.unknown_condition",
                    format!(
                        "{:?} is not a condition declared in the taxonomy",
                        c.get_ref()
                    ),
                ),
            }
        }
        let in_force = cx.date(p.in_force.as_ref());
        let repealed = cx.date(p.repealed.as_ref());
        cx.require_order(in_force, p.repealed.as_ref(), repealed, "repeal");
        if p.min_months > p.max_months {
            cx.at(
                span.clone(),
                "pack.penalty_order",
                format!(
                    "min_months ({}) is above max_months ({})",
                    p.min_months, p.max_months
                ),
            );
        }
        if p.offences.is_empty() {
            cx.at(
                span,
                "pack.unmapped_provision",
                "`offences` is empty: map the provision to at least one taxonomy offence",
            );
        }
        if provisions.iter().any(|q| &q.id == p.id.get_ref()) {
            cx.at(
                p.id.span(),
                "pack.duplicate_id",
                format!("provision {:?} is defined twice", p.id.get_ref()),
            );
            continue;
        }
        let ix = u32::try_from(provisions.len()).unwrap_or(u32::MAX);
        for o in &offences {
            if let Some(list) = by_offence.get_mut(usize::from(o.0)) {
                list.push(ix);
            }
        }
        provisions.push(Provision {
            id: p.id.get_ref().clone(),
            citation: p.citation.clone(),
            offences,
            max_months: p.max_months,
            min_months: p.min_months,
            death_penalty: p.death_penalty,
            conditions,
            limitation_years: p.limitation_years,
            in_force,
            repealed,
            fact,
        });
    }
    let e = &j.extradition;
    let treaty_required = rule(cx, &e.treaty_required);
    let nationals = vocab_rule(
        cx,
        &e.nationals,
        "nationals rule",
        NationalsRule::parse,
        NationalsRule::spellings,
    );
    let political = vocab_rule(
        cx,
        &e.political_offences,
        "rule",
        GroundRule::parse,
        GroundRule::spellings,
    );
    let military = vocab_rule(
        cx,
        &e.military_offences,
        "rule",
        GroundRule::parse,
        GroundRule::spellings,
    );
    let death = vocab_rule(
        cx,
        &e.death_penalty,
        "death-penalty rule",
        DeathPenaltyRule::parse,
        DeathPenaltyRule::spellings,
    );
    let threshold = Rule {
        rule: (e.threshold.max_penalty_months, e.threshold.sentence_months),
        provision: e.threshold.provision.clone(),
        fact: cx.fact(&e.threshold.source, e.threshold.verified),
    };
    let ne_bis = match &e.ne_bis_in_idem {
        Some(r) => Some(vocab_rule(
            cx,
            r,
            "rule",
            GroundRule::parse,
            GroundRule::spellings,
        )?),
        None => None,
    };
    let discrimination = match &e.discrimination {
        Some(r) => Some(vocab_rule(
            cx,
            r,
            "rule",
            GroundRule::parse,
            GroundRule::spellings,
        )?),
        None => None,
    };
    let prosecute_instead = e.prosecute_instead.as_ref().map(|r| rule(cx, r));
    let assistance = rule(cx, &j.assistance);
    let mut bases: Vec<(Basis, String, Fact)> = Vec::new();
    for b in &j.jurisdiction_basis {
        let b = b.get_ref();
        let fact = cx.fact(&b.source, b.verified);
        let Some(basis) = cx.vocab(
            &b.basis,
            "jurisdiction basis",
            Basis::parse,
            Basis::spellings,
        ) else {
            continue;
        };
        if bases.iter().any(|x| x.0 == basis) {
            cx.at(
                b.basis.span(),
                "pack.duplicate_basis",
                format!("basis {basis} is listed twice"),
            );
            continue;
        }
        bases.push((basis, b.provision.clone(), fact));
    }
    let competing = match &j.competing_requests {
        Some(r) => {
            let fact = cx.fact(&r.source, r.verified);
            let factors = cx.vocab_list(&r.rule, "factor", Factor::parse, Factor::spellings);
            Some(Rule {
                rule: factors,
                provision: r.provision.clone(),
                fact,
            })
        }
        None => None,
    };
    Some(Jurisdiction {
        state: state?,
        name: j.name.clone(),
        languages: j.languages.clone(),
        authorities,
        accepted_channels,
        measures,
        measure_ix,
        provisions,
        by_offence,
        extradition: ExtraditionPolicy {
            treaty_required,
            nationals: nationals?,
            political_offences: political?,
            military_offences: military?,
            death_penalty: death?,
            threshold,
            ne_bis_in_idem: ne_bis,
            discrimination,
            prosecute_instead,
        },
        assistance,
        bases,
        competing,
    })
}

#[cfg(test)]
mod tests {
    use super::line_column;

    #[test]
    fn positions_count_from_one() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
        assert_eq!(line_column("ab\ncd", 99), (2, 3));
    }
}
