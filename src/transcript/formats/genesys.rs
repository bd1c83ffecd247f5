//! Genesys Cloud speech and text analytics transcripts: the JSON behind
//! `GET /api/v2/speechandtextanalytics/conversations/{id}/communications/{id}/transcripturl`.
//!
//! A transcript holds `transcripts[]` (one per recording), each with `phrases[]`; a phrase
//! names its side in `participantPurpose`: `internal` (the business: agent or IVR) or
//! `external` (the customer) on voice calls, and `agent`, `customer`, `acd`, `ivr` or `bot`
//! on digital ones. Phrase times are epoch milliseconds, turned into seconds from
//! `conversationStartTime`.

use jiff::Timestamp;
use serde_json::Value;

use super::{Context, Parsed, Unread, array_at, id_at, named_speaker, number, push_turn, str_field};
use crate::transcript::metadata::CallMetadata;
use crate::transcript::{Format, Speaker};

pub(super) fn genesys(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let transcripts = array_at(value, "/transcripts", Format::Genesys)?;
    let start_ms = number(value.get("conversationStartTime")).or_else(|| number(value.get("startTime")));
    let mut phrases: Vec<(&Value, usize)> = transcripts
        .iter()
        .flat_map(|t| t.get("phrases").and_then(Value::as_array).into_iter().flatten())
        .enumerate()
        .map(|(i, p)| (p, i))
        .collect();
    // Recordings may overlap; phrases are put back in spoken order (stable for ties).
    phrases.sort_by(|a, b| phrase_time(a.0).total_cmp(&phrase_time(b.0)).then(a.1.cmp(&b.1)));
    let mut turns = Vec::with_capacity(phrases.len());
    for (i, (phrase, _)) in phrases.iter().enumerate() {
        let purpose = str_field(phrase, &["participantPurpose"])
            .ok_or_else(|| format!("phrase {} has no participantPurpose (genesys)", i + 1))?;
        let speaker = match purpose {
            "internal" | "agent" | "user" | "bot" => Speaker::Agent,
            "external" | "customer" => Speaker::Customer,
            // Queue and IVR prompts are the system speaking, not a person.
            "acd" | "ivr" | "workflow" => Speaker::System,
            other => named_speaker(other, i + 1, cx)?,
        };
        let text = str_field(phrase, &["text", "decoratedText"]).map(|t| t.trim().to_string());
        let offset = match (start_ms, number(phrase.get("startTimeMs"))) {
            (Some(start), Some(at)) => Some(((at - start) / 1000.0).max(0.0)),
            _ => None,
        };
        push_turn(&mut turns, speaker, text, offset);
    }
    let started_at = start_ms.and_then(|ms| Timestamp::from_millisecond(ms as i64).ok());
    let duration = number(value.pointer("/duration/milliseconds")).map(|ms| ms / 1000.0);
    Ok(Parsed {
        id: id_at(value, &["/conversationId"]),
        started_at,
        turns,
        metadata: CallMetadata {
            duration_secs: duration,
            contact_id: id_at(value, &["/externalContactId"]),
            ..CallMetadata::default()
        },
        ..Parsed::default()
    })
}

fn phrase_time(phrase: &Value) -> f64 {
    number(phrase.get("startTimeMs")).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn phrases_from_every_recording_in_spoken_order() {
        let v = json!({"conversationId": "g1", "conversationStartTime": 1718031731000u64, "transcripts": [
            {"phrases": [{"text": "Hi, I need help.", "startTimeMs": 1718031736800u64, "participantPurpose": "external"}]},
            {"phrases": [{"text": "Thanks for calling.", "startTimeMs": 1718031731600u64, "participantPurpose": "internal"}]}]});
        let parsed = genesys(&v, Context::default()).unwrap();
        let got: Vec<(Speaker, Option<f64>)> = parsed.turns.iter().map(|t| (t.speaker, t.offset_secs)).collect();
        assert_eq!(got, [(Speaker::Agent, Some(0.6)), (Speaker::Customer, Some(5.8))]);
        assert_eq!(parsed.started_at.unwrap().to_string(), "2024-06-10T15:02:11Z");
    }
}
