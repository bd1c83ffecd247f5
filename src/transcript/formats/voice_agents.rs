//! Voice-agent platforms that store a role-labelled transcript: Smallest AI Atoms, Dialgen,
//! Retell, ElevenLabs and Bland (Vapi has its own file: it sends many kinds of message).
//!
//! Each keeps its own nesting, field names and time units; the parsers here only know where
//! to look. Where a platform stamps turns with wall-clock time (Atoms, Bland), the stamp is
//! converted to seconds from the call's start so every format offers the same `offset_secs`.
//! What a platform sends that is not a call (ElevenLabs' audio-only webhook, a list of
//! conversations, a Retell call that never connected) is [`Unread::NotACall`].

use serde_json::Value;

use super::{
    Context, Parsed, Unread, array_at, content_text, direction_at, id_at, named_speaker, number, offset_from,
    push_turn, str_field, timestamp, tool_call_text, unix_timestamp,
};
use crate::transcript::metadata::{CallMetadata, Direction};
use crate::transcript::{Format, Speaker, Turn};

/// Atoms GET conversation (`data.transcript`) and webhooks (`metadata.transcript`).
pub(super) fn atoms(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let base = ["data", "metadata"]
        .iter()
        .filter_map(|k| value.get(k))
        .find(|b| b.get("transcript").is_some())
        .unwrap_or(value);
    let items = array_at(base, "/transcript", Format::Atoms)?;
    let event = |kind: &str| {
        base.get("events").and_then(Value::as_array).and_then(|events| {
            events
                .iter()
                .find(|e| e.get("eventType").and_then(Value::as_str) == Some(kind))
                .and_then(|e| timestamp(e.get("eventTime")))
        })
    };
    // answerTime is when the callee picked up; the call_active event says the same on the
    // GET endpoint; a transcript alone at least has its first turn.
    let started_at = timestamp(base.pointer("/callData/answerTime"))
        .or_else(|| event("call_active"))
        .or_else(|| items.iter().find_map(|t| timestamp(t.get("timestamp"))));
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| missing_role(i, Format::Atoms))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let text = content_text(item.get("content")).or_else(|| content_text(item.get("text")));
        let offset = offset_from(started_at, timestamp(item.get("timestamp")));
        push_turn(&mut turns, speaker, text, offset);
    }
    let mut metadata = CallMetadata {
        ended_at: timestamp(base.pointer("/callData/endTime")).or_else(|| event("call_completed")),
        duration_secs: number(base.pointer("/callData/callDuration")).or_else(|| number(base.get("duration"))),
        direction: direction_at(base, &["/callData/callDirection", "/type", "/conversationType"]),
        agent_id: id_at(base, &["/agentId", "/agent/_id", "/agent/id"]),
        agent_name: id_at(base, &["/agent/name"]),
        recording_url: id_at(base, &["/recordingUrl"]),
        status: id_at(base, &["/callData/callStatus", "/status"]),
        ..CallMetadata::default()
    };
    metadata.set_numbers(
        str_field(base, &["from"]).or_else(|| base.pointer("/callData/fromNumber").and_then(Value::as_str)),
        str_field(base, &["to"]).or_else(|| base.pointer("/callData/toNumber").and_then(Value::as_str)),
    );
    Ok(Parsed {
        id: id_at(base, &["/callId", "/call_id", "/_id"]),
        started_at,
        turns,
        metadata,
        ..Parsed::default()
    })
}

/// Dialgen onCallComplete webhook / get-metric: `callData.transcription` (no turn timing).
pub(super) fn dialgen(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let base = value.get("callData").unwrap_or(value);
    let items = array_at(base, "/transcription", Format::Dialgen)?;
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| missing_role(i, Format::Dialgen))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let text = content_text(item.get("content")).or_else(|| content_text(item.get("text")));
        push_turn(&mut turns, speaker, text, None);
    }
    // Dialgen calls a contact: `phoneNumber` and `contactName` are the contact's.
    let metadata = CallMetadata {
        ended_at: timestamp(base.get("endTime")),
        duration_secs: number(base.get("duration")),
        direction: direction_at(base, &["/direction", "/callDirection"]),
        agent_id: id_at(base, &["/agentId"]),
        contact_id: id_at(base, &["/contactId"]),
        customer_number: id_at(base, &["/phoneNumber"]),
        customer_name: id_at(base, &["/contactName"]),
        recording_url: id_at(base, &["/recordingUrl"]),
        status: id_at(base, &["/status"]),
        ..CallMetadata::default()
    };
    Ok(Parsed {
        id: id_at(base, &["/id", "/callId", "/call_id"]),
        started_at: timestamp(base.get("startTime")),
        turns,
        metadata,
        ..Parsed::default()
    })
}

