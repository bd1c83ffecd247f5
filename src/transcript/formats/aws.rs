//! Amazon's call transcripts: Transcribe Call Analytics (each segment names its
//! `ParticipantRole`), plain Transcribe jobs with one channel (or diarized speaker) per party,
//! and Connect Contact Lens for voice and chat.
//!
//! Contact Lens voice segments name a `ParticipantId` (`AGENT`/`CUSTOMER`); chat items carry
//! a participant UUID with the role beside it in `ParticipantRole` (and in `Participants[]`),
//! plus `EVENT` items (joined, left, chat ended) that are not speech and have no participant.
//! Plain Transcribe output has no roles at all: its `ch_0`/`spk_0` labels go through
//! `--speaker-map` or `auto`.

use serde_json::Value;

use super::{
    Context, Parsed, Unread, array_at, content_text, id_at, labelled_call, named_speaker, number, offset_from,
    push_turn, str_field, timestamp,
};
use crate::transcript::Format;
use crate::transcript::metadata::CallMetadata;
use crate::transcript::speakers::Labelled;

/// AWS Transcribe: Call Analytics output (`Transcript[]` with `ParticipantRole`), or a plain
/// transcription job (`results` with channel or speaker labels).
pub(super) fn transcribe(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    if value.get("Transcript").is_none() && value.get("results").is_some() {
        return transcribe_job(value, cx);
    }
    let items = array_at(value, "/Transcript", Format::AwsTranscribe)?;
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["ParticipantRole"])
            .ok_or_else(|| format!("segment {} has no ParticipantRole (aws_transcribe)", i + 1))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let offset = number(item.get("BeginOffsetMillis")).map(|ms| ms / 1000.0);
        push_turn(&mut turns, speaker, content_text(item.get("Content")), offset);
    }
    let metadata = CallMetadata {
        duration_secs: total_duration(value),
        ..CallMetadata::default()
    };
    Ok(Parsed {
        id: id_at(value, &["/JobName"]),
        turns,
        metadata,
        ..Parsed::default()
    })
}

/// A plain Transcribe job: `results.audio_segments` when present, else the words in
/// `results.items` (diarized) or `results.channel_labels.channels[].items`, grouped into
/// turns where the label changes.
fn transcribe_job(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let results = &value["results"];
    let by_channel = results.get("channel_labels").is_some();
    let mut labelled = Labelled::new(by_channel);
    let segments = results.get("audio_segments").and_then(Value::as_array);
    if let Some(segments) = segments.filter(|s| !s.is_empty()) {
        for segment in segments {
            let label = str_field(segment, &["channel_label", "speaker_label"]).unwrap_or("?");
            let text = segment.get("transcript").and_then(Value::as_str).unwrap_or_default();
            labelled.push(label, text, number(segment.get("start_time")));
        }
    } else {
        for (label, start, text) in job_words(results) {
            labelled.push(&label, &text, start);
        }
    }
    if labelled.is_empty() {
        return Err(Unread::Invalid(
            "Transcribe job output has no speakers or channels to tell who spoke; run the job \
             with ChannelIdentification or ShowSpeakerLabels (or use Call Analytics)"
                .into(),
        ));
    }
    labelled.merge_runs();
    let what = if by_channel {
        "Transcribe channels"
    } else {
        "Transcribe speakers"
    };
    let mut parsed = labelled_call(labelled, cx, what)?;
    parsed.id = id_at(value, &["/jobName", "/JobName"]);
    parsed.metadata.status = id_at(value, &["/status"]);
    Ok(parsed)
}

/// Words with their label and start time, punctuation attached to the word before it,
/// in time order across channels.
fn job_words(results: &Value) -> Vec<(String, Option<f64>, String)> {
    let mut words: Vec<(String, Option<f64>, String)> = Vec::new();
    let mut read = |items: &[Value], channel: Option<&str>| {
        for item in items {
            let content = item
                .pointer("/alternatives/0/content")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let label = channel.or_else(|| str_field(item, &["channel_label", "speaker_label"]));
            match (str_field(item, &["type"]), words.last_mut()) {
                (Some("punctuation"), Some(last)) => last.2.push_str(content),
                _ => {
                    if let Some(label) = label {
                        words.push((label.to_string(), number(item.get("start_time")), content.to_string()));
                    }
                }
            }
        }
    };
    match results.pointer("/channel_labels/channels").and_then(Value::as_array) {
        Some(channels) => {
            for channel in channels {
                let items = channel
                    .get("items")
                    .and_then(Value::as_array)
                    .map_or(&[][..], Vec::as_slice);
                read(items, str_field(channel, &["channel_label"]));
            }
        }
        None => read(
            results
                .get("items")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice),
            None,
        ),
    }
    words.sort_by(|a, b| a.1.unwrap_or(0.0).total_cmp(&b.1.unwrap_or(0.0)));
    // One turn per run of a label: join the run's words with spaces.
    let mut turns: Vec<(String, Option<f64>, String)> = Vec::new();
    for (label, start, word) in words {
        match turns.last_mut() {
            Some(last) if last.0 == label => {
                last.2.push(' ');
                last.2.push_str(&word);
            }
            _ => turns.push((label, start, word)),
        }
    }
    turns
}

