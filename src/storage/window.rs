//! How many objects a read in order keeps in flight: as few as read as fast as more would.
//!
//! Every read in flight is a connection of its own (HTTP/1.1 asks one thing at a time on
//! each) with its buffers and a body on its way, some 80 KB each: `postcall inspect` of
//! 10,000 objects from s3s-fs on 127.0.0.1 peaked at 42.5 MB with 128 in flight, 30.3 MB
//! with 16 (19.4 MB from local disk). A store across a network needs the many: with each
//! request held 30 ms (`postcall-bench -s s3 --s3-latency-ms 30`) 16 in flight read some 500
//! objects a second and 128 some 2,200, the round trip sets the rate. A store on the same
//! machine does not: there 16 read as fast as 128, and more only queue at the store.
//!
//! So the window starts at [`START`] and doubles while doubling pays: each size is measured
//! (objects handed on a second, so a caller slower than the store counts as a store that is
//! fast enough), and the window grows again only when a size read [`GAIN`] times what half
//! of it did. The first size that did not pay ends the growth: it is kept when it read no
//! slower than half of it, given up for that one otherwise. Keeping it errs on the side of
//! speed: on a busy machine a measurement is noisy, and the 30 ms store above gains only
//! 1.3 × from 64 to 128, so a real gain can measure under [`GAIN`]; a size kept needlessly
//! costs memory only. The measurement begins once what was asked at the smaller size has
//! come back: those reads, and the new connections' handshakes, say nothing about the new
//! size.
//!
//! What pays can change during a run: a run resumed from its cache reads as fast as the
//! store answers, then at the endpoint's pace once the cached calls are behind it, and the
//! other way round. So a settled window tries doubling again every [`AGAIN_AFTER`] (below
//! [`MAX`]); a doubling tried again is kept only when it reads [`GAIN`] times faster, since
//! keeping it on noise each time would walk a window up to [`MAX`] over a long run.

use std::time::{Duration, Instant};

/// Reads in flight at first. The first doubling that does not pay is kept unless it reads
/// slower, so against a store on the same machine (the benchmark's in-memory store, where
/// 16 in flight read less than 1.2 × what 8 do) a window started at 16 settled at 32, and
/// one started at 8 settles at 16 (`ss` during the run): about 2 MB less at the peak of
/// 10,000 objects, in connections and their read buffers. Starting lower costs a store
/// across a network one more doubling to measure: `postcall inspect` of 10,000 objects at
/// 30 ms a request took 3.14 and 3.16 s against 3.06 and 3.08.
pub const START: usize = 8;

/// The most reads in flight: where a 30 ms round trip still paid (1,700 objects a second
/// against 900 at 32), at ~10 MB more than [`START`].
pub const MAX: usize = 128;

/// How much faster a doubled window must read to be kept.
const GAIN: f64 = 1.2;

/// A size is measured over at least this long, and over twice its reads: a round trip
/// brings a window's reads back together, and a short measurement on a busy machine is
/// mostly its scheduler.
const MEASURED_FOR: Duration = Duration::from_millis(50);

/// How long a settled window keeps its size before it tries doubling again.
const AGAIN_AFTER: Duration = Duration::from_secs(30);

/// The window of a read in order, told of each object handed on.
#[derive(Debug)]
pub struct Window {
    size: usize,
    /// Objects still to come back before the current size is measured.
    warm_up: usize,
    /// Since when the current size is measured, and what came back since.
    measuring: Option<(Instant, usize)>,
    /// Objects a second at half the current size (none at the start).
    before: Option<f64>,
    /// Since when the size has been kept, once the doubling stopped paying.
    settled: Option<Instant>,
    /// Whether the doubling measured is tried again after a settled size (see the module).
    again: bool,
}

impl Window {
    pub fn new() -> Window {
        Window {
            size: START,
            warm_up: START,
            measuring: None,
            before: None,
            settled: None,
            again: false,
        }
    }

    /// Reads to keep in flight now.
    pub fn size(&self) -> usize {
        self.size
    }

