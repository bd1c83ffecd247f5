//! Lint rules for metric files: what makes a metric well-formed, whatever dialect it came from.
//!
//! Readers have already checked shape and spelling (see [`super::raw`]); these rules check
//! meaning and then assemble the [`Spec`]. Each rule has its own message that says what is
//! wrong and what to do, and all of them run, so one `validate` shows every problem.

use std::collections::HashMap;

use super::node::Pos;
use super::raw::{At, Findings, KindName, Num, RawMetric, RawSpec};
use super::{Metric, MetricKind, Spec, Strategy};
use crate::report::csv::{DETAIL_SUFFIXES, FIXED_COLUMNS};

/// More metrics than this in one request and answers get noticeably worse.
pub const MAX_METRICS_PER_REQUEST: usize = 15;

/// Prompts shorter than this many words are flagged as vague.
pub const MIN_PROMPT_WORDS: usize = 4;

/// True when `id` matches `^[a-z][a-z0-9_]*$`: safe as a JSON property, CSV column and
/// file name without quoting.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Converts a display name (`"Call Outcome"`, `"callOutcome"`, `"Follow-up needed?"`) into
/// an id (`call_outcome`, `follow_up_needed`): word boundaries at spaces, punctuation and
/// lower→upper case changes, everything lowercased, only ASCII letters and digits kept.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len());
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_ascii_uppercase() && i > 0 && !out.is_empty() && !out.ends_with('_') {
            let prev = chars[i - 1];
            let next_is_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            // `callOutcome` → call_outcome; `HTTPStatus` → http_status (the acronym ends
            // where a capital is followed by a lowercase letter).
            if prev.is_ascii_lowercase() || prev.is_ascii_digit() || (prev.is_ascii_uppercase() && next_is_lower) {
                out.push('_');
            }
        }
        out.push(c.to_ascii_lowercase());
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// Levenshtein distance, for "did you mean" hints.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The candidate `word` was most likely meant to be: same word in another case, a close
/// spelling (a distance that grows with the word's length), or an abbreviation (`int`).
pub fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase();
    let limit = match lower.chars().count() {
        0..=3 => 1,
        4..=6 => 2,
        _ => 3,
    };
    let close = candidates
        .iter()
        .map(|c| (edit_distance(&lower, &c.to_ascii_lowercase()), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c);
    close.or_else(|| {
        (lower.len() >= 3)
            .then(|| candidates.iter().find(|c| c.starts_with(&lower)).copied())
            .flatten()
    })
}

/// "did you mean `x`?" when a candidate is close, else the list of what is accepted.
pub fn hint(word: &str, candidates: &[&str]) -> String {
    match did_you_mean(word, candidates) {
        Some(c) => format!("did you mean `{c}`?"),
        None => format!("expected one of: {}", candidates.join(", ")),
    }
}

/// Runs every rule over `raw`, adding to `found`, and assembles the spec when nothing is
/// wrong. Returns `None` when there were errors (from the readers or from these rules).
pub(crate) fn check(raw: RawSpec, found: &mut Findings) -> Option<Spec> {
    let mut first_seen: HashMap<&str, Option<usize>> = HashMap::new();
    for m in &raw.metrics {
        check_id(m, &mut first_seen, found);
        check_options(m, found);
        check_prompt(m, found);
        if let Some(aw) = &m.applies_when
            && aw.value.trim().is_empty()
        {
            found.error(
                aw.pos,
                format!(
                    "{}: `applies_when` is empty; say when the metric applies, or remove the key",
                    m.label()
                ),
            );
        }
        if let Some(id) = &m.id {
            check_reserved(&id.value, id.pos, raw.summary.is_some(), found);
        }
        if let Some(expect) = &m.expect {
            check_expect(m, expect, found);
        }
    }
    if !found.errors.is_empty() {
        return None;
    }
    build(raw)
}

