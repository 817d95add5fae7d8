//! The full cross-border case, run on the crate's types alone: a fraud and intrusion run from
//! Algeria against servers in France, proceeds through Morocco, a Moroccan suspect found in
//! Spain and also wanted by France. `comity demo` prints its timeline.

use std::collections::BTreeMap;
use std::fmt;

use comity_law::{Channel, LawPacks, Question};
use comity_model::{Jurisdiction, MessageId, NodeId, PreservationRequest, Role, Timestamp};
use serde::Serialize;
use serde_json::json;

use crate::{
    Action, Actor, AssistanceMeasure, Body, Case, Draft, Extradition, ExtraditionPurpose,
    JurisdictionConsultation, MutualAssistance, Person, Preflight, Request, Rules,
    TrafficDisclosure, Transition, UseConditions, WorkflowError, preflight,
};

/// One step of the story.
#[derive(Debug, Clone, Serialize)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub request: MessageId,
    pub kind: crate::Kind,
    pub actor: String,
    pub action: String,
    pub to: crate::State,
    pub articles: Vec<String>,
    pub note: String,
}

impl fmt::Display for TimelineEntry {
    /// One line: time, kind, actor, action, new state, articles, note.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}  {:<25} {:<30} {:<22} -> {:<25}",
            self.at, self.kind, self.actor, self.action, self.to
        )?;
        if !self.articles.is_empty() {
            write!(f, " [{}]", self.articles.join("; "))?;
        }
        if !self.note.is_empty() {
            write!(f, " {}", self.note)?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Timeline {
    pub entries: Vec<TimelineEntry>,
    /// Every request of the story in its final state.
    pub requests: Vec<Request>,
}

const HOUR: i64 = 3_600_000;

struct Story<'a> {
    packs: &'a LawPacks,
    rules: &'a Rules,
    now: Timestamp,
    seq: u8,
    entries: Vec<TimelineEntry>,
}

fn node(s: &str) -> NodeId {
    s.parse()
        .unwrap_or_else(|_| unreachable!("the story's node ids are valid"))
}

fn state(s: &str) -> Jurisdiction {
    s.parse()
        .unwrap_or_else(|_| unreachable!("the story's states are valid"))
}

fn law_error(e: comity_law::LawError) -> WorkflowError {
    WorkflowError::LawQuestion {
        code: e.code(),
        message: e.to_string(),
    }
}

