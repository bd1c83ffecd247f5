//! The benchmark behind `postcall-bench`: synthetic calls, a fast fake endpoint in-process,
//! `postcall run` as a child process, and the targets each scenario is judged against.
//!
//! It lives in the testkit's library (not only in the binary) so postcall's tests can reuse
//! the generator ([`generate::write_calls`]) and the measured child runner
//! ([`child::run_measured`]).

pub mod child;
pub mod generate;
pub mod report;
pub mod scenario;

use serde::Serialize;

use generate::SetStats;
use scenario::{Bench, Kind, Measurement, Scenario, median};

/// Every run of one scenario, their medians, and the verdict on its targets.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub set: Option<SetStats>,
    pub runs: Vec<Measurement>,
    /// The scale scenario's runs over a set ten times smaller; the s3 scenario's runs
    /// over the same calls on local disk.
    pub small_runs: Vec<Measurement>,
    pub median: Option<Medians>,
    pub small_median: Option<Medians>,
    /// The startup scenario's wall times, in milliseconds.
    pub startup_ms: Vec<f64>,
    pub checks: Vec<Check>,
}

/// The median of each figure over a scenario's runs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Medians {
    pub requests: f64,
    pub wall_s: f64,
    pub rps: f64,
    pub sustained_rps: Option<f64>,
    pub efficiency: Option<f64>,
    pub wall_efficiency: Option<f64>,
    pub cpu_s_per_1k_requests: Option<f64>,
    pub peak_rss_mb: f64,
    pub bytes_sent_per_call: f64,
    pub endpoint_cpu_s: f64,
    pub rate_limited: f64,
    pub failed_calls: f64,
}

impl Medians {
    fn of(runs: &[Measurement]) -> Option<Medians> {
        let m = |f: fn(&Measurement) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
        let opt = |f: fn(&Measurement) -> Option<f64>| median(&runs.iter().filter_map(f).collect::<Vec<_>>());
        Some(Medians {
            requests: m(|r| r.requests as f64)?,
            wall_s: m(|r| r.wall_s)?,
            rps: m(|r| r.rps)?,
            sustained_rps: opt(|r| r.sustained_rps),
            efficiency: opt(|r| r.efficiency),
            wall_efficiency: opt(|r| r.wall_efficiency),
            cpu_s_per_1k_requests: opt(|r| r.cpu_s_per_1k_requests),
            peak_rss_mb: m(|r| r.peak_rss_mb)?,
            bytes_sent_per_call: m(|r| r.bytes_sent_per_call)?,
            endpoint_cpu_s: m(|r| r.endpoint_cpu_s)?,
            rate_limited: m(|r| r.rate_limited as f64)?,
            failed_calls: m(|r| r.failed_calls as f64)?,
        })
    }
}

/// One target and how the runs did against it. `pass` is `None` for figures reported
/// without a target.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub target: String,
    pub measured: String,
    pub pass: Option<bool>,
}

impl Check {
    fn new(target: impl Into<String>, measured: impl Into<String>, pass: Option<bool>) -> Check {
        Check {
            target: target.into(),
            measured: measured.into(),
            pass,
        }
    }
}

/// Runs `scenario` `bench.runs` times (more for the cheap startup scenario) and judges it.
pub fn run_scenario(bench: &mut Bench, scenario: &Scenario) -> anyhow::Result<ScenarioResult> {
    let mut result = ScenarioResult {
        scenario: scenario.clone(),
        set: None,
        runs: Vec::new(),
        small_runs: Vec::new(),
        median: None,
        small_median: None,
        startup_ms: Vec::new(),
        checks: Vec::new(),
    };
    match scenario.kind {
        Kind::Startup => run_startup(bench, scenario, &mut result)?,
        Kind::Cold => {
            let runs = bench.runs;
            let (set, stats) = bench.set(scenario.calls)?;
            result.set = Some(stats);
            for run in 0..runs {
                let server = bench.server(scenario)?;
                let m = bench.run_once(scenario, &set, scenario.calls, &server, None)?;
                progress(scenario, run, runs, "", &m);
                result.runs.push(m);
            }
        }
        Kind::WarmCache => run_warm_cache(bench, scenario, &mut result)?,
        Kind::Scale => run_scale(bench, scenario, &mut result)?,
        Kind::ObjectStore => run_object_store(bench, scenario, &mut result)?,
    }
    result.median = Medians::of(&result.runs);
    result.small_median = Medians::of(&result.small_runs);
    judge(&mut result);
    Ok(result)
}

