//! Missing and malformed fields are named one by one.

use comity_workflow::*;

use crate::support::*;

fn fields(e: &WorkflowError) -> Vec<&str> {
    e.problems().iter().map(|p| p.field.as_str()).collect()
}

#[test]
fn every_faulty_field_is_named() {
    let mut d = draft(Kind::Extradition, false);
    if let Body::Extradition(x) = &mut d.body {
        x.case.case_reference = " ".into();
        x.case.offences = vec!["Hacking".into(), "illegal_access".into()];
        x.person.nationalities.clear();
        x.purpose = ExtraditionPurpose::Enforcement;
        x.max_penalty_months = 0;
    }
    d.conditions.purposes.clear();
    let e = Request::open(d, &rules(), t(0)).unwrap_err();
    assert_eq!(e.code(), "workflow.invalid_fields");
    assert_eq!(
        fields(&e),
        [
            "body.case.case_reference",
            "body.case.offences[0]",
            "body.person.nationalities",
            "body.sentence_months",
            "body.max_penalty_months",
            "conditions.purposes",
        ]
    );
    assert!(e.to_string().contains("Art. 24.1.b"), "{e}");
}

#[test]
fn preservation_fields_and_real_time_windows() {
    let mut d = draft(Kind::Preservation, false);
    if let Body::Preservation(p) = &mut d.body {
        p.mla_to_follow = false;
        p.preservation_days = 30;
        p.data = String::new();
    }
    let e = Request::open(d, &rules(), t(0)).unwrap_err();
    assert_eq!(
        fields(&e),
        ["body.data", "body.mla_to_follow", "body.preservation_days"]
    );

    let mut d = draft(Kind::MutualAssistance, false);
    if let Body::MutualAssistance(m) = &mut d.body {
        m.measure = AssistanceMeasure::Interception;
    }
    d.preflight.as_mut().unwrap().measure = "interception".into();
    let e = Request::open(d, &rules(), t(0)).unwrap_err();
    assert_eq!(fields(&e), ["body.period_from", "body.period_to"]);
}

#[test]
fn red_notice_needs_a_warrant_and_consultation_two_claimants() {
    let mut d = draft(Kind::Notice, true);
    if let Body::Notice(n) = &mut d.body {
        n.warrant_reference = None;
        n.offences.clear();
    }
    let e = Request::open(d, &rules(), t(0)).unwrap_err();
    assert_eq!(fields(&e), ["body.warrant_reference", "body.offences"]);

    let mut d = draft(Kind::JurisdictionConsultation, false);
    if let Body::JurisdictionConsultation(j) = &mut d.body {
        j.claimants.truncate(1);
        j.proposed_forum = "ES".parse().unwrap();
    }
    let e = Request::open(d, &rules(), t(0)).unwrap_err();
    assert_eq!(fields(&e), ["body.claimants", "body.proposed_forum"]);
}

#[test]
fn instrument_content_is_asked_item_by_item() {
    let mut d = draft(Kind::Preservation, false);
    let pf = d.preflight.as_mut().unwrap();
    pf.instruments.push(InstrumentNote {
        treaty: "budapest".into(),
        title: "Budapest Convention".into(),
        articles: vec!["29".into()],
        channels: vec!["24_7".into()],
        dual_criminality_required: false,
        refusal_grounds: vec![],
        required_content: vec![
            "the authority seeking the preservation".into(),
            "the necessity".into(),
        ],
        verified: true,
    });
    d.content
        .insert("the necessity".into(), "logs rotate".into());
    let e = Request::open(d.clone(), &rules(), t(0)).unwrap_err();
    assert_eq!(
        fields(&e),
        ["content[\"the authority seeking the preservation\"]"]
    );
    d.content.insert(
        "the authority seeking the preservation".into(),
        "Tribunal".into(),
    );
    assert!(Request::open(d, &rules(), t(0)).is_ok());
}

#[test]
fn measured_kinds_need_a_preflight_and_distinct_nodes() {
    let mut d = draft(Kind::MutualAssistance, false);
    d.preflight = None;
    d.requested = d.requesting.clone();
    let e = Request::open(d, &rules(), t(0)).unwrap_err();
    assert_eq!(fields(&e), ["requested", "preflight"]);
    assert!(Request::open(draft(Kind::Notice, false), &rules(), t(0)).is_ok());
}

#[test]
fn unknown_fields_are_rejected_when_read() {
    let mut v = serde_json::to_value(body(Kind::CriminalRecord, false)).unwrap();
    v["body"]["colour"] = "red".into();
    assert!(serde_json::from_value::<Body>(v).is_err());
}
