//! Transcript ingestion as the user sees it, through `postcall inspect`: what it finds in the
//! format fixtures, and bad input reported per file without stopping the rest (the message
//! and the exit code are what the user sees). How each format reads is tested beside the
//! readers, in `src/transcript/tests/`.

use std::path::PathBuf;

use postcall::transcript::{Catalog, LoadOptions};
use predicates::prelude::*;

use crate::common::{TestDir, fixture};

#[test]
fn inspect_formats_folder_reads_every_fixture_and_names_those_without_roles() {
    // Without a speaker map, exactly the files whose speakers have no roles ask for one.
    let catalog = Catalog::scan(&[fixture("formats")], &LoadOptions::default());
    let mut asking: Vec<String> = catalog
        .errors
        .iter()
        .filter(|e| e.message.contains("--speaker-map auto"))
        .map(|e| e.source_display.rsplit('/').next().unwrap().to_string())
        .collect();
    asking.sort();
    let expected = [
        "aws_transcribe_channels.json",
        "deepgram.json",
        "deepgram_multichannel.json",
        "srt_name_prefix.srt",
        "text_timestamped_speakers.txt",
        "webvtt_name_prefix.vtt",
        "webvtt_voice_tags.vtt",
    ];
    assert_eq!(asking, expected);
    // With `auto`, every fixture is the nine-turn call; the answers file is no call.
    TestDir::new()
        .postcall()
        .args(["inspect", "--speaker-map", "auto", fixture("formats").to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("total: 27 call(s), 243 turns"))
        .stdout(predicate::str::contains("errors (1):"))
        .stdout(predicate::str::contains("_ground_truth.json: shape matches no known"))
        .stdout(predicate::str::contains("companions (2)"))
        .stdout(predicate::str::contains("twilio_intelligence  GT0123456789abcdef"));
    TestDir::new()
        .postcall()
        .args(["inspect", "--speaker-map", "0=agent,1=customer"])
        .arg(fixture("formats/deepgram.json"))
        .assert()
        .success()
        .stdout(predicate::str::contains("deepgram"));
}

#[test]
fn transcript_format_flag_overrides_detection() {
    // Which reader a forced format uses is tested with the readers (src/transcript/tests).
    let path = fixture("formats/generic.json");
    TestDir::new()
        .postcall()
        .args(["inspect", "--transcript-format", "bland"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("(bland)"));
}

// ---- Bad input is data, not a crash ----------------------------------------------------

const GOOD: &str = r#"{"call_id": "good-1", "transcript": [
    {"role": "agent", "content": "Hello, how can I help?"},
    {"role": "user", "content": "My order is late."}]}"#;

/// A directory holding one good call next to the bad file; `inspect` must list the good
/// call, report the bad one with `message`, and exit 1.
fn assert_bad_file_reported(name: &str, contents: &[u8], message: &str) {
    let t = TestDir::new();
    t.write("calls/good.json", GOOD);
    t.write(&format!("calls/{name}"), contents);
    t.postcall()
        .args(["inspect", "calls"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(format!("calls/{name}")))
        .stdout(predicate::str::contains(message))
        .stdout(predicate::str::contains("good-1"))
        .stdout(predicate::str::contains("total: 1 call(s)"));
}

#[test]
fn empty_file_is_reported() {
    assert_bad_file_reported("empty.json", b"", "empty.json: file is empty");
}

#[test]
fn invalid_json_is_reported_with_line_and_column() {
    assert_bad_file_reported(
        "broken.json",
        b"{\n  \"call_id\": \"x\",\n  \"transcript\": [,]\n}",
        "broken.json:3:18: invalid JSON",
    );
}

#[test]
fn non_utf8_is_reported() {
    assert_bad_file_reported(
        "latin1.json",
        b"{\"call_id\": \"caf\xE9\"}",
        "latin1.json:1:17: not UTF-8 text",
    );
}

#[test]
fn unknown_shape_lists_what_it_saw_and_what_it_knows() {
    let contents = br#"{"foo": 1, "bar": [2]}"#;
    assert_bad_file_reported(
        "odd.json",
        contents,
        "shape matches no known transcript format (top-level keys: foo, bar)",
    );
    assert_bad_file_reported(
        "odd.json",
        contents,
        "Known shapes: generic {call_id, transcript:[{role, content}]}",
    );
}

#[test]
fn empty_transcript_is_reported() {
    let contents = br#"{"call_id": "e", "transcript": []}"#;
    assert_bad_file_reported(
        "nothing_said.json",
        contents,
        "empty transcript: no agent or customer turns",
    );
}

#[test]
fn unknown_role_names_the_turn_and_the_fix() {
    let contents = br#"{"call_id": "n", "transcript": [{"role": "narrator", "content": "Once"}]}"#;
    assert_bad_file_reported(
        "narrated.json",
        contents,
        "turn 1 has unknown role `narrator`; pass --speaker-map 'narrator=agent'",
    );
}

#[test]
fn duplicate_call_ids_are_warned_about_and_made_unique() {
    let t = TestDir::new();
    t.write("calls/a.json", GOOD);
    t.write("calls/b.json", GOOD);
    t.postcall()
        .args(["inspect", "calls"])
        .assert()
        .success()
        .stdout(predicate::str::contains("good-1#2"))
        .stdout(predicate::str::contains(
            "duplicate call id `good-1`: calls/b.json has the same id as calls/a.json",
        ));
    let catalog = Catalog::scan(&[t.join("calls")], &LoadOptions::default());
    let ids: Vec<&str> = catalog.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["good-1", "good-1#2"]);
    assert_eq!(catalog.load(1, &LoadOptions::default()).unwrap().id, "good-1#2");
}

