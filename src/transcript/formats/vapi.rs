//! Vapi: the end-of-call-report server message and the GET /call object.
//!
//! Vapi sends an assistant's server URL many messages per call (`status-update`,
//! `conversation-update`, `tool-calls`, `transcript`, …); only the end-of-call-report is a
//! finished call, so the others are skipped with their type as the reason rather than read
//! as partial calls. Turns are in `artifact.messages`, or in `messages` in the older layout
//! and whenever `artifact.messages` is empty. Offsets come from each message's epoch `time`:
//! `secondsFromStart` restarts at every squad transfer, `time` does not.

use serde_json::Value;

use super::{
    Context, Parsed, Unread, array_at, content_text, direction_at, id_at, named_speaker, number, push_turn, str_field,
    timestamp, tool_call_text,
};
use crate::transcript::Format;
use crate::transcript::metadata::CallMetadata;

pub(super) fn vapi(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let wrapped = value.get("message").filter(|m| m.is_object());
    let base = wrapped.unwrap_or(value);
    // A server message's `type` is its kind; a GET call object's `type` is the call's.
    if wrapped.is_some()
        && let Some(kind) = str_field(base, &["type"]).filter(|k| *k != "end-of-call-report")
    {
        return Err(Unread::NotACall(format!(
            "Vapi `{kind}` server message: sent during a call, not a finished call (only the \
             end-of-call-report is)"
        )));
    }
    let items = messages(base)?;
    let origin = origin_millis(items);
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["role"]).ok_or_else(|| format!("turn {} has no role (vapi)", i + 1))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let offset = match (origin, number(item.get("time"))) {
            (Some(origin), Some(time)) => Some(((time - origin) / 1000.0).max(0.0)),
            _ => number(item.get("secondsFromStart")),
        };
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
    let call = base.get("call").filter(|c| c.is_object()).unwrap_or(base);
    if turns.is_empty()
        && let Some(reason) = str_field(base, &["endedReason"]).or_else(|| str_field(call, &["endedReason"]))
    {
        return Err(Unread::NotACall(format!(
            "Vapi call ended as `{reason}` with nothing said: no transcript to score"
        )));
    }
    Ok(Parsed {
        id: id_at(call, &["/id"]).or_else(|| id_at(base, &["/callId"])),
        started_at: timestamp(base.get("startedAt")).or_else(|| timestamp(call.get("startedAt"))),
        turns,
        metadata: metadata(base, call, wrapped.is_some()),
        ..Parsed::default()
    })
}

/// `artifact.messages` unless it is missing or empty, then the top-level `messages`.
fn messages(base: &Value) -> Result<&Vec<Value>, String> {
    match base.pointer("/artifact/messages").and_then(Value::as_array) {
        Some(items) if !items.is_empty() => Ok(items),
        artifact => match base.get("messages").and_then(Value::as_array) {
            Some(items) => Ok(items),
            None if artifact.is_some() => Ok(artifact.expect("checked")),
            None => array_at(base, "/artifact/messages", Format::Vapi),
        },
    }
}

/// The call's start on the clock of `time`: a spoken message's `time` minus its
/// `secondsFromStart`, taken before any transfer could restart the count.
fn origin_millis(items: &[Value]) -> Option<f64> {
    items
        .iter()
        .filter(|m| m.get("role").and_then(Value::as_str) != Some("system"))
        .find_map(|m| Some(number(m.get("time"))? - number(m.get("secondsFromStart"))? * 1000.0))
}

fn metadata(base: &Value, call: &Value, report: bool) -> CallMetadata {
    let either = |pointer: &str| id_at(base, &[pointer]).or_else(|| id_at(call, &[pointer]));
    CallMetadata {
        ended_at: timestamp(base.get("endedAt")).or_else(|| timestamp(call.get("endedAt"))),
        duration_secs: number(base.get("durationSeconds")).or_else(|| number(call.get("durationSeconds"))),
        direction: direction_at(call, &["/type"]),
        agent_id: either("/assistantId").or_else(|| either("/assistant/id")),
        agent_name: either("/assistant/name"),
        customer_number: either("/customer/number"),
        customer_name: either("/customer/name"),
        agent_number: either("/phoneNumber/number"),
        recording_url: either("/recordingUrl").or_else(|| either("/artifact/recordingUrl")),
        // The call object inside a report is a snapshot from when the call began
        // (`ringing`): only a GET call object's status is the call's.
        status: if report { None } else { id_at(call, &["/status"]) },
        ended_reason: either("/endedReason"),
        ..CallMetadata::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Speaker;
    use serde_json::json;

    #[test]
    fn server_messages_other_than_the_report_are_not_calls() {
        let update = json!({"message": {"type": "status-update", "status": "in-progress", "call": {"id": "c"}}});
        match vapi(&update, Context::default()) {
            Err(Unread::NotACall(reason)) => assert!(reason.contains("`status-update`"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn older_layout_and_squad_transfers_read_in_order() {
        let report = json!({"message": {"type": "end-of-call-report", "artifact": {"messages": []},
            "call": {"id": "c1", "type": "inboundPhoneCall"},
            "messages": [
                {"role": "bot", "message": "Hi, I'm the first assistant.", "time": 1000500, "secondsFromStart": 0.5},
                {"role": "user", "message": "Transfer me.", "time": 1003000, "secondsFromStart": 3.0},
                {"role": "system", "message": "You are assistant two.", "time": 1004000, "secondsFromStart": 0},
                {"role": "bot", "message": "Hi, second assistant here.", "time": 1005000, "secondsFromStart": 1.0}]}});
        let parsed = vapi(&report, Context::default()).unwrap();
        let spoken: Vec<(Speaker, Option<f64>)> = parsed
            .turns
            .iter()
            .filter(|t| t.speaker.is_conversational())
            .map(|t| (t.speaker, t.offset_secs))
            .collect();
        assert_eq!(
            spoken,
            [
                (Speaker::Agent, Some(0.5)),
                (Speaker::Customer, Some(3.0)),
                (Speaker::Agent, Some(5.0))
            ]
        );
        assert_eq!(parsed.id.as_deref(), Some("c1"));
    }
}
