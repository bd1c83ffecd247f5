//! Parsing a successful `/chat/completions` response into the answer text and usage.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::{ApiError, ErrorKind, provider_message};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    /// The part of `prompt_tokens` the provider served from its prompt cache.
    pub cached_prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The model's answer: the JSON text (from the message content or the forced tool call's
/// arguments), why it stopped, and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub content: String,
    pub finish_reason: Option<String>,
    pub usage: TokenUsage,
    /// With `logprobs: true` (`--confidence logprobs`): the probability of each metric's
    /// `value` tokens, by metric id (see [`super::logprobs`]). `None` when the endpoint
    /// sent no logprobs for the answer's text.
    pub value_probabilities: Option<BTreeMap<String, f64>>,
}

impl Completion {
    /// The answer was cut off by the output-token limit: re-ask with more room.
    pub fn truncated(&self) -> bool {
        self.finish_reason.as_deref() == Some("length")
    }
}

/// The longest answer kept, in bytes: real answers are a few kilobytes, and every byte
/// kept is written to the report and the cache. A longer one is refused for its call
/// (never cut: a cut answer would be taken for a complete one).
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

// Only what the answer needs is read, and every field leniently: servers send `null` for
// absent lists (`"tool_calls": null`), `null` or floats for token counts, numbers beyond
// f64 in fields nobody reads. Unread fields are skipped without being converted, and the
// answer text is taken as raw JSON, so no number in it can fail the parse here: that is
// the validator's business, which says which value is wrong.

#[derive(Deserialize)]
struct Body<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default, borrow)]
    usage: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    message: Option<ChoiceMessage<'a>>,
    #[serde(default, borrow)]
    finish_reason: Option<&'a RawValue>,
    /// `{"content": [{"token", "bytes", "logprob", …}]}` when the request asked for them.
    #[serde(default, borrow)]
    logprobs: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ChoiceLogprobs {
    #[serde(default)]
    content: Option<Vec<super::logprobs::TokenLogprob>>,
}

#[derive(Deserialize)]
struct ChoiceMessage<'a> {
    #[serde(default, borrow)]
    content: Option<&'a RawValue>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
    #[serde(default, borrow)]
    refusal: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(default, borrow)]
    function: Option<Function<'a>>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(default, borrow)]
    arguments: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Usage<'a> {
    #[serde(default, borrow, alias = "input_tokens")]
    prompt_tokens: Option<&'a RawValue>,
    #[serde(default, borrow, alias = "output_tokens")]
    completion_tokens: Option<&'a RawValue>,
    /// OpenAI chat completions; `input_tokens_details` in its Responses API.
    #[serde(default, borrow, alias = "input_tokens_details")]
    prompt_tokens_details: Option<&'a RawValue>,
    /// DeepSeek's name for cached input.
    #[serde(default, borrow)]
    prompt_cache_hit_tokens: Option<&'a RawValue>,
    /// Anthropic-compatible servers' name for it.
    #[serde(default, borrow)]
    cache_read_input_tokens: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct PromptDetails<'a> {
    #[serde(default, borrow)]
    cached_tokens: Option<&'a RawValue>,
}

/// Parses a 2xx body. A body that is not a chat completion (an HTML page from a proxy, a
/// truncated stream) is a transient error with a short excerpt, never a panic.
pub fn parse_completion(body: &str) -> Result<Completion, ApiError> {
    let parsed: Body = serde_json::from_str(body).map_err(|e| {
        ApiError::transient(format!(
            "the endpoint's response is not a chat completion ({e}): {}",
            provider_message(body)
        ))
    })?;
    let usage = parsed.usage.map(token_usage).unwrap_or_default();
    let Some(choice) = parsed.choices.unwrap_or_default().into_iter().next() else {
        return Err(ApiError::transient(format!(
            "the endpoint returned no choices: {}",
            provider_message(body)
        )));
    };
    let finish_reason = choice.finish_reason.and_then(text_of);
    // Logprobs cover the message's content; a tool call's arguments have none.
    let tokens = choice
        .logprobs
        .and_then(|raw| serde_json::from_str::<ChoiceLogprobs>(raw.get()).ok())
        .and_then(|l| l.content);
    let message = choice
        .message
        .ok_or_else(|| ApiError::transient("the endpoint returned a choice without a message"))?;
    let arguments = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .find_map(|call| call.function?.arguments);
    let from_content = arguments.is_none();
    let content = match arguments.or(message.content).and_then(answer_text) {
        Some(text) => text,
        None => match message.refusal.and_then(text_of) {
            Some(refusal) => {
                return Err(ApiError {
                    kind: ErrorKind::Rejected,
                    status: None,
                    message: format!("the model refused: {refusal}"),
                    retry_after: None,
                });
            }
            None => String::new(),
        },
    };
    if content.len() > MAX_ANSWER_BYTES {
        return Err(ApiError {
            kind: ErrorKind::Rejected,
            status: None,
            message: format!(
                "the answer is {:.1} MiB, over the {} MiB postcall keeps in reports and the cache; \
                 bound answers with --max-tokens",
                content.len() as f64 / (1024.0 * 1024.0),
                MAX_ANSWER_BYTES / (1024 * 1024)
            ),
            retry_after: None,
        });
    }
    let value_probabilities = tokens
        .filter(|_| from_content)
        .map(|tokens| super::logprobs::value_probabilities(&content, &tokens));
    Ok(Completion {
        content,
        finish_reason,
        usage,
        value_probabilities,
    })
}

