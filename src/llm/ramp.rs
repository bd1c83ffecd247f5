//! How many requests may be in flight, as TCP decides its window: slow start until the
//! first 429, then additive increase and multiplicative decrease. Pure counting — no
//! clock, no locks — so the [`super::client::Gate`] that holds it stays a thin shell and
//! every step here is tested by feeding it outcomes.
//!
//! The shape, and why:
//! - **Slow start** from [`INITIAL_LIMIT`]: one more per success (doubling per round trip)
//!   up to [`DOUBLING_UNTIL`], then one more per two successes (×1.5). `--concurrency 64`
//!   against a 200 ms endpoint is full after about two round trips, while a run with
//!   `--concurrency 256` does not open with 256 requests against an endpoint that allows 20.
//!   Doubling all the way is what TCP does, but a 429 answers a round trip's sends only
//!   after they are all out: everything sent while the first 429 is on its way is sent
//!   into an empty bucket, and at ×2 that is twice as many as at ×1.5.
//! - **A 429 halves what was in flight when it came**, once per round trip (the other
//!   429s of a burst carry the old [`Round`]), and that level is the ceiling: it is known
//!   to be too many. What was in flight, not the limit: a limit far above the requests
//!   actually out (the endpoint's burst let slow start run ahead) halves to a limit still
//!   far above what the endpoint takes.
//! - **The rest of a burst cuts deeper**: each further 429 of the requests that were in
//!   flight at the cut is one fewer that the endpoint took, so it lowers the ceiling by
//!   one and the limit stays at half of it (down to a quarter of the first ceiling, so a
//!   burst in which everything was refused still leaves room to regrow fast). Without
//!   that the limit stayed above what the endpoint took, and the end of each pause let a
//!   herd of requests out at once into a bucket holding one token: a cascade of bursts,
//!   one cut each.
//! - **Fast regrowth to just under the ceiling** (one more per `limit / 2` successes, about
//!   two a round trip): what worked before is safe to return to; the ceiling itself is the
//!   level that drew the 429.
//! - **Slow probing from there** (one more per [`PROBE_ROUNDS`] × `limit` successes, i.e.
//!   every few round trips), so an endpoint that gains capacity is found again without
//!   knocking on the limit all the time.
//! - Never below 1, never above `--concurrency`.

/// Where the in-flight limit starts: large enough that the ramp reaches a typical
/// `--concurrency` within two or three round trips, small enough to fit a provider's burst.
pub const INITIAL_LIMIT: usize = 24;

