//! Workbooks written by the sink as the run drives it, read back with calamine (an
//! independent reader) and, for what calamine does not show (frozen panes, hidden columns,
//! drop-downs, number formats), from the sheet XML itself.

use std::fs;
use std::io::{Cursor, Read as _};
use std::path::Path;

use calamine::{Data, Reader, Xlsx, open_workbook};
use indexmap::IndexMap;

use super::*;
use crate::answer::MetricSet;
use crate::compare::labels::parse_labels_file;
use crate::report::testing::{self, dir_entries, header, metric, ok};
use crate::report::{MetricResult, Usage, Value};
use crate::spec::MetricKind;
use crate::transcript::Format;

/// The shared test metrics, a datetime metric, and an enum whose choices do not fit an
/// inline drop-down.
fn metrics() -> Vec<Metric> {
    let mut metrics = testing::metrics();
    metrics.push(metric("callback_at", MetricKind::Datetime));
    let topics = (1..=30).map(|i| format!("topic number {i}")).collect();
    metrics.push(Metric {
        applies_when: Some("The caller raised a topic.".into()),
        ..metric("topic", MetricKind::Enum { choices: topics })
    });
    metrics
}

/// A call with only a datetime answer (and a topic), under `id`.
fn dated_call(id: &str, when: &str) -> CallResult {
    let mut results = IndexMap::new();
    results.insert("callback_at".to_string(), ok(Value::Text(when.into()), 0.6, "said so"));
    results.insert("topic".to_string(), ok(Value::Text("topic number 7".into()), 0.5, "x"));
    CallResult {
        call_id: id.into(),
        call: None,
        source: format!("calls/{id}.json"),
        format: Format::Generic,
        summary: Some(format!("{id} called.")),
        metrics: results,
        errors: vec![],
        truncated: None,
        skipped: None,
        usage: Usage::default(),
        cost_usd: None,
    }
}

/// The shared calls, then calls whose ids are in other scripts and dated answers.
fn calls() -> Vec<CallResult> {
    let mut calls = testing::calls();
    calls.push(dated_call("Müller-ß", "2024-03-15"));
    calls.push(dated_call("தமிழ் அழைப்பு", "2024-03-15T23:30:00-05:00"));
    calls.push(dated_call("日本語の通話", "2024-03-16T09:05:00Z"));
    calls.push(dated_call("Zoë;Ünal,\"q\"", "2024-03-17T10:00:00"));
    calls
}

/// A sink on `path`, locked as the run locks it.
fn create(path: &Path) -> XlsxSink {
    XlsxSink::create(Target::lock_file(path).unwrap()).unwrap()
}

/// Drives a sink as the run does, with `calls_per_sheet` calls per Calls sheet.
fn write(path: &Path, metrics: &[Metric], calls: &[CallResult], calls_per_sheet: RowNum) {
    let mut sink = create(path);
    sink.calls_per_sheet = calls_per_sheet;
    let start = header(0);
    sink.begin(&ReportHead {
        header: &start,
        metrics,
        has_summary: true,
    })
    .unwrap();
    for call in calls {
        sink.call(call).unwrap();
    }
    Box::new(sink).finish(&header(calls.len())).unwrap();
}

fn written() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("report.xlsx");
    write(&path, &metrics(), &calls(), LAST_ROW);
    (t, path)
}

fn sheet(path: &Path, name: &str) -> Vec<Vec<Data>> {
    let mut workbook: Xlsx<_> = open_workbook(path).unwrap();
    let range = workbook.worksheet_range(name).unwrap();
    assert_eq!(range.start(), Some((0, 0)), "{name} starts at A1");
    range.rows().map(|r| r.to_vec()).collect()
}

/// `rows[row][column named name]`.
fn at<'a>(rows: &'a [Vec<Data>], row: usize, name: &str) -> &'a Data {
    let col = rows[0]
        .iter()
        .position(|h| h == &Data::String(name.into()))
        .unwrap_or_else(|| panic!("no column {name}"));
    rows[row].get(col).unwrap_or(&Data::Empty)
}

fn text(s: &str) -> Data {
    Data::String(s.into())
}

/// A file inside the workbook's zip, as text.
fn part(path: &Path, name: &str) -> String {
    let mut archive = zip::ZipArchive::new(Cursor::new(fs::read(path).unwrap())).unwrap();
    let mut xml = String::new();
    archive.by_name(name).unwrap().read_to_string(&mut xml).unwrap();
    xml
}

