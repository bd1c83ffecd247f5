//! Metric definitions written for another platform (Smallest AI Atoms, Dialgen, PolyAI),
//! converted to postcall's own.
//!
//! Teams moving from these platforms point postcall at the definitions they already have,
//! in YAML or JSON, as the platform shows or exports them, without rewriting them. The
//! dialect is detected from the shape of the document ([`detect`]); `Spec.dialect` records
//! which one was read. Each platform's reader is its own module; this one holds what they
//! share: finding the list, reading each item, the type tables, derived ids.
//!
//! Unknown keys: postcall's own format rejects them (people type it by hand, so an unknown
//! key is a typo). A platform file was written for another tool, so a key postcall does not
//! read is a warning at its line instead: the file still loads, and nothing the user
//! expected to matter is dropped silently. Housekeeping keys (`_id`, timestamps) and the
//! parts of an API response around the metric definitions (an agent's voice, prompt, ...)
//! are not warned about.

mod atoms;
mod dialgen;
mod polyai;

pub(crate) use atoms::read as read_atoms;
pub(crate) use dialgen::read as read_dialgen;
pub(crate) use polyai::read as read_polyai;

use super::Dialect;
use super::lint::{is_valid_id, snake_case};
use super::node::Node;
use super::parse::text;
use super::raw::{At, Findings, KindName, RawMetric, RawSpec};

/// Which dialect a document is written in:
///
/// - **Atoms**: a `postCallAnalyticsConfig` (at the top, under `data`, or under
///   `data._resolvedConfig` as the GET-agent response has it), or a `dispositionMetrics`
///   list; or a top-level list whose first item has `identifier`, `dispositionMetricType` or
///   `dispositionMetricPrompt`.
/// - **PolyAI**: an item (the document itself, a top-level list's first item or the
///   `metrics` list's first) with `name` and `definition`.
/// - **Dialgen**: a `customMetrics` list; a single metric object with `dataType`; or an item
///   as above with `dataType`, or with `name` and no `id`.
/// - **postcall** otherwise (its reader reports what is missing).
pub(crate) fn detect(node: &Node) -> Dialect {
    if let Some(seq) = node.as_seq() {
        return seq.first().map_or(Dialect::Postcall, item_dialect);
    }
    if atoms::config(node).is_some() || node.get("dispositionMetrics").is_some() {
        return Dialect::Atoms;
    }
    if node.get("customMetrics").is_some() {
        return Dialect::Dialgen;
    }
    if node.get("metrics").is_none() && node.get("version").is_none() {
        if is_polyai_item(node) {
            return Dialect::Polyai;
        }
        if node.get("dataType").is_some() {
            return Dialect::Dialgen;
        }
    }
    match node.get("metrics").and_then(Node::as_seq).and_then(<[Node]>::first) {
        Some(item) if is_polyai_item(item) => Dialect::Polyai,
        Some(item) if item.get("dataType").is_some() || (item.get("name").is_some() && item.get("id").is_none()) => {
            Dialect::Dialgen
        }
        _ => Dialect::Postcall,
    }
}

/// The dialect of one metric item, by the keys only that platform uses.
fn item_dialect(item: &Node) -> Dialect {
    if atoms::is_item(item) {
        Dialect::Atoms
    } else if is_polyai_item(item) {
        Dialect::Polyai
    } else if item.get("dataType").is_some() || item.get("name").is_some() {
        Dialect::Dialgen
    } else {
        Dialect::Postcall
    }
}

fn is_polyai_item(item: &Node) -> bool {
    item.get("definition").is_some() && item.get("prompt").is_none() && item.get("dataType").is_none()
}

/// Where a platform document keeps its metrics: a list, or one metric object on its own.
pub(super) enum Items<'a> {
    List(&'a Node, &'a str),
    Single(&'a Node),
}

