//! Model answer → typed value, or a precise reason why not.
//!
//! The model is asked for one JSON object with a property per metric id, each
//! `{"reasoning": …, "value": …, "confidence": …}` (with `"applicable"` first when the
//! metric has `applies_when`), plus `"summary"` when asked. [`check_answer`] turns its text
//! into one [`MetricResult`] per metric. It is a pure function: the evaluator calls it, and
//! re-asks the `Invalid` ones with their reason, so every reason says what was given and
//! what is allowed.
//!
//! Leniency, all of it deliberate:
//! - the JSON may sit in a markdown fence or in prose (see `extract.rs`);
//! - a metric property that is not an object is taken as the bare value, with no confidence
//!   or reasoning (small models often answer `"call_outcome": "resolved"`);
//! - values are coerced per the table in `coerce.rs`, and nothing else;
//! - `confidence` outside 0..1, or not a number, becomes `None` rather than invalid: it is
//!   advisory and not worth a re-ask; a numeric string is read as a number;
//! - `applicable` is read like a boolean; when missing or null the metric applies. It is
//!   ignored for metrics without `applies_when` (they were not asked for it). When it is
//!   `false` the result is `NotApplicable` whatever the value, even for a required metric;
//! - `evidence` is read leniently (`evidence::read_cited`): what is not a quote is dropped,
//!   never made invalid; whether the quotes are in the transcript is checked afterwards,
//!   by the evaluator, which has the transcript;
//! - a `summary`, when asked for, must be a non-empty string: anything else is a problem
//!   of its own ([`Checked::summary_problem`]), re-asked like an invalid metric and never
//!   cached as a clean answer (issue 11: summaries were lost quietly).

mod coerce;
pub mod evidence;
mod extract;
mod huge;

use serde_json::{Map, Value as Json};

use crate::report::{Grounds, MetricResult};
use crate::spec::Metric;

pub(crate) use extract::truncate_raw;

/// What one answer said about each metric of its group.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// In the order of the `metrics` given; `MetricResult::Invalid` ones get re-asked.
    pub metrics: Vec<(String, MetricResult)>,
    /// The `summary` field when it was asked for and given as a string.
    pub summary: Option<String>,
    /// Why the summary that was asked for is not there (missing, not a string, empty).
    pub summary_problem: Option<String>,
    /// The answer object as read, so a caller can keep each valid metric's property as the
    /// model wrote it. `None` when the answer is not a JSON object.
    pub object: Option<Map<String, Json>>,
}

impl Checked {
    #[cfg(test)]
    /// The metrics whose answers must be asked again.
    pub fn invalid(&self) -> impl Iterator<Item = (&str, &MetricResult)> {
        self.metrics
            .iter()
            .filter(|(_, result)| matches!(result, MetricResult::Invalid { .. }))
            .map(|(id, result)| (id.as_str(), result))
    }
}

/// Checks a raw answer (the model's text, possibly in a markdown fence) against the
/// metrics it was asked to answer.
pub fn check_answer(metrics: &[&Metric], want_summary: bool, raw: &str) -> Checked {
    let object = match extract::answer_object(raw) {
        Ok(object) => object,
        Err(reason) => {
            let raw = truncate_raw(raw);
            let invalid = |m: &&Metric| {
                let result = MetricResult::Invalid {
                    reason: reason.clone(),
                    raw: raw.clone(),
                };
                (m.id.clone(), result)
            };
            return Checked {
                metrics: metrics.iter().map(invalid).collect(),
                summary: None,
                summary_problem: want_summary.then_some(reason),
                object: None,
            };
        }
    };

    let results = metrics
        .iter()
        .map(|metric| (metric.id.clone(), check_metric(metric, metrics, &object, raw)))
        .collect();
    let (summary, summary_problem) = match (want_summary, object.get("summary")) {
        (false, _) => (None, None),
        (true, Some(Json::String(s))) if !s.trim().is_empty() => (Some(s.trim().to_string()), None),
        (true, Some(Json::String(_))) => (None, Some("`summary` is empty; write it as a string".to_string())),
        (true, None) => (None, Some("no `summary`; write it as a string".to_string())),
        (true, Some(other)) => (
            None,
            Some(format!("`summary` must be a string, got {}", extract::json_kind(other))),
        ),
    };
    Checked {
        metrics: results,
        summary,
        summary_problem,
        object: Some(object),
    }
}

