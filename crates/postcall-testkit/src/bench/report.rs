//! The benchmark's output: a markdown table people can read and paste, and JSON for
//! machines. Figures are medians over the runs; the JSON also holds every run.

use std::fmt::Write;

use serde::Serialize;

use super::ScenarioResult;
use super::scenario::Kind;

/// Everything one benchmark invocation measured.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    pub postcall_version: String,
    pub cpus: usize,
    pub runs: usize,
    pub seed: u64,
    pub command: String,
    pub total_seconds: f64,
    pub scenarios: Vec<ScenarioResult>,
}

impl BenchReport {
    /// `true` when no target was missed.
    pub fn all_passed(&self) -> bool {
        self.scenarios
            .iter()
            .flat_map(|s| &s.checks)
            .all(|c| c.pass != Some(false))
    }
}

/// The scenarios as a markdown table, then each target with its verdict.
pub fn render_markdown(report: &BenchReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} on {} CPUs; medians of {} runs; `{}` ({:.0} s)\n",
        report.postcall_version, report.cpus, report.runs, report.command, report.total_seconds
    );
    out.push_str(
        "| scenario | calls | -j | endpoint | requests | wall s | req/s (wall) | req/s (sustained) | efficiency | CPU s / 1k req | peak RSS MB | bytes sent / call | endpoint CPU s |\n",
    );
    out.push_str("| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for s in &report.scenarios {
        let sc = &s.scenario;
        if sc.kind == Kind::Startup {
            let ms = super::scenario::median(&s.startup_ms).unwrap_or(f64::NAN);
            let _ = writeln!(
                out,
                "| {} | – | – | – | 0 | {:.3} | – | – | – | – | – | – | – |",
                sc.name,
                ms / 1000.0
            );
            continue;
        }
        let endpoint = endpoint_text(sc);
        if let (Some(m), Some(first)) = (&s.small_median, s.small_runs.first()) {
            let name = if sc.kind == Kind::ObjectStore {
                format!("{} (local disk)", sc.name)
            } else {
                sc.name.clone()
            };
            let _ = writeln!(out, "{}", row(&name, first.calls, sc.concurrency, &endpoint, m));
        }
        if let Some(m) = &s.median {
            let name = match sc.kind {
                Kind::WarmCache => format!("{} (re-run)", sc.name),
                Kind::ObjectStore => format!("{} (s3://)", sc.name),
                _ => sc.name.clone(),
            };
            let _ = writeln!(out, "{}", row(&name, sc.calls, sc.concurrency, &endpoint, m));
        }
    }
    out.push_str("\n| target | measured | result |\n| --- | --- | --- |\n");
    for check in report.scenarios.iter().flat_map(|s| &s.checks) {
        let verdict = match check.pass {
            Some(true) => "pass",
            Some(false) => "**miss**",
            None => "(no target)",
        };
        let _ = writeln!(out, "| {} | {} | {verdict} |", check.target, check.measured);
    }
    out
}

fn endpoint_text(sc: &super::scenario::Scenario) -> String {
    let mut text = if sc.latency.is_zero() {
        "latency 0".to_string()
    } else if sc.jitter.is_zero() {
        format!("{} ms", sc.latency.as_millis())
    } else {
        format!("{} ± {} ms", sc.latency.as_millis(), sc.jitter.as_millis())
    };
    if let Some(limit) = sc.rate_limit {
        let _ = write!(text, ", limit {limit} req/s");
    }
    if sc.error_rate > 0.0 {
        let _ = write!(text, ", {:.1} % 5xx", sc.error_rate * 100.0);
    }
    if sc.strategy != "per_call" {
        let _ = write!(text, ", {}", sc.strategy);
    }
    text
}

fn row(name: &str, calls: usize, concurrency: usize, endpoint: &str, m: &super::Medians) -> String {
    let opt = |v: Option<f64>, digits: usize| v.map_or("–".to_string(), |v| format!("{v:.digits$}"));
    format!(
        "| {name} | {calls} | {concurrency} | {endpoint} | {:.0} | {:.2} | {:.0} | {} | {} | {} | {:.1} | {:.0} | {:.2} |",
        m.requests,
        m.wall_s,
        m.rps,
        opt(m.sustained_rps, 0),
        opt(m.efficiency, 3),
        opt(m.cpu_s_per_1k_requests, 3),
        m.peak_rss_mb,
        m.bytes_sent_per_call,
        m.endpoint_cpu_s,
    )
}
