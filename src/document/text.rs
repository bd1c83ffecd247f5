//! The terminal and CI-log printer: plain lines, aligned columns, no colour (CI logs and
//! pasted text must stay readable).
//!
//! Top-level blocks are separated by a blank line; a section's blocks follow its heading
//! indented by two spaces, without blank lines, so each metric reads as one paragraph.

use super::{Block, Cell, Document, Heading, Role, Section, Span, Table, Text};

/// Width of the longest bar, in `#`.
const BAR: usize = 30;

pub fn print(document: &Document) -> String {
    let mut out = inline(&document.title);
    out.push('\n');
    for block in &document.blocks {
        out.push('\n');
        print_block(&mut out, block, "");
    }
    out
}

fn print_block(out: &mut String, block: &Block, indent: &str) {
    let mut line = |text: &str| {
        out.push_str(indent);
        out.push_str(text);
        out.push('\n');
    };
    match block {
        Block::Paragraph(text) | Block::Heading(text) => line(&inline(text)),
        Block::List(items) => items.iter().for_each(|item| line(&inline(item))),
        Block::Verdict(lines) => lines.iter().for_each(|l| line(l)),
        Block::Table(table) => out.push_str(&print_table(table, indent)),
        Block::Section(section) => print_section(out, section, indent),
    }
}

fn print_section(out: &mut String, section: &Section, indent: &str) {
    out.push_str(indent);
    out.push_str(&heading(&section.heading));
    out.push('\n');
    let inner = format!("{indent}  ");
    for block in &section.blocks {
        print_block(out, block, &inner);
    }
}

fn heading(heading: &Heading) -> String {
    match &heading.subject {
        Some(s) => format!("{} ({}){}", s.id, s.kind, heading.text),
        None => heading.text.clone(),
    }
}

/// A line of spans as plain text; the sides of a change are quoted and cut to fit a line.
pub fn inline(text: &Text) -> String {
    text.0
        .iter()
        .map(|span| match span {
            Span::Plain(s) | Span::Code(s) => s.clone(),
            Span::Removed(s) | Span::Added(s) => format!("{:?}", super::shorten(s, 70)),
        })
        .collect()
}

/// Aligned columns separated by two spaces, each line prefixed with `indent`; then, for
/// rows with long text, that text under the row's first cell.
pub fn print_table(table: &Table, indent: &str) -> String {
    let (names, rows) = layout(table);
    let mut widths: Vec<usize> = names.iter().map(|(name, _)| name.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        let mut text = String::from(indent);
        for (i, ((width, (_, right)), cell)) in widths.iter().zip(&names).zip(cells).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
            if *right {
                text.push_str(&pad);
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&pad);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&names.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>());
    // No rule under a column without a name (a bar chart), so it reads as decoration.
    let rule: Vec<String> = widths
        .iter()
        .zip(&names)
        .map(|(w, (n, _))| if n.is_empty() { String::new() } else { "-".repeat(*w) })
        .collect();
    line(&rule);
    rows.iter().for_each(|row| line(row));
    out.push_str(&long_texts(table, indent));
    out
}

/// Column names with their alignment (right: true) and the rows as text, long columns
/// left out, pairs joined with an arrow.
fn layout(table: &Table) -> (Vec<(String, bool)>, Vec<Vec<String>>) {
    let mut names = Vec::new();
    for (i, column) in table.columns.iter().enumerate() {
        match column.role {
            Role::Left | Role::Bar => names.push((column.name.clone(), false)),
            Role::Right => names.push((column.name.clone(), true)),
            Role::Pair => {
                let after = table.columns.get(i + 1).map_or("", |c| c.name.as_str());
                names.push((format!("{} → {after}", column.name), false));
            }
            Role::After | Role::Long => {}
        }
    }
    let cells = cell_columns(table);
    let bars = table.rows.iter().flatten().filter_map(|c| match c {
        Cell::Bar(count) => Some(*count),
        _ => None,
    });
    let most = bars.max().unwrap_or(0);
    let rows = table
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .zip(&cells)
                .filter(|(_, role)| **role != Role::Long)
                .map(|(cell, _)| match cell {
                    Cell::Bar(count) if most > 0 => "#".repeat((count * BAR).div_ceil(most)),
                    Cell::Bar(_) => String::new(),
                    other => other.text(),
                })
                .collect()
        })
        .collect();
    (names, rows)
}

