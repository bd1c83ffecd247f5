//! Builders for reports with known contents, shared by the unit tests of the modules that
//! read reports back (`answer`, `compare`, `stats`, `filter`).

use crate::report::{CallResult, MetricResult, Report, RunHeader, Usage, Value};
use crate::spec::{Metric, MetricKind};

pub fn metric(id: &str, kind: MetricKind) -> Metric {
    Metric::new(id, kind, format!("What is the {id}?"))
}

pub fn enum_metric(id: &str, choices: &[&str]) -> Metric {
    metric(
        id,
        MetricKind::Enum {
            choices: choices.iter().map(|c| c.to_string()).collect(),
        },
    )
}

pub fn ok(value: Value) -> MetricResult {
    MetricResult::Ok {
        value,
        confidence: None,
        reasoning: None,
        grounds: Default::default(),
    }
}

pub fn ok_text(text: &str) -> MetricResult {
    ok(Value::Text(text.to_string()))
}

pub fn ok_conf(value: Value, confidence: f64) -> MetricResult {
    MetricResult::Ok {
        value,
        confidence: Some(confidence),
        reasoning: None,
        grounds: Default::default(),
    }
}

pub fn null() -> MetricResult {
    MetricResult::Null {
        confidence: None,
        reasoning: None,
        grounds: Default::default(),
    }
}

pub fn not_applicable() -> MetricResult {
    MetricResult::NotApplicable {
        confidence: None,
        reasoning: None,
        grounds: Default::default(),
    }
}

pub fn invalid() -> MetricResult {
    MetricResult::Invalid {
        reason: "not one of the choices".into(),
        raw: "\"maybe\"".into(),
    }
}

pub fn list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|s| s.to_string()).collect())
}

pub fn call(id: &str, metrics: Vec<(&str, MetricResult)>) -> CallResult {
    CallResult {
        metrics: metrics.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ..CallResult::unanswered(
            id.to_string(),
            format!("calls/{id}.json"),
            crate::transcript::Format::Generic,
        )
    }
}

pub fn report_of(metrics: Vec<Metric>, calls: Vec<CallResult>) -> Report {
    Report {
        header: Some(header(calls.len())),
        metrics,
        calls,
    }
}

/// [`crate::report::testing::header`] with nothing done yet to count: no usage, no
/// failures, the epoch as its start.
pub fn header(calls: usize) -> RunHeader {
    RunHeader {
        started_at: jiff::Timestamp::UNIX_EPOCH,
        finished_at: None,
        metrics_sha256: "0".repeat(64),
        failed_calls: 0,
        invalid_values: 0,
        usage: Usage::default(),
        ..crate::report::testing::header(calls)
    }
}
