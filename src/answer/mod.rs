//! What a report says about one metric of one call, and the metrics a report has.
//!
//! The shared vocabulary of everything that reads finished reports (`diff`, `eval`,
//! `stats`, `filter`, `convert`): an [`Answer`] covers *also* the answers that are not
//! values (null, not applicable, invalid, missing), because a prompt change that turns
//! `resolved` into `null` is a change, and a label of "not applicable" is a label.
//! [`value`] decides when two answers count as the same, so every command agrees.

use indexmap::IndexMap;
use serde::Serialize;

use crate::document::{Span, Text};
use crate::report::{CallResult, MetricResult, Report, Value};
use crate::spec::{Metric, MetricKind};

pub mod evidence;
#[cfg(test)]
pub(crate) mod testing;
pub mod value;

/// What a report says about one metric of one call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", content = "value", rename_all = "snake_case")]
pub enum Answer {
    Ok(Value),
    Null,
    NotApplicable,
    /// The model never gave a valid answer.
    Invalid,
    /// The call has no result for this metric (its request failed, or the metric was not
    /// asked in that run).
    Missing,
}

impl Answer {
    pub fn of(call: &CallResult, metric: &str) -> Answer {
        match call.metrics.get(metric) {
            None => Answer::Missing,
            Some(MetricResult::Ok { value, .. }) => Answer::Ok(value.clone()),
            Some(MetricResult::Null { .. }) => Answer::Null,
            Some(MetricResult::NotApplicable { .. }) => Answer::NotApplicable,
            Some(MetricResult::Invalid { .. }) => Answer::Invalid,
        }
    }

    /// The short form shown in tables: the value, or the status name.
    pub fn display(&self) -> String {
        match self {
            Answer::Ok(value) => value.display(),
            other => other.status_label().to_string(),
        }
    }

    pub fn status_label(&self) -> &'static str {
        match self {
            Answer::Ok(_) => "ok",
            Answer::Null => "null",
            Answer::NotApplicable => "not_applicable",
            Answer::Invalid => "invalid",
            Answer::Missing => "missing",
        }
    }

    pub fn value(&self) -> Option<&Value> {
        match self {
            Answer::Ok(value) => Some(value),
            _ => None,
        }
    }
}

/// Where a report came from, as `diff`, `eval` and `stats` show it: its path and size, and
/// what its run header says — or that it has none (an old `.jsonl`), in which case the
/// header fields are `None` rather than blanks a reader would have to know to ignore.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Origin {
    pub path: String,
    pub calls: usize,
    /// False for a report without metric definitions (an old `.jsonl`).
    pub has_definitions: bool,
    pub model: Option<String>,
    pub metrics_sha256: Option<String>,
    /// False when the run was interrupted or killed before it finished.
    pub complete: Option<bool>,
}

impl Origin {
    pub fn of(path: &str, report: &Report) -> Origin {
        let header = report.header.as_ref();
        Origin {
            path: path.to_string(),
            calls: report.calls.len(),
            has_definitions: !report.metrics.is_empty(),
            model: header.map(|h| h.model.clone()),
            metrics_sha256: header.map(|h| h.metrics_sha256.clone()),
            complete: header.map(|h| h.complete),
        }
    }

    /// `base: r.json — 13 calls, model m, metric file 948926dd0c41`, with what is missing.
    pub fn line(&self, label: &str) -> Text {
        let mut rest = format!(" — {} calls", self.calls);
        match (&self.model, &self.metrics_sha256) {
            (Some(model), Some(sha)) => {
                let model = if model.is_empty() { "unknown" } else { model };
                let sha: String = sha.chars().take(12).collect();
                let sha = if sha.is_empty() { "unknown".to_string() } else { sha };
                rest.push_str(&format!(", model {model}, metric file {sha}"));
            }
            _ => rest.push_str(", model and metric file unknown (no run header: a .jsonl from an older postcall)"),
        }
        if self.complete == Some(false) {
            rest.push_str(" (an interrupted run)");
        }
        if !self.has_definitions {
            rest.push_str(" (no definitions: a .jsonl report)");
        }
        Text::plain(format!("{label}: "))
            .push(Span::Code(self.path.clone()))
            .push(Span::Plain(rest))
    }
}

/// The metrics of a report with the type each one is compared by, in report order.
///
/// A report carries its definitions, except a `.jsonl` written before postcall put its
/// header line in the file: for metrics seen only in the calls the type is inferred from
/// the values (text is treated as free text, since an enum's choices cannot be known);
/// `inferred` lists those metrics so the commands can say so.
#[derive(Debug, Clone, Default)]
pub struct MetricSet {
    pub kinds: IndexMap<String, MetricKind>,
    pub definitions: IndexMap<String, Metric>,
    pub inferred: Vec<String>,
}

impl MetricSet {
    /// Definitions first (in file order), then any metric only the calls mention.
    pub fn of_report(report: &Report) -> MetricSet {
        MetricSet::with_definitions(&report.metrics, &report.calls)
    }