/// The role of each cell position in a row (an [`Role::After`] column has no cell).
pub(super) fn cell_columns(table: &Table) -> Vec<Role> {
    table
        .columns
        .iter()
        .map(|c| c.role)
        .filter(|role| *role != Role::After)
        .collect()
}

fn long_texts(table: &Table, indent: &str) -> String {
    let roles = cell_columns(table);
    let named: Vec<&str> = table
        .columns
        .iter()
        .filter(|c| c.role == Role::Long)
        .map(|c| c.name.as_str())
        .collect();
    let label_width = named.iter().map(|n| n.chars().count()).max().unwrap_or(0) + 1;
    let mut out = String::new();
    for row in &table.rows {
        let texts: Vec<String> = row
            .iter()
            .zip(&roles)
            .filter(|(_, role)| **role == Role::Long)
            .map(|(cell, _)| cell.text())
            .collect();
        if texts.iter().all(String::is_empty) {
            continue;
        }
        let first = row.first().map(Cell::text).unwrap_or_default();
        out.push_str(&format!("{indent}{first}\n"));
        for (name, text) in named.iter().zip(&texts) {
            let label = format!("{name}:");
            let text = if text.is_empty() { "-" } else { text };
            out.push_str(&format!("{indent}  {label:<label_width$} {text}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_align_right_and_bars_scale_to_the_longest() {
        let mut table = Table::new(&["metric", ">agreement"]).column("", Role::Bar);
        table.cells(vec![
            Cell::Text("call_outcome".into()),
            Cell::Text("91.0%".into()),
            Cell::Bar(2),
        ]);
        table.cells(vec![
            Cell::Text("score".into()),
            Cell::Text("100.0%".into()),
            Cell::Bar(1),
        ]);
        assert_eq!(
            print_table(&table, "  "),
            format!(
                "  metric        agreement\n  ------------  ---------\n  call_outcome      91.0%  {}\n  score            100.0%  {}\n",
                "#".repeat(30),
                "#".repeat(15)
            )
        );
    }

    #[test]
    fn pairs_share_a_column_and_long_text_goes_under_its_row() {
        let mut table = Table::new(&["call"]).pair("base", "new").column("why", Role::Long);
        table.cells(vec![
            Cell::Text("c1".into()),
            Cell::Pair("a".into(), "b".into()),
            Cell::Text("because".into()),
        ]);
        table.cells(vec![
            Cell::Text("c2".into()),
            Cell::Pair("a".into(), "c".into()),
            Cell::Text(String::new()),
        ]);
        assert_eq!(
            print_table(&table, ""),
            "call  base → new\n----  ----------\nc1    a → b\nc2    a → c\nc1\n  why: because\n"
        );
    }

    #[test]
    fn sections_indent_their_blocks_and_top_level_blocks_are_spaced() {
        let doc = Document {
            title: "postcall x".into(),
            blocks: vec![
                Block::List(vec!["a: 1".into()]),
                Block::Section(Section::folded(
                    Heading::about("outcome", "enum", ": 2 changed"),
                    vec![
                        Block::List(vec![Text::plain("prompt changed: ").push(Span::Removed("Old?".into()))]),
                        Block::Section(Section::new(Heading::plain("sub"), vec![Block::Paragraph("p".into())])),
                    ],
                )),
                Block::Verdict(vec!["ok: fine".into()]),
            ],
        };
        assert_eq!(
            print(&doc),
            "postcall x\n\na: 1\n\noutcome (enum): 2 changed\n  prompt changed: \"Old?\"\n  sub\n    p\n\nok: fine\n"
        );
    }
}
