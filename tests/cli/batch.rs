//! `postcall batch submit|status|collect` against the fake endpoint's batch API: the
//! answers a batch brings are the ones a live run gets, `run` afterwards asks nothing the
//! batch answered, and a command killed at any step resumes without a second batch.

use std::process::Output;

use postcall::report::Report;
use postcall_testkit::fake_batch::{BatchFault, Finish};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer, Refuse};

use crate::common::{MODEL, TestDir, refusing_fake};
use crate::run::{SPEC, dir_with_calls, read_json_report, write_calls};

const KEY: &str = "sk-batch-test-0123456789abcdef";

/// `postcall batch ACTION` in `dir`, with a key in the environment.
fn batch(dir: &TestDir, action: &str) -> std::process::Command {
    let mut cmd = dir.postcall_process();
    cmd.args(["batch", action]).env("OPENAI_API_KEY", KEY);
    cmd
}

/// `batch submit` with `run`'s arguments against `fake`.
fn submit(dir: &TestDir, fake: &FakeServer, extra: &[&str]) -> Output {
    let mut cmd = batch(dir, "submit");
    cmd.args([
        "-m",
        "metrics.yaml",
        "calls",
        "--base-url",
        &fake.base_url(),
        "--model",
        MODEL,
    ]);
    cmd.args(extra).output().unwrap()
}

fn ok(output: Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn failed(output: Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A live run with its own cache: the report batch mode must reproduce.
fn live_report(dir: &TestDir, fake: &FakeServer) -> Report {
    dir.run_against(fake)
        .args(["--cache-dir", "live-cache", "-o", "live.json", "--quiet"])
        .assert()
        .success();
    read_json_report(&dir.join("live.json"))
}

/// `run` with the submit's arguments (and the default cache the batch filled).
fn run_after(dir: &TestDir, fake: &FakeServer) -> Report {
    dir.run_against(fake)
        .args(["-o", "after.json", "--quiet"])
        .assert()
        .success();
    read_json_report(&dir.join("after.json"))
}

/// Each call's summary and answers, value for value.
fn answers(report: &Report) -> Vec<(String, Option<String>, serde_json::Value)> {
    report
        .calls
        .iter()
        .map(|c| {
            (
                c.call_id.clone(),
                c.summary.clone(),
                serde_json::to_value(&c.metrics).unwrap(),
            )
        })
        .collect()
}

fn ids(fake: &FakeServer) -> Vec<String> {
    fake.batches().into_iter().map(|b| b.id).collect()
}

#[test]
fn a_collected_batch_gives_the_live_report_value_for_value_and_run_then_sends_nothing() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 8);
    let live = live_report(&dir, &fake);
    let live_requests = fake.requests();

    let out = ok(submit(&dir, &fake, &[]));
    assert!(out.contains("submitted 8 request(s) in 1 new batch(es)"), "{out}");
    let [batch] = fake.batches().try_into().expect("one batch");
    assert_eq!((batch.total, batch.status.as_str()), (8, "validating"));
    let status = ok(batch_cmd(&dir, "status"));
    assert!(status.contains(&batch.id) && status.contains("validating"), "{status}");

    fake.set_batch_status(&batch.id, "in_progress");
    let early = ok(batch_cmd(&dir, "collect"));
    assert!(
        early.contains("in_progress") && early.contains("not finished"),
        "{early}"
    );
    fake.finish_batch(&batch.id, Finish::Completed);
    let status = ok(batch_cmd(&dir, "status"));
    assert!(
        status.contains("completed") && status.contains("1 ready to collect"),
        "{status}"
    );
    let collected = ok(batch_cmd(&dir, "collect"));
    assert!(
        collected.contains("8 answer(s) cached, 0 invalid, 0 failed, 0 missing"),
        "{collected}"
    );
    assert_eq!(fake.requests(), live_requests, "batch mode sends no live request");

    let after = run_after(&dir, &fake);
    assert_eq!(fake.requests(), live_requests, "run asks nothing the batch answered");
    let usage = after.header.as_ref().unwrap().usage;
    assert_eq!((usage.requests, usage.cached), (0, 8));
    assert_eq!(answers(&after), answers(&live));

    let again = ok(submit(&dir, &fake, &[]));
    assert!(
        again.contains("submitted 0 request(s)") && again.contains("8 answered in the cache"),
        "{again}"
    );
    assert_eq!(fake.batches().len(), 1);
}

fn batch_cmd(dir: &TestDir, action: &str) -> Output {
    batch(dir, action).output().unwrap()
}