/// What a value must look like, in words, e.g. "an integer from 1 to 5", "one of: a, b, c",
/// "true or false", "a list drawn from: a, b". Used in re-asks and prompts.
pub fn describe_allowed(metric: &Metric) -> String {
    coerce::describe_kind(&metric.kind)
}

/// The parts of one metric's property, whichever shape it came in.
struct Envelope<'a> {
    /// `None` when an object came without a `value` key.
    value: Option<&'a Json>,
    applicable: Option<&'a Json>,
    confidence: Option<f64>,
    reasoning: Option<String>,
    /// The quotes cited, not yet checked against the transcript (see `evidence.rs`).
    grounds: Grounds,
}

impl<'a> Envelope<'a> {
    fn read(property: &'a Json) -> Envelope<'a> {
        let Json::Object(fields) = property else {
            return Envelope {
                value: Some(property),
                applicable: None,
                confidence: None,
                reasoning: None,
                grounds: Grounds::default(),
            };
        };
        let confidence = fields
            .get("confidence")
            .and_then(coerce::number)
            .filter(|c| (0.0..=1.0).contains(c));
        let reasoning = match fields.get("reasoning") {
            Some(Json::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        };
        Envelope {
            value: fields.get("value"),
            applicable: fields.get("applicable"),
            confidence,
            reasoning,
            grounds: Grounds {
                evidence: evidence::read_cited(fields.get("evidence")),
                ..Grounds::default()
            },
        }
    }
}

fn check_metric(metric: &Metric, group: &[&Metric], object: &Map<String, Json>, text: &str) -> MetricResult {
    let id = &metric.id;
    let Some(property) = object.get(id) else {
        // The text the model sent, not the object read from it: for an answer cut off
        // before this metric, that is what shows why.
        return MetricResult::Invalid {
            reason: missing_reason(id, group, object),
            raw: truncate_raw(text),
        };
    };
    let invalid = |reason: String| MetricResult::Invalid {
        reason,
        raw: truncate_raw(&huge::to_text(property)),
    };
    let Envelope {
        value,
        applicable,
        confidence,
        reasoning,
        grounds,
    } = Envelope::read(property);

    if metric.applies_when.is_some() {
        match applicable {
            None | Some(Json::Null) => {}
            Some(flag) => match coerce::boolean(flag) {
                Some(true) => {}
                Some(false) => {
                    return MetricResult::NotApplicable {
                        confidence,
                        reasoning,
                        grounds,
                    };
                }
                None => {
                    return invalid(format!(
                        "`{id}`: `applicable` must be true or false, got {}",
                        coerce::show(flag)
                    ));
                }
            },
        }
    }

    let null = |reasoning, grounds| {
        if metric.required {
            invalid(format!(
                "`{id}` is required; null is not allowed — answer with {}",
                describe_allowed(metric)
            ))
        } else {
            MetricResult::Null {
                confidence,
                reasoning,
                grounds,
            }
        }
    };
    match value {
        None => invalid(format!(
            "`{id}`: the answer has no `value`; expected {}",
            describe_allowed(metric)
        )),
        Some(Json::Null) => null(reasoning, grounds),
        Some(json) => match coerce::coerce(&metric.kind, json) {
            Ok(Some(value)) => MetricResult::Ok {
                value,
                confidence,
                reasoning,
                grounds,
            },
            Ok(None) => null(reasoning, grounds),
            Err(detail) => invalid(format!("`{id}`: {detail}")),
        },
    }
}

/// "no answer for `id`", naming the keys the model used instead: a misspelt id is the usual
/// cause, and seeing it makes the re-ask work.
fn missing_reason(id: &str, group: &[&Metric], object: &Map<String, Json>) -> String {
    let unexpected: Vec<String> = object
        .keys()
        .filter(|key| *key != "summary" && !group.iter().any(|m| &m.id == *key))
        .map(|key| format!("`{key}`"))
        .collect();
    if unexpected.is_empty() {
        format!("no answer for `{id}`")
    } else {
        format!(
            "no answer for `{id}` (the answer has unexpected keys: {})",
            unexpected.join(", ")
        )
    }
}

#[cfg(test)]
mod tests;
