//! Properties of the reasoning that must hold for any question over any packs.

use chrono::NaiveDate;
use comity_law::{LawPacks, State};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{data, read_dir};

const STATES: &[&str] = &["XA", "XB", "XC", "XD", "XE"];
const OFFENCES: &[&str] = &["intrusion", "fraud", "sabotage", "leak"];
const MEASURES: &[&str] = &[
    "preservation",
    "traffic_disclosure",
    "stored_data",
    "subscriber_info",
    "real_time_traffic",
    "interception",
    "letter_rogatory",
    "spontaneous_information",
    "criminal_record",
    "extradition",
    "provisional_arrest",
    "emergency_disclosure",
];
const TREATIES: &[&str] = &["alpha", "beta_union", "delta", "gamma"];

fn fictional_files() -> Vec<(String, String)> {
    read_dir(&data("fictional"))
}

fn load(files: &[(String, String)]) -> LawPacks {
    LawPacks::load(files.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn date() -> impl Strategy<Value = String> {
    (1995i32..2031, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}"))
}

fn state() -> impl Strategy<Value = &'static str> {
    proptest::sample::select(STATES)
}

fn pair() -> impl Strategy<Value = (&'static str, &'static str)> {
    (state(), state()).prop_filter("distinct states", |(a, b)| a != b)
}

fn offences() -> impl Strategy<Value = Vec<&'static str>> {
    proptest::sample::subsequence(OFFENCES, 1..=3)
}

fn facts() -> impl Strategy<Value = Value> {
    proptest::collection::vec(
        proptest::sample::select(
            &[
                "password_bypassed",
                "gain_intended",
                "state_target",
                "political_offence",
                "military_offence",
                "final_judgment_in_requested_state",
                "discrimination_risk",
            ][..],
        ),
        0..4,
    )
    .prop_map(|names| {
        Value::Object(
            names
                .into_iter()
                .map(|n| (n.to_owned(), Value::Bool(true)))
                .collect(),
        )
    })
}

fn question() -> impl Strategy<Value = Value> {
    prop_oneof![
        (pair(), proptest::sample::select(MEASURES), date(), offences()).prop_map(|((a, b), m, d, o)| json!({
            "question": "legal_basis", "requesting": a, "requested": b, "measure": m, "date": d, "offences": o
        })),
        (pair(), proptest::sample::select(&["mla", "extradition", "preservation"][..]), offences(), facts(), date()).prop_map(|((a, b), p, o, f, d)| json!({
            "question": "dual_criminality", "requesting": a, "requested": b, "purpose": p, "conduct": {"offences": o, "facts": f}, "date": d
        })),
        (pair(), proptest::collection::vec(state(), 0..3), offences(), facts(), date(), 0u32..30, date()).prop_map(|((a, b), n, o, f, d, s, c)| json!({
            "question": "extradition", "requesting": a, "requested": b, "person": {"nationalities": n}, "offences": o,
            "purpose": if s % 2 == 0 { "prosecution" } else { "enforcement" }, "sentence_months": s, "facts": f, "date": d, "committed_on": c
        })),
        (state(), proptest::collection::vec((state(), state(), offences(), date()), 2..4), date()).prop_map(|(requested, reqs, d)| {
            let requests: Vec<Value> = reqs.iter().enumerate().map(|(i, (s, place, o, r))| json!({
                "id": format!("r{i}"), "requesting": s, "offences": o, "place_of_commission": place, "received": r, "purpose": "prosecution"
            })).collect();
            json!({"question": "competing_requests", "requested": requested, "person": {"nationalities": [STATES[0]]}, "requests": requests, "date": d})
        }),
        (offences(), proptest::collection::vec(proptest::collection::vec(state(), 0..3), 7), date()).prop_map(|(o, lists, d)| json!({
            "question": "jurisdiction", "offences": o, "date": d, "facts": {
                "acts_in": lists[0], "systems_in": lists[1], "effects_in": lists[2], "offender_nationalities": lists[3],
                "victim_nationalities": lists[4], "offender_present_in": lists[5], "state_interests_in": lists[6]
            }
        })),
    ]
}

fn in_force(packs: &LawPacks, treaty: &str, state: &str, date: NaiveDate) -> bool {
    let s = State::parse(state).unwrap();
    packs
        .treaty(treaty)
        .is_some_and(|t| t.in_force_for(s, date))
}

fn treaty_cites(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            if m.get("kind").and_then(Value::as_str) == Some("treaty")
                && let Some(t) = m.get("treaty").and_then(Value::as_str)
            {
                out.push(t.to_owned());
            }
            m.values().for_each(|x| treaty_cites(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| treaty_cites(x, out)),
        _ => {}
    }
}

fn day(v: &Value) -> NaiveDate {
    NaiveDate::parse_from_str(v.as_str().unwrap(), "%Y-%m-%d").unwrap()
}

