//! Transcript ingestion and `postcall inspect`: every platform format yields the same call,
//! the labelled dialogues load, and bad input is reported per file without stopping the rest.
//!
//! Format tests go through the library (`Catalog::scan` + `Catalog::load`), which is what
//! `run` uses; bad-input tests go through the binary, because the message and the exit code
//! are what the user sees.

use std::path::PathBuf;

use postcall::transcript::load::CallEntry;
use postcall::transcript::{Call, Catalog, Format, LoadOptions, Speaker, SpeakerMap};
use predicates::prelude::*;

use crate::common::{TestDir, fixture};

pub(crate) const STARTED_AT: &str = "2024-06-10T15:02:11Z";

pub(crate) fn options(speaker_map: Option<&str>) -> LoadOptions {
    LoadOptions {
        format: None,
        speaker_map: speaker_map.map(|m| m.parse::<SpeakerMap>().expect("valid map")),
        ..Default::default()
    }
}

/// Scans `paths` and returns the single call they hold, after checking the scan found
/// exactly that and the re-read agrees with the scan's counts.
pub(crate) fn only_call(paths: &[PathBuf], options: &LoadOptions) -> (CallEntry, Call) {
    let catalog = Catalog::scan(paths, options);
    assert!(catalog.errors.is_empty(), "errors: {:#?}", catalog.errors);
    assert_eq!(catalog.entries.len(), 1, "entries: {:#?}", catalog.entries);
    let call = catalog.load(0, options).expect("re-read");
    let entry = catalog.entries[0].clone();
    assert_eq!(call.id, entry.id);
    assert_eq!(call.source, entry.source_display);
    assert_eq!(entry.turns, call.conversation().count());
    assert_eq!(entry.chars, call.chars());
    assert_eq!(entry.estimated_tokens, call.estimated_tokens());
    assert_eq!(entry.started_at, call.started_at);
    (entry, call)
}

pub(crate) fn spoken(call: &Call) -> Vec<(Speaker, String)> {
    call.conversation().map(|t| (t.speaker, t.text.clone())).collect()
}

/// The nine turns every file in `fixtures/formats` must yield, from the generic file.
pub(crate) fn ground_truth() -> Call {
    only_call(&[fixture("formats/generic.json")], &LoadOptions::default()).1
}

/// Asserts a format fixture parses to the ground truth's nine turns, with its own id and
/// start time, and keeps per-turn timing when the format has it.
pub(crate) fn assert_same_call(file: &str, format: Format, id: &str, started_at: Option<&str>, timed: bool) {
    assert_same_call_with(&[file], &options(None), format, id, started_at, timed);
}

pub(crate) fn assert_same_call_with(
    files: &[&str],
    options: &LoadOptions,
    format: Format,
    id: &str,
    started_at: Option<&str>,
    timed: bool,
) {
    let paths: Vec<PathBuf> = files.iter().map(|f| fixture(&format!("formats/{f}"))).collect();
    let (entry, call) = only_call(&paths, options);
    let truth = ground_truth();
    assert_eq!(spoken(&call), spoken(&truth), "{files:?}");
    assert_eq!(spoken(&call).len(), 9);
    assert_eq!(entry.format, format);
    assert_eq!(call.id, id);
    assert_eq!(call.started_at.map(|t| t.to_string()).as_deref(), started_at);
    for (turn, truth) in call.conversation().zip(truth.conversation()) {
        if timed {
            let (got, want) = (turn.offset_secs.expect("offset kept"), truth.offset_secs.unwrap());
            // ElevenLabs rounds to whole seconds; everyone else keeps tenths.
            assert!((got - want).abs() < 1.0, "{files:?}: offset {got} vs {want}");
        } else {
            assert_eq!(turn.offset_secs, None);
        }
    }
}

#[test]
fn generic_is_the_ground_truth() {
    assert_same_call(
        "generic.json",
        Format::Generic,
        "northwind-refund-481772",
        Some(STARTED_AT),
        true,
    );
}

