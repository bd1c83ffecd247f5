//! The endpoint a run talks to, resolved once before any work starts.
//!
//! Precedence, highest first: command-line flags, environment (`POSTCALL_BASE_URL`,
//! `POSTCALL_MODEL`, the key from the variable named by `api_key_env`), the metric file's
//! `llm:` section, built-in defaults.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::spec::{LlmSection, Price, StructuredOutput};

pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
pub const DEFAULT_MAX_INPUT_TOKENS: u64 = 100_000;
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An API key. Its `Debug` and `Display` never show it; only [`ApiKey::expose`] does, and
/// only the HTTP layer calls that.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(key: String) -> ApiKey {
        ApiKey(key)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

impl std::fmt::Display for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[REDACTED]")
    }
}

/// Which dialect of the OpenAI API the endpoint speaks. Only the differences that matter
/// to the request are modelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provider {
    /// api.openai.com: `max_completion_tokens`, bearer auth.
    OpenAi,
    /// Azure OpenAI: deployment URL, `api-version` query, `api-key` header.
    Azure { api_version: String },
    /// Anything else OpenAI-compatible (vLLM, Ollama, llama.cpp, LiteLLM, OpenRouter…).
    Compatible,
}

/// Sampling and vendor parameters sent with every request.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RequestParams {
    pub temperature: f64,
    pub seed: Option<i64>,
    pub max_tokens: Option<u32>,
    pub reasoning_effort: Option<String>,
    pub extra_body: Map<String, Value>,
}

/// A fully resolved endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// Base URL without a trailing slash, e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    /// What the answer cache knows this endpoint by. The base URL, except for the managed
    /// local server, whose port changes every run: there it names the model file instead.
    pub identity: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    /// Name of the variable the key came from (for messages; never the key).
    pub api_key_env: String,
    pub provider: Provider,
    pub params: RequestParams,
    pub structured_output: StructuredOutput,
    pub timeout: Duration,
    pub max_input_tokens: u64,
    pub price: Option<Price>,
}

impl EndpointConfig {
    /// The `/chat/completions` URL for this endpoint and model.
    pub fn completions_url(&self, model: &str) -> String {
        match &self.provider {
            Provider::Azure { api_version } => {
                if self.base_url.contains("/openai/deployments/") {
                    format!("{}/chat/completions?api-version={api_version}", self.base_url)
                } else {
                    format!(
                        "{}/openai/deployments/{model}/chat/completions?api-version={api_version}",
                        self.base_url
                    )
                }
            }
            _ => format!("{}/chat/completions", self.base_url),
        }
    }

    /// A config pointing at `base_url` with defaults everywhere else; for tests.
    pub fn for_tests(base_url: &str) -> EndpointConfig {
        EndpointConfig {
            identity: base_url.trim_end_matches('/').to_string(),
            base_url: base_url.trim_end_matches('/').to_string(),
            model: "test-model".into(),
            api_key: None,
            api_key_env: DEFAULT_API_KEY_ENV.into(),
            provider: Provider::Compatible,
            params: RequestParams::default(),
            structured_output: StructuredOutput::JsonSchema,
            timeout: DEFAULT_TIMEOUT,
            max_input_tokens: DEFAULT_MAX_INPUT_TOKENS,
            price: None,
        }
    }
}

/// Endpoint settings given on the command line (all optional).
#[derive(Debug, Clone, Default)]
pub struct EndpointFlags {
    pub base_url: Option<String>,
    pub model: Option<String>,
    pub api_key_env: Option<String>,
    pub azure_api_version: Option<String>,
    pub temperature: Option<f64>,
    pub seed: Option<i64>,
    pub max_tokens: Option<u32>,
    pub max_input_tokens: Option<u64>,
    pub reasoning_effort: Option<String>,
    pub structured_output: Option<StructuredOutput>,
    pub price: Option<Price>,
    pub timeout: Option<Duration>,
}

