//! One parser per platform export shape, each a pure function from a parsed JSON document
//! to turns, an optional platform call id and an optional start time.
//!
//! Parsers never guess: a role they do not know, or speakers that are only numbers with no
//! `--speaker-map`, is an error whose message says what was seen and which flag fixes it.
//! The helpers here keep the per-format files short and make every format treat roles,
//! text and time the same way.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::Value;

use super::{Format, Speaker, SpeakerMap, Turn};

mod aws;
mod chat;
mod deepgram;
mod twilio;
mod voice_agents;

pub use twilio::{TwilioCompanion, twilio_companion, twilio_needs_companion, twilio_sid};

/// What a parser extracts from one call; the loader adds the fallback id and the source.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Parsed {
    /// The platform's own call id, when the document carries one.
    pub id: Option<String>,
    pub started_at: Option<Timestamp>,
    pub turns: Vec<Turn>,
}

/// What a parser may need beyond the document itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// `--speaker-map`: roles for numbered speakers, and overrides for unknown role names.
    pub speaker_map: Option<&'a SpeakerMap>,
    /// Twilio transcript resources seen among the inputs, by transcript SID.
    pub twilio: Option<&'a HashMap<String, TwilioCompanion>>,
}

/// Parses `value` as `format`. The error is a one-line reason for a [`super::LoadError`].
pub fn parse(format: Format, value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    match format {
        Format::Generic => chat::generic(value, cx),
        Format::OpenaiMessages => chat::openai_messages(value, cx),
        Format::Atoms => voice_agents::atoms(value, cx),
        Format::Dialgen => voice_agents::dialgen(value, cx),
        Format::Vapi => voice_agents::vapi(value, cx),
        Format::Retell => voice_agents::retell(value, cx),
        Format::Elevenlabs => voice_agents::elevenlabs(value, cx),
        Format::Bland => voice_agents::bland(value, cx),
        Format::AwsTranscribe => aws::transcribe(value, cx),
        Format::AwsConnect => aws::connect(value, cx),
        Format::TwilioIntelligence => twilio::intelligence(value, cx),
        Format::TwilioRelay => twilio::relay(value, cx),
        Format::Deepgram => deepgram::utterances(value, cx),
    }
}

/// The role names every platform uses for the same four speakers. One table for all
/// formats, because no two platforms use the same word for different sides of a call.
pub(crate) fn common_role(raw: &str) -> Option<Speaker> {
    let lower = raw.trim().to_ascii_lowercase();
    Some(match lower.as_str() {
        "agent" | "assistant" | "bot" | "ai" | "wizard" | "robot" | "transfer_target" | "human_agent"
        | "supervisor" => Speaker::Agent,
        "user" | "customer" | "caller" | "human" | "client" => Speaker::Customer,
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

/// Resolves numbered speakers (Deepgram, Twilio sentences) through a role map, refusing to
/// guess: without a map the error names every key seen and the exact flag to pass.
pub(crate) fn numbered_speakers(keys: &[String], map: Option<&SpeakerMap>, what: &str) -> Result<Vec<Speaker>, String> {
    let mut seen: Vec<&str> = keys.iter().map(String::as_str).collect();
    seen.sort_unstable_by(|a, b| natural(a).cmp(&natural(b)));
    seen.dedup();
    let Some(map) = map else {
        return Err(format!(
            "{what} carry only numbered speakers (saw {}) and no roles; postcall does not \
             guess who is the agent. Pass --speaker-map {}",
            seen.join(", "),
            suggested_map(&seen)
        ));
    };
    let missing: Vec<&str> = seen.iter().copied().filter(|k| map.get(k).is_none()).collect();
    if !missing.is_empty() {
        return Err(format!(
            "speaker {} not in --speaker-map (saw {}); pass e.g. --speaker-map {}",
            missing.join(", "),
            seen.join(", "),
            suggested_map(&seen)
        ));
    }
    Ok(keys.iter().map(|k| map.get(k).expect("checked above")).collect())
}

/// Numbers sort as numbers so `10` comes after `2` in messages.
fn natural(key: &str) -> (u64, &str) {
    (key.parse().unwrap_or(u64::MAX), key)
}

fn suggested_map(seen: &[&str]) -> String {
    let roles = ["agent", "customer"];
    seen.iter()
        .enumerate()
        .map(|(i, k)| format!("{k}={}", roles.get(i).copied().unwrap_or("customer")))
        .collect::<Vec<_>>()
        .join(",")
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
    fn numbered_speakers_without_a_map_name_the_keys_and_the_flag() {
        let keys: Vec<String> = ["10", "2", "10"].iter().map(|s| s.to_string()).collect();
        let err = numbered_speakers(&keys, None, "utterances").unwrap_err();
        assert!(err.contains("saw 2, 10"), "{err}");
        assert!(err.contains("--speaker-map 2=agent,10=customer"), "{err}");

        let map: SpeakerMap = "2=agent".parse().unwrap();
        let err = numbered_speakers(&keys, Some(&map), "utterances").unwrap_err();
        assert!(err.contains("speaker 10 not in --speaker-map"), "{err}");
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
