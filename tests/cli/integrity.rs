//! Nothing lost: a run never empties, overwrites or splices a file the user already has —
//! an earlier report, an input transcript, the metric file — and two runs on one output or
//! one cache neither corrupt each other nor pay twice.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

use crate::common::{MODEL, TestDir, slow_fake, wait_until};
use crate::run::{SPEC, dir_with_calls, read_json_report};

/// The files in `dir` (not recursing), sorted, to check that nothing was left behind.
pub fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A previous report big enough to notice when it is emptied.
fn previous_report(dir: &TestDir, name: &str) -> Vec<u8> {
    let text: String = (0..2000)
        .map(|i| format!("{{\"call_id\": \"old-{i}\", \"note\": \"a line of yesterday's report\"}}\n"))
        .collect();
    dir.write(name, &text);
    text.into_bytes()
}

#[test]
fn a_bad_second_output_leaves_the_first_untouched_and_sends_nothing() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 3);
    let before = previous_report(&dir, "prev.jsonl");
    let (output, stderr) = dir.run_output(&fake, &["-o", "prev.jsonl", "-o", "/nonexistent/x.csv"]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("/nonexistent") && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(dir.join("prev.jsonl")).unwrap(),
        before,
        "prev.jsonl was changed"
    );
    assert_eq!(fake.requests(), 0);
    assert_eq!(
        names_in(dir.path()),
        [".postcall", "calls", "metrics.yaml", "prev.jsonl"]
    );
}

#[test]
fn an_output_that_names_an_input_or_lies_inside_an_input_directory_is_refused() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 2);
    let bundle =
        "{\"call_id\": \"b1\", \"transcript\": [{\"role\": \"agent\", \"content\": \"Hello, how can I help?\"}]}\n";
    dir.write("calls/bundle.jsonl", bundle);
    let single_text = "{\"call_id\": \"s\", \"transcript\": [{\"role\": \"user\", \"content\": \"hi\"}]}";
    let single = dir.write("single.json", single_text);
    let metrics_before = std::fs::read(dir.join("metrics.yaml")).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["calls", "-o", "calls/bundle.jsonl"],
            "inside the input directory calls",
        ),
        (
            &["calls", "-o", "calls/00/new.json"],
            "inside the input directory calls",
        ),
        (
            &["calls", "-o", "./metrics.yaml", "--output-format", "json"],
            "it is the metric file",
        ),
        (
            &["single.json", "-o", "calls/../single.json"],
            "it is an input (single.json)",
        ),
    ];
    for (args, words) in cases {
        let output = dir
            .postcall()
            .args([
                "run",
                "-m",
                "metrics.yaml",
                "--base-url",
                &fake.base_url(),
                "--model",
                MODEL,
            ])
            .args(*args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("refusing to write the report to"), "{args:?}: {stderr}");
        assert!(stderr.contains(words), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read_to_string(dir.join("calls/bundle.jsonl")).unwrap(), bundle);
    assert!(!dir.join("calls/00/new.json").exists());
    assert_eq!(std::fs::read(dir.join("metrics.yaml")).unwrap(), metrics_before);
    assert_eq!(std::fs::read_to_string(&single).unwrap(), single_text);
    assert_eq!(fake.requests(), 0);
}

#[test]
fn convert_and_filter_refuse_to_write_over_the_report_they_read() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 3);
    dir.run_against(&fake)
        .args(["-o", "r.jsonl", "--quiet"])
        .assert()
        .success();
    let before = std::fs::read(dir.join("r.jsonl")).unwrap();
    let runs: [&[&str]; 2] = [
        &["convert", "r.jsonl", "-o", "./r.jsonl"],
        &[
            "filter",
            "r.jsonl",
            "--where",
            "call_outcome:status=ok",
            "-o",
            "r.jsonl",
        ],
    ];
    for args in runs {
        let output = dir.postcall().args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains("it is the report being"), "{args:?}: {stderr}");
    }
    assert_eq!(std::fs::read(dir.join("r.jsonl")).unwrap(), before);
}

