//! The small sheets written at `finish`, after the calls: **Metrics** (the definitions the
//! values answer), **Summary** (the run header and per-metric counts, the numbers only known
//! at the end) and the hidden **Choices** sheet behind long drop-down lists.

use rust_xlsxwriter::{ColNum, RowNum, Worksheet, XlsxError};

use super::calls::{CHOICES_SHEET, Dropdown};
use super::cells::{Formats, fit};
use crate::report::summary::{SummaryCounts, grouped};
use crate::report::{RunHeader, Value};
use crate::spec::{Metric, MetricKind};

/// One metric per row: id, type, choices, range, required, prompt, description,
/// applies_when.
pub(super) fn write_metrics(sheet: &mut Worksheet, metrics: &[Metric], formats: &Formats) -> Result<(), XlsxError> {
    sheet.set_name("Metrics")?;
    let columns = [
        ("id", 24.0),
        ("type", 10.0),
        ("choices", 40.0),
        ("range", 12.0),
        ("required", 10.0),
        ("prompt", 60.0),
        ("description", 40.0),
        ("applies_when", 40.0),
    ];
    for (col, (name, width)) in columns.iter().enumerate() {
        sheet.set_column_width(col as ColNum, *width)?;
        sheet.write_string_with_format(0, col as ColNum, *name, &formats.header)?;
    }
    for (index, metric) in metrics.iter().enumerate() {
        let row = index as RowNum + 1;
        let range = match &metric.kind {
            MetricKind::Integer { range: Some([lo, hi]) } => format!("{lo} to {hi}"),
            MetricKind::Number { range: Some([lo, hi]) } => {
                format!("{} to {}", Value::Number(*lo).display(), Value::Number(*hi).display())
            }
            _ => String::new(),
        };
        let choices = metric.kind.choices().map(|c| c.join("; ")).unwrap_or_default();
        let text = [
            (0, metric.id.as_str(), &formats.plain),
            (1, metric.kind.name(), &formats.plain),
            (2, choices.as_str(), &formats.wrap),
            (3, range.as_str(), &formats.plain),
            (5, metric.prompt.as_str(), &formats.wrap),
            (6, metric.description.as_deref().unwrap_or(""), &formats.wrap),
            (7, metric.applies_when.as_deref().unwrap_or(""), &formats.wrap),
        ];
        for (col, value, format) in text {
            sheet.write_string_with_format(row, col, fit(value).0, format)?;
        }
        sheet.write_boolean_with_format(row, 4, metric.required, &formats.plain)?;
    }
    sheet.set_freeze_panes(1, 1)?;
    Ok(())
}

/// What the Summary sheet reports besides the run header.
pub(super) struct SummaryFacts<'a> {
    pub header: Option<&'a RunHeader>,
    pub metrics: &'a [Metric],
    pub counts: &'a SummaryCounts,
    /// The Calls sheets, in order.
    pub calls_sheets: &'a [String],
    pub calls_per_sheet: u32,
    pub cut_cells: usize,
}

/// The run header as label/value rows, then a per-metric table of answer counts, then the
/// files that could not be read.
pub(super) fn write_summary(
    sheet: &mut Worksheet,
    facts: &SummaryFacts<'_>,
    formats: &Formats,
) -> Result<(), XlsxError> {
    sheet.set_name("Summary")?;
    sheet.set_column_width(0, 24.0)?;
    sheet.set_column_width(1, 40.0)?;
    for col in 2..6 {
        sheet.set_column_width(col, 14.0)?;
    }
    let mut rows = Rows {
        sheet,
        formats,
        next: 0,
    };
    match facts.header {
        Some(header) => rows.run_header(header)?,
        None => {
            rows.text(
                "run header",
                "none: these calls came from a .jsonl written by an older postcall, so the model, metric file, \
                 times and usage are unknown",
            )?;
            rows.number("calls", facts.counts.calls() as f64)?;
            rows.number("failed calls", facts.counts.failed_calls() as f64)?;
        }
    }
    let sheets = if facts.calls_sheets.len() == 1 {
        facts.calls_sheets[0].clone()
    } else {
        format!(
            "{} (a sheet holds at most {} calls)",
            facts.calls_sheets.join(", "),
            grouped(u64::from(facts.calls_per_sheet))
        )
    };
    rows.text("calls sheets", &sheets)?;
    // Counted from the calls written, like the metric counts below.
    if facts.counts.skipped_calls() > 0 {
        rows.number("skipped calls", facts.counts.skipped_calls() as f64)?;
    }
    if facts.counts.truncated_calls() > 0 {
        rows.text(
            "truncated calls",
            &format!(
                "{} (--long-calls truncate: the middle of each transcript was cut; the .json and .jsonl reports \
                 say what, per call)",
                facts.counts.truncated_calls()
            ),
        )?;
    }
    if facts.cut_cells > 0 {
        rows.text(
            "cut cells",
            &format!(
                "{} text cells were longer than Excel's 32,767 characters and were cut; the .json and .jsonl \
                 reports hold them whole",
                facts.cut_cells
            ),
        )?;
    }
    rows.next += 1;
    rows.metric_counts(facts.metrics, facts.counts)?;
    if let Some(header) = facts.header
        && !header.input_errors.is_empty()
    {
        rows.next += 1;
        rows.table_header(&["unreadable file", "reason"])?;
        for error in &header.input_errors {
            rows.text(&error.source, &error.message)?;
        }
    }
    Ok(())
}

