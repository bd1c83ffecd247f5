//! Reading a metric file (postcall YAML, or a platform's JSON/YAML) into a checked [`Spec`].
//!
//! The text becomes a positioned [`Node`] tree (syntax errors and duplicate keys stop here),
//! the dialect is detected ([`platform::detect`]), the matching reader checks shape and
//! spelling into a [`RawSpec`], and [`lint::check`] checks meaning. Every error found on the
//! way is returned, sorted by position, not just the first.

use super::node::{Key, Node, Pos, Value};
use super::raw::{At, Findings, KindName, Num, RawMetric, RawSpec};
use super::{Dialect, Expect, LlmSection, Spec, Strategy, Summary, Warning, lint, platform};

/// A metric file that cannot be used. Carries file, line and column where known, and
/// what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {message}", position(*.line, *.column))]
pub struct SpecError {
    pub path: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl SpecError {
    pub(crate) fn at(path: &str, pos: Option<Pos>, message: impl Into<String>) -> SpecError {
        SpecError {
            path: path.to_owned(),
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            message: message.into(),
        }
    }
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// Keys accepted at the top of a postcall metric file.
pub const TOP_KEYS: &[&str] = &[
    "version", "include", "llm", "strategy", "context", "summary", "evidence", "metrics",
];
/// Keys accepted in one metric.
pub const METRIC_KEYS: &[&str] = &[
    "id",
    "type",
    "prompt",
    "choices",
    "range",
    "required",
    "description",
    "applies_when",
    "model",
    "expect",
    "evidence",
];
/// Keys accepted in `llm:` (mirrors [`LlmSection`]).
pub const LLM_KEYS: &[&str] = &[
    "base_url",
    "model",
    "api_key_env",
    "provider",
    "azure_api_version",
    "temperature",
    "seed",
    "max_tokens",
    "max_input_tokens",
    "reasoning_effort",
    "structured_output",
    "schema_dialect",
    "answer_limits",
    "extra_body",
    "price",
    "prices",
    "service_tier",
    "timeout_secs",
    "local",
];
/// Metric file versions this build reads.
pub const SUPPORTED_VERSIONS: &[u32] = &[1];

/// One metric file read and linted on its own, before it is composed with others
/// ([`super::compose`]): its spec, its warnings, and what composing needs to know.
#[derive(Debug, Clone)]
pub(crate) struct ParsedFile {
    pub spec: Spec,
    pub warnings: Vec<Warning>,
    /// One per metric of `spec`, in order: where its id was written, and the platform name
    /// it was derived from.
    pub origins: Vec<Origin>,
    /// `include:` entries as written (paths relative to this file).
    pub includes: Vec<At<String>>,
    /// Where each setting was written (`None`: this file leaves it to the others).
    pub written: Written,
    pub metrics_pos: Option<Pos>,
}

/// Where a metric came from within its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub pos: Option<Pos>,
    /// The display name the id was derived from, when the file named the metric for people.
    pub name: Option<String>,
}

/// Positions of the settings a file writes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Written {
    pub llm: Option<Pos>,
    pub strategy: Option<Pos>,
    pub context: Option<Pos>,
    pub summary: Option<Pos>,
}

/// Parses and lints `text` as one whole metric file: `Err` holds every error found (lint
/// errors are collected, not stopped at the first); `Ok` holds the spec and its warnings.
/// `include:` is not followed here (there is no directory to follow it from): use
/// [`super::load_specs`] for files that include others.
pub fn parse_spec(text: &str, path: &str) -> Result<(Spec, Vec<Warning>), Vec<SpecError>> {
    let parsed = parse_file(text, path)?;
    let mut found = Findings {
        warnings: parsed.warnings,
        ..Findings::default()
    };
    lint::check_group_sizes(&parsed.spec, parsed.metrics_pos, &mut found);
    Ok((parsed.spec, found.warnings))
}

