use comity_law::{Channel, LawPacks, Question};
use comity_workflow::*;

use crate::support::*;

fn basis_preflight(packs: &LawPacks, json: &str, channel: Channel) -> Preflight {
    let Question::LegalBasis(q) = packs.question_from_str(json).unwrap() else {
        panic!()
    };
    preflight(&packs.legal_basis(&q), None, None, Some(channel))
}

#[test]
fn engine_answers_become_a_stored_record() {
    let packs = LawPacks::shipped().unwrap();
    let pf = basis_preflight(
        &packs,
        r#"{"question": "legal_basis", "requesting": "MA", "requested": "FR", "measure": "preservation", "date": "2026-01-15", "offences": ["illegal_access"]}"#,
        Channel::TwentyFourSeven,
    );
    assert!(pf.available);
    assert!(!pf.is_negative(), "{:?}", pf.negatives);
    assert!(pf.instruments.iter().any(|i| i.treaty == "budapest"));
    assert!(!pf.required_content().is_empty());
    let back: Preflight = serde_json::from_str(&serde_json::to_string(&pf).unwrap()).unwrap();
    assert_eq!(back, pf);

    let pf = basis_preflight(
        &packs,
        r#"{"question": "legal_basis", "requesting": "MA", "requested": "FR", "measure": "preservation", "date": "2026-01-15"}"#,
        Channel::Diplomatic,
    );
    assert!(pf.is_negative());
    assert!(
        pf.negatives[0].contains("channel diplomatic"),
        "{:?}",
        pf.negatives
    );
}

#[test]
fn sending_against_a_negative_record_needs_a_reason_the_recipient_sees() {
    let mut d = draft(Kind::MutualAssistance, false);
    let pf = d.preflight.as_mut().unwrap();
    pf.available = false;
    pf.negatives.push("no legal basis".into());
    let e = Request::open(d.clone(), &rules(), t(0)).unwrap_err();
    assert_eq!(e.code(), "workflow.override_required");
    d.preflight = d.preflight.map(|p| p.with_override("too short"));
    let e = Request::open(d.clone(), &rules(), t(0)).unwrap_err();
    assert_eq!(e.problems()[0].field, "preflight.override_reason");
    let reason = "urgent: reciprocity offered in writing by our minister";
    d.preflight = d.preflight.map(|p| p.with_override(reason));
    let (r, _) = Request::open(d, &rules(), t(0)).unwrap();
    let sent = serde_json::to_value(&r).unwrap();
    assert_eq!(sent["preflight"]["override_reason"], reason);
}
