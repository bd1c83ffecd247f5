//! The JSON Schema of the answer the model must give.
//!
//! The same schema is sent as `response_format: json_schema` (strict), described in the
//! prompt for endpoints without structured outputs, and printed by `postcall schema`, so it
//! is built in one pure function. Property order matters to the model: it writes fields in
//! schema order, so `reasoning` comes before `value` (it thinks before it answers) and
//! `applicable` comes first when the metric has a condition.

use serde_json::{Map, Value, json};

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
pub fn answer_schema(metrics: &[&Metric], summary: Option<&Summary>) -> Value {
    let mut properties = Map::new();
    for metric in metrics {
        properties.insert(metric.id.clone(), metric_schema(metric));
    }
    if let Some(summary) = summary {
        properties.insert(
            "summary".into(),
            json!({"type": "string", "description": summary.prompt}),
        );
    }
    object(properties, None)
}

/// The object answering one metric.
pub fn metric_schema(metric: &Metric) -> Value {
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
    properties.insert("reasoning".into(), json!({"type": "string"}));
    // A not-applicable answer carries null, so a conditional metric's value is nullable
    // even when it is required.
    let nullable = !metric.required || metric.applies_when.is_some();
    properties.insert("value".into(), value_schema(&metric.kind, nullable));
    properties.insert(
        "confidence".into(),
        json!({"type": "number", "minimum": 0, "maximum": 1}),
    );
    object(properties, Some(&metric.prompt))
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
