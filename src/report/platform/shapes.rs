//! One call's result in the shape a voice platform delivers its own post-call analysis, so
//! a CRM or dashboard fed by that platform reads postcall's results unchanged.
//!
//! - **Atoms** (Smallest AI): the `postCallAnalytics` a call's details carry, `{summary,
//!   dispositionMetrics: [{identifier, value, confidence, reasoning, dispositionMetricPrompt,
//!   dispositionMetricType}]}`, beside the call's `callId`, as the analytics-completed webhook
//!   sends it. Types: STRING, BOOLEAN, INTEGER, ENUM, DATETIME (a number goes as STRING
//!   type with its numeric value, a list as STRING with its items joined by `; `: Atoms has
//!   neither).
//! - **Dialgen**: the onCallComplete webhook body, `{success, callData: {id, contactId,
//!   agentId, status, startTime, endTime, duration, phoneNumber, contactName, recordingUrl,
//!   summary, metricJson, customMetrics: {id: {value, schema: {type, name, description,
//!   isRequired}}}}, metricSchema: {id: {type}}}`. Types: string (string, enum, datetime),
//!   number (integer, number), boolean, array (list).
//!
//! The call's facts are those of the report's `call` block, so `--metadata` decides what
//! leaves (a phone number only with `all`); a field the source did not have is absent.
//! A value that is not `ok` (null, not applicable, invalid, or never answered) is `null`,
//! as both platforms send a metric they could not fill, and postcall's own status and
//! reason are in the `postcall` extension object, which also names the call as the report
//! does (`callId`, `source`), its errors, and the metric file's sha256.

use serde_json::{Map, Value as Json, json};

use crate::report::{CallResult, MetricResult, Value};
use crate::spec::{Metric, MetricKind};

/// The shapes a call's result can take, in a file (`--output-format`) or a webhook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum Shape {
    /// postcall's own call result, as a `.jsonl` report line holds it.
    Postcall,
    /// Smallest AI Atoms' `postCallAnalytics`.
    Atoms,
    /// Dialgen's onCallComplete webhook body.
    Dialgen,
}

/// What every payload of a report shares: the definitions and the metric file's revision.
#[derive(Debug, Clone, Copy)]
pub struct PayloadContext<'a> {
    pub metrics: &'a [Metric],
    /// sha256 of the metric file, when the report says (a headerless report does not).
    pub metrics_sha256: Option<&'a str>,
}

/// `call` as a `shape` document.
pub fn payload(shape: Shape, call: &CallResult, cx: PayloadContext<'_>) -> Json {
    match shape {
        Shape::Postcall => serde_json::to_value(call).expect("a call result serialises"),
        Shape::Atoms => atoms(call, cx),
        Shape::Dialgen => dialgen(call, cx),
    }
}

/// Atoms' name for a metric type.
pub fn atoms_type(kind: &MetricKind) -> &'static str {
    match kind {
        MetricKind::Boolean => "BOOLEAN",
        MetricKind::Integer { .. } => "INTEGER",
        MetricKind::Enum { .. } => "ENUM",
        MetricKind::Datetime => "DATETIME",
        MetricKind::String | MetricKind::Number { .. } | MetricKind::List { .. } => "STRING",
    }
}

/// Dialgen's name for a metric type.
pub fn dialgen_type(kind: &MetricKind) -> &'static str {
    match kind {
        MetricKind::Boolean => "boolean",
        MetricKind::Integer { .. } | MetricKind::Number { .. } => "number",
        MetricKind::List { .. } => "array",
        MetricKind::String | MetricKind::Enum { .. } | MetricKind::Datetime => "string",
    }
}

fn atoms(call: &CallResult, cx: PayloadContext<'_>) -> Json {
    let dispositions: Vec<Json> = cx
        .metrics
        .iter()
        .map(|metric| {
            let result = call.metrics.get(&metric.id);
            let value = match result.and_then(MetricResult::value) {
                Some(Value::List(items)) => json!(items.join("; ")),
                Some(value) => json!(value),
                None => Json::Null,
            };
            let mut item = json!({
                "identifier": metric.id,
                "value": value,
                "confidence": result.and_then(MetricResult::confidence),
                "reasoning": result.and_then(MetricResult::reasoning),
                "dispositionMetricPrompt": metric.prompt,
                "dispositionMetricType": atoms_type(&metric.kind),
            });
            if let Some(status) = not_ok(result) {
                item["postcall"] = status;
            }
            item
        })
        .collect();
    json!({
        "callId": platform_id(call),
        "postCallAnalytics": {
            "summary": call.summary,
            "dispositionMetrics": dispositions,
        },
        "postcall": extension(call, cx, Map::new()),
    })
}

