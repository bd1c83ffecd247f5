//! Small specs for the unit tests of the request planner and what plans from it
//! (`spec::groups`, `evaluate::plan`), so both ask the same questions of the same files.

use super::{Dialect, LlmSection, Metric, MetricKind, Spec, Strategy, Summary};

/// A boolean metric, sent to `model` when it names one.
pub fn boolean_metric(id: &str, model: Option<&str>) -> Metric {
    Metric {
        model: model.map(String::from),
        ..Metric::new(id, MetricKind::Boolean, "Was it a good call overall?")
    }
}

/// A version-1 spec of `metrics` under `strategy`, with a summary when `summary`.
pub fn spec_of(strategy: Strategy, summary: bool, metrics: Vec<Metric>) -> Spec {
    Spec {
        version: 1,
        llm: LlmSection::default(),
        strategy,
        context: None,
        summary: summary.then(|| Summary {
            prompt: "Summarize.".into(),
        }),
        metrics,
        dialect: Dialect::Postcall,
    }
}