    pub fn with_definitions(definitions: &[Metric], calls: &[CallResult]) -> MetricSet {
        let mut set = MetricSet::default();
        for metric in definitions {
            set.kinds.insert(metric.id.clone(), metric.kind.clone());
            set.definitions.insert(metric.id.clone(), metric.clone());
        }
        for call in calls {
            for (id, result) in &call.metrics {
                let known = set.kinds.get(id);
                let Some(value) = result.value() else {
                    if known.is_none() {
                        set.kinds.insert(id.clone(), MetricKind::String);
                        set.inferred.push(id.clone());
                    }
                    continue;
                };
                if set.definitions.contains_key(id) {
                    continue;
                }
                let seen = value::infer_kind(value);
                match known {
                    None => {
                        set.kinds.insert(id.clone(), seen);
                        set.inferred.push(id.clone());
                    }
                    // A metric inferred from a null first and a value later takes the value's
                    // type; integers seen beside fractions become numbers.
                    Some(MetricKind::String) if !matches!(value, Value::Text(_)) => {
                        set.kinds.insert(id.clone(), seen);
                    }
                    Some(MetricKind::Integer { .. }) if matches!(value, Value::Number(_)) => {
                        set.kinds.insert(id.clone(), MetricKind::Number { range: None });
                    }
                    Some(_) => {}
                }
            }
        }
        set
    }

    pub fn ids(&self) -> Vec<&str> {
        self.kinds.keys().map(String::as_str).collect()
    }

    /// `a, b, c` — for error messages that list what would have been accepted.
    pub fn id_list(&self) -> String {
        if self.kinds.is_empty() {
            return "(none)".to_string();
        }
        self.ids().join(", ")
    }
}

/// Definitions for a report that has none (an old `.jsonl`): the inferred ones, with an empty
/// prompt, so a writer can name its columns. Returns the ids that were inferred.
pub fn fill_inferred_definitions(report: &mut Report) -> Vec<String> {
    if !report.metrics.is_empty() {
        return Vec::new();
    }
    let set = MetricSet::of_report(report);
    report.metrics = set
        .kinds
        .iter()
        .map(|(id, kind)| Metric::new(id.clone(), kind.clone(), String::new()))
        .collect();
    set.inferred
}

/// The category an answer falls in: its value text, or its status.
pub fn category(answer: &Answer) -> String {
    answer.display()
}

/// Orders categories: `choices` as defined (booleans true then false), then other values
/// alphabetically, then statuses in a fixed order. Only categories that occur are kept.
pub fn order_categories(seen: impl IntoIterator<Item = String>, choices: &[String]) -> Vec<String> {
    let seen: std::collections::BTreeSet<String> = seen.into_iter().collect();
    const STATUSES: [&str; 4] = ["null", "not_applicable", "invalid", "missing"];
    let mut out: Vec<String> = Vec::new();
    for c in choices.iter().map(String::as_str).chain(["true", "false"]) {
        if seen.contains(c) && !out.iter().any(|o| o == c) {
            out.push(c.to_string());
        }
    }
    for c in &seen {
        if !out.contains(c) && !STATUSES.contains(&c.as_str()) {
            out.push(c.clone());
        }
    }
    out.extend(STATUSES.iter().filter(|s| seen.contains(**s)).map(|s| s.to_string()));
    out
}

/// `part / whole`, or `None` when there is nothing to divide.
pub fn ratio(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;

    #[test]
    fn answers_name_their_status() {
        let report = report_of(
            vec![enum_metric("outcome", &["resolved", "escalated"])],
            vec![call("c1", vec![("outcome", ok_text("resolved"))])],
        );
        assert_eq!(
            Answer::of(&report.calls[0], "outcome"),
            Answer::Ok(Value::Text("resolved".into()))
        );
        assert_eq!(Answer::of(&report.calls[0], "other"), Answer::Missing);
        assert_eq!(Answer::NotApplicable.display(), "not_applicable");
    }

    #[test]
    fn metrics_of_a_jsonl_report_are_inferred_from_values() {
        let report = report_of(
            vec![],
            vec![
                call("c1", vec![("score", null()), ("flag", ok(Value::Bool(true)))]),
                call("c2", vec![("score", ok(Value::Int(3))), ("amount", ok(Value::Int(2)))]),
                call("c3", vec![("amount", ok(Value::Number(2.5)))]),
            ],
        );
        let set = MetricSet::of_report(&report);
        assert_eq!(set.ids(), ["score", "flag", "amount"]);
        assert_eq!(set.kinds["score"], MetricKind::Integer { range: None });
        assert_eq!(set.kinds["flag"], MetricKind::Boolean);
        assert_eq!(set.kinds["amount"], MetricKind::Number { range: None });
        assert_eq!(set.inferred, ["score", "flag", "amount"]);
    }

    #[test]
    fn definitions_win_over_values() {
        let report = report_of(
            vec![enum_metric("outcome", &["a", "b"])],
            vec![call("c1", vec![("outcome", ok_text("a"))])],
        );
        let set = MetricSet::of_report(&report);
        assert!(matches!(set.kinds["outcome"], MetricKind::Enum { .. }));
        assert!(set.inferred.is_empty());
    }

    #[test]
    fn ratios_need_a_whole() {
        assert_eq!(ratio(1, 4), Some(0.25));
        assert_eq!(ratio(1, 0), None);
    }
}
