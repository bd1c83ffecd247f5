//! Building the `/chat/completions` request body: a pure function of the endpoint's
//! parameters, the messages and the answer schema.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::config::{EndpointConfig, Provider};
use crate::spec::{MaxTokens, ServiceTier, StructuredOutput};

/// Name of the schema / forced function; shows up in provider logs.
pub const ANSWER_NAME: &str = "post_call_metrics";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn system(content: impl Into<String>) -> Message {
        Message {
            role: Role::System,
            content: content.into(),
        }
    }
    pub fn user(content: impl Into<String>) -> Message {
        Message {
            role: Role::User,
            content: content.into(),
        }
    }
    pub fn assistant(content: impl Into<String>) -> Message {
        Message {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Everything that varies per request; the rest comes from [`EndpointConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    /// The answer schema, shared with the request group it was planned for (and every other
    /// request of that group) rather than copied into each.
    pub schema: Arc<Value>,
    /// The output-token budget of this request: computed from its questions under
    /// `--max-tokens auto`, raised when an answer was cut off; `None` sends the configured
    /// number, if any.
    pub max_tokens: Option<u32>,
    /// The same for every request about one call, so the provider routes them to the same
    /// prompt cache (OpenAI's `prompt_cache_key`).
    pub prompt_cache_key: Option<String>,
    /// The sampling seed of this request, over the configured one: `--samples` asks each
    /// sample with its own (`None` sends the configured seed, if any).
    pub seed: Option<i64>,
}

/// The JSON body as sent: [`build_body`] with what only decides how the request is routed
/// and billed, never what it answers (the service tier, the prompt-cache key). Those stay
/// out of the answer cache's key, so a flex run finds the answers a standard run paid for.
/// OpenAI alone is sent them: other servers may refuse fields they do not know.
pub fn wire_body(config: &EndpointConfig, request: &ChatRequest) -> Value {
    let mut body = build_body(config, request);
    let Value::Object(map) = &mut body else {
        unreachable!("build_body builds an object")
    };
    if config.service_tier == ServiceTier::Flex && !map.contains_key("service_tier") {
        map.insert("service_tier".into(), json!("flex"));
    }
    if config.provider == Provider::OpenAi
        && let Some(key) = &request.prompt_cache_key
        && !map.contains_key("prompt_cache_key")
    {
        map.insert("prompt_cache_key".into(), json!(key));
    }
    body
}

/// The JSON body that decides the answer (and the answer cache's key). Vendor `extra_body`
/// fields are merged last, so a user can override anything postcall sets.
pub fn build_body(config: &EndpointConfig, request: &ChatRequest) -> Value {
    let mut body = Map::new();
    // Azure routes by deployment in the URL; the model field is ignored there but harmless.
    body.insert("model".into(), json!(request.model));
    body.insert(
        "messages".into(),
        serde_json::to_value(&request.messages).expect("messages serialize"),
    );
    let params = &config.params;
    body.insert("temperature".into(), json!(params.temperature));
    if let Some(seed) = request.seed.or(params.seed) {
        body.insert("seed".into(), json!(seed));
    }
    let configured = params.max_tokens.and_then(MaxTokens::limit);
    if let Some(max) = request.max_tokens.or(configured) {
        // OpenAI's newer models reject `max_tokens`; everyone else reads it.
        let key = if config.provider == Provider::OpenAi {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.insert(key.into(), json!(max));
    }
    if let Some(effort) = &params.reasoning_effort {
        body.insert("reasoning_effort".into(), json!(effort));
    }
    if params.logprobs {
        body.insert("logprobs".into(), json!(true));
    }
    match config.structured_output {
        StructuredOutput::JsonSchema => {
            body.insert(
                "response_format".into(),
                json!({"type": "json_schema", "json_schema": {"name": ANSWER_NAME, "strict": true, "schema": request.schema.as_ref()}}),
            );
        }
        StructuredOutput::JsonObject => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        StructuredOutput::Tools => {
            body.insert(
                "tools".into(),
                json!([{"type": "function", "function": {
                    "name": ANSWER_NAME,
                    "description": "Record the post-call metrics for this call.",
                    "strict": true,
                    "parameters": request.schema.as_ref()}}]),
            );
            body.insert(
                "tool_choice".into(),
                json!({"type": "function", "function": {"name": ANSWER_NAME}}),
            );
        }
        StructuredOutput::Prompt => {}
    }
    for (key, value) in &params.extra_body {
        body.insert(key.clone(), value.clone());
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::config::RequestParams;

    fn config(mode: StructuredOutput) -> EndpointConfig {
        EndpointConfig {
            structured_output: mode,
            params: RequestParams {
                temperature: 0.0,
                seed: Some(7),
                max_tokens: Some(MaxTokens::Limit(800)),
                ..Default::default()
            },
            ..EndpointConfig::for_tests("http://127.0.0.1:9/v1")
        }
    }

    fn request() -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message::system("s"), Message::user("u")],
            schema: Arc::new(json!({"type": "object"})),
            max_tokens: None,
            prompt_cache_key: Some("call-1".into()),
            seed: None,
        }
    }

    #[test]
    fn tier_and_prompt_cache_key_go_on_the_wire_but_not_into_the_answer() {
        let openai = EndpointConfig {
            provider: Provider::OpenAi,
            service_tier: ServiceTier::Flex,
            ..config(StructuredOutput::JsonSchema)
        };
        let wire = wire_body(&openai, &request());
        assert_eq!(wire["service_tier"], "flex");
        assert_eq!(wire["prompt_cache_key"], "call-1");
        let answer = build_body(&openai, &request());
        assert!(answer.get("service_tier").is_none() && answer.get("prompt_cache_key").is_none());
        // Another server gets the tier it was asked for, never a key it may refuse.
        let other = EndpointConfig {
            service_tier: ServiceTier::Flex,
            ..config(StructuredOutput::JsonSchema)
        };
        let wire = wire_body(&other, &request());
        assert_eq!(wire["service_tier"], "flex");
        assert!(wire.get("prompt_cache_key").is_none());
        assert!(
            wire_body(&config(StructuredOutput::JsonSchema), &request())
                .get("service_tier")
                .is_none()
        );
    }

    #[test]
    fn json_schema_mode_sends_strict_schema_and_parameters() {
        let body = build_body(&config(StructuredOutput::JsonSchema), &request());
        assert_eq!(body["response_format"]["type"], "json_schema");
        assert_eq!(body["response_format"]["json_schema"]["strict"], true);
        assert_eq!(
            body["response_format"]["json_schema"]["schema"],
            json!({"type": "object"})
        );
        assert_eq!(body["temperature"], 0.0);
        assert_eq!(body["seed"], 7);
        assert_eq!(body["max_tokens"], 800);
        assert_eq!(body["model"], "m");
        assert!(body.get("tools").is_none());
    }

    #[test]
    fn tools_mode_forces_the_function_call() {
        let body = build_body(&config(StructuredOutput::Tools), &request());
        assert_eq!(body["tools"][0]["function"]["name"], ANSWER_NAME);
        assert_eq!(body["tools"][0]["function"]["parameters"], json!({"type": "object"}));
        assert_eq!(body["tool_choice"]["function"]["name"], ANSWER_NAME);
        assert!(body.get("response_format").is_none());
    }

    #[test]
    fn json_object_and_prompt_modes_carry_no_schema() {
        let body = build_body(&config(StructuredOutput::JsonObject), &request());
        assert_eq!(body["response_format"], json!({"type": "json_object"}));
        let body = build_body(&config(StructuredOutput::Prompt), &request());
        assert!(body.get("response_format").is_none() && body.get("tools").is_none());
    }

    #[test]
    fn extra_body_overrides_and_extends() {
        let mut cfg = config(StructuredOutput::JsonSchema);
        cfg.params.extra_body.insert("temperature".into(), json!(0.5));
        cfg.params.extra_body.insert("top_k".into(), json!(20));
        let body = build_body(&cfg, &request());
        assert_eq!(body["temperature"], 0.5);
        assert_eq!(body["top_k"], 20);
    }

    #[test]
    fn openai_gets_max_completion_tokens_and_a_raised_limit_wins() {
        let mut cfg = config(StructuredOutput::JsonSchema);
        cfg.provider = Provider::OpenAi;
        let mut req = request();
        req.max_tokens = Some(1600);
        let body = build_body(&cfg, &req);
        assert_eq!(body["max_completion_tokens"], 1600);
        assert!(body.get("max_tokens").is_none());
    }
}
