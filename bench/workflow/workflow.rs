//! Benchmark of the workflow crate, on one core: the scheduler with 100,000 open deadlines
//! against a naive full scan in the same run, and full request lifecycles per second against a
//! JSON round trip of the request.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-workflow cargo bench -p comity-workflow --bench workflow`
//!
//! Times are per second of wall time and of this thread's CPU time (from
//! /proc/thread-self/schedstat on Linux); the machine is shared, so ratios use CPU time.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::time::{Duration, Instant};

use comity_model::{MessageId, NodeId, Role, Timestamp};
use comity_workflow::{
    Action, Actor, AssistanceMeasure, Body, Case, Draft, Due, MutualAssistance, Party, Preflight,
    Request, Rules, Scheduler, UseConditions,
};

const OPEN: usize = 100_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * 60 * MINUTE;
const T0: i64 = 1_768_464_000_000;

fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Wall and CPU time of `f`.
fn measure<T>(f: impl FnOnce() -> T) -> (T, Duration, Option<Duration>) {
    let cpu0 = cpu_ns();
    let start = Instant::now();
    let out = f();
    let wall = start.elapsed();
    let cpu = cpu0
        .zip(cpu_ns())
        .map(|(a, b)| Duration::from_nanos(b.saturating_sub(a)));
    (out, wall, cpu)
}

/// A deterministic spread of deadlines over 30 days (xorshift).
fn deadlines() -> Vec<(MessageId, Due)> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..OPEN)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let since = T0 - (x % (10 * DAY as u64)) as i64;
            let at = T0 + (x >> 20) as i64 % (30 * DAY);
            let mut random = [0u8; 10];
            random[..8].copy_from_slice(&x.to_le_bytes());
            let id = MessageId::from_parts(i as u64, random);
            let due = Due {
                at: Timestamp::from_unix_ms(at),
                since: Timestamp::from_unix_ms(since),
                what: "acknowledge".into(),
                party: Party::Requested,
                hard: false,
                article: "Budapest Art. 35.1".into(),
            };
            (id, due)
        })
        .collect()
}

/// The reference: every deadline in a map, every tick scans them all for a step that fell due.
struct Naive {
    entries: HashMap<MessageId, (Due, usize)>,
}

const LADDER: [(i64, i64); 4] = [(1, 2), (3, 4), (9, 10), (1, 1)];

fn step_time(due: &Due, step: usize) -> i64 {
    let (num, den) = LADDER[step];
    let span = (due.at.unix_ms() - due.since.unix_ms()).max(0);
    due.since.unix_ms() + span / den * num + span % den * num / den
}

impl Naive {
    fn poll(&mut self, now: i64) -> usize {
        let mut alerts = 0;
        for (due, step) in self.entries.values_mut() {
            if *step < LADDER.len() && step_time(due, *step) <= now {
                while *step + 1 < LADDER.len() && step_time(due, *step + 1) <= now {
                    *step += 1;
                }
                *step += 1;
                alerts += 1;
            }
        }
        alerts
    }
}

fn node(s: &str) -> NodeId {
    s.parse().unwrap()
}

fn draft(n: u32) -> Draft {
    let case = Case {
        requesting_authority: "Tribunal".into(),
        case_reference: format!("DZ-{n}"),
        offences: vec!["illegal_access".into()],
        facts: "Intrusion into servers hosted in France".into(),
    };
    let body = Body::MutualAssistance(MutualAssistance {
        case,
        measure: AssistanceMeasure::StoredData,
        data: "logs".into(),
        custodian_or_location: "Roubaix".into(),
        period_from: None,
        period_to: None,
        procedure: None,
        preservation: None,
    });
    let preflight = Preflight {
        requesting: "DZ".into(),
        requested: "FR".into(),
        measure: "stored_data".into(),
        date: chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap(),
        available: true,
        instruments: vec![],
        reciprocity: Some("CPP art. 694".into()),
        channels: vec!["central_authority".into()],
        channel: Some("central_authority".into()),
        dual_criminality: None,
        obstacles: vec![],
        negatives: vec![],
        override_reason: None,
        explanation: vec![],
    };
    Draft {
        id: MessageId::from_parts(u64::from(n), [7; 10]),
        requesting: node("dz-moj"),
        requested: node("fr-moj"),
        body,
        content: BTreeMap::new(),
        conditions: UseConditions::case_only(node("dz-moj"), "DZ-1"),
        preflight: Some(preflight),
        links: vec![],
    }
}

