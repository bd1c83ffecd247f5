//! `diff` as text (terminal, CI log), markdown (a pull-request comment: the summary table
//! first, each metric's details folded in `<details>`), or JSON.

use std::fmt::Write as _;

use crate::answer::Answer;
use crate::compare::defs::choices_delta;
use crate::compare::diff::{Diff, MetricDiff};
use crate::compare::table::{Table, escape_markdown, shorten};

use super::{Detail, Format, json, list_ids, matrix_or_pairs, num, pct};

pub fn render(diff: &Diff, format: Format, detail: Detail) -> String {
    match format {
        Format::Text => text(diff, detail),
        Format::Markdown => markdown(diff, detail),
        Format::Json => json(diff),
    }
}

fn short_sha(sha: &str) -> String {
    if sha.is_empty() {
        "unknown".to_string()
    } else {
        sha.chars().take(12).collect()
    }
}

fn sides(diff: &Diff) -> Vec<String> {
    let side = |name: &str, s: &crate::compare::diff::Side| {
        let model = if s.model.is_empty() { "unknown" } else { &s.model };
        format!(
            "{name}: {} — {} calls, model {model}, metric file {}{}",
            s.path,
            s.calls,
            short_sha(&s.metrics_sha256),
            if s.has_definitions {
                ""
            } else {
                " (no definitions: a .jsonl report)"
            }
        )
    };
    let mut lines = vec![side("base", &diff.base), side("new ", &diff.new)];
    lines.push(match diff.same_metric_file {
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
    });
    lines.push(format!(
        "{} calls compared; {} only in base, {} only in new",
        diff.calls_compared,
        diff.only_in_base.len(),
        diff.only_in_new.len()
    ));
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

fn set_table(m: &MetricDiff) -> Option<Table> {
    let changes = m.set_changes.as_ref().filter(|c| !c.is_empty())?;
    let mut table = Table::new(&["item", ">added in", ">removed from"]);
    for c in changes.iter().take(15) {
        table.row(vec![c.item.clone(), c.added.to_string(), c.removed.to_string()]);
    }
    Some(table)
}

fn confidence_change(old: Option<f64>, new: Option<f64>) -> String {
    match (old, new) {
        (None, None) => String::new(),
        _ => format!("{} → {}", num(old), num(new)),
    }
}

fn answer(a: &Answer) -> String {
    shorten(&a.display(), 60)
}

fn text(diff: &Diff, detail: Detail) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "postcall diff");
    for line in sides(diff) {
        let _ = writeln!(out, "  {line}");
    }
    out.push('\n');
    if diff.metrics.is_empty() {
        out.push_str("No metric is in both reports.\n");
    } else {
        out.push_str(&summary_table(diff).text(""));
    }
    if !diff.metrics_added.is_empty() {
        let _ = writeln!(out, "metrics added (only in new): {}", diff.metrics_added.join(", "));
    }
    if !diff.metrics_removed.is_empty() {
        let _ = writeln!(
            out,
            "metrics removed (only in base): {}",
            diff.metrics_removed.join(", ")
        );
    }
    for m in &diff.metrics {
        let changes: Vec<_> = diff.definition_changes.iter().filter(|c| c.metric == m.id).collect();
        if m.changed == 0 && changes.is_empty() && headline(m).is_none() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n{} ({}): {} of {} calls changed",
            m.id, m.kind, m.changed, m.compared
        );
        for c in &changes {
            let _ = match c.field {
                "choices" => writeln!(out, "  choices changed: {}", choices_delta(c)),
                _ => writeln!(
                    out,
                    "  {} changed: {:?} → {:?}",
                    c.field,
                    shorten(&c.old, 70),
                    shorten(&c.new, 70)
                ),
            };
        }
        if let Some(line) = headline(m) {
            let _ = writeln!(out, "  {line}");
        }
        if let Some(t) = m.transitions.as_ref().filter(|_| m.changed > 0) {
            let (note, table) = matrix_or_pairs("base \\ new", "base", "new", &t.categories, &t.counts);
            let _ = writeln!(
                out,
                "  transitions ({})",
                note.as_deref().unwrap_or("rows: base, columns: new")
            );
            out.push_str(&table.text("    "));
        }
        if let Some(table) = set_table(m) {
            out.push_str("  list items\n");
            out.push_str(&table.text("    "));
        }
        let shown = detail.shown(m.changes.len());
        if shown > 0 {
            let _ = writeln!(out, "  changed calls ({} of {})", shown, m.changes.len());
            let mut table = Table::new(&["call", "base → new", "confidence"]);
            for c in &m.changes[..shown] {
                table.row(vec![
                    c.call_id.clone(),
                    format!("{} → {}", answer(&c.old), answer(&c.new)),
                    confidence_change(c.old_confidence, c.new_confidence),
                ]);
            }
            out.push_str(&table.text("    "));
            for c in m.changes[..shown]
                .iter()
                .filter(|c| c.old_reasoning.is_some() || c.new_reasoning.is_some())
            {
                let _ = writeln!(out, "    {}", c.call_id);
                let _ = writeln!(out, "      base: {}", c.old_reasoning.as_deref().unwrap_or("-"));
                let _ = writeln!(out, "      new:  {}", c.new_reasoning.as_deref().unwrap_or("-"));
            }
        }
    }
    let mut tail = String::new();
    if !diff.only_in_base.is_empty() {
        let _ = writeln!(
            tail,
            "calls only in base ({}): {}",
            diff.only_in_base.len(),
            list_ids(&diff.only_in_base, 10)
        );
    }
    if !diff.only_in_new.is_empty() {
        let _ = writeln!(
            tail,
            "calls only in new ({}): {}",
            diff.only_in_new.len(),
            list_ids(&diff.only_in_new, 10)
        );
    }
    if !diff.duplicate_call_ids.is_empty() {
        let _ = writeln!(
            tail,
            "call ids used more than once (first occurrence compared): {}",
            list_ids(&diff.duplicate_call_ids, 10)
        );
    }
    if !tail.is_empty() {
        out.push('\n');
        out.push_str(&tail);
    }
    out.push('\n');
    out.push_str(&verdict(diff));
    out
}

