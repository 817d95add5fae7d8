//! The cross-border case of issue 7, run between the live nodes: a fraud and intrusion run from
//! Algeria against servers in France, the proceeds through Morocco, the Moroccan operator found
//! in Spain and also wanted by France. Every request is opened and moved through the nodes' user
//! APIs by the node and role the law gives the step to; the timeline is read back from both
//! sides of each request.

use anyhow::{Context, Result, bail};
use comity_law::Question;
use comity_model::{Jurisdiction, NodeId, PreservationRequest, Timestamp};
use comity_workflow::{
    Action, AssistanceMeasure, Body, Case, Consent, Destination, Extradition, ExtraditionPurpose,
    JurisdictionConsultation, Link, MutualAssistance, Person, ProsecutionInLieu, Rel,
    SpontaneousInformation, TrafficDisclosure, UseConditions, cite_text,
};
use serde_json::{Value, json};

use super::evidence::{return_to_requesting, seize_logs};
use super::live::{Live, today};

pub(super) const CASE: &str = "DZ-ALG-2026-0142";
const FR_CASE: &str = "FR-PAR-2026-5521";
const OFFENCES: [&str; 2] = ["illegal_access", "computer_fraud"];
const URGENT: &str =
    "urgent: the logs will be deleted before a treaty basis can be settled; reciprocity offered";

fn node(id: &str) -> Result<NodeId> {
    id.parse()
        .map_err(|e| anyhow::anyhow!("node id {id}: {e:?}"))
}

fn state(code: &str) -> Result<Jurisdiction> {
    code.parse()
        .map_err(|e| anyhow::anyhow!("jurisdiction {code}: {e:?}"))
}

fn algiers_case() -> Case {
    Case {
        requesting_authority: "Pôle pénal spécialisé, tribunal de Sidi M'Hamed, Alger".to_owned(),
        case_reference: CASE.to_owned(),
        offences: OFFENCES.map(str::to_owned).to_vec(),
        facts: "Between 2 and 9 November 2026, intruders working from Algiers took over servers hosted in France, used them to steal the credentials of 312 customers of an Algerian bank and emptied their accounts through mule accounts in Morocco.".to_owned(),
    }
}

fn suspect() -> Result<Person> {
    Ok(Person {
        name: "K. B.".to_owned(),
        birth_date: None,
        nationalities: vec![state("MA")?],
        description: "Operator of the intrusion, located in Madrid".to_owned(),
    })
}

fn conditions(owner: &str, case: &str) -> Result<UseConditions> {
    Ok(UseConditions::case_only(node(owner)?, case))
}

/// France's conditions on the traffic data it discloses: confidential and for the case, with
/// consent given at once to pass the path on to Morocco's node, since identifying the next state
/// so it can be asked to preserve is what Art. 30 disclosure is for.
fn disclosure_conditions(request: &str) -> Result<UseConditions> {
    let mut c = conditions("fr-ocl", CASE)?;
    c.consents.push(Consent {
        to: Destination::Node(node("ma-moj")?),
        purpose: None,
        given_by: node("fr-ocl")?,
        at: Timestamp::from_unix_ms(comity_node::now_ms()),
        reference: format!("disclosure answering request {request} (Budapest Art. 30)"),
    });
    Ok(c)
}

fn preservation(data: &str, custodian: &str) -> Body {
    let c = algiers_case();
    Body::Preservation(PreservationRequest {
        requesting_authority:
            "Algeria — 24/7 cybercrime point of contact, for the Public Prosecutor of Algiers"
                .to_owned(),
        case_reference: c.case_reference,
        offences: c.offences,
        facts: c.facts,
        data: data.to_owned(),
        relation_to_offence: "The intrusion and the payment diversion were run through them."
            .to_owned(),
        custodian_or_location: custodian.to_owned(),
        necessity: "The provider deletes logs after 30 days.".to_owned(),
        mla_to_follow: true,
        preservation_days: 90,
    })
}

fn law(live: &Live, q: Value) -> Result<Question> {
    live.packs
        .question_from_json(&q)
        .context("the law engine refused a question of the demo")
}

/// A line of the law engine's answer, set apart from the timeline.
fn engine(line: &str) {
    println!("  ⚖ {line}");
}

