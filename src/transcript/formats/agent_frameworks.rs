//! Voice-agent frameworks whose apps save the conversation themselves: LiveKit Agents
//! (`session.history.to_dict()`, or a session report with it under `chat_history`),
//! Pipecat (the `[{role, content, timestamp}]` list its docs build from turn events), and
//! OpenAI Realtime (conversation items, or a log of the session's server events).
//!
//! None of them stores a transcript server-side, so these are the shapes their docs show an
//! app writing. Items that are not speech (function calls and their output, agent handoffs)
//! become tool and system turns, kept but not sent to the model.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::Value;

use super::{
    Context, Parsed, Unread, array_at, content_text, id_at, named_speaker, number, offset_from, push_turn, str_field,
    timestamp, tool_call_text,
};
use crate::transcript::metadata::{CallMetadata, Direction};
use crate::transcript::{Format, Speaker, Turn};

/// LiveKit Agents chat history: `items[]` of `message` (content a list of strings),
/// `function_call`, `function_call_output` and `agent_handoff`, stamped `created_at` in
/// Unix seconds.
pub(super) fn livekit(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let history = value.get("chat_history").filter(|h| h.is_object()).unwrap_or(value);
    let items = array_at(history, "/items", Format::Livekit)?;
    let created = |item: &Value| {
        number(item.get("created_at")).and_then(|s| Timestamp::from_millisecond((s * 1000.0).round() as i64).ok())
    };
    let started_at = number(value.get("started_at"))
        .and_then(|s| Timestamp::from_millisecond((s * 1000.0).round() as i64).ok())
        .or_else(|| items.iter().find_map(created));
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let offset = offset_from(started_at, created(item));
        let (speaker, text) = match str_field(item, &["type"]).unwrap_or("message") {
            "message" => {
                let role = str_field(item, &["role"]).ok_or_else(|| format!("item {} has no role (livekit)", i + 1))?;
                (named_speaker(role, i + 1, cx)?, content_text(item.get("content")))
            }
            "function_call" => (Speaker::Tool, Some(tool_call_text(item))),
            "function_call_output" => (Speaker::Tool, content_text(item.get("output"))),
            "agent_handoff" => {
                let to = str_field(item, &["new_agent_id"]).unwrap_or("another agent");
                (Speaker::System, Some(format!("handed off to {to}")))
            }
            _ => continue,
        };
        push_turn(&mut turns, speaker, text, offset);
    }
    let metadata = CallMetadata {
        direction: Some(Direction::Web).filter(|_| value.get("room").is_some()),
        ..CallMetadata::default()
    };
    Ok(Parsed {
        id: id_at(value, &["/room_id", "/job_id", "/room"]),
        started_at,
        turns,
        metadata,
        ..Parsed::default()
    })
}

/// Pipecat transcript: `[{role, content, timestamp}]` (or under `messages`). Its older
/// transcript processor emitted one message per utterance, so consecutive messages of one
/// speaker are joined into a turn.
pub(super) fn pipecat(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let items = match value {
        Value::Array(items) => items,
        _ => array_at(value, "/messages", Format::Pipecat)?,
    };
    let started_at = items.iter().find_map(|m| timestamp(m.get("timestamp")));
    let mut turns: Vec<Turn> = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| format!("message {} has no role (pipecat)", i + 1))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let Some(text) = content_text(item.get("content")).filter(|t| !t.is_empty()) else {
            continue;
        };
        match turns.last_mut() {
            Some(last) if last.speaker == speaker && speaker.is_conversational() => {
                last.text.push(' ');
                last.text.push_str(&text);
            }
            _ => push_turn(
                &mut turns,
                speaker,
                Some(text),
                offset_from(started_at, timestamp(item.get("timestamp"))),
            ),
        }
    }
    Ok(Parsed {
        started_at,
        turns,
        ..Parsed::default()
    })
}

/// OpenAI Realtime: conversation items (a bare array, or under `items`), or the session's
/// server events in order, where items arrive in `conversation.item.*` events and their
/// transcripts in separate transcription events.
pub(super) fn openai_realtime(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let list = match value {
        Value::Array(list) => list,
        _ => array_at(value, "/items", Format::OpenaiRealtime)?,
    };
    let is_event = |v: &Value| str_field(v, &["type"]).is_some_and(|t| t.contains('.'));
    let (items, session) = if list.iter().any(is_event) {
        replay_events(list)
    } else {
        (list.iter().map(|item| (item.clone(), None)).collect(), None)
    };
    let mut turns = Vec::with_capacity(items.len());
    for (i, (item, transcript)) in items.iter().enumerate() {
        let (speaker, text) = match str_field(item, &["type"]).unwrap_or("message") {
            "message" => {
                let role = str_field(item, &["role"])
                    .ok_or_else(|| format!("item {} has no role (openai_realtime)", i + 1))?;
                let text = transcript.clone().or_else(|| realtime_content(item.get("content")));
                (named_speaker(role, i + 1, cx)?, text)
            }
            "function_call" => (Speaker::Tool, Some(tool_call_text(item))),
            "function_call_output" => (Speaker::Tool, content_text(item.get("output"))),
            _ => continue,
        };
        push_turn(&mut turns, speaker, text, None);
    }
    Ok(Parsed {
        id: session,
        turns,
        ..Parsed::default()
    })
}

