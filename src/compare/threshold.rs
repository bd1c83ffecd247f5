//! Per-metric settings given on the command line: `--max-changed 5%`,
//! `--max-changed call_outcome=2%`, `--min-accuracy 0.85`, `--tolerance satisfaction_score=1`,
//! `--min-kappa outcome=0.6`.
//!
//! A bare value is the default for every metric; `id=value` sets one metric and wins over
//! the default. Fractions are written `5%` or `0.05`; a bare `5` is refused because it is
//! ambiguous (5% or 500%?).

use anyhow::{Context as _, bail};
use indexmap::IndexMap;

/// One `[ID=]VALUE` as typed on the command line, parsed once, by clap.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    /// `None` for a bare value: the default for every metric.
    pub metric: Option<String>,
    pub value: f64,
}

impl Setting {
    /// clap's value parser for shares (`--max-changed`, `--min-accuracy`): `5%`, `0.05`,
    /// `ID=2%`. A bad value is a usage error naming the flag (exit 2).
    pub fn share(arg: &str) -> Result<Setting, String> {
        Setting::parse(arg, parse_fraction)
    }

    /// clap's value parser for agreement coefficients (`--min-kappa`): `0.6`, `ID=0.4`.
    pub fn coefficient(arg: &str) -> Result<Setting, String> {
        Setting::parse(arg, parse_coefficient)
    }

    /// clap's value parser for absolute amounts (`--tolerance`): `1`, `ID=0.5`.
    pub fn amount(arg: &str) -> Result<Setting, String> {
        Setting::parse(arg, parse_amount)
    }

    fn parse(arg: &str, parse_value: fn(&str) -> anyhow::Result<f64>) -> Result<Setting, String> {
        let (metric, value) = match arg.split_once('=') {
            Some((id, value)) => (Some(id.trim()), value),
            None => (None, arg),
        };
        if metric == Some("") {
            return Err("the metric id before `=` is empty; write ID=VALUE".to_string());
        }
        let value = parse_value(value.trim()).map_err(|e| format!("{e:#}"))?;
        Ok(Setting {
            metric: metric.map(str::to_string),
            value,
        })
    }
}

/// A default plus per-metric overrides.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerMetric {
    pub default: Option<f64>,
    pub by_metric: IndexMap<String, f64>,
}

impl PerMetric {
    /// The settings of one repeatable flag, in command-line order (a later one wins).
    pub fn new(settings: &[Setting]) -> PerMetric {
        let mut out = PerMetric::default();
        for setting in settings {
            match &setting.metric {
                Some(id) => {
                    out.by_metric.insert(id.clone(), setting.value);
                }
                None => out.default = Some(setting.value),
            }
        }
        out
    }

    pub fn for_metric(&self, id: &str) -> Option<f64> {
        self.by_metric.get(id).copied().or(self.default)
    }

    /// Refuses settings for metrics the reports do not have: a typo would otherwise
    /// silently disable a CI check.
    pub fn check_ids(&self, flag: &str, known: &[&str]) -> anyhow::Result<()> {
        for id in self.by_metric.keys() {
            if !known.contains(&id.as_str()) {
                bail!(
                    "{flag} {id}=…: no metric `{id}` in the report; its metrics are: {}",
                    if known.is_empty() {
                        "(none)".to_string()
                    } else {
                        known.join(", ")
                    }
                );
            }
        }
        Ok(())
    }
}

/// `5%`, `2.5%`, `0.05` → a fraction in 0..=1.
pub fn parse_fraction(text: &str) -> anyhow::Result<f64> {
    let (number, scale) = match text.strip_suffix('%') {
        Some(number) => (number.trim(), 100.0),
        None => (text, 1.0),
    };
    let value: f64 = number
        .parse()
        .ok()
        .filter(|v: &f64| v.is_finite())
        .with_context(|| format!("`{text}` is not a fraction; write it like 5% or 0.05"))?;
    let fraction = value / scale;
    if !(0.0..=1.0).contains(&fraction) {
        if scale == 1.0 && value > 1.0 && value <= 100.0 {
            bail!("`{text}` is more than 1; did you mean {text}%?");
        }
        bail!("`{text}` is outside 0%..100%");
    }
    Ok(fraction)
}