/// The number format of cell `reference` (`A1`) in `sheet_xml`, from the styles part.
fn number_format(path: &Path, sheet_xml: &str, reference: &str) -> String {
    let sheet = part(path, sheet_xml);
    let cell = &sheet[sheet.find(&format!("<c r=\"{reference}\"")).expect("cell")..];
    let style: usize = attribute(cell, "s").parse().unwrap();
    let styles = part(path, "xl/styles.xml");
    let xfs = &styles[styles.find("<cellXfs").unwrap()..];
    let xf = xfs.split("<xf ").nth(style + 1).unwrap();
    let id = attribute(xf, "numFmtId");
    match styles
        .split("<numFmt ")
        .skip(1)
        .find(|f| attribute(f, "numFmtId") == id)
    {
        Some(custom) => attribute(custom, "formatCode").to_string(),
        None => format!("builtin {id}"),
    }
}

/// The value of attribute `name` in the element that `element` starts (with or without its
/// `<tag `).
fn attribute<'a>(element: &'a str, name: &str) -> &'a str {
    let element = &element[..element.find('>').unwrap_or(element.len())];
    let start = match element.strip_prefix(&format!("{name}=\"")) {
        Some(_) => name.len() + 2,
        None => element.find(&format!(" {name}=\"")).expect(name) + name.len() + 3,
    };
    let rest = &element[start..];
    &rest[..rest.find('"').unwrap()]
}

/// The 0-based columns a sheet hides in a collapsed outline group.
fn hidden_grouped_columns(sheet_xml: &str) -> Vec<usize> {
    let mut hidden = Vec::new();
    for col in sheet_xml.split("<col ").skip(1) {
        let col = &col[..col.find("/>").unwrap()];
        if col.contains(r#"hidden="1""#) && col.contains(r#"outlineLevel="1""#) {
            let (min, max): (usize, usize) = (
                attribute(col, "min").parse().unwrap(),
                attribute(col, "max").parse().unwrap(),
            );
            hidden.extend(min - 1..max);
        }
    }
    hidden
}

#[test]
fn calls_sheet_has_the_csv_columns_and_typed_values() {
    let (_t, path) = written();
    let rows = sheet(&path, "Calls");
    let ids: Vec<String> = metrics().iter().map(|m| m.id.clone()).collect();
    let headers: Vec<Data> = crate::report::csv::header_row(&ids, true)
        .iter()
        .map(|h| text(h))
        .collect();
    assert_eq!(rows[0], headers);
    assert_eq!(rows.len(), 1 + calls().len());

    assert_eq!(at(&rows, 1, "call_id"), &text("call-001"));
    assert_eq!(at(&rows, 1, "summary"), &text("Customer's bill was corrected."));
    assert_eq!(at(&rows, 1, "call_outcome"), &text("resolved"));
    assert_eq!(at(&rows, 1, "satisfaction_score"), &Data::Float(-3.0));
    assert_eq!(at(&rows, 1, "sentiment"), &Data::Float(-0.25));
    assert_eq!(at(&rows, 1, "mentioned_issues"), &text("-router; billing, \"late\""));
    assert_eq!(at(&rows, 1, "caller_authenticated"), &Data::Bool(true));
    // Text is text: no quote in front of what a CSV would have to defuse.
    assert_eq!(at(&rows, 1, "notes"), &text("\tcallback @ 5"));
    assert_eq!(at(&rows, 1, "call_outcome__status"), &text("ok"));
    assert_eq!(at(&rows, 1, "call_outcome__confidence"), &Data::Float(0.92));
    assert_eq!(at(&rows, 1, "call_outcome__reasoning"), &text("Bill fixed.\nThanks."));
    assert_eq!(
        at(&rows, 1, "satisfaction_score__reasoning"),
        &text("=HYPERLINK(\"x\")")
    );
    assert_eq!(at(&rows, 1, "errors"), &Data::Empty);

    assert_eq!(at(&rows, 2, "call_id"), &text("=cmd|' /C calc'!A0"));
    assert_eq!(at(&rows, 2, "summary"), &text("-"));
    assert_eq!(at(&rows, 2, "call_outcome"), &Data::Empty);
    assert_eq!(at(&rows, 2, "call_outcome__status"), &text("invalid"));
    let refused = at(&rows, 2, "call_outcome__reasoning").to_string();
    assert!(refused.contains("\"fixed\" is not one of"), "{refused}");
    assert_eq!(at(&rows, 2, "satisfaction_score__status"), &text("null"));
    assert_eq!(at(&rows, 2, "satisfaction_score__confidence"), &Data::Float(0.1));
    assert_eq!(at(&rows, 2, "caller_authenticated__status"), &text("not_applicable"));
    assert_eq!(at(&rows, 2, "sentiment__status"), &text("missing"));
    assert_eq!(at(&rows, 2, "mentioned_issues"), &Data::Empty);
    assert_eq!(at(&rows, 2, "errors"), &text("sentiment: endpoint kept failing: 503"));
    assert_eq!(at(&rows, 3, "errors"), &text("-transcript is empty"));
}

