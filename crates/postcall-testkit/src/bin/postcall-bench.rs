//! `postcall-bench`: shows that postcall's own cost is invisible next to the model's.
//!
//! Generates synthetic calls, serves a fake OpenAI-compatible endpoint in this process, runs
//! `target/release/postcall run` end to end as a child process per measured run, and prints
//! wall time, requests/s, concurrency efficiency, CPU per 1,000 requests, peak RSS and bytes
//! sent per call, with each of the targets marked pass or miss. See bench/README.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use postcall_testkit::bench::child;
use postcall_testkit::bench::report::{BenchReport, render_markdown};
use postcall_testkit::bench::scenario::{ALL_SCENARIOS, Bench, DEFAULT_SCENARIOS, Overrides, S3ServerKind, Scenario};
use postcall_testkit::bench::{ScenarioResult, run_scenario};

#[derive(Debug, Parser)]
#[command(
    name = "postcall-bench",
    version,
    about = "Benchmark postcall run against a fake endpoint"
)]
struct Args {
    /// Scenarios to run, in order (repeatable or comma-separated): startup, overhead,
    /// latency, rate-limit, warm-cache, scale (100k calls; opt-in), custom, or `all`.
    /// Default: startup, overhead, latency, rate-limit, warm-cache.
    #[arg(short, long = "scenario", value_name = "NAME", value_delimiter = ',')]
    scenarios: Vec<String>,
    /// Measured runs per scenario (figures are medians).
    #[arg(short, long, default_value_t = 3)]
    runs: usize,
    /// Calls per scenario (for `scale`: the large set; the small one is a tenth).
    #[arg(short = 'n', long, value_name = "N")]
    calls: Option<usize>,
    /// postcall's --concurrency.
    #[arg(short = 'j', long, value_name = "N")]
    concurrency: Option<usize>,
    /// per_call or per_metric.
    #[arg(long)]
    strategy: Option<String>,
    /// The endpoint's mean latency.
    #[arg(long, value_name = "MS")]
    latency_ms: Option<u64>,
    /// The endpoint's latency varies uniformly in latency ± jitter.
    #[arg(long, value_name = "MS")]
    jitter_ms: Option<u64>,
    /// Share of requests answered 500/503 (retried by postcall).
    #[arg(long, value_name = "F")]
    error_rate: Option<f64>,
    /// The endpoint's token-bucket limit, requests per second (429 beyond it).
    #[arg(long, value_name = "RPS")]
    rate_limit: Option<f64>,
    /// Seed of the synthetic calls.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The postcall binary [default: `postcall` next to this binary]
    #[arg(long, value_name = "PATH")]
    postcall: Option<PathBuf>,
    /// Keep the generated calls and reports in DIR (default: a temp dir, removed).
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// The S3-compatible server of the `s3` scenario: in memory in this process, s3s-fs
    /// (installed by `scripts/install-test-tools.sh --bench`), or moto (the tests' server,
    /// far slower).
    #[arg(long, value_enum, value_name = "NAME", default_value = "memory")]
    s3_server: S3ServerKind,
    /// Hold each request to the `s3` scenario's server this long (not moto): a store
    /// across a network, where loopback answers at once.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    s3_latency_ms: u64,
    /// Print the results as JSON on stdout (the table then goes to stderr).
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    // The benchmark re-runs itself as a small wrapper around each measured postcall run,
    // so the child's peak RSS does not include this process's (see bench/child.rs).
    let raw: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if raw.get(1).is_some_and(|a| a == child::MEASURE_ARG) {
        return ExitCode::from(child::wrapper_main(&raw[2..]) as u8);
    }
    let started = Instant::now();
    let result = run(Args::parse());
    eprintln!("postcall-bench: done in {:.0} s", started.elapsed().as_secs_f64());
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("postcall-bench: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let scenarios = resolve_scenarios(&args)?;
    let postcall = locate_postcall(args.postcall.as_deref())?;
    let work = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)?;
            tempfile::Builder::new().prefix("postcall-bench-").tempdir_in(dir)?
        }
        None => tempfile::Builder::new().prefix("postcall-bench-").tempdir()?,
    };
    let mut bench = Bench::new(postcall, work, args.seed, args.runs.max(1))?;
    bench.s3_server = args.s3_server;
    bench.s3_latency = std::time::Duration::from_millis(args.s3_latency_ms);
    let mut results: Vec<ScenarioResult> = Vec::new();
    for scenario in &scenarios {
        results.push(run_scenario(&mut bench, scenario).with_context(|| format!("scenario {}", scenario.name))?);
    }
    let report = BenchReport {
        postcall_version: postcall_version(&bench.postcall),
        cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
        runs: bench.runs,
        seed: args.seed,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        total_seconds: started.elapsed().as_secs_f64(),
        scenarios: results,
    };
    let table = render_markdown(&report);
    if args.json {
        eprintln!("\n{table}");
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("\n{table}");
    }
    if let Some(dir) = &args.keep {
        let kept = bench.work.keep();
        eprintln!(
            "kept the calls and reports in {} (under {})",
            kept.display(),
            dir.display()
        );
    }
    Ok(if report.all_passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

fn resolve_scenarios(args: &Args) -> anyhow::Result<Vec<Scenario>> {
    let overrides = Overrides {
        calls: args.calls,
        concurrency: args.concurrency,
        strategy: args.strategy.clone(),
        latency: args.latency_ms.map(Duration::from_millis),
        jitter: args.jitter_ms.map(Duration::from_millis),
        error_rate: args.error_rate,
        rate_limit: args.rate_limit,
    };
    if let Some(strategy) = &args.strategy {
        anyhow::ensure!(
            strategy == "per_call" || strategy == "per_metric",
            "--strategy is per_call or per_metric, not `{strategy}`"
        );
    }
    let names: Vec<&str> = if args.scenarios.is_empty() {
        DEFAULT_SCENARIOS.to_vec()
    } else if args.scenarios.iter().any(|s| s == "all") {
        ALL_SCENARIOS.iter().copied().filter(|s| *s != "custom").collect()
    } else {
        args.scenarios.iter().map(String::as_str).collect()
    };
    names
        .iter()
        .map(|name| {
            Scenario::named(name, &overrides).with_context(|| {
                format!(
                    "no scenario `{name}`; choose from {} (or `all`)",
                    ALL_SCENARIOS.join(", ")
                )
            })
        })
        .collect()
}

/// `--postcall`, or `postcall` next to this binary — with a note when it is older than this
/// binary, since `cargo run -p postcall-testkit --bin postcall-bench` builds only the benchmark.
fn locate_postcall(explicit: Option<&std::path::Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        anyhow::ensure!(path.is_file(), "--postcall {} is not a file", path.display());
        return Ok(path.to_path_buf());
    }
    let me = std::env::current_exe().context("cannot find this binary's path")?;
    let path = me.with_file_name(format!("postcall{}", std::env::consts::EXE_SUFFIX));
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(&path), modified(&me)) {
        (None, _) => anyhow::bail!(
            "no postcall binary at {}: build it with `cargo build --release --locked --workspace --bins` (or pass --postcall PATH)",
            path.display()
        ),
        (Some(theirs), Some(mine)) if theirs + Duration::from_secs(60) < mine => {
            eprintln!(
                "note: {} is older than this benchmark binary; if you changed postcall, run \
                 `cargo build --release --locked --workspace --bins` first so you measure the code you mean to",
                path.display()
            );
            Ok(path)
        }
        _ => Ok(path),
    }
}

fn postcall_version(postcall: &std::path::Path) -> String {
    std::process::Command::new(postcall)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".into())
}