#[test]
fn openai_messages_object_and_bare_array() {
    assert_same_call(
        "openai_messages.json",
        Format::OpenaiMessages,
        "openai_messages",
        None,
        false,
    );
    assert_same_call(
        "openai_messages_bare_array.json",
        Format::OpenaiMessages,
        "openai_messages_bare_array",
        None,
        false,
    );
    // The system prompt and the tool call are kept, just not spoken.
    let (_, call) = only_call(&[fixture("formats/openai_messages.json")], &options(None));
    let kinds: Vec<Speaker> = call.turns.iter().map(|t| t.speaker).collect();
    assert_eq!(kinds.iter().filter(|s| **s == Speaker::System).count(), 1);
    assert_eq!(kinds.iter().filter(|s| **s == Speaker::Tool).count(), 2);
}

#[test]
fn atoms_get_conversation() {
    let id = "CALL-1718031731000-4f9a2c";
    assert_same_call("smallest_atoms.json", Format::Atoms, id, Some(STARTED_AT), true);
}

#[test]
fn atoms_post_conversation_webhook() {
    let id = "CALL-1718031731000-4f9a2c";
    assert_same_call(
        "smallest_atoms_webhook_post_conversation.json",
        Format::Atoms,
        id,
        Some(STARTED_AT),
        true,
    );
}

#[test]
fn atoms_analytics_webhook_is_a_companion_not_a_call() {
    let catalog = Catalog::scan(
        &[fixture("formats/smallest_atoms_webhook_analytics_completed.json")],
        &options(None),
    );
    assert!(catalog.entries.is_empty() && catalog.errors.is_empty(), "{catalog:#?}");
    assert_eq!(catalog.companions.len(), 1);
}

#[test]
fn dialgen_call_data() {
    assert_same_call("dialgen.json", Format::Dialgen, "call_8c1e2f", Some(STARTED_AT), false);
}

#[test]
fn vapi_end_of_call_report() {
    let id = "8f0f3c52-6b1e-4f0e-9b51-2b7d0c3a9e11";
    assert_same_call("vapi.json", Format::Vapi, id, Some(STARTED_AT), true);
    let (_, call) = only_call(&[fixture("formats/vapi.json")], &options(None));
    assert_eq!(call.turns.len(), 12, "system prompt and two tool turns are kept");
}

#[test]
fn retell_transcript_object() {
    let id = "Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6";
    assert_same_call("retell.json", Format::Retell, id, Some(STARTED_AT), true);
}

#[test]
fn retell_transfer_target_speaks_for_the_business() {
    let t = TestDir::new();
    let call = r#"{"call": {"call_id": "r1", "start_timestamp": 1718031731000, "transcript_object": [
        {"role": "agent", "content": "Let me transfer you.", "words": [{"word": "Let", "start": 0.5}]},
        {"role": "user", "content": "Okay."},
        {"role": "transfer_target", "content": "Billing, this is Sam."}]}}"#;
    let (_, call) = only_call(&[t.write("r.json", call)], &options(None));
    assert_eq!(call.turns[2].speaker, Speaker::Agent);
    assert_eq!(call.turns[0].offset_secs, Some(0.5));
}

#[test]
fn elevenlabs_post_call_transcription() {
    let id = "conv_01hzz9a1b2c3d4e5f6g7h8j9k0";
    assert_same_call("elevenlabs.json", Format::Elevenlabs, id, Some(STARTED_AT), true);
}

#[test]
fn bland_call_details() {
    let id = "d9cce3f3-23cf-4fa7-b62c-8be8119b8715";
    assert_same_call("bland.json", Format::Bland, id, Some(STARTED_AT), true);
}

#[test]
fn aws_transcribe_call_analytics() {
    let id = "northwind-2024-06-10-150211";
    assert_same_call(
        "aws_transcribe_call_analytics.json",
        Format::AwsTranscribe,
        id,
        None,
        true,
    );
}

#[test]
fn aws_connect_contact_lens() {
    let id = "11111111-2222-3333-4444-555555555555";
    assert_same_call("aws_connect_contact_lens.json", Format::AwsConnect, id, None, true);
}

#[test]
fn twilio_conversation_relay_log() {
    let id = "CA0123456789abcdef0123456789abcdef";
    assert_same_call(
        "twilio_conversation_relay_log.json",
        Format::TwilioRelay,
        id,
        None,
        false,
    );
}

