//! Cooperation request workflows: what each kind of request contains, the states it goes
//! through, who may move it and when it is due.
//!
//! Pure: no I/O and no clock. Times are passed in as [`Timestamp`](comity_model::Timestamp)s
//! (UTC milliseconds); the law engine's answers are passed in. Everything stored or sent is
//! serde JSON. See `docs/workflows.md`.

mod action;
mod body;
mod conditions;
mod error;
mod fields;
mod merge;
mod preflight;
mod request;
mod rules;
mod scenario;
mod scheduler;
mod table;
mod vocab;

pub use action::{Action, WORKFLOW_GROUNDS};
pub use body::{
    Body, Case, Conviction, ConvictionNotice, CriminalRecord, EmergencyDisclosure, Extradition,
    ExtraditionPurpose, JurisdictionConsultation, LetterRogatory, MIN_PRESERVATION_DAYS,
    MutualAssistance, Notice, Person, ProsecutionInLieu, ProvisionalArrest, SpontaneousInformation,
    Targets, TrafficDisclosure,
};
pub use comity_model::PreservationRequest;
pub use conditions::{Consent, Destination, Onward, UseConditions};
pub use error::WorkflowError;
pub use merge::{Merged, Opening, SUPERSEDED, Stamped, Superseded};
pub use preflight::{
    DualCriminalityNote, InstrumentNote, ObstacleNote, Preflight, cite_text, preflight,
};
pub use request::{Actor, Draft, Event, FollowUp, Link, REQUEST_VERSION, Rel, Request, Transition};
pub use rules::{Due, Rule, Rules, SHIPPED_RULES};
pub use scenario::{Timeline, TimelineEntry, scenario};
pub use scheduler::{Alert, AlertKind, Scheduler};
pub use table::states;
pub use vocab::{ActionTag, AssistanceMeasure, Colour, Kind, Party, State};
