//! `eval`: how often the report agrees with hand labels, per metric.
//!
//! Labels are matched to report calls by `call_id`. Each labelled (call, metric) gets a
//! score in 0..=1 by the metric's type:
//!
//! | type | per call | headline |
//! | --- | --- | --- |
//! | enum, boolean | 1 if equal | accuracy, with a confusion matrix and per-class precision/recall |
//! | integer, number | 1 if within `--tolerance` (default 0) | within-tolerance rate, with mean absolute error |
//! | datetime | 1 if the same calendar date | same-date rate |
//! | string | 1 if equal after normalising case, whitespace, punctuation | exact-match rate |
//! | list | Jaccard of the two sets | mean Jaccard |
//!
//! `null` and `not_applicable` are values of their own on both sides (a `null` label
//! matched by a `null` answer is right); an `invalid` or missing answer is always wrong.
//! The headline is what `--min-accuracy` and a metric's `expect.min_accuracy` are checked
//! against; exactly at the threshold passes.
//!
//! Beside it, agreement beyond chance ([`agreement`](super::agreement): κ, AC1, α with
//! bootstrap intervals) for enum, boolean, integer and number metrics, checked against
//! `--min-kappa` / `expect.min_kappa` the same way; a κ that is undefined (every label and
//! answer the same value) fails its check, since nothing shows the model beats chance.
//! [`calibration`](super::calibration) shows whether the model's confidence predicts
//! being right.

use std::collections::HashMap;

use indexmap::IndexMap;
use serde::Serialize;

use crate::report::Report;
use crate::spec::MetricKind;

use super::agreement::bootstrap::Bootstrap;
use super::agreement::{Agreement, Stat, agreement};
use super::calibration::{Bucket, CalibrationError, buckets, calibration_error};
use super::labels::LabelRow;
use super::threshold::PerMetric;
use crate::answer::value::{DateRule, Shape, as_f64, item_set, jaccard, numbers_close, same_value, shape};
use crate::answer::{Answer, MetricSet, Origin, ratio};
use crate::answer::{category, order_categories};

#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    /// Absolute tolerance for integer and number metrics.
    pub tolerance: PerMetric,
    /// `--min-accuracy`: the default, and per-metric values that win over `expect`.
    pub min_accuracy: PerMetric,
    /// `expect.min_accuracy` from the metric definitions.
    pub expect: IndexMap<String, f64>,
    /// `--min-kappa`, like `min_accuracy`.
    pub min_kappa: PerMetric,
    /// `expect.min_kappa` from the metric definitions.
    pub expect_kappa: IndexMap<String, f64>,
    pub bootstrap: Bootstrap,
}

#[derive(Debug, Clone, Serialize)]
pub struct Eval {
    pub report: String,
    /// What the report's run header says about it.
    pub origin: Origin,
    pub labels: String,
    pub label_rows: usize,
    /// Label rows whose call is in the report.
    pub matched_calls: usize,
    pub labels_not_in_report: Vec<String>,
    pub report_calls_without_labels: usize,
    pub metrics: Vec<MetricEval>,
    /// Metrics of the report that no label row labels.
    pub unlabelled_metrics: Vec<String>,
    /// All labelled answers of all metrics, pooled.
    pub calibration: Vec<Bucket>,
    pub calibration_error: Option<CalibrationError>,
}

impl Eval {
    /// Metrics below their minimum accuracy or minimum κ.
    pub fn failures(&self) -> impl Iterator<Item = &MetricEval> {
        self.metrics.iter().filter(|m| m.failed())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricEval {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// What `score` measures: accuracy, within_tolerance, same_date, exact_match, mean_jaccard.
    pub measure: &'static str,
    /// Labelled calls that are in the report.
    pub labelled: usize,
    pub score: Option<f64>,
    /// Calls scored 1 (for lists: identical sets).
    pub correct: usize,
    pub invalid: usize,
    pub missing: usize,
    pub min_accuracy: Option<f64>,
    /// `expect` (the metric file) or `--min-accuracy`.
    pub threshold_from: Option<&'static str>,
    pub passed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confusion: Option<Confusion>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericErrors>,
    pub calibration: Vec<Bucket>,
    pub calibration_error: Option<CalibrationError>,
    /// Agreement beyond chance; absent for string, datetime and list metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agreement: Option<Agreement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kappa_check: Option<KappaCheck>,
    /// How the answers' quotes held up against the transcript; absent without evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<crate::answer::evidence::EvidenceTally>,
    /// Labelled calls not scored 1, in label-file order.
    pub misses: Vec<Miss>,
}

impl MetricEval {
    pub fn failed(&self) -> bool {
        self.passed == Some(false) || self.kappa_check.as_ref().is_some_and(|k| !k.passed)
    }
}

/// `--min-kappa` or `expect.min_kappa` applied to a metric's headline κ.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KappaCheck {
    pub minimum: f64,
    /// `expect` (the metric file) or `--min-kappa`.
    pub from: &'static str,
    pub statistic: Stat,
    /// `None` when κ is undefined; the check then fails, with `reason`.
    pub value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    pub passed: bool,
}

/// Label (rows) × answer (columns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Confusion {
    pub classes: Vec<String>,
    pub counts: Vec<Vec<usize>>,
    pub per_class: Vec<ClassStats>,
}

