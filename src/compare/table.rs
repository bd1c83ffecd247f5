//! A small table that prints aligned for a terminal or a CI log, or as a markdown table
//! for a pull-request comment. No colours: CI logs and pasted text must stay readable.

use std::fmt::Write as _;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone, Default)]
pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// Columns whose header starts with `>` are right-aligned (numbers); the `>` is dropped.
    pub fn new<S: AsRef<str>>(headers: &[S]) -> Table {
        let mut table = Table::default();
        for h in headers {
            let h = h.as_ref();
            match h.strip_prefix('>') {
                Some(rest) => {
                    table.headers.push(rest.to_string());
                    table.align.push(Align::Right);
                }
                None => {
                    table.headers.push(h.to_string());
                    table.align.push(Align::Left);
                }
            }
        }
        table
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn widths(&self) -> Vec<usize> {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(cell.chars().count());
                }
            }
        }
        widths
    }

    /// Aligned columns separated by two spaces, each line prefixed with `indent`.
    pub fn text(&self, indent: &str) -> String {
        let widths = self.widths();
        let mut out = String::new();
        let line = |out: &mut String, cells: &[String]| {
            let mut text = String::from(indent);
            for (i, width) in widths.iter().enumerate() {
                let cell = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = width.saturating_sub(cell.chars().count());
                if i > 0 {
                    text.push_str("  ");
                }
                match self.align[i] {
                    Align::Left => {
                        text.push_str(cell);
                        text.extend(std::iter::repeat_n(' ', pad));
                    }
                    Align::Right => {
                        text.extend(std::iter::repeat_n(' ', pad));
                        text.push_str(cell);
                    }
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(&mut out, &self.headers);
        // No rule under a column without a header (a bar chart), so it reads as decoration.
        let rule: Vec<String> = widths
            .iter()
            .zip(&self.headers)
            .map(|(w, h)| if h.is_empty() { String::new() } else { "-".repeat(*w) })
            .collect();
        line(&mut out, &rule);
        for row in &self.rows {
            line(&mut out, row);
        }
        out
    }

    /// A GitHub-flavoured markdown table.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let cells = |cells: &[String]| -> String {
            let escaped: Vec<String> = (0..self.headers.len())
                .map(|i| escape_markdown(cells.get(i).map(String::as_str).unwrap_or("")))
                .collect();
            format!("| {} |", escaped.join(" | "))
        };
        let _ = writeln!(out, "{}", cells(&self.headers));
        let rule: Vec<&str> = self
            .align
            .iter()
            .map(|a| match a {
                Align::Left => "---",
                Align::Right => "---:",
            })
            .collect();
        let _ = writeln!(out, "| {} |", rule.join(" | "));
        for row in &self.rows {
            let _ = writeln!(out, "{}", cells(row));
        }
        out
    }
}

/// A cell that cannot break the table or start markup: pipes escaped, newlines flattened.
pub fn escape_markdown(cell: &str) -> String {
    cell.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
}

/// Cuts `text` to `max` characters with an ellipsis, on one line.
pub fn shorten(text: &str, max: usize) -> String {
    let flat = text.replace(['\n', '\r'], " ");
    if flat.chars().count() <= max {
        return flat;
    }
    let mut cut: String = flat.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(&["metric", ">agreement"]);
        t.row(vec!["call_outcome".into(), "91.0%".into()]);
        t.row(vec!["score".into(), "100.0%".into()]);
        t
    }

    #[test]
    fn text_aligns_numbers_right() {
        assert_eq!(
            sample().text("  "),
            "  metric        agreement\n  ------------  ---------\n  call_outcome      91.0%\n  score            100.0%\n"
        );
    }

    #[test]
    fn markdown_escapes_pipes_and_newlines() {
        let mut t = Table::new(&["a", ">n"]);
        t.row(vec!["x|y\nz".into(), "1".into()]);
        assert_eq!(t.markdown(), "| a | n |\n| --- | ---: |\n| x\\|y z | 1 |\n");
    }

    #[test]
    fn shorten_adds_an_ellipsis() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("ab\ncd", 10), "ab cd");
    }
}
