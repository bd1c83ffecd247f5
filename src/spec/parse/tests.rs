//! Unit tests for reading postcall metric files: one per rule and per parse failure, each
//! asserting the message and, where knowable, the line and column.

use std::path::Path;

use super::*;
use crate::spec::MetricKind;
use crate::spec::load_spec;

fn errors(text: &str) -> Vec<String> {
    match parse_spec(text, "m.yaml") {
        Ok((spec, w)) => panic!("expected errors, got {spec:?} {w:?}"),
        Err(e) => e.iter().map(ToString::to_string).collect(),
    }
}

fn ok(text: &str) -> (Spec, Vec<Warning>) {
    parse_spec(text, "m.yaml").unwrap_or_else(|e| panic!("{e:#?}"))
}

fn one_metric(fields: &str) -> String {
    format!("version: 1\nmetrics:\n  - id: m\n{fields}")
}

fn assert_has(errors: &[String], needle: &str) {
    assert!(
        errors.iter().any(|e| e.contains(needle)),
        "no error containing {needle:?} in {errors:#?}"
    );
}

#[test]
fn reads_the_design_example() {
    let text = "version: 1
llm:
  base_url: https://api.openai.com/v1
  model: gpt-4o-mini
  api_key_env: OPENAI_API_KEY
strategy: per_metric
context: Acme calls.
summary:
  prompt: Summarize the call in two sentences.
metrics:
  - id: call_outcome
    type: enum
    choices: [resolved, escalated]
    prompt: What was the outcome of this call?
    required: true
    description: Used by the ops dashboard.
  - id: score
    type: integer
    range: [1, 5]
    prompt: Rate the customer's apparent satisfaction.
    expect: {min_accuracy: 0.9}
  - id: issues
    type: list
    choices: [a, b]
    prompt: List each technical issue reported.
    applies_when: The customer reported a problem.
    model: gpt-4o
";
    let (spec, warnings) = ok(text);
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(spec.dialect, Dialect::Postcall);
    assert_eq!(spec.strategy, Strategy::PerMetric);
    assert_eq!(spec.llm.model.as_deref(), Some("gpt-4o-mini"));
    assert_eq!(spec.context.as_deref(), Some("Acme calls."));
    assert_eq!(
        spec.summary.as_ref().unwrap().prompt,
        "Summarize the call in two sentences."
    );
    assert_eq!(
        spec.metrics[0].kind,
        MetricKind::Enum {
            choices: vec!["resolved".into(), "escalated".into()]
        }
    );
    assert!(spec.metrics[0].required);
    assert_eq!(spec.metrics[1].kind, MetricKind::Integer { range: Some([1, 5]) });
    assert_eq!(spec.metrics[1].expect.as_ref().unwrap().min_accuracy, Some(0.9));
    assert_eq!(
        spec.metrics[2].kind,
        MetricKind::List {
            choices: Some(vec!["a".into(), "b".into()])
        }
    );
    assert_eq!(
        spec.metrics[2].applies_when.as_deref(),
        Some("The customer reported a problem.")
    );
    assert_eq!(spec.metrics[2].model.as_deref(), Some("gpt-4o"));
}

#[test]
fn unquoted_yes_no_choices_stay_words() {
    let (spec, _) = ok(&one_metric(
        "    type: enum\n    choices: [yes, no, 3]\n    prompt: Was the caller happy today?\n",
    ));
    assert_eq!(spec.metrics[0].kind.choices().unwrap(), ["yes", "no", "3"]);
}