/// Every metric cell of every call against the report: the value in its own cell type,
/// or an empty cell when the answer is not a value.
#[test]
fn every_metric_cell_equals_the_report() {
    let (_t, path) = written();
    let rows = sheet(&path, "Calls");
    for (index, call) in calls().iter().enumerate() {
        assert_eq!(at(&rows, index + 1, "call_id"), &text(&call.call_id));
        for metric in metrics() {
            let cell = at(&rows, index + 1, &metric.id);
            let value = call.metrics.get(&metric.id).and_then(MetricResult::value);
            let what = format!("{} / {}: {cell:?}", call.call_id, metric.id);
            match (value, &metric.kind) {
                (None, _) => assert_eq!(cell, &Data::Empty, "{what}"),
                (Some(Value::List(items)), _) if items.is_empty() => assert_eq!(cell, &Data::Empty, "{what}"),
                (Some(Value::Int(i)), _) => assert_eq!(cell, &Data::Float(*i as f64), "{what}"),
                (Some(Value::Number(n)), _) => assert_eq!(cell, &Data::Float(*n), "{what}"),
                (Some(Value::Bool(b)), _) => assert_eq!(cell, &Data::Bool(*b), "{what}"),
                (Some(Value::Text(s)), MetricKind::Datetime) => {
                    let Data::DateTime(at) = cell else { panic!("{what}") };
                    let (y, m, d, h, min, _, _) = at.to_ymd_hms_milli();
                    let shown = format!("{y}-{m:02}-{d:02}T{h:02}:{min:02}");
                    assert!(
                        s.starts_with(&shown[..if s.len() == 10 { 10 } else { 16 }]),
                        "{what}: {s} vs {shown}"
                    );
                }
                (Some(Value::Text(s)), _) => assert_eq!(cell, &text(s), "{what}"),
                (Some(Value::List(items)), _) => assert_eq!(cell, &text(&items.join("; ")), "{what}"),
            }
        }
    }
}

#[test]
fn unicode_is_kept_exactly() {
    let (_t, path) = written();
    let rows = sheet(&path, "Calls");
    let ids: Vec<&Data> = (1..rows.len()).map(|r| at(&rows, r, "call_id")).collect();
    for id in ["Müller-ß", "தமிழ் அழைப்பு", "日本語の通話", "Zoë;Ünal,\"q\""] {
        assert!(ids.contains(&&text(id)), "{id} in {ids:?}");
        assert!(rows.iter().any(|r| r.contains(&text(&format!("{id} called.")))), "{id}");
    }
}

#[test]
fn control_characters_and_escape_look_alikes_round_trip() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("odd.xlsx");
    let odd = [
        "bell\u{7}here",
        "_x0041_ is not A",
        "tab\tand\r\nnewline",
        "nul\u{0}byte",
    ];
    let calls: Vec<CallResult> = odd.iter().map(|id| dated_call(id, "2024-03-15")).collect();
    write(&path, &metrics(), &calls, LAST_ROW);
    let rows = sheet(&path, "Calls");
    for (index, id) in odd.iter().enumerate() {
        assert_eq!(at(&rows, index + 1, "call_id"), &text(id), "{id:?}");
    }
}