#[test]
fn non_json_files_in_a_directory_are_skipped_and_counted() {
    let t = TestDir::new();
    t.write("calls/good.json", GOOD);
    t.write("calls/notes.txt", "not a call");
    t.write("calls/sub/recording.wav", [0u8, 1, 2]);
    t.postcall()
        .args(["inspect", "calls"])
        .assert()
        .success()
        .stdout(predicate::str::contains("skipped 1 file(s) of other kinds"))
        .stdout(predicate::str::contains(
            "calls/notes.txt: text without speaker labels, so not a transcript",
        ))
        .stdout(predicate::str::contains("good-1"));
}

#[test]
fn missing_file_named_on_the_command_line_is_an_error_naming_it() {
    let t = TestDir::new();
    t.write("good.json", GOOD);
    t.postcall()
        .args(["inspect", "good.json", "no-such-file.json"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no-such-file.json: no such file or directory"))
        .stdout(predicate::str::contains("good-1"));
}

#[test]
fn jsonl_bad_lines_are_their_own_errors_and_good_lines_load() {
    let t = TestDir::new();
    let good = GOOD.replace('\n', " ");
    let lines = format!(
        "{good}\n{{\"call_id\": oops}}\n\n{}\n{{\"hello\": 1}}\n",
        good.replace("good-1", "good-2")
    );
    t.write("calls/batch.jsonl", lines);
    t.write("calls/other.json", GOOD.replace("good-1", "other"));
    t.postcall()
        .args(["inspect", "calls"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("calls/batch.jsonl:2:13: invalid JSON"))
        .stdout(predicate::str::contains("calls/batch.jsonl:5: shape matches no known"))
        .stdout(predicate::str::contains("calls/batch.jsonl:1 "))
        .stdout(predicate::str::contains("calls/batch.jsonl:4 "))
        .stdout(predicate::str::contains("total: 3 call(s)"));
    // Each line re-reads from its own offset.
    let catalog = Catalog::scan(&[t.join("calls/batch.jsonl")], &LoadOptions::default());
    let ids: Vec<String> = (0..2)
        .map(|i| catalog.load(i, &LoadOptions::default()).unwrap().id)
        .collect();
    assert_eq!(ids, ["good-1", "good-2"]);
}

#[test]
fn stdin_is_read_with_a_dash_and_kept_for_reloading() {
    let t = TestDir::new();
    t.postcall()
        .args(["inspect", "-"])
        .write_stdin(GOOD)
        .assert()
        .success()
        .stdout(predicate::str::contains("good-1"))
        .stdout(predicate::str::contains("generic"));
    // Several documents on stdin are one call per line.
    let lines = format!(
        "{}\n{}\n",
        GOOD.replace('\n', " "),
        GOOD.replace('\n', " ").replace("good-1", "good-2")
    );
    t.postcall()
        .args(["inspect", "-"])
        .write_stdin(lines)
        .assert()
        .success()
        .stdout(predicate::str::contains("-:2 "))
        .stdout(predicate::str::contains("good-2"));
}

#[test]
fn inspect_json_is_one_document_for_machines() {
    let t = TestDir::new();
    t.write("calls/good.json", GOOD);
    t.write("calls/bad.json", "{");
    t.write("calls/readme.md", "#");
    let output = t.postcall().args(["inspect", "--json", "calls"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("one JSON document");
    assert_eq!(doc["calls"][0]["call_id"], "good-1");
    assert_eq!(doc["calls"][0]["format"], "generic");
    assert_eq!(doc["calls"][0]["turns"], 2);
    assert_eq!(doc["errors"][0]["line"], 1);
    assert!(
        doc["errors"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON")
    );
    assert_eq!(doc["skipped_non_json"], 1);
    assert_eq!(doc["warnings"], serde_json::json!([]));
    assert_eq!(doc["totals"]["calls"], 1);
    assert_eq!(doc["totals"]["errors"], 1);
}

#[test]
fn inspect_without_paths_is_a_usage_error() {
    TestDir::new().postcall().arg("inspect").assert().code(2);
    TestDir::new()
        .postcall()
        .args(["inspect", "--speaker-map", "0", "x.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not KEY=ROLE"));
}

/// Not a correctness test: writes many small calls for timing `inspect` by hand.
///
/// ```text
/// POSTCALL_BENCH_DIR=/tmp/postcall-bench cargo test --test cli -- --ignored generate_calls_for_timing
/// cargo build --release
/// /usr/bin/time -v target/release/postcall inspect /tmp/postcall-bench > /dev/null
/// ```
#[test]
#[ignore]
fn generate_calls_for_timing() {
    let dir = PathBuf::from(std::env::var("POSTCALL_BENCH_DIR").expect("set POSTCALL_BENCH_DIR"));
    let count: usize = std::env::var("POSTCALL_BENCH_CALLS").map_or(100_000, |n| n.parse().unwrap());
    let template = std::fs::read_to_string(fixture("formats/generic.json")).unwrap();
    for i in 0..count {
        // 100 files a folder, like a dated export tree.
        let sub = dir.join(format!("{:04}", i / 100));
        if i % 100 == 0 {
            std::fs::create_dir_all(&sub).unwrap();
        }
        let body = template.replace("northwind-refund-481772", &format!("call-{i:06}"));
        std::fs::write(sub.join(format!("call-{i:06}.json")), body).unwrap();
    }
    eprintln!("wrote {count} calls under {}", dir.display());
}
