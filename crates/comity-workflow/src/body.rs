//! The typed body of each request kind, with validation that names every faulty field.

use chrono::NaiveDate;
use comity_law::Measure;
use comity_model::{Jurisdiction, MessageId, NodeId, PreservationRequest};
use serde::{Deserialize, Serialize};

use crate::fields::Problems;
use crate::{AssistanceMeasure, Colour, Kind, WorkflowError};

/// Art. 29.7: preservation lasts "a period not less than sixty days".
pub use comity_model::MIN_PRESERVATION_DAYS;

/// Who asks and about what: common to most kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub requesting_authority: String,
    pub case_reference: String,
    /// Ids of the shared offence taxonomy.
    pub offences: Vec<String>,
    pub facts: String,
}

impl Case {
    fn check(&self, p: &mut Problems) {
        p.nested("case", |p| {
            p.text("requesting_authority", &self.requesting_authority, 300);
            p.text("case_reference", &self.case_reference, 100);
            p.offences("offences", &self.offences, "Budapest Art. 27.3");
            p.text("facts", &self.facts, 10_000);
        });
    }
}

/// The person a request is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Person {
    pub name: String,
    pub birth_date: Option<NaiveDate>,
    pub nationalities: Vec<Jurisdiction>,
    /// Anything that helps identify or find the person.
    pub description: String,
}

impl Person {
    fn check(&self, p: &mut Problems, field: &str) {
        p.nested(field, |p| {
            p.text("name", &self.name, 300);
            if self.nationalities.is_empty() {
                p.add(
                    "nationalities",
                    "needs at least one nationality (it decides refusal on nationality, Art. 24.6)",
                );
            }
            if self.description.chars().count() > 5_000 {
                p.add("description", "is longer than 5000 characters");
            }
        });
    }
}

/// Expedited disclosure of preserved traffic data (Budapest Art. 30).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficDisclosure {
    pub case: Case,
    /// The preservation request in whose execution the path was found, if any.
    pub preservation: Option<MessageId>,
    /// The communication whose path is sought (time, addresses, identifiers).
    pub communication: String,
}

/// Mutual assistance: stored data, subscriber information, real-time traffic, interception.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MutualAssistance {
    pub case: Case,
    pub measure: AssistanceMeasure,
    /// The data, records or communications sought.
    pub data: String,
    pub custodian_or_location: String,
    /// Collection window, required for real-time traffic data and interception.
    pub period_from: Option<NaiveDate>,
    pub period_to: Option<NaiveDate>,
    /// A procedure the requesting state asks to be followed (Budapest Art. 27.3).
    pub procedure: Option<String>,
    /// The preservation request this follows, if any (Art. 29.2.f): linking it extends the
    /// preservation.
    pub preservation: Option<MessageId>,
}

/// A judicial act performed by the requested state's judge under its own procedure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LetterRogatory {
    pub case: Case,
    pub issuing_judge: String,
    /// Each act asked for: hearing of a witness, search, seizure, expert report...
    pub acts: Vec<String>,
    pub persons: Vec<Person>,
    /// Whether the requesting judge asks to attend (ETS 30 Art. 4).
    pub attendance_requested: bool,
}

/// Information sent without request (Budapest Art. 26). The conditions the receiver must accept
/// or decline (Art. 26.2) are the request's `conditions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpontaneousInformation {
    pub providing_authority: String,
    pub offences: Vec<String>,
    /// What the receiver is told before accepting the conditions.
    pub summary: String,
}

/// What an extradition is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraditionPurpose {
    Prosecution,
    Enforcement,
}

/// Extradition (Budapest Art. 24).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Extradition {
    pub case: Case,
    pub person: Person,
    pub purpose: ExtraditionPurpose,
    pub warrant_reference: String,
    /// The sentence to enforce, required for `enforcement` (Art. 24.1.b).
    pub sentence_months: Option<u32>,
    pub max_penalty_months: u32,
    pub place_of_commission: Jurisdiction,
    pub committed_on: Option<NaiveDate>,
    /// The provisional arrest this follows, if any.
    pub provisional_arrest: Option<MessageId>,
}

/// Provisional arrest pending an extradition request (Budapest Art. 24.7, ETS 24 Art. 16).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionalArrest {
    pub case: Case,
    pub person: Person,
    pub warrant_reference: String,
    pub urgency: String,
    /// ETS 24 Art. 16.2: the request states that an extradition request will follow.
    pub extradition_to_follow: bool,
}

