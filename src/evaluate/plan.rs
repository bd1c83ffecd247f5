//! The requests a call needs, ready to send: the spec's request groups (one planner, in
//! `spec::groups`) with the model each is sent to and the answer schema it carries.

use crate::prompt::Group;
use crate::spec::groups::request_groups;
use crate::spec::{Spec, schema};

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
