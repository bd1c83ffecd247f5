//! Evidence: every value cites the transcript, and postcall checks the quotes against
//! what it sent — exact, garbled by transcription, under the wrong turn, or invented.

use postcall::report::{Evidence, MetricResult, Report};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer};
use postcall_testkit::quotes::Quotes;

use crate::common::TestDir;
use crate::run::{dir_with_calls, read_json_report};

const SPEC: &str = r#"version: 1
metrics:
  - id: call_outcome
    type: enum
    choices: [resolved, escalated]
    prompt: What was the outcome of this call?
    required: true
  - id: follow_up_needed
    type: boolean
    prompt: Did the agent commit to any follow-up action?
  - id: refund_number
    type: integer
    prompt: Which refund number did the agent give?
    evidence: false
"#;

fn fake(quotes: Quotes, on_reask: Option<Quotes>) -> FakeServer {
    FakeServer::start(FakeConfig {
        quotes,
        quotes_on_reask: on_reask,
        record: true,
        ..Default::default()
    })
    .unwrap()
}

/// Runs the spec over `calls` calls against `fake`, JSON report at `out`, and returns it
/// with what the run printed on stderr.
fn run(dir: &TestDir, fake: &FakeServer, out: &str, flags: &[&str]) -> (Report, String) {
    let assert = dir.run_against(fake).args(["-o", out]).args(flags).assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    (read_json_report(&dir.join(out)), stderr)
}

fn setup(calls: usize) -> TestDir {
    dir_with_calls(SPEC, calls)
}

/// The evidence of every result of `metric`, with whether the value was flagged.
fn evidence_of<'a>(report: &'a Report, metric: &str) -> Vec<(&'a [Evidence], bool)> {
    report
        .calls
        .iter()
        .filter_map(|c| c.metrics.get(metric))
        .filter_map(|r| r.grounds().map(|g| (g.evidence.as_slice(), g.evidence_unverified)))
        .collect()
}

#[test]
fn exact_quotes_verify_in_the_turn_they_cite_and_the_report_has_the_agreed_shape() {
    let fake = fake(Quotes::Exact, None);
    let dir = setup(6);
    let (report, stderr) = run(&dir, &fake, "r.json", &[]);
    for (evidence, flagged) in evidence_of(&report, "call_outcome") {
        assert_eq!(evidence.len(), 1, "{evidence:?}");
        assert!(
            evidence[0].verified && evidence[0].found_in_turn.is_none(),
            "{evidence:?}"
        );
        assert!(!flagged);
    }
    // The quote is what the prompt showed under that number.
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    let call = &json["calls"][0];
    let first = &call["metrics"]["call_outcome"]["evidence"][0];
    assert_eq!(
        first.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["turn", "quote", "verified"],
        "the agreed shape: {first}"
    );
    let (turn, quote) = (first["turn"].as_u64().unwrap(), first["quote"].as_str().unwrap());
    let n: usize = call["call_id"]
        .as_str()
        .unwrap()
        .trim_start_matches("call-")
        .parse()
        .unwrap();
    let prompt = fake
        .recorded()
        .into_iter()
        .map(|r| r.body["messages"][1]["content"].as_str().unwrap().to_string())
        .find(|p| p.contains(&format!("this is agent {n}. How")))
        .expect("the call's request");
    assert!(
        prompt
            .lines()
            .any(|l| l.starts_with(&format!("[{turn}] ")) && l.contains(quote)),
        "turn {turn} with {quote:?} in:\n{prompt}"
    );
    let body = &fake.recorded()[0].body;
    // The metric that asked for none has none, and its schema did not ask.
    assert!(
        evidence_of(&report, "refund_number")
            .iter()
            .all(|(e, f)| e.is_empty() && !f)
    );
    let schema = &body["response_format"]["json_schema"]["schema"]["properties"];
    assert!(schema["call_outcome"]["properties"].get("evidence").is_some());
    assert!(schema["refund_number"]["properties"].get("evidence").is_none());
    assert!(!stderr.contains("unverified"), "{stderr}");
}

#[test]
fn transcription_noise_and_a_wrong_turn_still_verify_and_say_where() {
    let dir = setup(6);
    let (near, _) = run(&dir, &fake(Quotes::Near, None), "near.json", &["--no-cache"]);
    let mut garbled = 0;
    for (evidence, flagged) in evidence_of(&near, "follow_up_needed") {
        let e = &evidence[0];
        assert_eq!(e.quote, e.quote.to_lowercase(), "the fake garbled it");
        // A slip is forgiven in a quote long enough to carry one; "thaks bye" is not
        // "Thanks, bye." (at two words, one slip is another claim).
        let long = e.quote.chars().count() >= 12;
        assert_eq!((e.verified, flagged), (long, !long), "{e:?}");
        garbled += usize::from(long);
    }
    assert!(garbled >= 2, "most quotes are long enough to be forgiven");
    let (wrong, _) = run(&dir, &fake(Quotes::WrongTurn, None), "wrong.json", &["--no-cache"]);
    for (evidence, flagged) in evidence_of(&wrong, "call_outcome") {
        let e = &evidence[0];
        assert!(e.verified && !flagged, "{e:?}");
        let found = e.found_in_turn.expect("found in another turn");
        assert_eq!((found + 1) % 4, e.turn.unwrap(), "cited the next turn: {e:?}");
    }
}

