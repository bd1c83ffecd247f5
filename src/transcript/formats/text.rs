//! Plain-text transcripts, the shape every archive has: a speaker label then what they said.
//!
//! Accepted, one turn per line: `Agent: …`, `[00:01:02] Speaker 1: …`, `00:01:02 Ava: …`,
//! `Speaker 1 (00:01:02): …`; and as blocks (Otter, Rev and most recorders): a header line
//! `Speaker 1  0:05` or `Speaker 1 (00:05):` with the words on the lines below. A line that
//! starts no turn continues the one before; lines before the first turn (a title, a date)
//! are not speech. A label is a speaker only when the file gives reason to think so — it is
//! a role word (`Agent`, `Customer`), numbered (`Speaker 2`), stamped with a time, or used
//! at least twice — so `Note: …` or `Price: $5` inside a turn stays text.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::{Context, Parsed, Unread, common_role, labelled_call};
use crate::transcript::speakers::Labelled;

/// `[ts] Label: text`, `ts Label: text`, `Label (ts): text`, `Label: text`.
static INLINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:[\[(]?(?P<ts1>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)[\])]?\s*[-–]?\s*)?(?P<label>\p{L}[\p{L}\p{N} .'’_&-]{0,39}?)\s*(?:[\[(](?P<ts2>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)[\])])?\s*:(?P<rest>.*)$",
    )
    .expect("valid regex")
});

/// `Label  0:05` or `Label 00:01:02` alone on a line: a block header.
static HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?P<label>\p{L}[\p{L}\p{N} .'’_&-]{0,39}?)\s+(?P<ts>\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?)$")
        .expect("valid regex")
});

/// `Speaker 1`, `Spk 2`, `Person 3`, `Participant 1`, `Caller 2`.
static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(speaker|spk|person|participant|caller|voice|channel)[ _-]?\d+$").expect("valid regex")
});

/// A line that might start a turn.
struct Start<'t> {
    label: &'t str,
    offset: Option<f64>,
    rest: &'t str,
    stamped: bool,
    /// A `Label  0:05` line with nothing said on it.
    header: bool,
}

fn start_of(line: &str) -> Option<Start<'_>> {
    if let Some(c) = HEADER.captures(line) {
        return Some(Start {
            label: c.name("label")?.as_str(),
            offset: parse_clock(c.name("ts")?.as_str()),
            rest: "",
            stamped: true,
            header: true,
        });
    }
    let c = INLINE.captures(line)?;
    let rest = c.name("rest").map_or("", |m| m.as_str());
    // `https://…` and `10:30` are not speakers.
    if rest.starts_with("//") {
        return None;
    }
    let ts = c.name("ts1").or_else(|| c.name("ts2")).map(|m| m.as_str());
    Some(Start {
        label: c.name("label")?.as_str().trim(),
        offset: ts.and_then(parse_clock),
        rest: rest.trim(),
        stamped: ts.is_some(),
        header: false,
    })
}

