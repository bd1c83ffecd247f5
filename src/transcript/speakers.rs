//! Roles for speakers that a source names or numbers without saying who is the agent:
//! Deepgram's `speaker 0`, Twilio's media channels, caption voices (`<v Ava>`), plain-text
//! `Speaker 1:` labels.
//!
//! Parsers collect such turns as [`Labelled`] (each turn points at an interned label, so a
//! million-turn file keeps one copy of each name) and [`resolve`] turns labels into roles:
//! from `--speaker-map KEY=ROLE`, from labels that are role words (`Agent:`, `Customer:`), or
//! with `--speaker-map auto` from the evidence a person would use — who greets with "thank
//! you for calling", who asks "how can I help", and, when nobody says anything telling,
//! channel 0 of a multichannel call-center recording. The choice and its reason are kept
//! as a [`SpeakerInference`] on the call. Without a map and without `auto` nothing is
//! guessed: the error names the labels seen and the flag to pass.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::formats::common_role;
use super::{Speaker, SpeakerMap, Turn};

/// Which speaker `--speaker-map auto` took for the agent, and why, for one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpeakerInference {
    /// The label chosen as the agent, as the source spells it (`0`, `Speaker 1`, `Ava`).
    pub agent: String,
    /// Every other label, read as the customer.
    pub customers: Vec<String>,
    /// The evidence, in words a person can check against the transcript.
    pub reason: String,
}

/// Turns whose speakers are labels, before roles are known.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Labelled {
    labels: Vec<String>,
    index: HashMap<String, usize>,
    turns: Vec<LabelledTurn>,
    /// The label of recording channel 0, for sources where labels are channels and the
    /// first channel is 0 (the call-center convention `auto` may fall back on).
    channel_zero: Option<usize>,
    /// Labels are channels (`channel 1`) rather than diarized speakers (`speaker 1`).
    channels: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct LabelledTurn {
    label: usize,
    text: String,
    offset: Option<f64>,
}

impl Labelled {
    /// `channels`: the labels are recording channels, not diarized speakers.
    pub(crate) fn new(channels: bool) -> Labelled {
        Labelled {
            channels,
            ..Labelled::default()
        }
    }

    /// Adds a turn unless its text is empty (as `push_turn` does for role-labelled formats).
    pub(crate) fn push(&mut self, label: &str, text: &str, offset: Option<f64>) {
        self.push_owned(label, text.trim().to_string(), offset);
    }

    /// [`Labelled::push`] for text the caller already owns, which is kept rather than copied
    /// (a million-turn file should not hold its text twice).
    pub(crate) fn push_owned(&mut self, label: &str, mut text: String, offset: Option<f64>) {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return;
        }
        if trimmed.len() != text.len() {
            text = trimmed.to_string();
        }
        let label = self.intern(label.trim());
        self.turns.push(LabelledTurn { label, text, offset });
    }

    fn intern(&mut self, label: &str) -> usize {
        if let Some(&i) = self.index.get(label) {
            return i;
        }
        let i = self.labels.len();
        self.labels.push(label.to_string());
        self.index.insert(label.to_string(), i);
        if self.channels && matches!(label, "0" | "ch_0") {
            self.channel_zero = Some(i);
        }
        i
    }

    /// Joins consecutive turns of one speaker into one turn (at the first one's offset):
    /// recognisers and captioners split speech at pauses, not where the speaker changes.
    pub(crate) fn merge_runs(&mut self) {
        let mut merged: Vec<LabelledTurn> = Vec::with_capacity(self.turns.len());
        for turn in std::mem::take(&mut self.turns) {
            match merged.last_mut() {
                Some(last) if last.label == turn.label => {
                    last.text.push(' ');
                    last.text.push_str(&turn.text);
                }
                _ => merged.push(turn),
            }
        }
        self.turns = merged;
    }

    /// Orders turns by offset (stable, so untimed turns keep their order): channels of a
    /// multichannel recording arrive one after another, not interleaved.
    pub(crate) fn sort_by_offset(&mut self) {
        self.turns
            .sort_by(|a, b| a.offset.unwrap_or(0.0).total_cmp(&b.offset.unwrap_or(0.0)));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.turns.is_empty()
    }

    fn describe(&self, label: usize) -> String {
        let name = &self.labels[label];
        match (name.parse::<u64>().is_ok(), self.channels) {
            (true, true) => format!("channel {name}"),
            (true, false) => format!("speaker {name}"),
            _ => format!("`{name}`"),
        }
    }
}

