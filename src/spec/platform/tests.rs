//! Each platform shape loads to the metrics it defines; keys postcall does not read warn.

use super::*;
use crate::spec::{MetricKind, Spec, Warning, parse_spec};

fn dialect(text: &str) -> Dialect {
    detect(&Node::parse(text).unwrap())
}

fn load(text: &str) -> (Spec, Vec<Warning>) {
    parse_spec(text, "m").unwrap_or_else(|e| panic!("{e:?}"))
}

/// (id, type, choices, prompt) of every metric.
fn shape(spec: &Spec) -> Vec<(String, &'static str, Vec<String>, String)> {
    spec.metrics
        .iter()
        .map(|m| {
            let choices = m.kind.choices().map(<[String]>::to_vec).unwrap_or_default();
            (m.id.clone(), m.kind.name(), choices, m.prompt.clone())
        })
        .collect()
}

fn row(id: &str, kind: &'static str, choices: &[&str], prompt: &str) -> (String, &'static str, Vec<String>, String) {
    let choices = choices.iter().map(|c| c.to_string()).collect();
    (id.to_owned(), kind, choices, prompt.to_owned())
}

#[test]
fn detects_each_dialect_from_its_shape() {
    assert_eq!(dialect("version: 1\nmetrics:\n  - id: a\n"), Dialect::Postcall);
    assert_eq!(
        dialect("postCallAnalyticsConfig:\n  dispositionMetrics: []\n"),
        Dialect::Atoms
    );
    assert_eq!(
        dialect("{\"status\": true, \"data\": {\"_resolvedConfig\": {\"postCallAnalyticsConfig\": {}}}}"),
        Dialect::Atoms
    );
    assert_eq!(dialect("dispositionMetrics: []\n"), Dialect::Atoms);
    assert_eq!(dialect("[{\"identifier\": \"a\"}]"), Dialect::Atoms);
    assert_eq!(dialect("customMetrics: []\n"), Dialect::Dialgen);
    assert_eq!(
        dialect("metrics:\n  - name: Call outcome\n    dataType: string\n"),
        Dialect::Dialgen
    );
    assert_eq!(dialect("- name: Call outcome\n  dataType: string\n"), Dialect::Dialgen);
    assert_eq!(
        dialect("{\"name\": \"Score\", \"dataType\": \"number\"}"),
        Dialect::Dialgen
    );
    assert_eq!(
        dialect("- name: Booked\n  definition: A booking was made.\n"),
        Dialect::Polyai
    );
    assert_eq!(
        dialect("metrics:\n  - name: Booked\n    definition: A booking was made.\n"),
        Dialect::Polyai
    );
    assert_eq!(
        dialect("name: Booked\ndefinition: A booking was made.\n"),
        Dialect::Polyai
    );
    assert_eq!(dialect("version: 1\ninclude: [a.yaml]\n"), Dialect::Postcall);
    assert_eq!(dialect("just text"), Dialect::Postcall);
}

const GET_AGENT: &str = r#"{
  "status": true,
  "data": {
    "_id": "a1",
    "name": "Front desk",
    "slmModel": "electron",
    "_resolvedConfig": {
      "language": {"default": "en"},
      "postCallAnalyticsConfig": {
        "summaryPrompt": "Summarise the booking call in one sentence.",
        "useReasoningModel": true,
        "useInternalAnalyticsModel": false,
        "dispositionMetrics": [
          {"_id": "d1", "identifier": "room_type", "dispositionMetricPrompt": "Which room type did the guest ask for?",
           "dispositionMetricType": "ENUM", "choices": ["single", "double", "suite"]},
          {"identifier": "nights", "dispositionMetricPrompt": "How many nights did the guest book?",
           "dispositionValues": {"type": "INTEGER"}}
        ]
      }
    }
  }
}"#;

