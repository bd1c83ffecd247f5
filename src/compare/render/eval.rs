//! `eval` as a document: the title with the verdict in short, the summary table, agreement
//! beyond chance per metric, what was matched, each metric's confusion, classes,
//! agreement statistics, calibration and wrong answers as a section (folded in markdown),
//! confidence against accuracy over all metrics, the verdict.

use crate::compare::calibration::{Bucket, CalibrationError};
use crate::compare::eval::{Eval, KappaCheck, MetricEval};
use crate::document::{Block, Document, Format, Heading, Section, Table, Text, num, pct, shorten};

use super::agreement::{SUMMARY_COLUMNS, facts, statistics_table, summary_cells};
use super::{Detail, list_ids, matrix_or_pairs};

pub fn render(eval: &Eval, format: Format, detail: Detail) -> String {
    format.render(eval, |eval| document(eval, detail))
}

pub fn document(eval: &Eval, detail: Detail) -> Document {
    let failures = eval.failures().count();
    let mut title = String::from("postcall eval");
    if failures > 0 {
        title.push_str(&format!(" — {failures} metric(s) below the minimum"));
    }
    let mut blocks = vec![if eval.metrics.is_empty() {
        Block::Paragraph("No labelled metric to evaluate.".into())
    } else {
        Block::Table(summary_table(eval))
    }];
    if eval.metrics.iter().any(|m| m.agreement.is_some()) {
        blocks.push(Block::Section(Section::new(
            Heading::plain("agreement beyond chance (labels vs answers)"),
            vec![Block::Table(agreement_table(eval))],
        )));
    }
    if eval.metrics.iter().any(|m| m.evidence.is_some()) {
        blocks.push(Block::Section(Section::new(
            Heading::plain("evidence (quotes checked against the transcript)"),
            vec![Block::Table(evidence_table(eval))],
        )));
    }
    blocks.push(Block::List(coverage(eval)));
    blocks.extend(eval.metrics.iter().map(|m| Block::Section(metric_section(m, detail))));
    if !eval.calibration.is_empty() {
        blocks.push(Block::Section(Section::folded(
            Heading::plain("confidence vs accuracy, all metrics"),
            calibration_blocks(&eval.calibration, eval.calibration_error.as_ref()),
        )));
    }
    blocks.push(Block::Verdict(verdict(eval)));
    Document {
        title: title.into(),
        blocks,
    }
}

/// What was scored against what, and what could not be matched.
fn coverage(eval: &Eval) -> Vec<Text> {
    let mut lines = vec![
        eval.origin.line("report"),
        format!(
            "labels: {} — {} label rows: {} matched to report calls, {} not in the report; {} report calls have no labels",
            eval.labels,
            eval.label_rows,
            eval.matched_calls,
            eval.labels_not_in_report.len(),
            eval.report_calls_without_labels
        )
        .into(),
    ];
    if !eval.labels_not_in_report.is_empty() {
        lines.push(
            format!(
                "labelled calls not in the report: {}",
                list_ids(&eval.labels_not_in_report, 10)
            )
            .into(),
        );
    }
    if !eval.unlabelled_metrics.is_empty() {
        lines.push(Text::ids("metrics without labels: ", &eval.unlabelled_metrics));
    }
    lines
}

fn metric_section(m: &MetricEval, detail: Detail) -> Section {
    let mut blocks = Vec::new();
    if let Some((title, table)) = confusion_table(m) {
        let body = if table.is_empty() {
            Block::Paragraph("none: every answer matches its label".into())
        } else {
            Block::Table(table)
        };
        blocks.push(subsection(title, body));
    }
    if let Some(table) = per_class(m) {
        blocks.push(subsection("per class".into(), Block::Table(table)));
    }
    if let Some(a) = &m.agreement {
        blocks.push(Block::Section(Section::new(
            Heading::plain("agreement beyond chance"),
            vec![Block::Table(statistics_table(a)), Block::List(facts(a))],
        )));
    }
    if !m.calibration.is_empty() {
        blocks.push(Block::Section(Section::new(
            Heading::plain("by confidence"),
            calibration_blocks(&m.calibration, m.calibration_error.as_ref()),
        )));
    }
    if let Some((shown, table)) = misses(m, detail) {
        let title = format!("wrong answers ({shown} of {})", m.misses.len());
        blocks.push(subsection(title, Block::Table(table)));
    }
    Section::folded(Heading::about(&m.id, m.kind, format!(": {}", headline(m))), blocks)
}

fn subsection(title: String, body: Block) -> Block {
    Block::Section(Section::new(Heading::plain(title), vec![body]))
}

fn summary_table(eval: &Eval) -> Table {
    let mut table = Table::new(&[
        "metric",
        "type",
        "measure",
        ">labelled",
        ">score",
        ">correct",
        ">invalid",
        ">missing",
        ">min",
        "check",
    ]);
    for m in &eval.metrics {
        table.row(vec![
            m.id.clone(),
            m.kind.to_string(),
            measure(m),
            m.labelled.to_string(),
            pct(m.score),
            m.correct.to_string(),
            m.invalid.to_string(),
            m.missing.to_string(),
            threshold(m),
            check(m).to_string(),
        ]);
    }
    table
}