impl Story<'_> {
    fn id(&mut self) -> MessageId {
        self.seq += 1;
        MessageId::from_parts(self.now.unix_ms().max(0) as u64, [self.seq; 10])
    }

    fn later(&mut self, hours: i64) {
        self.now = self.now.plus_ms(hours * HOUR);
    }

    fn date(&self) -> String {
        self.now.to_string()[..10].to_owned()
    }

    fn question(&self, q: serde_json::Value) -> Result<Question, WorkflowError> {
        self.packs.question_from_json(&q).map_err(law_error)
    }

    /// Asks the engine about a measure between two states and keeps its answer.
    fn preflight(
        &self,
        from: &str,
        to: &str,
        measure: &str,
        offences: &[&str],
        channel: Channel,
    ) -> Result<Preflight, WorkflowError> {
        let q = self.question(json!({"question": "legal_basis", "requesting": from,
            "requested": to, "measure": measure, "date": self.date(), "offences": offences}))?;
        let Question::LegalBasis(q) = q else {
            unreachable!("a legal_basis question reads as one")
        };
        let basis = self.packs.legal_basis(&q);
        // The officer's preferred channel when the bases allow it, else the first they allow.
        let channel = if basis.channels.contains(&channel) {
            channel
        } else {
            basis.channels.first().copied().unwrap_or(channel)
        };
        let mut pf = preflight(&basis, None, None, Some(channel));
        if pf.is_negative() {
            pf = pf.with_override(
                "urgent: the data will be lost before a treaty basis can be settled; reciprocity offered",
            );
        }
        Ok(pf)
    }

    fn open(&mut self, draft: Draft, actor: &str, note: &str) -> Result<Request, WorkflowError> {
        let (r, t) = Request::open(draft, self.rules, self.now)?;
        let mut articles = t.articles.clone();
        let mut note = note.to_owned();
        if let Some(pf) = &r.preflight {
            articles.extend(pf.instruments.iter().flat_map(|i| {
                i.articles
                    .iter()
                    .map(move |a| format!("{} Art. {a}", i.treaty))
            }));
            if let Some(provision) = &pf.reciprocity
                && pf.instruments.is_empty()
            {
                articles.push(format!(
                    "{}: {provision} (no treaty; reciprocity)",
                    pf.requested
                ));
            }
            if let Some(reason) = &pf.override_reason {
                note = format!(
                    "{note}; sent against a negative pre-flight ({}): {reason}",
                    pf.negatives.join("; ")
                );
            }
        }
        self.entries.push(TimelineEntry {
            at: self.now,
            request: r.id,
            kind: r.kind,
            actor: actor.to_owned(),
            action: "send".to_owned(),
            to: t.to,
            articles,
            note,
        });
        Ok(r)
    }

    fn act(
        &mut self,
        r: &mut Request,
        by: &str,
        role: Role,
        action: Action,
        note: &str,
    ) -> Result<Transition, WorkflowError> {
        let tag = action.tag();
        let actor = Actor {
            node: node(by),
            role,
        };
        let t = r.apply(self.rules, &actor, action, self.now)?;
        self.entries.push(TimelineEntry {
            at: self.now,
            request: r.id,
            kind: r.kind,
            actor: format!("{by} ({role})"),
            action: tag.to_string(),
            to: t.to,
            articles: t.articles.clone(),
            note: note.to_owned(),
        });
        Ok(t)
    }
}

fn case() -> Case {
    Case {
        requesting_authority: "Pôle pénal spécialisé, tribunal de Sidi M'Hamed, Alger".to_owned(),
        case_reference: "DZ-2026-0042".to_owned(),
        offences: vec!["illegal_access".to_owned(), "computer_fraud".to_owned()],
        facts: "From Algiers, intruders took over servers hosted in France and used them to divert payments of Algerian customers; the proceeds went through accounts in Morocco.".to_owned(),
    }
}

fn suspect() -> Person {
    Person {
        name: "K. B.".to_owned(),
        birth_date: None,
        nationalities: vec![state("MA")],
        description: "Operator of the intrusion, located in Spain".to_owned(),
    }
}

fn preservation_body(data: &str, custodian: &str) -> PreservationRequest {
    let c = case();
    PreservationRequest {
        requesting_authority: c.requesting_authority,
        case_reference: c.case_reference,
        offences: c.offences,
        facts: c.facts,
        data: data.to_owned(),
        relation_to_offence: "The intrusion and the payment diversion were run through them"
            .to_owned(),
        custodian_or_location: custodian.to_owned(),
        necessity: "Logs are overwritten within 30 days".to_owned(),
        mla_to_follow: true,
        preservation_days: 90,
    }
}

/// Fills the content items the instruments require with the body's own answers.
fn content(pf: &Preflight) -> BTreeMap<String, String> {
    pf.required_content()
        .into_iter()
        .map(|(item, _)| (item.to_owned(), format!("see body ({item})")))
        .collect()
}

