use comity_evidence::Sha256Digest;
use comity_evidence::conditions::{Consent, Operation};

use crate::support::{Node, PURPOSE, conditions, node, ts};

#[test]
fn forwarding_and_exporting_against_a_condition_need_the_providers_consent() {
    let dz = Node::new("dz-moj", "DZ");
    let other = Node::new("us-doj", "US");
    let key = dz.descriptor.descriptor.signing_key;
    let sha = Sha256Digest::of(b"item");
    let c = conditions();

    // Allowed: export for the stated proceedings, returning the item to the provider.
    c.check(
        &sha,
        &Operation::Export {
            purpose: PURPOSE.into(),
        },
        &[],
        &key,
    )
    .unwrap();
    c.check(
        &sha,
        &Operation::Forward {
            to: node("dz-moj"),
            purpose: PURPOSE.into(),
        },
        &[],
        &key,
    )
    .unwrap();

    let onward = Operation::Forward {
        to: node("us-doj"),
        purpose: PURPOSE.into(),
    };
    let err = c.check(&sha, &onward, &[], &key).unwrap_err();
    assert_eq!(err.code(), "evidence.condition_refused");
    assert!(
        err.to_string().contains("no_onward_transfer")
            && err.to_string().contains("Budapest Art. 28"),
        "{err}"
    );

    let other_purpose = Operation::Export {
        purpose: "press-conference".into(),
    };
    let err = c.check(&sha, &other_purpose, &[], &key).unwrap_err();
    assert!(
        err.to_string().contains("confidential") || err.to_string().contains("purpose_limited"),
        "{err}"
    );

    let consent = |op: &Operation, by: &Node, item: Sha256Digest| {
        Consent {
            v: 1,
            evidence: item,
            provider: node("dz-moj"),
            operation: op.clone(),
            time: ts(1),
        }
        .sign(by.secrets.signing_key())
    };
    // A consent signed by someone else, for another item, or another operation does not count.
    for wrong in [
        consent(&onward, &other, sha),
        consent(&onward, &dz, Sha256Digest::of(b"other")),
        consent(&other_purpose, &dz, sha),
    ] {
        assert!(c.check(&sha, &onward, &[wrong], &key).is_err());
    }
    c.check(&sha, &onward, &[consent(&onward, &dz, sha)], &key)
        .unwrap();
    c.check(
        &sha,
        &other_purpose,
        &[consent(&other_purpose, &dz, sha)],
        &key,
    )
    .unwrap();
}
