//! `postcall run` end to end against the fake endpoint on 127.0.0.1.

use std::path::Path;

use postcall::prompt::{PromptOptions, render_transcript};
use postcall::report::{MetricResult, Report, StopReason, Value};
use postcall::transcript::{Catalog, LoadOptions};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer, Refuse, fake_answer, transcript_in};

use crate::common::{MODEL, TestDir, recording_fake, refusing_fake};

/// Every metric type, a condition, a summary.
pub const SPEC: &str = r#"version: 1
strategy: per_call
context: Calls to Northwind Home's support line.
summary:
  prompt: Summarize the call in two sentences.
metrics:
  - id: call_outcome
    type: enum
    choices: [resolved, escalated, transferred, abandoned, callback_scheduled]
    prompt: What was the outcome of this call?
    required: true
  - id: satisfaction_score
    type: integer
    range: [1, 5]
    prompt: Rate the customer's apparent satisfaction from 1 to 5.
  - id: refund_amount
    type: number
    range: [0, 1000]
    prompt: How much money, in dollars, was refunded to the customer?
  - id: follow_up_needed
    type: boolean
    prompt: Did the agent commit to any follow-up action after the call?
  - id: customer_name
    type: string
    prompt: What is the customer's full name, as they gave it?
  - id: promised_date
    type: datetime
    prompt: By what date did the agent promise the refund would arrive?
  - id: mentioned_issues
    type: list
    prompt: List each distinct problem the customer reported on the call.
  - id: channels_offered
    type: list
    choices: [email, sms, phone, letter]
    prompt: Which contact channels did the agent offer for updates?
  - id: caller_verified
    type: boolean
    prompt: Was the caller verified with at least two identifying details?
    applies_when: The agent tried to verify the caller's identity.
"#;

/// Writes `n` calls in the generic format, each with its own wording.
pub fn write_calls(dir: &TestDir, n: usize) {
    for i in 0..n {
        let call = serde_json::json!({
            "call_id": format!("call-{i:04}"),
            "transcript": [
                {"role": "agent", "content": format!("Thanks for calling Northwind, this is agent {i}. How can I help?")},
                {"role": "user", "content": format!("Hi, my order {} never arrived and I want a refund.", 100000 + i * 7)},
                {"role": "agent", "content": format!("I've issued refund number {i}; you'll see it within {} days.", i % 9 + 1)},
                {"role": "user", "content": "Thanks, bye."}
            ]
        });
        dir.write(
            &format!("calls/{:02}/call-{i:04}.json", i % 7),
            serde_json::to_vec_pretty(&call).unwrap(),
        );
    }
}

/// A test directory with `spec` as `metrics.yaml` and `n` calls (see [`write_calls`]).
pub fn dir_with_calls(spec: &str, n: usize) -> TestDir {
    let dir = TestDir::new();
    dir.write("metrics.yaml", spec);
    write_calls(&dir, n);
    dir
}

pub fn read_json_report(path: &Path) -> Report {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}\n{text}", path.display()))
}

/// What the fake endpoint answers for each call, keyed by call id: (metric id → answer).
pub fn expected_answers(
    dir: &TestDir,
    schema: &serde_json::Value,
) -> std::collections::HashMap<String, serde_json::Value> {
    let catalog = Catalog::scan(&[dir.join("calls")], &LoadOptions::default());
    assert!(catalog.errors.is_empty(), "{:?}", catalog.errors);
    (0..catalog.entries.len())
        .map(|i| {
            let call = catalog.load(i, &LoadOptions::default()).unwrap();
            let rendered = render_transcript(&call, PromptOptions::default(), None);
            (call.id.clone(), fake_answer(schema, transcript_in(&rendered)))
        })
        .collect()
}

