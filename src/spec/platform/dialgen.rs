//! Dialgen custom metrics: `name`, `dataType` (string, number, boolean, array), `prompt`,
//! `isRequired`, `description`; the id is the snake_case of the name (Dialgen keys its
//! results by name). Read as a `customMetrics` list, a `metrics` list, a bare list, or one
//! metric object on its own, as Dialgen's docs show it.

use super::{items_at, named_metric, platform_kind, read_items, required_text};
use crate::spec::Dialect;
use crate::spec::node::{Node, Value};
use crate::spec::parse::text;
use crate::spec::raw::{Findings, KindName, RawMetric, RawSpec};

/// Dialgen `dataType` values.
const TYPES: &[(&str, KindName)] = &[
    ("string", KindName::String),
    ("number", KindName::Number),
    ("boolean", KindName::Boolean),
    ("array", KindName::List),
];

const ITEM_KEYS: &[&str] = &["name", "dataType", "prompt", "isRequired", "description"];

pub(crate) fn read(node: &Node, found: &mut Findings) -> RawSpec {
    let items = items_at(
        node,
        &[("customMetrics", "`customMetrics`"), ("metrics", "`metrics`")],
        found,
    );
    read_items(Dialect::Dialgen, items, found, read_item)
}

fn read_item(index: usize, item: &Node, found: &mut Findings) -> RawMetric {
    let mut m = named_metric(index, item, ITEM_KEYS, found);
    let label = m.label();
    m.prompt = required_text(item, "prompt", &label, found);
    m.kind =
        required_text(item, "dataType", &label, found).and_then(|t| platform_kind(&label, "dataType", t, TYPES, found));
    if let Some(r) = item.get("isRequired").filter(|n| !n.is_null()) {
        match r.value {
            Value::Bool(b) => m.required = b,
            _ => found.error(
                r.pos,
                format!("{label}: `isRequired` should be true or false, found {}", r.kind()),
            ),
        }
    }
    m.description = item
        .get("description")
        .and_then(|d| text(d, &format!("{label}: `description`"), found))
        .map(|t| t.value);
    m
}