/// The Summary sheet, written top to bottom.
struct Rows<'a> {
    sheet: &'a mut Worksheet,
    formats: &'a Formats,
    next: RowNum,
}

impl Rows<'_> {
    fn run_header(&mut self, header: &RunHeader) -> Result<(), XlsxError> {
        let usage = &header.usage;
        self.text("postcall version", &header.version)?;
        self.number("report format", f64::from(header.report_format))?;
        self.text("model", &header.model)?;
        self.text("endpoint", &header.base_url)?;
        self.text("strategy", &header.strategy.to_string())?;
        self.text("structured output", &header.structured_output.to_string())?;
        self.text("metric file sha256", &header.metrics_sha256)?;
        self.time("started at (UTC)", Some(header.started_at))?;
        self.time("finished at (UTC)", header.finished_at)?;
        self.boolean("complete", header.complete)?;
        self.number("calls not done", header.calls_not_done as f64)?;
        if let Some(why) = header.stopped {
            self.text("stopped", &why.to_string())?;
        }
        self.number("calls", header.calls as f64)?;
        self.number("failed calls", header.failed_calls as f64)?;
        self.number("invalid values", header.invalid_values as f64)?;
        self.number("unreadable files", header.input_errors.len() as f64)?;
        self.number("requests", usage.requests as f64)?;
        self.number("cached answers", usage.cached as f64)?;
        self.number("retries", usage.retries as f64)?;
        self.number("prompt tokens", usage.prompt_tokens as f64)?;
        self.number("completion tokens", usage.completion_tokens as f64)?;
        match header.cost_usd {
            Some(usd) => self.number("cost (USD)", usd),
            // Unknown, never 0: a blank or a zero would read as "free".
            None => self.text("cost (USD)", "unknown (no price configured)"),
        }
    }

    fn metric_counts(&mut self, metrics: &[Metric], counts: &SummaryCounts) -> Result<(), XlsxError> {
        self.table_header(&["metric", "ok", "null", "not applicable", "invalid", "missing"])?;
        for metric in metrics {
            let c = counts.metric(&metric.id).copied().unwrap_or_default();
            let row = self.label(&metric.id)?;
            for (col, n) in [c.ok, c.null, c.not_applicable, c.invalid, c.missing]
                .into_iter()
                .enumerate()
            {
                self.sheet
                    .write_number_with_format(row, col as ColNum + 1, n as f64, &self.formats.plain)?;
            }
        }
        Ok(())
    }

    fn table_header(&mut self, names: &[&str]) -> Result<(), XlsxError> {
        for (col, name) in names.iter().enumerate() {
            self.sheet
                .write_string_with_format(self.next, col as ColNum, *name, &self.formats.header)?;
        }
        self.next += 1;
        Ok(())
    }

    /// Writes the label of a new row and returns the row.
    fn label(&mut self, label: &str) -> Result<RowNum, XlsxError> {
        let row = self.next;
        self.sheet
            .write_string_with_format(row, 0, fit(label).0, &self.formats.plain)?;
        self.next += 1;
        Ok(row)
    }

    fn text(&mut self, label: &str, value: &str) -> Result<(), XlsxError> {
        let row = self.label(label)?;
        self.sheet
            .write_string_with_format(row, 1, fit(value).0, &self.formats.wrap)?;
        Ok(())
    }

    fn number(&mut self, label: &str, value: f64) -> Result<(), XlsxError> {
        let row = self.label(label)?;
        self.sheet
            .write_number_with_format(row, 1, value, &self.formats.plain)?;
        Ok(())
    }

    fn boolean(&mut self, label: &str, value: bool) -> Result<(), XlsxError> {
        let row = self.label(label)?;
        self.sheet
            .write_boolean_with_format(row, 1, value, &self.formats.plain)?;
        Ok(())
    }

    fn time(&mut self, label: &str, at: Option<jiff::Timestamp>) -> Result<(), XlsxError> {
        let Some(at) = at else {
            return self.text(label, "not finished");
        };
        let row = self.label(label)?;
        let utc = at.to_zoned(jiff::tz::TimeZone::UTC).datetime();
        self.sheet
            .write_datetime_with_format(row, 1, utc, &self.formats.datetime)?;
        Ok(())
    }
}

/// The hidden sheet the long drop-down lists point at: one column per such metric, its id
/// in the first row and its options below.
pub(super) fn write_choices(
    sheet: &mut Worksheet,
    dropdowns: &[&Dropdown],
    formats: &Formats,
) -> Result<(), XlsxError> {
    sheet.set_name(CHOICES_SHEET)?;
    sheet.set_hidden(true);
    for dropdown in dropdowns {
        let Some(col) = dropdown.choices_column else {
            continue;
        };
        sheet.set_column_width(col, 24.0)?;
        sheet.write_string_with_format(0, col, &dropdown.metric_id, &formats.header)?;
        for (row, option) in dropdown.options.iter().enumerate() {
            sheet.write_string_with_format(row as RowNum + 1, col, option, &formats.plain)?;
        }
    }
    Ok(())
}