/// Where a file of `Items` keeps its metrics: a bare list, the list under the first of
/// `wrappers` present (`(key, as messages name it)`; the document's other keys are warned
/// about), or else one metric object on its own.
pub(super) fn items_at<'a>(node: &'a Node, wrappers: &[(&str, &'a str)], found: &mut Findings) -> Items<'a> {
    if node.as_seq().is_some() {
        return Items::List(node, "the top-level list");
    }
    for &(key, shown) in wrappers {
        if let Some(list) = node.get(key) {
            found.ignored_keys(node.as_map().unwrap_or_default(), &[key], "the document");
            return Items::List(list, shown);
        }
    }
    Items::Single(node)
}

/// The part every platform shares: read each item of the list (or the one object) that is
/// a mapping, warning about the keys the item's reader does not know.
pub(super) fn read_items(
    dialect: Dialect,
    items: Items<'_>,
    found: &mut Findings,
    mut read_item: impl FnMut(usize, &Node, &mut Findings) -> RawMetric,
) -> RawSpec {
    let mut raw = RawSpec::new(dialect);
    let (list, place) = match items {
        Items::Single(item) => {
            raw.metrics_pos = item.pos;
            raw.metrics.push(read_item(0, item, found));
            return raw;
        }
        Items::List(list, place) => (list, place),
    };
    raw.metrics_pos = list.pos;
    let Some(items) = list.as_seq() else {
        found.error(
            list.pos,
            format!("{place} should be a list of metrics, found {}", list.kind()),
        );
        return raw;
    };
    if items.is_empty() {
        found.error(list.pos, format!("{place} is empty; add at least one metric"));
    }
    for (index, item) in items.iter().enumerate() {
        if item.as_map().is_none() {
            found.error(
                item.pos,
                format!(
                    "metric #{} in {place} should be a mapping, found {}",
                    index + 1,
                    item.kind()
                ),
            );
            continue;
        }
        raw.metrics.push(read_item(index, item, found));
    }
    raw
}

/// A new metric for item `index`, at the item's position.
pub(super) fn metric_at(index: usize, item: &Node) -> RawMetric {
    RawMetric {
        index,
        pos: item.pos,
        ..RawMetric::default()
    }
}

/// A metric that the platform names for people (`name`, required), its id made from the
/// name, with every key of the item that is not in `keys` warned about.
pub(super) fn named_metric(index: usize, item: &Node, keys: &[&str], found: &mut Findings) -> RawMetric {
    let mut m = metric_at(index, item);
    if let Some(name) = required_text(item, "name", &format!("metrics[{index}]"), found) {
        id_from_name(&mut m, name);
    }
    if let Some(map) = item.as_map() {
        found.ignored_keys(map, keys, &m.label());
    }
    m
}

pub(super) fn required_text(item: &Node, key: &str, label: &str, found: &mut Findings) -> Option<At<String>> {
    let value = item.get(key).and_then(|n| text(n, &format!("{label}: `{key}`"), found));
    if value.is_none() && item.get(key).is_none_or(Node::is_null) {
        found.error(item.pos, format!("{label} has no `{key}`; add it"));
    }
    value
}

/// The id of a metric the platform names for people (`"Booking completed"`): its
/// snake_case. The name is kept on the metric so `validate` can say where the id came from.
pub(super) fn id_from_name(m: &mut RawMetric, name: At<String>) {
    let id = snake_case(&name.value);
    if id != name.value {
        m.name = Some(name.value.clone());
    }
    m.id = Some(At::new(id, name.pos));
}

/// An Atoms identifier that should already be an id: used as is when valid, converted to
/// snake_case (with a warning) when that makes it one.
pub(super) fn id_from_identifier(m: &mut RawMetric, ident: At<String>, found: &mut Findings) {
    let id = snake_case(&ident.value);
    if !is_valid_id(&ident.value) && is_valid_id(&id) {
        found.warn(
            ident.pos,
            id.clone(),
            format!("identifier `{}` is not a valid postcall id; using `{id}`", ident.value),
        );
        m.name = Some(ident.value);
        m.id = Some(At::new(id, ident.pos));
    } else {
        // Valid already, or not fixable by renaming: the id rule will say why.
        m.id = Some(ident);
    }
}

pub(super) fn platform_kind(
    label: &str,
    key: &str,
    t: At<String>,
    table: &[(&str, KindName)],
    found: &mut Findings,
) -> Option<At<KindName>> {
    match table.iter().find(|(name, _)| name.eq_ignore_ascii_case(t.value.trim())) {
        Some((_, kind)) => Some(At::new(*kind, t.pos)),
        None => {
            let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
            found.error(
                t.pos,
                format!(
                    "{label}: unknown `{key}` `{}`; expected one of: {}",
                    t.value,
                    names.join(", ")
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests;
