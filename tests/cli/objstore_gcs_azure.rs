//! `az://` and `gs://`: transcripts read from, and reports written to, an Azure Blob Storage
//! emulator (Azurite) and a GCS-compatible server (fake-gcs-server), each started per test
//! on 127.0.0.1 by `postcall-testkit` and reached through object_store's own configuration,
//! as a user's shell would set it: `AZURE_STORAGE_USE_EMULATOR` with
//! `AZURITE_BLOB_STORAGE_URL`; a service-account file naming `gcs_base_url` and
//! `disable_oauth` in `GOOGLE_SERVICE_ACCOUNT`.
//!
//! fake-gcs-server cannot take an upload through the XML API object_store writes with (see
//! `postcall_testkit::gcs`), so on `gs://` only reading is proven; the report goes to disk.

use std::process::{Command, Stdio};

use postcall::report::Report;
use postcall_testkit::azurite::{ACCOUNT_KEY, AzuriteServer};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer, Refuse};
use postcall_testkit::gcs::{GcsServer, PRIVATE_KEY};

use crate::common::{MODEL, TestDir, files_under, interrupt, refusing_fake, slow_fake, wait_for_requests};
use crate::objstore::assert_same_values;
use crate::run::{SPEC, dir_with_calls, read_json_report};

/// Each file below `dir`'s `calls/` as (its path from `dir`, its bytes): `calls/03/call-0003.json`.
fn call_files(dir: &TestDir) -> Vec<(String, Vec<u8>)> {
    files_under(&dir.join("calls"))
        .into_iter()
        .map(|path| {
            let key = path.strip_prefix(dir.path()).unwrap().to_string_lossy().into_owned();
            (key, std::fs::read(&path).unwrap())
        })
        .collect()
}

