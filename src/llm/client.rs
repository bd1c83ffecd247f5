//! The thin layer that sends requests: blocking reqwest with connection reuse, retries with
//! jittered exponential backoff, and a [`Gate`] shared by all workers that pauses everyone
//! after a 429 and adapts how many requests are in flight. The client is built by
//! [`crate::net::client`]: no redirects are followed, bodies are read with a cap.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use super::config::{EndpointConfig, Provider};
use super::error::{ApiError, ErrorKind, Refusal, classify_status, parse_retry_after, redirected};
use super::pace::Pacer;
use super::ramp::{Ramp, Round};
use super::redact;
use super::request::{ChatRequest, wire_body};
use super::response::{Completion, parse_completion};
use crate::net::{self, BodyError, ClientOptions, Redirect, SecretUrl};
use crate::spec::limits::MaxTokens;

pub const BACKOFF_BASE: Duration = Duration::from_millis(500);
pub const BACKOFF_CAP: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_RETRIES: u32 = 6;
/// Where the pause after a flex "resource unavailable" starts: capacity comes back in
/// seconds to minutes, not in the half second a transient error takes.
pub const UNAVAILABLE_BACKOFF_BASE: Duration = Duration::from_secs(5);
pub const UNAVAILABLE_BACKOFF_CAP: Duration = Duration::from_secs(300);

/// The outcome of one logical request, with how many HTTP attempts it took.
#[derive(Debug)]
pub struct Attempted {
    pub result: Result<Completion, ApiError>,
    pub requests: u64,
    pub retries: u64,
}

pub struct Client {
    http: reqwest::blocking::Client,
    config: EndpointConfig,
    max_retries: u32,
    pub gate: Gate,
    /// `--rpm` / `--tpm`, when set: how fast, on top of the gate's how many at once.
    pace: Option<std::sync::Arc<Pacer>>,
    /// Requests answered with a 2xx, to tell a server that never answered from one that
    /// stopped answering. Usage (requests, retries, tokens) is not counted here: each
    /// [`Attempted`] carries its own and the scheduler sums them, so there is one count.
    answered: AtomicU64,
}

impl Client {
    pub fn new(config: EndpointConfig, concurrency: usize, max_retries: u32) -> anyhow::Result<Client> {
        let http = net::client(ClientOptions {
            timeout: config.timeout,
            idle_per_host: concurrency,
        })?;
        Ok(Client {
            http,
            config,
            max_retries,
            gate: Gate::new(concurrency),
            pace: None,
            answered: AtomicU64::new(0),
        })
    }

    /// Paces sends with `pace`'s buckets (`--rpm`, `--tpm`).
    pub fn with_pace(mut self, pace: Option<std::sync::Arc<Pacer>>) -> Client {
        self.pace = pace;
        self
    }

    pub fn config(&self) -> &EndpointConfig {
        &self.config
    }

    /// Sends `request`, retrying what is worth retrying. Returns early (with the last
    /// error) when `cancel` is set.
    pub fn complete(&self, request: &ChatRequest, cancel: &AtomicBool) -> Attempted {
        let body = wire_body(&self.config, request);
        let url = self.config.completions_url(&request.model);
        let mut requests = 0;
        let mut attempt = 0u32;
        loop {
            let Some(permit) = self.gate.acquire(cancel) else {
                return Attempted {
                    result: Err(ApiError::transient("cancelled")),
                    requests,
                    retries: attempt as u64,
                };
            };
            if let Some(pace) = &self.pace
                && !pace.wait(
                    request,
                    self.config.params.max_tokens.and_then(MaxTokens::limit),
                    cancel,
                )
            {
                self.gate.release(permit);
                return Attempted {
                    result: Err(ApiError::transient("cancelled")),
                    requests,
                    retries: attempt as u64,
                };
            }
            requests += 1;
            let result = self.send_once(&url, &body);
            match &result {
                Ok(_) => {
                    self.answered.fetch_add(1, Ordering::Relaxed);
                    self.gate.succeeded(permit);
                }
                Err(err) if err.kind == ErrorKind::RateLimited => {
                    let wait = err.retry_after.unwrap_or_else(|| backoff(attempt));
                    self.gate.rate_limited(permit, wait);
                }
                Err(_) => self.gate.release(permit),
            }
            match result {
                Err(err) if err.is_retryable() && attempt < self.max_retries && !cancel.load(Ordering::Relaxed) => {
                    // A rate limit already paused everyone through the gate.
                    let pause = match err.kind {
                        ErrorKind::RateLimited => None,
                        ErrorKind::Unavailable => Some(err.retry_after.unwrap_or_else(|| unavailable_backoff(attempt))),
                        _ => Some(err.retry_after.unwrap_or_else(|| backoff(attempt))),
                    };
                    if let Some(pause) = pause {
                        sleep_cancellable(pause, cancel);
                    }
                    attempt += 1;
                }
                result => {
                    return Attempted {
                        result: result.map_err(|e| self.escalate(e)),
                        requests,
                        retries: attempt as u64,
                    };
                }
            }
        }
    }

