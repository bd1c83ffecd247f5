//! The requests a call needs, ready to send: the spec's request groups (one planner, in
//! `spec::groups`) with the model each is sent to and the answer schema it carries.

use crate::prompt::{Group, PromptOptions, build_messages};
use crate::spec::groups::request_groups;
use crate::spec::{Spec, StructuredOutput, schema};
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
    /// The JSON Schema of this request's answer.
    pub schema: serde_json::Value,
}

impl GroupPlan {
    /// The metrics and summary this request asks, as the prompt builder takes them.
    pub fn questions<'a>(&self, spec: &'a Spec) -> Group<'a> {
        Group {
            metrics: self.metrics.iter().map(|&i| &spec.metrics[i]).collect(),
            summary: if self.summary { spec.summary.as_ref() } else { None },
        }
    }
}

/// Rough output size of one answered metric (reasoning sentence + value + confidence).
pub const OUTPUT_TOKENS_PER_METRIC: u64 = 80;
/// Rough output size of the two-sentence summary.
pub const OUTPUT_TOKENS_FOR_SUMMARY: u64 = 100;

/// The completion tokens a request of `group` is expected to take, before any is answered.
pub fn expected_completion_tokens(group: &GroupPlan) -> u64 {
    group.metrics.len() as u64 * OUTPUT_TOKENS_PER_METRIC + if group.summary { OUTPUT_TOKENS_FOR_SUMMARY } else { 0 }
}

/// The spec's request groups for a run whose default model is `default_model`.
pub fn plan_groups(spec: &Spec, default_model: &str) -> Vec<GroupPlan> {
    request_groups(spec, Some(default_model))
        .into_iter()
        .map(|group| {
            let mut plan = GroupPlan {
                metrics: group.metrics,
                summary: group.summary,
                model: group.model.unwrap_or_else(|| default_model.to_string()),
                schema: serde_json::Value::Null,
            };
            let questions = plan.questions(spec);
            plan.schema = schema::answer_schema(&questions.metrics, questions.summary);
            plan
        })
        .collect()
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
    use crate::spec::{Dialect, LlmSection, Metric, MetricKind, Strategy, Summary};

    fn metric(id: &str, model: Option<&str>) -> Metric {
        Metric {
            id: id.into(),
            kind: MetricKind::Boolean,
            prompt: "Was it a good call overall?".into(),
            required: false,
            description: None,
            applies_when: None,
            model: model.map(String::from),
            expect: None,
        }
    }

    fn spec(strategy: Strategy, metrics: Vec<Metric>) -> Spec {
        Spec {
            version: 1,
            llm: LlmSection::default(),
            strategy,
            context: None,
            summary: Some(Summary {
                prompt: "Summarize.".into(),
            }),
            metrics,
            dialect: Dialect::Postcall,
        }
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
        let groups = plan_groups(&s, "small");
        assert_eq!(shape(&groups), [(vec![0, 2], true, "small"), (vec![1], false, "big")]);
    }

    #[test]
    fn per_metric_isolates_every_metric_and_the_summary() {
        let s = spec(Strategy::PerMetric, vec![metric("a", None), metric("b", Some("big"))]);
        let groups = plan_groups(&s, "small");
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[1].model, "big");
        assert!(groups[2].summary && groups[2].metrics.is_empty());
    }

    #[test]
    fn per_call_with_every_metric_overridden_still_asks_the_summary() {
        let s = spec(Strategy::PerCall, vec![metric("a", Some("big"))]);
        let groups = plan_groups(&s, "small");
        assert_eq!(groups.len(), 2);
        assert!(groups[1].summary && groups[1].model == "small");
    }

    #[test]
    fn each_group_carries_the_schema_of_its_own_questions() {
        let s = spec(Strategy::PerCall, vec![metric("a", None), metric("b", Some("big"))]);
        let groups = plan_groups(&s, "small");
        assert_eq!(groups[0].schema["required"], serde_json::json!(["a", "summary"]));
        assert_eq!(groups[1].schema["required"], serde_json::json!(["b"]));
    }
}
