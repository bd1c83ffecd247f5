//! Scaling out: the recipes of `examples/scale/` run as their job engine would run them
//! (the engine's variables set here, the shards at once), and the merged report is the one
//! a single process writes; and what `--shard` and `merge` say when something is off.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use postcall::report::Report;
use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

use crate::common::{MODEL, TestDir, repo_root};
use crate::run::{SPEC, dir_with_calls, read_json_report, write_calls};

const SHARDS: u32 = 4;

/// A recipe: its directory under `examples/scale`, and the variables its engine sets for
/// shard `index` (besides those the recipe's job file sets, which the test sets too).
struct Recipe {
    dir: &'static str,
    engine_env: fn(u32) -> Vec<(&'static str, String)>,
}

const RECIPES: [Recipe; 3] = [
    Recipe {
        dir: "kubernetes",
        engine_env: |i| vec![("JOB_COMPLETION_INDEX", i.to_string()), ("SHARDS", SHARDS.to_string())],
    },
    Recipe {
        dir: "aws-batch",
        engine_env: |i| {
            vec![
                ("AWS_BATCH_JOB_ARRAY_INDEX", i.to_string()),
                ("POSTCALL_SHARD_COUNT", SHARDS.to_string()),
            ]
        },
    },
    Recipe {
        dir: "github-actions",
        engine_env: |i| {
            vec![
                ("SHARD", i.to_string()),
                ("SHARDS", SHARDS.to_string()),
                ("SAMPLE", "30".to_string()),
            ]
        },
    },
];

/// `sh examples/scale/<recipe>/<script>` in `dir`, with `postcall` on PATH and the
/// recipe's variables: the scrubbed environment of [`TestDir::postcall_process`] (its
/// explicit variables, nothing inherited but HOME and TMPDIR).
fn script(dir: &TestDir, fake: &FakeServer, recipe: &Recipe, name: &str, env: &[(&str, String)]) -> Command {
    let mut cmd = dir.postcall_process();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_postcall"));
    let path = std::env::join_paths(
        std::iter::once(bin.parent().unwrap().to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .unwrap();
    cmd.env("PATH", path);
    // What each recipe's job file sets.
    cmd.envs([
        ("POSTCALL_METRICS", "metrics.yaml"),
        ("POSTCALL_CALLS", "calls"),
        ("POSTCALL_PARTS", "parts"),
        ("POSTCALL_BASE_URL", fake.base_url().as_str()),
        ("POSTCALL_MODEL", MODEL),
    ]);
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let mut sh = Command::new("sh");
    sh.arg(repo_root().join("examples/scale").join(recipe.dir).join(name));
    sh.current_dir(dir.path());
    sh.env_clear();
    sh.envs(cmd.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    for key in ["HOME", "TMPDIR"] {
        if let Some(value) = std::env::var_os(key) {
            sh.env(key, value);
        }
    }
    sh
}

fn wait_ok(child: Child, what: &str) {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The [`SHARDS`] shard processes `shard(i)` builds, started at once (their stdout
/// discarded), each of which must succeed; `what` names them in a failure.
fn run_shards_at_once(what: &str, shard: impl Fn(u32) -> std::process::Command) {
    let shards: Vec<Child> = (0..SHARDS)
        .map(|i| {
            shard(i)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, child) in shards.into_iter().enumerate() {
        wait_ok(child, &format!("{what} shard {i}"));
    }
}

/// The values a user compares: every call's answers and usage, the run's counts.
fn assert_same_run(merged: &Report, single: &Report) {
    assert_eq!(merged.metrics, single.metrics);
    assert_eq!(
        merged.calls, single.calls,
        "calls, value for value and in the same order"
    );
    let (m, s) = (merged.header.as_ref().unwrap(), single.header.as_ref().unwrap());
    assert!(m.complete && m.missing_shards.is_empty());
    assert_eq!(m.shard, None);
    assert_eq!(m.archive, s.archive);
    assert_eq!(m.metrics_sha256, s.metrics_sha256);
    assert_eq!(
        (m.calls, m.failed_calls, m.invalid_values, m.calls_not_done),
        (s.calls, s.failed_calls, s.invalid_values, s.calls_not_done)
    );
    assert_eq!(m.usage.requests, s.usage.requests);
    assert_eq!(m.usage.prompt_tokens, s.usage.prompt_tokens);
    assert_eq!(m.usage.completion_tokens, s.usage.completion_tokens);
}

#[test]
fn every_recipe_run_as_its_engine_runs_it_merges_into_the_single_process_report() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    for recipe in &RECIPES {
        let dir = dir_with_calls(SPEC, 60);
        let mut single = dir.run_against(&fake);
        single.args(["--no-cache", "--quiet", "-o", "single.json"]);
        if recipe.dir == "github-actions" {
            single.args(["--sample", "30"]);
        }
        single.assert().success();

        run_shards_at_once(recipe.dir, |i| {
            script(&dir, &fake, recipe, "shard.sh", &(recipe.engine_env)(i))
        });
        let merge = script(&dir, &fake, recipe, "merge.sh", &[])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_ok(merge, &format!("{} merge", recipe.dir));

        let merged = read_json_report(&dir.join("parts/all.json"));
        let single = read_json_report(&dir.join("single.json"));
        assert_same_run(&merged, &single);
        let parts = part_reports(&dir.join("parts"));
        assert_eq!(parts.len(), SHARDS as usize, "{}", recipe.dir);
        assert!(
            parts.iter().all(|p| !p.calls.is_empty()),
            "{}: an empty shard",
            recipe.dir
        );
    }
}

fn part_reports(dir: &Path) -> Vec<Report> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| postcall::report::read_report(p).unwrap())
        .collect()
}

#[test]
fn merge_names_the_missing_shard_and_allow_partial_writes_the_rest_marked_incomplete() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 20);
    for i in [0, 2] {
        dir.run_against(&fake)
            .args(["--quiet", "--shard", &format!("{i}/3"), "-o", &format!("p{i}.json")])
            .assert()
            .success();
    }
    let stderr = merge_refused(&dir, &["p0.json", "p2.json"]);
    assert!(stderr.contains("shard 1/3 is missing"), "{stderr}");
    assert!(stderr.contains("--allow-partial"), "{stderr}");
    assert!(!dir.join("all.json").exists(), "nothing written on a refusal");

    dir.postcall()
        .args([
            "merge",
            "p0.json",
            "p2.json",
            "-o",
            "all.csv",
            "-o",
            "all.json",
            "--allow-partial",
        ])
        .assert()
        .success();
    let merged = read_json_report(&dir.join("all.json"));
    let header = merged.header.unwrap();
    assert!(!header.complete);
    assert_eq!(header.missing_shards.len(), 1);
    assert_eq!(header.calls + header.calls_not_done, 20);
    assert!(dir.join("all.csv").exists());
}

#[test]
fn merge_refuses_shards_of_another_metric_file_or_archive() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 10);
    dir.run_against(&fake)
        .args(["--quiet", "--shard", "0/2", "-o", "p0.json"])
        .assert()
        .success();
    // A call added (and the metric file changed) before the second shard ran.
    write_calls(&dir, 11);
    dir.write("metrics.yaml", SPEC.replace("two sentences", "one sentence"));
    dir.run_against(&fake)
        .args(["--quiet", "--shard", "1/2", "-o", "p1.json"])
        .assert()
        .success();
    let stderr = merge_refused(&dir, &["p0.json", "p1.json"]);
    assert!(stderr.contains("metric file"), "{stderr}");
    assert!(
        stderr.contains("archive fingerprint") && stderr.contains("(10 calls)"),
        "{stderr}"
    );
}

