//! Which metrics share a request: the one planner behind both the lint (which warns about
//! crowded requests) and the run (what is sent), so `validate` describes what `run` sends.
//!
//! `per_call`: one request per model; metrics without an override, and those whose
//! override names the default model, share the default model's request, which also
//! carries the summary. `per_metric`: one request per metric, and the summary on its own.

use super::{Spec, Strategy};

/// The metrics (and perhaps the summary) answered by one request. The same groups apply to
/// every call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestGroup {
    /// Indices into `spec.metrics`, in file order.
    pub metrics: Vec<usize>,
    /// Whether this request also asks for the summary.
    pub summary: bool,
    /// A per-metric model override; `None` is the run's default model.
    pub model: Option<String>,
}

/// The requests a call needs, in the order their first metric appears in the file.
/// `default_model` is the model the run uses where a metric names none (the metric file's
/// `llm.model` for the lint, the resolved endpoint's model for a run); a metric naming that
/// same model rides in the default request.
pub fn request_groups(spec: &Spec, default_model: Option<&str>) -> Vec<RequestGroup> {
    let model_of = |i: usize| {
        spec.metrics[i]
            .model
            .clone()
            .filter(|m| Some(m.as_str()) != default_model)
    };
    let single = |i: usize| RequestGroup {
        metrics: vec![i],
        summary: false,
        model: model_of(i),
    };
    let mut groups: Vec<RequestGroup> = Vec::new();
    match spec.strategy {
        Strategy::PerCall => {
            for i in 0..spec.metrics.len() {
                let model = model_of(i);
                match groups.iter_mut().find(|g| g.model == model) {
                    Some(group) => group.metrics.push(i),
                    None => groups.push(single(i)),
                }
            }
        }
        Strategy::PerMetric => groups = (0..spec.metrics.len()).map(single).collect(),
    }
    if spec.summary.is_some() {
        let default_group = (spec.strategy == Strategy::PerCall)
            .then(|| groups.iter_mut().find(|g| g.model.is_none()))
            .flatten();
        match default_group {
            Some(group) => group.summary = true,
            None => groups.push(RequestGroup {
                metrics: vec![],
                summary: true,
                model: None,
            }),
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::spec::testing::{boolean_metric as metric, spec_of as spec};

    fn shape(groups: &[RequestGroup], s: &Spec) -> Vec<(Option<String>, Vec<String>, bool)> {
        groups
            .iter()
            .map(|g| {
                let ids = g.metrics.iter().map(|&i| s.metrics[i].id.clone()).collect();
                (g.model.clone(), ids, g.summary)
            })
            .collect()
    }

    #[test]
    fn per_call_groups_by_model_in_file_order() {
        let s = spec(
            Strategy::PerCall,
            false,
            vec![metric("a", None), metric("b", Some("big")), metric("c", None)],
        );
        let groups = request_groups(&s, None);
        let got: Vec<(Option<&str>, Vec<&str>)> = groups
            .iter()
            .map(|g| {
                let ids = g.metrics.iter().map(|&i| s.metrics[i].id.as_str()).collect();
                (g.model.as_deref(), ids)
            })
            .collect();
        assert_eq!(got, [(None, vec!["a", "c"]), (Some("big"), vec!["b"])]);
    }

    #[test]
    fn per_metric_gives_one_group_each() {
        let s = spec(Strategy::PerMetric, false, vec![metric("a", None), metric("b", None)]);
        assert_eq!(request_groups(&s, None).len(), 2);
    }

    /// The lint once counted `model: small` apart from the default `small`, while the run
    /// sent them in one request.
    #[test]
    fn a_metric_naming_the_default_model_shares_the_default_request() {
        let s = spec(
            Strategy::PerCall,
            true,
            vec![metric("a", None), metric("b", Some("small")), metric("c", Some("big"))],
        );
        let groups = request_groups(&s, Some("small"));
        assert_eq!(
            shape(&groups, &s),
            [
                (None, vec!["a".to_string(), "b".to_string()], true),
                (Some("big".to_string()), vec!["c".to_string()], false),
            ]
        );
        // Without knowing the default, `small` is just another model.
        assert_eq!(request_groups(&s, None).len(), 3);
    }

    #[test]
    fn the_summary_rides_with_the_default_model_or_goes_alone() {
        let s = spec(Strategy::PerCall, true, vec![metric("a", Some("big"))]);
        let groups = request_groups(&s, Some("small"));
        assert_eq!(groups.len(), 2);
        assert!(groups[1].summary && groups[1].model.is_none() && groups[1].metrics.is_empty());
        let s = spec(
            Strategy::PerMetric,
            true,
            vec![metric("a", None), metric("b", Some("big"))],
        );
        let groups = request_groups(&s, Some("small"));
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[1].model.as_deref(), Some("big"));
        assert!(groups[2].summary && groups[2].metrics.is_empty());
    }
}
