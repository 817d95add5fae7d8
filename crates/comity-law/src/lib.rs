//! Law packs and the legal reasoning engine.
//!
//! The law is data: a taxonomy of offences, treaties and jurisdictions, written in TOML by legal
//! officers (see `docs/lawpacks.md`). [`LawPacks::load`] checks them and reports every problem
//! as `file:line:column: message`; [`LawPacks::shipped`] loads the packs built into this crate.
//! The engine answers five kinds of question ([`Question`]) with an [`Answer`] whose explanation
//! cites the treaty article or national provision behind each step.
//!
//! Pure: no file, clock or network access. File contents and dates are passed in.

mod answer;
mod engine;
mod error;
mod pack;
mod question;
mod shipped;
mod vocab;

pub use answer::{Answer, Cite, Matched, Say, Step};
pub use engine::basis::{
    Instrument, LegalBasisAnswer, NationalMeasureStatus, Reciprocity, ReservationNote,
};
pub use engine::competing::{CompetingAnswer, FactorScore, Ranked};
pub use engine::dual::{DualCriminalityAnswer, Side, Threshold};
pub use engine::extradition::{ExtraditionAnswer, Obstacle, Submission};
pub use engine::jurisdiction::{BasisClaim, Claim, Consultation, JurisdictionAnswer};
pub use error::{LawError, LoadError, PackProblem};
pub use pack::*;
pub use question::{
    BUILTIN_FACTS, CompetingQ, CompetingRequest, DualCriminalityQ, ExtraditionQ, Facts,
    JurisdictionQ, LegalBasisQ, Question,
};
pub use shipped::SHIPPED;
pub use vocab::*;
