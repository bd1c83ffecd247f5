//! `diff` as a document: the title with the verdict in short, the summary table, agreement
//! beyond chance between the two sides, what was compared, each metric with changes as a
//! section (folded in markdown), the verdict.

use crate::answer::Answer;
use crate::compare::defs::choices_delta;
use crate::compare::diff::{Diff, MetricDiff};
use crate::document::{Block, Cell, Document, Format, Heading, Role, Section, Span, Table, Text, num, pct, shorten};

use super::agreement::{SUMMARY_COLUMNS, summary_cells};
use super::{Detail, list_ids, matrix_or_pairs};

pub fn render(diff: &Diff, format: Format, detail: Detail) -> String {
    format.render(diff, |diff| document(diff, detail))
}

pub fn document(diff: &Diff, detail: Detail) -> Document {
    let failures = diff.failures().count();
    let mut title = String::from("postcall diff");
    if failures > 0 {
        title.push_str(&format!(" — {failures} metric(s) over the limit"));
    }
    let mut blocks = vec![if diff.metrics.is_empty() {
        Block::Paragraph("No metric is in both reports.".into())
    } else {
        Block::Table(summary_table(diff))
    }];
    if diff.metrics.iter().any(|m| m.chance_corrected.is_some()) {
        blocks.push(Block::Section(Section::new(
            Heading::plain(agreement_heading(diff)),
            vec![Block::Table(agreement_table(diff))],
        )));
    }
    blocks.push(Block::List(about(diff)));
    blocks.extend(
        diff.metrics
            .iter()
            .filter_map(|m| metric_section(diff, m, detail))
            .map(Block::Section),
    );
    blocks.push(Block::Verdict(verdict(diff)));
    Document {
        title: title.into(),
        blocks,
    }
}

/// What was compared with what, and what could not be compared.
fn about(diff: &Diff) -> Vec<Text> {
    let mut lines = vec![diff.base.line("base"), diff.new.line("new ")];
    lines.push(
        match diff.same_metric_file {
            Some(true) if diff.definition_changes.is_empty() => "same metric file on both sides".to_string(),
            Some(true) => "same metric file hash, yet the definitions differ (was a report edited?)".to_string(),
            Some(false) if diff.definition_changes.is_empty() => {
                "different metric files; no metric definition that affects answers changed".to_string()
            }
            Some(false) => format!(
                "different metric files; {} definition change(s), shown per metric",
                diff.definition_changes.len()
            ),
            None => "cannot tell whether the metric files differ (a side has no header)".to_string(),
        }
        .into(),
    );
    lines.push(
        format!(
            "{} calls compared; {} only in base, {} only in new",
            diff.calls_compared,
            diff.only_in_base.len(),
            diff.only_in_new.len()
        )
        .into(),
    );
    if !diff.metrics_added.is_empty() {
        lines.push(Text::ids("metrics added (only in new): ", &diff.metrics_added));
    }
    if !diff.metrics_removed.is_empty() {
        lines.push(Text::ids("metrics removed (only in base): ", &diff.metrics_removed));
    }
    for (what, ids) in [
        ("calls only in base", &diff.only_in_base),
        ("calls only in new", &diff.only_in_new),
    ] {
        if !ids.is_empty() {
            lines.push(format!("{what} ({}): {}", ids.len(), list_ids(ids, 10)).into());
        }
    }
    if !diff.duplicate_call_ids.is_empty() {
        lines.push(
            format!(
                "call ids used more than once (first occurrence compared): {}",
                list_ids(&diff.duplicate_call_ids, 10)
            )
            .into(),
        );
    }
    lines
}

fn summary_table(diff: &Diff) -> Table {
    let mut table = Table::new(&[
        "metric",
        "type",
        ">compared",
        ">agreement",
        ">changed",
        ">limit",
        "definition changed",
        "check",
    ]);
    for m in &diff.metrics {
        table.row(vec![
            m.id.clone(),
            m.kind.to_string(),
            m.compared.to_string(),
            pct(m.agreement),
            format!("{} ({})", m.changed, pct(m.changed_rate)),
            pct(m.max_changed),
            m.definition_changed.join(", "),
            check(m).to_string(),
        ]);
    }
    table
}