#[test]
fn shard_auto_without_an_engine_says_which_variables_it_looked_for() {
    let dir = dir_with_calls(SPEC, 3);
    let out = dir
        .run_at("http://127.0.0.1:9/v1", MODEL)
        .args(["--shard", "auto", "--dry-run"])
        .assert()
        .failure();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("JOB_COMPLETION_INDEX") && stderr.contains("AWS_BATCH_JOB_ARRAY_INDEX"),
        "{stderr}"
    );
    dir.run_at("http://127.0.0.1:9/v1", MODEL)
        .args(["--shard", "auto", "--dry-run"])
        .env("POSTCALL_SHARD", "1/2")
        .assert()
        .stdout(predicates::str::contains("shard           1/2:"));
}

/// What the fake saw: answers, 429s, and the rate requests came at while every sender was
/// running (between the arrivals of the 25th and 75th percentile), as a share of `rate`.
fn held(fake: &FakeServer, rate: f64) -> (u64, u64, f64) {
    use std::sync::atomic::Ordering::Relaxed;
    let stats = fake.stats();
    let mut arrivals: Vec<f64> = fake.recorded().iter().map(|r| r.arrived.as_secs_f64()).collect();
    arrivals.sort_by(f64::total_cmp);
    let (low, high) = (arrivals.len() / 4, arrivals.len() * 3 / 4);
    let steady = (high - low) as f64 / (arrivals[high] - arrivals[low]);
    (
        stats.answered.load(Relaxed),
        stats.rate_limited.load(Relaxed),
        steady / rate,
    )
}

