//! Synthetic calls for the benchmark and for tests: deterministic, fast, with the size mix
//! of a real archive.
//!
//! Transcript sizes (the text said, not the JSON around it) follow a log-normal with a
//! median of 6 KB and 10 % of calls over 30 KB, clamped to [`MIN_CHARS`, `MAX_CHARS`] —
//! the clamp puts about 1.5 % of calls at 100 KB, the "few very long calls" every archive
//! has. Each call is a pure function of `(seed, index)`, so any subset can be regenerated
//! alone and the first N calls of a 100k set are the N-call set.

use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::json;

/// Median transcript size in characters.
pub const MEDIAN_CHARS: f64 = 6_000.0;
/// σ of ln(size): ln(30 KB / 6 KB) / z(0.90) = 1.609 / 1.2816, so 10 % are over 30 KB.
pub const SIGMA: f64 = 1.2557;
pub const MIN_CHARS: usize = 600;
pub const MAX_CHARS: usize = 100_000;
/// Calls per subdirectory, like a dated export tree.
pub const CALLS_PER_DIR: usize = 100;

/// A metric file with five metrics of mixed types (enum, integer, boolean, datetime,
/// multi-select list), asked in one request per call.
pub const METRICS_YAML: &str = r#"version: 1
strategy: per_call
context: These are calls to Northwind's customer support line (orders, deliveries, refunds).
metrics:
  - id: call_outcome
    type: enum
    choices: [resolved, escalated, transferred, abandoned, callback_scheduled]
    prompt: What was the outcome of the customer's main request by the end of the call?
    required: true
  - id: satisfaction_score
    type: integer
    range: [1, 5]
    prompt: Rate the customer's apparent satisfaction at the end of the call, from 1 to 5.
  - id: follow_up_needed
    type: boolean
    prompt: Does someone at the company need to act or call the customer back after this call?
  - id: promised_date
    type: datetime
    prompt: By what date did the agent promise the refund, delivery or resolution? Null if none.
  - id: topics
    type: list
    choices: [order_status, refund, delivery, billing, account, product_issue, other]
    prompt: Which of these topics came up during the call? Pick every one that applies.
"#;

/// What a generated set holds.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SetStats {
    pub calls: usize,
    /// Bytes of the JSON files.
    pub file_bytes: u64,
    /// Transcript characters: median, 90th percentile, largest.
    pub median_chars: usize,
    pub p90_chars: usize,
    pub max_chars: usize,
    /// Share of calls whose transcript is over 30 KB.
    pub share_over_30k: f64,
    /// Calls at the 100 KB clamp.
    pub at_100k: usize,
}

/// The transcript size of call `index` in set `seed`, in characters.
pub fn transcript_chars(seed: u64, index: usize) -> usize {
    let mut rng = Rng::new(seed, index as u64, 0x517e);
    // Box–Muller: one standard normal from two uniforms.
    let (u1, u2) = (rng.unit().max(f64::MIN_POSITIVE), rng.unit());
    let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
    let chars = MEDIAN_CHARS * (SIGMA * z).exp();
    (chars as usize).clamp(MIN_CHARS, MAX_CHARS)
}

/// The id of call `index`.
pub fn call_id(index: usize) -> String {
    format!("call-{index:06}")
}

/// Where call `index` lives under the set's root.
pub fn call_path(root: &Path, index: usize) -> PathBuf {
    root.join(format!("{:04}", index / CALLS_PER_DIR))
        .join(format!("{}.json", call_id(index)))
}

/// The JSON document of call `index` in the generic format
/// `{call_id, transcript: [{role, content}]}`.
pub fn call_json(seed: u64, index: usize) -> serde_json::Value {
    let target = transcript_chars(seed, index);
    let mut rng = Rng::new(seed, index as u64, 0x7e47);
    let mut turns = Vec::new();
    let mut said = 0usize;
    let mut agent = true;
    let order = 100_000 + rng.below(900_000);
    while said < target {
        let mut content = String::new();
        if turns.is_empty() {
            content.push_str(&format!(
                "Thanks for calling Northwind, this is {}. This is call {}. How can I help you today?",
                AGENTS[rng.below(AGENTS.len() as u64) as usize],
                call_id(index)
            ));
        } else {
            let lines = if agent { AGENT_LINES } else { CUSTOMER_LINES };
            for _ in 0..1 + rng.below(3) {
                if !content.is_empty() {
                    content.push(' ');
                }
                let line = lines[rng.below(lines.len() as u64) as usize];
                content.push_str(
                    &line
                        .replace("{order}", &order.to_string())
                        .replace("{n}", &(1 + rng.below(28)).to_string()),
                );
            }
        }
        said += content.len();
        turns.push(json!({"role": if agent { "agent" } else { "customer" }, "content": content}));
        agent = !agent;
    }
    json!({"call_id": call_id(index), "transcript": turns})
}

