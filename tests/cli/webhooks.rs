//! `--webhook` and `postcall deliver`, against a receiver on 127.0.0.1 that verifies every
//! signature, fails a share of requests and records what it acknowledged.

use std::time::{Duration, Instant};

use postcall_testkit::fake_llm::{FakeConfig, FakeServer};
use postcall_testkit::receiver::{ReceiverConfig, WebhookReceiver};

use crate::common::{TestDir, slow_fake};
use crate::run::{SPEC, dir_with_calls};

const SECRET: &str = "whsec_test_secret";

fn receiver(rate_500: f64, rate_drop: f64) -> WebhookReceiver {
    WebhookReceiver::start(ReceiverConfig {
        secret: SECRET.into(),
        rate_500,
        rate_drop,
        seed: 7,
    })
    .unwrap()
}

fn setup(calls: usize) -> TestDir {
    dir_with_calls(SPEC, calls)
}

fn webhook_run(dir: &TestDir, fake: &FakeServer, url: &str) -> std::process::Command {
    let mut cmd = dir.run_process_at(&fake.base_url(), "m");
    cmd.args(["--quiet", "-o", "r.jsonl", "--webhook", url]);
    cmd.env("POSTCALL_WEBHOOK_SECRET", SECRET);
    cmd
}

fn dead_letter(dir: &TestDir) -> std::path::PathBuf {
    dir.join(".postcall/webhooks/dead-letter.jsonl")
}

#[test]
fn a_flaky_receiver_gets_every_call_once_and_every_signature_verifies() {
    let dir = setup(12);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let hook = receiver(0.25, 0.15);
    let out = webhook_run(&dir, &fake, &hook.url()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("webhooks: 12 delivered, 0 already acknowledged, 0 failed"),
        "{stderr}"
    );
    let counts = hook.acknowledgements_by_key();
    assert_eq!(counts.len(), 12, "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert_eq!(hook.bad_signatures(), 0);
    assert!(hook.requests() > 12, "the faults were injected and retried");
    let ids: std::collections::BTreeSet<String> = hook
        .acknowledged()
        .iter()
        .map(|a| a.body["call_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 12, "each payload is one call's result");
    assert!(!dead_letter(&dir).exists());
    // Nothing to send again: the ledger says all 12 were acknowledged.
    let before = hook.requests();
    let out = webhook_run(&dir, &fake, &hook.url()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 delivered, 12 already acknowledged"), "{stderr}");
    assert_eq!(hook.requests(), before);
}

#[test]
fn a_run_killed_half_way_and_run_again_delivers_every_call_exactly_once() {
    let dir = setup(30);
    let fake = slow_fake(150);
    let hook = receiver(0.2, 0.1);
    let mut child = webhook_run(&dir, &fake, &hook.url())
        .args(["--concurrency", "2"])
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while hook.acknowledgements_by_key().len() < 8 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let acked_before_kill = hook.acknowledgements_by_key().len();
    assert!(
        (8..30).contains(&acked_before_kill),
        "killed half-way: {acked_before_kill}"
    );

    let out = webhook_run(&dir, &fake, &hook.url()).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let counts = hook.acknowledgements_by_key();
    assert_eq!(counts.len(), 30, "every call acknowledged");
    // A kill between the receiver's 200 and the ledger line can cost one duplicate per
    // delivery in flight (4); the receiver drops it by its idempotency key.
    let duplicates: usize = counts.values().map(|n| n - 1).sum();
    assert!(duplicates <= 4, "{duplicates} duplicates: {counts:?}");
    assert_eq!(hook.bad_signatures(), 0);
    assert!(!dead_letter(&dir).exists(), "nothing left undelivered");
}

#[test]
fn with_the_receiver_down_every_call_is_in_the_dead_letter_file_and_the_exit_code_says_so() {
    let dir = setup(5);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("http://127.0.0.1:{port}/hook?token=s3cret");
    let out = webhook_run(&dir, &fake, &down)
        .args(["--webhook-retries", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(
        stderr.contains("0 delivered, 0 already acknowledged, 5 failed"),
        "{stderr}"
    );
    assert!(!stderr.contains("s3cret"), "{stderr}");
    let text = std::fs::read_to_string(dead_letter(&dir)).unwrap();
    assert!(!text.contains("s3cret"), "the URL's token is never written");
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 5);
    for line in &lines {
        assert_eq!(line["attempts"], 2);
        assert_eq!(line["payload"]["call_id"], line["call_id"]);
        assert!(line["error"].as_str().unwrap().contains("cannot connect"), "{line}");
    }
    // The report is complete all the same, and `deliver` sends it once the receiver is up.
    let hook = receiver(0.0, 0.0);
    let deliver = |url: &str| {
        dir.postcall()
            .args(["deliver", "r.jsonl", "--webhook", url])
            .env("POSTCALL_WEBHOOK_SECRET", SECRET)
            .output()
            .unwrap()
    };
    let out = deliver(&hook.url());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(hook.acknowledgements_by_key().len(), 5);
    let out = deliver(&hook.url());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("0 delivered, 5 already acknowledged"), "{stderr}");
}

#[test]
fn webhooks_need_a_secret_and_https_off_loopback_before_anything_is_asked() {
    let dir = setup(2);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let out = dir
        .run_against(&fake)
        .args(["--webhook", "http://127.0.0.1:9/hook"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("set POSTCALL_WEBHOOK_SECRET"), "{stderr}");
    let out = dir
        .run_against(&fake)
        .args(["--webhook", "http://hooks.example/in?token=s3cret"])
        .env("POSTCALL_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("use https"), "{stderr}");
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert_eq!(fake.requests(), 0);
}

#[test]
fn a_dialgen_webhook_gets_dialgens_body() {
    let dir = setup(2);
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let hook = receiver(0.0, 0.0);
    let out = webhook_run(&dir, &fake, &hook.url())
        .args(["--webhook-format", "dialgen"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let acks = hook.acknowledged();
    assert_eq!(acks.len(), 2);
    for ack in acks {
        assert_eq!(ack.body["success"], true);
        assert!(ack.body["callData"]["customMetrics"]["call_outcome"]["schema"].is_object());
        assert!(ack.body["metricSchema"]["refund_amount"]["type"] == "number");
    }
}