/// Who speaks for each label, from `map`, from role-word labels, or by inference.
/// `what` names the source in messages ("Deepgram utterances", "caption voices").
pub(crate) fn resolve(
    labelled: Labelled,
    map: Option<&SpeakerMap>,
    what: &str,
) -> Result<(Vec<Turn>, Option<SpeakerInference>), String> {
    let explicit = map.and_then(SpeakerMap::roles);
    let mut roles: Vec<Option<Speaker>> = labelled
        .labels
        .iter()
        .map(|l| explicit.and_then(|m| m.get(l)).or_else(|| common_role(l)))
        .collect();
    let mut inference = None;
    if roles.iter().any(Option::is_none) {
        if map.is_some_and(SpeakerMap::is_auto) {
            let chosen = infer(&labelled, &roles)?;
            for role in roles.iter_mut().filter(|r| r.is_none()) {
                *role = Some(Speaker::Customer);
            }
            if let Some(agent) = chosen.0 {
                roles[agent] = Some(Speaker::Agent);
            }
            inference = Some(chosen.1);
        } else {
            return Err(unresolved_error(&labelled, &roles, explicit.is_some(), what));
        }
    }
    let turns = labelled
        .turns
        .into_iter()
        .map(|t| Turn {
            speaker: roles[t.label].expect("every label resolved above"),
            text: t.text,
            offset_secs: t.offset,
        })
        .collect();
    Ok((turns, inference))
}

fn unresolved_error(labelled: &Labelled, roles: &[Option<Speaker>], had_map: bool, what: &str) -> String {
    let mut seen: Vec<&str> = labelled.labels.iter().map(String::as_str).collect();
    seen.sort_by(|a, b| natural(a).cmp(&natural(b)));
    let seen = seen.join(", ");
    let mut missing: Vec<&str> = labelled
        .labels
        .iter()
        .zip(roles)
        .filter(|(_, r)| r.is_none())
        .map(|(l, _)| l.as_str())
        .collect();
    missing.sort_by(|a, b| natural(a).cmp(&natural(b)));
    let suggestion = suggested_map(&labelled.labels);
    if had_map {
        return format!(
            "speaker {} not in --speaker-map (saw {seen}); pass e.g. --speaker-map {suggestion}",
            missing.join(", ")
        );
    }
    format!(
        "{what} carry only numbered or named speakers (saw {seen}) and no roles; postcall does \
         not guess who is the agent. Pass --speaker-map {suggestion}, or --speaker-map auto to \
         pick the agent from what each speaker says"
    )
}

/// A map a user can paste: the first label seen as the agent, the rest customers, quoted
/// when a label holds a space.
fn suggested_map(labels: &[String]) -> String {
    let mut sorted: Vec<&String> = labels.iter().collect();
    sorted.sort_by(|a, b| natural(a).cmp(&natural(b)));
    let map = sorted
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{l}={}", if i == 0 { "agent" } else { "customer" }))
        .collect::<Vec<_>>()
        .join(",");
    if map.contains(' ') { format!("'{map}'") } else { map }
}

/// Numbers sort as numbers so `10` comes after `2` in messages.
fn natural(key: &str) -> (u64, &str) {
    (key.parse().unwrap_or(u64::MAX), key)
}

/// What an agent says and a customer does not, with how much it tells. Greetings with a
/// business name are near-certain; offers of help strong; asking for details suggestive.
const AGENT_PHRASES: &[(&str, i32)] = &[
    ("thank you for calling", 3),
    ("thanks for calling", 3),
    ("thank you for contacting", 3),
    ("thanks for contacting", 3),
    ("thank you for reaching", 3),
    ("thanks for reaching", 3),
    ("welcome to", 3),
    ("you've reached", 3),
    ("you have reached", 3),
    ("this call may be recorded", 3),
    ("this call is being recorded", 3),
    ("i'll be assisting you", 3),
    ("calling on behalf of", 3),
    ("calling from", 2),
    ("how can i help", 2),
    ("how may i help", 2),
    ("how can i assist", 2),
    ("how may i assist", 2),
    ("what can i do for you", 2),
    ("anything else i can help", 2),
    ("anything else i can do for you", 2),
    ("i can help you with", 1),
    ("can i have your", 1),
    ("may i have your", 1),
    ("can i get your", 1),
    ("could you spell", 1),
    ("can you give me the", 1),
    ("could you confirm", 1),
    ("let me check", 1),
    ("let me look", 1),
];