/// Two runs of one model with one metric file measure how reproducible the metric is.
fn agreement_heading(diff: &Diff) -> &'static str {
    let same_model = diff.base.model.is_some() && diff.base.model == diff.new.model;
    if diff.same_metric_file == Some(true) && same_model {
        "test–retest reliability (same model and metric file: agreement beyond chance between the runs)"
    } else {
        "agreement beyond chance (base vs new)"
    }
}

fn agreement_table(diff: &Diff) -> Table {
    let mut names = vec!["metric"];
    names.extend(SUMMARY_COLUMNS);
    let mut table = Table::new(&names);
    for m in &diff.metrics {
        if let Some(a) = &m.chance_corrected {
            let mut row = vec![m.id.clone()];
            row.extend(summary_cells(a));
            table.row(row);
        }
    }
    table
}

fn check(m: &MetricDiff) -> &'static str {
    match (m.max_changed, m.exceeded) {
        (None, _) => "",
        (Some(_), true) => "FAIL",
        (Some(_), false) => "ok",
    }
}

/// One line per metric type: the numbers that do not fit the summary table.
fn headline(m: &MetricDiff) -> Option<String> {
    if let Some(n) = &m.numeric {
        return Some(format!(
            "mean {:.2} → {:.2} (shift {:+.2}), mean absolute change {:.2} over {} calls",
            n.mean_old, n.mean_new, n.mean_shift, n.mean_abs_change, n.pairs
        ));
    }
    if m.missing_in_base + m.missing_in_new > 0 {
        return Some(format!(
            "not compared: {} calls without a result in base, {} in new",
            m.missing_in_base, m.missing_in_new
        ));
    }
    None
}

/// A metric's changes; `None` when it has nothing to show.
fn metric_section(diff: &Diff, m: &MetricDiff, detail: Detail) -> Option<Section> {
    let mut facts: Vec<Text> = diff
        .definition_changes
        .iter()
        .filter(|c| c.metric == m.id)
        .map(|c| match c.field {
            "choices" => format!("choices changed: {}", choices_delta(c)).into(),
            field => Text::plain(format!("{field} changed: "))
                .push(Span::Removed(c.old.clone()))
                .push(Span::Plain(" → ".into()))
                .push(Span::Added(c.new.clone())),
        })
        .collect();
    facts.extend(headline(m).map(Text::from));
    if m.changed == 0 && facts.is_empty() {
        return None;
    }
    let mut blocks = Vec::new();
    if !facts.is_empty() {
        blocks.push(Block::List(facts));
    }
    if let Some(t) = m.transitions.as_ref().filter(|_| m.changed > 0) {
        let (note, table) = matrix_or_pairs("base \\ new", "base", "new", &t.categories, &t.counts);
        let title = format!(
            "transitions ({})",
            note.as_deref().unwrap_or("rows: base, columns: new")
        );
        blocks.push(subsection(title, table));
    }
    if let Some(changes) = m.set_changes.as_ref().filter(|c| !c.is_empty()) {
        let mut table = Table::new(&["item", ">added in", ">removed from"]);
        for c in changes.iter().take(15) {
            table.row(vec![c.item.clone(), c.added.to_string(), c.removed.to_string()]);
        }
        blocks.push(subsection("list items".into(), table));
    }
    let shown = detail.shown(m.changes.len());
    if shown > 0 {
        let title = format!("changed calls ({shown} of {})", m.changes.len());
        blocks.push(subsection(title, changed_calls(m, shown)));
    }
    let defs = if m.definition_changed.is_empty() {
        String::new()
    } else {
        format!(" ({} changed)", m.definition_changed.join(", "))
    };
    let heading = Heading::about(
        &m.id,
        m.kind,
        format!(": {} of {} calls changed{defs}", m.changed, m.compared),
    );
    Some(Section::folded(heading, blocks))
}

fn subsection(title: String, table: Table) -> Block {
    Block::Section(Section::new(Heading::plain(title), vec![Block::Table(table)]))
}

