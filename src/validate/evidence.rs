//! Whether the quotes an answer cites are in the transcript that was sent.
//!
//! A model can cite a sentence nobody said; a QA lead acting on the value needs to know.
//! Each quote is looked for in the turn it cites (turns numbered as the prompt numbers
//! them, see `prompt::shown_turns`), and failing that anywhere in the call, in that order,
//! so a quote put under the wrong turn still verifies and says where it really is.
//!
//! Matching is forgiving where transcripts are unreliable and strict where models invent:
//! case, punctuation and whitespace are ignored (a quote is compared as words), and a quote
//! of at least [`FUZZY_MIN_CHARS`] characters may differ from the transcript by a few
//! characters in five ([`MAX_EDIT_SHARE`]: "gonna"/"going to", a dropped "the", a
//! misheard name), measured with `strsim`'s Levenshtein distance over windows of the
//! turn's words. A short quote must match word for word: at three words, one edit is
//! already a different claim.
//!
//! Pure: the evaluator builds one [`Transcript`] per call and checks every answer with it.

use serde_json::Value as Json;

use crate::report::{Evidence, MetricResult};

/// Below this many characters (normalised) a quote must be found exactly.
pub const FUZZY_MIN_CHARS: usize = 12;
/// The share of a quote's characters that may differ from the transcript's words.
pub const MAX_EDIT_SHARE: f64 = 0.2;

/// What `--unverified-evidence` does with an `ok` answer none of whose quotes is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, strum::Display, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum Unverified {
    /// Ask once more, naming the quotes that were not found; flag it if that fails too.
    Reask,
    /// Keep the value and flag it (`evidence_unverified: true`).
    #[default]
    Flag,
    /// Keep the value unflagged (each quote still says whether it was found).
    Off,
}

/// The turns of a call as the prompt showed them, normalised once for every quote.
#[derive(Debug, Clone)]
pub struct Transcript {
    turns: Vec<Vec<String>>,
}

impl Transcript {
    /// `turns`: each shown turn's text, in the prompt's numbering.
    pub fn new<'a>(turns: impl IntoIterator<Item = &'a str>) -> Transcript {
        Transcript {
            turns: turns.into_iter().map(words).collect(),
        }
    }

    /// Where `quote` is: the cited turn first, then the others in order.
    pub fn locate(&self, quote: &str, cited: Option<usize>) -> Found {
        let quote = words(quote);
        if quote.is_empty() {
            return Found::Nowhere;
        }
        if let Some(turn) = cited.filter(|t| *t < self.turns.len())
            && contains(&self.turns[turn], &quote)
        {
            return Found::InCitedTurn;
        }
        (0..self.turns.len())
            .filter(|t| Some(*t) != cited)
            .find(|t| contains(&self.turns[*t], &quote))
            .map_or(Found::Nowhere, Found::InTurn)
    }

    /// Checks every quote of `result` in place, and flags an `ok` value with none found
    /// (unless `mode` is off). Returns whether the value is flagged.
    pub fn check(&self, result: &mut MetricResult, mode: Unverified) -> bool {
        let is_ok = matches!(result, MetricResult::Ok { .. });
        let Some(grounds) = result.grounds_mut() else {
            return false;
        };
        for evidence in &mut grounds.evidence {
            let (verified, elsewhere) = match self.locate(&evidence.quote, evidence.turn) {
                Found::InCitedTurn => (true, None),
                Found::InTurn(turn) => (true, Some(turn)),
                Found::Nowhere => (false, None),
            };
            evidence.verified = verified;
            evidence.found_in_turn = elsewhere;
        }
        grounds.evidence_unverified = is_ok && mode != Unverified::Off && !grounds.evidence.iter().any(|e| e.verified);
        grounds.evidence_unverified
    }
}

