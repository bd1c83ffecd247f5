//! Smallest AI Atoms: the post-call analytics configuration of an agent.
//!
//! Read as Atoms shows it: the GET-agent response (`data._resolvedConfig.
//! postCallAnalyticsConfig`), the `postCallAnalyticsConfig` body of a draft-config PATCH, or
//! the bare `dispositionMetrics` list. Each metric has `identifier`,
//! `dispositionMetricPrompt`, `dispositionMetricType` (or the SDK's
//! `dispositionValues: {type}`) and `choices`. Two settings beside the list map onto
//! postcall's: `summaryPrompt` (the SDK's `summary_prompt`) becomes the summary, and
//! `useReasoningModel: true` becomes `llm.reasoning_effort: high`, the nearest thing an
//! OpenAI-compatible endpoint offers to "analyse with a reasoning model" (flags and the
//! environment still override it).

use super::{Items, id_from_identifier, metric_at, platform_kind, read_items, required_text};
use crate::spec::Dialect;
use crate::spec::node::{Node, Value};
use crate::spec::parse::{read_choices, text};
use crate::spec::raw::{At, Findings, KindName, RawMetric, RawSpec};
use crate::spec::{Summary, Warning};

/// Atoms `dispositionMetricType` values.
const TYPES: &[(&str, KindName)] = &[
    ("STRING", KindName::String),
    ("BOOLEAN", KindName::Boolean),
    ("INTEGER", KindName::Integer),
    ("ENUM", KindName::Enum),
    ("DATETIME", KindName::Datetime),
];

/// Keys of one disposition metric.
const ITEM_KEYS: &[&str] = &[
    "identifier",
    "dispositionMetricPrompt",
    "dispositionMetricType",
    "dispositionValues",
    "choices",
];

/// Keys of `postCallAnalyticsConfig` (and of a document holding `dispositionMetrics`).
const CONFIG_KEYS: &[&str] = &[
    "dispositionMetrics",
    "summaryPrompt",
    "summary_prompt",
    "useReasoningModel",
    "useInternalAnalyticsModel",
];

/// The reasoning effort `useReasoningModel: true` asks for (README, "Atoms").
pub const REASONING_EFFORT: &str = "high";

/// Where the GET-agent response, an agent export or a saved `data` object keep the config,
/// outermost first: (path from the document, how messages name it).
const CONFIG_PATHS: &[(&[&str], &str)] = &[
    (&["postCallAnalyticsConfig"], "`postCallAnalyticsConfig`"),
    (
        &["data", "_resolvedConfig", "postCallAnalyticsConfig"],
        "`data._resolvedConfig.postCallAnalyticsConfig`",
    ),
    (
        &["_resolvedConfig", "postCallAnalyticsConfig"],
        "`_resolvedConfig.postCallAnalyticsConfig`",
    ),
    (&["data", "postCallAnalyticsConfig"], "`data.postCallAnalyticsConfig`"),
];

/// The `postCallAnalyticsConfig` inside `node`, and how to name it.
pub(super) fn config(node: &Node) -> Option<(&Node, &'static str)> {
    CONFIG_PATHS.iter().find_map(|(path, name)| {
        path.iter()
            .try_fold(node, |n, key| n.get(key))
            .map(|config| (config, *name))
    })
}

pub(super) fn is_item(item: &Node) -> bool {
    ["identifier", "dispositionMetricType", "dispositionMetricPrompt"]
        .iter()
        .any(|k| item.get(k).is_some())
}

pub(crate) fn read(node: &Node, found: &mut Findings) -> RawSpec {
    if node.as_seq().is_some() {
        return read_items(
            Dialect::Atoms,
            Items::List(node, "the top-level list"),
            found,
            read_item,
        );
    }
    let (config, place) = config(node).unwrap_or((node, "the document"));
    let Some(map) = config.as_map() else {
        found.error(
            config.pos,
            format!(
                "{place} should be a mapping with `dispositionMetrics`, found {}",
                config.kind()
            ),
        );
        return RawSpec::new(Dialect::Atoms);
    };
    found.ignored_keys(map, CONFIG_KEYS, place);
    let mut raw = match config.get("dispositionMetrics") {
        Some(list) => read_items(
            Dialect::Atoms,
            Items::List(list, "`dispositionMetrics`"),
            found,
            read_item,
        ),
        None => {
            found.error(
                config.pos,
                format!("{place} has no `dispositionMetrics`; it should hold the list of metrics"),
            );
            RawSpec::new(Dialect::Atoms)
        }
    };
    read_settings(config, &mut raw, found);
    raw
}