/// Slow start doubles per round trip below this and grows by half per round trip above it.
pub const DOUBLING_UNTIL: usize = 32;

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
    /// No 429 yet.
    SlowStart,
    /// After a 429 with `ceiling` requests in flight (less the rest of its burst, down to
    /// `floor`).
    Avoidance { ceiling: usize, floor: usize },
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

    /// The level known to be too many, once there has been a 429.
    #[cfg(test)]
    pub fn ceiling(&self) -> Option<usize> {
        match self.phase {
            Phase::SlowStart => None,
            Phase::Avoidance { ceiling, .. } => Some(ceiling),
        }
    }

    fn successes_per_step(&self) -> usize {
        match self.phase {
            Phase::SlowStart if self.limit < DOUBLING_UNTIL => 1,
            Phase::SlowStart => 2,
            Phase::Avoidance { ceiling, .. } if self.limit + 1 < ceiling => (self.limit / 2).max(1),
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

    /// A 429 answered a request sent under `sent`, with `in_flight` others still out.
    /// Returns whether it started a cut (the first of a burst does).
    pub fn rate_limited(&mut self, sent: Round, in_flight: usize) -> bool {
        if sent.0 != self.round {
            // The rest of the burst the last cut started: one fewer taken.
            if sent.0 + 1 == self.round
                && let Phase::Avoidance { ceiling, floor } = &mut self.phase
            {
                *ceiling = (*ceiling - 1).max(*floor);
                self.limit = self.limit.min((*ceiling / 2).max(1));
            }
            return false;
        }
        let ceiling = (in_flight + 1).min(self.limit);
        self.phase = Phase::Avoidance {
            ceiling,
            floor: (ceiling / 4).max(1),
        };
        self.limit = (ceiling / 2).max(1);
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
    fn slow_start_doubles_per_round_trip_then_grows_by_half_up_to_the_concurrency() {
        let mut ramp = Ramp::new(64);
        assert_eq!(ramp.limit(), INITIAL_LIMIT);
        succeed(&mut ramp, DOUBLING_UNTIL - INITIAL_LIMIT);
        assert_eq!(ramp.limit(), DOUBLING_UNTIL, "one more per success below it");
        round_trip(&mut ramp);
        assert_eq!(ramp.limit(), 48, "one more per two successes above it");
        round_trip(&mut ramp);
        assert_eq!(ramp.limit(), 64);
        round_trip(&mut ramp);
        assert_eq!(ramp.limit(), 64, "never above --concurrency");
        assert_eq!(Ramp::new(4).limit(), 4, "never starts above --concurrency");
        assert_eq!(Ramp::new(0).limit(), 1);
    }

    #[test]
    fn a_burst_of_429s_cuts_once_from_what_was_in_flight_and_its_rest_cuts_deeper() {
        let mut ramp = Ramp::new(256);
        round_trip(&mut ramp);
        assert_eq!(ramp.limit(), 40);
        let sent = ramp.round();
        // 40 out, the first 429 back: 39 others still in flight.
        assert!(ramp.rate_limited(sent, 39));
        assert_eq!((ramp.limit(), ramp.ceiling()), (20, Some(40)));
        // Each further 429 of the burst is one fewer that the endpoint took.
        for in_flight in (30..39).rev() {
            assert!(
                !ramp.rate_limited(sent, in_flight),
                "the rest of the burst does not start a cut"
            );
        }
        assert_eq!((ramp.limit(), ramp.ceiling()), (15, Some(31)));
        // A request sent after the cut that still draws a 429 says 15 is too many too.
        assert!(ramp.rate_limited(ramp.round(), 14));
        assert_eq!((ramp.limit(), ramp.ceiling()), (7, Some(15)));
        // A straggler from the first burst cuts no more: it was sent before the last cut.
        assert!(!ramp.rate_limited(sent, 3));
        assert_eq!((ramp.limit(), ramp.ceiling()), (7, Some(15)));
    }

    #[test]
    fn a_limit_far_above_what_is_in_flight_is_cut_from_what_is() {
        let mut ramp = Ramp::new(256);
        succeed(&mut ramp, 200);
        assert_eq!(ramp.limit(), 128);
        // Only 30 out when the 429 came: 128 was never tried, 31 drew it.
        assert!(ramp.rate_limited(ramp.round(), 30));
        assert_eq!((ramp.limit(), ramp.ceiling()), (15, Some(31)));
    }

    #[test]
    fn a_burst_that_refuses_everything_leaves_a_quarter_to_regrow_to() {
        let mut ramp = Ramp::new(256);
        succeed(&mut ramp, 8);
        assert_eq!(ramp.limit(), 32);
        let sent = ramp.round();
        for in_flight in (0..32).rev() {
            ramp.rate_limited(sent, in_flight);
        }
        assert_eq!((ramp.limit(), ramp.ceiling()), (4, Some(8)));
        // Fast regrowth up to one under it, not probing from 1.
        succeed(&mut ramp, 2 + 2 + 3);
        assert_eq!(ramp.limit(), 7);
    }

    #[test]
    fn after_a_429_it_regrows_fast_to_just_under_the_ceiling_then_probes_slowly() {
        let mut ramp = Ramp::new(256);
        ramp.rate_limited(ramp.round(), 19);
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
            ramp.rate_limited(ramp.round(), 0);
        }
        assert_eq!(ramp.limit(), 1);
        succeed(&mut ramp, 10);
        assert_eq!(ramp.limit(), 2, "and grows back to --concurrency");
    }
}
