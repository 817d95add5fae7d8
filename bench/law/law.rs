//! Benchmark of the law engine, on one core: pack loading, dual-criminality and extradition
//! evaluations per second, each against a reference measured in the same run.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-law cargo bench -p comity-law --bench law`
//!
//! Rates are given per second of wall time and per second of CPU time of this thread (read from
//! /proc/thread-self/schedstat on Linux): on a machine shared with other work the second one is
//! what one core delivers. The ratios compare like with like, so they do not depend on the load.

use std::hint::black_box;
use std::time::{Duration, Instant};

use comity_law::{LawPacks, SHIPPED};

/// Nanoseconds this thread has spent on a CPU, if the kernel tells.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

struct Timing {
    wall: Duration,
    cpu: Option<Duration>,
}

impl Timing {
    fn rate(d: Duration) -> f64 {
        1.0 / d.as_secs_f64()
    }

    fn show(&self) -> String {
        match self.cpu {
            Some(cpu) => format!(
                "{:.0}/s wall ({:.0} ns), {:.0}/s CPU ({:.0} ns)",
                Self::rate(self.wall),
                self.wall.as_secs_f64() * 1e9,
                Self::rate(cpu),
                cpu.as_secs_f64() * 1e9
            ),
            None => format!(
                "{:.0}/s wall ({:.0} ns)",
                Self::rate(self.wall),
                self.wall.as_secs_f64() * 1e9
            ),
        }
    }

    /// CPU time when known, else wall time: the fairer basis for a ratio.
    fn best(&self) -> Duration {
        self.cpu.unwrap_or(self.wall)
    }
}

/// Runs `f` repeatedly for about `budget` and returns the mean time per call.
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> Timing {
    for _ in 0..10 {
        f();
    }
    let mut calls: u32 = 0;
    let cpu0 = cpu_ns();
    let start = Instant::now();
    while start.elapsed() < budget {
        for _ in 0..100 {
            f();
        }
        calls += 100;
    }
    let wall = start.elapsed() / calls;
    let cpu = cpu0
        .zip(cpu_ns())
        .map(|(a, b)| Duration::from_nanos(b.saturating_sub(a)) / calls);
    Timing { wall, cpu }
}

const DUAL: &str = r#"{"question":"dual_criminality","requesting":"DE","requested":"FR","purpose":"extradition",
  "conduct":{"offences":["illegal_access","data_interference"],"facts":{"security_measure_infringed":true}},"date":"2024-05-01"}"#;

const EXTRADITION: &str = r#"{"question":"extradition","requesting":"US","requested":"DZ","person":{"nationalities":["DZ"]},
  "offences":["illegal_access"],"purpose":"prosecution","committed_on":"2021-03-01","date":"2024-05-01"}"#;

fn main() {
    let budget = Duration::from_millis(2000);

    let load = time_per_call(budget / 2, || {
        black_box(LawPacks::shipped().unwrap());
    });
    let parse_only = time_per_call(budget / 2, || {
        for (_, text) in SHIPPED {
            black_box(text.parse::<toml::Table>().unwrap());
        }
    });
    println!(
        "pack load, shipped packs ({} files, {} bytes): {:.2} ms wall, {:.2} ms CPU; reference toml::Table parse of the same files: {:.2} ms CPU; load/parse ratio {:.2}",
        SHIPPED.len(),
        SHIPPED.iter().map(|(_, t)| t.len()).sum::<usize>(),
        load.wall.as_secs_f64() * 1e3,
        load.best().as_secs_f64() * 1e3,
        parse_only.best().as_secs_f64() * 1e3,
        load.best().as_secs_f64() / parse_only.best().as_secs_f64()
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
        println!("{name}:");
        println!(
            "  engine (typed question in, answer out): {}",
            engine.show()
        );
        println!(
            "  reference, serde_json::Value parse of the question text: {}",
            reference.show()
        );
        println!(
            "  engine/reference time ratio {:.2}; JSON text in to JSON text out: {}",
            engine.best().as_secs_f64() / reference.best().as_secs_f64(),
            full.show()
        );
    }
}
