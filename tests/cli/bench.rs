//! The benchmark's pieces, reused: a generated archive and the fake endpoint, end to end.

use postcall_testkit::bench::generate::{METRICS_YAML, write_calls};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

use crate::common::TestDir;

#[test]
fn a_generated_archive_runs_end_to_end_with_one_request_per_call() {
    let t = TestDir::new();
    let stats = write_calls(&t.join("calls"), 120, 9).unwrap();
    assert_eq!(stats.calls, 120);
    t.write("metrics.yaml", METRICS_YAML);
    let server = FakeServer::start(FakeConfig::default()).unwrap();
    t.run_at(&server.base_url(), "bench")
        .args(["-o", "report.jsonl", "--quiet", "--no-cache", "-j", "4"])
        .assert()
        .success();
    let report = std::fs::read_to_string(t.join("report.jsonl")).unwrap();
    // The run header first and last, one line per call between, and the header with what
    // the scan found (calls, archive, input errors) once it had read every input.
    assert_eq!(report.lines().count(), 1 + 120 + 2);
    let headers: Vec<&str> = report.lines().filter(|l| l.starts_with("{\"postcall\":")).collect();
    assert_eq!(headers.len(), 3);
    assert!(headers[1].contains("\"calls_not_done\":120"), "{}", headers[1]);
    assert_eq!(server.requests(), 120);
    assert!(server.stats().busy_window().is_some());
}
