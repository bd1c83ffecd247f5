//! Format detection from a JSON document's structure.
//!
//! Pure and cheap (a handful of key lookups, no allocation on the happy path), because it
//! runs once per call on archives of 100k+ files. Checks go from the most specific shape to
//! the most generic, so a Vapi report that also carries `messagesOpenAIFormatted` is Vapi and
//! not OpenAI messages. When nothing matches, [`describe_unknown`] says what was seen and
//! what is known, so the user can fix the file or pass `--transcript-format`.

use serde_json::Value;

use super::Format;

/// What one JSON document (a file, an array element, or a JSONL line) turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Call(Format),
    /// Metadata that belongs to a call but is not one (not an error either).
    Companion(Companion),
    /// A top-level array whose elements are separate calls.
    ArrayOfCalls,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Companion {
    /// Twilio Intelligence Transcript resource: participants for a sentences page.
    TwilioTranscript,
    /// Atoms analytics-completed webhook: analytics for a call whose transcript arrives in
    /// the post-conversation webhook.
    AtomsAnalytics,
}

/// The shapes postcall knows, for "matches nothing" messages.
pub const KNOWN_SHAPES: &str = "generic {call_id, transcript:[{role, content}]}; \
    openai_messages {messages:[{role, content}]} or a bare array of them; \
    atoms {data|metadata: {callId, transcript}}; dialgen {callData: {transcription}}; \
    vapi {message: {artifact: {messages}}}; retell {call: {transcript_object}}; \
    elevenlabs {data: {conversation_id, transcript:[{role, message}]}}; bland {call_id, transcripts}; \
    aws_transcribe {JobName, Transcript:[{ParticipantRole}]}; \
    aws_connect {Participants, Transcript:[{ParticipantId}]}; \
    twilio_intelligence {sentences, meta.url} (+ transcript resource {sid, channel.participants}); \
    twilio_relay {messages:[{direction, message}]}; deepgram {results: {utterances}}";

pub fn detect(value: &Value) -> Shape {
    match value {
        Value::Array(items) => {
            if items.first().is_some_and(|m| m.get("role").is_some()) {
                Shape::Call(Format::OpenaiMessages)
            } else {
                Shape::ArrayOfCalls
            }
        }
        Value::Object(_) => detect_object(value),
        _ => Shape::Unknown,
    }
}

fn detect_object(v: &Value) -> Shape {
    let has = |pointer: &str| v.pointer(pointer).is_some();
    let first = |pointer: &str| v.pointer(pointer).and_then(Value::as_array).and_then(|a| a.first());
    let call = Shape::Call;

    if first("/messages").is_some_and(|m| m.get("direction").is_some()) {
        return call(Format::TwilioRelay);
    }
    if has("/message/artifact") || has("/artifact/messages") {
        return call(Format::Vapi);
    }
    if has("/call/transcript_object") || has("/call/transcript_with_tool_calls") || has("/transcript_object") {
        return call(Format::Retell);
    }
    if has("/callData/transcription") {
        return call(Format::Dialgen);
    }
    for (base, pointer) in [
        ("/data", "/data/transcript"),
        ("/metadata", "/metadata/transcript"),
        ("", "/transcript"),
    ] {
        if let Some(Value::Array(turns)) = v.pointer(pointer) {
            // ElevenLabs says `message` where Atoms and the generic shape say `content`.
            let speaks_in_messages = turns.first().is_some_and(|t| t.get("message").is_some());
            return match (base, speaks_in_messages) {
                (_, true) => call(Format::Elevenlabs),
                ("", false) => call(Format::Generic),
                _ => call(Format::Atoms),
            };
        }
    }
    if v.pointer("/metadata/analytics").is_some()
        || v.pointer("/metadata/eventType").and_then(Value::as_str) == Some("analytics-completed")
    {
        return Shape::Companion(Companion::AtomsAnalytics);
    }
    if first("/transcripts").is_some_and(|t| t.get("user").is_some()) || has("/concatenated_transcript") {
        return call(Format::Bland);
    }
    if let Some(segment) = first("/Transcript") {
        return if segment.get("ParticipantRole").is_some() && !has("/CustomerMetadata") {
            call(Format::AwsTranscribe)
        } else {
            call(Format::AwsConnect)
        };
    }
    if has("/JobName") && has("/Transcript") {
        return call(Format::AwsTranscribe);
    }
    if has("/sentences") {
        return call(Format::TwilioIntelligence);
    }
    if has("/channel/participants") && v.get("sid").is_some() {
        return Shape::Companion(Companion::TwilioTranscript);
    }
    if has("/results/utterances") || has("/results/channels") {
        return call(Format::Deepgram);
    }
    if first("/messages").is_some_and(|m| m.get("role").is_some()) {
        return call(Format::OpenaiMessages);
    }
    Shape::Unknown
}

/// Why `value` matched nothing: its top-level keys (or kind) and the shapes known.
pub fn describe_unknown(value: &Value) -> String {
    let seen = match value {
        Value::Object(map) if map.is_empty() => "an empty object".to_string(),
        Value::Object(map) => {
            let keys: Vec<&str> = map.keys().map(String::as_str).take(12).collect();
            let more = if map.len() > keys.len() { ", …" } else { "" };
            format!("top-level keys: {}{more}", keys.join(", "))
        }
        other => format!(
            "a JSON {}",
            super::formats::kind(other)
                .trim_start_matches("a ")
                .trim_start_matches("an ")
        ),
    };
    format!(
        "shape matches no known transcript format ({seen}). Known shapes: {KNOWN_SHAPES}. \
         If you know the format, pass --transcript-format NAME"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn specific_shapes_win_over_generic_ones() {
        let vapi = json!({"message": {"artifact": {"messages": [], "messagesOpenAIFormatted": []}}});
        assert_eq!(detect(&vapi), Shape::Call(Format::Vapi));
        let eleven = json!({"data": {"conversation_id": "c", "transcript": [{"role": "agent", "message": "hi"}]}});
        assert_eq!(detect(&eleven), Shape::Call(Format::Elevenlabs));
        let atoms = json!({"data": {"callId": "c", "transcript": [{"role": "agent", "content": "hi"}]}});
        assert_eq!(detect(&atoms), Shape::Call(Format::Atoms));
        let generic = json!({"call_id": "c", "transcript": [{"role": "agent", "content": "hi"}]});
        assert_eq!(detect(&generic), Shape::Call(Format::Generic));
    }

    #[test]
    fn arrays_are_messages_or_calls() {
        assert_eq!(
            detect(&json!([{"role": "user", "content": "x"}])),
            Shape::Call(Format::OpenaiMessages)
        );
        assert_eq!(detect(&json!([{"call_id": "a"}])), Shape::ArrayOfCalls);
    }

    #[test]
    fn twilio_resource_is_a_companion_and_the_page_a_call() {
        let resource = json!({"sid": "GT1", "channel": {"participants": []}});
        assert_eq!(detect(&resource), Shape::Companion(Companion::TwilioTranscript));
        let combined = json!({"sid": "GT1", "channel": {"participants": []}, "sentences": []});
        assert_eq!(detect(&combined), Shape::Call(Format::TwilioIntelligence));
    }

    #[test]
    fn unknown_shapes_list_their_keys() {
        let msg = describe_unknown(&json!({"file": 1, "n_turns": 2}));
        assert!(msg.contains("top-level keys: file, n_turns"), "{msg}");
        assert!(msg.contains("--transcript-format"), "{msg}");
        assert!(describe_unknown(&json!(3)).contains("a JSON number"));
    }
}