/// Runs the story from `start` (use a date the packs know; 2026-01-15 is the reference).
pub fn scenario(
    packs: &LawPacks,
    rules: &Rules,
    start: Timestamp,
) -> Result<Timeline, WorkflowError> {
    let mut s = Story {
        packs,
        rules,
        now: start,
        seq: 0,
        entries: Vec::new(),
    };
    let (dz, fr, ma, es) = ("dz-moj", "fr-moj", "ma-moj", "es-moj");
    let dz_conditions = UseConditions::case_only(node(dz), "DZ-2026-0042");
    let offences = ["illegal_access", "computer_fraud"];

    // 1. Preservation of the French servers' logs.
    let pf = s.preflight(
        "DZ",
        "FR",
        "preservation",
        &offences,
        Channel::TwentyFourSeven,
    )?;
    let draft = Draft {
        id: s.id(),
        requesting: node(dz),
        requested: node(fr),
        body: Body::Preservation(preservation_body(
            "Connection logs and disk images of the servers used, 1-20 January 2026",
            "Hosting provider in Roubaix, France",
        )),
        content: content(&pf),
        conditions: dz_conditions.clone(),
        preflight: Some(pf),
        links: Vec::new(),
    };
    let mut preservation = s.open(
        draft,
        dz,
        "Algeria asks France to preserve the servers' data",
    )?;
    s.later(3);
    s.act(&mut preservation, fr, Role::CentralAuthority, Action::Acknowledge { reference: "FR-247-1187".to_owned() }, "France's central authority acknowledges: without a treaty between the two states, its channel is the one allowed")?;
    s.later(5);
    s.act(
        &mut preservation,
        fr,
        Role::CentralAuthority,
        Action::Preserve { until: None },
        "data preserved for 90 days",
    )?;

    // 2. Traffic disclosure: the path continues in Morocco.
    s.later(2);
    let pf = s.preflight(
        "DZ",
        "FR",
        "traffic_disclosure",
        &offences,
        Channel::TwentyFourSeven,
    )?;
    let draft = Draft {
        id: s.id(),
        requesting: node(dz),
        requested: node(fr),
        body: Body::TrafficDisclosure(TrafficDisclosure {
            case: case(),
            preservation: Some(preservation.id),
            communication:
                "Administrative sessions to the servers on 12 January 2026, 02:00-04:00 UTC"
                    .to_owned(),
        }),
        content: content(&pf),
        conditions: dz_conditions.clone(),
        preflight: Some(pf),
        links: Vec::new(),
    };
    let mut traffic = s.open(draft, dz, "which provider carried the sessions?")?;
    s.later(20);
    let t = s.act(
        &mut traffic,
        fr,
        Role::CentralAuthority,
        Action::Disclose {
            traffic_data: "Sessions came from an address of a Moroccan provider".to_owned(),
            next_state: Some(state("MA")),
            next_provider: Some("Moroccan access provider".to_owned()),
            use_conditions: None,
        },
        "the path continues in Morocco",
    )?;
    let mut onward_requests = Vec::new();
    if t.follow_ups
        .iter()
        .any(|f| matches!(f, crate::FollowUp::OnwardPreservation { .. }))
    {
        let mut draft = traffic.onward_preservation(
            s.id(),
            node(ma),
            preservation_body(
                "Subscriber and connection records of the address, 12 January 2026",
                "Moroccan access provider",
            ),
        )?;
        let pf = s.preflight(
            "DZ",
            "MA",
            "preservation",
            &offences,
            Channel::TwentyFourSeven,
        )?;
        draft.content = content(&pf);
        draft.preflight = Some(pf);
        let mut onward = s.open(draft, dz, "onward preservation in Morocco (Art. 30)")?;
        s.later(4);
        s.act(
            &mut onward,
            ma,
            Role::CentralAuthority,
            Action::Preserve { until: None },
            "Morocco preserves",
        )?;
        onward_requests.push(onward);
    }
    s.act(
        &mut traffic,
        dz,
        Role::CentralAuthority,
        Action::Close,
        "receipt confirmed",
    )?;

    // 3. Mutual assistance for the preserved data, which extends the preservation.
    s.later(24 * 10);
    let pf = s.preflight(
        "DZ",
        "FR",
        "stored_data",
        &offences,
        Channel::CentralAuthority,
    )?;
    let draft = Draft {
        id: s.id(),
        requesting: node(dz),
        requested: node(fr),
        body: Body::MutualAssistance(MutualAssistance {
            case: case(),
            measure: AssistanceMeasure::StoredData,
            data: "The preserved logs and disk images".to_owned(),
            custodian_or_location: "Hosting provider in Roubaix, France".to_owned(),
            period_from: None,
            period_to: None,
            procedure: Some("Certified copies with hash values".to_owned()),
            preservation: Some(preservation.id),
        }),
        content: content(&pf),
        conditions: dz_conditions.clone(),
        preflight: Some(pf),
        links: Vec::new(),
    };
    let mut mla = s.open(draft, dz, "request for the preserved data")?;
    s.act(
        &mut preservation,
        fr,
        Role::CentralAuthority,
        Action::Extend { mla: mla.id },
        "preservation continues pending the decision (Art. 29.7)",
    )?;
    s.later(24 * 4);
    s.act(
        &mut mla,
        fr,
        Role::CentralAuthority,
        Action::Acknowledge {
            reference: "BEPI-2026-311".to_owned(),
        },
        "France's central authority registers the request",
    )?;
    s.later(24 * 12);
    s.act(
        &mut mla,
        fr,
        Role::CentralAuthority,
        Action::Accept {
            conditions: vec!["use limited to case DZ-2026-0042".to_owned()],
        },
        "accepted under the use conditions",
    )?;
    s.later(24 * 20);
    s.act(
        &mut mla,
        fr,
        Role::CentralAuthority,
        Action::ReturnResults {
            summary: "Logs and two disk images, SHA-256 listed".to_owned(),
            use_conditions: Some(UseConditions::case_only(node(fr), "DZ-2026-0042")),
        },
        "evidence returned",
    )?;
    s.later(24 * 2);
    s.act(
        &mut mla,
        dz,
        Role::CentralAuthority,
        Action::Close,
        "receipt confirmed",
    )?;
    s.act(
        &mut preservation,
        dz,
        Role::CentralAuthority,
        Action::Release {
            reason: "Data received through mutual assistance".to_owned(),
        },
        "preservation released",
    )?;

    // 4. Jurisdiction consultation between the competent states.
    s.later(24 * 7);
    let q = s.question(
        json!({"question": "jurisdiction", "offences": offences, "date": s.date(),
        "facts": {"acts_in": ["DZ"], "systems_in": ["FR"], "effects_in": ["DZ"],
                  "offender_nationalities": ["MA"], "victim_nationalities": ["DZ"],
                  "offender_present_in": ["ES"], "state_interests_in": []}}),
    )?;
    let Question::Jurisdiction(q) = q else {
        unreachable!("a jurisdiction question reads as one")
    };
    let j = packs.jurisdiction_conflict(&q);
    let claimants: Vec<Jurisdiction> = j
        .claims
        .iter()
        .filter_map(|c| c.state.as_str().parse().ok())
        .collect();
    let pair = [
        comity_law::State::parse("DZ"),
        comity_law::State::parse("FR"),
    ];
    let binding = j.consultation.iter().find(|c| {
        pair.iter()
            .all(|p| p.is_some_and(|p| c.states.contains(&p)))
    });
    let basis = binding.map_or_else(
        || "comity (no instrument binding DZ and FR calls for consultation)".to_owned(),
        |c| crate::cite_text(&c.cite),
    );
    let claim_note = format!(
        "the engine finds {} states competent ({}); consultation: {basis}",
        j.claims.len(),
        j.claims
            .iter()
            .map(|c| c.state.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let draft = Draft {
        id: s.id(),
        requesting: node(dz),
        requested: node(fr),
        body: Body::JurisdictionConsultation(JurisdictionConsultation {
            case: case(),
            claimants: if claimants.len() >= 2 {
                claimants
            } else {
                vec![state("DZ"), state("FR")]
            },
            proposed_forum: state("DZ"),
            grounds: "The acts were committed in Algeria and the victims are Algerian".to_owned(),
            basis,
        }),
        content: BTreeMap::new(),
        conditions: dz_conditions.clone(),
        preflight: None,
        links: Vec::new(),
    };
    let mut consult = s.open(draft, dz, &claim_note)?;
    s.later(24 * 6);
    s.act(
        &mut consult,
        fr,
        Role::Judicial,
        Action::Agree,
        "France agrees that Algeria prosecutes the intrusion; it keeps its own fraud case",
    )?;

    // 5. Competing extradition requests for the suspect found in Spain.
    s.later(24 * 3);
    let mut extraditions = Vec::new();
    let mut received = Vec::new();
    for (from, who) in [("DZ", dz), ("FR", fr)] {
        let pf = s.preflight(from, "ES", "extradition", &offences, Channel::Diplomatic)?;
        let draft = Draft {
            id: s.id(),
            requesting: node(who),
            requested: node(es),
            body: Body::Extradition(Extradition {
                case: Case {
                    requesting_authority: format!("Prosecutor of {from}"),
                    case_reference: format!("{from}-2026-X"),
                    ..case()
                },
                person: suspect(),
                purpose: ExtraditionPurpose::Prosecution,
                warrant_reference: format!("{from}-WARRANT-17"),
                sentence_months: None,
                max_penalty_months: 60,
                place_of_commission: state(from),
                committed_on: None,
                provisional_arrest: None,
            }),
            content: content(&pf),
            conditions: UseConditions::case_only(node(who), &format!("{from}-2026-X")),
            preflight: Some(pf),
            links: Vec::new(),
        };
        let r = s.open(
            draft,
            who,
            &format!("{from} asks Spain to extradite the suspect"),
        )?;
        received.push(s.date());
        extraditions.push((from.to_lowercase(), r));
        s.later(24 * 9);
    }
    let q = s.question(json!({"question": "competing_requests", "requested": "ES",
        "person": {"nationalities": ["MA"]}, "date": s.date(), "requests": [
            {"id": "dz", "requesting": "DZ", "offences": offences, "place_of_commission": "DZ",
             "received": received[0], "purpose": "prosecution", "max_penalty_months": 60},
            {"id": "fr", "requesting": "FR", "offences": offences, "place_of_commission": "FR",
             "received": received[1], "purpose": "prosecution", "max_penalty_months": 60}]}))?;
    let Question::CompetingRequests(q) = q else {
        unreachable!("a competing_requests question reads as one")
    };
    let ranking = packs.competing_requests(&q).ranking;
    let winner = ranking.first().map_or("dz", |r| r.id.as_str()).to_owned();
    let scorecard: Vec<String> = ranking
        .iter()
        .map(|r| format!("{} {:.2}", r.requesting, r.score))
        .collect();
    s.later(24 * 5);
    for (id, r) in &mut extraditions {
        s.act(
            r,
            es,
            Role::Extradition,
            Action::Acknowledge {
                reference: format!("ES-EXT-{id}"),
            },
            "Spain registers the request",
        )?;
    }
    s.later(24 * 30);
    let note = format!("scorecard (advisory): {}", scorecard.join(", "));
    for (id, r) in &mut extraditions {
        if *id == winner {
            s.act(
                r,
                es,
                Role::Extradition,
                Action::Grant {
                    conditions: vec!["speciality rule".to_owned()],
                },
                &note,
            )?;
        } else {
            s.act(
                r,
                es,
                Role::Extradition,
                Action::Refuse {
                    grounds: vec!["competing_request".to_owned()],
                    reasons: format!(
                        "Spain grants the competing request of {}, ranked first",
                        winner.to_uppercase()
                    ),
                    consulted: true,
                },
                &note,
            )?;
        }
    }
    s.later(24 * 10);
    for (id, r) in &mut extraditions {
        if *id == winner {
            s.act(
                r,
                es,
                Role::Extradition,
                Action::Surrender {
                    place: "Madrid-Barajas airport".to_owned(),
                },
                "the suspect is surrendered",
            )?;
        }
    }

    // 6. The Moroccan holder of the accounts, in Morocco: refused on nationality, prosecuted there.
    s.later(24 * 2);
    let q = s.question(
        json!({"question": "extradition", "requesting": "DZ", "requested": "MA",
        "person": {"nationalities": ["MA"]}, "offences": ["laundering_proceeds"],
        "purpose": "prosecution", "facts": {}, "date": s.date()}),
    )?;
    let Question::Extradition(q) = q else {
        unreachable!("an extradition question reads as one")
    };
    let answer = packs.extradition(&q).map_err(law_error)?;
    let basis_q = s.question(
        json!({"question": "legal_basis", "requesting": "DZ", "requested": "MA",
        "measure": "extradition", "date": s.date(), "offences": ["laundering_proceeds"]}),
    )?;
    let Question::LegalBasis(basis_q) = basis_q else {
        unreachable!("a legal_basis question reads as one")
    };
    let basis = packs.legal_basis(&basis_q);
    let pf = preflight(&basis, None, Some(&answer), Some(Channel::Diplomatic)).with_override(
        "Algeria asks so that Morocco submits the case for prosecution if it refuses its national",
    );
    let aut_dedere = answer
        .submit_for_prosecution
        .as_ref()
        .map(|sub| crate::cite_text(&sub.cite))
        .unwrap_or_else(|| "Budapest Art. 24.6".to_owned());
    let draft = Draft {
        id: s.id(),
        requesting: node(dz),
        requested: node(ma),
        body: Body::Extradition(Extradition {
            case: Case {
                offences: vec!["laundering_proceeds".to_owned()],
                ..case()
            },
            person: Person {
                name: "A. M.".to_owned(),
                birth_date: None,
                nationalities: vec![state("MA")],
                description: "Holder of the accounts that received the proceeds".to_owned(),
            },
            purpose: ExtraditionPurpose::Prosecution,
            warrant_reference: "DZ-WARRANT-18".to_owned(),
            sentence_months: None,
            max_penalty_months: 60,
            place_of_commission: state("MA"),
            committed_on: None,
            provisional_arrest: None,
        }),
        content: content(&pf),
        conditions: dz_conditions.clone(),
        preflight: Some(pf),
        links: Vec::new(),
    };
    let mut x = s.open(
        draft,
        dz,
        &format!(
            "engine: extradition {} ({})",
            answer.decision,
            answer
                .obstacles
                .iter()
                .map(|o| o.code)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )?;
    s.later(24 * 4);
    s.act(
        &mut x,
        ma,
        Role::Extradition,
        Action::Acknowledge {
            reference: "MA-EXT-5".to_owned(),
        },
        "Morocco registers the request",
    )?;
    s.later(24 * 20);
    s.act(
        &mut x,
        ma,
        Role::Extradition,
        Action::RefuseNationality {
            reasons: "The person is a Moroccan national".to_owned(),
        },
        &format!("duty to prosecute: {aut_dedere}"),
    )?;
    if let Some(last) = s.entries.last_mut() {
        last.articles.push(aut_dedere.clone());
    }
    let draft = x.prosecution_in_lieu(
        s.id(),
        "The case file, the French evidence and the account statements".to_owned(),
        aut_dedere.clone(),
    )?;
    s.later(24 * 3);
    let note = format!("Algeria asks Morocco to prosecute in lieu of extradition ({aut_dedere})");
    let mut lieu = s.open(draft, dz, &note)?;
    s.later(24 * 5);
    s.act(
        &mut lieu,
        ma,
        Role::CentralAuthority,
        Action::Acknowledge {
            reference: "MA-PR-9".to_owned(),
        },
        "Morocco acknowledges",
    )?;
    s.later(24 * 10);
    s.act(
        &mut lieu,
        ma,
        Role::Judicial,
        Action::SubmitForProsecution {
            authority: "Procureur du Roi, Casablanca".to_owned(),
        },
        "submitted to the prosecutor",
    )?;
    s.later(24 * 180);
    s.act(
        &mut lieu,
        ma,
        Role::Judicial,
        Action::ReportOutcome {
            outcome: "Convicted of laundering, 3 years".to_owned(),
        },
        "outcome reported to Algeria",
    )?;

    let mut requests = vec![preservation, traffic, mla, consult, x, lieu];
    requests.extend(extraditions.into_iter().map(|(_, r)| r));
    requests.extend(onward_requests);
    Ok(Timeline {
        entries: s.entries,
        requests,
    })
}