/// Submission of a refused national's case for prosecution (Budapest Art. 24.6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProsecutionInLieu {
    /// The extradition request refused on nationality.
    pub extradition: MessageId,
    pub case: Case,
    pub person: Person,
    /// The evidence and files the requesting state transmits.
    pub evidence: String,
    /// What obliges the requested state to prosecute: a treaty article (Budapest Art. 24.6) or
    /// its own law, as the law engine cites it.
    pub duty: String,
}

/// Request for a person's criminal record (ETS 30 Art. 13).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CriminalRecord {
    pub requesting_authority: String,
    pub case_reference: String,
    pub person: Person,
    /// Criminal matter the record is needed for.
    pub purpose: String,
}

/// One conviction notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conviction {
    pub person: Person,
    pub court: String,
    pub date: NaiveDate,
    pub offences: Vec<String>,
    pub sentence: String,
}

/// Periodic notification of convictions of the other state's nationals (ETS 30 Art. 22).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvictionNotice {
    pub period_from: NaiveDate,
    pub period_to: NaiveDate,
    /// May be empty: "nothing to notify for the period" is a notification too.
    pub convictions: Vec<Conviction>,
}

/// Who receives a notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Targets {
    /// Chosen nodes only; no neutrality review is needed.
    Nodes(Vec<NodeId>),
    /// Every node of the federation, after the neutrality review.
    All,
}

/// A notice in Interpol's colours. The request's `requested` node is the reviewing office.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub colour: Colour,
    pub issuing_authority: String,
    pub subject: String,
    pub summary: String,
    pub targets: Targets,
    /// Required for a red notice: the warrant or judgment it rests on.
    pub warrant_reference: Option<String>,
    pub offences: Vec<String>,
}

/// Emergency disclosure (Second Additional Protocol Arts. 9–10).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyDisclosure {
    pub case: Case,
    /// The significant and imminent risk to the life or safety of a person (Art. 3.2.c).
    pub emergency: String,
    pub data: String,
    pub provider_or_location: String,
}

/// Consultation on which state prosecutes (Budapest Art. 22.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JurisdictionConsultation {
    pub case: Case,
    /// The states the engine found competent.
    pub claimants: Vec<Jurisdiction>,
    /// The forum the requesting state proposes.
    pub proposed_forum: Jurisdiction,
    pub grounds: String,
    /// What calls for the consultation, as the law engine cites it (Budapest Art. 22.5 where it
    /// binds both states), or comity where nothing does.
    pub basis: String,
}

