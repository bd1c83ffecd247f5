//! Smallest AI Atoms and Dialgen metric definitions, converted to postcall's own.
//!
//! Teams moving from these platforms can point postcall at the definitions they already
//! have, in YAML or JSON, without rewriting them. The dialect is detected from the shape of
//! the document ([`detect`]); `Spec.dialect` records which one was read.
//!
//! Platform files are exported by machines and may carry housekeeping fields (`_id`,
//! `createdAt`, ...), so keys these readers do not use are ignored rather than rejected;
//! postcall's own format is strict about unknown keys because people type it by hand.

use super::Dialect;
use super::lint::{is_valid_id, snake_case};
use super::node::Node;
use super::parse::{read_choices, text};
use super::raw::{At, Findings, KindName, RawMetric, RawSpec};

/// Which dialect a document is written in:
///
/// - **Atoms**: a mapping with `postCallAnalyticsConfig.dispositionMetrics` or a top-level
///   `dispositionMetrics` list; or a top-level list whose first item has `identifier`,
///   `dispositionMetricType` or `dispositionMetricPrompt`.
/// - **Dialgen**: a mapping with a `customMetrics` list; or a `metrics` list whose first item
///   has `dataType`, or a `name` and no `id`; or a top-level list whose first item has
///   `dataType` or `name`.
/// - **postcall** otherwise (its reader reports what is missing).
pub(crate) fn detect(node: &Node) -> Dialect {
    let first_item = |list: Option<&Node>| list.and_then(Node::as_seq).and_then(|s| s.first()).cloned();
    if let Some(seq) = node.as_seq() {
        return match seq.first() {
            Some(item) if is_atoms_item(item) => Dialect::Atoms,
            Some(item) if item.get("dataType").is_some() || item.get("name").is_some() => Dialect::Dialgen,
            _ => Dialect::Postcall,
        };
    }
    if node.get("postCallAnalyticsConfig").is_some() || node.get("dispositionMetrics").is_some() {
        return Dialect::Atoms;
    }
    if node.get("customMetrics").is_some() {
        return Dialect::Dialgen;
    }
    match first_item(node.get("metrics")) {
        Some(item) if item.get("dataType").is_some() || (item.get("name").is_some() && item.get("id").is_none()) => {
            Dialect::Dialgen
        }
        _ => Dialect::Postcall,
    }
}

fn is_atoms_item(item: &Node) -> bool {
    ["identifier", "dispositionMetricType", "dispositionMetricPrompt"]
        .iter()
        .any(|k| item.get(k).is_some())
}

/// Atoms `dispositionMetricType` values.
const ATOMS_TYPES: &[(&str, KindName)] = &[
    ("STRING", KindName::String),
    ("BOOLEAN", KindName::Boolean),
    ("INTEGER", KindName::Integer),
    ("ENUM", KindName::Enum),
    ("DATETIME", KindName::Datetime),
];

/// Dialgen `dataType` values.
const DIALGEN_TYPES: &[(&str, KindName)] = &[
    ("string", KindName::String),
    ("number", KindName::Number),
    ("boolean", KindName::Boolean),
    ("array", KindName::List),
];

/// Smallest AI Atoms: `identifier`, `dispositionMetricPrompt`, `dispositionMetricType`,
/// `choices`. Identifiers that are not valid ids become snake_case, with a warning.
pub(crate) fn read_atoms(node: &Node, found: &mut Findings) -> RawSpec {
    let list = node
        .get("postCallAnalyticsConfig")
        .map(|c| {
            (
                c.get("dispositionMetrics"),
                "`postCallAnalyticsConfig.dispositionMetrics`",
            )
        })
        .or_else(|| {
            node.get("dispositionMetrics")
                .map(|l| (Some(l), "`dispositionMetrics`"))
        })
        .unwrap_or((Some(node), "the top-level list"));
    read_platform(Dialect::Atoms, node, list, found, |index, item, found| {
        let mut m = RawMetric {
            index,
            pos: item.pos,
            ..RawMetric::default()
        };
        let place = format!("dispositionMetrics[{index}]");
        if let Some(ident) = required_text(item, "identifier", &place, found) {
            let id = snake_case(&ident.value);
            if !is_valid_id(&ident.value) && is_valid_id(&id) {
                found.warn(
                    ident.pos,
                    id.clone(),
                    format!("identifier `{}` is not a valid postcall id; using `{id}`", ident.value),
                );
                m.id = Some(At::new(id, ident.pos));
            } else {
                // Valid already, or not fixable by renaming: the id rule will say why.
                m.id = Some(ident);
            }
        }
        let label = m.label();
        m.prompt = required_text(item, "dispositionMetricPrompt", &label, found);
        m.kind = required_text(item, "dispositionMetricType", &label, found)
            .and_then(|t| platform_kind(&label, "dispositionMetricType", t, ATOMS_TYPES, found));
        if let Some(c) = item.get("choices").filter(|c| !c.is_null()) {
            // Exports may carry `choices: []` on every metric; only enums use them.
            let empty = c.as_seq().is_some_and(<[Node]>::is_empty);
            let is_enum = m.kind.as_ref().is_some_and(|k| k.value == KindName::Enum);
            if is_enum || !empty {
                m.choices = read_choices(&label, c, found);
            }
        }
        m
    })
}

