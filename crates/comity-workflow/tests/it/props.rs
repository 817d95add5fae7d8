//! Random sequences of actions: never an undefined state, never a lost deadline, and a refused
//! action never changes the request.

use comity_model::{MessageId, Role};
use comity_workflow::*;
use proptest::prelude::*;

use crate::support::*;

pub fn action(i: usize) -> Action {
    let mla = MessageId::from_parts(1, [1; 10]);
    let all = [
        Action::Acknowledge {
            reference: "r".into(),
        },
        Action::Preserve { until: None },
        Action::Extend { mla },
        Action::Release { reason: "r".into() },
        Action::Inform { reason: "r".into() },
        Action::Proceed,
        Action::Disclose {
            traffic_data: "d".into(),
            next_state: Some("MA".parse().unwrap()),
            next_provider: None,
            use_conditions: None,
        },
        Action::Accept { conditions: vec![] },
        Action::Consult {
            proposal: "p".into(),
        },
        Action::AcceptConditions,
        Action::DeclineConditions { reason: "r".into() },
        Action::WaiveConditions,
        Action::Postpone {
            until: t(10_000),
            reason: "r".into(),
        },
        Action::Resume,
        Action::ReturnPartial {
            summary: "s".into(),
            use_conditions: None,
        },
        Action::ReturnResults {
            summary: "s".into(),
            use_conditions: None,
        },
        Action::Close,
        Action::Refuse {
            grounds: vec!["essential_interests".into()],
            reasons: "r".into(),
            consulted: true,
        },
        Action::RefuseNationality {
            reasons: "r".into(),
        },
        Action::Grant { conditions: vec![] },
        Action::Surrender { place: "p".into() },
        Action::Arrest { place: "p".into() },
        Action::ExtraditionReceived { extradition: mla },
        Action::SubmitForProsecution {
            authority: "a".into(),
        },
        Action::ReportOutcome {
            outcome: "o".into(),
        },
        Action::Approve { note: "n".into() },
        Action::Reject {
            reasons: "r".into(),
        },
        Action::Publish,
        Action::Update {
            summary: "s".into(),
        },
        Action::Cancel { reason: "r".into() },
        Action::Propose {
            forum: "FR".parse().unwrap(),
            grounds: "g".into(),
        },
        Action::Agree,
        Action::Disagree {
            reasons: "r".into(),
        },
        Action::Withdraw { reason: "r".into() },
        Action::Consent {
            to: Destination::Node("ma-moj".parse().unwrap()),
            purpose: None,
            reference: "c".into(),
        },
        Action::Refuse {
            grounds: vec![],
            reasons: "".into(),
            consulted: false,
        },
    ];
    all[i % all.len()].clone()
}

pub const ROLES: [Role; 5] = [
    Role::CentralAuthority,
    Role::TwentyFourSeven,
    Role::Extradition,
    Role::Police,
    Role::Judicial,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn random_sequences_stay_defined(
        kind in 0..Kind::ALL.len(),
        broadcast in any::<bool>(),
        steps in proptest::collection::vec((0usize..40, 0usize..3, 0usize..5, 0i64..200), 1..40),
    ) {
        let kind = Kind::ALL[kind];
        let rules = rules();
        let mut r = open(kind, broadcast);
        let defined = states(kind);
        let mut now = 0;
        for (a, who, role, dt) in steps {
            now += dt;
            let who = [REQUESTING, REQUESTED, "es-moj"][who];
            let before = r.clone();
            if let Some(tr) = r.expire(t(now)) {
                prop_assert!(tr.to.is_terminal());
                continue;
            }
            match r.apply(&rules, &actor(who, ROLES[role]), action(a), t(now)) {
                Ok(tr) => {
                    prop_assert_eq!(tr.to, r.state);
                    prop_assert_eq!(r.history.len(), before.history.len() + 1);
                }
                Err(e) => {
                    prop_assert!(e.code().starts_with("workflow."));
                    prop_assert_eq!(&r, &before);
                }
            }
            prop_assert!(defined.contains(&r.state), "{} reached {}", kind, r.state);
            prop_assert_eq!(r.due.is_some(), !r.state.is_terminal(), "{} in {} and due {:?}", kind, r.state, r.due);
            if let Some(d) = &r.due {
                prop_assert!(d.at >= d.since);
            }
        }
    }
}