/// Retell call webhook / GET call. Prefers `transcript_with_tool_calls`, which holds the
/// same spoken turns plus tool traffic; `transfer_target` (the human a call was handed to)
/// speaks for the business, so it is an agent. A call that never connected has nothing to
/// score and is skipped. The objects carry timing, but when the `transcript` string holds
/// more spoken turns (API examples and some exports trim the objects) the string is read:
/// a model scoring 1 turn of 7 answers about a call nobody had. The warning says which.
pub(super) fn retell(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let base = value.get("call").filter(|c| c.is_object()).unwrap_or(value);
    let status = str_field(base, &["call_status"]);
    let pointer = match base.get("transcript_with_tool_calls").and_then(Value::as_array) {
        Some(items) if !items.is_empty() => "/transcript_with_tool_calls",
        _ if base.get("transcript_object").is_some() => "/transcript_object",
        _ => "/transcript_with_tool_calls",
    };
    let mut turns = match base.pointer(pointer) {
        Some(Value::Array(items)) => retell_turns(items, cx)?,
        _ if base.get("transcript").is_some() => Vec::new(),
        _ => return Err(array_at(base, pointer, Format::Retell).unwrap_err().into()),
    };
    let from_string = string_turns(str_field(base, &["transcript"]).unwrap_or_default());
    let spoken = turns.iter().filter(|t| t.speaker.is_conversational()).count();
    let mut warnings = Vec::new();
    if spoken == 0 && !from_string.is_empty() {
        turns = from_string;
    } else if from_string.len() > spoken {
        warnings.push(format!(
            "Retell `transcript` has {} turns but `{}` only {spoken}; read the {} from `transcript`, without timing",
            from_string.len(),
            pointer.trim_start_matches('/'),
            from_string.len(),
        ));
        turns = from_string;
    }
    if turns.is_empty() && matches!(status, Some("not_connected" | "error" | "registered")) {
        let why = str_field(base, &["disconnection_reason"]).unwrap_or("no reason given");
        return Err(Unread::NotACall(format!(
            "Retell call never connected (call_status {}, {why}): nothing was said",
            status.unwrap_or_default()
        )));
    }
    let direction = direction_at(base, &["/direction"]).or_else(|| direction_at(base, &["/call_type"]));
    let mut metadata = CallMetadata {
        ended_at: unix_timestamp(base.get("end_timestamp"), true),
        duration_secs: number(base.get("duration_ms")).map(|ms| ms / 1000.0),
        direction,
        agent_id: id_at(base, &["/agent_id"]),
        agent_name: id_at(base, &["/agent_name"]),
        recording_url: id_at(base, &["/recording_url"]),
        status: status.map(str::to_string),
        ended_reason: id_at(base, &["/disconnection_reason"]),
        ..CallMetadata::default()
    };
    metadata.set_numbers(str_field(base, &["from_number"]), str_field(base, &["to_number"]));
    Ok(Parsed {
        id: id_at(base, &["/call_id"]),
        started_at: unix_timestamp(base.get("start_timestamp"), true),
        turns,
        metadata,
        warnings,
        ..Parsed::default()
    })
}

fn retell_turns(items: &[Value], cx: Context<'_>) -> Result<Vec<Turn>, String> {
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| missing_role(i, Format::Retell))?;
        let (speaker, text) = match role {
            "tool_call_invocation" => (Speaker::Tool, Some(tool_call_text(item))),
            "tool_call_result" => (Speaker::Tool, content_text(item.get("content"))),
            "agent" | "user" | "transfer_target" => {
                (named_speaker(role, i + 1, cx)?, content_text(item.get("content")))
            }
            // Flow bookkeeping (node_transition, dtmf, ...) is not speech; keep it visible
            // as a system turn rather than reject a whole call over it.
            other => {
                let speaker = named_speaker(other, i + 1, cx).unwrap_or(Speaker::System);
                let text = content_text(item.get("content")).or_else(|| Some(other.to_string()));
                (speaker, text)
            }
        };
        let offset = item.pointer("/words/0/start").and_then(Value::as_f64);
        push_turn(&mut turns, speaker, text, offset);
    }
    Ok(turns)
}

/// Retell's plain `transcript`: `Agent: …` / `User: …` lines (a turn may span lines).
fn string_turns(transcript: &str) -> Vec<Turn> {
    let mut turns: Vec<Turn> = Vec::new();
    for line in transcript.lines() {
        let role = [("Agent:", Speaker::Agent), ("User:", Speaker::Customer)]
            .into_iter()
            .find(|(prefix, _)| line.starts_with(prefix));
        match (role, turns.last_mut()) {
            (Some((prefix, speaker)), _) => {
                push_turn(&mut turns, speaker, Some(line[prefix.len()..].trim().into()), None)
            }
            (None, Some(last)) if !line.trim().is_empty() => {
                last.text.push('\n');
                last.text.push_str(line.trim());
            }
            _ => {}
        }
    }
    turns
}

