//! `--samples K`: each question asked K times with seeds base + i, the values voted, and
//! `consistency` recorded; every request counted, every sample cached.

use std::collections::BTreeMap;

use postcall_testkit::fake_llm::{FakeConfig, FakeServer, fake_answer_variant, prompt_text, transcript_in};
use serde_json::Value;

use crate::common::{TestDir, assert_same_metrics};
use crate::run::dir_with_calls;

const SPEC: &str = r#"version: 1
metrics:
  - id: outcome
    type: enum
    choices: [resolved, escalated, abandoned, transferred]
    prompt: What was the outcome?
  - id: turns
    type: integer
    range: [0, 9]
    prompt: How many times did the agent apologise?
  - id: score
    type: number
    range: [0, 1]
    prompt: How satisfied was the customer?
  - id: topics
    type: list
    choices: [billing, shipping, refund, account]
    prompt: Which topics came up?
  - id: note
    type: string
    prompt: One line for the supervisor.
"#;

const CALLS: usize = 6;
const K: i64 = 3;

fn setup() -> (TestDir, FakeServer) {
    let dir = dir_with_calls(SPEC, CALLS);
    // Seeds alternate between two answers: with seeds 1, 2, 3 the samples are the
    // answers 1, 0, 1, so answer 1 wins every vote.
    let fake = FakeServer::start(FakeConfig {
        seed_variants: 2,
        record: true,
        ..Default::default()
    })
    .unwrap();
    (dir, fake)
}

/// Per call id, per metric: the `value` field of each sample's answer, in seed order, as
/// the fake endpoint answered the recorded requests.
fn sample_values(fake: &FakeServer) -> BTreeMap<String, BTreeMap<String, Vec<Value>>> {
    let mut by_call: BTreeMap<String, Vec<(i64, Value)>> = BTreeMap::new();
    for request in fake.recorded() {
        let body = &request.body;
        let text = prompt_text(body);
        let transcript = transcript_in(&text);
        let i = (0..CALLS)
            .find(|i| transcript.contains(&format!("this is agent {i}. How")))
            .expect("a call's transcript");
        let seed = body["seed"].as_i64().expect("every sample carries its seed");
        let schema = body.pointer("/response_format/json_schema/schema").expect("a schema");
        let answer = fake_answer_variant(schema, transcript, seed.rem_euclid(2) as u64);
        by_call.entry(format!("call-{i:04}")).or_default().push((seed, answer));
    }
    by_call
        .into_iter()
        .map(|(id, mut samples)| {
            samples.sort_by_key(|(seed, _)| *seed);
            let seeds: Vec<i64> = samples.iter().map(|(s, _)| *s).collect();
            assert_eq!(seeds, (1..=K).collect::<Vec<_>>(), "{id}: seeds base + index");
            let mut metrics: BTreeMap<String, Vec<Value>> = BTreeMap::new();
            for (_, answer) in samples {
                for (metric, field) in answer.as_object().unwrap() {
                    if field.is_object() {
                        metrics.entry(metric.clone()).or_default().push(field["value"].clone());
                    }
                }
            }
            (id, metrics)
        })
        .collect()
}

#[test]
fn each_value_is_the_vote_of_k_samples_with_its_consistency_and_a_rerun_sends_nothing() {
    let (dir, fake) = setup();
    let flags = ["--samples", "3", "--llm-seed", "1"];
    let report = dir.run_report(&fake, &flags);
    assert_eq!(fake.requests(), CALLS as u64 * K as u64, "K requests per unit");
    let samples = sample_values(&fake);
    assert_eq!(samples.len(), CALLS);
    let mut disagreements = 0;
    for call in report["calls"].as_array().unwrap() {
        let id = call["call_id"].as_str().unwrap();
        assert_eq!(call["usage"]["requests"], K, "{id}: usage counts every sample");
        for (metric, values) in &samples[id] {
            // Samples are answers 1, 0, 1 (seeds 1, 2, 3): the first and third are the
            // same, so every vote (mode, median, majority items, most central text)
            // chooses it, and it agrees with 3 of 3 or 2 of 3.
            assert_eq!(values[0], values[2]);
            let got = &call["metrics"][metric];
            let value = got.get("value").cloned().unwrap_or(Value::Null);
            assert_eq!(value, values[0], "{id} {metric}: {values:?}");
            let agree = values.iter().filter(|v| **v == values[0]).count();
            let expected = agree as f64 / K as f64;
            assert_eq!(got["consistency"].as_f64(), Some(expected), "{id} {metric}: {values:?}");
            assert_eq!(got["samples"], K, "{id} {metric}: every sample voted");
            disagreements += usize::from(agree < 3);
        }
    }
    assert!(disagreements > 0, "the seeds made some samples disagree");

    // A re-run finds every sample in the cache.
    let before = report.clone();
    let again = dir.run_report(&fake, &flags);
    assert_eq!(fake.requests(), CALLS as u64 * K as u64, "a re-run sends nothing");
    assert_same_metrics(&before, &again);
}

