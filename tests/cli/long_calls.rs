//! Calls over `max_input_tokens`: what `--long-calls truncate`, `skip` and `fail` do, with
//! the limit counting the whole request.

use postcall_testkit::fake_llm::{FakeConfig, FakeServer, transcript_in};

use crate::common::{TestDir, recording_fake};
use crate::run::{SPEC, dir_with_calls, read_json_report, write_calls};

/// A call whose only customer turn is `chars` long, starting and ending with a word the
/// test looks for.
fn one_enormous_turn(dir: &TestDir, chars: usize) {
    let middle = "and then the line went quiet again ".repeat(chars / 35);
    let call = serde_json::json!({
        "call_id": "enormous",
        "transcript": [{"role": "user", "content": format!("OPENING {middle} CLOSING")}]
    });
    dir.write("calls/enormous.json", serde_json::to_vec(&call).unwrap());
}

/// `run -o r.json --quiet --max-input-tokens LIMIT` with `more` flags, to its end: its
/// output and stderr.
fn run_under(dir: &TestDir, fake: &FakeServer, limit: u32, more: &[&str]) -> (std::process::Output, String) {
    let limit = limit.to_string();
    let args = [
        &["-o", "r.json", "--quiet", "--max-input-tokens", limit.as_str()][..],
        more,
    ]
    .concat();
    dir.run_output(fake, &args)
}

#[test]
fn truncating_one_enormous_turn_sends_both_ends_of_it_and_the_report_says_what_was_cut() {
    let fake = recording_fake();
    let dir = TestDir::new();
    dir.write("metrics.yaml", SPEC);
    one_enormous_turn(&dir, 5_000_000);
    let (output, stderr) = run_under(&dir, &fake, 4000, &["--long-calls", "truncate"]);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("calls truncated    1"), "{stderr}");
    let sent = fake.recorded();
    assert_eq!(sent.len(), 1);
    let user = sent[0].body["messages"][1]["content"].as_str().unwrap();
    let transcript = transcript_in(user);
    assert!(transcript.contains("customer: OPENING and then"), "{transcript:.200}");
    assert!(
        transcript.trim_end().ends_with("quiet again  CLOSING"),
        "{transcript:.200}"
    );
    assert!(
        transcript.contains("characters cut …]"),
        "the turn says where it was cut"
    );
    assert!(user.contains("[… part of 1 turn (~"), "the prompt says what was cut");
    let user_tokens = user.len() / 4;
    assert!(user_tokens < 4000, "the request fits: ~{user_tokens} tokens");
    let report = read_json_report(&dir.join("r.json"));
    let cut = report.calls[0].truncated.as_ref().expect("the report says it was cut");
    assert_eq!((cut.turns_cut, cut.turns_shortened), (0, 1));
    assert!(cut.characters_cut > 4_900_000, "{cut:?}");
    assert!(cut.note.contains("cut from the middle of this call"), "{cut:?}");
}

#[test]
fn a_skipped_call_is_counted_as_skipped_not_failed_and_the_run_succeeds() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 2);
    one_enormous_turn(&dir, 100_000);
    let (output, stderr) = run_under(&dir, &fake, 5000, &["--long-calls", "skip"]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("calls failed       0"), "{stderr}");
    assert!(stderr.contains("calls skipped      1 (--long-calls skip)"), "{stderr}");
    // Its metrics are not "missing": nothing was asked.
    assert!(
        !stderr
            .lines()
            .any(|l| l.starts_with("call_outcome") && l.ends_with(" 1")),
        "{stderr}"
    );
    let report = read_json_report(&dir.join("r.json"));
    let header = report.header.as_ref().expect("a run header");
    assert_eq!((header.calls, header.failed_calls, header.skipped_calls), (3, 0, 1));
    let skipped = report.calls.iter().find(|c| c.call_id == "enormous").unwrap();
    assert!(
        skipped
            .skipped
            .as_deref()
            .unwrap()
            .starts_with("skipped: the transcript has ~")
    );
    assert!(skipped.errors.is_empty() && skipped.metrics.is_empty());
    assert_eq!(fake.requests(), 2);
}

#[test]
fn the_limit_counts_the_whole_request_so_a_huge_metric_prompt_stops_the_run_before_it_starts() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    let huge = "Consider every detail of the call carefully. ".repeat(20_000);
    dir.write(
        "metrics.yaml",
        format!("version: 1\nmetrics:\n  - id: careful\n    type: boolean\n    prompt: {huge}\n"),
    );
    write_calls(&dir, 2);
    for extra in [&[][..], &["--dry-run"]] {
        let output = dir
            .run_against(&fake)
            .args(["-o", "r.json", "--max-input-tokens", "100000"])
            .args(extra)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{extra:?}: {stderr}");
        assert!(
            stderr.contains("metrics.yaml: each request takes ~22") && stderr.contains("before any transcript"),
            "{extra:?}: {stderr}"
        );
        assert!(stderr.contains("the longest metric prompt is `careful`"), "{stderr}");
    }
    assert_eq!(fake.requests(), 0);
    assert!(!dir.join("r.json").exists());
}

#[test]
fn a_call_that_fits_alone_but_not_with_the_questions_is_a_long_call() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    dir.write("metrics.yaml", SPEC);
    // ~1,000 tokens of transcript under a limit of 1,200: it fits alone, not with ~870
    // tokens of questions (and the evidence they ask for) around it.
    one_enormous_turn(&dir, 4_000);
    let (output, stderr) = run_under(&dir, &fake, 1200, &[]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let report = read_json_report(&dir.join("r.json"));
    let error = &report.calls[0].errors[0].message;
    assert!(error.contains("over the ~3"), "{error}");
    assert!(
        error.contains("that max_input_tokens leaves it after the rest of the request"),
        "{error}"
    );
    assert_eq!(fake.requests(), 0);
}
