//! The JSON Schema of the answer the model must give.
//!
//! The same schema is sent as `response_format: json_schema` (strict), described in the
//! prompt for endpoints without structured outputs, and printed by `postcall schema`, so it
//! is built in one pure function. Property order matters to the model: it writes fields in
//! schema order, so `reasoning` comes before `value` (it thinks before it answers),
//! `evidence` before `reasoning` (it finds the words before it argues from them), and
//! `applicable` comes first when the metric has a condition.

use serde_json::{Map, Value, json};

use super::limits::AnswerLimits;
use super::{Metric, MetricKind, Summary};

/// Said of every datetime value, because strict mode's `format` cannot express "date or
/// date-time" and a promised day often has no time.
pub const DATETIME_DESCRIPTION: &str = "ISO 8601 date (YYYY-MM-DD) or date-time";

/// One object with a property per metric id (each `{reasoning, value, confidence}`, with
/// `applicable` first when `applies_when` is set) and `summary` when asked for. Strict-mode
/// compatible: every property required, `additionalProperties: false`, nullable values for
/// metrics that are not required.
///
/// `summary` comes last: free text is where a model rambles, and an answer cut off there
/// still holds every metric (the validator salvages complete metrics from a cut answer).
#[cfg(test)]
pub fn answer_schema(metrics: &[&Metric], summary: Option<&Summary>) -> Value {
    bounded_answer_schema(metrics, summary, None)
}

/// The answer schema with `maxLength` on every free string (reasoning, summary, text
/// values, list items) and `maxItems` on lists, for an endpoint whose grammar enforces
/// them (see `spec::limits`). `None`: no bounds, as strict mode wants.
pub fn bounded_answer_schema(metrics: &[&Metric], summary: Option<&Summary>, bounds: Option<&AnswerLimits>) -> Value {
    let mut properties = Map::new();
    for metric in metrics {
        properties.insert(metric.id.clone(), metric_schema(metric, bounds));
    }
    if let Some(summary) = summary {
        let mut schema = json!({"type": "string", "description": summary.prompt});
        if let Some(b) = bounds {
            schema["maxLength"] = json!(b.summary_chars);
        }
        properties.insert("summary".into(), schema);
    }
    object(properties, None)
}

/// The object answering one metric.
pub fn metric_schema(metric: &Metric, bounds: Option<&AnswerLimits>) -> Value {
    let mut properties = Map::new();
    if let Some(condition) = &metric.applies_when {
        properties.insert(
            "applicable".into(),
            json!({
                "type": "boolean",
                "description": format!(
                    "Whether this metric applies to the call: {} If false, value is null.",
                    sentence(condition)
                ),
            }),
        );
    }
    if metric.evidence {
        properties.insert("evidence".into(), evidence_schema(bounds));
    }
    let mut reasoning = json!({"type": "string"});
    if let Some(b) = bounds {
        reasoning["maxLength"] = json!(b.reasoning_chars);
    }
    properties.insert("reasoning".into(), reasoning);
    // A not-applicable answer carries null, so a conditional metric's value is nullable
    // even when it is required.
    let nullable = !metric.required || metric.applies_when.is_some();
    let mut value = value_schema(&metric.kind, nullable);
    if let Some(b) = bounds {
        bound_value(&mut value, &metric.kind, b);
    }
    properties.insert("value".into(), value);
    properties.insert(
        "confidence".into(),
        json!({"type": "number", "minimum": 0, "maximum": 1}),
    );
    object(properties, Some(&metric.prompt))
}

/// Said of every `evidence` array: what a quote is, so the model copies rather than
/// paraphrases.
pub const EVIDENCE_DESCRIPTION: &str = "The words of the transcript this answer rests on, copied exactly, each with the number of its turn ([3] is turn 3). Empty when the value is null.";

/// The quotes a metric's answer cites, `[{"turn": 3, "quote": "…"}]`: bounded in number
/// and length for a grammar endpoint, as the answer limits say.
fn evidence_schema(bounds: Option<&AnswerLimits>) -> Value {
    let mut quote = json!({"type": "string"});
    let mut schema = json!({"type": "array", "description": EVIDENCE_DESCRIPTION});
    if let Some(b) = bounds {
        quote["maxLength"] = json!(b.quote_chars);
        schema["maxItems"] = json!(b.quotes);
    }
    let mut item = Map::new();
    item.insert("turn".into(), json!({"type": "integer", "minimum": 0}));
    item.insert("quote".into(), quote);
    schema["items"] = object(item, None);
    schema
}

/// The typed `value` of a metric's answer.
pub fn value_schema(kind: &MetricKind, nullable: bool) -> Value {
    let ty = |name: &str| {
        if nullable { json!([name, "null"]) } else { json!(name) }
    };
    match kind {
        MetricKind::String => json!({"type": ty("string")}),
        MetricKind::Boolean => json!({"type": ty("boolean")}),
        MetricKind::Integer { range } => {
            let mut schema = json!({"type": ty("integer")});
            if let Some([lo, hi]) = range {
                schema["minimum"] = json!(lo);
                schema["maximum"] = json!(hi);
            }
            schema
        }
        MetricKind::Number { range } => {
            let mut schema = json!({"type": ty("number")});
            if let Some([lo, hi]) = range {
                schema["minimum"] = json!(lo);
                schema["maximum"] = json!(hi);
            }
            schema
        }
        MetricKind::Enum { choices } => {
            let mut options: Vec<Value> = choices.iter().map(|c| json!(c)).collect();
            if nullable {
                // Strict mode checks `enum` on its own: null must be listed to be allowed.
                options.push(Value::Null);
            }
            json!({"type": ty("string"), "enum": options})
        }
        MetricKind::Datetime => {
            json!({"type": ty("string"), "format": "date-time", "description": DATETIME_DESCRIPTION})
        }
        MetricKind::List { choices } => {
            let items = match choices {
                Some(c) => json!({"type": "string", "enum": c}),
                None => json!({"type": "string"}),
            };
            json!({"type": ty("array"), "items": items})
        }
    }
}

/// Adds the grammar bounds a value of `kind` takes: free text and list items by length,
/// lists by count. Choices, numbers, booleans and dates are bounded by their type already.
fn bound_value(schema: &mut Value, kind: &MetricKind, bounds: &AnswerLimits) {
    match kind {
        MetricKind::String => schema["maxLength"] = json!(bounds.text_chars),
        // A multi-select may pick every choice, but no more: the grammar does not keep
        // items unique, and a looping model repeats one.
        MetricKind::List { choices: Some(choices) } => schema["maxItems"] = json!(choices.len()),
        MetricKind::List { choices: None } => {
            schema["maxItems"] = json!(bounds.list_items);
            schema["items"]["maxLength"] = json!(bounds.text_chars);
        }
        _ => {}
    }
}

/// `text` ending with punctuation, so it reads as a sentence before the next one.
fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.ends_with(['.', '?', '!']) {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// A strict object: every property required, nothing else allowed.
fn object(properties: Map<String, Value>, description: Option<&str>) -> Value {
    let required: Vec<Value> = properties.keys().map(|k| json!(k)).collect();
    let mut schema = Map::new();
    schema.insert("type".into(), json!("object"));
    if let Some(d) = description {
        schema.insert("description".into(), json!(d));
    }
    schema.insert("properties".into(), Value::Object(properties));
    schema.insert("required".into(), Value::Array(required));
    schema.insert("additionalProperties".into(), json!(false));
    Value::Object(schema)
}

#[cfg(test)]
mod tests;
