//! Captions with speakers: WebVTT and SRT, what Zoom, Teams, Meet, Gong and most recorders
//! export.
//!
//! A cue names its speaker with a WebVTT voice tag (`<v Ava Smith>…</v>`, Teams and Meet), a
//! `Name:` prefix (Zoom, most SRT), or `[Name]`; a cue that names nobody continues the
//! speaker before it. Captioners cut speech into short cues, so consecutive cues of one
//! speaker are one turn, at the first cue's start. Speakers are names, not roles: they go
//! through `--speaker-map` (or `auto`) unless the names are role words.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::text::parse_clock;
use super::{Context, Parsed, Unread, common_role, labelled_call};
use crate::transcript::speakers::Labelled;

static VOICE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<v(?:\.[^\s>]+)*\s+([^>]+)>").expect("valid regex"));
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").expect("valid regex"));
static PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\[(?P<bracket>[^\]]{1,40})\]|(?P<colon>\p{L}[\p{L}\p{N} .'’_&-]{0,39}?):)\s*(?P<rest>.*)$")
        .expect("valid regex")
});

/// One cue's speech, before speakers are settled.
struct Cue {
    start: Option<f64>,
    /// Several when a cue holds several voices.
    parts: Vec<Part>,
}

struct Part {
    /// The speaker the cue names, if any.
    name: Option<String>,
    /// Named by a voice tag, which is always a speaker (a `Name:` prefix may be speech).
    tagged: bool,
    words: String,
}

pub(super) fn webvtt(text: &str, cx: Context<'_>) -> Result<Parsed, Unread> {
    read(text, cx, true)
}

pub(super) fn srt(text: &str, cx: Context<'_>) -> Result<Parsed, Unread> {
    read(text, cx, false)
}

fn read(text: &str, cx: Context<'_>, vtt: bool) -> Result<Parsed, Unread> {
    let cues = cues(text, vtt);
    if cues.is_empty() {
        return Err(Unread::Invalid(format!(
            "no cues found: expected `00:00:01{sep}000 --> 00:00:04{sep}000` timing lines",
            sep = if vtt { "." } else { "," }
        )));
    }
    // `Name:` prefixes are speakers only when the name recurs or is a role word.
    let mut uses: HashMap<String, usize> = HashMap::new();
    for name in cues.iter().flat_map(|c| &c.parts).filter_map(|p| p.name.as_deref()) {
        match uses.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                uses.insert(name.to_string(), 1);
            }
        }
    }
    let mut labelled = Labelled::new(false);
    let mut current: Option<String> = None;
    let mut unnamed = 0;
    for cue in cues {
        for part in cue.parts {
            let is_speaker = |n: &String| part.tagged || uses[n] >= 2 || common_role(n).is_some();
            let words = match part.name {
                Some(name) if is_speaker(&name) => {
                    current = Some(name);
                    part.words
                }
                // A prefix that is not a speaker was part of what was said.
                Some(prefix) => format!("{prefix}: {}", part.words),
                None => part.words,
            };
            match &current {
                Some(s) => labelled.push_owned(s, words, cue.start),
                None => unnamed += 1,
            }
        }
    }
    if labelled.is_empty() {
        return Err(Unread::Invalid(
            "the captions name no speakers (no <v Name> voice tags, `Name:` or `[Name]` prefixes); \
             postcall needs to know who said what"
                .into(),
        ));
    }
    labelled.merge_runs();
    let mut parsed = labelled_call(labelled, cx, "caption speakers")?;
    if unnamed > 0 {
        parsed
            .warnings
            .push(format!("{unnamed} cue(s) before the first named speaker were not read"));
    }
    Ok(parsed)
}

/// Blocks separated by blank lines; a block with a `-->` line is a cue.
fn cues(text: &str, vtt: bool) -> Vec<Cue> {
    let mut cues = Vec::new();
    let mut block: Vec<&str> = Vec::new();
    for line in text.lines().map(|l| l.trim_end()).chain(std::iter::once("")) {
        if !line.trim().is_empty() {
            block.push(line);
            continue;
        }
        if let Some(cue) = cue(&block, vtt) {
            cues.push(cue);
        }
        block.clear();
    }
    cues
}

fn cue(block: &[&str], vtt: bool) -> Option<Cue> {
    let first = block.first()?.trim();
    if vtt && (first.starts_with("NOTE") || first.starts_with("STYLE") || first.starts_with("REGION")) {
        return None;
    }
    let timing = block.iter().position(|l| l.contains("-->"))?;
    let start = block[timing].split("-->").next().map(str::trim).and_then(parse_clock);
    let payload = block[timing + 1..].join("\n");
    Some(Cue {
        start,
        parts: cue_parts(&payload),
    })
}