#[test]
fn dates_stay_dates_and_date_times_keep_their_wall_clock() {
    let (_t, path) = written();
    let rows = sheet(&path, "Calls");
    let when = |row| match at(&rows, row, "callback_at") {
        Data::DateTime(at) => at.to_ymd_hms_milli(),
        other => panic!("{other:?}"),
    };
    assert_eq!(when(4), (2024, 3, 15, 0, 0, 0, 0));
    // 23:30 at -05:00 is shown as said, on the 15th, not as 04:30 UTC on the 16th.
    assert_eq!(when(5), (2024, 3, 15, 23, 30, 0, 0));
    assert_eq!(when(6), (2024, 3, 16, 9, 5, 0, 0));
    assert_eq!(when(7), (2024, 3, 17, 10, 0, 0, 0));
    let column = rows[0].iter().position(|h| h == &text("callback_at")).unwrap();
    let letter = rust_xlsxwriter::utility::column_number_to_name(column as u16);
    let sheet_xml = "xl/worksheets/sheet1.xml";
    assert_eq!(number_format(&path, sheet_xml, &format!("{letter}5")), "yyyy-mm-dd");
    assert_eq!(
        number_format(&path, sheet_xml, &format!("{letter}6")),
        "yyyy-mm-dd hh:mm:ss"
    );
}

#[test]
fn no_cell_anywhere_is_a_formula() {
    let (_t, path) = written();
    let mut workbook: Xlsx<_> = open_workbook(&path).unwrap();
    let names = workbook.sheet_names();
    assert_eq!(names, ["Calls", "Metrics", "Summary", "Choices"]);
    for name in &names {
        let formulas = workbook.worksheet_formula(name).unwrap();
        assert!(formulas.used_cells().all(|(_, _, f)| f.is_empty()), "{name}");
    }
    for index in 1..=names.len() {
        let xml = part(&path, &format!("xl/worksheets/sheet{index}.xml"));
        assert!(!xml.contains("<f>") && !xml.contains("<f "), "sheet{index}");
    }
}