pub fn full_schema(dir: &TestDir) -> serde_json::Value {
    let out = dir.postcall().args(["schema", "-m", "metrics.yaml"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Asserts every value in the report is exactly what the endpoint gave for that call.
pub fn assert_values_match(report: &Report, expected: &std::collections::HashMap<String, serde_json::Value>) {
    assert_eq!(report.calls.len(), expected.len());
    for call in &report.calls {
        let answer = &expected[&call.call_id];
        assert!(call.errors.is_empty(), "{}: {:?}", call.call_id, call.errors);
        assert_eq!(call.summary.as_deref(), answer["summary"].as_str(), "{}", call.call_id);
        for (id, result) in &call.metrics {
            let want = &answer[id];
            match result {
                MetricResult::Ok {
                    value,
                    confidence,
                    reasoning,
                    grounds,
                } => {
                    let want_value: Value = serde_json::from_value(want["value"].clone()).unwrap();
                    assert_eq!(value, &want_value, "{} {id}", call.call_id);
                    assert_eq!(*confidence, want["confidence"].as_f64(), "{} {id}", call.call_id);
                    assert_eq!(reasoning.as_deref(), want["reasoning"].as_str());
                    // Every metric asks for evidence; the fake quotes exactly, so all verify.
                    let quotes: Vec<(Option<u64>, &str)> = grounds
                        .evidence
                        .iter()
                        .map(|e| (e.turn.map(|t| t as u64), e.quote.as_str()))
                        .collect();
                    let want_quotes: Vec<(Option<u64>, &str)> = want["evidence"]
                        .as_array()
                        .expect("the fake cites evidence")
                        .iter()
                        .map(|q| (q["turn"].as_u64(), q["quote"].as_str().unwrap()))
                        .collect();
                    assert_eq!(quotes, want_quotes, "{} {id}", call.call_id);
                    assert!(grounds.evidence.iter().all(|e| e.verified) && !grounds.evidence_unverified);
                }
                MetricResult::NotApplicable { .. } => assert_eq!(want["applicable"], false, "{} {id}", call.call_id),
                MetricResult::Null { .. } => assert!(
                    want["value"].is_null() || want["value"] == "",
                    "{} {id}: {want}",
                    call.call_id
                ),
                MetricResult::Invalid { reason, raw } => panic!("{} {id} invalid: {reason} ({raw})", call.call_id),
            }
        }
        assert_eq!(call.metrics.len(), 9, "{}", call.call_id);
    }
}

#[test]
fn every_value_is_the_one_the_endpoint_gave_for_that_transcript_in_every_mode() {
    let fake = recording_fake();
    let dir = dir_with_calls(SPEC, 40);
    let expected = expected_answers(&dir, &full_schema(&dir));
    for strategy in ["per_call", "per_metric"] {
        for mode in ["json_schema", "json_object", "tools", "prompt"] {
            let out = format!("{strategy}-{mode}.json");
            let assert = dir
                .run_at(&fake.base_url(), "test-model")
                .args(["-o", &out, "--concurrency", "32", "--no-cache", "--quiet"])
                .args(["--strategy", strategy, "--structured-output", mode])
                .assert();
            let output = assert.get_output();
            assert!(
                output.status.success(),
                "{strategy}/{mode}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let report = read_json_report(&dir.join(&out));
            assert_values_match(&report, &expected);
            assert_eq!(
                report.header.as_ref().expect("a run header").strategy.to_string(),
                strategy
            );
            let per_call = if strategy == "per_call" { 1 } else { 10 };
            assert_eq!(
                report.header.as_ref().expect("a run header").usage.requests,
                40 * per_call,
                "{strategy}/{mode}"
            );
        }
    }
}

#[test]
fn the_request_carries_the_schema_temperature_and_model_configured() {
    let fake = recording_fake();
    let dir = dir_with_calls(SPEC, 2);
    dir.run_at(&fake.base_url(), "gpt-test-mini")
        .args(["-o", "r.json", "--no-cache", "--quiet"])
        .args(["--temperature", "0.3", "--llm-seed", "42"])
        .assert()
        .success();
    // The fake endpoint is a grammar endpoint (OpenAI-compatible, not OpenAI's strict mode):
    // its schema carries the answer limits.
    let out = dir
        .postcall()
        .args(["schema", "-m", "metrics.yaml", "--schema-dialect", "grammar"])
        .output()
        .unwrap();
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let recorded = fake.recorded();
    assert_eq!(recorded.len(), 2);
    for request in recorded {
        assert_eq!(request.path, "/v1/chat/completions");
        assert_eq!(request.body["model"], "gpt-test-mini");
        assert_eq!(request.body["temperature"], 0.3);
        assert_eq!(request.body["seed"], 42);
        assert_eq!(request.body["response_format"]["type"], "json_schema");
        assert_eq!(request.body["response_format"]["json_schema"]["strict"], true);
        assert_eq!(request.body["response_format"]["json_schema"]["schema"], schema);
        let system = request.body["messages"][0]["content"].as_str().unwrap();
        assert!(system.contains("Northwind Home"), "context is in the system message");
        assert!(system.contains("untrusted"), "the transcript is labelled untrusted");
    }
}

#[test]
fn malformed_answers_are_re_asked_and_end_ok() {
    let fake = FakeServer::start(FakeConfig {
        rate_malformed: 1.0,
        record: true,
        ..Default::default()
    })
    .unwrap();
    let dir = dir_with_calls(SPEC, 12);
    let expected = expected_answers(&dir, &full_schema(&dir));
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--concurrency", "4"])
        .assert()
        .success();
    let report = read_json_report(&dir.join("r.json"));
    assert_values_match(&report, &expected);
    // Every call needed exactly one re-ask, which carried the validator's message.
    assert_eq!(report.header.as_ref().expect("a run header").usage.requests, 24);
    let reasks: Vec<_> = fake
        .recorded()
        .into_iter()
        .filter(|r| r.body["messages"].as_array().unwrap().len() == 4)
        .collect();
    assert_eq!(reasks.len(), 12);
    let follow_up = reasks[0].body["messages"][3]["content"].as_str().unwrap();
    assert!(
        follow_up.contains("not valid") || follow_up.contains("JSON"),
        "{follow_up}"
    );
}

#[test]
fn answers_still_invalid_after_the_last_re_ask_keep_reason_and_raw_and_strict_exits_3() {
    let fake = FakeServer::start(FakeConfig {
        rate_malformed: 1.0,
        ..Default::default()
    })
    .unwrap();
    let dir = dir_with_calls(SPEC, 8);
    let output = dir
        .run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--max-reask", "0", "--strict"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = read_json_report(&dir.join("r.json"));
    let invalid: Vec<(&str, &str)> = report
        .calls
        .iter()
        .flat_map(|c| c.metrics.values())
        .filter_map(|m| match m {
            MetricResult::Invalid { reason, raw } => Some((reason.as_str(), raw.as_str())),
            _ => None,
        })
        .collect();
    assert!(!invalid.is_empty());
    assert!(
        invalid
            .iter()
            .all(|(reason, raw)| !reason.is_empty() && !raw.is_empty())
    );
    assert!(report.header.as_ref().expect("a run header").invalid_values >= invalid.len());
    // The non-JSON answer is kept verbatim.
    assert!(invalid.iter().any(|(_, raw)| raw.contains("I'm sorry")), "{invalid:?}");
}

#[test]
fn the_csv_parses_back_to_the_report_values_and_no_cell_is_a_formula() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 10);
    // A call id that a spreadsheet would evaluate.
    dir.write("calls/evil.json", r#"{"call_id": "=HYPERLINK(\"http://x\")", "transcript": [{"role": "agent", "content": "Hello"}, {"role": "user", "content": "@SUM(1,2) is my name"}]}"#);
    dir.run_against(&fake)
        .args(["-o", "r.json", "-o", "r.csv", "--no-cache", "--quiet"])
        .assert()
        .success();
    let report = read_json_report(&dir.join("r.json"));
    let mut reader = csv::Reader::from_path(dir.join("r.csv")).unwrap();
    let headers = reader.headers().unwrap().clone();
    let ids: Vec<&str> = headers.iter().collect();
    assert_eq!(&ids[..3], ["call_id", "source", "summary"]);
    assert_eq!(
        &ids[3..12],
        [
            "call_outcome",
            "satisfaction_score",
            "refund_amount",
            "follow_up_needed",
            "customer_name",
            "promised_date",
            "mentioned_issues",
            "channels_offered",
            "caller_verified"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), report.calls.len());
    for (row, call) in rows.iter().zip(&report.calls) {
        let id = row.get(0).unwrap();
        assert_eq!(id.trim_start_matches('\''), call.call_id);
        for (col, metric) in ids.iter().enumerate().skip(3).take(9) {
            let cell = row.get(col).unwrap();
            let want = match call.metrics.get(*metric) {
                Some(MetricResult::Null { .. }) => "null".to_string(),
                Some(MetricResult::NotApplicable { .. }) => "not_applicable".to_string(),
                other => other.and_then(|m| m.value()).map(|v| v.display()).unwrap_or_default(),
            };
            assert_eq!(cell.trim_start_matches('\''), want, "{} {metric}", call.call_id);
        }
        for cell in row.iter() {
            let numeric = cell.parse::<f64>().is_ok();
            assert!(
                numeric || !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "formula-like cell {cell:?}"
            );
        }
    }
    assert!(rows.iter().any(|r| r.get(0) == Some("'=HYPERLINK(\"http://x\")")));
}

#[test]
fn the_api_key_appears_nowhere() {
    const KEY: &str = "sk-test-SECRET-0123456789abcdef";
    let fake = refusing_fake(Refuse::Auth);
    let dir = dir_with_calls(SPEC, 5);
    let output = dir
        .run_against(&fake)
        .env("OPENAI_API_KEY", KEY)
        .args(["-o", "r.json", "-o", "r.csv", "-o", "r.jsonl", "--no-cache"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("401") && stderr.contains("[REDACTED]"), "{stderr}");
    let mut everything = String::from_utf8_lossy(&output.stdout).to_string() + &stderr;
    for f in ["r.json", "r.csv", "r.jsonl"] {
        everything += &std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    }
    assert!(
        !everything.contains(KEY) && !everything.contains("SECRET-0123456789"),
        "key leaked"
    );
}

#[test]
fn a_refusal_stops_the_run_after_at_most_concurrency_requests() {
    for (refuse, words) in [
        (Refuse::Auth, "check the API key"),
        (Refuse::Quota, "quota"),
        (Refuse::ModelNotFound, "does not exist"),
        (Refuse::SchemaUnsupported, "--structured-output json_object"),
    ] {
        let fake = refusing_fake(refuse);
        let dir = dir_with_calls(SPEC, 60);
        let (output, stderr) = dir.run_output(&fake, &["-o", "r.json", "--no-cache", "--concurrency", "4"]);
        assert_eq!(output.status.code(), Some(1), "{refuse:?}: {stderr}");
        assert!(fake.requests() <= 4, "{refuse:?}: {} requests", fake.requests());
        assert!(stderr.contains(words), "{refuse:?}: {stderr}");
        assert_eq!(
            stderr.matches("refused the request").count(),
            1,
            "one message, not one per call: {stderr}"
        );
        // What finished (nothing) is beside the destination, which a stopped run never writes.
        assert!(!dir.join("r.json").exists());
        let report = read_json_report(&dir.join("r.json.partial"));
        let header = report.header.as_ref().expect("a run header");
        assert!(!header.complete);
        assert_eq!(header.stopped, Some(StopReason::EndpointRefused));
    }
}

#[test]
fn after_a_refusal_the_summary_counts_the_requests_sent_and_says_the_endpoint_stopped_the_run() {
    let fake = refusing_fake(Refuse::Auth);
    let dir = dir_with_calls(SPEC, 12);
    let (_, stderr) = dir.run_output(&fake, &["-o", "r.json", "--no-cache", "--concurrency", "4"]);
    let sent = fake.requests();
    assert!(sent >= 1, "{stderr}");
    assert!(
        stderr.contains(&format!("requests           {sent}\n")),
        "the summary counts the {sent} refused requests: {stderr}"
    );
    assert!(
        stderr.contains("not done           12 (stopped: endpoint refused)"),
        "{stderr}"
    );
    assert!(!stderr.contains("interrupted"), "{stderr}");
    let report = read_json_report(&dir.join("r.json.partial"));
    assert_eq!(report.header.expect("a run header").usage.requests, sent);
}

#[test]
fn a_second_run_answers_from_the_cache_and_sends_nothing() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 15);
    let run = |out: &str| {
        dir.run_against(&fake).args(["-o", out, "--quiet"]).assert().success();
    };
    run("first.json");
    assert_eq!(fake.requests(), 15);
    run("second.json");
    assert_eq!(fake.requests(), 15, "the warm run sent requests");
    let (first, second) = (
        read_json_report(&dir.join("first.json")),
        read_json_report(&dir.join("second.json")),
    );
    assert_eq!(
        first.calls.iter().map(|c| &c.metrics).collect::<Vec<_>>(),
        second.calls.iter().map(|c| &c.metrics).collect::<Vec<_>>()
    );
    assert_eq!(second.header.as_ref().expect("a run header").usage.cached, 15);
    assert_eq!(second.header.as_ref().expect("a run header").usage.requests, 0);
}

#[test]
fn dry_run_sends_nothing_and_estimates() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 6);
    let output = dir
        .run_against(&fake)
        .args(["--dry-run", "--price", "0.15,0.60", "--strategy", "per_metric"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("requests        60 to send, 0 answered from the cache"),
        "{stdout}"
    );
    assert!(stdout.contains("cost            ~$"), "{stdout}");
    assert_eq!(fake.requests(), 0);
}

#[test]
fn a_dry_run_of_a_fully_cached_re_run_estimates_nothing_to_send_and_no_cost() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 4);
    let dry = |extra: &[&str]| {
        let output = dir
            .run_against(&fake)
            .args(["--dry-run", "--price", "0.15,0.60", "--strategy", "per_metric"])
            .args(extra)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let before = dry(&[]);
    assert!(
        before.contains("requests        40 to send, 0 answered from the cache"),
        "{before}"
    );
    assert!(!dir.join(".postcall").exists(), "a dry run creates no cache");
    dir.run_against(&fake)
        .args(["-o", "r.json", "--quiet", "--strategy", "per_metric", "--limit", "1"])
        .assert()
        .success();
    let partly = dry(&[]);
    assert!(
        partly.contains("requests        30 to send, 10 answered from the cache"),
        "{partly}"
    );
    dir.run_against(&fake)
        .args(["-o", "r.json", "--quiet", "--strategy", "per_metric"])
        .assert()
        .success();
    let sent = fake.requests();
    let after = dry(&[]);
    assert!(
        after.contains("requests        0 to send, 40 answered from the cache"),
        "{after}"
    );
    assert!(after.contains("input tokens    ~0 "), "{after}");
    assert!(after.contains("cost            ~$0.0000 at $0.15/$0.6"), "{after}");
    // --refresh and --no-cache ask everything again: the estimate says so.
    for flag in ["--refresh", "--no-cache"] {
        assert!(
            dry(&[flag]).contains("requests        40 to send, 0 answered"),
            "{flag}"
        );
    }
    assert_eq!(fake.requests(), sent, "a dry run sends nothing");
}

