//! Deepgram pre-recorded responses. Speakers have no roles, only numbers: diarized
//! `speaker`s on one channel, or — with `multichannel=true` — one `channel` per party, so
//! roles come from `--speaker-map` (or `auto`), never from a guess.
//!
//! Three layouts carry turns, read in this order: `results.utterances` (`utterances=true`),
//! each channel's `paragraphs` (`paragraphs=true`, or smart formatting), and each channel's
//! diarized `words`. Deepgram splits speech at pauses, so consecutive pieces of one speaker
//! are joined into one turn; the channels of a multichannel response are interleaved by time.

use serde_json::Value;

use super::{Context, Parsed, Unread, id_at, key_of, labelled_call, number};
use crate::transcript::metadata::CallMetadata;
use crate::transcript::speakers::Labelled;

pub(super) fn deepgram(value: &Value, cx: Context<'_>) -> Result<Parsed, Unread> {
    let channels = value.pointer("/results/channels").and_then(Value::as_array);
    let multichannel = channels.is_some_and(|c| c.len() > 1);
    let mut labelled = Labelled::new(multichannel);
    let utterances = value.pointer("/results/utterances").and_then(Value::as_array);
    let what = if let Some(items) = utterances.filter(|u| !u.is_empty()) {
        for item in items {
            let key = if multichannel { "channel" } else { "speaker" };
            let label = key_of(item.get(key).or_else(|| item.get("channel")));
            let text = item.get("transcript").and_then(Value::as_str).unwrap_or_default();
            labelled.push(&label, text, number(item.get("start")));
        }
        "Deepgram utterances"
    } else {
        for (index, channel) in channels.into_iter().flatten().enumerate() {
            let alternative = channel.pointer("/alternatives/0").unwrap_or(&Value::Null);
            let channel_label = multichannel.then(|| index.to_string());
            read_channel(alternative, channel_label.as_deref(), &mut labelled);
        }
        "Deepgram paragraphs"
    };
    if labelled.is_empty() {
        return Err(Unread::Invalid(
            "Deepgram response has no `results.utterances`, no paragraphs and no diarized words; \
             request the transcript with utterances=true&diarize=true (or multichannel=true, one \
             channel per party) so turns and speakers are kept"
                .into(),
        ));
    }
    if multichannel {
        labelled.sort_by_offset();
    }
    labelled.merge_runs();
    let what = if multichannel { "Deepgram channels" } else { what };
    let mut parsed = labelled_call(labelled, cx, what)?;
    parsed.id = id_at(value, &["/metadata/request_id"]);
    parsed.metadata = CallMetadata {
        duration_secs: number(value.pointer("/metadata/duration")),
        ..CallMetadata::default()
    };
    Ok(parsed)
}

/// One channel's paragraphs (each a speaker's run of sentences), or else its words grouped
/// by speaker. `channel` labels every turn when the response has one channel per party.
fn read_channel(alternative: &Value, channel: Option<&str>, labelled: &mut Labelled) {
    if let Some(paragraphs) = alternative.pointer("/paragraphs/paragraphs").and_then(Value::as_array) {
        for paragraph in paragraphs {
            let sentences = paragraph.get("sentences").and_then(Value::as_array);
            let text = sentences
                .into_iter()
                .flatten()
                .filter_map(|s| s.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(" ");
            let label = channel.map_or_else(|| key_of(paragraph.get("speaker")), str::to_string);
            labelled.push(&label, &text, number(paragraph.get("start")));
        }
        return;
    }
    for word in alternative.get("words").and_then(Value::as_array).into_iter().flatten() {
        let Some(label) = channel
            .map(str::to_string)
            .or_else(|| word.get("speaker").map(|s| key_of(Some(s))))
        else {
            continue;
        };
        let text = word
            .get("punctuated_word")
            .or_else(|| word.get("word"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        labelled.push(&label, text, number(word.get("start")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{Speaker, SpeakerMap};
    use serde_json::json;

    fn with_map(map: &SpeakerMap) -> Context<'_> {
        Context {
            speaker_map: Some(map),
            twilio: None,
        }
    }

    #[test]
    fn consecutive_utterances_of_one_speaker_are_one_turn() {
        let v = json!({"results": {"channels": [{"alternatives": [{}]}], "utterances": [
            {"speaker": 0, "start": 0.0, "transcript": "Hello."},
            {"speaker": 0, "start": 1.0, "transcript": "How can I help?"},
            {"speaker": 1, "start": 3.0, "transcript": "Hi."}]}});
        let map: SpeakerMap = "0=agent,1=customer".parse().unwrap();
        let parsed = deepgram(&v, with_map(&map)).unwrap();
        assert_eq!(parsed.turns.len(), 2);
        assert_eq!(parsed.turns[0].text, "Hello. How can I help?");
    }

    #[test]
    fn paragraphs_and_multichannel_are_read_without_utterances() {
        let paragraph = |start: f64, text: &str| json!({"start": start, "sentences": [{"text": text}]});
        let v = json!({"results": {"channels": [
            {"alternatives": [{"paragraphs": {"paragraphs": [paragraph(0.5, "Thanks for calling."), paragraph(6.0, "Sure.")]}}]},
            {"alternatives": [{"paragraphs": {"paragraphs": [paragraph(3.0, "Hi, I need help.")]}}]}]}});
        let map: SpeakerMap = "0=agent,1=customer".parse().unwrap();
        let parsed = deepgram(&v, with_map(&map)).unwrap();
        let got: Vec<(Speaker, &str)> = parsed.turns.iter().map(|t| (t.speaker, t.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Speaker::Agent, "Thanks for calling."),
                (Speaker::Customer, "Hi, I need help."),
                (Speaker::Agent, "Sure.")
            ]
        );
    }
}
