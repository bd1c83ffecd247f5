//! `--confidence logprobs`: how likely the model found the answer it gave, read from the
//! token log-probabilities an OpenAI-compatible endpoint returns with `logprobs: true`.
//!
//! The answer is one JSON object with a property per metric, `{"reasoning": …, "value": …,
//! "confidence": …}`. The probability of a metric's answer is the product of the
//! probabilities of the tokens that spell its `value` (every token overlapping the value's
//! text: for a string, what is inside the quotes; a token that also holds a quote or the
//! colon before it counts whole, as the model chose it whole). The reasoning came first,
//! so this is the probability of the value given the model's own reasoning.
//!
//! Pure: the answer text and its tokens in, one probability per top-level property out.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One token of the answer as the endpoint sent it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TokenLogprob {
    #[serde(default)]
    pub token: String,
    /// The token's UTF-8 bytes (a token may hold part of a character); OpenAI and
    /// llama-server send them. Without them, `token`'s own bytes.
    #[serde(default)]
    pub bytes: Option<Vec<u8>>,
    pub logprob: f64,
}

impl TokenLogprob {
    fn len(&self) -> usize {
        self.bytes.as_ref().map_or(self.token.len(), Vec::len)
    }

    fn spelled(&self) -> std::borrow::Cow<'_, [u8]> {
        match &self.bytes {
            Some(bytes) => bytes.into(),
            None => self.token.as_bytes().into(),
        }
    }
}

/// The probability of each metric's `value` in `content`, by property name. A property
/// whose value's tokens cannot be found (the tokens do not spell the answer, or it has no
/// `value`) is left out.
pub fn value_probabilities(content: &str, tokens: &[TokenLogprob]) -> BTreeMap<String, f64> {
    let Some(offset) = alignment(content, tokens) else {
        return BTreeMap::new();
    };
    let mut starts = Vec::with_capacity(tokens.len());
    let mut at = 0usize;
    for token in tokens {
        starts.push(at);
        at += token.len();
    }
    value_spans(content)
        .into_iter()
        .filter_map(|(id, (start, end))| {
            let (start, end) = (start + offset, end + offset);
            let mut sum = 0.0;
            let mut any = false;
            for (token, &from) in tokens.iter().zip(&starts) {
                let to = from + token.len();
                // An empty value (`""`) has no inside: the token holding its quotes is it.
                let overlaps = if start == end {
                    from <= start && start < to.max(from + 1)
                } else {
                    from < end && to > start
                };
                if overlaps {
                    sum += token.logprob;
                    any = true;
                }
            }
            any.then(|| (id, sum.exp().clamp(0.0, 1.0)))
        })
        .collect()
}

/// Where `content` starts in the tokens' text: they spell it exactly, or with something
/// before it the answer text lost (leading whitespace). `None` when they do not spell it.
fn alignment(content: &str, tokens: &[TokenLogprob]) -> Option<usize> {
    let mut spelled = Vec::with_capacity(content.len());
    for token in tokens {
        spelled.extend_from_slice(&token.spelled());
    }
    let content = content.as_bytes();
    if spelled == content {
        return Some(0);
    }
    (!content.is_empty())
        .then(|| spelled.windows(content.len()).position(|w| w == content))
        .flatten()
}

/// The byte span of each top-level property's `value` in the first JSON object of `text`
/// (inside the quotes for a string), by property name.
fn value_spans(text: &str) -> BTreeMap<String, (usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = BTreeMap::new();
    let Some(open) = bytes.iter().position(|&b| b == b'{') else {
        return spans;
    };
    let _ = members(bytes, open, &mut |key, value_at| {
        // Each metric's property is an object holding its `value`.
        if bytes.get(value_at) == Some(&b'{') {
            let _ = members(bytes, value_at, &mut |inner, at| {
                if inner == "value"
                    && let Some(end) = skip_value(bytes, at)
                {
                    let span = if bytes[at] == b'"' {
                        (at + 1, end - 1)
                    } else {
                        (at, end)
                    };
                    spans.insert(key.to_string(), span);
                }
            });
        }
    });
    spans
}

/// Walks the object starting at `open`, calling `each(key, where its value starts)` for
/// each member; the index just past the object, or `None` if it is not well formed.
fn members(bytes: &[u8], open: usize, each: &mut dyn FnMut(&str, usize)) -> Option<usize> {
    let mut i = skip_space(bytes, open + 1);
    if bytes.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        let key_end = skip_string(bytes, i)?;
        let key: String = serde_json::from_slice(&bytes[i..key_end]).ok()?;
        i = skip_space(bytes, key_end);
        if bytes.get(i) != Some(&b':') {
            return None;
        }
        let value_at = skip_space(bytes, i + 1);
        each(&key, value_at);
        i = skip_space(bytes, skip_value(bytes, value_at)?);
        match bytes.get(i) {
            Some(b',') => i = skip_space(bytes, i + 1),
            Some(b'}') => return Some(i + 1),
            _ => return None,
        }
    }
}