/// Two unmeasured runs warm the page cache; then enough runs for a stable median.
fn run_startup(bench: &mut Bench, scenario: &Scenario, result: &mut ScenarioResult) -> anyhow::Result<()> {
    for _ in 0..2 {
        bench.validate_once()?;
    }
    for _ in 0..(bench.runs * 7).max(15) {
        result
            .startup_ms
            .push(bench.validate_once()?.wall.as_secs_f64() * 1000.0);
    }
    let ms = median(&result.startup_ms).unwrap_or(f64::NAN);
    eprintln!(
        "{}: median {ms:.1} ms over {} runs",
        scenario.name,
        result.startup_ms.len()
    );
    result.checks.push(Check::new(
        "startup + `validate` of the example metric file < 20 ms",
        format!("{ms:.1} ms (median of {})", result.startup_ms.len()),
        Some(ms < 20.0),
    ));
    Ok(())
}

/// One unmeasured run fills a fresh cache; the measured runs then find every answer there,
/// on the same endpoint URL (it is part of the cache key).
fn run_warm_cache(bench: &mut Bench, scenario: &Scenario, result: &mut ScenarioResult) -> anyhow::Result<()> {
    let runs = bench.runs;
    let (set, stats) = bench.set(scenario.calls)?;
    result.set = Some(stats);
    let cache = bench.cache_dir();
    let _ = std::fs::remove_dir_all(&cache);
    let server = bench.server(scenario)?;
    let fill = bench.run_once(scenario, &set, scenario.calls, &server, Some(&cache))?;
    progress(scenario, 0, 1, " (filling the cache)", &fill);
    for run in 0..runs {
        let m = bench.run_once(scenario, &set, scenario.calls, &server, Some(&cache))?;
        progress(scenario, run, runs, " (warm)", &m);
        result.runs.push(m);
    }
    Ok(())
}

/// Alternates runs over a set ten times smaller and the full set, so a change in the
/// machine's load hits both.
fn run_scale(bench: &mut Bench, scenario: &Scenario, result: &mut ScenarioResult) -> anyhow::Result<()> {
    let runs = bench.runs;
    let small_calls = (scenario.calls / 10).max(1);
    let (small, _) = bench.set(small_calls)?;
    let (large, stats) = bench.set(scenario.calls)?;
    result.set = Some(stats);
    for run in 0..runs {
        let server = bench.server(scenario)?;
        let m = bench.run_once(scenario, &small, small_calls, &server, None)?;
        progress(scenario, run, runs, &format!(" ({small_calls} calls)"), &m);
        result.small_runs.push(m);
        let server = bench.server(scenario)?;
        let m = bench.run_once(scenario, &large, scenario.calls, &server, None)?;
        progress(scenario, run, runs, &format!(" ({} calls)", scenario.calls), &m);
        result.runs.push(m);
    }
    Ok(())
}

/// Uploads the set to an S3-compatible server on 127.0.0.1 (`bench.s3_server`), then alternates a run over the local
/// directory and one over the bucket, so a change in the machine's load hits both.
fn run_object_store(bench: &mut Bench, scenario: &Scenario, result: &mut ScenarioResult) -> anyhow::Result<()> {
    let runs = bench.runs;
    let (set, stats) = bench.set(scenario.calls)?;
    result.set = Some(stats);
    let s3 = bench.s3_server.start(bench.s3_latency)?;
    let server = match bench.s3_latency.as_millis() {
        0 => bench.s3_server.name().to_string(),
        ms => format!("{} (+{ms} ms a request)", bench.s3_server.name()),
    };
    s3.create_bucket("archive")?;
    let started = std::time::Instant::now();
    let uploaded = upload_set(s3.as_ref(), &set)?;
    anyhow::ensure!(
        uploaded == scenario.calls,
        "uploaded {uploaded} calls, expected {}",
        scenario.calls
    );
    eprintln!(
        "uploaded {uploaded} calls to s3://archive/calls on {server} at {} in {:.1} s",
        s3.endpoint(),
        started.elapsed().as_secs_f64()
    );
    let url = std::ffi::OsString::from("s3://archive/calls");
    let env = s3.env();
    for run in 0..runs {
        let server = bench.server(scenario)?;
        let m = bench.run_once(scenario, &set, scenario.calls, &server, None)?;
        progress(scenario, run, runs, " (local disk)", &m);
        result.small_runs.push(m);
        let server = bench.server(scenario)?;
        let store_before = s3.cpu();
        let m = bench.run_input(scenario, &url, &env, scenario.calls, &server, None)?;
        let note = match (store_before, s3.cpu()) {
            (Some(before), Some(after)) => format!(
                " (s3://; the store's share of the endpoint CPU: {:.2} s)",
                after.saturating_sub(before).as_secs_f64()
            ),
            _ => " (s3://)".to_string(),
        };
        progress(scenario, run, runs, &note, &m);
        result.runs.push(m);
    }
    // The scan alone (`inspect`: each call read once, nothing sent): how much of the
    // difference is the store's own rate.
    let local = bench.inspect_once(set.as_os_str(), &[])?.wall.as_secs_f64();
    let remote = bench.inspect_once(&url, &env)?.wall.as_secs_f64();
    eprintln!(
        "{}: the scan alone (`postcall inspect`) took {remote:.2} s from s3:// on {server} ({:.0} objects/s), {local:.2} s from local disk",
        scenario.name,
        scenario.calls as f64 / remote
    );
    result.checks.push(Check::new(
        "the scan alone (`postcall inspect`, each call read once)",
        format!(
            "{remote:.2} s from s3:// on {server} ({:.0} objects/s), {local:.2} s from local disk",
            scenario.calls as f64 / remote
        ),
        None,
    ));
    Ok(())
}