/// Creation to results returned and closed, with the scheduler following every transition.
fn lifecycle(rules: &Rules, sched: &mut Scheduler, n: u32) -> Request {
    let t = |h: i64| Timestamp::from_unix_ms(T0 + h * 3_600_000);
    let fr = Actor {
        node: node("fr-moj"),
        role: Role::CentralAuthority,
    };
    let dz = Actor {
        node: node("dz-moj"),
        role: Role::CentralAuthority,
    };
    let (mut r, tr) = Request::open(draft(n), rules, t(0)).unwrap();
    sched.track(&tr, t(0));
    let steps = [
        (
            &fr,
            Action::Acknowledge {
                reference: "BEPI".into(),
            },
        ),
        (&fr, Action::Accept { conditions: vec![] }),
        (
            &fr,
            Action::ReturnResults {
                summary: "logs".into(),
                use_conditions: None,
            },
        ),
        (&dz, Action::Close),
    ];
    for (h, (who, action)) in steps.into_iter().enumerate() {
        let now = t(h as i64 + 1);
        let tr = r.apply(rules, who, action, now).unwrap();
        sched.track(&tr, now);
    }
    r
}

fn show(d: Option<Duration>, wall: Duration) -> Duration {
    d.unwrap_or(wall)
}

fn main() {
    let all = deadlines();

    let mut sched = Scheduler::new("supervisor");
    let ((), fill_wall, fill_cpu) = measure(|| {
        for (id, due) in &all {
            sched.set(*id, due.clone(), Timestamp::from_unix_ms(T0));
        }
    });
    let mut naive = Naive {
        entries: HashMap::new(),
    };
    for (id, due) in &all {
        let step = (0..LADDER.len())
            .find(|&s| step_time(due, s) > T0)
            .unwrap_or(LADDER.len() - 1);
        naive.entries.insert(*id, (due.clone(), step));
    }

    // One poll a minute for a simulated day.
    let ticks = 24 * 60;
    let (alerts, wall, cpu) = measure(|| {
        let mut n = 0;
        for k in 1..=ticks {
            n += black_box(sched.poll(Timestamp::from_unix_ms(T0 + k * MINUTE))).len();
        }
        n
    });
    let (naive_alerts, nwall, ncpu) = measure(|| {
        let mut n = 0;
        for k in 1..=ticks {
            n += black_box(naive.poll(T0 + k * MINUTE));
        }
        n
    });
    assert_eq!(alerts, naive_alerts, "both yield the same alerts");
    let per_tick = show(cpu, wall) / ticks as u32;
    let naive_per_tick = show(ncpu, nwall) / ticks as u32;
    println!(
        "scheduler, {OPEN} open deadlines over 30 days: fill {:.0} ns/set; one poll a minute for a day, {alerts} alerts",
        show(fill_cpu, fill_wall).as_secs_f64() * 1e9 / OPEN as f64
    );
    println!(
        "  ordered set: {:.1} µs per poll (CPU); reference full scan: {:.1} µs per poll; scan/ordered ratio {:.0}",
        per_tick.as_secs_f64() * 1e6,
        naive_per_tick.as_secs_f64() * 1e6,
        naive_per_tick.as_secs_f64() / per_tick.as_secs_f64()
    );

    // Moving deadlines (a transition on an open request).
    let moves = 100_000usize;
    let ((), mwall, mcpu) = measure(|| {
        for (i, (id, due)) in all.iter().enumerate().take(moves) {
            let mut d = due.clone();
            d.at = d.at.plus_ms(DAY + i as i64);
            sched.set(*id, d, Timestamp::from_unix_ms(T0 + DAY));
        }
    });
    println!(
        "  move a deadline among {OPEN}: {:.0} ns (CPU)",
        show(mcpu, mwall).as_secs_f64() * 1e9 / moves as f64
    );

    // Full lifecycles: open, acknowledge, accept, return results, close.
    let rules = Rules::shipped().unwrap();
    let mut sched = Scheduler::new("supervisor");
    let runs = 20_000u32;
    let (last, lwall, lcpu) = measure(|| {
        let mut last = None;
        for n in 0..runs {
            last = Some(black_box(lifecycle(&rules, &mut sched, n)));
        }
        last.unwrap()
    });
    assert!(sched.is_empty());
    let text = serde_json::to_string(&last).unwrap();
    let ((), rwall, rcpu) = measure(|| {
        for _ in 0..runs {
            let s = serde_json::to_string(black_box(&last)).unwrap();
            black_box(serde_json::from_str::<Request>(&s).unwrap());
        }
    });
    let life = show(lcpu, lwall).as_secs_f64() / f64::from(runs);
    let json = show(rcpu, rwall).as_secs_f64() / f64::from(runs);
    println!(
        "lifecycle (5 transitions, scheduler tracking): {:.0} /s CPU ({:.1} µs), {:.0} /s wall",
        1.0 / life,
        life * 1e6,
        f64::from(runs) / lwall.as_secs_f64()
    );
    println!(
        "  reference, JSON round trip of the closed request ({} bytes): {:.1} µs; lifecycle/round-trip ratio {:.2}",
        text.len(),
        json * 1e6,
        life / json
    );
}
