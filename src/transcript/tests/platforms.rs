//! Every platform's export of the same call: the ground truth's nine turns, with its id,
//! start time and per-turn timing where the platform keeps them.

use super::*;

const TWILIO_SID: &str = "GT0123456789abcdef0123456789abcdef";

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
    let t = Scratch::new();
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
    let t = Scratch::new();
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
