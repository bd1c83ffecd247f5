//! `run`'s resolve stage from the user's side: everything checkable fails before anything
//! starts, the lint and the run count the same requests, `prompt` shows what `run` sends,
//! one precedence chain, and the old flag spellings still work.

use std::os::unix::fs::PermissionsExt;

use postcall_testkit::fake_llm::{FakeConfig, FakeServer};
use sha2::Digest;

use crate::common::TestDir;
use crate::run::{SPEC, dir_with_calls, read_json_report, write_calls};

/// A metric file whose endpoint is a managed local server: `server` is a script that
/// leaves `server-started` behind if anything ever runs it.
fn with_fake_local_server(dir: &TestDir) -> String {
    with_local_server_script(dir, "sleep 30")
}

/// The same with a server that does `then` after leaving its mark.
fn with_local_server_script(dir: &TestDir, then: &str) -> String {
    let server = dir.write(
        "bin/llama-server",
        format!("#!/bin/sh\ntouch \"$(dirname \"$0\")/../server-started\"\n{then}\n"),
    );
    std::fs::set_permissions(&server, std::fs::Permissions::from_mode(0o755)).unwrap();
    let model = dir.write("models/tiny.gguf", "not really a model");
    SPEC.replacen(
        "version: 1\n",
        &format!(
            "version: 1\nllm:\n  local:\n    server: {}\n    model: {}\n",
            server.display(),
            model.display()
        ),
        1,
    )
}

