//! `postcall-bench-eval`: what `postcall eval` costs on a large labelled sample, and how much
//! of it the agreement statistics' bootstrap adds.
//!
//! Writes a synthetic report of N calls (an enum of five choices, a boolean whose "true" is
//! rare, an integer 1–5 score, a free-valued number) and labels that agree with it most of
//! the time, then times `postcall eval` as a child process with `--bootstrap 0` (no
//! intervals), the default 1000 resamples, and any others asked for, and prints wall time,
//! CPU and peak RSS per run (median of `--runs`).
//!
//!     cargo build --release --locked --workspace --bins
//!     target/release/postcall-bench-eval --calls 100000

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

use postcall_testkit::bench::child::{self, ChildUsage};

#[derive(Debug, Parser)]
#[command(
    name = "postcall-bench-eval",
    about = "Benchmark postcall eval and its bootstrap intervals"
)]
struct Args {
    /// Labelled calls in the synthetic report.
    #[arg(short = 'n', long, default_value_t = 100_000)]
    calls: usize,
    /// Bootstrap resamples to measure, besides 0 (repeatable).
    #[arg(short, long = "bootstrap", default_values_t = [1000])]
    bootstrap: Vec<usize>,
    /// Measured runs per setting (figures are medians).
    #[arg(short, long, default_value_t = 3)]
    runs: usize,
    /// The postcall binary [default: `postcall` next to this binary].
    #[arg(long, value_name = "PATH")]
    postcall: Option<PathBuf>,
}

fn main() -> ExitCode {
    let raw: Vec<OsString> = std::env::args_os().collect();
    if raw.get(1).is_some_and(|a| a == child::MEASURE_ARG) {
        return ExitCode::from(child::wrapper_main(&raw[2..]) as u8);
    }
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let me = std::env::current_exe().context("cannot find this binary")?;
    let postcall = args.postcall.clone().unwrap_or_else(|| me.with_file_name("postcall"));
    anyhow::ensure!(
        postcall.exists(),
        "{} does not exist: build it with `cargo build --release --locked --workspace --bins`, or pass --postcall",
        postcall.display()
    );
    let dir = tempfile::tempdir()?;
    write_sample(dir.path(), args.calls)?;
    println!(
        "postcall eval on {} labelled calls, 4 metrics (median of {} runs)\n",
        args.calls, args.runs
    );
    println!("| --bootstrap | wall | CPU | peak RSS |");
    println!("| ---: | ---: | ---: | ---: |");
    let mut settings = vec![0];
    settings.extend(args.bootstrap.iter().filter(|b| **b != 0));
    for resamples in settings {
        let mut usages = Vec::new();
        for _ in 0..args.runs.max(1) {
            let mut command = Command::new(&postcall);
            command
                .current_dir(dir.path())
                .args(["eval", "report.json", "--labels", "labels.csv", "--format", "json"])
                .args(["--bootstrap", &resamples.to_string()]);
            let usage = child::run_measured_clean(
                &me,
                &command,
                &dir.path().join("usage.txt"),
                Stdio::null(),
                Stdio::inherit(),
            )?;
            anyhow::ensure!(usage.exit_code == 0, "postcall eval exited {}", usage.exit_code);
            usages.push(usage);
        }
        let median = |f: fn(&ChildUsage) -> Duration| {
            let mut v: Vec<Duration> = usages.iter().map(f).collect();
            v.sort();
            v[v.len() / 2]
        };
        let mut rss: Vec<u64> = usages.iter().map(|u| u.max_rss).collect();
        rss.sort();
        println!(
            "| {resamples} | {:.2} s | {:.2} s | {:.0} MB |",
            median(|u| u.wall).as_secs_f64(),
            median(ChildUsage::cpu).as_secs_f64(),
            rss[rss.len() / 2] as f64 / 1e6
        );
    }
    Ok(())
}

/// A deterministic report and labels: answers agree with labels on about 85 % of calls.
fn write_sample(dir: &Path, calls: usize) -> anyhow::Result<()> {
    const CHOICES: [&str; 5] = ["resolved", "escalated", "transferred", "abandoned", "callback"];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        // xorshift64*: enough for synthetic data, and no dependency.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut labels = String::from("call_id,outcome,callback_promised,score,amount\n");
    let mut results = Vec::with_capacity(calls);
    for i in 0..calls {
        let id = format!("c{i:06}");
        let outcome = CHOICES[(next() % 5) as usize];
        let promised = next() % 20 == 0;
        let score = 1 + (next() % 5) as i64;
        let amount = (next() % 100_000) as f64 / 100.0;
        let keep = |r: u64| r % 100 < 85;
        let answer_outcome = if keep(next()) {
            outcome
        } else {
            CHOICES[(next() % 5) as usize]
        };
        let answer_promised = if keep(next()) { promised } else { !promised };
        let answer_score = if keep(next()) { score } else { (score + 1).min(5) };
        let answer_amount = if keep(next()) { amount } else { amount + 1.0 };
        writeln!(labels, "{id},{outcome},{promised},{score},{amount}")?;
        let confidence = (next() % 100) as f64 / 100.0;
        let ok =
            |value: serde_json::Value| serde_json::json!({"status": "ok", "value": value, "confidence": confidence});
        results.push(serde_json::json!({
            "call_id": id, "source": format!("calls/{id}.json"), "format": "generic", "errors": [],
            "metrics": {
                "outcome": ok(answer_outcome.into()),
                "callback_promised": ok(answer_promised.into()),
                "score": ok(answer_score.into()),
                "amount": ok(answer_amount.into()),
            }
        }));
    }
    let metric = |id: &str, kind: serde_json::Value| {
        let mut m = kind;
        m["id"] = id.into();
        m["prompt"] = format!("What is the {id}?").into();
        m
    };
    let report = serde_json::json!({
        "postcall": {
            "version": "0.1.0", "report_format": 1, "started_at": "2026-01-01T00:00:00Z",
            "complete": true, "base_url": "synthetic", "model": "synthetic",
            "strategy": "per_call", "structured_output": "json_schema", "metrics_sha256": "",
            "calls": calls, "failed_calls": 0, "invalid_values": 0,
            "usage": {"requests": 0, "cached": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}
        },
        "metrics": [
            metric("outcome", serde_json::json!({"type": "enum", "choices": CHOICES})),
            metric("callback_promised", serde_json::json!({"type": "boolean"})),
            metric("score", serde_json::json!({"type": "integer", "range": [1, 5]})),
            metric("amount", serde_json::json!({"type": "number"})),
        ],
        "calls": results,
    });
    std::fs::write(dir.join("report.json"), serde_json::to_vec(&report)?)?;
    std::fs::write(dir.join("labels.csv"), labels)?;
    Ok(())
}
