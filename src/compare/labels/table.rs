//! A labels file read as a table, whatever it was stored as: a header row naming the
//! columns, then one row per labelled call. CSV gives text cells, a workbook typed ones;
//! both go through the same checks, so a problem reads the same in either.
//!
//! A postcall report leaves a metric's value cell empty unless the answer was `ok`; its
//! `<id>__status` column says whether the model answered `null` or `not_applicable`. A
//! blank value cell beside such a status is that label, so a report read back as labels
//! (as written, or corrected by hand) agrees with itself on every answer, not only the
//! `ok` ones. A blank cell beside any other status, or with no status column, is "not
//! labelled"; a reviewer overrides a status by typing a value.

use indexmap::IndexMap;

use super::{LabelError, LabelRow, MAX_ERRORS, Place, error, is_report_column, parse_text_label, parse_value_label};
use crate::answer::{Answer, MetricSet};
use crate::report::Value;
use crate::spec::MetricKind;

/// How a report names a metric's status column: `<id>__status`.
const STATUS_SUFFIX: &str = "__status";

/// One cell of a labels table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    /// Text that is text whatever it says: a CSV report's quoted cell, its `'` taken off
    /// (`'null` is the word "null", never a null label).
    Literal(String),
    Number(f64),
    Bool(bool),
    Date(jiff::civil::Date),
    DateTime(jiff::civil::DateTime),
    /// A spreadsheet error value (`#N/A`, `#REF!`) or a date that cannot exist.
    Error(String),
}

impl Cell {
    /// The cell as text: what a label is parsed from when the cell's type is not the
    /// metric's (a number typed in a text column, a date Excel made of `3/15`).
    fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(text) | Cell::Literal(text) | Cell::Error(text) => text.clone(),
            // `4.0` shows as `4`, which an integer metric accepts.
            Cell::Number(n) => n.to_string(),
            Cell::Bool(b) => b.to_string(),
            Cell::Date(date) => date.to_string(),
            Cell::DateTime(at) => at.to_string(),
        }
    }

    fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(text) | Cell::Literal(text) => text.trim().is_empty(),
            _ => false,
        }
    }
}

/// The label a cell holds for `metric`: `None` when the cell is blank ("not labelled").
fn cell_label(kind: &MetricKind, metric: &str, cell: &Cell) -> Result<Option<Answer>, String> {
    match cell {
        _ if cell.is_blank() => Ok(None),
        Cell::Error(what) => Err(format!(
            "the cell holds {what}, not a label for `{metric}`; write the label, or clear the cell"
        )),
        Cell::Literal(text) => parse_value_label(kind, metric, text.trim()).map(Some),
        other => parse_text_label(kind, metric, &other.text()).map(Some),
    }
}

/// Collects rows and problems across one or more header-and-rows tables (a workbook's
/// Calls sheets), so a call labelled on two sheets is caught like one on two lines.
pub struct Table<'m> {
    metrics: &'m MetricSet,
    id_column: Option<usize>,
    /// (0-based column, metric id, kind) of the current header.
    columns: Vec<(usize, String, &'m MetricKind)>,
    /// The 0-based `<id>__status` column of the current header, per metric id.
    statuses: IndexMap<String, usize>,
    seen: IndexMap<String, Place>,
    rows: Vec<LabelRow>,
    errors: Vec<LabelError>,
}