/// `summaryPrompt` and the analytics-model flags beside the metric list.
fn read_settings(config: &Node, raw: &mut RawSpec, found: &mut Findings) {
    for key in ["summaryPrompt", "summary_prompt"] {
        if let Some(p) = config.get(key).and_then(|n| text(n, &format!("`{key}`"), found))
            && !p.value.trim().is_empty()
        {
            raw.summary = Some(At::new(
                Summary {
                    prompt: p.value.trim().to_owned(),
                },
                p.pos,
            ));
        }
    }
    if let Some(flag) = flag(config, "useReasoningModel", found)
        && flag.value
    {
        raw.llm.reasoning_effort = Some(REASONING_EFFORT.to_owned());
        raw.llm_pos = flag.pos;
    }
    if let Some(flag) = flag(config, "useInternalAnalyticsModel", found)
        && flag.value
    {
        found.warnings.push(Warning::located(
            "useInternalAnalyticsModel",
            "Atoms' own analytics model is not available outside Atoms; postcall asks the endpoint you configure (`--base-url`/`--model`, or the local model)",
            flag.pos,
        ));
    }
}

fn flag(config: &Node, key: &str, found: &mut Findings) -> Option<At<bool>> {
    let node = config.get(key).filter(|n| !n.is_null())?;
    match node.value {
        Value::Bool(b) => Some(At::new(b, node.pos)),
        _ => {
            found.error(
                node.pos,
                format!("`{key}` should be true or false, found {}", node.kind()),
            );
            None
        }
    }
}

fn read_item(index: usize, item: &Node, found: &mut Findings) -> RawMetric {
    let mut m = metric_at(index, item);
    let place = format!("dispositionMetrics[{index}]");
    if let Some(ident) = required_text(item, "identifier", &place, found) {
        id_from_identifier(&mut m, ident, found);
    }
    let label = m.label();
    if let Some(map) = item.as_map() {
        found.ignored_keys(map, ITEM_KEYS, &label);
    }
    m.prompt = required_text(item, "dispositionMetricPrompt", &label, found);
    m.kind =
        item_type(item, &label, found).and_then(|t| platform_kind(&label, "dispositionMetricType", t, TYPES, found));
    if let Some(c) = item.get("choices").filter(|c| !c.is_null()) {
        // Exports may carry `choices: []` on every metric; only enums use them.
        let empty = c.as_seq().is_some_and(<[Node]>::is_empty);
        let is_enum = m.kind.as_ref().is_some_and(|k| k.value == KindName::Enum);
        if is_enum || !empty {
            m.choices = read_choices(&label, c, found);
        }
    }
    m
}

/// `dispositionMetricType`, or the SDK's `dispositionValues: {type: ...}`.
fn item_type(item: &Node, label: &str, found: &mut Findings) -> Option<At<String>> {
    let direct = item
        .get("dispositionMetricType")
        .and_then(|n| text(n, &format!("{label}: `dispositionMetricType`"), found));
    let values = item.get("dispositionValues").filter(|n| !n.is_null());
    let nested = values.and_then(|v| match v.get("type") {
        Some(t) => text(t, &format!("{label}: `dispositionValues.type`"), found),
        None => {
            found.error(
                v.pos,
                format!("{label}: `dispositionValues` should be a mapping with `type`, like `{{type: ENUM}}`"),
            );
            None
        }
    });
    if let Some(map) = values.and_then(Node::as_map) {
        found.ignored_keys(map, &["type"], &format!("{label}: `dispositionValues`"));
    }
    match (direct, nested) {
        (Some(a), Some(b)) if !a.value.eq_ignore_ascii_case(&b.value) => {
            found.error(
                b.pos,
                format!(
                    "{label}: `dispositionMetricType` is `{}` but `dispositionValues.type` is `{}`; keep one",
                    a.value, b.value
                ),
            );
            None
        }
        (Some(t), _) | (None, Some(t)) => Some(t),
        (None, None) => {
            if item.get("dispositionMetricType").is_none() && values.is_none() {
                found.error(item.pos, format!("{label} has no `dispositionMetricType`; add it"));
            }
            None
        }
    }
}
