//! A YAML/JSON document as a tree of nodes that remember where they were written.
//!
//! serde-saphyr reports syntax errors and duplicate keys with a position, but a typed
//! `Deserialize` stops at the first problem and loses positions inside tagged enums. The
//! metric file needs every problem at once, each with its line and column, so it is read in
//! two steps: this module turns the text into a [`Node`] tree (only syntax can fail here),
//! then `parse`/`platform` walk the tree and report each bad field where it stands.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based line and column in the metric file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// One value of the document with its position and, for scalars, the exact source text.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Option<Pos>,
    /// For non-string scalars, the characters as written (`yes`, `1.50`).
    scalar_text: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Keys in file order; duplicates were already rejected by the parser.
    Map(Vec<(Key, Node)>),
}

/// A mapping key with its position (where "unknown key" errors point).
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub name: String,
    pub pos: Option<Pos>,
}

/// A syntax error: the only way reading the tree fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub pos: Option<Pos>,
    pub message: String,
}

impl Node {
    /// Parses YAML (and therefore JSON, a subset of YAML 1.2) into a tree.
    pub fn parse(text: &str) -> Result<Node, SyntaxError> {
        let raw: Spanned<RawNode> = serde_saphyr::from_str(text).map_err(syntax_error)?;
        Ok(Node::from_raw(raw, text))
    }

    fn from_raw(raw: Spanned<RawNode>, text: &str) -> Node {
        let loc = raw.referenced;
        let pos = (loc.line() > 0).then(|| Pos {
            line: loc.line() as usize,
            column: loc.column() as usize,
        });
        let span = loc.span();
        let src = match (span.byte_offset(), span.byte_len()) {
            (Some(start), Some(len)) => Some((start as usize, (start + len) as usize)),
            _ => None,
        };
        let value = match raw.value {
            RawNode::Null => Value::Null,
            RawNode::Bool(b) => Value::Bool(b),
            RawNode::Int(i) => Value::Int(i),
            RawNode::Float(f) => Value::Float(f),
            RawNode::Str(s) => Value::Str(s),
            RawNode::Seq(items) => Value::Seq(items.into_iter().map(|n| Node::from_raw(n, text)).collect()),
            RawNode::Map(entries) => Value::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        let kl = k.referenced;
                        let kpos = (kl.line() > 0).then(|| Pos {
                            line: kl.line() as usize,
                            column: kl.column() as usize,
                        });
                        (
                            Key {
                                name: k.value,
                                pos: kpos,
                            },
                            Node::from_raw(v, text),
                        )
                    })
                    .collect(),
            ),
        };
        // Keep the source text of scalars only: `choices: [yes, no]` must stay the words the
        // user wrote, not YAML 1.1 booleans.
        let src = if matches!(value, Value::Bool(_) | Value::Int(_) | Value::Float(_)) {
            src
        } else {
            None
        };
        let scalar_text = src.and_then(|(a, b)| text.get(a..b)).map(str::to_owned);
        Node {
            value,
            pos,
            scalar_text,
        }
    }

    /// What kind of value this is, in words for error messages ("a list", "text").
    pub fn kind(&self) -> &'static str {
        match &self.value {
            Value::Null => "nothing (null)",
            Value::Bool(_) => "true/false",
            Value::Int(_) => "a whole number",
            Value::Float(_) => "a number",
            Value::Str(_) => "text",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.value, Value::Null)
    }

    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    /// Text as the user wrote it: a string, or any other scalar's source text (so that an
    /// unquoted `yes`, `1` or `1.5` reads as those characters). `None` for null, lists and maps.
    pub fn as_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Bool(b) => Some(self.scalar_text.clone().unwrap_or_else(|| b.to_string())),
            Value::Int(i) => Some(self.scalar_text.clone().unwrap_or_else(|| i.to_string())),
            Value::Float(f) => Some(self.scalar_text.clone().unwrap_or_else(|| f.to_string())),
            _ => None,
        }
    }

    /// The node as JSON, for decoding small typed sections (`llm:`) with serde.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect()),
        }
    }
}

