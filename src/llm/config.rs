//! The endpoint a run talks to, resolved once before any work starts.
//!
//! Precedence, highest first: command-line flags and the environment (`POSTCALL_BASE_URL`,
//! `POSTCALL_MODEL`, which clap reads as flag values; the key from the variable named by
//! `api_key_env`), the metric file's `llm:` section, built-in defaults, with a managed
//! local server's settings as layers in between. [`chain`] is the one place that order is
//! written down.

use std::time::Duration;

use serde_json::{Map, Value};

use super::price::{Prices, parse_price};
use crate::net::{SecretUrl, UrlError};
use crate::spec::{
    AnswerLimits, DialectChoice, LlmSection, MaxTokens, Price, SchemaDialect, ServiceTier, StructuredOutput,
};

pub const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// Flex answers can take many minutes (OpenAI advises a 15-minute timeout).
pub const FLEX_TIMEOUT: Duration = Duration::from_secs(900);
pub const DEFAULT_MAX_INPUT_TOKENS: u64 = 100_000;

/// An API key that can be sent: checked once, when the endpoint is resolved, so a key
/// that no request could carry stops the run before the first one instead of failing
/// every call. Its `Debug` and `Display` never show it; only [`ApiKey::expose`] does, and
/// only the HTTP layer calls that.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// The key, if an HTTP header can carry it: visible ASCII, nothing around it. The error
    /// says what is wrong and where, never what the key is.
    pub fn parse(value: String) -> Result<ApiKey, String> {
        let describe = |c: char| match c {
            '\n' => "a newline".to_string(),
            '\r' => "a carriage return".to_string(),
            '\t' => "a tab".to_string(),
            ' ' => "a space".to_string(),
            c => format!("U+{:04X}", c as u32),
        };
        if let Some(last) = value.chars().next_back().filter(|c| c.is_whitespace()) {
            return Err(format!(
                "ends with {} (as `echo KEY > file` or a copied line leaves it)",
                describe(last)
            ));
        }
        if let Some(first) = value.chars().next().filter(|c| c.is_whitespace()) {
            return Err(format!("starts with {}", describe(first)));
        }
        for (at, c) in value.chars().enumerate() {
            if c.is_control() {
                return Err(format!(
                    "contains a control character ({}) at character {}",
                    describe(c),
                    at + 1
                ));
            }
            if !c.is_ascii() {
                return Err(format!(
                    "contains a non-ASCII character ({}) at character {} (a curly quote or a \
                     non-breaking space pasted with it?); API keys are plain ASCII",
                    describe(c),
                    at + 1
                ));
            }
        }
        Ok(ApiKey(value))
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
    /// `None`: the endpoint's own default. `Auto`: each request carries the budget its
    /// questions need (`evaluate::plan`).
    pub max_tokens: Option<MaxTokens>,
    pub reasoning_effort: Option<String>,
    /// Ask for the answer tokens' log-probabilities (`logprobs: true`), for
    /// `--confidence logprobs`.
    pub logprobs: bool,
    pub extra_body: Map<String, Value>,
}

/// A fully resolved endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointConfig {
    /// Base URL without a trailing slash, e.g. `https://api.openai.com/v1`; shown only
    /// redacted.
    pub base_url: SecretUrl,
    /// What the answer cache knows this endpoint by: the base URL without its credentials
    /// (a changed password is the same endpoint, and no password reaches the cache, not
    /// even hashed), except for the managed local server, whose port changes every run:
    /// there it names the model file instead.
    pub identity: String,
    pub model: String,
    pub api_key: Option<ApiKey>,
    /// Name of the variable the key came from (for messages; never the key).
    pub api_key_env: String,
    pub provider: Provider,
    pub params: RequestParams,
    pub structured_output: StructuredOutput,
    /// Whether answer bounds go into the schema or the prompt (see [`schema_dialect`]).
    pub schema_dialect: SchemaDialect,
    pub answer_limits: AnswerLimits,
    pub timeout: Duration,
    pub max_input_tokens: u64,
    /// What each model's requests cost on this endpoint's tier.
    pub prices: Prices,
    pub service_tier: ServiceTier,
}

impl EndpointConfig {
    /// The `/chat/completions` URL for this endpoint and model.
    pub fn completions_url(&self, model: &str) -> SecretUrl {
        match &self.provider {
            Provider::Azure { api_version } => {
                let query = format!("api-version={api_version}");
                let path = if self.base_url.path().contains("/openai/deployments/") {
                    "/chat/completions".to_string()
                } else {
                    format!("/openai/deployments/{model}/chat/completions")
                };
                self.base_url.with_path_suffix(&path, Some(&query))
            }
            _ => self.base_url.with_path_suffix("/chat/completions", None),
        }
    }

