//! CSV for spreadsheets: one row per call, formula-safe cells.
//!
//! Columns, in a stable order: `call_id`, `source`, `summary` (always present, empty when no
//! summary was asked for, so the layout does not depend on the metric file's options), one
//! column per metric id in metric-file order, and a trailing `errors` column with the call's
//! errors joined by `; ` (`metric: message` when an error concerns one metric). With
//! `detail`, each metric column is followed by `<id>__status` (`ok`, `null`,
//! `not_applicable`, `invalid` or `missing`), `<id>__confidence` and `<id>__reasoning`; for
//! an invalid answer the reasoning column holds the reason it was refused.
//!
//! A value cell holds the value when the status is `ok` (lists joined with `; `), the word
//! `null` for a null answer, `not_applicable` for a metric that did not apply, and is empty
//! when there is no answer (invalid, or the request failed). Those are the cells `eval`
//! reads back from a labels file, so a CSV report, corrected by hand or not, is a labels
//! file: empty is "not labelled", `null` and `not_applicable` are labels.
//!
//! Text that a spreadsheet would evaluate as a formula (it starts with `=`, `+`, `-`, `@`,
//! tab or carriage return) gets a leading `'`, which Excel and Google Sheets treat as "this
//! is text"; so does text that would read back as something else (`null`, `n/a`,
//! `not_applicable`, or a `'` before any of these). [`read_text_cell`] undoes exactly that,
//! in every column, call ids included. Cells rendered from numbers and booleans are left
//! alone, so `-3` stays a number.
//!
//! After `errors` come the call's metadata columns, `call.platform`, `call.started_at`, …,
//! as many as the run's `--metadata` level allows (none for a report without a run header).
//!
//! Encoding is UTF-8; the optional byte-order mark is what makes Excel on Windows read it
//! as UTF-8 instead of the local code page. Rows go to a temporary file beside the
//! destination, renamed over it at `finish` (or to `<dest>.partial` beside it when the run
//! stopped early); `-` and devices get the rows as they come.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;

use super::json::Ending;
use super::pending::{Target, TempFile};
use super::{CallResult, MetricResult, ReportHead, RunHeader, Sink, Value};
use crate::spec::Metric;
use crate::transcript::MetadataLevel;
use crate::transcript::MetadataValue;
use crate::transcript::metadata::FIELDS;

/// CSV layout options.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvOptions {
    /// Start the file with a UTF-8 byte-order mark, for Excel.
    pub bom: bool,
    /// Add status, confidence and reasoning columns after each metric.
    pub detail: bool,
}

const BOM: &[u8] = "\u{feff}".as_bytes();

pub struct CsvSink {
    options: CsvOptions,
    target: Target,
    /// For a file destination: the temporary file the rows go to, renamed at the end.
    temp: Option<(TempFile, File)>,
    /// Holds the raw output until `begin` wraps it in a CSV writer (after the BOM).
    raw: Option<Box<dyn Write + Send>>,
    writer: Option<::csv::Writer<Box<dyn Write + Send>>>,
    metric_ids: Vec<String>,
    /// Which `call.*` columns the rows have (the run header's `--metadata`).
    call_level: MetadataLevel,
    /// Reused for every row: the run may write 100k+ of them.
    row: Vec<String>,
}

impl CsvSink {
    /// Creates the temporary file beside a file destination now, so a bad path fails
    /// before any work; standard output and devices are written as rows come.
    pub(crate) fn create(target: Target, options: CsvOptions) -> anyhow::Result<CsvSink> {
        let label = target.label();
        let context = || format!("cannot write the report to {label}");
        let (raw, temp): (Box<dyn Write + Send>, _) = match &target {
            Target::Stdout => (Box::new(io::stdout()), None),
            Target::Device(path) => (
                Box::new(BufWriter::new(Target::open_device(path).with_context(context)?)),
                None,
            ),
            Target::File { dest, .. } => {
                let (temp, file) = TempFile::beside(dest).with_context(context)?;
                let writer = file.try_clone().with_context(context)?;
                (Box::new(BufWriter::new(writer)), Some((temp, file)))
            }
        };
        Ok(CsvSink {
            options,
            target,
            temp,
            raw: Some(raw),
            writer: None,
            metric_ids: Vec::new(),
            call_level: MetadataLevel::None,
            row: Vec::new(),
        })
    }

