//! The metric file from the user's side: `postcall validate`, `postcall init`, `postcall schema`.
//!
//! Each lint rule and each parse failure has a test asserting the printed message, its
//! `file:line:col`, and the exit code, so a changed message is a deliberate change.

use predicates::prelude::*;
use serde_json::Value;

use crate::common::{TestDir, fixture};

/// `postcall validate` on `text` written to `m.yaml`; returns (exit code, stdout, stderr).
fn validate(text: &str) -> (i32, String, String) {
    let dir = TestDir::new();
    dir.write("m.yaml", text);
    let out = dir
        .postcall()
        .args(["validate", "m.yaml"])
        .output()
        .expect("run postcall");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8(out.stderr).expect("utf-8 stderr"),
    )
}

/// Asserts `validate` fails with exit 1 and prints `line` (a full `file:line:col: message`).
fn assert_error(text: &str, line: &str) {
    let stderr = refused(text);
    assert!(
        stderr.lines().any(|l| l == line),
        "expected line\n  {line}\nin stderr:\n{stderr}"
    );
}

/// Asserts `validate` fails with exit 1; returns its stderr.
fn refused(text: &str) -> String {
    let (code, _, stderr) = validate(text);
    assert_eq!(code, 1, "stderr: {stderr}");
    stderr
}

fn one_metric(fields: &str) -> String {
    format!("version: 1\nmetrics:\n  - id: m\n{fields}")
}

fn validate_json(path: &std::path::Path) -> Value {
    let out = TestDir::new()
        .postcall()
        .arg("validate")
        .arg(path)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("validate --json prints JSON")
}

// ---- validate: the example and the output formats ----

#[test]
fn example_file_validates_without_warnings() {
    let dir = TestDir::new();
    let out = dir
        .postcall()
        .arg("validate")
        .arg(fixture("specs/metrics.example.yaml"))
        .assert()
        .success()
        .stderr("");
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    for id in [
        "call_outcome",
        "satisfaction_score",
        "refund_amount",
        "promised_date",
        "order_numbers",
        "topics",
        "caller_verified",
    ] {
        assert!(stdout.contains(id), "{id} missing from\n{stdout}");
    }
    assert!(stdout.lines().next().unwrap().starts_with("ID "), "{stdout}");
    assert!(
        stdout.contains("ok, 9 metrics (postcall format, strategy per_call), 0 warnings"),
        "{stdout}"
    );
}

