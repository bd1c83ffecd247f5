//! The benchmark's scenarios: what each one sets up, how one run is measured, and the
//! target each is judged against.
//!
//! Every run is `postcall run` end to end, as a separate process, against a fresh
//! in-process [`FakeServer`] (the warm-cache scenario keeps one server, since the cache key
//! includes the endpoint's URL). The child's CPU and peak RSS come from `wait4`; requests,
//! bytes and the busy window from the endpoint's counters.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;

use super::child::{self, ChildUsage};
use super::generate::{self, SetStats};
use crate::fake_llm::{FakeConfig, FakeServer};

/// How a scenario exercises postcall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Cold runs (`--no-cache`) against the fake endpoint.
    Cold,
    /// One run fills a cache; the measured re-runs must send nothing.
    WarmCache,
    /// `postcall validate` of the example metric file, many times.
    Startup,
    /// Cold runs over a set ten times smaller, then over the full set: memory and linearity.
    Scale,
    /// Cold runs over the same calls on local disk and in an S3-compatible server on
    /// 127.0.0.1 (see [`S3ServerKind`]), alternated: what reading from a bucket costs.
    ObjectStore,
}

/// The S3-compatible server of the `s3` scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum S3ServerKind {
    /// In memory, in the benchmark's process (s3s over a map of keys): a GET costs the
    /// server next to nothing, so the figures are postcall's client.
    Memory,
    /// s3s-fs (Rust, over a directory; `scripts/install-test-tools.sh --bench`): thousands
    /// of objects a second, at ~370 µs of CPU a GET on the cores postcall runs on.
    S3sFs,
    /// moto (Python; the tests' server): some 260 objects a second here, its own ceiling.
    Moto,
}

impl S3ServerKind {
    pub fn name(self) -> &'static str {
        match self {
            S3ServerKind::Memory => "memory",
            S3ServerKind::S3sFs => "s3s-fs",
            S3ServerKind::Moto => "moto",
        }
    }

    /// Starts one on a free port of 127.0.0.1, each request held `latency` on its way
    /// (not moto: it is reached directly).
    pub fn start(self, latency: std::time::Duration) -> anyhow::Result<Box<dyn crate::s3::S3Compatible + Sync>> {
        Ok(match self {
            S3ServerKind::Memory => Box::new(crate::s3_mem::MemS3Server::start_with_latency(latency)?),
            S3ServerKind::S3sFs => Box::new(crate::s3_fs::FsS3Server::start_with_latency(latency)?),
            S3ServerKind::Moto if !latency.is_zero() => {
                anyhow::bail!("--s3-latency-ms needs --s3-server memory or s3s-fs (moto is reached without a relay)")
            }
            S3ServerKind::Moto => Box::new(crate::s3::S3Server::start()?),
        })
    }
}

/// One scenario, fully resolved (defaults plus the command line's overrides).
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    pub name: String,
    pub what: String,
    pub kind: Kind,
    pub calls: usize,
    pub concurrency: usize,
    pub strategy: String,
    #[serde(serialize_with = "millis")]
    pub latency: Duration,
    #[serde(serialize_with = "millis")]
    pub jitter: Duration,
    pub error_rate: f64,
    pub rate_limit: Option<f64>,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

/// The scenarios run when none is named, then the opt-in ones.
pub const DEFAULT_SCENARIOS: &[&str] = &["startup", "overhead", "latency", "rate-limit", "warm-cache"];
pub const ALL_SCENARIOS: &[&str] = &[
    "startup",
    "overhead",
    "latency",
    "rate-limit",
    "warm-cache",
    "scale",
    "s3",
    "custom",
];

/// A scenario's defaults as the issue defines it: what it measures, calls, concurrency,
/// latency ± jitter in milliseconds and the endpoint's rate limit.
struct Preset {
    name: &'static str,
    what: &'static str,
    kind: Kind,
    calls: usize,
    concurrency: usize,
    latency_ms: u64,
    jitter_ms: u64,
    rate_limit: Option<f64>,
}

