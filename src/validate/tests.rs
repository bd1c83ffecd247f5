//! `check_answer` end to end: envelopes, fences, applicability, required, summary.

use serde_json::json;

use super::*;
use crate::report::{MetricResult, Status, Value};
use crate::spec::MetricKind;

fn metric(id: &str, kind: MetricKind) -> Metric {
    Metric::new(id, kind, format!("What about {id}?"))
}

fn outcome() -> Metric {
    let choices = [
        "resolved",
        "escalated",
        "transferred",
        "abandoned",
        "callback_scheduled",
    ];
    Metric {
        required: true,
        ..metric(
            "call_outcome",
            MetricKind::Enum {
                choices: choices.map(String::from).to_vec(),
            },
        )
    }
}

fn score() -> Metric {
    metric("satisfaction_score", MetricKind::Integer { range: Some([1, 5]) })
}

fn authenticated() -> Metric {
    Metric {
        applies_when: Some("The agent tried to verify the caller's identity.".into()),
        ..metric("caller_authenticated", MetricKind::Boolean)
    }
}

/// The one result for `metric` when checking `answer` (a JSON value) against it alone.
fn check_one(metric: &Metric, answer: serde_json::Value) -> MetricResult {
    let checked = check_answer(&[metric], false, &answer.to_string());
    assert_eq!(checked.metrics.len(), 1);
    assert_eq!(checked.metrics[0].0, metric.id);
    checked.metrics[0].1.clone()
}

#[track_caller]
fn reason_of(result: &MetricResult) -> (&str, &str) {
    match result {
        MetricResult::Invalid { reason, raw } => (reason, raw),
        other => panic!("expected invalid, got {other:?}"),
    }
}

#[test]
fn full_envelope_becomes_ok_with_confidence_and_reasoning() {
    let result = check_one(
        &outcome(),
        json!({"call_outcome": {"reasoning": " Agent fixed the bill. ", "value": "Resolved", "confidence": 0.92}}),
    );
    assert_eq!(
        result,
        MetricResult::Ok {
            value: Value::Text("resolved".into()),
            confidence: Some(0.92),
            reasoning: Some("Agent fixed the bill.".into()),
            grounds: Default::default(),
        }
    );
}

#[test]
fn results_follow_the_order_of_the_metrics_given() {
    let (a, b) = (score(), outcome());
    let raw = r#"{"call_outcome": {"value": "resolved"}, "satisfaction_score": {"value": 4}}"#;
    let checked = check_answer(&[&a, &b], false, raw);
    let ids: Vec<&str> = checked.metrics.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["satisfaction_score", "call_outcome"]);
    assert!(checked.metrics.iter().all(|(_, r)| r.status() == Status::Ok));
    assert_eq!(checked.invalid().count(), 0);
}

#[test]
fn bare_value_is_accepted_without_confidence() {
    let result = check_one(&score(), json!({"satisfaction_score": "4"}));
    assert_eq!(
        result,
        MetricResult::Ok {
            value: Value::Int(4),
            confidence: None,
            reasoning: None,
            grounds: Default::default(),
        }
    );
}

#[test]
fn bare_null_is_null() {
    let result = check_one(&score(), json!({"satisfaction_score": null}));
    assert_eq!(
        result,
        MetricResult::Null {
            confidence: None,
            reasoning: None,
            grounds: Default::default(),
        }
    );
}

#[test]
fn fenced_answer_with_prose_is_not_invalid() {
    let m = score();
    let raw = "Here you go:\n```json\n{\"satisfaction_score\": {\"value\": 5, \"confidence\": 1}}\n```\nThanks!";
    let checked = check_answer(&[&m], false, raw);
    assert_eq!(checked.metrics[0].1.value(), Some(&Value::Int(5)));
    assert_eq!(checked.metrics[0].1.confidence(), Some(1.0));
}

#[test]
fn plain_fence_and_surrounding_whitespace_are_tolerated() {
    let m = score();
    let checked = check_answer(&[&m], false, "\n\n```\n{\"satisfaction_score\": 3}\n```\n  ");
    assert_eq!(checked.metrics[0].1.value(), Some(&Value::Int(3)));
}

#[test]
fn prose_around_unfenced_json_is_tolerated() {
    let m = score();
    let checked = check_answer(&[&m], false, "Answer: {\"satisfaction_score\": 2} (done)");
    assert_eq!(checked.metrics[0].1.value(), Some(&Value::Int(2)));
}

