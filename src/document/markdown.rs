//! The pull-request-comment printer: GitHub-flavoured markdown, every block separated by a
//! blank line, folded sections as `<details>`, so a comment opens on the summary table and
//! the verdict and keeps the details one click away.

use super::{Block, Cell, Document, Heading, Role, Section, Span, Table, Text};

/// Long text (a reasoning) is cut to this in a cell: GitHub caps a comment at 65,536
/// characters.
const LONG_CELL: usize = 300;

/// Each side of a change is cut to this.
const CHANGE_SIDE: usize = 200;

pub fn print(document: &Document) -> String {
    let mut out = format!("### {}\n", inline(&document.title));
    for block in &document.blocks {
        out.push('\n');
        print_block(&mut out, block);
    }
    out
}

fn print_block(out: &mut String, block: &Block) {
    match block {
        Block::Paragraph(text) => out.push_str(&format!("{}\n", inline(text))),
        Block::List(items) => {
            for item in items {
                out.push_str(&format!("- {}\n", inline(item)));
            }
        }
        Block::Table(table) => out.push_str(&print_table(table)),
        Block::Heading(text) => out.push_str(&format!("#### {}\n", inline(text))),
        Block::Section(section) => print_section(out, section),
        Block::Verdict(lines) => {
            // Two trailing spaces: a line break, so each finding stays on its own line.
            for line in lines {
                out.push_str(&format!("{}  \n", escape(line)));
            }
        }
    }
}

fn print_section(out: &mut String, section: &Section) {
    if section.folded {
        out.push_str(&format!("<details><summary>{}</summary>\n", summary(&section.heading)));
    } else {
        out.push_str(&format!("{}\n", heading(&section.heading)));
    }
    for block in &section.blocks {
        out.push('\n');
        print_block(out, block);
    }
    if section.folded {
        out.push_str("\n</details>\n");
    }
}

/// A folded section's one-line summary: the metric id as code, its type left out (the
/// summary table shows it).
fn summary(heading: &Heading) -> String {
    match &heading.subject {
        Some(s) => format!("<code>{}</code>{}", escape(&s.id), escape(&heading.text)),
        None => escape(&capitalize(&heading.text)),
    }
}

fn heading(heading: &Heading) -> String {
    match &heading.subject {
        Some(s) => format!("**{}** ({}){}", escape(&s.id), escape(&s.kind), escape(&heading.text)),
        None => escape(&capitalize(&heading.text)),
    }
}

/// Terminal headings are lower case; a markdown paragraph starts with a capital.
fn capitalize(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn inline(text: &Text) -> String {
    text.0
        .iter()
        .map(|span| match span {
            Span::Plain(s) => escape(s),
            Span::Code(s) => format!("`{}`", s.replace('`', "'")),
            Span::Removed(s) => format!("~~{}~~", escape(&super::shorten(s, CHANGE_SIDE))),
            Span::Added(s) => escape(&super::shorten(s, CHANGE_SIDE)),
        })
        .collect()
}

/// A GitHub-flavoured table: bars left out, each side of a pair in its own column.
fn print_table(table: &Table) -> String {
    let shown: Vec<_> = table.columns.iter().filter(|c| c.role != Role::Bar).collect();
    let names: Vec<String> = shown.iter().map(|c| escape(&c.name)).collect();
    let rule: Vec<&str> = shown
        .iter()
        .map(|c| if c.role == Role::Right { "---:" } else { "---" })
        .collect();
    let mut out = format!("| {} |\n| {} |\n", names.join(" | "), rule.join(" | "));
    let roles = super::text::cell_columns(table);
    for row in &table.rows {
        let mut cells = Vec::new();
        for (cell, role) in row.iter().zip(&roles) {
            match (cell, role) {
                (_, Role::Bar) => {}
                (Cell::Pair(before, after), _) => {
                    cells.push(escape(before));
                    cells.push(escape(after));
                }
                (cell, Role::Long) => cells.push(escape(&super::shorten(&cell.text(), LONG_CELL))),
                (cell, _) => cells.push(escape(&cell.text())),
            }
        }
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// Text that cannot break a table or start markup: pipes escaped, newlines flattened.
pub fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
        .replace('<', "&lt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_escape_pipes_and_newlines_and_split_pairs() {
        let mut t = Table::new(&["a", ">n"]).pair("base", "new").column("", Role::Bar);
        t.cells(vec![
            Cell::Text("x|y\nz".into()),
            Cell::Text("1".into()),
            Cell::Pair("p".into(), "q".into()),
            Cell::Bar(1),
        ]);
        assert_eq!(
            print_table(&t),
            "| a | n | base | new |\n| --- | ---: | --- | --- |\n| x\\|y z | 1 | p | q |\n"
        );
    }

    #[test]
    fn folded_sections_become_details_with_the_id_as_code() {
        let doc = Document {
            title: Text::plain("postcall x: ").push(Span::Code("r.json".into())),
            blocks: vec![
                Block::Section(Section::folded(
                    Heading::about("outcome", "enum", ": 2 changed"),
                    vec![
                        Block::List(vec![
                            Text::plain("prompt: ")
                                .push(Span::Removed("Old|".into()))
                                .push(Span::Plain(" → ".into()))
                                .push(Span::Added("New".into())),
                        ]),
                        Block::Section(Section::new(Heading::plain("transitions"), vec![])),
                    ],
                )),
                Block::Section(Section::new(Heading::about("score", "integer", ": 3 answers"), vec![])),
                Block::Verdict(vec!["FAIL: a".into(), "FAIL: b".into()]),
            ],
        };
        assert_eq!(
            print(&doc),
            "### postcall x: `r.json`\n\n<details><summary><code>outcome</code>: 2 changed</summary>\n\n\
             - prompt: ~~Old\\|~~ → New\n\nTransitions\n\n</details>\n\n**score** (integer): 3 answers\n\n\
             FAIL: a  \nFAIL: b  \n"
        );
    }
}
