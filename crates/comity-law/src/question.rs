//! Questions to the engine, read from JSON strictly: every field is checked and named on error.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::error::LawError;
use crate::pack::{ConditionId, LawPacks, OffenceId};
use crate::vocab::{ExtraditionPurpose, Measure, Purpose, State};

/// Facts the engine itself reasons on, besides the conditions declared in the taxonomy.
pub const BUILTIN_FACTS: &[&str] = &[
    "political_offence",
    "military_offence",
    "final_judgment_in_requested_state",
    "discrimination_risk",
];

/// What is established about the conduct. Conditions absent or false are not established.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    pub conditions: Vec<ConditionId>,
    pub political_offence: bool,
    pub military_offence: bool,
    pub final_judgment_in_requested_state: bool,
    pub discrimination_risk: bool,
}

impl Facts {
    pub fn holds(&self, c: ConditionId) -> bool {
        self.conditions.contains(&c)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    LegalBasis(LegalBasisQ),
    DualCriminality(DualCriminalityQ),
    Extradition(ExtraditionQ),
    CompetingRequests(CompetingQ),
    Jurisdiction(JurisdictionQ),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalBasisQ {
    pub requesting: State,
    pub requested: State,
    pub measure: Measure,
    pub date: NaiveDate,
    pub offences: Vec<OffenceId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DualCriminalityQ {
    pub requesting: State,
    pub requested: State,
    pub purpose: Purpose,
    pub offences: Vec<OffenceId>,
    pub facts: Facts,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraditionQ {
    pub requesting: State,
    pub requested: State,
    pub nationalities: Vec<State>,
    pub offences: Vec<OffenceId>,
    pub purpose: ExtraditionPurpose,
    pub sentence_months: Option<u32>,
    pub facts: Facts,
    pub committed_on: Option<NaiveDate>,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetingQ {
    pub requested: State,
    pub nationalities: Vec<State>,
    pub requests: Vec<CompetingRequest>,
    pub date: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompetingRequest {
    pub id: String,
    pub requesting: State,
    pub offences: Vec<OffenceId>,
    pub place_of_commission: State,
    pub received: NaiveDate,
    pub purpose: ExtraditionPurpose,
    pub max_penalty_months: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JurisdictionQ {
    pub offences: Vec<OffenceId>,
    pub acts_in: Vec<State>,
    pub systems_in: Vec<State>,
    pub effects_in: Vec<State>,
    pub offender_nationalities: Vec<State>,
    pub victim_nationalities: Vec<State>,
    pub offender_present_in: Vec<State>,
    pub state_interests_in: Vec<State>,
    pub date: NaiveDate,
}

impl LawPacks {
    /// Reads a question from JSON text.
    pub fn question_from_str(&self, text: &str) -> Result<Question, LawError> {
        let value: Value = serde_json::from_str(text).map_err(|e| LawError::InvalidJson {
            reason: e.to_string(),
        })?;
        self.question_from_json(&value)
    }

    /// Reads a question from a JSON value.
    pub fn question_from_json(&self, value: &Value) -> Result<Question, LawError> {
        let mut o = Obj::new(self, value, "")?;
        let kind = o.string("question")?;
        let q = match kind {
            "legal_basis" => {
                let (requesting, requested) = o.pair()?;
                let q = LegalBasisQ {
                    requesting,
                    requested,
                    measure: o.measure("measure")?,
                    date: o.date("date")?,
                    offences: o
                        .opt(|o| o.offences("offences", false))?
                        .unwrap_or_default(),
                };
                Question::LegalBasis(q)
            }
            "dual_criminality" => {
                let (requesting, requested) = o.pair()?;
                let purpose = o.vocab("purpose", Purpose::parse, Purpose::spellings)?;
                let mut c = o.object("conduct")?;
                let offences = c.offences("offences", true)?;
                let facts = c.opt(|c| c.facts("facts"))?.unwrap_or_default();
                c.finish()?;
                Question::DualCriminality(DualCriminalityQ {
                    requesting,
                    requested,
                    purpose,
                    offences,
                    facts,
                    date: o.date("date")?,
                })
            }
            "extradition" => {
                let (requesting, requested) = o.pair()?;
                let nationalities = o.person()?;
                Question::Extradition(ExtraditionQ {
                    requesting,
                    requested,
                    nationalities,
                    offences: o.offences("offences", true)?,
                    purpose: o.vocab(
                        "purpose",
                        ExtraditionPurpose::parse,
                        ExtraditionPurpose::spellings,
                    )?,
                    sentence_months: o.opt(|o| o.months("sentence_months"))?,
                    facts: o.opt(|o| o.facts("facts"))?.unwrap_or_default(),
                    committed_on: o.opt(|o| o.date("committed_on"))?,
                    date: o.date("date")?,
                })
            }
            "competing_requests" => {
                let requested = o.state("requested", true)?;
                let nationalities = o.person()?;
                let items = o.array("requests")?;
                if items.len() < 2 {
                    return Err(LawError::Empty {
                        field: "requests".into(),
                        reason: "needs at least two requests to compare".into(),
                    });
                }
                let mut requests = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let mut r = Obj::new(self, item, &format!("requests[{i}]"))?;
                    let requesting = r.state("requesting", true)?;
                    if requesting == requested {
                        return Err(LawError::SameState {
                            field: r.path("requesting"),
                        });
                    }
                    requests.push(CompetingRequest {
                        id: r.string("id")?.to_owned(),
                        requesting,
                        offences: r.offences("offences", true)?,
                        place_of_commission: r.state("place_of_commission", false)?,
                        received: r.date("received")?,
                        purpose: r.vocab(
                            "purpose",
                            ExtraditionPurpose::parse,
                            ExtraditionPurpose::spellings,
                        )?,
                        max_penalty_months: r.opt(|r| r.months("max_penalty_months"))?,
                    });
                    r.finish()?;
                }
                Question::CompetingRequests(CompetingQ {
                    requested,
                    nationalities,
                    requests,
                    date: o.date("date")?,
                })
            }
            "jurisdiction" => {
                let offences = o.offences("offences", true)?;
                let mut f = o.object("facts")?;
                let q = JurisdictionQ {
                    offences,
                    acts_in: f.states("acts_in")?,
                    systems_in: f.states("systems_in")?,
                    effects_in: f.states("effects_in")?,
                    offender_nationalities: f.states("offender_nationalities")?,
                    victim_nationalities: f.states("victim_nationalities")?,
                    offender_present_in: f.states("offender_present_in")?,
                    state_interests_in: f.states("state_interests_in")?,
                    date: o.date("date")?,
                };
                f.finish()?;
                Question::Jurisdiction(q)
            }
            other => {
                return Err(LawError::UnknownQuestion {
                    field: "question".into(),
                    value: other.into(),
                });
            }
        };
        o.finish()?;
        Ok(q)
    }
}

/// A JSON object being read: remembers which fields were used so that the rest can be refused.
struct Obj<'a> {
    packs: &'a LawPacks,
    map: &'a Map<String, Value>,
    prefix: String,
    used: Vec<&'static str>,
}

impl<'a> Obj<'a> {
    fn new(packs: &'a LawPacks, value: &'a Value, prefix: &str) -> Result<Self, LawError> {
        let map = value.as_object().ok_or_else(|| LawError::Malformed {
            field: prefix.to_owned(),
            reason: "must be a JSON object".into(),
        })?;
        Ok(Obj {
            packs,
            map,
            prefix: prefix.to_owned(),
            used: Vec::new(),
        })
    }

    fn path(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.prefix)
        }
    }

    fn get(&mut self, key: &'static str) -> Result<&'a Value, LawError> {
        self.used.push(key);
        match self.map.get(key) {
            Some(v) if !v.is_null() => Ok(v),
            _ => Err(LawError::MissingField {
                field: self.path(key),
            }),
        }
    }

    /// Runs `read` if the field it reads is present; absent and `null` both mean "not given".
    fn opt<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Result<T, LawError>,
    ) -> Result<Option<T>, LawError> {
        match read(self) {
            Ok(v) => Ok(Some(v)),
            Err(LawError::MissingField { field }) if self.is_own(&field) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn is_own(&self, field: &str) -> bool {
        let rest = if self.prefix.is_empty() {
            field
        } else {
            field
                .strip_prefix(&self.prefix)
                .and_then(|r| r.strip_prefix('.'))
                .unwrap_or("")
        };
        !rest.is_empty() && !rest.contains(['.', '['])
    }

    fn finish(self) -> Result<(), LawError> {
        match self.map.keys().find(|k| !self.used.contains(&k.as_str())) {
            Some(k) => Err(LawError::UnknownField {
                field: self.path(k),
            }),
            None => Ok(()),
        }
    }

    fn malformed(&self, key: &str, reason: &str) -> LawError {
        LawError::Malformed {
            field: self.path(key),
            reason: reason.to_owned(),
        }
    }

    fn string(&mut self, key: &'static str) -> Result<&'a str, LawError> {
        let v = self.get(key)?;
        v.as_str()
            .ok_or_else(|| self.malformed(key, "must be a string"))
    }

    fn object(&mut self, key: &'static str) -> Result<Obj<'a>, LawError> {
        let v = self.get(key)?;
        Obj::new(self.packs, v, &self.path(key))
    }

    fn array(&mut self, key: &'static str) -> Result<&'a Vec<Value>, LawError> {
        let v = self.get(key)?;
        v.as_array()
            .ok_or_else(|| self.malformed(key, "must be a JSON array"))
    }

    fn months(&mut self, key: &'static str) -> Result<u32, LawError> {
        let v = self.get(key)?;
        v.as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| self.malformed(key, "must be a whole number of months (0 or more)"))
    }

    fn date(&mut self, key: &'static str) -> Result<NaiveDate, LawError> {
        let s = self.string(key)?;
        parse_date(s).ok_or_else(|| LawError::InvalidDate {
            field: self.path(key),
            value: s.to_owned(),
        })
    }

    fn vocab<T>(
        &mut self,
        key: &'static str,
        parse: fn(&str) -> Option<T>,
        spellings: fn() -> String,
    ) -> Result<T, LawError> {
        let s = self.string(key)?;
        parse(s).ok_or_else(|| LawError::UnknownValue {
            field: self.path(key),
            value: s.to_owned(),
            allowed: spellings(),
        })
    }

    fn measure(&mut self, key: &'static str) -> Result<Measure, LawError> {
        let s = self.string(key)?;
        Measure::parse(s).ok_or_else(|| LawError::UnknownMeasure {
            field: self.path(key),
            value: s.to_owned(),
            allowed: Measure::spellings(),
        })
    }

    /// A state code; with `with_pack`, the state must also have a law pack loaded.
    fn state_at(&self, field: String, v: &Value, with_pack: bool) -> Result<State, LawError> {
        let s = v.as_str().ok_or_else(|| LawError::Malformed {
            field: field.clone(),
            reason: "must be a string".into(),
        })?;
        match State::parse(s) {
            Some(st) if !with_pack || self.packs.jurisdiction(st).is_some() => Ok(st),
            _ => Err(LawError::UnknownState {
                field,
                value: s.to_owned(),
            }),
        }
    }

    fn state(&mut self, key: &'static str, with_pack: bool) -> Result<State, LawError> {
        let v = self.get(key)?;
        self.state_at(self.path(key), v, with_pack)
    }

    fn pair(&mut self) -> Result<(State, State), LawError> {
        let requesting = self.state("requesting", true)?;
        let requested = self.state("requested", true)?;
        if requesting == requested {
            return Err(LawError::SameState {
                field: self.path("requested"),
            });
        }
        Ok((requesting, requested))
    }

    fn person(&mut self) -> Result<Vec<State>, LawError> {
        let mut p = self.object("person")?;
        let list = p.array("nationalities")?;
        let path = p.path("nationalities");
        let states = list
            .iter()
            .enumerate()
            .map(|(i, v)| p.state_at(format!("{path}[{i}]"), v, false))
            .collect::<Result<Vec<_>, _>>()?;
        p.finish()?;
        Ok(states)
    }

    /// A list of states that must all have packs; absent means none.
    fn states(&mut self, key: &'static str) -> Result<Vec<State>, LawError> {
        let Some(list) = self.opt(|o| o.array(key))? else {
            return Ok(Vec::new());
        };
        let path = self.path(key);
        let mut out: Vec<State> = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let st = self.state_at(format!("{path}[{i}]"), v, true)?;
            if !out.contains(&st) {
                out.push(st);
            }
        }
        Ok(out)
    }

    fn offences(&mut self, key: &'static str, required: bool) -> Result<Vec<OffenceId>, LawError> {
        let list = self.array(key)?;
        if required && list.is_empty() {
            return Err(LawError::Empty {
                field: self.path(key),
                reason: "must name at least one offence".into(),
            });
        }
        let mut out = Vec::with_capacity(list.len());
        for (i, v) in list.iter().enumerate() {
            let field = format!("{}[{i}]", self.path(key));
            let s = v.as_str().ok_or_else(|| LawError::Malformed {
                field: field.clone(),
                reason: "must be a string".into(),
            })?;
            let id = self
                .packs
                .offence_id(s)
                .ok_or_else(|| LawError::UnknownOffence {
                    field,
                    value: s.to_owned(),
                })?;
            if !out.contains(&id) {
                out.push(id);
            }
        }
        Ok(out)
    }

    fn facts(&mut self, key: &'static str) -> Result<Facts, LawError> {
        let v = self.get(key)?;
        let map = v
            .as_object()
            .ok_or_else(|| self.malformed(key, "must be an object of condition: true|false"))?;
        let mut facts = Facts::default();
        for (name, value) in map {
            let field = format!("{}.{name}", self.path(key));
            let holds = value.as_bool().ok_or_else(|| LawError::Malformed {
                field: field.clone(),
                reason: "must be true or false".into(),
            })?;
            match name.as_str() {
                "political_offence" => facts.political_offence = holds,
                "military_offence" => facts.military_offence = holds,
                "final_judgment_in_requested_state" => {
                    facts.final_judgment_in_requested_state = holds
                }
                "discrimination_risk" => facts.discrimination_risk = holds,
                other => {
                    let id = self.packs.condition_id(other).ok_or_else(|| {
                        LawError::UnknownCondition {
                            field,
                            value: other.to_owned(),
                            builtin: BUILTIN_FACTS.join(", "),
                        }
                    })?;
                    if holds {
                        facts.conditions.push(id);
                    }
                }
            }
        }
        Ok(facts)
    }
}

pub(crate) fn parse_date(s: &str) -> Option<NaiveDate> {
    // Exactly YYYY-MM-DD: chrono alone would also accept unpadded or signed years.
    let ok_shape = s.len() == 10
        && s.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    if !ok_shape {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}