/// Puts every file under `set` into the `archive` bucket under `calls/`, a few at once
/// (moto takes a few hundred a second); returns how many.
fn upload_set(s3: &(dyn crate::s3::S3Compatible + Sync), set: &std::path::Path) -> anyhow::Result<usize> {
    let mut files = Vec::new();
    let mut dirs = vec![set.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                dirs.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| -> anyhow::Result<()> {
                    while let Some(file) = files.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        let key = file.strip_prefix(set)?.to_string_lossy().replace('\\', "/");
                        s3.put_object("archive", &format!("calls/{key}"), &std::fs::read(file)?)?;
                    }
                    Ok(())
                })
            })
            .collect();
        workers
            .into_iter()
            .try_for_each(|w| w.join().map_err(|_| anyhow::anyhow!("an upload thread panicked"))?)
    })?;
    Ok(files.len())
}

fn progress(scenario: &Scenario, run: usize, runs: usize, note: &str, m: &Measurement) {
    eprintln!(
        "{} run {}/{runs}{note}: {} calls, {} requests ({} answered, {} rate-limited) in {:.2} s; {:.0} req/s sustained, CPU {:.2} s, peak RSS {:.1} MB, endpoint CPU {:.2} s, load {:.2}",
        scenario.name,
        run + 1,
        m.calls,
        m.requests,
        m.answered,
        m.rate_limited,
        m.wall_s,
        m.sustained_rps.unwrap_or(0.0),
        m.cpu_s,
        m.peak_rss_mb,
        m.endpoint_cpu_s,
        m.load_before,
    );
}

/// The targets, applied to the medians (and to the worst run where a bound must
/// hold every time).
fn judge(result: &mut ScenarioResult) {
    let Some(med) = result.median.clone() else { return };
    let s = &result.scenario;
    let n = result.runs.len();
    let failed: usize = result.runs.iter().map(|r| r.failed_calls).sum();
    let mut checks = Vec::new();
    if failed > 0 {
        checks.push(Check::new(
            "every call answered",
            format!("{failed} failed calls over {n} runs"),
            Some(false),
        ));
    }
    match (s.name.as_str(), s.kind) {
        ("overhead", _) => {
            let rps = med.sustained_rps.unwrap_or(0.0);
            checks.push(Check::new(
                format!("latency 0, {}, 5 metrics: ≥ 2,000 requests/s sustained", s.strategy),
                format!(
                    "{rps:.0} req/s sustained, {:.0} over the whole wall time (median of {n}); CPU-bound capacity {:.0} req/s",
                    med.rps,
                    cpu_capacity(&med)
                ),
                Some(rps >= 2000.0),
            ));
        }
        ("latency", _) => checks.push(latency_check(s, &med, n)),
        ("rate-limit", _) => checks.push(rate_limit_check(s, &med, n)),
        (_, Kind::WarmCache) => {
            let most_requests = result.runs.iter().map(|r| r.requests).max().unwrap_or(0);
            checks.push(Check::new(
                format!("warm cache re-run of {} calls: under 5 s, 0 requests", s.calls),
                format!(
                    "{:.2} s, {most_requests} requests (median of {n}; max requests over runs)",
                    med.wall_s
                ),
                Some(med.wall_s < 5.0 && most_requests == 0),
            ));
        }
        (_, Kind::Scale) => checks.extend(scale_checks(result, &med)),
        (_, Kind::ObjectStore) => checks.extend(object_store_checks(result, &med)),
        _ => {}
    }
    result.checks.extend(checks);
}

