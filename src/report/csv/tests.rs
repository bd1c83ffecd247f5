use std::fs;
use std::path::Path;

use indexmap::IndexMap;

use super::*;
use crate::report::testing::{dir_entries, write_report};
use crate::report::{CallError, OutputFormat, Usage};

/// A call read from `calls/c1.json` (a generic transcript, no summary, no usage) with
/// these answers and errors.
fn call_from_c1(call_id: &str, metrics: IndexMap<String, MetricResult>, errors: Vec<CallError>) -> CallResult {
    CallResult {
        call_id: call_id.into(),
        call: None,
        source: "calls/c1.json".into(),
        format: crate::transcript::Format::Generic,
        summary: None,
        metrics,
        errors,
        truncated: None,
        skipped: None,
        usage: Usage::default(),
        cost_usd: None,
    }
}

/// The CSV row of `call` under the metric columns `ids`, with or without the detail columns.
fn row_of(call: &CallResult, ids: &[&str], detail: bool) -> Vec<String> {
    let ids: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let mut row = Vec::new();
    fill_row(&mut row, call, &ids, detail);
    row
}

#[test]
fn formula_starts_are_quoted() {
    for text in ["=SUM(A1)", "+1", "-cmd", "@x", "\tx", "\rx"] {
        assert_eq!(text_cell(text), format!("'{text}"));
    }
    for text in ["plain", "", " =1", "'quoted", "1+1"] {
        assert_eq!(text_cell(text), text);
    }
}

#[test]
fn every_text_cell_reads_back_as_the_text_it_was_written_from() {
    let starts = ["", "=", "+", "-", "@", "\t", "\r", "'", "''", "'=", " ", "a"];
    let bodies = ["", "1+1", "null", "N/A", "not_applicable", "x", "'"];
    for start in starts {
        for body in bodies {
            let text = format!("{start}{body}");
            let cell = text_cell(&text);
            assert_eq!(read_text_cell(&cell).0, text, "{text:?} written as {cell:?}");
            // A reserved word or a formula start is only ever read as text.
            if RESERVED_CELLS.iter().any(|w| text.trim().eq_ignore_ascii_case(w)) {
                assert!(read_text_cell(&cell).1, "{text:?}");
            }
        }
    }
    assert_eq!(read_text_cell("null"), ("null", false));
    assert_eq!(read_text_cell("'null"), ("null", true));
}

#[test]
fn no_text_cell_starts_a_formula() {
    let starts = ["", "=", "+", "-", "@", "\t", "\r", "'", " ", "a", "1", "\n", "=="];
    let bodies = ["", "1+1", "SUM(A1:A2)", "cmd|' /C calc'!A0", "x\ny"];
    for start in starts {
        for body in bodies {
            let text = format!("{start}{body}");
            let cell = text_cell(&text);
            assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{text:?}");
            // Only the one quote is added, and only when needed.
            assert!(cell == text || cell == format!("'{text}"), "{text:?}");
        }
    }
}

#[test]
fn numbers_stay_numbers_and_text_is_quoted() {
    assert_eq!(value_cell(&Value::Int(-3)), "-3");
    assert_eq!(value_cell(&Value::Number(-0.5)), "-0.5");
    assert_eq!(value_cell(&Value::Number(4.0)), "4");
    assert_eq!(value_cell(&Value::Bool(false)), "false");
    assert_eq!(value_cell(&Value::Text("-3".into())), "'-3");
    assert_eq!(value_cell(&Value::List(vec!["=a".into(), "b".into()])), "'=a; b");
    assert_eq!(value_cell(&Value::List(vec![])), "");
}

#[test]
fn null_and_not_applicable_have_cells_of_their_own_and_no_answer_is_empty() {
    let mut metrics = IndexMap::new();
    for (id, result) in [
        (
            "n",
            MetricResult::Null {
                confidence: None,
                reasoning: None,
                grounds: Default::default(),
            },
        ),
        (
            "na",
            MetricResult::NotApplicable {
                confidence: None,
                reasoning: None,
                grounds: Default::default(),
            },
        ),
        (
            "t",
            MetricResult::Ok {
                value: Value::Text("NULL".into()),
                confidence: None,
                reasoning: None,
                grounds: Default::default(),
            },
        ),
    ] {
        metrics.insert(id.to_string(), result);
    }
    let call = call_from_c1("=c1", metrics, vec![]);
    assert_eq!(
        row_of(&call, &["n", "na", "t", "missing"], false),
        [
            "'=c1",
            "calls/c1.json",
            "",
            "null",
            "not_applicable",
            "'NULL",
            "",
            "",
            "0",
            "0",
            "0",
            "0",
            ""
        ]
    );
}

#[test]
fn the_evidence_cell_lists_each_quote_where_it_was_found_and_the_flag() {
    use crate::report::{Evidence, Grounds};
    let quote = |turn, verified, found_in_turn| Evidence {
        turn,
        quote: "my refund".into(),
        verified,
        found_in_turn,
    };
    let result = MetricResult::Ok {
        value: Value::Bool(true),
        confidence: None,
        reasoning: None,
        grounds: Grounds {
            evidence: vec![
                quote(Some(1), true, None),
                quote(Some(0), true, Some(2)),
                quote(None, false, None),
            ],
            evidence_unverified: false,
            consistency: None,
            samples: None,
            confidence_unavailable: None,
        },
    };
    assert_eq!(
        evidence_text(Some(&result)),
        "[1] \"my refund\"; [0] \"my refund\" (found in [2]); [?] \"my refund\" (not in the transcript)"
    );
    let flagged = MetricResult::Null {
        confidence: None,
        reasoning: None,
        grounds: Grounds {
            evidence: vec![],
            evidence_unverified: true,
            consistency: None,
            samples: None,
            confidence_unavailable: None,
        },
    };
    assert_eq!(evidence_text(Some(&flagged)), "UNVERIFIED");
    assert_eq!(evidence_text(None), "");
}