pub(crate) fn parse_file(text: &str, path: &str) -> Result<ParsedFile, Vec<SpecError>> {
    let node = Node::parse(text).map_err(|e| vec![SpecError::at(path, e.pos, e.message)])?;
    if node.is_null() {
        return Err(vec![SpecError::at(
            path,
            None,
            "the file is empty; add `version: 1` and a `metrics:` list, or run `postcall init` for a starter file",
        )]);
    }
    let mut found = Findings::default();
    let raw = match platform::detect(&node) {
        Dialect::Postcall => read_postcall(&node, &mut found),
        Dialect::Atoms => platform::read_atoms(&node, &mut found),
        Dialect::Dialgen => platform::read_dialgen(&node, &mut found),
        Dialect::Polyai => platform::read_polyai(&node, &mut found),
    };
    let origins = raw
        .metrics
        .iter()
        .map(|m| Origin {
            pos: m.id.as_ref().and_then(|id| id.pos).or(m.pos),
            name: m.name.clone(),
        })
        .collect();
    let (includes, metrics_pos) = (raw.includes.clone(), raw.metrics_pos);
    let written = Written {
        llm: raw.llm_pos,
        strategy: raw.strategy_pos,
        context: raw.context_pos,
        summary: raw.summary.as_ref().and_then(|s| s.pos),
    };
    let spec = lint::check(raw, &mut found);
    match spec {
        Some(spec) if found.errors.is_empty() => {
            let mut warnings = found.warnings;
            warnings.sort_by_key(|w| (w.line.is_none(), w.line, w.column));
            Ok(ParsedFile {
                spec,
                warnings,
                origins,
                includes,
                written,
                metrics_pos,
            })
        }
        _ => {
            let mut errors = found.errors;
            // Stable sort: problems without a position keep their order, after the rest.
            errors.sort_by_key(|(pos, _)| (pos.is_none(), *pos));
            Err(errors
                .into_iter()
                .map(|(pos, msg)| SpecError::at(path, pos, msg))
                .collect())
        }
    }
}

/// postcall's own format (see DESIGN.md, "The metric file").
fn read_postcall(node: &Node, found: &mut Findings) -> RawSpec {
    let mut raw = RawSpec::new(Dialect::Postcall);
    let Some(map) = node.as_map() else {
        found.error(
            node.pos,
            format!("expected a mapping with `version` and `metrics` at the top level, found {}; run `postcall init` to see the format", node.kind()),
        );
        return raw;
    };
    found.unknown_keys(map, TOP_KEYS, "the top level");
    if let Some(version) = read_version(node, found) {
        raw.version = version;
    }
    if let Some(inc) = node.get("include") {
        raw.includes = read_includes(inc, found);
    }
    if let Some(llm) = node.get("llm") {
        raw.llm = read_llm(llm, found);
        raw.llm_pos = llm.pos.filter(|_| !llm.is_null());
    }
    if let Some(s) = node.get("strategy").and_then(|n| text(n, "`strategy`", found)) {
        raw.strategy_pos = s.pos;
        match <Strategy as clap::ValueEnum>::from_str(&s.value, false) {
            Ok(strategy) => raw.strategy = strategy,
            Err(_) => {
                let names: Vec<&str> = <Strategy as clap::ValueEnum>::value_variants()
                    .iter()
                    .map(|strategy| strategy.into())
                    .collect();
                found.error(
                    s.pos,
                    format!("unknown strategy `{}`; {}", s.value, lint::hint(&s.value, &names)),
                )
            }
        }
    }
    if let Some(c) = node.get("context").and_then(|n| text(n, "`context`", found)) {
        raw.context_pos = c.pos;
        raw.context = Some(c.value);
    }
    if let Some(s) = node.get("summary") {
        raw.summary = read_summary(s, found);
    }
    raw.evidence = node.get("evidence").and_then(|n| flag(n, "`evidence`", found));
    read_metric_list(node, &mut raw, found);
    raw
}

