//! `diff`, `eval`, `stats`, `filter` and `convert` end to end, on reports with known
//! contents written by the test (no model needed), and `eval` on the 63 labelled dialogues.

use std::path::PathBuf;

use postcall::report::{CallResult, MetricResult, Report, RunHeader, Value};
use postcall::spec::{Expect, Metric, MetricKind};

use crate::common::{TestDir, fixture};

fn metric(id: &str, kind: MetricKind) -> Metric {
    Metric::new(id, kind, format!("What is the {id}?"))
}

fn outcome_metric() -> Metric {
    metric(
        "outcome",
        MetricKind::Enum {
            choices: vec!["resolved".into(), "escalated".into(), "abandoned".into()],
        },
    )
}

fn ok(value: Value, confidence: f64) -> MetricResult {
    MetricResult::Ok {
        value,
        confidence: Some(confidence),
        reasoning: Some(format!("because {confidence}")),
        grounds: Default::default(),
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

fn header(calls: usize, sha: &str) -> RunHeader {
    serde_json::from_value(serde_json::json!({
        "version": "0.1.0", "report_format": 1, "started_at": "2026-01-01T00:00:00Z",
        "complete": true, "base_url": "http://127.0.0.1:1/v1", "model": "test",
        "strategy": "per_call", "structured_output": "json_schema", "metrics_sha256": sha,
        "calls": calls, "failed_calls": 0, "invalid_values": 0,
        "usage": {"requests": 0, "cached": 0, "retries": 0, "prompt_tokens": 0, "completion_tokens": 0}
    }))
    .unwrap()
}

fn call(id: &str, metrics: Vec<(&str, MetricResult)>) -> CallResult {
    CallResult {
        metrics: metrics.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        ..CallResult::unanswered(
            id.to_string(),
            format!("calls/{id}.json"),
            postcall::transcript::Format::Generic,
        )
    }
}

/// 20 calls: outcome `resolved` except every 4th `escalated`; score 4; `shift` moves the
/// outcome of the first `changed` calls to `abandoned` and adds 1 to their score.
fn report(changed: usize, sha: &str) -> Report {
    let calls: Vec<CallResult> = (0..20usize)
        .map(|i| {
            let mut outcome = if i.is_multiple_of(4) { "escalated" } else { "resolved" };
            let mut score = 4;
            if i < changed {
                outcome = "abandoned";
                score = 5;
            }
            call(
                &format!("c{i:02}"),
                vec![
                    ("outcome", ok(text(outcome), 0.55 + 0.02 * i as f64)),
                    ("score", ok(Value::Int(score), 0.9)),
                ],
            )
        })
        .collect();
    Report {
        header: Some(header(calls.len(), sha)),
        metrics: vec![
            outcome_metric(),
            metric("score", MetricKind::Integer { range: Some([1, 5]) }),
        ],
        calls,
    }
}

fn write_report(dir: &TestDir, name: &str, report: &Report) -> PathBuf {
    dir.write(name, serde_json::to_vec_pretty(report).unwrap())
}

/// A `.jsonl` as postcall wrote it before it put the run header in the file: calls only.
fn write_old_jsonl(dir: &TestDir, name: &str, report: &Report) -> PathBuf {
    let lines: Vec<String> = report.calls.iter().map(|c| serde_json::to_string(c).unwrap()).collect();
    dir.write(name, lines.join("\n") + "\n")
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ---- diff -------------------------------------------------------------------------------

/// base: no changes; new: the first 4 of 20 calls changed (20%).
fn diff_dir() -> TestDir {
    let dir = TestDir::new();
    write_report(&dir, "base.json", &report(0, &"a".repeat(64)));
    write_report(&dir, "new.json", &report(4, &"a".repeat(64)));
    dir
}

fn diff_code(dir: &TestDir, limits: &[&str]) -> (i32, String) {
    let mut cmd = dir.postcall();
    cmd.args(["diff", "base.json", "new.json"]);
    for l in limits {
        cmd.args(["--max-changed", l]);
    }
    let out = cmd.output().unwrap();
    (out.status.code().unwrap(), stdout_of(&out))
}

#[test]
fn diff_reports_agreement_transitions_and_mean_shift() {
    let dir = diff_dir();
    let (code, out) = diff_code(&dir, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("outcome  enum           20      80.0%  4 (20.0%)      -\n"),
        "{out}"
    );
    // c00 was escalated, c01..c03 resolved; all four became abandoned.
    assert!(
        out.contains("    resolved          12          .          3\n"),
        "{out}"
    );
    assert!(
        out.contains("    escalated          .          4          1\n"),
        "{out}"
    );
    assert!(
        out.contains("mean 4.00 → 4.20 (shift +0.20), mean absolute change 0.20 over 20 calls"),
        "{out}"
    );
    assert!(out.contains("no --max-changed limit set"), "{out}");
}

#[test]
fn diff_exits_3_only_when_a_limit_is_exceeded() {
    let dir = diff_dir();
    assert_eq!(diff_code(&dir, &["20%"]).0, 0, "at the limit passes");
    let (code, out) = diff_code(&dir, &["19.9%"]);
    assert_eq!(code, 3, "just under the changed share fails");
    assert!(
        out.contains("FAIL: outcome changed on 4 of 20 calls (20.0%), over --max-changed 19.9%"),
        "{out}"
    );
    assert!(out.contains("FAIL: score changed on 4 of 20 calls"), "{out}");
    assert_eq!(
        diff_code(&dir, &["0.199", "outcome=0.2", "score=0.2"]).0,
        0,
        "per-metric wins"
    );
    assert_eq!(diff_code(&dir, &["50%", "score=0.19"]).0, 3);
}

#[test]
fn diff_refuses_a_limit_for_an_unknown_metric_or_an_ambiguous_share() {
    let dir = diff_dir();
    let out = dir
        .postcall()
        .args(["diff", "base.json", "new.json", "--max-changed", "outcom=2%"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("no metric `outcom` in the report; its metrics are: outcome, score"),
        "{}",
        stderr_of(&out)
    );
    let out = dir
        .postcall()
        .args(["diff", "base.json", "new.json", "--max-changed", "5"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "usage error");
    assert!(stderr_of(&out).contains("did you mean 5%?"), "{}", stderr_of(&out));
}

#[test]
fn diff_markdown_is_a_short_table_then_details() {
    let dir = diff_dir();
    let out = dir
        .postcall()
        .args([
            "diff",
            "base.json",
            "new.json",
            "--format",
            "markdown",
            "--reasoning",
            "--max-changed",
            "10%",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let md = stdout_of(&out);
    assert!(
        md.starts_with("### postcall diff — 2 metric(s) over the limit\n\n| metric | type | compared |"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary><code>outcome</code>: 4 of 20 calls changed</summary>"),
        "{md}"
    );
    assert!(
        md.contains("| c01 | resolved | abandoned | 0.57 → 0.57 | because"),
        "{md}"
    );
    assert!(md.contains("base reasoning"), "{md}");
}

#[test]
fn diff_json_holds_the_transition_counts() {
    let dir = diff_dir();
    let out = dir
        .postcall()
        .args(["diff", "base.json", "new.json", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let outcome = &json["metrics"][0];
    assert_eq!(outcome["agreement"], 0.8);
    assert_eq!(
        outcome["transitions"]["categories"],
        serde_json::json!(["resolved", "escalated", "abandoned"])
    );
    assert_eq!(
        outcome["transitions"]["counts"],
        serde_json::json!([[12, 0, 3], [0, 4, 1], [0, 0, 0]])
    );
    assert_eq!(json["metrics"][1]["numeric"]["mean_abs_change"], 0.2);
}

#[test]
fn diff_of_a_prompt_change_explains_the_definitions_without_failing() {
    let dir = TestDir::new();
    write_report(&dir, "base.json", &report(0, &"a".repeat(64)));
    let mut new = report(2, &"b".repeat(64));
    new.metrics[0].prompt = "How did the call end?".into();
    if let MetricKind::Enum { choices } = &mut new.metrics[0].kind {
        choices.push("transferred".into());
    }
    new.metrics.push(metric("follow_up", MetricKind::Boolean));
    write_report(&dir, "new.json", &new);
    let out = dir.postcall().args(["diff", "base.json", "new.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = stdout_of(&out);
    assert!(
        text.contains("different metric files; 2 definition change(s), shown per metric"),
        "{text}"
    );
    assert!(text.contains("choices, prompt"), "{text}");
    assert!(text.contains("  choices changed: +transferred"), "{text}");
    assert!(
        text.contains("  prompt changed: \"What is the outcome?\" → \"How did the call end?\""),
        "{text}"
    );
    assert!(text.contains("metrics added (only in new): follow_up"), "{text}");
}

#[test]
fn diff_reads_an_old_jsonl_and_lists_calls_on_one_side() {
    let dir = diff_dir();
    let mut new = report(4, &"a".repeat(64));
    new.calls.truncate(18);
    new.calls
        .push(call("extra", vec![("outcome", ok(text("resolved"), 0.9))]));
    write_old_jsonl(&dir, "new.jsonl", &new);
    let out = dir
        .postcall()
        .args(["diff", "base.json", "new.jsonl"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(text.contains("(no definitions: a .jsonl report)"), "{text}");
    assert!(
        text.contains("new : new.jsonl — 19 calls, model and metric file unknown (no run header"),
        "{text}"
    );
    assert!(text.contains("cannot tell whether the metric files differ"), "{text}");
    assert!(
        text.contains("    escalated          .          4          1\n"),
        "the base's enum definition is used: {text}"
    );
    assert!(text.contains("calls only in base (2): c18, c19"), "{text}");
    assert!(text.contains("calls only in new (1): extra"), "{text}");
    assert!(
        text.contains("outcome  enum           18      77.8%  4 (22.2%)"),
        "{text}"
    );
}

// ---- eval -------------------------------------------------------------------------------

/// Labels agreeing with `report(0, …)` on 16 of 20 outcomes (c00..c03 labelled abandoned),
/// and on scores within 1 everywhere but exactly on 10.
fn eval_dir() -> TestDir {
    let dir = TestDir::new();
    let mut r = report(0, &"a".repeat(64));
    r.metrics[0].expect = Some(Expect {
        min_accuracy: Some(0.8),
        min_kappa: None,
    });
    write_report(&dir, "report.json", &r);
    let mut csv = String::from("call_id,outcome,score\n");
    for i in 0..20usize {
        let outcome = match i {
            0..4 => "abandoned",
            _ if i.is_multiple_of(4) => "escalated",
            _ => "resolved",
        };
        let score = if i.is_multiple_of(2) { 4 } else { 5 };
        csv.push_str(&format!("c{i:02},{outcome},{score}\n"));
    }
    csv.push_str("ghost,resolved,\n");
    dir.write("labels.csv", csv);
    dir
}

fn eval_run(dir: &TestDir, extra: &[&str]) -> (i32, String, String) {
    let out = dir
        .postcall()
        .args(["eval", "report.json", "--labels", "labels.csv"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap(), stdout_of(&out), stderr_of(&out))
}

#[test]
fn eval_scores_accuracy_confusion_precision_recall_and_mae() {
    let dir = eval_dir();
    let (code, out, err) = eval_run(&dir, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("21 label rows: 20 matched to report calls, 1 not in the report"),
        "{out}"
    );
    assert!(out.contains("labelled calls not in the report: ghost"), "{out}");
    assert!(
        out.contains("outcome  enum     accuracy        20  80.0%       16        0        0  80.0% (expect)  ok\n"),
        "{out}"
    );
    // Label abandoned (c00..c03) → answered escalated once, resolved three times.
    assert!(
        out.contains("    resolved              12          .          .\n"),
        "{out}"
    );
    assert!(
        out.contains("    abandoned              3          1          .\n"),
        "{out}"
    );
    assert!(
        out.contains("    resolved         12        15      80.0%  100.0%\n"),
        "{out}"
    );
    assert!(
        out.contains("    abandoned         4         0          -    0.0%\n"),
        "{out}"
    );
    assert!(
        out.contains("score (integer): exact 50.0% (10 of 20 right); mean absolute error 0.50, mean error -0.50"),
        "{out}"
    );
}

#[test]
fn eval_shows_accuracy_by_confidence_bucket() {
    let dir = eval_dir();
    let (_, out, _) = eval_run(&dir, &["--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let buckets = &json["metrics"][0]["calibration"];
    // Confidences 0.55 + 0.02·i: c00..c02 in 0.5-0.6 (all wrong), c03..c07 in 0.6-0.7
    // (c03 wrong), c08..c12 in 0.7-0.8, c13..c17 in 0.8-0.9, c18..c19 in 0.9-1.0.
    let got: Vec<(u64, f64)> = buckets
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (b["count"].as_u64().unwrap(), b["accuracy"].as_f64().unwrap()))
        .collect();
    assert_eq!(got, [(3, 0.0), (5, 0.8), (5, 1.0), (5, 1.0), (2, 1.0)]);
}

#[test]
fn eval_thresholds_at_just_under_and_just_over() {
    let dir = eval_dir();
    assert_eq!(eval_run(&dir, &["--min-accuracy", "50%"]).0, 0, "score is exactly 50%");
    let (code, out, _) = eval_run(&dir, &["--min-accuracy", "50.1%"]);
    assert_eq!(code, 3);
    assert!(
        out.contains("FAIL: score exact 50.0% is below the minimum 50.1% (--min-accuracy)"),
        "{out}"
    );
    assert_eq!(
        eval_run(&dir, &["--min-accuracy", "0.6", "--tolerance", "score=1"]).0,
        0,
        "within ±1 all 20"
    );
    assert_eq!(
        eval_run(&dir, &["--min-accuracy", "outcome=0.81"]).0,
        3,
        "per metric wins over expect"
    );
    assert_eq!(eval_run(&dir, &["--min-accuracy", "outcome=0.8"]).0, 0);
}

#[test]
fn eval_uses_expect_from_the_metric_file_and_warns_when_it_differs() {
    let dir = eval_dir();
    dir.write(
        "metrics.yaml",
        "version: 1\nmetrics:\n  - id: outcome\n    type: enum\n    choices: [resolved, escalated, abandoned]\n    \
         prompt: How did it end?\n    expect: {min_accuracy: 0.85}\n  - id: score\n    type: integer\n    \
         range: [1, 5]\n    prompt: What is the score?\n",
    );
    let (code, out, err) = eval_run(&dir, &["--metrics", "metrics.yaml"]);
    assert_eq!(code, 3, "{out}");
    assert!(
        err.contains("warning: report.json was made with a different metric file than metrics.yaml"),
        "{err}"
    );
    assert!(err.contains("outcome: prompt differs"), "{err}");
    assert!(
        out.contains("FAIL: outcome accuracy 80.0% is below the minimum 85.0% (expect)"),
        "{out}"
    );
}

#[test]
fn eval_names_file_line_column_and_value_of_bad_labels() {
    let dir = eval_dir();
    dir.write("labels.csv", "call_id,outcome,mood\nc00,resolved,happy\nc01,won,sad\n");
    let (code, out, err) = eval_run(&dir, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        err.contains("labels.csv:1:3: column `mood` names no metric of the report; its metrics are: outcome, score. Rename the column to a metric id, or remove it"),
        "{err}"
    );
    assert!(
        err.contains("labels.csv:3:2: `won` is not one of the choices of `outcome` (resolved, escalated, abandoned)"),
        "{err}"
    );
    assert!(err.contains("2 problem(s) in the labels file labels.csv"), "{err}");
}

#[test]
fn eval_reads_jsonl_labels() {
    let dir = eval_dir();
    dir.write(
        "labels.jsonl",
        "{\"call_id\": \"c01\", \"outcome\": \"resolved\", \"score\": 4}\n{\"call_id\": \"c02\", \"outcome\": null}\n",
    );
    let out = dir
        .postcall()
        .args(["eval", "report.json", "--labels", "labels.jsonl", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["metrics"][0]["labelled"], 2);
    assert_eq!(
        json["metrics"][0]["correct"], 1,
        "a null label is not matched by a value"
    );
    assert_eq!(json["report_calls_without_labels"], 18);
}

/// The 63 dialogues, answered from their own derived labels with known damage: every 5th
/// outcome flipped, names upper-cased (still a match), dates kept.
#[test]
fn eval_on_the_labelled_dialogues() {
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("dialogues/index.json")).unwrap()).unwrap();
    let spec = fixture("compare/dialogues.metrics.yaml");
    let definitions: serde_json::Value = {
        let out = TestDir::new()
            .postcall()
            .args(["validate", "--json"])
            .arg(&spec)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let metrics: Vec<Metric> = serde_json::from_value(definitions["metrics"].clone()).unwrap();
    let mut flipped_labelled = 0;
    let calls: Vec<CallResult> = index
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            let derived = &entry["derived"];
            let label = derived["outcome"].as_str();
            let mut outcome = label.unwrap_or("success").to_string();
            if i.is_multiple_of(5) {
                outcome = if outcome == "failure" {
                    "success".into()
                } else {
                    "failure".into()
                };
                flipped_labelled += usize::from(label.is_some());
            }
            let name = match derived["customer_name"].as_str() {
                Some(n) => ok(text(&n.to_uppercase()), 0.8),
                None => MetricResult::Null {
                    confidence: Some(0.8),
                    reasoning: None,
                    grounds: Default::default(),
                },
            };
            let date = match derived["committed_date"].as_str() {
                Some(d) => ok(text(d), 0.9),
                None => MetricResult::Null {
                    confidence: Some(0.9),
                    reasoning: None,
                    grounds: Default::default(),
                },
            };
            call(
                entry["call_id"].as_str().unwrap(),
                vec![
                    ("outcome", ok(text(&outcome), 0.7)),
                    (
                        "issue_category",
                        ok(text(derived["issue_category"].as_str().unwrap()), 0.95),
                    ),
                    ("customer_name", name),
                    ("committed_date", date),
                ],
            )
        })
        .collect();
    let dir = TestDir::new();
    write_report(
        &dir,
        "report.json",
        &Report {
            header: Some(header(calls.len(), "")),
            metrics,
            calls,
        },
    );
    let out = dir
        .postcall()
        .args(["eval", "report.json", "--labels"])
        .arg(fixture("compare/dialogues.labels.csv"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["label_rows"], 63);
    assert_eq!(json["matched_calls"], 63);
    let by_id = |id: &str| {
        json["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == id)
            .unwrap()
            .clone()
    };
    let outcome = by_id("outcome");
    assert_eq!(outcome["labelled"], 53);
    assert_eq!(outcome["correct"], 53 - flipped_labelled);
    assert_eq!(outcome["passed"], true, "expect 0.5 in the metric file");
    let category = by_id("issue_category");
    assert_eq!(
        (category["labelled"].as_u64(), category["correct"].as_u64()),
        (Some(63), Some(63))
    );
    let name = by_id("customer_name");
    // 33 names (28 STAR + 3 ABCD + … ) and 30 SGD `null` labels; 2 STAR names unknown.
    assert_eq!(
        (name["labelled"].as_u64(), name["correct"].as_u64()),
        (Some(61), Some(61))
    );
    let date = by_id("committed_date");
    assert_eq!(
        (date["labelled"].as_u64(), date["correct"].as_u64()),
        (Some(30), Some(30))
    );
}

// ---- stats, filter, convert ------------------------------------------------------------------

#[test]
fn stats_shows_distributions_and_crosstabs() {
    let dir = diff_dir();
    let out = dir
        .postcall()
        .args(["stats", "new.json", "--by", "outcome"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains("outcome (enum): 20 answers; mean confidence 0.74"),
        "{text}"
    );
    assert!(text.contains("  resolved      12  60.0%"), "{text}");
    assert!(text.contains("  abandoned      4  20.0%"), "{text}");
    assert!(
        text.contains("score (integer): 20 answers; mean confidence 0.90\n  mean 4.20, median 4, min 4, max 5"),
        "{text}"
    );
    assert!(
        text.contains("by outcome: resolved 12, escalated 4, abandoned 4"),
        "{text}"
    );
    assert!(text.contains("  abandoned      4        4  5.00       5"), "{text}");
    let out = dir
        .postcall()
        .args(["stats", "new.json", "--by", "score"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out).contains("split by an enum or boolean metric (outcome)"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn filter_prints_matching_calls_and_writes_a_subset() {
    let dir = diff_dir();
    let out = dir
        .postcall()
        .args([
            "filter",
            "new.json",
            "--where",
            "outcome=Abandoned",
            "--where",
            "score>=5",
            "-o",
            "sample.csv",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let text = stdout_of(&out);
    assert!(
        text.starts_with("call_id  source          outcome    score\n"),
        "{text}"
    );
    assert!(text.contains("c03      calls/c03.json  abandoned  5"), "{text}");
    assert_eq!(text.lines().count(), 2 + 4);
    assert!(stderr_of(&out).contains("4 of 20 calls match (20.0%)"));
    let csv = std::fs::read_to_string(dir.join("sample.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    assert!(
        csv.starts_with(
            "call_id,source,summary,outcome,score,errors,requests,prompt_tokens,cached_prompt_tokens,completion_tokens,cost_usd\n"
        ),
        "{csv}"
    );
}

#[test]
fn filter_explains_an_unknown_metric_or_value() {
    let dir = diff_dir();
    let out = dir
        .postcall()
        .args(["filter", "new.json", "--where", "outcom=x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr_of(&out)
            .contains("--where 'outcom=x': no metric `outcom` in the report; its metrics are: outcome, score"),
        "{}",
        stderr_of(&out)
    );
    let out = dir
        .postcall()
        .args(["filter", "new.json", "--where", "outcome=closed"])
        .output()
        .unwrap();
    assert!(stderr_of(&out).contains("not one of the choices of `outcome` (resolved, escalated, abandoned)"));
}

#[test]
fn convert_re_exports_without_the_model() {
    let dir = diff_dir();
    let out = dir
        .postcall()
        .args([
            "convert",
            "new.json",
            "-o",
            "out.csv",
            "-o",
            "out.jsonl",
            "--csv-detail",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let csv = std::fs::read_to_string(dir.join("out.csv")).unwrap();
    assert!(
        csv.starts_with("call_id,source,summary,outcome,outcome__status,outcome__confidence,outcome__reasoning,outcome__evidence,outcome__consistency,score,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 21);
    // Back from JSONL to JSON: the JSONL carried the header and the definitions.
    let out = dir
        .postcall()
        .args(["convert", "out.jsonl", "-o", "back.json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let back: Report = serde_json::from_str(&std::fs::read_to_string(dir.join("back.json")).unwrap()).unwrap();
    assert_eq!(back, report(4, &"a".repeat(64)));
}

#[test]
fn convert_of_an_old_jsonl_says_what_it_cannot_know() {
    let dir = TestDir::new();
    write_old_jsonl(&dir, "old.jsonl", &report(4, ""));
    let out = dir
        .postcall()
        .args(["convert", "old.jsonl", "-o", "back.json", "-o", "back.jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let err = stderr_of(&out);
    // Definitions come from the calls, with a warning…
    assert!(err.contains("carries no metric definitions"), "{err}");
    // …and no header is made up: the .json says null, the .jsonl stays calls only.
    assert!(err.contains("old.jsonl has no run header"), "{err}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("back.json")).unwrap()).unwrap();
    assert_eq!(json["postcall"], serde_json::Value::Null);
    let back: Report = serde_json::from_value(json).unwrap();
    assert_eq!(back.header, None);
    assert_eq!(back.calls, report(4, "").calls);
    assert_eq!(
        std::fs::read_to_string(dir.join("back.jsonl")).unwrap(),
        std::fs::read_to_string(dir.join("old.jsonl")).unwrap()
    );
    // The headerless .json reads back and diffs like the .jsonl it came from.
    let out = dir.postcall().args(["stats", "back.json"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(
        stdout_of(&out).contains("model and metric file unknown"),
        "{}",
        stdout_of(&out)
    );
}

#[test]
fn a_jsonl_report_keeps_its_model_hash_and_types_in_diff_eval_and_stats() {
    let dir = eval_dir();
    write_report(&dir, "new.json", &report(4, &"b".repeat(64)));
    let out = dir
        .postcall()
        .args(["convert", "new.json", "-o", "new.jsonl"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr_of(&out));
    let jsonl = std::fs::read_to_string(dir.join("new.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 22);
    assert_eq!(lines[0]["postcall"]["model"], "test");
    assert_eq!(lines[0]["metric_definitions"][0]["id"], "outcome");
    assert_eq!(lines[21]["postcall"]["metrics_sha256"], "b".repeat(64));
    assert!(lines[1..21].iter().all(|l| l["call_id"].is_string()));

    let shown = "new.jsonl — 20 calls, model test, metric file bbbbbbbbbbbb";
    let out = dir
        .postcall()
        .args(["diff", "report.json", "new.jsonl"])
        .output()
        .unwrap();
    let text = stdout_of(&out);
    assert!(text.contains(&format!("new : {shown}\n")), "{text}");
    assert!(text.contains("different metric files"), "{text}");
    let out = dir
        .postcall()
        .args(["eval", "new.jsonl", "--labels", "labels.csv"])
        .output()
        .unwrap();
    let (text, err) = (stdout_of(&out), stderr_of(&out));
    assert!(text.contains(&format!("report: {shown}\n")), "{text}");
    assert!(!err.contains("types are guessed"), "the definitions came along: {err}");
    assert!(
        text.contains("label \\ answer"),
        "an enum, with its confusion matrix: {text}"
    );
    let out = dir
        .postcall()
        .args(["stats", "new.jsonl", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["origin"]["model"], "test");
    assert_eq!(json["origin"]["metrics_sha256"], "b".repeat(64));
    assert_eq!(json["origin"]["complete"], true);
}

/// The metric sections of a rendering, in order: `id (type): …` lines in text, folded
/// `<summary><code>id</code>` lines in markdown.
fn section_ids(text: &str, markdown: bool) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            if markdown {
                let rest = line.strip_prefix("<details><summary><code>")?;
                Some(rest.split_once("</code>")?.0.to_string())
            } else {
                let (id, rest) = line.split_once(" (")?;
                let is_heading = !line.starts_with(' ') && rest.contains("): ") && !id.contains(' ');
                is_heading.then(|| id.to_string())
            }
        })
        .collect()
}

#[test]
fn text_and_markdown_of_diff_and_eval_have_the_same_sections_in_the_same_order() {
    let dir = eval_dir();
    write_report(&dir, "new.json", &report(4, &"b".repeat(64)));
    for args in [
        &["diff", "report.json", "new.json"][..],
        &["eval", "new.json", "--labels", "labels.csv"][..],
    ] {
        let render = |format: &str| {
            let out = dir.postcall().args(args).args(["--format", format]).output().unwrap();
            stdout_of(&out)
        };
        let (text, markdown) = (render("text"), render("markdown"));
        let ids = section_ids(&text, false);
        assert_eq!(ids, ["outcome", "score"], "{text}");
        assert_eq!(section_ids(&markdown, true), ids, "{markdown}");
        // Summary table, then what was compared, then the sections, then the verdict.
        for (name, out, facts) in [("text", &text, "\nbase: "), ("markdown", &markdown, "\n- base: ")] {
            let facts = if args[0] == "eval" {
                facts.replace("base", "report")
            } else {
                facts.to_string()
            };
            let table = out.find("metric").unwrap();
            let facts = out.find(&facts).unwrap_or_else(|| panic!("{name}: {out}"));
            let first = out
                .find("outcome (enum): ")
                .or(out.find("<code>outcome</code>"))
                .unwrap();
            let verdict = out.rfind("ok: ").or(out.rfind("FAIL: ")).or(out.rfind("no ")).unwrap();
            assert!(table < facts && facts < first && first < verdict, "{name}: {out}");
        }
    }
}
