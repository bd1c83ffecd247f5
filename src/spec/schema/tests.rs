//! Unit tests for the answer schema: exact JSON for a small spec, and the strict-mode rules.

use serde_json::json;

use super::*;

fn metric(id: &str, kind: MetricKind) -> Metric {
    Metric::new(id, kind, format!("Question about {id}?"))
}

#[test]
fn exact_schema_for_a_small_spec() {
    let outcome = Metric {
        required: true,
        ..metric(
            "outcome",
            MetricKind::Enum {
                choices: vec!["resolved".into(), "escalated".into()],
            },
        )
    };
    let score = Metric {
        evidence: false,
        ..metric("score", MetricKind::Integer { range: Some([1, 5]) })
    };
    let verified = Metric {
        required: true,
        applies_when: Some("Identity was checked.".into()),
        evidence: false,
        ..metric("verified", MetricKind::Boolean)
    };
    let summary = Summary {
        prompt: "Summarize.".into(),
    };
    let schema = answer_schema(&[&outcome, &score, &verified], Some(&summary));
    let confidence = json!({"type": "number", "minimum": 0, "maximum": 1});
    let expected = json!({
        "type": "object",
        "properties": {
            "outcome": {
                "type": "object",
                "description": "Question about outcome?",
                "properties": {
                    "evidence": {
                        "type": "array",
                        "description": EVIDENCE_DESCRIPTION,
                        "items": {
                            "type": "object",
                            "properties": {"turn": {"type": "integer", "minimum": 0}, "quote": {"type": "string"}},
                            "required": ["turn", "quote"],
                            "additionalProperties": false
                        }
                    },
                    "reasoning": {"type": "string"},
                    "value": {"type": "string", "enum": ["resolved", "escalated"]},
                    "confidence": confidence
                },
                "required": ["evidence", "reasoning", "value", "confidence"],
                "additionalProperties": false
            },
            "score": {
                "type": "object",
                "description": "Question about score?",
                "properties": {
                    "reasoning": {"type": "string"},
                    "value": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
                    "confidence": confidence
                },
                "required": ["reasoning", "value", "confidence"],
                "additionalProperties": false
            },
            "verified": {
                "type": "object",
                "description": "Question about verified?",
                "properties": {
                    "applicable": {
                        "type": "boolean",
                        "description": "Whether this metric applies to the call: Identity was checked. If false, value is null."
                    },
                    "reasoning": {"type": "string"},
                    "value": {"type": ["boolean", "null"]},
                    "confidence": confidence
                },
                "required": ["applicable", "reasoning", "value", "confidence"],
                "additionalProperties": false
            },
            "summary": {"type": "string", "description": "Summarize."}
        },
        "required": ["outcome", "score", "verified", "summary"],
        "additionalProperties": false
    });
    assert_eq!(schema, expected);
    // Order is part of the contract (the model writes in schema order); `==` on maps ignores it.
    assert_eq!(
        serde_json::to_string(&schema).unwrap(),
        serde_json::to_string(&expected).unwrap()
    );
}

#[test]
fn value_types_follow_the_metric_kind() {
    assert_eq!(value_schema(&MetricKind::String, false), json!({"type": "string"}));
    assert_eq!(
        value_schema(
            &MetricKind::Number {
                range: Some([0.0, 2.5])
            },
            true
        ),
        json!({"type": ["number", "null"], "minimum": 0.0, "maximum": 2.5})
    );
    assert_eq!(
        value_schema(&MetricKind::Integer { range: None }, false),
        json!({"type": "integer"})
    );
    assert_eq!(
        value_schema(
            &MetricKind::Enum {
                choices: vec!["a".into(), "b".into()]
            },
            true
        ),
        json!({"type": ["string", "null"], "enum": ["a", "b", null]})
    );
    assert_eq!(
        value_schema(&MetricKind::Datetime, false),
        json!({"type": "string", "format": "date-time", "description": "ISO 8601 date (YYYY-MM-DD) or date-time"})
    );
    assert_eq!(
        value_schema(&MetricKind::List { choices: None }, true),
        json!({"type": ["array", "null"], "items": {"type": "string"}})
    );
    assert_eq!(
        value_schema(
            &MetricKind::List {
                choices: Some(vec!["x".into()])
            },
            false
        ),
        json!({"type": "array", "items": {"type": "string", "enum": ["x"]}})
    );
}

#[test]
fn no_summary_no_summary_property() {
    let m = metric("a", MetricKind::String);
    let schema = answer_schema(&[&m], None);
    assert_eq!(schema["required"], json!(["a"]));
    assert!(schema["properties"].get("summary").is_none());
}

#[test]
fn applies_when_reads_as_a_sentence_in_the_description() {
    let m = Metric {
        applies_when: Some("A refund was discussed".into()),
        ..metric("r", MetricKind::Boolean)
    };
    let schema = metric_schema(&m, None);
    assert_eq!(
        schema["properties"]["applicable"]["description"],
        "Whether this metric applies to the call: A refund was discussed. If false, value is null."
    );
}

#[test]
fn a_grammar_endpoint_gets_the_quotes_bounded_in_number_and_length() {
    let m = metric("outcome", MetricKind::Boolean);
    let limits = AnswerLimits {
        quotes: 1,
        quote_chars: 40,
        ..AnswerLimits::default()
    };
    let bounded = bounded_answer_schema(&[&m], None, Some(&limits));
    let evidence = &bounded["properties"]["outcome"]["properties"]["evidence"];
    assert_eq!(evidence["maxItems"], 1);
    assert_eq!(evidence["items"]["properties"]["quote"]["maxLength"], 40);
    let strict = bounded_answer_schema(&[&m], None, None);
    let evidence = &strict["properties"]["outcome"]["properties"]["evidence"];
    assert!(evidence.get("maxItems").is_none() && evidence["items"]["properties"]["quote"].get("maxLength").is_none());
    // Between `applicable` and `reasoning`: the model finds the words before it argues.
    let order: Vec<&String> = strict["properties"]["outcome"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(order, ["evidence", "reasoning", "value", "confidence"]);
}