#[test]
fn the_atoms_get_agent_response_loads_as_is() {
    let (spec, warnings) = load(GET_AGENT);
    assert_eq!(spec.dialect, Dialect::Atoms);
    assert_eq!(
        shape(&spec),
        [
            row(
                "room_type",
                "enum",
                &["single", "double", "suite"],
                "Which room type did the guest ask for?"
            ),
            row("nights", "integer", &[], "How many nights did the guest book?"),
        ]
    );
    assert_eq!(
        spec.summary.unwrap().prompt,
        "Summarise the booking call in one sentence."
    );
    assert_eq!(spec.llm.reasoning_effort.as_deref(), Some(atoms::REASONING_EFFORT));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn atoms_without_the_reasoning_model_leaves_the_effort_to_the_endpoint() {
    let (spec, _) = load(
        "postCallAnalyticsConfig:\n  useReasoningModel: false\n  summary_prompt: Two sentences, please.\n  dispositionMetrics:\n    - {identifier: booked, dispositionMetricPrompt: Did the caller book a room?, dispositionMetricType: BOOLEAN}\n",
    );
    assert_eq!(spec.llm.reasoning_effort, None);
    assert_eq!(spec.summary.unwrap().prompt, "Two sentences, please.");
}

#[test]
fn unknown_atoms_keys_warn_with_their_line_and_still_load() {
    let (spec, warnings) = load(
        "postCallAnalyticsConfig:\n  summaryEnabled: true\n  dispositionMetrics:\n    - identifier: booked\n      dispositionMetricPrompt: Did the caller book a room?\n      dispositionMetricType: BOOLEAN\n      weight: 3\n",
    );
    assert_eq!(spec.metrics.len(), 1);
    let shown: Vec<String> = warnings.iter().map(|w| w.display_in("m.yaml")).collect();
    assert_eq!(
        shown,
        [
            "m.yaml:2:3: warning: `postCallAnalyticsConfig`: unknown key `summaryEnabled` is ignored; postcall does not read it (it reads: dispositionMetrics, summaryPrompt, summary_prompt, useReasoningModel, useInternalAnalyticsModel)",
            "m.yaml:7:7: warning: metric `booked`: unknown key `weight` is ignored; postcall does not read it (it reads: identifier, dispositionMetricPrompt, dispositionMetricType, dispositionValues, choices)",
        ]
    );
}

#[test]
fn atoms_types_given_twice_must_agree() {
    let err = parse_spec(
        "dispositionMetrics:\n  - {identifier: a, dispositionMetricPrompt: Which room did they book?, dispositionMetricType: ENUM, dispositionValues: {type: STRING}, choices: [x, y]}\n",
        "m",
    )
    .unwrap_err();
    assert!(
        err[0]
            .message
            .contains("`dispositionMetricType` is `ENUM` but `dispositionValues.type` is `STRING`"),
        "{err:?}"
    );
}

#[test]
fn a_single_dialgen_metric_object_loads_as_in_its_docs() {
    let (spec, warnings) = load(
        r#"{"name": "Customer Satisfaction Score", "dataType": "number",
            "prompt": "Rate the customer's satisfaction from 1 to 10.", "isRequired": true,
            "description": "For the weekly report"}"#,
    );
    assert_eq!(spec.dialect, Dialect::Dialgen);
    assert_eq!(
        shape(&spec),
        [row(
            "customer_satisfaction_score",
            "number",
            &[],
            "Rate the customer's satisfaction from 1 to 10."
        )]
    );
    assert!(spec.metrics[0].required);
    assert_eq!(spec.metrics[0].description.as_deref(), Some("For the weekly report"));
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn unknown_dialgen_keys_warn_with_their_line() {
    let (_, warnings) = load(
        "customMetrics:\n  - name: Refund asked\n    dataType: boolean\n    prompt: Did the customer ask for a refund?\n    isRequried: true\n",
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].line, Some(5));
    assert!(
        warnings[0]
            .message
            .contains("unknown key `isRequried` is ignored; postcall does not read it (did you mean `isRequired`?)"),
        "{warnings:?}"
    );
}

#[test]
fn polyai_definitions_load_with_ids_from_their_names() {
    let (spec, warnings) = load(
        "- name: Booking completed\n  definition: A reservation was created and confirmed with the caller.\n- name: \"Auth: result\"\n  definition: How the caller's identity check ended.\n  type: categorical\n  options: [verified, failed, partial]\n- name: Handoff\n  definition: The call was handed to a human agent.\n  type: boolean\n",
    );
    assert_eq!(spec.dialect, Dialect::Polyai);
    assert_eq!(
        shape(&spec),
        [
            row(
                "booking_completed",
                "boolean",
                &[],
                "A reservation was created and confirmed with the caller."
            ),
            row(
                "auth_result",
                "enum",
                &["verified", "failed", "partial"],
                "How the caller's identity check ended."
            ),
            row("handoff", "boolean", &[], "The call was handed to a human agent."),
        ]
    );
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn polyai_options_make_a_metric_categorical() {
    let (spec, _) = load(
        "metrics:\n  - name: Outcome\n    definition: How the booking call ended for the caller.\n    options: [booked, declined]\n",
    );
    assert_eq!(
        spec.metrics[0].kind,
        MetricKind::Enum {
            choices: vec!["booked".into(), "declined".into()]
        }
    );
}

#[test]
fn polyai_type_and_options_must_agree() {
    let no_options = parse_spec(
        "- {name: Outcome, definition: How the booking call ended., type: categorical}\n",
        "m",
    )
    .unwrap_err();
    assert!(
        no_options[0].message.contains("a categorical metric needs `options`"),
        "{no_options:?}"
    );
    let boolean = parse_spec(
        "- {name: Outcome, definition: How the booking call ended., type: boolean, options: [a, b]}\n",
        "m",
    )
    .unwrap_err();
    assert!(
        boolean[0].message.contains("a boolean metric has no `options`"),
        "{boolean:?}"
    );
}