    /// A config pointing at `base_url` with defaults everywhere else; for unit tests only
    /// (commands resolve theirs through [`resolve`] or [`preview`]).
    #[cfg(test)]
    pub(crate) fn for_tests(base_url: &str) -> EndpointConfig {
        EndpointConfig {
            identity: base_url.trim_end_matches('/').to_string(),
            base_url: SecretUrl::parse(base_url).expect("a test URL"),
            model: "test-model".into(),
            api_key: None,
            api_key_env: DEFAULT_API_KEY_ENV.into(),
            provider: Provider::Compatible,
            params: RequestParams::default(),
            structured_output: StructuredOutput::JsonSchema,
            schema_dialect: SchemaDialect::Grammar,
            answer_limits: AnswerLimits::default(),
            timeout: DEFAULT_TIMEOUT,
            max_input_tokens: DEFAULT_MAX_INPUT_TOKENS,
            prices: Prices {
                default_model: "test-model".into(),
                ..Prices::default()
            },
            service_tier: ServiceTier::Default,
        }
    }
}

/// Endpoint settings from one source, every one optional. The command line's endpoint
/// flags are this struct (clap reads `POSTCALL_BASE_URL` and `POSTCALL_MODEL` into it as if
/// they had been typed); the metric file's `llm:` section and a managed local server each
/// make one too. [`chain`] stacks them in the one order postcall uses.
#[derive(Debug, Clone, Default, PartialEq, clap::Args)]
pub struct EndpointLayer {
    /// OpenAI-compatible base URL, e.g. https://api.openai.com/v1
    // The value is not shown in --help: a URL can carry credentials.
    #[arg(
        long,
        value_name = "URL",
        env = "POSTCALL_BASE_URL",
        hide_env_values = true,
        help_heading = "Endpoint"
    )]
    pub base_url: Option<String>,
    /// Model name (the deployment name on Azure)
    #[arg(long, env = "POSTCALL_MODEL", hide_env_values = true, help_heading = "Endpoint")]
    pub model: Option<String>,
    /// Name of the environment variable that holds the API key [default: OPENAI_API_KEY]
    #[arg(long, value_name = "VAR", help_heading = "Endpoint")]
    pub api_key_env: Option<String>,
    /// Azure OpenAI api-version; switches to deployment URLs and the `api-key` header.
    #[arg(long, value_name = "VERSION", help_heading = "Endpoint")]
    pub azure_api_version: Option<String>,
    /// USD per million input, output and (optionally) cached input tokens of the model, e.g.
    /// 0.15,0.60,0.075 (otherwise cost is unknown).
    #[arg(long, value_name = "IN,OUT[,CACHED_IN]", value_parser = parse_price, help_heading = "Endpoint")]
    pub price: Option<Price>,
    /// `flex`: OpenAI's half-price tier, slower; its "resource unavailable" is retried [default: default]
    #[arg(long, value_enum, value_name = "TIER", help_heading = "Endpoint")]
    pub service_tier: Option<ServiceTier>,
    /// Sampling temperature [default: 0]
    #[arg(long, help_heading = "Answers")]
    pub temperature: Option<f64>,
    /// Seed sent to the endpoint (for providers that support reproducible sampling).
    #[arg(long, value_name = "N", help_heading = "Answers")]
    pub llm_seed: Option<i64>,
    /// Maximum output tokens per answer, or `auto`: a budget computed from each request's
    /// questions and --answer-limits [default: auto for the local model, else the endpoint's]
    #[arg(long, value_name = "N|auto", value_parser = MaxTokens::parse, help_heading = "Answers")]
    pub max_tokens: Option<MaxTokens>,
    /// reasoning_effort for reasoning models (low, medium, high…).
    #[arg(long, value_name = "LEVEL", help_heading = "Answers")]
    pub reasoning_effort: Option<String>,
    /// How the answer's shape is enforced [default: json_schema]
    #[arg(long, value_enum, help_heading = "Answers")]
    pub structured_output: Option<StructuredOutput>,
    /// Whether the answer limits go into the schema (`grammar`: llama.cpp, vLLM, Ollama
    /// enforce maxLength/maxItems) or into the prompt (`strict`: OpenAI strict mode rejects
    /// them) [default: auto: strict for OpenAI, Azure and OpenRouter, grammar otherwise]
    #[arg(long, value_enum, help_heading = "Answers")]
    pub schema_dialect: Option<DialectChoice>,
    /// Bounds on answers, e.g. reasoning=100,summary=240,text=60,items=5,quotes=2,quote=80
    /// (characters of each reasoning, of the summary, of a free-text value or list item;
    /// items of a list; quotes of a metric's evidence, 0 for none, and characters of each)
    #[arg(long, value_name = "LIMITS", value_parser = AnswerLimits::parse, help_heading = "Answers")]
    pub answer_limits: Option<AnswerLimits>,
    /// Requests longer than this (estimated tokens, the transcript with the questions around
    /// it) are handled by --long-calls [default: 100000]
    #[arg(long, value_name = "N", help_heading = "Answers")]
    pub max_input_tokens: Option<u64>,
    /// Seconds before a request times out [default: 120]
    #[arg(long = "timeout", value_name = "SECS", help_heading = "Reliability")]
    pub timeout_secs: Option<u64>,
}

