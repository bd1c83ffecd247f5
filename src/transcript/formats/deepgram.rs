//! Deepgram pre-recorded responses with `utterances=true&diarize=true`: each utterance has a
//! numeric `speaker` (or only a `channel` for multichannel audio) and no role, so roles come
//! from `--speaker-map` and never from a guess.

use serde_json::Value;

use super::{Context, Parsed, content_text, id_at, number, numbered_speakers, push_turn};

pub(super) fn utterances(value: &Value, cx: Context<'_>) -> Result<Parsed, String> {
    let Some(items) = value.pointer("/results/utterances").and_then(Value::as_array) else {
        return Err("Deepgram response has no `results.utterances`; request the transcript \
                    with utterances=true&diarize=true so turns and speakers are kept"
            .into());
    };
    let keys: Vec<String> = items
        .iter()
        .map(|u| match u.get("speaker").or_else(|| u.get("channel")) {
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::String(s)) => s.clone(),
            _ => "?".to_string(),
        })
        .collect();
    let speakers = numbered_speakers(&keys, cx.speaker_map, "Deepgram utterances")?;
    let mut turns = Vec::with_capacity(items.len());
    for (item, speaker) in items.iter().zip(speakers) {
        push_turn(
            &mut turns,
            speaker,
            content_text(item.get("transcript")),
            number(item.get("start")),
        );
    }
    Ok(Parsed {
        id: id_at(value, &["/metadata/request_id"]),
        started_at: None,
        turns,
    })
}