#[test]
fn a_second_run_on_the_same_output_refuses_at_once_naming_the_first_runs_pid() {
    let fake = slow_fake(30);
    let dir = dir_with_calls(SPEC, 30);
    let first = dir
        .run_process_at(&fake.base_url(), MODEL)
        .args(["-o", "r.jsonl", "--quiet", "--concurrency", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until(|| fake.requests() >= 2);
    let started = Instant::now();
    let second = dir
        .run_against(&fake)
        .args(["-o", "r.jsonl", "--quiet"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("another postcall run (pid {}) is writing r.jsonl", first.id())),
        "{stderr}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "refused at once, not after the scan"
    );
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let report = postcall::report::read_report(&dir.join("r.jsonl")).unwrap();
    assert!(report.header.expect("a run header").complete);
    assert_eq!(report.calls.len(), 30, "every call once, no spliced lines");
}

#[test]
fn a_killed_run_holds_no_lock_and_leaves_no_temporary_file_the_next_run_does_not_remove() {
    let fake = slow_fake(30);
    let dir = dir_with_calls(SPEC, 30);
    let mut killed = dir
        .run_process_at(&fake.base_url(), MODEL)
        .args(["-o", "r.json", "-o", "r.csv", "--quiet", "--concurrency", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(|| fake.requests() >= 4);
    killed.kill().unwrap();
    killed.wait().unwrap();
    let left = names_in(dir.path());
    let temps = |names: &[String]| names.iter().filter(|n| n.ends_with(".tmp")).count();
    assert!(
        temps(&left) >= 2,
        "SIGKILL leaves the buffers of r.json and r.csv: {left:?}"
    );
    dir.run_against(&fake)
        .args(["-o", "r.json", "-o", "r.csv", "--quiet"])
        .assert()
        .success();
    let after = names_in(dir.path());
    assert_eq!(after, [".postcall", "calls", "metrics.yaml", "r.csv", "r.json"]);
    assert_eq!(read_json_report(&dir.join("r.json")).calls.len(), 30);
}

#[test]
fn dev_null_is_an_output_like_any_other() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 2);
    for extra in [&["-o", "/dev/null"][..], &["-o", "/dev/null", "--output-format", "csv"]] {
        let output = dir.run_against(&fake).args(extra).arg("--quiet").output().unwrap();
        assert!(
            output.status.success(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata("/dev/null").unwrap();
    assert!(meta.file_type().is_char_device(), "still the device");
}

/// Runs `cmd` to the end, or kills it and fails after `limit`: for inputs that used to hang.
fn output_within(mut cmd: std::process::Command, limit: Duration) -> std::process::Output {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("still running after {limit:?}: it waits on an input");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o600) },
        0,
        "mkfifo {}",
        path.display()
    );
}

#[test]
fn a_fifo_or_a_link_to_dev_zero_in_an_input_directory_is_skipped_with_the_reason() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 2);
    mkfifo(&dir.join("calls/pipe.json"));
    std::os::unix::fs::symlink("/dev/zero", dir.join("calls/zero.json")).unwrap();
    let mut inspect = dir.postcall_process();
    inspect.args(["inspect", "calls"]);
    let mut run = dir.run_process_at(&fake.base_url(), MODEL);
    run.args(["-o", "r.json", "--quiet"]);
    for (name, cmd) in [("inspect", inspect), ("run", run)] {
        let output = output_within(cmd, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&output.stderr);
        let stdout = String::from_utf8_lossy(&output.stdout);
        let said = format!("{stdout}{stderr}");
        assert!(output.status.success(), "{name}: {said}");
        assert!(
            said.contains("calls/pipe.json: skipped, not a regular file (a FIFO)"),
            "{name}: {said}"
        );
        assert!(
            said.contains("calls/zero.json: skipped, not a regular file (a device)"),
            "{name}: {said}"
        );
    }
    assert_eq!(read_json_report(&dir.join("r.json")).calls.len(), 2);
}

#[test]
fn an_input_named_on_the_command_line_that_is_a_fifo_is_an_error_not_a_hang() {
    let dir = TestDir::new();
    mkfifo(&dir.join("pipe.json"));
    let mut inspect = dir.postcall_process();
    inspect.args(["inspect", "pipe.json"]);
    let output = output_within(inspect, Duration::from_secs(20));
    let said = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("pipe.json: not a regular file (a FIFO)"), "{said}");
    assert!(said.contains("pass `-` and feed it on stdin"), "{said}");
}