/// What most scenarios run: 10k cold calls, 8 at a time, against an endpoint that answers
/// at once and has no rate limit.
const COLD_10K: Preset = Preset {
    name: "",
    what: "",
    kind: Kind::Cold,
    calls: 10_000,
    concurrency: 8,
    latency_ms: 0,
    jitter_ms: 0,
    rate_limit: None,
};

/// Every scenario's defaults, in [`ALL_SCENARIOS`] order: where each differs from [`COLD_10K`].
const PRESETS: &[Preset] = &[
    Preset {
        name: "startup",
        what: "startup + `validate` of metrics.example.yaml",
        kind: Kind::Startup,
        calls: 0,
        concurrency: 0,
        ..COLD_10K
    },
    Preset {
        name: "overhead",
        what: "latency 0: postcall's own cost per request",
        ..COLD_10K
    },
    Preset {
        name: "latency",
        what: "latency 200 ± 50 ms, concurrency 64",
        calls: 3_000,
        concurrency: 64,
        latency_ms: 200,
        jitter_ms: 50,
        ..COLD_10K
    },
    Preset {
        name: "rate-limit",
        what: "endpoint limit 50 req/s, concurrency 256 (adaptive concurrency)",
        calls: 500,
        concurrency: 256,
        latency_ms: 200,
        jitter_ms: 50,
        rate_limit: Some(50.0),
        ..COLD_10K
    },
    Preset {
        name: "warm-cache",
        what: "re-run with every answer cached",
        kind: Kind::WarmCache,
        ..COLD_10K
    },
    Preset {
        name: "scale",
        what: "100k calls at latency 0: peak RSS, and time from 10k to 100k",
        kind: Kind::Scale,
        calls: 100_000,
        ..COLD_10K
    },
    Preset {
        name: "s3",
        what: "10k calls from an S3-compatible server on 127.0.0.1 (in memory, s3s-fs or moto) vs local disk",
        kind: Kind::ObjectStore,
        ..COLD_10K
    },
    Preset {
        name: "custom",
        what: "your parameters",
        calls: 2_000,
        ..COLD_10K
    },
];

/// Parameters the command line may override in every selected scenario.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub calls: Option<usize>,
    pub concurrency: Option<usize>,
    pub strategy: Option<String>,
    pub latency: Option<Duration>,
    pub jitter: Option<Duration>,
    pub error_rate: Option<f64>,
    pub rate_limit: Option<f64>,
}

impl Scenario {
    /// The named scenario with its defaults, then `overrides` applied.
    pub fn named(name: &str, overrides: &Overrides) -> Option<Scenario> {
        let mut s = Scenario::defaults(name)?;
        if s.kind != Kind::Startup {
            s.calls = overrides.calls.unwrap_or(s.calls);
            s.concurrency = overrides.concurrency.unwrap_or(s.concurrency);
            s.strategy = overrides.strategy.clone().unwrap_or(s.strategy);
            s.latency = overrides.latency.unwrap_or(s.latency);
            s.jitter = overrides.jitter.unwrap_or(s.jitter);
            s.error_rate = overrides.error_rate.unwrap_or(s.error_rate);
            s.rate_limit = overrides.rate_limit.or(s.rate_limit);
        }
        Some(s)
    }

    /// The named scenario as the issue defines it (see [`PRESETS`]).
    fn defaults(name: &str) -> Option<Scenario> {
        let preset = PRESETS.iter().find(|p| p.name == name)?;
        Some(Scenario {
            name: name.to_string(),
            what: preset.what.to_string(),
            kind: preset.kind,
            calls: preset.calls,
            concurrency: preset.concurrency,
            strategy: "per_call".into(),
            latency: Duration::from_millis(preset.latency_ms),
            jitter: Duration::from_millis(preset.jitter_ms),
            error_rate: 0.0,
            rate_limit: preset.rate_limit,
        })
    }

    fn fake_config(&self) -> FakeConfig {
        FakeConfig {
            latency: self.latency,
            jitter: self.jitter,
            rate_5xx: self.error_rate,
            rate_limit: self.rate_limit,
            seed: 1,
            ..FakeConfig::default()
        }
    }

