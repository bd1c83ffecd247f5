//! Hand labels for `eval`: what the right answer was, per call and metric.
//!
//! Three shapes are read:
//!
//! - **CSV**: a `call_id` column and one column per metric id. An empty cell means "not
//!   labelled". `null` and `not_applicable` (or `n/a`) are labels of their own. Lists are
//!   written `a; b`. Columns a postcall CSV report has besides metrics (`source`,
//!   `summary`, `errors`, `<id>__status`/`__confidence`/`__reasoning`) are ignored, and
//!   the `'` the report puts before a formula-like or reserved text is taken off again
//!   (`'=x` is the text `=x`, `'null` the text `null`), in every cell, call ids included:
//!   so a CSV report, as written or corrected by hand, is a labels file.
//! - **XLSX** ([`xlsx`]): the same table in a workbook, typed cells welcome; a postcall
//!   `.xlsx` report corrected by hand is a labels file.
//! - **JSONL**: one object per line, `{"call_id": "…", "<metric>": value, …}`; a missing key
//!   is "not labelled", JSON `null` is a null label, lists are arrays.
//!
//! Every value is checked against its metric's type (an enum label must be one of the
//! choices) and every problem is collected, so one run of `eval` lists them all, each with
//! where it is (`file:line:column`, or `file:Sheet!C5` in a workbook), the value and what
//! to do.

use std::fmt;

use indexmap::IndexMap;

use crate::report::Value;
use crate::report::csv::read_text_cell;
use crate::spec::MetricKind;

use crate::answer::value::date_of;
use crate::answer::{Answer, MetricSet};

use self::table::{Cell, Table};

mod table;
mod xlsx;

/// One labelled call.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRow {
    pub call_id: String,
    /// Where the row is in the labels file, for messages.
    pub place: Place,
    /// Only labelled metrics; values are `Ok`, `Null` or `NotApplicable`.
    pub labels: IndexMap<String, Answer>,
}

/// Where something is in a labels file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A text file: 1-based line and, when known, 1-based column.
    Line { line: usize, column: Option<usize> },
    /// A workbook: sheet, 1-based row and, when known, 1-based column; shown the way a
    /// spreadsheet names it (`Calls!C5`, or `Calls!5:5` for a whole row).
    Cell {
        sheet: String,
        row: usize,
        column: Option<usize>,
    },
}

impl Place {
    pub fn line(line: usize) -> Place {
        Place::Line { line, column: None }
    }

    /// The same row, at another column.
    pub fn at_column(&self, column: usize) -> Place {
        match self {
            Place::Line { line, .. } => Place::Line {
                line: *line,
                column: Some(column),
            },
            Place::Cell { sheet, row, .. } => Place::Cell {
                sheet: sheet.clone(),
                row: *row,
                column: Some(column),
            },
        }
    }
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Line { line, column: None } => write!(f, "{line}"),
            Place::Line {
                line,
                column: Some(column),
            } => write!(f, "{line}:{column}"),
            Place::Cell {
                sheet,
                row,
                column: None,
            } => write!(f, "{sheet}!{row}:{row}"),
            Place::Cell {
                sheet,
                row,
                column: Some(column),
            } => write!(f, "{sheet}!{}{row}", column_letters(*column)),
        }
    }
}

/// 1 → `A`, 27 → `AA`.
fn column_letters(column: usize) -> String {
    let mut n = column;
    let mut letters = Vec::new();
    while n > 0 {
        let rest = (n - 1) % 26;
        letters.push(b'A' + rest as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// One problem in a labels file.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelError {
    pub place: Place,
    pub message: String,
}

/// Every problem found in a labels file, printed one per line as `file:place: message`.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelErrors {
    pub path: String,
    pub errors: Vec<LabelError>,
}

impl fmt::Display for LabelErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}:{}: {}", self.path, e.place, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for LabelErrors {}

/// Stop collecting after this many problems: by then the file is clearly of another kind.
const MAX_ERRORS: usize = 20;

