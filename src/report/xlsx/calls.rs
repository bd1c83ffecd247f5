//! The Calls sheet: one row per call, the CSV report's columns with real cell types.
//!
//! Columns are those of the CSV with `--csv-detail` (the names come from the same
//! function): `call_id`, `source`, `summary`, then per metric its value and its
//! `__status`, `__confidence`, `__reasoning`, `__evidence` and `__consistency`, then `errors`. The detail columns of
//! each metric are always there but grouped and collapsed: a reviewer sees the values, and
//! one click on the group's `+` shows why the model answered so, without re-exporting with
//! a flag. (A CSV has no way to hide a column, which is why it makes them optional.)
//!
//! Values are typed: integers and numbers as numbers, booleans as booleans, datetime
//! metrics as dates (a date-only answer stays a date) or date-times, lists joined with
//! `; ` as in the CSV. A cell is empty unless the status is `ok`. Enum columns carry a
//! drop-down of their choices (see [`Dropdown`]). The header row and the `call_id` column
//! are frozen, and an autofilter covers the sheet.

use rust_xlsxwriter::{ColNum, DataValidation, Formula, RowNum, Worksheet, XlsxError, utility};

use super::cells::{Civil, Formats, civil_of, fit};
use crate::report::csv::{call_columns, errors_text, evidence_text, header_row, reasoning_text, usage_cells};
use crate::report::{CallResult, MetricResult, Value};
use crate::spec::{Metric, MetricKind};
use crate::transcript::{MetadataLevel, MetadataValue};

/// The name of the hidden sheet that holds drop-down lists too long to write inline.
pub(super) const CHOICES_SHEET: &str = "Choices";

/// Excel's limit for a drop-down list written inline, choices and commas included.
const INLINE_LIST_LIMIT: usize = 255;

/// The last row index of a sheet (1,048,576 rows).
pub(super) const LAST_ROW: RowNum = 1_048_575;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    CallId,
    Source,
    Summary,
    /// The n-th call-metadata field the report's `--metadata` level shows: between what
    /// identifies the call and what the model said.
    Call(usize),
    Value(usize),
    Status(usize),
    Confidence(usize),
    Reasoning(usize),
    Evidence(usize),
    Consistency(usize),
    Errors,
    /// The n-th of the call's usage and cost cells (see [`usage_cells`]).
    Usage(usize),
}

/// A drop-down for an enum metric's column: its choices, plus `null` when the metric is
/// not required and `not_applicable` when it has `applies_when`, which is how a reviewer
/// marks those as the right answer (`eval` reads them as such; an empty cell is "not
/// labelled").
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Dropdown {
    pub metric_id: String,
    pub options: Vec<String>,
    /// Where the list lives: `None` inline in the validation rule; `Some(column)` on the
    /// hidden [`CHOICES_SHEET`], for lists too long for a rule or with a comma in a choice
    /// (an inline list has no way to quote one).
    pub choices_column: Option<ColNum>,
}

impl Dropdown {
    fn of(metric: &Metric, next_sheet_column: &mut ColNum) -> Option<Dropdown> {
        let MetricKind::Enum { choices } = &metric.kind else {
            return None;
        };
        let mut options = choices.clone();
        if !metric.required {
            options.push("null".into());
        }
        if metric.applies_when.is_some() {
            options.push("not_applicable".into());
        }
        let inline_length: usize = options.iter().map(|o| o.encode_utf16().count() + 1).sum();
        let inline = inline_length <= INLINE_LIST_LIMIT && !options.iter().any(|o| o.contains([',', '"']));
        let choices_column = (!inline).then(|| {
            *next_sheet_column += 1;
            *next_sheet_column - 1
        });
        Some(Dropdown {
            metric_id: metric.id.clone(),
            options,
            choices_column,
        })
    }

    fn validation(&self) -> Result<DataValidation, XlsxError> {
        let rule = match self.choices_column {
            None => DataValidation::new().allow_list_strings(&self.options)?,
            Some(col) => DataValidation::new().allow_list_formula(Formula::new(format!(
                "={}",
                utility::worksheet_range_absolute(CHOICES_SHEET, 1, col, self.options.len() as RowNum, col)
            ))),
        };
        rule.set_error_title("Not a choice")?.set_error_message(format!(
            "{} takes one of its choices (or null / not_applicable where the metric allows it). \
             Pick one from the list, or clear the cell.",
            self.metric_id
        ))
    }
}

