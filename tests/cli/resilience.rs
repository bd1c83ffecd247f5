//! Never lose work: faults, rate limits, kills, interrupts, stalls and shared caches, each
//! checked value for value against a fault-free run.

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use postcall::report::json::HeaderLine;
use postcall::report::{CallResult, MetricResult, Report, read_report};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

use crate::common::{MODEL, TestDir, interrupt, slow_fake, wait_for_requests};
use crate::run::{SPEC, dir_with_calls, read_json_report};

/// A call's answers without its usage counters (which differ by design): id, summary, metrics.
type Answers = (String, Option<String>, Vec<(String, MetricResult)>);

/// What every call's answers are, without the usage counters (which differ by design).
fn answers(report: &Report) -> Vec<Answers> {
    report.calls.iter().map(answer_of).collect()
}

fn answer_of(call: &CallResult) -> Answers {
    (
        call.call_id.clone(),
        call.summary.clone(),
        call.metrics.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    )
}

/// A run of `dir`'s calls against `fake` with `args`, writing `out` with no cache, which must
/// succeed: its report.
fn run_through(dir: &TestDir, fake: &FakeServer, out: &str, args: &[&str]) -> Report {
    let output = dir
        .run_against(fake)
        .args(["-o", out, "--no-cache", "--quiet"])
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    read_json_report(&dir.join(out))
}

/// `calls` calls, and the report of a fault-free run over them with `extra`: what every
/// run under faults must equal.
fn calls_and_fault_free_report(calls: usize, extra: &[&str]) -> (TestDir, Report) {
    let dir = dir_with_calls(SPEC, calls);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let clean = run_through(&dir, &fake, "clean.json", &[&["--concurrency", "16"], extra].concat());
    (dir, clean)
}