pub async fn run(live: &mut Live) -> Result<()> {
    // What the investigation established: the intruders defeated the servers' protection,
    // acted for gain, and the victims lost their money.
    live.establish(json!({
        "security_measure_infringed": true,
        "economic_benefit_intended": true,
        "loss_of_property": true,
    }));
    let id = preservation_phase(live).await?;
    traffic_phase(live, &id).await?;
    let mla = mutual_assistance_phase(live, &id).await?;
    onward_to_morocco(live, &mla).await?;
    consultation_phase(live).await?;
    competing_extraditions(live).await?;
    nationality_phase(live).await?;
    println!("\nBoth sides of every request, read back from the two nodes:");
    live.agree().await
}

/// Phase 1: Algeria's 24/7 point of contact asks France's to preserve the servers' logs.
async fn preservation_phase(live: &mut Live) -> Result<String> {
    println!("\n1. Expedited preservation: Algeria → France (Budapest Art. 29)");
    let id = live
        .open(
            "dz-247",
            "fr-ocl",
            &preservation(
                "Connection logs of the servers and the content of mailbox ops-recover@example.fr from 1 October 2026",
                "Example Hosting SAS, Roubaix, France",
            ),
            &conditions("dz-247", CASE)?,
            &[],
            URGENT,
            "Algeria asks France to preserve the servers' logs before the provider deletes them",
        )
        .await?;
    live.act(
        &id,
        "fr-ocl",
        "24-7",
        Action::Acknowledge {
            reference: "FR-OFAC-2026-7782".to_owned(),
        },
        "France's 24/7 point of contact registers the request",
    )
    .await?;
    live.act(
        &id,
        "fr-ocl",
        "24-7",
        Action::Preserve { until: None },
        "the provider preserves the data for the 90 days asked (at least 60, Art. 29.7)",
    )
    .await?;
    live.show().await?;
    super::ledger::show(live, &id).await?;
    Ok(id)
}

/// Phase 2: the traffic data show the path continues in Morocco, which preserves in turn.
async fn traffic_phase(live: &mut Live, preserved: &str) -> Result<()> {
    println!("\n2. Expedited disclosure of traffic data: the path leads to Morocco (Art. 30)");
    let body = Body::TrafficDisclosure(TrafficDisclosure {
        case: algiers_case(),
        preservation: Some(preserved.parse()?),
        communication: "Administrative SSH sessions to the servers, 2-9 November 2026".to_owned(),
    });
    let id = live
        .open(
            "dz-247",
            "fr-ocl",
            &body,
            &conditions("dz-247", CASE)?,
            &[],
            URGENT,
            "which provider carried the intruders' sessions?",
        )
        .await?;
    live.act(
        &id,
        "fr-ocl",
        "24-7",
        Action::Acknowledge {
            reference: "FR-OFAC-2026-7790".to_owned(),
        },
        "",
    )
    .await?;
    live.act(
        &id,
        "fr-ocl",
        "24-7",
        Action::Disclose {
            traffic_data: "The sessions came from 196.200.0.0/16, an address block of a Moroccan access provider".to_owned(),
            next_state: Some(state("MA")?),
            next_provider: Some("Moroccan access provider, Casablanca".to_owned()),
            use_conditions: Some(disclosure_conditions(&id)?),
        },
        "the path continues in Morocco: France names the next state and provider, and consents to its use in a preservation request there",
    )
    .await?;
    let onward = live
        .open(
            "dz-247",
            "ma-moj",
            &preservation(
                "Subscriber and connection records of the addresses in 196.200.0.0/16 used on 2-9 November 2026",
                "Moroccan access provider, Casablanca",
            ),
            &conditions("dz-247", CASE)?,
            &[Link {
                rel: Rel::SpawnedFrom,
                request: id.parse()?,
            }],
            URGENT,
            "onward preservation in Morocco, linked to the disclosure",
        )
        .await?;
    live.act(
        &onward,
        "ma-moj",
        "24-7",
        Action::Acknowledge {
            reference: "MA-DGSN-2026-118".to_owned(),
        },
        "",
    )
    .await?;
    live.act(
        &onward,
        "ma-moj",
        "24-7",
        Action::Preserve { until: None },
        "Morocco preserves the subscriber records",
    )
    .await?;
    live.act(
        &id,
        "dz-247",
        "24-7",
        Action::Close,
        "Algeria confirms receipt",
    )
    .await?;
    live.show().await
}