/// The Calls sheet's columns for one report, worked out once at `begin`.
pub(super) struct CallsLayout {
    metrics: Vec<Metric>,
    level: MetadataLevel,
    columns: Vec<Column>,
    pub dropdowns: Vec<Option<Dropdown>>,
}

impl CallsLayout {
    pub fn new(metrics: &[Metric], level: MetadataLevel) -> CallsLayout {
        let mut columns = vec![Column::CallId, Column::Source, Column::Summary];
        columns.extend((0..call_columns(level).len()).map(Column::Call));
        for index in 0..metrics.len() {
            columns.extend([
                Column::Value(index),
                Column::Status(index),
                Column::Confidence(index),
                Column::Reasoning(index),
                Column::Evidence(index),
                Column::Consistency(index),
            ]);
        }
        columns.push(Column::Errors);
        columns.extend((0..5).map(Column::Usage));
        let mut next_sheet_column = 0;
        let dropdowns = metrics
            .iter()
            .map(|m| Dropdown::of(m, &mut next_sheet_column))
            .collect();
        CallsLayout {
            metrics: metrics.to_vec(),
            level,
            columns,
            dropdowns,
        }
    }

    /// The header row: the CSV's, with every detail column, and the `call.*` columns after
    /// the summary rather than at the end.
    pub fn headers(&self) -> Vec<String> {
        let ids: Vec<String> = self.metrics.iter().map(|m| m.id.clone()).collect();
        let mut headers = header_row(&ids, true);
        let after_summary = 3;
        headers.splice(after_summary..after_summary, call_columns(self.level));
        headers
    }

    pub fn last_column(&self) -> ColNum {
        (self.columns.len() - 1) as ColNum
    }

    /// Header row, widths, frozen panes, detail groups and drop-downs of a fresh Calls
    /// sheet (the first, or one a long report continues on).
    pub fn set_up(&self, sheet: &mut Worksheet, formats: &Formats) -> Result<(), XlsxError> {
        for (col, (column, header)) in self.columns.iter().zip(self.headers()).enumerate() {
            let col = col as ColNum;
            // Room for the header and the autofilter's button beside it.
            let header_width = header.chars().count() as f64 + 4.0;
            sheet.set_column_width(col, self.width(*column).max(header_width.min(30.0)))?;
            sheet.write_string_with_format(0, col, header, &formats.header)?;
            if let Column::Value(index) = column
                && let Some(dropdown) = &self.dropdowns[*index]
            {
                sheet.add_data_validation(1, col, LAST_ROW, col, &dropdown.validation()?)?;
            }
            if let Column::Status(_) = column {
                sheet.group_columns_collapsed(col, col + 4)?;
            }
        }
        sheet.set_freeze_panes(1, 1)?;
        Ok(())
    }

    fn width(&self, column: Column) -> f64 {
        match column {
            Column::CallId => 24.0,
            Column::Source => 28.0,
            Column::Summary | Column::Reasoning(_) | Column::Evidence(_) => 60.0,
            Column::Errors => 40.0,
            Column::Usage(_) => 14.0,
            Column::Call(_) => 20.0,
            Column::Status(_) => 14.0,
            Column::Confidence(_) | Column::Consistency(_) => 12.0,
            Column::Value(index) => match &self.metrics[index].kind {
                MetricKind::Enum { choices } => {
                    choices
                        .iter()
                        .map(|c| c.chars().count())
                        .max()
                        .unwrap_or(0)
                        .clamp(12, 30) as f64
                        + 2.0
                }
                MetricKind::Boolean | MetricKind::Integer { .. } | MetricKind::Number { .. } => 10.0,
                MetricKind::Datetime => 19.0,
                MetricKind::String | MetricKind::List { .. } => 40.0,
            },
        }
    }