/// The body of a request, tagged by kind: `{"kind": "preservation", "body": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "snake_case")]
pub enum Body {
    Preservation(PreservationRequest),
    TrafficDisclosure(TrafficDisclosure),
    MutualAssistance(MutualAssistance),
    LetterRogatory(LetterRogatory),
    SpontaneousInformation(SpontaneousInformation),
    Extradition(Extradition),
    ProvisionalArrest(ProvisionalArrest),
    ProsecutionInLieu(ProsecutionInLieu),
    CriminalRecord(CriminalRecord),
    ConvictionNotice(ConvictionNotice),
    Notice(Notice),
    EmergencyDisclosure(EmergencyDisclosure),
    JurisdictionConsultation(JurisdictionConsultation),
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Preservation(_) => Kind::Preservation,
            Body::TrafficDisclosure(_) => Kind::TrafficDisclosure,
            Body::MutualAssistance(_) => Kind::MutualAssistance,
            Body::LetterRogatory(_) => Kind::LetterRogatory,
            Body::SpontaneousInformation(_) => Kind::SpontaneousInformation,
            Body::Extradition(_) => Kind::Extradition,
            Body::ProvisionalArrest(_) => Kind::ProvisionalArrest,
            Body::ProsecutionInLieu(_) => Kind::ProsecutionInLieu,
            Body::CriminalRecord(_) => Kind::CriminalRecord,
            Body::ConvictionNotice(_) => Kind::ConvictionNotice,
            Body::Notice(_) => Kind::Notice,
            Body::EmergencyDisclosure(_) => Kind::EmergencyDisclosure,
            Body::JurisdictionConsultation(_) => Kind::JurisdictionConsultation,
        }
    }

    /// The law engine's measure, for the pre-flight `legal_basis` question; `None` for kinds the
    /// engine has no measure for (notices, consultations, prosecution in lieu, notifications).
    pub fn measure(&self) -> Option<Measure> {
        Some(match self {
            Body::Preservation(_) => Measure::Preservation,
            Body::TrafficDisclosure(_) => Measure::TrafficDisclosure,
            Body::MutualAssistance(m) => m.measure.measure(),
            Body::LetterRogatory(_) => Measure::LetterRogatory,
            Body::SpontaneousInformation(_) => Measure::SpontaneousInformation,
            Body::Extradition(_) => Measure::Extradition,
            Body::ProvisionalArrest(_) => Measure::ProvisionalArrest,
            Body::CriminalRecord(_) => Measure::CriminalRecord,
            Body::EmergencyDisclosure(_) => Measure::EmergencyDisclosure,
            Body::ProsecutionInLieu(_)
            | Body::ConvictionNotice(_)
            | Body::Notice(_)
            | Body::JurisdictionConsultation(_) => return None,
        })
    }

    /// The offences the request is about, for the law engine.
    pub fn offences(&self) -> &[String] {
        match self {
            Body::Preservation(b) => &b.offences,
            Body::TrafficDisclosure(TrafficDisclosure { case, .. })
            | Body::MutualAssistance(MutualAssistance { case, .. })
            | Body::LetterRogatory(LetterRogatory { case, .. })
            | Body::Extradition(Extradition { case, .. })
            | Body::ProvisionalArrest(ProvisionalArrest { case, .. })
            | Body::ProsecutionInLieu(ProsecutionInLieu { case, .. })
            | Body::EmergencyDisclosure(EmergencyDisclosure { case, .. })
            | Body::JurisdictionConsultation(JurisdictionConsultation { case, .. }) => {
                &case.offences
            }
            Body::SpontaneousInformation(b) => &b.offences,
            Body::Notice(b) => &b.offences,
            Body::CriminalRecord(_) | Body::ConvictionNotice(_) => &[],
        }
    }

    /// Checks every field and reports each faulty one, with its path under `body`.
    pub fn validate(&self) -> Result<(), WorkflowError> {
        let mut p = Problems::new("body");
        self.check(&mut p);
        p.finish()
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        match self {
            Body::Preservation(b) => check_preservation(b, p),
            Body::TrafficDisclosure(b) => {
                b.case.check(p);
                p.text("communication", &b.communication, 5_000);
            }
            Body::MutualAssistance(b) => check_assistance(b, p),
            Body::LetterRogatory(b) => {
                b.case.check(p);
                p.text("issuing_judge", &b.issuing_judge, 300);
                if b.acts.is_empty() {
                    p.add("acts", "needs at least one judicial act to perform");
                }
                for (i, a) in b.acts.iter().enumerate() {
                    p.text(&format!("acts[{i}]"), a, 2_000);
                }
                for (i, person) in b.persons.iter().enumerate() {
                    person.check(p, &format!("persons[{i}]"));
                }
            }
            Body::SpontaneousInformation(b) => {
                p.text("providing_authority", &b.providing_authority, 300);
                p.offences("offences", &b.offences, "Budapest Art. 26.1");
                p.text("summary", &b.summary, 5_000);
            }
            Body::Extradition(b) => {
                b.case.check(p);
                b.person.check(p, "person");
                p.text("warrant_reference", &b.warrant_reference, 200);
                match (b.purpose, b.sentence_months) {
                    (ExtraditionPurpose::Enforcement, None) => p.add(
                        "sentence_months",
                        "is required when the purpose is enforcement (Art. 24.1.b)",
                    ),
                    (ExtraditionPurpose::Enforcement, Some(0)) => {
                        p.add("sentence_months", "must be at least 1")
                    }
                    _ => {}
                }
                if b.max_penalty_months == 0 {
                    p.add(
                        "max_penalty_months",
                        "must be at least 1: the threshold of Art. 24.1.a is measured on it",
                    );
                }
            }
            Body::ProvisionalArrest(b) => {
                b.case.check(p);
                b.person.check(p, "person");
                p.text("warrant_reference", &b.warrant_reference, 200);
                p.text("urgency", &b.urgency, 2_000);
                if !b.extradition_to_follow {
                    p.add(
                        "extradition_to_follow",
                        "must be true: a provisional arrest is asked pending an extradition request (ETS 24 Art. 16.2)",
                    );
                }
            }
            Body::ProsecutionInLieu(b) => {
                b.case.check(p);
                b.person.check(p, "person");
                p.text("evidence", &b.evidence, 20_000);
                p.text("duty", &b.duty, 500);
            }
            Body::CriminalRecord(b) => {
                p.text("requesting_authority", &b.requesting_authority, 300);
                p.text("case_reference", &b.case_reference, 100);
                b.person.check(p, "person");
                p.text("purpose", &b.purpose, 2_000);
            }
            Body::ConvictionNotice(b) => {
                if b.period_to < b.period_from {
                    p.add("period_to", "is before period_from");
                }
                for (i, c) in b.convictions.iter().enumerate() {
                    p.nested(&format!("convictions[{i}]"), |p| {
                        c.person.check(p, "person");
                        p.text("court", &c.court, 300);
                        p.offences("offences", &c.offences, "ETS 30 Art. 22");
                        p.text("sentence", &c.sentence, 1_000);
                    });
                }
            }
            Body::Notice(b) => {
                p.text("issuing_authority", &b.issuing_authority, 300);
                p.text("subject", &b.subject, 1_000);
                p.text("summary", &b.summary, 10_000);
                if let Targets::Nodes(nodes) = &b.targets
                    && nodes.is_empty()
                {
                    p.add("targets", "names no node; use \"all\" to broadcast");
                }
                match (&b.colour, &b.warrant_reference) {
                    (Colour::Red, None) => p.add(
                        "warrant_reference",
                        "is required for a red notice: it rests on a warrant or judgment",
                    ),
                    (_, w) => p.optional_text("warrant_reference", w, 200),
                }
                if b.colour == Colour::Red {
                    p.offences("offences", &b.offences, "a red notice");
                }
            }
            Body::EmergencyDisclosure(b) => {
                b.case.check(p);
                p.text("emergency", &b.emergency, 5_000);
                p.text("data", &b.data, 5_000);
                p.text("provider_or_location", &b.provider_or_location, 2_000);
            }
            Body::JurisdictionConsultation(b) => {
                b.case.check(p);
                if b.claimants.len() < 2 {
                    p.add(
                        "claimants",
                        "needs at least two states: consultation is between competing claimants (Art. 22.5)",
                    );
                }
                if !b.claimants.contains(&b.proposed_forum) {
                    p.add("proposed_forum", "must be one of the claimants");
                }
                p.text("grounds", &b.grounds, 10_000);
                p.text("basis", &b.basis, 500);
            }
        }
    }
}