const TWILIO_SID: &str = "GT0123456789abcdef0123456789abcdef";

#[test]
fn twilio_sentences_alone_ask_for_a_speaker_map() {
    let catalog = Catalog::scan(&[fixture("formats/twilio_intelligence.json")], &options(None));
    assert!(catalog.entries.is_empty());
    let message = &catalog.errors[0].message;
    assert!(message.contains("saw 1, 2"), "{message}");
    assert!(message.contains("--speaker-map 1=agent,2=customer"), "{message}");
    assert!(message.contains("transcript resource"), "{message}");
}

#[test]
fn twilio_sentences_with_a_speaker_map() {
    let map = options(Some("2=agent,1=customer"));
    let files = ["twilio_intelligence.json"];
    assert_same_call_with(&files, &map, Format::TwilioIntelligence, TWILIO_SID, None, true);
}

#[test]
fn twilio_sentences_get_roles_from_their_transcript_resource_in_either_order() {
    for files in [
        ["twilio_intelligence.json", "twilio_intelligence_transcript.json"],
        ["twilio_intelligence_transcript.json", "twilio_intelligence.json"],
    ] {
        let none = options(None);
        assert_same_call_with(&files, &none, Format::TwilioIntelligence, TWILIO_SID, None, true);
        let paths: Vec<PathBuf> = files.iter().map(|f| fixture(&format!("formats/{f}"))).collect();
        assert_eq!(Catalog::scan(&paths, &none).companions.len(), 1);
    }
}

#[test]
fn twilio_combined_transcript_with_sentences() {
    let read = |f: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(fixture(&format!("formats/{f}"))).unwrap()).unwrap()
    };
    let mut combined = read("twilio_intelligence_transcript.json");
    combined["sentences"] = read("twilio_intelligence.json")["sentences"].take();
    let t = TestDir::new();
    let path = t.write("combined.json", combined.to_string());
    let (entry, call) = only_call(&[path], &options(None));
    assert_eq!(entry.format, Format::TwilioIntelligence);
    assert_eq!(call.id, TWILIO_SID);
    assert_eq!(spoken(&call), spoken(&ground_truth()));
}

#[test]
fn deepgram_without_a_speaker_map_says_which_flag_to_pass() {
    let catalog = Catalog::scan(&[fixture("formats/deepgram.json")], &options(None));
    assert!(catalog.entries.is_empty());
    let message = &catalog.errors[0].message;
    assert!(message.contains("saw 0, 1"), "{message}");
    assert!(message.contains("--speaker-map 0=agent,1=customer"), "{message}");
}

#[test]
fn deepgram_with_a_speaker_map() {
    let map = options(Some("0=agent,1=customer"));
    let id = "3c8e4f10-1b2a-4c5d-9e8f-0a1b2c3d4e5f";
    assert_same_call_with(&["deepgram.json"], &map, Format::Deepgram, id, None, true);
}

#[test]
fn inspect_formats_folder_reads_every_fixture_and_names_those_without_roles() {
    // Without a speaker map, exactly the files whose speakers have no roles ask for one.
    let catalog = Catalog::scan(&[fixture("formats")], &options(None));
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
    let path = fixture("formats/generic.json");
    let forced = LoadOptions {
        format: Some(Format::Bland),
        speaker_map: None,
        ..Default::default()
    };
    let catalog = Catalog::scan(std::slice::from_ref(&path), &forced);
    assert!(
        catalog.errors[0].message.contains("`/transcripts` is missing"),
        "{:?}",
        catalog.errors
    );
    let forced = LoadOptions {
        format: Some(Format::Generic),
        speaker_map: None,
        ..Default::default()
    };
    assert_eq!(
        only_call(std::slice::from_ref(&path), &forced).0.format,
        Format::Generic
    );
    TestDir::new()
        .postcall()
        .args(["inspect", "--transcript-format", "bland"])
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("(bland)"));
}