    /// Requests per second a perfect client would get: concurrency ÷ mean latency, capped by
    /// the endpoint's rate limit. `None` at latency 0 (no finite ideal).
    pub fn ideal_rps(&self) -> Option<f64> {
        let by_latency = (!self.latency.is_zero()).then(|| self.concurrency as f64 / self.latency.as_secs_f64());
        match (by_latency, self.rate_limit) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// One measured run of `postcall`.
#[derive(Debug, Clone, Serialize)]
pub struct Measurement {
    pub calls: usize,
    /// Chat completion requests the endpoint received (faulted ones included).
    pub requests: u64,
    /// Of those, answered with a 200.
    pub answered: u64,
    pub rate_limited: u64,
    /// Calls in the report with an error (postcall gave up on them).
    pub failed_calls: usize,
    pub wall_s: f64,
    /// From the endpoint's first request to its last reply.
    pub busy_s: Option<f64>,
    /// Answered requests ÷ wall time (startup, scan and shutdown included).
    pub rps: f64,
    /// Answered requests ÷ busy window: the rate postcall sustains once it is sending.
    pub sustained_rps: Option<f64>,
    /// sustained_rps ÷ ideal_rps.
    pub efficiency: Option<f64>,
    /// rps ÷ ideal_rps, the same over the whole wall time.
    pub wall_efficiency: Option<f64>,
    pub cpu_s: f64,
    pub cpu_s_per_1k_requests: Option<f64>,
    pub peak_rss_mb: f64,
    /// Request body bytes the endpoint received, per call.
    pub bytes_sent_per_call: f64,
    /// CPU the in-process fake endpoint used (the bench process, minus nothing else).
    pub endpoint_cpu_s: f64,
    /// 1-minute load average when the run started: other work on the machine.
    pub load_before: f64,
    pub exit_code: i32,
}

/// The benchmark's working state: where postcall is, the temp dir, the generated sets.
pub struct Bench {
    pub postcall: PathBuf,
    pub work: tempfile::TempDir,
    pub seed: u64,
    pub runs: usize,
    /// The server the `s3` scenario reads from.
    pub s3_server: S3ServerKind,
    /// How long each of its requests is held on the way (a store across a network).
    pub s3_latency: std::time::Duration,
    sets: HashMap<usize, (PathBuf, SetStats)>,
    metrics: PathBuf,
    example_metrics: PathBuf,
}

impl Bench {
    pub fn new(postcall: PathBuf, work: tempfile::TempDir, seed: u64, runs: usize) -> anyhow::Result<Bench> {
        let metrics = work.path().join("metrics.yaml");
        std::fs::write(&metrics, generate::METRICS_YAML)?;
        let example_metrics = work.path().join("metrics.example.yaml");
        // The repository's example, which the startup target is about.
        std::fs::write(&example_metrics, include_str!("../../../../metrics.example.yaml"))?;
        Ok(Bench {
            postcall,
            work,
            seed,
            runs,
            s3_server: S3ServerKind::Memory,
            s3_latency: std::time::Duration::ZERO,
            sets: HashMap::new(),
            metrics,
            example_metrics,
        })
    }

    /// The directory holding `calls` generated calls (generated on first use).
    pub fn set(&mut self, calls: usize) -> anyhow::Result<(PathBuf, SetStats)> {
        if let Some(set) = self.sets.get(&calls) {
            return Ok(set.clone());
        }
        let dir = self.work.path().join(format!("calls-{calls}"));
        let started = std::time::Instant::now();
        let stats = generate::write_calls(&dir, calls, self.seed)
            .with_context(|| format!("cannot write synthetic calls under {}", dir.display()))?;
        eprintln!(
            "generated {calls} calls ({:.0} MB; transcript median {:.1} KB, {:.1} % over 30 KB, {} at 100 KB) in {:.1} s",
            stats.file_bytes as f64 / 1e6,
            stats.median_chars as f64 / 1e3,
            stats.share_over_30k * 100.0,
            stats.at_100k,
            started.elapsed().as_secs_f64()
        );
        self.sets.insert(calls, (dir.clone(), stats.clone()));
        Ok((dir, stats))
    }

    /// `postcall run` over `set` against `server`, measured.
    pub fn run_once(
        &self,
        scenario: &Scenario,
        set: &Path,
        calls: usize,
        server: &FakeServer,
        cache: Option<&Path>,
    ) -> anyhow::Result<Measurement> {
        self.run_input(scenario, set.as_os_str(), &[], calls, server, cache)
    }

    /// `postcall run` over `input` (a directory, or a bucket's URL with `env` to reach it)
    /// against `server`, measured.
    pub fn run_input(
        &self,
        scenario: &Scenario,
        input: &std::ffi::OsStr,
        env: &[(&str, String)],
        calls: usize,
        server: &FakeServer,
        cache: Option<&Path>,
    ) -> anyhow::Result<Measurement> {
        let set = input;
        let report = self.work.path().join("report.jsonl");
        let stderr_path = self.work.path().join("postcall.stderr");
        let mut cmd = self.postcall_command();
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd.arg("run")
            .arg("-m")
            .arg(&self.metrics)
            .arg(set)
            .arg("-o")
            .arg(&report)
            .args(["--quiet", "--model", "bench", "--base-url", &server.base_url()])
            .args(["--concurrency", &scenario.concurrency.to_string()])
            .args(["--strategy", &scenario.strategy]);
        match cache {
            Some(dir) => cmd.arg("--cache-dir").arg(dir),
            None => cmd.arg("--no-cache"),
        };
        let stderr = Stdio::from(std::fs::File::create(&stderr_path)?);

        let stats = server.stats();
        let before = Counters::read(server);
        let load_before = load_average();
        let cpu_before = child::own_cpu();
        let usage = self.measure(&cmd, stderr).context("cannot start postcall")?;
        let endpoint_cpu = child::own_cpu().saturating_sub(cpu_before);
        let after = Counters::read(server);
        let delta = after.minus(&before);
        let busy = if cache.is_some() { None } else { stats.busy_window() };

        let failed_calls = check_report(&report, calls).with_context(|| {
            format!(
                "postcall exited {} and its report is not whole; its stderr:\n{}",
                usage.exit_code,
                tail(&stderr_path, 20)
            )
        })?;
        Ok(measure(
            scenario,
            calls,
            &usage,
            &delta,
            busy,
            endpoint_cpu,
            load_before,
            failed_calls,
        ))
    }

    /// `postcall inspect INPUT` (the scan alone: every call read once), measured.
    pub fn inspect_once(&self, input: &std::ffi::OsStr, env: &[(&str, String)]) -> anyhow::Result<ChildUsage> {
        let mut cmd = self.postcall_command();
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        cmd.arg("inspect").arg(input);
        let usage = self.measure(&cmd, Stdio::null())?;
        anyhow::ensure!(usage.exit_code == 0, "postcall inspect exited {}", usage.exit_code);
        Ok(usage)
    }

    /// `postcall validate metrics.example.yaml`, measured.
    pub fn validate_once(&self) -> anyhow::Result<ChildUsage> {
        let mut cmd = self.postcall_command();
        cmd.arg("validate").arg(&self.example_metrics);
        let usage = self.measure(&cmd, Stdio::null())?;
        anyhow::ensure!(usage.exit_code == 0, "postcall validate exited {}", usage.exit_code);
        Ok(usage)
    }

    /// Runs `cmd` through this binary's measuring wrapper (see [`child::run_measured_clean`]).
    fn measure(&self, cmd: &Command, stderr: Stdio) -> std::io::Result<ChildUsage> {
        let me = std::env::current_exe()?;
        child::run_measured_clean(&me, cmd, &self.work.path().join("usage.txt"), Stdio::null(), stderr)
    }

    /// A `postcall` command that cannot pick up the user's endpoint, keys or proxies.
    fn postcall_command(&self) -> Command {
        let mut cmd = Command::new(&self.postcall);
        cmd.current_dir(self.work.path());
        for (key, _) in std::env::vars_os() {
            let Some(key) = key.to_str() else { continue };
            if key.starts_with("POSTCALL_") || key.ends_with("_API_KEY") || key.to_ascii_lowercase().contains("proxy") {
                cmd.env_remove(key);
            }
        }
        cmd.env("XDG_CACHE_HOME", self.work.path().join(".xdg-cache"));
        cmd
    }

    /// A cache directory of its own for the warm-cache scenario.
    pub fn cache_dir(&self) -> PathBuf {
        self.work.path().join("cache")
    }

    /// Starts a fake endpoint with this scenario's latency, jitter, errors and limit.
    pub fn server(&self, scenario: &Scenario) -> anyhow::Result<FakeServer> {
        FakeServer::start(scenario.fake_config()).context("cannot start the fake endpoint on 127.0.0.1")
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Counters {
    requests: u64,
    answered: u64,
    rate_limited: u64,
    bytes: u64,
}

impl Counters {
    fn read(server: &FakeServer) -> Counters {
        let s = server.stats();
        Counters {
            requests: s.requests.load(Ordering::Relaxed),
            answered: s.answered.load(Ordering::Relaxed),
            rate_limited: s.rate_limited.load(Ordering::Relaxed),
            bytes: s.bytes_received.load(Ordering::Relaxed),
        }
    }

    fn minus(&self, before: &Counters) -> Counters {
        Counters {
            requests: self.requests - before.requests,
            answered: self.answered - before.answered,
            rate_limited: self.rate_limited - before.rate_limited,
            bytes: self.bytes - before.bytes,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn measure(
    scenario: &Scenario,
    calls: usize,
    usage: &ChildUsage,
    delta: &Counters,
    busy: Option<Duration>,
    endpoint_cpu: Duration,
    load_before: f64,
    failed_calls: usize,
) -> Measurement {
    let wall = usage.wall.as_secs_f64();
    let answered = delta.answered as f64;
    let rps = answered / wall;
    let sustained_rps = busy.filter(|b| !b.is_zero()).map(|b| answered / b.as_secs_f64());
    let ideal = scenario.ideal_rps();
    Measurement {
        calls,
        requests: delta.requests,
        answered: delta.answered,
        rate_limited: delta.rate_limited,
        failed_calls,
        wall_s: wall,
        busy_s: busy.map(|b| b.as_secs_f64()),
        rps,
        sustained_rps,
        efficiency: sustained_rps.zip(ideal).map(|(a, i)| a / i),
        wall_efficiency: ideal.map(|i| rps / i),
        cpu_s: usage.cpu().as_secs_f64(),
        cpu_s_per_1k_requests: (delta.requests > 0).then(|| usage.cpu().as_secs_f64() * 1000.0 / delta.requests as f64),
        peak_rss_mb: usage.max_rss as f64 / (1024.0 * 1024.0),
        bytes_sent_per_call: delta.bytes as f64 / calls.max(1) as f64,
        endpoint_cpu_s: endpoint_cpu.as_secs_f64(),
        load_before,
        exit_code: usage.exit_code,
    }
}

/// Checks the JSONL report has one line per call (besides its run-header lines) and counts
/// calls with errors.
fn check_report(path: &Path, calls: usize) -> anyhow::Result<usize> {
    let text = std::fs::read_to_string(path).with_context(|| format!("no report at {}", path.display()))?;
    let mut lines = 0;
    let mut failed = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let call: serde_json::Value = serde_json::from_str(line).context("a report line is not JSON")?;
        if call.get("postcall").is_some() {
            continue;
        }
        lines += 1;
        if call["errors"].as_array().is_some_and(|e| !e.is_empty()) {
            failed += 1;
        }
    }
    anyhow::ensure!(lines == calls, "the report has {lines} calls, expected {calls}");
    Ok(failed)
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// The 1-minute load average, or 0 where /proc is missing.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The median of `values` (the mean of the middle two for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ideal_rate_is_concurrency_over_latency_capped_by_the_limit() {
        let o = Overrides::default();
        assert_eq!(Scenario::named("latency", &o).unwrap().ideal_rps(), Some(320.0));
        assert_eq!(Scenario::named("rate-limit", &o).unwrap().ideal_rps(), Some(50.0));
        assert_eq!(Scenario::named("overhead", &o).unwrap().ideal_rps(), None);
        assert!(Scenario::named("nope", &o).is_none());
        for name in ALL_SCENARIOS {
            assert!(Scenario::named(name, &o).is_some(), "{name}");
        }
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
