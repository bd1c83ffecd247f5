//! `--max-cost` and `--max-tokens-total`: a budget checked before every request.
//!
//! Each request reserves its estimate before it is sent; it goes out only if what was
//! spent, plus what is reserved by requests in flight, plus its own estimate stays within
//! the limit. When only the reservations stand in the way, it waits for requests in flight
//! to settle (they settle at what they really used, usually less than reserved); when what
//! was spent already leaves no room for it, the budget is reached: nothing more is
//! scheduled, the requests in flight finish (they are paid for already) and the run stops
//! with what it has. What a request really used replaces its estimate when it is answered,
//! so the run can pass its limit only by what the requests in flight used beyond their
//! estimates — and, since they wait rather than give up, a run at high concurrency still
//! spends its budget instead of stopping at the first estimates that do not fit together.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

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
    /// Signalled when a request settles, for those waiting on its reservation.
    settled: Condvar,
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
            settled: Condvar::new(),
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

    /// Reserves `estimate` for a request about to be sent, waiting while requests in
    /// flight hold the room it needs. `None` (and the budget is reached from then on) when
    /// what was spent leaves no room for it; `None` without that when `cancel` is set while
    /// it waits.
    pub fn reserve(&self, estimate: f64, cancel: &AtomicBool) -> Option<Reservation> {
        let limit = match self.limit {
            Limit::Usd(usd) => usd,
            Limit::Tokens(n) => n as f64,
        };
        let mut state = self.state.lock().expect("budget lock");
        loop {
            if self.is_reached() || cancel.load(Ordering::Relaxed) {
                return None;
            }
            // Spending only grows: a request that does not fit beside what was spent never will.
            if state.spent + estimate > limit {
                self.reached.store(true, Ordering::SeqCst);
                drop(state);
                self.settled.notify_all();
                return None;
            }
            if state.spent + state.reserved + estimate <= limit {
                state.reserved += estimate;
                return Some(Reservation { amount: estimate });
            }
            // Woken by a settlement; the timeout only to notice `cancel`.
            state = self
                .settled
                .wait_timeout(state, Duration::from_millis(100))
                .expect("budget lock")
                .0;
        }
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
        drop(state);
        self.settled.notify_all();
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

    /// `reserve(estimate)` on another thread, never cancelled.
    fn reserve_in_thread(
        budget: &std::sync::Arc<Budget>,
        estimate: f64,
    ) -> std::thread::JoinHandle<Option<Reservation>> {
        let budget = std::sync::Arc::clone(budget);
        std::thread::spawn(move || budget.reserve(estimate, &AtomicBool::new(false)))
    }

    #[test]
    fn a_request_waits_for_the_reservations_in_flight_and_is_refused_only_by_what_was_spent() {
        let budget = std::sync::Arc::new(Budget::new(Limit::Tokens(1000), Prices::default()));
        let a = budget.reserve(400.0, &AtomicBool::new(false)).expect("fits");
        let b = budget.reserve(400.0, &AtomicBool::new(false)).expect("fits");
        let c = reserve_in_thread(&budget, 300.0);
        std::thread::sleep(Duration::from_millis(150));
        assert!(!c.is_finished(), "400 + 400 in flight + 300 > 1000: it waits");
        // In-flight requests settle, even beyond their estimate; 450 spent + 400 still
        // reserved leaves no room yet.
        budget.settle(a, 450.0, 50);
        std::thread::sleep(Duration::from_millis(150));
        assert!(!c.is_finished());
        budget.settle(b, 380.0, 30);
        assert!(c.join().unwrap().is_none(), "830 spent + 300 > 1000: never fits");
        assert!(budget.is_reached());
        assert!(
            budget.reserve(1.0, &AtomicBool::new(false)).is_none(),
            "once reached, nothing more is scheduled"
        );
        assert_eq!(budget.spent(), 830.0);
    }

    #[test]
    fn a_request_waiting_goes_out_once_answers_came_in_under_their_estimates() {
        let budget = std::sync::Arc::new(Budget::new(Limit::Tokens(1000), Prices::default()));
        let a = budget.reserve(400.0, &AtomicBool::new(false)).expect("fits");
        let _b = budget.reserve(400.0, &AtomicBool::new(false)).expect("fits");
        let c = reserve_in_thread(&budget, 300.0);
        budget.settle(a, 100.0, 20);
        assert!(c.join().unwrap().is_some(), "100 spent + 400 in flight + 300 fit");
        assert!(!budget.is_reached());
    }

    #[test]
    fn a_waiting_request_gives_up_when_the_run_is_cancelled() {
        let budget = std::sync::Arc::new(Budget::new(Limit::Tokens(1000), Prices::default()));
        let _a = budget.reserve(900.0, &AtomicBool::new(false)).expect("fits");
        let cancel = std::sync::Arc::new(AtomicBool::new(false));
        let waiter = {
            let (budget, cancel) = (std::sync::Arc::clone(&budget), std::sync::Arc::clone(&cancel));
            std::thread::spawn(move || budget.reserve(200.0, &cancel))
        };
        cancel.store(true, Ordering::Relaxed);
        assert!(waiter.join().unwrap().is_none());
        assert!(!budget.is_reached(), "an interruption is not the budget");
    }

    #[test]
    fn the_answer_length_expected_is_learnt_from_the_answers() {
        let budget = Budget::new(Limit::Tokens(1_000_000), Prices::default());
        assert_eq!(budget.expected_completion(800), 800, "a guess before any answer");
        for used in [100, 120, 80, 100] {
            let r = budget.reserve(1.0, &AtomicBool::new(false)).unwrap();
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
        assert!(
            budget
                .reserve(budget.measure("m", tokens), &AtomicBool::new(false))
                .is_none()
        );
    }
}
