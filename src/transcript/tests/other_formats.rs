//! The formats every archive has besides platform JSON: plain text, WebVTT and SRT
//! captions, Genesys Cloud, LiveKit, Pipecat, OpenAI Realtime, multichannel recordings,
//! each a fixture of the same nine-turn call as `generic.json`; `--speaker-map auto`; and a
//! format forced over detection.

use super::*;

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
fn transcript_format_overrides_work_for_text_formats() {
    let t = Scratch::new();
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

#[cfg(unix)]
#[test]
fn non_utf8_file_names_are_named_exactly_in_source() {
    use std::os::unix::ffi::OsStrExt;
    let t = Scratch::new();
    let name = std::ffi::OsStr::from_bytes(b"caf\xE9.json");
    let path = t.path().join(name);
    std::fs::write(&path, std::fs::read(fixture("formats/generic.json")).unwrap()).unwrap();
    let (_, call) = only_call(&[t.path().to_path_buf()], &options(None));
    assert!(call.source.ends_with("caf\\xE9.json"), "{}", call.source);
    assert!(!call.source.contains('\u{FFFD}'));
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
    // Roles the platform gave are never second-guessed.
    let (_, call) = only_call(&[fixture("formats/vapi.json")], &options(Some("auto")));
    assert_eq!(call.speaker_inference, None);
}

#[test]
fn a_forced_format_is_read_by_that_format_s_reader() {
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
}
