//! Labels from a workbook: a postcall `.xlsx` report a reviewer corrected by hand, or any
//! workbook laid out like a labels CSV.
//!
//! A postcall workbook's calls are on its **Calls** sheets (`Calls`, then `Calls 2`, … for
//! reports past Excel's row limit), each with its own header row; its other sheets (Metrics,
//! Summary) are not labels and are not read. A workbook without a Calls sheet is read from
//! its first sheet. Cells keep their types: a number is a number, a date cell is that
//! calendar date, whatever its display format. Read with calamine, independently of the
//! writer, so a workbook Excel or LibreOffice re-saved reads the same as one postcall wrote.

use std::io::Cursor;

use anyhow::Context as _;
use calamine::{Data, Range, Reader, Xlsx};

use super::table::{Cell, Table};
use super::{LabelErrors, LabelRow, Place};
use crate::answer::MetricSet;

/// Whether `bytes` are a zip archive, the container of every `.xlsx`.
pub fn is_workbook(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04")
}

/// Reads the labels of a workbook; `shown` names it in messages.
pub fn parse_workbook(
    shown: &str,
    bytes: Vec<u8>,
    metrics: &MetricSet,
) -> anyhow::Result<Result<Vec<LabelRow>, LabelErrors>> {
    let mut workbook = Xlsx::new(Cursor::new(bytes)).with_context(|| {
        format!(
            "cannot read the labels workbook {shown}; labels are read from .xlsx workbooks (Excel 2007 or \
             later), CSV or JSONL: save it as one of those"
        )
    })?;
    let mut table = Table::new(metrics);
    for sheet in labelled_sheets(&workbook.sheet_names()) {
        let range = workbook
            .worksheet_range(&sheet)
            .with_context(|| format!("cannot read the sheet `{sheet}` of the labels workbook {shown}"))?;
        read_sheet(&mut table, &sheet, &range);
        if table.is_full() {
            break;
        }
    }
    Ok(table.finish().map_err(|errors| LabelErrors {
        path: shown.to_string(),
        errors,
    }))
}

/// The sheets that hold labels: the Calls sheets when there are any, else the first sheet.
fn labelled_sheets(names: &[String]) -> Vec<String> {
    let calls: Vec<String> = names.iter().filter(|n| is_calls_sheet(n)).cloned().collect();
    if calls.is_empty() {
        names.iter().take(1).cloned().collect()
    } else {
        calls
    }
}

fn is_calls_sheet(name: &str) -> bool {
    name == "Calls"
        || name
            .strip_prefix("Calls ")
            .is_some_and(|n| n.parse::<u32>().is_ok_and(|n| n >= 2))
}

/// The first row with anything in it is the header; every row below is a call.
fn read_sheet(table: &mut Table<'_>, sheet: &str, range: &Range<Data>) {
    let place = |row: u32| Place::Cell {
        sheet: sheet.to_string(),
        row: row as usize + 1,
        column: None,
    };
    let Some((first_row, first_col)) = range.start() else {
        table.push_error(super::error(
            place(0),
            format!(
                "the sheet `{sheet}` is empty; its first row must name the columns, one `call_id` and one per metric id"
            ),
        ));
        return;
    };
    // calamine's range starts at the first cell in use; put the cells back in their columns.
    let lead = vec![Cell::Empty; first_col as usize];
    let mut rows = range.rows();
    let Some(header) = rows.next() else {
        return;
    };
    let names: Vec<String> = lead
        .iter()
        .cloned()
        .chain(header.iter().map(cell))
        .map(|c| header_text(&c))
        .collect();
    if !table.header(names.iter().map(String::as_str), &place(first_row)) {
        return;
    }
    let mut cells = Vec::new();
    for (offset, data) in rows.enumerate() {
        if table.is_full() {
            return;
        }
        cells.clear();
        cells.extend(lead.iter().cloned());
        cells.extend(data.iter().map(cell));
        table.row(&cells, place(first_row + 1 + offset as u32));
    }
}

fn header_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(text) => text.clone(),
        Cell::Empty => String::new(),
        // A header is a name; anything else cannot be one and is reported as it shows.
        other => format!("{other:?}"),
    }
}