/// Phase 3: between the central authorities, the preserved data are requested, seized and
/// returned.
async fn mutual_assistance_phase(live: &mut Live, preserved: &str) -> Result<String> {
    println!(
        "\n3. Mutual assistance: the evidence returned to Algeria (Budapest Arts. 25, 27, 31)"
    );
    let body = Body::MutualAssistance(MutualAssistance {
        case: algiers_case(),
        measure: AssistanceMeasure::StoredData,
        data: "The preserved connection logs of the servers".to_owned(),
        custodian_or_location: "Example Hosting SAS, Roubaix, France".to_owned(),
        period_from: None,
        period_to: None,
        procedure: Some("Certified copy with its SHA-256".to_owned()),
        preservation: Some(preserved.parse()?),
    });
    let mla = live
        .open(
            "dz-moj",
            "fr-moj",
            &body,
            &conditions("dz-moj", CASE)?,
            &[],
            "the preserved data must be obtained before the preservation lapses; reciprocity offered",
            "Algeria's central authority asks for the preserved data",
        )
        .await?;
    live.act(
        preserved,
        "dz-247",
        "24-7",
        Action::Extend { mla: mla.parse()? },
        "the request for the data is on its way: preservation continues (Art. 29.7)",
    )
    .await?;
    live.act(
        &mla,
        "fr-moj",
        "central-authority",
        Action::Acknowledge {
            reference: "BEPI-2026-311".to_owned(),
        },
        "France's central authority registers the request",
    )
    .await?;
    live.act(
        &mla,
        "fr-moj",
        "central-authority",
        Action::Accept {
            conditions: vec![format!("use limited to case {CASE}")],
        },
        "accepted under France's use conditions",
    )
    .await?;
    let seized = seize_logs(live.api("fr-moj")?, "fr-moj", CASE).await?;
    live.act(
        &mla,
        "fr-moj",
        "central-authority",
        Action::ReturnResults {
            summary: format!(
                "{} ({} bytes), SHA-256 {}",
                seized.name, seized.size, seized.sha256
            ),
            use_conditions: Some(conditions("fr-moj", CASE)?),
        },
        &format!(
            "evidence seized into fr-moj's vault ({} custody events signed and logged), returned by its SHA-256 {}…",
            seized.custody_events,
            &seized.sha256[..16]
        ),
    )
    .await?;
    live.show().await?;
    return_to_requesting(
        (live.api("fr-moj")?, "fr-moj"),
        (live.api("dz-moj")?, "dz-moj"),
        &seized,
        &mla,
        &format!("investigation and prosecution in case {CASE}"),
        live.federation_root,
    )
    .await?;
    live.act(
        &mla,
        "dz-moj",
        "central-authority",
        Action::Close,
        "Algeria confirms receipt",
    )
    .await?;
    live.act(
        preserved,
        "dz-247",
        "24-7",
        Action::Release {
            reason: "The data were received through mutual assistance".to_owned(),
        },
        "France may let the provider delete the copy",
    )
    .await?;
    live.show().await?;
    Ok(mla)
}

/// Phase 3b: the proceeds went through Morocco, so Algeria informs Morocco of what France
/// returned. France's conditions keep it to the case: Algeria's node refuses until France
/// consents, which France does on the closed request.
async fn onward_to_morocco(live: &mut Live, mla: &str) -> Result<()> {
    println!(
        "
3b. France's results passed on to Morocco, with France's consent (Budapest Arts. 26, 28.2)"
    );
    let body = Body::SpontaneousInformation(SpontaneousInformation {
        providing_authority: "Algeria — Ministry of Justice, central authority".to_owned(),
        offences: OFFENCES.map(str::to_owned).to_vec(),
        summary: "The servers' logs France returned show the stolen funds leaving through mule accounts at Moroccan banks.".to_owned(),
    });
    let links = [Link {
        rel: Rel::SpawnedFrom,
        request: mla.parse()?,
    }];
    let conditions = conditions("dz-moj", CASE)?;
    let refusal = live
        .refused_open("dz-moj", "ma-moj", &body, &conditions, &links)
        .await?;
    if !refusal.contains("[workflow.consent_required]") {
        bail!("dz-moj refused to inform Morocco for another reason: {refusal}");
    }
    println!("  dz-moj's node refuses to pass France's results on: {refusal}");
    live.act(
        mla,
        "fr-moj",
        "central-authority",
        Action::Consent {
            to: Destination::Node(node("ma-moj")?),
            purpose: None,
            reference: "BEPI-2026-311/C1".to_owned(),
        },
        "France consents to its results going to Morocco, for the case",
    )
    .await?;
    let informed = live
        .open(
            "dz-moj",
            "ma-moj",
            &body,
            &conditions,
            &links,
            URGENT,
            "with France's consent recorded, Algeria informs Morocco",
        )
        .await?;
    live.act(
        &informed,
        "ma-moj",
        "central-authority",
        Action::AcceptConditions,
        "Morocco accepts Algeria's conditions and receives the information",
    )
    .await?;
    live.show().await
}

