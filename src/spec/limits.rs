//! How long an answer may be, and how those bounds reach the endpoint.
//!
//! A small model left to itself can loop inside a string until its token budget is gone
//! (issue 10: "I'm unable to assist you, I'm unable to assist you, …" for 4,096 tokens).
//! Endpoints that turn a JSON Schema into a grammar (llama.cpp's server, vLLM guided
//! decoding, Ollama's `format`) enforce `maxLength` and `maxItems` while the model writes,
//! so there the bounds go into the schema ([`SchemaDialect::Grammar`]). OpenAI's strict
//! structured outputs reject those keywords, so there the schema goes without them and the
//! bounds are written into the prompt ([`SchemaDialect::Strict`]). Which endpoint gets which
//! is decided once, in `llm::config`; the bounds themselves are [`AnswerLimits`].

use serde::{Deserialize, Serialize};

/// Bounds on the free parts of an answer. The defaults suit a dashboard: a one-line
/// reasoning, a short summary, a few words of free text, a handful of list items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnswerLimits {
    /// Characters of each metric's `reasoning`.
    pub reasoning_chars: u32,
    /// Characters of the call's `summary`.
    pub summary_chars: u32,
    /// Characters of a free-text value, and of each item of a list.
    pub text_chars: u32,
    /// Items of a list value.
    pub list_items: u32,
    /// Quotes in a metric's `evidence`; 0 asks for no evidence (the managed local model's
    /// default, see `llm::local::answer_limits`).
    pub quotes: u32,
    /// Characters of each quote.
    pub quote_chars: u32,
}

impl Default for AnswerLimits {
    fn default() -> AnswerLimits {
        AnswerLimits {
            reasoning_chars: 100,
            summary_chars: 240,
            text_chars: 60,
            list_items: 5,
            quotes: 2,
            quote_chars: 80,
        }
    }
}

/// The keys of `--answer-limits` and `llm.answer_limits`, with what each bounds.
pub const LIMIT_KEYS: &[(&str, &str)] = &[
    ("reasoning", "characters of each reasoning"),
    ("summary", "characters of the summary"),
    ("text", "characters of a free-text value or list item"),
    ("items", "items of a list"),
    ("quotes", "quotes in a metric's evidence"),
    ("quote", "characters of each quote"),
];

impl AnswerLimits {
    /// Parses `reasoning=100,summary=240,text=60,items=5,quotes=2,quote=80`; keys left out keep their
    /// defaults.
    pub fn parse(text: &str) -> Result<AnswerLimits, String> {
        let mut limits = AnswerLimits::default();
        let known = || {
            LIMIT_KEYS
                .iter()
                .map(|(k, what)| format!("{k} ({what})"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("`{part}` is not KEY=N; the keys are {}", known()))?;
            // `quotes=0` asks for no evidence at all; every other bound of 0 would leave
            // nothing to answer with.
            let least = u32::from(key.trim() != "quotes");
            let value: u32 = value
                .trim()
                .parse()
                .ok()
                .filter(|v| *v >= least)
                .ok_or_else(|| format!("`{part}`: the limit must be a whole number of at least {least}"))?;
            let slot = match key.trim() {
                "reasoning" => &mut limits.reasoning_chars,
                "summary" => &mut limits.summary_chars,
                "text" => &mut limits.text_chars,
                "items" => &mut limits.list_items,
                "quotes" => &mut limits.quotes,
                "quote" => &mut limits.quote_chars,
                other => return Err(format!("`{other}` is not an answer limit; the keys are {}", known())),
            };
            *slot = value;
        }
        Ok(limits)
    }

    /// The bounds in words, for the prompt of an endpoint whose schema cannot carry them;
    /// `evidence`: whether any metric is asked to quote the transcript.
    pub fn describe(&self, evidence: bool) -> String {
        let mut text = format!(
            "Keep each `reasoning` to one short sentence of at most {} characters, the summary to at most {} characters, \
             free-text values to at most {} characters, and lists to at most {} items.",
            self.reasoning_chars, self.summary_chars, self.text_chars, self.list_items
        );
        if evidence {
            let quotes = match self.quotes {
                1 => "one quote".to_string(),
                n => format!("{n} quotes"),
            };
            text.push_str(&format!(
                " Give at most {quotes} in each `evidence`, each at most {} characters.",
                self.quote_chars
            ));
        }
        text
    }
}

/// Which JSON Schema keywords the endpoint's structured output takes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, strum::Display, strum::IntoStaticStr,
)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SchemaDialect {
    /// A grammar-enforcing server (llama.cpp, vLLM, Ollama): bounds in the schema.
    Grammar,
    /// OpenAI-style strict mode: no length keywords; bounds in the prompt.
    Strict,
}

