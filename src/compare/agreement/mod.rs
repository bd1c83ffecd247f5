//! Agreement beyond chance between two raters of the same calls: hand labels and the model
//! (`eval`), or two runs of the same model (`diff`, as test–retest reliability).
//!
//! Raw agreement rewards a model that always answers the majority class; these
//! coefficients subtract what chance would give. Which ones a metric gets depends on its
//! type:
//!
//! | type | statistics | headline (`--min-kappa`) |
//! | --- | --- | --- |
//! | enum, boolean | Cohen's κ, Gwet's AC1, Krippendorff's α (nominal); prevalence and bias indices | κ |
//! | integer | quadratic and linear weighted κ, κ, AC1, α (ordinal and interval) | quadratic weighted κ |
//! | number | α (interval) | none: κ needs categories |
//! | string, datetime, list | none: their match rate is the measure | |
//!
//! Quadratic weights are the integer headline because a 1–5 score that is one point off
//! is nearly right and three points off is badly wrong, and quadratic-weighted κ is the
//! convention for graded scores (it equals the intraclass correlation for large samples,
//! Fleiss & Cohen 1973); linear κ is shown beside it.
//!
//! **How answers that are not values enter.** In the tables κ, AC1 and nominal α are
//! computed from, `null` and `not_applicable` are categories of their own on both sides
//! (a `null` label matched by a `null` answer is agreement), and an `invalid` or `missing`
//! answer is a category no label ever has, so it always counts as disagreement — the same
//! rule as accuracy, so κ's observed agreement *is* the accuracy of an enum or boolean
//! metric. The weighted κ and ordinal / interval α need numbers to measure distances, so
//! they use only the calls with a number on both sides, and say how many that was.
//! AC1 counts as possible categories the metric's choices (or its integer range) plus the
//! statuses that occur.
//!
//! Every coefficient comes with a percentile bootstrap 95 % interval (see [`bootstrap`]).
//! A coefficient that cannot be computed is reported as undefined, with the reason.

pub mod bootstrap;
pub mod coefficients;
pub mod table;

use indexmap::IndexMap;
use serde::Serialize;

use crate::answer::value::as_f64;
use crate::answer::{Answer, category, order_categories};
use crate::spec::MetricKind;

use bootstrap::{Bootstrap, Interval, intervals};
use coefficients::{Coefficient, Indices, Level, Undefined, Weights};
use table::Table;

/// One coefficient a metric can report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    Kappa,
    KappaQuadratic,
    KappaLinear,
    Ac1,
    AlphaNominal,
    AlphaOrdinal,
    AlphaInterval,
}

impl Stat {
    pub fn label(self) -> &'static str {
        match self {
            Stat::Kappa => "κ",
            Stat::KappaQuadratic => "κ quadratic",
            Stat::KappaLinear => "κ linear",
            Stat::Ac1 => "AC1",
            Stat::AlphaNominal => "α nominal",
            Stat::AlphaOrdinal => "α ordinal",
            Stat::AlphaInterval => "α interval",
        }
    }
}

/// A coefficient's value with its interval, or why it has none.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Estimate {
    Value {
        value: f64,
        /// Calls it was computed over.
        calls: usize,
        ci95: Option<Interval>,
    },
    Undefined {
        undefined: Undefined,
        reason: &'static str,
        calls: usize,
    },
}

impl Estimate {
    fn new(coefficient: Coefficient, calls: usize, ci95: Option<Interval>) -> Estimate {
        match coefficient {
            Ok(value) => Estimate::Value { value, calls, ci95 },
            Err(undefined) => Estimate::Undefined {
                undefined,
                reason: undefined.reason(),
                calls,
            },
        }
    }

    pub fn value(&self) -> Option<f64> {
        match self {
            Estimate::Value { value, .. } => Some(*value),
            Estimate::Undefined { .. } => None,
        }
    }
}