impl Confusion {
    #[cfg(test)]
    pub fn count(&self, label: &str, answer: &str) -> usize {
        let r = self.classes.iter().position(|c| c == label);
        let c = self.classes.iter().position(|c| c == answer);
        r.zip(c).map_or(0, |(r, c)| self.counts[r][c])
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassStats {
    pub class: String,
    /// Calls labelled with this class.
    pub support: usize,
    /// Calls the model answered with this class.
    pub predicted: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericErrors {
    pub tolerance: f64,
    /// Calls with a number on both sides.
    pub pairs: usize,
    pub mean_absolute_error: Option<f64>,
    /// mean(answer − label): positive when the model scores high.
    pub mean_error: Option<f64>,
    pub within_tolerance: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub call_id: String,
    pub label: Answer,
    pub answer: Answer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    pub score: f64,
}

pub fn eval(report_path: &str, report: &Report, labels_path: &str, rows: &[LabelRow], options: &EvalOptions) -> Eval {
    let metrics = MetricSet::of_report(report);
    let mut calls = HashMap::with_capacity(report.calls.len());
    for call in &report.calls {
        calls.entry(call.call_id.as_str()).or_insert(call);
    }
    let matched: Vec<(&LabelRow, &crate::report::CallResult)> = rows
        .iter()
        .filter_map(|row| calls.get(row.call_id.as_str()).map(|call| (row, *call)))
        .collect();
    let labels_not_in_report = rows
        .iter()
        .filter(|row| !calls.contains_key(row.call_id.as_str()))
        .map(|row| row.call_id.clone())
        .collect();
    let labelled_ids: std::collections::HashSet<&str> = rows.iter().map(|r| r.call_id.as_str()).collect();

    let mut results = Vec::new();
    let mut unlabelled_metrics = Vec::new();
    let mut pooled = Vec::new();
    for (id, kind) in &metrics.kinds {
        let scored: Vec<Scored> = matched
            .iter()
            .filter_map(|(row, call)| {
                let label = row.labels.get(id)?;
                let result = call.metrics.get(id);
                let answer = Answer::of(call, id);
                let tolerance = options.tolerance.for_metric(id).unwrap_or(0.0);
                Some(Scored {
                    call_id: &call.call_id,
                    score: score(kind, label, &answer, tolerance),
                    label: label.clone(),
                    answer,
                    confidence: result.and_then(|r| r.confidence()),
                })
            })
            .collect();
        if scored.is_empty() {
            unlabelled_metrics.push(id.clone());
            continue;
        }
        pooled.extend(scored.iter().map(|s| (s.confidence, s.score)));
        let mut result = eval_metric(id, kind, &scored, &metrics, options);
        // Over the labelled calls, like every other figure of the metric.
        result.evidence = crate::answer::evidence::EvidenceTally::of(
            id,
            matched
                .iter()
                .filter(|(row, _)| row.labels.contains_key(id))
                .map(|(_, call)| *call),
        );
        results.push(result);
    }
    Eval {
        report: report_path.to_string(),
        origin: Origin::of(report_path, report),
        labels: labels_path.to_string(),
        label_rows: rows.len(),
        matched_calls: matched.len(),
        labels_not_in_report,
        report_calls_without_labels: calls.keys().filter(|id| !labelled_ids.contains(*id)).count(),
        metrics: results,
        unlabelled_metrics,
        calibration_error: calibration_error(&pooled, &buckets(&pooled)),
        calibration: buckets(&pooled),
    }
}

struct Scored<'a> {
    call_id: &'a str,
    label: Answer,
    answer: Answer,
    confidence: Option<f64>,
    score: f64,
}

/// One labelled answer's score in 0..=1; see the module doc.
pub fn score(kind: &MetricKind, label: &Answer, answer: &Answer, tolerance: f64) -> f64 {
    let hit = |b: bool| if b { 1.0 } else { 0.0 };
    match (label, answer) {
        (_, Answer::Invalid | Answer::Missing) => 0.0,
        (Answer::Ok(l), Answer::Ok(a)) => match shape(kind) {
            Shape::Numeric => match (as_f64(l), as_f64(a)) {
                (Some(x), Some(y)) => hit(numbers_close(x, y, tolerance)),
                _ => hit(l == a),
            },
            Shape::Set => match (l, a) {
                (crate::report::Value::List(x), crate::report::Value::List(y)) => jaccard(&item_set(x), &item_set(y)),
                _ => hit(l == a),
            },
            _ => hit(same_value(kind, l, a, DateRule::SameDay)),
        },
        _ => hit(label.status_label() == answer.status_label()),
    }
}

fn eval_metric(
    id: &str,
    kind: &MetricKind,
    scored: &[Scored],
    metrics: &MetricSet,
    options: &EvalOptions,
) -> MetricEval {
    let total: f64 = scored.iter().map(|s| s.score).sum();
    let score = total / scored.len() as f64;
    let (min_accuracy, threshold_from) =
        threshold(id, &options.min_accuracy, &options.expect, "--min-accuracy").unzip();
    let shape = shape(kind);
    let choices: Vec<String> = metrics
        .definitions
        .get(id)
        .and_then(|m| m.kind.choices())
        .map(<[String]>::to_vec)
        .unwrap_or_default();
    let calibration_pairs: Vec<(Option<f64>, f64)> = scored.iter().map(|s| (s.confidence, s.score)).collect();
    let pairs: Vec<(&Answer, &Answer)> = scored.iter().map(|s| (&s.label, &s.answer)).collect();
    let agreement = agreement(kind, &choices, &pairs, options.bootstrap, id);
    MetricEval {
        id: id.to_string(),
        kind: kind.name(),
        measure: match shape {
            Shape::Categorical => "accuracy",
            Shape::Numeric => "within_tolerance",
            Shape::Date => "same_date",
            Shape::Text => "exact_match",
            Shape::Set => "mean_jaccard",
        },
        labelled: scored.len(),
        score: Some(score),
        correct: scored.iter().filter(|s| s.score >= 1.0).count(),
        invalid: scored.iter().filter(|s| s.answer == Answer::Invalid).count(),
        missing: scored.iter().filter(|s| s.answer == Answer::Missing).count(),
        min_accuracy,
        threshold_from,
        passed: min_accuracy.map(|t| score >= t - 1e-12),
        confusion: (shape == Shape::Categorical).then(|| confusion(scored, &choices)),
        numeric: (shape == Shape::Numeric).then(|| numeric_errors(scored, options.tolerance.for_metric(id))),
        calibration: buckets(&calibration_pairs),
        calibration_error: calibration_error(&calibration_pairs, &buckets(&calibration_pairs)),
        kappa_check: agreement.as_ref().and_then(|a| kappa_check(id, a, options)),
        agreement,
        evidence: None,
        misses: scored
            .iter()
            .filter(|s| s.score < 1.0)
            .map(|s| Miss {
                call_id: s.call_id.to_string(),
                label: s.label.clone(),
                answer: s.answer.clone(),
                confidence: s.confidence,
                score: s.score,
            })
            .collect(),
    }
}

/// The minimum for one metric and where it came from: `FLAG ID=` wins over `expect`, which
/// wins over a bare `FLAG`.
fn threshold(
    id: &str,
    flag: &PerMetric,
    expect: &IndexMap<String, f64>,
    name: &'static str,
) -> Option<(f64, &'static str)> {
    match (flag.by_metric.get(id), expect.get(id)) {
        (Some(v), _) => Some((*v, name)),
        (None, Some(v)) => Some((*v, "expect")),
        (None, None) => flag.default.map(|v| (v, name)),
    }
}

/// The κ check of a metric that has a κ and a minimum.
fn kappa_check(id: &str, agreement: &Agreement, options: &EvalOptions) -> Option<KappaCheck> {
    let statistic = agreement.headline?;
    let (minimum, from) = threshold(id, &options.min_kappa, &options.expect_kappa, "--min-kappa")?;
    let estimate = agreement.get(statistic)?;
    let value = estimate.value();
    Some(KappaCheck {
        minimum,
        from,
        statistic,
        value,
        reason: match estimate {
            super::agreement::Estimate::Undefined { reason, .. } => Some(reason),
            super::agreement::Estimate::Value { .. } => None,
        },
        passed: value.is_some_and(|v| v >= minimum - 1e-12),
    })
}

fn confusion(scored: &[Scored], choices: &[String]) -> Confusion {
    let seen = scored.iter().flat_map(|s| [category(&s.label), category(&s.answer)]);
    let classes = order_categories(seen, choices);
    let index = |a: &Answer| classes.iter().position(|c| *c == category(a)).unwrap_or(0);
    let mut counts = vec![vec![0usize; classes.len()]; classes.len()];
    for s in scored {
        counts[index(&s.label)][index(&s.answer)] += 1;
    }
    let per_class = classes
        .iter()
        .enumerate()
        .map(|(i, class)| {
            let support: usize = counts[i].iter().sum();
            let predicted: usize = counts.iter().map(|row| row[i]).sum();
            ClassStats {
                class: class.clone(),
                support,
                predicted,
                precision: ratio(counts[i][i], predicted),
                recall: ratio(counts[i][i], support),
            }
        })
        .collect();
    Confusion {
        classes,
        counts,
        per_class,
    }
}

fn numeric_errors(scored: &[Scored], tolerance: Option<f64>) -> NumericErrors {
    let errors: Vec<f64> = scored
        .iter()
        .filter_map(|s| Some(as_f64(s.answer.value()?)? - as_f64(s.label.value()?)?))
        .collect();
    let n = errors.len() as f64;
    NumericErrors {
        tolerance: tolerance.unwrap_or(0.0),
        pairs: errors.len(),
        mean_absolute_error: (!errors.is_empty()).then(|| errors.iter().map(|e| e.abs()).sum::<f64>() / n),
        mean_error: (!errors.is_empty()).then(|| errors.iter().sum::<f64>() / n),
        within_tolerance: scored.iter().filter(|s| s.score >= 1.0).count(),
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
