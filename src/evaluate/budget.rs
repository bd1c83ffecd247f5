//! `--max-cost` and `--max-tokens-total`: a budget checked before every request.
//!
//! Each request reserves its estimate before it is sent; it goes out only if what was
//! spent, plus what is reserved by requests in flight, plus its own estimate stays within
//! the limit. Otherwise the budget is reached: nothing more is scheduled, the requests in
//! flight finish (they are paid for already) and the run stops with what it has. What a
//! request really used replaces its estimate when it is answered, so the run can pass its
//! limit only by what the requests in flight used beyond their estimates.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::llm::price::{Prices, Tokens};

/// What the budget counts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Limit {
    /// USD, at each model's price on the run's tier.
    Usd(f64),
    /// Prompt plus completion tokens.
    Tokens(u64),
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Limit::Usd(usd) => write!(f, "--max-cost ${usd}"),
            Limit::Tokens(n) => write!(f, "--max-tokens-total {n}"),
        }
    }
}

pub struct Budget {
    limit: Limit,
    prices: Prices,
    state: Mutex<State>,
    reached: AtomicBool,
}

#[derive(Default)]
struct State {
    spent: f64,
    reserved: f64,
    /// Completion tokens of the answered requests, and how many there were: what answers
    /// really take replaces the prior guess once a few are in.
    completion_tokens: u64,
    answered: u64,
}

/// Answers seen before their mean replaces the prior guess of an answer's length.
const ANSWERS_BEFORE_LEARNING: u64 = 4;

/// A request's claim on the budget; hand it back with [`Budget::settle`].
#[derive(Debug)]
pub struct Reservation {
    amount: f64,
}

impl Budget {
    pub fn new(limit: Limit, prices: Prices) -> Budget {
        Budget {
            limit,
            prices,
            state: Mutex::new(State::default()),
            reached: AtomicBool::new(false),
        }
    }

    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// What `tokens` of `model` count against the budget. A model without a price counts
    /// nothing against a cost budget; the plan refuses `--max-cost` for such a run.
    pub fn measure(&self, model: &str, tokens: Tokens) -> f64 {
        match self.limit {
            Limit::Usd(_) => self.prices.cost(model, tokens).unwrap_or(0.0),
            Limit::Tokens(_) => (tokens.prompt + tokens.completion) as f64,
        }
    }

    /// Reserves `estimate` for a request about to be sent, or `None` (and the budget is
    /// reached from then on) when it would pass the limit.
    pub fn reserve(&self, estimate: f64) -> Option<Reservation> {
        if self.is_reached() {
            return None;
        }
        let limit = match self.limit {
            Limit::Usd(usd) => usd,
            Limit::Tokens(n) => n as f64,
        };
        let mut state = self.state.lock().expect("budget lock");
        if state.spent + state.reserved + estimate > limit {
            self.reached.store(true, Ordering::SeqCst);
            return None;
        }
        state.reserved += estimate;
        Some(Reservation { amount: estimate })
    }

    /// Replaces a reservation's estimate by what the request really used (`used`, in the
    /// budget's unit; `completion_tokens` of its answer, 0 if it failed).
    pub fn settle(&self, reservation: Reservation, used: f64, completion_tokens: u64) {
        let mut state = self.state.lock().expect("budget lock");
        state.reserved = (state.reserved - reservation.amount).max(0.0);
        state.spent += used;
        if completion_tokens > 0 {
            state.completion_tokens += completion_tokens;
            state.answered += 1;
        }
    }

    /// The completion tokens to expect of the next answer: `prior` (a guess from the
    /// request's questions) until a few answers are in, then what they took on average.
    pub fn expected_completion(&self, prior: u64) -> u64 {
        let state = self.state.lock().expect("budget lock");
        if state.answered < ANSWERS_BEFORE_LEARNING {
            return prior;
        }
        state.completion_tokens.div_ceil(state.answered)
    }

    pub fn is_reached(&self) -> bool {
        self.reached.load(Ordering::SeqCst)
    }

    /// What the answered requests used, in the budget's unit.
    #[cfg(test)]
    pub fn spent(&self) -> f64 {
        self.state.lock().expect("budget lock").spent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_sent_only_if_spent_reserved_and_its_estimate_fit() {
        let budget = Budget::new(Limit::Tokens(1000), Prices::default());
        let a = budget.reserve(400.0).expect("fits");
        let b = budget.reserve(400.0).expect("fits");
        assert!(budget.reserve(300.0).is_none(), "400 + 400 in flight + 300 > 1000");
        assert!(budget.is_reached());
        assert!(budget.reserve(1.0).is_none(), "once reached, nothing more is scheduled");
        // In-flight requests still settle, even beyond their estimate.
        budget.settle(a, 450.0, 50);
        budget.settle(b, 380.0, 30);
        assert_eq!(budget.spent(), 830.0);
    }

    #[test]
    fn the_answer_length_expected_is_learnt_from_the_answers() {
        let budget = Budget::new(Limit::Tokens(1_000_000), Prices::default());
        assert_eq!(budget.expected_completion(800), 800, "a guess before any answer");
        for used in [100, 120, 80, 100] {
            let r = budget.reserve(1.0).unwrap();
            budget.settle(r, 1.0, used);
        }
        assert_eq!(budget.expected_completion(800), 100);
    }

    #[test]
    fn a_cost_budget_measures_at_the_models_price() {
        let prices = Prices {
            default_model: "m".into(),
            default: Some(crate::spec::Price {
                input_per_mtok: 1.0,
                output_per_mtok: 4.0,
                cached_input_per_mtok: None,
            }),
            ..Prices::default()
        };
        let budget = Budget::new(Limit::Usd(1.0), prices);
        let tokens = Tokens {
            prompt: 1_000_000,
            cached_prompt: 0,
            completion: 250_000,
        };
        assert!((budget.measure("m", tokens) - 2.0).abs() < 1e-9);
        assert!(budget.reserve(budget.measure("m", tokens)).is_none());
    }
}