impl EndpointLayer {
    /// `self`, with what it leaves unset taken from `lower`.
    pub fn over(self, lower: EndpointLayer) -> EndpointLayer {
        EndpointLayer {
            base_url: self.base_url.or(lower.base_url),
            model: self.model.or(lower.model),
            api_key_env: self.api_key_env.or(lower.api_key_env),
            azure_api_version: self.azure_api_version.or(lower.azure_api_version),
            price: self.price.or(lower.price),
            service_tier: self.service_tier.or(lower.service_tier),
            temperature: self.temperature.or(lower.temperature),
            llm_seed: self.llm_seed.or(lower.llm_seed),
            max_tokens: self.max_tokens.or(lower.max_tokens),
            reasoning_effort: self.reasoning_effort.or(lower.reasoning_effort),
            structured_output: self.structured_output.or(lower.structured_output),
            schema_dialect: self.schema_dialect.or(lower.schema_dialect),
            answer_limits: self.answer_limits.or(lower.answer_limits),
            max_input_tokens: self.max_input_tokens.or(lower.max_input_tokens),
            timeout_secs: self.timeout_secs.or(lower.timeout_secs),
        }
    }

    /// Whether this layer names an endpoint. A variable set to the empty string names none
    /// (clap passes it on as a value).
    pub fn names_a_base_url(&self) -> bool {
        self.base_url.as_deref().is_some_and(|u| !u.trim().is_empty())
    }

    fn without_blanks(mut self) -> EndpointLayer {
        let blank = |v: &Option<String>| v.as_deref().is_some_and(|s| s.trim().is_empty());
        if blank(&self.base_url) {
            self.base_url = None;
        }
        if blank(&self.model) {
            self.model = None;
        }
        self
    }
}

impl From<&LlmSection> for EndpointLayer {
    fn from(file: &LlmSection) -> EndpointLayer {
        EndpointLayer {
            base_url: file.base_url.clone(),
            model: file.model.clone(),
            api_key_env: file.api_key_env.clone(),
            azure_api_version: file.azure_api_version.clone(),
            price: file.price,
            service_tier: file.service_tier,
            temperature: file.temperature,
            llm_seed: file.seed,
            max_tokens: file.max_tokens,
            reasoning_effort: file.reasoning_effort.clone(),
            structured_output: file.structured_output,
            schema_dialect: file.schema_dialect,
            answer_limits: file.answer_limits,
            max_input_tokens: file.max_input_tokens,
            timeout_secs: file.timeout_secs,
        }
    }
}

/// What a managed local server puts into the chain: its address, and what the answer
/// cache knows it by (its port changes every run, so the model file instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEndpoint {
    pub base_url: String,
    pub identity: String,
}

