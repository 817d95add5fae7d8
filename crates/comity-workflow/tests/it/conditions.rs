use comity_model::{Role, Timestamp};
use comity_workflow::*;

use crate::support::*;

#[test]
fn forwarding_needs_purpose_and_recorded_consent() {
    let mut c = conditions();
    let purpose = c.purposes[0].clone();
    let es = Destination::Node(node("es-moj"));
    let court = Destination::Domestic("Tribunal de Sidi M'Hamed".into());

    let e = c.may_forward(&es, &purpose).unwrap_err();
    assert_eq!(e.code(), "workflow.consent_required");
    assert_eq!(
        c.may_forward(&court, &purpose).unwrap_err().code(),
        "workflow.consent_required"
    );
    assert_eq!(
        c.may_forward(&es, "tax audit").unwrap_err().code(),
        "workflow.purpose_not_allowed"
    );
    assert!(
        c.may_forward(&Destination::Node(node(REQUESTING)), "anything")
            .is_ok()
    );

    let bad = Consent {
        to: es.clone(),
        purpose: None,
        given_by: node("fr-moj"),
        at: Timestamp::from_unix_ms(T0),
        reference: "letter".into(),
    };
    assert_eq!(
        c.record_consent(bad.clone()).unwrap_err().code(),
        "workflow.invalid_fields"
    );
    c.record_consent(Consent {
        given_by: node(REQUESTING),
        ..bad
    })
    .unwrap();
    assert!(c.may_forward(&es, &purpose).is_ok());
    assert_eq!(
        c.may_forward(&es, "tax audit").unwrap_err().code(),
        "workflow.purpose_not_allowed"
    );
    assert_eq!(
        c.may_forward(&Destination::Node(node("gb-moj")), &purpose)
            .unwrap_err()
            .code(),
        "workflow.consent_required"
    );

    c.confidential = false;
    assert!(
        c.may_forward(&court, &purpose).is_ok(),
        "domestic use within the purpose"
    );
    c.onward = Onward::Free;
    assert!(
        c.may_forward(&Destination::Node(node("gb-moj")), &purpose)
            .is_ok()
    );
}

/// France returns results under its conditions and the request ends; later, France consents
/// to their going to Spain. Only an owner consents, and the consent changes nothing else.
#[test]
fn a_consent_given_later_lets_the_information_go_on() {
    let rules = rules();
    let fr = actor(REQUESTED, Role::CentralAuthority);
    let dz = actor(REQUESTING, Role::CentralAuthority);
    let mut r = open(Kind::MutualAssistance, false);
    let results = UseConditions::case_only(node(REQUESTED), "DZ-1");
    let purpose = results.purposes[0].clone();
    for (who, action) in [
        (
            &fr,
            Action::Acknowledge {
                reference: "FR-1".into(),
            },
        ),
        (&fr, Action::Accept { conditions: vec![] }),
        (
            &fr,
            Action::ReturnResults {
                summary: "logs".into(),
                use_conditions: Some(results),
            },
        ),
        (&dz, Action::Close),
    ] {
        r.apply(&rules, who, action, t(1)).unwrap();
    }
    let es = Destination::Node(node("es-moj"));
    let answer = |r: &Request| r.answer_conditions_in_force().unwrap();
    assert_eq!(
        answer(&r).may_forward(&es, &purpose).unwrap_err().code(),
        "workflow.consent_required"
    );

    let consent = |to: &Destination| Action::Consent {
        to: to.clone(),
        purpose: None,
        reference: "FR-CONSENT-1".into(),
    };
    let before = r.clone();
    let e = r
        .apply(
            &rules,
            &actor("es-moj", Role::CentralAuthority),
            consent(&es),
            t(2),
        )
        .unwrap_err();
    assert_eq!(e.code(), "workflow.wrong_party");
    assert!(
        e.to_string().contains("only dz-moj or fr-moj can consent"),
        "{e}"
    );
    assert_eq!(r, before, "a refused consent changes nothing");
    for (who, action, field) in [
        (
            fr.clone(),
            consent(&Destination::Node(node(REQUESTED))),
            "to",
        ),
        (
            fr.clone(),
            Action::Consent {
                to: es.clone(),
                purpose: Some(" ".into()),
                reference: "".into(),
            },
            "reference",
        ),
    ] {
        let e = r.apply(&rules, &who, action, t(2)).unwrap_err();
        assert_eq!(e.code(), "workflow.invalid_fields");
        assert!(
            e.problems()
                .iter()
                .any(|p| p.field == format!("action.{field}")),
            "{e}"
        );
        assert_eq!(r, before, "a refused consent changes nothing");
    }

    let tr = r.apply(&rules, &fr, consent(&es), t(2)).unwrap();
    assert_eq!(
        (tr.from, tr.to, r.state),
        (Some(State::Closed), State::Closed, State::Closed)
    );
    // Algeria is not a party to the Budapest Convention: its article is followed as a model.
    assert_eq!(tr.articles, vec!["Budapest Art. 28.2 (model)".to_owned()]);
    assert!(answer(&r).may_forward(&es, &purpose).is_ok());
    assert_eq!(answer(&r).consents[0].given_by, node(REQUESTED));
    assert_eq!(
        answer(&r)
            .may_forward(&Destination::Node(node("gb-moj")), &purpose)
            .unwrap_err()
            .code(),
        "workflow.consent_required",
        "the consent names its destination"
    );
    // France's consent covers France's information, not Algeria's request.
    assert!(r.conditions_in_force().consents.is_empty());
    r.apply(&rules, &dz, consent(&es), t(3)).unwrap();
    assert_eq!(r.conditions_in_force().consents.len(), 1);
    assert_eq!(answer(&r).consents.len(), 1);
}
