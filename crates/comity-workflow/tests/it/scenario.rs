use comity_law::LawPacks;
use comity_workflow::*;

use crate::support::*;

#[test]
fn the_cross_border_case_runs_to_the_end() {
    let packs = LawPacks::shipped().unwrap();
    let tl = scenario(&packs, &rules(), t(0)).unwrap();
    for e in &tl.entries {
        println!("{e}");
    }
    let steps: Vec<(Kind, &str, State)> = tl
        .entries
        .iter()
        .map(|e| (e.kind, e.action.as_str(), e.to))
        .collect();
    for expected in [
        (Kind::Preservation, "preserve", State::Preserved),
        (Kind::TrafficDisclosure, "disclose", State::ResultsReturned),
        (Kind::Preservation, "extend", State::Preserved),
        (
            Kind::MutualAssistance,
            "return_results",
            State::ResultsReturned,
        ),
        (Kind::JurisdictionConsultation, "agree", State::Agreed),
        (Kind::Extradition, "surrender", State::Surrendered),
        (Kind::Extradition, "refuse", State::Refused),
        (
            Kind::Extradition,
            "refuse_nationality",
            State::RefusedNationality,
        ),
        (
            Kind::ProsecutionInLieu,
            "report_outcome",
            State::OutcomeReported,
        ),
    ] {
        assert!(steps.contains(&expected), "missing {expected:?}");
    }
    assert!(tl.entries.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(
        tl.entries
            .iter()
            .any(|e| e.articles.iter().any(|a| a.contains("24.6")))
    );
    for r in &tl.requests {
        let open_preservation = r.kind == Kind::Preservation && r.state == State::Preserved;
        assert!(
            r.state.is_terminal() || open_preservation,
            "{} {}",
            r.kind,
            r.state
        );
    }
    serde_json::to_string(&tl).unwrap();

    let mla = tl
        .requests
        .iter()
        .find(|r| r.kind == Kind::MutualAssistance)
        .unwrap();
    let evidence = mla.answer_conditions.as_ref().unwrap();
    let err = evidence
        .may_forward(&Destination::Node(node("es-moj")), &evidence.purposes[0])
        .unwrap_err();
    assert_eq!(err.code(), "workflow.consent_required");
}
