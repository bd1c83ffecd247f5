//! `--rpm` / `--tpm`: pacing sends with token buckets, so a run (or every shard of one)
//! stays inside the rate budget a provider gives per minute instead of learning it from
//! 429s.
//!
//! It sits on top of the adaptive gate in `client.rs`, which still limits requests in
//! flight and still backs off on a 429: the buckets say how fast, the gate how many at
//! once. The buckets are governor's GCRA limiters; each holds `burst` seconds of its rate
//! (at least one request, or one request's tokens), full at the start, as providers' are.
//! Tokens are counted before the answer is known: the request's estimated prompt tokens
//! plus its `max_tokens`, which is how providers count a request against a token limit.
//!
//! The buckets keep a margin: [`RATE_MARGIN`] of the rate and [`BURST_MARGIN`] of the
//! burst. Paced at exactly the endpoint's rate, its bucket is empty whenever the next
//! request is due, so any request that travels faster than the one before it (there is
//! always jitter) finds nothing there and is answered 429.

use std::num::NonZeroU32;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::request::ChatRequest;

/// The share of `--rpm` / `--tpm` actually paced to.
pub const RATE_MARGIN: f64 = 0.98;
/// The share of the burst sent at once.
pub const BURST_MARGIN: f64 = 0.8;

/// What to pace to, per minute, for this process (already its shard's share).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceSettings {
    pub rpm: Option<f64>,
    pub tpm: Option<f64>,
    /// How many seconds of each rate may go at once.
    pub burst: Duration,
}

impl PaceSettings {
    /// This process's share when it runs `mine` of `total` calls: shards of uneven size
    /// then finish together instead of the big one running alone at the end.
    pub fn share(self, mine: usize, total: usize) -> PaceSettings {
        let part = if total == 0 { 1.0 } else { mine as f64 / total as f64 };
        PaceSettings {
            rpm: self.rpm.map(|r| r * part),
            tpm: self.tpm.map(|t| t * part),
            ..self
        }
    }

    pub fn is_set(&self) -> bool {
        self.rpm.is_some() || self.tpm.is_some()
    }
}

/// The buckets every worker of a run draws from.
pub struct Pacer {
    buckets: RwLock<Buckets>,
    clock: DefaultClock,
}

struct Buckets {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
}

impl Buckets {
    /// Full buckets, or, with `empty`, buckets whose burst is spent.
    fn new(settings: PaceSettings, empty: bool) -> Buckets {
        let requests = settings.rpm.and_then(|r| Bucket::new(r, settings.burst, 1, empty));
        // A token bucket must hold at least one sizeable request.
        let tokens = settings.tpm.and_then(|t| Bucket::new(t, settings.burst, 1_000, empty));
        Buckets { requests, tokens }
    }
}

struct Bucket {
    limiter: DefaultDirectRateLimiter,
    burst: NonZeroU32,
}

impl Bucket {
    /// A bucket refilled at `per_minute`, holding `burst` of it (at least `floor`); full, or
    /// `empty`.
    fn new(per_minute: f64, burst: Duration, floor: u32, empty: bool) -> Option<Bucket> {
        if per_minute <= 0.0 || per_minute.is_nan() {
            return None;
        }
        let per_minute = per_minute * RATE_MARGIN;
        let period = Duration::from_secs_f64((60.0 / per_minute).min(1e9));
        let size = (per_minute / 60.0 * burst.as_secs_f64() * BURST_MARGIN)
            .floor()
            .max(f64::from(floor));
        let burst = NonZeroU32::new(size.min(f64::from(u32::MAX)) as u32).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))?.allow_burst(burst);
        let limiter = RateLimiter::direct(quota);
        if empty {
            let _ = limiter.check_n(burst);
        }
        Some(Bucket { limiter, burst })
    }

    /// Takes `n` cells if they conform now (a request larger than the whole bucket takes a
    /// full one); otherwise how long until they would.
    fn try_take(&self, n: u32, clock: &DefaultClock) -> Option<Duration> {
        let n = NonZeroU32::new(n.min(self.burst.get())).unwrap_or(NonZeroU32::MIN);
        match self.limiter.check_n(n) {
            Ok(Ok(())) => None,
            Ok(Err(not_until)) => Some(not_until.wait_time_from(clock.now())),
            Err(_) => unreachable!("n is clamped to the burst"),
        }
    }
}

impl Pacer {
    /// `None` when neither rate is set.
    pub fn new(settings: PaceSettings) -> Option<Pacer> {
        let buckets = Buckets::new(settings, false);
        (buckets.requests.is_some() || buckets.tokens.is_some()).then(|| Pacer {
            buckets: RwLock::new(buckets),
            clock: DefaultClock::default(),
        })
    }

    /// Paces to `settings` from now on (a shard that learnt its share). The new buckets
    /// start empty: the old ones' burst has been sent already.
    pub fn reshare(&self, settings: PaceSettings) {
        let buckets = Buckets::new(settings, true);
        *self.buckets.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = buckets;
    }

