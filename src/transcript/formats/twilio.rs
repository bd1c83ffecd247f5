//! Twilio: Conversational Intelligence sentences, and a logged ConversationRelay session.
//!
//! Intelligence splits a call across two resources: the Transcript (participants, which
//! `channel_participant` is the agent) and its Sentences page (text with only a
//! `media_channel` number). The loader joins them by transcript SID, so a sentences page gets
//! roles from its transcript when both are among the inputs; otherwise `--speaker-map`
//! decides. A combined object (transcript resource with a `sentences` array) is self-contained.
//!
//! ConversationRelay keeps no transcript at all; an app's log of the WebSocket messages is
//! rebuilt into turns: streamed `text` tokens up to `last: true` are one agent turn, a
//! `prompt` is what the caller said.

use jiff::Timestamp;
use serde_json::Value;

use super::{
    Context, Parsed, array_at, common_role, content_text, id_at, number, numbered_speakers, push_turn, str_field,
    timestamp,
};
use crate::transcript::{Format, Speaker, SpeakerMap};

/// What a Transcript resource contributes to its sentences: roles and, if Twilio knows it,
/// when the recording started.
#[derive(Debug, Clone, PartialEq)]
pub struct TwilioCompanion {
    /// `channel_participant` number → role.
    pub participants: SpeakerMap,
    pub started_at: Option<Timestamp>,
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
        participants: SpeakerMap(map),
        started_at: timestamp(value.get("media_start_time")),
    })
}

/// A sentences page that carries no participants of its own needs its transcript resource
/// (or `--speaker-map`) to get roles.
pub fn twilio_needs_companion(value: &Value) -> bool {
    value.pointer("/channel/participants").is_none()
}

pub(super) fn intelligence(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let items = array_at(value, "/sentences", Format::TwilioIntelligence)?;
    let sid = twilio_sid(value);
    let own = twilio_companion(value);
    let joined = sid.as_ref().and_then(|sid| cx.twilio?.get(sid)).cloned();
    let companion = own.or(joined);
    let keys: Vec<String> = items
        .iter()
        .map(|s| match s.get("media_channel").or_else(|| s.get("channel")) {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => "?".to_string(),
        })
        .collect();
    let speakers = match (&companion, cx.speaker_map) {
        (Some(c), _) => numbered_speakers(&keys, Some(&c.participants), "Twilio sentences")
            .map_err(|e| format!("{e} (the transcript resource's participants do not cover it)"))?,
        (None, map) => numbered_speakers(&keys, map, "Twilio sentences").map_err(|e| {
            if map.is_some() {
                e
            } else {
                format!(
                    "{e}, or put the transcript resource (GET /v2/Transcripts/{}) among the \
                     inputs so its participants give the roles",
                    sid.as_deref().unwrap_or("GT…")
                )
            }
        })?,
    };
    let mut turns = Vec::with_capacity(items.len());
    for (item, speaker) in items.iter().zip(speakers) {
        let offset = number(item.get("start_time"));
        push_turn(&mut turns, speaker, content_text(item.get("transcript")), offset);
    }
    Ok(Parsed {
        id: sid,
        started_at: companion.and_then(|c| c.started_at),
        turns,
    })
}

pub(super) fn relay(value: &Value, _cx: Context<'_>) -> Result<Parsed, String> {
    let items = array_at(value, "/messages", Format::TwilioRelay)?;
    let mut turns = Vec::new();
    let mut id = None;
    // Agent tokens and caller prompts both stream in pieces until `last: true`.
    let mut agent = String::new();
    let mut caller = String::new();
    for item in items {
        let message = item.get("message").unwrap_or(item);
        let last = message.get("last").and_then(Value::as_bool).unwrap_or(true);
        match str_field(message, &["type"]) {
            Some("setup") => id = id.or_else(|| id_at(message, &["/callSid", "/sessionId"])),
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
            _ => {}
        }
    }
    // A session cut off mid-stream still said what it said.
    push_turn(&mut turns, Speaker::Agent, Some(agent.trim().to_string()), None);
    push_turn(&mut turns, Speaker::Customer, Some(caller.trim().to_string()), None);
    Ok(Parsed {
        id,
        started_at: None,
        turns,
    })
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
}