/// The states each cited treaty must bind on the date, per question kind.
fn check_citations(packs: &LawPacks, q: &Value, a: &Value) -> Result<(), TestCaseError> {
    let d = day(&q["date"]);
    match q["question"].as_str().unwrap() {
        "legal_basis" | "dual_criminality" | "extradition" => {
            let mut cited = Vec::new();
            treaty_cites(a, &mut cited);
            if let Some(list) = a["instruments"].as_array() {
                cited.extend(
                    list.iter()
                        .filter_map(|i| i["treaty"].as_str().map(str::to_owned)),
                );
            }
            for t in cited {
                for s in [&q["requesting"], &q["requested"]] {
                    let s = s.as_str().unwrap();
                    prop_assert!(
                        in_force(packs, &t, s, d),
                        "{t} cited but {s} is not bound on {d}: {a}"
                    );
                }
            }
        }
        "jurisdiction" => {
            for claim in a["claims"].as_array().unwrap() {
                let mut cited = Vec::new();
                treaty_cites(&claim["bases"], &mut cited);
                let s = claim["state"].as_str().unwrap();
                for t in cited {
                    prop_assert!(
                        in_force(packs, &t, s, d),
                        "{t} cited for {s}, not bound on {d}"
                    );
                }
            }
            for c in a["consultation"].as_array().unwrap() {
                let t = c["cite"]["treaty"].as_str().unwrap();
                for s in c["states"].as_array().unwrap() {
                    prop_assert!(in_force(packs, t, s.as_str().unwrap(), d));
                }
            }
        }
        "competing_requests" => {
            for f in a["frameworks"].as_array().unwrap() {
                if let Some(t) = f["treaty"].as_str() {
                    let requested = q["requested"].as_str().unwrap();
                    prop_assert!(in_force(packs, t, requested, d));
                    let any = q["requests"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|r| in_force(packs, t, r["requesting"].as_str().unwrap(), d));
                    prop_assert!(any, "{t} cited though no requesting state is bound");
                }
            }
        }
        other => prop_assert!(false, "unexpected question {other}"),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn answers_cite_only_treaties_binding_the_states(q in question()) {
        let packs = load(&fictional_files());
        if let Ok(a) = packs.eval_json(&q.to_string()) {
            check_citations(&packs, &q, &a)?;
        }
    }

    #[test]
    fn shipped_answers_cite_only_treaties_binding_the_states(
        (a, b) in (proptest::sample::select(&["DZ", "MA", "TN", "FR", "ES", "DE", "GB", "US"][..]), proptest::sample::select(&["DZ", "MA", "TN", "FR", "ES", "DE", "GB", "US"][..])).prop_filter("distinct", |(a, b)| a != b),
        m in proptest::sample::select(MEASURES),
        d in date(),
    ) {
        let packs = LawPacks::shipped().unwrap();
        let q = json!({"question": "legal_basis", "requesting": a, "requested": b, "measure": m, "date": d});
        let ans = packs.eval_json(&q.to_string()).unwrap();
        check_citations(&packs, &q, &ans)?;
    }

    #[test]
    fn adding_a_party_never_removes_a_legal_basis(
        q in question(),
        treaty in proptest::sample::select(TREATIES),
        newcomer in state(),
        joined in date(),
    ) {
        let files = fictional_files();
        let before = load(&files);
        let path = format!("treaties/{treaty}.toml");
        if before.treaty(treaty).unwrap().party(State::parse(newcomer).unwrap()).is_some() {
            return Ok(());
        }
        let grown: Vec<(String, String)> = files.iter().map(|(n, t)| {
            if *n == path {
                (n.clone(), format!("{t}\n[[party]]\nstate = \"{newcomer}\"\nin_force = {joined}\nsource = \"test\"\nverified = true\n"))
            } else {
                (n.clone(), t.clone())
            }
        }).collect();
        let after = load(&grown);
        let (Ok(a), Ok(b)) = (before.eval_json(&q.to_string()), after.eval_json(&q.to_string())) else { return Ok(()) };
        match q["question"].as_str().unwrap() {
            "legal_basis" => {
                let ids = |v: &Value| -> Vec<String> { v["instruments"].as_array().unwrap().iter().map(|i| i["treaty"].as_str().unwrap().to_owned()).collect() };
                let (ia, ib) = (ids(&a), ids(&b));
                for t in &ia {
                    prop_assert!(ib.contains(t), "{t} lost after {newcomer} joined {treaty}");
                }
                prop_assert!(!(a["instruments"].as_array().unwrap().len() + usize::from(!a["reciprocity"].is_null()) > 0
                    && b["instruments"].as_array().unwrap().is_empty() && b["reciprocity"].is_null()), "basis lost");
            }
            "extradition" => {
                prop_assert!(a["basis"].is_null() || !b["basis"].is_null(), "extradition basis lost after {newcomer} joined {treaty}");
            }
            _ => {}
        }
    }

    #[test]
    fn any_text_gives_an_answer_or_an_error(text in ".{0,200}") {
        let packs = load(&fictional_files());
        let _ = packs.eval_json(&text);
    }

    #[test]
    fn mangled_questions_give_an_answer_or_an_error(q in question(), key in "[a-z_]{1,12}", junk in prop_oneof![Just(Value::Null), Just(json!(-1)), Just(json!("XX")), Just(json!([])), Just(json!({}))]) {
        let packs = load(&fictional_files());
        let mut q = q;
        if let Some(m) = q.as_object_mut() {
            let target = m.keys().nth(key.len() % m.len().max(1)).cloned().unwrap_or(key);
            m.insert(target, junk);
        }
        let _ = packs.eval_json(&q.to_string());
    }

    #[test]
    fn any_pack_text_loads_or_reports(text in "(kind = \"(taxonomy|treaty|jurisdiction)\"\n)?[ -~\n]{0,300}") {
        let _ = LawPacks::load([("x.toml", text.as_str())]);
    }
}
