//! Both sides acting on the same version: whatever the interleaving of actions and deliveries,
//! the two sides end with the same request, superseded actions included.

use comity_model::Role;
use comity_workflow::*;
use proptest::prelude::*;

use crate::props::{ROLES, action};
use crate::support::*;

/// One side: its copy of the request and the actions it sent that the other has not seen.
struct Side {
    name: &'static str,
    request: Request,
    outbox: Vec<Stamped>,
}

fn stamped(who: &str, role: Role, a: Action, at: i64, base: u32) -> Stamped {
    Stamped {
        actor: actor(who, role),
        action: a,
        at: t(at),
        base,
    }
}

#[test]
fn the_earlier_of_two_concurrent_actions_wins_on_both_sides() {
    let rules = rules();
    let mut dz = open(Kind::Preservation, false);
    let mut fr = dz.clone();
    let ack = Action::Acknowledge {
        reference: "FR-1".into(),
    };
    let withdraw = Action::Withdraw {
        reason: "the suspect was identified otherwise".into(),
    };
    // Both act on version 1: France acknowledges at hour 2, Algeria withdraws at hour 3.
    fr.apply(
        &rules,
        &actor(REQUESTED, Role::TwentyFourSeven),
        ack.clone(),
        t(2),
    )
    .unwrap();
    dz.apply(
        &rules,
        &actor(REQUESTING, Role::CentralAuthority),
        withdraw.clone(),
        t(3),
    )
    .unwrap();
    let m = dz
        .merge(
            &rules,
            stamped(REQUESTED, Role::TwentyFourSeven, ack.clone(), 2, 1),
        )
        .unwrap();
    assert!(m.replayed);
    assert!(
        m.superseded.is_empty(),
        "withdraw still applies after acknowledge"
    );
    let m = fr
        .merge(
            &rules,
            stamped(REQUESTING, Role::CentralAuthority, withdraw, 3, 1),
        )
        .unwrap();
    assert!(!m.replayed);
    assert_eq!(dz, fr);
    assert_eq!(dz.state, State::Withdrawn);

    // Two answers to the same version that exclude each other: the earlier one stands.
    let mut dz = open(Kind::Preservation, false);
    let mut fr = dz.clone();
    let refuse = Action::Refuse {
        grounds: vec!["essential_interests".into()],
        reasons: "sovereignty".into(),
        consulted: true,
    };
    fr.apply(
        &rules,
        &actor(REQUESTED, Role::TwentyFourSeven),
        refuse.clone(),
        t(5),
    )
    .unwrap();
    let withdraw = Action::Withdraw {
        reason: "no longer needed".into(),
    };
    dz.apply(
        &rules,
        &actor(REQUESTING, Role::CentralAuthority),
        withdraw.clone(),
        t(1),
    )
    .unwrap();
    fr.merge(
        &rules,
        stamped(REQUESTING, Role::CentralAuthority, withdraw, 1, 1),
    )
    .unwrap();
    let m = dz
        .merge(
            &rules,
            stamped(REQUESTED, Role::TwentyFourSeven, refuse, 5, 1),
        )
        .unwrap();
    assert_eq!(m.superseded.len(), 1);
    assert_eq!(m.superseded[0].code, SUPERSEDED);
    assert_eq!(m.superseded[0].cause, "workflow.illegal_transition");
    assert!(
        m.superseded[0].reason.contains("dz-moj's `withdraw`"),
        "{}",
        m.superseded[0].reason
    );
    assert_eq!(dz, fr);
    assert_eq!(fr.state, State::Withdrawn);
    assert_eq!(fr.superseded.len(), 1);
    // Merging an action already held changes nothing.
    let before = fr.clone();
    assert!(fr.merge(&rules, fr.stamped()[0].clone()).is_none());
    assert_eq!(fr, before);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn random_interleavings_converge(
        kind in 0..Kind::ALL.len(),
        broadcast in any::<bool>(),
        steps in proptest::collection::vec((0usize..5, 0usize..40, 0usize..5, 0i64..3, 0usize..8), 1..60),
    ) {
        let kind = Kind::ALL[kind];
        let rules = rules();
        let opened = open(kind, broadcast);
        let mut sides = [
            Side { name: REQUESTING, request: opened.clone(), outbox: Vec::new() },
            Side { name: REQUESTED, request: opened, outbox: Vec::new() },
        ];
        // Days move by 0 to 2 a step, so many actions share a time with another and hard
        // deadlines (40 days for an arrest, 90 for a preservation) pass.
        let mut now = 0;
        for (what, a, role, dt, pick) in steps {
            now += dt * 24;
            match what {
                0 | 1 => {
                    let s = &mut sides[what];
                    let base = s.request.version();
                    let who = actor(s.name, ROLES[role]);
                    if s.request.act(&rules, &who, action(a), t(now)).is_ok() {
                        s.outbox.push(Stamped {
                            actor: who,
                            action: action(a),
                            at: t(now),
                            base,
                        });
                    }
                }
                4 => {
                    // One side notices a hard deadline passed.
                    sides[pick % 2].request.expire(t(now));
                }
                _ => {
                    // Deliver any message of one side, not only the oldest.
                    let from = what - 2;
                    if !sides[from].outbox.is_empty() {
                        let i = pick % sides[from].outbox.len();
                        let m = sides[from].outbox.remove(i);
                        sides[1 - from].request.merge(&rules, m);
                    }
                }
            }
        }
        for from in 0..2 {
            for m in std::mem::take(&mut sides[from].outbox) {
                sides[1 - from].request.merge(&rules, m);
            }
        }
        let end = t(now + 1_000_000);
        for s in &mut sides {
            s.request.expire(end);
        }
        let [a, b] = &sides;
        prop_assert_eq!(&a.request, &b.request);
        prop_assert!(a.request.superseded.iter().all(|s| s.code == SUPERSEDED));
        // Every action either side applied is in the history or superseded, exactly once.
        let held = a.request.stamped();
        for h in &held {
            prop_assert_eq!(held.iter().filter(|x| *x == h).count(), 1);
        }
    }
}