#[test]
fn syntax_errors_carry_line_and_column() {
    let e = errors("version: 1\nmetrics: [a, b\nfoo: 1\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].starts_with("m.yaml:3:"), "{e:?}");
    assert!(e[0].contains("invalid YAML"), "{e:?}");
}

#[test]
fn duplicate_keys_are_rejected() {
    let e = errors(&one_metric(
        "    type: string\n    type: boolean\n    prompt: Who called the line today?\n",
    ));
    assert_eq!(
        e,
        ["m.yaml:5:5: duplicate key `type`; each key may appear once per mapping, remove or rename one"]
    );
}

#[test]
fn empty_file_says_how_to_start() {
    assert_has(&errors(""), "the file is empty");
}

#[test]
fn version_must_be_one() {
    let e = errors("version: 2\nmetrics:\n  - {id: a, type: string, prompt: What did they want today?}\n");
    assert_eq!(
        e,
        ["m.yaml:1:10: unsupported version `2`; this postcall reads version 1 only, set `version: 1`"]
    );
    assert_has(
        &errors("metrics:\n  - {id: a, type: string, prompt: What did they want today?}\n"),
        "missing `version`",
    );
}

#[test]
fn unknown_keys_get_a_hint_at_every_level() {
    let text = "version: 1
metrix: []
llm:
  modle: gpt-4o
  price: {input_per_mtok: 1, output_per_mtk: 2}
metrics:
  - id: a
    type: string
    promt: What did the customer want?
    expect: {min_acuracy: 0.9}
";
    let e = errors(text);
    assert_has(
        &e,
        "m.yaml:2:1: unknown key `metrix` in the top level; did you mean `metrics`?",
    );
    assert_has(&e, "m.yaml:4:3: unknown key `modle` in `llm`; did you mean `model`?");
    assert_has(
        &e,
        "unknown key `output_per_mtk` in `llm.price`; did you mean `output_per_mtok`?",
    );
    assert_has(
        &e,
        "m.yaml:9:5: unknown key `promt` in metric `a`; did you mean `prompt`?",
    );
    assert_has(
        &e,
        "unknown key `min_acuracy` in metric `a`: `expect`; did you mean `min_accuracy`?",
    );
    assert_has(&e, "metric `a` has no `prompt`");
}

#[test]
fn unknown_key_without_a_close_match_lists_the_keys() {
    let e = errors(&one_metric(
        "    type: string\n    prompt: What did the customer want?\n    colour: red\n",
    ));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].contains("unknown key `colour` in metric `m`; expected one of: id, type, prompt"),
        "{e:?}"
    );
}

#[test]
fn unknown_type_lists_types_and_suggests() {
    let e = errors(&one_metric(
        "    type: strng\n    prompt: What did the customer want?\n",
    ));
    assert_eq!(
        e,
        [
            "m.yaml:4:11: metric `m`: unknown type `strng`; the types are string, boolean, integer, number, enum, datetime, list. did you mean `string`?"
        ]
    );
    assert_has(
        &errors(&one_metric("    type: float\n    prompt: What did the customer pay?\n")),
        "did you mean `number`?",
    );
}

#[test]
fn wrong_value_types_are_reported_where_written() {
    let e = errors(&one_metric(
        "    type: string\n    prompt: What did the customer want?\n    required: maybe\n",
    ));
    assert_eq!(
        e,
        ["m.yaml:6:15: metric `m`: `required` should be true or false, found text \"maybe\""]
    );
    let e = errors(&one_metric(
        "    type: enum\n    prompt: What did the customer want?\n    choices: resolved\n",
    ));
    assert_has(&e, "`choices` should be a list");
    let e = errors(
        "version: 1\nllm:\n  temperature: hot\nmetrics:\n  - {id: a, type: string, prompt: What did they want today?}\n",
    );
    assert_has(&e, "m.yaml:3:16: `llm.temperature` has a wrong value");
}

#[test]
fn ids_must_match_the_pattern_and_be_unique() {
    let text = "version: 1
metrics:
  - {id: Call-Outcome, type: string, prompt: What was the call outcome?}
  - {id: a, type: string, prompt: What was the call outcome?}
  - {id: a, type: string, prompt: What was the call outcome?}
";
    let e = errors(text);
    assert_has(
        &e,
        "m.yaml:3:10: id `Call-Outcome` is not valid; use lowercase letters, digits and underscores, starting with a letter (e.g. `call_outcome`)",
    );
    assert_has(
        &e,
        "m.yaml:5:10: duplicate id `a` (first defined on line 4); ids must be unique, rename one",
    );
}