/// Text of realtime content parts: `transcript` of audio parts, `text` of text parts.
fn realtime_content(content: Option<&Value>) -> Option<String> {
    let parts = content?.as_array()?;
    let texts: Vec<&str> = parts
        .iter()
        .filter_map(|p| str_field(p, &["transcript", "text"]))
        .filter(|t| !t.trim().is_empty())
        .collect();
    (!texts.is_empty()).then(|| texts.join(" ").trim().to_string())
}

/// Items in the order the server first announced them, each in its latest version, with
/// the transcript the transcription events gave it; and the session id.
fn replay_events(events: &[Value]) -> (Vec<(Value, Option<String>)>, Option<String>) {
    let mut order: Vec<String> = Vec::new();
    let mut items: HashMap<String, (Value, Option<String>)> = HashMap::new();
    let mut session = None;
    for event in events {
        let kind = str_field(event, &["type"]).unwrap_or_default();
        match kind {
            "session.created" | "session.updated" => {
                session = session.or_else(|| id_at(event, &["/session/id"]));
            }
            "conversation.item.created"
            | "conversation.item.added"
            | "conversation.item.done"
            | "conversation.item.retrieved"
            | "response.output_item.added"
            | "response.output_item.done" => {
                let Some(item) = event.get("item") else { continue };
                let Some(id) = id_at(item, &["/id"]) else { continue };
                let entry = items.entry(id.clone()).or_insert_with(|| {
                    order.push(id);
                    (Value::Null, None)
                });
                entry.0 = item.clone();
            }
            "conversation.item.input_audio_transcription.completed"
            | "response.audio_transcript.done"
            | "response.output_audio_transcript.done" => {
                if let (Some(id), Some(text)) = (id_at(event, &["/item_id"]), str_field(event, &["transcript"]))
                    && let Some(entry) = items.get_mut(&id)
                {
                    entry.1 = Some(text.trim().to_string());
                }
            }
            "conversation.item.deleted" => {
                if let Some(id) = id_at(event, &["/item_id"]) {
                    items.remove(&id);
                }
            }
            _ => {}
        }
    }
    let ordered = order.into_iter().filter_map(|id| items.remove(&id)).collect();
    (ordered, session)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn realtime_events_take_transcripts_from_transcription_events() {
        let events = json!([
            {"type": "session.created", "event_id": "e1", "session": {"id": "sess_1"}},
            {"type": "conversation.item.created", "event_id": "e2", "item": {"id": "i1", "type": "message", "role": "user",
             "content": [{"type": "input_audio", "transcript": null}]}},
            {"type": "response.output_item.done", "event_id": "e3", "item": {"id": "i2", "type": "message", "role": "assistant",
             "content": [{"type": "audio", "transcript": "Hello, how can I help?"}]}},
            {"type": "conversation.item.input_audio_transcription.completed", "event_id": "e4", "item_id": "i1", "transcript": "Hi there."}]);
        let parsed = openai_realtime(&events, Context::default()).unwrap();
        let got: Vec<(Speaker, &str)> = parsed.turns.iter().map(|t| (t.speaker, t.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Speaker::Customer, "Hi there."),
                (Speaker::Agent, "Hello, how can I help?")
            ]
        );
        assert_eq!(parsed.id.as_deref(), Some("sess_1"));
    }

    #[test]
    fn pipecat_joins_split_turns() {
        let v = json!([
            {"role": "assistant", "content": "Hello.", "timestamp": "2024-06-10T15:02:11.600Z"},
            {"role": "user", "content": "I was wondering", "timestamp": "2024-06-10T15:02:14Z"},
            {"role": "user", "content": "if you could help.", "timestamp": "2024-06-10T15:02:15Z"}]);
        let parsed = pipecat(&v, Context::default()).unwrap();
        assert_eq!(parsed.turns.len(), 2);
        assert_eq!(parsed.turns[1].text, "I was wondering if you could help.");
        assert_eq!(parsed.turns[1].offset_secs, Some(2.4));
    }
}