/// The answer's text from message content or tool-call arguments: a string as it is; text
/// parts joined; anything else JSON (an object given unquoted) as its raw text, for the
/// validator to read. `None` for null.
fn answer_text(raw: &RawValue) -> Option<String> {
    let text = raw.get().trim();
    if text.is_empty() || text == "null" {
        return None;
    }
    match text.as_bytes()[0] {
        b'"' => serde_json::from_str::<String>(text).ok(),
        b'[' => {
            #[derive(Deserialize)]
            struct Part {
                #[serde(default)]
                text: Option<String>,
            }
            match serde_json::from_str::<Vec<Part>>(text) {
                // Content given as parts: keep the text parts.
                Ok(parts) => Some(parts.into_iter().filter_map(|p| p.text).collect()),
                Err(_) => Some(text.to_string()),
            }
        }
        _ => Some(text.to_string()),
    }
}

/// A string field's text; `None` for null or anything that is not a string.
fn text_of(raw: &RawValue) -> Option<String> {
    serde_json::from_str::<Option<String>>(raw.get()).ok().flatten()
}

/// Token counts as far as they can be read: an integer, or a whole non-negative float;
/// anything else (null, a string, `1e400`) counts as 0. Usage is for the summary and the
/// cost estimate; it never decides whether an answer is good.
fn token_usage(raw: &RawValue) -> TokenUsage {
    let Ok(usage) = serde_json::from_str::<Usage>(raw.get()) else {
        return TokenUsage::default();
    };
    let details = usage
        .prompt_tokens_details
        .and_then(|raw| serde_json::from_str::<PromptDetails>(raw.get()).ok())
        .and_then(|d| d.cached_tokens);
    let cached = details
        .or(usage.prompt_cache_hit_tokens)
        .or(usage.cache_read_input_tokens);
    let prompt_tokens = usage.prompt_tokens.map_or(0, count);
    TokenUsage {
        prompt_tokens,
        // Never more than the prompt: a server that counts otherwise must not make cost negative.
        cached_prompt_tokens: cached.map_or(0, count).min(prompt_tokens),
        completion_tokens: usage.completion_tokens.map_or(0, count),
    }
}