/// The labels in a labels file's bytes (`shown` is the file, for messages and for its
/// extension): a workbook when the bytes are one (whatever its name), else text parsed by
/// [`parse_labels`]. The outer error is bytes that are neither; the inner one lists the
/// problems in a file that was read.
pub fn parse_labels_file(
    shown: &str,
    bytes: Vec<u8>,
    metrics: &MetricSet,
) -> anyhow::Result<Result<Vec<LabelRow>, LabelErrors>> {
    if xlsx::is_workbook(&bytes) {
        return xlsx::parse_workbook(shown, bytes, metrics);
    }
    let text = String::from_utf8(bytes).map_err(|_| {
        anyhow::anyhow!(
            "the labels file {shown} is not UTF-8 text; save it as UTF-8 CSV, JSONL or as an .xlsx workbook"
        )
    })?;
    Ok(parse_labels(shown, &text, metrics))
}

/// Parses text labels, choosing CSV or JSONL by the file's extension (`.jsonl`, `.ndjson`
/// and `.json` are JSON lines; anything else CSV).
pub fn parse_labels(path: &str, text: &str, metrics: &MetricSet) -> Result<Vec<LabelRow>, LabelErrors> {
    let lower = path.to_ascii_lowercase();
    let errors = |errors| LabelErrors {
        path: path.to_string(),
        errors,
    };
    if [".jsonl", ".ndjson", ".json"].iter().any(|ext| lower.ends_with(ext)) {
        parse_jsonl(text, metrics).map_err(errors)
    } else {
        parse_csv(text, metrics).map_err(errors)
    }
}

/// Columns of postcall's own CSV and XLSX reports that are not metrics.
fn is_report_column(name: &str) -> bool {
    (name != "call_id" && crate::report::csv::FIXED_COLUMNS.contains(&name))
        || name.starts_with(crate::report::csv::CALL_PREFIX)
        || crate::report::csv::DETAIL_SUFFIXES
            .iter()
            .any(|suffix| name.ends_with(suffix))
}

pub fn parse_csv(text: &str, metrics: &MetricSet) -> Result<Vec<LabelRow>, Vec<LabelError>> {
    let text = text.trim_start_matches('\u{feff}');
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text.as_bytes());
    let mut table = Table::new(metrics);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => return Err(vec![error(Place::line(1), format!("cannot read the header row: {e}"))]),
    };
    if !table.header(headers.iter(), &Place::line(1)) {
        return table.finish();
    }
    let mut cells = Vec::new();
    for record in reader.records() {
        if table.is_full() {
            break;
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line() as usize);
                table.push_error(error(Place::line(line), format!("not valid CSV: {e}")));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line() as usize);
        cells.clear();
        cells.extend(record.iter().map(|cell| match read_text_cell(cell.trim()) {
            (text, true) => Cell::Literal(text.to_string()),
            (_, false) => Cell::Text(cell.to_string()),
        }));
        table.row(&cells, Place::line(line));
    }
    table.finish()
}