#[test]
fn missing_id_is_named_by_position() {
    let e = errors("version: 1\nmetrics:\n  - type: string\n    prompt: What was the call outcome?\n");
    assert_eq!(
        e,
        ["m.yaml:3:5: metrics[0] has no `id`; add one like `id: call_outcome`"]
    );
}

#[test]
fn enum_needs_two_distinct_choices() {
    let e = errors(&one_metric(
        "    type: enum\n    choices: [yes, yes]\n    prompt: Was the caller happy today?\n",
    ));
    assert_has(&e, "choice `yes` is listed twice");
    assert_has(&e, "an enum needs at least 2 distinct choices, found 1");
    assert_has(
        &errors(&one_metric("    type: enum\n    prompt: Was the caller happy today?\n")),
        "an enum needs `choices`",
    );
}

#[test]
fn choices_only_on_enum_and_list() {
    let e = errors(&one_metric(
        "    type: integer\n    choices: [1, 2]\n    prompt: How many times did they call?\n",
    ));
    assert_eq!(
        e,
        [
            "m.yaml:5:14: metric `m`: `choices` only applies to enum and list metrics, this one is `integer`; remove `choices` or change `type` to enum"
        ]
    );
}

#[test]
fn range_only_on_numbers_and_low_first() {
    let e = errors(&one_metric(
        "    type: string\n    range: [1, 5]\n    prompt: How many times did they call?\n",
    ));
    assert_has(
        &e,
        "`range` only applies to integer and number metrics, this one is `string`",
    );
    let e = errors(&one_metric(
        "    type: integer\n    range: [5, 1]\n    prompt: How many times did they call?\n",
    ));
    assert_eq!(
        e,
        ["m.yaml:5:12: metric `m`: `range` goes from 5 down to 1; write the lowest value first"]
    );
    let e = errors(&one_metric(
        "    type: integer\n    range: [1, 4.5]\n    prompt: How many times did they call?\n",
    ));
    assert_has(&e, "an integer range needs whole numbers");
    let (spec, _) = ok(&one_metric(
        "    type: number\n    range: [0, 2.5]\n    prompt: How many hours did it take?\n",
    ));
    assert_eq!(
        spec.metrics[0].kind,
        MetricKind::Number {
            range: Some([0.0, 2.5])
        }
    );
}

#[test]
fn empty_prompt_is_an_error_and_short_prompt_a_warning() {
    let e = errors(&one_metric("    type: string\n    prompt: \"  \"\n"));
    assert_eq!(
        e,
        ["m.yaml:5:13: metric `m`: `prompt` is empty; write the question the model should answer about each call"]
    );
    assert_has(
        &errors(&one_metric("    type: string\n    prompt:\n")),
        "`prompt` is empty",
    );
    let (_, w) = ok(&one_metric("    type: string\n    prompt: Outcome?\n"));
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].at, "m");
    assert_eq!((w[0].line, w[0].column), (Some(5), Some(13)));
    assert_eq!(
        w[0].message,
        "prompt has 1 word; vague prompts give noisy answers, say exactly what to look for"
    );
}

#[test]
fn more_than_fifteen_metrics_in_one_request_is_a_warning() {
    let mut text = String::from("version: 1\nmetrics:\n");
    for i in 0..16 {
        text.push_str(&format!(
            "  - {{id: m{i}, type: boolean, prompt: Did thing number {i} happen?}}\n"
        ));
    }
    let (_, w) = ok(&text);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].message
            .starts_with("16 metrics for the default model share one request"),
        "{w:?}"
    );
    // Split across two models, or asked one by one, no group is too big.
    let split = text.replacen(
        "prompt: Did thing number 0",
        "model: other, prompt: Did thing number 0",
        1,
    );
    assert!(ok(&split).1.is_empty());
    assert!(
        ok(&text.replace("version: 1\n", "version: 1\nstrategy: per_metric\n"))
            .1
            .is_empty()
    );
}

