//! Data-driven cases: each file under tests/data/cases holds a JSON array of
//! `{name, packs: "fictional"|"shipped", question, expect | error}`.
//!
//! `expect` is matched as a subset: every key it names must be in the answer with a matching
//! value; arrays must have the same length and match element by element.

use comity_law::LawPacks;
use serde_json::Value;

use crate::support::{data, load_dir};

fn matches(expected: &Value, actual: &Value, path: &str, problems: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => matches(ev, av, &format!("{path}.{k}"), problems),
                    None => problems.push(format!("{path}.{k}: missing in the answer")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                problems.push(format!(
                    "{path}: expected {} elements, got {}: {}",
                    e.len(),
                    a.len(),
                    actual
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                matches(ev, av, &format!("{path}[{i}]"), problems);
            }
        }
        (Value::Number(e), Value::Number(a))
            if e.as_f64()
                .zip(a.as_f64())
                .is_some_and(|(x, y)| (x - y).abs() < 1e-9) => {}
        (e, a) if e == a => {}
        (e, a) => problems.push(format!("{path}: expected {e}, got {a}")),
    }
}

fn run_file(name: &str, fictional: &LawPacks, shipped: &LawPacks) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(data(&format!("cases/{name}"))).unwrap();
    let cases: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut failures = Vec::new();
    for case in &cases {
        let id = format!("{name}: {}", case["name"].as_str().unwrap_or("?"));
        let packs = match case["packs"].as_str() {
            Some("fictional") => fictional,
            Some("shipped") => shipped,
            other => panic!("{id}: unknown packs {other:?}"),
        };
        // A string question is sent as raw text, to test text that is not valid JSON.
        let text = match &case["question"] {
            Value::String(s) => s.clone(),
            q => q.to_string(),
        };
        let mut problems = Vec::new();
        match (
            packs.eval_json(&text),
            case.get("expect"),
            case.get("error"),
        ) {
            (Ok(answer), Some(expect), None) => {
                matches(expect, &answer, "", &mut problems);
                check_explanation(&answer, &mut problems);
            }
            (Err(e), None, Some(expect)) => matches(
                expect,
                &serde_json::json!({"code": e.code(), "field": e.field()}),
                "",
                &mut problems,
            ),
            (Ok(answer), None, Some(_)) => {
                problems.push(format!("expected an error, got {answer}"))
            }
            (Err(e), Some(_), None) => problems.push(format!("unexpected error {}: {e}", e.code())),
            _ => problems.push("give exactly one of `expect` or `error`".into()),
        }
        failures.extend(problems.into_iter().map(|p| format!("{id}: {p}")));
    }
    (cases.len(), failures)
}

/// Every answer explains itself, and every step cites something.
fn check_explanation(answer: &Value, problems: &mut Vec<String>) {
    let Some(steps) = answer["explanation"].as_array() else {
        problems.push("no explanation".into());
        return;
    };
    if steps.is_empty() {
        problems.push("empty explanation".into());
    }
    for s in steps {
        let kind = s["cite"]["kind"].as_str().unwrap_or("");
        if !["treaty", "national", "guidance"].contains(&kind)
            || s["text"].as_str().is_none_or(str::is_empty)
        {
            problems.push(format!("step without citation or text: {s}"));
        }
    }
}

#[test]
fn data_driven_cases() {
    let fictional = load_dir(&data("fictional"));
    let shipped = LawPacks::shipped().unwrap();
    let mut names: Vec<String> = std::fs::read_dir(data("cases"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let mut total = 0;
    let mut failures = Vec::new();
    for n in &names {
        let (count, mut f) = run_file(n, &fictional, &shipped);
        total += count;
        failures.append(&mut f);
    }
    assert!(
        failures.is_empty(),
        "{} failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(total >= 60, "only {total} cases");
}
