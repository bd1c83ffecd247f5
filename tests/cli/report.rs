//! Report writers, as the run uses them: open every sink first, `begin`, feed calls in
//! order, `finish` with the final header; then read the files back the way `diff`, `eval`,
//! a spreadsheet or a pipeline would.

use std::fs;
use std::path::Path;

use indexmap::IndexMap;
use postcall::report::summary::SummaryCounts;
use postcall::report::{
    CallError, CallResult, CsvOptions, MetricResult, OutputFormat, Report, ReportHead, RunHeader, Usage, Value,
    format_for_path, open_sink, read_report, render_summary,
};
use postcall::spec::{Metric, MetricKind, Strategy, StructuredOutput};
use postcall::transcript::Format;

use crate::common::TestDir;

fn metric(id: &str, kind: MetricKind) -> Metric {
    Metric {
        id: id.to_string(),
        kind,
        prompt: format!("What about {id}?"),
        required: false,
        description: None,
        applies_when: None,
        model: None,
        expect: None,
    }
}

fn metrics() -> Vec<Metric> {
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

fn header(calls: usize) -> RunHeader {
    RunHeader {
        version: "0.1.0".into(),
        report_format: postcall::report::REPORT_FORMAT_VERSION,
        started_at: "2026-01-02T03:04:05Z".parse().unwrap(),
        finished_at: Some("2026-01-02T03:14:05Z".parse().unwrap()),
        complete: true,
        calls_not_done: 0,
        base_url: "http://127.0.0.1:1/v1".into(),
        model: "test-model".into(),
        strategy: Strategy::PerCall,
        structured_output: StructuredOutput::JsonSchema,
        metrics_sha256: "ab".repeat(32),
        calls,
        failed_calls: 1,
        invalid_values: 1,
        usage: Usage {
            requests: 4,
            cached: 1,
            retries: 2,
            prompt_tokens: 1200,
            completion_tokens: 300,
        },
        cost_usd: None,
        input_errors: Vec::new(),
    }
}

fn ok(value: Value, confidence: f64, reasoning: &str) -> MetricResult {
    MetricResult::Ok {
        value,
        confidence: Some(confidence),
        reasoning: Some(reasoning.into()),
    }
}

/// Three calls covering every status, a failed request, and text that looks like formulas.
fn calls() -> Vec<CallResult> {
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
        },
    );
    second.insert(
        "caller_authenticated".into(),
        MetricResult::NotApplicable {
            confidence: None,
            reasoning: Some("No verification.".into()),
        },
    );
    second.insert("mentioned_issues".into(), ok(Value::List(vec![]), 0.9, "none"));

    vec![
        CallResult {
            call_id: "call-001".into(),
            source: "calls/a.json".into(),
            format: Format::Vapi,
            summary: Some("Customer's bill was corrected.".into()),
            metrics: first,
            errors: vec![],
            usage: Usage {
                requests: 1,
                cached: 0,
                retries: 0,
                prompt_tokens: 400,
                completion_tokens: 100,
            },
        },
        CallResult {
            call_id: "=cmd|' /C calc'!A0".into(),
            source: "calls/b.json".into(),
            format: Format::Generic,
            summary: Some("-".into()),
            metrics: second,
            errors: vec![CallError {
                metric: Some("sentiment".into()),
                message: "endpoint kept failing: 503".into(),
            }],
            usage: Usage {
                requests: 3,
                cached: 0,
                retries: 2,
                prompt_tokens: 800,
                completion_tokens: 200,
            },
        },
        CallResult {
            call_id: "call-003".into(),
            source: "calls/c.json".into(),
            format: Format::Retell,
            summary: None,
            metrics: IndexMap::new(),
            errors: vec![CallError {
                metric: None,
                message: "-transcript is empty".into(),
            }],
            usage: Usage {
                cached: 1,
                ..Usage::default()
            },
        },
    ]
}