#[test]
fn a_bad_cache_dir_fails_before_the_local_server_starts() {
    let dir = TestDir::new();
    dir.write("metrics.yaml", with_fake_local_server(&dir));
    write_calls(&dir, 2);
    // The cache directory's place is taken by a file.
    dir.write(".postcall/cache", "not a directory");
    let started = std::time::Instant::now();
    let output = dir
        .postcall()
        .args(["run", "-m", "metrics.yaml", "calls", "-o", "r.json", "--quiet"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("cannot create the cache directory .postcall/cache"),
        "{stderr}"
    );
    assert!(!dir.join("server-started").exists(), "the local server was started");
    assert!(!dir.join(".postcall/logs").exists(), "a server log was created");
    assert!(!dir.join("r.json").exists());
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// A dry run starts the managed server to count prompts with its tokenizer (the local
/// model's test checks the count); one that cannot start leaves the estimate, said so,
/// and nothing behind.
#[test]
fn a_dry_run_counts_with_the_local_server_and_estimates_when_it_cannot_start() {
    let dir = TestDir::new();
    dir.write("metrics.yaml", with_local_server_script(&dir, "exit 3"));
    write_calls(&dir, 2);
    let output = dir
        .postcall()
        .args(["run", "-m", "metrics.yaml", "calls", "--dry-run"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(dir.join("server-started").exists(), "the server was tried");
    assert!(stderr.contains("could not be started to count tokens"), "{stderr}");
    assert!(stdout.contains("estimated, ~4 characters a token"), "{stdout}");
    assert!(stdout.contains("a local llama-server with"), "{stdout}");
    assert!(stdout.contains("tiny.gguf"), "{stdout}");
    assert!(!dir.join(".postcall").exists(), "a dry run leaves nothing behind");
}

#[test]
fn prompt_shows_the_body_run_would_send_to_the_local_server_without_starting_it() {
    let dir = TestDir::new();
    dir.write("metrics.yaml", with_fake_local_server(&dir));
    write_calls(&dir, 1);
    let json = dir.prompt_stdout("calls/00/call-0000.json", &["--json"]);
    let body: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The local server's defaults are a layer of the same chain `run` uses: a budget
    // sized to the questions (not a flat 1,024 or 4,096), anti-loop sampling, the prompt
    // cache, and a schema whose strings the server's grammar bounds.
    let budget = body["max_tokens"].as_u64().expect("a budget");
    assert!((100..1024).contains(&budget), "{budget}");
    // No evidence by default for the small local model (see llm::local::answer_limits).
    assert!(!body.to_string().contains("\"evidence\""), "{body}");
    assert_eq!(body["cache_prompt"], true);
    assert_eq!(body["repeat_penalty"], 1.1);
    let schema = body["response_format"]["json_schema"]["schema"].to_string();
    let reasoning = format!(
        "\"reasoning\":{{\"type\":\"string\",\"maxLength\":{}}}",
        postcall::llm::local::answer_limits().reasoning_chars
    );
    assert!(schema.contains(&reasoning), "{reasoning} in {schema}");
    assert_eq!(body["model"], postcall::llm::local::LOCAL_MODEL_NAME);
    assert!(!dir.join("server-started").exists());
}

#[test]
fn prompt_takes_the_request_flags_run_takes() {
    let dir = dir_with_calls(SPEC, 1);
    let flags = [
        "--json",
        "--max-tokens",
        "77",
        "--llm-seed",
        "5",
        "--temperature",
        "0.4",
    ];
    let body: serde_json::Value = serde_json::from_str(&dir.prompt_stdout("calls/00/call-0000.json", &flags)).unwrap();
    assert_eq!(
        (body["max_tokens"].as_u64(), body["seed"].as_i64()),
        (Some(77), Some(5))
    );
    assert_eq!(body["temperature"], 0.4);
}

fn long_call(dir: &TestDir) -> std::path::PathBuf {
    let turns: Vec<serde_json::Value> = (0..60)
        .map(|i| {
            let role = if i % 2 == 0 { "agent" } else { "user" };
            serde_json::json!({"role": role, "content": format!("Turn number {i} of a very long call about a refund that never arrived.")})
        })
        .collect();
    dir.write(
        "long.json",
        serde_json::to_vec(&serde_json::json!({"call_id": "long", "transcript": turns})).unwrap(),
    )
}

#[test]
fn prompt_honours_long_calls_truncate_and_max_input_tokens() {
    let dir = TestDir::new();
    dir.write("metrics.yaml", SPEC);
    let call = long_call(&dir);
    // The limit counts the whole request: ~730 tokens of it are the questions.
    let text = dir.prompt_stdout(&call, &["--max-input-tokens", "1030", "--long-calls", "truncate"]);
    assert!(text.contains("cut from the middle of this call"), "{text}");
    assert!(
        text.contains("Turn number 0 ") && text.contains("Turn number 59 "),
        "{text}"
    );
    assert!(!text.contains("Turn number 30 "), "the middle was kept: {text}");

    // With the default policy, run would not send this call; prompt says so.
    let output = dir.prompt_output(&call, &["--max-input-tokens", "1030"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no request would be sent") && stderr.contains("--long-calls truncate"),
        "{stderr}"
    );
}

/// 16 metrics, half of them naming the file's default model `m`: one request per call.
fn crowded_spec() -> String {
    let mut text = String::from("version: 1\nllm:\n  model: m\nstrategy: per_call\nmetrics:\n");
    for i in 0..16 {
        let model = if i % 2 == 0 { ", model: m" } else { "" };
        text.push_str(&format!(
            "  - {{id: m{i}, type: boolean, prompt: Did event number {i} happen?{model}}}\n"
        ));
    }
    text
}

#[test]
fn the_lint_and_the_run_agree_when_a_metric_names_the_default_model() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    dir.write("metrics.yaml", crowded_spec());
    write_calls(&dir, 3);
    let output = dir
        .postcall()
        .args(["validate", "-m", "metrics.yaml"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("16 metrics for the default model share one request"),
        "the lint counts one request: {stderr}"
    );
    let output = dir
        .run_unconfigured()
        .args(["--dry-run", "--base-url", &fake.base_url()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("requests        3 to send, 0 answered from the cache (1 per call"),
        "{stdout}"
    );
    dir.run_unconfigured()
        .args(["-o", "r.json", "--no-cache", "--quiet"])
        .args(["--base-url", &fake.base_url()])
        .assert()
        .success();
    assert_eq!(
        read_json_report(&dir.join("r.json"))
            .header
            .expect("a run header")
            .usage
            .requests,
        3
    );
    assert_eq!(fake.requests(), 3);
}

#[test]
fn the_reports_metrics_sha256_is_the_sha256_of_the_metric_file() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = TestDir::new();
    let path = dir.write("metrics.yaml", SPEC);
    write_calls(&dir, 2);
    dir.run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet"])
        .assert()
        .success();
    let want = format!("{:x}", sha2::Sha256::digest(std::fs::read(path).unwrap()));
    let report = read_json_report(&dir.join("r.json"));
    assert_eq!(report.header.expect("a run header").metrics_sha256, want);
}

/// The endpoint line of a dry run, with the given environment and extra flags.
fn dry_run_endpoint(dir: &TestDir, env: &[(&str, &str)], flags: &[&str]) -> String {
    let output = dir
        .postcall()
        .envs(env.iter().copied())
        .args(["run", "-m", "metrics.yaml", "calls", "--dry-run"])
        .args(flags)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("endpoint"))
        .unwrap_or_else(|| panic!("no endpoint line in {stdout}"))
        .trim()
        .to_string()
}

#[test]
fn flags_beat_the_environment_beats_the_metric_file() {
    let dir = TestDir::new();
    dir.write(
        "metrics.yaml",
        SPEC.replacen(
            "version: 1\n",
            "version: 1\nllm:\n  base_url: http://127.0.0.1:1/file\n  model: file-model\n",
            1,
        ),
    );
    write_calls(&dir, 1);
    assert_eq!(
        dry_run_endpoint(&dir, &[], &[]),
        "http://127.0.0.1:1/file model file-model"
    );
    let env = [
        ("POSTCALL_BASE_URL", "http://127.0.0.1:1/env"),
        ("POSTCALL_MODEL", "env-model"),
    ];
    assert_eq!(
        dry_run_endpoint(&dir, &env, &[]),
        "http://127.0.0.1:1/env model env-model"
    );
    assert_eq!(
        dry_run_endpoint(&dir, &env, &["--base-url", "http://127.0.0.1:1/flag"]),
        "http://127.0.0.1:1/flag model env-model"
    );
    // A variable set to nothing names nothing.
    assert_eq!(
        dry_run_endpoint(&dir, &[("POSTCALL_BASE_URL", "")], &[]),
        "http://127.0.0.1:1/file model file-model"
    );
}

#[test]
fn a_cache_that_cannot_be_written_warns_once_and_the_run_finishes() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 10);
    // Every entry's shard directory is taken by a file (root ignores permissions).
    for shard in 0..=255u8 {
        dir.write(&format!("cache/{shard:02x}"), "");
    }
    let (output, stderr) = dir.run_output(&fake, &["-o", "r.json", "--cache-dir", "cache", "--quiet"]);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stderr.matches("could not write to the cache").count(), 1, "{stderr}");
    assert!(
        stderr.contains("10 answers could not be written to the cache"),
        "{stderr}"
    );
    assert_eq!(read_json_report(&dir.join("r.json")).calls.len(), 10);
}

#[test]
fn the_old_flag_spellings_still_work_but_are_not_advertised() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 20);
    // `--seed` is now --sample-seed, `--format` (of -o) now --output-format.
    let sampled = |flags: &[&str]| {
        let output = dir
            .run_against(&fake)
            .args(["--no-cache", "--quiet", "--sample", "5", "-o", "-"])
            .args(flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{flags:?}: {stderr}");
        // The call lines, not the run header's.
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value.get("call_id").map(|id| id.to_string())
            })
            .collect::<Vec<String>>()
    };
    let new = sampled(&["--sample-seed", "3", "--output-format", "jsonl"]);
    assert_eq!(new.len(), 5);
    assert_eq!(sampled(&["--seed", "3", "--format", "jsonl"]), new);
    assert_ne!(sampled(&["--sample-seed", "4", "--output-format", "jsonl"]), new);

    // validate: -m like schema and prompt; the bare path still works.
    for args in [
        ["validate", "-m", "metrics.yaml"],
        ["validate", "metrics.yaml", "--json"],
    ] {
        dir.postcall().args(args).assert().success();
    }
    let help = |command: &str| {
        let out = dir.postcall().args([command, "--help"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let run_help = help("run");
    assert!(
        run_help.contains("--sample-seed") && !run_help.contains("--seed "),
        "{run_help}"
    );
    assert!(
        run_help.contains("--output-format") && !run_help.contains("--format "),
        "{run_help}"
    );
    for heading in ["Inputs:", "Endpoint:", "Answers:", "Outputs:", "Reliability:", "Cache:"] {
        assert!(run_help.contains(heading), "no {heading} in {run_help}");
    }
    assert!(!help("convert").contains("--format "));
    assert!(help("validate").contains("--metrics <FILE>"));
}