#[test]
fn example_file_uses_every_metric_type() {
    let spec = validate_json(&fixture("specs/metrics.example.yaml"));
    let types: Vec<&str> = spec["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["type"].as_str().unwrap())
        .collect();
    for t in ["string", "boolean", "integer", "number", "enum", "datetime", "list"] {
        assert!(types.contains(&t), "no {t} metric in {types:?}");
    }
    let metrics = spec["metrics"].as_array().unwrap();
    assert!(
        metrics
            .iter()
            .any(|m| m["type"] == "list" && m.get("choices").is_some()),
        "no multi-select"
    );
    assert!(
        metrics
            .iter()
            .any(|m| m["type"] == "list" && m.get("choices").is_none()),
        "no free-form list"
    );
    assert!(
        metrics
            .iter()
            .any(|m| m["type"] == "integer" && m.get("range").is_some()),
        "no integer range"
    );
    assert!(
        metrics.iter().any(|m| m.get("applies_when").is_some()),
        "no applies_when"
    );
    assert!(spec["summary"]["prompt"].is_string());
    assert!(spec["context"].is_string());
    assert_eq!(spec["strategy"], "per_call");
}

#[test]
fn json_output_is_the_normalised_spec() {
    let dir = TestDir::new();
    dir.write("m.yaml", one_metric("    type: integer\n    range: [1, 5]\n    prompt: Rate the customer's apparent satisfaction.\n    required: true\n"));
    let spec = validate_json(&dir.join("m.yaml"));
    assert_eq!(spec["version"], 1);
    assert_eq!(spec["dialect"], "postcall");
    assert_eq!(
        spec["metrics"][0],
        serde_json::json!({"id": "m", "type": "integer", "range": [1, 5], "prompt": "Rate the customer's apparent satisfaction.", "required": true})
    );
}

#[test]
fn missing_file_is_an_error_that_suggests_init() {
    TestDir::new()
        .postcall()
        .args(["validate", "nope.yaml"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("nope.yaml: cannot read the metric file")
                .and(predicate::str::contains("postcall init")),
        );
}

// ---- validate: parse failures ----

#[test]
fn bad_yaml_syntax_names_line_and_column() {
    assert_error(
        "version: 1\nmetrics:\n  - id: a\n    choices: [x\n  - id: b\n",
        "m.yaml:5:7: invalid YAML: illegal placement of ':' indicator; check indentation, quoting and brackets around this point",
    );
}

#[test]
fn tab_indentation_says_to_use_spaces() {
    let stderr = refused("version: 1\nmetrics:\n  - id: a\n\ttype: enum\n");
    assert!(
        stderr.starts_with("m.yaml:3:9: invalid YAML:") && stderr.contains("indent with spaces, not tabs"),
        "{stderr}"
    );
}

#[test]
fn duplicate_key_is_rejected() {
    assert_error(
        &one_metric("    type: string\n    prompt: What did the customer want?\n    prompt: Why did they call?\n"),
        "m.yaml:6:5: duplicate key `prompt`; each key may appear once per mapping, remove or rename one",
    );
}

#[test]
fn wrong_value_type_is_reported_where_written() {
    assert_error(
        &one_metric("    type: string\n    prompt: What did the customer want?\n    required: maybe\n"),
        "m.yaml:6:15: metric `m`: `required` should be true or false, found text \"maybe\"",
    );
    assert_error(
        &one_metric("    type: integer\n    prompt: How many times did they call?\n    range: low\n"),
        "m.yaml:6:12: metric `m`: `range` should be two numbers, lowest first, like `range: [1, 5]`",
    );
}

#[test]
fn unknown_key_gets_a_did_you_mean_hint() {
    assert_error(
        &one_metric("    type: string\n    promt: What did the customer want?\n"),
        "m.yaml:5:5: unknown key `promt` in metric `m`; did you mean `prompt`?",
    );
    assert_error(
        "version: 1\nllm:\n  modle: gpt-4o-mini\nmetrics:\n  - {id: a, type: string, prompt: What did the customer want?}\n",
        "m.yaml:3:3: unknown key `modle` in `llm`; did you mean `model`?",
    );
    assert_error(
        "version: 1\nmetric:\n  - {id: a, type: string, prompt: What did the customer want?}\n",
        "m.yaml:2:1: unknown key `metric` in the top level; did you mean `metrics`?",
    );
}

#[test]
fn unknown_type_lists_the_types() {
    assert_error(
        &one_metric("    type: bool\n    prompt: Did the customer get a refund?\n"),
        "m.yaml:4:11: metric `m`: unknown type `bool`; the types are string, boolean, integer, number, enum, datetime, list. did you mean `boolean`?",
    );
}

#[test]
fn unsupported_version_says_which_are_supported() {
    assert_error(
        "version: 2\nmetrics:\n  - {id: a, type: string, prompt: What did the customer want?}\n",
        "m.yaml:1:10: unsupported version `2`; this postcall reads version 1 only, set `version: 1`",
    );
}

// ---- validate: lint rules ----

#[test]
fn id_must_match_the_pattern() {
    assert_error(
        "version: 1\nmetrics:\n  - id: Call Outcome\n    type: string\n    prompt: What was the outcome of the call?\n",
        "m.yaml:3:9: id `Call Outcome` is not valid; use lowercase letters, digits and underscores, starting with a letter (e.g. `call_outcome`)",
    );
}

#[test]
fn ids_must_be_unique() {
    assert_error(
        "version: 1\nmetrics:\n  - {id: a, type: string, prompt: What did the customer want?}\n  - {id: a, type: boolean, prompt: Did the customer get a refund?}\n",
        "m.yaml:4:10: duplicate id `a` (first defined on line 3); ids must be unique, rename one",
    );
}

#[test]
fn enum_needs_two_distinct_choices() {
    assert_error(
        &one_metric("    type: enum\n    choices: [resolved]\n    prompt: What was the outcome of the call?\n"),
        "m.yaml:5:14: metric `m`: an enum needs at least 2 distinct choices, found 1; add the other options (or use `type: boolean` for yes/no)",
    );
}

#[test]
fn choices_only_on_enum_and_list() {
    assert_error(
        &one_metric("    type: string\n    choices: [a, b]\n    prompt: What was the outcome of the call?\n"),
        "m.yaml:5:14: metric `m`: `choices` only applies to enum and list metrics, this one is `string`; remove `choices` or change `type` to enum",
    );
}

#[test]
fn range_only_on_integer_and_number() {
    assert_error(
        &one_metric("    type: boolean\n    range: [0, 1]\n    prompt: Did the customer get a refund?\n"),
        "m.yaml:5:12: metric `m`: `range` only applies to integer and number metrics, this one is `boolean`; remove `range` or change `type`",
    );
}

#[test]
fn range_low_must_not_exceed_high() {
    assert_error(
        &one_metric("    type: number\n    range: [10, 1.5]\n    prompt: How long did the customer wait?\n"),
        "m.yaml:5:12: metric `m`: `range` goes from 10 down to 1.5; write the lowest value first",
    );
}

#[test]
fn empty_prompt_is_an_error() {
    assert_error(
        &one_metric("    type: string\n    prompt: \"\"\n"),
        "m.yaml:5:13: metric `m`: `prompt` is empty; write the question the model should answer about each call",
    );
}

#[test]
fn short_prompt_is_a_warning_and_still_valid() {
    let (code, stdout, stderr) = validate(&one_metric("    type: string\n    prompt: Outcome?\n"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stderr,
        "m.yaml:5:13: warning: m: prompt has 1 word; vague prompts give noisy answers, say exactly what to look for\n"
    );
    assert!(stdout.contains("1 warning"), "{stdout}");
}

#[test]
fn more_than_fifteen_metrics_per_request_is_a_warning() {
    let mut text = String::from("version: 1\nstrategy: per_call\nmetrics:\n");
    for i in 0..16 {
        text.push_str(&format!(
            "  - {{id: m{i}, type: boolean, prompt: Did event number {i} happen?}}\n"
        ));
    }
    let (code, _, stderr) = validate(&text);
    assert_eq!(code, 0);
    assert_eq!(
        stderr,
        "m.yaml:4:3: warning: metrics: 16 metrics for the default model share one request (strategy per_call); more than 15 per request lowers answer quality, split them with per-metric `model` or use `strategy: per_metric`\n"
    );
    let (_, _, stderr) = validate(&text.replace("per_call", "per_metric"));
    assert_eq!(stderr, "");
}

#[test]
fn metric_named_summary_collides_with_top_level_summary() {
    assert_error(
        "version: 1\nsummary:\n  prompt: Summarize the call in two sentences.\nmetrics:\n  - {id: summary, type: string, prompt: What happened on this call?}\n",
        "m.yaml:5:10: metric id `summary` collides with the top-level `summary:` in the answer; rename the metric (e.g. `call_summary`) or drop the top-level summary",
    );
}

#[test]
fn api_key_in_the_file_is_refused_without_echoing_it() {
    let stderr = refused(
        "version: 1\nllm:\n  api_key: sk-secret-123\nmetrics:\n  - {id: a, type: string, prompt: What did the customer want?}\n",
    );
    assert!(
        stderr.starts_with("m.yaml:3:3: `llm.api_key`: never put an API key in the metric file"),
        "{stderr}"
    );
    assert!(stderr.contains("api_key_env: OPENAI_API_KEY"), "{stderr}");
    assert!(!stderr.contains("sk-secret-123"), "the key was echoed: {stderr}");
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let stderr = refused(
        "version: 1\nmetrics:\n  - {id: Bad, type: string, prompt: What did the customer want?}\n  - {id: b, type: enum, choices: [x], prompt: What did the customer want?}\n  - {id: c, type: txt, prompt: What did the customer want?}\n",
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 4, "{stderr}");
    assert!(lines[0].starts_with("m.yaml:3:"));
    assert!(lines[1].starts_with("m.yaml:4:"));
    assert!(lines[2].starts_with("m.yaml:5:"));
    assert_eq!(lines[3], "m.yaml: 3 errors; the file cannot be used until fixed");
}

// ---- validate: platform dialects ----

fn ids_and_types(spec: &Value) -> Vec<(String, String)> {
    spec["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().to_owned(),
                m["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

/// `validate --json` of the fixture `specs/NAME`: asserts it reads as `dialect` with these
/// metric ids and types, in order; returns the normalised spec for further checks.
fn loads_as(name: &str, dialect: &str, metrics: &[(&str, &str)]) -> Value {
    let spec = validate_json(&fixture(&format!("specs/{name}")));
    assert_eq!(spec["dialect"], dialect, "{name}");
    assert_eq!(ids_and_types(&spec), pairs(metrics), "{name}");
    spec
}

#[test]
fn atoms_yaml_under_post_call_analytics_config_loads() {
    let spec = loads_as(
        "atoms.yaml",
        "atoms",
        &[
            ("call_outcome", "enum"),
            ("satisfaction_score", "integer"),
            ("follow_up_needed", "boolean"),
            ("callback_time", "datetime"),
            ("issue_description", "string"),
        ],
    );
    assert_eq!(
        spec["metrics"][0]["choices"],
        serde_json::json!(["resolved", "escalated", "callback_scheduled"])
    );
    assert_eq!(spec["metrics"][0]["prompt"], "What was the outcome of this call?");
    assert!(
        spec["metrics"][1].get("choices").is_none(),
        "empty choices on a non-enum are dropped"
    );
}

#[test]
fn atoms_identifiers_that_are_not_ids_become_snake_case_with_a_warning() {
    TestDir::new()
        .postcall()
        .arg("validate")
        .arg(fixture("specs/atoms.yaml"))
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "atoms.yaml:10:19: warning: satisfaction_score: identifier `Satisfaction Score` is not a valid postcall id; using `satisfaction_score`",
        ))
        .stderr(predicate::str::contains("identifier `followUpNeeded` is not a valid postcall id; using `follow_up_needed`"));
}

#[test]
fn atoms_json_with_bare_disposition_metrics_loads() {
    let spec = loads_as(
        "atoms.json",
        "atoms",
        &[
            ("call_outcome", "enum"),
            ("issue_category", "enum"),
            ("follow_up_needed", "boolean"),
        ],
    );
    assert_eq!(
        spec["metrics"][1]["choices"],
        serde_json::json!(["billing", "technical", "other"])
    );
}

#[test]
fn atoms_unknown_type_lists_atoms_types() {
    let stderr = refused(
        "dispositionMetrics:\n  - identifier: a\n    dispositionMetricPrompt: What did the customer want?\n    dispositionMetricType: FLOAT\n",
    );
    assert!(
        stderr.starts_with("m.yaml:4:28: metric `a`: unknown `dispositionMetricType` `FLOAT`; expected one of: STRING, BOOLEAN, INTEGER, ENUM, DATETIME"),
        "{stderr}"
    );
}

#[test]
fn dialgen_json_custom_metrics_load() {
    let spec = loads_as(
        "dialgen.json",
        "dialgen",
        &[
            ("call_outcome", "string"),
            ("refund_amount", "number"),
            ("callback_required", "boolean"),
            ("key_points", "list"),
        ],
    );
    assert_eq!(spec["metrics"][0]["required"], true);
    assert_eq!(spec["metrics"][0]["description"], "Shown on the call list.");
    assert_eq!(spec["metrics"][2]["required"], false);
}

#[test]
fn dialgen_yaml_bare_list_loads() {
    loads_as(
        "dialgen.yaml",
        "dialgen",
        &[("call_outcome", "string"), ("ticket_raised", "boolean")],
    );
}

// ---- init ----

#[test]
fn init_writes_each_template_and_each_validates_without_warnings() {
    for template in ["basic", "atoms", "dialgen-defaults", "polyai", "qa"] {
        let dir = TestDir::new();
        dir.postcall()
            .args(["init", "out.yaml", "--template", template])
            .assert()
            .success()
            .stdout(predicate::str::contains(format!(
                "wrote out.yaml from the `{template}` template"
            )));
        let text = std::fs::read_to_string(dir.join("out.yaml")).unwrap();
        assert!(
            text.contains("# llm:") || text.contains("--model"),
            "{template} does not say how to choose the model"
        );
        dir.postcall()
            .args(["validate", "out.yaml"])
            .assert()
            .success()
            .stderr("");
    }
}

#[test]
fn init_defaults_to_basic_in_metrics_yaml() {
    let dir = TestDir::new();
    dir.postcall().arg("init").assert().success();
    let spec = validate_json(&dir.join("metrics.yaml"));
    assert_eq!(
        ids_and_types(&spec),
        pairs(&[
            ("call_outcome", "enum"),
            ("satisfaction_score", "integer"),
            ("follow_up_needed", "boolean"),
            ("issue_category", "enum")
        ])
    );
}

#[test]
fn init_dialgen_defaults_has_its_metrics() {
    let dir = TestDir::new();
    dir.postcall()
        .args(["init", "--template", "dialgen-defaults"])
        .assert()
        .success();
    let spec = validate_json(&dir.join("metrics.yaml"));
    assert!(spec["summary"]["prompt"].is_string());
    let ids: Vec<String> = ids_and_types(&spec).into_iter().map(|(id, _)| id).collect();
    assert_eq!(
        ids,
        [
            "intent",
            "sentiment",
            "confidence",
            "key_points",
            "action_items",
            "call_status",
            "callback_required",
            "promised_date",
            "self_evaluation",
            "follow_up_action",
            "ticket_raised"
        ]
    );
}

#[test]
fn init_qa_has_a_conditional_verification_check() {
    let dir = TestDir::new();
    dir.postcall().args(["init", "qa.yaml", "-t", "qa"]).assert().success();
    let spec = validate_json(&dir.join("qa.yaml"));
    let verified = spec["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "caller_verified")
        .unwrap();
    assert!(verified["applies_when"].is_string());
}

#[test]
fn init_refuses_to_overwrite() {
    let dir = TestDir::new();
    dir.write("metrics.yaml", "mine\n");
    dir.postcall()
        .arg("init")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "metrics.yaml already exists; not overwriting it",
        ))
        .stderr(predicate::str::contains("postcall init metrics-basic.yaml"));
    assert_eq!(std::fs::read_to_string(dir.join("metrics.yaml")).unwrap(), "mine\n");
}

#[test]
fn init_lists_templates() {
    TestDir::new()
        .postcall()
        .args(["init", "--list"])
        .assert()
        .success()
        .stdout(predicate::str::is_match("(?m)^basic +.*\\(default\\)$").unwrap())
        .stdout(predicate::str::contains("dialgen-defaults"))
        .stdout(predicate::str::is_match("(?m)^qa ").unwrap());
}

#[test]
fn init_unknown_template_is_a_usage_error() {
    TestDir::new()
        .postcall()
        .args(["init", "--template", "fancy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("basic"));
}

#[test]
fn init_dash_prints_the_template() {
    let dir = TestDir::new();
    dir.postcall()
        .args(["init", "-", "-t", "qa"])
        .assert()
        .success()
        .stdout(predicate::str::contains("id: greeting_given"));
    assert!(!dir.join("-").exists());
}

// ---- schema ----

fn schema(args: &[&str]) -> Value {
    let out = TestDir::new()
        .postcall()
        .arg("schema")
        .arg("-m")
        .arg(fixture("specs/metrics.example.yaml"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("schema prints JSON")
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

#[test]
fn schema_has_a_strict_object_per_metric_in_file_order() {
    let s = schema(&[]);
    let spec = validate_json(&fixture("specs/metrics.example.yaml"));
    assert_eq!(s["type"], "object");
    assert_eq!(s["additionalProperties"], false);
    let expected = [
        "call_outcome",
        "call_reason",
        "satisfaction_score",
        "refund_amount",
        "follow_up_needed",
        "promised_date",
        "order_numbers",
        "topics",
        "caller_verified",
        "summary",
    ];
    assert_eq!(keys(&s["properties"]), expected);
    assert_eq!(s["required"], serde_json::json!(expected));
    assert_eq!(s["properties"]["summary"]["type"], "string");
    for id in &expected[..expected.len() - 1] {
        let m = &s["properties"][id];
        assert_eq!(m["type"], "object", "{id}");
        assert_eq!(m["additionalProperties"], false, "{id}");
        let props = keys(&m["properties"]);
        let want: &[&str] = if *id == "caller_verified" {
            &["applicable", "evidence", "reasoning", "value", "confidence"]
        } else {
            &["evidence", "reasoning", "value", "confidence"]
        };
        assert_eq!(props, want, "{id}");
        assert_eq!(m["required"], serde_json::json!(want), "{id}");
        assert_eq!(
            m["properties"]["confidence"],
            serde_json::json!({"type": "number", "minimum": 0, "maximum": 1})
        );
        let prompt = &spec["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == *id)
            .unwrap()["prompt"];
        assert_eq!(&m["description"], prompt, "the prompt is the description of {id}");
    }
}

#[test]
fn schema_values_are_typed_and_nullable_unless_required() {
    let s = schema(&[]);
    let value = |id: &str| s["properties"][id]["properties"]["value"].clone();
    // Required: not nullable.
    assert_eq!(
        value("call_outcome"),
        serde_json::json!({"type": "string", "enum": ["resolved", "escalated", "transferred", "abandoned", "callback_scheduled"]})
    );
    assert_eq!(value("follow_up_needed"), serde_json::json!({"type": "boolean"}));
    // Not required: null allowed, in `type` and in `enum`.
    assert_eq!(
        value("satisfaction_score"),
        serde_json::json!({"type": ["integer", "null"], "minimum": 1, "maximum": 5})
    );
    assert_eq!(
        value("refund_amount"),
        serde_json::json!({"type": ["number", "null"], "minimum": 0.0, "maximum": 100000.0})
    );
    assert_eq!(value("call_reason"), serde_json::json!({"type": ["string", "null"]}));
    assert_eq!(value("promised_date")["format"], "date-time");
    assert_eq!(
        value("promised_date")["description"],
        "ISO 8601 date (YYYY-MM-DD) or date-time"
    );
    assert_eq!(
        value("order_numbers"),
        serde_json::json!({"type": ["array", "null"], "items": {"type": "string"}})
    );
    assert_eq!(value("topics")["items"]["enum"][0], "order_status");
    // applies_when: not-applicable answers carry null.
    assert_eq!(
        value("caller_verified"),
        serde_json::json!({"type": ["boolean", "null"]})
    );
}

#[test]
fn schema_for_a_required_enum_with_applies_when_includes_null() {
    let dir = TestDir::new();
    dir.write(
        "m.yaml",
        one_metric("    type: enum\n    choices: [yes, no]\n    prompt: Was the refund approved on the call?\n    required: true\n    applies_when: A refund was discussed.\n"),
    );
    let out = dir.postcall().args(["schema", "-m", "m.yaml"]).output().unwrap();
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        s["properties"]["m"]["properties"]["value"],
        serde_json::json!({"type": ["string", "null"], "enum": ["yes", "no", null]})
    );
}

#[test]
fn schema_for_a_subset_of_metrics() {
    let s = schema(&["--metric", "topics", "--metric", "call_outcome"]);
    assert_eq!(keys(&s["properties"]), ["call_outcome", "topics"]);
    assert_eq!(s["required"], serde_json::json!(["call_outcome", "topics"]));
}

#[test]
fn schema_unknown_metric_suggests_the_id() {
    TestDir::new()
        .postcall()
        .arg("schema")
        .arg("-m")
        .arg(fixture("specs/metrics.example.yaml"))
        .args(["--metric", "topic"])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("no metric `topic` in").and(predicate::str::contains("did you mean `topics`?")),
        );
}

#[test]
fn schema_of_an_invalid_file_prints_its_errors() {
    let dir = TestDir::new();
    dir.write(
        "m.yaml",
        one_metric("    type: bool\n    prompt: Did the customer get a refund?\n"),
    );
    dir.postcall()
        .args(["schema", "-m", "m.yaml"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("m.yaml:4:11: metric `m`: unknown type `bool`"));
}

#[test]
fn metric_ids_that_are_report_columns_are_refused_by_validate_run_and_the_dialgen_reader() {
    let text = "version: 1\nsummary:\n  prompt: Summarize the call.\nmetrics:\n  - {id: call_id, type: string, prompt: Which reference number did the caller give?}\n  - {id: summary, type: string, prompt: Summarize what the agent promised.}\n";
    let stderr = refused(text);
    assert!(
        stderr.contains("m.yaml:5:10: metric id `call_id` is reserved"),
        "{stderr}"
    );
    assert!(
        stderr.contains("m.yaml:6:10: metric id `summary` collides with the top-level `summary:`"),
        "{stderr}"
    );
    // `run` loads the metric file the same way: refused before any input is read.
    let dir = TestDir::new();
    dir.write("m.yaml", text);
    let out = dir
        .postcall()
        .args([
            "run",
            "-m",
            "m.yaml",
            "calls",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--model",
            "m",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("metric id `call_id` is reserved"));
    // A Dialgen custom metric named "Errors" becomes the id `errors`.
    let dialgen = r#"[{"name": "Errors", "dataType": "string", "prompt": "Which errors did the agent make?"}]"#;
    let stderr = refused(dialgen);
    assert!(stderr.contains("metric id `errors` is reserved"), "{stderr}");
}