#[test]
fn all_63_labelled_dialogues_load_with_their_turn_counts() {
    let catalog = Catalog::scan(&[fixture("dialogues")], &options(None));
    assert_eq!(catalog.entries.len(), 63);
    // index.json is a list of files, not a call: one clear error, not 63.
    assert_eq!(catalog.errors.len(), 1, "{:#?}", catalog.errors);
    assert!(catalog.errors[0].source_display.ends_with("index.json"));
    assert!(
        catalog.errors[0]
            .message
            .contains("shape matches no known transcript format")
    );
    // README.md, NOTICE.md and a licence file without an extension are not read; the two
    // LICENSE.txt files are read as text and skipped as not being transcripts.
    assert_eq!(catalog.skipped_non_json, 3);
    assert_eq!(catalog.skipped.len(), 2, "{:#?}", catalog.skipped);
    assert!(
        catalog
            .skipped
            .iter()
            .all(|s| s.reason.contains("without speaker labels"))
    );

    let index: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture("dialogues/index.json")).unwrap()).unwrap();
    assert_eq!(index.len(), 63);
    for expected in &index {
        let id = expected["call_id"].as_str().unwrap();
        let n_turns = expected["n_turns"].as_u64().unwrap() as usize;
        let at = catalog
            .entries
            .iter()
            .position(|e| e.id == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(catalog.entries[at].turns, n_turns, "{id}");
        assert!(
            catalog.entries[at]
                .source_display
                .ends_with(expected["file"].as_str().unwrap())
        );
        assert_eq!(catalog.load(at, &options(None)).unwrap().turns.len(), n_turns, "{id}");
    }
}

#[test]
fn calls_can_be_reloaded_from_many_threads() {
    let catalog = Catalog::scan(&[fixture("dialogues")], &options(None));
    let opts = options(None);
    let reloaded: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..catalog.entries.len())
                        .map(|i| catalog.load(i, &opts).unwrap().id)
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: Vec<String> = catalog.entries.iter().map(|e| e.id.clone()).collect();
    assert!(reloaded.iter().all(|r| *r == ids));
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
    let catalog = Catalog::scan(&[t.join("calls")], &options(None));
    let ids: Vec<&str> = catalog.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["good-1", "good-1#2"]);
    assert_eq!(catalog.load(1, &options(None)).unwrap().id, "good-1#2");
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
    let catalog = Catalog::scan(&[t.join("calls/batch.jsonl")], &options(None));
    let ids: Vec<String> = (0..2).map(|i| catalog.load(i, &options(None)).unwrap().id).collect();
    assert_eq!(ids, ["good-1", "good-2"]);
}

#[test]
fn jsonl_lines_without_ids_are_named_after_file_and_line() {
    let t = TestDir::new();
    let line = r#"{"transcript": [{"role": "agent", "content": "Hi"}]}"#;
    t.write("day.ndjson", format!("{line}\n{line}\n"));
    let catalog = Catalog::scan(&[t.join("day.ndjson")], &options(None));
    let ids: Vec<&str> = catalog.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["day:1", "day:2"]);
}

#[test]
fn json_array_of_calls_is_one_call_per_element() {
    let t = TestDir::new();
    let no_id = r#"{"transcript": [{"role": "agent", "content": "Hi"}]}"#;
    t.write("many.json", format!("[{GOOD}, {no_id}, {{\"x\": 1}}]"));
    let catalog = Catalog::scan(&[t.join("many.json")], &options(None));
    let ids: Vec<&str> = catalog.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["good-1", "many[1]"]);
    assert!(catalog.entries[1].source_display.ends_with("many.json[1]"));
    assert!(catalog.errors[0].source_display.ends_with("many.json[2]"));
    assert_eq!(catalog.load(1, &options(None)).unwrap().id, "many[1]");
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

#[test]
fn jsonl_with_a_bom_and_crlf_reloads_each_line() {
    let t = TestDir::new();
    let line = |id: &str| format!(r#"{{"call_id": "{id}", "transcript": [{{"role": "agent", "content": "Hi"}}]}}"#);
    let body = format!("\u{FEFF}{}\r\n{}\r\n", line("first"), line("second"));
    t.write("export.jsonl", body);
    let catalog = Catalog::scan(&[t.join("export.jsonl")], &options(None));
    assert!(catalog.errors.is_empty(), "{:#?}", catalog.errors);
    let ids: Vec<String> = (0..2).map(|i| catalog.load(i, &options(None)).unwrap().id).collect();
    assert_eq!(ids, ["first", "second"]);
}