#[test]
fn a_file_over_max_file_size_is_an_error_checked_before_reading_and_the_rest_are_read() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 2);
    let turn = "word ".repeat(1000);
    let big = serde_json::json!({"call_id": "big", "transcript": [{"role": "user", "content": turn}]});
    dir.write("calls/big.json", serde_json::to_vec(&big).unwrap());
    let (output, stderr) = dir.run_output(&fake, &["-o", "r.json", "--quiet", "--max-file-size", "2KiB"]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "an unreadable input fails the run: {stderr}"
    );
    assert!(
        stderr.contains("calls/big.json: 4.9 KiB is over --max-file-size 2.0 KiB: raise --max-file-size"),
        "{stderr}"
    );
    let report = read_json_report(&dir.join("r.json"));
    assert_eq!(report.calls.len(), 2);
    assert_eq!(report.header.expect("a run header").input_errors.len(), 1);
    let output = dir
        .run_against(&fake)
        .args(["-o", "r.json", "--quiet", "--max-file-size", "1MB"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(read_json_report(&dir.join("r.json")).calls.len(), 3);
}

#[test]
fn an_output_failing_mid_run_is_dropped_and_the_others_finish_with_every_answer() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 6);
    // `/dev/full` takes the opening but refuses the first call's write: a disk filling up.
    // With --no-cache, what is lost with the other outputs is lost for good.
    let (output, stderr) = dir.run_output(
        &fake,
        &[
            "-o",
            "r.json",
            "-o",
            "/dev/full",
            "-o",
            "r.csv",
            "--no-cache",
            "--quiet",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("this output is dropped").count(),
        1,
        "one message for the failing output: {stderr}"
    );
    assert!(stderr.contains("/dev/full"), "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("output failed:") && l.contains("/dev/full")),
        "the summary names the output that failed: {stderr}"
    );
    assert_eq!(fake.requests(), 6, "every call asked once, none stopped");
    let report = read_json_report(&dir.join("r.json"));
    assert_eq!(report.calls.len(), 6);
    assert!(report.header.as_ref().unwrap().complete);
    let csv = std::fs::read_to_string(dir.join("r.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "a header and six rows: {csv}");
    assert_eq!(
        names_in(dir.path()),
        ["calls", "metrics.yaml", "r.csv", "r.json"],
        "no .partial left: both finished"
    );
}

#[test]
fn a_csv_output_whose_disk_fills_mid_run_is_dropped_and_the_other_outputs_keep_every_answer() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 200);
    // A CSV report on a disk that fills up: its header fits in the buffers, a later row's
    // write fails (200 rows are more than the buffers hold).
    std::os::unix::fs::symlink("/dev/full", dir.join("full.csv")).unwrap();
    let (output, stderr) = dir.run_output(&fake, &["-o", "full.csv", "-o", "r.json", "--no-cache", "--quiet"]);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.matches("this output is dropped").count(), 1, "{stderr}");
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("output failed:") && l.contains("full.csv")),
        "{stderr}"
    );
    assert_eq!(fake.requests(), 200, "the run carried on: {stderr}");
    let report = read_json_report(&dir.join("r.json"));
    assert_eq!(report.calls.len(), 200, "every answer in the other output");
    assert!(report.header.as_ref().unwrap().complete);
}

#[test]
fn when_every_output_fails_at_the_start_the_advice_says_what_a_rerun_asks_again() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 3);
    // A JSONL writes its header first: on a full disk, the only output fails at the start.
    std::os::unix::fs::symlink("/dev/full", dir.join("full.jsonl")).unwrap();
    for (cache, says) in [
        (None, "(cached answers are not asked again)"),
        (Some("--no-cache"), "(with --no-cache, every call is asked again)"),
    ] {
        let mut cmd = dir.run_against(&fake);
        cmd.args(["-o", "full.jsonl", "--quiet"]).args(cache);
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("every output failed"), "{stderr}");
        assert!(stderr.contains(says), "{cache:?}: {stderr}");
    }
    assert_eq!(fake.requests(), 0, "nothing asked for outputs that cannot take it");
}

#[test]
fn when_every_output_fails_only_at_finish_the_error_says_no_report_was_written() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 3);
    // An xlsx workbook is kept in memory and written at the end: on a full disk its begin
    // and calls succeed and only its finish fails.
    std::os::unix::fs::symlink("/dev/full", dir.join("full.xlsx")).unwrap();
    for (cache, says) in [
        (None, "The answers are in the cache"),
        (Some("--no-cache"), "with --no-cache the answers are not kept anywhere"),
    ] {
        let mut cmd = dir.run_against(&fake);
        cmd.args(["-o", "full.xlsx", "--quiet"]).args(cache);
        let output = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("output failed:") && l.contains("full.xlsx")),
            "{stderr}"
        );
        let error: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(error.len(), 1, "one error: {stderr}");
        assert!(error[0].contains("every output failed"), "{stderr}");
        assert!(error[0].contains("no report was written"), "{stderr}");
        assert!(error[0].contains(says), "{stderr}");
        assert!(!stderr.contains("the other outputs were written"), "{stderr}");
    }
}
