//! `diff` and `eval` results as [`Document`](crate::document::Document)s: what each
//! shows, in which order. How it looks is the printers' business (`document::text`,
//! `document::markdown`); JSON is serde of the results themselves.

use crate::document::Table;

pub mod agreement;
pub mod diff;
pub mod eval;

/// How much detail the text and markdown forms show; JSON always holds everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detail {
    /// Changed calls or misses listed per metric; 0 lists them all.
    pub examples: usize,
}

impl Default for Detail {
    fn default() -> Self {
        Detail { examples: 10 }
    }
}

impl Detail {
    /// How many of `total` items to show.
    pub fn shown(&self, total: usize) -> usize {
        if self.examples == 0 {
            total
        } else {
            total.min(self.examples)
        }
    }
}

/// `a, b, c`, or `(none)`; long lists are cut after `max` with a count of the rest.
pub fn list_ids(ids: &[String], max: usize) -> String {
    if ids.is_empty() {
        return "(none)".to_string();
    }
    if ids.len() <= max {
        return ids.join(", ");
    }
    format!("{}, … and {} more", ids[..max].join(", "), ids.len() - max)
}

/// A square matrix of counts as a table, rows labelled `rows \ columns`.
pub fn matrix(corner: &str, categories: &[String], counts: &[Vec<usize>]) -> Table {
    let mut headers = vec![corner.to_string()];
    headers.extend(categories.iter().map(|c| format!(">{c}")));
    let mut table = Table::new(&headers);
    for (category, row) in categories.iter().zip(counts) {
        // A label is never `invalid` or `missing`: such a row would only ever hold zeros.
        if matches!(category.as_str(), "invalid" | "missing") && row.iter().all(|n| *n == 0) {
            continue;
        }
        let mut cells = vec![category.clone()];
        cells.extend(
            row.iter()
                .map(|n| if *n == 0 { ".".to_string() } else { n.to_string() }),
        );
        table.row(cells);
    }
    table
}

/// Above this many categories a matrix is too wide for a terminal or a PR comment.
pub const MAX_MATRIX: usize = 8;

/// The matrix, or for many categories its off-diagonal cells, largest first (`None` title
/// suffix for a matrix). JSON output always keeps the whole matrix.
pub fn matrix_or_pairs(
    corner: &str,
    row_name: &str,
    column_name: &str,
    categories: &[String],
    counts: &[Vec<usize>],
) -> (Option<String>, Table) {
    if categories.len() <= MAX_MATRIX {
        return (None, matrix(corner, categories, counts));
    }
    let mut cells: Vec<(usize, &String, &String)> = Vec::new();
    for (r, row) in categories.iter().enumerate() {
        for (k, column) in categories.iter().enumerate() {
            if r != k && counts[r][k] > 0 {
                cells.push((counts[r][k], row, column));
            }
        }
    }
    cells.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(a.2.cmp(b.2)));
    let mut table = Table::new(&[row_name, column_name, ">calls"]);
    for (n, row, column) in cells.iter().take(10) {
        table.row(vec![row.to_string(), column.to_string(), n.to_string()]);
    }
    let note = format!(
        "{} values: the most frequent pairs shown, the whole matrix is in --format json",
        categories.len()
    );
    (Some(note), table)
}