#[test]
fn rpm_alone_keeps_an_instant_endpoint_under_its_limit_without_429s() {
    const RATE: f64 = 25.0;
    let fake = FakeServer::start(FakeConfig {
        rate_limit: Some(RATE),
        record: true,
        ..Default::default()
    })
    .unwrap();
    let dir = dir_with_calls(SPEC, 125);
    dir.run_against(&fake)
        .args([
            "--no-cache",
            "--quiet",
            "-j",
            "64",
            "--rpm",
            &(RATE * 60.0).to_string(),
            "-o",
            "r.json",
        ])
        .assert()
        .success();
    let (answered, limited, share) = held(&fake, RATE);
    eprintln!(
        "--rpm {}: {answered} answered, {limited} 429s, {share:.3} of the limit",
        RATE * 60.0
    );
    assert_eq!(answered, 125);
    assert!(
        limited as f64 <= 0.02 * fake.requests() as f64,
        "{limited} 429s of {}",
        fake.requests()
    );
    assert!(share > 0.95 && share < 1.05, "held {share:.3} of the limit");
}

#[test]
fn four_shards_at_once_share_one_rpm_budget_and_merge_into_the_single_run() {
    const RATE: f64 = 40.0;
    const CALLS: usize = 280;
    let dir = dir_with_calls(SPEC, CALLS);
    let reference = FakeServer::start(FakeConfig::default()).unwrap();
    dir.run_against(&reference)
        .args(["--no-cache", "--quiet", "-o", "single.json"])
        .assert()
        .success();

    let fake = FakeServer::start(FakeConfig {
        rate_limit: Some(RATE),
        latency: std::time::Duration::from_millis(50),
        record: true,
        ..Default::default()
    })
    .unwrap();
    let rpm = (RATE * 60.0).to_string();
    run_shards_at_once("--shard auto", |i| {
        let mut shard = dir.run_process_at(&fake.base_url(), MODEL);
        shard
            .args(["--no-cache", "--quiet", "-j", "32", "--rpm", &rpm, "--shard", "auto"])
            .args(["--shard-count", &SHARDS.to_string(), "-o", &format!("p{i}.jsonl")])
            .env("JOB_COMPLETION_INDEX", i.to_string());
        shard
    });
    let (answered, limited, share) = held(&fake, RATE);
    eprintln!("4 shards, --rpm {rpm}: {answered} answered, {limited} 429s, {share:.3} of the limit");
    assert!(
        limited as f64 <= 0.02 * fake.requests() as f64,
        "{limited} 429s of {}",
        fake.requests()
    );
    assert!(share > 0.95 && share < 1.05, "held {share:.3} of the limit");

    dir.postcall()
        .args([
            "merge", "p0.jsonl", "p1.jsonl", "p2.jsonl", "p3.jsonl", "-o", "all.json",
        ])
        .assert()
        .success();
    let mut merged = read_json_report(&dir.join("all.json"));
    let mut single = read_json_report(&dir.join("single.json"));
    // The endpoints differ (two fakes); everything else is the same run.
    for report in [&mut merged, &mut single] {
        report.header.as_mut().unwrap().base_url.clear();
    }
    assert_same_run(&merged, &single);
}

/// The stderr of `postcall merge REPORTS -o all.json` in `dir`, which must fail.
fn merge_refused(dir: &TestDir, reports: &[&str]) -> String {
    let out = dir
        .postcall()
        .arg("merge")
        .args(reports)
        .args(["-o", "all.json"])
        .assert()
        .failure();
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}