/// The file's `version`, when it is one this postcall reads; otherwise an error saying
/// which to write.
fn read_version(node: &Node, found: &mut Findings) -> Option<u32> {
    let Some(v) = node.get("version") else {
        found.error(node.pos, "missing `version`; add `version: 1` at the top of the file");
        return None;
    };
    match v.value {
        Value::Int(n) if SUPPORTED_VERSIONS.iter().any(|s| i64::from(*s) == n) => Some(n as u32),
        _ => {
            found.error(
                v.pos,
                format!(
                    "unsupported version `{}`; this postcall reads version 1 only, set `version: 1`",
                    v.as_text().unwrap_or_else(|| v.kind().to_owned())
                ),
            );
            None
        }
    }
}

/// `metrics:`, a non-empty list of metrics (or absent in a file of includes only).
fn read_metric_list(node: &Node, raw: &mut RawSpec, found: &mut Findings) {
    match node.get("metrics") {
        // A file of includes only: its metrics are the included files'.
        None if !raw.includes.is_empty() => {}
        None => found.error(
            node.pos,
            "missing `metrics`; add a `metrics:` list with at least one metric (or `include:` the files that have them)",
        ),
        Some(list) => {
            raw.metrics_pos = list.pos;
            match list.as_seq() {
                Some([]) => found.error(list.pos, "`metrics` is empty; add at least one metric"),
                Some(items) => {
                    raw.metrics = items
                        .iter()
                        .enumerate()
                        .filter_map(|(i, n)| read_metric(i, n, found))
                        .collect();
                }
                None => found.error(
                    list.pos,
                    format!(
                        "`metrics` should be a list (each item starting with `- id:`), found {}",
                        list.kind()
                    ),
                ),
            }
        }
    }
}

/// `include: [defaults.yaml, ...]` (or one path): metric files composed before this one.
fn read_includes(node: &Node, found: &mut Findings) -> Vec<At<String>> {
    if node.is_null() {
        return Vec::new();
    }
    let items: Vec<&Node> = match node.as_seq() {
        Some(items) => items.iter().collect(),
        None => vec![node],
    };
    let mut paths = Vec::new();
    for item in items {
        match item.as_text() {
            Some(p) if !p.trim().is_empty() => paths.push(At::new(p, item.pos)),
            _ => found.error(
                item.pos,
                format!(
                    "each `include` entry should be the path of a metric file, like `include: [defaults.yaml]`, found {}",
                    shown(item)
                ),
            ),
        }
    }
    paths
}

/// `summary: {prompt: ...}`, or the shorthand `summary: <prompt>`.
fn read_summary(node: &Node, found: &mut Findings) -> Option<At<Summary>> {
    if node.is_null() {
        return None;
    }
    if let Some(map) = node.as_map() {
        found.unknown_keys(map, &["prompt"], "`summary`");
        return match node.get("prompt").and_then(|p| text(p, "`summary.prompt`", found)) {
            Some(p) if !p.value.trim().is_empty() => Some(At::new(
                Summary {
                    prompt: p.value.trim().to_owned(),
                },
                p.pos,
            )),
            Some(p) => {
                found.error(
                    p.pos,
                    "`summary.prompt` is empty; say what the summary should contain, or remove `summary`",
                );
                None
            }
            None => {
                found.error(
                    node.pos,
                    "`summary` needs a `prompt`, e.g. `prompt: Summarize the call in two sentences.`",
                );
                None
            }
        };
    }
    let p = text(node, "`summary`", found)?;
    if p.value.trim().is_empty() {
        found.error(
            p.pos,
            "`summary` is empty; say what the summary should contain, or remove it",
        );
        return None;
    }
    Some(At::new(
        Summary {
            prompt: p.value.trim().to_owned(),
        },
        p.pos,
    ))
}