    /// An endpoint that has never answered and cannot be reached will not start answering
    /// for the next call either: stop the run with one message instead of failing every
    /// call after its retries.
    fn escalate(&self, mut err: ApiError) -> ApiError {
        if err.kind == ErrorKind::Unreachable && self.answered.load(Ordering::Relaxed) == 0 {
            err.kind = ErrorKind::Refused(super::error::Refusal::Unreachable);
        } else if err.kind == ErrorKind::Unreachable {
            err.kind = ErrorKind::Transient;
        }
        err
    }

    fn send_once(&self, url: &SecretUrl, body: &serde_json::Value) -> Result<Completion, ApiError> {
        let key = self.config.api_key.as_ref();
        let mut builder = self.http.post(url.expose()).json(body);
        if let Some(key) = key {
            builder = match self.config.provider {
                Provider::Azure { .. } => builder.header("api-key", key.expose()),
                _ => builder.bearer_auth(key.expose()),
            };
        }
        let response = builder.send().map_err(|e| transport_error(&e, key))?;
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let retry_after = parse_retry_after(
            header("retry-after-ms").as_deref(),
            header("retry-after").as_deref(),
            jiff::Timestamp::now(),
        );
        let should_retry = header("x-should-retry").map(|v| v.eq_ignore_ascii_case("true"));
        if let Some(redirect) = Redirect::of(&response) {
            return Err(redirected(&redirect));
        }
        if (200..300).contains(&status) {
            // The answer is data: parsed as it came, never rewritten. Only what an error
            // message quotes from it is redacted.
            let body = net::read_body(response, net::MAX_BODY_BYTES).map_err(|e| body_error(e, key))?;
            parse_completion(&String::from_utf8_lossy(&body)).map_err(|mut e| {
                e.message = redact(&e.message, key);
                e
            })
        } else {
            // The start of an error body says all there is to say; it may echo the key.
            let body = net::read_body_prefix(response, net::MAX_ERROR_BODY_BYTES)
                .map_err(|e| body_error(BodyError::Read(e), key))?;
            let text = redact(&String::from_utf8_lossy(&body), key);
            Err(classify_status(status, &text, should_retry, retry_after))
        }
    }
}

/// A body that could not be read: too large, or the connection failed while reading.
/// Both are worth another try.
fn body_error(err: BodyError, key: Option<&super::ApiKey>) -> ApiError {
    let text = match &err {
        BodyError::TooLarge { .. } => err.to_string(),
        BodyError::Read(io) => format!("reading the response failed: {io}"),
    };
    ApiError::transient(redact(&text, key))
}

fn transport_error(err: &reqwest::Error, key: Option<&super::ApiKey>) -> ApiError {
    let what = if err.is_builder() {
        "the request could not be built"
    } else if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "connection failed"
    };
    // reqwest's Display includes the URL; the full chain says why.
    let mut detail = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        detail.push_str(": ");
        detail.push_str(&cause.to_string());
        source = cause.source();
    }
    let mut error = ApiError::transient(redact(&format!("{what}: {detail}"), key));
    if err.is_builder() {
        // Nothing about the next attempt would differ.
        error.kind = ErrorKind::Refused(Refusal::Unbuildable);
    } else if err.is_connect() {
        error.kind = ErrorKind::Unreachable;
    }
    error
}