/// `expect` thresholds: errors for values outside their scale, warnings for a κ minimum
/// that can never be checked or that checks nothing.
fn check_expect(m: &RawMetric, expect: &At<super::Expect>, found: &mut Findings) {
    let label = m.label();
    if let Some(acc) = expect.value.min_accuracy
        && !(0.0..=1.0).contains(&acc)
    {
        found.error(
            expect.pos,
            format!("{label}: `expect.min_accuracy` is {acc}; use a fraction between 0 and 1 (e.g. 0.9)"),
        );
    }
    let Some(kappa) = expect.value.min_kappa else {
        return;
    };
    if !(-1.0..=1.0).contains(&kappa) {
        let hint = if kappa > 1.0 && kappa <= 100.0 {
            format!(" (κ is not a percentage: did you mean {}?)", kappa / 100.0)
        } else {
            String::new()
        };
        found.error(
            expect.pos,
            format!("{label}: `expect.min_kappa` is {kappa}; κ runs from -1 to 1, e.g. 0.6{hint}"),
        );
        return;
    }
    let at = format!("{label}: expect.min_kappa");
    match m.kind.as_ref().map(|k| k.value) {
        Some(KindName::Enum | KindName::Boolean | KindName::Integer) | None => {}
        Some(other) => found.warn(
            expect.pos,
            at.clone(),
            format!(
                "κ is computed for enum, boolean and integer metrics only, so `eval` cannot check it on a {} metric; use `min_accuracy`",
                other.name()
            ),
        ),
    }
    if kappa <= 0.0 {
        found.warn(
            expect.pos,
            at,
            format!("{kappa} is at or below chance agreement (κ = 0), so this minimum checks nothing; 0.4–0.6 is a usual floor"),
        );
    } else if kappa >= 0.95 {
        found.warn(
            expect.pos,
            at,
            format!("{kappa} is above what human annotators usually reach with each other (κ ≈ 0.8 is \"almost perfect\"); the check will fail on label noise alone"),
        );
    }
}

fn check_id<'a>(m: &'a RawMetric, first_seen: &mut HashMap<&'a str, Option<usize>>, found: &mut Findings) {
    let Some(id) = &m.id else { return };
    if !is_valid_id(&id.value) {
        let suggestion = snake_case(&id.value);
        let next = if is_valid_id(&suggestion) {
            format!(" (e.g. `{suggestion}`)")
        } else {
            String::new()
        };
        found.error(
            id.pos,
            format!(
                "id `{}` is not valid; use lowercase letters, digits and underscores, starting with a letter{next}",
                id.value
            ),
        );
    }
    match first_seen.get(id.value.as_str()) {
        Some(first) => {
            let first = first.map_or_else(String::new, |line| format!(" (first defined on line {line})"));
            found.error(
                id.pos,
                format!("duplicate id `{}`{first}; ids must be unique, rename one", id.value),
            );
        }
        None => {
            first_seen.insert(&id.value, id.pos.map(|p| p.line));
        }
    }
}

/// Ids a report already uses for something else: the CSV's own columns (`call_id`,
/// `source`, `summary`, `errors`) and the `--csv-detail` suffixes. Such an id would give the
/// CSV two columns of one name, and `eval` would match labels to the wrong one.
fn check_reserved(id: &str, pos: Option<Pos>, has_summary: bool, found: &mut Findings) {
    let message = if id == "summary" && has_summary {
        "metric id `summary` collides with the top-level `summary:` in the answer; rename the metric (e.g. `call_summary`) or drop the top-level summary".to_string()
    } else if FIXED_COLUMNS.contains(&id) {
        format!(
            "metric id `{id}` is reserved: every CSV report has a `{id}` column of its own ({}); rename the metric (e.g. `{id}_value`)",
            FIXED_COLUMNS.join(", ")
        )
    } else if let Some(suffix) = DETAIL_SUFFIXES.iter().find(|s| id.ends_with(*s)) {
        format!(
            "metric id `{id}` ends in `{suffix}`, which --csv-detail uses for its columns (`<id>{suffix}`); rename the metric"
        )
    } else {
        return;
    };
    found.error(pos, message);
}