    /// Waits until `request` may be sent. False when cancelled.
    pub fn wait(&self, request: &ChatRequest, max_tokens: Option<u32>, cancel: &AtomicBool) -> bool {
        self.take(|b| b.requests.as_ref(), 1, cancel)
            && self.take(|b| b.tokens.as_ref(), request_tokens(request, max_tokens), cancel)
    }

    /// Waits until `n` cells of the bucket `which` picks conform. False when cancelled.
    fn take(&self, which: fn(&Buckets) -> Option<&Bucket>, n: u32, cancel: &AtomicBool) -> bool {
        loop {
            if cancel.load(Ordering::Relaxed) {
                return false;
            }
            let wait = {
                let buckets = self.buckets.read().unwrap_or_else(|poisoned| poisoned.into_inner());
                which(&buckets).and_then(|bucket| bucket.try_take(n, &self.clock))
            };
            match wait {
                None => return true,
                // Wake periodically to notice cancellation (and a new share).
                Some(wait) => std::thread::sleep(wait.min(Duration::from_millis(100))),
            }
        }
    }
}

/// What a provider counts against a token limit before answering: the prompt's tokens
/// (estimated, as everywhere in postcall) and the most the answer may take.
fn request_tokens(request: &ChatRequest, max_tokens: Option<u32>) -> u32 {
    let chars: usize = request.messages.iter().map(|m| m.content.len()).sum();
    let prompt = crate::transcript::estimate_tokens_for_chars(chars);
    let answer = u64::from(request.max_tokens.or(max_tokens).unwrap_or(0));
    (prompt + answer).min(u64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::request::Message;
    use std::time::Instant;

    fn request(chars: usize) -> ChatRequest {
        ChatRequest {
            model: "m".into(),
            messages: vec![Message::system("x".repeat(chars))],
            schema: std::sync::Arc::new(serde_json::Value::Null),
            max_tokens: None,
            prompt_cache_key: None,
            seed: None,
        }
    }

    fn settings(rpm: Option<f64>, tpm: Option<f64>) -> PaceSettings {
        PaceSettings {
            rpm,
            tpm,
            burst: Duration::from_secs(1),
        }
    }

    #[test]
    fn requests_go_at_the_rate_after_a_burst_of_one_second() {
        // 600/min paced at 98 %: 9.8/s, a burst of 7 (80 % of a second's): 7 at once, then
        // one per 102 ms.
        let pacer = Pacer::new(settings(Some(600.0), None)).unwrap();
        let cancel = AtomicBool::new(false);
        let started = Instant::now();
        for _ in 0..7 {
            assert!(pacer.wait(&request(10), None, &cancel));
        }
        assert!(
            started.elapsed() < Duration::from_millis(50),
            "the burst waits for nothing"
        );
        for _ in 0..5 {
            assert!(pacer.wait(&request(10), None, &cancel));
        }
        let paced = started.elapsed();
        assert!(
            paced >= Duration::from_millis(450) && paced < Duration::from_millis(900),
            "{paced:?}"
        );
    }

    #[test]
    fn tokens_count_the_prompt_and_the_answer_limit() {
        assert_eq!(request_tokens(&request(400), Some(50)), 150);
        // 60,000 tokens/min, paced at 980/s with a burst of 1,000 (the floor): five
        // 400-token requests (2,000 tokens) take about a second.
        let pacer = Pacer::new(settings(None, Some(60_000.0))).unwrap();
        let cancel = AtomicBool::new(false);
        let started = Instant::now();
        for _ in 0..5 {
            assert!(pacer.wait(&request(1600), None, &cancel));
        }
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(800) && took < Duration::from_millis(1600),
            "{took:?}"
        );
    }

    #[test]
    fn a_shard_takes_its_share_by_its_calls_and_a_cancel_stops_the_wait() {
        let whole = settings(Some(6000.0), Some(1e6));
        let share = whole.share(250, 1000);
        assert_eq!(share.rpm, Some(1500.0));
        assert_eq!(share.tpm, Some(250_000.0));
        assert!(Pacer::new(settings(None, None)).is_none());

        let pacer = Pacer::new(settings(Some(1.0), None)).unwrap();
        let cancel = AtomicBool::new(false);
        assert!(pacer.wait(&request(1), None, &cancel));
        cancel.store(true, Ordering::Relaxed);
        assert!(
            !pacer.wait(&request(1), None, &cancel),
            "cancelled, not a minute's wait"
        );
    }

    #[test]
    fn a_reshared_pacer_goes_at_its_new_rate_without_a_second_burst() {
        // A shard starts at a quarter of 2,400/min (its burst: 7 at once), then learns its
        // share is 1,200/min: from then on one request per ~51 ms, and no burst of 16.
        let pacer = Pacer::new(settings(Some(600.0), None)).unwrap();
        let cancel = AtomicBool::new(false);
        for _ in 0..7 {
            assert!(pacer.wait(&request(10), None, &cancel));
        }
        pacer.reshare(settings(Some(1200.0), None));
        let started = Instant::now();
        for _ in 0..6 {
            assert!(pacer.wait(&request(10), None, &cancel));
        }
        let paced = started.elapsed();
        assert!(
            paced >= Duration::from_millis(250) && paced < Duration::from_millis(700),
            "{paced:?}"
        );
    }
}
