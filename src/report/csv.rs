//! CSV for spreadsheets: one row per call, formula-safe cells.
//!
//! Columns, in a stable order: `call_id`, `source`, `summary` (always present, empty when no
//! summary was asked for, so the layout does not depend on the metric file's options), one
//! column per metric id in metric-file order, and a trailing `errors` column with the call's
//! errors joined by `; ` (`metric: message` when an error concerns one metric). With
//! `detail`, each metric column is followed by `<id>__status` (`ok`, `null`,
//! `not_applicable`, `invalid` or `missing`), `<id>__confidence`, `<id>__reasoning` and
//! `<id>__evidence`; for an invalid answer the reasoning column holds the reason it was
//! refused. The evidence cell lists the quotes cited, `[3] "…"; [5] "…" (not in the
//! transcript)`, and ends with `UNVERIFIED` when the value is flagged for it. Then
//! `<id>__consistency`: the share of samples that agreed, empty unless `--samples` > 1.
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
        self.target.persist(self.temp.take(), ending)
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
pub const DETAIL_SUFFIXES: &[&str] = &["__status", "__confidence", "__reasoning", "__evidence", "__consistency"];

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
            row.push(text_cell(&evidence_text(result)));
            // Empty unless the run asked several samples (`--samples`).
            row.push(
                result
                    .and_then(MetricResult::grounds)
                    .and_then(|g| g.consistency)
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
            );
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

/// The `<id>__evidence` cell's text: each quote with its turn and whether it was found,
/// joined by `; `, then `UNVERIFIED` when the value is flagged for it.
pub fn evidence_text(result: Option<&MetricResult>) -> String {
    let Some(grounds) = result.and_then(MetricResult::grounds) else {
        return String::new();
    };
    let mut parts: Vec<String> = grounds.evidence.iter().map(|e| e.display()).collect();
    if grounds.evidence_unverified {
        parts.push("UNVERIFIED".to_string());
    }
    parts.join("; ")
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

    fn close(self: Box<Self>, _header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        (*self).end(ending)
    }
}

#[cfg(test)]
mod tests;