/// Amazon Connect Contact Lens output for voice and chat contacts.
pub(super) fn connect(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let items = array_at(value, "/Transcript", Format::AwsConnect)?;
    let participants = value.get("Participants").and_then(Value::as_array);
    let participant = |id: &str| {
        participants?
            .iter()
            .find(|p| p.get("ParticipantId").and_then(Value::as_str) == Some(id))
    };
    // Chat items are stamped with wall-clock time; the first (a participant joining) is
    // when the contact began.
    let chat_start = items.iter().find_map(|t| timestamp(t.get("AbsoluteTime")));
    let mut turns = Vec::with_capacity(items.len());
    let mut chat_end = None;
    for (i, item) in items.iter().enumerate() {
        if is_event(item) {
            if str_field(item, &["ContentType"]).is_some_and(|c| c.ends_with("chat.ended")) {
                chat_end = timestamp(item.get("AbsoluteTime"));
            }
            continue;
        }
        let id = str_field(item, &["ParticipantId"]);
        let role = str_field(item, &["ParticipantRole"])
            .or_else(|| {
                id.and_then(participant)
                    .and_then(|p| str_field(p, &["ParticipantRole"]))
            })
            .or(id)
            .ok_or_else(|| {
                format!(
                    "segment {} has no ParticipantId or ParticipantRole (aws_connect)",
                    i + 1
                )
            })?;
        let speaker = match role {
            // A Lex or third-party bot talks to the customer for the business.
            "CUSTOM_BOT" => crate::transcript::Speaker::Agent,
            _ => named_speaker(role, i + 1, cx)?,
        };
        let offset = number(item.get("BeginOffsetMillis"))
            .map(|ms| ms / 1000.0)
            .or_else(|| offset_from(chat_start, timestamp(item.get("AbsoluteTime"))));
        push_turn(&mut turns, speaker, content_text(item.get("Content")), offset);
    }
    let chat = str_field(value, &["Channel"]) == Some("CHAT");
    let name_of = |role: &str| {
        participants?
            .iter()
            .find(|p| str_field(p, &["ParticipantRole"]) == Some(role))
            .and_then(|p| id_at(p, &["/DisplayName"]))
    };
    let metadata = CallMetadata {
        ended_at: chat_end,
        duration_secs: total_duration(value),
        contact_id: id_at(value, &["/CustomerMetadata/ContactId", "/ContactId"]),
        agent_name: name_of("AGENT"),
        customer_name: name_of("CUSTOMER"),
        ..CallMetadata::default()
    };
    Ok(Parsed {
        id: id_at(value, &["/CustomerMetadata/ContactId", "/ContactId"]),
        started_at: if chat { chat_start } else { None },
        turns,
        metadata,
        ..Parsed::default()
    })
}

/// Joined, left, typing, chat ended: things that happened in a chat, not things said.
fn is_event(item: &Value) -> bool {
    str_field(item, &["Type"]) == Some("EVENT")
        || str_field(item, &["ContentType"]).is_some_and(|c| c.starts_with("application/vnd.amazonaws.connect.event"))
}

fn total_duration(value: &Value) -> Option<f64> {
    number(value.pointer("/ConversationCharacteristics/TotalConversationDurationMillis")).map(|ms| ms / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::Speaker;
    use serde_json::json;

    #[test]
    fn connect_chat_reads_roles_beside_uuids_and_skips_events() {
        let chat = json!({"Channel": "CHAT", "Participants": [{"ParticipantId": "u-1"}, {"ParticipantId": "u-2"}],
            "Transcript": [
                {"Type": "EVENT", "ContentType": "application/vnd.amazonaws.connect.event.participant.joined",
                 "ParticipantId": "u-1", "ParticipantRole": "CUSTOMER", "AbsoluteTime": "2024-06-10T15:02:11.000Z"},
                {"Type": "MESSAGE", "ParticipantId": "u-2", "ParticipantRole": "AGENT", "Content": "Hello",
                 "AbsoluteTime": "2024-06-10T15:02:13.500Z"},
                {"Type": "MESSAGE", "ParticipantId": "u-1", "ParticipantRole": "CUSTOMER", "Content": "Hi",
                 "AbsoluteTime": "2024-06-10T15:02:20.000Z"},
                {"Type": "EVENT", "ContentType": "application/vnd.amazonaws.connect.event.chat.ended",
                 "AbsoluteTime": "2024-06-10T15:02:30.000Z"}]});
        let parsed = connect(&chat, Context::default()).unwrap();
        let got: Vec<(Speaker, Option<f64>)> = parsed.turns.iter().map(|t| (t.speaker, t.offset_secs)).collect();
        assert_eq!(got, [(Speaker::Agent, Some(2.5)), (Speaker::Customer, Some(9.0))]);
        assert_eq!(parsed.metadata.ended_at.unwrap().to_string(), "2024-06-10T15:02:30Z");
    }

    #[test]
    fn transcribe_job_groups_channel_words_into_turns() {
        let job = json!({"jobName": "j1", "status": "COMPLETED", "results": {"channel_labels": {"channels": [
            {"channel_label": "ch_0", "items": [
                {"type": "pronunciation", "start_time": "0.5", "alternatives": [{"content": "Hello"}]},
                {"type": "punctuation", "alternatives": [{"content": "."}]}]},
            {"channel_label": "ch_1", "items": [
                {"type": "pronunciation", "start_time": "2.0", "alternatives": [{"content": "Hi"}]},
                {"type": "pronunciation", "start_time": "2.4", "alternatives": [{"content": "there"}]}]}]}}});
        let map: crate::transcript::SpeakerMap = "ch_0=agent,ch_1=customer".parse().unwrap();
        let cx = Context {
            speaker_map: Some(&map),
            twilio: None,
        };
        let parsed = transcribe(&job, cx).unwrap();
        let texts: Vec<&str> = parsed.turns.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["Hello.", "Hi there"]);
        assert_eq!(parsed.turns[1].offset_secs, Some(2.0));
    }
}