#[test]
fn non_json_makes_every_metric_invalid_with_the_whole_text() {
    let (a, b) = (score(), outcome());
    let raw = "I'm sorry, I can't help with that.";
    let checked = check_answer(&[&a, &b], true, raw);
    assert_eq!(checked.summary, None);
    assert_eq!(checked.metrics.len(), 2);
    for (_, result) in &checked.metrics {
        let (reason, got) = reason_of(result);
        assert!(reason.starts_with("the answer is not JSON: "), "{reason}");
        assert_eq!(got, raw);
    }
}

#[test]
fn non_json_raw_is_truncated() {
    let m = score();
    let raw = "x".repeat(10_000);
    let checked = check_answer(&[&m], false, &raw);
    let (_, got) = reason_of(&checked.metrics[0].1);
    assert!(got.len() < 2100, "{}", got.len());
    assert!(got.contains("truncated; 10000 characters in all"));
}

#[test]
fn json_that_is_not_an_object_is_invalid() {
    let m = score();
    let checked = check_answer(&[&m], false, "[4]");
    let (reason, raw) = reason_of(&checked.metrics[0].1);
    assert!(
        reason.contains("the answer is not a JSON object: got an array"),
        "{reason}"
    );
    assert_eq!(raw, "[4]");
}

#[test]
fn missing_metric_is_invalid_and_names_unexpected_keys() {
    let result = check_one(&score(), json!({"satisfactionScore": {"value": 4}, "summary": "x"}));
    let (reason, raw) = reason_of(&result);
    assert_eq!(
        reason,
        "no answer for `satisfaction_score` (the answer has unexpected keys: `satisfactionScore`)"
    );
    assert_eq!(raw, r#"{"satisfactionScore":{"value":4},"summary":"x"}"#);

    let result = check_one(&score(), json!({}));
    assert_eq!(reason_of(&result).0, "no answer for `satisfaction_score`");
}

#[test]
fn object_without_value_is_invalid() {
    let result = check_one(&score(), json!({"satisfaction_score": {"reasoning": "happy"}}));
    let (reason, raw) = reason_of(&result);
    assert_eq!(
        reason,
        "`satisfaction_score`: the answer has no `value`; expected an integer from 1 to 5"
    );
    assert_eq!(raw, r#"{"reasoning":"happy"}"#);
}

#[test]
fn invalid_value_reason_names_the_metric_and_raw_is_its_property() {
    let result = check_one(
        &outcome(),
        json!({"call_outcome": {"reasoning": "r", "value": "fixed", "confidence": 0.5}}),
    );
    let (reason, raw) = reason_of(&result);
    assert_eq!(
        reason,
        "`call_outcome`: \"fixed\" is not one of: resolved, escalated, transferred, abandoned, callback_scheduled"
    );
    assert_eq!(raw, r#"{"reasoning":"r","value":"fixed","confidence":0.5}"#);
}

#[test]
fn out_of_range_is_invalid() {
    let result = check_one(&score(), json!({"satisfaction_score": {"value": 7}}));
    assert_eq!(
        reason_of(&result).0,
        "`satisfaction_score`: 7 is outside the range 1..5"
    );
}

#[test]
fn fractional_integer_is_invalid() {
    let result = check_one(&score(), json!({"satisfaction_score": {"value": 4.5}}));
    assert!(reason_of(&result).0.contains("4.5 is not a whole number"));
}

#[test]
fn null_for_optional_metric_is_null_keeping_reasoning() {
    let result = check_one(
        &score(),
        json!({"satisfaction_score": {"reasoning": "no clue", "value": null, "confidence": 0.3}}),
    );
    assert_eq!(
        result,
        MetricResult::Null {
            confidence: Some(0.3),
            reasoning: Some("no clue".into()),
            grounds: Default::default(),
        }
    );
}

#[test]
fn null_for_required_metric_is_invalid_and_says_what_to_answer() {
    let result = check_one(&outcome(), json!({"call_outcome": {"value": null}}));
    assert_eq!(
        reason_of(&result).0,
        "`call_outcome` is required; null is not allowed — answer with one of: resolved, escalated, \
         transferred, abandoned, callback_scheduled"
    );
}

#[test]
fn empty_string_is_null_and_invalid_when_required() {
    let notes = metric("notes", MetricKind::String);
    assert_eq!(
        check_one(&notes, json!({"notes": {"value": "  "}})).status(),
        Status::Null
    );
    let required = Metric {
        required: true,
        ..notes
    };
    let reason = reason_of(&check_one(&required, json!({"notes": {"value": ""}})))
        .0
        .to_string();
    assert_eq!(
        reason,
        "`notes` is required; null is not allowed — answer with a string"
    );
}

#[test]
fn confidence_out_of_range_or_malformed_is_dropped_not_invalid() {
    for confidence in [
        json!(1.5),
        json!(-0.1),
        json!(92),
        json!("high"),
        json!(null),
        json!([0.5]),
    ] {
        let result = check_one(
            &score(),
            json!({"satisfaction_score": {"value": 3, "confidence": confidence}}),
        );
        assert_eq!(
            result,
            MetricResult::Ok {
                value: Value::Int(3),
                confidence: None,
                reasoning: None,
                grounds: Default::default(),
            },
            "{confidence}"
        );
    }
}

#[test]
fn confidence_as_numeric_string_is_read() {
    let result = check_one(
        &score(),
        json!({"satisfaction_score": {"value": 3, "confidence": " 0.8 "}}),
    );
    assert_eq!(result.confidence(), Some(0.8));
    let result = check_one(&score(), json!({"satisfaction_score": {"value": 3, "confidence": 0}}));
    assert_eq!(result.confidence(), Some(0.0));
}

#[test]
fn non_string_or_blank_reasoning_is_dropped() {
    for reasoning in [json!(5), json!("   "), json!(["a"])] {
        let result = check_one(
            &score(),
            json!({"satisfaction_score": {"value": 3, "reasoning": reasoning}}),
        );
        assert_eq!(result.reasoning(), None);
    }
}

#[test]
fn not_applicable_wins_over_a_given_value() {
    let result = check_one(
        &authenticated(),
        json!({"caller_authenticated": {"reasoning": "no verification", "applicable": false, "value": true, "confidence": 0.9}}),
    );
    assert_eq!(
        result,
        MetricResult::NotApplicable {
            confidence: Some(0.9),
            reasoning: Some("no verification".into()),
            grounds: Default::default(),
        }
    );
}

#[test]
fn not_applicable_needs_no_value_and_beats_required() {
    let m = Metric {
        required: true,
        ..authenticated()
    };
    let result = check_one(&m, json!({"caller_authenticated": {"applicable": "False"}}));
    assert_eq!(result.status(), Status::NotApplicable);
}

#[test]
fn applicable_true_or_missing_checks_the_value() {
    for answer in [
        json!({"caller_authenticated": {"applicable": true, "value": "yes"}}),
        json!({"caller_authenticated": {"applicable": "TRUE", "value": "yes"}}),
        json!({"caller_authenticated": {"value": "yes"}}),
        json!({"caller_authenticated": {"applicable": null, "value": "yes"}}),
        json!({"caller_authenticated": "yes"}),
    ] {
        assert_eq!(
            check_one(&authenticated(), answer.clone()).value(),
            Some(&Value::Bool(true)),
            "{answer}"
        );
    }
}

#[test]
fn applicable_that_is_not_a_boolean_is_invalid() {
    let result = check_one(
        &authenticated(),
        json!({"caller_authenticated": {"applicable": "perhaps", "value": true}}),
    );
    assert_eq!(
        reason_of(&result).0,
        "`caller_authenticated`: `applicable` must be true or false, got \"perhaps\""
    );
}

#[test]
fn applicable_is_ignored_without_applies_when() {
    let result = check_one(
        &score(),
        json!({"satisfaction_score": {"applicable": false, "value": 2}}),
    );
    assert_eq!(result.value(), Some(&Value::Int(2)));
}

#[test]
fn applicable_true_with_null_value_is_null() {
    let result = check_one(
        &authenticated(),
        json!({"caller_authenticated": {"applicable": true, "value": null}}),
    );
    assert_eq!(result.status(), Status::Null);
}

#[test]
fn summary_is_read_only_when_asked_and_a_string() {
    let m = score();
    let raw = r#"{"summary": " Customer paid. ", "satisfaction_score": 4}"#;
    assert_eq!(
        check_answer(&[&m], true, raw).summary.as_deref(),
        Some("Customer paid.")
    );
    assert_eq!(check_answer(&[&m], false, raw).summary, None);
    assert_eq!(check_answer(&[&m], true, raw).summary_problem, None);
    assert_eq!(
        check_answer(&[&m], false, r#"{"satisfaction_score": 4}"#).summary_problem,
        None
    );
}

/// Issue 11: a summary that was asked for and is missing, empty or not a string is a
/// problem to re-ask, not a quiet `null`; the metrics beside it still count.
#[test]
fn a_missing_or_ill_typed_summary_is_a_problem_of_its_own() {
    let m = score();
    let checked = check_answer(&[&m], true, r#"{"summary": 5, "satisfaction_score": 4}"#);
    assert_eq!(checked.summary, None);
    assert_eq!(checked.metrics[0].1.status(), Status::Ok);
    assert_eq!(
        checked.summary_problem.as_deref(),
        Some("`summary` must be a string, got a number")
    );
    let checked = check_answer(&[&m], true, r#"{"satisfaction_score": 4}"#);
    assert_eq!(checked.summary, None);
    assert!(checked.summary_problem.unwrap().starts_with("no `summary`"));
    let checked = check_answer(&[&m], true, r#"{"summary": "  ", "satisfaction_score": 4}"#);
    assert!(checked.summary_problem.unwrap().contains("empty"));
    let checked = check_answer(&[&m], true, "not json");
    assert!(checked.summary_problem.unwrap().starts_with("the answer is not JSON"));
}

#[test]
fn summary_only_request_with_no_metrics() {
    let checked = check_answer(&[], true, r#"{"summary": "Short call."}"#);
    assert!(checked.metrics.is_empty());
    assert_eq!(checked.summary.as_deref(), Some("Short call."));
}

#[test]
fn one_bad_metric_does_not_spoil_the_others() {
    let (a, b) = (score(), outcome());
    let raw = r#"{"satisfaction_score": {"value": 9}, "call_outcome": {"value": "escalated"}}"#;
    let checked = check_answer(&[&a, &b], false, raw);
    assert_eq!(checked.metrics[0].1.status(), Status::Invalid);
    assert_eq!(checked.metrics[1].1.value(), Some(&Value::Text("escalated".into())));
    let invalid: Vec<&str> = checked.invalid().map(|(id, _)| id).collect();
    assert_eq!(invalid, ["satisfaction_score"]);
}

#[test]
fn describe_allowed_uses_the_metric_kind() {
    assert_eq!(describe_allowed(&score()), "an integer from 1 to 5");
    assert_eq!(describe_allowed(&authenticated()), "true or false");
}

#[test]
fn datetime_metric_end_to_end() {
    let m = metric("promised_date", MetricKind::Datetime);
    let ok = check_one(&m, json!({"promised_date": {"value": "2024-06-14"}}));
    assert_eq!(ok.value(), Some(&Value::Text("2024-06-14".into())));
    let bad = check_one(&m, json!({"promised_date": {"value": "next Tuesday"}}));
    assert!(
        reason_of(&bad)
            .0
            .starts_with("`promised_date`: \"next Tuesday\" is not an ISO 8601 date (YYYY-MM-DD) or date-time")
    );
}

#[test]
fn every_prefix_of_an_answer_is_checked_without_panicking() {
    // A truncated stream or a max_tokens cut: each prefix must yield a verdict per metric.
    let (a, b, c) = (score(), outcome(), authenticated());
    let full = "Sure:\n```json\n{\"summary\": \"Paid — thanks\", \"satisfaction_score\": \
                {\"reasoning\": \"calm\", \"value\": \"4\", \"confidence\": 0.7}, \"call_outcome\": \
                {\"value\": \"Resolved\"}, \"caller_authenticated\": {\"applicable\": false}}\n```";
    for (cut, _) in full.char_indices().chain([(full.len(), ' ')]) {
        let checked = check_answer(&[&a, &b, &c], true, &full[..cut]);
        assert_eq!(checked.metrics.len(), 3);
        for (_, result) in &checked.metrics {
            if let MetricResult::Invalid { reason, .. } = result {
                assert!(!reason.is_empty());
            }
        }
    }
    let whole = check_answer(&[&a, &b, &c], true, full);
    assert_eq!(whole.invalid().count(), 0);
    assert_eq!(whole.summary.as_deref(), Some("Paid — thanks"));
}