/// The one precedence order, highest first:
///
/// 1. a managed local server's address (postcall only manages one when nothing else names
///    an endpoint, or when `--local-model` asks for it, which then wins over any URL);
/// 2. the command line: flags, and the `POSTCALL_*` variables clap reads for them;
/// 3. the local server's model name;
/// 4. the metric file's `llm:` section;
/// 5. the local server's defaults: a small model can ramble until its context is full, so
///    each answer gets the budget its questions need (`--max-tokens auto`) and cites no
///    evidence ([`super::local::answer_limits`]), and on a busy
///    CPU an answer can take minutes, so the timeout is long (re-sending would only add
///    load).
///
/// Built-in defaults fill the rest, in [`resolve`].
pub fn chain(command_line: &EndpointLayer, local: Option<&LocalEndpoint>, file: &LlmSection) -> EndpointLayer {
    let (local_address, local_model, local_defaults) = match local {
        Some(local) => (
            EndpointLayer {
                base_url: Some(local.base_url.clone()),
                ..EndpointLayer::default()
            },
            EndpointLayer {
                model: Some(super::local::LOCAL_MODEL_NAME.to_string()),
                ..EndpointLayer::default()
            },
            EndpointLayer {
                max_tokens: Some(MaxTokens::Auto),
                timeout_secs: Some(super::local::DEFAULT_TIMEOUT.as_secs()),
                answer_limits: Some(super::local::answer_limits()),
                max_input_tokens: Some(super::local::MAX_INPUT_TOKENS),
                ..EndpointLayer::default()
            },
        ),
        None => Default::default(),
    };
    local_address
        .over(command_line.clone().without_blanks())
        .over(local_model)
        .over(EndpointLayer::from(file))
        .over(local_defaults)
}

/// Why no endpoint could be resolved. A `base_url` here is already redacted.
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
    #[error(
        "the base URL {0}: pass one such as https://api.openai.com/v1 (--base-url, POSTCALL_BASE_URL or `llm.base_url`)"
    )]
    BadUrl(UrlError),
    #[error(
        "{base_url} needs an API key, but ${var} is not set: export {var}=… (or set `llm.api_key_env` to the variable that holds it)"
    )]
    MissingKey { base_url: String, var: String },
    #[error(
        "${var} holds a value no request can carry as an API key: it {why}. Set it to the key alone, \
         e.g. export {var}=\"$(printf %s \"${var}\" | tr -d '[:space:]')\""
    )]
    BadKey { var: String, why: String },
    #[error("temperature {0} is outside 0..2")]
    BadTemperature(f64),
}

/// Reads an environment variable; injected so resolution is testable without touching
/// the process environment. Only the API key is read through it: its variable's name is
/// itself a setting, so clap cannot read it the way it reads `POSTCALL_BASE_URL`.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        // A value that is not UTF-8 is still a value: it is refused for what it holds,
        // not reported as unset.
        let value = std::env::var_os(name)?.to_string_lossy().into_owned();
        (!value.is_empty()).then_some(value)
    }
}

/// The endpoint the [`chain`] of settings describes, checked: an http(s) address, a model,
/// a key where the endpoint needs one, a temperature in range. Pure given `env`.
pub fn resolve(
    command_line: &EndpointLayer,
    local: Option<&LocalEndpoint>,
    file: &LlmSection,
    env: &dyn Env,
) -> Result<EndpointConfig, ConfigError> {
    let layer = chain(command_line, local, file);
    let base_url = layer.base_url.as_deref().ok_or(ConfigError::NoEndpoint)?;
    let base_url = SecretUrl::parse(base_url).map_err(ConfigError::BadUrl)?;
    let model = layer.model.clone().ok_or_else(|| ConfigError::NoModel {
        base_url: base_url.redacted(),
    })?;
    let var = layer
        .api_key_env
        .clone()
        .unwrap_or_else(|| DEFAULT_API_KEY_ENV.to_string());
    let api_key = env
        .var(&var)
        .map(|value| ApiKey::parse(value).map_err(|why| ConfigError::BadKey { var, why }))
        .transpose()?;
    let config = assemble(layer, file, local, base_url, model, api_key);
    // Hosted endpoints always need a key; local servers usually don't.
    let hosted = matches!(config.provider, Provider::OpenAi | Provider::Azure { .. })
        || config.base_url.host().ends_with("openrouter.ai");
    if hosted && config.api_key.is_none() {
        return Err(ConfigError::MissingKey {
            base_url: config.base_url.redacted(),
            var: config.api_key_env,
        });
    }
    if !(0.0..=2.0).contains(&config.params.temperature) {
        return Err(ConfigError::BadTemperature(config.params.temperature));
    }
    Ok(config)
}

