//! Finding the answer object in a model's text.
//!
//! Endpoints without structured output often wrap the JSON in a markdown fence or put a
//! sentence before or after it. That wrapping says nothing about the answer's quality, so
//! it is peeled off here instead of costing a re-ask. What is looked for, in order:
//!
//! 1. the whole text (trimmed) as JSON;
//! 2. the contents of each markdown fence (```` ```json … ``` ```` or ```` ``` … ``` ````);
//! 3. the first `{…}` object that parses, wherever it starts in the prose.
//!
//! When none of these is JSON, the error reported is the one for the first fence (the
//! model clearly meant that to be the answer) or else for the whole text.

use serde_json::{Map, Value as Json};

/// Longest raw text kept in an `Invalid` result, in characters: enough to see what went
/// wrong, small enough that a report with many bad answers stays readable.
pub(crate) const RAW_LIMIT: usize = 2000;

/// The answer as a JSON object, or the reason (shared by every metric) why it is not one.
pub(super) fn answer_object(raw: &str) -> Result<Map<String, Json>, String> {
    match find_json(raw) {
        Ok(Json::Object(map)) => Ok(map),
        Ok(other) => Err(format!(
            "the answer is not a JSON object: got {}; answer with one object that has a \
             property per metric id",
            json_kind(&other)
        )),
        Err(err) => Err(format!("the answer is not JSON: {err}")),
    }
}

/// The first interpretation of `raw` that is JSON, per the order in the module doc.
fn find_json(raw: &str) -> Result<Json, serde_json::Error> {
    // A byte-order mark is invisible in logs and not JSON; some local servers emit one.
    let marked = super::huge::mark(raw.trim_start_matches('\u{feff}').trim());
    let text: &str = &marked;
    let whole = match serde_json::from_str::<Json>(text) {
        Ok(json) => return Ok(json),
        Err(err) => err,
    };

    let mut first_fence_error = None;
    for inner in fences(text) {
        match serde_json::from_str::<Json>(inner.trim()) {
            Ok(json) => return Ok(json),
            Err(err) => {
                first_fence_error.get_or_insert(err);
            }
        }
    }

    if let Some(object) = first_object_in_prose(text) {
        return Ok(object);
    }
    if let Some(object) = complete_part_of_cut_object(text) {
        return Ok(object);
    }
    Err(first_fence_error.unwrap_or(whole))
}

/// An answer cut off mid-object (by `max_tokens`) still holds the top-level properties
/// written before the cut: keep those, so only the missing metrics are asked again.
fn complete_part_of_cut_object(text: &str) -> Option<Json> {
    let start = text.find('{')?;
    let body = &text[start..];
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    // Byte offset just after the last complete top-level property value.
    let mut last_complete = None;
    for (i, c) in body.char_indices() {
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 1 {
                    last_complete = Some(i + 1);
                }
            }
            ',' if depth == 1 => last_complete = Some(i),
            _ => {}
        }
    }
    // An object that closes is broken, not cut: leave its syntax error to be reported.
    if depth == 0 {
        return None;
    }
    let cut = last_complete?;
    let candidate = format!("{}}}", body[..cut].trim_end().trim_end_matches(','));
    match serde_json::from_str::<Json>(&candidate) {
        Ok(Json::Object(map)) if !map.is_empty() => Some(Json::Object(map)),
        _ => None,
    }
}

/// The contents of each markdown fence in `text`, in order. An unterminated fence (a
/// truncated answer) runs to the end of the text.
fn fences(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let line_end = after.find('\n').unwrap_or(after.len());
        // An info string (`json`, `JSON5`, `jsonc`) is skipped; anything else on the opening
        // line (```{"a": 1}```) is content.
        let is_info = after[..line_end]
            .trim()
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+' | '.'));
        let body = if is_info { &after[line_end..] } else { after };
        match body.find("```") {
            Some(close) => {
                found.push(&body[..close]);
                rest = &body[close + 3..];
            }
            None => {
                found.push(body);
                break;
            }
        }
    }
    found
}

/// The first JSON object embedded in prose ("Here is my answer: {…} Hope this helps").
///
/// An object that runs to the end of the text without closing (an answer cut off at the
/// token limit) ends the search: every later `{` is inside it, and the first complete one
/// would be one metric's `{"reasoning", "value", "confidence"}` taken for the whole answer
/// (issue 10). Such an answer is [`complete_part_of_cut_object`]'s to read.
fn first_object_in_prose(text: &str) -> Option<Json> {
    // Bounded so a long non-JSON answer full of braces cannot make this quadratic.
    const MAX_STARTS: usize = 32;
    for (start, _) in text.match_indices('{').take(MAX_STARTS) {
        let mut stream = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Json>();
        match stream.next() {
            Some(Ok(json @ Json::Object(_))) => return Some(json),
            Some(Err(e)) if e.is_eof() => return None,
            _ => {}
        }
    }
    None
}

