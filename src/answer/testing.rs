//! Builders for reports with known contents, shared by the unit tests of the modules that
//! read reports back (`answer`, `compare`, `stats`, `filter`).

use indexmap::IndexMap;

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
        call_id: id.to_string(),
        call: None,
        source: format!("calls/{id}.json"),
        format: crate::transcript::Format::Generic,
        summary: None,
        metrics: metrics
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<IndexMap<_, _>>(),
        errors: Vec::new(),
        truncated: None,
        skipped: None,
        usage: Usage::default(),
        cost_usd: None,
    }
}

pub fn report_of(metrics: Vec<Metric>, calls: Vec<CallResult>) -> Report {
    Report {
        header: Some(header(calls.len())),
        metrics,
        calls,
    }
}

pub fn header(calls: usize) -> RunHeader {
    RunHeader {
        version: "0.1.0".into(),
        report_format: crate::report::REPORT_FORMAT_VERSION,
        started_at: jiff::Timestamp::UNIX_EPOCH,
        finished_at: None,
        complete: true,
        calls_not_done: 0,
        stopped: None,
        base_url: "http://127.0.0.1:1/v1".into(),
        model: "test-model".into(),
        strategy: Default::default(),
        structured_output: Default::default(),
        metrics_sha256: "0".repeat(64),
        calls,
        failed_calls: 0,
        skipped_calls: 0,
        invalid_values: 0,
        usage: Usage::default(),
        cost_usd: None,
        models: Default::default(),
        service_tier: None,
        metadata: None,
        transcripts: Default::default(),
        input_errors: Vec::new(),
        archive: None,
        shard: None,
        missing_shards: Vec::new(),
        samples: 1,
        confidence: Default::default(),
    }
}