#[test]
fn calls_sheet_is_laid_out_for_reading_and_correcting() {
    let (_t, path) = written();
    let xml = part(&path, "xl/worksheets/sheet1.xml");
    // Header row and call_id column frozen; autofilter over every call.
    assert!(xml.contains(r#"<pane xSplit="1" ySplit="1" topLeftCell="B2" activePane="bottomRight" state="frozen"/>"#));
    let last = rust_xlsxwriter::utility::column_number_to_name((3 + 8 * 6 + 5) as u16);
    assert!(xml.contains(&format!(r#"<autoFilter ref="A1:{last}8"/>"#)), "{last}");
    // The five detail columns after each metric's value are grouped and hidden.
    let details: Vec<usize> = (0..8).flat_map(|m| (4 + 6 * m)..(9 + 6 * m)).collect();
    assert_eq!(hidden_grouped_columns(&xml), details);
    // call_outcome's drop-down is inline (required, so no null); topic's is too long and
    // points at the hidden Choices sheet, with not_applicable for its applies_when.
    assert!(
        xml.contains(r#"sqref="D2:D1048576"><formula1>"resolved,escalated"</formula1>"#),
        "{xml}"
    );
    assert!(xml.contains("<formula1>Choices!$A$2:$A$33</formula1>"), "{xml}");
    let workbook = part(&path, "xl/workbook.xml");
    assert!(
        workbook.contains(r#"<sheet name="Choices" sheetId="4" state="hidden""#),
        "{workbook}"
    );
    let choices = sheet(&path, "Choices");
    assert_eq!(choices[0], [text("topic")]);
    assert_eq!(choices[1], [text("topic number 1")]);
    assert_eq!(choices[31], [text("null")]);
    assert_eq!(choices[32], [text("not_applicable")]);
}

#[test]
fn metrics_sheet_lists_every_definition() {
    let (_t, path) = written();
    let rows = sheet(&path, "Metrics");
    let names = [
        "id",
        "type",
        "choices",
        "range",
        "required",
        "prompt",
        "description",
        "applies_when",
    ];
    assert_eq!(rows[0], names.map(text));
    assert_eq!(rows.len(), 1 + metrics().len());
    assert_eq!(
        rows[1],
        [
            text("call_outcome"),
            text("enum"),
            text("resolved; escalated"),
            Data::Empty,
            Data::Bool(true),
            text("What about call_outcome?"),
            text("Used by the ops dashboard."),
            Data::Empty,
        ]
    );
    assert_eq!(rows[2][3], text("-5 to 5"));
    assert_eq!(rows[3][3], text("-1 to 1"));
    assert_eq!(rows[5][4], Data::Bool(false));
    assert_eq!(rows[5][7], text("The agent tried to verify the caller."));
}

fn summary_value<'a>(rows: &'a [Vec<Data>], label: &str) -> &'a Data {
    let row = rows
        .iter()
        .find(|r| r.first() == Some(&text(label)))
        .unwrap_or_else(|| panic!("no {label} row in {rows:?}"));
    &row[1]
}

#[test]
fn summary_sheet_has_the_run_header_counts_tokens_and_cost() {
    let (_t, path) = written();
    let rows = sheet(&path, "Summary");
    let value = |label| summary_value(&rows, label);
    assert_eq!(value("model"), &text("test-model"));
    assert_eq!(value("endpoint"), &text("http://127.0.0.1:1/v1"));
    assert_eq!(value("strategy"), &text("per_call"));
    assert_eq!(value("metric file sha256"), &text(&"ab".repeat(32)));
    assert_eq!(value("complete"), &Data::Bool(true));
    assert_eq!(value("calls"), &Data::Float(7.0));
    assert_eq!(value("prompt tokens"), &Data::Float(1200.0));
    assert_eq!(value("completion tokens"), &Data::Float(300.0));
    assert_eq!(value("cost (USD)"), &text("unknown (no price configured)"));
    assert_eq!(value("calls sheets"), &text("Calls"));
    let Data::DateTime(started) = value("started at (UTC)") else {
        panic!("{:?}", value("started at (UTC)"))
    };
    assert_eq!(started.to_ymd_hms_milli(), (2026, 1, 2, 3, 4, 5, 0));
    let table = rows.iter().position(|r| r.first() == Some(&text("metric"))).unwrap();
    assert_eq!(
        rows[table],
        ["metric", "ok", "null", "not applicable", "invalid", "missing"].map(text)
    );
    let count = |metric: &str| {
        let row = rows.iter().find(|r| r.first() == Some(&text(metric))).unwrap();
        row[1..6].to_vec()
    };
    assert_eq!(count("call_outcome"), [1.0, 0.0, 0.0, 1.0, 5.0].map(Data::Float));
    assert_eq!(
        count("caller_authenticated"),
        [1.0, 0.0, 1.0, 0.0, 5.0].map(Data::Float)
    );
    assert_eq!(count("callback_at"), [4.0, 0.0, 0.0, 0.0, 3.0].map(Data::Float));
}

#[test]
fn summary_of_a_priced_interrupted_run() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("stopped.xlsx");
    let mut sink = create(&path);
    let metrics = metrics();
    let stopped = RunHeader {
        complete: false,
        finished_at: None,
        calls_not_done: 40,
        stopped: Some(crate::report::StopReason::Interrupted),
        cost_usd: Some(0.0125),
        ..header(1)
    };
    sink.begin(&ReportHead {
        header: &stopped,
        metrics: &metrics,
        has_summary: false,
    })
    .unwrap();
    sink.call(&calls()[0]).unwrap();
    Box::new(sink).finish(&stopped).unwrap();
    let rows = sheet(&path, "Summary");
    assert_eq!(summary_value(&rows, "complete"), &Data::Bool(false));
    assert_eq!(summary_value(&rows, "calls not done"), &Data::Float(40.0));
    assert_eq!(summary_value(&rows, "finished at (UTC)"), &text("not finished"));
    assert_eq!(summary_value(&rows, "cost (USD)"), &Data::Float(0.0125));
    assert_eq!(summary_value(&rows, "stopped"), &text("interrupted"));
}

#[test]
fn skipped_and_truncated_calls_are_counted_in_the_summary() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("long.xlsx");
    let mut all = calls();
    all[0].truncated = Some(crate::report::Truncation {
        turns_cut: 3,
        turns_shortened: 1,
        characters_cut: 9000,
        estimated_tokens_cut: 2250,
        note: "[... 3 turns cut ...]".into(),
    });
    all[1].metrics.clear();
    all[1].errors.clear();
    all[1].skipped = Some("over max_input_tokens".into());
    write(&path, &metrics(), &all, LAST_ROW);
    let rows = sheet(&path, "Summary");
    assert_eq!(summary_value(&rows, "skipped calls"), &Data::Float(1.0));
    let Data::String(truncated) = summary_value(&rows, "truncated calls") else {
        panic!("{rows:?}")
    };
    assert!(truncated.starts_with("1 (--long-calls truncate"), "{truncated}");
    let plain = t.path().join("plain.xlsx");
    write(&plain, &metrics(), &calls(), LAST_ROW);
    let rows = sheet(&plain, "Summary");
    assert!(!rows.iter().any(|r| r.first() == Some(&text("skipped calls"))));
    assert!(!rows.iter().any(|r| r.first() == Some(&text("truncated calls"))));
}

#[test]
fn a_report_without_a_run_header_says_so_and_invents_none() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("old.xlsx");
    let mut sink: Box<dyn Sink> = Box::new(create(&path));
    sink.begin_headerless(&metrics(), true).unwrap();
    for call in &calls()[..2] {
        sink.call(call).unwrap();
    }
    sink.finish_headerless().unwrap();
    let rows = sheet(&path, "Summary");
    let Data::String(note) = summary_value(&rows, "run header") else {
        panic!("{rows:?}")
    };
    assert!(note.starts_with("none: these calls came from a .jsonl"), "{note}");
    assert_eq!(summary_value(&rows, "calls"), &Data::Float(2.0));
    assert!(!rows.iter().any(|r| r.first() == Some(&text("model"))));
    assert_eq!(sheet(&path, "Calls").len(), 3);
}

#[test]
fn past_the_row_limit_calls_continue_on_the_next_sheet() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("big.xlsx");
    let calls = calls();
    write(&path, &metrics(), &calls[..5], 2);
    let mut workbook: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(
        workbook.sheet_names(),
        ["Calls", "Calls 2", "Calls 3", "Metrics", "Summary", "Choices"]
    );
    let mut seen = Vec::new();
    for (index, name) in ["Calls", "Calls 2", "Calls 3"].iter().enumerate() {
        let rows = sheet(&path, name);
        assert_eq!(rows[0][0], text("call_id"), "{name} has its own header row");
        assert!(rows.len() <= 3, "{name}: {}", rows.len());
        seen.extend((1..rows.len()).map(|r| at(&rows, r, "call_id").to_string()));
        let xml = part(&path, &format!("xl/worksheets/sheet{}.xml", index + 1));
        assert!(xml.contains(r#"state="frozen""#), "{name}");
        assert!(
            xml.contains(&format!(r#"<autoFilter ref="A1:BE{}"/>"#, rows.len())),
            "{name}"
        );
    }
    let expected: Vec<String> = calls[..5].iter().map(|c| c.call_id.clone()).collect();
    assert_eq!(seen, expected);
    let _ = workbook.worksheet_range("Summary").unwrap();
    let summary = sheet(&path, "Summary");
    assert_eq!(
        summary_value(&summary, "calls sheets"),
        &text("Calls, Calls 2, Calls 3 (a sheet holds at most 2 calls)")
    );
    // A corrected copy of it reads as labels from every Calls sheet.
    let set = MetricSet::with_definitions(&metrics(), &[]);
    let labels = parse_labels_file(&path.display().to_string(), fs::read(&path).unwrap(), &set)
        .unwrap()
        .unwrap();
    let ids: Vec<String> = labels.iter().map(|r| r.call_id.clone()).collect();
    assert_eq!(ids, expected);
    assert_eq!(labels[4].place.to_string(), "Calls 3!2:2");
}

#[test]
fn text_longer_than_a_cell_holds_is_cut_and_counted() {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("long.xlsx");
    let mut call = calls()[0].clone();
    call.summary = Some("word ".repeat(10_000));
    write(&path, &metrics(), &[call], LAST_ROW);
    let rows = sheet(&path, "Calls");
    let Data::String(summary) = at(&rows, 1, "summary") else {
        panic!()
    };
    assert!(summary.starts_with("word word"));
    assert!(
        summary.ends_with("the .json and .jsonl reports hold the whole text]"),
        "{}",
        &summary[summary.len() - 200..]
    );
    let rows = sheet(&path, "Summary");
    let Data::String(note) = summary_value(&rows, "cut cells") else {
        panic!()
    };
    assert!(
        note.starts_with("1 text cells were longer than Excel's 32,767 characters"),
        "{note}"
    );
}

#[test]
fn destination_appears_only_at_finish() {
    let t = tempfile::tempdir().unwrap();
    let new = t.path().join("new.xlsx");
    testing::write_report(&new, crate::report::OutputFormat::Xlsx, Default::default(), || {
        assert!(!new.exists())
    });
    assert!(sheet(&new, "Calls").len() == 4);

    let old = t.path().join("old.xlsx");
    fs::write(&old, "an earlier report").unwrap();
    testing::write_report(&old, crate::report::OutputFormat::Xlsx, Default::default(), || {
        assert_eq!(fs::read_to_string(&old).unwrap(), "an earlier report");
    });
    assert_eq!(sheet(&old, "Calls").len(), 4);
    assert_eq!(dir_entries(t.path()), ["new.xlsx", "old.xlsx"]);
}