fn latency_check(s: &Scenario, med: &Medians, n: usize) -> Check {
    let e = med.efficiency.unwrap_or(0.0);
    Check::new(
        format!(
            "latency {} ± {} ms, concurrency {}: efficiency ≥ 0.95",
            s.latency.as_millis(),
            s.jitter.as_millis(),
            s.concurrency
        ),
        format!(
            "{e:.3} while sending, {:.3} over the whole wall time (median of {n})",
            med.wall_efficiency.unwrap_or(0.0)
        ),
        Some(e >= 0.95),
    )
}

/// Reported without a target: how near the limit the throughput stays, and the 429s it cost.
fn rate_limit_check(s: &Scenario, med: &Medians, n: usize) -> Check {
    let limit = s.rate_limit.unwrap_or(0.0);
    Check::new(
        format!(
            "limit {limit:.0} req/s, concurrency {}: throughput near the limit",
            s.concurrency
        ),
        format!(
            "{:.1} req/s sustained = {:.2} of the limit; {:.0} 429s per {:.0} answers (median of {n})",
            med.sustained_rps.unwrap_or(0.0),
            med.efficiency.unwrap_or(0.0),
            med.rate_limited,
            med.requests - med.rate_limited
        ),
        None,
    )
}

/// Peak memory over every run, and time per call against the set ten times smaller.
fn scale_checks(result: &ScenarioResult, med: &Medians) -> Vec<Check> {
    let s = &result.scenario;
    let n = result.runs.len();
    let peak = result.runs.iter().map(|r| r.peak_rss_mb).fold(0.0, f64::max);
    let mut checks = vec![Check::new(
        format!("{} calls: peak RSS ≤ 150 MB", s.calls),
        format!("{peak:.1} MB (largest of {n})"),
        Some(peak <= 150.0),
    )];
    if let Some(small) = &result.small_median {
        let small_calls = result.small_runs.first().map_or(1, |r| r.calls) as f64;
        let per_small = small.wall_s / small_calls;
        let per_large = med.wall_s / s.calls as f64;
        let ratio = per_large / per_small;
        checks.push(Check::new(
            format!("time linear from {small_calls:.0} to {} calls (± 15 %)", s.calls),
            format!(
                "{:.0} µs/call at {small_calls:.0}, {:.0} µs/call at {}: ratio {ratio:.2} (medians of {n})",
                per_small * 1e6,
                per_large * 1e6,
                s.calls
            ),
            Some((0.85..=1.15).contains(&ratio)),
        ));
    }
    checks
}

/// Wall time and peak memory from the bucket against the same calls on local disk.
fn object_store_checks(result: &ScenarioResult, med: &Medians) -> Vec<Check> {
    let Some(local) = &result.small_median else {
        return Vec::new();
    };
    let s = &result.scenario;
    let n = result.runs.len();
    let ratio = med.wall_s / local.wall_s;
    let rss = med.peak_rss_mb / local.peak_rss_mb;
    vec![
        Check::new(
            format!("{} calls from s3://: wall time ≤ 1.5 × local disk", s.calls),
            format!(
                "{:.2} s from s3://, {:.2} s from local disk: {ratio:.2} × (medians of {n}, alternated)",
                med.wall_s, local.wall_s
            ),
            Some(ratio <= 1.5),
        ),
        Check::new(
            format!("{} calls from s3://: peak RSS unchanged (≤ 1.1 × local disk)", s.calls),
            format!(
                "{:.1} MB from s3://, {:.1} MB from local disk: {rss:.2} × (medians of {n})",
                med.peak_rss_mb, local.peak_rss_mb
            ),
            Some(rss <= 1.1),
        ),
    ]
}

/// Requests/s the machine could sustain if postcall and the fake endpoint had every core to
/// themselves: cores ÷ (postcall's CPU + the endpoint's CPU per request). Unlike the measured
/// rate, it does not depend on what else the machine is doing.
pub fn cpu_capacity(med: &Medians) -> f64 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let per_request = med.cpu_s_per_1k_requests.unwrap_or(0.0) / 1000.0 + med.endpoint_cpu_s / med.requests.max(1.0);
    if per_request > 0.0 { cores / per_request } else { 0.0 }
}