impl<'m> Table<'m> {
    pub fn new(metrics: &'m MetricSet) -> Table<'m> {
        Table {
            metrics,
            id_column: None,
            columns: Vec::new(),
            statuses: IndexMap::new(),
            seen: IndexMap::new(),
            rows: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Reads a header row found at `at`. Blank header cells name nothing and are skipped.
    /// Returns false (and records why) when there is no `call_id` column: no row can be read.
    pub fn header<'a>(&mut self, names: impl Iterator<Item = &'a str>, at: &Place) -> bool {
        let first_error = self.errors.len();
        self.id_column = None;
        self.columns.clear();
        self.statuses.clear();
        for (i, name) in names.enumerate() {
            let name = name.trim();
            if let Some(id) = name.strip_suffix(STATUS_SUFFIX) {
                self.statuses.insert(id.to_string(), i);
            }
            if name.is_empty() || is_report_column(name) {
                continue;
            }
            if name == "call_id" {
                self.id_column = Some(i);
            } else if let Some((id, kind)) = self.metrics.kinds.get_key_value(name) {
                self.columns.push((i, id.clone(), kind));
            } else {
                self.errors.push(error(
                    at.at_column(i + 1),
                    format!(
                        "column `{name}` names no metric of the report; its metrics are: {}. \
                         Rename the column to a metric id, or remove it",
                        self.metrics.id_list()
                    ),
                ));
            }
        }
        if self.id_column.is_none() {
            self.errors.insert(
                first_error,
                error(
                    at.clone(),
                    "no `call_id` column; the first row must name the columns, one `call_id` and one per metric id"
                        .into(),
                ),
            );
        }
        self.id_column.is_some()
    }

    /// Reads one row below the header; a row with nothing in it is skipped.
    pub fn row(&mut self, cells: &[Cell], at: Place) {
        let Some(id_column) = self.id_column else {
            return;
        };
        if cells.iter().all(Cell::is_blank) {
            return;
        }
        let call_id = cells
            .get(id_column)
            .map(Cell::text)
            .unwrap_or_default()
            .trim()
            .to_string();
        if call_id.is_empty() {
            self.errors.push(error(
                at.at_column(id_column + 1),
                "empty `call_id`; every row needs the call it labels".into(),
            ));
            return;
        }
        if let Some(first) = self.seen.get(&call_id) {
            let first = match first {
                Place::Line { line, .. } => format!("line {line}"),
                cell => cell.at_column(id_column + 1).to_string(),
            };
            self.errors.push(error(
                at.at_column(id_column + 1),
                format!("call `{call_id}` is labelled twice (first on {first}); keep one row per call"),
            ));
            return;
        }
        self.seen.insert(call_id.clone(), at.clone());
        let mut labels = IndexMap::new();
        for (i, id, kind) in &self.columns {
            match cell_label(kind, id, cells.get(*i).unwrap_or(&Cell::Empty)) {
                Ok(None) => {
                    if let Some(answer) = self.status_label(id, kind, cells) {
                        labels.insert(id.clone(), answer);
                    }
                }
                Ok(Some(answer)) => {
                    labels.insert(id.clone(), answer);
                }
                Err(message) => self.errors.push(error(at.at_column(i + 1), message)),
            }
        }
        self.rows.push(LabelRow {
            call_id,
            place: at,
            labels,
        });
    }

    /// The label a blank value cell stands for, read from the metric's status column:
    /// `null` or `not_applicable` there is that answer, and `ok` beside a blank list cell
    /// is the empty list (which is how a report shows one); anything else is no label.
    fn status_label(&self, metric: &str, kind: &MetricKind, cells: &[Cell]) -> Option<Answer> {
        let status = cells.get(*self.statuses.get(metric)?)?.text();
        match (status.trim(), kind) {
            ("null", _) => Some(Answer::Null),
            ("not_applicable", _) => Some(Answer::NotApplicable),
            ("ok", MetricKind::List { .. }) => Some(Answer::Ok(Value::List(Vec::new()))),
            _ => None,
        }
    }

    pub fn push_error(&mut self, error: LabelError) {
        self.errors.push(error);
    }

    /// Enough problems collected: the file is clearly of another kind.
    pub fn is_full(&self) -> bool {
        self.errors.len() >= MAX_ERRORS
    }

    pub fn finish(self) -> Result<Vec<LabelRow>, Vec<LabelError>> {
        if self.errors.is_empty() {
            Ok(self.rows)
        } else {
            Err(self.errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;

    fn metrics() -> MetricSet {
        MetricSet::with_definitions(
            &[
                enum_metric("outcome", &["success", "failure"]),
                metric("score", MetricKind::Integer { range: Some([1, 5]) }),
                metric("verified", MetricKind::Boolean),
                metric("date", MetricKind::Datetime),
                metric("name", MetricKind::String),
            ],
            &[],
        )
    }

    #[test]
    fn typed_cells_become_labels_of_their_metric() {
        let set = metrics();
        let kind = |id: &str| set.kinds[id].clone();
        let label = |id: &str, cell: Cell| cell_label(&kind(id), id, &cell);
        let ok = |v: Value| Ok(Some(Answer::Ok(v)));
        assert_eq!(label("score", Cell::Number(4.0)), ok(Value::Int(4)));
        assert!(
            label("score", Cell::Number(4.5))
                .unwrap_err()
                .contains("not a whole number")
        );
        assert_eq!(label("verified", Cell::Bool(false)), ok(Value::Bool(false)));
        assert_eq!(label("verified", Cell::Number(1.0)), ok(Value::Bool(true)));
        let day = jiff::civil::date(2024, 3, 15);
        assert_eq!(label("date", Cell::Date(day)), ok(Value::Text("2024-03-15".into())));
        assert_eq!(
            label("date", Cell::DateTime(day.at(14, 30, 0, 0))),
            ok(Value::Text("2024-03-15T14:30:00".into()))
        );
        // A number or a date typed into a text column is the text it shows.
        assert_eq!(label("name", Cell::Number(12.0)), ok(Value::Text("12".into())));
        assert_eq!(label("name", Cell::Date(day)), ok(Value::Text("2024-03-15".into())));
        assert_eq!(
            label("outcome", Cell::Text(" Failure ".into())),
            ok(Value::Text("failure".into()))
        );
        assert_eq!(label("outcome", Cell::Text("null".into())), Ok(Some(Answer::Null)));
        assert_eq!(label("outcome", Cell::Text("  ".into())), Ok(None));
        assert_eq!(label("outcome", Cell::Empty), Ok(None));
        let err = label("score", Cell::Error("#N/A".into())).unwrap_err();
        assert!(err.contains("holds #N/A"), "{err}");
    }

    #[test]
    fn a_call_labelled_on_two_sheets_names_the_first_cell() {
        let set = metrics();
        let mut table = Table::new(&set);
        let at = |sheet: &str, row| Place::Cell {
            sheet: sheet.into(),
            row,
            column: None,
        };
        let row = |id: &str| vec![Cell::Text(id.into()), Cell::Number(3.0)];
        assert!(table.header(["call_id", "score"].into_iter(), &at("Calls", 1)));
        table.row(&row("c1"), at("Calls", 2));
        assert!(table.header(["call_id", "", "score"].into_iter(), &at("Calls 2", 1)));
        table.row(
            &[Cell::Text("c2".into()), Cell::Empty, Cell::Number(2.0)],
            at("Calls 2", 2),
        );
        table.row(&row("c1"), at("Calls 2", 3));
        let errors = table.finish().unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].place.to_string(), "Calls 2!A3");
        assert!(
            errors[0].message.contains("labelled twice (first on Calls!A2)"),
            "{}",
            errors[0].message
        );
    }
}