/// Turns a serde-saphyr error into one readable line with its position. The library's
/// messages are good but some speak to developers ("set DuplicateKeyPolicy in Options");
/// those are rephrased for someone editing a metric file.
fn syntax_error(err: serde_saphyr::Error) -> SyntaxError {
    let pos = err.location().filter(|l| l.line() > 0).map(|l| Pos {
        line: l.line() as usize,
        column: l.column() as usize,
    });
    let inner = err.without_snippet();
    let message = match inner {
        serde_saphyr::Error::DuplicateMappingKey { key, .. } => match key {
            Some(k) => format!("duplicate key `{k}`; each key may appear once per mapping, remove or rename one"),
            None => "duplicate key; each key may appear once per mapping, remove or rename one".to_owned(),
        },
        serde_saphyr::Error::MultipleDocuments { .. } => {
            "the file holds more than one YAML document (a second `---`); keep one metric file per file".to_owned()
        }
        other => {
            let text = other.to_string();
            // The position is reported separately as `file:line:col`; drop the trailing copy.
            let text = match text.rfind(" at line ") {
                Some(i) => text[..i].to_owned(),
                None => text,
            };
            let next = if text.contains("tab") {
                "indent with spaces, not tabs"
            } else {
                "check indentation, quoting and brackets around this point"
            };
            format!("invalid YAML: {text}; {next}")
        }
    };
    SyntaxError { pos, message }
}

/// The shape serde-saphyr fills in; [`Spanned`] records where each node was written.
enum RawNode {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<RawNode>>),
    Map(Vec<(Spanned<String>, Spanned<RawNode>)>),
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_none<E>(self) -> Result<RawNode, E> {
        Ok(RawNode::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<RawNode, D::Error> {
        RawNode::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<RawNode, E> {
        Ok(RawNode::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<RawNode, E> {
        Ok(RawNode::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<RawNode, E> {
        Ok(i64::try_from(v).map_or(RawNode::Float(v as f64), RawNode::Int))
    }
    fn visit_i128<E>(self, v: i128) -> Result<RawNode, E> {
        Ok(i64::try_from(v).map_or(RawNode::Float(v as f64), RawNode::Int))
    }
    fn visit_u128<E>(self, v: u128) -> Result<RawNode, E> {
        Ok(i64::try_from(v).map_or(RawNode::Float(v as f64), RawNode::Int))
    }
    fn visit_f64<E>(self, v: f64) -> Result<RawNode, E> {
        Ok(RawNode::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(RawNode::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(RawNode::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_keep_the_words_the_user_wrote() {
        let node = Node::parse("choices: [yes, no, 1, 2.50, \"x\"]\n").unwrap();
        let items = node.get("choices").unwrap().as_seq().unwrap();
        let words: Vec<String> = items.iter().map(|n| n.as_text().unwrap()).collect();
        assert_eq!(words, ["yes", "no", "1", "2.50", "x"]);
    }

    #[test]
    fn nodes_know_their_line_and_column() {
        let node = Node::parse("version: 1\nmetrics:\n  - id: a\n    type: enum\n").unwrap();
        let metric = &node.get("metrics").unwrap().as_seq().unwrap()[0];
        let (key, value) = &metric.as_map().unwrap()[1];
        assert_eq!(key.pos, Some(Pos { line: 4, column: 5 }));
        assert_eq!(value.pos, Some(Pos { line: 4, column: 11 }));
    }

    #[test]
    fn duplicate_keys_are_rejected_with_their_position() {
        let err = Node::parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 3, column: 1 }));
        assert!(err.message.starts_with("duplicate key `a`"), "{}", err.message);
    }

    #[test]
    fn a_second_document_is_rejected_in_plain_words() {
        let err = Node::parse("a: 1\n---\na: 2\n").unwrap_err();
        assert_eq!(err.pos, Some(Pos { line: 3, column: 1 }));
        assert!(
            err.message.starts_with("the file holds more than one YAML document"),
            "{}",
            err.message
        );
    }

    #[test]
    fn json_with_tabs_parses() {
        let node = Node::parse("{\"a\":\t[1, 2],\n\t\"b\": \"x\"}").unwrap();
        assert_eq!(node.get("b").unwrap().as_text().as_deref(), Some("x"));
    }
}