#[test]
fn a_run_through_429s_5xx_drops_and_malformed_answers_equals_the_fault_free_run() {
    let (dir, clean) = calls_and_fault_free_report(220, &[]);
    let fake = FakeServer::start(FakeConfig {
        rate_429_seconds: 0.05,
        rate_429_date: 0.05,
        rate_5xx: 0.05,
        rate_drop: 0.02,
        rate_malformed: 0.10,
        seed: 11,
        ..Default::default()
    })
    .unwrap();
    let started = Instant::now();
    let faulty = run_through(&dir, &fake, "faulty.json", &["--concurrency", "16"]);
    assert_eq!(answers(&faulty), answers(&clean));
    let mut ids: Vec<&str> = faulty.calls.iter().map(|c| c.call_id.as_str()).collect();
    ids.dedup();
    assert_eq!(ids.len(), 220, "every call present once");
    assert!(
        faulty.header.as_ref().expect("a run header").usage.retries > 0,
        "faults were injected and retried"
    );
    eprintln!(
        "faulty run: {} requests for 220 calls, {} retries, {} rate-limited, {:.1} s",
        fake.requests(),
        faulty.header.as_ref().expect("a run header").usage.retries,
        fake.stats().rate_limited.load(std::sync::atomic::Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn throughput_settles_just_under_a_rate_limit() {
    // 40 requests/s at 250 ms a request: about 10 in flight is right, 128 far too many.
    const RATE: f64 = 40.0;
    let dir = dir_with_calls(SPEC, 320);
    let fake = FakeServer::start(FakeConfig {
        rate_limit: Some(RATE),
        latency: Duration::from_millis(250),
        ..Default::default()
    })
    .unwrap();
    let started = Instant::now();
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet", "--concurrency", "128"])
        .assert()
        .success();
    let elapsed = started.elapsed().as_secs_f64();
    let answered = fake.stats().answered.load(std::sync::atomic::Ordering::Relaxed) as f64;
    let limited = fake.stats().rate_limited.load(std::sync::atomic::Ordering::Relaxed) as f64;
    let throughput = answered / elapsed;
    eprintln!(
        "rate limit {RATE}/s: {throughput:.1} answered/s, {limited} of {} requests got 429",
        fake.requests()
    );
    assert!(
        throughput >= 0.85 * RATE,
        "throughput {throughput:.1}/s under 0.85 × {RATE}"
    );
    assert!(
        limited < 0.10 * fake.requests() as f64,
        "{limited} 429s of {} requests",
        fake.requests()
    );
}

fn spawn_run(dir: &TestDir, fake: &FakeServer, out: &str) -> Child {
    dir.run_process_at(&fake.base_url(), MODEL)
        .args(["-o", out, "--quiet", "--concurrency", "4", "--strategy", "per_metric"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn cache_entries(dir: &TestDir) -> u64 {
    let mut n = 0;
    let root = dir.join(".postcall/cache");
    for shard in std::fs::read_dir(root).into_iter().flatten().flatten() {
        n += std::fs::read_dir(shard.path())
            .map(|d| {
                d.flatten()
                    .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                    .count()
            })
            .unwrap_or(0) as u64;
    }
    n
}

/// Units in the per_metric run of SPEC: 9 metrics + the summary, per call.
const UNITS_PER_CALL: u64 = 10;

/// The run [`spawn_run`] started, again to `r.json` after it was stopped: asserts it sends
/// only the requests of `calls` calls whose answers are not in the cache; returns its report.
fn re_run_to_the_end(dir: &TestDir, fake: &FakeServer, calls: u64) -> Report {
    let (before, cached) = (fake.requests(), cache_entries(dir));
    dir.run_against(fake)
        .args(["-o", "r.json", "--quiet"])
        .args(["--concurrency", "4", "--strategy", "per_metric"])
        .assert()
        .success();
    let sent = fake.requests() - before;
    assert_eq!(
        sent,
        calls * UNITS_PER_CALL - cached,
        "re-run sent {sent} requests with {cached} cached"
    );
    read_json_report(&dir.join("r.json"))
}

#[test]
fn a_killed_run_re_run_sends_only_the_missing_requests_and_gives_the_same_report() {
    let (dir, clean) = calls_and_fault_free_report(40, &["--strategy", "per_metric"]);
    let fake = slow_fake(20);
    dir.write("r.jsonl", "yesterday's report\n");
    let mut child = spawn_run(&dir, &fake, "r.jsonl");
    wait_for_requests(&fake, 120);
    child.kill().unwrap();
    child.wait().unwrap();
    let first = fake.requests();
    assert!(first < 40 * UNITS_PER_CALL, "the run finished before it was killed");
    // The JSONL written so far is a valid prefix, beside the destination (which a killed
    // run never touches): the run header, then calls that parse, and, once the inputs were
    // read, a header line that says how many calls there are.
    assert_eq!(
        std::fs::read_to_string(dir.join("r.jsonl")).unwrap(),
        "yesterday's report\n"
    );
    let jsonl = std::fs::read_to_string(dir.join("r.jsonl.partial")).unwrap_or_default();
    let mut headers = Vec::new();
    for (i, line) in jsonl.lines().enumerate() {
        if i == 0 || line.starts_with(r#"{"postcall":"#) {
            let head: HeaderLine =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("bad header line {line:?}: {e}"));
            assert!(head.metric_definitions.is_some(), "killed: no final header line");
            headers.push(head.postcall);
            continue;
        }
        serde_json::from_str::<CallResult>(line).unwrap_or_else(|e| panic!("torn JSONL line {line:?}: {e}"));
    }
    assert_eq!(headers.len(), 2, "the opening header, and the one with the inputs read");
    assert_eq!(headers[1].calls_not_done, 40);
    assert_eq!(headers[1].archive.as_ref().map(|a| a.calls), Some(40));
    // Killed before its last line: it reads as an incomplete run with what it has.
    let killed = read_report(&dir.join("r.jsonl.partial")).unwrap();
    let header = killed.header.expect("the run header of the first line");
    assert!(!header.complete);
    assert_eq!(header.calls, killed.calls.len());
    assert_eq!(header.calls_not_done + killed.calls.len(), 40);
    let done = re_run_to_the_end(&dir, &fake, 40);
    assert_eq!(answers(&done), answers(&clean));
}

#[test]
fn ctrl_c_keeps_the_old_report_puts_what_finished_beside_it_and_a_re_run_completes_it() {
    let (dir, clean) = calls_and_fault_free_report(40, &["--strategy", "per_metric"]);
    let fake = slow_fake(20);
    dir.write("r.json", "yesterday's report");
    let child = spawn_run(&dir, &fake, "r.json");
    wait_for_requests(&fake, 120);
    let output = interrupt(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("re-run"), "{stderr}");
    assert!(
        stderr.contains("written to r.json.partial (r.json is as it was)"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("r.json")).unwrap(),
        "yesterday's report"
    );
    let partial = read_json_report(&dir.join("r.json.partial"));
    assert!(!partial.header.as_ref().expect("a run header").complete);
    assert_eq!(
        partial.header.as_ref().expect("a run header").calls_not_done + partial.calls.len(),
        40
    );
    assert!(partial.header.as_ref().expect("a run header").calls_not_done > 0);
    // What was written is right.
    let clean_answers = answers(&clean);
    for call in &partial.calls {
        assert!(clean_answers.contains(&answer_of(call)), "{} differs", call.call_id);
    }
    let done = re_run_to_the_end(&dir, &fake, 40);
    assert!(done.header.as_ref().expect("a run header").complete);
    assert_eq!(answers(&done), clean_answers);
}

#[test]
fn ctrl_c_with_only_the_last_requests_in_flight_ends_complete_with_exit_0() {
    // One call's 10 units, all in flight at once for a second: the Ctrl-C stops scheduling,
    // but nothing is left to schedule, so the run ends as any complete run does.
    let dir = dir_with_calls(SPEC, 1);
    let fake = slow_fake(1000);
    dir.write("r.json", "yesterday's report");
    let child = dir
        .run_process_at(&fake.base_url(), MODEL)
        .args([
            "-o",
            "r.json",
            "--quiet",
            "--concurrency",
            "16",
            "--strategy",
            "per_metric",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_requests(&fake, UNITS_PER_CALL);
    let output = interrupt(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(fake.requests(), UNITS_PER_CALL, "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("re-run"), "{stderr}");
    assert!(stderr.contains("the reports are complete"), "{stderr}");
    let report = read_json_report(&dir.join("r.json"));
    assert!(report.header.as_ref().expect("a run header").complete);
    assert_eq!(report.calls.len(), 1);
    assert!(!dir.join("r.json.partial").exists());
}

#[test]
fn a_stalled_endpoint_times_out_retries_and_the_run_completes() {
    let (dir, clean) = calls_and_fault_free_report(20, &[]);
    let fake = FakeServer::start(FakeConfig {
        rate_stall: 0.2,
        stall: Duration::from_secs(5),
        seed: 3,
        ..Default::default()
    })
    .unwrap();
    let report = run_through(&dir, &fake, "r.json", &["--concurrency", "8", "--timeout", "1"]);
    assert!(
        report.header.as_ref().expect("a run header").usage.retries > 0,
        "no request timed out"
    );
    assert_eq!(answers(&report), answers(&clean));
}

#[test]
fn two_runs_at_once_on_one_cache_with_different_outputs_pay_for_each_request_once() {
    let (dir, clean) = calls_and_fault_free_report(60, &["--strategy", "per_metric"]);
    let fake = slow_fake(5);
    let a = spawn_run(&dir, &fake, "a.json");
    let b = spawn_run(&dir, &fake, "b.json");
    for child in [a, b] {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert_eq!(answers(&read_json_report(&dir.join("a.json"))), answers(&clean));
    assert_eq!(answers(&read_json_report(&dir.join("b.json"))), answers(&clean));
    assert_eq!(cache_entries(&dir), 60 * UNITS_PER_CALL);
    assert_eq!(
        fake.requests(),
        60 * UNITS_PER_CALL,
        "each request is claimed by one run; the other waits for its answer"
    );
}

#[test]
fn editing_one_prompt_in_per_metric_re_asks_only_that_metric() {
    let dir = dir_with_calls(SPEC, 10);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let run = || {
        dir.run_against(&fake)
            .args(["-o", "r.json", "--quiet", "--strategy", "per_metric"])
            .assert()
            .success();
    };
    run();
    assert_eq!(fake.requests(), 10 * UNITS_PER_CALL);
    dir.write(
        "metrics.yaml",
        SPEC.replace(
            "Rate the customer's apparent satisfaction from 1 to 5.",
            "How satisfied did the customer sound, from 1 to 5?",
        ),
    );
    run();
    assert_eq!(
        fake.requests(),
        10 * UNITS_PER_CALL + 10,
        "only satisfaction_score is asked again"
    );
}

#[test]
fn refresh_asks_again_and_no_cache_leaves_no_entries() {
    let dir = dir_with_calls(SPEC, 5);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let run = |extra: &[&str]| {
        dir.run_against(&fake)
            .args(["-o", "r.json", "--quiet"])
            .args(extra)
            .assert()
            .success();
    };
    run(&["--no-cache"]);
    assert_eq!(cache_entries(&dir), 0);
    run(&[]);
    run(&["--refresh"]);
    assert_eq!(fake.requests(), 15);
    let stats = dir.postcall().args(["cache", "stats"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&stats.stdout).contains("5 entries"),
        "{}",
        String::from_utf8_lossy(&stats.stdout)
    );
}