/// The last lines: what failed and why, or that every limit held.
fn verdict(diff: &Diff) -> String {
    let failures: Vec<&MetricDiff> = diff.failures().collect();
    let limited = diff.metrics.iter().filter(|m| m.max_changed.is_some()).count();
    if failures.is_empty() {
        return if limited == 0 {
            "no --max-changed limit set\n".to_string()
        } else {
            format!("ok: {limited} metric(s) within their --max-changed limit\n")
        };
    }
    let mut out = String::new();
    for m in failures {
        let _ = writeln!(
            out,
            "FAIL: {} changed on {} of {} calls ({}), over --max-changed {}",
            m.id,
            m.changed,
            m.compared,
            pct(m.changed_rate),
            pct(m.max_changed)
        );
    }
    out
}

fn markdown(diff: &Diff, detail: Detail) -> String {
    let mut out = String::new();
    let failures = diff.failures().count();
    let status = if failures > 0 {
        format!(" — {failures} metric(s) over the limit")
    } else {
        String::new()
    };
    let _ = writeln!(out, "### postcall diff{status}\n");
    if diff.metrics.is_empty() {
        out.push_str("No metric is in both reports.\n");
    } else {
        out.push_str(&summary_table(diff).markdown());
    }
    out.push('\n');
    for line in sides(diff) {
        let _ = writeln!(out, "- {}", escape_markdown(&line));
    }
    if !diff.metrics_added.is_empty() {
        let _ = writeln!(out, "- metrics added: `{}`", diff.metrics_added.join("`, `"));
    }
    if !diff.metrics_removed.is_empty() {
        let _ = writeln!(out, "- metrics removed: `{}`", diff.metrics_removed.join("`, `"));
    }
    if !diff.only_in_base.is_empty() || !diff.only_in_new.is_empty() {
        let _ = writeln!(
            out,
            "- calls only in base: {}; only in new: {}",
            escape_markdown(&list_ids(&diff.only_in_base, 10)),
            escape_markdown(&list_ids(&diff.only_in_new, 10))
        );
    }
    for m in &diff.metrics {
        let changes: Vec<_> = diff.definition_changes.iter().filter(|c| c.metric == m.id).collect();
        if m.changed == 0 && changes.is_empty() && headline(m).is_none() {
            continue;
        }
        let defs = if m.definition_changed.is_empty() {
            String::new()
        } else {
            format!(" ({} changed)", m.definition_changed.join(", "))
        };
        let _ = writeln!(
            out,
            "\n<details><summary><code>{}</code>: {} of {} calls changed{}</summary>\n",
            m.id, m.changed, m.compared, defs
        );
        for c in &changes {
            let _ = match c.field {
                "choices" => writeln!(out, "- choices: {}", escape_markdown(&choices_delta(c))),
                _ => writeln!(
                    out,
                    "- {}: ~~{}~~ → {}",
                    c.field,
                    escape_markdown(&shorten(&c.old, 200)),
                    escape_markdown(&shorten(&c.new, 200))
                ),
            };
        }
        if let Some(line) = headline(m) {
            let _ = writeln!(out, "- {line}");
        }
        if let Some(t) = m.transitions.as_ref().filter(|_| m.changed > 0) {
            let (note, table) = matrix_or_pairs("base \\ new", "base", "new", &t.categories, &t.counts);
            let _ = writeln!(
                out,
                "\nTransitions ({})\n",
                note.as_deref().unwrap_or("rows: base, columns: new")
            );
            out.push_str(&table.markdown());
        }
        if let Some(table) = set_table(m) {
            out.push('\n');
            out.push_str(&table.markdown());
        }
        let shown = detail.shown(m.changes.len());
        if shown > 0 {
            let with_reasoning = m
                .changes
                .iter()
                .any(|c| c.old_reasoning.is_some() || c.new_reasoning.is_some());
            let mut headers = vec!["call", "base", "new", "confidence"];
            if with_reasoning {
                headers.extend(["base reasoning", "new reasoning"]);
            }
            let mut table = Table::new(&headers);
            for c in &m.changes[..shown] {
                let mut row = vec![
                    c.call_id.clone(),
                    answer(&c.old),
                    answer(&c.new),
                    confidence_change(c.old_confidence, c.new_confidence),
                ];
                if with_reasoning {
                    row.push(shorten(c.old_reasoning.as_deref().unwrap_or(""), 300));
                    row.push(shorten(c.new_reasoning.as_deref().unwrap_or(""), 300));
                }
                table.row(row);
            }
            let _ = writeln!(out, "\nChanged calls ({shown} of {}):\n", m.changes.len());
            out.push_str(&table.markdown());
        }
        out.push_str("\n</details>\n");
    }
    out.push('\n');
    for line in verdict(diff).lines() {
        let _ = writeln!(out, "{}  ", escape_markdown(line));
    }
    out
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
    fn json_holds_every_number() {
        let out = render(&sample("50%"), Format::Json, Detail::default());
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(value["metrics"][0]["agreement"], 0.5);
        assert_eq!(value["metrics"][0]["transitions"]["counts"][0][1], 1);
        assert_eq!(value["metrics"][0]["changes"][0]["new"]["value"], "escalated");
    }
}
