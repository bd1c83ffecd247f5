//! Reports read back: a CSV report as `eval`'s labels, what each reader says about a CSV
//! report, and `filter`'s counts under `--limit`.

use indexmap::IndexMap;
use postcall::report::{CallResult, MetricResult, Report, Usage, Value};
use postcall::spec::{Metric, MetricKind};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

use crate::common::TestDir;
use crate::run::{SPEC, dir_with_calls};

fn metric(id: &str, kind: MetricKind, applies_when: Option<&str>) -> Metric {
    Metric {
        applies_when: applies_when.map(String::from),
        ..Metric::new(id, kind, format!("What is the {id}?"))
    }
}

fn ok(value: Value) -> MetricResult {
    MetricResult::Ok {
        value,
        confidence: Some(0.9),
        reasoning: Some("because".into()),
        grounds: Default::default(),
    }
}

const NULL: MetricResult = MetricResult::Null {
    confidence: None,
    reasoning: None,
    grounds: postcall::report::Grounds::NONE,
};
const NOT_APPLICABLE: MetricResult = MetricResult::NotApplicable {
    confidence: None,
    reasoning: None,
    grounds: postcall::report::Grounds::NONE,
};

/// Calls whose ids and texts a spreadsheet would take for formulas or for reserved cells,
/// and answers of every status that has a label.
fn tricky_report() -> Report {
    let outcome = MetricKind::Enum {
        choices: vec!["resolved".into(), "escalated".into()],
    };
    let calls = [
        (
            "=1+1",
            ok(Value::Text("resolved".into())),
            ok(Value::Text("=SUM(A1)".into())),
            ok(Value::Int(3)),
        ),
        ("+44 20 7946 0000", NULL, ok(Value::Text("null".into())), NULL),
        ("-c3", NOT_APPLICABLE, ok(Value::Text("N/A".into())), ok(Value::Int(-2))),
        ("@d4", ok(Value::Text("escalated".into())), NULL, NOT_APPLICABLE),
        (
            "'quoted",
            ok(Value::Text("resolved".into())),
            ok(Value::Text("'=x".into())),
            ok(Value::Int(1)),
        ),
        ("null", NULL, ok(Value::Text("-5 dollars".into())), ok(Value::Int(0))),
    ];
    Report {
        header: None,
        metrics: vec![
            metric("outcome", outcome, Some("The call had an outcome.")),
            metric("name", MetricKind::String, None),
            metric("score", MetricKind::Integer { range: None }, Some("A score was given.")),
        ],
        calls: calls
            .into_iter()
            .map(|(id, outcome, name, score)| CallResult {
                call_id: id.into(),
                call: None,
                source: format!("calls/{}.json", id.len()),
                format: postcall::transcript::Format::Generic,
                summary: None,
                metrics: IndexMap::from([
                    ("outcome".to_string(), outcome),
                    ("name".to_string(), name),
                    ("score".to_string(), score),
                ]),
                errors: vec![],
                truncated: None,
                skipped: None,
                usage: Usage::default(),
                cost_usd: None,
            })
            .collect(),
    }
}

