//! Cell-level rules every sheet of the workbook follows: the formats, Excel's limit on a
//! cell's text, and how a datetime metric's text becomes a date cell.
//!
//! Text always goes in as a string cell, never through anything that could read it as a
//! formula, so unlike the CSV it needs no `'` prefix: `=cmd|…` is shown as typed.

use std::borrow::Cow;

use rust_xlsxwriter::{Format, FormatAlign, FormatBorder};

/// The most text Excel keeps in one cell, in UTF-16 code units.
pub(super) const MAX_CELL_TEXT: usize = 32_767;

/// Room kept at the end of a cut cell for the note that says so.
const CUT_NOTE_ROOM: usize = 200;

/// The formats the sheets use; built once per workbook.
pub(super) struct Formats {
    pub header: Format,
    /// Top-aligned, so a row with a wrapped cell still reads from the top.
    pub plain: Format,
    pub wrap: Format,
    pub date: Format,
    pub datetime: Format,
    pub confidence: Format,
}

impl Formats {
    pub fn new() -> Formats {
        let plain = Format::new().set_align(FormatAlign::Top);
        Formats {
            header: Format::new()
                .set_bold()
                .set_align(FormatAlign::Top)
                .set_border_bottom(FormatBorder::Thin),
            wrap: plain.clone().set_text_wrap(),
            date: plain.clone().set_num_format("yyyy-mm-dd"),
            datetime: plain.clone().set_num_format("yyyy-mm-dd hh:mm:ss"),
            confidence: plain.clone().set_num_format("0.00"),
            plain,
        }
    }
}

/// `text` as it fits in a cell, and whether it had to be cut. Excel refuses a cell of more
/// than [`MAX_CELL_TEXT`] characters; rather than fail the whole report over one long
/// reasoning, the cell keeps the start and says how much is missing and where it is whole.
pub(super) fn fit(text: &str) -> (Cow<'_, str>, bool) {
    if text.len() <= MAX_CELL_TEXT || utf16_len(text) <= MAX_CELL_TEXT {
        return (Cow::Borrowed(text), false);
    }
    let budget = MAX_CELL_TEXT - CUT_NOTE_ROOM;
    let mut units = 0;
    let mut end = 0;
    for (at, ch) in text.char_indices() {
        if units + ch.len_utf16() > budget {
            break;
        }
        units += ch.len_utf16();
        end = at + ch.len_utf8();
    }
    let left = text[end..].chars().count();
    let cut = format!(
        "{}… [cut at Excel's limit of 32,767 characters per cell: {left} more characters; the .json and \
         .jsonl reports hold the whole text]",
        &text[..end]
    );
    debug_assert!(utf16_len(&cut) <= MAX_CELL_TEXT);
    (Cow::Owned(cut), true)
}

fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// A datetime metric's value as a spreadsheet date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Civil {
    /// `2024-03-15`: stays a date, shown without a time.
    Date(jiff::civil::Date),
    /// A date-time, at the wall-clock time written in the answer.
    DateTime(jiff::civil::DateTime),
}

/// The date or date-time a report's datetime text holds (`2024-03-15`,
/// `2024-03-15T14:00:00`, `…Z`, `…+02:00`), or `None` for text that is neither.
///
/// A spreadsheet cell has no time zone, so the cell holds the wall-clock time as written:
/// `2024-03-15T23:30:00-05:00` is the 15th at 23:30, not the 16th at 04:30 UTC. That keeps
/// the calendar date the caller meant (which is what `eval` compares); the offset itself is
/// in the `.json` and `.jsonl` reports.
pub(super) fn civil_of(text: &str) -> Option<Civil> {
    let pieces = jiff::fmt::temporal::Pieces::parse(text.trim()).ok()?;
    let date = pieces.date();
    Some(match pieces.time() {
        None => Civil::Date(date),
        Some(time) => Civil::DateTime(date.to_datetime(time)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_kept_whole() {
        assert_eq!(fit("Müller-ß"), (Cow::Borrowed("Müller-ß"), false));
        let exactly = "é".repeat(MAX_CELL_TEXT);
        assert!(!fit(&exactly).1);
    }

    #[test]
    fn text_over_the_cell_limit_is_cut_and_says_so() {
        // Astral characters count twice toward Excel's limit.
        for unit in ["a", "日", "😀"] {
            let text = unit.repeat(40_000);
            let (cell, cut) = fit(&text);
            assert!(cut, "{unit}");
            assert!(utf16_len(&cell) <= MAX_CELL_TEXT, "{unit}: {}", utf16_len(&cell));
            assert!(cell.starts_with(&unit.repeat(1000)), "{unit}");
            let kept = cell.split('…').next().unwrap().chars().count();
            assert!(
                cell.contains(&format!("{} more characters", 40_000 - kept)),
                "{unit}: {}",
                &cell[cell.len() - 150..]
            );
        }
    }

    #[test]
    fn datetimes_keep_their_calendar_date_and_wall_clock() {
        let date = |y, m, d| jiff::civil::date(y, m, d);
        assert_eq!(civil_of("2024-03-15"), Some(Civil::Date(date(2024, 3, 15))));
        assert_eq!(
            civil_of("2024-03-15T23:30:00-05:00"),
            Some(Civil::DateTime(date(2024, 3, 15).at(23, 30, 0, 0)))
        );
        assert_eq!(
            civil_of("2024-03-15T14:00:00Z"),
            Some(Civil::DateTime(date(2024, 3, 15).at(14, 0, 0, 0)))
        );
        assert_eq!(
            civil_of("2024-03-15T14:00:00.250"),
            Some(Civil::DateTime(date(2024, 3, 15).at(14, 0, 0, 250_000_000)))
        );
        assert_eq!(civil_of("next Tuesday"), None);
    }
}
