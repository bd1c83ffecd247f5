//! Twilio: Conversational Intelligence sentences, and a logged ConversationRelay session.
//!
//! Intelligence splits a call across two resources: the Transcript (participants, which
//! `channel_participant` is the agent) and its Sentences page (text with only a
//! `media_channel` number). The loader joins them by transcript SID, so a sentences page gets
//! roles from its transcript when both are among the inputs; otherwise `--speaker-map`
//! decides. A combined object (transcript resource with a `sentences` array) is self-contained.
//!
//! ConversationRelay keeps no transcript at all; an app's log of the session's WebSocket
//! messages is rebuilt into turns: streamed `text` tokens up to `last: true` are one agent
//! turn (cut to what the caller heard when an `interrupt` stops it), a `prompt` is what the
//! caller said. The log may be a bare array of the messages, a JSONL file of them (the scan
//! reads such a file as one session), or an object with the messages under `messages`.

use jiff::Timestamp;
use serde_json::Value;

use super::{
    Context, Parsed, Unread, array_at, common_role, id_at, key_of, labelled_call, number, push_turn, str_field,
    timestamp,
};
use crate::transcript::metadata::{CallMetadata, Direction};
use crate::transcript::speakers::Labelled;
use crate::transcript::{Format, RoleMap, Speaker, SpeakerMap};

/// What a Transcript resource contributes to its sentences: roles and, if Twilio knows it,
/// when the recording started.
#[derive(Debug, Clone, PartialEq)]
pub struct TwilioCompanion {
    /// `channel_participant` number → role.
    pub participants: RoleMap,
    pub started_at: Option<Timestamp>,
    /// The resource's `duration` (seconds) and `status`, for the call's metadata.
    pub duration_secs: Option<f64>,
    pub status: Option<String>,
}

/// The transcript SID a sentences page or transcript resource belongs to.
pub fn twilio_sid(value: &Value) -> Option<String> {
    if let Some(sid) = value.get("sid").and_then(Value::as_str).filter(|s| s.starts_with("GT")) {
        return Some(sid.to_string());
    }
    let url = value.pointer("/meta/url").and_then(Value::as_str)?;
    let rest = &url[url.find("/Transcripts/")? + "/Transcripts/".len()..];
    let sid = rest.split(['/', '?']).next()?;
    (!sid.is_empty()).then(|| sid.to_string())
}

/// The roles a Transcript resource gives its channels, if it lists participants.
pub fn twilio_companion(value: &Value) -> Option<TwilioCompanion> {
    let participants = value.pointer("/channel/participants")?.as_array()?;
    let map = participants
        .iter()
        .filter_map(|p| {
            let key = match p.get("channel_participant")? {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => return None,
            };
            Some((key, common_role(p.get("role")?.as_str()?)?))
        })
        .collect();
    Some(TwilioCompanion {
        participants: RoleMap(map),
        started_at: timestamp(value.get("media_start_time")),
        duration_secs: number(value.get("duration")),
        status: id_at(value, &["/status"]),
    })
}

/// A sentences page that carries no participants of its own needs its transcript resource
/// (or `--speaker-map`) to get roles.
pub fn twilio_needs_companion(value: &Value) -> bool {
    value.pointer("/channel/participants").is_none()
}

pub(super) fn intelligence(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let items = array_at(value, "/sentences", Format::TwilioIntelligence)?;
    let sid = twilio_sid(value);
    let companion = twilio_companion(value).or_else(|| sid.as_ref().and_then(|sid| cx.twilio?.get(sid)).cloned());
    let mut labelled = Labelled::new(true);
    for item in items {
        let label = key_of(item.get("media_channel").or_else(|| item.get("channel")));
        let text = item.get("transcript").and_then(Value::as_str).unwrap_or_default();
        labelled.push(&label, text, number(item.get("start_time")));
    }
    let resolved = match &companion {
        Some(c) => {
            let map = SpeakerMap::Roles(c.participants.clone());
            let cx = Context {
                speaker_map: Some(&map),
                ..cx
            };
            labelled_call(labelled, cx, "Twilio sentences").map_err(|e| match e {
                Unread::Invalid(e) => {
                    Unread::Invalid(format!("{e} (the transcript resource's participants do not cover it)"))
                }
                other => other,
            })
        }
        None => labelled_call(labelled, cx, "Twilio sentences").map_err(|e| match e {
            Unread::Invalid(e) if cx.speaker_map.is_none() => Unread::Invalid(format!(
                "{e}, or put the transcript resource (GET /v2/Transcripts/{}) among the inputs \
                 so its participants give the roles",
                sid.as_deref().unwrap_or("GT…")
            )),
            other => other,
        }),
    };
    let mut parsed = resolved?;
    parsed.id = sid;
    parsed.started_at = companion.as_ref().and_then(|c| c.started_at);
    parsed.metadata = CallMetadata {
        duration_secs: companion.as_ref().and_then(|c| c.duration_secs),
        status: companion.as_ref().and_then(|c| c.status.clone()),
        ..CallMetadata::default()
    };
    Ok(parsed)
}

/// The messages of a ConversationRelay session: a bare array, or `{messages: [...]}` with
/// each message bare or wrapped as `{direction, message}`.
fn relay_messages(value: &Value) -> Result<&Vec<Value>, String> {
    match value {
        Value::Array(items) => Ok(items),
        _ => array_at(value, "/messages", Format::TwilioRelay),
    }
}

