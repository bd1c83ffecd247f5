//! One JSON value → a [`Value`] of the metric's type, by a short, documented list of
//! coercions. Anything not listed is an error whose text says what was given and what is
//! allowed, because that text goes back to the model in a re-ask.
//!
//! | type | accepted | becomes |
//! | --- | --- | --- |
//! | integer | `4`, `4.0`, `"4"`, `"4.0"` (whole, finite) | `Int(4)`; `4.5` is an error |
//! | number | a number, or a string holding a finite number | `Number` |
//! | boolean | `true`/`false`; strings `true`/`false`/`yes`/`no`, any case, trimmed | `Bool` |
//! | enum | a string matching one choice: exactly, else ignoring case and surrounding or repeated whitespace, else also treating `_`, `-` and spaces alike — at each step only a unique match counts | `Text(<choice as written in the metric file>)` |
//! | list | an array of strings, each trimmed, empty ones dropped (a lone string is an error) | `List` |
//! | list with choices | as list, each item matched like enum, duplicates removed (first kept) | `List` |
//! | datetime | ISO 8601 date `YYYY-MM-DD`; date-time with offset (RFC 3339); civil date-time without offset | `Text`: the date as given, RFC 3339 keeping the given offset (`Z` stays `Z`), or civil `YYYY-MM-DDTHH:MM:SS[.f]` |
//! | string | a string, trimmed | `Text`; empty → null |
//!
//! Ranges are inclusive and checked after coercion; an out-of-range value is an error, never
//! clamped. JSON `null` is handled by the caller (it depends on `required`).

use jiff::fmt::temporal::{Pieces, PiecesOffset};
use serde_json::Value as Json;

use crate::report::Value;
use crate::spec::MetricKind;

/// What a value must look like, in words: used in error messages, re-asks and prompts.
pub(crate) fn describe_kind(kind: &MetricKind) -> String {
    match kind {
        MetricKind::String => "a string".to_string(),
        MetricKind::Boolean => "true or false".to_string(),
        MetricKind::Integer { range: Some([lo, hi]) } => format!("an integer from {lo} to {hi}"),
        MetricKind::Integer { range: None } => "an integer".to_string(),
        MetricKind::Number { range: Some([lo, hi]) } => format!("a number from {lo} to {hi}"),
        MetricKind::Number { range: None } => "a number".to_string(),
        MetricKind::Enum { choices } => format!("one of: {}", choices.join(", ")),
        MetricKind::Datetime => DATETIME_FORMATS.to_string(),
        MetricKind::List { choices: None } => "a list of strings".to_string(),
        MetricKind::List { choices: Some(choices) } => {
            format!("a list drawn from: {}", choices.join(", "))
        }
    }
}

const DATETIME_FORMATS: &str = "an ISO 8601 date (YYYY-MM-DD) or date-time \
     (YYYY-MM-DDTHH:MM:SS, with an offset such as Z or +02:00 when known)";

/// Coerces a non-null JSON value. `Ok(None)` means "no answer" (an empty string for a string
/// metric); the error is a sentence without the metric id, which the caller prefixes.
pub(super) fn coerce(kind: &MetricKind, json: &Json) -> Result<Option<Value>, String> {
    match kind {
        MetricKind::String => match json {
            Json::String(s) if s.trim().is_empty() => Ok(None),
            Json::String(s) => Ok(Some(Value::Text(s.trim().to_string()))),
            other => Err(wrong_type(kind, other)),
        },
        MetricKind::Boolean => boolean(json)
            .map(|b| Some(Value::Bool(b)))
            .ok_or_else(|| wrong_type(kind, json)),
        MetricKind::Integer { range } => {
            let n = integer(kind, json)?;
            if let Some([lo, hi]) = range
                && !(*lo..=*hi).contains(&n)
            {
                return Err(format!("{n} is outside the range {lo}..{hi}"));
            }
            Ok(Some(Value::Int(n)))
        }
        MetricKind::Number { range } => {
            let n = number(json).ok_or_else(|| wrong_type(kind, json))?;
            if let Some([lo, hi]) = range
                && !(*lo..=*hi).contains(&n)
            {
                return Err(format!("{n} is outside the range {lo}..{hi}"));
            }
            Ok(Some(Value::Number(n)))
        }
        MetricKind::Enum { choices } => match json {
            Json::String(s) => match match_choice(s, choices) {
                Ok(choice) => Ok(Some(Value::Text(choice.to_string()))),
                Err(miss) => Err(miss.explain(s, choices)),
            },
            other => Err(wrong_type(kind, other)),
        },
        MetricKind::Datetime => match json {
            Json::String(s) => datetime(s.trim())
                .map(|text| Some(Value::Text(text)))
                .ok_or_else(|| format!("{} is not {DATETIME_FORMATS}", show(json))),
            other => Err(wrong_type(kind, other)),
        },
        MetricKind::List { choices } => list(kind, choices.as_deref(), json).map(Some),
    }
}

