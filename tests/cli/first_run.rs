//! Issue 10 and issue 11 (items 1–2) against the fake endpoint: bounded answers in the
//! request body where the endpoint's grammar enforces them and in the prompt where it
//! cannot, a budget per request, a cut-off answer kept and only its rest re-asked, a
//! missing summary re-asked and never cached, and a re-asked answer found again by the
//! first request's key.

use postcall::report::{MetricResult, Report};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer, cut_off, fake_answer, prompt_text, transcript_in};
use serde_json::Value;

use crate::run::{SPEC, assert_values_match, dir_with_calls, expected_answers, full_schema, read_json_report};

fn recording(config: FakeConfig) -> FakeServer {
    FakeServer::start(FakeConfig { record: true, ..config }).unwrap()
}

fn schema_of(body: &Value) -> &Value {
    &body["response_format"]["json_schema"]["schema"]
}

fn metric_ids(schema: &Value) -> Vec<String> {
    schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "summary")
        .cloned()
        .collect()
}

#[test]
fn a_grammar_endpoint_gets_the_bounds_in_the_schema_and_a_strict_one_in_the_prompt() {
    let dir = dir_with_calls(SPEC, 1);
    // A server on 127.0.0.1 is OpenAI-compatible, so a grammar endpoint by default.
    let fake = recording(FakeConfig::default());
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet"])
        .args(["--answer-limits", "reasoning=90,summary=200,text=50,items=4"])
        .assert()
        .success();
    let body = fake.recorded()[0].body.clone();
    let schema = schema_of(&body);
    let p = &schema["properties"];
    assert_eq!(p["call_outcome"]["properties"]["reasoning"]["maxLength"], 90);
    assert_eq!(p["summary"]["maxLength"], 200);
    assert_eq!(p["customer_name"]["properties"]["value"]["maxLength"], 50);
    let issues = &p["mentioned_issues"]["properties"]["value"];
    assert_eq!(
        (&issues["maxItems"], &issues["items"]["maxLength"]),
        (&4.into(), &50.into())
    );
    // A multi-select may hold every choice, and no more.
    assert_eq!(p["channels_offered"]["properties"]["value"]["maxItems"], 4);

    let fake = recording(FakeConfig::default());
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--schema-dialect", "strict"])
        .args(["--answer-limits", "reasoning=90,summary=200,text=50,items=4"])
        .assert()
        .success();
    let body = fake.recorded()[0].body.clone();
    let text = schema_of(&body).to_string();
    assert!(!text.contains("maxLength") && !text.contains("maxItems"), "{text}");
    assert_eq!(
        schema_of(&body),
        &full_schema(&dir),
        "the strict schema is what `schema` prints"
    );
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(
        system.contains("at most 90 characters") && system.contains("at most 200 characters"),
        "{system}"
    );
}

#[test]
fn max_tokens_auto_sends_a_budget_sized_to_each_request() {
    let dir = dir_with_calls(SPEC, 1);
    let fake = recording(FakeConfig::default());
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--max-tokens", "auto"])
        .assert()
        .success();
    let per_call = fake.recorded()[0].body["max_tokens"].as_u64().unwrap();
    let fake = recording(FakeConfig::default());
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--max-tokens", "auto"])
        .args(["--strategy", "per_metric"])
        .assert()
        .success();
    let per_metric: Vec<u64> = fake
        .recorded()
        .iter()
        .map(|r| r.body["max_tokens"].as_u64().unwrap())
        .collect();
    // Nine metrics with their evidence and a summary take a few hundred tokens each way;
    // one metric far fewer.
    assert!((300..2000).contains(&per_call), "{per_call}");
    assert!(
        per_metric.iter().all(|&m| m < per_call / 3),
        "{per_metric:?} vs {per_call}"
    );
}