#[test]
fn metric_named_summary_collides_with_top_level_summary() {
    let text = "version: 1\nsummary: Summarize the call briefly please.\nmetrics:\n  - {id: summary, type: string, prompt: Summarize the call briefly please.}\n";
    assert_has(
        &errors(text),
        "m.yaml:4:10: metric id `summary` collides with the top-level `summary:`",
    );
    // Without a top-level summary it still names the CSV's own `summary` column.
    let e = errors(&text.replace("summary: Summarize the call briefly please.\nmetrics", "metrics"));
    assert_has(
        &e,
        "m.yaml:3:10: metric id `summary` is reserved: every CSV report has a `summary` column",
    );
}

#[test]
fn metric_ids_that_are_report_column_names_are_refused_with_the_reason() {
    for id in ["call_id", "source", "errors"] {
        let text =
            format!("version: 1\nmetrics:\n  - {{id: {id}, type: string, prompt: What did the caller want today?}}\n");
        assert_has(
            &errors(&text),
            &format!("m.yaml:3:10: metric id `{id}` is reserved: every CSV report has a `{id}` column of its own"),
        );
    }
    let text = "version: 1\nmetrics:\n  - {id: outcome, type: string, prompt: What did the caller want today?}\n  - {id: outcome__status, type: string, prompt: What did the caller want today?}\n";
    assert_has(
        &errors(text),
        "m.yaml:4:10: metric id `outcome__status` ends in `__status`, which --csv-detail uses",
    );
    let text = "version: 1\nmetrics:\n  - {id: call_id_value, type: string, prompt: What did the caller want today?}\n";
    assert!(ok(text).1.is_empty());
}

#[test]
fn api_key_in_the_file_is_refused() {
    let text = "version: 1\nllm:\n  api_key: sk-abc123\nmetrics:\n  - {id: a, type: string, prompt: What did they want today?}\n";
    let e = errors(text);
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("m.yaml:3:3: `llm.api_key`: never put an API key in the metric file"),
        "{e:?}"
    );
    assert!(e[0].contains("api_key_env"));
    assert!(!e[0].contains("sk-abc123"), "the key must not be echoed");
    assert_has(
        &errors(&text.replace("api_key:", "api_key_env:")),
        "should be the name of an environment variable",
    );
}

#[test]
fn unknown_strategy_gets_a_hint() {
    let e = errors(
        "version: 1\nstrategy: per-call\nmetrics:\n  - {id: a, type: string, prompt: What did they want today?}\n",
    );
    assert_eq!(
        e,
        ["m.yaml:2:11: unknown strategy `per-call`; did you mean `per_call`?"]
    );
}

#[test]
fn all_errors_are_collected_in_file_order() {
    let text = "version: 3
metrics:
  - {id: A, type: string, prompt: What did they want today?}
  - {id: b, type: enum, choices: [x], prompt: What did they want today?}
  - {id: c, type: nope, prompt: What did they want today?}
";
    let e = errors(text);
    assert_eq!(e.len(), 4, "{e:#?}");
    let lines: Vec<&str> = e.iter().map(|e| e.split(':').nth(1).unwrap()).collect();
    assert_eq!(lines, ["1", "3", "4", "5"]);
}

#[test]
fn missing_file_suggests_init() {
    let e = load_spec(Path::new("/nonexistent/metrics.yaml")).unwrap_err();
    assert!(
        e[0].to_string()
            .starts_with("/nonexistent/metrics.yaml: cannot read the metric file"),
        "{e:?}"
    );
    assert!(e[0].message.contains("postcall init"));
}

#[test]
fn comma_inside_a_flow_mapping_gets_a_quoting_hint() {
    let e = errors("version: 1\nmetrics:\n  - {id: a, type: string, prompt: Who called, and why did they call?}\n");
    assert_has(
        &e,
        "unknown key `and why did they call?` in metric `a`; expected one of:",
    );
    assert_has(&e, "quote that text: in `{ }` a comma ends a value");
}

