//! Which metric definitions differ between two reports (or a report and a metric file).
//!
//! A prompt-change pull request is *expected* to change definitions, so this is information
//! shown next to the numbers ("call_outcome: prompt changed, agreement 91%"), never an
//! error. Only fields that can change an answer are compared: type, choices, range,
//! prompt, required, applies_when, model. Descriptions and `expect` are for people and for
//! `eval`, not for the model.

use serde::Serialize;

use crate::report::Report;
use crate::spec::{Metric, MetricKind};

use crate::document::shorten;

/// One field of one metric that differs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DefinitionChange {
    pub metric: String,
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

/// Changes of metrics defined on both sides, in `new` order. Metrics defined on one side
/// only are added or removed, not changed.
pub fn definition_changes(old: &[Metric], new: &[Metric]) -> Vec<DefinitionChange> {
    let mut changes = Vec::new();
    for n in new {
        let Some(o) = old.iter().find(|o| o.id == n.id) else {
            continue;
        };
        let mut field = |name: &'static str, old: String, new: String| {
            if old != new {
                changes.push(DefinitionChange {
                    metric: n.id.clone(),
                    field: name,
                    old,
                    new,
                });
            }
        };
        field("type", o.kind.name().to_string(), n.kind.name().to_string());
        field("choices", choices_text(&o.kind), choices_text(&n.kind));
        field("range", range_text(&o.kind), range_text(&n.kind));
        field("prompt", o.prompt.clone(), n.prompt.clone());
        field("required", o.required.to_string(), n.required.to_string());
        field("applies_when", opt(&o.applies_when), opt(&n.applies_when));
        field("model", opt(&o.model), opt(&n.model));
    }
    changes
}

/// The fields changed for `metric`, for a table column ("prompt, choices").
pub fn changed_fields(changes: &[DefinitionChange], metric: &str) -> Vec<&'static str> {
    changes.iter().filter(|c| c.metric == metric).map(|c| c.field).collect()
}

fn choices_text(kind: &MetricKind) -> String {
    kind.choices().map(|c| c.join(", ")).unwrap_or_default()
}

fn range_text(kind: &MetricKind) -> String {
    match kind {
        MetricKind::Integer { range: Some([lo, hi]) } => format!("{lo}..{hi}"),
        MetricKind::Number { range: Some([lo, hi]) } => format!("{lo}..{hi}"),
        _ => String::new(),
    }
}

fn opt(text: &Option<String>) -> String {
    text.clone().unwrap_or_default()
}

/// Choices added and removed, for a one-line summary: `+callback_scheduled −transferred`.
pub fn choices_delta(change: &DefinitionChange) -> String {
    let split = |s: &str| -> Vec<String> { s.split(", ").filter(|c| !c.is_empty()).map(str::to_string).collect() };
    let (old, new) = (split(&change.old), split(&change.new));
    let mut parts: Vec<String> = new
        .iter()
        .filter(|c| !old.contains(c))
        .map(|c| format!("+{c}"))
        .collect();
    parts.extend(old.iter().filter(|c| !new.contains(c)).map(|c| format!("-{c}")));
    if parts.is_empty() {
        "reordered".to_string()
    } else {
        parts.join(" ")
    }
}

/// Warnings when `report` was not made with `file`: a different hash, and each definition
/// that differs. A report without a run header (an old `.jsonl`: no definitions, no hash)
/// gets no warning: it takes the file's definitions.
pub fn mismatch_warnings(
    report_path: &str,
    report: &Report,
    metrics_path: &str,
    file: &[Metric],
    file_sha256: &str,
) -> Vec<String> {
    let Some(sha) = report.header.as_ref().map(|h| &h.metrics_sha256) else {
        return Vec::new();
    };
    if sha.is_empty() || sha == file_sha256 {
        return Vec::new();
    }
    let mut out = vec![format!(
        "{report_path} was made with a different metric file than {metrics_path} (metrics_sha256 {} vs {}); \
         scoring with the report's own definitions",
        shorten(sha, 12),
        shorten(file_sha256, 12)
    )];
    for change in definition_changes(&report.metrics, file) {
        let what = match change.field {
            "choices" => choices_delta(&change),
            _ => format!(
                "{:?} in the report, {:?} in the file",
                shorten(&change.old, 60),
                shorten(&change.new, 60)
            ),
        };
        out.push(format!("  {}: {} differs: {what}", change.metric, change.field));
    }
    let in_report: Vec<&str> = report.metrics.iter().map(|m| m.id.as_str()).collect();
    for m in file {
        if !report.metrics.is_empty() && !in_report.contains(&m.id.as_str()) {
            out.push(format!("  {}: in {metrics_path} but not in the report", m.id));
        }
    }
    for id in &in_report {
        if !file.iter().any(|m| m.id == *id) {
            out.push(format!("  {id}: in the report but not in {metrics_path}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;

    #[test]
    fn prompt_choices_and_type_changes_are_listed() {
        let old = vec![
            enum_metric("outcome", &["resolved", "escalated", "transferred"]),
            metric("score", MetricKind::Integer { range: Some([1, 5]) }),
            metric("name", MetricKind::String),
            metric("gone", MetricKind::Boolean),
        ];
        let mut outcome = enum_metric("outcome", &["resolved", "escalated", "callback"]);
        outcome.prompt = "What happened in the end?".into();
        outcome.description = Some("ignored: for people".into());
        let new = vec![
            outcome,
            metric(
                "score",
                MetricKind::Number {
                    range: Some([1.0, 5.0]),
                },
            ),
            metric("name", MetricKind::String),
            metric("added", MetricKind::Boolean),
        ];
        let changes = definition_changes(&old, &new);
        let fields: Vec<(&str, &str)> = changes.iter().map(|c| (c.metric.as_str(), c.field)).collect();
        assert_eq!(
            fields,
            [("outcome", "choices"), ("outcome", "prompt"), ("score", "type")]
        );
        assert_eq!(choices_delta(&changes[0]), "+callback -transferred");
        assert_eq!(changed_fields(&changes, "outcome"), ["choices", "prompt"]);
        assert!(changed_fields(&changes, "name").is_empty());
    }

    #[test]
    fn a_report_from_another_metric_file_is_explained() {
        let report = report_of(
            vec![enum_metric("outcome", &["a", "b"]), enum_metric("gone", &["x"])],
            vec![],
        );
        let mut changed = enum_metric("outcome", &["a", "c"]);
        changed.prompt = "New?".into();
        let file = vec![changed, enum_metric("fresh", &["y"])];
        let warnings = mismatch_warnings("r.json", &report, "m.yaml", &file, &"f".repeat(64));
        assert!(
            warnings[0].contains("different metric file than m.yaml"),
            "{warnings:?}"
        );
        assert_eq!(warnings[1], "  outcome: choices differs: +c -b");
        assert!(warnings[2].contains("outcome: prompt differs"), "{warnings:?}");
        assert_eq!(warnings[3], "  fresh: in m.yaml but not in the report");
        assert_eq!(warnings[4], "  gone: in the report but not in m.yaml");
        assert!(mismatch_warnings("r.json", &report, "m.yaml", &[], &"0".repeat(64)).is_empty());
    }
}
