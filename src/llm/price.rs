//! What requests cost: each model's price (`--price`, `llm.price` for the run's model,
//! `llm.prices` for the models metrics name), cached input at its own rate, and the
//! discount of the tier the requests go to (flex, batch).
//!
//! A price nobody gave stays unknown, never 0: a model without one makes every cost it is
//! part of `None`, and the reports say "unknown".

use std::collections::BTreeMap;

use crate::spec::{Price, ServiceTier};

/// What flex processing costs, as a share of the standard price (OpenAI: half).
pub const FLEX_SHARE: f64 = 0.5;
/// What the Batch API costs, as a share of the standard price (OpenAI: half).
pub const BATCH_SHARE: f64 = 0.5;

/// The tokens a price applies to. `cached_prompt` is the part of `prompt` the provider
/// served from its prompt cache (OpenAI's `prompt_tokens_details.cached_tokens`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub prompt: u64,
    pub cached_prompt: u64,
    pub completion: u64,
}

/// How requests are billed: the standard price of each model, and the tier.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prices {
    /// The model `default` is the price of.
    pub default_model: String,
    /// `--price` or `llm.price`: the price of the run's own model.
    pub default: Option<Price>,
    /// `llm.prices`: the price of other models (and of the run's model when `default` is unset).
    pub by_model: BTreeMap<String, Price>,
    pub tier: ServiceTier,
}

impl Prices {
    /// The standard (non-discounted) price of `model`, if one was given.
    pub fn standard(&self, model: &str) -> Option<Price> {
        if model == self.default_model
            && let Some(price) = self.default
        {
            return Some(price);
        }
        self.by_model.get(model).copied()
    }

    /// The price `model`'s requests are billed at on this run's tier.
    pub fn of(&self, model: &str) -> Option<Price> {
        let price = self.standard(model)?;
        Some(match self.tier {
            ServiceTier::Default => price,
            ServiceTier::Flex => scaled(&price, FLEX_SHARE),
        })
    }

    /// What `tokens` of `model` cost on this run's tier; `None` when its price is unknown.
    pub fn cost(&self, model: &str, tokens: Tokens) -> Option<f64> {
        self.of(model).map(|price| cost(&price, tokens))
    }

    /// Whether every one of `models` has a price.
    pub fn knows_all<'a>(&self, mut models: impl Iterator<Item = &'a str>) -> bool {
        models.all(|m| self.standard(m).is_some())
    }
}

/// `price` with every rate multiplied by `share`.
pub fn scaled(price: &Price, share: f64) -> Price {
    Price {
        input_per_mtok: price.input_per_mtok * share,
        output_per_mtok: price.output_per_mtok * share,
        cached_input_per_mtok: price.cached_input_per_mtok.map(|c| c * share),
    }
}

/// USD for `tokens` at `price`. Cached input is priced at its own rate, or as fresh input
/// when the price has none (the bill cannot be more than that).
pub fn cost(price: &Price, tokens: Tokens) -> f64 {
    let cached = tokens.cached_prompt.min(tokens.prompt);
    let fresh = tokens.prompt - cached;
    let cached_rate = price.cached_input_per_mtok.unwrap_or(price.input_per_mtok);
    (fresh as f64 * price.input_per_mtok
        + cached as f64 * cached_rate
        + tokens.completion as f64 * price.output_per_mtok)
        / 1e6
}

/// Parses `--price 0.15,0.60[,0.075]`: USD per million input, output and (optionally)
/// cached input tokens.
pub fn parse_price(text: &str) -> Result<Price, String> {
    let parts: Vec<&str> = text.split(',').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(format!(
            "`{text}` is not INPUT,OUTPUT[,CACHED_INPUT]; write e.g. --price 0.15,0.60 or --price 0.15,0.60,0.075 \
             (USD per million tokens)"
        ));
    }
    let parse = |s: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("`{s}` is not a price; write e.g. --price 0.15,0.60"))
    };
    Ok(Price {
        input_per_mtok: parse(parts[0])?,
        output_per_mtok: parse(parts[1])?,
        cached_input_per_mtok: parts.get(2).map(|s| parse(s)).transpose()?,
    })
}

/// A price as the user writes it: `$0.15/$0.60` per million input/output tokens, with the
/// cached-input rate when there is one.
pub fn describe(price: &Price) -> String {
    match price.cached_input_per_mtok {
        Some(cached) => format!(
            "${}/${} per million input/output tokens, ${cached} cached input",
            price.input_per_mtok, price.output_per_mtok
        ),
        None => format!(
            "${}/${} per million input/output tokens",
            price.input_per_mtok, price.output_per_mtok
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(input: f64, output: f64, cached: Option<f64>) -> Price {
        Price {
            input_per_mtok: input,
            output_per_mtok: output,
            cached_input_per_mtok: cached,
        }
    }

    #[test]
    fn price_parses_two_or_three_rates_and_rejects_nonsense() {
        assert_eq!(parse_price("0.15, 0.6").unwrap(), price(0.15, 0.6, None));
        assert_eq!(parse_price("2,8,0.5").unwrap(), price(2.0, 8.0, Some(0.5)));
        for bad in ["0.15", "a,b", "1,2,3,4", "1,-2", "1,2,x"] {
            assert!(parse_price(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cached_input_is_priced_at_its_own_rate_or_as_fresh_input() {
        let tokens = Tokens {
            prompt: 1_000_000,
            cached_prompt: 800_000,
            completion: 100_000,
        };
        // 0.2M fresh at $2, 0.8M cached at $0.5, 0.1M out at $8.
        let with_rate = cost(&price(2.0, 8.0, Some(0.5)), tokens);
        assert!((with_rate - (0.4 + 0.4 + 0.8)).abs() < 1e-9, "{with_rate}");
        let without = cost(&price(2.0, 8.0, None), tokens);
        assert!((without - (2.0 + 0.8)).abs() < 1e-9, "{without}");
    }

    #[test]
    fn a_model_without_a_price_costs_unknown_and_flex_is_half() {
        let prices = Prices {
            default_model: "big".into(),
            default: Some(price(2.0, 8.0, None)),
            by_model: [("small".to_string(), price(0.1, 0.4, None))].into(),
            tier: ServiceTier::Default,
        };
        let tokens = Tokens {
            prompt: 1_000_000,
            cached_prompt: 0,
            completion: 0,
        };
        assert_eq!(prices.cost("big", tokens), Some(2.0));
        assert_eq!(prices.cost("small", tokens), Some(0.1));
        assert_eq!(prices.cost("other", tokens), None, "never 0");
        assert!(!prices.knows_all(["big", "other"].into_iter()));
        let flex = Prices {
            tier: ServiceTier::Flex,
            ..prices
        };
        assert_eq!(flex.cost("big", tokens), Some(1.0));
    }
}
