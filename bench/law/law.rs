//! Benchmark of the law engine, on one core: pack loading, dual-criminality and extradition
//! evaluations per second, each against a reference measured in the same run.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-law cargo bench -p comity-law --bench law`

use std::hint::black_box;
use std::time::{Duration, Instant};

use comity_law::{LawPacks, SHIPPED};

/// Runs `f` repeatedly for about `budget` and returns the mean time per call.
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> Duration {
    for _ in 0..10 {
        f();
    }
    let mut calls: u32 = 0;
    let start = Instant::now();
    while start.elapsed() < budget {
        for _ in 0..100 {
            f();
        }
        calls += 100;
    }
    start.elapsed() / calls
}

fn per_second(d: Duration) -> f64 {
    1.0 / d.as_secs_f64()
}

const DUAL: &str = r#"{"question":"dual_criminality","requesting":"DE","requested":"FR","purpose":"extradition",
  "conduct":{"offences":["illegal_access","data_interference"],"facts":{"security_measure_infringed":true}},"date":"2024-05-01"}"#;

const EXTRADITION: &str = r#"{"question":"extradition","requesting":"US","requested":"DZ","person":{"nationalities":["DZ"]},
  "offences":["illegal_access"],"purpose":"prosecution","committed_on":"2021-03-01","date":"2024-05-01"}"#;

fn main() {
    let budget = Duration::from_millis(1500);

    let load = time_per_call(budget / 3, || {
        black_box(LawPacks::shipped().unwrap());
    });
    let parse_only = time_per_call(budget / 3, || {
        for (_, text) in SHIPPED {
            black_box(text.parse::<toml::Table>().unwrap());
        }
    });
    println!(
        "pack load (shipped: {} files, {} bytes): {:.2} ms; reference toml::Table parse of the same files: {:.2} ms; ratio {:.2}",
        SHIPPED.len(),
        SHIPPED.iter().map(|(_, t)| t.len()).sum::<usize>(),
        load.as_secs_f64() * 1e3,
        parse_only.as_secs_f64() * 1e3,
        load.as_secs_f64() / parse_only.as_secs_f64()
    );

    let packs = LawPacks::shipped().unwrap();
    for (name, text) in [("dual_criminality", DUAL), ("extradition", EXTRADITION)] {
        let q = packs.question_from_str(text).unwrap();
        let engine = time_per_call(budget, || {
            black_box(packs.answer(black_box(&q)).unwrap());
        });
        let reference = time_per_call(budget, || {
            black_box(serde_json::from_str::<serde_json::Value>(black_box(text)).unwrap());
        });
        let full = time_per_call(budget, || {
            black_box(packs.eval_to_string(black_box(text), false).unwrap());
        });
        println!(
            "{name}: engine {:.0} evals/s ({:.0} ns); reference serde_json::Value parse of the question {:.0}/s ({:.0} ns), engine/reference time ratio {:.2}; JSON in to JSON out {:.0}/s",
            per_second(engine),
            engine.as_secs_f64() * 1e9,
            per_second(reference),
            reference.as_secs_f64() * 1e9,
            engine.as_secs_f64() / reference.as_secs_f64(),
            per_second(full)
        );
    }
}
