//! `stats`: what a report says, metric by metric, without asking the model again.
//!
//! Per metric: how many answers are values, null, not applicable, invalid or missing; the
//! mean confidence; and the distribution of values by type — counts per choice (every
//! choice, even unused ones, so "nobody was ever `transferred`" is visible), a histogram and
//! mean/median for numbers, the most frequent texts, dates or list items. `--by METRIC`
//! splits every other metric by the values of one enum or boolean metric. Where the report
//! has evidence, how many of a metric's quotes were found in the transcript and how many
//! values were flagged for it. Where the report has consistency (`run --samples K`), the
//! mean share of samples that agreed, and which metrics are flaky (below `--flaky-below`).

use std::collections::HashMap;

use anyhow::bail;
use serde::Serialize;

use crate::report::{CallResult, Report, Value};
use crate::spec::MetricKind;

use crate::answer::order_categories;
use crate::answer::value::{Shape, as_f64, date_of, shape};
use crate::answer::{Answer, MetricSet, Origin};

pub mod consistency;
pub mod render;

/// How many of the most frequent texts, dates or list items are kept.
pub const TOP: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub report: String,
    /// What the report's run header says about it.
    pub origin: Origin,
    pub calls: usize,
    pub metrics: Vec<MetricStats>,
    /// The mean consistency under which a metric is flaky (`--flaky-below`).
    pub flaky_below: f64,
    /// The metrics whose mean consistency is below it, in report order; empty when none
    /// is, or the report has no consistency.
    pub flaky: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Crosstab>,
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricStats {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub ok: usize,
    pub null: usize,
    pub not_applicable: usize,
    pub invalid: usize,
    pub missing: usize,
    pub mean_confidence: Option<f64>,
    /// How the metric's quotes held up; absent when it has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<crate::answer::evidence::EvidenceTally>,
    /// How often its samples agreed (`run --samples K`); absent when no value says.
    /// Only for the whole report, not for `--by` groups.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub consistency: Option<consistency::ConsistencyTally>,
    pub distribution: Distribution,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Count {
    pub value: String,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub enum Distribution {
    /// enum and boolean: a count per value, defined choices first.
    Categories { counts: Vec<Count> },
    /// integer and number.
    Numbers {
        mean: Option<f64>,
        median: Option<f64>,
        min: Option<f64>,
        max: Option<f64>,
        histogram: Vec<Count>,
    },
    /// string, datetime (by date), list (by item): the most frequent, and how many distinct.
    Top { distinct: usize, top: Vec<Count> },
}

/// Every other metric split by the values of `by`.
#[derive(Debug, Clone, Serialize)]
pub struct Crosstab {
    pub by: String,
    pub groups: Vec<String>,
    pub group_sizes: Vec<usize>,
    pub metrics: Vec<CrossMetric>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CrossMetric {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// One entry per group, in `groups` order.
    pub groups: Vec<MetricStats>,
}

pub fn stats(report_path: &str, report: &Report, by: Option<&str>, flaky_below: f64) -> anyhow::Result<Stats> {
    let metrics = MetricSet::of_report(report);
    let all: Vec<&CallResult> = report.calls.iter().collect();
    let asked = report.header.as_ref().map(|h| h.samples);
    let per_metric: Vec<MetricStats> = metrics
        .kinds
        .iter()
        .map(|(id, kind)| MetricStats {
            consistency: consistency::ConsistencyTally::of(id, all.iter().copied(), asked, flaky_below),
            ..metric_stats(id, kind, &metrics, &all)
        })
        .collect();
    let flaky = per_metric
        .iter()
        .filter(|m| m.consistency.as_ref().is_some_and(|c| c.flaky))
        .map(|m| m.id.clone())
        .collect();
    let by = match by {
        Some(id) => Some(crosstab(id, &metrics, &all)?),
        None => None,
    };
    Ok(Stats {
        report: report_path.to_string(),
        origin: Origin::of(report_path, report),
        calls: report.calls.len(),
        metrics: per_metric,
        flaky_below,
        flaky,
        by,
    })
}

fn crosstab(by: &str, metrics: &MetricSet, calls: &[&CallResult]) -> anyhow::Result<Crosstab> {
    let Some(kind) = metrics.kinds.get(by) else {
        bail!(
            "--by {by}: no metric `{by}` in the report; its metrics are: {}",
            metrics.id_list()
        );
    };
    if shape(kind) != Shape::Categorical {
        bail!(
            "--by {by}: `{by}` has type {}; split by an enum or boolean metric ({})",
            kind.name(),
            categorical_ids(metrics)
        );
    }
    let category = |call: &CallResult| Answer::of(call, by).display();
    let groups = order_categories(calls.iter().map(|c| category(c)), choices(metrics, by));
    let mut members: Vec<Vec<&CallResult>> = vec![Vec::new(); groups.len()];
    for call in calls {
        let group = category(call);
        if let Some(i) = groups.iter().position(|g| *g == group) {
            members[i].push(call);
        }
    }
    let cross = metrics
        .kinds
        .iter()
        .filter(|(id, _)| id.as_str() != by)
        .map(|(id, kind)| CrossMetric {
            id: id.clone(),
            kind: kind.name(),
            groups: members.iter().map(|m| metric_stats(id, kind, metrics, m)).collect(),
        })
        .collect();
    Ok(Crosstab {
        by: by.to_string(),
        group_sizes: members.iter().map(Vec::len).collect(),
        groups,
        metrics: cross,
    })
}

fn categorical_ids(metrics: &MetricSet) -> String {
    let ids: Vec<&str> = metrics
        .kinds
        .iter()
        .filter(|(_, k)| shape(k) == Shape::Categorical)
        .map(|(id, _)| id.as_str())
        .collect();
    if ids.is_empty() {
        "the report has none".to_string()
    } else {
        ids.join(", ")
    }
}

fn choices<'a>(metrics: &'a MetricSet, id: &str) -> &'a [String] {
    metrics
        .definitions
        .get(id)
        .and_then(|m| m.kind.choices())
        .unwrap_or(&[])
}

pub fn metric_stats(id: &str, kind: &MetricKind, metrics: &MetricSet, calls: &[&CallResult]) -> MetricStats {
    let mut stats = MetricStats {
        id: id.to_string(),
        kind: kind.name(),
        ok: 0,
        null: 0,
        not_applicable: 0,
        invalid: 0,
        missing: 0,
        mean_confidence: None,
        evidence: crate::answer::evidence::EvidenceTally::of(id, calls.iter().copied()),
        consistency: None,
        distribution: Distribution::Top {
            distinct: 0,
            top: Vec::new(),
        },
    };
    let mut values = Vec::new();
    let mut confidences = Vec::new();
    for call in calls {
        if let Some(c) = call.metrics.get(id).and_then(|r| r.confidence()) {
            confidences.push(c);
        }
        match Answer::of(call, id) {
            Answer::Ok(value) => {
                stats.ok += 1;
                values.push(value);
            }
            Answer::Null => stats.null += 1,
            Answer::NotApplicable => stats.not_applicable += 1,
            Answer::Invalid => stats.invalid += 1,
            Answer::Missing => stats.missing += 1,
        }
    }
    stats.mean_confidence = mean(&confidences);
    stats.distribution = match shape(kind) {
        Shape::Categorical => categories(kind, &values, choices(metrics, id)),
        Shape::Numeric => numbers(kind, &values),
        Shape::Text => top(values.iter().map(Value::display)),
        Shape::Date => top(values.iter().map(|v| {
            let text = v.display();
            date_of(&text).map_or(text, |d| d.to_string())
        })),
        Shape::Set => top(values.iter().flat_map(|v| match v {
            Value::List(items) => items.clone(),
            other => vec![other.display()],
        })),
    };
    stats
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

fn categories(kind: &MetricKind, values: &[Value], choices: &[String]) -> Distribution {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for v in values {
        *counts.entry(v.display()).or_default() += 1;
    }
    // Every defined choice is listed, used or not; booleans always show true and false.
    let mut order: Vec<String> = match kind {
        MetricKind::Boolean => vec!["true".into(), "false".into()],
        _ => choices.to_vec(),
    };
    let mut others: Vec<&String> = counts.keys().filter(|k| !order.contains(k)).collect();
    others.sort();
    order.extend(others.into_iter().cloned());
    Distribution::Categories {
        counts: order
            .into_iter()
            .map(|value| Count {
                count: counts.get(&value).copied().unwrap_or(0),
                value,
            })
            .collect(),
    }
}

fn numbers(kind: &MetricKind, values: &[Value]) -> Distribution {
    let mut numbers: Vec<f64> = values.iter().filter_map(as_f64).collect();
    numbers.sort_by(f64::total_cmp);
    let median = match numbers.len() {
        0 => None,
        n if n % 2 == 1 => Some(numbers[n / 2]),
        n => Some((numbers[n / 2 - 1] + numbers[n / 2]) / 2.0),
    };
    Distribution::Numbers {
        mean: mean(&numbers),
        median,
        min: numbers.first().copied(),
        max: numbers.last().copied(),
        histogram: histogram(kind, &numbers),
    }
}

/// One bin per whole number when an integer metric spans at most 20 values (its declared
/// range if it has one, so empty scores show as 0), else ten equal bins.
fn histogram(kind: &MetricKind, sorted: &[f64]) -> Vec<Count> {
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    if let MetricKind::Integer { range } = kind {
        let (lo, hi) = match range {
            Some([lo, hi]) if (*lo as f64) <= min && max <= (*hi as f64) => (*lo, *hi),
            _ => (min as i64, max as i64),
        };
        if hi - lo < 20 {
            return (lo..=hi)
                .map(|v| Count {
                    value: v.to_string(),
                    count: sorted.iter().filter(|x| **x == v as f64).count(),
                })
                .collect();
        }
    }
    if min == max {
        return vec![Count {
            value: format_number(min),
            count: sorted.len(),
        }];
    }
    let width = (max - min) / 10.0;
    let mut bins = vec![0usize; 10];
    for x in sorted {
        let i = (((x - min) / width) as usize).min(9);
        bins[i] += 1;
    }
    bins.into_iter()
        .enumerate()
        .map(|(i, count)| {
            let lo = min + width * i as f64;
            Count {
                value: format!("{}-{}", format_number(lo), format_number(lo + width)),
                count,
            }
        })
        .collect()
}

/// A number in at most three decimals, without trailing zeros.
pub fn format_number(x: f64) -> String {
    let text = format!("{x:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" { "0".into() } else { text.into() }
}

fn top(items: impl Iterator<Item = String>) -> Distribution {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for item in items {
        *counts.entry(item).or_default() += 1;
    }
    let distinct = counts.len();
    let mut sorted: Vec<Count> = counts
        .into_iter()
        .map(|(value, count)| Count { value, count })
        .collect();
    sorted.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    sorted.truncate(TOP);
    Distribution::Top { distinct, top: sorted }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;

    fn sample() -> Report {
        let outcomes = ["resolved", "resolved", "escalated", "resolved"];
        let scores = [5, 4, 1, 4];
        let mut calls: Vec<CallResult> = (0..4)
            .map(|i| {
                call(
                    &format!("c{i}"),
                    vec![
                        (
                            "outcome",
                            ok_conf(Value::Text(outcomes[i].into()), 0.5 + 0.1 * i as f64),
                        ),
                        ("score", ok(Value::Int(scores[i]))),
                        ("follow_up", ok(Value::Bool(i.is_multiple_of(2)))),
                        ("issues", ok(list(&["refund", ["late", "billing"][i % 2]]))),
                        ("name", ok_text(["Ann", "Bo"][i % 2])),
                    ],
                )
            })
            .collect();
        calls.push(call(
            "c4",
            vec![
                ("outcome", invalid()),
                ("score", null()),
                ("follow_up", not_applicable()),
            ],
        ));
        report_of(
            vec![
                enum_metric("outcome", &["resolved", "escalated", "transferred"]),
                metric("score", MetricKind::Integer { range: Some([1, 5]) }),
                metric("follow_up", MetricKind::Boolean),
                metric("issues", MetricKind::List { choices: None }),
                metric("name", MetricKind::String),
            ],
            calls,
        )
    }

    fn of<'a>(stats: &'a Stats, id: &str) -> &'a MetricStats {
        stats.metrics.iter().find(|m| m.id == id).unwrap()
    }

    fn counts(d: &Distribution) -> Vec<(String, usize)> {
        match d {
            Distribution::Categories { counts } => counts.iter().map(|c| (c.value.clone(), c.count)).collect(),
            Distribution::Numbers { histogram, .. } => histogram.iter().map(|c| (c.value.clone(), c.count)).collect(),
            Distribution::Top { top, .. } => top.iter().map(|c| (c.value.clone(), c.count)).collect(),
        }
    }

    fn pairs(items: &[(&str, usize)]) -> Vec<(String, usize)> {
        items.iter().map(|(v, c)| (v.to_string(), *c)).collect()
    }

    #[test]
    fn enum_counts_list_every_choice_and_statuses() {
        let s = stats("r", &sample(), None, 0.8).unwrap();
        let outcome = of(&s, "outcome");
        assert_eq!((outcome.ok, outcome.invalid, outcome.missing), (4, 1, 0));
        assert_eq!(
            counts(&outcome.distribution),
            pairs(&[("resolved", 3), ("escalated", 1), ("transferred", 0)])
        );
        assert!((outcome.mean_confidence.unwrap() - 0.65).abs() < 1e-9);
        let follow = of(&s, "follow_up");
        assert_eq!(counts(&follow.distribution), pairs(&[("true", 2), ("false", 2)]));
        assert_eq!(follow.not_applicable, 1);
    }

    #[test]
    fn numbers_get_a_histogram_over_the_declared_range() {
        let s = stats("r", &sample(), None, 0.8).unwrap();
        let score = of(&s, "score");
        assert_eq!(score.null, 1);
        assert_eq!(
            counts(&score.distribution),
            pairs(&[("1", 1), ("2", 0), ("3", 0), ("4", 2), ("5", 1)])
        );
        let Distribution::Numbers { mean, median, .. } = &score.distribution else {
            panic!()
        };
        assert_eq!((*mean, *median), (Some(3.5), Some(4.0)));
    }

    #[test]
    fn wide_numbers_get_ten_bins() {
        let values: Vec<Value> = (0..=100).map(|i| Value::Number(i as f64)).collect();
        let Distribution::Numbers { histogram, .. } = numbers(&MetricKind::Number { range: None }, &values) else {
            panic!()
        };
        assert_eq!(histogram.len(), 10);
        assert_eq!(histogram[0].value, "0-10");
        assert_eq!(histogram.iter().map(|c| c.count).sum::<usize>(), 101);
        assert_eq!(histogram[9].count, 11);
    }

    #[test]
    fn lists_and_texts_show_the_most_frequent() {
        let s = stats("r", &sample(), None, 0.8).unwrap();
        assert_eq!(
            counts(&of(&s, "issues").distribution),
            pairs(&[("refund", 4), ("billing", 2), ("late", 2)])
        );
        assert_eq!(counts(&of(&s, "name").distribution), pairs(&[("Ann", 2), ("Bo", 2)]));
    }

    #[test]
    fn by_splits_every_other_metric_by_one_enum() {
        let s = stats("r", &sample(), Some("outcome"), 0.8).unwrap();
        let by = s.by.unwrap();
        assert_eq!(by.groups, ["resolved", "escalated", "invalid"]);
        assert_eq!(by.group_sizes, [3, 1, 1]);
        let follow = by.metrics.iter().find(|m| m.id == "follow_up").unwrap();
        // resolved: c0 true, c1 false, c3 false.
        assert_eq!(
            counts(&follow.groups[0].distribution),
            pairs(&[("true", 1), ("false", 2)])
        );
        assert_eq!(follow.groups[2].not_applicable, 1);
    }

    #[test]
    fn by_needs_an_enum_or_boolean_metric() {
        let err = stats("r", &sample(), Some("score"), 0.8).unwrap_err().to_string();
        assert!(
            err.contains("`score` has type integer; split by an enum or boolean metric"),
            "{err}"
        );
        assert!(err.contains("outcome, follow_up"), "{err}");
        let err = stats("r", &sample(), Some("nope"), 0.8).unwrap_err().to_string();
        assert!(err.contains("no metric `nope`"), "{err}");
    }
}
