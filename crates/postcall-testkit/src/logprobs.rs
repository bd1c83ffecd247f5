//! The fake endpoint's token log-probabilities (`FakeConfig::logprobs`, for requests with
//! `logprobs: true`), in OpenAI's shape: `choices[0].logprobs.content`, one entry per token
//! with its text, bytes and logprob.
//!
//! The answer is cut into tokens as a tokenizer might: the text around the values in
//! chunks of a few characters, each metric's `value` in two tokens of its own (the first
//! holding an opening quote, the second the closing one). The two tokens of a value carry,
//! together, the probability [`value_probability`] gives it, so a test can check the
//! confidence postcall derived against the probability the fake sent. Every other token
//! has a clearly wrong probability of its own, so counting one of them shows.

use serde_json::{Value, json};

/// The logprob of every token that is not part of a value: e^-0.7 ≈ 0.5.
const FILLER_LOGPROB: f64 = -0.7;

/// The probability the fake gives to metric `id` answering `value` (its JSON text) about
/// `transcript`: between 0.3 and 1, different for each answer.
pub fn value_probability(transcript: &str, id: &str, value: &Value) -> f64 {
    let mut hasher = blake3::Hasher::new();
    for part in [transcript, id, &value.to_string()] {
        hasher.update(part.as_bytes());
        hasher.update(b"\0");
    }
    let x = u64::from_le_bytes(hasher.finalize().as_bytes()[..8].try_into().expect("8 bytes"));
    0.3 + 0.7 * ((x >> 11) as f64 / (1u64 << 53) as f64)
}

/// The answer text as the tokens spell it (the same JSON, laid out anew) and the
/// `logprobs` object of the choice. An answer that is not a JSON object is one chunked
/// text without values.
pub fn tokenize(answer: &str, transcript: &str) -> (String, Value) {
    let mut tokens = Tokens::default();
    match serde_json::from_str::<Value>(answer) {
        Ok(Value::Object(properties)) => {
            tokens.filler("{");
            for (i, (id, property)) in properties.iter().enumerate() {
                if i > 0 {
                    tokens.filler(", ");
                }
                tokens.filler(&format!("{}: ", Value::String(id.clone())));
                match property {
                    Value::Object(fields) if fields.contains_key("value") => {
                        tokens.filler("{");
                        for (j, (name, field)) in fields.iter().enumerate() {
                            if j > 0 {
                                tokens.filler(", ");
                            }
                            tokens.filler(&format!("{}: ", Value::String(name.clone())));
                            if name == "value" {
                                tokens.value(&field.to_string(), value_probability(transcript, id, field));
                            } else {
                                tokens.filler(&field.to_string());
                            }
                        }
                        tokens.filler("}");
                    }
                    other => tokens.filler(&other.to_string()),
                }
            }
            tokens.filler("}");
        }
        _ => tokens.filler(answer),
    }
    (tokens.text, json!({"content": tokens.entries, "refusal": null}))
}

#[derive(Default)]
struct Tokens {
    text: String,
    entries: Vec<Value>,
}

impl Tokens {
    fn push(&mut self, token: &str, logprob: f64) {
        self.text.push_str(token);
        self.entries.push(json!({
            "token": token,
            "logprob": logprob,
            "bytes": token.as_bytes(),
            "top_logprobs": [],
        }));
    }

    /// Text around the values, in chunks of up to four characters.
    fn filler(&mut self, text: &str) {
        let chars: Vec<char> = text.chars().collect();
        for chunk in chars.chunks(4) {
            self.push(&chunk.iter().collect::<String>(), FILLER_LOGPROB);
        }
    }

    /// A value's text in two tokens that together have probability `p` (one, when it is
    /// too short for both to hold some of it: a string needs two characters inside).
    fn value(&mut self, text: &str, p: f64) {
        let chars: Vec<char> = text.chars().collect();
        let shortest = if text.starts_with('"') { 4 } else { 2 };
        if chars.len() < shortest {
            self.push(text, p.ln());
            return;
        }
        let (first, second) = chars.split_at(chars.len() / 2);
        self.push(&first.iter().collect::<String>(), p.ln() * 0.4);
        self.push(&second.iter().collect::<String>(), p.ln() * 0.6);
    }
}