fn check_preservation(b: &PreservationRequest, p: &mut Problems) {
    p.text("requesting_authority", &b.requesting_authority, 300);
    p.text("case_reference", &b.case_reference, 100);
    p.offences("offences", &b.offences, "Art. 29.2.b");
    p.text("facts", &b.facts, 10_000);
    p.text("data", &b.data, 5_000);
    p.text("relation_to_offence", &b.relation_to_offence, 5_000);
    p.text("custodian_or_location", &b.custodian_or_location, 2_000);
    p.text("necessity", &b.necessity, 5_000);
    if !b.mla_to_follow {
        p.add(
            "mla_to_follow",
            "must be true: Art. 29.2.f requires the intention to follow with a mutual-assistance request",
        );
    }
    if b.preservation_days < MIN_PRESERVATION_DAYS {
        p.add(
            "preservation_days",
            format!("must be at least {MIN_PRESERVATION_DAYS} (Art. 29.7)"),
        );
    } else if b.preservation_days > 3_650 {
        p.add("preservation_days", "must be at most 3650");
    }
}

fn check_assistance(b: &MutualAssistance, p: &mut Problems) {
    b.case.check(p);
    p.text("data", &b.data, 5_000);
    p.text("custodian_or_location", &b.custodian_or_location, 2_000);
    p.optional_text("procedure", &b.procedure, 5_000);
    if b.measure.is_real_time() {
        let article = if b.measure == AssistanceMeasure::Interception {
            "Art. 34"
        } else {
            "Art. 33"
        };
        if b.period_from.is_none() {
            p.add(
                "period_from",
                format!("is required for {} ({article})", b.measure),
            );
        }
        if b.period_to.is_none() {
            p.add(
                "period_to",
                format!("is required for {} ({article})", b.measure),
            );
        }
    }
    if let (Some(from), Some(to)) = (b.period_from, b.period_to)
        && to < from
    {
        p.add("period_to", "is before period_from");
    }
}