    /// One more object came back and was handed on, at `now`.
    pub fn handed_on(&mut self, now: Instant) {
        if let Some(since) = self.settled {
            if self.size >= MAX || now.saturating_duration_since(since) < AGAIN_AFTER {
                return;
            }
            // Measured afresh at this size, then doubled, as at the start.
            *self = Window {
                size: self.size,
                warm_up: self.size,
                measuring: None,
                before: None,
                settled: None,
                again: true,
            };
            return;
        }
        if self.warm_up > 0 {
            self.warm_up -= 1;
            if self.warm_up == 0 {
                self.measuring = Some((now, 0));
            }
            return;
        }
        let Some((since, count)) = self.measuring.as_mut() else {
            return;
        };
        *count += 1;
        let elapsed = now.saturating_duration_since(*since);
        if *count < 2 * self.size || elapsed < MEASURED_FOR {
            return;
        }
        let rate = *count as f64 / elapsed.as_secs_f64();
        match self.before {
            Some(before) if rate < before || (self.again && rate < before * GAIN) => {
                self.size /= 2;
                self.settled = Some(now);
            }
            Some(before) if rate < before * GAIN => self.settled = Some(now),
            _ if self.size >= MAX => self.settled = Some(now),
            _ => {
                // What is in flight now was asked at this size: the doubled one is measured
                // once those are back.
                self.warm_up = self.size;
                self.before = Some(rate);
                self.size *= 2;
                self.measuring = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands on `objects` objects from a store that brings back `rate(size)` objects a
    /// second at each window size; the sizes the window went through.
    fn run(objects: usize, rate: impl Fn(usize) -> f64) -> Vec<usize> {
        let mut window = Window::new();
        let mut now = Instant::now();
        let mut sizes = vec![window.size()];
        for _ in 0..objects {
            now += Duration::from_secs_f64(1.0 / rate(window.size()));
            window.handed_on(now);
            if sizes.last() != Some(&window.size()) {
                sizes.push(window.size());
            }
        }
        sizes
    }

    #[test]
    fn a_store_across_a_network_gets_every_read_in_flight_it_pays_for() {
        // Each read takes 30 ms whatever the number in flight: the rate is the window's.
        let sizes = run(10_000, |size| size as f64 / 0.030);
        assert_eq!(sizes, [8, 16, 32, 64, 128]);
    }

    #[test]
    fn a_store_at_its_limit_keeps_the_start_window() {
        // The store's CPU is the limit: more in flight only queue there, and cost it a little.
        let sizes = run(10_000, |size| 3_500.0 - size as f64);
        assert_eq!(sizes, [8, 16, 8], "one doubling tried, and given up");
    }

    #[test]
    fn the_window_stops_where_doubling_stops_paying() {
        // A round trip of 30 ms until the store tops out near 1,000 objects a second.
        let sizes = run(10_000, |size| (size as f64 / 0.030).min(1_000.0) + size as f64);
        assert_eq!(
            sizes,
            [8, 16, 32, 64],
            "64 read a little faster than 32: kept, and no more tried"
        );
    }

    /// [`run`], with the store's rate a function of the time since the start too.
    fn run_timed(objects: usize, rate: impl Fn(usize, Duration) -> f64) -> Vec<usize> {
        let mut window = Window::new();
        let start = Instant::now();
        let mut now = start;
        let mut sizes = vec![window.size()];
        for _ in 0..objects {
            now += Duration::from_secs_f64(1.0 / rate(window.size(), now - start));
            window.handed_on(now);
            if sizes.last() != Some(&window.size()) {
                sizes.push(window.size());
            }
        }
        sizes
    }

    #[test]
    fn a_window_settled_while_the_caller_was_slow_grows_when_it_no_longer_is() {
        // 100 objects a second for the first minute (the endpoint's pace), then a store
        // 30 ms away (the cached calls of a resumed run, say).
        let sizes = run_timed(30_000, |size, t| {
            if t < Duration::from_secs(60) {
                100.0
            } else {
                size as f64 / 0.030
            }
        });
        assert_eq!(
            sizes,
            [8, 16, 32, 16, 32, 64, 128],
            "16 kept at the start (as fast as 8), 32 tried at 30 s and given up, kept at 60 s"
        );
    }

    #[test]
    fn a_doubling_tried_again_on_a_store_at_its_limit_is_given_up_each_time() {
        // Noise of a few per cent either way: kept at the start (no slower than half), never
        // again after, so the window does not walk up to MAX over a long run.
        let sizes = run_timed(600_000, |size, t| {
            let noise = if t.as_secs() % 7 < 3 { 1.03 } else { 0.98 };
            (3_000.0 + size as f64) * noise
        });
        assert!(sizes.len() >= 8, "tried again every 30 s: {sizes:?}");
        // Kept at twice the start, and never more than one doubling above that.
        assert!(sizes.iter().all(|&s| s <= 4 * START), "{sizes:?}");
        assert_eq!(sizes.last(), Some(&16), "{sizes:?}");
    }

    #[test]
    fn a_short_listing_is_read_at_the_start_window() {
        let sizes = run(20, |size| size as f64 / 0.030);
        assert_eq!(sizes, [START]);
    }
}
