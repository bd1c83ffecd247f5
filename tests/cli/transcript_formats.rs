//! The formats every archive has besides platform JSON — plain text, WebVTT and SRT
//! captions, Genesys Cloud, LiveKit, Pipecat, OpenAI Realtime, multichannel recordings —
//! each with a fixture of the same nine-turn call as `generic.json`; `--speaker-map auto`;
//! and the call metadata each fixture holds.

use postcall::transcript::{CallMetadata, Catalog, Direction, Format, LoadOptions, Speaker};
use predicates::prelude::*;

use crate::common::{TestDir, fixture};
use crate::transcripts::{STARTED_AT, assert_same_call, assert_same_call_with, only_call, options};

#[test]
fn plain_text_with_role_labels_and_a_title() {
    assert_same_call(
        "text_agent_customer.txt",
        Format::PlainText,
        "text_agent_customer",
        None,
        false,
    );
}

#[test]
fn plain_text_with_times_and_numbered_speakers() {
    let map = options(Some("Speaker 1=agent,Speaker 2=customer"));
    let file = ["text_timestamped_speakers.txt"];
    assert_same_call_with(&file, &map, Format::PlainText, "text_timestamped_speakers", None, true);
    let catalog = Catalog::scan(&[fixture("formats/text_timestamped_speakers.txt")], &options(None));
    let message = &catalog.errors[0].message;
    assert!(message.contains("saw Speaker 1, Speaker 2"), "{message}");
    assert!(
        message.contains("--speaker-map 'Speaker 1=agent,Speaker 2=customer'"),
        "{message}"
    );
    assert!(message.contains("--speaker-map auto"), "{message}");
}

#[test]
fn webvtt_voice_tags_and_name_prefixes() {
    let auto = options(Some("auto"));
    assert_same_call_with(
        &["webvtt_voice_tags.vtt"],
        &auto,
        Format::Webvtt,
        "webvtt_voice_tags",
        None,
        true,
    );
    assert_same_call_with(
        &["webvtt_name_prefix.vtt"],
        &auto,
        Format::Webvtt,
        "webvtt_name_prefix",
        None,
        true,
    );
    let map = options(Some("Ava=agent,Maria Lopez=customer"));
    assert_same_call_with(
        &["webvtt_voice_tags.vtt"],
        &map,
        Format::Webvtt,
        "webvtt_voice_tags",
        None,
        true,
    );
}

#[test]
fn srt_name_prefixes() {
    let auto = options(Some("auto"));
    assert_same_call_with(
        &["srt_name_prefix.srt"],
        &auto,
        Format::Srt,
        "srt_name_prefix",
        None,
        true,
    );
}

#[test]
fn genesys_cloud_transcript() {
    let id = "7d1e5a2c-0c4b-4f7e-9a6d-3b2c1d0e9f8a";
    assert_same_call("genesys.json", Format::Genesys, id, Some(STARTED_AT), true);
}

#[test]
fn livekit_session_history() {
    // The history has no session start: offsets count from its first item.
    let first_item = Some("2024-06-10T15:02:11.6Z");
    assert_same_call("livekit.json", Format::Livekit, "livekit", first_item, true);
    let (_, call) = only_call(&[fixture("formats/livekit.json")], &options(None));
    assert_eq!(call.turns.iter().filter(|t| t.speaker == Speaker::Tool).count(), 2);
}

#[test]
fn pipecat_transcript_joins_a_turn_sent_in_two_pieces() {
    assert_same_call(
        "pipecat.json",
        Format::Pipecat,
        "pipecat",
        Some("2024-06-10T15:02:11.6Z"),
        true,
    );
}

#[test]
fn openai_realtime_event_log_is_one_call() {
    let id = "sess_9Zx1c2V3b4N5m6";
    assert_same_call("openai_realtime_events.jsonl", Format::OpenaiRealtime, id, None, false);
    let items = "openai_realtime_items";
    assert_same_call("openai_realtime_items.json", Format::OpenaiRealtime, items, None, false);
}

#[test]
fn multichannel_recordings_where_the_channel_says_who_spoke() {
    let map = options(Some("0=agent,1=customer"));
    let id = "5e7f9a1b-2c3d-4e5f-8a9b-0c1d2e3f4a5b";
    assert_same_call_with(&["deepgram_multichannel.json"], &map, Format::Deepgram, id, None, true);
    let auto = options(Some("auto"));
    assert_same_call_with(&["deepgram_multichannel.json"], &auto, Format::Deepgram, id, None, true);
    let job = "northwind-2024-06-10-150211-channels";
    assert_same_call_with(
        &["aws_transcribe_channels.json"],
        &auto,
        Format::AwsTranscribe,
        job,
        None,
        true,
    );
    let map = options(Some("ch_0=agent,ch_1=customer"));
    assert_same_call_with(
        &["aws_transcribe_channels.json"],
        &map,
        Format::AwsTranscribe,
        job,
        None,
        true,
    );
}

