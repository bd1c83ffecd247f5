//! The human-readable output of `diff`, `eval` and `stats` as data: a small document model
//! built once per command, then printed by [`text`] (terminal, CI log) or [`markdown`] (a
//! pull-request comment).
//!
//! Each command says *what* it shows — sections about a metric, tables, facts, the verdict —
//! and the printers alone decide how it looks, so the two renderings cannot drift apart
//! and a third (the HTML review page) is one more printer over the same [`Document`]. JSON
//! output is not a rendering of the document: it is serde of the command's result type,
//! which holds every number (see [`Format::render`]).

pub mod markdown;
pub mod text;

use serde::Serialize;

/// `--format` of `diff`, `eval` and `stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    /// Aligned tables for a terminal or a CI log.
    #[default]
    Text,
    /// A short table, then details in `<details>`: for a pull-request comment.
    Markdown,
    /// The full result as one JSON document.
    Json,
}

impl Format {
    /// `result` as JSON, or the document `build` makes from it, printed.
    pub fn render<T: Serialize>(self, result: &T, build: impl FnOnce(&T) -> Document) -> String {
        match self {
            Format::Json => {
                let mut json = serde_json::to_string_pretty(result).expect("results serialize");
                json.push('\n');
                json
            }
            Format::Text => text::print(&build(result)),
            Format::Markdown => markdown::print(&build(result)),
        }
    }
}

/// A titled sequence of blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub title: Text,
    pub blocks: Vec<Block>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A sentence: one line in text, a paragraph in markdown.
    Paragraph(Text),
    /// Facts, one per line: lines in text, a bullet list in markdown.
    List(Vec<Text>),
    Table(Table),
    /// A heading for the sections that follow it.
    Heading(Text),
    Section(Section),
    /// The closing pass/fail lines, what the exit code says in words.
    Verdict(Vec<String>),
}

/// A heading and what is under it.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub heading: Heading,
    /// Folded away in markdown (`<details>`), so a pull-request comment stays short.
    pub folded: bool,
    pub blocks: Vec<Block>,
}

impl Section {
    pub fn new(heading: Heading, blocks: Vec<Block>) -> Section {
        Section {
            heading,
            folded: false,
            blocks,
        }
    }

    pub fn folded(heading: Heading, blocks: Vec<Block>) -> Section {
        Section {
            heading,
            folded: true,
            blocks,
        }
    }
}

/// `outcome (enum): 4 of 20 calls changed`: the metric a section is about, and the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Heading {
    pub subject: Option<Subject>,
    /// Follows the subject as written (`: 4 of 20 calls changed`, ` by outcome`).
    pub text: String,
}

impl Heading {
    pub fn about(id: &str, kind: &str, text: impl Into<String>) -> Heading {
        Heading {
            subject: Some(Subject {
                id: id.to_string(),
                kind: kind.to_string(),
            }),
            text: text.into(),
        }
    }

    pub fn plain(text: impl Into<String>) -> Heading {
        Heading {
            subject: None,
            text: text.into(),
        }
    }
}

/// A metric and its type. A folded markdown summary leaves the type out: the summary
/// table above it has a type column.
#[derive(Debug, Clone, PartialEq)]
pub struct Subject {
    pub id: String,
    pub kind: String,
}

/// A line of inline spans.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Text(pub Vec<Span>);

#[derive(Debug, Clone, PartialEq)]
pub enum Span {
    Plain(String),
    /// An identifier or a path: code in markdown.
    Code(String),
    /// The old side of a change: quoted in text, struck through in markdown.
    Removed(String),
    /// The new side of a change: quoted in text.
    Added(String),
}

impl Text {
    pub fn plain(text: impl Into<String>) -> Text {
        Text(vec![Span::Plain(text.into())])
    }

    pub fn push(mut self, span: Span) -> Text {
        self.0.push(span);
        self
    }

    /// `prefix` then the ids as code, comma-separated.
    pub fn ids(prefix: &str, ids: &[String]) -> Text {
        let mut text = Text::plain(prefix);
        for (i, id) in ids.iter().enumerate() {
            if i > 0 {
                text.0.push(Span::Plain(", ".into()));
            }
            text.0.push(Span::Code(id.clone()));
        }
        text
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text::plain(text)
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text::plain(text)
    }
}