fn read_metric(index: usize, node: &Node, found: &mut Findings) -> Option<RawMetric> {
    let Some(map) = node.as_map() else {
        found.error(
            node.pos,
            format!(
                "metrics[{index}] should be a mapping with `id`, `type` and `prompt`, found {}",
                node.kind()
            ),
        );
        return None;
    };
    let mut m = RawMetric {
        index,
        pos: node.pos,
        ..RawMetric::default()
    };
    m.id = node
        .get("id")
        .and_then(|n| text(n, &format!("metrics[{index}].id"), found));
    if m.id.is_none() {
        found.error(
            node.pos,
            format!("metrics[{index}] has no `id`; add one like `id: call_outcome`"),
        );
    }
    let label = m.label();
    found.unknown_keys(map, METRIC_KEYS, &label);

    match node
        .get("type")
        .and_then(|n| text(n, &format!("{label}: `type`"), found))
    {
        Some(t) => m.kind = read_kind(&label, t, found),
        None => found.error(
            node.pos,
            format!("{label} has no `type`; add one of: {}", KindName::names().join(", ")),
        ),
    }
    match node.get("prompt") {
        // An empty `prompt:` is a prompt with no words; the lint rule says so.
        Some(p) if p.is_null() => m.prompt = Some(At::new(String::new(), p.pos)),
        Some(p) => m.prompt = text(p, &format!("{label}: `prompt`"), found),
        None => found.error(
            node.pos,
            format!("{label} has no `prompt`; add the question the model should answer"),
        ),
    }
    read_optional_keys(&mut m, node, &label, found);
    Some(m)
}

/// The keys a metric may leave out: each read into `m` when present and not null.
fn read_optional_keys(m: &mut RawMetric, node: &Node, label: &str, found: &mut Findings) {
    if let Some(c) = node.get("choices").filter(|n| !n.is_null()) {
        m.choices = read_choices(label, c, found);
    }
    if let Some(r) = node.get("range").filter(|n| !n.is_null()) {
        m.range = read_range(label, r, found);
    }
    if let Some(r) = node.get("required") {
        m.required = flag(r, &format!("{label}: `required`"), found).unwrap_or(false);
    }
    m.evidence = node
        .get("evidence")
        .and_then(|n| flag(n, &format!("{label}: `evidence`"), found));
    m.description = node
        .get("description")
        .and_then(|n| text(n, &format!("{label}: `description`"), found))
        .map(|t| t.value);
    m.applies_when = node
        .get("applies_when")
        .and_then(|n| text(n, &format!("{label}: `applies_when`"), found));
    m.model = node
        .get("model")
        .and_then(|n| text(n, &format!("{label}: `model`"), found))
        .map(|t| t.value);
    if let Some(e) = node.get("expect").filter(|n| !n.is_null()) {
        m.expect = read_expect(label, e, found);
    }
}

/// A true/false key; `None` when null (left to its default) or not a boolean (recorded).
fn flag(node: &Node, what: &str, found: &mut Findings) -> Option<bool> {
    match node.value {
        Value::Bool(b) => Some(b),
        Value::Null => None,
        _ => {
            found.error(
                node.pos,
                format!("{what} should be true or false, found {}", shown(node)),
            );
            None
        }
    }
}

/// Type names people reach for that are spelled differently here.
const TYPE_ALIASES: &[(&str, &str)] = &[
    ("float", "number"),
    ("double", "number"),
    ("decimal", "number"),
    ("text", "string"),
    ("str", "string"),
    ("bool", "boolean"),
    ("int", "integer"),
    ("date", "datetime"),
    ("timestamp", "datetime"),
    ("array", "list"),
    ("select", "enum"),
    ("multiselect", "list"),
];

