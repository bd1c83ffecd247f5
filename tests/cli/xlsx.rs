//! `.xlsx` reports end to end: written by `run`, `convert` and `filter`, read back with
//! calamine (not postcall's own code), and a workbook corrected by a reviewer used as
//! `eval --labels`.

use std::io::Cursor;
use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};
use indexmap::IndexMap;
use postcall::report::{CallResult, MetricResult, Report, RunHeader, Usage, Value};
use postcall::spec::{Metric, MetricKind};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

use crate::common::{MODEL, TestDir};
use crate::run::{SPEC, dir_with_calls, read_json_report};

fn metric(id: &str, kind: MetricKind) -> Metric {
    Metric::new(id, kind, format!("What is the {id}?"))
}

fn ok(value: Value) -> MetricResult {
    MetricResult::Ok {
        value,
        confidence: Some(0.8),
        reasoning: Some("the caller said so".into()),
        grounds: Default::default(),
    }
}

/// The call ids that LibreOffice's default CSV import garbles, and ordinary ones.
const IDS: [&str; 6] = [
    "Müller-ß",
    "தமிழ் அழைப்பு",
    "日本語の通話",
    "Zoë;Ünal,\"q\"",
    "=1+1",
    "plain-006",
];

/// Six calls: outcome resolved except the 3rd escalated, score i+1 capped at 5, a
/// callback date on even calls and a null callback on odd ones, `verified` true on odd ones.
fn report() -> Report {
    let calls: Vec<CallResult> = IDS
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let mut metrics = IndexMap::new();
            let outcome = if i == 2 { "escalated" } else { "resolved" };
            metrics.insert("outcome".to_string(), ok(Value::Text(outcome.into())));
            metrics.insert("score".to_string(), ok(Value::Int((i as i64 + 1).min(5))));
            let callback = if i % 2 == 0 {
                ok(Value::Text(format!("2026-02-{:02}", i + 10)))
            } else {
                MetricResult::Null {
                    confidence: Some(0.9),
                    reasoning: Some("no callback was promised".into()),
                    grounds: Default::default(),
                }
            };
            metrics.insert("callback".to_string(), callback);
            metrics.insert("verified".to_string(), ok(Value::Bool(i % 2 == 1)));
            CallResult {
                call_id: id.to_string(),
                call: None,
                source: format!("calls/{i}.json"),
                format: postcall::transcript::Format::Generic,
                summary: Some(format!("{id} asked about a bill.")),
                metrics,
                errors: Vec::new(),
                truncated: None,
                skipped: None,
                usage: Usage::default(),
                cost_usd: None,
            }
        })
        .collect();
    let header: RunHeader = serde_json::from_value(serde_json::json!({
        "version": "0.1.0", "report_format": 1, "started_at": "2026-01-01T00:00:00Z",
        "finished_at": "2026-01-01T00:05:00Z", "complete": true, "base_url": "http://127.0.0.1:1/v1",
        "model": "test", "strategy": "per_call", "structured_output": "json_schema",
        "metrics_sha256": "c".repeat(64), "calls": calls.len(), "failed_calls": 0, "invalid_values": 0,
        "usage": {"requests": 6, "cached": 0, "retries": 0, "prompt_tokens": 600, "completion_tokens": 120},
        "cost_usd": 0.0042
    }))
    .unwrap();
    Report {
        header: Some(header),
        metrics: vec![
            metric(
                "outcome",
                MetricKind::Enum {
                    choices: vec!["resolved".into(), "escalated".into(), "abandoned".into()],
                },
            ),
            metric("score", MetricKind::Integer { range: Some([1, 5]) }),
            metric("callback", MetricKind::Datetime),
            metric("verified", MetricKind::Boolean),
        ],
        calls,
    }
}

fn report_dir() -> TestDir {
    let dir = TestDir::new();
    dir.write("report.json", serde_json::to_vec_pretty(&report()).unwrap());
    dir
}