    fn label(&self) -> String {
        self.target.label()
    }

    /// Flushes the rows and moves a file destination's rows where `ending` says.
    fn end(mut self, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        let label = self.label();
        let context = || format!("cannot write the report to {label}");
        let writer = self.writer.take().context("the CSV report was finished before begin")?;
        let mut raw = writer.into_inner().map_err(|e| e.into_error()).with_context(context)?;
        raw.flush().with_context(context)?;
        drop(raw);
        let (Target::File { dest, .. }, Some((temp, file))) = (&self.target, self.temp.take()) else {
            return Ok(None);
        };
        let to = ending.place(dest);
        file.sync_all().with_context(context)?;
        temp.persist(&to)
            .with_context(|| format!("cannot write the report to {}", to.display()))?;
        Ok(Some(to))
    }
}

/// The columns every CSV report has besides the metrics: the first three, then `errors`
/// and the call's usage and cost last. No metric may be named like one (the metric file's
/// lint refuses it).
pub const FIXED_COLUMNS: &[&str] = &[
    "call_id",
    "source",
    "summary",
    "errors",
    "requests",
    "prompt_tokens",
    "cached_prompt_tokens",
    "completion_tokens",
    "cost_usd",
];
/// How many of [`FIXED_COLUMNS`] come before the metrics.
const LEADING_COLUMNS: usize = 3;
/// What `--csv-detail` appends to a metric id for its extra columns.
pub const DETAIL_SUFFIXES: &[&str] = &["__status", "__confidence", "__reasoning"];

/// The header row for these metric ids.
pub fn header_row(metric_ids: &[String], detail: bool) -> Vec<String> {
    let (leading, trailing) = FIXED_COLUMNS.split_at(LEADING_COLUMNS);
    let mut row: Vec<String> = leading.iter().map(|c| c.to_string()).collect();
    for id in metric_ids {
        row.push(id.clone());
        if detail {
            row.extend(DETAIL_SUFFIXES.iter().map(|suffix| format!("{id}{suffix}")));
        }
    }
    row.extend(trailing.iter().map(|c| c.to_string()));
    row
}

/// The `call.*` columns a report written at `level` has, after `errors`: one per field the
/// level allows, in [`FIELDS`] order, whether or not a call has it (the layout must not
/// depend on which calls came first).
pub fn call_columns(level: MetadataLevel) -> Vec<String> {
    FIELDS
        .iter()
        .filter(|(_, tier)| tier.visible_at(level))
        .map(|(name, _)| format!("{CALL_PREFIX}{name}"))
        .collect()
}

/// What every call-metadata column name starts with; no metric id holds a `.`.
pub const CALL_PREFIX: &str = "call.";

/// Appends the cells of [`call_columns`] for `call`: empty where the source had nothing.
pub fn push_call_cells(row: &mut Vec<String>, call: &CallResult, level: MetadataLevel) {
    let block = call.call.clone().unwrap_or_default();
    for (_, value) in block.fields(level) {
        row.push(match value {
            None => String::new(),
            Some(MetadataValue::Text(text)) => text_cell(text),
            Some(other) => other.to_string(),
        });
    }
}

/// Fills `row` with the cells for `call`, matching [`header_row`].
pub fn fill_row(row: &mut Vec<String>, call: &CallResult, metric_ids: &[String], detail: bool) {
    row.clear();
    row.push(text_cell(&call.call_id));
    row.push(text_cell(&call.source));
    row.push(text_cell(call.summary.as_deref().unwrap_or("")));
    for id in metric_ids {
        let result = call.metrics.get(id);
        row.push(match result {
            Some(MetricResult::Null { .. }) => NULL_CELL.to_string(),
            Some(MetricResult::NotApplicable { .. }) => NOT_APPLICABLE_CELL.to_string(),
            other => other.and_then(MetricResult::value).map(value_cell).unwrap_or_default(),
        });
        if detail {
            row.push(result.map_or("missing", |r| r.status().label()).to_string());
            row.push(
                result
                    .and_then(MetricResult::confidence)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            );
            row.push(text_cell(reasoning_text(result).unwrap_or("")));
        }
    }
    row.push(text_cell(&errors_text(call)));
    row.extend(usage_cells(call));
}