/// What customers say about their own business with the company.
const CUSTOMER_PHRASES: &[(&str, i32)] = &[
    ("i need help", 2),
    ("i need some help", 2),
    ("i'm calling about", 2),
    ("i am calling about", 2),
    ("i'm calling because", 2),
    ("i want to cancel", 2),
    ("i'd like to cancel", 2),
    ("can you help me", 1),
    ("my order", 1),
    ("my account", 1),
    ("my refund", 1),
    ("my bill", 1),
];

/// One speaker's evidence: phrases found, with the turn (1-based, in the whole call).
#[derive(Debug, Default)]
struct Evidence {
    score: i32,
    agent: Vec<(&'static str, usize)>,
    customer: Vec<(&'static str, usize)>,
}

/// Picks the agent among the labels not yet resolved (`None` when a label already says
/// it is the agent, so every open label is a customer), or says why it cannot.
fn infer(labelled: &Labelled, roles: &[Option<Speaker>]) -> Result<(Option<usize>, SpeakerInference), String> {
    let open: Vec<usize> = (0..labelled.labels.len()).filter(|&i| roles[i].is_none()).collect();
    let customers_of = |agent: Option<usize>| -> Vec<String> {
        open.iter()
            .filter(|&&i| Some(i) != agent)
            .map(|&i| labelled.labels[i].clone())
            .collect()
    };
    let chose = |agent: Option<usize>, name: usize, reason: String| {
        let inference = SpeakerInference {
            agent: labelled.labels[name].clone(),
            customers: customers_of(agent),
            reason,
        };
        Ok((agent, inference))
    };
    if let Some(agent) = roles.iter().position(|r| *r == Some(Speaker::Agent)) {
        let reason = format!(
            "{} is labelled as the agent, so the other speakers are customers",
            labelled.describe(agent)
        );
        return chose(None, agent, reason);
    }
    let evidence = gather(labelled, &open);
    let mut ranked: Vec<(usize, &Evidence)> = open.iter().copied().zip(evidence.iter()).collect();
    ranked.sort_by_key(|r| std::cmp::Reverse(r.1.score));
    let (best, best_ev) = ranked[0];
    let runner_up = ranked.get(1).map_or(i32::MIN, |r| r.1.score);
    if best_ev.score > 0 && best_ev.score > runner_up {
        return chose(Some(best), best, explain(labelled, best, best_ev, &ranked[1..]));
    }
    if best_ev.score <= 0
        && let Some(zero) = labelled.channel_zero.filter(|z| open.contains(z))
    {
        let reason = format!(
            "no speaker said anything only an agent says; took {} as the agent, where \
             call-center recorders put the agent (pass --speaker-map if yours does not)",
            labelled.describe(zero)
        );
        return chose(Some(zero), zero, reason);
    }
    let why = if best_ev.score <= 0 {
        "no speaker greets the caller, offers help or asks for their details".to_string()
    } else {
        format!(
            "{} and {} show the same evidence",
            labelled.describe(best),
            labelled.describe(ranked[1].0)
        )
    };
    Err(format!(
        "--speaker-map auto cannot tell who the agent is: {why}; pass --speaker-map {}",
        suggested_map(&labelled.labels)
    ))
}

fn gather(labelled: &Labelled, open: &[usize]) -> Vec<Evidence> {
    let mut evidence: Vec<Evidence> = open.iter().map(|_| Evidence::default()).collect();
    for (turn_no, turn) in labelled.turns.iter().enumerate() {
        let Some(slot) = open.iter().position(|&o| o == turn.label) else {
            continue;
        };
        let text = normalise(&turn.text);
        let ev = &mut evidence[slot];
        for &(phrase, weight) in AGENT_PHRASES {
            if !ev.agent.iter().any(|(p, _)| *p == phrase) && text.contains(phrase) {
                ev.agent.push((phrase, turn_no + 1));
                ev.score += weight;
            }
        }
        for &(phrase, weight) in CUSTOMER_PHRASES {
            if !ev.customer.iter().any(|(p, _)| *p == phrase) && text.contains(phrase) {
                ev.customer.push((phrase, turn_no + 1));
                ev.score -= weight;
            }
        }
    }
    evidence
}

/// Lower case, typographic apostrophes made plain, runs of space collapsed.
fn normalise(text: &str) -> String {
    let lower = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
    lower.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn explain(labelled: &Labelled, agent: usize, ev: &Evidence, others: &[(usize, &Evidence)]) -> String {
    let quote = |found: &[(&str, usize)]| {
        found
            .iter()
            .take(3)
            .map(|(p, t)| format!("\"{p}\" (turn {t})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut reason = format!("{} says {}", labelled.describe(agent), quote(&ev.agent));
    for (other, oev) in others {
        let said = if oev.customer.is_empty() {
            "nothing only an agent says".to_string()
        } else {
            format!("{}, as a customer would", quote(&oev.customer))
        };
        reason.push_str(&format!("; {} says {said}", labelled.describe(*other)));
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(turns: &[(&str, &str)]) -> Labelled {
        let mut l = Labelled::new(false);
        for (label, text) in turns {
            l.push(label, text, None);
        }
        l
    }

    fn auto() -> SpeakerMap {
        "auto".parse().unwrap()
    }

    #[test]
    fn auto_picks_the_speaker_who_greets_and_offers_help() {
        let l = call(&[
            ("1", "Hello?"),
            ("0", "Thank you for calling Acme, how can I help you?"),
            ("1", "I'm calling about my bill."),
        ]);
        let (turns, inference) = resolve(l, Some(&auto()), "utterances").unwrap();
        let inference = inference.expect("recorded");
        assert_eq!(inference.agent, "0");
        assert_eq!(inference.customers, ["1"]);
        for clue in [
            "\"thank you for calling\" (turn 2)",
            "speaker 1 says \"i'm calling about\"",
        ] {
            assert!(inference.reason.contains(clue), "{clue} not in {}", inference.reason);
        }
        let speakers: Vec<Speaker> = turns.iter().map(|t| t.speaker).collect();
        assert_eq!(speakers, [Speaker::Customer, Speaker::Agent, Speaker::Customer]);
    }

    #[test]
    fn auto_refuses_when_nobody_says_anything_telling() {
        let l = call(&[("A", "Hi."), ("B", "Hi there.")]);
        let err = resolve(l, Some(&auto()), "captions").unwrap_err();
        assert!(err.contains("cannot tell who the agent is"), "{err}");
        assert!(err.contains("--speaker-map A=agent,B=customer"), "{err}");
    }

    #[test]
    fn auto_falls_back_on_channel_zero_and_says_so() {
        let mut l = Labelled::new(true);
        l.push("1", "Yes.", Some(1.0));
        l.push("0", "Okay.", Some(0.0));
        let (_, inference) = resolve(l, Some(&auto()), "channels").unwrap();
        let inference = inference.unwrap();
        assert_eq!(inference.agent, "0");
        assert!(inference.reason.contains("channel 0"), "{}", inference.reason);
    }

    #[test]
    fn role_word_labels_need_no_map() {
        let l = call(&[("Agent", "Hi"), ("Customer", "Hello")]);
        let (turns, inference) = resolve(l, None, "text").unwrap();
        assert_eq!(turns[1].speaker, Speaker::Customer);
        assert_eq!(inference, None);
    }

    #[test]
    fn without_a_map_the_error_names_labels_and_both_flags() {
        let l = call(&[("Speaker 2", "Hi"), ("Speaker 1", "Hello")]);
        let err = resolve(l, None, "text").unwrap_err();
        assert!(err.contains("saw Speaker 1, Speaker 2"), "{err}");
        assert!(
            err.contains("--speaker-map 'Speaker 1=agent,Speaker 2=customer'"),
            "{err}"
        );
        assert!(err.contains("--speaker-map auto"), "{err}");
        let map: SpeakerMap = "speaker 1=agent".parse().unwrap();
        let l = call(&[("Speaker 2", "Hi"), ("Speaker 1", "Hello")]);
        let err = resolve(l, Some(&map), "text").unwrap_err();
        assert!(err.contains("speaker Speaker 2 not in --speaker-map"), "{err}");
    }

    #[test]
    fn merged_runs_keep_the_first_offset() {
        let mut l = Labelled::new(false);
        l.push("0", "Hello.", Some(0.5));
        l.push("0", "Welcome.", Some(1.5));
        l.push("1", "Hi.", Some(3.0));
        l.merge_runs();
        let map: SpeakerMap = "0=agent,1=customer".parse().unwrap();
        let (turns, _) = resolve(l, Some(&map), "x").unwrap();
        assert_eq!(turns.len(), 2);
        assert_eq!(
            (turns[0].text.as_str(), turns[0].offset_secs),
            ("Hello. Welcome.", Some(0.5))
        );
    }
}
