//! Voice-agent platforms that store a role-labelled transcript: Smallest AI Atoms, Dialgen,
//! Vapi, Retell, ElevenLabs and Bland.
//!
//! Each keeps its own nesting, field names and time units; the parsers here only know where
//! to look. Where a platform stamps turns with wall-clock time (Atoms, Bland), the stamp is
//! converted to seconds from the call's start so every format offers the same `offset_secs`.

use serde_json::Value;

use super::{
    Context, Parsed, array_at, content_text, id_at, named_speaker, number, offset_from, push_turn, str_field,
    timestamp, tool_call_text, unix_timestamp,
};
use crate::transcript::{Format, Speaker};

/// Atoms GET conversation (`data.transcript`) and webhooks (`metadata.transcript`).
pub(super) fn atoms(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let base = ["data", "metadata"]
        .iter()
        .filter_map(|k| value.get(k))
        .find(|b| b.get("transcript").is_some())
        .unwrap_or(value);
    let items = array_at(base, "/transcript", Format::Atoms)?;
    // answerTime is when the callee picked up; the call_active event says the same on the
    // GET endpoint; a transcript alone at least has its first turn.
    let call_active = base.get("events").and_then(Value::as_array).and_then(|events| {
        events
            .iter()
            .find(|e| e.get("eventType").and_then(Value::as_str) == Some("call_active"))
            .and_then(|e| timestamp(e.get("eventTime")))
    });
    let started_at = timestamp(base.pointer("/callData/answerTime"))
        .or(call_active)
        .or_else(|| items.iter().find_map(|t| timestamp(t.get("timestamp"))));
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| missing_role(i, Format::Atoms))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let text = content_text(item.get("content")).or_else(|| content_text(item.get("text")));
        let offset = offset_from(started_at, timestamp(item.get("timestamp")));
        push_turn(&mut turns, speaker, text, offset);
    }
    Ok(Parsed {
        id: id_at(base, &["/callId", "/call_id", "/_id"]),
        started_at,
        turns,
    })
}

/// Dialgen onCallComplete webhook / get-metric: `callData.transcription` (no turn timing).
pub(super) fn dialgen(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let base = value.get("callData").unwrap_or(value);
    let items = array_at(base, "/transcription", Format::Dialgen)?;
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| missing_role(i, Format::Dialgen))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let text = content_text(item.get("content")).or_else(|| content_text(item.get("text")));
        push_turn(&mut turns, speaker, text, None);
    }
    Ok(Parsed {
        id: id_at(base, &["/id", "/callId", "/call_id"]),
        started_at: timestamp(base.get("startTime")),
        turns,
    })
}

/// Vapi end-of-call-report (`message.artifact.messages`) or a GET call object.
pub(super) fn vapi(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let base = value.get("message").filter(|m| m.is_object()).unwrap_or(value);
    let pointer = if base.pointer("/artifact/messages").is_some() {
        "/artifact/messages"
    } else {
        "/messages"
    };
    let items = array_at(base, pointer, Format::Vapi)?;
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| missing_role(i, Format::Vapi))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let offset = number(item.get("secondsFromStart"));
        let text = match role {
            "tool_calls" => item
                .get("toolCalls")
                .and_then(Value::as_array)
                .map(|calls| calls.iter().map(tool_call_text).collect::<Vec<_>>().join("\n")),
            "tool_call_result" => content_text(item.get("result")),
            _ => content_text(item.get("message")).or_else(|| content_text(item.get("content"))),
        };
        push_turn(&mut turns, speaker, text, offset);
    }
    Ok(Parsed {
        id: id_at(base, &["/call/id", "/id", "/callId"]),
        started_at: timestamp(base.get("startedAt")).or_else(|| timestamp(base.pointer("/call/startedAt"))),
        turns,
    })
}

/// Retell call webhook / GET call. Prefers `transcript_with_tool_calls`, which holds the
/// same spoken turns plus tool traffic; `transfer_target` (the human a call was handed to)
/// speaks for the business, so it is an agent.
pub(super) fn retell(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let base = value.get("call").filter(|c| c.is_object()).unwrap_or(value);
    let pointer = if base.get("transcript_with_tool_calls").is_some() {
        "/transcript_with_tool_calls"
    } else {
        "/transcript_object"
    };
    let items = array_at(base, pointer, Format::Retell)?;
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| missing_role(i, Format::Retell))?;
        let (speaker, text) = match role {
            "tool_call_invocation" => (Speaker::Tool, Some(tool_call_text(item))),
            "tool_call_result" => (Speaker::Tool, content_text(item.get("content"))),
            // Flow bookkeeping (node_transition, dtmf, ...) is not speech; keep it visible
            // as a system turn rather than reject a whole call over it.
            "agent" | "user" | "transfer_target" => {
                (named_speaker(role, i + 1, cx)?, content_text(item.get("content")))
            }
            other => {
                let speaker = named_speaker(other, i + 1, cx).unwrap_or(Speaker::System);
                let text = content_text(item.get("content")).or_else(|| Some(other.to_string()));
                (speaker, text)
            }
        };
        let offset = item.pointer("/words/0/start").and_then(Value::as_f64);
        push_turn(&mut turns, speaker, text, offset);
    }
    Ok(Parsed {
        id: id_at(base, &["/call_id"]),
        started_at: unix_timestamp(base.get("start_timestamp"), true),
        turns,
    })
}

/// ElevenLabs post_call_transcription webhook (`data.transcript`) or GET conversation.
pub(super) fn elevenlabs(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let base = value.get("data").filter(|d| d.is_object()).unwrap_or(value);
    let items = array_at(base, "/transcript", Format::Elevenlabs)?;
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| missing_role(i, Format::Elevenlabs))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let offset = number(item.get("time_in_call_secs"));
        push_turn(&mut turns, speaker, content_text(item.get("message")), offset);
        for key in ["tool_calls", "tool_results"] {
            for call in item.get(key).and_then(Value::as_array).into_iter().flatten() {
                let text = match key {
                    "tool_calls" => tool_call_text(call),
                    _ => content_text(call.get("result_value")).unwrap_or_else(|| call.to_string()),
                };
                push_turn(&mut turns, Speaker::Tool, Some(text), offset);
            }
        }
    }
    Ok(Parsed {
        id: id_at(base, &["/conversation_id"]),
        started_at: unix_timestamp(base.pointer("/metadata/start_time_unix_secs"), false),
        turns,
    })
}

/// Bland call details: `transcripts[]` with `user` as the role and wall-clock `created_at`.
pub(super) fn bland(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let items = array_at(value, "/transcripts", Format::Bland)?;
    let started_at =
        timestamp(value.get("started_at")).or_else(|| items.iter().find_map(|t| timestamp(t.get("created_at"))));
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["user", "role"]).ok_or_else(|| missing_role(i, Format::Bland))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let offset = offset_from(started_at, timestamp(item.get("created_at")));
        push_turn(&mut turns, speaker, content_text(item.get("text")), offset);
    }
    Ok(Parsed {
        id: id_at(value, &["/call_id", "/c_id"]),
        started_at,
        turns,
    })
}

fn missing_role(index: usize, format: Format) -> String {
    format!("turn {} has no role ({format})", index + 1)
}
