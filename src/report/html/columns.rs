//! The calls of a review page, stored column by column.
//!
//! A 100k-call page must stay well under 40 MB and open in under two seconds, so each
//! call's fields are not objects with repeated keys: every field is one array over the
//! calls, and a metric's statuses are one string with a letter per call. The page's script
//! indexes them by call number. What a metric result carries besides its value, status,
//! confidence and reasoning (an invalid answer's reason and raw text, evidence,
//! consistency) is kept as the report serialises it, so the page shows fields added to
//! reports later without this file changing.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::report::{CallError, CallResult, MetricResult, Value};

/// One letter per status, in the page's `s` strings.
pub(crate) fn status_letter(result: Option<&MetricResult>) -> char {
    match result {
        None => 'm',
        Some(MetricResult::Ok { .. }) => 'o',
        Some(MetricResult::Null { .. }) => 'n',
        Some(MetricResult::NotApplicable { .. }) => 'a',
        Some(MetricResult::Invalid { .. }) => 'i',
    }
}

#[derive(Debug)]
pub(crate) struct Columns<'a> {
    pub id: Vec<&'a str>,
    pub source: Vec<&'a str>,
    /// When the call started (RFC 3339), from its metadata.
    pub started: Vec<Option<String>>,
    pub summary: Vec<Option<&'a str>>,
    /// `0` for a call without errors, to keep the page small.
    pub errors: Vec<Slot<&'a [CallError]>>,
    /// The call's metadata, format, usage, cost, truncation and skip reason.
    pub facts: Vec<Json>,
    pub metrics: IndexMap<&'a str, MetricColumn<'a>>,
}

/// A value or `0` (shorter than `null` and as easy to test for).
#[derive(Debug)]
pub(crate) enum Slot<T> {
    Empty,
    Full(T),
}

impl<T: Serialize> Serialize for Slot<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Slot::Empty => serializer.serialize_u8(0),
            Slot::Full(value) => value.serialize(serializer),
        }
    }
}

#[derive(Debug, Default)]
pub(crate) struct MetricColumn<'a> {
    /// The value when the status is ok, else null.
    pub v: Vec<Option<&'a Value>>,
    /// One [`status_letter`] per call.
    pub s: String,
    pub c: Vec<Option<f64>>,
    pub r: Vec<Option<&'a str>>,
    /// Everything else the result says (see the module doc), or `0`.
    pub x: Vec<Json>,
}

impl<'a> Columns<'a> {
    pub(crate) fn of(calls: &'a [CallResult], metric_ids: &[&'a str]) -> Columns<'a> {
        let mut columns = Columns {
            id: Vec::with_capacity(calls.len()),
            source: Vec::with_capacity(calls.len()),
            started: Vec::with_capacity(calls.len()),
            summary: Vec::with_capacity(calls.len()),
            errors: Vec::with_capacity(calls.len()),
            facts: Vec::with_capacity(calls.len()),
            metrics: metric_ids.iter().map(|id| (*id, MetricColumn::default())).collect(),
        };
        for call in calls {
            columns.push(call);
        }
        columns
    }

    fn push(&mut self, call: &'a CallResult) {
        self.id.push(&call.call_id);
        self.source.push(&call.source);
        self.started
            .push(call.call.as_ref().and_then(|c| c.started_at).map(|t| t.to_string()));
        self.summary.push(call.summary.as_deref());
        self.errors.push(if call.errors.is_empty() {
            Slot::Empty
        } else {
            Slot::Full(&call.errors)
        });
        self.facts.push(facts(call));
        for (id, column) in &mut self.metrics {
            let result = call.metrics.get(*id);
            column.s.push(status_letter(result));
            column.v.push(result.and_then(MetricResult::value));
            column.c.push(result.and_then(MetricResult::confidence));
            column.r.push(result.and_then(MetricResult::reasoning));
            column.x.push(result.map_or(Json::from(0), extras));
        }
    }
}

/// The columns the page needs to draw its first view, filter and sort: ids, dates, values,
/// statuses, confidences. Small, so the page parses it at once.
#[derive(Serialize)]
pub(crate) struct Table<'c, 'a> {
    id: &'c [&'a str],
    source: &'c [&'a str],
    started: &'c [Option<String>],
    metrics: IndexMap<&'a str, MetricTable<'c, 'a>>,
}

