//! `stats` as a terminal dashboard (counts, percentages and `#` bars), markdown or JSON;
//! and the calls table `filter` prints.

use std::fmt::Write as _;

use crate::answer::{Answer, percent, ratio};
use crate::compare::table::{Table, shorten};
use crate::report::CallResult;
use crate::stats::{Count, CrossMetric, Distribution, MetricStats, Stats, format_number};

use super::{Format, json, num, pct};

const BAR: usize = 30;

pub fn render(stats: &Stats, format: Format) -> String {
    match format {
        Format::Json => json(stats),
        Format::Text => body(stats, false),
        Format::Markdown => body(stats, true),
    }
}

fn body(stats: &Stats, markdown: bool) -> String {
    let mut out = String::new();
    if markdown {
        let _ = writeln!(out, "### postcall stats: `{}` ({} calls)\n", stats.report, stats.calls);
    } else {
        let _ = writeln!(out, "postcall stats: {} ({} calls)", stats.report, stats.calls);
    }
    for m in &stats.metrics {
        out.push('\n');
        if markdown {
            let _ = writeln!(out, "**{}** ({}): {}\n", m.id, m.kind, statuses(m));
        } else {
            let _ = writeln!(out, "{} ({}): {}", m.id, m.kind, statuses(m));
        }
        if let Some(line) = summary_line(m) {
            let _ = writeln!(
                out,
                "{}{line}{}",
                if markdown { "" } else { "  " },
                if markdown { "\n" } else { "" }
            );
        }
        let table = distribution_table(m, !markdown);
        if !table.is_empty() {
            out.push_str(&if markdown { table.markdown() } else { table.text("  ") });
        }
    }
    if let Some(by) = &stats.by {
        out.push('\n');
        let sizes: Vec<String> = by
            .groups
            .iter()
            .zip(&by.group_sizes)
            .map(|(g, n)| format!("{g} {n}"))
            .collect();
        let title = format!("by {}: {}", by.by, sizes.join(", "));
        if markdown {
            let _ = writeln!(out, "#### {title}");
        } else {
            let _ = writeln!(out, "{title}");
        }
        for metric in &by.metrics {
            out.push('\n');
            let table = cross_table(&by.by, &by.groups, &by.group_sizes, metric);
            if markdown {
                let _ = writeln!(out, "**{}** ({}) by {}\n", metric.id, metric.kind, by.by);
                out.push_str(&table.markdown());
            } else {
                let _ = writeln!(out, "{} ({}) by {}", metric.id, metric.kind, by.by);
                out.push_str(&table.text("  "));
            }
        }
    }
    out
}

/// `118 answers, 1 null, 1 invalid; mean confidence 0.87` (zero counts left out).
fn statuses(m: &MetricStats) -> String {
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
        let _ = write!(line, "; mean confidence {c:.2}");
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

/// Value, count, share of the answers and (for the terminal) a bar.
fn distribution_table(m: &MetricStats, bars: bool) -> Table {
    let counts: &[Count] = match &m.distribution {
        Distribution::Categories { counts } => counts,
        Distribution::Numbers { histogram, .. } => histogram,
        Distribution::Top { top, .. } => top,
    };
    let mut headers = vec!["value", ">count", ">share"];
    if bars {
        headers.push("");
    }
    let mut table = Table::new(&headers);
    let most = counts.iter().map(|c| c.count).max().unwrap_or(0);
    // Lists count items, so shares are per call with the list, not per item.
    for c in counts {
        let mut row = vec![shorten(&c.value, 40), c.count.to_string(), pct(ratio(c.count, m.ok))];
        if bars {
            let width = if most == 0 { 0 } else { (c.count * BAR).div_ceil(most) };
            row.push("#".repeat(width));
        }
        table.row(row);
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

/// The calls `filter` matched: id, source, then one column per metric in `columns`.
pub fn calls_table(calls: &[&CallResult], columns: &[String]) -> String {
    let mut headers = vec!["call_id".to_string(), "source".to_string()];
    headers.extend(columns.iter().cloned());
    let mut table = Table::new(&headers);
    for call in calls {
        let mut row = vec![call.call_id.clone(), call.source.clone()];
        row.extend(columns.iter().map(|id| shorten(&Answer::of(call, id).display(), 40)));
        table.row(row);
    }
    table.text("")
}

/// `3 of 120 calls match (2.5%)`.
pub fn match_count(matched: usize, total: usize) -> String {
    format!(
        "{matched} of {total} calls match ({})",
        ratio(matched, total).map_or("-".into(), percent)
    )
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
        stats("r.json", &report, Some("outcome")).unwrap()
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
    fn markdown_has_no_bars() {
        let out = render(&sample(), Format::Markdown);
        assert!(out.contains("| resolved | 2 | 66.7% |\n"), "{out}");
        assert!(out.contains("| value | count | share |\n"), "{out}");
    }

    #[test]
    fn filter_lists_calls_with_values() {
        let report = report_of(vec![], vec![call("c1", vec![("outcome", ok_text("escalated"))])]);
        let calls: Vec<&CallResult> = report.calls.iter().collect();
        let out = calls_table(&calls, &["outcome".to_string(), "score".to_string()]);
        assert_eq!(
            out,
            "call_id  source         outcome    score\n-------  -------------  ---------  -------\nc1       calls/c1.json  escalated  missing\n"
        );
        assert_eq!(match_count(1, 4), "1 of 4 calls match (25.0%)");
    }
}