/// Rows under named columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Left,
    /// Numbers.
    Right,
    /// A bar per row ([`Cell::Bar`]) for the terminal; markdown leaves the column out.
    Bar,
    /// `before → after` ([`Cell::Pair`]): one column in text, two in markdown, the second
    /// named by the next column of role [`Role::After`].
    Pair,
    /// Names the second half of the [`Role::Pair`] column before it; has no cells of its own.
    After,
    /// Long text (a reasoning): in text printed under the table, in markdown a cell.
    Long,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    /// A count drawn as a bar, scaled to the largest in its table.
    Bar(usize),
    Pair(String, String),
}

impl Table {
    /// Columns whose name starts with `>` are right-aligned (numbers); the `>` is dropped.
    pub fn new<S: AsRef<str>>(names: &[S]) -> Table {
        let mut table = Table::default();
        for name in names {
            let name = name.as_ref();
            table.columns.push(match name.strip_prefix('>') {
                Some(rest) => Column {
                    name: rest.to_string(),
                    role: Role::Right,
                },
                None => Column {
                    name: name.to_string(),
                    role: Role::Left,
                },
            });
        }
        table
    }

    pub fn column(mut self, name: &str, role: Role) -> Table {
        self.columns.push(Column {
            name: name.to_string(),
            role,
        });
        self
    }

    /// A `before → after` column pair.
    pub fn pair(self, before: &str, after: &str) -> Table {
        self.column(before, Role::Pair).column(after, Role::After)
    }

    /// A row of plain text cells.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.into_iter().map(Cell::Text).collect());
    }

    /// A row with cells for every column but [`Role::After`] ones.
    pub fn cells(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl Cell {
    /// The cell's text, as a printer without a special form for it shows it.
    pub fn text(&self) -> String {
        match self {
            Cell::Text(text) => text.clone(),
            Cell::Bar(count) => count.to_string(),
            Cell::Pair(before, after) => format!("{before} → {after}"),
        }
    }
}

/// `0.953` → `95.3%`.
pub fn percent(fraction: f64) -> String {
    format!("{:.1}%", fraction * 100.0)
}

/// A fraction as a percent, or `-` when there is none.
pub fn pct(fraction: Option<f64>) -> String {
    fraction.map_or_else(|| "-".to_string(), percent)
}

/// A number with two decimals, or `-`.
pub fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "-".to_string(), |x| format!("{x:.2}"))
}

#[cfg(test)]
#[test]
fn percents_have_one_decimal() {
    assert_eq!(percent(0.953), "95.3%");
    assert_eq!(percent(1.0), "100.0%");
    assert_eq!(pct(None), "-");
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

/// The headings of a document in reading order, as plain text, for tests that check that
/// every printer shows all of them in that order.
#[cfg(test)]
pub fn outline(document: &Document) -> Vec<String> {
    fn walk(blocks: &[Block], out: &mut Vec<String>) {
        for block in blocks {
            match block {
                Block::Heading(text) => out.push(text::inline(text)),
                Block::Section(section) => {
                    let h = &section.heading;
                    out.push(match &h.subject {
                        Some(s) => format!("{} ({}){}", s.id, s.kind, h.text),
                        None => h.text.clone(),
                    });
                    walk(&section.blocks, out);
                }
                _ => {}
            }
        }
    }
    let mut out = vec![text::inline(&document.title)];
    walk(&document.blocks, &mut out);
    out
}

/// Asserts that the text and the markdown printing of `document` both show every heading
/// of its outline, in order (markdown may capitalise and escape them, and leaves the type
/// out of a folded summary).
#[cfg(test)]
pub fn assert_same_outline(document: &Document) {
    let plain = |s: &str| s.to_lowercase().replace('\\', "");
    for (name, printed) in [("text", text::print(document)), ("markdown", markdown::print(document))] {
        let printed = plain(&printed).replace("<code>", "").replace("</code>", "");
        let printed = printed.replace(['*', '`'], "");
        let mut from = 0;
        for heading in outline(document) {
            // The type beside a metric id is optional: a folded markdown summary drops it.
            let wanted = plain(&heading);
            let found = printed[from..].find(&wanted).or_else(|| {
                let (id, rest) = wanted.split_once(' ').unwrap_or((&wanted, ""));
                let rest = rest.split_once(')').map_or(rest, |(_, r)| r);
                printed[from..].find(&format!("{id}{rest}"))
            });
            let Some(at) = found else {
                panic!("{name} lacks heading {heading:?} after byte {from}:\n{printed}");
            };
            from += at + 1;
        }
    }
}
