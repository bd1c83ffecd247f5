//! The progress line on stderr: calls done/total, requests, retries, concurrency,
//! tokens, cost so far, ETA. Hidden when stderr is not a terminal or with `--quiet`.

use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::llm::Client;
use crate::llm::config::cost;
use crate::report::Usage;
use crate::spec::Price;

pub struct Progress {
    bar: ProgressBar,
    price: Option<Price>,
}

impl Progress {
    pub fn new(total_calls: usize, quiet: bool, price: Option<Price>) -> Progress {
        let visible = !quiet && std::io::stderr().is_terminal();
        let bar = ProgressBar::with_draw_target(
            Some(total_calls as u64),
            if visible {
                ProgressDrawTarget::stderr_with_hz(4)
            } else {
                ProgressDrawTarget::hidden()
            },
        );
        bar.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} calls · {msg} · ETA {eta}")
                .expect("valid template")
                .progress_chars("█▉▊▋▌▍▎▏ "),
        );
        if visible {
            bar.enable_steady_tick(Duration::from_millis(250));
        }
        Progress { bar, price }
    }

    pub fn call_done(&self, client: &Client, _usage: &Usage) {
        self.bar.inc(1);
        self.tick(client);
    }

    /// Refreshes the counters from the client's live statistics.
    pub fn tick(&self, client: &Client) {
        if self.bar.is_hidden() {
            return;
        }
        let stats = &client.stats;
        let prompt = stats.prompt_tokens.load(Ordering::Relaxed);
        let completion = stats.completion_tokens.load(Ordering::Relaxed);
        let cost = match &self.price {
            Some(price) => format!("${:.4}", cost(price, prompt, completion)),
            None => "cost unknown".into(),
        };
        self.bar.set_message(format!(
            "{} req · {} retries · concurrency {} · {} tok · {cost}",
            stats.requests.load(Ordering::Relaxed),
            stats.retries.load(Ordering::Relaxed),
            client.gate.limit(),
            human(prompt + completion),
        ));
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