/// `1:02:03.5`, `01:02`, `00:01:02,250` as seconds.
pub(super) fn parse_clock(clock: &str) -> Option<f64> {
    let clock = clock.replace(',', ".");
    let parts: Vec<&str> = clock.split(':').collect();
    let (h, m, s) = match parts.as_slice() {
        [m, s] => ("0", *m, *s),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

pub(super) fn plain(text: &str, cx: Context<'_>) -> Result<Parsed, Unread> {
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let starts: Vec<Option<Start<'_>>> = lines.iter().map(|l| start_of(l)).collect();
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for start in starts.iter().flatten() {
        *uses.entry(start.label).or_default() += 1;
    }
    // A header line counts for its time only when words follow it (`Recorded 12:30` above
    // a title line would otherwise become a speaker).
    let text_follows =
        |i: usize| lines.get(i + 1).is_some_and(|l| !l.is_empty()) && starts.get(i + 1).is_some_and(Option::is_none);
    let is_speaker = |i: usize, s: &Start<'_>| {
        (s.stamped && (!s.header || text_follows(i)))
            || uses[s.label] >= 2
            || common_role(s.label).is_some()
            || NUMBERED.is_match(s.label)
    };
    // Turns as (label, text, offset), gathered whole before roles are given.
    let mut turns: Vec<(&str, String, Option<f64>)> = Vec::new();
    for (i, (line, start)) in lines.iter().zip(&starts).enumerate() {
        match start.as_ref().filter(|s| is_speaker(i, s)) {
            Some(s) => turns.push((s.label, s.rest.to_string(), s.offset)),
            None if line.is_empty() => {}
            None => {
                if let Some(last) = turns.last_mut() {
                    if !last.1.is_empty() {
                        last.1.push(' ');
                    }
                    last.1.push_str(line);
                }
            }
        }
    }
    // A README or a licence beside the exports is not a transcript: skipped, not an error.
    if turns.is_empty() {
        return Err(Unread::NotACall(
            "text without speaker labels, so not a transcript (a transcript writes each turn as \
             `Agent: …` / `Customer: …`, optionally after a [00:01:02] time)"
                .into(),
        ));
    }
    let mut labelled = Labelled::new(false);
    for (label, text, offset) in turns {
        labelled.push_owned(label, text, offset);
    }
    labelled.merge_runs();
    labelled_call(labelled, cx, "text speakers")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{Speaker, SpeakerMap};

    fn spoken(parsed: &Parsed) -> Vec<(Speaker, &str, Option<f64>)> {
        parsed
            .turns
            .iter()
            .map(|t| (t.speaker, t.text.as_str(), t.offset_secs))
            .collect()
    }

    #[test]
    fn role_labels_with_continuations_and_a_title() {
        let text = "Call with Northwind, 10 June\n\nAgent: Hello, how can I help?\nCustomer: My order\nis late. Note: it was a gift.\nAgent: Sorry.\n";
        let parsed = plain(text, Context::default()).unwrap();
        assert_eq!(
            spoken(&parsed),
            [
                (Speaker::Agent, "Hello, how can I help?", None),
                (Speaker::Customer, "My order is late. Note: it was a gift.", None),
                (Speaker::Agent, "Sorry.", None)
            ]
        );
    }

    #[test]
    fn timestamped_numbered_speakers_need_a_map() {
        let text = "[00:00:01] Speaker 1: Thanks for calling.\n[00:01:02.5] Speaker 2: Hi.\n";
        let err = plain(text, Context::default()).unwrap_err();
        assert!(
            matches!(&err, Unread::Invalid(e) if e.contains("saw Speaker 1, Speaker 2")),
            "{err:?}"
        );
        let map: SpeakerMap = "Speaker 1=agent,Speaker 2=customer".parse().unwrap();
        let cx = Context {
            speaker_map: Some(&map),
            twilio: None,
        };
        let parsed = plain(text, cx).unwrap();
        assert_eq!(parsed.turns[1].offset_secs, Some(62.5));
    }

    #[test]
    fn blocks_under_header_lines() {
        let text = "Ava Smith  0:00\nThanks for calling.\nHow can I help?\n\nMaria Lopez  0:05\nHi there.\n";
        let map: SpeakerMap = "auto".parse().unwrap();
        let cx = Context {
            speaker_map: Some(&map),
            twilio: None,
        };
        let parsed = plain(text, cx).unwrap();
        assert_eq!(
            spoken(&parsed),
            [
                (Speaker::Agent, "Thanks for calling. How can I help?", Some(0.0)),
                (Speaker::Customer, "Hi there.", Some(5.0))
            ]
        );
        assert_eq!(parsed.speaker_inference.unwrap().agent, "Ava Smith");
    }

    #[test]
    fn urls_and_clock_times_are_not_speakers() {
        assert!(start_of("https://example.invalid/x").is_none());
        assert!(start_of("10:30 is fine").is_none());
        assert_eq!(parse_clock("1:02:03,5"), Some(3723.5));
    }
}