/// The call's `requests`, `prompt_tokens`, `cached_prompt_tokens`, `completion_tokens` and
/// `cost_usd` cells; the cost is empty when a model the call used has no price (unknown,
/// never 0).
pub fn usage_cells(call: &CallResult) -> [String; 5] {
    let usage = &call.usage;
    [
        usage.requests.to_string(),
        usage.prompt_tokens.to_string(),
        usage.cached_prompt_tokens.to_string(),
        usage.completion_tokens.to_string(),
        call.cost_usd.map(|usd| usd.to_string()).unwrap_or_default(),
    ]
}

/// The `<id>__reasoning` cell's text: the model's reasoning, or for an invalid answer the
/// reason it was refused.
pub fn reasoning_text(result: Option<&MetricResult>) -> Option<&str> {
    match result {
        Some(MetricResult::Invalid { reason, .. }) => Some(reason.as_str()),
        Some(other) => other.reasoning(),
        None => None,
    }
}

/// The `errors` cell's text: the call's errors joined by `; `, `metric: message` when an
/// error concerns one metric.
pub fn errors_text(call: &CallResult) -> String {
    let errors: Vec<String> = call
        .errors
        .iter()
        .map(|e| match &e.metric {
            Some(metric) => format!("{metric}: {}", e.message),
            None => e.message.clone(),
        })
        .collect();
    errors.join("; ")
}

/// A value's cell: numbers and booleans as they are, text made formula-safe.
pub fn value_cell(value: &Value) -> String {
    match value {
        Value::Bool(_) | Value::Int(_) | Value::Number(_) => value.display(),
        Value::Text(_) | Value::List(_) => text_cell(&value.display()),
    }
}

/// The cell of a null answer.
pub const NULL_CELL: &str = "null";
/// The cell of a metric that did not apply.
pub const NOT_APPLICABLE_CELL: &str = "not_applicable";
/// Cells a labels file reads as something other than text (`compare::labels`).
const RESERVED_CELLS: &[&str] = &[NULL_CELL, NOT_APPLICABLE_CELL, "n/a"];

/// Whether `text` needs a leading `'`: it would start a formula, read back as a reserved
/// cell, or already starts with a `'` that [`read_text_cell`] would take away.
fn needs_quote(text: &str) -> bool {
    text.starts_with(['=', '+', '-', '@', '\t', '\r'])
        || RESERVED_CELLS.iter().any(|word| text.trim().eq_ignore_ascii_case(word))
        || text.strip_prefix('\'').is_some_and(needs_quote)
}