fn read_kind(label: &str, t: At<String>, found: &mut Findings) -> Option<At<KindName>> {
    if let Some(k) = KindName::from_name(&t.value) {
        return Some(At::new(k, t.pos));
    }
    let names = KindName::names();
    let suggestion = TYPE_ALIASES
        .iter()
        .find(|(alias, _)| alias.eq_ignore_ascii_case(&t.value))
        .map(|(_, name)| *name)
        .or_else(|| lint::did_you_mean(&t.value, &names));
    let hint = match suggestion {
        Some("list") if t.value.to_ascii_lowercase().contains("multi") => {
            " did you mean `list` (with `choices` for a multi-select)?".to_owned()
        }
        Some(s) => format!(" did you mean `{s}`?"),
        None => String::new(),
    };
    found.error(
        t.pos,
        format!(
            "{label}: unknown type `{}`; the types are {}.{hint}",
            t.value,
            names.join(", ")
        ),
    );
    None
}

pub(crate) fn read_choices(label: &str, node: &Node, found: &mut Findings) -> Option<At<Vec<At<String>>>> {
    let Some(items) = node.as_seq() else {
        found.error(
            node.pos,
            format!(
                "{label}: `choices` should be a list, like `choices: [resolved, escalated]`, found {}",
                shown(node)
            ),
        );
        return None;
    };
    let mut choices = Vec::with_capacity(items.len());
    for item in items {
        match item.as_text() {
            Some(t) => choices.push(At::new(t, item.pos)),
            None => found.error(
                item.pos,
                format!(
                    "{label}: each choice should be a word or short phrase, found {}",
                    item.kind()
                ),
            ),
        }
    }
    Some(At::new(choices, node.pos))
}

fn read_range(label: &str, node: &Node, found: &mut Findings) -> Option<At<[Num; 2]>> {
    let num = |n: &Node| match n.value {
        Value::Int(i) => Some(Num::Int(i)),
        Value::Float(f) if f.is_finite() => Some(Num::Float(f)),
        _ => None,
    };
    if let Some([lo, hi]) = node.as_seq()
        && let (Some(lo), Some(hi)) = (num(lo), num(hi))
    {
        return Some(At::new([lo, hi], node.pos));
    }
    found.error(
        node.pos,
        format!("{label}: `range` should be two numbers, lowest first, like `range: [1, 5]`"),
    );
    None
}

fn read_expect(label: &str, node: &Node, found: &mut Findings) -> Option<At<Expect>> {
    const EXAMPLE: &str = "`expect: {min_accuracy: 0.9, min_kappa: 0.6}`";
    let Some(map) = node.as_map() else {
        found.error(
            node.pos,
            format!(
                "{label}: `expect` should be a mapping like {EXAMPLE}, found {}",
                shown(node)
            ),
        );
        return None;
    };
    found.unknown_keys(map, &["min_accuracy", "min_kappa"], &format!("{label}: `expect`"));
    let mut number = |key: &str, range: &str| match node.get(key) {
        Some(Node {
            value: Value::Int(i), ..
        }) => Some(*i as f64),
        Some(Node {
            value: Value::Float(f), ..
        }) => Some(*f),
        Some(other) => {
            found.error(
                other.pos,
                format!(
                    "{label}: `expect.{key}` should be a number {range}, found {}",
                    shown(other)
                ),
            );
            None
        }
        None => None,
    };
    let expect = Expect {
        min_accuracy: number("min_accuracy", "between 0 and 1"),
        min_kappa: number("min_kappa", "between -1 and 1"),
    };
    if expect.min_accuracy.is_none() && expect.min_kappa.is_none() {
        if node.get("min_accuracy").is_none() && node.get("min_kappa").is_none() {
            found.error(
                node.pos,
                format!("{label}: `expect` needs `min_accuracy` or `min_kappa`, e.g. {EXAMPLE}"),
            );
        }
        return None;
    }
    Some(At::new(expect, node.pos))
}

