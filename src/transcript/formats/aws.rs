//! Amazon's two call-analytics outputs: Transcribe Call Analytics (each segment names its
//! `ParticipantRole`) and Connect Contact Lens (segments name a `ParticipantId` that the
//! `Participants` list maps to a role). Neither carries the call's wall-clock start.

use serde_json::Value;

use super::{Context, Parsed, array_at, content_text, id_at, named_speaker, number, push_turn, str_field};
use crate::transcript::Format;

/// AWS Transcribe Call Analytics output: `Transcript[]` with `ParticipantRole`.
pub(super) fn transcribe(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let items = array_at(value, "/Transcript", Format::AwsTranscribe)?;
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let role = str_field(item, &["ParticipantRole"])
            .ok_or_else(|| format!("segment {} has no ParticipantRole (aws_transcribe)", i + 1))?;
        let speaker = named_speaker(role, i + 1, cx)?;
        let offset = number(item.get("BeginOffsetMillis")).map(|ms| ms / 1000.0);
        push_turn(&mut turns, speaker, content_text(item.get("Content")), offset);
    }
    Ok(Parsed {
        id: id_at(value, &["/JobName"]),
        started_at: None,
        turns,
    })
}

/// Amazon Connect Contact Lens output: `Transcript[]` with `ParticipantId`, mapped to a role
/// through `Participants` (falling back to the id itself, which is `AGENT`/`CUSTOMER` in
/// practice).
pub(super) fn connect(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let items = array_at(value, "/Transcript", Format::AwsConnect)?;
    let participants = value.get("Participants").and_then(Value::as_array);
    let role_of = |id: &str| -> Option<String> {
        participants?
            .iter()
            .find(|p| p.get("ParticipantId").and_then(Value::as_str) == Some(id))
            .and_then(|p| str_field(p, &["ParticipantRole"]))
            .map(str::to_string)
    };
    let mut turns = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let id = str_field(item, &["ParticipantId", "ParticipantRole"])
            .ok_or_else(|| format!("segment {} has no ParticipantId (aws_connect)", i + 1))?;
        let role = role_of(id).unwrap_or_else(|| id.to_string());
        let speaker = named_speaker(&role, i + 1, cx)?;
        let offset = number(item.get("BeginOffsetMillis")).map(|ms| ms / 1000.0);
        push_turn(&mut turns, speaker, content_text(item.get("Content")), offset);
    }
    Ok(Parsed {
        id: id_at(value, &["/CustomerMetadata/ContactId", "/ContactId"]),
        started_at: None,
        turns,
    })
}