#[test]
fn invented_quotes_are_flagged_in_the_report_the_csv_the_summary_and_stats() {
    let fake = fake(Quotes::Invented, None);
    let dir = setup(5);
    let (report, stderr) = run(&dir, &fake, "r.json", &["-o", "r.csv", "--csv-detail"]);
    let results = evidence_of(&report, "call_outcome");
    assert_eq!(results.len(), 5);
    for (evidence, flagged) in results {
        assert!(!evidence[0].verified && flagged, "{evidence:?}");
    }
    assert!(
        stderr.contains("unverified") && stderr.contains("call_outcome 5"),
        "the summary says so: {stderr}"
    );
    let csv = std::fs::read_to_string(dir.join("r.csv")).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let column = header
        .iter()
        .position(|h| *h == "call_outcome__evidence")
        .expect("an evidence column");
    let mut reader = csv::Reader::from_path(dir.join("r.csv")).unwrap();
    let row = reader.records().next().unwrap().unwrap();
    assert!(
        row[column].contains("(not in the transcript)") && row[column].ends_with("UNVERIFIED"),
        "{}",
        &row[column]
    );
    let out = dir.postcall().args(["stats", "r.json"]).output().unwrap();
    let stats = String::from_utf8_lossy(&out.stdout);
    assert!(
        stats.contains("evidence: 0 of 5 quotes found (0 %); 5 of 5 values unverified"),
        "{stats}"
    );
}

#[test]
fn reask_asks_once_with_the_quotes_not_found_and_a_rerun_pays_nothing() {
    let fake = fake(Quotes::Invented, Some(Quotes::Exact));
    let dir = setup(3);
    let flags = ["--unverified-evidence", "reask"];
    let (report, _) = run(&dir, &fake, "r.json", &flags);
    for (evidence, flagged) in evidence_of(&report, "call_outcome") {
        assert!(
            evidence[0].verified && !flagged,
            "the re-ask's quotes verify: {evidence:?}"
        );
    }
    let recorded = fake.recorded();
    assert_eq!(recorded.len(), 6, "one re-ask per call");
    let reask = recorded
        .iter()
        .map(|r| {
            r.body["messages"].as_array().unwrap().last().unwrap()["content"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .find(|m| m.contains("not in the transcript"))
        .expect("a re-ask naming the quotes");
    assert!(
        reask.contains("the caller demanded a supervisor about call_outcome"),
        "{reask}"
    );
    assert!(
        !reask.contains("refund_number"),
        "only what was unverified is asked: {reask}"
    );

    let (again, _) = run(&dir, &fake, "again.json", &flags);
    assert_eq!(fake.recorded().len(), 6, "the re-asked answers are cached");
    let metrics = |r: &Report| r.calls.iter().map(|c| c.metrics.clone()).collect::<Vec<_>>();
    assert_eq!(metrics(&again), metrics(&report));
}

#[test]
fn a_reask_that_still_invents_leaves_the_value_flagged_and_off_flags_nothing() {
    let fake = fake(Quotes::Invented, None);
    let dir = setup(2);
    let (report, _) = run(&dir, &fake, "r.json", &["--unverified-evidence", "reask"]);
    for (evidence, flagged) in evidence_of(&report, "call_outcome") {
        assert!(!evidence[0].verified && flagged, "{evidence:?}");
    }
    assert_eq!(fake.recorded().len(), 4, "re-asked once, not max-reask times");
    // Off: the quotes still say whether they were found, nothing is flagged.
    let (off, stderr) = run(&dir, &fake, "off.json", &["--unverified-evidence", "off", "--no-cache"]);
    for (evidence, flagged) in evidence_of(&off, "call_outcome") {
        assert!(!evidence[0].verified && !flagged, "{evidence:?}");
    }
    assert!(!stderr.contains("unverified"), "{stderr}");
}

#[test]
fn no_evidence_asks_for_none() {
    let fake = fake(Quotes::Exact, None);
    let dir = setup(2);
    let (report, _) = run(&dir, &fake, "r.json", &["--no-evidence"]);
    let body = &fake.recorded()[0].body;
    assert!(!body.to_string().contains("\"evidence\""), "{body}");
    for call in &report.calls {
        assert!(
            call.metrics
                .values()
                .all(|r| r.grounds().is_none_or(|g| g.evidence.is_empty()))
        );
    }
    assert!(matches!(
        report.calls[0].metrics["call_outcome"],
        MetricResult::Ok { .. }
    ));
}
