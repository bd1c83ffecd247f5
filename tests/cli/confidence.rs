//! `--confidence self|consistency|logprobs`: what a value's `confidence` is, checked value
//! by value against what the fake endpoint sent — its token probabilities, or its samples.

use std::collections::BTreeMap;

use postcall_testkit::fake_llm::{FakeConfig, FakeServer, fake_answer, prompt_text, transcript_in};
use postcall_testkit::logprobs::value_probability;
use serde_json::Value;

use crate::common::{TestDir, assert_same_metrics};
use crate::run::dir_with_calls;

const SPEC: &str = r#"version: 1
metrics:
  - id: outcome
    type: enum
    choices: [resolved, escalated, abandoned, transferred]
    prompt: What was the outcome?
  - id: refund_offered
    type: boolean
    prompt: Did the agent offer a refund?
  - id: turns
    type: integer
    range: [0, 9]
    prompt: How many times did the agent apologise?
  - id: note
    type: string
    prompt: One line for the supervisor.
"#;

const CALLS: usize = 5;

fn setup(fake: FakeConfig) -> (TestDir, FakeServer) {
    let dir = dir_with_calls(SPEC, CALLS);
    (dir, FakeServer::start(fake).unwrap())
}

/// Per call id, the transcript and the answer the fake gave, from its recorded requests.
fn answers(fake: &FakeServer) -> BTreeMap<String, (String, Value)> {
    fake.recorded()
        .iter()
        .map(|request| {
            let transcript = transcript_in(&prompt_text(&request.body)).to_string();
            let i = (0..CALLS)
                .find(|i| transcript.contains(&format!("this is agent {i}. How")))
                .expect("a call's transcript");
            let schema = request.body.pointer("/response_format/json_schema/schema").unwrap();
            let answer = fake_answer(schema, &transcript);
            (format!("call-{i:04}"), (transcript, answer))
        })
        .collect()
}

#[test]
fn logprobs_confidence_is_the_probability_the_endpoint_gave_the_answer_s_tokens() {
    let (dir, fake) = setup(FakeConfig {
        logprobs: true,
        record: true,
        ..Default::default()
    });
    let flags = ["--confidence", "logprobs"];
    let report = dir.run_report(&fake, &flags);
    assert!(
        fake.recorded().iter().all(|r| r.body["logprobs"] == true),
        "every request asks for logprobs"
    );
    assert_eq!(report["postcall"]["confidence"], "logprobs");
    let answers = answers(&fake);
    assert_eq!(answers.len(), CALLS);
    for call in report["calls"].as_array().unwrap() {
        let id = call["call_id"].as_str().unwrap();
        let (transcript, answer) = &answers[id];
        for metric in ["outcome", "refund_offered"] {
            let sent = &answer[metric]["value"];
            let expected = value_probability(transcript, metric, sent);
            let got = &call["metrics"][metric];
            assert_eq!(got["value"], *sent, "{id} {metric}");
            let confidence = got["confidence"].as_f64().expect("a confidence");
            assert!(
                (confidence - expected).abs() < 1e-9,
                "{id} {metric}: {confidence} but the endpoint's tokens say {expected}"
            );
            assert_ne!(
                Some(confidence),
                answer[metric]["confidence"].as_f64(),
                "not the model's own"
            );
        }
        for metric in ["turns", "note"] {
            let got = &call["metrics"][metric];
            assert_eq!(got.get("confidence"), None, "{id} {metric}: logprobs do not measure it");
            let why = got["confidence_unavailable"].as_str().unwrap();
            assert!(why.contains("enum and boolean answers only"), "{why}");
        }
    }

    // The probabilities are cached with the answers: a re-run sends nothing and says the same.
    let sent = fake.requests();
    let again = dir.run_report(&fake, &flags);
    assert_eq!(fake.requests(), sent);
    assert_same_metrics(&again, &report);
}

#[test]
fn an_endpoint_that_sends_no_logprobs_leaves_no_confidence_and_says_why() {
    let (dir, fake) = setup(FakeConfig::default());
    let report = dir.run_report(&fake, &["--confidence", "logprobs"]);
    for call in report["calls"].as_array().unwrap() {
        let got = &call["metrics"]["outcome"];
        assert_eq!(
            got.get("confidence"),
            None,
            "the model's own number does not pass for one"
        );
        assert!(
            got["confidence_unavailable"]
                .as_str()
                .unwrap()
                .contains("returned no logprobs"),
            "{got}"
        );
    }
}

#[test]
fn consistency_confidence_is_the_share_of_samples_that_agreed() {
    let (dir, fake) = setup(FakeConfig {
        seed_variants: 2,
        ..Default::default()
    });
    let report = dir.run_report(
        &fake,
        &["--samples", "3", "--llm-seed", "1", "--confidence", "consistency"],
    );
    assert_eq!(report["postcall"]["confidence"], "consistency");
    let mut split = 0;
    for call in report["calls"].as_array().unwrap() {
        for (metric, got) in call["metrics"].as_object().unwrap() {
            let consistency = got["consistency"].as_f64().expect("a consistency");
            assert_eq!(got["confidence"].as_f64(), Some(consistency), "{metric}: {got}");
            split += usize::from(consistency < 1.0);
        }
    }
    assert!(split > 0, "some samples disagreed");

    // The default is the model's own number, and the header says so.
    assert_eq!(dir.run_report(&fake, &[])["postcall"]["confidence"], "self");
}

#[test]
fn a_confidence_that_cannot_be_had_is_refused_before_anything_is_sent() {
    let (dir, fake) = setup(FakeConfig::default());
    let refused = |flags: &[&str], says: &str| {
        let out = dir.run_against(&fake).args(flags).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{flags:?}: {err}");
    };
    refused(&["--confidence", "consistency"], "add --samples 3");
    refused(&["--confidence", "consistency", "--samples", "1"], "--samples is 1");
    refused(
        &["--confidence", "logprobs", "--structured-output", "tools"],
        "use --structured-output json_schema",
    );
    refused(&["--confidence", "consistency", "--dry-run"], "add --samples 3");
    assert_eq!(fake.requests(), 0);
}
