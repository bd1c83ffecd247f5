//! The requests a call needs, ready to send: the spec's request groups (one planner, in
//! `spec::groups`) with the model each is sent to and the answer schema it carries.

use std::sync::Arc;

use crate::llm::EndpointConfig;
use crate::prompt::{Group, PromptOptions, build_messages};
use crate::spec::groups::request_groups;
use crate::spec::{AnswerLimits, MaxTokens, Metric, MetricKind, SchemaDialect, Spec, StructuredOutput, schema};
use crate::transcript::{Call, Format, estimate_tokens_for_chars};

/// The least a transcript must be left of `max_input_tokens` for a run to make sense.
pub const MIN_TRANSCRIPT_TOKENS: u64 = 100;

/// One request of every call: which metrics it asks, with which model and schema. Each
/// group carries its own schema, built once per run.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupPlan {
    /// Indices into `spec.metrics`, in file order.
    pub metrics: Vec<usize>,
    /// Whether this request also asks for the summary.
    pub summary: bool,
    /// The model that answers it.
    pub model: String,
    /// The JSON Schema of this request's answer (with the answer limits in it for a
    /// grammar endpoint). Shared with every request built from this plan: a schema is
    /// built once per run, not copied per call.
    pub schema: Arc<serde_json::Value>,
    /// The output-token budget of this request under `--max-tokens auto`.
    pub max_tokens: Option<u32>,
    /// The completion tokens an answer to it is expected to take (see
    /// [`expected_completion`]): what `--dry-run` and `--max-cost` count before any answer.
    pub expected_completion: u64,
}

impl GroupPlan {
    /// The metrics and summary this request asks, as the prompt builder takes them.
    pub fn questions<'a>(&self, spec: &'a Spec) -> Group<'a> {
        Group {
            metrics: self.metrics.iter().map(|&i| &spec.metrics[i]).collect(),
            summary: if self.summary { spec.summary.as_ref() } else { None },
        }
    }

    /// The request asking `metrics` (indices into `spec.metrics`) and, with `summary`, the
    /// summary, of `model` at `endpoint`: its schema in the endpoint's dialect, its budget.
    pub fn new(spec: &Spec, metrics: Vec<usize>, summary: bool, model: String, endpoint: &EndpointConfig) -> GroupPlan {
        let mut plan = GroupPlan {
            metrics,
            summary,
            model,
            schema: Arc::new(serde_json::Value::Null),
            max_tokens: None,
            expected_completion: 0,
        };
        let questions = plan.questions(spec);
        let limits = &endpoint.answer_limits;
        let bounds = (endpoint.schema_dialect == SchemaDialect::Grammar).then_some(limits);
        plan.schema = Arc::new(schema::bounded_answer_schema(
            &questions.metrics,
            questions.summary,
            bounds,
        ));
        let budget = completion_budget(&questions.metrics, questions.summary.is_some(), limits);
        plan.max_tokens = (endpoint.params.max_tokens == Some(MaxTokens::Auto)).then_some(budget);
        plan.expected_completion = expected_completion(budget);
        plan
    }

    /// The same request narrowed to the metrics still unanswered (and the summary, if it
    /// still is): what a re-ask asks.
    pub fn narrowed(&self, spec: &Spec, metrics: Vec<usize>, summary: bool, endpoint: &EndpointConfig) -> GroupPlan {
        GroupPlan::new(spec, metrics, summary && self.summary, self.model.clone(), endpoint)
    }
}

/// The share of its `--max-tokens auto` budget an answer is expected to take. The budget
/// gives every free string its whole limit; answers leave much of it unused (short
/// reasoning, null values, empty lists). Measured on the bundled examples with the bundled
/// model (`bench/cost-targets.sh`).
pub const ANSWER_FILL: f64 = 0.5;

/// The completion tokens an answer is expected to take, from the same count as its budget
/// ([`completion_budget`]): one estimate of an answer's length, not two.
pub fn expected_completion(budget: u32) -> u64 {
    (budget as f64 * ANSWER_FILL).round() as u64
}

/// The completion tokens a request of `group` is expected to take, before any is answered.
pub fn expected_completion_tokens(group: &GroupPlan) -> u64 {
    group.expected_completion
}

/// Under `quotes=0` (the managed local model's default) no metric is asked for evidence,
/// whatever the metric file says: `run` and `prompt` both apply it before planning.
pub fn evidence_as_limited(spec: &mut Spec, limits: &AnswerLimits) {
    if limits.quotes == 0 {
        for metric in &mut spec.metrics {
            metric.evidence = false;
        }
    }
}

/// The spec's request groups for a run against `endpoint` (whose model is the default).
pub fn plan_groups(spec: &Spec, endpoint: &EndpointConfig) -> Vec<GroupPlan> {
    request_groups(spec, Some(&endpoint.model))
        .into_iter()
        .map(|group| {
            let model = group.model.unwrap_or_else(|| endpoint.model.clone());
            GroupPlan::new(spec, group.metrics, group.summary, model, endpoint)
        })
        .collect()
}