/// Runs a sink the way the run does; `before_finish` sees the file system mid-run.
fn write_report(path: &Path, format: OutputFormat, options: CsvOptions, before_finish: impl FnOnce()) {
    let metrics = metrics();
    let calls = calls();
    let mut sink = open_sink(path, format, &options).expect("open sink");
    let head = header(0);
    sink.begin(&ReportHead {
        header: &head,
        metrics: &metrics,
        has_summary: true,
    })
    .unwrap();
    for call in &calls {
        sink.call(call).unwrap();
    }
    before_finish();
    sink.finish(&header(calls.len())).unwrap();
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn json_report_round_trips_through_read_report() {
    let t = TestDir::new();
    let path = t.join("report.json");
    write_report(&path, OutputFormat::Json, CsvOptions::default(), || {});
    let read = read_report(&path).unwrap();
    assert_eq!(
        read,
        Report {
            postcall: header(3),
            metrics: metrics(),
            calls: calls()
        }
    );
    assert_eq!(dir_entries(t.path()), ["report.json"], "temporary files are cleaned up");
}

#[test]
fn json_report_keys_come_in_documented_order() {
    let t = TestDir::new();
    let path = t.join("report.json");
    write_report(&path, OutputFormat::Json, CsvOptions::default(), || {});
    let doc: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["postcall", "metrics", "calls"]);
    assert_eq!(doc["metrics"][0]["type"], "enum");
    assert_eq!(doc["calls"][0]["metrics"]["call_outcome"]["status"], "ok");
    assert_eq!(
        doc["calls"][1]["metrics"]["caller_authenticated"]["status"],
        "not_applicable"
    );
}

#[test]
fn json_report_with_no_calls_is_valid() {
    let t = TestDir::new();
    let path = t.join("empty.json");
    let metrics = metrics();
    let mut sink = open_sink(&path, OutputFormat::Json, &CsvOptions::default()).unwrap();
    sink.begin(&ReportHead {
        header: &header(0),
        metrics: &metrics,
        has_summary: false,
    })
    .unwrap();
    sink.finish(&header(0)).unwrap();
    let read = read_report(&path).unwrap();
    assert!(read.calls.is_empty());
    assert_eq!(read.metrics, metrics);
}

#[test]
fn json_destination_appears_only_at_finish() {
    let t = TestDir::new();
    let path = t.join("new.json");
    write_report(&path, OutputFormat::Json, CsvOptions::default(), || {
        assert!(!path.exists())
    });
    assert!(path.exists());
}

#[test]
fn json_existing_destination_is_untouched_until_finish() {
    let t = TestDir::new();
    let path = t.write("old.json", "previous report");
    write_report(&path, OutputFormat::Json, CsvOptions::default(), || {
        assert_eq!(fs::read_to_string(&path).unwrap(), "previous report");
    });
    assert_eq!(read_report(&path).unwrap().calls.len(), 3);
}

#[test]
fn abandoned_sink_leaves_no_files_behind() {
    let t = TestDir::new();
    for (name, format) in [("r.json", OutputFormat::Json), ("r.csv", OutputFormat::Csv)] {
        let path = t.join(name);
        let metrics = metrics();
        let mut sink = open_sink(&path, format, &CsvOptions::default()).unwrap();
        sink.begin(&ReportHead {
            header: &header(0),
            metrics: &metrics,
            has_summary: true,
        })
        .unwrap();
        sink.call(&calls()[0]).unwrap();
        drop(sink);
        assert!(!path.exists(), "{name}");
    }
    assert!(dir_entries(t.path()).is_empty(), "{:?}", dir_entries(t.path()));
}

#[test]
fn jsonl_lines_are_written_and_flushed_per_call() {
    let t = TestDir::new();
    let path = t.join("calls.jsonl");
    let metrics = metrics();
    let calls = calls();
    let mut sink = open_sink(&path, OutputFormat::Jsonl, &CsvOptions::default()).unwrap();
    sink.begin(&ReportHead {
        header: &header(0),
        metrics: &metrics,
        has_summary: true,
    })
    .unwrap();
    for (done, call) in calls.iter().enumerate() {
        sink.call(call).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with('\n'));
        let lines: Vec<CallResult> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines, calls[..=done], "after call {done}");
    }
    sink.finish(&header(3)).unwrap();
}

#[test]
fn jsonl_reads_back_with_a_synthesized_header() {
    let t = TestDir::new();
    let path = t.join("calls.jsonl");
    write_report(&path, OutputFormat::Jsonl, CsvOptions::default(), || {});
    let read = read_report(&path).unwrap();
    assert_eq!(read.calls, calls());
    assert!(read.metrics.is_empty());
    let h = &read.postcall;
    assert_eq!((h.calls, h.failed_calls, h.invalid_values), (3, 2, 1));
    assert_eq!(h.usage.requests, 4);
    assert_eq!(h.usage.cached, 1);
    assert_eq!(h.cost_usd, None);
    assert!(!h.complete);
}

