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

use std::cell::OnceCell;

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

/// The turns of a call as the prompt showed them. A turn's words are normalised the first
/// time a quote is looked for in it: most quotes are found in the turn they cite, so most
/// turns of a long call are never normalised at all.
#[derive(Debug, Clone)]
pub struct Transcript<'a> {
    turns: Vec<Turn<'a>>,
}

#[derive(Debug, Clone)]
struct Turn<'a> {
    text: &'a str,
    words: OnceCell<Words>,
}

impl<'a> Transcript<'a> {
    /// `turns`: each shown turn's text, in the prompt's numbering.
    pub fn new(turns: impl IntoIterator<Item = &'a str>) -> Transcript<'a> {
        Transcript {
            turns: turns
                .into_iter()
                .map(|text| Turn {
                    text,
                    words: OnceCell::new(),
                })
                .collect(),
        }
    }

    fn words(&self, turn: usize) -> &Words {
        let turn = &self.turns[turn];
        turn.words.get_or_init(|| Words::of(turn.text))
    }

    /// Where `quote` is: the cited turn first, then the others in order.
    pub fn locate(&self, quote: &str, cited: Option<usize>) -> Found {
        let quote = Words::of(quote);
        if quote.is_empty() {
            return Found::Nowhere;
        }
        if let Some(turn) = cited.filter(|t| *t < self.turns.len())
            && contains(self.words(turn), &quote)
        {
            return Found::InCitedTurn;
        }
        (0..self.turns.len())
            .filter(|t| Some(*t) != cited)
            .find(|t| contains(self.words(*t), &quote))
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

/// A text's words, lower-cased, punctuation dropped: "I'd like a REFUND, please." → i, d,
/// like, a, refund, please. Digits are kept, so "order 1234" does not verify "order 1243".
/// Held as one string, the words joined by single spaces, with where each word starts: a
/// run of words is then a slice of it (no string built per word, nor per window), and
/// equal runs are equal slices, since no word holds a space.
#[derive(Debug, Clone)]
struct Words {
    text: String,
    starts: Vec<usize>,
}

impl Words {
    fn of(text: &str) -> Words {
        let mut words = Words {
            text: String::with_capacity(text.len()),
            starts: Vec::new(),
        };
        for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            if !words.starts.is_empty() {
                words.text.push(' ');
            }
            words.starts.push(words.text.len());
            if word.is_ascii() {
                words
                    .text
                    .extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
            } else {
                // Word by word, as `str::to_lowercase` reads a word's end (a final sigma).
                words.text.push_str(&word.to_lowercase());
            }
        }
        words
    }

    fn len(&self) -> usize {
        self.starts.len()
    }

    fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// Words `from..from + n`, as text.
    fn run(&self, from: usize, n: usize) -> &str {
        let last = from + n - 1;
        let end = self.starts.get(last + 1).map_or(self.text.len(), |next| next - 1);
        &self.text[self.starts[from]..end]
    }

    /// Every run of `n` words, in order.
    fn runs(&self, n: usize) -> impl Iterator<Item = &str> {
        (0..(self.len() + 1).saturating_sub(n)).map(move |from| self.run(from, n))
    }
}

/// Whether `quote` is in `turn`: exactly as a run of words, or, for a quote long enough,
/// within [`MAX_EDIT_SHARE`] of some run of about as many words.
fn contains(turn: &Words, quote: &Words) -> bool {
    if turn.runs(quote.len()).any(|run| run == quote.text) {
        return true;
    }
    let chars = quote.text.chars().count();
    if chars < FUZZY_MIN_CHARS {
        return false;
    }
    let allowed = (chars as f64 * MAX_EDIT_SHARE).floor() as usize;
    // A dropped or added word ("going to" for "gonna") changes the count by one.
    let sizes = quote.len().saturating_sub(1).max(1)..=quote.len() + 1;
    sizes.filter(|&n| n <= turn.len()).any(|n| {
        turn.runs(n).any(|run| {
            run.chars().count().abs_diff(chars) <= allowed && strsim::levenshtein(run, &quote.text) <= allowed
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Grounds, Value};

    fn call() -> Transcript<'static> {
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
    fn words_outside_ascii_are_compared_lower_cased_too() {
        let t = Transcript::new(["Die GRÖSSE stimmt, ΟΔΟΣ Αθηνάς 12."]);
        assert_eq!(t.locate("die grösse stimmt", Some(0)), Found::InCitedTurn);
        assert_eq!(t.locate("οδος αθηνάς 12", Some(0)), Found::InCitedTurn);
        assert_eq!(
            t.locate("Αθηνάς 13", Some(0)),
            Found::Nowhere,
            "short: exact or nothing"
        );
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
