//! The TOML shape of law-pack files, as legal officers write them.
//!
//! Names and references keep their position (`Spanned`) so that every problem found after
//! parsing can still be reported as `file:line:column`.

use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

pub(crate) type S<T> = Spanned<T>;

#[derive(Deserialize)]
pub(crate) struct KindOnly {
    pub kind: Option<S<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TaxonomyFile {
    #[allow(dead_code)]
    pub kind: String,
    #[serde(default)]
    pub condition: Vec<S<RawCondition>>,
    #[serde(default)]
    pub offence: Vec<S<RawOffence>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCondition {
    pub id: S<String>,
    pub description: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOffence {
    pub id: S<String>,
    pub name: String,
    #[serde(default)]
    pub instruments: Vec<S<String>>,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TreatyFile {
    #[allow(dead_code)]
    pub kind: String,
    pub id: S<String>,
    pub title: String,
    pub source: S<String>,
    pub verified: bool,
    #[serde(default)]
    pub party: Vec<S<RawParty>>,
    #[serde(default)]
    pub provides: Vec<S<RawProvides>>,
    #[serde(default)]
    pub reservation: Vec<S<RawReservation>>,
    pub jurisdiction: Option<S<RawTreatyJurisdiction>>,
    #[serde(default)]
    pub competing_factor: Vec<S<RawFactor>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawParty {
    pub state: S<String>,
    pub signed: Option<S<Datetime>>,
    pub ratified: Option<S<Datetime>>,
    pub in_force: Option<S<Datetime>>,
    pub left: Option<S<Datetime>>,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvides {
    pub measure: S<String>,
    pub articles: Vec<String>,
    pub channels: Vec<S<String>>,
    pub dual_criminality: S<String>,
    pub dual_criminality_article: Option<String>,
    pub threshold_months: Option<u32>,
    pub sentence_threshold_months: Option<u32>,
    pub threshold_article: Option<String>,
    pub offences: Option<Vec<S<String>>>,
    #[serde(default)]
    pub refusal_grounds: Vec<S<String>>,
    pub refusal_article: Option<String>,
    #[serde(default)]
    pub refusal_grounds_exhaustive: bool,
    #[serde(default)]
    pub deadline: Vec<S<RawDeadline>>,
    #[serde(default)]
    pub required_content: Vec<String>,
    pub content_article: Option<String>,
    pub aut_dedere: Option<String>,
    pub nationals: Option<S<String>>,
    pub nationals_article: Option<String>,
    pub exempt_offences: Option<Vec<S<String>>>,
    pub exempt_min_months: Option<u32>,
    pub exempt_article: Option<String>,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeadline {
    pub what: String,
    pub days: Option<u32>,
    pub hours: Option<u32>,
    pub kind: S<String>,
    pub article: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReservation {
    pub state: S<String>,
    pub article: String,
    pub effect: S<String>,
    #[serde(default)]
    pub measures: Vec<S<String>>,
    #[serde(default)]
    pub except_offences: Vec<S<String>>,
    pub months: Option<u32>,
    #[serde(default)]
    pub bases: Vec<S<String>>,
    pub text: String,
    pub from: Option<S<Datetime>>,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTreatyJurisdiction {
    pub offences: Option<Vec<S<String>>>,
    pub consult_article: String,
    pub basis: Vec<RawTreatyBasis>,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTreatyBasis {
    pub basis: S<String>,
    pub article: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFactor {
    pub factor: S<String>,
    pub article: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JurisdictionFile {
    #[allow(dead_code)]
    pub kind: String,
    pub state: S<String>,
    pub name: String,
    pub languages: Vec<String>,
    #[serde(default)]
    pub authority: Vec<S<RawAuthority>>,
    #[serde(default)]
    pub measure: Vec<S<RawMeasure>>,
    #[serde(default)]
    pub provision: Vec<S<RawProvision>>,
    pub extradition: RawExtradition,
    pub assistance: RawRule<bool>,
    #[serde(default)]
    pub jurisdiction_basis: Vec<S<RawBasis>>,
    pub competing_requests: Option<RawRule<Vec<S<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAuthority {
    pub role: String,
    pub name: String,
    pub channels: Vec<S<String>>,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMeasure {
    pub measure: S<String>,
    pub available: bool,
    #[serde(default)]
    pub dual_criminality: bool,
    pub provision: String,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvision {
    pub id: S<String>,
    pub citation: String,
    pub offences: Vec<S<String>>,
    pub max_months: u32,
    #[serde(default)]
    pub min_months: u32,
    #[serde(default)]
    pub death_penalty: bool,
    #[serde(default)]
    pub conditions: Vec<S<String>>,
    pub limitation_years: Option<u32>,
    pub in_force: Option<S<Datetime>>,
    pub repealed: Option<S<Datetime>>,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule<T> {
    pub rule: T,
    pub provision: String,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawThreshold {
    pub max_penalty_months: u32,
    pub sentence_months: u32,
    pub provision: String,
    pub source: S<String>,
    pub verified: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExtradition {
    pub treaty_required: RawRule<bool>,
    pub nationals: RawRule<S<String>>,
    pub political_offences: RawRule<S<String>>,
    pub military_offences: RawRule<S<String>>,
    pub death_penalty: RawRule<S<String>>,
    pub threshold: RawThreshold,
    pub ne_bis_in_idem: Option<RawRule<S<String>>>,
    pub discrimination: Option<RawRule<S<String>>>,
    pub prosecute_instead: Option<RawRule<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBasis {
    pub basis: S<String>,
    pub provision: String,
    pub source: S<String>,
    pub verified: bool,
}