fn changed_calls(m: &MetricDiff, shown: usize) -> Table {
    let answer = |a: &Answer| shorten(&a.display(), 60);
    let with_reasoning = m
        .changes
        .iter()
        .any(|c| c.old_reasoning.is_some() || c.new_reasoning.is_some());
    let mut table = Table::new(&["call"])
        .pair("base", "new")
        .column("confidence", Role::Left);
    if with_reasoning {
        table = table
            .column("base reasoning", Role::Long)
            .column("new reasoning", Role::Long);
    }
    for c in &m.changes[..shown] {
        let confidence = match (c.old_confidence, c.new_confidence) {
            (None, None) => String::new(),
            (old, new) => format!("{} → {}", num(old), num(new)),
        };
        let mut row = vec![
            Cell::Text(c.call_id.clone()),
            Cell::Pair(answer(&c.old), answer(&c.new)),
            Cell::Text(confidence),
        ];
        if with_reasoning {
            row.push(Cell::Text(c.old_reasoning.clone().unwrap_or_default()));
            row.push(Cell::Text(c.new_reasoning.clone().unwrap_or_default()));
        }
        table.cells(row);
    }
    table
}

/// The last lines: what failed and why, or that every limit held.
fn verdict(diff: &Diff) -> Vec<String> {
    let failures: Vec<&MetricDiff> = diff.failures().collect();
    let limited = diff.metrics.iter().filter(|m| m.max_changed.is_some()).count();
    if failures.is_empty() {
        return vec![if limited == 0 {
            "no --max-changed limit set".to_string()
        } else {
            format!("ok: {limited} metric(s) within their --max-changed limit")
        }];
    }
    failures
        .iter()
        .map(|m| {
            format!(
                "FAIL: {} changed on {} of {} calls ({}), over --max-changed {}",
                m.id,
                m.changed,
                m.compared,
                pct(m.changed_rate),
                pct(m.max_changed)
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;
    use crate::compare::diff::{DiffOptions, diff};
    use crate::compare::threshold::{Setting, settings};

    fn sample(limit: &str) -> Diff {
        let base = report_of(
            vec![enum_metric("outcome", &["resolved", "escalated"])],
            vec![
                call("c1", vec![("outcome", ok_text("resolved"))]),
                call("c2", vec![("outcome", ok_text("resolved"))]),
            ],
        );
        let mut new = base.clone();
        new.metrics[0].prompt = "How | did it end?".into();
        new.calls[1].metrics["outcome"] = ok_text("escalated");
        let options = DiffOptions {
            max_changed: settings(&[limit], Setting::share),
            reasoning: false,
            ..DiffOptions::default()
        };
        diff("base.json", &base, "new.json", &new, &options)
    }

    #[test]
    fn text_has_the_table_the_transitions_and_the_verdict() {
        let out = render(&sample("40%"), Format::Text, Detail::default());
        assert!(
            out.contains("outcome  enum         2      50.0%  1 (50.0%)  40.0%  prompt              FAIL\n"),
            "{out}"
        );
        assert!(
            out.contains("prompt changed: \"What is the outcome?\" → \"How | did it end?\""),
            "{out}"
        );
        assert!(
            out.contains("    base \\ new  resolved  escalated\n    ----------  --------  ---------\n"),
            "{out}"
        );
        assert!(out.contains("    resolved           1          1\n"), "{out}");
        assert!(out.contains("    c2    resolved → escalated\n"), "{out}");
        assert!(
            out.ends_with("FAIL: outcome changed on 1 of 2 calls (50.0%), over --max-changed 40.0%\n"),
            "{out}"
        );
    }

    #[test]
    fn markdown_puts_the_table_first_and_details_folded() {
        let out = render(&sample("50%"), Format::Markdown, Detail::default());
        assert!(out.starts_with("### postcall diff\n\n| metric | type |"), "{out}");
        assert!(
            out.contains("<details><summary><code>outcome</code>: 1 of 2 calls changed (prompt changed)</summary>"),
            "{out}"
        );
        assert!(out.contains("~~What is the outcome?~~ → How \\| did it end?"), "{out}");
        assert!(out.contains("| c2 | resolved | escalated |  |"), "{out}");
        assert!(
            out.contains("ok: 1 metric(s) within their --max-changed limit"),
            "{out}"
        );
    }

    #[test]
    fn text_and_markdown_show_the_same_sections_in_order() {
        crate::document::assert_same_outline(&document(&sample("40%"), Detail::default()));
    }

    #[test]
    fn json_holds_every_number() {
        let out = render(&sample("50%"), Format::Json, Detail::default());
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["metrics"][0]["agreement"], 0.5);
        assert_eq!(value["metrics"][0]["transitions"]["counts"][0][1], 1);
        assert_eq!(value["metrics"][0]["changes"][0]["new"]["value"], "escalated");
    }
}