/// The settings a request would carry when no endpoint can be resolved (for `postcall
/// prompt` and `--dry-run`): the same chain, with [`PREVIEW_URL`] and [`PREVIEW_MODEL`]
/// standing in for what is missing, and nothing checked.
pub fn preview(
    command_line: &EndpointLayer,
    local: Option<&LocalEndpoint>,
    file: &LlmSection,
    env: &dyn Env,
) -> EndpointConfig {
    let layer = chain(command_line, local, file);
    let base_url = layer
        .base_url
        .as_deref()
        .and_then(|url| SecretUrl::parse(url).ok())
        .unwrap_or_else(|| SecretUrl::parse(PREVIEW_URL).expect("the preview URL parses"));
    let model = layer.model.clone().unwrap_or_else(|| PREVIEW_MODEL.to_string());
    let var = layer.api_key_env.as_deref().unwrap_or(DEFAULT_API_KEY_ENV);
    let api_key = env.var(var).and_then(|value| ApiKey::parse(value).ok());
    assemble(layer, file, local, base_url, model, api_key)
}

/// Stands in for the address in [`preview`].
pub const PREVIEW_URL: &str = "http://127.0.0.1/v1";
/// Stands in for the model in [`preview`].
pub const PREVIEW_MODEL: &str = "MODEL";

/// The chained settings with built-in defaults filled in.
fn assemble(
    layer: EndpointLayer,
    file: &LlmSection,
    local: Option<&LocalEndpoint>,
    base_url: SecretUrl,
    model: String,
    api_key: Option<ApiKey>,
) -> EndpointConfig {
    let api_key_env = layer.api_key_env.unwrap_or_else(|| DEFAULT_API_KEY_ENV.to_string());
    let service_tier = layer.service_tier.unwrap_or_default();
    let default_timeout = match service_tier {
        ServiceTier::Flex => FLEX_TIMEOUT,
        ServiceTier::Default => DEFAULT_TIMEOUT,
    };
    let provider = match layer.azure_api_version {
        Some(api_version) => Provider::Azure { api_version },
        None if base_url.host() == "api.openai.com" => Provider::OpenAi,
        None if file.provider.as_deref() == Some("azure") => Provider::Azure {
            api_version: "2024-10-21".into(),
        },
        None => Provider::Compatible,
    };
    let schema_dialect = schema_dialect(layer.schema_dialect.unwrap_or_default(), &provider, &base_url);
    let mut extra_body = local.map(|_| super::local::sampling_defaults()).unwrap_or_default();
    extra_body.extend(file.extra_body.clone().unwrap_or_default());
    EndpointConfig {
        identity: local.map_or_else(
            || format!("{}|{provider:?}", base_url.redacted()),
            |l| l.identity.clone(),
        ),
        base_url,
        model: model.clone(),
        api_key,
        api_key_env,
        provider,
        params: RequestParams {
            temperature: layer.temperature.unwrap_or(0.0),
            seed: layer.llm_seed,
            max_tokens: layer.max_tokens,
            reasoning_effort: layer.reasoning_effort,
            // Set by the plan for `--confidence logprobs`.
            logprobs: false,
            extra_body,
        },
        structured_output: layer.structured_output.unwrap_or_default(),
        schema_dialect,
        answer_limits: layer.answer_limits.unwrap_or_default(),
        timeout: layer.timeout_secs.map_or(default_timeout, Duration::from_secs),
        max_input_tokens: layer.max_input_tokens.unwrap_or(DEFAULT_MAX_INPUT_TOKENS),
        prices: Prices {
            default_model: model,
            default: layer.price,
            by_model: file.prices.clone().unwrap_or_default(),
            tier: service_tier,
        },
        service_tier,
    }
}

/// The one place that decides which schema an endpoint gets. OpenAI's strict structured
/// outputs (api.openai.com, Azure OpenAI, and OpenRouter, which passes schemas on to such
/// providers) reject `maxLength` and `maxItems`, so they get the schema without them and
/// the limits in the prompt; every other OpenAI-compatible server postcall knows (llama.cpp,
/// vLLM, Ollama, the managed local model) compiles the schema into a grammar that enforces
/// them. `--schema-dialect` overrides the guess, e.g. for a proxy in front of OpenAI.
pub fn schema_dialect(choice: DialectChoice, provider: &Provider, base_url: &SecretUrl) -> SchemaDialect {
    match choice {
        DialectChoice::Grammar => SchemaDialect::Grammar,
        DialectChoice::Strict => SchemaDialect::Strict,
        DialectChoice::Auto => match provider {
            Provider::OpenAi | Provider::Azure { .. } => SchemaDialect::Strict,
            Provider::Compatible if base_url.host().ends_with("openrouter.ai") => SchemaDialect::Strict,
            Provider::Compatible => SchemaDialect::Grammar,
        },
    }
}

#[cfg(test)]
mod tests;