fn rows(path: &Path, sheet: &str) -> Vec<Vec<Data>> {
    let mut workbook: Xlsx<_> = open_workbook(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let range = workbook.worksheet_range(sheet).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

fn column(rows: &[Vec<Data>], name: &str) -> Vec<Data> {
    let col = rows[0]
        .iter()
        .position(|h| h == &Data::String(name.into()))
        .expect(name);
    rows[1..]
        .iter()
        .map(|r| r.get(col).cloned().unwrap_or(Data::Empty))
        .collect()
}

/// Whether a row starts with these cells (calamine pads rows to the sheet's width).
fn has_row(rows: &[Vec<Data>], start: &[Data]) -> bool {
    rows.iter().any(|r| r.starts_with(start))
}

fn text(s: &str) -> Data {
    Data::String(s.into())
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn convert_writes_a_workbook_with_typed_cells_and_intact_unicode() {
    let dir = report_dir();
    let out = dir
        .postcall()
        .args(["convert", "report.json", "-o", "report.xlsx", "-o", "report.csv"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let calls = rows(&dir.join("report.xlsx"), "Calls");
    let ids: Vec<Data> = IDS.iter().map(|id| text(id)).collect();
    assert_eq!(column(&calls, "call_id"), ids);
    // The CSV has the same columns; the workbook adds the detail ones.
    let csv = std::fs::read_to_string(dir.join("report.csv")).unwrap();
    let csv_header: Vec<Data> = csv.lines().next().unwrap().split(',').map(text).collect();
    let xlsx_header: Vec<Data> = calls[0]
        .iter()
        .filter(|h| !h.to_string().contains("__"))
        .cloned()
        .collect();
    assert_eq!(xlsx_header, csv_header);
    let scores: Vec<Data> = [1.0, 2.0, 3.0, 4.0, 5.0, 5.0].map(Data::Float).to_vec();
    assert_eq!(column(&calls, "score"), scores);
    let verified: Vec<Data> = (0..6).map(|i| Data::Bool(i % 2 == 1)).collect();
    assert_eq!(column(&calls, "verified"), verified);
    let callbacks = column(&calls, "callback");
    for (i, cell) in callbacks.iter().enumerate() {
        match cell {
            Data::DateTime(at) if i % 2 == 0 => {
                assert_eq!(at.to_ymd_hms_milli(), (2026, 2, i as u8 + 10, 0, 0, 0, 0));
            }
            Data::Empty if i % 2 == 1 => {}
            other => panic!("call {i}: {other:?}"),
        }
    }
    assert_eq!(column(&calls, "outcome__status"), vec![text("ok"); 6]);
    let summary = rows(&dir.join("report.xlsx"), "Summary");
    assert!(
        has_row(&summary, &[text("cost (USD)"), Data::Float(0.0042)]),
        "{summary:?}"
    );
    assert!(has_row(&summary, &[text("model"), text("test")]), "{summary:?}");
}

#[test]
fn a_workbook_goes_to_stdout_only_when_asked_for_by_format() {
    let dir = report_dir();
    let out = dir
        .postcall()
        .args(["convert", "report.json", "-o", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("--output-format json|jsonl|csv|xlsx"),
        "{}",
        stderr_of(&out)
    );
    let out = dir
        .postcall()
        .args(["convert", "report.json", "-o", "-", "--output-format", "xlsx"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let mut workbook = Xlsx::new(Cursor::new(out.stdout)).unwrap();
    assert_eq!(workbook.sheet_names(), ["Calls", "Metrics", "Summary"]);
    assert_eq!(workbook.worksheet_range("Calls").unwrap().height(), 7);
}

/// What a reviewer does: open the report, fix two answers, save. The corrected file is
/// written here by rust_xlsxwriter in its ordinary mode (shared strings, as Excel saves
/// them), from the cells calamine read, so the labels reader sees another writer's file.
fn save_corrected(source: &Path, dest: &Path, fix: impl Fn(usize, &str, &Data) -> Data) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Calls").unwrap();
    let calls = rows(source, "Calls");
    for (r, row) in calls.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let name = calls[0][c].to_string();
            let (r16, c16) = (r as u32, c as u16);
            match fix(r, &name, cell) {
                Data::String(s) => sheet.write_string(r16, c16, s).map(|_| ()),
                Data::Float(f) => sheet.write_number(r16, c16, f).map(|_| ()),
                Data::Bool(b) => sheet.write_boolean(r16, c16, b).map(|_| ()),
                Data::DateTime(at) => {
                    let date = rust_xlsxwriter::Format::new().set_num_format("dd/mm/yyyy");
                    sheet.write_number_with_format(r16, c16, at.as_f64(), &date).map(|_| ())
                }
                Data::Empty => Ok(()),
                other => panic!("unexpected {other:?}"),
            }
            .unwrap();
        }
    }
    workbook.save(dest).unwrap();
}

#[test]
fn a_corrected_workbook_is_a_labels_file_for_eval() {
    let dir = report_dir();
    let out = dir
        .postcall()
        .args(["convert", "report.json", "-o", "report.xlsx"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    // The reviewer says call 2 (Tamil) was escalated and call 4 (Zoë) scored 2.
    save_corrected(
        &dir.join("report.xlsx"),
        &dir.join("corrected.xlsx"),
        |row, name, cell| match (row, name) {
            (2, "outcome") => text("escalated"),
            (4, "score") => Data::Float(2.0),
            _ => cell.clone(),
        },
    );
    let out = dir
        .postcall()
        .args(["eval", "report.json", "--labels", "corrected.xlsx", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let metric = |id: &str| {
        json["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {json}"))
            .clone()
    };
    assert_eq!(
        (
            metric("outcome")["labelled"].as_u64(),
            metric("outcome")["correct"].as_u64()
        ),
        (Some(6), Some(5))
    );
    assert_eq!(
        (
            metric("score")["labelled"].as_u64(),
            metric("score")["correct"].as_u64()
        ),
        (Some(6), Some(5))
    );
    // Dates re-saved in another display format are still the same calendar dates, and the
    // three null callbacks (empty cells, `null` in the status column) are null labels.
    assert_eq!(
        (
            metric("callback")["labelled"].as_u64(),
            metric("callback")["correct"].as_u64()
        ),
        (Some(6), Some(6))
    );
    assert_eq!(metric("verified")["correct"].as_u64(), Some(6));
    assert_eq!(json["report_calls_without_labels"], 0);
    let out = dir
        .postcall()
        .args([
            "eval",
            "report.json",
            "--labels",
            "corrected.xlsx",
            "--min-accuracy",
            "0.9",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "5 of 6 is below 90%");
}

#[test]
fn a_bad_label_in_a_workbook_is_named_by_its_cell() {
    let dir = report_dir();
    dir.postcall()
        .args(["convert", "report.json", "-o", "report.xlsx"])
        .assert()
        .success();
    save_corrected(
        &dir.join("report.xlsx"),
        &dir.join("corrected.xlsx"),
        |row, name, cell| match (row, name) {
            (3, "outcome") => text("maybe"),
            (5, "score") => Data::Float(2.5),
            _ => cell.clone(),
        },
    );
    let out = dir
        .postcall()
        .args(["eval", "report.json", "--labels", "corrected.xlsx"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(
        err.contains(
            "corrected.xlsx:Calls!D4: `maybe` is not one of the choices of `outcome` (resolved, escalated, abandoned)"
        ),
        "{err}"
    );
    assert!(
        err.contains("corrected.xlsx:Calls!J6: `2.5` is not a whole number"),
        "{err}"
    );
}

#[test]
fn run_writes_the_same_answers_to_the_workbook_as_to_the_json() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 12);
    let out = dir
        .run_against(&fake)
        .args(["-o", "report.xlsx", "-o", "report.json", "--quiet"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let report = read_json_report(&dir.join("report.json"));
    let calls = rows(&dir.join("report.xlsx"), "Calls");
    assert_eq!(calls.len(), 1 + report.calls.len());
    for metric in &report.metrics {
        let cells = column(&calls, &metric.id);
        for (call, cell) in report.calls.iter().zip(&cells) {
            let what = format!("{} {}: {cell:?}", call.call_id, metric.id);
            match call.metrics.get(&metric.id).and_then(MetricResult::value) {
                None => assert_eq!(cell, &Data::Empty, "{what}"),
                Some(Value::Int(i)) => assert_eq!(cell, &Data::Float(*i as f64), "{what}"),
                Some(Value::Number(n)) => assert_eq!(cell, &Data::Float(*n), "{what}"),
                Some(Value::Bool(b)) => assert_eq!(cell, &Data::Bool(*b), "{what}"),
                Some(Value::List(items)) if items.is_empty() => assert_eq!(cell, &Data::Empty, "{what}"),
                Some(Value::List(items)) => assert_eq!(cell, &text(&items.join("; ")), "{what}"),
                Some(Value::Text(s)) if metric.id == "promised_date" => {
                    let Data::DateTime(at) = cell else { panic!("{what}") };
                    let (y, m, d, ..) = at.to_ymd_hms_milli();
                    assert!(s.starts_with(&format!("{y}-{m:02}-{d:02}")), "{what}");
                }
                Some(Value::Text(s)) => assert_eq!(cell, &text(s), "{what}"),
            }
        }
    }
    let summary = rows(&dir.join("report.xlsx"), "Summary");
    assert!(has_row(&summary, &[text("model"), text(MODEL)]), "{summary:?}");
    assert!(has_row(&summary, &[text("complete"), Data::Bool(true)]), "{summary:?}");
}

#[test]
fn filter_writes_the_matching_calls_as_a_workbook() {
    let dir = report_dir();
    let out = dir
        .postcall()
        .args(["filter", "report.json", "--where", "verified=true", "-o", "odd.xlsx"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let calls = rows(&dir.join("odd.xlsx"), "Calls");
    assert_eq!(column(&calls, "call_id"), [IDS[1], IDS[3], IDS[5]].map(text));
    let summary = rows(&dir.join("odd.xlsx"), "Summary");
    assert!(has_row(&summary, &[text("calls"), Data::Float(3.0)]), "{summary:?}");
}

#[test]
fn reading_a_workbook_as_a_report_says_what_it_is_for() {
    let dir = report_dir();
    dir.postcall()
        .args(["convert", "report.json", "-o", "report.xlsx"])
        .assert()
        .success();
    let out = dir.postcall().args(["stats", "report.xlsx"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr_of(&out);
    assert!(err.contains("report.xlsx is a workbook"), "{err}");
    assert!(err.contains("--labels report.xlsx"), "{err}");
}