/// Phase 4: the law engine finds several states competent; Algeria and France agree on the
/// forum.
async fn consultation_phase(live: &mut Live) -> Result<()> {
    println!("\n4. Jurisdiction consultation: Algeria and France (Budapest Art. 22.5)");
    let q = law(
        live,
        json!({"question": "jurisdiction", "offences": OFFENCES, "date": today(),
        "facts": {"acts_in": ["DZ"], "systems_in": ["FR"], "effects_in": ["DZ", "FR"],
                  "offender_nationalities": ["MA"], "victim_nationalities": ["DZ"],
                  "offender_present_in": ["ES"], "state_interests_in": []}}),
    )?;
    let Question::Jurisdiction(q) = q else {
        bail!("the law engine read a jurisdiction question as another");
    };
    let j = live.packs.jurisdiction_conflict(&q);
    let claimants: Vec<&str> = j.claims.iter().map(|c| c.state.as_str()).collect();
    engine(&format!(
        "dz-moj asks the law engine (jurisdiction): {} states competent: {}",
        claimants.len(),
        claimants.join(", ")
    ));
    let binding = j.consultation.iter().find(|c| {
        ["DZ", "FR"]
            .iter()
            .all(|s| c.states.iter().any(|t| t.as_str() == *s))
    });
    let basis = binding.map_or_else(
        || "comity: no instrument binding Algeria and France calls for consultation".to_owned(),
        |c| cite_text(&c.cite),
    );
    engine(&format!("consultation between Algeria and France: {basis}"));
    let mut states = Vec::new();
    for c in ["DZ", "FR"].iter().chain(claimants.iter()) {
        let s = state(c)?;
        if !states.contains(&s) {
            states.push(s);
        }
    }
    let body = Body::JurisdictionConsultation(JurisdictionConsultation {
        case: algiers_case(),
        claimants: states,
        proposed_forum: state("DZ")?,
        grounds: "The intrusion was run from Algeria and its victims are Algerian".to_owned(),
        basis,
    });
    let id = live
        .open(
            "dz-moj",
            "fr-moj",
            &body,
            &conditions("dz-moj", CASE)?,
            &[],
            "",
            "Algeria proposes to prosecute the intrusion",
        )
        .await?;
    live.act(
        &id,
        "fr-moj",
        "central-authority",
        Action::Agree,
        "France agrees; it keeps its own case for the fraud on French servers",
    )
    .await?;
    live.show().await
}

/// One extradition request to Spain for the suspect.
fn extradition_to_spain(from: &str) -> Result<Body> {
    let case = if from == "DZ" {
        algiers_case()
    } else {
        Case {
            requesting_authority: "Parquet de Paris, section J3 (cybercriminalité)".to_owned(),
            case_reference: FR_CASE.to_owned(),
            offences: OFFENCES.map(str::to_owned).to_vec(),
            facts: "Servers hosted in Roubaix were taken over and used for a fraud in an organised group.".to_owned(),
        }
    };
    Ok(Body::Extradition(Extradition {
        case,
        person: suspect()?,
        purpose: ExtraditionPurpose::Prosecution,
        warrant_reference: format!("{from}-WARRANT-2026-17"),
        sentence_months: None,
        max_penalty_months: if from == "DZ" { 60 } else { 120 },
        place_of_commission: state(from)?,
        committed_on: None,
        provisional_arrest: None,
    }))
}

