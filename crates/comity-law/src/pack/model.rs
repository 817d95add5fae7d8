//! The validated, indexed form of law packs that the engine reads.

use chrono::NaiveDate;

use crate::vocab::{
    Basis, Channel, DeadlineKind, DeathPenaltyRule, DualCriminalityRule, Effect, Factor,
    GroundRule, InstrumentNationals, MEASURE_COUNT, Measure, NationalsRule, RefusalGround, State,
};

/// Index of an offence in the taxonomy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OffenceId(pub(crate) u16);

/// Index of a condition (an element of an offence that facts establish or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConditionId(pub(crate) u16);

/// Where a fact comes from and whether someone checked it against that source.
#[derive(Debug, Clone)]
pub struct Fact {
    pub source: String,
    pub verified: bool,
}

#[derive(Debug, Clone)]
pub struct Offence {
    pub id: String,
    pub name: String,
    /// `(treaty id, article)` pairs of the instruments that define the offence.
    pub instruments: Vec<(String, String)>,
    pub fact: Fact,
}

#[derive(Debug, Clone)]
pub struct Condition {
    pub id: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct Treaty {
    pub id: String,
    pub title: String,
    pub parties: Vec<Party>,
    /// Position in `parties` by [`State::index`]; `u16::MAX` where the state is no party.
    pub(crate) party_ix: Vec<u16>,
    pub provides: Vec<Provides>,
    pub(crate) by_measure: [Option<u16>; MEASURE_COUNT],
    pub reservations: Vec<Reservation>,
    pub jurisdiction: Option<TreatyJurisdiction>,
    pub competing: Vec<(Factor, String)>,
    pub fact: Fact,
}

impl Treaty {
    pub fn party(&self, state: State) -> Option<&Party> {
        let ix = *self.party_ix.get(state.index())?;
        self.parties.get(usize::from(ix))
    }

    /// Whether `state` is bound by the treaty on `date`.
    pub fn in_force_for(&self, state: State, date: NaiveDate) -> bool {
        self.party(state).is_some_and(|p| p.in_force_on(date))
    }

    pub fn provision(&self, measure: Measure) -> Option<&Provides> {
        let ix = self.by_measure.get(measure.index()).copied().flatten()?;
        self.provides.get(usize::from(ix))
    }

    /// The reservations of `state` with `effect` in force on `date`.
    pub fn reservations_of(
        &self,
        state: State,
        effect: Effect,
        date: NaiveDate,
    ) -> impl Iterator<Item = &Reservation> {
        let since = self.party(state).and_then(|p| p.in_force);
        self.reservations.iter().filter(move |r| {
            r.state == state && r.effect == effect && r.from.or(since).is_none_or(|d| d <= date)
        })
    }
}

#[derive(Debug, Clone)]
pub struct Party {
    pub state: State,
    pub signed: Option<NaiveDate>,
    pub ratified: Option<NaiveDate>,
    pub in_force: Option<NaiveDate>,
    /// The day the treaty stopped binding the state (denunciation, withdrawal), if it did.
    pub left: Option<NaiveDate>,
    pub fact: Fact,
}

impl Party {
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.in_force.is_some_and(|d| d <= date) && self.left.is_none_or(|l| date < l)
    }
}

/// What a treaty provides for one measure.
#[derive(Debug, Clone)]
pub struct Provides {
    pub measure: Measure,
    pub articles: Vec<String>,
    pub channels: Vec<Channel>,
    pub dual_criminality: DualCriminalityRule,
    pub dual_criminality_article: String,
    pub threshold_months: Option<u32>,
    pub sentence_threshold_months: Option<u32>,
    pub threshold_article: String,
    /// The offences the provision covers; `None` means any offence.
    pub offences: Option<Vec<OffenceId>>,
    pub refusal_grounds: Vec<RefusalGround>,
    pub refusal_article: String,
    /// Whether `refusal_grounds` is the complete list, so grounds of national law outside it
    /// cannot be raised (as under the European Arrest Warrant).
    pub grounds_exhaustive: bool,
    pub deadlines: Vec<Deadline>,
    pub required_content: Vec<String>,
    pub content_article: String,
    pub aut_dedere: Option<String>,
    pub nationals: InstrumentNationals,
    pub nationals_article: String,
    pub exempt: Option<Exemption>,
    pub fact: Fact,
}

impl Provides {
    pub fn covers(&self, offence: OffenceId) -> bool {
        self.offences
            .as_ref()
            .is_none_or(|list| list.contains(&offence))
    }
}

