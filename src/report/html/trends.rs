//! Trends over time: how many calls each day (or week), and how each enum and boolean
//! metric's answers and each number's mean moved, by the date the calls started; with
//! `--by METRIC`, the same for each group of calls that metric's answer makes (the groups
//! of `stats --by`), on the same buckets and with the same categories, so a group's
//! counts add up to the whole's.
//!
//! The date comes from the call's metadata (`call.started_at`); calls without one are
//! counted as undated. A span of more than 90 days is bucketed by week (starting Monday),
//! so a year of calls is 52 bars rather than 365.

use std::collections::BTreeMap;

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::answer::value::{Shape, as_f64, shape};
use crate::answer::{Answer, MetricSet, order_categories};
use crate::report::CallResult;

/// Days spanned past which buckets are weeks.
const WEEKLY_AFTER_DAYS: i32 = 90;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Trends {
    /// `day` or `week`.
    pub unit: &'static str,
    /// Each bucket's first day, `YYYY-MM-DD`, in order.
    pub buckets: Vec<String>,
    /// Calls without a start time.
    pub undated: usize,
    /// Every call's.
    #[serde(flatten)]
    pub all: Series,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<SplitTrends>,
}

/// Counts per bucket of one set of calls.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Series {
    pub calls: Vec<usize>,
    pub metrics: Vec<MetricTrend>,
}

/// `--by METRIC`: a series per answer of `by` (every metric but `by` itself).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SplitTrends {
    pub by: String,
    pub groups: Vec<String>,
    /// One per group, in `groups` order.
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "shape", rename_all = "snake_case")]
pub(crate) enum MetricTrend {
    /// Per bucket, a count per category (in `categories` order).
    Categories {
        id: String,
        categories: Vec<String>,
        counts: Vec<Vec<usize>>,
    },
    /// Per bucket, the mean of the values (null when the bucket has none).
    Mean { id: String, means: Vec<Option<f64>> },
}

/// What is counted of a metric: its categories (of every call, so groups share them), or
/// its mean.
enum Measure<'a> {
    Categories(&'a str, Vec<String>),
    Mean(&'a str),
}

/// `None` when no call has a date: the page then says where dates come from. `by` is a
/// metric of the report (checked by the caller, as `stats` checks it).
pub(crate) fn trends(calls: &[CallResult], metrics: &MetricSet, by: Option<&str>) -> Option<Trends> {
    let dates: Vec<Option<Date>> = calls.iter().map(start_date).collect();
    let first = dates.iter().flatten().min()?;
    let last = dates.iter().flatten().max()?;
    let weekly = first.until(*last).is_ok_and(|span| span.get_days() > WEEKLY_AFTER_DAYS);
    let bucket_of = |date: Date| if weekly { week_start(date) } else { date };
    let mut index: BTreeMap<Date, usize> = dates.iter().flatten().map(|d| (bucket_of(*d), 0)).collect();
    for (i, slot) in index.values_mut().enumerate() {
        *slot = i;
    }
    let bucket: Vec<Option<usize>> = dates.iter().map(|d| d.map(|d| index[&bucket_of(d)])).collect();
    let measures: Vec<Measure<'_>> = metrics
        .kinds
        .iter()
        .filter_map(|(id, kind)| match shape(kind) {
            Shape::Categorical => Some(Measure::Categories(id, categories_of(id, calls, metrics))),
            Shape::Numeric => Some(Measure::Mean(id)),
            _ => None,
        })
        .collect();
    let n = index.len();
    let members: Vec<(&CallResult, Option<usize>)> = calls.iter().zip(bucket).collect();
    let all = series(&members, &measures.iter().collect::<Vec<_>>(), n);
    let by = by.map(|by| {
        let groups = categories_of(by, calls, metrics);
        let rest: Vec<&Measure<'_>> = measures.iter().filter(|m| m.id() != by).collect();
        let series = groups
            .iter()
            .map(|group| {
                let members: Vec<_> = members
                    .iter()
                    .copied()
                    .filter(|(call, _)| Answer::of(call, by).display() == *group)
                    .collect();
                series(&members, &rest, n)
            })
            .collect();
        SplitTrends {
            by: by.to_string(),
            groups,
            series,
        }
    });
    Some(Trends {
        unit: if weekly { "week" } else { "day" },
        buckets: index.keys().map(|d| d.to_string()).collect(),
        undated: dates.iter().filter(|d| d.is_none()).count(),
        all,
        by,
    })
}

impl Measure<'_> {
    fn id(&self) -> &str {
        match self {
            Measure::Categories(id, _) | Measure::Mean(id) => id,
        }
    }
}

fn start_date(call: &CallResult) -> Option<Date> {
    let started = call.call.as_ref()?.started_at?;
    Some(started.to_zoned(TimeZone::UTC).date())
}

fn week_start(date: Date) -> Date {
    let back = i64::from(date.weekday().since(Weekday::Monday));
    date.checked_sub(jiff::Span::new().days(back)).unwrap_or(date)
}

/// The answers of `id` as categories, choices first then statuses (as `stats` orders them).
fn categories_of(id: &str, calls: &[CallResult], metrics: &MetricSet) -> Vec<String> {
    let choices = metrics
        .definitions
        .get(id)
        .and_then(|m| m.kind.choices())
        .unwrap_or_default();
    order_categories(calls.iter().map(|call| Answer::of(call, id).display()), choices)
}

