//! Which requests a call needs: its metrics split into groups, one request each.

use crate::prompt::Group;
use crate::spec::{Spec, Strategy};

/// The metrics answered together by one request. The same groups apply to every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPlan {
    /// Indices into `spec.metrics`, in file order.
    pub metrics: Vec<usize>,
    /// Whether this request also asks for the summary.
    pub summary: bool,
    /// The model that answers it.
    pub model: String,
}

impl GroupPlan {
    /// The metrics and summary this request asks, as the prompt builder takes them.
    pub fn questions<'a>(&self, spec: &'a Spec) -> Group<'a> {
        Group {
            metrics: self.metrics.iter().map(|&i| &spec.metrics[i]).collect(),
            summary: if self.summary { spec.summary.as_ref() } else { None },
        }
    }

    /// The JSON Schema of this request's answer.
    pub fn schema(&self, spec: &Spec) -> serde_json::Value {
        let questions = self.questions(spec);
        crate::spec::schema::answer_schema(&questions.metrics, questions.summary)
    }
}

/// per_call: one group per model (metrics without an override share the default model),
/// the summary riding with the default model's group. per_metric: one group per metric,
/// and the summary on its own.
pub fn plan_groups(spec: &Spec, default_model: &str) -> Vec<GroupPlan> {
    let model_of = |i: usize| {
        spec.metrics[i]
            .model
            .clone()
            .unwrap_or_else(|| default_model.to_string())
    };
    let mut groups: Vec<GroupPlan> = Vec::new();
    match spec.strategy {
        Strategy::PerCall => {
            for i in 0..spec.metrics.len() {
                let model = model_of(i);
                match groups.iter_mut().find(|g| g.model == model) {
                    Some(group) => group.metrics.push(i),
                    None => groups.push(GroupPlan {
                        metrics: vec![i],
                        summary: false,
                        model,
                    }),
                }
            }
            if spec.summary.is_some() {
                match groups.iter_mut().find(|g| g.model == default_model) {
                    Some(group) => group.summary = true,
                    None => groups.push(GroupPlan {
                        metrics: vec![],
                        summary: true,
                        model: default_model.to_string(),
                    }),
                }
            }
        }
        Strategy::PerMetric => {
            groups = (0..spec.metrics.len())
                .map(|i| GroupPlan {
                    metrics: vec![i],
                    summary: false,
                    model: model_of(i),
                })
                .collect();
            if spec.summary.is_some() {
                groups.push(GroupPlan {
                    metrics: vec![],
                    summary: true,
                    model: default_model.to_string(),
                });
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Dialect, LlmSection, Metric, MetricKind, Summary};

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

    #[test]
    fn per_call_splits_by_model_and_summary_rides_with_the_default() {
        let s = spec(
            Strategy::PerCall,
            vec![metric("a", None), metric("b", Some("big")), metric("c", None)],
        );
        let groups = plan_groups(&s, "small");
        assert_eq!(groups.len(), 2);
        assert_eq!(
            groups[0],
            GroupPlan {
                metrics: vec![0, 2],
                summary: true,
                model: "small".into()
            }
        );
        assert_eq!(
            groups[1],
            GroupPlan {
                metrics: vec![1],
                summary: false,
                model: "big".into()
            }
        );
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
}
