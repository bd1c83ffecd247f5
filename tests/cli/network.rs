//! The network edge under hostile conditions: redirects, credentials in URLs, keys that are
//! short or cannot be sent, bodies that never end, valid completions in odd shapes.

use postcall::report::MetricResult;
use postcall_testkit::fake_llm::{FakeConfig, FakeServer, Refuse};
use postcall_testkit::hostile::{Hostile, OddCompletion, Oversize, Redirect};

use crate::common::{MODEL, files_under, recording_fake, refusing_fake};
use crate::run::{SPEC, assert_values_match, dir_with_calls, expected_answers, full_schema, read_json_report};

fn hostile(hostile: Hostile) -> FakeServer {
    FakeServer::start(FakeConfig {
        hostile,
        ..Default::default()
    })
    .unwrap()
}

/// `127.0.0.1:PORT` of a fake.
fn host_of(fake: &FakeServer) -> String {
    fake.base_url()
        .trim_start_matches("http://")
        .trim_end_matches("/v1")
        .to_string()
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn a_redirect_is_never_followed_and_stops_the_run_naming_where_it_pointed() {
    for status in [301, 302, 303, 307, 308] {
        let elsewhere = FakeServer::start(FakeConfig::default()).unwrap();
        let location = format!(
            "http://mallory:pw-9876@{}/v1/chat/completions?token=tok-5432",
            host_of(&elsewhere)
        );
        let endpoint = hostile(Hostile {
            redirect: Some(Redirect { status, location }),
            ..Default::default()
        });
        let dir = dir_with_calls(SPEC, 12);
        let output = dir
            .run_against(&endpoint)
            .args(["-o", "r.json", "--no-cache", "--concurrency", "2"])
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{status}: {stderr}");
        assert_eq!(
            elsewhere.requests(),
            0,
            "{status}: a request went to the redirect's target"
        );
        assert!(endpoint.requests() <= 2, "{status}: {} requests", endpoint.requests());
        assert!(
            stderr.contains(&format!("HTTP {status}")) && stderr.contains("does not follow redirects"),
            "{status}: {stderr}"
        );
        let shown = format!(
            "http://[REDACTED]@{}/v1/chat/completions?token=[REDACTED]",
            host_of(&elsewhere)
        );
        assert!(
            stderr.contains(&shown),
            "{status}: the Location is not shown redacted: {stderr}"
        );
        assert!(!stderr.contains("pw-9876") && !stderr.contains("tok-5432"), "{stderr}");
        assert_eq!(
            stderr.matches("refused the request").count(),
            1,
            "one message: {stderr}"
        );
        // A stopped run puts what it has beside the destination.
        let report = read_json_report(&dir.join("r.json.partial"));
        assert!(
            report.calls.iter().all(|c| c.summary.is_none() && c.metrics.is_empty()),
            "{status}: an answer was taken from a redirect"
        );
    }
}

#[test]
fn a_password_in_the_base_url_reaches_the_endpoint_and_nothing_else() {
    const PASSWORD: &str = "hunter2-pw";
    let fake = recording_fake();
    let dir = dir_with_calls(SPEC, 4);
    let url = fake.base_url().replace("http://", &format!("http://alice:{PASSWORD}@"));
    let shown = format!("http://[REDACTED]@{}/v1", host_of(&fake));
    let mut everything = String::new();

    // From the flag: a run, then a dry run.
    let output = dir
        .run_at(&url, MODEL)
        .args(["-o", "r.json", "-o", "r.jsonl", "-o", "r.csv", "--quiet"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    everything += &stderr_of(&output);
    let report = read_json_report(&dir.join("r.json"));
    assert_eq!(report.header.as_ref().expect("a run header").base_url, shown);
    assert!(
        fake.recorded().iter().all(|r| r
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v.starts_with("Basic "))),
        "the credentials were not sent to the endpoint"
    );
    let dry = dir.run_at(&url, MODEL).arg("--dry-run").output().unwrap();
    let dry_out = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(dry_out.contains(&shown), "{dry_out}");
    everything += &dry_out;
    everything += &stderr_of(&dry);

    // From the metric file.
    dir.write(
        "from_file.yaml",
        SPEC.replacen(
            "version: 1\n",
            &format!("version: 1\nllm:\n  base_url: {url}\n  model: m\n"),
            1,
        ),
    );
    let output = dir
        .postcall()
        .args([
            "run",
            "-m",
            "from_file.yaml",
            "calls",
            "-o",
            "f.json",
            "--quiet",
            "--no-cache",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let report = read_json_report(&dir.join("f.json"));
    assert_eq!(report.header.as_ref().expect("a run header").base_url, shown);
    everything += &stderr_of(&output);

    // Errors: an endpoint that refuses, one that is down, a URL that is not http(s).
    let refusing = refusing_fake(Refuse::Auth);
    let refusing_url = refusing
        .base_url()
        .replace("http://", &format!("http://alice:{PASSWORD}@"));
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (bad_url, words) in [
        (refusing_url.as_str(), "401"),
        (
            &*format!("http://alice:{PASSWORD}@127.0.0.1:{down}/v1"),
            "is the server running",
        ),
        (&*format!("ftp://alice:{PASSWORD}@127.0.0.1/v1"), "not an http(s) URL"),
    ] {
        let output = dir
            .run_at(bad_url, MODEL)
            .args(["-o", "bad.json", "--no-cache", "--max-retries", "0"])
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(words) && stderr.contains("[REDACTED]@"), "{stderr}");
        everything += &stderr;
    }

    for file in ["r.json", "r.jsonl", "r.csv", "f.json", "bad.json"] {
        everything += &std::fs::read_to_string(dir.join(file)).unwrap_or_default();
    }
    let mut cache_files = 0;
    for entry in files_under(&dir.join(".postcall")) {
        everything += &String::from_utf8_lossy(&std::fs::read(entry).unwrap());
        cache_files += 1;
    }
    assert!(cache_files > 0, "the run cached nothing");
    assert!(!everything.contains(PASSWORD), "the password leaked");
    assert!(!everything.contains("alice"), "the user name leaked");
}

#[test]
fn a_short_api_key_never_rewrites_an_answer() {
    // Words the fake's answers are full of: booleans, string values, reasonings.
    for key in ["true", "text", "Because"] {
        let fake = FakeServer::start(FakeConfig::default()).unwrap();
        let dir = dir_with_calls(SPEC, 20);
        let expected = expected_answers(&dir, &full_schema(&dir));
        let output = dir
            .run_against(&fake)
            .env("OPENAI_API_KEY", key)
            .args(["-o", "r.json", "--quiet"])
            .output()
            .unwrap();
        assert!(output.status.success(), "{key}: {}", stderr_of(&output));
        assert_values_match(&read_json_report(&dir.join("r.json")), &expected);
        // The cache holds the answers as they came, too: a second run gives the same.
        dir.run_against(&fake)
            .env("OPENAI_API_KEY", key)
            .args(["-o", "again.json", "--quiet"])
            .assert()
            .success();
        assert_values_match(&read_json_report(&dir.join("again.json")), &expected);
    }
}

#[test]
fn a_short_api_key_echoed_in_an_error_is_still_redacted() {
    let fake = refusing_fake(Refuse::Auth);
    let dir = dir_with_calls(SPEC, 2);
    let output = dir
        .run_against(&fake)
        .env("OPENAI_API_KEY", "true")
        .args(["-o", "r.json", "--no-cache"])
        .output()
        .unwrap();
    let stderr = stderr_of(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Incorrect API key provided: [REDACTED]."), "{stderr}");
}

#[test]
fn a_key_with_a_trailing_newline_stops_the_run_before_any_request_naming_the_variable() {
    for (var, value, why) in [
        ("OPENAI_API_KEY", "sk-test-0123456789\n", "ends with a newline"),
        ("MY_KEY", "sk-test-0123456789\r", "ends with a carriage return"),
        ("MY_KEY", "sk-test-\u{201c}0123456789", "non-ASCII character (U+201C)"),
    ] {
        let fake = FakeServer::start(FakeConfig::default()).unwrap();
        let dir = dir_with_calls(SPEC, 10);
        let output = dir
            .run_against(&fake)
            .env(var, value)
            .args(["--api-key-env", var, "-o", "r.json", "--no-cache"])
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("${var}")) && stderr.contains(why), "{stderr}");
        assert_eq!(fake.requests(), 0, "{value:?}: requests were sent");
        assert!(!dir.join("r.json").exists(), "an output was created before the check");
        assert!(!stderr.contains("0123456789"), "the key was shown: {stderr}");
        assert_eq!(stderr.lines().filter(|l| l.starts_with("error")).count(), 1, "{stderr}");
    }
}

#[test]
fn a_response_body_that_never_ends_is_cut_at_the_cap_and_the_run_finishes() {
    for oversize in [Oversize::Endless, Oversize::Declared(1 << 40)] {
        let fake = hostile(Hostile {
            oversize: Some(oversize),
            ..Default::default()
        });
        let dir = dir_with_calls(SPEC, 2);
        let output = dir
            .run_against(&fake)
            .args(["-o", "r.json", "--no-cache", "--max-retries", "1", "--concurrency", "2"])
            .output()
            .unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(1), "{oversize:?}: {stderr}");
        assert_eq!(fake.requests(), 4, "{oversize:?}: retried once per call");
        let report = read_json_report(&dir.join("r.json"));
        assert_eq!(report.calls.len(), 2, "{oversize:?}");
        for call in &report.calls {
            assert!(
                !call.errors.is_empty()
                    && call
                        .errors
                        .iter()
                        .all(|e| e.message.contains("larger than 16 MiB, the most postcall reads")),
                "{oversize:?}: {:?}",
                call.errors
            );
        }
    }
}

#[test]
fn valid_completions_with_nulls_or_huge_numbers_in_the_envelope_are_answers_not_retries() {
    let odd_shapes = [
        OddCompletion {
            nulls: true,
            ..Default::default()
        },
        OddCompletion {
            numbers_beyond_f64_in_envelope: true,
            ..Default::default()
        },
    ];
    for odd in odd_shapes {
        for mode in ["json_schema", "tools"] {
            let fake = hostile(Hostile {
                odd,
                ..Default::default()
            });
            let dir = dir_with_calls(SPEC, 10);
            let expected = expected_answers(&dir, &full_schema(&dir));
            let output = dir
                .run_against(&fake)
                .args(["-o", "r.json", "--no-cache", "--quiet", "--structured-output", mode])
                .output()
                .unwrap();
            assert!(output.status.success(), "{odd:?} {mode}: {}", stderr_of(&output));
            let report = read_json_report(&dir.join("r.json"));
            assert_values_match(&report, &expected);
            assert_eq!(fake.requests(), 10, "{odd:?} {mode}: retried");
            assert_eq!(report.header.as_ref().expect("a run header").usage.retries, 0);
        }
    }
}

#[test]
fn a_value_beyond_f64_makes_that_metric_invalid_quoting_the_number_and_keeps_the_others() {
    let dir = dir_with_calls(SPEC, 5);
    let expected = expected_answers(&dir, &full_schema(&dir));
    let fake = hostile(Hostile {
        odd: OddCompletion {
            number_beyond_f64_in_answer: true,
            ..Default::default()
        },
        ..Default::default()
    });
    let output = dir
        .run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--max-reask", "1"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    let report = read_json_report(&dir.join("r.json"));
    assert_eq!(
        fake.requests(),
        10,
        "one ask and one re-ask per call, no transport retries"
    );
    for call in &report.calls {
        match &call.metrics["refund_amount"] {
            MetricResult::Invalid { reason, raw } => {
                assert!(reason.contains("1e400") && reason.contains("beyond"), "{reason}");
                assert!(raw.contains("1e400"), "{raw}");
            }
            other => panic!("{}: {other:?}", call.call_id),
        }
        let answer = &expected[&call.call_id];
        for (id, result) in call.metrics.iter().filter(|(id, _)| *id != "refund_amount") {
            match result {
                MetricResult::Ok { value, .. } => {
                    let want: postcall::report::Value = serde_json::from_value(answer[id]["value"].clone()).unwrap();
                    assert_eq!(value, &want, "{} {id}", call.call_id);
                }
                MetricResult::Invalid { reason, .. } => panic!("{} {id}: {reason}", call.call_id),
                _ => {}
            }
        }
    }
}
