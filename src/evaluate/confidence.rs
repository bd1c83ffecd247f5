//! `--confidence self|consistency|logprobs`: what a value's `confidence` is.
//!
//! `self` leaves the model's own number. `consistency` replaces it with the share of
//! samples that agreed (`--samples` ≥ 2, checked before the run). `logprobs` replaces it,
//! for enum and boolean metrics, with the probability the model gave the tokens of its
//! answer (see [`crate::llm::logprobs`]). Where no such number exists — another metric
//! type, an endpoint that sent no logprobs, tokens that do not spell the answer — the
//! value has no `confidence` and says why in `confidence_unavailable`: a missing number
//! with its reason, never the model's own number passing for a measured one.

use std::collections::BTreeMap;

use crate::report::MetricResult;
use crate::spec::MetricKind;

/// Under `--confidence logprobs`: `result`'s confidence becomes the probability of the
/// tokens of metric `id`'s value in the completion (`probabilities`: by metric id, `None`
/// when the endpoint sent no logprobs).
pub fn from_logprobs(
    result: &mut MetricResult,
    id: &str,
    kind: &MetricKind,
    probabilities: Option<&BTreeMap<String, f64>>,
) {
    let measured = match (kind, probabilities) {
        (MetricKind::Enum { .. } | MetricKind::Boolean, Some(found)) => found.get(id).copied().ok_or_else(|| {
            "the endpoint's logprobs do not spell this answer's `value`, so its probability is unknown".to_string()
        }),
        (MetricKind::Enum { .. } | MetricKind::Boolean, None) => Err(
            "the endpoint returned no logprobs (it may not support `logprobs: true`): use --confidence self or consistency"
                .to_string(),
        ),
        (other, _) => Err(format!(
            "logprobs measure enum and boolean answers only, not {} ones: use --confidence consistency for them",
            other.name()
        )),
    };
    set(result, measured);
}

/// Under `--confidence consistency`: `result`'s confidence becomes its consistency.
pub fn from_consistency(result: &mut MetricResult) {
    let consistency = result.grounds().and_then(|g| g.consistency);
    set(
        result,
        consistency.ok_or_else(|| "no samples voted for this value".to_string()),
    );
}

fn set(result: &mut MetricResult, measured: Result<f64, String>) {
    let (confidence, why) = match measured {
        Ok(c) => (Some(c), None),
        Err(why) => (None, Some(why)),
    };
    if result.set_confidence(confidence)
        && let Some(grounds) = result.grounds_mut()
    {
        grounds.confidence_unavailable = why;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Grounds, Value};

    fn ok(value: Value) -> MetricResult {
        MetricResult::Ok {
            value,
            confidence: Some(0.95),
            reasoning: None,
            grounds: Grounds::NONE,
        }
    }

    #[test]
    fn enum_and_boolean_answers_take_their_token_probability() {
        let found = BTreeMap::from([("a".to_string(), 0.4), ("b".to_string(), 0.9)]);
        let mut a = ok(Value::Text("x".into()));
        from_logprobs(
            &mut a,
            "a",
            &MetricKind::Enum {
                choices: vec!["x".into()],
            },
            Some(&found),
        );
        assert_eq!(a.confidence(), Some(0.4));
        let mut b = ok(Value::Bool(true));
        from_logprobs(&mut b, "b", &MetricKind::Boolean, Some(&found));
        assert_eq!(b.confidence(), Some(0.9));
        assert_eq!(b.grounds().unwrap().confidence_unavailable, None);
    }

    #[test]
    fn what_logprobs_cannot_measure_has_no_confidence_and_says_why() {
        let found = BTreeMap::from([("n".to_string(), 0.4)]);
        let mut n = ok(Value::Int(3));
        from_logprobs(&mut n, "n", &MetricKind::Integer { range: None }, Some(&found));
        assert_eq!(
            n.confidence(),
            None,
            "the model's 0.95 does not pass for a measured number"
        );
        let why = n.grounds().unwrap().confidence_unavailable.clone().unwrap();
        assert!(why.contains("not integer ones"), "{why}");

        let mut b = ok(Value::Bool(true));
        from_logprobs(&mut b, "b", &MetricKind::Boolean, None);
        assert_eq!(b.confidence(), None);
        assert!(
            b.grounds()
                .unwrap()
                .confidence_unavailable
                .as_deref()
                .unwrap()
                .contains("no logprobs")
        );

        let mut missing = ok(Value::Bool(true));
        from_logprobs(&mut missing, "b", &MetricKind::Boolean, Some(&found));
        assert!(
            missing
                .grounds()
                .unwrap()
                .confidence_unavailable
                .as_deref()
                .unwrap()
                .contains("do not spell")
        );
    }

    #[test]
    fn consistency_replaces_the_model_s_number() {
        let mut voted = ok(Value::Bool(true));
        voted.grounds_mut().unwrap().consistency = Some(0.6);
        from_consistency(&mut voted);
        assert_eq!(voted.confidence(), Some(0.6));
        let mut invalid = MetricResult::Invalid {
            reason: "bad".into(),
            raw: String::new(),
        };
        from_consistency(&mut invalid);
        assert_eq!(invalid.confidence(), None);
    }
}