/// `true`/`false` and the strings `true`/`false`/`yes`/`no` (any case, trimmed). Numbers
/// are not booleans: `1` could as well be a count.
pub(super) fn boolean(json: &Json) -> Option<bool> {
    match json {
        Json::Bool(b) => Some(*b),
        Json::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Some(true),
            "false" | "no" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A finite number, from a JSON number or a string holding one.
pub(super) fn number(json: &Json) -> Option<f64> {
    match json {
        Json::Number(n) => n.as_f64(),
        // `f64::from_str` also reads "inf" and "NaN", which are not answers.
        Json::String(s) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        _ => None,
    }
}

fn integer(kind: &MetricKind, json: &Json) -> Result<i64, String> {
    let from_float = |f: f64| -> Result<i64, String> {
        // i64::MAX as f64 rounds up to 2^63, hence the strict upper bound.
        if f.fract() != 0.0 {
            Err(format!("{f} is not a whole number; expected {}", describe_kind(kind)))
        } else if f >= i64::MIN as f64 && f < i64::MAX as f64 {
            Ok(f as i64)
        } else {
            Err(format!("{f} is too large; expected {}", describe_kind(kind)))
        }
    };
    match json {
        Json::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => from_float(n.as_f64().unwrap_or(f64::INFINITY)),
        },
        Json::String(s) => {
            let t = s.trim();
            if let Ok(i) = t.parse::<i64>() {
                return Ok(i);
            }
            match t.parse::<f64>() {
                Ok(f) if f.is_finite() => from_float(f),
                _ => Err(format!(
                    "{} is not an integer; expected {}",
                    show(json),
                    describe_kind(kind)
                )),
            }
        }
        other => Err(wrong_type(kind, other)),
    }
}

/// Why a string matched no single choice.
#[derive(Debug, PartialEq)]
pub(super) enum ChoiceMiss {
    None,
    /// Several choices differ only in case or separators from the given text.
    Ambiguous(Vec<String>),
}

impl ChoiceMiss {
    fn explain(&self, given: &str, choices: &[String]) -> String {
        let given = show(&Json::String(given.to_string()));
        match self {
            ChoiceMiss::None => format!("{given} is not one of: {}", choices.join(", ")),
            ChoiceMiss::Ambiguous(matches) => format!(
                "{given} matches more than one of: {}; answer with the exact spelling",
                matches.join(", ")
            ),
        }
    }
}

/// The canonical spelling of the one choice `given` stands for. Looser comparisons are
/// tried only when stricter ones find nothing, and a loose match that hits two choices is
/// refused rather than guessed.
pub(super) fn match_choice<'c>(given: &str, choices: &'c [String]) -> Result<&'c str, ChoiceMiss> {
    if let Some(exact) = choices.iter().find(|c| c.as_str() == given.trim()) {
        return Ok(exact);
    }
    for key in [fold_case_and_space as fn(&str) -> String, fold_separators] {
        let want = key(given);
        let hits: Vec<&String> = choices.iter().filter(|c| key(c) == want).collect();
        match hits.as_slice() {
            [] => continue,
            [one] => return Ok(one),
            many => {
                return Err(ChoiceMiss::Ambiguous(many.iter().map(|c| c.to_string()).collect()));
            }
        }
    }
    Err(ChoiceMiss::None)
}