/// Why no endpoint could be resolved.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no LLM endpoint is configured. Either point postcall at one (--base-url URL --model NAME, \
         or POSTCALL_BASE_URL/POSTCALL_MODEL, or `llm: {{base_url, model}}` in the metric file; \
         put the key in OPENAI_API_KEY or the variable named by `llm.api_key_env`), or install the \
         local model with scripts/install-local-model.sh"
    )]
    NoEndpoint,
    #[error(
        "no model is configured for {base_url}: pass --model NAME, set POSTCALL_MODEL, or set `llm.model` in the metric file"
    )]
    NoModel { base_url: String },
    #[error("{base_url} is not an http(s) URL: pass a base URL such as https://api.openai.com/v1")]
    BadUrl { base_url: String },
    #[error(
        "{base_url} needs an API key, but ${var} is not set: export {var}=… (or set `llm.api_key_env` to the variable that holds it)"
    )]
    MissingKey { base_url: String, var: String },
    #[error("temperature {0} is outside 0..2")]
    BadTemperature(f64),
}

/// Reads an environment variable; injected so resolution is testable without touching
/// the process environment.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
}

/// Applies the precedence rules. Pure given `env`.
pub fn resolve(flags: &EndpointFlags, file: &LlmSection, env: &dyn Env) -> Result<EndpointConfig, ConfigError> {
    let base_url = flags
        .base_url
        .clone()
        .or_else(|| env.var("POSTCALL_BASE_URL"))
        .or_else(|| file.base_url.clone())
        .ok_or(ConfigError::NoEndpoint)?;
    let base_url = base_url.trim().trim_end_matches('/').to_string();
    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
        return Err(ConfigError::BadUrl { base_url });
    }
    let model = flags
        .model
        .clone()
        .or_else(|| env.var("POSTCALL_MODEL"))
        .or_else(|| file.model.clone())
        .ok_or_else(|| ConfigError::NoModel {
            base_url: base_url.clone(),
        })?;
    let api_key_env = flags
        .api_key_env
        .clone()
        .or_else(|| file.api_key_env.clone())
        .unwrap_or_else(|| DEFAULT_API_KEY_ENV.to_string());
    let api_key = env.var(&api_key_env).map(ApiKey::new);
    let azure_version = flags
        .azure_api_version
        .clone()
        .or_else(|| file.azure_api_version.clone());
    let provider = match azure_version {
        Some(api_version) => Provider::Azure { api_version },
        None if base_url.contains("api.openai.com") => Provider::OpenAi,
        None if file.provider.as_deref() == Some("azure") => Provider::Azure {
            api_version: "2024-10-21".into(),
        },
        None => Provider::Compatible,
    };
    // Hosted endpoints always need a key; local servers usually don't.
    let hosted = matches!(provider, Provider::OpenAi | Provider::Azure { .. }) || base_url.contains("openrouter.ai");
    if hosted && api_key.is_none() {
        return Err(ConfigError::MissingKey {
            base_url,
            var: api_key_env,
        });
    }
    let temperature = flags.temperature.or(file.temperature).unwrap_or(0.0);
    if !(0.0..=2.0).contains(&temperature) {
        return Err(ConfigError::BadTemperature(temperature));
    }
    Ok(EndpointConfig {
        identity: format!("{base_url}|{provider:?}"),
        base_url,
        model,
        api_key,
        api_key_env,
        provider,
        params: RequestParams {
            temperature,
            seed: flags.seed.or(file.seed),
            max_tokens: flags.max_tokens.or(file.max_tokens),
            reasoning_effort: flags.reasoning_effort.clone().or_else(|| file.reasoning_effort.clone()),
            extra_body: file.extra_body.clone().unwrap_or_default(),
        },
        structured_output: flags.structured_output.or(file.structured_output).unwrap_or_default(),
        timeout: flags
            .timeout
            .or(file.timeout_secs.map(Duration::from_secs))
            .unwrap_or(DEFAULT_TIMEOUT),
        max_input_tokens: flags
            .max_input_tokens
            .or(file.max_input_tokens)
            .unwrap_or(DEFAULT_MAX_INPUT_TOKENS),
        price: flags.price.or(file.price),
    })
}

