//! The end-of-run table on stderr.
//!
//! [`SummaryCounts`] is fed every call by the writer thread, so it holds counters only: one
//! row per metric and a few totals, whatever the number of calls. [`render_summary`] turns
//! them and the run header into plain aligned text (no colour, so it reads the same in a
//! terminal, a CI log or a file).

use std::fmt::Write as _;
use std::time::Duration;

use indexmap::IndexMap;

use super::{CallResult, MetricResult, RunHeader, StopReason};
use crate::spec::Metric;

/// How one metric's answers ended up, over all calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    pub ok: u64,
    pub null: u64,
    pub not_applicable: u64,
    pub invalid: u64,
    /// No result at all: the request for it failed (the call's `errors` say why).
    pub missing: u64,
    /// `ok` values none of whose quotes was found in the transcript (part of `ok`).
    pub unverified: u64,
}

/// Running totals for the summary table; O(metrics) memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryCounts {
    metrics: IndexMap<String, StatusCounts>,
    calls: u64,
    failed_calls: u64,
    skipped_calls: u64,
    truncated_calls: u64,
}

impl SummaryCounts {
    /// Counters for these metrics; results for other ids are not counted.
    pub fn new(metrics: &[Metric]) -> SummaryCounts {
        let metrics = metrics
            .iter()
            .map(|m| (m.id.clone(), StatusCounts::default()))
            .collect();
        SummaryCounts {
            metrics,
            calls: 0,
            failed_calls: 0,
            skipped_calls: 0,
            truncated_calls: 0,
        }
    }

    pub fn add(&mut self, call: &CallResult) {
        self.calls += 1;
        if call.failed() {
            self.failed_calls += 1;
        }
        if call.truncated.is_some() {
            self.truncated_calls += 1;
        }
        // A skipped call was not asked: its metrics are not missing, there are none.
        if call.skipped.is_some() {
            self.skipped_calls += 1;
            return;
        }
        for (id, counts) in &mut self.metrics {
            let slot = match call.metrics.get(id) {
                None => &mut counts.missing,
                Some(MetricResult::Ok { .. }) => &mut counts.ok,
                Some(MetricResult::Null { .. }) => &mut counts.null,
                Some(MetricResult::NotApplicable { .. }) => &mut counts.not_applicable,
                Some(MetricResult::Invalid { .. }) => &mut counts.invalid,
            };
            *slot += 1;
            if call
                .metrics
                .get(id)
                .and_then(MetricResult::grounds)
                .is_some_and(|g| g.evidence_unverified)
            {
                counts.unverified += 1;
            }
        }
    }

    pub fn metric(&self, id: &str) -> Option<&StatusCounts> {
        self.metrics.get(id)
    }

    pub fn calls(&self) -> u64 {
        self.calls
    }

    pub fn failed_calls(&self) -> u64 {
        self.failed_calls
    }

    /// Calls left out on purpose (`--long-calls skip`).
    pub fn skipped_calls(&self) -> u64 {
        self.skipped_calls
    }

    /// Calls asked about with part of the transcript cut (`--long-calls truncate`).
    pub fn truncated_calls(&self) -> u64 {
        self.truncated_calls
    }

    /// Invalid answers over all metrics (for `--strict` and the header).
    pub fn invalid_values(&self) -> u64 {
        self.metrics.values().map(|c| c.invalid).sum()
    }

    /// `ok` values flagged for evidence not found, over all metrics.
    pub fn unverified_values(&self) -> u64 {
        self.metrics.values().map(|c| c.unverified).sum()
    }

    /// Results with no value at all (for `--strict`).
    pub fn missing_values(&self) -> u64 {
        self.metrics.values().map(|c| c.missing).sum()
    }
}

/// The end-of-run table: per-metric counts (in `metrics` order), then the run's totals.
/// Cost is `unknown` when no price was configured, never `$0`.
pub fn render_summary(metrics: &[Metric], calls: &SummaryCounts, header: &RunHeader, elapsed: Duration) -> String {
    let mut out = metric_table(metrics, calls);
    let mut totals = call_totals(metrics, calls, header);
    totals.extend(request_totals(header));
    totals.push(("wall time", wall_time(elapsed)));
    let width = totals.iter().map(|(label, _)| label.len()).max().unwrap_or(0);
    for (label, value) in totals {
        let _ = writeln!(out, "{label:<width$}  {value}");
    }
    out
}