/// The agreement statistics of one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agreement {
    /// What `--min-kappa` checks; `None` for a metric without κ (a number).
    pub headline: Option<Stat>,
    /// The α at the metric's level of measurement, shown beside the headline.
    pub alpha: Stat,
    /// Calls compared (every status included).
    pub calls: usize,
    /// Calls with a number on both sides, for integer and number metrics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric_calls: Option<usize>,
    pub statistics: IndexMap<Stat, Estimate>,
    /// Over the table κ is computed from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indices: Option<Indices>,
    pub bootstrap: Bootstrap,
}

impl Agreement {
    pub fn get(&self, stat: Stat) -> Option<&Estimate> {
        self.statistics.get(&stat)
    }

    /// The headline estimate, if the metric has one.
    pub fn headline_estimate(&self) -> Option<&Estimate> {
        self.headline.and_then(|s| self.get(s))
    }
}

/// Whether a metric of this type has a κ that `--min-kappa` can check.
pub fn has_kappa(kind: &MetricKind) -> bool {
    matches!(
        kind,
        MetricKind::Enum { .. } | MetricKind::Boolean | MetricKind::Integer { .. }
    )
}

/// The statistics of one metric from (first rater, second rater) answer pairs; `None` for
/// a metric type without them. `salt` (the metric id) keeps each metric's bootstrap stream
/// its own.
pub fn agreement(
    kind: &MetricKind,
    choices: &[String],
    pairs: &[(&Answer, &Answer)],
    bootstrap: Bootstrap,
    salt: &str,
) -> Option<Agreement> {
    let mut statistics = IndexMap::new();
    let (headline, alpha, indices, numeric_calls) = match kind {
        MetricKind::Enum { .. } | MetricKind::Boolean => {
            let nominal = NominalTable::new(kind, choices, pairs);
            nominal.add(
                &mut statistics,
                &[Stat::Kappa, Stat::Ac1, Stat::AlphaNominal],
                bootstrap,
                salt,
            );
            (
                Some(Stat::Kappa),
                Stat::AlphaNominal,
                coefficients::indices(&nominal.table),
                None,
            )
        }
        MetricKind::Integer { .. } => {
            let scale = ScaleTable::new(pairs);
            let nominal = NominalTable::new(kind, choices, pairs);
            scale.add(
                &mut statistics,
                &[Stat::KappaQuadratic, Stat::KappaLinear],
                bootstrap,
                salt,
            );
            nominal.add(&mut statistics, &[Stat::Kappa, Stat::Ac1], bootstrap, salt);
            scale.add(
                &mut statistics,
                &[Stat::AlphaOrdinal, Stat::AlphaInterval],
                bootstrap,
                salt,
            );
            let calls = scale.calls();
            (
                Some(Stat::KappaQuadratic),
                Stat::AlphaOrdinal,
                coefficients::indices(&nominal.table),
                Some(calls),
            )
        }
        MetricKind::Number { .. } => {
            let scale = ScaleTable::new(pairs);
            scale.add(&mut statistics, &[Stat::AlphaInterval], bootstrap, salt);
            (None, Stat::AlphaInterval, None, Some(scale.calls()))
        }
        MetricKind::String | MetricKind::Datetime | MetricKind::List { .. } => return None,
    };
    Some(Agreement {
        headline,
        alpha,
        calls: pairs.len(),
        numeric_calls,
        statistics,
        indices,
        bootstrap,
    })
}

/// Every call, its answers as categories (values or statuses).
struct NominalTable {
    table: Table,
    /// Possible categories, for AC1.
    possible: usize,
}

impl NominalTable {
    fn new(kind: &MetricKind, choices: &[String], pairs: &[(&Answer, &Answer)]) -> NominalTable {
        let possible_values = possible_values(kind, choices);
        let seen = pairs.iter().flat_map(|(a, b)| [category(a), category(b)]);
        let categories = order_categories(seen.chain(possible_values.iter().cloned()), &possible_values);
        let index = |a: &Answer| {
            let c = category(a);
            categories
                .iter()
                .position(|x| *x == c)
                .expect("every category was collected")
        };
        NominalTable {
            table: Table::from_pairs(categories.len(), pairs.iter().map(|(a, b)| (index(a), index(b)))),
            possible: categories.len(),
        }
    }

