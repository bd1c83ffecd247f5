//! A report with known contents, shared by the unit tests of the writers and readers: six
//! metrics of every kind, three calls covering every status, a failed request, and text
//! that a spreadsheet would take for a formula; and a helper that feeds them to a sink
//! the way the run does.

use std::fs;
use std::path::Path;

use indexmap::IndexMap;

use super::{CallError, CallResult, CsvOptions, MetricResult, OutputFormat, ReportHead, RunHeader, Usage, Value};
use crate::spec::{Metric, MetricKind, Strategy, StructuredOutput};
use crate::transcript::Format;

pub fn metric(id: &str, kind: MetricKind) -> Metric {
    Metric::new(id, kind, format!("What about {id}?"))
}

pub fn metrics() -> Vec<Metric> {
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        Metric {
            required: true,
            description: Some("Used by the ops dashboard.".into()),
            ..metric(
                "call_outcome",
                MetricKind::Enum {
                    choices: strings(&["resolved", "escalated"]),
                },
            )
        },
        metric("satisfaction_score", MetricKind::Integer { range: Some([-5, 5]) }),
        metric(
            "sentiment",
            MetricKind::Number {
                range: Some([-1.0, 1.0]),
            },
        ),
        metric("mentioned_issues", MetricKind::List { choices: None }),
        Metric {
            applies_when: Some("The agent tried to verify the caller.".into()),
            ..metric("caller_authenticated", MetricKind::Boolean)
        },
        metric("notes", MetricKind::String),
    ]
}

pub fn header(calls: usize) -> RunHeader {
    RunHeader {
        version: "0.1.0".into(),
        report_format: super::REPORT_FORMAT_VERSION,
        started_at: "2026-01-02T03:04:05Z".parse().unwrap(),
        finished_at: Some("2026-01-02T03:14:05Z".parse().unwrap()),
        complete: true,
        calls_not_done: 0,
        stopped: None,
        base_url: "http://127.0.0.1:1/v1".into(),
        model: "test-model".into(),
        strategy: Strategy::PerCall,
        structured_output: StructuredOutput::JsonSchema,
        metrics_sha256: "ab".repeat(32),
        calls,
        failed_calls: 1,
        skipped_calls: 0,
        invalid_values: 1,
        usage: Usage {
            requests: 4,
            cached: 1,
            retries: 2,
            prompt_tokens: 1200,
            cached_prompt_tokens: 0,
            completion_tokens: 300,
            cut_off: 0,
        },
        cost_usd: None,
        models: Default::default(),
        service_tier: None,
        metadata: None,
        transcripts: Default::default(),
        input_errors: Vec::new(),
        archive: None,
        shard: None,
        missing_shards: Vec::new(),
        samples: 1,
        confidence: Default::default(),
    }
}

pub fn ok(value: Value, confidence: f64, reasoning: &str) -> MetricResult {
    MetricResult::Ok {
        value,
        confidence: Some(confidence),
        reasoning: Some(reasoning.into()),
        grounds: Default::default(),
    }
}

