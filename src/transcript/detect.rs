//! Format detection from a JSON document's structure, or from a text file's first lines.
//!
//! Pure and cheap (a handful of key lookups, no allocation on the happy path), because it
//! runs once per call on archives of 100k+ files. Checks go from the most specific shape to
//! the most generic, so a Vapi report that also carries `messagesOpenAIFormatted` is Vapi and
//! not OpenAI messages. Documents a platform sends that are not calls (a Vapi `tool-calls`
//! message, an ElevenLabs audio webhook) are detected as their platform, whose parser says
//! why they are skipped. When nothing matches, [`describe_unknown`] says what was seen and
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
    twilio_relay [{type: setup|prompt|text…}] (array, JSONL, or under messages); \
    deepgram {results: {utterances | channels[].alternatives[].paragraphs}}; \
    genesys {conversationId, transcripts:[{phrases}]}; livekit {items:[{type: message, content:[…]}]}; \
    pipecat [{role, content, timestamp}]; openai_realtime [{type: message, content:[{type, transcript}]}] \
    or its server events; text files (.txt `Agent: …`), WebVTT (.vtt) and SRT (.srt) captions";

pub fn detect(value: &Value) -> Shape {
    match value {
        Value::Array(items) => detect_array(items),
        Value::Object(_) => detect_object(value),
        _ => Shape::Unknown,
    }
}

/// A top-level array is one call (messages, items or session events) or a list of calls.
fn detect_array(items: &[Value]) -> Shape {
    let Some(first) = items.first() else {
        return Shape::ArrayOfCalls;
    };
    if is_relay_message(first) {
        return Shape::Call(Format::TwilioRelay);
    }
    if is_realtime_event(first) || is_realtime_item(first) {
        return Shape::Call(Format::OpenaiRealtime);
    }
    if first.get("role").is_some() {
        let stamped = first.get("timestamp").is_some_and(Value::is_string);
        return Shape::Call(if stamped {
            Format::Pipecat
        } else {
            Format::OpenaiMessages
        });
    }
    Shape::ArrayOfCalls
}

/// One JSONL line that is an event of a session rather than a call: the file is read as
/// one call (a ConversationRelay log, a Realtime event log).
pub fn session_event(value: &Value) -> Option<Format> {
    if is_relay_message(value) {
        Some(Format::TwilioRelay)
    } else if is_realtime_event(value) {
        Some(Format::OpenaiRealtime)
    } else {
        None
    }
}

/// A ConversationRelay WebSocket message, by its type and the field that type carries.
fn is_relay_message(v: &Value) -> bool {
    let key = match v.get("type").and_then(Value::as_str) {
        Some("setup") => "callSid",
        Some("prompt") => "voicePrompt",
        Some("text") => "token",
        Some("interrupt") => "utteranceUntilInterrupt",
        Some("dtmf") => "digit",
        _ => return false,
    };
    v.get(key).is_some()
}

/// An OpenAI Realtime server event: a dotted type from the API's families, with an id.
fn is_realtime_event(v: &Value) -> bool {
    let Some(kind) = v.get("type").and_then(Value::as_str) else {
        return false;
    };
    v.get("event_id").is_some()
        && [
            "session.",
            "conversation.",
            "response.",
            "input_audio_buffer.",
            "rate_limits.",
        ]
        .iter()
        .any(|p| kind.starts_with(p))
}

/// A Realtime conversation item: a message whose content parts are typed objects.
fn is_realtime_item(v: &Value) -> bool {
    v.get("object").and_then(Value::as_str) == Some("realtime.item")
        || (v.get("type").and_then(Value::as_str) == Some("message")
            && v.pointer("/content/0/type").and_then(Value::as_str).is_some_and(|t| {
                matches!(
                    t,
                    "input_audio" | "input_text" | "audio" | "text" | "output_audio" | "output_text"
                )
            }))
}

/// The text format a text file holds: WebVTT by its header, SRT by its first cue, plain
/// text otherwise (the extension is only a tie-breaker for files too short to tell).
pub fn detect_text(text: &str, by_extension: Option<Format>) -> Format {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().unwrap_or_default();
    if first.starts_with("WEBVTT") {
        return Format::Webvtt;
    }
    let second = lines.next().unwrap_or_default();
    if first.chars().all(|c| c.is_ascii_digit()) && second.contains("-->") {
        return Format::Srt;
    }
    match by_extension {
        Some(f @ (Format::Webvtt | Format::Srt)) if first.contains("-->") => f,
        _ => Format::PlainText,
    }
}

fn detect_object(v: &Value) -> Shape {
    // Order matters: the earlier checks are the more specific shapes.
    detect_voice_platforms(v)
        .or_else(|| detect_frameworks(v))
        .or_else(|| detect_transcript_keyed(v))
        .or_else(|| detect_speech_services(v))
        .unwrap_or(Shape::Unknown)
}

