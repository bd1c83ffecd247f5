//! The progress line on stderr: calls done/total, requests, retries, concurrency,
//! tokens and output tokens per second, cost so far, ETA. Hidden when stderr is not a
//! terminal or with `--quiet`. Tokens per second is what tells a user of a CPU model that
//! it is working (and how fast) long before the first call is done.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::llm::client::Gate;
use crate::report::Usage;
use crate::terminal::eprintln;

/// Cloned for the scan's thread, which prints what it skips above the bar.
#[derive(Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar whose length grows with the calls the scan finds (see [`Progress::found`]).
    pub fn new(quiet: bool) -> Progress {
        let visible = !quiet && std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(
            Some(0),
            if visible {
                ProgressDrawTarget::stderr_with_hz(4)
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len}{prefix} calls · {msg} · ETA {eta}")
                .expect("valid template")
                .progress_chars("█▉▊▋▌▍▎▏ "),
        );
        if visible {
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        Progress { bar }
    }

    pub fn call_done(&self) {
        self.bar.inc(1);
    }

    /// The scan has found `calls` for the run so far; `all` once it has read every input
    /// (until then the count has a `+`, and the ETA is only of the calls found).
    pub fn found(&self, calls: usize, all: bool) {
        self.bar.set_length(calls as u64);
        self.bar.set_prefix(if all { "" } else { "+" });
    }

    /// Refreshes the counters: `usage` summed over every answered unit so far, what it
    /// cost (`None`: some model has no price), and the concurrency the rate-limit gate
    /// currently allows (read only when the line is shown: the gate's lock is the workers'
    /// hot path).
    pub fn update(&self, usage: &Usage, cost: Option<f64>, gate: &Gate) {
        if self.bar.is_hidden() {
            return;
        }
        let concurrency = gate.limit();
        let cost = match cost {
            Some(usd) => format!("${usd:.4}"),
            None => "cost unknown".into(),
        };
        let seconds = self.bar.elapsed().as_secs_f64().max(0.1);
        self.bar.set_message(format!(
            "{} req · {} retries · concurrency {concurrency} · {} tok · {:.0} tok/s out · {cost}",
            usage.requests,
            usage.retries,
            human(usage.prompt_tokens + usage.completion_tokens),
            usage.completion_tokens as f64 / seconds,
        ));
    }

    /// Prints `message` on its own line above the bar, which is redrawn after it (a plain
    /// `eprintln!` would tear it).
    pub fn warn(&self, message: &str) {
        self.bar.suspend(|| eprintln!("{message}"));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

fn human(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.2}M", n as f64 / 1e6),
    }
}