#[derive(Serialize)]
struct MetricTable<'c, 'a> {
    v: &'c [Option<&'a Value>],
    s: &'c str,
    c: &'c [Option<f64>],
}

/// The text of the calls (summaries, reasonings, errors, facts): most of a big page's
/// bytes, and needed only to show one call or to search, so it may come gzip'd.
#[derive(Serialize)]
pub(crate) struct Text<'c, 'a> {
    summary: &'c [Option<&'a str>],
    errors: &'c [Slot<&'a [CallError]>],
    facts: &'c [Json],
    metrics: IndexMap<&'a str, MetricText<'c, 'a>>,
}

#[derive(Serialize)]
struct MetricText<'c, 'a> {
    r: &'c [Option<&'a str>],
    x: &'c [Json],
}

impl<'a> Columns<'a> {
    pub(crate) fn table(&self) -> Table<'_, 'a> {
        Table {
            id: &self.id,
            source: &self.source,
            started: &self.started,
            metrics: self
                .metrics
                .iter()
                .map(|(id, m)| {
                    let table = MetricTable {
                        v: &m.v,
                        s: &m.s,
                        c: &m.c,
                    };
                    (*id, table)
                })
                .collect(),
        }
    }

    pub(crate) fn text(&self) -> Text<'_, 'a> {
        Text {
            summary: &self.summary,
            errors: &self.errors,
            facts: &self.facts,
            metrics: self
                .metrics
                .iter()
                .map(|(id, m)| (*id, MetricText { r: &m.r, x: &m.x }))
                .collect(),
        }
    }
}

/// What a result says besides status, value, confidence and reasoning, or `0`.
fn extras(result: &MetricResult) -> Json {
    let Ok(Json::Object(mut object)) = serde_json::to_value(result) else {
        return Json::from(0);
    };
    for shown in ["status", "value", "confidence", "reasoning"] {
        object.remove(shown);
    }
    if object.is_empty() {
        Json::from(0)
    } else {
        Json::Object(object)
    }
}

/// The call-level facts one call's page shows, or `0` when there are none to show.
fn facts(call: &CallResult) -> Json {
    let mut facts = Map::new();
    let mut put = |key: &str, value: Json| {
        if !value.is_null() {
            facts.insert(key.to_string(), value);
        }
    };
    put("format", Json::from(call.format.name()));
    // The start time has its own column; the rest of the metadata block is shown as it is.
    if let Some(block) = &call.call {
        put("call", serde_json::to_value(&block.facts).unwrap_or_default());
    }
    put("truncated", serde_json::to_value(&call.truncated).unwrap_or_default());
    put("skipped", serde_json::to_value(&call.skipped).unwrap_or_default());
    put("cost_usd", serde_json::to_value(call.cost_usd).unwrap_or_default());
    // `[requests, cached answers]`: the usage a reviewer asks about, in a few bytes.
    if call.usage.requests > 0 || call.usage.cached > 0 {
        put("requests", serde_json::json!([call.usage.requests, call.usage.cached]));
    }
    Json::Object(facts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;

    #[test]
    fn statuses_are_one_letter_per_call_and_values_only_when_ok() {
        let report = report_of(
            vec![enum_metric("outcome", &["resolved", "escalated"])],
            vec![
                call("c1", vec![("outcome", ok_text("resolved"))]),
                call("c2", vec![("outcome", invalid())]),
                call("c3", vec![]),
                call("c4", vec![("outcome", not_applicable())]),
            ],
        );
        let columns = Columns::of(&report.calls, &["outcome"]);
        let outcome = &columns.metrics["outcome"];
        assert_eq!(outcome.s, "oima");
        assert_eq!(outcome.v[0], Some(&Value::Text("resolved".into())));
        assert_eq!(outcome.v[1], None);
        // An invalid answer keeps its reason and raw text for the call's page.
        assert!(outcome.x[1].get("reason").is_some(), "{:?}", outcome.x[1]);
        assert_eq!(outcome.x[0], Json::from(0));
        assert_eq!(columns.id, ["c1", "c2", "c3", "c4"]);
    }
}
