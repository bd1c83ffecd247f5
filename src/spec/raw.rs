//! The metric file as read, before the lint rules run: every dialect's reader produces this.
//!
//! Readers (`parse` for postcall's own format, `platform` for Atoms and Dialgen) check shape
//! and spelling; [`super::lint`] checks meaning (ids, choices, ranges, prompts) once, the same
//! way for every dialect. Each field keeps the position it was written at so a rule can point
//! at it. A field a reader could not read is `None` and its error is already recorded, so the
//! lint rules never report the same problem twice.

use super::node::{Key, Node, Pos};
use super::{Dialect, Expect, LlmSection, Strategy, Summary, Warning};

/// A value with the position it was written at.
#[derive(Debug, Clone, PartialEq)]
pub struct At<T> {
    pub value: T,
    pub pos: Option<Pos>,
}

impl<T> At<T> {
    pub fn new(value: T, pos: Option<Pos>) -> At<T> {
        At { value, pos }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RawSpec {
    pub version: u32,
    pub llm: LlmSection,
    pub strategy: Strategy,
    pub context: Option<String>,
    pub summary: Option<At<Summary>>,
    /// Where the metric list starts (group-size warnings point here).
    pub metrics_pos: Option<Pos>,
    pub metrics: Vec<RawMetric>,
    pub dialect: Dialect,
    /// Where `llm`, `strategy` and `context` were written (`None`: not written), so that
    /// composing files can say which file's setting won.
    pub llm_pos: Option<Pos>,
    pub strategy_pos: Option<Pos>,
    pub context_pos: Option<Pos>,
    /// Other metric files to compose before this one's own metrics (`include:`), as written.
    pub includes: Vec<At<String>>,
    /// The file's `evidence:` (the default of every metric that does not say); `None`: on.
    pub evidence: Option<bool>,
}

impl RawSpec {
    pub fn new(dialect: Dialect) -> RawSpec {
        RawSpec {
            version: 1,
            llm: LlmSection::default(),
            strategy: Strategy::default(),
            context: None,
            summary: None,
            metrics_pos: None,
            metrics: Vec::new(),
            dialect,
            llm_pos: None,
            strategy_pos: None,
            context_pos: None,
            includes: Vec::new(),
            evidence: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawMetric {
    /// Position in the file's metric list, for messages when the id is unknown.
    pub index: usize,
    pub pos: Option<Pos>,
    pub id: Option<At<String>>,
    pub kind: Option<At<KindName>>,
    pub prompt: Option<At<String>>,
    pub choices: Option<At<Vec<At<String>>>>,
    pub range: Option<At<[Num; 2]>>,
    pub required: bool,
    pub description: Option<String>,
    pub applies_when: Option<At<String>>,
    pub model: Option<String>,
    pub expect: Option<At<Expect>>,
    /// The platform's display name the id was derived from (Dialgen, PolyAI, an Atoms
    /// identifier that was not an id); `None` when the id was written as an id.
    pub name: Option<String>,
    /// The metric's own `evidence:`, over the file's.
    pub evidence: Option<bool>,
}

impl RawMetric {
    /// How messages name this metric: by id when it has one, else by its place in the list.
    pub fn label(&self) -> String {
        match &self.id {
            Some(id) if !id.value.is_empty() => format!("metric `{}`", id.value),
            _ => format!("metrics[{}]", self.index),
        }
    }
}

/// A metric type's name, before its options are attached. Spelled as in the metric file,
/// the same as [`MetricKind`](super::MetricKind)'s `type` (a test in `spec` holds them together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum KindName {
    String,
    Boolean,
    Integer,
    Number,
    Enum,
    Datetime,
    List,
}

impl KindName {
    pub fn from_name(name: &str) -> Option<KindName> {
        name.parse().ok()
    }

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// Every type's name, in the order messages list them.
    pub fn names() -> Vec<&'static str> {
        <KindName as strum::VariantArray>::VARIANTS
            .iter()
            .map(|k| k.name())
            .collect()
    }
}

/// A number as written: `range: [1, 5]` must stay integers for an integer metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }
}

/// Keys platforms add to every exported object: record ids, timestamps, comments. They say
/// nothing about what to ask, so platform readers skip them without a warning.
pub const HOUSEKEEPING: &[&str] = &["_id", "__v", "_comment", "createdAt", "updatedAt"];

/// Errors and warnings collected while reading and linting one file.
#[derive(Debug, Default)]
pub struct Findings {
    pub errors: Vec<(Option<Pos>, String)>,
    pub warnings: Vec<Warning>,
}

impl Findings {
    pub fn error(&mut self, pos: Option<Pos>, message: impl Into<String>) {
        self.errors.push((pos, message.into()));
    }

    pub fn warn(&mut self, pos: Option<Pos>, at: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Warning::located(at, message, pos));
    }

    /// Reports every key of `map` not in `known`, with a did-you-mean hint. `place` names the
    /// mapping in the message ("the top level", "`llm`", "metric `x`").
    pub fn unknown_keys(&mut self, map: &[(Key, Node)], known: &[&str], place: &str) {
        for (key, _) in map {
            if !known.contains(&key.name.as_str()) {
                self.unknown_key(key, known, place);
            }
        }
    }

    /// Platform files are exported or copied from another tool: a key postcall does not
    /// read is not a typo to stop on, but it must not vanish silently either (a setting the
    /// user expects to matter would be ignored). Each becomes a warning at its line.
    /// Keys in `housekeeping` (ids, timestamps the platform adds) are skipped quietly.
    pub fn ignored_keys(&mut self, map: &[(Key, Node)], known: &[&str], place: &str) {
        for (key, _) in map {
            let name = key.name.as_str();
            if known.contains(&name) || HOUSEKEEPING.contains(&name) {
                continue;
            }
            let hint = match super::lint::did_you_mean(name, known) {
                Some(c) => format!(" (did you mean `{c}`?)"),
                None => format!(" (it reads: {})", known.join(", ")),
            };
            self.warn(
                key.pos,
                place,
                format!("unknown key `{name}` is ignored; postcall does not read it{hint}"),
            );
        }
    }

    pub fn unknown_key(&mut self, key: &Key, known: &[&str], place: &str) {
        let mut hint = super::lint::hint(&key.name, known);
        if key.name.contains(' ') {
            // Usually not a key at all: text with a comma inside `{ ... }` was split there.
            hint.push_str(" (if this is part of a text value, quote that text: in `{ }` a comma ends a value)");
        }
        self.error(key.pos, format!("unknown key `{}` in {place}; {hint}", key.name));
    }
}

#[cfg(test)]
mod tests {
    use super::KindName;
    use crate::spec::MetricKind;

    /// A metric type is spelled the same when read (`KindName`), on a parsed metric
    /// (`MetricKind::name`) and in files and reports (serde's `type`).
    #[test]
    fn every_metric_type_has_one_spelling() {
        assert_eq!(
            KindName::names(),
            ["string", "boolean", "integer", "number", "enum", "datetime", "list"]
        );
        for name in KindName::names() {
            assert_eq!(KindName::from_name(name).map(KindName::name), Some(name));
            let written = match name {
                "enum" => serde_json::json!({"type": name, "choices": ["a", "b"]}),
                _ => serde_json::json!({"type": name}),
            };
            let kind: MetricKind = serde_json::from_value(written).unwrap();
            assert_eq!(kind.name(), name);
            assert_eq!(serde_json::to_value(&kind).unwrap()["type"], name);
        }
    }
}
