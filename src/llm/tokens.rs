//! Counting a request's prompt tokens as the endpoint will bill them, where postcall can
//! know how: OpenAI models' own encodings (o200k_base, cl100k_base; bundled with
//! tiktoken-rs, nothing is downloaded), and the managed local server's own tokenizer
//! ([`ServerCounter`]). Any other model gets the estimate (~4 characters a token), and
//! everything that shows a count says which it is.

use tiktoken_rs::CoreBPE;
use tiktoken_rs::tokenizer::{Tokenizer, get_tokenizer};

use super::config::{EndpointConfig, Provider};
use super::request::ChatRequest;
use crate::spec::StructuredOutput;
use crate::transcript::estimate_tokens_for_chars;

/// Tokens OpenAI's chat format adds around each message, and once to prime the reply
/// (the cookbook's rule for current models).
const TOKENS_PER_MESSAGE: u64 = 3;
const REPLY_PRIMING: u64 = 3;

/// How a model's prompt tokens are counted.
#[derive(Clone, Copy)]
pub enum Counter {
    /// The model's own encoding.
    Encoding { name: &'static str, bpe: &'static CoreBPE },
    /// ~4 characters a token.
    Estimate,
}

impl std::fmt::Debug for Counter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())
    }
}

impl Counter {
    /// The counter for `model`: its encoding when it is an OpenAI model tiktoken knows
    /// (`openai/` routed names included), else the estimate.
    pub fn for_model(model: &str) -> Counter {
        let name = model.strip_prefix("openai/").unwrap_or(model);
        match get_tokenizer(name) {
            Some(Tokenizer::O200kBase) => Counter::Encoding {
                name: "o200k_base",
                bpe: tiktoken_rs::o200k_base_singleton(),
            },
            Some(Tokenizer::Cl100kBase) => Counter::Encoding {
                name: "cl100k_base",
                bpe: tiktoken_rs::cl100k_base_singleton(),
            },
            _ => Counter::Estimate,
        }
    }

    pub fn is_exact(&self) -> bool {
        matches!(self, Counter::Encoding { .. })
    }

    /// What a count made with this counter is, for people: "counted with o200k_base" or
    /// "estimated, ~4 characters a token".
    pub fn label(&self) -> String {
        match self {
            Counter::Encoding { name, .. } => format!("counted with {name}"),
            Counter::Estimate => "estimated, ~4 characters a token".to_string(),
        }
    }

    /// The prompt tokens of `request`: every message with its framing, and the answer
    /// schema when `schema_billed` (see [`schema_billed`]).
    pub fn prompt_tokens(&self, request: &ChatRequest, schema_billed: bool) -> u64 {
        let schema_sent = schema_billed;
        match self {
            Counter::Encoding { bpe, .. } => {
                let count = |text: &str| bpe.encode_ordinary(text).len() as u64;
                let messages: u64 = request
                    .messages
                    .iter()
                    .map(|m| TOKENS_PER_MESSAGE + count(&m.content))
                    .sum();
                let schema = if schema_sent {
                    count(&request.schema.to_string())
                } else {
                    0
                };
                messages + REPLY_PRIMING + schema
            }
            Counter::Estimate => {
                let messages: u64 = request
                    .messages
                    .iter()
                    .map(|m| estimate_tokens_for_chars(m.content.len()))
                    .sum();
                let schema = if schema_sent {
                    estimate_tokens_for_chars(request.schema.to_string().len())
                } else {
                    0
                };
                messages + schema
            }
        }
    }
}

/// Whether the answer schema is billed as prompt tokens: OpenAI and Azure put a
/// `json_schema` or `tools` schema into the model's context; llama.cpp, vLLM and the like
/// turn it into a grammar that constrains decoding and is no prompt at all (measured: a
/// llama-server request of 1,243 prompt tokens was estimated 1,827 with its schema). In
/// `json_object` and `prompt` modes the schema is in the messages, counted there.
pub fn schema_billed(config: &EndpointConfig) -> bool {
    matches!(
        config.structured_output,
        StructuredOutput::JsonSchema | StructuredOutput::Tools
    ) && matches!(config.provider, Provider::OpenAi | Provider::Azure { .. })
}

/// The managed llama-server's own count of a request's prompt: its chat template applied
/// (`/apply-template`), then its tokenizer (`/tokenize`), as the server does before it
/// answers. The schema is a grammar there, never prompt.
pub struct ServerCounter {
    http: reqwest::blocking::Client,
    /// `http://127.0.0.1:PORT`, without `/v1`.
    origin: String,
}

