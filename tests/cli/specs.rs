//! The seeds' metric files as they are, and composing files: `validate`, `run`, `convert`
//! and `init` against the shapes Atoms, Dialgen and PolyAI use, and `-m a -m b` / `include:`.

use predicates::prelude::*;
use serde_json::{Value, json};
use sha2::Digest as _;

use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

use crate::common::{TestDir, fixture};
use crate::run::{read_json_report, write_calls};

/// `validate --json` of `files` (each `-m`), which must succeed.
fn validate_json(dir: &TestDir, files: &[&str]) -> Value {
    let mut cmd = dir.postcall();
    cmd.arg("validate").arg("--json");
    for f in files {
        cmd.arg("-m").arg(f);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// (id, type, choices, prompt) of every metric in a normalised spec.
fn shape(spec: &Value) -> Vec<Value> {
    spec["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!([
                m["id"],
                m["type"],
                m.get("choices").cloned().unwrap_or(json!([])),
                m["prompt"]
            ])
        })
        .collect()
}

#[test]
fn the_atoms_get_agent_response_loads_as_is() {
    let dir = TestDir::new();
    let path = fixture("specs/atoms-get-agent.json");
    let spec = validate_json(&dir, &[path.to_str().unwrap()]);
    assert_eq!(spec["dialect"], "atoms");
    assert_eq!(
        shape(&spec),
        [
            json!([
                "room_type",
                "enum",
                ["single", "double", "suite"],
                "Which room type did the guest ask for?"
            ]),
            json!(["nights_booked", "integer", [], "How many nights did the guest book?"]),
            json!(["arrival_date", "datetime", [], "On what date does the guest arrive?"]),
            json!([
                "late_checkout_requested",
                "boolean",
                [],
                "Did the guest ask for a late checkout?"
            ]),
        ]
    );
    assert_eq!(
        spec["summary"]["prompt"],
        "Summarise the booking call in one sentence, naming the dates if any were agreed."
    );
    // useReasoningModel: true → the documented reasoning effort.
    assert_eq!(spec["llm"]["reasoning_effort"], "high");
}

#[test]
fn unknown_keys_in_platform_files_warn_with_their_line_and_the_file_still_loads() {
    let path = fixture("specs/atoms-get-agent.json");
    let shown = path.display().to_string();
    TestDir::new()
        .postcall()
        .args(["validate", "-m"])
        .arg(&path)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "{shown}:14:9: warning: `data._resolvedConfig.postCallAnalyticsConfig`: unknown key `summaryEnabled` is ignored; postcall does not read it"
        )))
        .stderr(predicate::str::contains(format!(
            "{shown}:38:13: warning: metric `late_checkout_requested`: unknown key `weight` is ignored"
        )))
        // The agent's other settings around the config are not metric settings: no noise.
        .stderr(predicate::str::contains("slmModel").not())
        .stdout(predicate::str::contains("ok, 4 metrics (Smallest AI Atoms format, strategy per_call), 2 warnings"));
    let polyai = fixture("specs/polyai.yaml");
    TestDir::new()
        .postcall()
        .args(["validate", "-m"])
        .arg(&polyai)
        .assert()
        .success()
        .stderr(predicate::str::contains(format!(
            "{}:12:5: warning: metric `guest_verified`: unknown key `owner` is ignored; postcall does not read it (it reads: name, definition, type, options)",
            polyai.display()
        )));
}

#[test]
fn a_single_dialgen_metric_object_loads_as_in_its_docs() {
    let dir = TestDir::new();
    let path = fixture("specs/dialgen-single.json");
    let spec = validate_json(&dir, &[path.to_str().unwrap()]);
    assert_eq!(spec["dialect"], "dialgen");
    assert_eq!(
        shape(&spec),
        [json!([
            "deposit_amount",
            "number",
            [],
            "What deposit amount, in dollars, did the guest agree to pay?"
        ])]
    );
    assert_eq!(spec["metrics"][0]["description"], "For the finance export");
    assert_eq!(spec["metrics"][0]["required"], false);
}

