//! Agreement statistics as tables and lines, shared by `eval` (labels vs model) and `diff`
//! (base vs new): one summary row per metric, then every coefficient of a metric with its
//! interval, and the indices and reasons that explain it.

use crate::compare::agreement::{Agreement, Estimate, Stat};
use crate::document::{Table, Text, pct};

/// `0.62`, or `undefined`.
pub fn value(estimate: Option<&Estimate>) -> String {
    match estimate {
        Some(Estimate::Value { value, .. }) => format!("{value:.2}"),
        Some(Estimate::Undefined { .. }) => "undefined".to_string(),
        None => "-".to_string(),
    }
}

/// `0.41–0.77`, or empty when there is no interval.
pub fn interval(estimate: Option<&Estimate>) -> String {
    match estimate {
        Some(Estimate::Value { ci95: Some(ci), .. }) => format!("{:.2}–{:.2}", ci.lower, ci.upper),
        _ => String::new(),
    }
}

/// The headline's name as a column cell: `κ`, `κ quadratic`, or `-` for a metric without κ.
pub fn headline_name(agreement: &Agreement) -> &'static str {
    agreement.headline.map_or("-", Stat::label)
}

/// The summary columns after the metric and type: statistic, calls, value, interval,
/// AC1, α. Callers add their own columns around these.
pub const SUMMARY_COLUMNS: [&str; 6] = ["statistic", ">calls", ">κ", "95% CI", ">AC1", ">α"];

pub fn summary_cells(agreement: &Agreement) -> Vec<String> {
    let headline = agreement.headline_estimate();
    let calls = headline
        .or_else(|| agreement.get(agreement.alpha))
        .map_or(agreement.calls, calls_of);
    vec![
        headline_name(agreement).to_string(),
        calls.to_string(),
        value(headline),
        interval(headline),
        value(agreement.get(Stat::Ac1)),
        format!(
            "{} ({})",
            value(agreement.get(agreement.alpha)),
            agreement.alpha.label().trim_start_matches("α ")
        ),
    ]
}

fn calls_of(estimate: &Estimate) -> usize {
    match estimate {
        Estimate::Value { calls, .. } | Estimate::Undefined { calls, .. } => *calls,
    }
}

/// Every coefficient of one metric.
pub fn statistics_table(agreement: &Agreement) -> Table {
    let mut table = Table::new(&["statistic", ">calls", ">value", "95% CI"]);
    for (stat, estimate) in &agreement.statistics {
        table.row(vec![
            stat.label().to_string(),
            calls_of(estimate).to_string(),
            value(Some(estimate)),
            interval(Some(estimate)),
        ]);
    }
    table
}

/// What to read beside the coefficients: why one is undefined, the prevalence and bias
/// indices, which calls the scale statistics left out, and how the intervals were drawn.
pub fn facts(agreement: &Agreement) -> Vec<Text> {
    let mut lines: Vec<Text> = Vec::new();
    let mut reasons: Vec<&str> = Vec::new();
    for estimate in agreement.statistics.values() {
        if let Estimate::Undefined { reason, .. } = estimate
            && !reasons.contains(reason)
        {
            reasons.push(reason);
        }
    }
    lines.extend(reasons.iter().map(|r| Text::plain(format!("κ and α {r}"))));
    if let Some(i) = &agreement.indices {
        let mut line = format!("bias index {}", pct(Some(i.bias)));
        if let (Some(prevalence), Some(pabak)) = (i.prevalence, i.pabak) {
            line = format!("prevalence index {}, {line}, PABAK {pabak:.2}", pct(Some(prevalence)));
        }
        line.push_str(" (a high prevalence or bias index keeps κ low even when agreement is high)");
        lines.push(line.into());
    }
    if let Some(numeric) = agreement.numeric_calls
        && numeric < agreement.calls
    {
        lines.push(
            format!(
                "weighted κ and ordinal/interval α use the {numeric} of {} calls with a number on both sides",
                agreement.calls
            )
            .into(),
        );
    }
    let b = agreement.bootstrap;
    lines.push(Text::plain(if b.resamples == 0 {
        "no intervals (--bootstrap 0)".to_string()
    } else {
        format!(
            "95% intervals: percentile bootstrap, {} resamples, seed {}",
            b.resamples, b.seed
        )
    }));
    lines
}
