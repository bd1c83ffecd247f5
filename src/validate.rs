//! Model answer → typed value, or a precise reason why not.

use crate::report::MetricResult;
use crate::spec::Metric;

/// What one answer said about each metric of its group.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// In the order of the `metrics` given; `MetricResult::Invalid` ones get re-asked.
    pub metrics: Vec<(String, MetricResult)>,
    /// The `summary` field when it was asked for and given as a string.
    pub summary: Option<String>,
}

/// Checks a raw answer (the model's text, possibly in a markdown fence) against the
/// metrics it was asked to answer.
pub fn check_answer(metrics: &[&Metric], want_summary: bool, raw: &str) -> Checked {
    let _ = (metrics, want_summary, raw);
    todo!("validate helper")
}

/// Plain words for what a metric accepts ("an integer from 1 to 5").
pub fn describe_allowed(metric: &Metric) -> String {
    let _ = metric;
    todo!("validate helper")
}