/// The header's first cells and its last, around the metric columns: spelled out here as a
/// spreadsheet user sees them, not read from `FIXED_COLUMNS`, so a changed column is noticed.
const HEADER_START: [&str; 3] = ["call_id", "source", "summary"];
const HEADER_END: [&str; 6] = [
    "errors",
    "requests",
    "prompt_tokens",
    "cached_prompt_tokens",
    "completion_tokens",
    "cost_usd",
];

/// A header with these metric columns between [`HEADER_START`] and [`HEADER_END`].
fn header_around<'a>(metric_columns: &[&'a str]) -> Vec<&'a str> {
    [&HEADER_START[..], metric_columns, &HEADER_END[..]].concat()
}

#[test]
fn header_with_and_without_detail() {
    let ids = vec!["a".to_string(), "b".to_string()];
    assert_eq!(header_row(&ids, false), header_around(&["a", "b"]));
    assert_eq!(
        header_row(&ids, true),
        header_around(&[
            "a",
            "a__status",
            "a__confidence",
            "a__reasoning",
            "a__evidence",
            "a__consistency",
            "b",
            "b__status",
            "b__confidence",
            "b__reasoning",
            "b__evidence",
            "b__consistency",
        ])
    );
}

#[test]
fn row_cells_by_status() {
    let mut metrics = IndexMap::new();
    metrics.insert(
        "a".to_string(),
        MetricResult::Ok {
            value: Value::Int(2),
            confidence: Some(0.5),
            reasoning: Some("-why".into()),
            grounds: Default::default(),
        },
    );
    metrics.insert(
        "b".to_string(),
        MetricResult::Invalid {
            reason: "bad".into(),
            raw: "{}".into(),
        },
    );
    let errors = vec![
        CallError {
            metric: Some("c".into()),
            message: "timed out".into(),
        },
        CallError {
            metric: None,
            message: "too long".into(),
        },
    ];
    let call = call_from_c1("c1", metrics, errors);
    // The errors, usage and cost cells end the row with or without the detail columns.
    let errors_and_usage = ["c: timed out; too long", "0", "0", "0", "0", ""];
    let detailed = [
        "c1",
        "calls/c1.json",
        "",
        "2",
        "ok",
        "0.5",
        "'-why",
        "",
        "",
        "",
        "invalid",
        "",
        "bad",
        "",
        "",
        "",
        "missing",
        "",
        "",
        "",
        "",
    ];
    assert_eq!(
        row_of(&call, &["a", "b", "c"], true),
        [&detailed[..], &errors_and_usage].concat()
    );
    let plain = ["c1", "calls/c1.json", "", "2", "", ""];
    assert_eq!(
        row_of(&call, &["a", "b", "c"], false),
        [&plain[..], &errors_and_usage].concat()
    );
}

// The sink as the run drives it, read back as a spreadsheet would.

/// A report of the shared calls written as a CSV with `options`, read back: its bytes and
/// its rows.
fn written_csv(options: CsvOptions) -> (Vec<u8>, Vec<Vec<String>>) {
    let t = tempfile::tempdir().unwrap();
    let path = t.path().join("report.csv");
    write_report(&path, OutputFormat::Csv, options, || {});
    read_csv(&path)
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
    let (bytes, rows) = written_csv(CsvOptions::default());
    assert!(!bytes.starts_with("\u{feff}".as_bytes()), "no BOM without the flag");
    assert_eq!(
        rows,
        [
            header_around(&[
                "call_outcome",
                "satisfaction_score",
                "sentiment",
                "mentioned_issues",
                "caller_authenticated",
                "notes",
            ]),
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
                "1",
                "400",
                "0",
                "100",
                "",
            ],
            vec![
                "'=cmd|' /C calc'!A0",
                "calls/b.json",
                "'-",
                "",
                "null",
                "",
                "",
                "not_applicable",
                "",
                "sentiment: endpoint kept failing: 503",
                "3",
                "800",
                "0",
                "200",
                "",
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
                "'-transcript is empty",
                "0",
                "0",
                "0",
                "0",
                "",
            ],
        ]
    );
}

#[test]
fn csv_bom_only_with_the_flag() {
    let (bytes, rows) = written_csv(CsvOptions {
        bom: true,
        detail: false,
    });
    assert!(bytes.starts_with("\u{feff}call_id,".as_bytes()));
    assert_eq!(rows.len(), 4);
}

#[test]
fn csv_detail_columns_only_with_the_flag() {
    let (_, rows) = written_csv(CsvOptions {
        bom: false,
        detail: true,
    });
    let header = &rows[0];
    assert_eq!(header.len(), 3 + 6 * 6 + 1 + 5);
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
    let (_, rows) = written_csv(CsvOptions {
        bom: true,
        detail: true,
    });
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
    let t = tempfile::tempdir().unwrap();
    let new = t.path().join("new.csv");
    write_report(&new, OutputFormat::Csv, CsvOptions::default(), || {
        assert!(!new.exists())
    });
    assert!(new.exists());

    let old = t.path().join("old.csv");
    fs::write(&old, "a,b\n1,2\n").unwrap();
    write_report(&old, OutputFormat::Csv, CsvOptions::default(), || {
        assert_eq!(fs::read_to_string(&old).unwrap(), "a,b\n1,2\n");
    });
    assert!(fs::read_to_string(&old).unwrap().starts_with("call_id,"));
    assert_eq!(dir_entries(t.path()), ["new.csv", "old.csv"]);
}