impl ServerCounter {
    /// A counter for the server whose OpenAI-compatible base URL is `base_url`.
    pub fn new(base_url: &str) -> anyhow::Result<ServerCounter> {
        let http = crate::net::client(crate::net::ClientOptions {
            timeout: std::time::Duration::from_secs(60),
            idle_per_host: 1,
        })?;
        let origin = base_url.trim_end_matches('/').trim_end_matches("/v1").to_string();
        Ok(ServerCounter { http, origin })
    }

    pub fn label(&self) -> &'static str {
        "counted by the local server's tokenizer"
    }

    /// The prompt tokens the server will report for `request`.
    pub fn prompt_tokens(&self, request: &ChatRequest) -> anyhow::Result<u64> {
        let templated = self.post("/apply-template", &serde_json::json!({"messages": request.messages}))?;
        let prompt = templated["prompt"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("the local server's /apply-template answered without a prompt"))?;
        // As the server tokenizes a chat prompt: special tokens added and parsed.
        let body = serde_json::json!({"content": prompt, "add_special": true, "parse_special": true});
        let tokens = self.post("/tokenize", &body)?;
        tokens["tokens"]
            .as_array()
            .map(|t| t.len() as u64)
            .ok_or_else(|| anyhow::anyhow!("the local server's /tokenize answered without tokens"))
    }

    fn post(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}{path}", self.origin);
        let response = self
            .http
            .post(&url)
            .json(body)
            .send()
            .map_err(|e| anyhow::anyhow!("the local server's {path} failed: {e}"))?;
        let status = response.status();
        let bytes = crate::net::read_body(response, crate::net::MAX_BODY_BYTES)
            .map_err(|e| anyhow::anyhow!("the local server's {path} failed: {e}"))?;
        anyhow::ensure!(
            status.is_success(),
            "the local server's {path} answered {status}: {}",
            String::from_utf8_lossy(&bytes).chars().take(300).collect::<String>()
        );
        serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("the local server's {path} answered no JSON: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Message;

    fn request(text: &str) -> ChatRequest {
        ChatRequest {
            model: "gpt-4o-mini".into(),
            messages: vec![Message::system("You score calls."), Message::user(text)],
            schema: std::sync::Arc::new(serde_json::json!({"type": "object"})),
            max_tokens: None,
            prompt_cache_key: None,
            seed: None,
        }
    }

    #[test]
    fn openai_models_are_counted_with_their_encoding_and_others_estimated() {
        assert!(matches!(
            Counter::for_model("gpt-4o-mini"),
            Counter::Encoding { name: "o200k_base", .. }
        ));
        assert!(matches!(
            Counter::for_model("openai/gpt-4.1"),
            Counter::Encoding { name: "o200k_base", .. }
        ));
        assert!(matches!(
            Counter::for_model("gpt-4"),
            Counter::Encoding {
                name: "cl100k_base",
                ..
            }
        ));
        assert!(!Counter::for_model("llama-3.1-8b-instruct").is_exact());
        assert!(!Counter::for_model("qwen2.5-0.5b").is_exact());
    }

    #[test]
    fn a_count_is_the_encodings_tokens_with_the_chat_framing() {
        let counter = Counter::for_model("gpt-4o");
        let bpe = tiktoken_rs::o200k_base_singleton();
        assert_eq!(bpe.encode_ordinary("hello world").len(), 2);
        let system = bpe.encode_ordinary("You score calls.").len() as u64;
        let tokens = counter.prompt_tokens(&request("hello world"), false);
        assert_eq!(tokens, 3 + system + 3 + 2 + 3);
        let with_schema = counter.prompt_tokens(&request("hello world"), true);
        assert!(with_schema > tokens, "the schema is billed too");
        let openai = EndpointConfig {
            provider: Provider::OpenAi,
            ..EndpointConfig::for_tests("https://api.openai.com/v1")
        };
        assert!(schema_billed(&openai));
        assert!(
            !schema_billed(&EndpointConfig::for_tests("http://127.0.0.1:8080/v1")),
            "a grammar, not a prompt"
        );
        let prompt_mode = EndpointConfig {
            structured_output: StructuredOutput::Prompt,
            ..openai
        };
        assert!(!schema_billed(&prompt_mode), "in the messages already");
        // The estimate of the same request is a different number, labelled as such.
        assert_eq!(Counter::Estimate.label(), "estimated, ~4 characters a token");
    }
}
