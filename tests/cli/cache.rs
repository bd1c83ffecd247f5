//! `postcall cache`: ages must say their unit.

use crate::run::{SPEC, dir_with_calls};
use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

#[test]
fn prune_with_a_bare_number_is_refused_and_deletes_nothing() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 3);
    dir.run_against(&fake)
        .args(["-o", "r.json", "--quiet"])
        .assert()
        .success();
    let stats = || {
        let out = dir.postcall().args(["cache", "stats"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(stats().contains("3 entries"), "{}", stats());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let out = dir
        .postcall()
        .args(["cache", "prune", "--older-than", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`1` has no unit") && stderr.contains("1d (days)"),
        "{stderr}"
    );
    assert!(stats().contains("3 entries"), "the cache was pruned: {}", stats());
    dir.postcall()
        .args(["cache", "prune", "--older-than", "1s"])
        .assert()
        .success();
    assert!(stats().contains("0 entries"), "{}", stats());
}