#[test]
fn an_expired_batch_and_a_partial_failure_are_sent_again_and_only_they() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 10);
    let live = live_report(&dir, &fake);
    let live_requests = fake.requests();

    let out = ok(submit(&dir, &fake, &["--max-requests-per-file", "5"]));
    assert!(out.contains("submitted 10 request(s) in 2 new batch(es)"), "{out}");
    let [first, second] = ids(&fake).try_into().expect("two batches");
    fake.finish_batch(&first, Finish::PartlyFailed { every: 3 });
    fake.finish_batch(&second, Finish::Expired { answered: 2 });
    let collected = ok(batch_cmd(&dir, "collect"));
    assert!(
        collected.contains(&format!("{first}  completed: 4 answer(s) cached, 0 invalid, 1 failed")),
        "{collected}"
    );
    assert!(
        collected.contains(&format!("{second}  expired: 2 answer(s) cached, 0 invalid, 3 failed")),
        "{collected}"
    );

    let resent = ok(submit(&dir, &fake, &["--max-requests-per-file", "5"]));
    assert!(
        resent.contains("submitted 4 request(s) in 1 new batch(es); 6 answered in the cache"),
        "{resent}"
    );
    let third = fake.batches().pop().unwrap();
    assert_eq!(third.total, 4);
    fake.finish_batch(&third.id, Finish::Completed);
    ok(batch_cmd(&dir, "collect"));
    let after = run_after(&dir, &fake);
    assert_eq!(fake.requests(), live_requests);
    assert_eq!(answers(&after), answers(&live));
}

#[test]
fn killed_after_upload_after_create_or_mid_download_a_rerun_resumes_and_never_makes_a_second_batch() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 6);
    let live = live_report(&dir, &fake);
    let live_requests = fake.requests();
    let args = ["--max-requests-per-file", "3"];

    fake.inject_batch_fault(BatchFault::DropAfterUpload);
    failed(submit(&dir, &fake, &args));
    assert_eq!((fake.batch_files().len(), fake.batches().len()), (1, 0));
    fake.inject_batch_fault(BatchFault::DropAfterCreate);
    failed(submit(&dir, &fake, &args));
    assert_eq!(
        (fake.batch_files().len(), fake.batches().len()),
        (1, 1),
        "the uploaded file was found, not sent again"
    );
    let out = ok(submit(&dir, &fake, &args));
    assert!(
        out.contains("resumed") && out.contains("submitted 3 request(s) in 1 new batch(es)"),
        "{out}"
    );
    let batches = fake.batches();
    assert_eq!(batches.len(), 2, "one batch per input file: {batches:?}");
    assert_eq!(fake.batch_files().len(), 2);
    assert!(
        batches.iter().all(|b| b.total == 3 && b.errors.is_empty()),
        "{batches:?}"
    );
    let again = ok(submit(&dir, &fake, &args));
    assert!(
        again.contains("submitted 0 request(s)") && again.contains("6 in batches not yet collected"),
        "{again}"
    );

    for id in ids(&fake) {
        fake.finish_batch(&id, Finish::Completed);
    }
    fake.inject_batch_fault(BatchFault::CutDownload);
    let cut = failed(batch_cmd(&dir, "collect"));
    assert!(cut.contains("stopped after"), "{cut}");
    let collected = ok(batch_cmd(&dir, "collect"));
    assert!(
        collected.contains("collected 2 batch(es): 6 answer(s) into the cache"),
        "{collected}"
    );
    let after = run_after(&dir, &fake);
    assert_eq!(fake.requests(), live_requests);
    assert_eq!(answers(&after), answers(&live));
}

#[test]
fn the_ledger_and_the_errors_keep_no_secret() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 2);
    let with_password = fake.base_url().replace("http://", "http://user:hunter2@");
    let mut cmd = batch(&dir, "submit");
    cmd.args([
        "-m",
        "metrics.yaml",
        "calls",
        "--base-url",
        &with_password,
        "--model",
        MODEL,
    ]);
    ok(cmd.output().unwrap());
    for entry in std::fs::read_dir(dir.join(".postcall/batches")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(
                !text.contains("hunter2") && !text.contains(KEY),
                "{}: {text}",
                path.display()
            );
        }
    }
    let status = batch_cmd(&dir, "status");
    assert_eq!(status.status.code(), Some(2));
    let said = String::from_utf8_lossy(&status.stderr);
    assert!(said.contains("--base-url") && !said.contains("hunter2"), "{said}");
    let mut cmd = batch(&dir, "status");
    ok(cmd.args(["--base-url", &with_password]).output().unwrap());

    let refusing = refusing_fake(Refuse::Auth);
    let other = TestDir::new();
    other.write("metrics.yaml", SPEC);
    write_calls(&other, 1);
    let err = failed(submit(&other, &refusing, &[]));
    assert!(err.contains("401") && !err.contains(KEY), "{err}");
}

#[test]
fn answers_the_validator_refuses_are_not_cached_and_run_asks_only_them() {
    let fake = FakeServer::start(FakeConfig {
        rate_malformed: 0.4,
        seed: 3,
        ..Default::default()
    })
    .unwrap();
    let dir = dir_with_calls(SPEC, 10);
    let live = live_report(&dir, &fake);
    ok(submit(&dir, &fake, &[]));
    let [batch] = ids(&fake).try_into().expect("one batch");
    fake.finish_batch(&batch, Finish::Completed);
    let collected = ok(batch_cmd(&dir, "collect"));
    let invalid: u64 = collected
        .split(" invalid,")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no invalid count in {collected}"));
    assert!(invalid > 0 && invalid < 10, "some answers were malformed: {collected}");
    let before = fake.requests();
    let after = run_after(&dir, &fake);
    let usage = after.header.as_ref().unwrap().usage;
    assert_eq!(usage.cached, 10 - invalid, "every clean batch answer is used as it is");
    assert!(fake.requests() - before >= invalid, "the refused ones are asked live");
    assert_eq!(answers(&after), answers(&live));
}