#[test]
fn a_csv_report_is_a_labels_file_that_agrees_with_its_report_on_every_answer() {
    let dir = TestDir::new();
    dir.write("report.json", serde_json::to_vec_pretty(&tricky_report()).unwrap());
    let out = dir
        .postcall()
        .args(["convert", "report.json", "-o", "report.csv"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = std::fs::read_to_string(dir.join("report.csv")).unwrap();
    assert!(
        csv.contains("'+44 20 7946 0000,calls/16.json,,null,'null,null,"),
        "{csv}"
    );
    assert!(csv.contains("'-c3,calls/3.json,,not_applicable,'N/A,-2,"), "{csv}");
    let out = dir
        .postcall()
        .args(["eval", "report.json", "--labels", "report.csv", "--format", "json"])
        .args(["--min-accuracy", "1"])
        .output()
        .unwrap();
    let json = eval_json(&out);
    assert_eq!(json["matched_calls"], 6, "{json:#}");
    for metric in json["metrics"].as_array().unwrap() {
        assert_eq!(metric["labelled"], 6, "every answer is a label: {metric:#}");
        assert_eq!(metric["correct"], 6, "{metric:#}");
    }
}

#[test]
fn the_csv_a_run_writes_is_the_csv_convert_writes_and_reads_back_as_its_labels() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 12);
    for (n, id) in ["=HYPERLINK(\\\"x\\\")", "+1 555 0100", "-neg", "@at"]
        .iter()
        .enumerate()
    {
        dir.write(
            &format!("calls/evil-{n}.json"),
            format!(r#"{{"call_id": "{id}", "transcript": [{{"role": "agent", "content": "Hello {n}"}}, {{"role": "user", "content": "Bye"}}]}}"#),
        );
    }
    dir.run_against(&fake)
        .args(["-o", "r.json", "-o", "r.csv", "--no-cache", "--quiet"])
        .assert()
        .success();
    dir.postcall()
        .args(["convert", "r.json", "-o", "converted.csv"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read_to_string(dir.join("r.csv")).unwrap(),
        std::fs::read_to_string(dir.join("converted.csv")).unwrap()
    );
    let out = dir
        .postcall()
        .args([
            "eval",
            "r.json",
            "--labels",
            "r.csv",
            "--format",
            "json",
            "--min-accuracy",
            "1",
        ])
        .output()
        .unwrap();
    let json = eval_json(&out);
    assert_eq!(json["matched_calls"], 16, "{json:#}");
    let verified = json["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == "caller_verified")
        .unwrap();
    assert_eq!(
        verified["labelled"], 16,
        "not-applicable answers are labels: {verified:#}"
    );
}

#[test]
fn every_reader_of_reports_says_what_to_do_with_a_csv_report() {
    let dir = TestDir::new();
    dir.write("report.json", serde_json::to_vec_pretty(&tricky_report()).unwrap());
    dir.postcall()
        .args(["convert", "report.json", "-o", "report.csv"])
        .assert()
        .success();
    std::fs::copy(dir.join("report.csv"), dir.join("report.txt")).unwrap();
    for path in ["report.csv", "report.txt"] {
        let commands: [Vec<&str>; 5] = [
            vec!["stats", path],
            vec!["diff", "report.json", path],
            vec!["eval", path, "--labels", "report.csv"],
            vec!["filter", path, "--where", "outcome=resolved"],
            vec!["convert", path, "-o", "out.json"],
        ];
        for args in commands {
            let out = dir.postcall().args(&args).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("{path} is a CSV report"))
                    && stderr.contains(".json or .jsonl")
                    && stderr.contains(&format!("--labels {path}")),
                "{args:?}: {stderr}"
            );
            assert!(!stderr.contains("line 1"), "a JSON parse error: {stderr}");
        }
    }
    assert!(!dir.join("out.json").exists());
}

#[test]
fn filter_with_a_limit_counts_every_match_and_says_how_many_it_shows() {
    let dir = TestDir::new();
    let mut report = tricky_report();
    let template = report.calls[0].clone();
    report.calls = (0..16)
        .map(|i| CallResult {
            call_id: format!("c{i:02}"),
            call: None,
            metrics: IndexMap::from([(
                "outcome".to_string(),
                ok(Value::Text(if i < 12 { "resolved" } else { "escalated" }.into())),
            )]),
            ..template.clone()
        })
        .collect();
    dir.write("report.json", serde_json::to_vec_pretty(&report).unwrap());
    let out = dir
        .postcall()
        .args(["filter", "report.json", "--where", "outcome=resolved", "--limit", "3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("12 of 16 calls match (75.0%) (showing 3)"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2 + 3);
    let out = dir
        .postcall()
        .args(["filter", "report.json", "--where", "outcome=resolved"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("12 of 16 calls match (75.0%)\n"), "{stderr}");
}

/// The JSON `eval --format json` printed, after checking it exited 0.
fn eval_json(out: &std::process::Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).unwrap()
}