/// Text a spreadsheet will show as text, and `eval` will read back as this text: a leading
/// `'` when it would start a formula or read as a reserved cell.
pub fn text_cell(text: &str) -> String {
    if needs_quote(text) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// The text a cell written by [`text_cell`] holds, and whether it was quoted: a quoted
/// `'null` is the text "null", never a null answer.
pub fn read_text_cell(cell: &str) -> (&str, bool) {
    match cell.strip_prefix('\'') {
        Some(text) if needs_quote(text) => (text, true),
        _ => (cell, false),
    }
}

impl Sink for CsvSink {
    fn begin(&mut self, head: &ReportHead<'_>) -> anyhow::Result<()> {
        self.call_level = head.header.metadata.unwrap_or(MetadataLevel::None);
        self.begin_headerless(head.metrics, head.has_summary)
    }

    /// A CSV report has no header row for the run: with or without one, it is the same.
    fn begin_headerless(&mut self, metrics: &[Metric], _has_summary: bool) -> anyhow::Result<()> {
        let label = self.label();
        let mut raw = self.raw.take().context("the CSV report was begun twice")?;
        if self.options.bom {
            raw.write_all(BOM)
                .with_context(|| format!("cannot write the report to {label}"))?;
        }
        let mut writer = ::csv::Writer::from_writer(raw);
        self.metric_ids = metrics.iter().map(|m| m.id.clone()).collect();
        let mut columns = header_row(&self.metric_ids, self.options.detail);
        columns.extend(call_columns(self.call_level));
        writer
            .write_record(columns)
            .with_context(|| format!("cannot write the report to {label}"))?;
        self.writer = Some(writer);
        Ok(())
    }

    fn call(&mut self, call: &CallResult) -> anyhow::Result<()> {
        let label = self.label();
        let writer = self
            .writer
            .as_mut()
            .context("a call was written to the CSV report before begin")?;
        fill_row(&mut self.row, call, &self.metric_ids, self.options.detail);
        push_call_cells(&mut self.row, call, self.call_level);
        writer
            .write_record(&self.row)
            .with_context(|| format!("cannot write call {} to {label}", call.call_id))
    }

    fn finish(self: Box<Self>, _header: &RunHeader) -> anyhow::Result<()> {
        (*self).end(Ending::Complete).map(drop)
    }

    fn stop(self: Box<Self>, _header: &RunHeader) -> anyhow::Result<Option<PathBuf>> {
        (*self).end(Ending::Partial)
    }

    fn finish_headerless(self: Box<Self>) -> anyhow::Result<()> {
        (*self).end(Ending::Complete).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;

    use indexmap::IndexMap;

    use super::*;
    use crate::report::testing::{dir_entries, write_report};
    use crate::report::{CallError, OutputFormat, Usage};

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
                },
            ),
            (
                "na",
                MetricResult::NotApplicable {
                    confidence: None,
                    reasoning: None,
                },
            ),
            (
                "t",
                MetricResult::Ok {
                    value: Value::Text("NULL".into()),
                    confidence: None,
                    reasoning: None,
                },
            ),
        ] {
            metrics.insert(id.to_string(), result);
        }
        let call = CallResult {
            call_id: "=c1".into(),
            call: None,
            source: "calls/c1.json".into(),
            format: crate::transcript::Format::Generic,
            summary: None,
            metrics,
            errors: vec![],
            truncated: None,
            skipped: None,
            usage: Usage::default(),
            cost_usd: None,
        };
        let ids: Vec<String> = ["n", "na", "t", "missing"].map(String::from).to_vec();
        let mut row = Vec::new();
        fill_row(&mut row, &call, &ids, false);
        assert_eq!(
            row,
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
    fn header_with_and_without_detail() {
        let ids = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            header_row(&ids, false),
            [
                "call_id",
                "source",
                "summary",
                "a",
                "b",
                "errors",
                "requests",
                "prompt_tokens",
                "cached_prompt_tokens",
                "completion_tokens",
                "cost_usd"
            ]
        );
        assert_eq!(
            header_row(&ids, true),
            [
                "call_id",
                "source",
                "summary",
                "a",
                "a__status",
                "a__confidence",
                "a__reasoning",
                "b",
                "b__status",
                "b__confidence",
                "b__reasoning",
                "errors",
                "requests",
                "prompt_tokens",
                "cached_prompt_tokens",
                "completion_tokens",
                "cost_usd"
            ]
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
            },
        );
        metrics.insert(
            "b".to_string(),
            MetricResult::Invalid {
                reason: "bad".into(),
                raw: "{}".into(),
            },
        );
        let call = CallResult {
            call_id: "c1".into(),
            call: None,
            source: "calls/c1.json".into(),
            format: crate::transcript::Format::Generic,
            summary: None,
            metrics,
            errors: vec![
                CallError {
                    metric: Some("c".into()),
                    message: "timed out".into(),
                },
                CallError {
                    metric: None,
                    message: "too long".into(),
                },
            ],
            truncated: None,
            skipped: None,
            usage: Usage::default(),
            cost_usd: None,
        };
        let ids = vec!["a".to_string(), "b".to_string(), "c".to_string()];
        let mut row = Vec::new();
        fill_row(&mut row, &call, &ids, true);
        assert_eq!(
            row,
            [
                "c1",
                "calls/c1.json",
                "",
                "2",
                "ok",
                "0.5",
                "'-why",
                "",
                "invalid",
                "",
                "bad",
                "",
                "missing",
                "",
                "",
                "c: timed out; too long",
                "0",
                "0",
                "0",
                "0",
                ""
            ]
        );
        fill_row(&mut row, &call, &ids, false);
        assert_eq!(
            row,
            [
                "c1",
                "calls/c1.json",
                "",
                "2",
                "",
                "",
                "c: timed out; too long",
                "0",
                "0",
                "0",
                "0",
                ""
            ]
        );
    }

    // The sink as the run drives it, read back as a spreadsheet would.

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
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("report.csv");
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
                    "requests",
                    "prompt_tokens",
                    "cached_prompt_tokens",
                    "completion_tokens",
                    "cost_usd",
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
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("excel.csv");
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
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("detail.csv");
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
        assert_eq!(header.len(), 3 + 6 * 4 + 1 + 5);
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
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("safe.csv");
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
}