/// Parses `--price 0.15,0.60` (USD per million input, output tokens).
pub fn parse_price(text: &str) -> Result<Price, String> {
    let (input, output) = text.split_once(',').ok_or_else(|| {
        format!("`{text}` is not INPUT,OUTPUT; write e.g. --price 0.15,0.60 (USD per million tokens)")
    })?;
    let parse = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("`{s}` is not a price; write e.g. --price 0.15,0.60"))
    };
    Ok(Price {
        input_per_mtok: parse(input)?,
        output_per_mtok: parse(output)?,
    })
}

/// USD for the given token counts.
pub fn cost(price: &Price, prompt_tokens: u64, completion_tokens: u64) -> f64 {
    (prompt_tokens as f64 * price.input_per_mtok + completion_tokens as f64 * price.output_per_mtok) / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct FakeEnv(HashMap<&'static str, &'static str>);
    impl Env for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.0.get(name).map(|v| v.to_string())
        }
    }

    fn env(pairs: &[(&'static str, &'static str)]) -> FakeEnv {
        FakeEnv(pairs.iter().copied().collect())
    }

    #[test]
    fn flags_beat_environment_beat_file() {
        let file = LlmSection {
            base_url: Some("http://file/v1".into()),
            model: Some("file-model".into()),
            ..Default::default()
        };
        let e = env(&[("POSTCALL_BASE_URL", "http://env/v1"), ("POSTCALL_MODEL", "env-model")]);
        let cfg = resolve(&EndpointFlags::default(), &file, &e).unwrap();
        assert_eq!(
            (cfg.base_url.as_str(), cfg.model.as_str()),
            ("http://env/v1", "env-model")
        );
        let flags = EndpointFlags {
            base_url: Some("http://flag/v1/".into()),
            ..Default::default()
        };
        let cfg = resolve(&flags, &file, &e).unwrap();
        assert_eq!(
            (cfg.base_url.as_str(), cfg.model.as_str()),
            ("http://flag/v1", "env-model")
        );
        let cfg = resolve(&EndpointFlags::default(), &file, &env(&[])).unwrap();
        assert_eq!(
            (cfg.base_url.as_str(), cfg.model.as_str()),
            ("http://file/v1", "file-model")
        );
    }

    #[test]
    fn key_comes_from_the_named_variable_and_never_prints() {
        let file = LlmSection {
            base_url: Some("https://api.openai.com/v1".into()),
            model: Some("gpt-4o-mini".into()),
            api_key_env: Some("MY_KEY".into()),
            ..Default::default()
        };
        let cfg = resolve(&EndpointFlags::default(), &file, &env(&[("MY_KEY", "sk-secret-123")])).unwrap();
        assert_eq!(cfg.api_key.as_ref().unwrap().expose(), "sk-secret-123");
        assert_eq!(cfg.provider, Provider::OpenAi);
        assert!(!format!("{cfg:?}").contains("sk-secret-123"));
        let err = resolve(&EndpointFlags::default(), &file, &env(&[])).unwrap_err();
        assert!(err.to_string().contains("$MY_KEY is not set"), "{err}");
    }

    #[test]
    fn nothing_configured_names_both_ways_forward() {
        let err = resolve(&EndpointFlags::default(), &LlmSection::default(), &env(&[])).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--base-url") && text.contains("install-local-model.sh"),
            "{text}"
        );
    }

    #[test]
    fn azure_uses_the_deployment_url() {
        let flags = EndpointFlags {
            base_url: Some("https://acme.openai.azure.com".into()),
            model: Some("gpt4o-prod".into()),
            azure_api_version: Some("2024-10-21".into()),
            ..Default::default()
        };
        let cfg = resolve(&flags, &LlmSection::default(), &env(&[("OPENAI_API_KEY", "k-1234")])).unwrap();
        assert_eq!(
            cfg.completions_url(&cfg.model),
            "https://acme.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-10-21"
        );
    }

    #[test]
    fn price_parses_and_rejects_nonsense() {
        let p = parse_price("0.15, 0.6").unwrap();
        assert_eq!((p.input_per_mtok, p.output_per_mtok), (0.15, 0.6));
        assert!(parse_price("0.15").is_err());
        assert!(parse_price("a,b").is_err());
        assert!((cost(&p, 1_000_000, 1_000_000) - 0.75).abs() < 1e-9);
    }
}
