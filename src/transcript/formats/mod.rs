//! One parser per platform export shape, each a pure function from a parsed document (JSON,
//! or text for plain-text transcripts and captions) to turns, the platform's call id, its
//! start time and its [`CallMetadata`].
//!
//! Parsers never guess: a role they do not know, or speakers that are only numbers or names
//! with no `--speaker-map`, is an error whose message says what was seen and which flag
//! fixes it. A document that is something else the platform sends (a mid-call server
//! message, an audio-only webhook, a list of calls without transcripts) is
//! [`Unread::NotACall`], which the scan counts as skipped, not as an error. The helpers here
//! keep the per-format files short and make every format treat roles, text and time alike.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::Value;

use super::metadata::{CallMetadata, Direction};
use super::speakers::{self, Labelled, SpeakerInference};
use super::{Format, Speaker, SpeakerMap, Turn};

mod agent_frameworks;
mod aws;
mod captions;
mod chat;
mod deepgram;
mod genesys;
mod text;
mod twilio;
mod vapi;
mod voice_agents;

pub use twilio::{TwilioCompanion, twilio_companion, twilio_needs_companion, twilio_sid};

/// What a parser extracts from one call; the loader adds the fallback id and the source.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parsed {
    /// The platform's own call id, when the document carries one.
    pub id: Option<String>,
    pub started_at: Option<Timestamp>,
    pub turns: Vec<Turn>,
    pub metadata: CallMetadata,
    /// Set when `--speaker-map auto` chose the roles.
    pub speaker_inference: Option<SpeakerInference>,
    /// Things a reader should know that do not stop the call from being read.
    pub warnings: Vec<String>,
}

/// Why a document did not become a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unread {
    /// Something the platform sends that is not a finished call; the reason says what.
    NotACall(String),
    /// Meant to be a call, but broken; the reason says what to fix.
    Invalid(String),
}

impl From<String> for Unread {
    fn from(message: String) -> Unread {
        Unread::Invalid(message)
    }
}

/// One call-sized input as a parser sees it.
#[derive(Debug, Clone, Copy)]
pub enum Document<'a> {
    Json(&'a Value),
    Text(&'a str),
}

/// What a parser may need beyond the document itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// `--speaker-map`: roles for numbered speakers, and overrides for unknown role names.
    pub speaker_map: Option<&'a SpeakerMap>,
    /// Twilio transcript resources seen among the inputs, by transcript SID.
    pub twilio: Option<&'a HashMap<String, TwilioCompanion>>,
}

/// Parses `doc` as `format`.
pub fn parse(format: Format, doc: Document<'_>, cx: Context<'_>) -> Result<Parsed, Unread> {
    let value = match (doc, format.is_text()) {
        (Document::Text(text), true) => {
            return match format {
                Format::PlainText => text::plain(text, cx),
                Format::Webvtt => captions::webvtt(text, cx),
                _ => captions::srt(text, cx),
            };
        }
        (Document::Json(value), false) => value,
        (Document::Text(_), false) => {
            return Err(Unread::Invalid(format!(
                "{format} is a JSON format but this file is not JSON; pass --transcript-format \
                 text, webvtt or srt for text transcripts, or leave the format to detection"
            )));
        }
        (Document::Json(_), true) => {
            return Err(Unread::Invalid(format!(
                "{format} reads text transcripts but this file is JSON; leave the format to detection"
            )));
        }
    };
    match format {
        Format::Generic => chat::generic(value, cx),
        Format::OpenaiMessages => chat::openai_messages(value, cx),
        Format::Atoms => voice_agents::atoms(value, cx),
        Format::Dialgen => voice_agents::dialgen(value, cx),
        Format::Vapi => vapi::vapi(value, cx),
        Format::Retell => voice_agents::retell(value, cx),
        Format::Elevenlabs => voice_agents::elevenlabs(value, cx),
        Format::Bland => voice_agents::bland(value, cx),
        Format::AwsTranscribe => aws::transcribe(value, cx),
        Format::AwsConnect => aws::connect(value, cx),
        Format::TwilioIntelligence => twilio::intelligence(value, cx),
        Format::TwilioRelay => twilio::relay(value, cx),
        Format::Deepgram => deepgram::deepgram(value, cx),
        Format::Genesys => genesys::genesys(value, cx),
        Format::Livekit => agent_frameworks::livekit(value, cx),
        Format::Pipecat => agent_frameworks::pipecat(value, cx),
        Format::OpenaiRealtime => agent_frameworks::openai_realtime(value, cx),
        Format::PlainText | Format::Webvtt | Format::Srt => unreachable!("text formats returned above"),
    }
}