/// Why a value is asked again for its evidence: the quotes that were not found (or that
/// there were none), and what a quote must be.
pub fn reask_reason(evidence: &[Evidence]) -> String {
    let unfound: Vec<String> = evidence
        .iter()
        .filter(|e| !e.verified)
        .map(|e| match e.turn {
            Some(turn) => format!("\"{}\" (turn {turn})", e.quote),
            None => format!("\"{}\"", e.quote),
        })
        .collect();
    let what = if unfound.is_empty() {
        "the answer cites no evidence".to_string()
    } else {
        format!("these quotes are not in the transcript: {}", unfound.join(", "))
    };
    format!("{what}. Fill `evidence` with words copied exactly from the transcript, each with the number of its turn")
}

/// Where a quote was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    InCitedTurn,
    /// In another turn than the one cited (or the model cited none).
    InTurn(usize),
    Nowhere,
}

/// The `evidence` of one metric's answer, read leniently: each item an object with a
/// `quote` string and a `turn` (a whole number, or one in a string), or a bare string
/// quote. What is not a quote is dropped: evidence is advisory, and a malformed item is
/// as good as no quote (which is flagged), not worth calling the value invalid.
pub fn read_cited(evidence: Option<&Json>) -> Vec<Evidence> {
    let Some(Json::Array(items)) = evidence else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| {
            let (quote, turn) = match item {
                Json::String(quote) => (quote.as_str(), None),
                Json::Object(fields) => (fields.get("quote")?.as_str()?, fields.get("turn").and_then(turn_number)),
                _ => return None,
            };
            let quote = quote.trim();
            (!quote.is_empty()).then(|| Evidence {
                turn,
                quote: quote.to_string(),
                verified: false,
                found_in_turn: None,
            })
        })
        .collect()
}

fn turn_number(turn: &Json) -> Option<usize> {
    match turn {
        Json::Number(n) => n.as_u64().map(|n| n as usize),
        Json::String(s) => s.trim().trim_matches(['[', ']']).parse().ok(),
        _ => None,
    }
}