/// `choices` and `range` against the metric's type.
fn check_options(m: &RawMetric, found: &mut Findings) {
    let Some(kind) = &m.kind else { return };
    let label = m.label();
    let kind_name = kind.value.name();
    match (&m.choices, kind.value) {
        (Some(c), KindName::Enum | KindName::List) => check_choices(&label, kind.value, c, found),
        (Some(c), _) => found.error(
            c.pos,
            format!("{label}: `choices` only applies to enum and list metrics, this one is `{kind_name}`; remove `choices` or change `type` to enum"),
        ),
        (None, KindName::Enum) => found.error(
            kind.pos,
            format!("{label}: an enum needs `choices` with at least 2 options, e.g. `choices: [yes, no, unclear]`"),
        ),
        (None, _) => {}
    }
    if let Some(range) = &m.range {
        let [lo, hi] = range.value;
        match kind.value {
            KindName::Integer | KindName::Number => {
                if kind.value == KindName::Integer && (matches!(lo, Num::Float(_)) || matches!(hi, Num::Float(_))) {
                    found.error(range.pos, format!("{label}: an integer range needs whole numbers, like `range: [1, 5]`; use `type: number` for decimals"));
                } else if lo.as_f64() > hi.as_f64() {
                    found.error(range.pos, format!("{label}: `range` goes from {} down to {}; write the lowest value first", fmt_num(lo), fmt_num(hi)));
                }
            }
            _ => found.error(
                range.pos,
                format!("{label}: `range` only applies to integer and number metrics, this one is `{kind_name}`; remove `range` or change `type`"),
            ),
        }
    }
}

fn check_choices(label: &str, kind: KindName, choices: &At<Vec<At<String>>>, found: &mut Findings) {
    let mut seen: Vec<&str> = Vec::new();
    for choice in &choices.value {
        let text = choice.value.as_str();
        if text.trim().is_empty() {
            found.error(choice.pos, format!("{label}: empty choice; every choice needs a name"));
        } else if seen.contains(&text) {
            found.error(
                choice.pos,
                format!("{label}: choice `{text}` is listed twice; remove the duplicate"),
            );
        } else {
            seen.push(text);
        }
    }
    match kind {
        KindName::Enum if seen.len() < 2 => found.error(
            choices.pos,
            format!(
                "{label}: an enum needs at least 2 distinct choices, found {}; add the other options (or use `type: boolean` for yes/no)",
                seen.len()
            ),
        ),
        KindName::List if choices.value.is_empty() => found.error(
            choices.pos,
            format!("{label}: `choices` is empty; list the options for a multi-select, or remove `choices` for a free-form list"),
        ),
        _ => {}
    }
}

fn check_prompt(m: &RawMetric, found: &mut Findings) {
    let Some(prompt) = &m.prompt else { return };
    let words = prompt.value.split_whitespace().count();
    if words == 0 {
        found.error(
            prompt.pos,
            format!(
                "{}: `prompt` is empty; write the question the model should answer about each call",
                m.label()
            ),
        );
    } else if words < MIN_PROMPT_WORDS {
        found.warn(
            prompt.pos,
            m.id.as_ref()
                .map_or_else(|| format!("metrics[{}]", m.index), |id| id.value.clone()),
            format!(
                "prompt has {words} word{}; vague prompts give noisy answers, say exactly what to look for",
                if words == 1 { "" } else { "s" }
            ),
        );
    }
}

/// With `per_call`, each model's metrics share one request; too many in one dilutes them.
/// Counted by the planner the run uses, with the file's model as the default. Checked on
/// the spec a run uses, so after composing files (each may be small, together too many).
pub(crate) fn check_group_sizes(spec: &Spec, pos: Option<super::node::Pos>, found: &mut Findings) {
    if spec.strategy != Strategy::PerCall {
        return;
    }
    for group in super::groups::request_groups(spec, spec.llm.model.as_deref()) {
        if group.metrics.len() > MAX_METRICS_PER_REQUEST {
            let model = group
                .model
                .map_or_else(|| "the default model".to_owned(), |m| format!("model `{m}`"));
            found.warn(
                pos,
                "metrics",
                format!(
                    "{} metrics for {model} share one request (strategy per_call); more than {MAX_METRICS_PER_REQUEST} per request lowers answer quality, split them with per-metric `model` or use `strategy: per_metric`",
                    group.metrics.len()
                ),
            );
        }
    }
}