/// A calamine cell as a labels cell.
fn cell(data: &Data) -> Cell {
    match data {
        Data::Empty => Cell::Empty,
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => Cell::Text(text.clone()),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::Error(e) => Cell::Error(format!("the spreadsheet error {e}")),
        Data::DateTime(at) if at.is_duration() => Cell::Number(at.as_f64()),
        Data::DateTime(at) => {
            let (year, month, day, hour, minute, second, milli) = at.to_ymd_hms_milli();
            let Ok(date) = jiff::civil::Date::new(year as i16, month as i8, day as i8) else {
                // Excel's 1900 calendar has a 29 February that never was.
                return Cell::Error(format!("the date {year}-{month:02}-{day:02}, which does not exist"));
            };
            if (hour, minute, second, milli) == (0, 0, 0, 0) {
                Cell::Date(date)
            } else {
                Cell::DateTime(date.at(hour as i8, minute as i8, second as i8, i32::from(milli) * 1_000_000))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::Answer;
    use crate::report::testing::{self, dir_entries};
    use crate::report::{CsvOptions, OutputFormat, Value};

    fn report_workbook(dir: &std::path::Path) -> Vec<u8> {
        let path = dir.join("report.xlsx");
        testing::write_report(&path, OutputFormat::Xlsx, CsvOptions::default(), || {});
        assert_eq!(dir_entries(dir), ["report.xlsx"]);
        std::fs::read(path).unwrap()
    }

    #[test]
    fn a_postcall_workbook_reads_as_the_labels_it_shows() {
        let t = tempfile::tempdir().unwrap();
        let bytes = report_workbook(t.path());
        assert!(is_workbook(&bytes));
        let metrics = MetricSet::with_definitions(&testing::metrics(), &[]);
        let rows = parse_workbook("report.xlsx", bytes, &metrics).unwrap().unwrap();
        let ids: Vec<&str> = rows.iter().map(|r| r.call_id.as_str()).collect();
        // The id that looks like a formula is read as the text it is, no quote added.
        assert_eq!(ids, ["call-001", "=cmd|' /C calc'!A0", "call-003"]);
        let first = &rows[0].labels;
        assert_eq!(first["call_outcome"], Answer::Ok(Value::Text("resolved".into())));
        assert_eq!(first["satisfaction_score"], Answer::Ok(Value::Int(-3)));
        assert_eq!(first["sentiment"], Answer::Ok(Value::Number(-0.25)));
        assert_eq!(
            first["mentioned_issues"],
            Answer::Ok(Value::List(vec!["-router".into(), "billing, \"late\"".into()]))
        );
        assert_eq!(first["caller_authenticated"], Answer::Ok(Value::Bool(true)));
        assert_eq!(first["notes"], Answer::Ok(Value::Text("callback @ 5".into())));
        assert_eq!(rows[0].place.to_string(), "Calls!2:2");
        // A blank cell is what its status column says: the report's null, not-applicable
        // and empty-list answers read back as those labels; invalid and missing answers
        // (and every metric of a call that has no statuses) are "not labelled".
        let second: Vec<(&str, &Answer)> = rows[1].labels.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(
            second,
            [
                ("satisfaction_score", &Answer::Null),
                ("mentioned_issues", &Answer::Ok(Value::List(vec![]))),
                ("caller_authenticated", &Answer::NotApplicable),
            ]
        );
        assert!(rows[2].labels.is_empty(), "{:?}", rows[2].labels);
    }

    #[test]
    fn a_hand_made_workbook_is_read_from_its_first_sheet() {
        assert_eq!(labelled_sheets(&["Sheet1".into(), "Notes".into()]), ["Sheet1"]);
        let names = [
            "Calls", "Metrics", "Summary", "Calls 2", "Calls 10", "Calls x", "Calls 1",
        ]
        .map(String::from);
        assert_eq!(labelled_sheets(&names), ["Calls", "Calls 2", "Calls 10"]);
        assert!(labelled_sheets(&[]).is_empty());
    }

    #[test]
    fn a_file_that_is_not_a_workbook_says_what_is_read() {
        let metrics = MetricSet::default();
        let err = parse_workbook("l.xlsx", b"PK\x03\x04 not really".to_vec(), &metrics).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains("cannot read the labels workbook l.xlsx"), "{err}");
        assert!(err.contains("CSV or JSONL"), "{err}");
    }

    #[test]
    fn excel_dates_become_calendar_dates() {
        use calamine::{ExcelDateTime, ExcelDateTimeType};
        let at = |serial| {
            cell(&Data::DateTime(ExcelDateTime::new(
                serial,
                ExcelDateTimeType::DateTime,
                false,
            )))
        };
        assert_eq!(at(45366.0), Cell::Date(jiff::civil::date(2024, 3, 15)));
        assert_eq!(
            at(45366.5),
            Cell::DateTime(jiff::civil::date(2024, 3, 15).at(12, 0, 0, 0))
        );
        assert!(matches!(at(60.0), Cell::Error(e) if e.contains("1900-02-29")));
    }
}
