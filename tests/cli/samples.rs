//! `--samples K`: each question asked K times with seeds base + i, the values voted, and
//! `consistency` recorded; every request counted, every sample cached.

use std::collections::BTreeMap;

use postcall_testkit::fake_llm::{FakeConfig, FakeServer, fake_answer_variant, transcript_in};
use serde_json::Value;

use crate::common::TestDir;
use crate::run::write_calls;

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
    let dir = TestDir::new();
    dir.write("metrics.yaml", SPEC);
    write_calls(&dir, CALLS);
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

fn report(dir: &TestDir) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap()
}

/// Per call id, per metric: the `value` field of each sample's answer, in seed order, as
/// the fake endpoint answered the recorded requests.
fn sample_values(fake: &FakeServer) -> BTreeMap<String, BTreeMap<String, Vec<Value>>> {
    let mut by_call: BTreeMap<String, Vec<(i64, Value)>> = BTreeMap::new();
    for request in fake.recorded() {
        let body = &request.body;
        let text: String = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|m| m["content"].as_str())
            .collect::<Vec<_>>()
            .join("\n");
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
    let flags = ["--samples", "3", "--llm-seed", "1", "-o", "r.json"];
    dir.run_against(&fake).args(flags).assert().success();
    assert_eq!(fake.requests(), CALLS as u64 * K as u64, "K requests per unit");
    let report = report(&dir);
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
            disagreements += usize::from(agree < 3);
        }
    }
    assert!(disagreements > 0, "the seeds made some samples disagree");

    // A re-run finds every sample in the cache.
    let before = report.clone();
    dir.run_against(&fake).args(flags).assert().success();
    assert_eq!(fake.requests(), CALLS as u64 * K as u64, "a re-run sends nothing");
    let again = crate::samples::report(&dir);
    for (a, b) in before["calls"]
        .as_array()
        .unwrap()
        .iter()
        .zip(again["calls"].as_array().unwrap())
    {
        assert_eq!(a["metrics"], b["metrics"]);
    }
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
