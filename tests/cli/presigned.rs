//! A single input or output given as a presigned URL (`https://bucket…/key?X-Amz-…`), against
//! a store on 127.0.0.1 that honours only its own signature: the call is read, the report
//! is put, and the signature — the link's credential — shows nowhere postcall writes.

use postcall_testkit::fake_llm::{FakeConfig, FakeServer};
use postcall_testkit::presigned::{CREDENTIAL, PresignedStore, SIGNATURE};

use crate::common::{MODEL, TestDir};
use crate::run::{SPEC, dir_with_calls, read_json_report};

fn run(dir: &TestDir, fake: &FakeServer, input: &str, outputs: &[&str]) -> std::process::Output {
    let mut cmd = dir.postcall_process();
    cmd.args(["run", "-m", "metrics.yaml", input, "--no-cache"]).args([
        "--base-url",
        &fake.base_url(),
        "--model",
        MODEL,
    ]);
    for output in outputs {
        cmd.args(["-o", output]);
    }
    cmd.output().unwrap()
}

fn assert_no_credential(what: &str, text: &str) {
    assert!(!text.contains(SIGNATURE), "the signature shows in {what}: {text}");
    assert!(!text.contains(CREDENTIAL), "the access key id shows in {what}: {text}");
}

#[test]
fn a_call_is_read_from_a_presigned_url_and_the_report_put_to_one_without_the_signature_anywhere() {
    let dir = dir_with_calls(SPEC, 1);
    let call = std::fs::read(dir.join("calls/00/call-0000.json")).unwrap();
    let store = PresignedStore::start().unwrap();
    store.put("/archive/call-0000.json", &call);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();

    let out = run(
        &dir,
        &fake,
        &store.url("/archive/call-0000.json"),
        &[&store.url("/reports/r.json"), "local.json"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_no_credential("stderr", &stderr);

    let put = String::from_utf8(store.get("/reports/r.json").expect("the report was put")).unwrap();
    assert_no_credential("the report put to the store", &put);
    let local = read_json_report(&dir.join("local.json"));
    assert_eq!(local.calls.len(), 1);
    assert_eq!(local.calls[0].call_id, "call-0000");
    let source = &local.calls[0].source;
    assert!(source.starts_with("http://127.0.0.1:"), "{source}");
    assert!(source.contains("/archive/call-0000.json"), "{source}");
    assert_no_credential(
        "the report's source",
        &std::fs::read_to_string(dir.join("local.json")).unwrap(),
    );
    assert_eq!(fake.requests(), 1);
}

#[test]
fn a_presigned_input_that_is_refused_or_holds_no_call_stops_the_run_without_showing_the_signature() {
    let dir = dir_with_calls(SPEC, 0);
    let store = PresignedStore::start().unwrap();
    store.put("/archive/notes.txt", b"just some notes, no speakers here\n");
    store.put("/archive/call.json", b"{\"call_id\": \"x\"}");
    let fake = FakeServer::start(FakeConfig::default()).unwrap();

    // Not a call: the run's last error quotes the input it read.
    let out = run(&dir, &fake, &store.url("/archive/notes.txt"), &["r.json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no calls to evaluate in http://127.0.0.1:"), "{stderr}");
    assert!(
        stderr.contains("X-Amz-Signature=[REDACTED]: 0 input error(s)"),
        "{stderr}"
    );
    assert_no_credential("stderr", &stderr);

    // A link the store refuses (tampered with, or expired).
    let out = run(&dir, &fake, &store.unsigned_url("/archive/call.json"), &["r.json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("SignatureDoesNotMatch"), "{stderr}");
    assert!(stderr.contains("sign a new one"), "{stderr}");
    assert_no_credential("stderr", &stderr);

    assert_eq!(fake.requests(), 0, "nothing was asked of the endpoint");
    assert!(!dir.join("r.json").exists());
}

#[test]
fn a_presigned_url_is_refused_as_a_cache_before_any_request() {
    let dir = dir_with_calls(SPEC, 1);
    let store = PresignedStore::start().unwrap();
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let mut cmd = dir.postcall_process();
    cmd.args(["run", "-m", "metrics.yaml", "calls", "-o", "r.json"])
        .args(["--base-url", &fake.base_url(), "--model", MODEL])
        .args(["--cache-dir", &store.url("/cache")]);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("a presigned https:// URL names one object"), "{stderr}");
    assert_no_credential("stderr", &stderr);
    assert_eq!(fake.requests(), 0);
    assert_eq!(store.requests(), Vec::<(String, String)>::new());
}