/// Lower-cased words, punctuation dropped: "I'd like a REFUND, please." → i, d, like, a,
/// refund, please. Digits are kept, so "order 1234" does not verify "order 1243".
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Whether `quote` (words) is in `turn` (words): exactly as a run of words, or, for a quote
/// long enough, within [`MAX_EDIT_SHARE`] of some run of about as many words.
fn contains(turn: &[String], quote: &[String]) -> bool {
    if turn.windows(quote.len()).any(|w| w == quote) {
        return true;
    }
    let quote_text = quote.join(" ");
    let chars = quote_text.chars().count();
    if chars < FUZZY_MIN_CHARS {
        return false;
    }
    let allowed = (chars as f64 * MAX_EDIT_SHARE).floor() as usize;
    // A dropped or added word ("going to" for "gonna") changes the count by one.
    let sizes = quote.len().saturating_sub(1).max(1)..=quote.len() + 1;
    sizes.filter(|&n| n <= turn.len()).any(|n| {
        turn.windows(n).any(|window| {
            let text = window.join(" ");
            text.chars().count().abs_diff(chars) <= allowed && strsim::levenshtein(&text, &quote_text) <= allowed
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Grounds, Value};

    fn call() -> Transcript {
        Transcript::new([
            "Thanks for calling Northwind, this is Dana. How can I help?",
            "Hi, I'm calling about order 4417. I was promised a refund last week and it never arrived.",
            "I'm sorry about that. I can see the refund of 42 dollars was issued on Monday.",
            "Okay, so I'm gonna wait for it then.",
        ])
    }

    #[test]
    fn an_exact_quote_verifies_in_its_turn_whatever_its_case_and_punctuation() {
        let t = call();
        assert_eq!(
            t.locate("I was promised a refund last week", Some(1)),
            Found::InCitedTurn
        );
        assert_eq!(
            t.locate("i WAS promised -- a refund, last week!", Some(1)),
            Found::InCitedTurn
        );
        assert_eq!(t.locate("  refund   of 42 dollars ", Some(2)), Found::InCitedTurn);
    }

    #[test]
    fn asr_noise_verifies_but_a_changed_number_does_not() {
        let t = call();
        // "going to" for "gonna", a dropped word, a misheard letter.
        assert_eq!(t.locate("so I'm going to wait for it", Some(3)), Found::InCitedTurn);
        assert_eq!(t.locate("I was promised refund last week", Some(1)), Found::InCitedTurn);
        assert_eq!(t.locate("thanks for calling northwhind", Some(0)), Found::InCitedTurn);
        // Short quotes must be exact: one edit is another claim.
        assert_eq!(t.locate("order 4418", Some(1)), Found::Nowhere);
        assert_eq!(t.locate("order 4417", Some(1)), Found::InCitedTurn);
    }

    #[test]
    fn a_quote_under_the_wrong_turn_is_found_where_it_is() {
        let t = call();
        assert_eq!(
            t.locate("the refund of 42 dollars was issued", Some(0)),
            Found::InTurn(2)
        );
        assert_eq!(t.locate("the refund of 42 dollars was issued", None), Found::InTurn(2));
        // A turn past the end is no turn at all.
        assert_eq!(t.locate("How can I help", Some(99)), Found::InTurn(0));
    }

    #[test]
    fn an_invented_quote_is_nowhere() {
        let t = call();
        assert_eq!(
            t.locate("the customer asked to speak to a manager", Some(1)),
            Found::Nowhere
        );
        assert_eq!(t.locate("I will cancel my subscription today", None), Found::Nowhere);
        assert_eq!(t.locate("...", Some(1)), Found::Nowhere);
    }

    fn ok_with(evidence: Vec<Evidence>) -> MetricResult {
        MetricResult::Ok {
            value: Value::Bool(true),
            confidence: None,
            reasoning: None,
            grounds: Grounds {
                evidence,
                ..Grounds::NONE
            },
        }
    }

    #[test]
    fn an_ok_value_with_no_quote_found_is_flagged_unless_the_mode_is_off() {
        let t = call();
        let cited = read_cited(Some(&serde_json::json!([
            {"turn": 1, "quote": "nobody said this at all"},
            {"turn": "2", "quote": "issued on Monday"},
        ])));
        let mut result = ok_with(cited);
        assert!(!t.check(&mut result, Unverified::Flag));
        let evidence = &result.grounds().unwrap().evidence;
        assert_eq!(
            evidence
                .iter()
                .map(|e| (e.verified, e.found_in_turn))
                .collect::<Vec<_>>(),
            [(false, None), (true, None)]
        );

        let mut invented = ok_with(read_cited(Some(&serde_json::json!(["a manager was called"]))));
        assert!(t.check(&mut invented, Unverified::Flag));
        assert!(invented.grounds().unwrap().evidence_unverified);
        assert!(!t.check(&mut invented, Unverified::Off));
        let mut none = ok_with(Vec::new());
        assert!(
            t.check(&mut none, Unverified::Reask),
            "an ok value with no quote at all is flagged"
        );
        let mut null = MetricResult::Null {
            confidence: None,
            reasoning: None,
            grounds: Grounds::NONE,
        };
        assert!(!t.check(&mut null, Unverified::Flag), "null needs no quote");
    }

    #[test]
    fn what_is_not_a_quote_is_dropped() {
        let cited = read_cited(Some(&serde_json::json!([
            {"turn": 1},
            {"quote": "  "},
            42,
            {"turn": -1, "quote": "kept, without a turn"},
            {"turn": "[3]", "quote": "gonna wait"},
        ])));
        assert_eq!(cited.len(), 2);
        assert_eq!((cited[0].turn, cited[1].turn), (None, Some(3)));
        assert!(read_cited(Some(&serde_json::json!("not a list"))).is_empty());
        assert!(read_cited(None).is_empty());
    }
}
