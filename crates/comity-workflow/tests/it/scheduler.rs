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