/// Full-jitter exponential backoff: uniform in [d/2, d] with d = base · 2^attempt, capped.
pub fn backoff(attempt: u32) -> Duration {
    jittered(BACKOFF_BASE, BACKOFF_CAP, attempt)
}

/// The pause after flex had no capacity: the same shape, from 5 s up to 5 minutes.
pub fn unavailable_backoff(attempt: u32) -> Duration {
    jittered(UNAVAILABLE_BACKOFF_BASE, UNAVAILABLE_BACKOFF_CAP, attempt)
}

fn jittered(base: Duration, cap: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
    let jitter = 0.5 + 0.5 * random_unit();
    exp.mul_f64(jitter)
}

fn random_unit() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is randomly keyed per process; hashing a counter gives cheap jitter
    // without a dependency.
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

fn sleep_cancellable(total: Duration, cancel: &AtomicBool) {
    let until = Instant::now() + total;
    while !cancel.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(100)));
    }
}

/// Admission control shared by every worker.
///
/// One "not before" instant: a 429 pauses all workers until its retry time, not only the
/// one that saw it. And a limit on requests in flight that ramps as TCP's window does
/// ([`Ramp`]: fast growth until the first 429, then one cut per round trip of 429s, from
/// what was in flight, and additive increase), so throughput settles just under the endpoint's limit
/// instead of oscillating through 429 storms.
pub struct Gate {
    state: Mutex<GateState>,
    changed: Condvar,
}

struct GateState {
    ramp: Ramp,
    in_flight: usize,
    not_before: Option<Instant>,
}

/// A slot taken from the gate; hand it back with one of the gate's methods.
#[derive(Debug)]
pub struct Permit {
    round: Round,
}

impl Gate {
    pub fn new(max: usize) -> Gate {
        Gate {
            state: Mutex::new(GateState {
                ramp: Ramp::new(max),
                in_flight: 0,
                not_before: None,
            }),
            changed: Condvar::new(),
        }
    }

    /// The current limit on requests in flight.
    pub fn limit(&self) -> usize {
        self.state.lock().expect("gate lock").ramp.limit()
    }

    /// Waits for a slot and for any rate-limit pause to pass. `None` when cancelled.
    pub fn acquire(&self, cancel: &AtomicBool) -> Option<Permit> {
        let mut state = self.state.lock().expect("gate lock");
        loop {
            if cancel.load(Ordering::Relaxed) {
                return None;
            }
            let now = Instant::now();
            let wait = match state.not_before {
                Some(t) if t > now => Some(t - now),
                _ => None,
            };
            match wait {
                None if state.in_flight < state.ramp.limit() => {
                    state.in_flight += 1;
                    return Some(Permit {
                        round: state.ramp.round(),
                    });
                }
                // Wake periodically to notice cancellation.
                _ => {
                    let nap = wait
                        .unwrap_or(Duration::from_millis(100))
                        .min(Duration::from_millis(100));
                    state = self.changed.wait_timeout(state, nap).expect("gate lock").0;
                }
            }
        }
    }

    pub fn release(&self, _permit: Permit) {
        let mut state = self.state.lock().expect("gate lock");
        state.in_flight -= 1;
        drop(state);
        self.changed.notify_one();
    }

    pub fn succeeded(&self, _permit: Permit) {
        let mut state = self.state.lock().expect("gate lock");
        state.in_flight -= 1;
        state.ramp.succeeded();
        drop(state);
        self.changed.notify_all();
    }

