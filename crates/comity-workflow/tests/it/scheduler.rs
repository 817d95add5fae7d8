use comity_model::{MessageId, Role};
use comity_workflow::*;

use crate::support::*;

#[test]
fn reminder_then_escalations_then_overdue() {
    let rules = rules();
    let (r, tr) = Request::open(draft(Kind::Preservation, false), &rules, t(0)).unwrap();
    let mut s = Scheduler::new("Chief prosecutor Benali");
    s.track(&tr, t(0));
    assert_eq!(s.next_wake(), Some(t(12)));
    assert!(s.poll(t(11)).is_empty());
    let kinds = |v: Vec<Alert>| v.into_iter().map(|a| a.kind).collect::<Vec<_>>();
    assert_eq!(kinds(s.poll(t(12))), [AlertKind::Reminder]);
    assert_eq!(kinds(s.poll(t(18))), [AlertKind::CentralAuthority]);
    assert!(s.overdue(t(23)).next().is_none());
    assert_eq!(
        kinds(s.poll(t(30))),
        [AlertKind::Overdue],
        "missed steps collapse into the highest"
    );
    assert_eq!(
        s.overdue(t(30)).map(|(id, _)| id).collect::<Vec<_>>(),
        [r.id]
    );
    assert!(s.poll(t(100)).is_empty());

    let mut r = r;
    let tr = r
        .apply(
            &rules,
            &actor(REQUESTED, Role::TwentyFourSeven),
            Action::Acknowledge {
                reference: "x".into(),
            },
            t(31),
        )
        .unwrap();
    s.track(&tr, t(31));
    assert!(s.overdue(t(31)).next().is_none());
    assert_eq!(
        kinds(s.poll(t(31 + 65))),
        [AlertKind::Supervisor {
            name: "Chief prosecutor Benali".into()
        }]
    );
    let tr = r
        .apply(
            &rules,
            &actor(REQUESTED, Role::TwentyFourSeven),
            Action::Refuse {
                grounds: vec!["political_offence".into()],
                reasons: "r".into(),
                consulted: false,
            },
            t(97),
        )
        .unwrap();
    s.track(&tr, t(97));
    assert!(s.is_empty());
}

#[test]
fn many_deadlines_come_out_in_order() {
    let mut s = Scheduler::new("sup");
    for i in 0..1000u32 {
        let id = MessageId::from_parts(u64::from(i), [0; 10]);
        let due = Due {
            at: t(i64::from(i % 97) + 10),
            since: t(0),
            what: "w".into(),
            party: Party::Requested,
            hard: false,
            article: "a".into(),
        };
        s.set(id, due, t(0));
    }
    assert_eq!(s.len(), 1000);
    let mut seen = 0;
    let mut last = t(0);
    for h in 0..200 {
        for a in s.poll(t(h)) {
            if a.kind == AlertKind::Overdue {
                assert!(a.due <= t(h) && a.due >= last);
                last = a.due;
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 1000);
    assert_eq!(s.overdue(t(200)).count(), 1000);
}

mod model {
    use std::collections::BTreeMap;

    use comity_model::{MessageId, Timestamp};
    use comity_workflow::*;
    use proptest::prelude::*;

    use crate::support::*;

    const FRACTIONS: [(i64, i64); 4] = [(1, 2), (3, 4), (9, 10), (1, 1)];

    fn step_at(since: i64, at: i64, step: usize) -> i64 {
        let (num, den) = FRACTIONS[step];
        let span = (at - since).max(0);
        since + span / den * num + span % den * num / den
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set { id: u8, since_h: i64, len_h: i64 },
        Remove { id: u8 },
        Poll { dt_h: i64 },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..20, 0i64..50, 0i64..100).prop_map(|(id, since_h, len_h)| Op::Set {
                id,
                since_h,
                len_h
            }),
            (0u8..20).prop_map(|id| Op::Remove { id }),
            (0i64..30).prop_map(|dt_h| Op::Poll { dt_h }),
        ]
    }

    proptest! {
        /// The scheduler yields, at each poll, exactly the alerts a full scan of the open
        /// deadlines finds, and lists the same overdue requests.
        #[test]
        fn agrees_with_a_full_scan(ops in proptest::collection::vec(op(), 1..80)) {
            let mut s = Scheduler::new("sup");
            // id -> (since, at, next step)
            let mut m: BTreeMap<u8, (i64, i64, usize)> = BTreeMap::new();
            let mut now = t(0).unix_ms();
            let mid = |i: u8| MessageId::from_parts(u64::from(i) + 1, [i; 10]);
            for op in ops {
                match op {
                    Op::Set { id, since_h, len_h } => {
                        let since = now - since_h * 3_600_000;
                        let at = since + len_h * 3_600_000;
                        s.set(mid(id), Due {
                            at: Timestamp::from_unix_ms(at),
                            since: Timestamp::from_unix_ms(since),
                            what: "w".into(),
                            party: Party::Requested,
                            hard: false,
                            article: "a".into(),
                        }, Timestamp::from_unix_ms(now));
                        let step = (0..4).find(|&k| step_at(since, at, k) > now).unwrap_or(3);
                        m.insert(id, (since, at, step));
                    }
                    Op::Remove { id } => {
                        s.remove(mid(id));
                        m.remove(&id);
                    }
                    Op::Poll { dt_h } => {
                        now += dt_h * 3_600_000;
                        let mut got: Vec<(MessageId, AlertKind)> = s
                            .poll(Timestamp::from_unix_ms(now))
                            .into_iter()
                            .map(|a| (a.request, a.kind))
                            .collect();
                        got.sort_by_key(|(id, _)| *id);
                        let mut want = Vec::new();
                        for (id, (since, at, step)) in m.iter_mut() {
                            if *step < 4 && step_at(*since, *at, *step) <= now {
                                while *step + 1 < 4 && step_at(*since, *at, *step + 1) <= now {
                                    *step += 1;
                                }
                                let kind = match *step {
                                    0 => AlertKind::Reminder,
                                    1 => AlertKind::CentralAuthority,
                                    2 => AlertKind::Supervisor { name: "sup".into() },
                                    _ => AlertKind::Overdue,
                                };
                                want.push((mid(*id), kind));
                                *step += 1;
                            }
                        }
                        want.sort_by_key(|(id, _)| *id);
                        prop_assert_eq!(got, want);
                        let mut overdue: Vec<MessageId> =
                            s.overdue(Timestamp::from_unix_ms(now)).map(|(id, _)| id).collect();
                        overdue.sort();
                        let mut want_overdue: Vec<MessageId> =
                            m.iter().filter(|(_, (_, at, _))| *at <= now).map(|(id, _)| mid(*id)).collect();
                        want_overdue.sort();
                        prop_assert_eq!(overdue, want_overdue);
                    }
                }
                prop_assert_eq!(s.len(), m.len());
            }
        }
    }
}