#[test]
fn one_sample_records_no_consistency_and_the_csv_detail_has_the_column() {
    let (dir, fake) = setup();
    dir.run_against(&fake).args(["-o", "r.json"]).assert().success();
    assert_eq!(fake.requests(), CALLS as u64);
    let text = std::fs::read_to_string(dir.join("r.json")).unwrap();
    assert!(!text.contains("consistency"), "absent with one sample");

    dir.run_against(&fake)
        .args(["--samples", "2", "-o", "r.csv", "--csv-detail"])
        .assert()
        .success();
    let mut reader = csv::Reader::from_path(dir.join("r.csv")).unwrap();
    let column = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "outcome__consistency")
        .expect("the column");
    let cells: Vec<String> = reader.records().map(|r| r.unwrap()[column].to_string()).collect();
    assert_eq!(cells.len(), CALLS);
    // Two samples agree (1) or split (0.5, the first sample's answer kept).
    assert!(cells.iter().all(|c| c == "1" || c == "0.5"), "{cells:?}");
}

/// The dry run's `requests`, `input tokens`, `output tokens` and `cost` figures.
fn dry_figures(stdout: &str) -> (u64, u64, u64, u64, f64) {
    let after = |label: &str| {
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line in {stdout}"));
        line.trim_start()[label.len()..].trim_start().to_string()
    };
    // The first number of a figure: `~1234 (estimated)`.
    let number = |text: String| -> u64 {
        let digits: String = text
            .trim_start_matches('~')
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().unwrap()
    };
    let requests = after("requests");
    // `18 to send, 0 answered from the cache (…)`
    let cached = number(requests.split(", ").nth(1).unwrap().to_string());
    let cost: f64 = after("cost")
        .trim_start_matches("~$")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    (
        number(requests),
        cached,
        number(after("input tokens")),
        number(after("output tokens")),
        cost,
    )
}

#[test]
fn a_dry_run_counts_every_sample_and_finds_each_in_the_cache() {
    let (dir, fake) = setup();
    let dry = |extra: &[&str]| {
        let out = dir
            .run_against(&fake)
            .args(["--dry-run", "--price", "0.15,0.60", "--llm-seed", "1"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let once = dry(&[]);
    let thrice = dry(&["--samples", "3"]);
    let (requests, cached, input, output, cost) = dry_figures(&once);
    assert_eq!((requests, cached), (CALLS as u64, 0), "{once}");
    assert!(thrice.contains(&format!("({} per call: 1 × 3 samples", K)), "{thrice}");
    let (k_requests, k_cached, k_input, k_output, k_cost) = dry_figures(&thrice);
    assert_eq!((k_requests, k_cached), (requests * 3, 0), "{thrice}");
    assert_eq!((k_input, k_output), (input * 3, output * 3), "{thrice}");
    assert!((k_cost - cost * 3.0).abs() < 0.00015, "{cost} × 3 vs {k_cost}");
    assert_eq!(fake.requests(), 0, "a dry run sends nothing");

    // After two of the three samples ran (seeds 1, 2), the third is what is left to send.
    dir.run_against(&fake)
        .args(["--samples", "2", "--llm-seed", "1", "-o", "r.json"])
        .assert()
        .success();
    let (left, cached, ..) = dry_figures(&dry(&["--samples", "3"]));
    assert_eq!((left, cached), (CALLS as u64, 2 * CALLS as u64));
}

#[test]
fn a_sample_whose_request_failed_leaves_the_vote_to_the_others_and_says_how_many_voted() {
    let dir = dir_with_calls(SPEC, CALLS);
    // Seeds 1, 2, 3; the one with seed 3 never comes back.
    let fake = FakeServer::start(FakeConfig {
        seed_variants: 2,
        failing_seeds: vec![3],
        record: true,
        ..Default::default()
    })
    .unwrap();
    let report = dir.run_report(&fake, &["--samples", "3", "--llm-seed", "1", "--max-retries", "0"]);
    assert_eq!(report["postcall"]["samples"], 3, "the header says how many were asked");
    let answers = sample_values(&fake);
    let mut split = 0;
    for call in report["calls"].as_array().unwrap() {
        let id = call["call_id"].as_str().unwrap();
        for (metric, values) in &answers[id] {
            // Samples 1 and 2 answered (variants 1 and 0), sample 3 failed: the vote is
            // between two, as each type breaks a tie.
            let (first, second) = (&values[0], &values[1]);
            let expected = if first == second {
                first.clone()
            } else {
                split += 1;
                match metric.as_str() {
                    // The lower median of two numbers is the smaller.
                    "score" => {
                        if first.as_f64() < second.as_f64() {
                            first.clone()
                        } else {
                            second.clone()
                        }
                    }
                    // Items in more than half of two samples: those in both.
                    "topics" => Value::Array(
                        first
                            .as_array()
                            .unwrap()
                            .iter()
                            .filter(|item| second.as_array().unwrap().contains(item))
                            .cloned()
                            .collect(),
                    ),
                    // Mode and most central text: a tie of two goes to the first.
                    _ => first.clone(),
                }
            };
            let got = &call["metrics"][metric];
            let value = got.get("value").cloned().unwrap_or(Value::Null);
            assert!(same(&value, &expected), "{id} {metric}: {values:?} voted {value}");
            assert_eq!(got["samples"], 2, "{id} {metric}: two samples voted, not three");
            let agree = values[..2].iter().filter(|v| same(v, &expected)).count();
            assert_eq!(
                got["consistency"].as_f64(),
                Some(agree as f64 / 2.0),
                "{id} {metric}: consistency over the samples that answered"
            );
        }
    }
    assert!(split > 0, "some votes split between the two samples");
}

/// The same answer: lists as sets of items.
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_array(), b.as_array()) {
        (Some(a), Some(b)) => a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x)),
        _ => a == b,
    }
}

