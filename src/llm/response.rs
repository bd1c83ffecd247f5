//! Parsing a successful `/chat/completions` response into the answer text and usage.

use serde::Deserialize;

use super::error::{ApiError, ErrorKind, provider_message};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenUsage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// The model's answer: the JSON text (from the message content or the forced tool call's
/// arguments), why it stopped, and what it cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub content: String,
    pub finish_reason: Option<String>,
    pub usage: TokenUsage,
}

impl Completion {
    /// The answer was cut off by the output-token limit: re-ask with more room.
    pub fn truncated(&self) -> bool {
        self.finish_reason.as_deref() == Some("length")
    }
}

#[derive(Deserialize)]
struct Body {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<ChoiceMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Option<serde_json::Value>,
    #[serde(default)]
    tool_calls: Vec<ToolCall>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct ToolCall {
    function: Function,
}

#[derive(Deserialize)]
struct Function {
    #[serde(default)]
    arguments: String,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
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
    let usage = parsed
        .usage
        .map(|u| TokenUsage {
            prompt_tokens: u.prompt_tokens,
            completion_tokens: u.completion_tokens,
        })
        .unwrap_or_default();
    let Some(choice) = parsed.choices.into_iter().next() else {
        return Err(ApiError::transient(format!(
            "the endpoint returned no choices: {}",
            provider_message(body)
        )));
    };
    let finish_reason = choice.finish_reason;
    let message = choice
        .message
        .ok_or_else(|| ApiError::transient("the endpoint returned a choice without a message"))?;
    let content = if let Some(call) = message.tool_calls.into_iter().next() {
        call.function.arguments
    } else {
        match message.content {
            Some(serde_json::Value::String(s)) => s,
            // Content given as parts: keep the text parts.
            Some(serde_json::Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(|t| t.as_str()))
                .collect::<Vec<_>>()
                .join(""),
            _ => match message.refusal {
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
        }
    };
    Ok(Completion {
        content,
        finish_reason,
        usage,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_and_usage_are_read() {
        let c = parse_completion(r#"{"choices":[{"message":{"role":"assistant","content":"{\"a\":1}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":5}}"#).unwrap();
        assert_eq!(c.content, r#"{"a":1}"#);
        assert_eq!(
            c.usage,
            TokenUsage {
                prompt_tokens: 12,
                completion_tokens: 5
            }
        );
        assert!(!c.truncated());
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
    fn html_is_a_transient_error_not_a_panic() {
        let err = parse_completion("<html><body>Gateway Timeout</body></html>").unwrap_err();
        assert!(err.is_retryable());
        assert!(err.message.contains("Gateway Timeout"), "{}", err.message);
    }
}
