//! PolyAI-style metric definitions: a `name` for people and a `definition` saying what
//! the metric measures; boolean (the definition holds or not) or categorical (one of
//! `options`). PolyAI's metrics page defines exactly these two parts and two kinds but
//! publishes no file format, so postcall reads them the plainest way: a list (bare or
//! under `metrics`) or one object, `type: boolean | categorical` (optional: categorical
//! when `options` are given, boolean otherwise). The id is the snake_case of the name
//! (`Booking completed` → `booking_completed`); `validate` says so.

use super::{items_at, named_metric, read_items, required_text};
use crate::spec::Dialect;
use crate::spec::node::Node;
use crate::spec::parse::{read_choices, text};
use crate::spec::raw::{At, Findings, KindName, RawMetric, RawSpec};

const ITEM_KEYS: &[&str] = &["name", "definition", "type", "options"];

pub(crate) fn read(node: &Node, found: &mut Findings) -> RawSpec {
    let items = items_at(node, &[("metrics", "`metrics`")], found);
    read_items(Dialect::Polyai, items, found, read_item)
}

fn read_item(index: usize, item: &Node, found: &mut Findings) -> RawMetric {
    let mut m = named_metric(index, item, ITEM_KEYS, found);
    let label = m.label();
    m.prompt = required_text(item, "definition", &label, found);
    let options = item
        .get("options")
        .filter(|n| !n.is_null())
        .and_then(|o| read_choices(&label, o, found));
    let written = item
        .get("type")
        .and_then(|t| text(t, &format!("{label}: `type`"), found));
    m.kind = kind(&label, written, options.as_ref(), item, found);
    if m.kind.as_ref().is_some_and(|k| k.value == KindName::Enum) {
        m.choices = options;
    }
    m
}

/// `boolean` or `categorical`, written or implied by `options`.
fn kind(
    label: &str,
    written: Option<At<String>>,
    options: Option<&At<Vec<At<String>>>>,
    item: &Node,
    found: &mut Findings,
) -> Option<At<KindName>> {
    let Some(t) = written else {
        let kind = if options.is_some() {
            KindName::Enum
        } else {
            KindName::Boolean
        };
        return Some(At::new(kind, item.pos));
    };
    match t.value.trim().to_ascii_lowercase().as_str() {
        "boolean" => {
            if let Some(o) = options {
                found.error(
                    o.pos,
                    format!("{label}: a boolean metric has no `options`; remove them, or use `type: categorical`"),
                );
            }
            Some(At::new(KindName::Boolean, t.pos))
        }
        "categorical" => {
            if options.is_none() {
                found.error(
                    t.pos,
                    format!(
                        "{label}: a categorical metric needs `options`, e.g. `options: [booked, declined, undecided]`"
                    ),
                );
                return None;
            }
            Some(At::new(KindName::Enum, t.pos))
        }
        other => {
            found.error(
                t.pos,
                format!("{label}: unknown `type` `{other}`; expected boolean or categorical"),
            );
            None
        }
    }
}
