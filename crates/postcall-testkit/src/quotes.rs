//! The fake endpoint's `evidence`: quotes taken from the transcript it was sent, cited as a
//! good model cites them, or spoiled the ways real models spoil them, so a test can check
//! that postcall verifies what is right and catches what is not.

use serde_json::{Value, json};

/// How the fake's quotes relate to the transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Quotes {
    /// Words of one turn, copied exactly, under that turn's number.
    #[default]
    Exact,
    /// The same words as a transcription would garble them: lower case, no punctuation,
    /// one letter dropped from the longest word.
    Near,
    /// The exact words under the number of the next turn.
    WrongTurn,
    /// A sentence nobody said.
    Invented,
    /// No quote at all.
    None,
}

/// The turns of a rendered transcript as the prompt numbers them: `[3] Agent: text` gives
/// (3, "text"). Continuation lines of a turn are left out.
pub fn turns_in(transcript: &str) -> Vec<(usize, &str)> {
    transcript
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix('[')?;
            let (number, rest) = rest.split_once("] ")?;
            let number = number.parse().ok()?;
            // `[00:05] ` may follow, then `Speaker: `.
            let rest = match rest.strip_prefix('[').and_then(|r| r.split_once("] ")) {
                Some((_, after)) => after,
                None => rest,
            };
            let (_, text) = rest.split_once(": ")?;
            Some((number, text))
        })
        .collect()
}

/// The exact quote a well-behaved model gives for answer hash `h`: up to eight words of
/// one turn, or nothing when the transcript has no turns.
pub fn exact(transcript: &str, h: u64) -> Vec<Value> {
    exact_in(&turns_in(transcript), h)
}

/// [`exact`] over turns already read with [`turns_in`]: a request asks several metrics
/// about one transcript, and reading its lines once for all of them keeps the endpoint's
/// share of the benchmark's 2 cores small.
pub fn exact_in(turns: &[(usize, &str)], h: u64) -> Vec<Value> {
    if turns.is_empty() {
        return Vec::new();
    }
    let (number, text) = turns[(h % turns.len() as u64) as usize];
    let quote: Vec<&str> = text.split_whitespace().take(8).collect();
    vec![json!({"turn": number, "quote": quote.join(" ")})]
}

/// Spoils every metric's `evidence` in `answer` the way `mode` says.
pub fn spoil(answer: &mut Value, transcript: &str, mode: Quotes) {
    if mode == Quotes::Exact {
        return;
    }
    let turns = turns_in(transcript).len();
    let Some(metrics) = answer.as_object_mut() else {
        return;
    };
    for (id, metric) in metrics.iter_mut() {
        let Some(Value::Array(items)) = metric.get_mut("evidence") else {
            continue;
        };
        if mode == Quotes::None {
            items.clear();
        }
        for item in items.iter_mut() {
            match mode {
                Quotes::Near => {
                    let quote = item["quote"].as_str().unwrap_or_default();
                    item["quote"] = json!(garble(quote));
                }
                Quotes::WrongTurn => {
                    let turn = item["turn"].as_u64().unwrap_or(0);
                    item["turn"] = json!((turn + 1) % turns.max(2) as u64);
                }
                Quotes::Invented => {
                    item["quote"] = json!(format!("the caller demanded a supervisor about {id}"));
                }
                Quotes::Exact | Quotes::None => {}
            }
        }
    }
}

/// A transcription slip: lower case, punctuation gone, one letter dropped from the
/// longest word.
pub fn garble(quote: &str) -> String {
    let words: Vec<String> = quote
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let longest = (0..words.len()).max_by_key(|&i| words[i].chars().count());
    words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if Some(i) == longest && w.chars().count() > 3 {
                let middle = w.chars().count() / 2;
                w.chars()
                    .enumerate()
                    .filter(|(k, _)| *k != middle)
                    .map(|(_, c)| c)
                    .collect()
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRANSCRIPT: &str = "\n[0] Agent: Thanks for calling, how can I help?\n[1] [00:04] Customer: My refund never arrived, order 4417.\n  It has been weeks.\n";

    #[test]
    fn turns_are_read_with_their_numbers_and_without_speaker_or_time() {
        assert_eq!(
            turns_in(TRANSCRIPT),
            [
                (0, "Thanks for calling, how can I help?"),
                (1, "My refund never arrived, order 4417.")
            ]
        );
    }

    #[test]
    fn each_mode_spoils_the_quote_its_way() {
        let fresh = || json!({"m": {"evidence": exact(TRANSCRIPT, 1), "value": 1}});
        assert_eq!(
            fresh()["m"]["evidence"][0],
            json!({"turn": 1, "quote": "My refund never arrived, order 4417."})
        );
        let mut near = fresh();
        spoil(&mut near, TRANSCRIPT, Quotes::Near);
        assert_eq!(near["m"]["evidence"][0]["quote"], "my refund never arrved order 4417");
        let mut wrong = fresh();
        spoil(&mut wrong, TRANSCRIPT, Quotes::WrongTurn);
        assert_eq!(wrong["m"]["evidence"][0]["turn"], 0);
        let mut invented = fresh();
        spoil(&mut invented, TRANSCRIPT, Quotes::Invented);
        assert!(
            invented["m"]["evidence"][0]["quote"]
                .as_str()
                .unwrap()
                .contains("supervisor")
        );
        let mut none = fresh();
        spoil(&mut none, TRANSCRIPT, Quotes::None);
        assert_eq!(none["m"]["evidence"], json!([]));
    }
}