/// ElevenLabs post_call_transcription webhook (`data.transcript`) or GET conversation. The
/// post_call_audio webhook and the conversation list carry no transcript: not calls.
pub(super) fn elevenlabs(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    if let Some(kind) = str_field(value, &["type"]).filter(|k| *k != "post_call_transcription") {
        return Err(Unread::NotACall(format!(
            "ElevenLabs `{kind}` webhook: no transcript in it (the post_call_transcription webhook has it)"
        )));
    }
    if let Some(Value::Array(list)) = value.get("conversations") {
        return Err(Unread::NotACall(format!(
            "ElevenLabs conversation list ({} conversations, no transcripts); fetch each with \
             GET /v1/convai/conversations/{{conversation_id}}",
            list.len()
        )));
    }
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
    let metadata = CallMetadata {
        duration_secs: number(base.pointer("/metadata/call_duration_secs")),
        direction: direction_at(base, &["/metadata/phone_call/direction", "/direction"]),
        agent_id: id_at(base, &["/agent_id"]),
        agent_name: id_at(base, &["/agent_name"]),
        customer_number: id_at(base, &["/metadata/phone_call/external_number"]),
        agent_number: id_at(base, &["/metadata/phone_call/agent_number"]),
        status: id_at(base, &["/status"]),
        ended_reason: id_at(base, &["/metadata/termination_reason"]),
        ..CallMetadata::default()
    };
    Ok(Parsed {
        id: id_at(base, &["/conversation_id"]),
        started_at: unix_timestamp(base.pointer("/metadata/start_time_unix_secs"), false),
        turns,
        metadata,
        ..Parsed::default()
    })
}

/// Bland call details: `transcripts[]` with `user` as the role and wall-clock `created_at`.
pub(super) fn bland(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
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
    let direction = value.get("inbound").and_then(Value::as_bool).map(|inbound| {
        if inbound {
            Direction::Inbound
        } else {
            Direction::Outbound
        }
    });
    // `corrected_duration` is seconds (as a string); `call_length` is minutes.
    let duration =
        number(value.get("corrected_duration")).or_else(|| number(value.get("call_length")).map(|m| m * 60.0));
    let mut metadata = CallMetadata {
        ended_at: timestamp(value.get("end_at")),
        duration_secs: duration,
        direction,
        agent_id: id_at(value, &["/pathway_id", "/persona_id"]),
        recording_url: id_at(value, &["/recording_url"]),
        status: id_at(value, &["/status", "/queue_status"]),
        ended_reason: id_at(value, &["/error_message", "/call_ended_by"]),
        ..CallMetadata::default()
    };
    metadata.set_numbers(str_field(value, &["from"]), str_field(value, &["to"]));
    Ok(Parsed {
        id: id_at(value, &["/call_id", "/c_id"]),
        started_at,
        turns,
        metadata,
        ..Parsed::default()
    })
}

fn missing_role(index: usize, format: Format) -> String {
    format!("turn {} has no role ({format})", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn retell_reads_the_string_when_it_has_more_turns_than_the_objects() {
        let call = json!({"call_id": "r", "transcript": "Agent: Hi\nUser: Hello\nAgent: Bye\n",
            "transcript_object": [{"role": "agent", "content": "Hi"}]});
        let parsed = retell(&call, Context::default()).unwrap();
        let spoken: Vec<(Speaker, &str)> = parsed.turns.iter().map(|t| (t.speaker, t.text.as_str())).collect();
        assert_eq!(
            spoken,
            [
                (Speaker::Agent, "Hi"),
                (Speaker::Customer, "Hello"),
                (Speaker::Agent, "Bye")
            ]
        );
        assert!(
            parsed.warnings[0].contains("has 3 turns but `transcript_object` only 1; read the 3 from `transcript`"),
            "{:?}",
            parsed.warnings
        );
    }

    #[test]
    fn retell_call_that_never_connected_is_not_a_call() {
        let call = json!({"event": "call_analyzed", "call": {"call_id": "r", "call_status": "not_connected",
            "disconnection_reason": "invalid_destination", "transcript": "", "transcript_with_tool_calls": []}});
        match retell(&call, Context::default()) {
            Err(Unread::NotACall(reason)) => assert!(reason.contains("invalid_destination"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn elevenlabs_audio_webhook_and_list_are_not_calls() {
        let audio = json!({"type": "post_call_audio", "data": {"conversation_id": "c", "full_audio": "AAA"}});
        assert!(matches!(
            elevenlabs(&audio, Context::default()),
            Err(Unread::NotACall(_))
        ));
        let list = json!({"conversations": [{"conversation_id": "c"}], "has_more": false});
        match elevenlabs(&list, Context::default()) {
            Err(Unread::NotACall(reason)) => assert!(reason.contains("1 conversations"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
