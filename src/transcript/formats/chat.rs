//! Chat-shaped transcripts: postcall's own generic shape and OpenAI chat messages.
//!
//! Both are "a list of `{role, content}`", the lowest common denominator that exports and
//! hand-made test sets use, so they accept a few spellings (`content`/`text`/`message`,
//! `role`/`speaker`) rather than fail on a near miss. The generic shape may carry the call's
//! facts in a `metadata` object with [`CallMetadata`]'s field names.

use serde_json::Value;

use super::{
    Context, Parsed, Unread, array_at, content_text, direction_at, id_at, named_speaker, number, offset_from,
    push_turn, str_field, timestamp, tool_call_text,
};
use crate::transcript::metadata::CallMetadata;
use crate::transcript::{Format, Speaker};

/// `{call_id, started_at?, metadata?, transcript: [{role, content, offset_secs? | timestamp?}]}`.
pub(super) fn generic(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let items = array_at(value, "/transcript", Format::Generic)?;
    let first_stamp = items.iter().find_map(|t| timestamp(t.get("timestamp")));
    let started_at = timestamp(value.get("started_at"))
        .or_else(|| timestamp(value.get("startedAt")))
        .or(first_stamp);
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role =
            str_field(item, &["role", "speaker"]).ok_or_else(|| format!("turn {} has no `role` (generic)", i + 1))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let text = content_text(item.get("content"))
            .or_else(|| content_text(item.get("text")))
            .or_else(|| content_text(item.get("message")));
        let offset = number(item.get("offset_secs"))
            .or_else(|| number(item.get("start")))
            .or_else(|| offset_from(started_at, timestamp(item.get("timestamp"))));
        push_turn(&mut turns, speaker, text, offset);
    }
    Ok(Parsed {
        id: id_at(value, &["/call_id", "/id", "/callId", "/conversation_id"]),
        started_at,
        turns,
        metadata: value.get("metadata").map(generic_metadata).unwrap_or_default(),
        ..Parsed::default()
    })
}

/// The generic shape's `metadata` object, read field by field so that one odd value (a
/// direction spelled `incoming`) loses that field, not the call.
fn generic_metadata(m: &Value) -> CallMetadata {
    let text = |key: &str| id_at(m, &[&format!("/{key}")]);
    CallMetadata {
        platform: text("platform"),
        call_id: text("call_id"),
        ended_at: timestamp(m.get("ended_at")),
        duration_secs: number(m.get("duration_secs")),
        direction: direction_at(m, &["/direction"]),
        agent_id: text("agent_id"),
        agent_name: text("agent_name"),
        contact_id: text("contact_id"),
        customer_number: text("customer_number"),
        agent_number: text("agent_number"),
        customer_name: text("customer_name"),
        recording_url: text("recording_url"),
        status: text("status"),
        ended_reason: text("ended_reason"),
    }
}

/// `{messages: [...]}` or a bare array of chat messages. Assistant tool calls and tool
/// results become tool turns; `system`/`developer` become system turns.
pub(super) fn openai_messages(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let messages = match value {
        Value::Array(items) => items,
        _ => array_at(value, "/messages", Format::OpenaiMessages)?,
    };
    let mut turns = Vec::with_capacity(messages.len());
    for (i, message) in messages.iter().enumerate() {
        let role = str_field(message, &["role"])
            .ok_or_else(|| format!("message {} has no `role` (openai_messages)", i + 1))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        push_turn(&mut turns, speaker, content_text(message.get("content")), None);
        if let Some(Value::Array(calls)) = message.get("tool_calls") {
            for call in calls {
                push_turn(&mut turns, Speaker::Tool, Some(tool_call_text(call)), None);
            }
        }
    }
    let id = match value {
        Value::Object(_) => id_at(value, &["/call_id", "/id", "/conversation_id"]),
        _ => None,
    };
    Ok(Parsed {
        id,
        started_at: timestamp(value.get("started_at")),
        turns,
        ..Parsed::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generic_accepts_text_and_absolute_timestamps() {
        let v = json!({"call_id": "c1", "transcript": [
            {"role": "agent", "text": "Hello", "timestamp": "2024-06-10T15:02:11Z"},
            {"role": "user", "content": "Hi", "timestamp": "2024-06-10T15:02:13.5Z"}]});
        let parsed = generic(&v, Context::default()).unwrap();
        assert_eq!(parsed.id.as_deref(), Some("c1"));
        assert_eq!(parsed.started_at.unwrap().to_string(), "2024-06-10T15:02:11Z");
        assert_eq!(parsed.turns[1].speaker, Speaker::Customer);
        assert_eq!(parsed.turns[1].offset_secs, Some(2.5));
    }

    #[test]
    fn openai_tool_calls_become_tool_turns() {
        let v = json!([{"role": "assistant", "content": null, "tool_calls": [
            {"function": {"name": "refund", "arguments": "{\"id\":1}"}}]},
            {"role": "tool", "content": "ok"}]);
        let parsed = openai_messages(&v, Context::default()).unwrap();
        assert_eq!(parsed.turns.len(), 2);
        assert_eq!(parsed.turns[0].text, "refund({\"id\":1})");
        assert!(parsed.turns.iter().all(|t| t.speaker == Speaker::Tool));
    }
}