/// Phase 5: Algeria and France both ask Spain for the suspect; Spain follows the engine's
/// scorecard.
async fn competing_extraditions(live: &mut Live) -> Result<()> {
    println!("\n5. Competing extradition requests to Spain for K. B., a Moroccan national");
    let mut requests = Vec::new();
    for (from, node, case) in [("DZ", "dz-moj", CASE), ("FR", "fr-moj", FR_CASE)] {
        let id = live
            .open(
                node,
                "es-moj",
                &extradition_to_spain(from)?,
                &conditions(node, case)?,
                &[],
                "the facts establish what the engine cannot read from the offence ids alone (security measures defeated, economic benefit sought)",
                &format!("{from} asks Spain to extradite K. B."),
            )
            .await?;
        requests.push((from, id));
    }
    for (from, id) in &requests {
        live.act(
            id,
            "es-moj",
            "extradition",
            Action::Acknowledge {
                reference: format!("ES-AN-EXT-2026-{from}"),
            },
            "Spain's extradition authority registers the request",
        )
        .await?;
    }
    live.show().await?;
    let q = law(
        live,
        json!({"question": "extradition", "requesting": "FR", "requested": "ES",
        "person": {"nationalities": ["MA"]}, "offences": OFFENCES, "purpose": "prosecution",
        "facts": {}, "date": today()}),
    )?;
    let Question::Extradition(q) = q else {
        bail!("the law engine read an extradition question as another");
    };
    let answer = live.packs.extradition(&q)?;
    engine(&format!(
        "es-moj asks the law engine (extradition of a Moroccan national by Spain): {}{}",
        answer.decision,
        if answer
            .obstacles
            .iter()
            .any(|o| o.code == "national_not_extradited")
        {
            ""
        } else {
            "; he is not Spanish, so refusal on nationality does not apply"
        }
    ));
    let winner = scorecard(live).await?;
    let (loser_from, loser) = requests
        .iter()
        .find(|(from, _)| *from != winner.as_str())
        .cloned()
        .context("no competing request")?;
    let (_, granted) = requests
        .iter()
        .find(|(from, _)| *from == winner.as_str())
        .cloned()
        .context("the scorecard's winner is not one of the requests")?;
    let note = format!("Spain follows the engine's scorecard: {winner} ranked first");
    live.act(
        &granted,
        "es-moj",
        "extradition",
        Action::Grant {
            conditions: vec!["rule of speciality".to_owned()],
        },
        &note,
    )
    .await?;
    live.act(
        &loser,
        "es-moj",
        "extradition",
        Action::Refuse {
            grounds: vec!["competing_request".to_owned()],
            reasons: format!(
                "Spain grants the competing request of {winner}, ranked first; {loser_from} may ask {winner} for re-extradition"
            ),
            consulted: true,
        },
        &note,
    )
    .await?;
    live.act(
        &granted,
        "es-moj",
        "extradition",
        Action::Surrender {
            place: "Madrid-Barajas airport".to_owned(),
        },
        &format!("K. B. is surrendered to {winner}"),
    )
    .await?;
    live.show().await?;
    println!("  scorecard winner: {winner}");
    Ok(())
}

/// es-moj's officer asks the law engine how to weigh the two requests; prints the scorecard
/// and returns the requesting state ranked first.
async fn scorecard(live: &Live) -> Result<String> {
    let date = today();
    let q = law(
        live,
        json!({"question": "competing_requests", "requested": "ES",
        "person": {"nationalities": ["MA"]}, "date": date, "requests": [
            {"id": "DZ", "requesting": "DZ", "offences": OFFENCES, "place_of_commission": "DZ",
             "received": date, "purpose": "prosecution", "max_penalty_months": 60},
            {"id": "FR", "requesting": "FR", "offences": OFFENCES, "place_of_commission": "FR",
             "received": date, "purpose": "prosecution", "max_penalty_months": 120}]}),
    )?;
    let Question::CompetingRequests(q) = q else {
        bail!("the law engine read a competing_requests question as another");
    };
    let answer = live.packs.competing_requests(&q);
    let frameworks: Vec<String> = answer.frameworks.iter().map(cite_text).collect();
    engine(&format!(
        "es-moj asks the law engine (competing_requests), advisory: {}",
        if frameworks.is_empty() {
            "guidance".to_owned()
        } else {
            frameworks.join("; ")
        }
    ));
    for r in &answer.ranking {
        engine(&format!(
            "  {}. {}  score {:.2}",
            r.rank,
            r.requesting.as_str(),
            r.score
        ));
        for f in &r.factors {
            let factor = serde_json::to_value(f.factor)?;
            engine(&format!(
                "       {:<24} {:.2}  {}",
                factor.as_str().unwrap_or("?"),
                f.score,
                f.reason
            ));
        }
    }
    answer
        .ranking
        .first()
        .map(|r| r.id.clone())
        .context("the scorecard ranks no request")
}

