//! What people see: text from an archive, a model or a provider cannot drive the terminal,
//! and a reader that goes away (`| head`) is not an error.

use std::process::{Command, Output, Stdio};

use postcall_testkit::fake_llm::{FakeConfig, FakeServer};

use crate::common::TestDir;
use crate::run::{SPEC, dir_with_calls};

/// Sets the window title, rings the bell, clears the screen, paints red, hides text.
const EVIL: &str = "evil\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31m\u{9b}8m\u{202e}";

fn assert_no_raw_controls(what: &str, text: &str) {
    let raw: Vec<char> = text
        .chars()
        .filter(|c| (c.is_control() && *c != '\n' && *c != '\t') || ('\u{202a}'..='\u{202e}').contains(c))
        .collect();
    assert!(raw.is_empty(), "{what} printed raw control characters {raw:?}:\n{text}");
}

fn both(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn evil_dir() -> TestDir {
    let dir = dir_with_calls(SPEC, 3);
    let call = serde_json::json!({
        "call_id": EVIL,
        "transcript": [
            {"role": "agent", "content": format!("Hello {EVIL}")},
            {"role": "user", "content": "My bill is wrong."}
        ]
    });
    dir.write("calls/evil.json", serde_json::to_vec(&call).unwrap());
    dir.write(&format!("calls/bad{EVIL}.json"), "{ not json");
    dir
}

#[test]
fn terminal_escapes_from_call_ids_file_names_and_transcripts_are_printed_escaped() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = evil_dir();
    let inspect = dir.postcall().args(["inspect", "calls"]).output().unwrap();
    assert_no_raw_controls("inspect", &both(&inspect));
    assert!(
        String::from_utf8_lossy(&inspect.stdout).contains("evil\\u{1b}]0;pwned\\u{7}"),
        "{}",
        both(&inspect)
    );
    let run = dir
        .run_against(&fake)
        .args(["-o", "r.json", "--no-cache", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(
        run.status.code(),
        Some(1),
        "one input could not be read: {}",
        both(&run)
    );
    assert_no_raw_controls("run", &both(&run));
    assert!(String::from_utf8_lossy(&run.stderr).contains("bad"), "{}", both(&run));
    let labels = format!("call_id,call_outcome\n\"{EVIL}\",definitely_not_resolved\n");
    dir.write("labels.csv", labels.replace("definitely_not_resolved", "abandoned"));
    let commands: [Vec<&str>; 7] = [
        vec!["filter", "r.json", "--where", "call_outcome:status=ok"],
        vec!["prompt", "-m", "metrics.yaml", "calls/evil.json"],
        vec!["prompt", "-m", "metrics.yaml", "calls/evil.json", "--call-id", EVIL],
        vec!["stats", "r.json"],
        vec!["eval", "r.json", "--labels", "labels.csv"],
        vec!["eval", "r.json", "--labels", "labels.csv", "--format", "markdown"],
        vec!["run", "-m", "metrics.yaml", "calls", "--dry-run"],
    ];
    for args in commands {
        let out = dir.postcall().args(&args).output().unwrap();
        assert_no_raw_controls(&format!("{args:?}"), &both(&out));
    }
    let filter = dir
        .postcall()
        .args(["filter", "r.json", "--where", "call_outcome:status=ok"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&filter.stdout).contains("evil\\u{1b}"),
        "{}",
        both(&filter)
    );
}

#[test]
fn a_metric_file_with_control_characters_is_shown_escaped_by_validate() {
    let dir = TestDir::new();
    dir.write(
        "metrics.yaml",
        "version: 1\nmetrics:\n  - id: outcome\n    type: string\n    prompt: \"What happened? \\e[2J\"\n    description: \"ops \\e]0;title\\a\"\n",
    );
    let out = dir.postcall().args(["validate", "metrics.yaml"]).output().unwrap();
    assert_no_raw_controls("validate", &both(&out));
}

/// Runs `cmd` with a stdout whose reader is already gone, as `| head` leaves it.
fn with_closed_stdout(cmd: &mut Command) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    cmd.stdout(writer).stderr(Stdio::piped()).output().unwrap()
}

#[test]
fn every_command_that_writes_to_stdout_stops_quietly_and_successfully_when_the_reader_is_gone() {
    let fake = FakeServer::start(FakeConfig::default()).unwrap();
    let dir = dir_with_calls(SPEC, 5);
    dir.run_against(&fake)
        .args(["-o", "r.json", "-o", "r.jsonl", "--quiet"])
        .assert()
        .success();
    dir.write("labels.csv", "call_id,call_outcome\ncall-0000,resolved\n");
    let fake_url = fake.base_url();
    let commands: Vec<Vec<&str>> = vec![
        vec!["schema", "-m", "metrics.yaml"],
        vec!["validate", "metrics.yaml"],
        vec!["validate", "metrics.yaml", "--json"],
        vec!["inspect", "calls"],
        vec!["inspect", "calls", "--json"],
        vec!["prompt", "-m", "metrics.yaml", "calls/00/call-0000.json"],
        vec!["prompt", "-m", "metrics.yaml", "calls/00/call-0000.json", "--json"],
        vec!["stats", "r.json"],
        vec!["stats", "r.json", "--format", "json"],
        vec!["diff", "r.json", "r.jsonl"],
        vec!["eval", "r.json", "--labels", "labels.csv"],
        vec!["filter", "r.json", "--where", "call_outcome:status=ok"],
        vec!["convert", "r.json", "-o", "-", "--output-format", "csv"],
        vec!["convert", "r.json", "-o", "-", "--output-format", "json"],
        vec!["cache", "stats"],
        vec!["init", "-"],
        vec!["init", "--list"],
        vec![
            "run",
            "-m",
            "metrics.yaml",
            "calls",
            "--dry-run",
            "--base-url",
            &fake_url,
            "--model",
            "m",
        ],
        vec![
            "run",
            "-m",
            "metrics.yaml",
            "calls",
            "--quiet",
            "--base-url",
            &fake_url,
            "--model",
            "m",
        ],
    ];
    for args in commands {
        let out = with_closed_stdout(dir.postcall_process().args(&args));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            !stderr.contains("Broken pipe") && !stderr.contains("error") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
}
