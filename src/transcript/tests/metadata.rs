//! The call metadata each format fixture holds.

use super::*;
use crate::transcript::{CallMetadata, Direction};

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