/// Azurite with an `archive` container holding `dir`'s `calls/` (nested) and an empty
/// `reports` container. The environment also names the account key, so that a test can
/// check it never shows.
fn azure_archive(dir: &TestDir) -> (AzuriteServer, Vec<(&'static str, String)>) {
    let azure = AzuriteServer::start().unwrap_or_else(|e| panic!("{e:#}"));
    azure.create_container("archive").unwrap();
    azure.create_container("reports").unwrap();
    for (key, bytes) in call_files(dir) {
        azure.put_blob("archive", &key, &bytes).unwrap();
    }
    let mut env = azure.env();
    env.push(("AZURE_STORAGE_ACCOUNT_KEY", ACCOUNT_KEY.into()));
    (azure, env)
}

/// fake-gcs-server with an `archive` bucket holding `dir`'s `calls/` (nested).
fn gcs_archive(dir: &TestDir) -> GcsServer {
    let gcs = GcsServer::start().unwrap_or_else(|e| panic!("{e:#}"));
    gcs.create_bucket("archive").unwrap();
    for (key, bytes) in call_files(dir) {
        gcs.put_object("archive", &key, &bytes).unwrap();
    }
    gcs
}

/// `postcall run -m metrics.yaml INPUT --quiet ARGS…` against `fake`, in `env`.
fn run(dir: &TestDir, env: &[(&str, String)], fake: &FakeServer, input: &str, args: &[&str]) -> Command {
    let mut cmd = dir.postcall_process();
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    cmd.args(["run", "-m", "metrics.yaml", input]);
    cmd.args(["--base-url", &fake.base_url(), "--model", MODEL, "--quiet"]);
    cmd.args(args);
    cmd
}

/// Runs `cmd`; its stderr, after checking it exited with `code`.
fn exits(mut cmd: Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{cmd:?}: {stderr}");
    stderr
}

/// The local report with each call's source as the object it was read from.
fn as_read_from(mut local: Report, root: &str) -> Report {
    for call in &mut local.calls {
        call.source = format!("{root}/{}", call.source);
    }
    local
}

fn never_shows(secret: &str, texts: &[&str]) {
    for text in texts {
        assert!(!text.contains(secret), "a credential shows: {text}");
    }
}

fn local_report(dir: &TestDir, fake: &FakeServer, env: &[(&str, String)]) -> Report {
    exits(run(dir, env, fake, "calls", &["--no-cache", "-o", "local.json"]), 0);
    read_json_report(&dir.join("local.json"))
}

#[test]
fn transcripts_from_azure_and_reports_to_azure_equal_the_local_run_value_for_value() {
    let dir = dir_with_calls(SPEC, 9);
    let (azure, env) = azure_archive(&dir);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let local = as_read_from(local_report(&dir, &fake, &env), "az://archive");

    let args = [
        "--no-cache",
        "-o",
        "az://reports/day/r.json",
        "-o",
        "az://reports/day/r.csv",
    ];
    let stderr = exits(run(&dir, &env, &fake, "az://archive/calls", &args), 0);

    let json = azure.get_blob("reports", "day/r.json").unwrap().expect("the report");
    let remote: Report = serde_json::from_slice(&json).unwrap();
    assert_eq!(remote.calls.len(), 9, "every call, from every nested directory");
    assert_same_values(&remote, &local);
    let csv = String::from_utf8(azure.get_blob("reports", "day/r.csv").unwrap().unwrap()).unwrap();
    assert_eq!(csv.lines().count(), 10, "a header and a row per call: {csv}");
    assert_eq!(azure.names("reports").unwrap(), ["day/r.csv", "day/r.json"]);
    assert_eq!(azure.uncommitted("reports").unwrap(), Vec::<String>::new());
    never_shows(ACCOUNT_KEY, &[&stderr, &String::from_utf8_lossy(&json), &csv]);
}

#[test]
fn an_azure_report_is_replaced_only_when_the_run_finishes() {
    let dir = dir_with_calls(SPEC, 12);
    let (azure, env) = azure_archive(&dir);
    azure.put_blob("reports", "r.json", b"yesterday's report").unwrap();
    let kept = || azure.get_blob("reports", "r.json").unwrap().unwrap();

    // Refused by the endpoint: the run fails, nothing is uploaded.
    let refused = refusing_fake(Refuse::Auth);
    let stderr = exits(
        run(
            &dir,
            &env,
            &refused,
            "az://archive/calls",
            &["-o", "az://reports/r.json"],
        ),
        1,
    );
    assert!(stderr.contains("not uploaded to az://reports/r.json"), "{stderr}");
    assert_eq!(kept(), b"yesterday's report");

    // Interrupted half way: the same.
    let slow = slow_fake(150);
    let args = ["--no-cache", "-o", "az://reports/r.json", "--concurrency", "2"];
    let child = run(&dir, &env, &slow, "az://archive/calls", &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_requests(&slow, 3);
    let output = interrupt(child);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("not uploaded to az://reports/r.json"), "{stderr}");
    assert_eq!(kept(), b"yesterday's report");
    assert_eq!(azure.names("reports").unwrap(), ["r.json"], "no partial blob");
    assert_eq!(
        azure.uncommitted("reports").unwrap(),
        Vec::<String>::new(),
        "no staged blocks"
    );

    // A run that finishes replaces it.
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    exits(
        run(
            &dir,
            &env,
            &fake,
            "az://archive/calls",
            &["--no-cache", "-o", "az://reports/r.json"],
        ),
        0,
    );
    let report: Report = serde_json::from_slice(&kept()).unwrap();
    assert_eq!(report.calls.len(), 12);
}

#[test]
fn a_missing_azure_container_is_named_with_what_to_do_before_any_request() {
    let dir = dir_with_calls(SPEC, 2);
    let (_azure, env) = azure_archive(&dir);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let cases: [(&str, &[&str], &str); 2] = [
        (
            "az://no-such-container/calls",
            &["-o", "r.json"],
            "az://no-such-container/calls: the container `no-such-container` does not exist",
        ),
        (
            "calls",
            &["-o", "az://no-such-container/r.json"],
            "cannot write the report to az://no-such-container/r.json: the container `no-such-container` does not exist",
        ),
    ];
    for (input, args, says) in cases {
        let stderr = exits(run(&dir, &env, &fake, input, args), 1);
        assert!(stderr.contains(says), "{input} {args:?}: no {says:?} in {stderr}");
        assert!(stderr.contains("AZURITE_BLOB_STORAGE_URL"), "what to check: {stderr}");
        assert_eq!(fake.requests(), 0, "{input} {args:?}: a request was sent");
        never_shows(ACCOUNT_KEY, &[&stderr]);
    }
}

#[test]
fn transcripts_from_gcs_equal_the_local_run_value_for_value() {
    let dir = dir_with_calls(SPEC, 9);
    let gcs = gcs_archive(&dir);
    let env = gcs.env();
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let local = as_read_from(local_report(&dir, &fake, &env), "gs://archive");

    let stderr = exits(
        run(
            &dir,
            &env,
            &fake,
            "gs://archive/calls",
            &["--no-cache", "-o", "remote.json"],
        ),
        0,
    );
    let remote = read_json_report(&dir.join("remote.json"));
    assert_eq!(remote.calls.len(), 9, "every call, from every nested directory");
    assert_same_values(&remote, &local);
    let text = std::fs::read_to_string(dir.join("remote.json")).unwrap();
    never_shows(PRIVATE_KEY, &[&stderr, &text]);
    assert!(!text.contains(&gcs.service_account_path().to_string_lossy().into_owned()));
}

#[test]
fn a_missing_gcs_bucket_is_named_before_any_request() {
    // fake-gcs-server answers a listing of a bucket it lacks with 500 "no bucket named …"
    // (GCS answers 404 NoSuchBucket, which postcall names as a missing bucket): the run
    // still stops before the endpoint is asked anything, quoting the server.
    let dir = dir_with_calls(SPEC, 2);
    let gcs = gcs_archive(&dir);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let stderr = exits(
        run(&dir, &gcs.env(), &fake, "gs://no-such-bucket/calls", &["-o", "r.json"]),
        1,
    );
    for says in [
        "gs://no-such-bucket/calls: cannot list",
        "no bucket named no-such-bucket",
        "no calls to evaluate in gs://no-such-bucket/calls",
    ] {
        assert!(stderr.contains(says), "no {says:?} in {stderr}");
    }
    assert_eq!(fake.requests(), 0, "a request was sent");
    assert!(!dir.join("r.json").exists());
    never_shows(PRIVATE_KEY, &[&stderr]);
}