/// Output tokens an answer to `metrics` (and the summary) needs at most when every free
/// string runs to its limit: the `--max-tokens auto` budget. Text is counted at 3
/// characters a token (English runs about 4; digits and rare words fewer), the JSON around
/// each value at what a small model's tokenizer spends on it, whitespace included.
pub fn completion_budget(metrics: &[&Metric], summary: bool, limits: &AnswerLimits) -> u32 {
    let text = |chars: u32| chars.div_ceil(3);
    let per_metric = |m: &Metric| {
        let envelope = 24 + text(m.id.len() as u32) + if m.applies_when.is_some() { 6 } else { 0 };
        let choice = |choices: &[String]| choices.iter().map(|c| text(c.len() as u32)).max().unwrap_or(1) + 2;
        let value = match &m.kind {
            MetricKind::Boolean => 2,
            MetricKind::Integer { .. } => 8,
            MetricKind::Number { .. } => 12,
            MetricKind::Datetime => 24,
            MetricKind::Enum { choices } => choice(choices),
            MetricKind::String => text(limits.text_chars) + 2,
            MetricKind::List { choices: Some(c) } => c.len() as u32 * choice(c) + 2,
            MetricKind::List { choices: None } => limits.list_items * (text(limits.text_chars) + 2) + 2,
        };
        // `"evidence": [ … ]`, and per quote `{"turn": 12, "quote": "…"}` around its text.
        let evidence = if m.evidence {
            4 + limits.quotes * (14 + text(limits.quote_chars))
        } else {
            0
        };
        envelope + text(limits.reasoning_chars) + value + evidence
    };
    let summary = if summary { text(limits.summary_chars) + 8 } else { 0 };
    10 + metrics.iter().map(|m| per_metric(m)).sum::<u32>() + summary
}

/// What one request of `group` takes besides the transcript: the system message, the
/// fences, the questions and (in `json_object` / `prompt` modes) the schema. The call's date
/// line is counted at its longer form.
pub fn request_overhead(spec: &Spec, group: &GroupPlan, mode: StructuredOutput, options: PromptOptions) -> u64 {
    let questions = group.questions(spec);
    let dated = [None, Some(jiff::Timestamp::UNIX_EPOCH)];
    dated
        .into_iter()
        .map(|started_at| {
            let empty = Call {
                id: String::new(),
                source: String::new(),
                format: Format::Generic,
                started_at,
                metadata: Default::default(),
                speaker_inference: None,
                turns: vec![],
            };
            build_messages(spec, &empty, None, &questions, mode, &group.schema, options)
                .iter()
                .map(|m| estimate_tokens_for_chars(m.content.len()))
                .sum::<u64>()
        })
        .max()
        .unwrap_or(0)
}