/// κ and its kin run from −1 to 1 and are not percentages: `0.6`, not `60%`.
pub fn parse_coefficient(text: &str) -> anyhow::Result<f64> {
    if let Some(number) = text.strip_suffix('%') {
        bail!(
            "`{text}`: κ is a coefficient between -1 and 1, not a percentage; did you mean {}?",
            number
                .trim()
                .parse::<f64>()
                .map_or("0.6".to_string(), |v| (v / 100.0).to_string())
        );
    }
    let value = text
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .with_context(|| format!("`{text}` is not a number; write κ like 0.6"))?;
    if !(-1.0..=1.0).contains(&value) {
        bail!("`{text}` is outside -1..1, the range of κ");
    }
    Ok(value)
}

/// A non-negative absolute amount, in the metric's own unit (`1` point, `0.5` dollars).
pub fn parse_amount(text: &str) -> anyhow::Result<f64> {
    text.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v >= 0.0)
        .with_context(|| format!("`{text}` is not a non-negative number"))
}

#[cfg(test)]
pub(crate) fn settings(args: &[&str], parse: fn(&str) -> Result<Setting, String>) -> PerMetric {
    let parsed: Vec<Setting> = args.iter().map(|a| parse(a).unwrap()).collect();
    PerMetric::new(&parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_in_both_spellings() {
        assert_eq!(parse_fraction("5%").unwrap(), 0.05);
        assert_eq!(parse_fraction("0.05").unwrap(), 0.05);
        assert_eq!(parse_fraction("100%").unwrap(), 1.0);
        assert_eq!(parse_fraction("0").unwrap(), 0.0);
        let err = parse_fraction("5").unwrap_err().to_string();
        assert!(err.contains("did you mean 5%"), "{err}");
        let err = parse_fraction("five").unwrap_err().to_string();
        assert!(err.contains("like 5% or 0.05"), "{err}");
        assert!(parse_fraction("120%").is_err());
    }

    #[test]
    fn per_metric_overrides_the_default() {
        let limits = settings(&["5%", "call_outcome=2%"], Setting::share);
        assert_eq!(limits.for_metric("call_outcome"), Some(0.02));
        assert_eq!(limits.for_metric("other"), Some(0.05));
        let only = settings(&["a=0.1"], Setting::share);
        assert_eq!(only.for_metric("b"), None);
    }

    #[test]
    fn unknown_metric_ids_are_refused_with_the_list() {
        let limits = settings(&["outcom=2%"], Setting::share);
        let err = limits
            .check_ids("--max-changed", &["outcome", "score"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("no metric `outcom`"), "{err}");
        assert!(err.contains("outcome, score"), "{err}");
    }

    #[test]
    fn kappa_minimums_are_coefficients_not_percentages() {
        assert_eq!(parse_coefficient("0.6").unwrap(), 0.6);
        assert_eq!(parse_coefficient("-0.2").unwrap(), -0.2);
        let err = parse_coefficient("60%").unwrap_err().to_string();
        assert!(err.contains("did you mean 0.6?"), "{err}");
        assert!(
            parse_coefficient("1.5")
                .unwrap_err()
                .to_string()
                .contains("outside -1..1")
        );
        let s = Setting::coefficient("outcome=0.4").unwrap();
        assert_eq!((s.metric.as_deref(), s.value), (Some("outcome"), 0.4));
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        let err = Setting::amount("x=abc").unwrap_err();
        assert!(err.contains("`abc` is not a non-negative number"), "{err}");
        let err = Setting::amount("=1").unwrap_err();
        assert!(err.contains("empty"), "{err}");
        assert_eq!(
            Setting::share(" score = 5% ").unwrap(),
            Setting {
                metric: Some("score".into()),
                value: 0.05
            }
        );
    }
}