fn fmt_num(n: Num) -> String {
    match n {
        Num::Int(i) => i.to_string(),
        Num::Float(f) => f.to_string(),
    }
}

/// Assembles the spec; `None` if a metric lacks a part (its error is already recorded).
fn build(raw: RawSpec) -> Option<Spec> {
    let evidence = raw.evidence.unwrap_or(true);
    let metrics = raw
        .metrics
        .into_iter()
        .map(|m| build_metric(m, evidence))
        .collect::<Option<Vec<_>>>()?;
    Some(Spec {
        version: raw.version,
        llm: raw.llm,
        strategy: raw.strategy,
        context: raw.context,
        summary: raw.summary.map(|s| s.value),
        metrics,
        dialect: raw.dialect,
    })
}

fn build_metric(m: RawMetric, evidence: bool) -> Option<Metric> {
    let choices = m
        .choices
        .map(|c| c.value.into_iter().map(|c| c.value).collect::<Vec<_>>());
    let range = m.range.map(|r| r.value);
    let kind = match m.kind?.value {
        KindName::String => MetricKind::String,
        KindName::Boolean => MetricKind::Boolean,
        KindName::Integer => MetricKind::Integer {
            range: range.map(|[lo, hi]| [lo.as_f64() as i64, hi.as_f64() as i64]),
        },
        KindName::Number => MetricKind::Number {
            range: range.map(|[lo, hi]| [lo.as_f64(), hi.as_f64()]),
        },
        KindName::Enum => MetricKind::Enum { choices: choices? },
        KindName::Datetime => MetricKind::Datetime,
        KindName::List => MetricKind::List { choices },
    };
    Some(Metric {
        id: m.id?.value,
        kind,
        prompt: m.prompt?.value.trim().to_owned(),
        required: m.required,
        description: m.description,
        applies_when: m.applies_when.map(|a| a.value.trim().to_owned()),
        model: m.model,
        expect: m.expect.map(|e| e.value),
        evidence: m.evidence.unwrap_or(evidence),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_lowercase_snake_case() {
        assert!(is_valid_id("call_outcome"));
        assert!(is_valid_id("q2"));
        assert!(!is_valid_id("2q"));
        assert!(!is_valid_id("Call"));
        assert!(!is_valid_id("call-outcome"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("_x"));
    }

    #[test]
    fn snake_case_handles_names_from_platforms() {
        assert_eq!(snake_case("Call Outcome"), "call_outcome");
        assert_eq!(snake_case("callOutcome"), "call_outcome");
        assert_eq!(snake_case("Follow-up needed?"), "follow_up_needed");
        assert_eq!(snake_case("HTTPStatus code"), "http_status_code");
        assert_eq!(snake_case("CSAT score (1-5)"), "csat_score_1_5");
        assert_eq!(snake_case("already_fine"), "already_fine");
        assert_eq!(snake_case("  "), "");
    }

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("promt", "prompt"), 1);
        assert_eq!(edit_distance("choises", "choices"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn did_you_mean_finds_typos_case_and_abbreviations() {
        let types = ["string", "boolean", "integer", "number", "enum", "datetime", "list"];
        assert_eq!(did_you_mean("strng", &types), Some("string"));
        assert_eq!(did_you_mean("Enum", &types), Some("enum"));
        assert_eq!(did_you_mean("int", &types), Some("integer"));
        assert_eq!(did_you_mean("bool", &types), Some("boolean"));
        assert_eq!(did_you_mean("date", &types), Some("datetime"));
        assert_eq!(did_you_mean("float", &types), None);
        assert_eq!(hint("float", &["a", "b"]), "expected one of: a, b");
    }
}
