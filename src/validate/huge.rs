//! Numbers beyond what an f64 holds (`1e400`): valid JSON, but serde_json refuses the whole
//! text over one of them, which would make every metric of the answer "not JSON".
//!
//! So before parsing, each such number is replaced by a marker object holding its literal
//! ([`mark`]). Every coercion refuses an object, so the one metric whose value it is
//! becomes invalid, with a message that quotes the number as the model wrote it
//! ([`literal`], used by `coerce::show`); the other metrics of the answer are unaffected,
//! and a confidence beyond f64 is dropped like any unreadable confidence.

use std::borrow::Cow;

use serde_json::Value as Json;

/// The marker's only key: no model writes a NUL into a key.
const MARK_KEY: &str = "\u{0}postcall:beyond_f64";

/// `text` with every number token beyond f64 replaced by `{MARK_KEY: "literal"}`; text
/// without one comes back borrowed.
pub(super) fn mark(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out: Option<String> = None;
    let (mut copied, mut i) = (0, 0);
    let (mut in_string, mut escaped) = (false, false);
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            i += 1;
            continue;
        }
        let starts_number = (b == b'-' || b.is_ascii_digit()) && (i == 0 || !is_word_byte(bytes[i - 1]));
        if b == b'"' {
            in_string = true;
        } else if starts_number {
            let end = i + bytes[i..]
                .iter()
                .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                .unwrap_or(bytes.len() - i);
            let token = &text[i..end];
            if token.parse::<f64>().is_ok_and(f64::is_infinite) {
                let out = out.get_or_insert_with(|| String::with_capacity(text.len() + 64));
                out.push_str(&text[copied..i]);
                out.push_str(&serde_json::json!({ MARK_KEY: token }).to_string());
                copied = end;
            }
            i = end;
            continue;
        }
        i += 1;
    }
    match out {
        None => Cow::Borrowed(text),
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
    }
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

/// The number as the model wrote it, when `json` is a marker.
pub(super) fn literal(json: &Json) -> Option<&str> {
    match json {
        Json::Object(map) if map.len() == 1 => map.get(MARK_KEY)?.as_str(),
        _ => None,
    }
}

/// `json` as JSON text, markers written back as the numbers they stand for.
pub(super) fn to_text(json: &Json) -> String {
    let text = json.to_string();
    let open = serde_json::to_string(MARK_KEY).expect("a string serializes");
    let open = format!("{{{open}:\"");
    if !text.contains(&open) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(at) = rest.find(&open) {
        out.push_str(&rest[..at]);
        let after = &rest[at + open.len()..];
        let end = after.find("\"}").unwrap_or(after.len());
        out.push_str(&after[..end]);
        rest = after.get(end + 2..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_beyond_f64_become_markers_and_nothing_else_changes() {
        let text = r#"{"a": {"value": 1e400, "confidence": -2E+999}, "b": "1e400 in a string", "c": 12.5e3}"#;
        let marked = mark(text);
        let json: Json = serde_json::from_str(&marked).unwrap();
        assert_eq!(literal(&json["a"]["value"]), Some("1e400"));
        assert_eq!(literal(&json["a"]["confidence"]), Some("-2E+999"));
        assert_eq!(json["b"], "1e400 in a string");
        assert_eq!(json["c"], 12500.0);
        assert_eq!(to_text(&json["a"]), r#"{"value":1e400,"confidence":-2E+999}"#);
        assert!(matches!(mark(r#"{"a": 1e300, "b": "x"}"#), Cow::Borrowed(_)));
    }

    #[test]
    fn only_the_metric_whose_number_is_beyond_f64_is_invalid_and_the_reason_quotes_it() {
        use crate::report::MetricResult;
        use crate::spec::{Metric, MetricKind};
        let metric = |id: &str, kind| Metric::new(id, kind, format!("What about {id}?"));
        let refund = metric("refund", MetricKind::Number { range: None });
        let score = metric("score", MetricKind::Integer { range: Some([1, 5]) });
        let answer = r#"{"refund": {"reasoning": "r", "value": 1e400, "confidence": 0.5},
                         "score": {"reasoning": "s", "value": 4, "confidence": 1e999}}"#;
        let checked = crate::validate::check_answer(&[&refund, &score], false, answer);
        match &checked.metrics[0].1 {
            MetricResult::Invalid { reason, raw } => {
                assert!(reason.contains("1e400") && reason.contains("beyond"), "{reason}");
                assert!(raw.contains("\"value\":1e400") && !raw.contains("postcall"), "{raw}");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&checked.metrics[1].1, MetricResult::Ok { confidence: None, .. }),
            "{:?}",
            checked.metrics[1].1
        );
    }

    #[test]
    fn digits_inside_words_are_not_numbers() {
        assert!(matches!(mark("model-v1e999 said x9e999"), Cow::Borrowed(_)));
    }
}