/// Issue 10: a cut-off answer (`finish_reason: length`) keeps the metrics it completed,
/// re-asks only the rest with more room, and is never read as one metric's inner object.
#[test]
fn a_cut_off_answer_keeps_its_complete_metrics_and_re_asks_only_the_rest() {
    let dir = dir_with_calls(SPEC, 6);
    let expected = expected_answers(&dir, &full_schema(&dir));
    // Cut off whenever it is given less than 2,500 tokens: the first ask's budget is less,
    // twice what the rest needs is more.
    let fake = recording(FakeConfig {
        rate_cut_off: 1.0,
        cut_off_below: 2500,
        ..Default::default()
    });
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--max-tokens", "auto"])
        .assert()
        .success();
    let report = read_json_report(&dir.join("r.json"));
    assert_values_match(&report, &expected);
    assert_eq!(
        report.header.as_ref().unwrap().usage.cut_off,
        6,
        "the report counts the cut-offs"
    );
    let recorded = fake.recorded();
    assert_eq!(recorded.len(), 12, "one ask and one re-ask per call");
    let firsts: Vec<&Value> = recorded
        .iter()
        .map(|r| &r.body)
        .filter(|b| metric_ids(schema_of(b)).len() == 9)
        .collect();
    assert_eq!(firsts.len(), 6);
    let first_budget = firsts[0]["max_tokens"].as_u64().unwrap();
    assert!(first_budget < 2500, "{first_budget}");
    for body in recorded.iter().map(|r| &r.body) {
        if firsts.contains(&body) {
            continue;
        }
        let ids = metric_ids(schema_of(body));
        assert!(
            !ids.contains(&"call_outcome".to_string()),
            "the complete metric is not asked again"
        );
        assert_eq!(ids.len(), 8, "{ids:?}");
        assert!(schema_of(body)["properties"].get("summary").is_some());
        // Asked afresh (the loop is not sent back), with more room than the first ask.
        assert_eq!(body["messages"].as_array().unwrap().len(), 2);
        assert!(
            body["max_tokens"].as_u64().unwrap() > first_budget,
            "{}",
            body["max_tokens"]
        );
    }

    // Without a re-ask the rest stays invalid, its `raw` the text the model sent.
    let fake = recording(FakeConfig {
        rate_cut_off: 1.0,
        ..Default::default()
    });
    // (The summary, after the cut, never came: the call has that error, so exit 1.)
    dir.run_against(&fake)
        .args(["-o", "cut.json", "--no-cache", "--quiet", "--max-reask", "0"])
        .assert()
        .code(1);
    let report = read_json_report(&dir.join("cut.json"));
    let first_body = &fake.recorded()[0].body;
    let sent = cut_off(&fake_answer(
        schema_of(first_body),
        transcript_in(&prompt_text(first_body)),
    ));
    let call = report
        .calls
        .iter()
        .find(|c| {
            let answer = &expected[&c.call_id];
            sent.contains(&answer["call_outcome"].to_string())
        })
        .expect("the call of the first request");
    assert!(matches!(call.metrics["call_outcome"], MetricResult::Ok { .. }));
    match &call.metrics["satisfaction_score"] {
        MetricResult::Invalid { reason, raw } => {
            assert!(reason.contains("cut off"), "{reason}");
            assert!(!reason.contains("unexpected keys"), "{reason}");
            assert_eq!(raw, &sent);
        }
        other => panic!("{other:?}"),
    }
}

/// Issue 11, item 1: a summary left out is re-asked like an invalid metric, and an answer
/// without it is never cached as clean.
#[test]
fn a_missing_summary_is_re_asked_and_never_cached_as_clean() {
    let dir = dir_with_calls(SPEC, 4);
    let expected = expected_answers(&dir, &full_schema(&dir));
    let fake = recording(FakeConfig {
        rate_no_summary: 1.0,
        ..Default::default()
    });
    dir.run_against(&fake)
        .args(["-o", "r.json", "--quiet"])
        .assert()
        .success();
    assert_values_match(&read_json_report(&dir.join("r.json")), &expected);
    let reasks: Vec<Value> = fake
        .recorded()
        .into_iter()
        .map(|r| r.body)
        .filter(|b| b["messages"].as_array().unwrap().len() == 4)
        .collect();
    assert_eq!(reasks.len(), 4);
    assert_eq!(
        schema_of(&reasks[0])["required"],
        serde_json::json!(["summary"]),
        "only the summary is asked again"
    );
    assert!(
        reasks[0]["messages"][3]["content"]
            .as_str()
            .unwrap()
            .contains("`summary`")
    );

    // With no re-ask allowed the summary is an error of the call, and a second run asks
    // again: nothing without its summary was cached.
    let dir = dir_with_calls(SPEC, 4);
    let fake = FakeServer::start(FakeConfig {
        rate_no_summary: 1.0,
        ..Default::default()
    })
    .unwrap();
    for _ in 0..2 {
        let output = dir
            .run_against(&fake)
            .args(["-o", "r.json", "--quiet", "--max-reask", "0"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let report = read_json_report(&dir.join("r.json"));
        for call in &report.calls {
            assert_eq!(call.summary, None);
            assert!(
                call.errors
                    .iter()
                    .any(|e| e.metric.as_deref() == Some("summary") && e.message.contains("no `summary`")),
                "{:?}",
                call.errors
            );
        }
    }
    assert_eq!(fake.requests(), 8, "the second run asked every call again");
}

/// Issue 11, item 2: the final answer of a call that needed a re-ask is found from its
/// first request's key, so a finished run re-run sends nothing and reports the same.
#[test]
fn a_re_asked_answer_is_found_by_the_first_request_so_re_runs_send_nothing() {
    let dir = dir_with_calls(SPEC, 50);
    let fake = FakeServer::start(FakeConfig {
        rate_malformed: 0.3,
        seed: 5,
        ..Default::default()
    })
    .unwrap();
    let mut reports: Vec<Report> = Vec::new();
    let mut sent = Vec::new();
    for run in 0..3 {
        let before = fake.requests();
        dir.run_against(&fake)
            .args(["-o", &format!("r{run}.json"), "--quiet", "--concurrency", "4"])
            .assert()
            .success();
        sent.push(fake.requests() - before);
        reports.push(read_json_report(&dir.join(&format!("r{run}.json"))));
    }
    assert!(sent[0] > 55, "about 30 % of the 50 calls needed a re-ask: {sent:?}");
    assert_eq!(&sent[1..], [0, 0], "{sent:?}");
    let answers = |r: &Report| -> Vec<_> {
        r.calls
            .iter()
            .map(|c| (c.call_id.clone(), c.summary.clone(), c.metrics.clone()))
            .collect()
    };
    assert_eq!(answers(&reports[1]), answers(&reports[0]));
    assert_eq!(answers(&reports[2]), answers(&reports[0]));
    assert_eq!(reports[2].header.as_ref().unwrap().usage.cached, 50);
}
