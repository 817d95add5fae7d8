//! Fixtures: a valid draft of every kind, nodes, times.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use comity_model::{MessageId, NodeId, PreservationRequest, Role, Timestamp};
use comity_workflow::*;

pub const T0: i64 = 1_768_464_000_000; // 2026-01-15T08:00:00.000Z

pub fn t(hours: i64) -> Timestamp {
    Timestamp::from_unix_ms(T0 + hours * 3_600_000)
}

pub fn node(s: &str) -> NodeId {
    s.parse().unwrap()
}

pub fn id(n: u8) -> MessageId {
    MessageId::from_parts(T0 as u64, [n; 10])
}

pub fn rules() -> Rules {
    Rules::shipped().unwrap()
}

pub fn actor(n: &str, role: Role) -> Actor {
    Actor {
        node: node(n),
        role,
    }
}

pub const REQUESTING: &str = "dz-moj";
pub const REQUESTED: &str = "fr-moj";

fn case() -> Case {
    Case {
        requesting_authority: "Tribunal de Sidi M'Hamed".into(),
        case_reference: "DZ-1".into(),
        offences: vec!["illegal_access".into()],
        facts: "Intrusion into servers".into(),
    }
}

fn person() -> Person {
    Person {
        name: "K. B.".into(),
        birth_date: NaiveDate::from_ymd_opt(1990, 1, 1),
        nationalities: vec!["MA".parse().unwrap()],
        description: "".into(),
    }
}

pub fn conditions() -> UseConditions {
    UseConditions::case_only(node(REQUESTING), "DZ-1")
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, d).unwrap()
}

pub fn preservation_body() -> PreservationRequest {
    PreservationRequest {
        requesting_authority: "Tribunal".into(),
        case_reference: "DZ-1".into(),
        offences: vec!["illegal_access".into()],
        facts: "facts".into(),
        data: "logs".into(),
        relation_to_offence: "used".into(),
        custodian_or_location: "Roubaix".into(),
        necessity: "overwritten".into(),
        mla_to_follow: true,
        preservation_days: 90,
    }
}

/// A valid body of each kind; `broadcast` picks the notice's targets.
pub fn body(kind: Kind, broadcast: bool) -> Body {
    match kind {
        Kind::Preservation => Body::Preservation(preservation_body()),
        Kind::TrafficDisclosure => Body::TrafficDisclosure(TrafficDisclosure {
            case: case(),
            preservation: None,
            communication: "sessions of 12 January".into(),
        }),
        Kind::MutualAssistance => Body::MutualAssistance(MutualAssistance {
            case: case(),
            measure: AssistanceMeasure::StoredData,
            data: "logs".into(),
            custodian_or_location: "Roubaix".into(),
            period_from: None,
            period_to: None,
            procedure: None,
            preservation: None,
        }),
        Kind::LetterRogatory => Body::LetterRogatory(LetterRogatory {
            case: case(),
            issuing_judge: "Juge d'instruction".into(),
            acts: vec!["hear the witness".into()],
            persons: vec![person()],
            attendance_requested: false,
        }),
        Kind::SpontaneousInformation => Body::SpontaneousInformation(SpontaneousInformation {
            providing_authority: "OCLCTIC".into(),
            offences: vec!["computer_fraud".into()],
            summary: "a botnet targets your banks".into(),
        }),
        Kind::Extradition => Body::Extradition(Extradition {
            case: case(),
            person: person(),
            purpose: ExtraditionPurpose::Prosecution,
            warrant_reference: "W-1".into(),
            sentence_months: None,
            max_penalty_months: 60,
            place_of_commission: "DZ".parse().unwrap(),
            committed_on: None,
            provisional_arrest: None,
        }),
        Kind::ProvisionalArrest => Body::ProvisionalArrest(ProvisionalArrest {
            case: case(),
            person: person(),
            warrant_reference: "W-1".into(),
            urgency: "about to leave".into(),
            extradition_to_follow: true,
        }),
        Kind::ProsecutionInLieu => Body::ProsecutionInLieu(ProsecutionInLieu {
            extradition: id(200),
            case: case(),
            person: person(),
            evidence: "file".into(),
            duty: "Budapest Art. 24.6".into(),
        }),
        Kind::CriminalRecord => Body::CriminalRecord(CriminalRecord {
            requesting_authority: "Tribunal".into(),
            case_reference: "DZ-1".into(),
            person: person(),
            purpose: "sentencing".into(),
        }),
        Kind::ConvictionNotice => Body::ConvictionNotice(ConvictionNotice {
            period_from: day(1),
            period_to: day(31),
            convictions: vec![],
        }),
        Kind::Notice => Body::Notice(Notice {
            colour: Colour::Red,
            issuing_authority: "NCB Algiers".into(),
            subject: "K. B.".into(),
            summary: "wanted for prosecution".into(),
            targets: if broadcast {
                Targets::All
            } else {
                Targets::Nodes(vec![node("es-moj")])
            },
            warrant_reference: Some("W-1".into()),
            offences: vec!["illegal_access".into()],
        }),
        Kind::EmergencyDisclosure => Body::EmergencyDisclosure(EmergencyDisclosure {
            case: case(),
            emergency: "threat to a child's life".into(),
            data: "subscriber of an address".into(),
            provider_or_location: "provider".into(),
        }),
        Kind::JurisdictionConsultation => {
            Body::JurisdictionConsultation(JurisdictionConsultation {
                case: case(),
                claimants: vec!["DZ".parse().unwrap(), "FR".parse().unwrap()],
                proposed_forum: "DZ".parse().unwrap(),
                grounds: "acts in Algeria".into(),
                basis: "Budapest Art. 22.5".into(),
            })
        }
    }
}

/// A positive pre-flight record for the body's measure, with no required content.
pub fn positive(body: &Body) -> Option<Preflight> {
    let measure = body.measure()?;
    Some(Preflight {
        requesting: "DZ".into(),
        requested: "FR".into(),
        measure: measure.as_str().into(),
        date: day(15),
        available: true,
        instruments: vec![],
        reciprocity: Some("CPP art. 694".into()),
        channels: vec!["central_authority".into()],
        channel: Some("central_authority".into()),
        dual_criminality: None,
        obstacles: vec![],
        negatives: vec![],
        override_reason: None,
        explanation: vec![],
    })
}

pub fn draft(kind: Kind, broadcast: bool) -> Draft {
    let body = body(kind, broadcast);
    Draft {
        id: id(1),
        requesting: node(REQUESTING),
        requested: node(REQUESTED),
        preflight: positive(&body),
        body,
        content: BTreeMap::new(),
        conditions: conditions(),
        links: vec![],
    }
}

pub fn open(kind: Kind, broadcast: bool) -> Request {
    Request::open(draft(kind, broadcast), &rules(), t(0))
        .unwrap()
        .0
}