/// Lowercase, trimmed, inner whitespace runs as one space: "Callback  Scheduled".
fn fold_case_and_space(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// As [`fold_case_and_space`], with `_`, `-` and whitespace all one separator:
/// "callback-scheduled" ≡ "Callback scheduled" ≡ "callback_scheduled".
fn fold_separators(s: &str) -> String {
    s.split(|c: char| c == '_' || c == '-' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("_")
        .to_lowercase()
}

fn list(kind: &MetricKind, choices: Option<&[String]>, json: &Json) -> Result<Value, String> {
    let items = match json {
        Json::Array(items) => items,
        Json::String(_) => {
            return Err(format!(
                "expected {} as a JSON array, got a single string {}",
                describe_kind(kind),
                show(json)
            ));
        }
        other => return Err(wrong_type(kind, other)),
    };
    let mut texts = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match item {
            Json::String(s) if s.trim().is_empty() => {}
            Json::String(s) => texts.push(s.trim()),
            other => {
                return Err(format!(
                    "list item {} ({}) is not a string; expected {}",
                    index + 1,
                    show(other),
                    describe_kind(kind)
                ));
            }
        }
    }
    let Some(choices) = choices else {
        return Ok(Value::List(texts.into_iter().map(str::to_string).collect()));
    };

    let mut picked: Vec<String> = Vec::with_capacity(texts.len());
    let mut unknown = Vec::new();
    let mut ambiguous = Vec::new();
    for text in texts {
        match match_choice(text, choices) {
            Ok(choice) if picked.iter().any(|p| p == choice) => {}
            Ok(choice) => picked.push(choice.to_string()),
            Err(ChoiceMiss::None) => unknown.push(show(&Json::String(text.to_string()))),
            Err(miss @ ChoiceMiss::Ambiguous(_)) => ambiguous.push(miss.explain(text, choices)),
        }
    }
    match (unknown.as_slice(), ambiguous.first()) {
        ([], None) => Ok(Value::List(picked)),
        ([], Some(first)) => Err(format!("list item {first}")),
        ([one], _) => Err(format!("list item {one} is not one of: {}", choices.join(", "))),
        (many, _) => Err(format!(
            "list items {} are not among: {}",
            many.join(", "),
            choices.join(", ")
        )),
    }
}

/// Normalised text of an ISO 8601 date or date-time, or `None` when `s` is neither. Time
/// zone annotations (`[Europe/Paris]`) are refused: the value must stand on its own in a
/// CSV cell.
fn datetime(s: &str) -> Option<String> {
    let pieces = Pieces::parse(s).ok()?;
    if pieces.time_zone_annotation().is_some() {
        return None;
    }
    let date = pieces.date();
    let Some(time) = pieces.time() else {
        return Some(date.to_string());
    };
    let civil = date.to_datetime(time);
    match pieces.offset() {
        None => Some(civil.to_string()),
        Some(PiecesOffset::Zulu) => Some(jiff::tz::Offset::UTC.to_timestamp(civil).ok()?.to_string()),
        Some(offset) => {
            let offset = offset.to_numeric_offset();
            let instant = offset.to_timestamp(civil).ok()?;
            Some(instant.display_with_offset(offset).to_string())
        }
    }
}

fn wrong_type(kind: &MetricKind, got: &Json) -> String {
    format!("expected {}, got {}", describe_kind(kind), show(got))
}

/// A value as it appears in JSON, cut short: messages quote what the model said.
pub(super) fn show(json: &Json) -> String {
    const LIMIT: usize = 80;
    if let Some(literal) = super::huge::literal(json) {
        return format!("{literal} (a number beyond what a 64-bit float holds)");
    }
    let text = super::huge::to_text(json);
    match text.char_indices().nth(LIMIT) {
        None => text,
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
#[path = "coerce_tests.rs"]
mod tests;
