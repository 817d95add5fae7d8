//! Data-driven transition cases from `tests/data/transitions.json`.

use comity_model::Role;
use comity_workflow::*;
use serde::Deserialize;

use crate::support::*;

#[derive(Deserialize)]
struct Case {
    name: String,
    kind: Kind,
    #[serde(default)]
    broadcast: bool,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Step {
    h: i64,
    by: String,
    role: Role,
    action: Action,
    expect: Option<State>,
    error: Option<String>,
    due_h: Option<i64>,
}

#[test]
fn cases_from_data() {
    let text = include_str!("../data/transitions.json");
    let cases: Vec<Case> = serde_json::from_str(text).unwrap();
    let rules = rules();
    for case in cases {
        let mut r = open(case.kind, case.broadcast);
        for (i, step) in case.steps.into_iter().enumerate() {
            let who = match step.by.as_str() {
                "requesting" => REQUESTING,
                "requested" => REQUESTED,
                _ => "es-moj",
            };
            let before = r.clone();
            let got = r.apply(&rules, &actor(who, step.role), step.action, t(step.h));
            let at = format!("{} step {i}", case.name);
            match (got, step.expect, step.error) {
                (Ok(tr), Some(state), None) => {
                    assert_eq!(tr.to, state, "{at}");
                    assert_eq!(r.state, state, "{at}");
                    assert_eq!(tr.due.is_some(), !state.is_terminal(), "{at}");
                    if let Some(h) = step.due_h {
                        assert_eq!(tr.due.unwrap().at, t(h), "{at}");
                    }
                }
                (Err(e), None, Some(code)) => {
                    assert_eq!(e.code(), code, "{at}: {e}");
                    assert!(!e.to_string().is_empty());
                    assert_eq!(r, before, "{at}: an error changed the request");
                }
                (got, expect, error) => {
                    panic!("{at}: got {got:?}, expected {expect:?} / {error:?}")
                }
            }
        }
    }
}

#[test]
fn expiry_ends_hard_deadlines_only() {
    let rules = rules();
    let mut r = open(Kind::Preservation, false);
    assert!(
        r.expire(t(10_000)).is_none(),
        "the acknowledgement deadline is not hard"
    );
    r.apply(
        &rules,
        &actor(REQUESTED, Role::TwentyFourSeven),
        Action::Preserve { until: None },
        t(1),
    )
    .unwrap();
    assert!(r.expire(t(100)).is_none());
    let tr = r.expire(t(5 + 90 * 24)).unwrap();
    assert_eq!(tr.to, State::Expired);
    assert_eq!(
        r.history.last().unwrap().at,
        t(1 + 90 * 24),
        "dated at the deadline"
    );
    let err = r
        .apply(
            &rules,
            &actor(REQUESTING, Role::CentralAuthority),
            Action::Release { reason: "x".into() },
            t(3000),
        )
        .unwrap_err();
    assert_eq!(err.code(), "workflow.expired");

    let mut a = open(Kind::ProvisionalArrest, false);
    a.apply(
        &rules,
        &actor(REQUESTED, Role::Police),
        Action::Arrest {
            place: "Madrid".into(),
        },
        t(0),
    )
    .unwrap();
    assert_eq!(a.expire(t(40 * 24)).unwrap().to, State::Released);
}

#[test]
fn links_and_follow_ups() {
    let rules = rules();
    let mut d = draft(Kind::MutualAssistance, false);
    if let Body::MutualAssistance(b) = &mut d.body {
        b.preservation = Some(id(7));
    }
    let (r, tr) = Request::open(d, &rules, t(0)).unwrap();
    assert_eq!(
        tr.follow_ups,
        vec![FollowUp::ExtendPreservation {
            preservation: id(7)
        }]
    );
    assert!(r.links.contains(&Link {
        rel: Rel::Follows,
        request: id(7)
    }));

    let mut x = open(Kind::Extradition, false);
    let ext = actor(REQUESTED, Role::Extradition);
    assert_eq!(
        x.prosecution_in_lieu(id(9), "file".into(), "Budapest Art. 24.6".into())
            .unwrap_err()
            .code(),
        "workflow.bad_link"
    );
    x.apply(
        &rules,
        &ext,
        Action::Acknowledge {
            reference: "E".into(),
        },
        t(1),
    )
    .unwrap();
    let tr = x
        .apply(
            &rules,
            &ext,
            Action::RefuseNationality {
                reasons: "national".into(),
            },
            t(2),
        )
        .unwrap();
    assert_eq!(
        tr.follow_ups,
        vec![FollowUp::ProsecutionInLieu { extradition: x.id }]
    );
    let draft = x
        .prosecution_in_lieu(id(9), "file".into(), "Budapest Art. 24.6".into())
        .unwrap();
    let (lieu, _) = Request::open(draft, &rules, t(3)).unwrap();
    assert_eq!(lieu.kind, Kind::ProsecutionInLieu);
    assert!(lieu.links.contains(&Link {
        rel: Rel::SpawnedFrom,
        request: x.id
    }));

    let mut tdr = open(Kind::TrafficDisclosure, false);
    let tr = tdr
        .apply(
            &rules,
            &actor(REQUESTED, Role::TwentyFourSeven),
            Action::Disclose {
                traffic_data: "via MA".into(),
                next_state: Some("MA".parse().unwrap()),
                next_provider: None,
                use_conditions: None,
            },
            t(1),
        )
        .unwrap();
    assert_eq!(
        tr.follow_ups,
        vec![FollowUp::OnwardPreservation {
            next_state: "MA".parse().unwrap()
        }]
    );
    let onward = tdr
        .onward_preservation(id(10), node("ma-moj"), preservation_body())
        .unwrap();
    assert_eq!(onward.requested, node("ma-moj"));
    assert_eq!(
        onward.links,
        vec![Link {
            rel: Rel::SpawnedFrom,
            request: tdr.id
        }]
    );
}

#[test]
fn every_kind_round_trips_as_json() {
    for &kind in Kind::ALL {
        let r = open(kind, false);
        let text = serde_json::to_string(&r).unwrap();
        assert_eq!(Request::from_json(&text).unwrap(), r, "{kind}");
    }
    let r = open(Kind::Notice, true);
    let mut v = serde_json::to_value(&r).unwrap();
    v["v"] = 2.into();
    let e = Request::from_json(&v.to_string()).unwrap_err();
    assert_eq!(e.code(), "workflow.unsupported_version");
    assert_eq!(
        Request::from_json("{\"v\": 1}").unwrap_err().code(),
        "workflow.unreadable"
    );
}

#[test]
fn shipped_rules_cover_every_state() {
    let rules = rules();
    for &kind in Kind::ALL {
        for s in states(kind) {
            assert_eq!(
                rules.rule(kind, s).is_some(),
                !s.is_terminal(),
                "{kind} {s}"
            );
        }
    }
    let broken = SHIPPED_RULES.replacen(
        "kind = \"notice\"\nstate = \"published\"",
        "kind = \"notice\"\nstate = \"closed\"",
        1,
    );
    let err = Rules::from_toml(&broken).unwrap_err();
    assert_eq!(err.code(), "workflow.bad_rules");
    assert!(
        err.to_string().contains("notice published: no rule"),
        "{err}"
    );
}

#[test]
fn answers_carry_their_owner_s_conditions() {
    let rules = rules();
    let mut r = open(Kind::CriminalRecord, false);
    let fr = actor(REQUESTED, Role::CentralAuthority);
    let wrong_owner = UseConditions::case_only(node(REQUESTING), "DZ-1");
    let e = r
        .apply(
            &rules,
            &fr,
            Action::ReturnResults {
                summary: "extract".into(),
                use_conditions: Some(wrong_owner),
            },
            t(1),
        )
        .unwrap_err();
    assert_eq!(e.problems()[0].field, "action.use_conditions.owner");
    let theirs = UseConditions::case_only(node(REQUESTED), "DZ-1");
    r.apply(
        &rules,
        &fr,
        Action::ReturnResults {
            summary: "extract".into(),
            use_conditions: Some(theirs.clone()),
        },
        t(1),
    )
    .unwrap();
    assert_eq!(r.answer_conditions, Some(theirs));
}

#[test]
fn conviction_notices_are_due_yearly() {
    let due = rules().next_conviction_notice(t(0));
    assert_eq!(due.at, t(365 * 24));
    assert_eq!(due.article, "ETS 30 Art. 22");
}