/// Three calls covering every status, a failed request, and text that looks like formulas.
pub fn calls() -> Vec<CallResult> {
    let mut first = IndexMap::new();
    first.insert(
        "call_outcome".into(),
        ok(Value::Text("resolved".into()), 0.92, "Bill fixed.\nThanks."),
    );
    first.insert(
        "satisfaction_score".into(),
        ok(Value::Int(-3), 0.5, "=HYPERLINK(\"x\")"),
    );
    first.insert("sentiment".into(), ok(Value::Number(-0.25), 0.7, "+mild"));
    first.insert(
        "mentioned_issues".into(),
        ok(
            Value::List(vec!["-router".into(), "billing, \"late\"".into()]),
            0.8,
            "@two issues",
        ),
    );
    first.insert("caller_authenticated".into(), ok(Value::Bool(true), 1.0, "DOB and PIN"));
    first.insert("notes".into(), ok(Value::Text("\tcallback @ 5".into()), 0.4, "\rodd"));

    let mut second = IndexMap::new();
    second.insert(
        "call_outcome".into(),
        MetricResult::Invalid {
            reason: "`call_outcome`: \"fixed\" is not one of: resolved, escalated".into(),
            raw: "{\"value\":\"fixed\"}".into(),
        },
    );
    second.insert(
        "satisfaction_score".into(),
        MetricResult::Null {
            confidence: Some(0.1),
            reasoning: None,
            grounds: Default::default(),
        },
    );
    second.insert(
        "caller_authenticated".into(),
        MetricResult::NotApplicable {
            confidence: None,
            reasoning: Some("No verification.".into()),
            grounds: Default::default(),
        },
    );
    second.insert("mentioned_issues".into(), ok(Value::List(vec![]), 0.9, "none"));

    vec![
        CallResult {
            call_id: "call-001".into(),
            call: None,
            source: "calls/a.json".into(),
            format: Format::Vapi,
            summary: Some("Customer's bill was corrected.".into()),
            metrics: first,
            errors: vec![],
            truncated: None,
            skipped: None,
            usage: Usage {
                requests: 1,
                cached: 0,
                retries: 0,
                prompt_tokens: 400,
                cached_prompt_tokens: 0,
                completion_tokens: 100,
                cut_off: 0,
            },
            cost_usd: None,
        },
        CallResult {
            call_id: "=cmd|' /C calc'!A0".into(),
            call: None,
            source: "calls/b.json".into(),
            format: Format::Generic,
            summary: Some("-".into()),
            metrics: second,
            errors: vec![CallError {
                metric: Some("sentiment".into()),
                message: "endpoint kept failing: 503".into(),
            }],
            truncated: None,
            skipped: None,
            usage: Usage {
                requests: 3,
                cached: 0,
                retries: 2,
                prompt_tokens: 800,
                cached_prompt_tokens: 0,
                completion_tokens: 200,
                cut_off: 0,
            },
            cost_usd: None,
        },
        CallResult {
            call_id: "call-003".into(),
            call: None,
            source: "calls/c.json".into(),
            format: Format::Retell,
            summary: None,
            metrics: IndexMap::new(),
            errors: vec![CallError {
                metric: None,
                message: "-transcript is empty".into(),
            }],
            truncated: None,
            skipped: None,
            usage: Usage {
                cached: 1,
                ..Usage::default()
            },
            cost_usd: None,
        },
    ]
}

/// The report [`write_report`] writes: its final header, the metrics and the calls above.
pub fn written_report() -> super::Report {
    super::Report {
        header: Some(header(3)),
        metrics: metrics(),
        calls: calls(),
    }
}

/// Opens `path` as a run does: checked, then locked and opened.
pub fn open_at(path: &Path, format: OutputFormat, options: &CsvOptions) -> anyhow::Result<Box<dyn super::Sink>> {
    let destinations = super::destination::check_destinations(&[path.to_path_buf()], Some(format), None, &[])?;
    super::open_sink(&destinations[0], options)
}

/// A sink on `path` as a run leaves it before its first call: opened and begun with the
/// metrics above, `head` and (or not) a summary column.
pub fn begun_sink(
    path: &Path,
    format: OutputFormat,
    options: &CsvOptions,
    head: &RunHeader,
    has_summary: bool,
) -> Box<dyn super::Sink> {
    let metrics = metrics();
    let mut sink = open_at(path, format, options).expect("open sink");
    sink.begin(&ReportHead {
        header: head,
        metrics: &metrics,
        has_summary,
    })
    .unwrap();
    sink
}

/// Runs a sink the way the run does: open, `begin`, every call in order, `finish` with the
/// final header. `before_finish` sees the file system mid-run.
pub fn write_report(path: &Path, format: OutputFormat, options: CsvOptions, before_finish: impl FnOnce()) {
    let calls = calls();
    let mut sink = begun_sink(path, format, &options, &header(0), true);
    for call in &calls {
        sink.call(call).unwrap();
    }
    before_finish();
    sink.finish(&header(calls.len())).unwrap();
}

/// The names in `dir`, sorted: to check that no temporary file is left behind.
pub fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every output format with a file named `stem.<its extension>`: for tests that hold for all.
pub fn every_format(stem: &str) -> Vec<(String, OutputFormat)> {
    [
        ("json", OutputFormat::Json),
        ("jsonl", OutputFormat::Jsonl),
        ("csv", OutputFormat::Csv),
        ("xlsx", OutputFormat::Xlsx),
    ]
    .into_iter()
    .map(|(ext, format)| (format!("{stem}.{ext}"), format))
    .collect()
}

/// A sink on `path` as a run leaves it after its first call: opened, begun (the metrics
/// above, a summary, the header of a run just started) and the first call written.
pub fn sink_after_first_call(path: &Path, format: OutputFormat) -> Box<dyn super::Sink> {
    let mut sink = begun_sink(path, format, &CsvOptions::default(), &header(0), true);
    sink.call(&calls()[0]).unwrap();
    sink
}
