//! `comity request` against two served nodes: open, show in the user's zone, act, list,
//! overdue.

use std::time::{Duration, Instant};

use comity_law::{LawPacks, Question};
use serde_json::{Value, json};

use crate::cli::{comity, federation, ok, serve};

/// The content the instruments require for a preservation from Algeria to France.
fn content() -> Value {
    let packs = LawPacks::shipped().unwrap();
    let today = &comity_model::Timestamp::from_unix_ms(comity_node::now_ms()).to_string()[..10];
    let q = packs
        .question_from_json(&json!({"question": "legal_basis", "requesting": "DZ",
            "requested": "FR", "measure": "preservation", "date": today}))
        .unwrap();
    let Question::LegalBasis(q) = q else {
        panic!("not a legal_basis question")
    };
    let pf = comity_workflow::preflight(&packs.legal_basis(&q), None, None, None);
    pf.required_content()
        .into_iter()
        .map(|(item, _)| (item.to_owned(), json!("see the body")))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

#[test]
fn a_request_is_opened_shown_and_acted_upon_from_the_command_line() {
    let base = tempfile::tempdir().unwrap();
    let nodes = federation(base.path(), &[("dz-247", "DZ"), ("fr-ocl", "FR")]);
    let _served: Vec<_> = nodes.iter().map(serve).collect();
    let (dz, fr) = (
        nodes[0].dir.to_str().unwrap(),
        nodes[1].dir.to_str().unwrap(),
    );
    let open = json!({
        "to": "fr-ocl",
        "body": {"kind": "preservation", "body": {
            "requesting_authority": "Algeria 24/7 point of contact",
            "case_reference": "DZ-2026-0042",
            "offences": ["illegal_access"],
            "facts": "Servers in France were used to divert payments.",
            "data": "Connection logs of the servers",
            "relation_to_offence": "The intrusion was run through them.",
            "custodian_or_location": "Hosting provider, Roubaix",
            "necessity": "Logs are overwritten within 30 days.",
            "mla_to_follow": true,
            "preservation_days": 90}},
        "content": content(),
        "conditions": {"owner": "dz-247", "confidential": true,
            "purposes": ["case DZ-2026-0042"], "onward": "consent_required"},
        "override_reason": "urgent: the logs will be lost before a treaty basis is settled"
    });
    let body = base.path().join("open.json");
    std::fs::write(&body, open.to_string()).unwrap();
    let preview = ok(&[
        "request",
        "preview",
        "--dir",
        dz,
        "--body",
        body.to_str().unwrap(),
    ]);
    assert!(
        preview.starts_with("pre-flight DZ → FR, preservation")
            && preview.ends_with("ready to open\n"),
        "{preview}"
    );
    let mut faulty = open.clone();
    faulty["conditions"]["purposes"] = json!([]);
    let faulty_file = base.path().join("faulty.json");
    std::fs::write(&faulty_file, faulty.to_string()).unwrap();
    let refused = comity(&[
        "request",
        "preview",
        "--dir",
        dz,
        "--body",
        faulty_file.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("not ready to open: [workflow.invalid_fields]"),
        "{err}"
    );
    assert!(err.contains("conditions.purposes"), "{err}");
    let out = ok(&[
        "request",
        "open",
        "--dir",
        dz,
        "--body",
        body.to_str().unwrap(),
        "--tz",
        "UTC",
    ]);
    assert!(out.contains("state: sent"), "{out}");
    assert!(out.contains("+00:00"), "{out}");
    let id = out.split_whitespace().nth(2).unwrap().to_owned();

    let deadline = Instant::now() + Duration::from_secs(60);
    while !comity(&["request", "show", "--dir", fr, &id])
        .status
        .success()
    {
        assert!(
            Instant::now() < deadline,
            "the request never reached fr-ocl"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let action = base.path().join("ack.json");
    std::fs::write(&action, r#"{"action": "acknowledge", "reference": "FR-1"}"#).unwrap();
    let out = ok(&[
        "request",
        "act",
        "--dir",
        fr,
        &id,
        "--action",
        action.to_str().unwrap(),
    ]);
    assert!(out.contains("state: acknowledged"), "{out}");
    assert!(out.contains("fr-ocl (24-7)"), "{out}");

    let preserve = base.path().join("preserve.json");
    std::fs::write(&preserve, r#"{"action": "preserve", "until": null}"#).unwrap();
    let wrong = comity(&[
        "request",
        "act",
        "--dir",
        dz,
        &id,
        "--action",
        preserve.to_str().unwrap(),
    ]);
    assert!(!wrong.status.success());
    let err = String::from_utf8_lossy(&wrong.stderr);
    assert!(err.contains("workflow.wrong_party"), "{err}");

    let out = ok(&["request", "show", "--dir", fr, &id, "--tz", "+01:00"]);
    assert!(out.contains("+01:00"), "{out}");
    assert!(out.contains("Budapest Art. 29.3"), "{out}");
    let out = ok(&["request", "list", "--dir", fr]);
    assert!(out.contains(&id) && out.contains("requested"), "{out}");
    let out = ok(&["request", "overdue", "--dir", fr]);
    assert!(out.trim().is_empty(), "{out}");
    let bad = comity(&["request", "list", "--dir", fr, "--tz", "Mars/Olympus"]);
    assert!(!bad.status.success());

    // Algeria owns what its request told France: it consents to a French court's use of it;
    // France, which owns nothing here yet, cannot consent.
    let consent = |dir: &str, reference: &str| {
        comity(&[
            "request",
            "consent",
            "--dir",
            dir,
            &id,
            "--domestic",
            "Tribunal judiciaire de Paris",
            "--reference",
            reference,
        ])
    };
    let refused = consent(fr, "FR-9");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && err.contains("workflow.wrong_party"),
        "{err}"
    );
    let out = String::from_utf8_lossy(&consent(dz, "DZ-LETTER-7").stdout).into_owned();
    assert!(
        out.contains(
            "consent to Tribunal judiciaire de Paris for any purpose given (ref. DZ-LETTER-7)"
        ),
        "{out}"
    );
}