/// Phase 6: the Moroccan holder of the mule accounts: Morocco refuses its national and, asked to,
/// submits the case for prosecution.
async fn nationality_phase(live: &mut Live) -> Result<()> {
    println!("\n6. Refusal on nationality and prosecution in lieu: Morocco (Budapest Art. 24.6)");
    let offences = ["laundering_proceeds"];
    let q = law(
        live,
        json!({"question": "extradition", "requesting": "DZ", "requested": "MA",
        "person": {"nationalities": ["MA"]}, "offences": offences, "purpose": "prosecution",
        "facts": {}, "date": today()}),
    )?;
    let Question::Extradition(q) = q else {
        bail!("the law engine read an extradition question as another");
    };
    let answer = live.packs.extradition(&q)?;
    let obstacles: Vec<String> = answer
        .obstacles
        .iter()
        .map(|o| format!("{} ({})", o.code, cite_text(&o.cite)))
        .collect();
    engine(&format!(
        "dz-moj asks the law engine (extradition of a Moroccan national by Morocco): {}: {}",
        answer.decision,
        obstacles.join("; ")
    ));
    let duty = answer
        .submit_for_prosecution
        .as_ref()
        .map(|s| cite_text(&s.cite))
        .unwrap_or_else(|| "Budapest Art. 24.6".to_owned());
    engine(&format!("duty to prosecute if Algeria asks: {duty}"));
    let case = Case {
        offences: offences.map(str::to_owned).to_vec(),
        ..algiers_case()
    };
    let person = Person {
        name: "A. M.".to_owned(),
        birth_date: None,
        nationalities: vec![state("MA")?],
        description: "Holder of the Casablanca accounts that received the proceeds".to_owned(),
    };
    let body = Body::Extradition(Extradition {
        case: case.clone(),
        person: person.clone(),
        purpose: ExtraditionPurpose::Prosecution,
        warrant_reference: "DZ-WARRANT-2026-18".to_owned(),
        sentence_months: None,
        max_penalty_months: 120,
        place_of_commission: state("MA")?,
        committed_on: None,
        provisional_arrest: None,
    });
    let x = live
        .open(
            "dz-moj",
            "ma-moj",
            &body,
            &conditions("dz-moj", CASE)?,
            &[],
            "Algeria asks so that Morocco submits the case for prosecution if it refuses its national",
            "Algeria asks Morocco to extradite A. M.",
        )
        .await?;
    live.act(
        &x,
        "ma-moj",
        "extradition",
        Action::Acknowledge {
            reference: "MA-EXT-2026-5".to_owned(),
        },
        "",
    )
    .await?;
    live.act(
        &x,
        "ma-moj",
        "extradition",
        Action::RefuseNationality {
            reasons: "A. M. is a Moroccan national; Moroccan law bars the extradition of nationals"
                .to_owned(),
        },
        &format!("refused on nationality; duty to prosecute: {duty}"),
    )
    .await?;
    let lieu = ProsecutionInLieu {
        extradition: x.parse()?,
        case,
        person,
        evidence: "The case file, the logs France returned and the account statements".to_owned(),
        duty: duty.clone(),
    };
    let id = live
        .open(
            "dz-moj",
            "ma-moj",
            &Body::ProsecutionInLieu(lieu),
            &conditions("dz-moj", CASE)?,
            &[],
            "",
            "Algeria asks Morocco to prosecute in lieu of extradition, linked to the refused request",
        )
        .await?;
    live.act(
        &id,
        "ma-moj",
        "central-authority",
        Action::Acknowledge {
            reference: "MA-PR-2026-9".to_owned(),
        },
        "",
    )
    .await?;
    live.act(
        &id,
        "ma-moj",
        "central-authority",
        Action::SubmitForProsecution {
            authority: "Procureur du Roi, Casablanca".to_owned(),
        },
        "submitted to the competent prosecutor; a status report is due within a year",
    )
    .await?;
    live.show().await?;
    let view = live
        .api("ma-moj")?
        .get(&format!("/api/v1/requests/{id}"))
        .await?;
    let linked = view["links"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|l| l["rel"] == "spawned_from" && l["request"] == x.as_str());
    if !linked {
        bail!("the prosecution in lieu {id} is not linked to the extradition request {x}");
    }
    println!("  prosecution in lieu opened: {id}, spawned from extradition {x}");
    Ok(())
}