#[test]
fn a_dry_run_with_no_endpoint_configured_prices_with_the_price_given() {
    let dir = dir_with_calls(SPEC, 2);
    let output = dir
        .run_unconfigured()
        .args(["--dry-run", "--price", "0.15,0.60"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("cost            ~$0.0"), "{stdout}");
    assert!(stdout.contains("at $0.15/$0.6 per million"), "{stdout}");
    assert!(
        !stdout.contains("cost unknown") && !stdout.contains("pass --price"),
        "{stdout}"
    );
}

#[test]
fn limit_and_sample_run_a_subset() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 20);
    dir.run_against(&fake)
        .args(["-o", "a.json", "--no-cache", "--quiet", "--sample", "5", "--seed", "3"])
        .assert()
        .success();
    dir.run_against(&fake)
        .args(["-o", "b.json", "--no-cache", "--quiet", "--limit", "3"])
        .assert()
        .success();
    assert_eq!(read_json_report(&dir.join("a.json")).calls.len(), 5);
    let b = read_json_report(&dir.join("b.json"));
    assert_eq!(
        b.calls.iter().map(|c| c.call_id.as_str()).collect::<Vec<_>>(),
        ["call-0000", "call-0007", "call-0014"]
    );
}

#[test]
fn a_bad_output_path_fails_before_any_request() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 3);
    let output = dir
        .run_against(&fake)
        .args(["-o", "no/such/dir/r.csv", "--no-cache"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no/such/dir/r.csv"));
    assert_eq!(fake.requests(), 0);
}

#[test]
fn no_endpoint_configured_names_both_ways_forward() {
    let dir = dir_with_calls(SPEC, 1);
    let output = dir
        .postcall()
        .args(["run", "-m", "metrics.yaml", "calls"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--base-url") && stderr.contains("install-local-model.sh"),
        "{stderr}"
    );
}

#[test]
fn an_endpoint_that_is_down_from_the_start_stops_the_run_with_one_message() {
    // A port nothing listens on: bind, note the port, close.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = dir_with_calls(SPEC, 30);
    let started = std::time::Instant::now();
    let output = dir
        .run_at(&format!("http://127.0.0.1:{port}/v1"), MODEL)
        .args(["-o", "r.json", "--no-cache", "--max-retries", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is the server running"), "{stderr}");
    assert_eq!(stderr.matches("refused the request").count(), 1, "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    let report = read_json_report(&dir.join("r.json.partial"));
    assert!(!report.header.as_ref().expect("a run header").complete);
}

#[test]
fn a_limit_reads_no_further_than_its_calls_and_a_whole_run_reports_what_it_skipped() {
    let dir = dir_with_calls(SPEC, 200);
    // Sorts after every call: only a run that reads the whole archive sees it.
    dir.write("calls/zz-broken.json", "{ not json");
    let fake = FakeServer::start(FakeConfig::default()).unwrap();

    let (out, stderr) = dir.run_output(&fake, &["--limit", "5", "-o", "five.json"]);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("zz-broken"), "{stderr}");
    let five = read_json_report(&dir.join("five.json"));
    assert_eq!(five.calls.len(), 5);
    let header = five.header.unwrap();
    assert_eq!(header.archive.map(|a| a.calls), Some(5));
    assert!(header.input_errors.is_empty() && header.complete);
    assert_eq!(fake.requests(), 5);

    let (out, stderr) = dir.run_output(&fake, &["-o", "all.json"]);
    assert_eq!(out.status.code(), Some(1), "an input error: {stderr}");
    assert!(stderr.contains("zz-broken.json"), "{stderr}");
    let all = read_json_report(&dir.join("all.json"));
    assert_eq!(all.calls.len(), 200);
    let header = all.header.unwrap();
    assert_eq!(header.archive.map(|a| a.calls), Some(200));
    assert_eq!(header.input_errors.len(), 1);
    assert!(header.input_errors[0].source.ends_with("zz-broken.json"));
    // The first five are the limited run's, answered from the cache.
    assert_eq!(
        all.calls[..5].iter().map(|c| &c.call_id).collect::<Vec<_>>(),
        five.calls.iter().map(|c| &c.call_id).collect::<Vec<_>>()
    );
    assert_eq!(fake.requests(), 200);
}