fn series(members: &[(&CallResult, Option<usize>)], measures: &[&Measure<'_>], n: usize) -> Series {
    let mut calls = vec![0; n];
    for b in members.iter().filter_map(|m| m.1) {
        calls[b] += 1;
    }
    let metrics = measures
        .iter()
        .map(|measure| match measure {
            Measure::Categories(id, categories) => counts(id, categories, members, n),
            Measure::Mean(id) => means(id, members, n),
        })
        .collect();
    Series { calls, metrics }
}

fn counts(id: &str, categories: &[String], members: &[(&CallResult, Option<usize>)], n: usize) -> MetricTrend {
    let mut counts = vec![vec![0; categories.len()]; n];
    for (call, b) in members {
        let category = Answer::of(call, id).display();
        let (Some(b), Some(c)) = (b, categories.iter().position(|c| *c == category)) else {
            continue;
        };
        counts[*b][c] += 1;
    }
    MetricTrend::Categories {
        id: id.to_string(),
        categories: categories.to_vec(),
        counts,
    }
}

fn means(id: &str, members: &[(&CallResult, Option<usize>)], n: usize) -> MetricTrend {
    let mut sums = vec![(0.0, 0usize); n];
    for (call, b) in members {
        let value = Answer::of(call, id).value().and_then(as_f64);
        if let (Some(b), Some(value)) = (b, value) {
            sums[*b].0 += value;
            sums[*b].1 += 1;
        }
    }
    MetricTrend::Mean {
        id: id.to_string(),
        means: sums
            .into_iter()
            .map(|(sum, n)| (n > 0).then(|| sum / n as f64))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;
    use crate::transcript::CallBlock;

    fn dated(id: &str, when: &str, outcome: &str) -> CallResult {
        let mut c = call(id, vec![("outcome", ok_text(outcome))]);
        c.call = Some(CallBlock {
            started_at: Some(when.parse().unwrap()),
            ..CallBlock::default()
        });
        c
    }

    #[test]
    fn calls_are_counted_per_day_with_each_choice() {
        let report = report_of(
            vec![enum_metric("outcome", &["resolved", "escalated"])],
            vec![
                dated("a", "2026-03-02T10:00:00Z", "resolved"),
                dated("b", "2026-03-02T23:59:00Z", "escalated"),
                dated("c", "2026-03-04T08:00:00Z", "resolved"),
                call("d", vec![("outcome", ok_text("resolved"))]),
            ],
        );
        let trends = trends(&report.calls, &MetricSet::of_report(&report), None).unwrap();
        assert_eq!(trends.unit, "day");
        assert_eq!(trends.buckets, ["2026-03-02", "2026-03-04"]);
        assert_eq!(trends.all.calls, [2, 1]);
        assert_eq!(trends.undated, 1);
        let MetricTrend::Categories { categories, counts, .. } = &trends.all.metrics[0] else {
            panic!("{:?}", trends.all.metrics[0]);
        };
        assert_eq!(categories, &["resolved", "escalated"]);
        assert_eq!(counts, &[vec![1, 1], vec![1, 0]]);
    }

    #[test]
    fn a_long_span_is_bucketed_by_week_from_monday() {
        let report = report_of(
            vec![enum_metric("outcome", &["resolved"])],
            vec![
                dated("a", "2026-01-07T10:00:00Z", "resolved"),
                dated("b", "2026-01-08T10:00:00Z", "resolved"),
                dated("c", "2026-06-01T10:00:00Z", "resolved"),
            ],
        );
        let trends = trends(&report.calls, &MetricSet::of_report(&report), None).unwrap();
        assert_eq!(trends.unit, "week");
        // 2026-01-07 is a Wednesday; its week starts on Monday the 5th.
        assert_eq!(trends.buckets, ["2026-01-05", "2026-06-01"]);
        assert_eq!(trends.all.calls, [2, 1]);
    }

    #[test]
    fn no_dates_no_trends() {
        let report = report_of(vec![], vec![call("a", vec![])]);
        assert_eq!(trends(&report.calls, &MetricSet::of_report(&report), None), None);
    }

    #[test]
    fn by_a_metric_each_group_counts_its_own_calls_on_the_same_buckets() {
        let mut calls = vec![
            dated("a", "2026-03-02T10:00:00Z", "resolved"),
            dated("b", "2026-03-02T11:00:00Z", "escalated"),
            dated("c", "2026-03-04T08:00:00Z", "resolved"),
        ];
        for (c, score) in calls.iter_mut().zip([4, 2, 5]) {
            c.metrics.insert("score".into(), ok(crate::report::Value::Int(score)));
        }
        let report = report_of(
            vec![
                enum_metric("outcome", &["resolved", "escalated"]),
                metric("score", crate::spec::MetricKind::Integer { range: None }),
            ],
            calls,
        );
        let trends = trends(&report.calls, &MetricSet::of_report(&report), Some("outcome")).unwrap();
        let by = trends.by.unwrap();
        assert_eq!(by.groups, ["resolved", "escalated"]);
        assert_eq!(by.series[0].calls, [1, 1]);
        assert_eq!(by.series[1].calls, [1, 0]);
        // The split metric itself is not split again; the others are, per group.
        assert_eq!(
            by.series[0].metrics,
            [MetricTrend::Mean {
                id: "score".into(),
                means: vec![Some(4.0), Some(5.0)]
            }]
        );
        assert_eq!(
            by.series[1].metrics,
            [MetricTrend::Mean {
                id: "score".into(),
                means: vec![Some(2.0), None]
            }]
        );
    }
}
