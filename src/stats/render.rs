//! `stats` as a document: a terminal dashboard (counts, shares and `#` bars), a markdown
//! comment (the same without bars), or JSON.

use crate::answer::ratio;
use crate::document::{Block, Cell, Document, Format, Heading, Role, Section, Span, Table, Text, num, pct, shorten};

use super::{Count, CrossMetric, Distribution, MetricStats, Stats, format_number};

pub fn render(stats: &Stats, format: Format) -> String {
    format.render(stats, document)
}

/// The document: a section per metric (its answers, summary line and distribution), then
/// with `--by` a heading and a section per other metric split by the groups.
pub fn document(stats: &Stats) -> Document {
    let title = Text::plain("postcall stats: ")
        .push(Span::Code(stats.report.clone()))
        .push(Span::Plain(format!(" ({} calls)", stats.calls)));
    let mut blocks = vec![Block::List(vec![stats.origin.line("report")])];
    if !stats.flaky.is_empty() {
        blocks.push(Block::Paragraph(Text::plain(format!(
            "flaky: {} (their samples agreed less than {:.2} of the time on average; one ask of them is close to a guess)",
            stats.flaky.join(", "),
            stats.flaky_below
        ))));
    }
    for m in &stats.metrics {
        let mut body = Vec::new();
        body.extend(summary_line(m).map(|line| Block::Paragraph(line.into())));
        let table = distribution_table(m);
        if !table.is_empty() {
            body.push(Block::Table(table));
        }
        let heading = Heading::about(&m.id, m.kind, format!(": {}", statuses(m, stats.flaky_below)));
        blocks.push(Block::Section(Section::new(heading, body)));
    }
    if let Some(by) = &stats.by {
        let sizes: Vec<String> = by
            .groups
            .iter()
            .zip(&by.group_sizes)
            .map(|(g, n)| format!("{g} {n}"))
            .collect();
        blocks.push(Block::Heading(format!("by {}: {}", by.by, sizes.join(", ")).into()));
        for metric in &by.metrics {
            let table = cross_table(&by.by, &by.groups, &by.group_sizes, metric);
            let heading = Heading::about(&metric.id, metric.kind, format!(" by {}", by.by));
            blocks.push(Block::Section(Section::new(heading, vec![Block::Table(table)])));
        }
    }
    Document { title, blocks }
}

/// `118 answers, 1 null, 1 invalid; mean confidence 0.87` (zero counts left out).
fn statuses(m: &MetricStats, flaky_below: f64) -> String {
    let mut parts = vec![format!("{} answers", m.ok)];
    for (n, name) in [
        (m.null, "null"),
        (m.not_applicable, "not applicable"),
        (m.invalid, "invalid"),
        (m.missing, "missing"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {name}"));
        }
    }
    let mut line = parts.join(", ");
    if let Some(c) = m.mean_confidence {
        line.push_str(&format!("; mean confidence {c:.2}"));
    }
    if let Some(evidence) = &m.evidence {
        line.push_str(&format!("; evidence: {}", evidence.describe()));
    }
    if let Some(consistency) = &m.consistency {
        line.push_str(&format!("; {}", consistency.describe(flaky_below)));
    }
    line
}

fn summary_line(m: &MetricStats) -> Option<String> {
    match &m.distribution {
        Distribution::Numbers {
            mean, median, min, max, ..
        } if mean.is_some() => Some(format!(
            "mean {}, median {}, min {}, max {}",
            num(*mean),
            median.map_or("-".into(), format_number),
            min.map_or("-".into(), format_number),
            max.map_or("-".into(), format_number)
        )),
        Distribution::Categories { counts } if m.kind == "boolean" => {
            let yes = counts.iter().find(|c| c.value == "true").map_or(0, |c| c.count);
            Some(format!("{} true", pct(ratio(yes, m.ok))))
        }
        Distribution::Top { distinct, top } if !top.is_empty() => Some(format!(
            "{distinct} distinct {}; the most frequent:",
            if m.kind == "list" { "items" } else { "values" }
        )),
        _ => None,
    }
}

/// Value, count, share of the answers and a bar.
fn distribution_table(m: &MetricStats) -> Table {
    let counts: &[Count] = match &m.distribution {
        Distribution::Categories { counts } => counts,
        Distribution::Numbers { histogram, .. } => histogram,
        Distribution::Top { top, .. } => top,
    };
    let mut table = Table::new(&["value", ">count", ">share"]).column("", Role::Bar);
    // Lists count items, so shares are per call with the list, not per item.
    for c in counts {
        table.cells(vec![
            Cell::Text(shorten(&c.value, 40)),
            Cell::Text(c.count.to_string()),
            Cell::Text(pct(ratio(c.count, m.ok))),
            Cell::Bar(c.count),
        ]);
    }
    table
}