#[test]
fn speaker_map_auto_records_who_it_chose_and_why() {
    for file in [
        "deepgram.json",
        "webvtt_voice_tags.vtt",
        "text_timestamped_speakers.txt",
    ] {
        let (_, call) = only_call(&[fixture(&format!("formats/{file}"))], &options(Some("auto")));
        let inference = call.speaker_inference.unwrap_or_else(|| panic!("{file}: no inference"));
        assert!(
            ["0", "Ava", "Speaker 1"].contains(&inference.agent.as_str()),
            "{file}: {inference:?}"
        );
        for clue in ["\"thanks for calling\" (turn 1)", "\"how can i help\""] {
            assert!(
                inference.reason.contains(clue),
                "{file}: {clue} not in {}",
                inference.reason
            );
        }
    }
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
    // Roles the platform gave are never second-guessed.
    let (_, call) = only_call(&[fixture("formats/vapi.json")], &options(Some("auto")));
    assert_eq!(call.speaker_inference, None);
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
fn transcript_format_overrides_work_for_text_formats() {
    let t = TestDir::new();
    // A caption file without its extension, and a text file that is really SRT.
    let srt = std::fs::read(fixture("formats/srt_name_prefix.srt")).unwrap();
    t.write("captions.data", &srt);
    let forced = LoadOptions {
        format: Some(Format::Srt),
        speaker_map: Some("auto".parse().unwrap()),
        ..Default::default()
    };
    let (entry, call) = only_call(&[t.join("captions.data")], &forced);
    assert_eq!((entry.format, call.conversation().count()), (Format::Srt, 9));
    let detected = LoadOptions {
        format: None,
        speaker_map: Some("auto".parse().unwrap()),
        ..Default::default()
    };
    t.write("captions.txt", &srt);
    assert_eq!(only_call(&[t.join("captions.txt")], &detected).0.format, Format::Srt);
    // A JSON format forced on a text file says so.
    let wrong = LoadOptions {
        format: Some(Format::Vapi),
        speaker_map: None,
        ..Default::default()
    };
    let catalog = Catalog::scan(&[fixture("formats/text_agent_customer.txt")], &wrong);
    assert!(
        catalog.errors[0].message.contains("vapi is a JSON format"),
        "{:?}",
        catalog.errors
    );
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

#[cfg(unix)]
#[test]
fn non_utf8_file_names_are_named_exactly_in_source() {
    use std::os::unix::ffi::OsStrExt;
    let t = TestDir::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xE9.json");
    let path = t.path().join(name);
    std::fs::write(&path, std::fs::read(fixture("formats/generic.json")).unwrap()).unwrap();
    let (_, call) = only_call(&[t.path().to_path_buf()], &options(None));
    assert!(call.source.ends_with("caf\\xE9.json"), "{}", call.source);
    assert!(!call.source.contains('\u{FFFD}'));
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

fn metadata_of(files: &[&str], speaker_map: Option<&str>) -> CallMetadata {
    let paths: Vec<_> = files.iter().map(|f| fixture(&format!("formats/{f}"))).collect();
    only_call(&paths, &options(speaker_map)).1.metadata
}

fn at(s: &str) -> Option<jiff::Timestamp> {
    Some(s.parse().unwrap())
}

fn some(s: &str) -> Option<String> {
    Some(s.to_string())
}

const ENDED: &str = "2024-06-10T15:02:55.2Z";
const CUSTOMER: &str = "+14155550142";
const LINE: &str = "+18005550199";

#[test]
fn metadata_of_the_voice_agent_platforms() {
    let atoms = CallMetadata {
        platform: some("Smallest AI Atoms"),
        call_id: some("CALL-1718031731000-4f9a2c"),
        ended_at: at(ENDED),
        duration_secs: Some(44.0),
        direction: Some(Direction::Inbound),
        agent_id: some("6667100aa1b2c3d4e5f60001"),
        agent_name: some("Northwind Support"),
        customer_number: some(CUSTOMER),
        agent_number: some(LINE),
        recording_url: some("https://example.invalid/recordings/CALL-1718031731000-4f9a2c.wav"),
        status: some("completed"),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["smallest_atoms.json"], None), atoms);
    let webhook = CallMetadata {
        duration_secs: Some(44.2),
        agent_name: None,
        ..atoms
    };
    assert_eq!(
        metadata_of(&["smallest_atoms_webhook_post_conversation.json"], None),
        webhook
    );

    let dialgen = CallMetadata {
        platform: some("Dialgen"),
        call_id: some("call_8c1e2f"),
        ended_at: at(ENDED),
        duration_secs: Some(44.0),
        agent_id: some("agent_northwind"),
        contact_id: some("contact_5521"),
        customer_number: some(CUSTOMER),
        customer_name: some("Maria Lopez"),
        recording_url: some("https://example.invalid/recordings/call_8c1e2f.mp3"),
        status: some("COMPLETED"),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["dialgen.json"], None), dialgen);

    let vapi = CallMetadata {
        platform: some("Vapi"),
        call_id: some("8f0f3c52-6b1e-4f0e-9b51-2b7d0c3a9e11"),
        ended_at: at(ENDED),
        // No durationSeconds in the report: end minus start.
        duration_secs: Some(44.2),
        direction: Some(Direction::Inbound),
        agent_id: some("5d3c2b1a-0000-4000-8000-00000000a11a"),
        customer_number: some(CUSTOMER),
        agent_number: some(LINE),
        recording_url: some("https://example.invalid/recordings/8f0f3c52-mono.wav"),
        ended_reason: some("customer-ended-call"),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["vapi.json"], None), vapi);

    let retell = CallMetadata {
        platform: some("Retell AI"),
        call_id: some("Jabr9TXYYJHfvl6Syypi88rdAHYHmcq6"),
        ended_at: at(ENDED),
        duration_secs: Some(44.2),
        direction: Some(Direction::Inbound),
        agent_id: some("oBeDLoLOeuAbiuaMFXRtDOLriTJ5tSxD"),
        customer_number: some(CUSTOMER),
        agent_number: some(LINE),
        recording_url: some("https://example.invalid/recordings/Jabr9TXY.wav"),
        status: some("ended"),
        ended_reason: some("user_hangup"),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["retell.json"], None), retell);
}

