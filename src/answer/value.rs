//! When two answers count as the same, by metric type.
//!
//! One place decides it so that `diff`, `eval` and `filter` agree: numbers are equal within
//! a tiny relative tolerance (a value that went through JSON as `4` and `4.0` is the same
//! value), free text is compared after normalising case, whitespace and punctuation (a model
//! that writes "Crystal Minh." instead of "crystal minh" gave the same name), lists are sets,
//! and dates are compared as the calendar date written in the text.

use std::collections::BTreeSet;

use crate::report::Value;
use crate::spec::MetricKind;

use super::Answer;

/// How a metric's values are compared and summarised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// enum, boolean: a fixed set of values; transitions and confusion matrices.
    Categorical,
    /// integer, number: differences and absolute errors.
    Numeric,
    /// free text: normalised exact match.
    Text,
    /// datetime: the calendar date.
    Date,
    /// list: set operations.
    Set,
}

pub fn shape(kind: &MetricKind) -> Shape {
    match kind {
        MetricKind::Enum { .. } | MetricKind::Boolean => Shape::Categorical,
        MetricKind::Integer { .. } | MetricKind::Number { .. } => Shape::Numeric,
        MetricKind::String => Shape::Text,
        MetricKind::Datetime => Shape::Date,
        MetricKind::List { .. } => Shape::Set,
    }
}

/// The type a value suggests, for reports that carry no definitions.
pub fn infer_kind(value: &Value) -> MetricKind {
    match value {
        Value::Bool(_) => MetricKind::Boolean,
        Value::Int(_) => MetricKind::Integer { range: None },
        Value::Number(_) => MetricKind::Number { range: None },
        Value::Text(_) => MetricKind::String,
        Value::List(_) => MetricKind::List { choices: None },
    }
}

pub fn as_f64(value: &Value) -> Option<f64> {
    match value {
        Value::Int(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// True when `a` and `b` differ by at most `tolerance`, plus a rounding allowance so that
/// `0.1 + 0.2` equals `0.3`.
pub fn numbers_close(a: f64, b: f64, tolerance: f64) -> bool {
    let slack = 1e-9 * a.abs().max(b.abs()).max(1.0);
    (a - b).abs() <= tolerance + slack
}

/// Lower case, punctuation dropped, runs of whitespace made one space, trimmed.
pub fn normalize_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for ch in text.chars() {
        if ch.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.extend(ch.to_lowercase());
        } else if ch.is_whitespace() || is_word_separator(ch) {
            pending_space = true;
        }
        // Other punctuation (apostrophes, periods, commas…) disappears without splitting
        // the word: "O'Brien" and "OBrien" match.
    }
    out
}

/// Punctuation that separates words rather than sitting inside one.
fn is_word_separator(ch: char) -> bool {
    matches!(ch, '-' | '_' | '/' | '\\' | '|' | ':' | ';' | ',')
}

/// The calendar date written at the start of an ISO 8601 text (`2019-03-13`,
/// `2019-03-13T15:30:00-07:00`), as written, not converted to UTC.
pub fn date_of(text: &str) -> Option<jiff::civil::Date> {
    let text = text.trim();
    let head = text.get(..10)?;
    head.parse().ok()
}

/// A list as a set of normalised items.
pub fn item_set(items: &[String]) -> BTreeSet<String> {
    items
        .iter()
        .map(|i| normalize_text(i))
        .filter(|i| !i.is_empty())
        .collect()
}

/// |a ∩ b| / |a ∪ b|; two empty lists agree completely.
pub fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// Whether two answers are the same for `diff`: same status, and for values the rule of
/// the metric's type (datetimes compare their full text, so a changed time is a change).
pub fn same_answer(kind: &MetricKind, a: &Answer, b: &Answer) -> bool {
    match (a, b) {
        (Answer::Ok(x), Answer::Ok(y)) => same_value(kind, x, y, DateRule::Exact),
        _ => a.status_label() == b.status_label(),
    }
}

/// How strictly dates are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRule {
    /// The whole text after trimming (date and time).
    Exact,
    /// Only the calendar date.
    SameDay,
}

pub fn same_value(kind: &MetricKind, a: &Value, b: &Value, dates: DateRule) -> bool {
    match shape(kind) {
        Shape::Numeric => match (as_f64(a), as_f64(b)) {
            (Some(x), Some(y)) => numbers_close(x, y, 0.0),
            _ => a == b,
        },
        Shape::Text => normalize_text(&a.display()) == normalize_text(&b.display()),
        Shape::Date => match dates {
            DateRule::SameDay => match (date_of(&a.display()), date_of(&b.display())) {
                (Some(x), Some(y)) => x == y,
                _ => a.display().trim() == b.display().trim(),
            },
            DateRule::Exact => a.display().trim() == b.display().trim(),
        },
        Shape::Set => match (a, b) {
            (Value::List(x), Value::List(y)) => item_set(x) == item_set(y),
            _ => a == b,
        },
        Shape::Categorical => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Value {
        Value::Text(s.to_string())
    }

    #[test]
    fn text_ignores_case_whitespace_and_punctuation() {
        assert_eq!(normalize_text("  Crystal   Minh. "), "crystal minh");
        assert_eq!(normalize_text("O'Brien"), "obrien");
        assert_eq!(
            normalize_text("product_defect/return-size"),
            "product defect return size"
        );
        assert!(same_value(
            &MetricKind::String,
            &text("Joyce WU!"),
            &text("joyce wu"),
            DateRule::Exact
        ));
        assert!(!same_value(
            &MetricKind::String,
            &text("Joyce"),
            &text("Joy"),
            DateRule::Exact
        ));
    }

    #[test]
    fn numbers_equal_across_int_and_float() {
        let kind = MetricKind::Number { range: None };
        assert!(same_value(&kind, &Value::Int(4), &Value::Number(4.0), DateRule::Exact));
        assert!(same_value(
            &kind,
            &Value::Number(0.1 + 0.2),
            &Value::Number(0.3),
            DateRule::Exact
        ));
        assert!(!same_value(&kind, &Value::Int(4), &Value::Int(5), DateRule::Exact));
        assert!(numbers_close(4.0, 5.0, 1.0));
        assert!(!numbers_close(4.0, 5.5, 1.0));
    }

    #[test]
    fn dates_compare_the_written_day_or_the_whole_text() {
        let a = text("2019-03-13T23:30:00-07:00");
        let b = text("2019-03-13");
        assert!(same_value(&MetricKind::Datetime, &a, &b, DateRule::SameDay));
        assert!(!same_value(&MetricKind::Datetime, &a, &b, DateRule::Exact));
        assert_eq!(date_of("not a date"), None);
    }

    #[test]
    fn lists_are_sets() {
        let kind = MetricKind::List { choices: None };
        let a = Value::List(vec!["Late delivery".into(), "refund".into()]);
        let b = Value::List(vec!["Refund".into(), "late delivery".into(), "refund".into()]);
        assert!(same_value(&kind, &a, &b, DateRule::Exact));
        let x = item_set(&["a".into(), "b".into()]);
        let y = item_set(&["b".into(), "c".into()]);
        assert!((jaccard(&x, &y) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(jaccard(&BTreeSet::new(), &BTreeSet::new()), 1.0);
    }

    #[test]
    fn statuses_compare_as_values_of_their_own() {
        let kind = MetricKind::Boolean;
        assert!(same_answer(&kind, &Answer::Null, &Answer::Null));
        assert!(!same_answer(&kind, &Answer::Null, &Answer::NotApplicable));
        assert!(!same_answer(&kind, &Answer::Ok(Value::Bool(true)), &Answer::Null));
    }
}