pub fn parse_jsonl(text: &str, metrics: &MetricSet) -> Result<Vec<LabelRow>, Vec<LabelError>> {
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut seen: IndexMap<String, usize> = IndexMap::new();
    for (index, raw) in text.lines().enumerate() {
        if errors.len() >= MAX_ERRORS {
            break;
        }
        let line = index + 1;
        let at = Place::line(line);
        let raw = raw.trim().trim_start_matches('\u{feff}');
        if raw.is_empty() {
            continue;
        }
        let object = match serde_json::from_str::<serde_json::Value>(raw) {
            Ok(serde_json::Value::Object(map)) => map,
            Ok(_) => {
                errors.push(error(
                    at,
                    "expected one JSON object per line, like {\"call_id\": \"…\", \"metric\": value}".into(),
                ));
                continue;
            }
            Err(e) => {
                errors.push(error(at.at_column(e.column()), format!("not JSON: {e}")));
                continue;
            }
        };
        let call_id = match object.get("call_id") {
            Some(serde_json::Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => {
                errors.push(error(
                    at,
                    "no `call_id` string; every line needs the call it labels".into(),
                ));
                continue;
            }
        };
        if let Some(first) = seen.insert(call_id.clone(), line) {
            errors.push(error(
                at,
                format!("call `{call_id}` is labelled twice (first on line {first}); keep one line per call"),
            ));
            continue;
        }
        let mut labels = IndexMap::new();
        for (key, value) in &object {
            if key == "call_id" || is_report_column(key) {
                continue;
            }
            let Some(kind) = metrics.kinds.get(key) else {
                errors.push(error(
                    at.clone(),
                    format!(
                        "key `{key}` names no metric of the report; its metrics are: {}. Rename or remove it",
                        metrics.id_list()
                    ),
                ));
                continue;
            };
            match parse_json_label(kind, key, value) {
                Ok(answer) => {
                    labels.insert(key.clone(), answer);
                }
                Err(message) => errors.push(error(at.clone(), message)),
            }
        }
        rows.push(LabelRow {
            call_id,
            place: at,
            labels,
        });
    }
    if errors.is_empty() { Ok(rows) } else { Err(errors) }
}

fn error(place: Place, message: String) -> LabelError {
    LabelError { place, message }
}

/// A label written as text (a CSV cell, or a JSON string).
pub fn parse_text_label(kind: &MetricKind, metric: &str, text: &str) -> Result<Answer, String> {
    let text = text.trim();
    match text.to_ascii_lowercase().as_str() {
        "null" => Ok(Answer::Null),
        "not_applicable" | "n/a" => Ok(Answer::NotApplicable),
        _ => parse_value_label(kind, metric, text),
    }
}

/// A label that is a value, never `null` or not-applicable (a quoted CSV cell).
pub(super) fn parse_value_label(kind: &MetricKind, metric: &str, text: &str) -> Result<Answer, String> {
    let value = match kind {
        MetricKind::String => Value::Text(text.to_string()),
        MetricKind::Enum { choices } => Value::Text(choice(choices, metric, text)?),
        MetricKind::Boolean => Value::Bool(match text.to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => true,
            "false" | "no" | "n" | "0" => false,
            _ => return Err(format!("`{text}` is not a boolean for `{metric}`; write true or false")),
        }),
        MetricKind::Integer { .. } => {
            let number: f64 = text
                .parse()
                .map_err(|_| format!("`{text}` is not an integer for `{metric}`"))?;
            if number.fract() != 0.0 || !number.is_finite() {
                return Err(format!(
                    "`{text}` is not a whole number; `{metric}` is an integer metric"
                ));
            }
            Value::Int(number as i64)
        }
        MetricKind::Number { .. } => Value::Number(
            text.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("`{text}` is not a number for `{metric}`"))?,
        ),
        MetricKind::Datetime => {
            if date_of(text).is_none() {
                return Err(format!(
                    "`{text}` is not an ISO 8601 date for `{metric}`; write it like 2024-03-15 or 2024-03-15T14:00:00Z"
                ));
            }
            Value::Text(text.to_string())
        }
        MetricKind::List { choices } => {
            let items: Vec<&str> = text.split(';').map(str::trim).filter(|s| !s.is_empty()).collect();
            list_value(choices.as_deref(), metric, &items)?
        }
    };
    Ok(Answer::Ok(value))
}

fn parse_json_label(kind: &MetricKind, metric: &str, value: &serde_json::Value) -> Result<Answer, String> {
    use serde_json::Value as J;
    match (kind, value) {
        (_, J::Null) => Ok(Answer::Null),
        (_, J::String(s)) => parse_text_label(kind, metric, s),
        (MetricKind::Boolean, J::Bool(b)) => Ok(Answer::Ok(Value::Bool(*b))),
        (MetricKind::Integer { .. } | MetricKind::Number { .. }, J::Number(n)) => {
            parse_text_label(kind, metric, &n.to_string())
        }
        (MetricKind::List { choices }, J::Array(items)) => {
            let mut texts = Vec::new();
            for item in items {
                match item {
                    J::String(s) => texts.push(s.as_str()),
                    other => {
                        return Err(format!(
                            "`{other}` in `{metric}` is not a string; list items are strings"
                        ));
                    }
                }
            }
            Ok(Answer::Ok(list_value(choices.as_deref(), metric, &texts)?))
        }
        (kind, other) => Err(format!(
            "`{other}` is not a valid label for `{metric}` (type {})",
            kind.name()
        )),
    }
}