pub(super) fn relay(value: &Value, _cx: Context<'_>) -> Result<Parsed, Unread> {
    let items = relay_messages(value)?;
    let mut turns = Vec::new();
    let mut setup: Option<&Value> = None;
    // Agent tokens and caller prompts both stream in pieces until `last: true`.
    let mut agent = String::new();
    let mut caller = String::new();
    for item in items {
        let message = item.get("message").filter(|m| m.is_object()).unwrap_or(item);
        let last = message.get("last").and_then(Value::as_bool).unwrap_or(true);
        match str_field(message, &["type"]) {
            Some("setup") => setup = setup.or(Some(message)),
            Some("text") => {
                agent.push_str(str_field(message, &["token"]).unwrap_or_default());
                if last {
                    push_turn(&mut turns, Speaker::Agent, Some(agent.trim().to_string()), None);
                    agent.clear();
                }
            }
            Some("prompt") => {
                caller.push_str(str_field(message, &["voicePrompt"]).unwrap_or_default());
                if last {
                    push_turn(&mut turns, Speaker::Customer, Some(caller.trim().to_string()), None);
                    caller.clear();
                }
            }
            // The caller spoke over the agent: only what they heard was said.
            Some("interrupt") => {
                let heard = str_field(message, &["utteranceUntilInterrupt"])
                    .unwrap_or_default()
                    .trim();
                if !agent.trim().is_empty() {
                    let said = if heard.is_empty() { agent.trim() } else { heard };
                    push_turn(&mut turns, Speaker::Agent, Some(said.to_string()), None);
                    agent.clear();
                } else if let Some(last) = turns.last_mut().filter(|t| t.speaker == Speaker::Agent)
                    && !heard.is_empty()
                    && last.text.starts_with(heard)
                {
                    last.text.truncate(heard.len());
                }
            }
            Some("dtmf") => {
                let digit = key_of(message.get("digit"));
                push_turn(
                    &mut turns,
                    Speaker::System,
                    Some(format!("caller pressed {digit}")),
                    None,
                );
            }
            _ => {}
        }
    }
    // A session cut off mid-stream still said what it said.
    push_turn(&mut turns, Speaker::Agent, Some(agent.trim().to_string()), None);
    push_turn(&mut turns, Speaker::Customer, Some(caller.trim().to_string()), None);
    Ok(Parsed {
        id: setup.and_then(|s| id_at(s, &["/callSid", "/sessionId"])),
        turns,
        metadata: setup.map(relay_metadata).unwrap_or_default(),
        ..Parsed::default()
    })
}

/// What the `setup` message says about the call. Its `callStatus` is the status when the
/// session opened (`RINGING`), not the call's outcome, so it is left out.
fn relay_metadata(setup: &Value) -> CallMetadata {
    let mut metadata = CallMetadata {
        direction: str_field(setup, &["direction"]).and_then(Direction::parse),
        customer_name: id_at(setup, &["/callerName"]),
        ..CallMetadata::default()
    };
    metadata.set_numbers(str_field(setup, &["from"]), str_field(setup, &["to"]));
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sid_comes_from_the_resource_or_the_page_url() {
        assert_eq!(twilio_sid(&json!({"sid": "GT1"})).as_deref(), Some("GT1"));
        let page = json!({"meta": {"url": "https://x/v2/Transcripts/GT9/Sentences?Page=0"}});
        assert_eq!(twilio_sid(&page).as_deref(), Some("GT9"));
        assert_eq!(twilio_sid(&json!({"meta": {"url": "https://x/y"}})), None);
    }

    #[test]
    fn relay_joins_streamed_tokens_into_turns() {
        let log = json!({"messages": [
            {"direction": "twilio->app", "message": {"type": "setup", "callSid": "CA1"}},
            {"direction": "app->twilio", "message": {"type": "text", "token": "Hello ", "last": false}},
            {"direction": "app->twilio", "message": {"type": "text", "token": "there.", "last": true}},
            {"direction": "twilio->app", "message": {"type": "prompt", "voicePrompt": "Hi", "last": true}}]});
        let parsed = relay(&log, Context::default()).unwrap();
        assert_eq!(parsed.id.as_deref(), Some("CA1"));
        let texts: Vec<_> = parsed.turns.iter().map(|t| (t.speaker, t.text.as_str())).collect();
        assert_eq!(texts, [(Speaker::Agent, "Hello there."), (Speaker::Customer, "Hi")]);
    }

    #[test]
    fn relay_bare_array_keeps_what_the_caller_heard_before_interrupting() {
        let log = json!([
            {"type": "setup", "callSid": "CA2", "from": "+1415", "to": "+1800", "direction": "inbound"},
            {"type": "prompt", "voicePrompt": "Tell me a story.", "last": true},
            {"type": "text", "token": "Once upon ", "last": false},
            {"type": "text", "token": "a time there was", "last": false},
            {"type": "interrupt", "utteranceUntilInterrupt": "Once upon a time"}]);
        let parsed = relay(&log, Context::default()).unwrap();
        let texts: Vec<_> = parsed.turns.iter().map(|t| (t.speaker, t.text.as_str())).collect();
        assert_eq!(
            texts,
            [
                (Speaker::Customer, "Tell me a story."),
                (Speaker::Agent, "Once upon a time")
            ]
        );
        assert_eq!(parsed.metadata.customer_number.as_deref(), Some("+1415"));
    }
}