fn cross_table(by: &str, groups: &[String], sizes: &[usize], metric: &CrossMetric) -> Table {
    let first = metric.groups.first();
    match first.map(|g| &g.distribution) {
        Some(Distribution::Categories { .. }) => {
            // Columns: every value any group has, in the first group's (definition) order.
            let mut values: Vec<String> = Vec::new();
            for g in &metric.groups {
                if let Distribution::Categories { counts } = &g.distribution {
                    for c in counts {
                        if !values.contains(&c.value) {
                            values.push(c.value.clone());
                        }
                    }
                }
            }
            let mut headers = vec![by.to_string(), ">calls".to_string()];
            headers.extend(values.iter().map(|v| format!(">{v}")));
            headers.push(">other".to_string());
            let mut table = Table::new(&headers);
            for ((group, size), g) in groups.iter().zip(sizes).zip(&metric.groups) {
                let mut row = vec![group.clone(), size.to_string()];
                if let Distribution::Categories { counts } = &g.distribution {
                    for v in &values {
                        let n = counts.iter().find(|c| &c.value == v).map_or(0, |c| c.count);
                        row.push(share_cell(n, *size));
                    }
                }
                row.push(share_cell(*size - g.ok, *size));
                table.row(row);
            }
            table
        }
        Some(Distribution::Numbers { .. }) => {
            let mut table = Table::new(&[by, ">calls", ">answers", ">mean", ">median"]);
            for ((group, size), g) in groups.iter().zip(sizes).zip(&metric.groups) {
                let (mean, median) = match &g.distribution {
                    Distribution::Numbers { mean, median, .. } => {
                        (num(*mean), median.map_or("-".into(), format_number))
                    }
                    _ => ("-".into(), "-".into()),
                };
                table.row(vec![group.clone(), size.to_string(), g.ok.to_string(), mean, median]);
            }
            table
        }
        _ => {
            let mut table = Table::new(&[by, ">calls", ">answers", "most frequent"]);
            for ((group, size), g) in groups.iter().zip(sizes).zip(&metric.groups) {
                let top = match &g.distribution {
                    Distribution::Top { top, .. } => top
                        .first()
                        .map_or(String::new(), |c| format!("{} ({})", shorten(&c.value, 40), c.count)),
                    _ => String::new(),
                };
                table.row(vec![group.clone(), size.to_string(), g.ok.to_string(), top]);
            }
            table
        }
    }
}

/// `12 (40%)`, or `.` for none.
fn share_cell(n: usize, of: usize) -> String {
    if n == 0 {
        return ".".to_string();
    }
    format!("{n} ({:.0}%)", n as f64 * 100.0 / of.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;
    use crate::report::Value;
    use crate::spec::MetricKind;
    use crate::stats::stats;

    fn sample() -> Stats {
        let report = report_of(
            vec![
                enum_metric("outcome", &["resolved", "escalated"]),
                metric("score", MetricKind::Integer { range: Some([1, 3]) }),
            ],
            vec![
                call(
                    "c1",
                    vec![("outcome", ok_text("resolved")), ("score", ok(Value::Int(3)))],
                ),
                call(
                    "c2",
                    vec![("outcome", ok_text("resolved")), ("score", ok(Value::Int(1)))],
                ),
                call("c3", vec![("outcome", ok_text("escalated")), ("score", null())]),
            ],
        );
        stats("r.json", &report, Some("outcome"), 0.8).unwrap()
    }

    #[test]
    fn dashboard_shows_shares_bars_and_the_crosstab() {
        let out = render(&sample(), Format::Text);
        assert!(out.contains("outcome (enum): 3 answers\n"), "{out}");
        assert!(
            out.contains("  resolved       2  66.7%  ##############################\n"),
            "{out}"
        );
        assert!(out.contains("  escalated      1  33.3%  ###############\n"), "{out}");
        assert!(
            out.contains("score (integer): 2 answers, 1 null\n  mean 2.00, median 2, min 1, max 3\n"),
            "{out}"
        );
        assert!(out.contains("by outcome: resolved 2, escalated 1"), "{out}");
        assert!(out.contains("  resolved       2        2  2.00       2"), "{out}");
        assert!(out.contains("  escalated      1        0     -       -"), "{out}");
    }

    #[test]
    fn text_and_markdown_show_the_same_sections_in_order() {
        crate::document::assert_same_outline(&document(&sample()));
    }

    #[test]
    fn markdown_has_no_bars() {
        let out = render(&sample(), Format::Markdown);
        assert!(out.contains("| resolved | 2 | 66.7% |\n"), "{out}");
        assert!(out.contains("| value | count | share |\n"), "{out}");
    }
}