    pub fn rate_limited(&self, permit: Permit, wait: Duration) {
        let mut state = self.state.lock().expect("gate lock");
        state.in_flight -= 1;
        let until = Instant::now() + wait;
        if state.not_before.is_none_or(|t| t < until) {
            state.not_before = Some(until);
        }
        let in_flight = state.in_flight;
        state.ramp.rate_limited(permit.round, in_flight);
        drop(state);
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ramp::INITIAL_LIMIT;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 0..20 {
            let d = backoff(attempt);
            let full = BACKOFF_BASE.saturating_mul(1 << attempt.min(16)).min(BACKOFF_CAP);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(30) <= BACKOFF_CAP);
    }

    #[test]
    fn flex_without_capacity_waits_longer_than_a_transient_error() {
        for attempt in 0..12 {
            let d = unavailable_backoff(attempt);
            assert!(
                d >= UNAVAILABLE_BACKOFF_BASE / 2 && d <= UNAVAILABLE_BACKOFF_CAP,
                "attempt {attempt}: {d:?}"
            );
        }
        assert!(unavailable_backoff(0) > BACKOFF_BASE);
    }

    /// Lets `n` requests succeed one after another.
    fn succeed(gate: &Gate, n: usize) {
        let cancel = AtomicBool::new(false);
        for _ in 0..n {
            let p = gate.acquire(&cancel).unwrap();
            gate.succeeded(p);
        }
    }

    #[test]
    fn the_limit_starts_small_and_ramps_fast_until_the_first_429() {
        let gate = Gate::new(64);
        assert_eq!(gate.limit(), INITIAL_LIMIT);
        succeed(&gate, 8);
        assert_eq!(gate.limit(), 32);
        succeed(&gate, 200);
        assert_eq!(gate.limit(), 64, "never above --concurrency");
    }

    #[test]
    fn a_burst_of_429s_cuts_once_deeper_for_each_refusal_and_successes_grow_it_back() {
        let gate = Gate::new(64);
        assert_eq!(gate.limit(), 24);
        let cancel = AtomicBool::new(false);
        let permits: Vec<_> = (0..12).map(|_| gate.acquire(&cancel).unwrap()).collect();
        let refused: Vec<_> = (0..12).map(|_| gate.acquire(&cancel).unwrap()).collect();
        for p in refused {
            gate.rate_limited(p, Duration::ZERO);
        }
        // 24 in flight drew the first 429; 11 more refused: 13 is the level too many.
        assert_eq!(gate.limit(), 6, "half of what the endpoint took");
        for p in permits {
            gate.succeeded(p);
        }
        // Below the ceiling it recovers by one per limit/2 successes…
        assert_eq!(gate.limit(), 9);
        // …up to one under it, and above that probes slowly: one per 4 × limit.
        succeed(&gate, 2 + 5 + 5);
        assert_eq!(gate.limit(), 12);
        succeed(&gate, 47);
        assert_eq!(gate.limit(), 12);
        succeed(&gate, 1);
        assert_eq!(gate.limit(), 13);
    }

    #[test]
    fn limit_never_drops_below_one() {
        let gate = Gate::new(2);
        let cancel = AtomicBool::new(false);
        for _ in 0..5 {
            let p = gate.acquire(&cancel).unwrap();
            gate.rate_limited(p, Duration::ZERO);
        }
        assert_eq!(gate.limit(), 1);
    }

    #[test]
    fn a_429_pauses_every_worker_until_its_retry_time() {
        let gate = Gate::new(4);
        let cancel = AtomicBool::new(false);
        let p = gate.acquire(&cancel).unwrap();
        gate.rate_limited(p, Duration::from_millis(300));
        let start = Instant::now();
        let p = gate.acquire(&cancel).unwrap();
        assert!(start.elapsed() >= Duration::from_millis(250), "{:?}", start.elapsed());
        gate.release(p);
    }

    #[test]
    fn cancellation_unblocks_waiters() {
        let gate = Gate::new(1);
        let cancel = AtomicBool::new(false);
        let _held = gate.acquire(&cancel).unwrap();
        std::thread::scope(|s| {
            let waiter = s.spawn(|| gate.acquire(&cancel).is_none());
            std::thread::sleep(Duration::from_millis(50));
            cancel.store(true, Ordering::Relaxed);
            assert!(waiter.join().unwrap());
        });
    }
}