#[test]
fn jsonl_cut_short_by_a_kill_reads_the_whole_lines() {
    let t = TestDir::new();
    let path = t.join("killed.jsonl");
    write_report(&path, OutputFormat::Jsonl, CsvOptions::default(), || {});
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str("{\"call_id\": \"call-004\", \"sou");
    fs::write(&path, text).unwrap();
    assert_eq!(read_report(&path).unwrap().calls.len(), 3);
}

#[test]
fn jsonl_bad_line_is_named() {
    let t = TestDir::new();
    let good = serde_json::to_string(&calls()[0]).unwrap();
    let path = t.write("bad.jsonl", format!("{good}\n\nnot json\n{good}\n"));
    let err = format!("{:#}", read_report(&path).unwrap_err());
    assert!(err.contains("bad.jsonl:3"), "{err}");
}

#[test]
fn read_report_errors_name_the_file() {
    let t = TestDir::new();
    let err = format!("{:#}", read_report(&t.join("absent.json")).unwrap_err());
    assert!(err.contains("absent.json"), "{err}");
    let path = t.write("broken.json", "{\"postcall\": 1}");
    let err = format!("{:#}", read_report(&path).unwrap_err());
    assert!(
        err.contains("broken.json") && err.contains("not a postcall .json report"),
        "{err}"
    );
}

#[test]
fn read_report_recognises_content_when_extension_is_unknown() {
    let t = TestDir::new();
    let json = t.join("report.json");
    write_report(&json, OutputFormat::Json, CsvOptions::default(), || {});
    let renamed = t.join("baseline.report");
    fs::rename(&json, &renamed).unwrap();
    assert_eq!(read_report(&renamed).unwrap().postcall, header(3));

    let jsonl = t.join("calls.jsonl");
    write_report(&jsonl, OutputFormat::Jsonl, CsvOptions::default(), || {});
    let renamed = t.join("calls.log");
    fs::rename(&jsonl, &renamed).unwrap();
    assert_eq!(read_report(&renamed).unwrap().calls, calls());
}

fn read_csv(path: &Path) -> (Vec<u8>, Vec<Vec<String>>) {
    let bytes = fs::read(path).unwrap();
    let body = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    (bytes, rows)
}

#[test]
fn csv_parses_back_to_the_same_cells() {
    let t = TestDir::new();
    let path = t.join("report.csv");
    write_report(&path, OutputFormat::Csv, CsvOptions::default(), || {});
    let (bytes, rows) = read_csv(&path);
    assert!(!bytes.starts_with("\u{feff}".as_bytes()), "no BOM without the flag");
    assert_eq!(
        rows,
        [
            vec![
                "call_id",
                "source",
                "summary",
                "call_outcome",
                "satisfaction_score",
                "sentiment",
                "mentioned_issues",
                "caller_authenticated",
                "notes",
                "errors",
            ],
            vec![
                "call-001",
                "calls/a.json",
                "Customer's bill was corrected.",
                "resolved",
                "-3",
                "-0.25",
                "'-router; billing, \"late\"",
                "true",
                "'\tcallback @ 5",
                "",
            ],
            vec![
                "'=cmd|' /C calc'!A0",
                "calls/b.json",
                "'-",
                "",
                "",
                "",
                "",
                "",
                "",
                "sentiment: endpoint kept failing: 503",
            ],
            vec![
                "call-003",
                "calls/c.json",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "'-transcript is empty"
            ],
        ]
    );
}

#[test]
fn csv_bom_only_with_the_flag() {
    let t = TestDir::new();
    let path = t.join("excel.csv");
    write_report(
        &path,
        OutputFormat::Csv,
        CsvOptions {
            bom: true,
            detail: false,
        },
        || {},
    );
    let (bytes, rows) = read_csv(&path);
    assert!(bytes.starts_with("\u{feff}call_id,".as_bytes()));
    assert_eq!(rows.len(), 4);
}