/// The `llm:` section. Each key is decoded on its own so a bad value is reported at its own
/// line, and the rest of the section still loads.
fn read_llm(node: &Node, found: &mut Findings) -> LlmSection {
    if node.is_null() {
        return LlmSection::default();
    }
    let Some(map) = node.as_map() else {
        found.error(
            node.pos,
            format!(
                "`llm` should be a mapping (base_url, model, api_key_env, ...), found {}",
                node.kind()
            ),
        );
        return LlmSection::default();
    };
    let mut good = serde_json::Map::new();
    for (key, value) in map {
        match key.name.as_str() {
            "api_key" => found.error(
                key.pos,
                "`llm.api_key`: never put an API key in the metric file (it ends up in version control and shared files); export it in an environment variable and name that variable with `api_key_env: OPENAI_API_KEY`",
            ),
            name if LLM_KEYS.contains(&name) => {
                let nested: &[&str] = match name {
                    "price" => &["input_per_mtok", "output_per_mtok", "cached_input_per_mtok"],
                    "local" => &["model", "server"],
                    "answer_limits" => &["reasoning_chars", "summary_chars", "text_chars", "list_items"],
                    _ => &[],
                };
                if let Some(inner) = value.as_map()
                    && !nested.is_empty()
                {
                    found.unknown_keys(inner, nested, &format!("`llm.{name}`"));
                }
                if let Some(v) = decode_llm_key(key, value, nested, found) {
                    good.insert(key.name.clone(), v);
                }
            }
            _ => found.unknown_key(key, LLM_KEYS, "`llm`"),
        }
    }
    if let Some(env) = good.get("api_key_env").and_then(|v| v.as_str())
        && !is_env_var_name(env)
    {
        let pos = node.get("api_key_env").and_then(|n| n.pos);
        found.error(
            pos,
            "`llm.api_key_env` should be the name of an environment variable (like OPENAI_API_KEY), not the key itself; remove the key from this file",
        );
        good.remove("api_key_env");
    }
    serde_json::from_value(serde_json::Value::Object(good)).unwrap_or_default()
}

/// Decodes `{key: value}` as an [`LlmSection`]: every field is optional, so this succeeds
/// exactly when this one value is valid. A nested mapping (`nested` lists its keys) with
/// an unknown key is not decoded: `unknown_keys` reported the key already, with a hint, and
/// a second message about the same typo would be noise. So a decoding error is always about
/// a value, whatever serde's wording.
fn decode_llm_key(key: &Key, value: &Node, nested: &[&str], found: &mut Findings) -> Option<serde_json::Value> {
    if let Some(inner) = value.as_map()
        && !nested.is_empty()
        && inner.iter().any(|(k, _)| !nested.contains(&k.name.as_str()))
    {
        return None;
    }
    let json = value.to_json();
    let mut one = serde_json::Map::new();
    one.insert(key.name.clone(), json.clone());
    match serde_json::from_value::<LlmSection>(serde_json::Value::Object(one)) {
        Ok(_) => Some(json),
        Err(e) => {
            found.error(
                value.pos.or(key.pos),
                format!(
                    "`llm.{}` has a wrong value: {e}; see `postcall init` for an example `llm:` section",
                    key.name
                ),
            );
            None
        }
    }
}

fn is_env_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads a text field; `None` (and nothing reported) for null, an error for lists and maps.
pub(crate) fn text(node: &Node, what: &str, found: &mut Findings) -> Option<At<String>> {
    if node.is_null() {
        return None;
    }
    match node.as_text() {
        Some(t) => Some(At::new(t, node.pos)),
        None => {
            found.error(node.pos, format!("{what} should be text, found {}", node.kind()));
            None
        }
    }
}

/// A value as shown in a message: its kind, plus the text for scalars (`text "maybe"`).
pub(crate) fn shown(node: &Node) -> String {
    match &node.value {
        Value::Str(s) => format!("text \"{s}\""),
        Value::Seq(_) | Value::Map(_) | Value::Null => node.kind().to_owned(),
        _ => format!("{} `{}`", node.kind(), node.as_text().unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests;