#[test]
fn a_typo_inside_llm_price_or_local_is_one_error_and_a_bad_value_is_named() {
    let base = "version: 1\nmetrics:\n  - {id: a, type: string, prompt: What did the customer want?}\nllm:\n";
    let e = errors(&format!("{base}  local: {{modle: x.gguf}}\n"));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].contains("unknown key `modle` in `llm.local`"), "{e:#?}");
    let e = errors(&format!(
        "{base}  price: {{input_per_mtok: cheap, output_per_mtok: 1}}\n"
    ));
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(e[0].contains("`llm.price` has a wrong value"), "{e:#?}");
}

#[test]
fn expect_takes_a_minimum_kappa_beside_or_instead_of_accuracy() {
    let (spec, warnings) = ok(&one_metric(
        "    type: boolean\n    prompt: Was the caller verified twice?\n    expect: {min_kappa: 0.6}\n",
    ));
    assert!(warnings.is_empty(), "{warnings:?}");
    let expect = spec.metrics[0].expect.as_ref().unwrap();
    assert_eq!((expect.min_accuracy, expect.min_kappa), (None, Some(0.6)));

    let e = errors(&one_metric(
        "    type: boolean\n    prompt: Was the caller verified twice?\n    expect: {min_kappa: 60}\n",
    ));
    assert_has(
        &e,
        "`expect.min_kappa` is 60; κ runs from -1 to 1, e.g. 0.6 (κ is not a percentage: did you mean 0.6?)",
    );
    let e = errors(&one_metric(
        "    type: boolean\n    prompt: Was the caller verified twice?\n    expect: {min_kappa: high}\n",
    ));
    assert_has(&e, "`expect.min_kappa` should be a number between -1 and 1, found");
    let e = errors(&one_metric(
        "    type: boolean\n    prompt: Was the caller verified twice?\n    expect: {}\n",
    ));
    assert_has(&e, "`expect` needs `min_accuracy` or `min_kappa`");
}

#[test]
fn an_unreasonable_minimum_kappa_is_a_warning() {
    let warned = |fields: &str| -> String {
        let (_, warnings) = ok(&one_metric(fields));
        warnings.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
    };
    let w = warned("    type: string\n    prompt: What name did the caller give?\n    expect: {min_kappa: 0.6}\n");
    assert!(
        w.contains("cannot check it on a string metric; use `min_accuracy`"),
        "{w}"
    );
    let w = warned("    type: boolean\n    prompt: Was the caller verified twice?\n    expect: {min_kappa: 0}\n");
    assert!(w.contains("checks nothing"), "{w}");
    let w = warned(
        "    type: integer\n    range: [1, 5]\n    prompt: Rate the caller's mood from 1 to 5.\n    expect: {min_kappa: 0.97}\n",
    );
    assert!(w.contains("label noise"), "{w}");
}

#[test]
fn evidence_is_on_unless_the_metric_or_the_file_says_false_and_must_be_a_boolean() {
    let metric = |id: &str, extra: &str| {
        format!("  - id: {id}\n    type: boolean\n    prompt: Did the agent apologise to the caller?\n{extra}")
    };
    let two = format!("{}{}", metric("a", ""), metric("b", "    evidence: false\n"));
    let (spec, _) = ok(&format!("version: 1\nmetrics:\n{two}"));
    assert_eq!(
        spec.metrics.iter().map(|m| m.evidence).collect::<Vec<_>>(),
        [true, false]
    );
    let back_on = format!("{}{}", metric("a", ""), metric("b", "    evidence: true\n"));
    let (spec, _) = ok(&format!("version: 1\nevidence: false\nmetrics:\n{back_on}"));
    assert_eq!(
        spec.metrics.iter().map(|m| m.evidence).collect::<Vec<_>>(),
        [false, true]
    );
    let bad = errors(&format!(
        "version: 1\nmetrics:\n{}",
        metric("a", "    evidence: sometimes\n")
    ));
    assert_has(&bad, "m.yaml:6:15: metric `a`: `evidence` should be true or false");
    let bad_top = errors(&format!("version: 1\nevidence: 1\nmetrics:\n{}", metric("a", "")));
    assert_has(&bad_top, "`evidence` should be true or false");
}