fn count(raw: &RawValue) -> u64 {
    let text = raw.get();
    text.parse::<u64>().ok().unwrap_or_else(|| {
        text.parse::<f64>()
            .ok()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
            .map_or(0, |f| f as u64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logprobs_of_the_content_give_each_value_its_probability_and_tool_calls_none() {
        // OpenAI's shape: `choices[0].logprobs.content`, each token with its bytes.
        let body = serde_json::json!({"choices": [{
            "message": {"role": "assistant", "content": "{\"ok\": {\"value\": true}}"},
            "logprobs": {"content": [
                {"token": "{\"ok\": {\"value\": ", "logprob": -0.01, "bytes": [], "top_logprobs": []},
                {"token": "true", "logprob": 0.7f64.ln(), "top_logprobs": []},
                {"token": "}}", "logprob": 0.0, "top_logprobs": []}
            ], "refusal": null},
            "finish_reason": "stop"}]});
        let mut body = body;
        body["choices"][0]["logprobs"]["content"][0]["bytes"] = serde_json::json!("{\"ok\": {\"value\": ".as_bytes());
        let c = parse_completion(&body.to_string()).unwrap();
        let p = c.value_probabilities.expect("logprobs")["ok"];
        assert!((p - 0.7).abs() < 1e-12, "{p}");
        let plain = parse_completion(r#"{"choices":[{"message":{"content":"{}"}}]}"#).unwrap();
        assert_eq!(plain.value_probabilities, None, "no logprobs sent");
        body["choices"][0]["message"] = serde_json::json!({"content": null, "tool_calls": [
            {"function": {"name": "f", "arguments": "{\"ok\": {\"value\": true}}"}}]});
        let tools = parse_completion(&body.to_string()).unwrap();
        assert_eq!(
            tools.value_probabilities, None,
            "logprobs are the content's, not the arguments'"
        );
    }

    #[test]
    fn content_and_usage_are_read() {
        let c = parse_completion(r#"{"choices":[{"message":{"role":"assistant","content":"{\"a\":1}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5}}"#).unwrap();
        assert_eq!(c.content, r#"{"a":1}"#);
        assert_eq!(
            c.usage,
            TokenUsage {
                prompt_tokens: 12,
                cached_prompt_tokens: 0,
                completion_tokens: 5
            }
        );
        assert!(!c.truncated());
    }

    #[test]
    fn cached_input_is_read_from_each_servers_field() {
        for usage in [
            r#"{"prompt_tokens":100,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":64}}"#,
            r#"{"input_tokens":100,"output_tokens":5,"input_tokens_details":{"cached_tokens":64}}"#,
            r#"{"prompt_tokens":100,"completion_tokens":5,"prompt_cache_hit_tokens":64}"#,
            r#"{"prompt_tokens":100,"completion_tokens":5,"cache_read_input_tokens":64}"#,
        ] {
            let body = format!(r#"{{"choices":[{{"message":{{"content":"{{}}"}}}}],"usage":{usage}}}"#);
            let c = parse_completion(&body).unwrap();
            assert_eq!(c.usage.cached_prompt_tokens, 64, "{usage}");
            assert_eq!(c.usage.prompt_tokens, 100, "{usage}");
        }
        let odd = r#"{"choices":[{"message":{"content":"{}"}}],"usage":{"prompt_tokens":10,"prompt_tokens_details":{"cached_tokens":50}}}"#;
        assert_eq!(parse_completion(odd).unwrap().usage.cached_prompt_tokens, 10);
        let none =
            r#"{"choices":[{"message":{"content":"{}"}}],"usage":{"prompt_tokens":10,"prompt_tokens_details":null}}"#;
        assert_eq!(parse_completion(none).unwrap().usage.cached_prompt_tokens, 0);
    }

    #[test]
    fn tool_call_arguments_are_the_answer() {
        let c = parse_completion(r#"{"choices":[{"message":{"content":null,"tool_calls":[{"type":"function","function":{"name":"post_call_metrics","arguments":"{\"b\":2}"}}]},"finish_reason":"tool_calls"}]}"#).unwrap();
        assert_eq!(c.content, r#"{"b":2}"#);
    }

    #[test]
    fn length_cut_is_flagged() {
        let c =
            parse_completion(r#"{"choices":[{"message":{"content":"{\"a\":"},"finish_reason":"length"}]}"#).unwrap();
        assert!(c.truncated());
    }

    #[test]
    fn nulls_where_lists_and_counts_belong_are_read_as_absent() {
        let c = parse_completion(r#"{"choices":[{"message":{"role":"assistant","content":"{\"a\":1}","tool_calls":null,"refusal":null,"function_call":null},"finish_reason":null,"logprobs":null}],"usage":{"prompt_tokens":null,"completion_tokens":7,"total_tokens":null}}"#).unwrap();
        assert_eq!(c.content, r#"{"a":1}"#);
        assert_eq!(
            c.usage,
            TokenUsage {
                prompt_tokens: 0,
                cached_prompt_tokens: 0,
                completion_tokens: 7
            }
        );
        assert_eq!(c.finish_reason, None);
        let c = parse_completion(r#"{"choices":[{"message":{"content":"x","tool_calls":[]}}],"usage":null}"#).unwrap();
        assert_eq!(c.content, "x");
    }

    #[test]
    fn numbers_beyond_f64_or_u64_anywhere_in_the_envelope_do_not_fail_the_answer() {
        let c = parse_completion(r#"{"created":1e400,"choices":[{"index":1e400,"message":{"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1e400,"completion_tokens":12.0,"total_tokens":-3}}"#).unwrap();
        assert_eq!(c.content, "ok");
        assert_eq!(
            c.usage,
            TokenUsage {
                prompt_tokens: 0,
                cached_prompt_tokens: 0,
                completion_tokens: 12
            }
        );
        assert_eq!(
            parse_completion(r#"{"choices":[{"message":{"content":"ok"}}],"usage":{"prompt_tokens":"12","completion_tokens":99999999999999999999999}}"#)
                .unwrap()
                .usage,
            TokenUsage::default()
        );
    }

    #[test]
    fn an_answer_given_as_raw_json_is_kept_as_its_text_for_the_validator() {
        // Some servers put the object itself where a string belongs; its numbers are the
        // validator's to judge, even one no f64 can hold.
        let c = parse_completion(r#"{"choices":[{"message":{"content":null,"tool_calls":[{"function":{"name":"f","arguments":{"score":{"value":1e400}}}}]}}]}"#).unwrap();
        assert_eq!(c.content, r#"{"score":{"value":1e400}}"#);
        let c = parse_completion(
            r#"{"choices":[{"message":{"content":[{"type":"text","text":"{\"a\":"},{"type":"text","text":"1}"}]}}]}"#,
        )
        .unwrap();
        assert_eq!(c.content, r#"{"a":1}"#);
    }

    #[test]
    fn an_answer_over_the_cap_is_refused_for_its_call_not_kept() {
        let huge = "x".repeat(MAX_ANSWER_BYTES + 1);
        let err = parse_completion(&format!(r#"{{"choices":[{{"message":{{"content":"{huge}"}}}}]}}"#)).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Rejected);
        assert!(err.message.contains("--max-tokens"), "{}", err.message);
    }

    #[test]
    fn html_is_a_transient_error_not_a_panic() {
        let err = parse_completion("<html><body>Gateway Timeout</body></html>").unwrap_err();
        assert!(err.is_retryable());
        assert!(err.message.contains("Gateway Timeout"), "{}", err.message);
    }
}