/// One row per metric whose answers cite evidence: how many quotes were found in the
/// transcript, how many only in another turn than cited, how many values none verified.
fn evidence_table(eval: &Eval) -> Table {
    let mut table = Table::new(&[
        "metric",
        ">quotes",
        ">found",
        ">share",
        ">other turn",
        ">unverified values",
    ]);
    for m in &eval.metrics {
        let Some(e) = &m.evidence else { continue };
        table.row(vec![
            m.id.clone(),
            e.quotes.to_string(),
            e.verified.to_string(),
            pct(e.verified_share()),
            e.found_elsewhere.to_string(),
            format!("{} of {}", e.unverified_values, e.ok_values),
        ]);
    }
    table
}

/// One row per metric with agreement statistics: the headline κ with its interval, AC1,
/// the α of the metric's level, and the κ check.
fn agreement_table(eval: &Eval) -> Table {
    let mut names = vec!["metric"];
    names.extend(SUMMARY_COLUMNS);
    names.extend([">min κ", "check"]);
    let mut table = Table::new(&names);
    for m in &eval.metrics {
        let Some(a) = &m.agreement else { continue };
        let mut row = vec![m.id.clone()];
        row.extend(summary_cells(a));
        match &m.kappa_check {
            Some(k) => row.extend([
                format!("{:.2} ({})", k.minimum, k.from),
                if k.passed { "ok" } else { "FAIL" }.to_string(),
            ]),
            None => row.extend([String::new(), String::new()]),
        }
        table.row(row);
    }
    table
}

/// The bucket table, then ECE, Brier and the confident answers in one line.
fn calibration_blocks(buckets: &[Bucket], error: Option<&CalibrationError>) -> Vec<Block> {
    let mut blocks = vec![Block::Table(calibration(buckets))];
    if let Some(e) = error {
        let confident = match e.confident_accuracy {
            Some(acc) => format!(
                "{} of {} answers claim confidence ≥ 0.9 and {} of them are right",
                e.confident,
                e.answers,
                pct(Some(acc))
            ),
            None => "no answer claims confidence ≥ 0.9".to_string(),
        };
        blocks.push(Block::List(vec![
            format!(
                "expected calibration error {:.3} (over the buckets above), Brier score {:.3}, over {} answers with a confidence",
                e.ece, e.brier, e.answers
            )
            .into(),
            confident.into(),
        ]));
    }
    blocks
}

fn check(m: &MetricEval) -> &'static str {
    match m.passed {
        Some(true) => "ok",
        Some(false) => "FAIL",
        None => "",
    }
}

fn measure(m: &MetricEval) -> String {
    match (m.measure, &m.numeric) {
        ("within_tolerance", Some(n)) if n.tolerance > 0.0 => format!("within ±{}", n.tolerance),
        ("within_tolerance", _) => "exact".to_string(),
        (other, _) => other.replace('_', " "),
    }
}

fn threshold(m: &MetricEval) -> String {
    match (m.min_accuracy, m.threshold_from) {
        (Some(t), Some(from)) => format!("{} ({from})", pct(Some(t))),
        _ => String::new(),
    }
}

/// The line under a metric's name: its score in words, and for numbers the errors.
fn headline(m: &MetricEval) -> String {
    let mut line = format!(
        "{} {} ({} of {} right)",
        measure(m),
        pct(m.score),
        m.correct,
        m.labelled
    );
    if let Some(n) = &m.numeric {
        line.push_str(&format!(
            "; mean absolute error {}, mean error {} (answer − label) over {} calls with numbers",
            num(n.mean_absolute_error),
            n.mean_error.map_or("-".to_string(), |e| format!("{e:+.2}")),
            n.pairs
        ));
    }
    line
}

/// The confusion matrix with its title (for many classes, the most frequent confusions).
fn confusion_table(m: &MetricEval) -> Option<(String, Table)> {
    let c = m.confusion.as_ref()?;
    let (note, table) = matrix_or_pairs("label \\ answer", "label", "answer", &c.classes, &c.counts);
    let title = match note {
        None => "confusion (rows: label, columns: answer)".to_string(),
        Some(note) => format!("most frequent confusions ({note})"),
    };
    Some((title, table))
}

fn per_class(m: &MetricEval) -> Option<Table> {
    let confusion = m.confusion.as_ref()?;
    let mut table = Table::new(&["class", ">labelled", ">answered", ">precision", ">recall"]);
    for c in &confusion.per_class {
        if c.support == 0 && matches!(c.class.as_str(), "invalid" | "missing") {
            continue;
        }
        table.row(vec![
            c.class.clone(),
            c.support.to_string(),
            c.predicted.to_string(),
            pct(c.precision),
            pct(c.recall),
        ]);
    }
    Some(table)
}