/// `--schema-dialect`: a dialect, or `auto` to let the endpoint decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum, strum::Display)]
#[serde(rename_all = "snake_case")]
#[value(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum DialectChoice {
    /// Strict for OpenAI, Azure and OpenRouter; grammar for everything else.
    #[default]
    Auto,
    Grammar,
    Strict,
}

/// `--max-tokens`: a number, or `auto` for a budget computed from each request's
/// questions and the answer limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaxTokens {
    Auto,
    Limit(u32),
}

impl MaxTokens {
    /// The fixed limit, if one was given (`auto` is worked out per request).
    pub fn limit(self) -> Option<u32> {
        match self {
            MaxTokens::Limit(n) => Some(n),
            MaxTokens::Auto => None,
        }
    }

    pub fn parse(text: &str) -> Result<MaxTokens, String> {
        if text.trim().eq_ignore_ascii_case("auto") {
            return Ok(MaxTokens::Auto);
        }
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .map(MaxTokens::Limit)
            .ok_or_else(|| format!("`{text}` is not a token count: write a number above 0, or `auto`"))
    }
}

impl Serialize for MaxTokens {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            MaxTokens::Auto => s.serialize_str("auto"),
            MaxTokens::Limit(n) => s.serialize_u32(*n),
        }
    }
}

impl<'de> Deserialize<'de> for MaxTokens {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<MaxTokens, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u32),
            Text(String),
        }
        match Raw::deserialize(d).map_err(|_| serde::de::Error::custom("expected a number above 0 or `auto`"))? {
            Raw::Number(0) => Err(serde::de::Error::custom("expected a number above 0 or `auto`")),
            Raw::Number(n) => Ok(MaxTokens::Limit(n)),
            Raw::Text(t) => MaxTokens::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_key_by_key_and_keep_the_defaults_for_the_rest() {
        let limits = AnswerLimits::parse("reasoning=80, items=3").unwrap();
        assert_eq!(
            limits,
            AnswerLimits {
                reasoning_chars: 80,
                list_items: 3,
                ..AnswerLimits::default()
            }
        );
        let err = AnswerLimits::parse("reasons=80").unwrap_err();
        assert!(
            err.contains("`reasons` is not an answer limit") && err.contains("reasoning ("),
            "{err}"
        );
        assert!(AnswerLimits::parse("summary=0").unwrap_err().contains("at least 1"));
        assert_eq!(AnswerLimits::parse("quotes=0").unwrap().quotes, 0, "no evidence");
        assert!(AnswerLimits::parse("summary").unwrap_err().contains("KEY=N"));
    }

    #[test]
    fn max_tokens_is_a_number_or_auto_in_flags_and_in_the_file() {
        assert_eq!(MaxTokens::parse("auto"), Ok(MaxTokens::Auto));
        assert_eq!(MaxTokens::parse("512"), Ok(MaxTokens::Limit(512)));
        assert!(MaxTokens::parse("0").is_err() && MaxTokens::parse("lots").is_err());
        let from_yaml: MaxTokens = serde_json::from_value(serde_json::json!(256)).unwrap();
        assert_eq!(from_yaml, MaxTokens::Limit(256));
        let from_yaml: MaxTokens = serde_json::from_value(serde_json::json!("auto")).unwrap();
        assert_eq!(from_yaml, MaxTokens::Auto);
        assert!(serde_json::from_value::<MaxTokens>(serde_json::json!(-1)).is_err());
    }
}