/// Dialgen custom metrics: `name`, `dataType`, `prompt`, `isRequired`, `description`; the id
/// is the snake_case of the name.
pub(crate) fn read_dialgen(node: &Node, found: &mut Findings) -> RawSpec {
    let list = node
        .get("customMetrics")
        .map(|l| (Some(l), "`customMetrics`"))
        .or_else(|| node.get("metrics").map(|l| (Some(l), "`metrics`")))
        .unwrap_or((Some(node), "the top-level list"));
    read_platform(Dialect::Dialgen, node, list, found, |index, item, found| {
        let mut m = RawMetric {
            index,
            pos: item.pos,
            ..RawMetric::default()
        };
        let place = format!("metrics[{index}]");
        m.id = required_text(item, "name", &place, found).map(|n| At::new(snake_case(&n.value), n.pos));
        let label = m.label();
        m.prompt = required_text(item, "prompt", &label, found);
        m.kind = required_text(item, "dataType", &label, found)
            .and_then(|t| platform_kind(&label, "dataType", t, DIALGEN_TYPES, found));
        if let Some(r) = item.get("isRequired").filter(|n| !n.is_null()) {
            match r.value {
                super::node::Value::Bool(b) => m.required = b,
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
    })
}

/// The part both platforms share: find the list, read each item that is a mapping.
fn read_platform(
    dialect: Dialect,
    root: &Node,
    (list, place): (Option<&Node>, &str),
    found: &mut Findings,
    mut read_item: impl FnMut(usize, &Node, &mut Findings) -> RawMetric,
) -> RawSpec {
    let mut raw = RawSpec::new(dialect);
    let Some(list) = list else {
        found.error(
            root.pos,
            format!("{place} is missing; it should hold the list of metrics"),
        );
        return raw;
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

fn required_text(item: &Node, key: &str, label: &str, found: &mut Findings) -> Option<At<String>> {
    let value = item.get(key).and_then(|n| text(n, &format!("{label}: `{key}`"), found));
    if value.is_none() && item.get(key).is_none_or(Node::is_null) {
        found.error(item.pos, format!("{label} has no `{key}`; add it"));
    }
    value
}

fn platform_kind(
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
mod tests {
    use super::*;

    fn dialect(text: &str) -> Dialect {
        detect(&Node::parse(text).unwrap())
    }

    #[test]
    fn detects_each_dialect_from_its_shape() {
        assert_eq!(dialect("version: 1\nmetrics:\n  - id: a\n"), Dialect::Postcall);
        assert_eq!(
            dialect("postCallAnalyticsConfig:\n  dispositionMetrics: []\n"),
            Dialect::Atoms
        );
        assert_eq!(dialect("dispositionMetrics: []\n"), Dialect::Atoms);
        assert_eq!(dialect("[{\"identifier\": \"a\"}]"), Dialect::Atoms);
        assert_eq!(dialect("customMetrics: []\n"), Dialect::Dialgen);
        assert_eq!(
            dialect("metrics:\n  - name: Call outcome\n    dataType: string\n"),
            Dialect::Dialgen
        );
        assert_eq!(dialect("- name: Call outcome\n  dataType: string\n"), Dialect::Dialgen);
        assert_eq!(dialect("just text"), Dialect::Postcall);
    }
}