/// One row per metric with its answers by status, columns aligned, and a blank line after;
/// nothing for a run without metrics.
fn metric_table(metrics: &[Metric], calls: &SummaryCounts) -> String {
    let mut out = String::new();
    if metrics.is_empty() {
        return out;
    }
    let mut rows = vec![["metric", "ok", "null", "n/a", "invalid", "missing"].map(String::from)];
    for metric in metrics {
        let c = calls.metric(&metric.id).copied().unwrap_or_default();
        rows.push([
            metric.id.clone(),
            grouped(c.ok),
            grouped(c.null),
            grouped(c.not_applicable),
            grouped(c.invalid),
            grouped(c.missing),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|col| rows.iter().map(|r| r[col].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let mut line = format!("{:<w$}", row[0], w = widths[0]);
        for (cell, width) in row.iter().zip(&widths).skip(1) {
            let _ = write!(line, "  {cell:>width$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push('\n');
    out
}

/// What became of the calls: done and failed always; skipped, truncated, not done,
/// unreadable and unverified only when there are any, each saying where to look.
fn call_totals(metrics: &[Metric], calls: &SummaryCounts, header: &RunHeader) -> Vec<(&'static str, String)> {
    let mut totals = vec![
        ("calls done", grouped(calls.calls())),
        ("calls failed", grouped(calls.failed_calls())),
    ];
    if calls.skipped_calls() > 0 {
        totals.push((
            "calls skipped",
            format!("{} (--long-calls skip)", grouped(calls.skipped_calls())),
        ));
    }
    if calls.truncated_calls() > 0 {
        totals.push((
            "calls truncated",
            format!(
                "{} (--long-calls truncate; the report says what was cut)",
                grouped(calls.truncated_calls())
            ),
        ));
    }
    if !header.complete {
        let why = match header.stopped {
            Some(StopReason::Interrupted) => "interrupted",
            Some(StopReason::EndpointRefused) => "stopped: endpoint refused",
            Some(StopReason::BudgetReached) => "stopped: budget reached",
            None => "the run did not finish",
        };
        // A run stopped before its scan reached the end of the inputs knows only the calls
        // found so far: the rest of the archive is not done either.
        let more = if header.archive.is_none() { "+" } else { "" };
        totals.push((
            "not done",
            format!("{}{more} ({why})", grouped(header.calls_not_done as u64)),
        ));
    }
    if !header.input_errors.is_empty() {
        totals.push(("unreadable files", grouped(header.input_errors.len() as u64)));
    }
    if calls.unverified_values() > 0 {
        let by_metric: Vec<String> = metrics
            .iter()
            .filter_map(|m| {
                calls
                    .metric(&m.id)
                    .filter(|c| c.unverified > 0)
                    .map(|c| format!("{} {}", m.id, c.unverified))
            })
            .collect();
        totals.push((
            "unverified",
            format!(
                "{} ok value(s) cite no quote found in the transcript ({}; `evidence_unverified` in the report)",
                grouped(calls.unverified_values()),
                by_metric.join(", ")
            ),
        ));
    }
    totals
}

/// What the run asked and paid: requests, tokens, cut-off answers, the cost, and the cost
/// by model when more than one answered.
fn request_totals(header: &RunHeader) -> Vec<(&'static str, String)> {
    let usage = &header.usage;
    let mut totals = vec![
        ("requests", grouped(usage.requests)),
        ("cached", grouped(usage.cached)),
        ("retries", grouped(usage.retries)),
        ("prompt tokens", prompt_tokens(usage)),
        ("completion tokens", grouped(usage.completion_tokens)),
    ];
    if usage.cut_off > 0 {
        totals.push((
            "cut off",
            format!(
                "{} answer(s) at the token limit, the rest re-asked (--max-tokens, --answer-limits)",
                grouped(usage.cut_off)
            ),
        ));
    }
    totals.push(("cost", cost(header.cost_usd)));
    if header.models.len() > 1 {
        for (model, part) in &header.models {
            totals.push((
                "  by model",
                format!(
                    "{model}: {} requests, {} tokens, {}",
                    grouped(part.usage.requests),
                    grouped(part.usage.prompt_tokens + part.usage.completion_tokens),
                    cost(part.cost_usd)
                ),
            ));
        }
    }
    totals
}

/// Prompt tokens, with the part the provider served from its prompt cache when there is one.
fn prompt_tokens(usage: &crate::report::Usage) -> String {
    match usage.cached_prompt_tokens {
        0 => grouped(usage.prompt_tokens),
        cached => format!(
            "{} ({} of them cached by the provider, priced at the cached rate)",
            grouped(usage.prompt_tokens),
            grouped(cached)
        ),
    }
}

/// `1234567` → `1,234,567`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn cost(usd: Option<f64>) -> String {
    match usd {
        None => "unknown (no price configured)".to_string(),
        // Small runs cost fractions of a cent; two decimals would print $0.00.
        Some(usd) if usd < 1.0 => format!("${usd:.4}"),
        Some(usd) => format!("${usd:.2}"),
    }
}

fn wall_time(elapsed: Duration) -> String {
    let secs = elapsed.as_secs();
    match secs {
        0..60 => format!("{:.1}s", elapsed.as_secs_f64()),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m {:02}s", secs / 3600, secs / 60 % 60, secs % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testing::{calls, header, metrics};

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1234567), "1,234,567");
    }

    #[test]
    fn cost_is_unknown_never_zero() {
        assert_eq!(cost(None), "unknown (no price configured)");
        assert_eq!(cost(Some(0.0)), "$0.0000");
        assert_eq!(cost(Some(0.01234)), "$0.0123");
        assert_eq!(cost(Some(12.5)), "$12.50");
    }

    #[test]
    fn wall_time_units() {
        assert_eq!(wall_time(Duration::from_millis(400)), "0.4s");
        assert_eq!(wall_time(Duration::from_secs(245)), "4m 05s");
        assert_eq!(wall_time(Duration::from_secs(3723)), "1h 02m 03s");
    }

    #[test]
    fn summary_table_counts_every_status() {
        let metrics = metrics();
        let mut counts = SummaryCounts::new(&metrics);
        for call in &calls() {
            counts.add(call);
        }
        assert_eq!(
            (counts.calls(), counts.failed_calls(), counts.invalid_values()),
            (3, 2, 1)
        );
        let table = render_summary(&metrics, &counts, &header(3), Duration::from_secs(75));
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "metric                ok  null  n/a  invalid  missing");
        assert_eq!(lines[1], "call_outcome           1     0    0        1        1");
        assert_eq!(lines[3], "sentiment              1     0    0        0        2");
        assert_eq!(lines[5], "caller_authenticated   1     0    1        0        1");
        for expected in [
            "calls done         3",
            "calls failed       2",
            "requests           4",
            "cached             1",
            "retries            2",
            "prompt tokens      1,200",
            "completion tokens  300",
            "cost               unknown (no price configured)",
            "wall time          1m 15s",
        ] {
            assert!(lines.contains(&expected), "missing {expected:?} in\n{table}");
        }
    }

    /// The archive of a run whose scan read every input.
    fn read_to_the_end(calls: usize) -> Option<crate::shard::Archive> {
        Some(crate::shard::Archive {
            calls,
            fingerprint: "blake3:00".into(),
        })
    }

    #[test]
    fn summary_table_shows_a_priced_interrupted_run() {
        let metrics = metrics();
        let counts = SummaryCounts::new(&metrics);
        let header = RunHeader {
            complete: false,
            calls_not_done: 1500,
            stopped: Some(StopReason::Interrupted),
            cost_usd: Some(0.5),
            archive: read_to_the_end(1600),
            ..header(0)
        };
        let table = render_summary(&metrics, &counts, &header, Duration::from_millis(1500));
        assert!(table.contains("not done           1,500 (interrupted)"), "{table}");
        assert!(table.contains("cost               $0.5000"), "{table}");
        assert!(table.contains("wall time          1.5s"), "{table}");

        // Interrupted before the scan had read every input: 1,500 is what it had found.
        let early = RunHeader {
            archive: None,
            ..header
        };
        let table = render_summary(&metrics, &counts, &early, Duration::from_millis(1500));
        assert!(table.contains("not done           1,500+ (interrupted)"), "{table}");
    }

    #[test]
    fn a_run_the_endpoint_refused_says_so_not_interrupted() {
        let metrics = metrics();
        let counts = SummaryCounts::new(&metrics);
        let header = RunHeader {
            complete: false,
            calls_not_done: 4,
            stopped: Some(StopReason::EndpointRefused),
            archive: read_to_the_end(10),
            ..header(0)
        };
        let table = render_summary(&metrics, &counts, &header, Duration::from_millis(1500));
        assert!(
            table.contains("not done           4 (stopped: endpoint refused)"),
            "{table}"
        );
        assert!(!table.contains("interrupted"), "{table}");
    }
}