/// Twilio relay, Vapi, Retell, Dialgen and Genesys: shapes with a key no other format has.
fn detect_voice_platforms(v: &Value) -> Option<Shape> {
    let has = |pointer: &str| v.pointer(pointer).is_some();
    let first = |pointer: &str| v.pointer(pointer).and_then(Value::as_array).and_then(|a| a.first());

    if first("/messages").is_some_and(|m| m.get("direction").is_some() || is_relay_message(m)) {
        return Some(Shape::Call(Format::TwilioRelay));
    }
    // End-of-call reports in either layout, every other server message (they all carry the
    // call), and GET call objects.
    let vapi_message = v.pointer("/message/type").is_some_and(Value::is_string)
        && (has("/message/call") || has("/message/artifact") || has("/message/messages"));
    let vapi_call = has("/artifact/messages")
        || (has("/orgId") && first("/messages").is_some_and(|m| m.get("secondsFromStart").is_some()));
    if vapi_message || has("/message/artifact") || vapi_call {
        return Some(Shape::Call(Format::Vapi));
    }
    if has("/call/transcript_object")
        || has("/call/transcript_with_tool_calls")
        || has("/transcript_object")
        || (has("/call/call_id") && has("/call/call_status"))
    {
        return Some(Shape::Call(Format::Retell));
    }
    if has("/callData/transcription") {
        return Some(Shape::Call(Format::Dialgen));
    }
    if first("/transcripts").is_some_and(|t| t.get("phrases").is_some()) {
        return Some(Shape::Call(Format::Genesys));
    }
    None
}

/// ElevenLabs, Atoms and the generic shape, which all keep their turns under a `transcript`
/// key, and the companion files that sit beside them.
fn detect_transcript_keyed(v: &Value) -> Option<Shape> {
    let has = |pointer: &str| v.pointer(pointer).is_some();
    let first = |pointer: &str| v.pointer(pointer).and_then(Value::as_array).and_then(|a| a.first());
    let call = |format| Some(Shape::Call(format));

    // ElevenLabs webhooks without a transcript, and the conversation list.
    let eleven_webhook = v
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.starts_with("post_call_"))
        && has("/data/conversation_id");
    if eleven_webhook || first("/conversations").is_some_and(|c| c.get("conversation_id").is_some()) {
        return call(Format::Elevenlabs);
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
        return Some(Shape::Companion(Companion::AtomsAnalytics));
    }
    None
}

/// Bland, the AWS and Twilio speech services, Deepgram and bare OpenAI messages.
fn detect_speech_services(v: &Value) -> Option<Shape> {
    let has = |pointer: &str| v.pointer(pointer).is_some();
    let first = |pointer: &str| v.pointer(pointer).and_then(Value::as_array).and_then(|a| a.first());
    let call = |format| Some(Shape::Call(format));

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
    // A plain Transcribe job (`results.transcripts`), not a Deepgram response.
    if has("/jobName") && has("/results/transcripts") {
        return call(Format::AwsTranscribe);
    }
    if has("/sentences") {
        return call(Format::TwilioIntelligence);
    }
    if has("/channel/participants") && v.get("sid").is_some() {
        return Some(Shape::Companion(Companion::TwilioTranscript));
    }
    if has("/results/utterances") || has("/results/channels") {
        return call(Format::Deepgram);
    }
    if first("/messages").is_some_and(|m| m.get("role").is_some()) {
        return call(Format::OpenaiMessages);
    }
    None
}

/// LiveKit session history (or a session report holding it) and Realtime items under `items`.
fn detect_frameworks(v: &Value) -> Option<Shape> {
    let items = v
        .pointer("/items")
        .or_else(|| v.pointer("/chat_history/items"))
        .and_then(Value::as_array)?;
    let first = items.first()?;
    if is_realtime_item(first) {
        return Some(Shape::Call(Format::OpenaiRealtime));
    }
    let kind = first.get("type").and_then(Value::as_str)?;
    matches!(
        kind,
        "message" | "function_call" | "function_call_output" | "agent_handoff"
    )
    .then_some(Shape::Call(Format::Livekit))
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
    fn platform_messages_that_are_not_calls_still_detect_as_their_platform() {
        let tool_calls = json!({"message": {"type": "tool-calls", "call": {"id": "c"}, "toolCalls": []}});
        assert_eq!(detect(&tool_calls), Shape::Call(Format::Vapi));
        let audio = json!({"type": "post_call_audio", "data": {"conversation_id": "c", "full_audio": "x"}});
        assert_eq!(detect(&audio), Shape::Call(Format::Elevenlabs));
    }

    #[test]
    fn session_arrays_are_one_call() {
        let relay = json!([{"type": "setup", "callSid": "CA1"}, {"type": "prompt", "voicePrompt": "hi"}]);
        assert_eq!(detect(&relay), Shape::Call(Format::TwilioRelay));
        let pipecat = json!([{"role": "user", "content": "hi", "timestamp": "2024-06-10T15:02:11Z"}]);
        assert_eq!(detect(&pipecat), Shape::Call(Format::Pipecat));
        let items =
            json!([{"type": "message", "role": "user", "content": [{"type": "input_audio", "transcript": "hi"}]}]);
        assert_eq!(detect(&items), Shape::Call(Format::OpenaiRealtime));
        assert_eq!(
            session_event(&json!({"type": "text", "token": "Hi", "last": true})),
            Some(Format::TwilioRelay)
        );
    }

    #[test]
    fn text_files_by_their_first_lines() {
        assert_eq!(
            detect_text("WEBVTT\n\n00:01.000 --> 00:02.000\nhi", None),
            Format::Webvtt
        );
        assert_eq!(
            detect_text("1\n00:00:01,000 --> 00:00:02,000\nhi", Some(Format::PlainText)),
            Format::Srt
        );
        assert_eq!(detect_text("Agent: hi", Some(Format::Webvtt)), Format::PlainText);
    }

    #[test]
    fn unknown_shapes_list_their_keys() {
        let msg = describe_unknown(&json!({"file": 1, "n_turns": 2}));
        assert!(msg.contains("top-level keys: file, n_turns"), "{msg}");
        assert!(msg.contains("--transcript-format"), "{msg}");
        assert!(describe_unknown(&json!(3)).contains("a JSON number"));
    }
}