/// Roles for labelled turns (see [`speakers::resolve`]), into a [`Parsed`] without ids.
pub(crate) fn labelled_call(labelled: Labelled, cx: Context<'_>, what: &str) -> Result<Parsed, Unread> {
    let (turns, speaker_inference) = speakers::resolve(labelled, cx.speaker_map, what)?;
    Ok(Parsed {
        turns,
        speaker_inference,
        ..Parsed::default()
    })
}

/// The role names every platform uses for the same four speakers. One table for all
/// formats, because no two platforms use the same word for different sides of a call.
pub(crate) fn common_role(raw: &str) -> Option<Speaker> {
    let lower = raw.trim().to_ascii_lowercase();
    Some(match lower.as_str() {
        "agent" | "assistant" | "bot" | "ai" | "wizard" | "robot" | "transfer_target" | "human_agent"
        | "supervisor" | "rep" | "representative" | "operator" | "csr" | "advisor" | "ai_agent" => Speaker::Agent,
        "user" | "customer" | "caller" | "human" | "client" | "end_user" => Speaker::Customer,
        "system" | "developer" => Speaker::System,
        "tool"
        | "function"
        | "tool_calls"
        | "tool_call"
        | "tool_call_result"
        | "tool_call_invocation"
        | "tool_result"
        | "agent-action"
        | "agent_action" => Speaker::Tool,
        _ => return None,
    })
}

/// Resolves a named role: `--speaker-map` first (so users can name roles we don't know),
/// then the common table.
pub(crate) fn named_speaker(raw: &str, turn: usize, cx: Context<'_>) -> Result<Speaker, String> {
    if let Some(speaker) = cx.speaker_map.and_then(|m| m.get(raw)) {
        return Ok(speaker);
    }
    common_role(raw).ok_or_else(|| {
        format!(
            "turn {turn} has unknown role `{raw}`; pass --speaker-map '{raw}=agent' \
             (or customer, system, tool) to say who it is"
        )
    })
}

/// The array at a JSON pointer, or an error naming the pointer and the format.
pub(crate) fn array_at<'v>(value: &'v Value, pointer: &str, format: Format) -> Result<&'v Vec<Value>, String> {
    match value.pointer(pointer) {
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(format!(
            "`{pointer}` is {}, expected an array of turns ({format})",
            kind(other)
        )),
        None => Err(format!("`{pointer}` is missing; expected an array of turns ({format})")),
    }
}

/// The first of `keys` that holds a non-null string on `value`.
pub(crate) fn str_field<'v>(value: &'v Value, keys: &[&str]) -> Option<&'v str> {
    keys.iter().find_map(|k| value.get(k).and_then(Value::as_str))
}

/// The first pointer holding a direction a platform spells (`inbound`, `inboundPhoneCall`…).
pub(crate) fn direction_at(value: &Value, pointers: &[&str]) -> Option<Direction> {
    pointers
        .iter()
        .find_map(|p| value.pointer(p).and_then(Value::as_str).and_then(Direction::parse))
}

/// The key of a numbered speaker or channel: `0`, `"1"`, or `?` when absent.
pub(crate) fn key_of(value: Option<&Value>) -> String {
    match value {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.clone(),
        _ => "?".to_string(),
    }
}

/// The first pointer holding a non-empty id (platforms use strings; a few use numbers).
pub(crate) fn id_at(value: &Value, pointers: &[&str]) -> Option<String> {
    pointers.iter().find_map(|p| match value.pointer(p)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Text of a message `content`: a string, or OpenAI-style content parts joined by newlines.
pub(crate) fn content_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.trim().to_string()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| p.as_str().or_else(|| p.get("text").and_then(Value::as_str)))
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n").trim().to_string())
        }
        _ => None,
    }
}

