//! The text and caption formats through `inspect`: `--speaker-map auto` as the user sees
//! it, and calls, skips and errors counted per format. How each format reads, and the
//! metadata each fixture holds, is tested beside the readers (`src/transcript/tests/`).

use predicates::prelude::*;

use crate::common::{TestDir, fixture};

#[test]
fn inspect_lists_who_speaker_map_auto_chose_and_why() {
    TestDir::new()
        .postcall()
        .args(["inspect", "--speaker-map", "auto"])
        .arg(fixture("formats/webvtt_voice_tags.vtt"))
        .assert()
        .success()
        .stdout(predicate::str::contains("roles chosen by --speaker-map auto (1):"))
        .stdout(predicate::str::contains(
            "webvtt_voice_tags.vtt: agent is `Ava`: `Ava` says \"thanks for calling\"",
        ));
}

#[test]
fn speaker_map_auto_says_so_when_nothing_tells_who_the_agent_is() {
    let t = TestDir::new();
    t.write("chat.txt", "Ann: Hi.\nBob: Hi there.\nAnn: Nice day.\nBob: It is.\n");
    t.postcall()
        .args(["inspect", "--speaker-map", "auto", "chat.txt"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "chat.txt: --speaker-map auto cannot tell who the agent is",
        ))
        .stdout(predicate::str::contains("pass --speaker-map Ann=agent,Bob=customer"));
}

#[test]
fn inspect_counts_calls_skips_and_errors_per_format() {
    let t = TestDir::new();
    t.write(
        "calls/a.vtt",
        std::fs::read(fixture("formats/webvtt_voice_tags.vtt")).unwrap(),
    );
    t.write("calls/LICENSE.txt", "Permission is hereby granted, free of charge.\n");
    t.write(
        "calls/update.json",
        r#"{"message": {"type": "status-update", "status": "ended", "call": {"id": "c1"}}}"#,
    );
    t.write(
        "calls/broken.vtt",
        "WEBVTT\n\n00:01.000 --> 00:02.000\nno speaker here\n",
    );
    let output = t
        .postcall()
        .args(["inspect", "--json", "--speaker-map", "auto", "calls"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let rows = doc["by_format"].as_array().unwrap();
    let row = |name: &str| rows.iter().find(|r| r["format"] == name).cloned().unwrap();
    assert_eq!(
        row("webvtt"),
        serde_json::json!({"format": "webvtt", "calls": 1, "skipped": 0, "errors": 1})
    );
    assert_eq!(row("vapi")["skipped"], 1);
    assert_eq!(row("text")["skipped"], 1);
    let reasons: Vec<&str> = doc["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("`status-update` server message")),
        "{reasons:?}"
    );
    t.postcall()
        .args(["inspect", "--speaker-map", "auto", "calls"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("by format:"))
        .stdout(predicate::str::contains(
            "calls/LICENSE.txt: text without speaker labels",
        ));
}

#[test]
fn text_on_stdin_is_read_as_a_transcript() {
    TestDir::new()
        .postcall()
        .args(["inspect", "-"])
        .write_stdin("Agent: Thanks for calling, how can I help?\nCustomer: My order is late.\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("-       text    stdin"));
}

/// Not a correctness test: writes one million-turn call as text and as WebVTT, for measuring
/// the text readers' memory by hand (a reader should not hold much more than the file).
///
/// ```text
/// POSTCALL_BENCH_DIR=/tmp/postcall-long cargo test --test cli -- --ignored generate_long_text_calls
/// cargo build --release
/// /usr/bin/time -v target/release/postcall inspect /tmp/postcall-long/long.txt > /dev/null
/// /usr/bin/time -v target/release/postcall inspect --speaker-map auto /tmp/postcall-long/long.vtt > /dev/null
/// ```
#[test]
#[ignore]
fn generate_long_text_calls() {
    use std::io::Write;
    let dir = std::path::PathBuf::from(std::env::var("POSTCALL_BENCH_DIR").expect("set POSTCALL_BENCH_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let turns = 1_000_000u64;
    let line = |i: u64| format!("turn {i}: the refund for order 481772 goes to the card by Friday");
    let mut text = std::io::BufWriter::new(std::fs::File::create(dir.join("long.txt")).unwrap());
    let mut vtt = std::io::BufWriter::new(std::fs::File::create(dir.join("long.vtt")).unwrap());
    writeln!(vtt, "WEBVTT\n").unwrap();
    writeln!(
        vtt,
        "00:00:00.000 --> 00:00:02.000\n<v Ava>Thanks for calling, how can I help?</v>\n"
    )
    .unwrap();
    for i in 0..turns {
        let who = if i % 2 == 0 { "Agent" } else { "Customer" };
        let (h, m, s) = (i * 3 / 3600 % 100, i * 3 / 60 % 60, i * 3 % 60);
        writeln!(text, "[{h:02}:{m:02}:{s:02}] {who}: {}", line(i)).unwrap();
        let voice = if i % 2 == 0 { "Maria" } else { "Ava" };
        writeln!(
            vtt,
            "{h:02}:{m:02}:{s:02}.000 --> {h:02}:{m:02}:{s:02}.900\n<v {voice}>{}</v>\n",
            line(i)
        )
        .unwrap();
    }
    eprintln!("wrote {turns} turns to long.txt and long.vtt under {}", dir.display());
}

// ---- Call metadata, as each fixture holds it --------------------------------------------