/// "an array", "a string"… for messages about a value of the wrong shape.
pub(crate) fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

/// `text` cut to [`RAW_LIMIT`] characters, saying so when it was cut.
pub(crate) fn truncate_raw(text: &str) -> String {
    match text.char_indices().nth(RAW_LIMIT) {
        None => text.to_string(),
        Some((cut, _)) => {
            let total = text.chars().count();
            format!("{}… (truncated; {total} characters in all)", &text[..cut])
        }
    }
}

#[cfg(test)]
mod cut_tests {
    use super::*;

    #[test]
    fn a_cut_answer_is_never_read_as_one_metric_s_inner_object() {
        // Cut inside the second metric, after the first one's object closed.
        let cut = r#"{"call_outcome": {"reasoning": "The agent fixed it.", "value": "resolved", "confidence": 0.9}, "score": {"reasoning": "I'm unable to assist you, I'm unable"#;
        let Json::Object(map) = find_json(cut).unwrap() else {
            panic!("not an object")
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["call_outcome"]);
        // Cut inside the first metric's reasoning: nothing complete, and not its inner
        // object either.
        let cut = r#"{"call_outcome": {"applicable": true, "reasoning": "loop {\"a\": 1} loop"#;
        assert!(find_json(cut).is_err());
    }

    #[test]
    fn a_cut_answer_keeps_the_properties_completed_before_the_cut() {
        let cut = r#"{"a": {"reasoning": "x, \"y\"}", "value": 1, "confidence": 0.5}, "b": {"reasoning": "loop loop"#;
        let Json::Object(map) = complete_part_of_cut_object(cut).unwrap() else {
            panic!()
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(map["a"]["value"], 1);
        // Nothing complete yet: nothing to keep.
        assert!(complete_part_of_cut_object(r#"{"a": {"reasoning": "lo"#).is_none());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_json_is_taken_as_is() {
        assert_eq!(find_json(" \n{\"a\": 1}\n ").unwrap(), json!({"a": 1}));
    }

    #[test]
    fn json_fence_is_unwrapped() {
        let raw = "```json\n{\"a\": 1}\n```";
        assert_eq!(find_json(raw).unwrap(), json!({"a": 1}));
    }

    #[test]
    fn plain_fence_is_unwrapped() {
        assert_eq!(find_json("```\n{\"a\": 1}\n```").unwrap(), json!({"a": 1}));
    }

    #[test]
    fn fence_with_prose_around_is_unwrapped() {
        let raw = "Sure! Here is the analysis:\n\n```JSON\n{\"a\": [1, 2]}\n```\n\nLet me know.";
        assert_eq!(find_json(raw).unwrap(), json!({"a": [1, 2]}));
    }

    #[test]
    fn one_line_fence_is_unwrapped() {
        assert_eq!(find_json("```{\"a\": 1}```").unwrap(), json!({"a": 1}));
    }

    #[test]
    fn unterminated_fence_is_read_to_the_end() {
        assert_eq!(find_json("```json\n{\"a\": 1}\n").unwrap(), json!({"a": 1}));
    }

    #[test]
    fn second_fence_is_tried_when_first_is_not_json() {
        let raw = "```text\nnot json\n```\nand\n```json\n{\"a\": 1}\n```";
        assert_eq!(find_json(raw).unwrap(), json!({"a": 1}));
    }

    #[test]
    fn object_in_prose_without_fence_is_found() {
        let raw = "My answer is {\"a\": {\"b\": \"}\"}} — hope that helps {x}";
        assert_eq!(find_json(raw).unwrap(), json!({"a": {"b": "}"}}));
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        assert_eq!(find_json("\u{feff}{\"a\": 1}").unwrap(), json!({"a": 1}));
    }

    #[test]
    fn prose_only_is_not_json() {
        let err = answer_object("I could not determine the outcome.").unwrap_err();
        assert!(err.starts_with("the answer is not JSON: "), "{err}");
    }

    #[test]
    fn broken_fence_reports_the_fence_error() {
        let err = answer_object("```json\n{\"a\": 1,,}\n```").unwrap_err();
        assert!(err.starts_with("the answer is not JSON: "), "{err}");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn array_is_json_but_not_an_object() {
        let err = answer_object("[1, 2]").unwrap_err();
        assert!(err.contains("not a JSON object: got an array"), "{err}");
    }

    #[test]
    fn truncation_keeps_short_text_and_marks_long_text() {
        assert_eq!(truncate_raw("short"), "short");
        let long = "é".repeat(RAW_LIMIT + 5);
        let cut = truncate_raw(&long);
        assert!(cut.starts_with(&"é".repeat(RAW_LIMIT)));
        assert!(cut.ends_with(&format!("(truncated; {} characters in all)", RAW_LIMIT + 5)));
    }
}