/// Writes calls `0..calls` of set `seed` under `root` (100 a folder), in parallel on the
/// global rayon pool, and the size statistics of the set.
pub fn write_calls(root: &Path, calls: usize, seed: u64) -> io::Result<SetStats> {
    let dirs = calls.div_ceil(CALLS_PER_DIR);
    let per_dir: Vec<(u64, Vec<usize>)> = (0..dirs)
        .into_par_iter()
        .map(|d| -> io::Result<(u64, Vec<usize>)> {
            let first = d * CALLS_PER_DIR;
            let last = (first + CALLS_PER_DIR).min(calls);
            std::fs::create_dir_all(call_path(root, first).parent().expect("has a parent"))?;
            let mut bytes = 0u64;
            let mut sizes = Vec::with_capacity(last - first);
            for index in first..last {
                let call = call_json(seed, index);
                let chars = call["transcript"].as_array().map_or(0, |t| {
                    t.iter().filter_map(|t| t["content"].as_str()).map(str::len).sum()
                });
                let body = serde_json::to_vec(&call).map_err(io::Error::other)?;
                bytes += body.len() as u64;
                std::fs::write(call_path(root, index), body)?;
                sizes.push(chars);
            }
            Ok((bytes, sizes))
        })
        .collect::<io::Result<_>>()?;
    let file_bytes = per_dir.iter().map(|(b, _)| b).sum();
    let mut sizes: Vec<usize> = per_dir.into_iter().flat_map(|(_, s)| s).collect();
    Ok(size_stats(&mut sizes, file_bytes))
}

fn size_stats(sizes: &mut [usize], file_bytes: u64) -> SetStats {
    sizes.sort_unstable();
    let at = |q: f64| sizes.get(((sizes.len() as f64 - 1.0) * q).round() as usize).copied();
    SetStats {
        calls: sizes.len(),
        file_bytes,
        median_chars: at(0.5).unwrap_or(0),
        p90_chars: at(0.9).unwrap_or(0),
        max_chars: sizes.last().copied().unwrap_or(0),
        share_over_30k: sizes.iter().filter(|&&s| s > 30_000).count() as f64 / sizes.len().max(1) as f64,
        at_100k: sizes.iter().filter(|&&s| s >= MAX_CHARS).count(),
    }
}

const AGENTS: &[&str] = &["Dana", "Priya", "Marcus", "Lena", "Tomás", "Aiko", "Femi", "Olga"];

const AGENT_LINES: &[&str] = &[
    "Could I have your order number and the email on the account, please?",
    "Thank you. I can see order {order} here; it left our warehouse on the {n}th.",
    "I'm sorry about the wait. Let me check with the carrier.",
    "The refund was issued this morning and should reach your card within {n} business days.",
    "I've escalated this to our delivery team; they will call you back by the {n}th.",
    "Is there anything else I can help you with today?",
    "I understand how frustrating that is. Let me see what I can do.",
    "For security, can you confirm the last four digits of the card you paid with?",
    "I've added a note to your account so the next agent sees the whole story.",
    "The replacement will ship tomorrow with express delivery at no extra cost.",
];

const CUSTOMER_LINES: &[&str] = &[
    "Hi, my order {order} never arrived and the tracking hasn't moved in a week.",
    "I was charged twice for the same order and I'd like one of the charges refunded.",
    "Sure, the email is on file, it's the one I always use.",
    "That's the third time I've called about this, honestly.",
    "Okay, and when exactly will I see the money back?",
    "The box arrived damaged and the blender inside is cracked.",
    "Can you send me an email confirmation of what we agreed?",
    "No, that's all, thank you for your help.",
    "I'd rather not wait another {n} days, is there anything faster?",
    "My account says the address is old; I moved last month.",
];

/// SplitMix64 seeded from (seed, index, stream): cheap, and each call its own stream.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, index: u64, stream: u64) -> Rng {
        let mut rng = Rng(seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ stream.rotate_left(32));
        rng.next();
        rng
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_archive_mix() {
        let mut sizes: Vec<usize> = (0..20_000).map(|i| transcript_chars(7, i)).collect();
        let stats = size_stats(&mut sizes, 0);
        assert!((5_500..6_500).contains(&stats.median_chars), "{stats:?}");
        assert!((0.08..0.12).contains(&stats.share_over_30k), "{stats:?}");
        assert!(stats.at_100k > 100 && stats.at_100k < 600, "{stats:?}");
        assert_eq!(stats.max_chars, MAX_CHARS);
    }

    #[test]
    fn calls_are_a_pure_function_of_seed_and_index() {
        assert_eq!(call_json(1, 42), call_json(1, 42));
        assert_ne!(call_json(1, 42), call_json(2, 42));
        let call = call_json(1, 42);
        assert_eq!(call["call_id"], "call-000042");
        let chars: usize = call["transcript"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["content"].as_str().unwrap().len())
            .sum();
        assert!(chars >= transcript_chars(1, 42), "{chars}");
        assert!(chars < transcript_chars(1, 42) + 1_000, "{chars}");
    }

    #[test]
    fn written_sets_load_as_generic_calls() {
        let dir = tempfile::tempdir().unwrap();
        let stats = write_calls(dir.path(), 250, 3).unwrap();
        assert_eq!(stats.calls, 250);
        assert!(call_path(dir.path(), 249).exists());
        assert!(dir.path().join("0002").is_dir());
        let options = postcall::transcript::LoadOptions::default();
        let catalog = postcall::transcript::Catalog::scan(&[dir.path().to_path_buf()], &options);
        assert!(catalog.errors.is_empty(), "{:?}", catalog.errors);
        assert_eq!(catalog.entries.len(), 250);
        assert_eq!(catalog.entries[0].format, postcall::transcript::Format::Generic);
        assert_eq!(catalog.entries[7].id, "call-000007");
    }
}