/// Offences for which an instrument waives the dual-criminality check (EAW Art. 2.2 style).
#[derive(Debug, Clone)]
pub struct Exemption {
    pub offences: Vec<OffenceId>,
    pub min_months: u32,
    pub article: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Deadline {
    pub what: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hours: Option<u32>,
    pub kind: DeadlineKind,
    pub article: String,
}

#[derive(Debug, Clone)]
pub struct Reservation {
    pub state: State,
    pub article: String,
    pub effect: Effect,
    pub measures: Vec<Measure>,
    pub except_offences: Vec<OffenceId>,
    pub months: Option<u32>,
    pub bases: Vec<Basis>,
    pub text: String,
    pub from: Option<NaiveDate>,
    pub fact: Fact,
}

#[derive(Debug, Clone)]
pub struct TreatyJurisdiction {
    pub offences: Option<Vec<OffenceId>>,
    pub bases: Vec<(Basis, String)>,
    pub consult_article: String,
    pub fact: Fact,
}

/// One state's law pack.
#[derive(Debug, Clone)]
pub struct Jurisdiction {
    pub state: State,
    pub name: String,
    pub languages: Vec<String>,
    pub authorities: Vec<Authority>,
    pub accepted_channels: Vec<Channel>,
    pub measures: Vec<NationalMeasure>,
    pub(crate) measure_ix: [Option<u16>; MEASURE_COUNT],
    pub provisions: Vec<Provision>,
    /// Provisions by offence, indexed by [`OffenceId`].
    pub(crate) by_offence: Vec<Vec<u32>>,
    pub extradition: ExtraditionPolicy,
    pub assistance: Rule<bool>,
    pub bases: Vec<(Basis, String, Fact)>,
    pub competing: Option<Rule<Vec<Factor>>>,
}

impl Jurisdiction {
    pub fn measure(&self, measure: Measure) -> Option<&NationalMeasure> {
        let ix = self.measure_ix.get(measure.index()).copied().flatten()?;
        self.measures.get(usize::from(ix))
    }

    pub(crate) fn provisions_for(&self, offence: OffenceId) -> &[u32] {
        self.by_offence
            .get(usize::from(offence.0))
            .map_or(&[], Vec::as_slice)
    }

    pub fn provision(&self, ix: u32) -> Option<&Provision> {
        self.provisions.get(ix as usize)
    }

    pub fn basis(&self, basis: Basis) -> Option<&(Basis, String, Fact)> {
        self.bases.iter().find(|b| b.0 == basis)
    }
}

#[derive(Debug, Clone)]
pub struct Authority {
    pub role: String,
    pub name: String,
    pub channels: Vec<Channel>,
    pub fact: Fact,
}

#[derive(Debug, Clone)]
pub struct NationalMeasure {
    pub measure: Measure,
    pub available: bool,
    pub dual_criminality: bool,
    pub provision: String,
    pub fact: Fact,
}

/// A national criminal provision mapped to taxonomy offences.
#[derive(Debug, Clone)]
pub struct Provision {
    pub id: String,
    pub citation: String,
    pub offences: Vec<OffenceId>,
    pub max_months: u32,
    pub min_months: u32,
    pub death_penalty: bool,
    pub conditions: Vec<ConditionId>,
    pub limitation_years: Option<u32>,
    pub in_force: Option<NaiveDate>,
    pub repealed: Option<NaiveDate>,
    pub fact: Fact,
}

impl Provision {
    pub fn in_force_on(&self, date: NaiveDate) -> bool {
        self.in_force.is_none_or(|d| d <= date) && self.repealed.is_none_or(|r| date < r)
    }
}

/// A rule of national law with the provision it comes from.
#[derive(Debug, Clone)]
pub struct Rule<T> {
    pub rule: T,
    pub provision: String,
    pub fact: Fact,
}

#[derive(Debug, Clone)]
pub struct ExtraditionPolicy {
    pub treaty_required: Rule<bool>,
    pub nationals: Rule<NationalsRule>,
    pub political_offences: Rule<GroundRule>,
    pub military_offences: Rule<GroundRule>,
    pub death_penalty: Rule<DeathPenaltyRule>,
    pub threshold: Rule<(u32, u32)>,
    pub ne_bis_in_idem: Option<Rule<GroundRule>>,
    pub discrimination: Option<Rule<GroundRule>>,
    pub prosecute_instead: Option<Rule<bool>>,
}