/// The tokens a transcript may take so that every request of the call fits
/// `max_input_tokens`: the limit counts the whole request, not the transcript alone. An
/// error when the rest of a request leaves less than [`MIN_TRANSCRIPT_TOKENS`], since every
/// call of the run would fail the same way.
pub fn transcript_budget(
    spec: &Spec,
    groups: &[GroupPlan],
    mode: StructuredOutput,
    options: PromptOptions,
    max_input_tokens: u64,
) -> Result<u64, String> {
    let overhead = groups
        .iter()
        .map(|g| request_overhead(spec, g, mode, options))
        .max()
        .unwrap_or(0);
    let budget = max_input_tokens.saturating_sub(overhead);
    if budget >= MIN_TRANSCRIPT_TOKENS {
        return Ok(budget);
    }
    let longest = spec
        .metrics
        .iter()
        .max_by_key(|m| m.prompt.len())
        .map(|m| {
            format!(
                " (the longest metric prompt is `{}`, ~{} tokens)",
                m.id,
                estimate_tokens_for_chars(m.prompt.len())
            )
        })
        .unwrap_or_default();
    Err(format!(
        "each request takes ~{overhead} tokens before any transcript (system message, questions, schema), which leaves \
         less than {MIN_TRANSCRIPT_TOKENS} of max_input_tokens {max_input_tokens} for the transcript: raise \
         --max-input-tokens (llm.max_input_tokens), or shorten the metric file's prompts{longest}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Strategy;
    use crate::spec::groups::request_groups;
    use crate::spec::testing::{boolean_metric as metric, spec_of};

    fn endpoint(model: &str) -> EndpointConfig {
        EndpointConfig {
            model: model.into(),
            ..EndpointConfig::for_tests("http://127.0.0.1:9/v1")
        }
    }

    fn spec(strategy: Strategy, metrics: Vec<Metric>) -> Spec {
        spec_of(strategy, true, metrics)
    }

    /// (metrics, summary, model) of each group.
    fn shape(groups: &[GroupPlan]) -> Vec<(Vec<usize>, bool, &str)> {
        groups
            .iter()
            .map(|g| (g.metrics.clone(), g.summary, g.model.as_str()))
            .collect()
    }

    #[test]
    fn per_call_splits_by_model_and_summary_rides_with_the_default() {
        let s = spec(
            Strategy::PerCall,
            vec![metric("a", None), metric("b", Some("big")), metric("c", None)],
        );
        let groups = plan_groups(&s, &endpoint("small"));
        assert_eq!(shape(&groups), [(vec![0, 2], true, "small"), (vec![1], false, "big")]);
    }

    /// The lint (`request_groups` with the file's model) and the run (`plan_groups` with
    /// the endpoint's) must agree: a metric naming the default model rides in its request.
    #[test]
    fn a_metric_naming_the_default_model_is_sent_in_the_request_the_lint_counts() {
        let s = spec(
            Strategy::PerCall,
            vec![metric("a", None), metric("b", Some("small")), metric("c", Some("big"))],
        );
        let sent = plan_groups(&s, &endpoint("small"));
        assert_eq!(shape(&sent), [(vec![0, 1], true, "small"), (vec![2], false, "big")]);
        let linted: Vec<_> = request_groups(&s, Some("small"))
            .into_iter()
            .map(|g| (g.metrics, g.summary))
            .collect();
        let planned: Vec<_> = sent.into_iter().map(|g| (g.metrics, g.summary)).collect();
        assert_eq!(linted, planned);
    }

    #[test]
    fn per_metric_isolates_every_metric_and_the_summary() {
        let s = spec(Strategy::PerMetric, vec![metric("a", None), metric("b", Some("big"))]);
        let groups = plan_groups(&s, &endpoint("small"));
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[1].model, "big");
        assert!(groups[2].summary && groups[2].metrics.is_empty());
    }

    #[test]
    fn per_call_with_every_metric_overridden_still_asks_the_summary() {
        let s = spec(Strategy::PerCall, vec![metric("a", Some("big"))]);
        let groups = plan_groups(&s, &endpoint("small"));
        assert_eq!(groups.len(), 2);
        assert!(groups[1].summary && groups[1].model == "small");
    }

    #[test]
    fn each_group_carries_the_schema_of_its_own_questions() {
        let s = spec(Strategy::PerCall, vec![metric("a", None), metric("b", Some("big"))]);
        let groups = plan_groups(&s, &endpoint("small"));
        assert_eq!(groups[0].schema["required"], serde_json::json!(["a", "summary"]));
        assert_eq!(groups[1].schema["required"], serde_json::json!(["b"]));
    }

    #[test]
    fn a_grammar_endpoint_gets_bounds_in_the_schema_and_a_strict_one_does_not() {
        let mut text = metric("why", None);
        text.kind = MetricKind::String;
        let s = spec(Strategy::PerCall, vec![text]);
        let mut config = endpoint("m");
        let grammar = &plan_groups(&s, &config)[0].schema;
        let why = &grammar["properties"]["why"]["properties"];
        assert_eq!(why["reasoning"]["maxLength"], 100);
        assert_eq!(why["value"]["maxLength"], 60);
        assert_eq!(grammar["properties"]["summary"]["maxLength"], 240);
        config.schema_dialect = SchemaDialect::Strict;
        let strict = plan_groups(&s, &config)[0].schema.to_string();
        assert!(
            !strict.contains("maxLength") && !strict.contains("maxItems"),
            "{strict}"
        );
    }

    #[test]
    fn the_auto_budget_grows_with_the_questions_and_the_limits_and_only_under_auto() {
        let s = spec(Strategy::PerCall, vec![metric("a", None), metric("b", None)]);
        let mut config = endpoint("m");
        assert_eq!(plan_groups(&s, &config)[0].max_tokens, None);
        config.params.max_tokens = Some(MaxTokens::Auto);
        let two = plan_groups(&s, &config)[0].max_tokens.unwrap();
        let one = GroupPlan::new(&s, vec![0], false, "m".into(), &config)
            .max_tokens
            .unwrap();
        assert!(one < two, "{one} vs {two}");
        config.answer_limits.reasoning_chars *= 2;
        assert!(plan_groups(&s, &config)[0].max_tokens.unwrap() > two);
        // Two boolean metrics and a summary need a few hundred tokens, not 4,096.
        assert!((100..400).contains(&two), "{two}");
        // What an answer is expected to take is a share of the same count, whether or not
        // the budget is sent.
        config.answer_limits.reasoning_chars /= 2;
        let expected = plan_groups(&s, &config)[0].expected_completion;
        assert_eq!(expected, expected_completion(two));
        config.params.max_tokens = None;
        assert_eq!(plan_groups(&s, &config)[0].expected_completion, expected);
        assert!(expected < two as u64);
    }
}