#[test]
fn metadata_of_elevenlabs_bland_and_the_generic_shape() {
    let eleven = CallMetadata {
        platform: some("ElevenLabs"),
        call_id: some("conv_01hzz9a1b2c3d4e5f6g7h8j9k0"),
        duration_secs: Some(44.0),
        direction: Some(Direction::Inbound),
        agent_id: some("agent_01hzz8k2w7f3n9x4q5r6s7t8u9"),
        customer_number: some(CUSTOMER),
        agent_number: some(LINE),
        status: some("done"),
        ended_reason: some("end_call tool was called."),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["elevenlabs.json"], None), eleven);

    let bland = CallMetadata {
        platform: some("Bland AI"),
        call_id: some("d9cce3f3-23cf-4fa7-b62c-8be8119b8715"),
        ended_at: at("2024-06-10T15:02:55Z"),
        duration_secs: Some(44.0),
        direction: Some(Direction::Inbound),
        customer_number: some(CUSTOMER),
        agent_number: some(LINE),
        recording_url: some("https://example.invalid/recordings/d9cce3f3.mp3"),
        status: some("completed"),
        ended_reason: some("USER"),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["bland.json"], None), bland);

    let generic = CallMetadata {
        call_id: some("northwind-refund-481772"),
        ended_at: at(ENDED),
        duration_secs: Some(44.2),
        direction: Some(Direction::Inbound),
        agent_id: some("northwind-support"),
        customer_number: some(CUSTOMER),
        status: some("completed"),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["generic.json"], None), generic);
}

#[test]
fn metadata_of_contact_center_and_speech_to_text_exports() {
    let connect = CallMetadata {
        platform: some("Amazon Connect"),
        call_id: some("11111111-2222-3333-4444-555555555555"),
        duration_secs: Some(44.2),
        contact_id: some("11111111-2222-3333-4444-555555555555"),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["aws_connect_contact_lens.json"], None), connect);
    let transcribe = CallMetadata {
        platform: some("Amazon Transcribe"),
        call_id: some("northwind-2024-06-10-150211"),
        duration_secs: Some(44.2),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["aws_transcribe_call_analytics.json"], None), transcribe);
    let twilio = CallMetadata {
        platform: some("Twilio"),
        call_id: some("GT0123456789abcdef0123456789abcdef"),
        duration_secs: Some(44.0),
        status: some("completed"),
        ..CallMetadata::default()
    };
    let pair = ["twilio_intelligence.json", "twilio_intelligence_transcript.json"];
    assert_eq!(metadata_of(&pair, None), twilio);
    let relay = CallMetadata {
        platform: some("Twilio"),
        call_id: some("CA0123456789abcdef0123456789abcdef"),
        direction: Some(Direction::Inbound),
        customer_number: some(CUSTOMER),
        agent_number: some(LINE),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["twilio_conversation_relay_log.json"], None), relay);
    let deepgram = CallMetadata {
        platform: some("Deepgram"),
        call_id: some("3c8e4f10-1b2a-4c5d-9e8f-0a1b2c3d4e5f"),
        duration_secs: Some(44.2),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["deepgram.json"], Some("0=agent,1=customer")), deepgram);
    let genesys = CallMetadata {
        platform: some("Genesys Cloud"),
        call_id: some("7d1e5a2c-0c4b-4f7e-9a6d-3b2c1d0e9f8a"),
        duration_secs: Some(44.2),
        ..CallMetadata::default()
    };
    assert_eq!(metadata_of(&["genesys.json"], None), genesys);
    // Captions and text hold no facts about the call; nothing is made up for them.
    assert_eq!(metadata_of(&["text_agent_customer.txt"], None), CallMetadata::default());
}