fn skip_space(bytes: &[u8], mut i: usize) -> usize {
    while bytes.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// The index just past the string starting at `i`.
fn skip_string(bytes: &[u8], i: usize) -> Option<usize> {
    if bytes.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match bytes.get(j)? {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
}

/// The index just past the JSON value starting at `i`.
fn skip_value(bytes: &[u8], i: usize) -> Option<usize> {
    match bytes.get(i)? {
        b'"' => skip_string(bytes, i),
        b'{' => members(bytes, i, &mut |_, _| {}),
        b'[' => {
            let mut j = skip_space(bytes, i + 1);
            if bytes.get(j) == Some(&b']') {
                return Some(j + 1);
            }
            loop {
                j = skip_space(bytes, skip_value(bytes, j)?);
                match bytes.get(j)? {
                    b',' => j = skip_space(bytes, j + 1),
                    b']' => return Some(j + 1),
                    _ => return None,
                }
            }
        }
        _ => {
            let len = bytes[i..]
                .iter()
                .position(|b| matches!(b, b',' | b'}' | b']') || b.is_ascii_whitespace())
                .unwrap_or(bytes.len() - i);
            (len > 0).then_some(i + len)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str, logprob: f64) -> TokenLogprob {
        TokenLogprob {
            token: text.into(),
            bytes: Some(text.as_bytes().to_vec()),
            logprob,
        }
    }

    /// Tokens spelling `pieces`, each with its logprob.
    fn tokens(pieces: &[(&str, f64)]) -> (String, Vec<TokenLogprob>) {
        let text: String = pieces.iter().map(|(t, _)| *t).collect();
        (text, pieces.iter().map(|(t, l)| token(t, *l)).collect())
    }

    #[test]
    fn the_value_s_tokens_multiply_and_nothing_else_counts() {
        let (content, tokens) = tokens(&[
            (r#"{"outcome": {"reasoning": ""#, -0.5),
            ("The customer", -2.0),
            (r#"", "value": ""#, -0.01),
            ("res", 0.8f64.ln()),
            (r#"olved""#, 0.5f64.ln()),
            (r#", "confidence": 0.9}, "#, -0.3),
            (r#""ok": {"value": "#, -0.2),
            ("true", 0.25f64.ln()),
            ("}}", 0.0),
        ]);
        let got = value_probabilities(&content, &tokens);
        assert!((got["outcome"] - 0.4).abs() < 1e-12, "{got:?}");
        assert!((got["ok"] - 0.25).abs() < 1e-12, "{got:?}");
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn a_token_that_also_holds_the_quote_and_colon_counts_whole() {
        let (content, tokens) = tokens(&[
            (r#"{"a": {"value":"#, -0.1),
            (r#" "yes"#, 0.6f64.ln()),
            (r#""}}"#, -0.2),
        ]);
        let got = value_probabilities(&content, &tokens);
        // The closing quote is not inside the value: only the second token counts.
        assert!((got["a"] - 0.6).abs() < 1e-12, "{got:?}");
    }

    #[test]
    fn tokens_that_do_not_spell_the_answer_give_nothing() {
        let (_, wrong) = tokens(&[(r#"{"a": {"value": true}}"#, -0.1)]);
        assert!(value_probabilities(r#"{"a": {"value": false}}"#, &wrong).is_empty());
        // Leading whitespace the answer text lost is allowed for.
        let (_, led) = tokens(&[
            ("\n", 0.0),
            (r#"{"a": {"value": "#, 0.0),
            ("false", 0.9f64.ln()),
            ("}}", 0.0),
        ]);
        let got = value_probabilities(r#"{"a": {"value": false}}"#, &led);
        assert!((got["a"] - 0.9).abs() < 1e-12, "{got:?}");
    }

    #[test]
    fn spans_skip_nested_values_and_escapes() {
        let text = r#"```json
{"a": {"evidence": [{"quote": "he said \"no\" {"}], "value": null}, "summary": "x", "b": {"value": "q\"r"}}
```"#;
        let spans = value_spans(text);
        let a = spans["a"];
        assert_eq!(&text[a.0..a.1], "null");
        let b = spans["b"];
        assert_eq!(&text[b.0..b.1], r#"q\"r"#);
        assert!(!spans.contains_key("summary"));
    }

    #[test]
    fn a_token_split_inside_a_character_is_counted_by_its_bytes() {
        let e = "é".as_bytes();
        let tokens = vec![
            token(r#"{"a": {"value": ""#, 0.0),
            TokenLogprob {
                token: "bytes:\\xc3".into(),
                bytes: Some(vec![e[0]]),
                logprob: 0.5f64.ln(),
            },
            TokenLogprob {
                token: "bytes:\\xa9".into(),
                bytes: Some(vec![e[1]]),
                logprob: 0.5f64.ln(),
            },
            token(r#""}}"#, 0.0),
        ];
        let got = value_probabilities(r#"{"a": {"value": "é"}}"#, &tokens);
        assert!((got["a"] - 0.25).abs() < 1e-12, "{got:?}");
    }
}