    /// Writes `call` into `row`; returns how many text cells had to be cut to fit.
    pub fn write_row(
        &self,
        sheet: &mut Worksheet,
        row: RowNum,
        call: &CallResult,
        formats: &Formats,
    ) -> Result<usize, XlsxError> {
        let mut cells = RowCells {
            sheet,
            row,
            formats,
            cut: 0,
        };
        let block = call.call.clone().unwrap_or_default();
        let facts = block.fields(self.level);
        for (col, column) in self.columns.iter().enumerate() {
            let col = col as ColNum;
            let result = |index: usize| call.metrics.get(&self.metrics[index].id);
            match *column {
                Column::CallId => cells.text(col, &call.call_id, false)?,
                Column::Source => cells.text(col, &call.source, false)?,
                Column::Summary => cells.text(col, call.summary.as_deref().unwrap_or(""), true)?,
                Column::Call(index) => match &facts[index].1 {
                    Some(MetadataValue::Seconds(secs)) => {
                        cells.sheet.write_number_with_format(row, col, *secs, &formats.plain)?;
                    }
                    Some(value) => cells.text(col, &value.to_string(), false)?,
                    None => {}
                },
                Column::Value(index) => {
                    if let Some(value) = result(index).and_then(MetricResult::value) {
                        cells.value(col, &self.metrics[index].kind, value)?;
                    }
                }
                Column::Status(index) => {
                    cells.text(col, result(index).map_or("missing", |r| r.status().label()), false)?;
                }
                Column::Confidence(index) => {
                    if let Some(confidence) = result(index).and_then(MetricResult::confidence) {
                        cells
                            .sheet
                            .write_number_with_format(row, col, confidence, &formats.confidence)?;
                    }
                }
                Column::Reasoning(index) => cells.text(col, reasoning_text(result(index)).unwrap_or(""), true)?,
                Column::Evidence(index) => cells.text(col, &evidence_text(result(index)), true)?,
                Column::Consistency(index) => {
                    if let Some(consistency) = result(index)
                        .and_then(MetricResult::grounds)
                        .and_then(|g| g.consistency)
                    {
                        cells
                            .sheet
                            .write_number_with_format(row, col, consistency, &formats.confidence)?;
                    }
                }
                Column::Errors => cells.text(col, &errors_text(call), true)?,
                Column::Usage(n) => {
                    // Numbers as numbers; an unknown cost stays an empty cell.
                    if let Ok(number) = usage_cells(call)[n].parse::<f64>() {
                        cells.sheet.write_number_with_format(row, col, number, &formats.plain)?;
                    }
                }
            }
        }
        Ok(cells.cut)
    }
}

/// One row being written, counting the text cells cut to Excel's limit.
struct RowCells<'a> {
    sheet: &'a mut Worksheet,
    row: RowNum,
    formats: &'a Formats,
    cut: usize,
}

impl RowCells<'_> {
    /// A string cell; empty text leaves the cell empty.
    fn text(&mut self, col: ColNum, text: &str, wrap: bool) -> Result<(), XlsxError> {
        if text.is_empty() {
            return Ok(());
        }
        let (text, was_cut) = fit(text);
        self.cut += usize::from(was_cut);
        let format = if wrap { &self.formats.wrap } else { &self.formats.plain };
        self.sheet.write_string_with_format(self.row, col, text, format)?;
        Ok(())
    }

    /// A value in the cell type of its metric.
    fn value(&mut self, col: ColNum, kind: &MetricKind, value: &Value) -> Result<(), XlsxError> {
        let (sheet, row, formats) = (&mut *self.sheet, self.row, self.formats);
        match value {
            Value::Bool(b) => sheet.write_boolean_with_format(row, col, *b, &formats.plain)?,
            Value::Int(i) => sheet.write_number_with_format(row, col, *i as f64, &formats.plain)?,
            Value::Number(n) => sheet.write_number_with_format(row, col, *n, &formats.plain)?,
            Value::Text(s) if matches!(kind, MetricKind::Datetime) => match civil_of(s) {
                Some(Civil::Date(date)) => sheet.write_datetime_with_format(row, col, date, &formats.date)?,
                Some(Civil::DateTime(at)) => sheet.write_datetime_with_format(row, col, at, &formats.datetime)?,
                None => return self.text(col, s, false),
            },
            Value::Text(_) | Value::List(_) => {
                let wrap = matches!(kind, MetricKind::String | MetricKind::List { .. });
                return self.text(col, &value.display(), wrap);
            }
        };
        Ok(())
    }
}
