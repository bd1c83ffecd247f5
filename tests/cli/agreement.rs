//! Agreement beyond chance end to end: `eval --min-kappa` and `expect.min_kappa`, their
//! exit codes and messages, the intervals' flags, and `diff` as test–retest reliability,
//! on the labelled-dialogue fixtures (a report built from the labels with known damage).

use crate::common::{TestDir, fixture};

fn eval(dir: &TestDir, extra: &[&str]) -> (i32, String, String) {
    let out = dir
        .postcall()
        .arg("eval")
        .arg(fixture("compare/dialogues.report.json"))
        .arg("--labels")
        .arg(fixture("compare/dialogues.labels.csv"))
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// The fixture's outcome: 35 of 53 labelled calls right (66.0%) and κ 0.4939 (its
/// confusion matrix is in tests/fixtures/compare; κ is pinned by the unit tests).
#[test]
fn eval_fails_below_min_kappa_and_passes_at_it() {
    let dir = TestDir::new();
    let (code, out, err) = eval(&dir, &["--min-kappa", "outcome=0.5"]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("FAIL: outcome κ 0.49 is below the minimum 0.50 (--min-kappa)"),
        "{out}"
    );
    assert!(out.contains("agreement beyond chance (labels vs answers)"), "{out}");
    let (code, out, _) = eval(&dir, &["--min-kappa", "outcome=0.49"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("ok: 1 metric(s) at or above their minimum"), "{out}");
}

#[test]
fn eval_json_holds_every_statistic_with_its_interval() {
    let dir = TestDir::new();
    let (_, out, _) = eval(
        &dir,
        &["--format", "json", "--bootstrap", "200", "--bootstrap-seed", "5"],
    );
    let value = json(&out);
    let outcome = &value["metrics"][0];
    assert_eq!(outcome["id"], "outcome");
    let stats = &outcome["agreement"]["statistics"];
    let kappa = stats["kappa"]["value"].as_f64().unwrap();
    assert!((kappa - 0.4939).abs() < 1e-4, "{kappa}");
    let (lower, upper) = (
        stats["kappa"]["ci95"]["lower"].as_f64().unwrap(),
        stats["kappa"]["ci95"]["upper"].as_f64().unwrap(),
    );
    assert!(lower < kappa && kappa < upper, "{lower} {upper}");
    assert_eq!(outcome["agreement"]["bootstrap"]["resamples"], 200);
    assert!(stats["ac1"]["value"].is_number() && stats["alpha_nominal"]["value"].is_number());
    assert!(outcome["calibration_error"]["ece"].is_number());
    // Same seed, same interval; --bootstrap 0 drops them.
    let (_, again, _) = eval(
        &dir,
        &["--format", "json", "--bootstrap", "200", "--bootstrap-seed", "5"],
    );
    assert_eq!(json(&again)["metrics"][0]["agreement"], outcome["agreement"]);
    let (_, none, _) = eval(&dir, &["--format", "json", "--bootstrap", "0"]);
    assert!(json(&none)["metrics"][0]["agreement"]["statistics"]["kappa"]["ci95"].is_null());
    // Free text gets no κ.
    assert!(value["metrics"][2]["agreement"].is_null());
}

#[test]
fn eval_reads_expect_min_kappa_and_refuses_a_kappa_minimum_it_cannot_check() {
    let dir = TestDir::new();
    let spec = std::fs::read_to_string(fixture("compare/dialogues.metrics.yaml")).unwrap();
    let spec = spec.replace(
        "expect: {min_accuracy: 0.5}",
        "expect: {min_accuracy: 0.5, min_kappa: 0.7}",
    );
    let path = dir.write("metrics.yaml", spec);
    let (code, out, err) = eval(&dir, &["--metrics", path.to_str().unwrap()]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("FAIL: outcome κ 0.49 is below the minimum 0.70 (expect)"),
        "{out}"
    );

    let (code, _, err) = eval(&dir, &["--min-kappa", "customer_name=0.6"]);
    assert_eq!(code, 1);
    assert!(err.contains("`customer_name` is a string metric"), "{err}");
    let (code, _, err) = eval(&dir, &["--min-kappa", "60%"]);
    assert_eq!(code, 2);
    assert!(err.contains("not a percentage; did you mean 0.6?"), "{err}");
}

#[test]
fn diff_reports_test_retest_agreement_between_two_runs() {
    let dir = TestDir::new();
    let base = fixture("compare/dialogues.report.json");
    let mut report = json(&std::fs::read_to_string(&base).unwrap());
    // The second run: the same answers but the first 10 outcomes flipped to "failure".
    for call in report["calls"].as_array_mut().unwrap().iter_mut().take(10) {
        call["metrics"]["outcome"] = serde_json::json!({"status": "ok", "value": "failure", "confidence": 0.5});
    }
    let new = dir.write("new.json", serde_json::to_vec(&report).unwrap());
    let out = dir
        .postcall()
        .arg("diff")
        .arg(&base)
        .arg(&new)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let value = json(&String::from_utf8_lossy(&out.stdout));
    let outcome = &value["metrics"][0];
    let kappa = outcome["chance_corrected"]["statistics"]["kappa"]["value"]
        .as_f64()
        .unwrap();
    assert!(kappa < 1.0 && kappa > 0.0, "{kappa}");
    let issue = &value["metrics"][1]["chance_corrected"]["statistics"]["kappa"]["value"];
    assert_eq!(issue.as_f64(), Some(1.0), "an unchanged metric agrees perfectly");
    let text = dir.postcall().arg("diff").arg(&base).arg(&new).output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("agreement beyond chance (base vs new)"), "{text}");
}