#[test]
fn stats_flags_the_metrics_whose_samples_agree_less_than_the_threshold() {
    let (dir, fake) = setup();
    let report = dir.run_report(&fake, &["--samples", "3", "--llm-seed", "1"]);
    // Each metric's mean consistency, from the report's values.
    let ids = ["outcome", "turns", "score", "topics", "note"];
    let means: Vec<(String, f64)> = ids
        .iter()
        .map(|id| {
            let all: Vec<f64> = report["calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["metrics"][id]["consistency"].as_f64().unwrap())
                .collect();
            (id.to_string(), all.iter().sum::<f64>() / all.len() as f64)
        })
        .collect();
    let stats = |extra: &[&str]| {
        let out = dir.postcall().args(["stats", "r.json"]).args(extra).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // A threshold between the steadiest and the flakiest metric splits them.
    let (lowest, highest) = means
        .iter()
        .fold((1.0f64, 0.0f64), |(lo, hi), (_, m)| (lo.min(*m), hi.max(*m)));
    assert!(lowest < highest, "the seeds made metrics differ: {means:?}");
    let threshold = (lowest + highest) / 2.0;
    let expected: Vec<&str> = means
        .iter()
        .filter(|(_, m)| *m < threshold)
        .map(|(id, _)| id.as_str())
        .collect();
    let flag = format!("{threshold}");
    let json: Value = serde_json::from_str(&stats(&["--flaky-below", &flag, "--format", "json"])).unwrap();
    assert_eq!(json["flaky"], serde_json::json!(expected));
    for (m, (id, mean)) in json["metrics"].as_array().unwrap().iter().zip(&means) {
        assert_eq!(m["id"], *id);
        assert!(
            (m["consistency"]["mean"].as_f64().unwrap() - mean).abs() < 1e-12,
            "{id}"
        );
        assert_eq!(m["consistency"]["flaky"], *mean < threshold, "{id}");
        assert_eq!(m["consistency"]["values"], CALLS);
    }
    let text = stats(&["--flaky-below", &flag]);
    assert!(text.contains(&format!("flaky: {}", expected.join(", "))), "{text}");
    for (id, mean) in &means {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{id} (")))
            .unwrap();
        assert!(line.contains(&format!("consistency {mean:.2}")), "{line}");
        assert_eq!(line.contains("FLAKY"), *mean < threshold, "{line}");
    }
    let markdown = stats(&["--flaky-below", &flag, "--format", "markdown"]);
    assert!(
        markdown.contains(&format!("flaky: {}", expected.join(", "))),
        "{markdown}"
    );
    // The default threshold is 0.8; nothing is flaky below 0.
    let default: Value = serde_json::from_str(&stats(&["--format", "json"])).unwrap();
    assert_eq!(default["flaky_below"], 0.8);
    let none: Value = serde_json::from_str(&stats(&["--flaky-below", "0", "--format", "json"])).unwrap();
    assert_eq!(none["flaky"], serde_json::json!([]));
    let out = dir
        .postcall()
        .args(["stats", "r.json", "--flaky-below", "80"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "a share, not a percentage");
}
