//! The JSON Schema of the answer the model must give.

use super::{Metric, Summary};

/// One object with a property per metric id (each `{reasoning, value, confidence}`, with
/// `applicable` first when `applies_when` is set) and `summary` when asked for. Strict-mode
/// compatible: every property required, `additionalProperties: false`, nullable values for
/// metrics that are not required.
pub fn answer_schema(metrics: &[&Metric], summary: Option<&Summary>) -> serde_json::Value {
    let _ = (metrics, summary);
    todo!("spec helper")
}