fn dialgen(call: &CallResult, cx: PayloadContext<'_>) -> Json {
    let mut metric_json = Map::new();
    let mut custom = Map::new();
    let mut schema = Map::new();
    let mut statuses = Map::new();
    for metric in cx.metrics {
        let result = call.metrics.get(&metric.id);
        let value = result.and_then(MetricResult::value).map_or(Json::Null, |v| json!(v));
        let kind = dialgen_type(&metric.kind);
        metric_json.insert(metric.id.clone(), value.clone());
        custom.insert(
            metric.id.clone(),
            json!({
                "value": value,
                "schema": {
                    "type": kind,
                    "name": metric.id,
                    "description": metric.description.as_deref().unwrap_or(&metric.prompt),
                    "isRequired": metric.required,
                },
            }),
        );
        schema.insert(metric.id.clone(), json!({ "type": kind }));
        if let Some(status) = not_ok(result) {
            statuses.insert(metric.id.clone(), status);
        }
    }
    let mut data = dialgen_call_data(call);
    data.insert("summary".into(), json!(call.summary));
    data.insert("metricJson".into(), Json::Object(metric_json));
    data.insert("customMetrics".into(), Json::Object(custom));
    let mut extra = Map::new();
    if !statuses.is_empty() {
        extra.insert("metrics".into(), Json::Object(statuses));
    }
    json!({
        "success": !call.failed(),
        "callData": data,
        "metricSchema": schema,
        "postcall": extension(call, cx, extra),
    })
}

/// `callData`'s call fields, from the report's `call` block, each only when it is known.
fn dialgen_call_data(call: &CallResult) -> Map<String, Json> {
    let block = call.call.clone().unwrap_or_default();
    let facts = &block.facts;
    let mut data = Map::new();
    data.insert("id".into(), json!(platform_id(call)));
    let mut put = |key: &str, value: Option<Json>| {
        if let Some(value) = value {
            data.insert(key.into(), value);
        }
    };
    put("contactId", facts.contact_id.as_ref().map(|v| json!(v)));
    put("agentId", facts.agent_id.as_ref().map(|v| json!(v)));
    put("status", facts.status.as_ref().map(|v| json!(v)));
    put("startTime", block.started_at.map(|t| json!(t.to_string())));
    put("endTime", facts.ended_at.map(|t| json!(t.to_string())));
    put("duration", facts.duration_secs.map(|d| json!(d)));
    put("phoneNumber", facts.customer_number.as_ref().map(|v| json!(v)));
    put("contactName", facts.customer_name.as_ref().map(|v| json!(v)));
    put("recordingUrl", facts.recording_url.as_ref().map(|v| json!(v)));
    data
}

/// The platform's own id for the call when the report has it, else postcall's.
fn platform_id(call: &CallResult) -> &str {
    call.call
        .as_ref()
        .and_then(|b| b.facts.call_id.as_deref())
        .unwrap_or(&call.call_id)
}

/// postcall's status for a metric that has no `ok` value; `None` for an `ok` one.
fn not_ok(result: Option<&MetricResult>) -> Option<Json> {
    match result {
        Some(MetricResult::Ok { .. }) => None,
        Some(MetricResult::Invalid { reason, .. }) => Some(json!({"status": "invalid", "reason": reason})),
        Some(other) => Some(json!({ "status": other.status().label() })),
        None => Some(json!({ "status": "missing" })),
    }
}

/// The `postcall` object: how postcall names the call, what went wrong, which metric file.
fn extension(call: &CallResult, cx: PayloadContext<'_>, mut extra: Map<String, Json>) -> Json {
    let mut out = Map::new();
    out.insert("callId".into(), json!(call.call_id));
    out.insert("source".into(), json!(call.source));
    if let Some(sha) = cx.metrics_sha256 {
        out.insert("metricsSha256".into(), json!(sha));
    }
    if let Some(block) = &call.call {
        out.insert("call".into(), json!(block));
    }
    if !call.errors.is_empty() {
        out.insert("errors".into(), json!(call.errors));
    }
    out.append(&mut extra);
    Json::Object(out)
}