fn calibration(buckets: &[Bucket]) -> Table {
    let mut table = Table::new(&["confidence", ">answers", ">mean confidence", ">accuracy"]);
    for b in buckets {
        table.row(vec![
            b.label(),
            b.count.to_string(),
            num(b.mean_confidence),
            pct(Some(b.accuracy)),
        ]);
    }
    table
}

fn misses(m: &MetricEval, detail: Detail) -> Option<(usize, Table)> {
    let shown = detail.shown(m.misses.len());
    if shown == 0 {
        return None;
    }
    let mut table = Table::new(&["call", "label", "answer", ">confidence", ">score"]);
    for miss in &m.misses[..shown] {
        table.row(vec![
            miss.call_id.clone(),
            shorten(&miss.label.display(), 50),
            shorten(&miss.answer.display(), 50),
            num(miss.confidence),
            format!("{:.2}", miss.score),
        ]);
    }
    Some((shown, table))
}

fn verdict(eval: &Eval) -> Vec<String> {
    let checked = eval
        .metrics
        .iter()
        .filter(|m| m.passed.is_some() || m.kappa_check.is_some())
        .count();
    let mut lines: Vec<String> = eval
        .metrics
        .iter()
        .filter(|m| m.passed == Some(false))
        .map(|m| {
            format!(
                "FAIL: {} {} {} is below the minimum {} ({})",
                m.id,
                measure(m),
                pct(m.score),
                pct(m.min_accuracy),
                m.threshold_from.unwrap_or("")
            )
        })
        .collect();
    lines.extend(
        eval.metrics
            .iter()
            .filter_map(|m| Some((m, m.kappa_check.as_ref().filter(|k| !k.passed)?)))
            .map(|(m, k)| kappa_failure(&m.id, k)),
    );
    if lines.is_empty() {
        lines.push(if checked == 0 {
            "no threshold set (expect.min_accuracy / expect.min_kappa in the metric file, or --min-accuracy / --min-kappa)"
                .to_string()
        } else {
            format!("ok: {checked} metric(s) at or above their minimum")
        });
    }
    lines
}

fn kappa_failure(id: &str, k: &KappaCheck) -> String {
    let name = k.statistic.label();
    match k.value {
        Some(value) => format!(
            "FAIL: {id} {name} {value:.2} is below the minimum {:.2} ({})",
            k.minimum, k.from
        ),
        None => format!(
            "FAIL: {id} {name} is {} — it cannot show the minimum {:.2} ({}) is met; check this metric with --min-accuracy instead",
            k.reason.unwrap_or("undefined"),
            k.minimum,
            k.from
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::MetricSet;
    use crate::answer::testing::*;
    use crate::compare::eval::{EvalOptions, eval};
    use crate::compare::labels::parse_csv;
    use crate::report::Value;

    fn sample() -> Eval {
        let report = report_of(
            vec![enum_metric("outcome", &["success", "failure"])],
            vec![
                call("c1", vec![("outcome", ok_conf(Value::Text("success".into()), 0.9))]),
                call("c2", vec![("outcome", ok_conf(Value::Text("success".into()), 0.95))]),
            ],
        );
        let rows = parse_csv(
            "call_id,outcome\nc1,success\nc2,failure\n",
            &MetricSet::of_report(&report),
        )
        .unwrap();
        let options = EvalOptions {
            expect: [("outcome".to_string(), 0.9)].into_iter().collect(),
            ..EvalOptions::default()
        };
        eval("report.json", &report, "labels.csv", &rows, &options)
    }

    #[test]
    fn text_shows_matrix_classes_calibration_and_verdict() {
        let out = render(&sample(), Format::Text, Detail::default());
        assert!(
            out.contains("outcome  enum  accuracy         2  50.0%        1        0        0  90.0% (expect)  FAIL\n"),
            "{out}"
        );
        assert!(out.contains("    label \\ answer  success  failure\n    --------------  -------  -------\n    success               1        .\n    failure               1        .\n"), "{out}");
        assert!(
            out.contains("    success         1         2      50.0%  100.0%\n"),
            "{out}"
        );
        assert!(
            out.contains("    0.9-1.0           2             0.93     50.0%\n"),
            "{out}"
        );
        assert!(out.contains("    c2    failure  success        0.95   0.00\n"), "{out}");
        assert!(
            out.ends_with("FAIL: outcome accuracy 50.0% is below the minimum 90.0% (expect)\n"),
            "{out}"
        );
    }

    #[test]
    fn text_and_markdown_show_the_same_sections_in_order() {
        crate::document::assert_same_outline(&document(&sample(), Detail::default()));
    }

    #[test]
    fn markdown_folds_details() {
        let out = render(&sample(), Format::Markdown, Detail::default());
        assert!(
            out.starts_with("### postcall eval — 1 metric(s) below the minimum\n\n| metric |"),
            "{out}"
        );
        assert!(
            out.contains("<details><summary><code>outcome</code>: accuracy 50.0% (1 of 2 right)</summary>"),
            "{out}"
        );
    }
}