#[test]
fn polyai_definitions_load_and_validate_says_which_id_each_name_became() {
    let dir = TestDir::new();
    let path = fixture("specs/polyai.yaml");
    let spec = validate_json(&dir, &[path.to_str().unwrap()]);
    assert_eq!(spec["dialect"], "polyai");
    assert_eq!(
        shape(&spec),
        [
            json!([
                "booking_completed",
                "boolean",
                [],
                "A room was reserved and the confirmation number was read back to the guest."
            ]),
            json!([
                "upsell_outcome",
                "enum",
                ["accepted", "declined", "not_offered"],
                "Whether the agent offered a room upgrade and how the guest answered."
            ]),
            json!([
                "guest_verified",
                "boolean",
                [],
                "The agent checked the guest's surname and booking reference before changing the booking."
            ]),
        ]
    );
    let shown = path.display().to_string();
    dir.postcall()
        .args(["validate", "-m"])
        .arg(&path)
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "{shown}:3:11: note: id `booking_completed` is derived from the name \"Booking completed\""
        )))
        .stdout(predicate::str::contains(format!(
            "{shown}:5:11: note: id `upsell_outcome` is derived from the name \"Upsell: outcome\""
        )))
        .stdout(predicate::str::contains("ok, 3 metrics (PolyAI format"));
}

const DEFAULTS: &str = "version: 1\nsummary: Summarize the call in two sentences.\nmetrics:\n  - id: sentiment\n    type: enum\n    choices: [positive, neutral, negative]\n    prompt: What was the customer's overall sentiment during the call?\n  - id: key_points\n    type: list\n    prompt: List the key points the customer raised, one short phrase each.\n";
const CUSTOM: &str = "version: 1\nmetrics:\n  - id: refund_issued\n    type: boolean\n    prompt: Did the agent issue a refund during the call?\n  - id: days_to_refund\n    type: integer\n    range: [0, 30]\n    prompt: In how many days did the agent say the refund would arrive?\n";

/// The two files' metrics in one file, as someone would write it by hand.
fn both() -> String {
    format!("{DEFAULTS}{}", CUSTOM.trim_start_matches("version: 1\nmetrics:\n"))
}

fn sha(text: &str) -> String {
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))
}

#[test]
fn a_composed_run_reports_what_one_file_with_the_same_metrics_does() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    dir.write("defaults.yaml", DEFAULTS);
    dir.write("custom.yaml", CUSTOM);
    dir.write("both.yaml", both());
    write_calls(&dir, 6);
    let run = |files: &[&str], out: &str| {
        let mut cmd = dir.postcall();
        cmd.arg("run");
        for f in files {
            cmd.args(["-m", f]);
        }
        cmd.args([
            "calls",
            "--base-url",
            &fake.base_url(),
            "--model",
            "m",
            "--no-cache",
            "--quiet",
            "-o",
            out,
        ])
        .assert()
        .success();
        read_json_report(&dir.join(out))
    };
    let composed = run(&["defaults.yaml", "custom.yaml"], "composed.json");
    let one = run(&["both.yaml"], "one.json");
    assert_eq!(composed.metrics, one.metrics);
    assert_eq!(composed.calls.len(), 6);
    for (a, b) in composed.calls.iter().zip(&one.calls) {
        assert_eq!(
            (&a.call_id, &a.summary, &a.metrics),
            (&b.call_id, &b.summary, &b.metrics)
        );
        assert_eq!(a.metrics.len(), 4);
    }
    let hash = |r: &postcall::report::Report| r.header.as_ref().unwrap().metrics_sha256.clone();
    assert_eq!(hash(&one), sha(&both()));
    // Both files' bytes, in order: the sha256 of their sha256s.
    assert_eq!(hash(&composed), sha(&format!("{}\n{}\n", sha(DEFAULTS), sha(CUSTOM))));
}

#[test]
fn the_header_hash_changes_when_an_included_file_changes() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    dir.write("shared/defaults.yaml", DEFAULTS);
    dir.write(
        "metrics.yaml",
        CUSTOM.replace("version: 1\n", "version: 1\ninclude: [shared/defaults.yaml]\n"),
    );
    write_calls(&dir, 2);
    let run = |out: &str| {
        dir.run_against(&fake).args(["--quiet", "-o", out]).assert().success();
        let report = read_json_report(&dir.join(out));
        assert_eq!(report.metrics.len(), 4);
        report.header.unwrap().metrics_sha256
    };
    let before = run("before.json");
    dir.write(
        "shared/defaults.yaml",
        DEFAULTS.replace("two sentences", "one sentence"),
    );
    let after = run("after.json");
    assert_ne!(before, after, "only the included file changed");
    assert_ne!(after, sha(&std::fs::read_to_string(dir.join("metrics.yaml")).unwrap()));
}