/// A number that some platforms send as a string (`"0.60"`).
pub(crate) fn number(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// An RFC 3339 timestamp string (`2024-06-10T15:02:11.600Z`, `…+00:00`).
pub(crate) fn timestamp(value: Option<&Value>) -> Option<Timestamp> {
    value?.as_str()?.trim().parse().ok()
}

/// Unix time in milliseconds (Retell, Vapi) or seconds (ElevenLabs).
pub(crate) fn unix_timestamp(value: Option<&Value>, millis: bool) -> Option<Timestamp> {
    let n = number(value)?;
    let ms = if millis { n } else { n * 1000.0 };
    Timestamp::from_millisecond(ms.round() as i64).ok()
}

/// Seconds from `start` to `at`, for formats that stamp turns with wall-clock time.
pub(crate) fn offset_from(start: Option<Timestamp>, at: Option<Timestamp>) -> Option<f64> {
    Some(at?.duration_since(start?).as_secs_f64())
}

/// A tool call rendered as `name(arguments)`, so tool turns read like what happened.
pub(crate) fn tool_call_text(call: &Value) -> String {
    let function = call.get("function").unwrap_or(call);
    let name = str_field(function, &["name", "tool_name"]).unwrap_or("tool");
    let args = function
        .get("arguments")
        .or_else(|| function.get("params_as_json"))
        .or_else(|| function.get("parameters"));
    match args {
        Some(Value::String(s)) => format!("{name}({s})"),
        Some(other) => format!("{name}({other})"),
        None => format!("{name}()"),
    }
}

/// Adds a turn unless its text is empty: blank turns carry nothing for the model, and
/// platforms emit them for interruptions and placeholders.
pub(crate) fn push_turn(turns: &mut Vec<Turn>, speaker: Speaker, text: Option<String>, offset: Option<f64>) {
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        turns.push(Turn {
            speaker,
            text,
            offset_secs: offset,
        });
    }
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn common_roles_cover_every_platform_spelling() {
        assert_eq!(common_role("AGENT"), Some(Speaker::Agent));
        assert_eq!(common_role("bot"), Some(Speaker::Agent));
        assert_eq!(common_role("transfer_target"), Some(Speaker::Agent));
        assert_eq!(common_role("Customer"), Some(Speaker::Customer));
        assert_eq!(common_role("agent-action"), Some(Speaker::Tool));
        assert_eq!(common_role("narrator"), None);
    }

    #[test]
    fn speaker_map_names_unknown_roles() {
        let map: SpeakerMap = "narrator=system".parse().unwrap();
        assert_eq!(map.get("Narrator"), Some(Speaker::System));
        let cx = Context {
            speaker_map: Some(&map),
            twilio: None,
        };
        assert_eq!(named_speaker("narrator", 1, cx), Ok(Speaker::System));
        let err = named_speaker("narrator", 4, Context::default()).unwrap_err();
        assert!(
            err.contains("turn 4") && err.contains("--speaker-map 'narrator=agent'"),
            "{err}"
        );
    }

    #[test]
    fn times_convert_to_offsets_from_the_start() {
        let start = timestamp(Some(&json!("2024-06-10T15:02:11Z")));
        let at = timestamp(Some(&json!("2024-06-10T15:02:16.800+00:00")));
        assert_eq!(offset_from(start, at), Some(5.8));
        assert_eq!(unix_timestamp(Some(&json!(1718031731)), false), start);
        assert_eq!(unix_timestamp(Some(&json!(1718031731000u64)), true), start);
        assert_eq!(number(Some(&json!("0.60"))), Some(0.6));
    }

    #[test]
    fn content_parts_are_joined() {
        let parts = json!([{"type": "text", "text": "Hello"}, {"type": "text", "text": "there"}]);
        assert_eq!(content_text(Some(&parts)).as_deref(), Some("Hello\nthere"));
        assert_eq!(content_text(Some(&Value::Null)), None);
    }
}