#[test]
fn csv_detail_columns_only_with_the_flag() {
    let t = TestDir::new();
    let path = t.join("detail.csv");
    write_report(
        &path,
        OutputFormat::Csv,
        CsvOptions {
            bom: false,
            detail: true,
        },
        || {},
    );
    let (_, rows) = read_csv(&path);
    let header = &rows[0];
    assert_eq!(header.len(), 3 + 6 * 4 + 1);
    assert_eq!(
        &header[3..7],
        [
            "call_outcome",
            "call_outcome__status",
            "call_outcome__confidence",
            "call_outcome__reasoning"
        ]
    );
    let cell = |row: usize, name: &str| rows[row][header.iter().position(|h| h == name).unwrap()].clone();
    assert_eq!(cell(1, "call_outcome__confidence"), "0.92");
    assert_eq!(cell(1, "call_outcome__reasoning"), "Bill fixed.\nThanks.");
    assert_eq!(cell(1, "satisfaction_score__reasoning"), "'=HYPERLINK(\"x\")");
    assert_eq!(cell(2, "call_outcome__status"), "invalid");
    assert!(cell(2, "call_outcome__reasoning").contains("\"fixed\" is not one of"));
    assert_eq!(cell(2, "satisfaction_score__status"), "null");
    assert_eq!(cell(2, "caller_authenticated__status"), "not_applicable");
    assert_eq!(cell(2, "sentiment__status"), "missing");
    assert_eq!(cell(2, "mentioned_issues"), "");
    assert_eq!(cell(2, "mentioned_issues__status"), "ok");
    assert_eq!(cell(3, "notes__status"), "missing");
}

#[test]
fn csv_cells_never_start_a_formula_except_numbers() {
    let t = TestDir::new();
    let path = t.join("safe.csv");
    write_report(
        &path,
        OutputFormat::Csv,
        CsvOptions {
            bom: true,
            detail: true,
        },
        || {},
    );
    let (_, rows) = read_csv(&path);
    let numeric_columns = ["satisfaction_score", "sentiment", "satisfaction_score__confidence"];
    for row in &rows[1..] {
        for (name, cell) in rows[0].iter().zip(row) {
            if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                assert!(numeric_columns.contains(&name.as_str()), "{name}: {cell:?}");
                assert!(cell.parse::<f64>().is_ok(), "{name}: {cell:?}");
            }
        }
    }
    assert_eq!(
        rows[1][rows[0].iter().position(|h| h == "satisfaction_score").unwrap()],
        "-3"
    );
}

#[test]
fn csv_destination_appears_only_at_finish() {
    let t = TestDir::new();
    let new = t.join("new.csv");
    write_report(&new, OutputFormat::Csv, CsvOptions::default(), || {
        assert!(!new.exists())
    });
    assert!(new.exists());

    let old = t.write("old.csv", "a,b\n1,2\n");
    write_report(&old, OutputFormat::Csv, CsvOptions::default(), || {
        assert_eq!(fs::read_to_string(&old).unwrap(), "a,b\n1,2\n");
    });
    assert!(fs::read_to_string(&old).unwrap().starts_with("call_id,"));
    assert_eq!(dir_entries(t.path()), ["new.csv", "old.csv"]);
}

#[test]
fn bad_output_path_fails_at_open_naming_it() {
    let t = TestDir::new();
    for (name, format) in [
        ("missing/r.json", OutputFormat::Json),
        ("missing/r.jsonl", OutputFormat::Jsonl),
        ("missing/r.csv", OutputFormat::Csv),
    ] {
        let path = t.join(name);
        let err = format!(
            "{:#}",
            open_sink(&path, format, &CsvOptions::default())
                .err()
                .expect("an error")
        );
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("does not exist"), "{err}");
    }
}

#[test]
fn format_comes_from_extension_or_flag() {
    assert_eq!(
        format_for_path(Path::new("out/r.ndjson"), None).unwrap(),
        OutputFormat::Jsonl
    );
    let err = format_for_path(Path::new("out/r.tsv"), None).unwrap_err().to_string();
    assert!(err.contains("pass `--format json|jsonl|csv`"), "{err}");
    assert_eq!(
        format_for_path(Path::new("-"), Some(OutputFormat::Csv)).unwrap(),
        OutputFormat::Csv
    );
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
    let table = render_summary(&metrics, &counts, &header(3), std::time::Duration::from_secs(75));
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

#[test]
fn summary_table_shows_a_priced_interrupted_run() {
    let metrics = metrics();
    let counts = SummaryCounts::new(&metrics);
    let header = RunHeader {
        complete: false,
        calls_not_done: 1500,
        cost_usd: Some(0.5),
        ..header(0)
    };
    let table = render_summary(&metrics, &counts, &header, std::time::Duration::from_millis(1500));
    assert!(table.contains("not done           1,500 (interrupted)"), "{table}");
    assert!(table.contains("cost               $0.5000"), "{table}");
    assert!(table.contains("wall time          1.5s"), "{table}");
}

#[test]
fn whole_valued_numbers_stay_numbers_through_json() {
    // `Value` is untagged: 4.0 must not come back as the integer 4.
    for value in [
        Value::Number(4.0),
        Value::Number(-0.0),
        Value::Int(4),
        Value::Number(1e-7),
    ] {
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value, "{text}");
    }
}
