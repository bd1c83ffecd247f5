//! The metric file: what the user wants to know about each call.
//!
//! A [`Spec`] is the checked, normalised form of a metric file, whichever dialect it was
//! written in (postcall's own YAML, Smallest AI Atoms `dispositionMetrics`, Dialgen custom
//! metrics, PolyAI-style definitions), and however many files it was composed from. Everything downstream (prompt, schema, validation, reports) reads only these
//! types, so a metric that reaches them is already known to be well-formed.

use serde::{Deserialize, Serialize};

pub(crate) mod compose;
pub(crate) mod groups;
pub(crate) mod limits;
pub(crate) mod lint;
pub(crate) mod load;
pub(crate) mod node;
pub(crate) mod parse;
pub(crate) mod platform;
pub(crate) mod raw;
pub(crate) mod schema;
pub(crate) mod templates;
#[cfg(test)]
pub(crate) mod testing;

pub use compose::load_specs;
pub use limits::{AnswerLimits, DialectChoice, MaxTokens, SchemaDialect};
pub use load::{FileWarning, LoadedSpec, MetricOrigin, SpecErrors, SpecFile, load_spec};
pub use parse::{SpecError, parse_spec};

/// A checked metric file. Serializes as the normalised file (`postcall validate --json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    pub version: u32,
    /// The `llm:` section as written; flags and environment override it later.
    pub llm: LlmSection,
    pub strategy: Strategy,
    /// Free text put in the system message ("These are calls to Acme's billing line").
    pub context: Option<String>,
    pub summary: Option<Summary>,
    pub metrics: Vec<Metric>,
    /// Which dialect the file was written in.
    pub dialect: Dialect,
}

/// Where the metric definitions came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    Postcall,
    Atoms,
    Dialgen,
    Polyai,
}

/// Spelled the same in the metric file (serde), on the command line (clap) and in messages
/// (strum's `Display`); a test holds the three together.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Strategy {
    /// One request answers every metric of a call.
    #[default]
    PerCall,
    /// One request per metric: isolated answers, cache-friendly when one prompt changes.
    PerMetric,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub prompt: String,
}

/// One question asked of every call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub id: String,
    #[serde(flatten)]
    pub kind: MetricKind,
    pub prompt: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Condition under which the metric applies; the model answers `applicable` first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applies_when: Option<String>,
    /// Per-metric model override; splits a call's work into one request per model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Accuracy and agreement expectations used by `postcall eval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
    /// Whether the answer cites the transcript (`evidence` quotes, each checked against the
    /// transcript). On unless the metric or the file says `evidence: false`, or the run
    /// `--no-evidence`. Reports written before evidence existed read as on.
    #[serde(default = "evidence_default", skip_serializing_if = "is_on")]
    pub evidence: bool,
}

impl Metric {
    /// A metric of `kind` asking `prompt`, every optional part at its default: not required,
    /// no condition, the run's model, no expectations, evidence on (as a file that says only
    /// `id`, `type` and `prompt` reads).
    pub fn new(id: impl Into<String>, kind: MetricKind, prompt: impl Into<String>) -> Metric {
        Metric {
            id: id.into(),
            kind,
            prompt: prompt.into(),
            required: false,
            description: None,
            applies_when: None,
            model: None,
            expect: None,
            evidence: evidence_default(),
        }
    }
}

fn evidence_default() -> bool {
    true
}

fn is_on(b: &bool) -> bool {
    *b
}

/// The metric's type, carrying only the options that type allows: `choices` exist only on
/// enum and list, `range` only on integer and number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(tag = "type", rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum MetricKind {
    String,
    Boolean,
    Integer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range: Option<[i64; 2]>,
    },
    Number {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        range: Option<[f64; 2]>,
    },
    Enum {
        choices: Vec<String>,
    },
    Datetime,
    /// A list of strings; with `choices` it is a multi-select.
    List {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        choices: Option<Vec<String>>,
    },
}

impl MetricKind {
    /// The name used in the metric file and in reports (serde's `type`).
    pub fn name(&self) -> &'static str {
        self.into()
    }

    pub fn choices(&self) -> Option<&[String]> {
        match self {
            MetricKind::Enum { choices } => Some(choices),
            MetricKind::List { choices: Some(c) } => Some(c),
            _ => None,
        }
    }
}

/// What `postcall eval` checks a metric against; at least one key is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_accuracy: Option<f64>,
    /// Minimum chance-corrected agreement (κ; quadratic-weighted for integers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_kappa: Option<f64>,
}

/// The metric file's `llm:` section. Every field is optional: flags, environment and
/// built-in defaults fill the rest (resolved in `llm::config`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSection {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Name of the environment variable holding the key, never the key itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub azure_api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// A number, or `auto` (a budget from each request's questions and the answer limits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<MaxTokens>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structured_output: Option<StructuredOutput>,
    /// Whether the schema carries the answer limits (grammar) or the prompt does (strict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_dialect: Option<DialectChoice>,
    /// Bounds on reasoning, summary, free text and lists (see `spec::limits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_limits: Option<AnswerLimits>,
    /// Vendor options merged into the request body as-is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_body: Option<serde_json::Map<String, serde_json::Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Price>,
    /// Prices of the models named by metrics' `model:` (the run's own model may be here too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prices: Option<std::collections::BTreeMap<String, Price>>,
    /// OpenAI's `service_tier`: `flex` for half-price, slower answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<ServiceTier>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    /// A managed local model (llama-server + GGUF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalModel>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalModel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// The server's arithmetic threads; by default the cores idle when it starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<std::num::NonZeroUsize>,
}

/// USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input_per_mtok: f64,
    pub output_per_mtok: f64,
    /// Input the provider served from its prompt cache; priced as fresh input when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_input_per_mtok: Option<f64>,
}

/// Which processing tier requests ask for (OpenAI's `service_tier`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ServiceTier {
    /// The endpoint's own default: nothing is sent.
    #[default]
    Default,
    /// Half price, slower, and sometimes "resource unavailable" (retried, not a rate limit).
    Flex,
}

/// How the answer's shape is enforced by the endpoint.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    strum::Display,
    strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StructuredOutput {
    /// `response_format: json_schema`, strict.
    #[default]
    JsonSchema,
    /// `response_format: json_object`; the schema is described in the prompt.
    JsonObject,
    /// A forced function call whose parameters are the schema.
    Tools,
    /// Nothing enforced by the endpoint; the schema is described in the prompt.
    Prompt,
}

/// A lint finding that does not stop the file from loading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Where: `metrics[2].prompt`, or a metric id.
    pub at: String,
    pub message: String,
    /// 1-based position in the metric file, when known (printed as `file:line:col`).
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Warning {
    /// A warning without a position.
    pub fn new(at: impl Into<String>, message: impl Into<String>) -> Warning {
        Warning {
            at: at.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }

    pub(crate) fn located(at: impl Into<String>, message: impl Into<String>, pos: Option<node::Pos>) -> Warning {
        Warning {
            line: pos.map(|p| p.line),
            column: pos.map(|p| p.column),
            ..Warning::new(at, message)
        }
    }

    /// `file:line:col: warning: at: message`, the form `validate` and `run` print.
    pub fn display_in(&self, path: &str) -> String {
        let position = match (self.line, self.column) {
            (Some(l), Some(c)) => format!(":{l}:{c}"),
            (Some(l), None) => format!(":{l}"),
            _ => String::new(),
        };
        format!("{path}{position}: warning: {}: {}", self.at, self.message)
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}