/// Splits a payload at voice tags, or reads one `Name:` / `[Name]` prefix.
fn cue_parts(payload: &str) -> Vec<Part> {
    let voices: Vec<_> = VOICE.captures_iter(payload).collect();
    if !voices.is_empty() {
        let mut parts = Vec::new();
        for (i, voice) in voices.iter().enumerate() {
            let whole = voice.get(0).expect("match");
            let end = voices
                .get(i + 1)
                .map_or(payload.len(), |v| v.get(0).expect("match").start());
            parts.push(Part {
                name: Some(voice[1].trim().to_string()),
                tagged: true,
                words: clean(&payload[whole.end()..end]),
            });
        }
        return parts;
    }
    let text = clean(payload);
    match PREFIX.captures(&text) {
        // `[Music]`, `[laughter]`: a sound, not a speaker, and nothing said.
        Some(c) if c.name("bracket").is_some() && c["rest"].trim().is_empty() => Vec::new(),
        Some(c) if !c["rest"].starts_with("//") => {
            let name = c
                .name("bracket")
                .or_else(|| c.name("colon"))
                .map(|m| m.as_str().trim().to_string());
            vec![Part {
                name,
                tagged: false,
                words: c["rest"].trim().to_string(),
            }]
        }
        _ => vec![Part {
            name: None,
            tagged: false,
            words: text,
        }],
    }
}

/// Caption text without markup: tags gone, entities decoded, lines joined.
fn clean(text: &str) -> String {
    let text = TAG.replace_all(text, "");
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ")
        .replace("&lrm;", "")
        .replace("&rlm;", "")
        .replace("&amp;", "&");
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{Speaker, SpeakerMap};

    fn with(map: &str) -> SpeakerMap {
        map.parse().unwrap()
    }

    #[test]
    fn voice_tags_name_speakers_and_cues_of_one_speaker_merge() {
        let vtt = "WEBVTT\n\nNOTE made by hand\n\n1\n00:00:00.600 --> 00:00:03.000\n<v Ava>Thanks for calling.</v>\n\n\
                   2\n00:00:03.000 --> 00:00:05.000\n<v Ava>How can I help?</v>\n\n00:05.800 --> 00:00:08.000\n<v.loud Maria Lopez>Hi &amp; hello</v>\n";
        let map = with("Ava=agent,Maria Lopez=customer");
        let parsed = webvtt(
            vtt,
            Context {
                speaker_map: Some(&map),
                twilio: None,
            },
        )
        .unwrap();
        let got: Vec<(Speaker, &str, Option<f64>)> = parsed
            .turns
            .iter()
            .map(|t| (t.speaker, t.text.as_str(), t.offset_secs))
            .collect();
        assert_eq!(
            got,
            [
                (Speaker::Agent, "Thanks for calling. How can I help?", Some(0.6)),
                (Speaker::Customer, "Hi & hello", Some(5.8))
            ]
        );
    }

    #[test]
    fn srt_name_prefixes_and_unnamed_continuations() {
        let input = "1\n00:00:00,600 --> 00:00:03,000\nAgent: Thanks for calling.\n\n2\n00:00:03,000 --> 00:00:04,000\nHow can I help?\n\n\
                   3\n00:00:05,800 --> 00:00:08,000\nCustomer: Hi. Note: urgent.\n";
        let parsed = srt(input, Context::default()).unwrap();
        let got: Vec<(Speaker, &str)> = parsed.turns.iter().map(|t| (t.speaker, t.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Speaker::Agent, "Thanks for calling. How can I help?"),
                (Speaker::Customer, "Hi. Note: urgent.")
            ]
        );
    }

    #[test]
    fn sound_cues_are_not_speakers() {
        let input = "1\n00:00:00,000 --> 00:00:01,000\n[Music]\n\n2\n00:00:01,000 --> 00:00:02,000\nAgent: Hello.\n\n\
                     3\n00:00:02,000 --> 00:00:03,000\n[Music]\n\n4\n00:00:03,000 --> 00:00:04,000\nCustomer: Hi.\n";
        let parsed = srt(input, Context::default()).unwrap();
        let texts: Vec<&str> = parsed.turns.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["Hello.", "Hi."]);
        assert!(parsed.warnings.is_empty(), "{:?}", parsed.warnings);
    }

    #[test]
    fn captions_without_speakers_are_an_error() {
        let err = webvtt("WEBVTT\n\n00:01.000 --> 00:02.000\nhello\n", Context::default()).unwrap_err();
        assert!(matches!(err, Unread::Invalid(e) if e.contains("name no speakers")));
    }
}
