//! How many requests may be in flight, as TCP decides its window: slow start until the
//! first 429, then additive increase and multiplicative decrease. Pure counting — no
//! clock, no locks — so the [`super::client::Gate`] that holds it stays a thin shell and
//! every step here is tested by feeding it outcomes.
//!
//! The shape, and why:
//! - **Slow start** from [`INITIAL_LIMIT`], one more per success: the limit doubles every
//!   round trip, so `--concurrency 64` against a 200 ms endpoint is full after two round
//!   trips instead of seven, while a run with `--concurrency 256` still does not open with
//!   256 requests against an endpoint that allows 20.
//! - **A 429 halves the limit**, once per round trip: requests sent under the old limit
//!   answer 429 in a burst, and only the first of them cuts (the others carry the old
//!   [`Round`]). The limit that drew the 429 is remembered as the ceiling: it is known to
//!   be too many.
//! - **Fast regrowth to just under the ceiling** (one more per `limit / 2` successes, about
//!   two a round trip): what worked before is safe to return to. The old rule regrew *to*
//!   the ceiling, which is the level that had just drawn the 429, so a rate-limited run
//!   cycled through a 429 every few round trips.
//! - **Slow probing from there** (one more per [`PROBE_ROUNDS`] × `limit` successes, i.e.
//!   every few round trips), so an endpoint that gains capacity is found again without
//!   knocking on the limit all the time.
//! - Never below 1, never above `--concurrency`.

/// Where the in-flight limit starts: large enough that the doubling reaches a typical
/// `--concurrency` within two or three round trips, small enough to fit a provider's burst.
pub const INITIAL_LIMIT: usize = 16;

/// Round trips' worth of successes per step when probing above what is known to work.
pub const PROBE_ROUNDS: usize = 4;

/// Which cut a request was sent under: a 429 cuts only when it answers a request sent
/// since the last cut, so one burst of 429s is one cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Round(u64);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ramp {
    max: usize,
    limit: usize,
    successes: usize,
    phase: Phase,
    round: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No 429 yet: double per round trip.
    SlowStart,
    /// After a 429 at `ceiling` requests in flight.
    Avoidance { ceiling: usize },
}

impl Ramp {
    pub fn new(max: usize) -> Ramp {
        let max = max.max(1);
        Ramp {
            max,
            limit: INITIAL_LIMIT.min(max),
            successes: 0,
            phase: Phase::SlowStart,
            round: 0,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// What a request sent now is sent under.
    pub fn round(&self) -> Round {
        Round(self.round)
    }

    /// The limit at the last 429, once there has been one.
    #[cfg(test)]
    pub fn ceiling(&self) -> Option<usize> {
        match self.phase {
            Phase::SlowStart => None,
            Phase::Avoidance { ceiling } => Some(ceiling),
        }
    }

    fn successes_per_step(&self) -> usize {
        match self.phase {
            Phase::SlowStart => 1,
            Phase::Avoidance { ceiling } if self.limit + 1 < ceiling => (self.limit / 2).max(1),
            Phase::Avoidance { .. } => PROBE_ROUNDS * self.limit,
        }
    }

    pub fn succeeded(&mut self) {
        if self.limit >= self.max {
            return;
        }
        self.successes += 1;
        if self.successes >= self.successes_per_step() {
            self.limit += 1;
            self.successes = 0;
        }
    }

    /// A 429 answered a request sent under `sent`. Returns whether it cut the limit.
    pub fn rate_limited(&mut self, sent: Round) -> bool {
        if sent.0 != self.round {
            return false;
        }
        self.phase = Phase::Avoidance { ceiling: self.limit };
        self.limit = (self.limit / 2).max(1);
        self.successes = 0;
        self.round += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn succeed(ramp: &mut Ramp, n: usize) {
        for _ in 0..n {
            ramp.succeeded();
        }
    }

    /// One round trip at the current limit: every request in flight answers.
    fn round_trip(ramp: &mut Ramp) {
        let n = ramp.limit();
        succeed(ramp, n);
    }

    #[test]
    fn slow_start_doubles_per_round_trip_up_to_the_concurrency() {
        let mut ramp = Ramp::new(64);
        assert_eq!(ramp.limit(), INITIAL_LIMIT);
        round_trip(&mut ramp);
        assert_eq!(ramp.limit(), 32);
        round_trip(&mut ramp);
        assert_eq!(ramp.limit(), 64);
        round_trip(&mut ramp);
        assert_eq!(ramp.limit(), 64, "never above --concurrency");
        assert_eq!(Ramp::new(4).limit(), 4, "never starts above --concurrency");
        assert_eq!(Ramp::new(0).limit(), 1);
    }

    #[test]
    fn a_burst_of_429s_from_one_round_cuts_once() {
        let mut ramp = Ramp::new(256);
        round_trip(&mut ramp);
        assert_eq!(ramp.limit(), 32);
        let sent = ramp.round();
        assert!(ramp.rate_limited(sent));
        for _ in 0..31 {
            assert!(!ramp.rate_limited(sent), "the rest of the burst does not cut again");
        }
        assert_eq!((ramp.limit(), ramp.ceiling()), (16, Some(32)));
        // A request sent after the cut that still draws a 429 says 16 is too many too.
        assert!(ramp.rate_limited(ramp.round()));
        assert_eq!((ramp.limit(), ramp.ceiling()), (8, Some(16)));
    }

    #[test]
    fn after_a_429_it_regrows_fast_to_just_under_the_ceiling_then_probes_slowly() {
        let mut ramp = Ramp::new(256);
        succeed(&mut ramp, 4);
        assert_eq!(ramp.limit(), 20);
        ramp.rate_limited(ramp.round());
        assert_eq!((ramp.limit(), ramp.ceiling()), (10, Some(20)));
        // One more per limit/2 successes: about two a round trip.
        round_trip(&mut ramp);
        assert_eq!(ramp.limit(), 12);
        succeed(&mut ramp, 6 + 6 + 7 + 7 + 8 + 8 + 9);
        assert_eq!(ramp.limit(), 19, "stops one under the level that drew the 429");
        // Above that: one more per PROBE_ROUNDS round trips.
        succeed(&mut ramp, PROBE_ROUNDS * 19 - 1);
        assert_eq!(ramp.limit(), 19);
        succeed(&mut ramp, 1);
        assert_eq!(ramp.limit(), 20);
        succeed(&mut ramp, PROBE_ROUNDS * 20);
        assert_eq!(ramp.limit(), 21, "an endpoint that gained capacity is found again");
    }

    #[test]
    fn the_limit_never_drops_below_one() {
        let mut ramp = Ramp::new(2);
        for _ in 0..5 {
            ramp.rate_limited(ramp.round());
        }
        assert_eq!(ramp.limit(), 1);
        succeed(&mut ramp, 10);
        assert_eq!(ramp.limit(), 2, "and grows back to --concurrency");
    }
}