    fn add(&self, out: &mut IndexMap<Stat, Estimate>, stats: &[Stat], bootstrap: Bootstrap, salt: &str) {
        let compute = |t: &Table| -> Vec<Coefficient> {
            stats
                .iter()
                .map(|s| match s {
                    Stat::Kappa => coefficients::cohen_kappa(t),
                    Stat::Ac1 => coefficients::gwet_ac1(t, self.possible),
                    Stat::AlphaNominal => coefficients::krippendorff_alpha(&t.coincidences(), Level::Nominal, &[]),
                    other => unreachable!("{other:?} is not a nominal statistic"),
                })
                .collect()
        };
        insert(out, stats, &self.table, bootstrap, &format!("{salt}/nominal"), compute);
    }
}

/// Calls with a number on both sides, categories at their values in increasing order.
struct ScaleTable {
    table: Table,
    positions: Vec<f64>,
}

impl ScaleTable {
    fn new(pairs: &[(&Answer, &Answer)]) -> ScaleTable {
        let numbers: Vec<(f64, f64)> = pairs
            .iter()
            .filter_map(|(a, b)| Some((as_f64(a.value()?)?, as_f64(b.value()?)?)))
            .collect();
        let mut positions: Vec<f64> = numbers.iter().flat_map(|(a, b)| [*a, *b]).collect();
        positions.sort_by(f64::total_cmp);
        positions.dedup();
        let index = |x: f64| positions.partition_point(|p| *p < x);
        ScaleTable {
            table: Table::from_pairs(positions.len(), numbers.iter().map(|(a, b)| (index(*a), index(*b)))),
            positions,
        }
    }

    fn calls(&self) -> usize {
        self.table.total() as usize
    }

    fn add(&self, out: &mut IndexMap<Stat, Estimate>, stats: &[Stat], bootstrap: Bootstrap, salt: &str) {
        let x = &self.positions;
        let compute = |t: &Table| -> Vec<Coefficient> {
            stats
                .iter()
                .map(|s| match s {
                    Stat::KappaQuadratic => coefficients::weighted_kappa(t, &Weights::Quadratic(x)),
                    Stat::KappaLinear => coefficients::weighted_kappa(t, &Weights::Linear(x)),
                    Stat::AlphaOrdinal => coefficients::krippendorff_alpha(&t.coincidences(), Level::Ordinal, x),
                    Stat::AlphaInterval => coefficients::krippendorff_alpha(&t.coincidences(), Level::Interval, x),
                    other => unreachable!("{other:?} is not a scale statistic"),
                })
                .collect()
        };
        insert(out, stats, &self.table, bootstrap, &format!("{salt}/scale"), compute);
    }
}

fn insert(
    out: &mut IndexMap<Stat, Estimate>,
    stats: &[Stat],
    table: &Table,
    bootstrap: Bootstrap,
    salt: &str,
    compute: impl Fn(&Table) -> Vec<Coefficient>,
) {
    let calls = table.total() as usize;
    let estimates = compute(table);
    let ci = intervals(table, bootstrap, salt, compute);
    for ((stat, estimate), ci) in stats.iter().zip(estimates).zip(ci) {
        out.insert(*stat, Estimate::new(estimate, calls, ci));
    }
}

/// The values a metric allows, as categories: its choices, true/false, or the integers of
/// a range (a range wider than this many values is not enumerated).
fn possible_values(kind: &MetricKind, choices: &[String]) -> Vec<String> {
    const MAX_RANGE: i64 = 1000;
    match kind {
        MetricKind::Boolean => vec!["true".into(), "false".into()],
        MetricKind::Integer { range: Some([lo, hi]) } if hi - lo < MAX_RANGE => {
            (*lo..=*hi).map(|i| i.to_string()).collect()
        }
        _ => choices.to_vec(),
    }
}

#[cfg(test)]
mod tests;
