//! Law packs: the data legal officers maintain, loaded and checked.

mod load;
pub mod model;
mod raw;

use std::collections::HashMap;

use chrono::NaiveDate;

pub use model::*;

use crate::vocab::{Measure, State};

/// A validated set of law packs: one taxonomy, the treaties and the jurisdictions.
#[derive(Debug, Clone)]
pub struct LawPacks {
    pub offences: Vec<Offence>,
    pub(crate) offence_ix: HashMap<String, OffenceId>,
    pub conditions: Vec<Condition>,
    pub(crate) condition_ix: HashMap<String, ConditionId>,
    pub treaties: Vec<Treaty>,
    pub jurisdictions: Vec<Jurisdiction>,
    /// Position in `jurisdictions` by [`State::index`]; `u16::MAX` where no pack exists.
    pub(crate) state_ix: Vec<u16>,
}

impl LawPacks {
    /// The offence behind an id (`None` for an id that came from another set of packs).
    pub fn offence(&self, id: OffenceId) -> Option<&Offence> {
        self.offences.get(usize::from(id.0))
    }

    pub fn offence_id(&self, name: &str) -> Option<OffenceId> {
        self.offence_ix.get(name).copied()
    }

    /// The condition behind an id (`None` for an id that came from another set of packs).
    pub fn condition(&self, id: ConditionId) -> Option<&Condition> {
        self.conditions.get(usize::from(id.0))
    }

    pub fn condition_id(&self, name: &str) -> Option<ConditionId> {
        self.condition_ix.get(name).copied()
    }

    pub fn jurisdiction(&self, state: State) -> Option<&Jurisdiction> {
        let ix = *self.state_ix.get(state.index())?;
        self.jurisdictions.get(usize::from(ix))
    }

    pub fn treaty(&self, id: &str) -> Option<&Treaty> {
        self.treaties.iter().find(|t| t.id == id)
    }

    /// Treaties that bind both states on `date` and provide for `measure`.
    pub fn treaties_between(
        &self,
        a: State,
        b: State,
        measure: Measure,
        date: NaiveDate,
    ) -> impl Iterator<Item = (&Treaty, &Provides)> {
        self.treaties.iter().filter_map(move |t| {
            let p = t.provision(measure)?;
            (t.in_force_for(a, date) && t.in_force_for(b, date)).then_some((t, p))
        })
    }
}
