use comity_model::Timestamp;
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