#[test]
fn an_id_in_two_composed_files_is_an_error_naming_both_places() {
    let dir = TestDir::new();
    dir.write("defaults.yaml", DEFAULTS);
    dir.write(
        "custom.yaml",
        "version: 1\nmetrics:\n  - id: refund_issued\n    type: boolean\n    prompt: Did the agent issue a refund during the call?\n  - id: sentiment\n    type: string\n    prompt: Describe the customer's mood in a few words.\n",
    );
    dir.postcall()
        .args(["validate", "-m", "defaults.yaml", "-m", "custom.yaml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "custom.yaml:6:9: duplicate id `sentiment`: already defined at defaults.yaml:4:9",
        ))
        .stderr(predicate::str::contains("defaults.yaml + custom.yaml: 1 error"));
}

#[test]
fn include_cycles_and_missing_includes_stop_the_run_with_clear_errors() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    write_calls(&dir, 1);
    dir.write(
        "metrics.yaml",
        CUSTOM.replace("version: 1\n", "version: 1\ninclude: [b.yaml]\n"),
    );
    dir.write(
        "b.yaml",
        DEFAULTS.replace("version: 1\n", "version: 1\ninclude: [metrics.yaml]\n"),
    );
    dir.run_against(&fake).assert().code(1).stderr(predicate::str::contains(
        "b.yaml:2:11: include cycle: metrics.yaml → b.yaml → metrics.yaml; remove one of these includes",
    ));
    dir.write(
        "metrics.yaml",
        CUSTOM.replace("version: 1\n", "version: 1\ninclude: [shared/missing.yaml]\n"),
    );
    dir.run_against(&fake)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "metrics.yaml:2:11: cannot read the included file `shared/missing.yaml` (shared/missing.yaml):",
        ))
        .stderr(predicate::str::contains(
            "relative to the directory of the file that includes it",
        ));
    assert_eq!(fake.requests(), 0);
}

#[test]
fn convert_composes_the_files_the_run_used_and_warns_about_a_different_set() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    dir.write("defaults.yaml", DEFAULTS);
    dir.write("custom.yaml", CUSTOM);
    write_calls(&dir, 2);
    dir.postcall()
        .args([
            "run",
            "-m",
            "defaults.yaml",
            "-m",
            "custom.yaml",
            "calls",
            "--quiet",
            "-o",
            "r.json",
        ])
        .args(["--base-url", &fake.base_url(), "--model", "m"])
        .assert()
        .success();
    dir.postcall()
        .args([
            "convert",
            "r.json",
            "-m",
            "defaults.yaml",
            "-m",
            "custom.yaml",
            "-o",
            "r.csv",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("different metric file").not());
    dir.postcall()
        .args(["convert", "r.json", "-m", "defaults.yaml", "-o", "r2.csv"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "r.json was made with a different metric file than defaults.yaml",
        ));
}

/// Template names as `init --list` prints them.
fn template_names(dir: &TestDir) -> Vec<String> {
    let out = dir.postcall().args(["init", "--list"]).output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn every_template_loads_and_runs_against_the_fake_endpoint() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let names = template_names(&TestDir::new());
    assert_eq!(names, ["basic", "atoms", "dialgen-defaults", "polyai", "qa"]);
    for name in names {
        let dir = TestDir::new();
        dir.postcall()
            .args(["init", "metrics.yaml", "-t", &name])
            .assert()
            .success();
        let spec = validate_json(&dir, &["metrics.yaml"]);
        write_calls(&dir, 3);
        let out = dir
            .run_against(&fake)
            .args(["--quiet", "-o", "r.json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("warning"), "{name}: {stderr}");
        let report = read_json_report(&dir.join("r.json"));
        let ids: Vec<&str> = spec["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            report.metrics.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ids,
            "{name}"
        );
        assert_eq!(report.calls.len(), 3, "{name}");
        for call in &report.calls {
            assert!(call.errors.is_empty(), "{name}: {:?}", call.errors);
            assert_eq!(call.metrics.len(), ids.len(), "{name}");
            assert_eq!(call.summary.is_some(), spec["summary"].is_object(), "{name}");
            for (id, result) in &call.metrics {
                assert!(
                    !matches!(result, postcall::report::MetricResult::Invalid { .. }),
                    "{name} {id}: {result:?}"
                );
            }
        }
    }
}