/// The canonical spelling of `text` among `choices`, ignoring case.
fn choice(choices: &[String], metric: &str, text: &str) -> Result<String, String> {
    choices
        .iter()
        .find(|c| c.eq_ignore_ascii_case(text))
        .cloned()
        .ok_or_else(|| {
            format!(
                "`{text}` is not one of the choices of `{metric}` ({}); fix the label, or add the choice to the metric file",
                choices.join(", ")
            )
        })
}

fn list_value(choices: Option<&[String]>, metric: &str, items: &[&str]) -> Result<Value, String> {
    let items = match choices {
        Some(choices) => items
            .iter()
            .map(|item| choice(choices, metric, item))
            .collect::<Result<Vec<_>, _>>()?,
        None => items.iter().map(|s| s.to_string()).collect(),
    };
    Ok(Value::List(items))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;

    fn metrics() -> MetricSet {
        MetricSet::with_definitions(
            &[
                enum_metric("outcome", &["success", "failure", "abandoned"]),
                metric("score", MetricKind::Integer { range: Some([1, 5]) }),
                metric("name", MetricKind::String),
                metric("verified", MetricKind::Boolean),
                metric("date", MetricKind::Datetime),
                metric(
                    "channels",
                    MetricKind::List {
                        choices: Some(vec!["email".into(), "sms".into()]),
                    },
                ),
            ],
            &[],
        )
    }

    #[test]
    fn csv_labels_are_typed_and_empty_cells_are_unlabelled() {
        let text = "call_id,outcome,score,name,verified,date,channels\n\
                    c1,Success,4,Crystal Minh,yes,2019-03-13,SMS; email\n\
                    c2,null,,,n/a,,\n";
        let rows = parse_csv(text, &metrics()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].place, Place::line(2));
        assert_eq!(rows[0].labels["outcome"], Answer::Ok(Value::Text("success".into())));
        assert_eq!(rows[0].labels["score"], Answer::Ok(Value::Int(4)));
        assert_eq!(rows[0].labels["verified"], Answer::Ok(Value::Bool(true)));
        assert_eq!(rows[0].labels["channels"], Answer::Ok(list(&["sms", "email"])));
        assert_eq!(rows[1].labels.len(), 2);
        assert_eq!(rows[1].labels["outcome"], Answer::Null);
        assert_eq!(rows[1].labels["verified"], Answer::NotApplicable);
    }

    #[test]
    fn quoted_cells_read_as_the_text_the_report_wrote() {
        let text = "call_id,outcome,name,score\n\
                    '=c1,null,'null,not_applicable\n\
                    '+c2,Success,'=HYPERLINK(1),4\n";
        let rows = parse_csv(text, &metrics()).unwrap();
        assert_eq!(rows[0].call_id, "=c1");
        assert_eq!(rows[0].labels["outcome"], Answer::Null);
        assert_eq!(rows[0].labels["name"], Answer::Ok(Value::Text("null".into())));
        assert_eq!(rows[0].labels["score"], Answer::NotApplicable);
        assert_eq!(rows[1].call_id, "+c2");
        assert_eq!(rows[1].labels["name"], Answer::Ok(Value::Text("=HYPERLINK(1)".into())));
    }

    #[test]
    fn a_postcall_csv_report_reads_as_labels() {
        let text = "call_id,source,summary,outcome,outcome__status,outcome__confidence,outcome__reasoning,errors\n\
                    c1,calls/c1.json,,failure,ok,0.9,why,\n";
        let rows = parse_csv(text, &metrics()).unwrap();
        assert_eq!(rows[0].labels["outcome"], Answer::Ok(Value::Text("failure".into())));
    }

    #[test]
    fn every_problem_is_named_with_line_column_and_value() {
        let text = "call_id,outcome,mood,score\n\
                    c1,succeeded,x,4.5\n\
                    ,success,x,4\n\
                    c1,success,x,4\n";
        let errors = LabelErrors {
            path: "labels.csv".into(),
            errors: parse_csv(text, &metrics()).unwrap_err(),
        };
        let shown = errors.to_string();
        let lines: Vec<&str> = shown.lines().collect();
        assert_eq!(lines.len(), 5, "{shown}");
        assert!(
            lines[0].starts_with("labels.csv:1:3: column `mood` names no metric"),
            "{shown}"
        );
        assert!(
            lines[0].contains("outcome, score, name, verified, date, channels"),
            "{shown}"
        );
        assert!(
            lines[1].starts_with(
                "labels.csv:2:2: `succeeded` is not one of the choices of `outcome` (success, failure, abandoned)"
            ),
            "{shown}"
        );
        assert!(
            lines[2].starts_with("labels.csv:2:4: `4.5` is not a whole number"),
            "{shown}"
        );
        assert!(lines[3].starts_with("labels.csv:3:1: empty `call_id`"), "{shown}");
        assert!(lines[4].contains("labelled twice (first on line 2)"), "{shown}");
    }

    #[test]
    fn csv_without_call_id_says_what_the_header_needs() {
        let errors = parse_csv("id,outcome\nc1,success\n", &metrics()).unwrap_err();
        assert!(errors[0].message.contains("no `call_id` column"), "{errors:?}");
    }

    #[test]
    fn jsonl_labels_take_json_types() {
        let text = "{\"call_id\": \"c1\", \"outcome\": \"failure\", \"score\": 2, \"verified\": false, \"channels\": [\"email\"]}\n\
                    \n\
                    {\"call_id\": \"c2\", \"outcome\": null, \"name\": \"not_applicable\"}\n";
        let rows = parse_jsonl(text, &metrics()).unwrap();
        assert_eq!(rows[0].labels["score"], Answer::Ok(Value::Int(2)));
        assert_eq!(rows[0].labels["verified"], Answer::Ok(Value::Bool(false)));
        assert_eq!(rows[0].labels["channels"], Answer::Ok(list(&["email"])));
        assert_eq!(rows[1].place, Place::line(3));
        assert_eq!(rows[1].labels["outcome"], Answer::Null);
        assert_eq!(rows[1].labels["name"], Answer::NotApplicable);
    }

    #[test]
    fn jsonl_problems_name_the_line() {
        let text = "{\"call_id\": \"c1\", \"outcome\": \"won\"}\n{\"call_id\": \"c2\", \"score\": true}\nnot json\n";
        let errors = LabelErrors {
            path: "l.jsonl".into(),
            errors: parse_jsonl(text, &metrics()).unwrap_err(),
        };
        let shown = errors.to_string();
        assert!(
            shown.contains("l.jsonl:1: `won` is not one of the choices of `outcome`"),
            "{shown}"
        );
        assert!(
            shown.contains("l.jsonl:2: `true` is not a valid label for `score` (type integer)"),
            "{shown}"
        );
        assert!(shown.contains("l.jsonl:3:2: not JSON"), "{shown}");
    }

    #[test]
    fn the_extension_picks_the_parser() {
        let jsonl = parse_labels("x.jsonl", "{\"call_id\": \"c1\", \"score\": 3}\n", &metrics()).unwrap();
        assert_eq!(jsonl[0].labels["score"], Answer::Ok(Value::Int(3)));
        let csv = parse_labels("x.csv", "call_id,score\nc1,3\n", &metrics()).unwrap();
        assert_eq!(csv[0].labels, jsonl[0].labels);
        assert_eq!((&csv[0].place, &jsonl[0].place), (&Place::line(2), &Place::line(1)));
    }
}
