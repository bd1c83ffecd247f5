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

use std::time::{Duration, Instant};

/// Reads in flight at first: at latency 0 as fast as any more.
pub const START: usize = 16;

/// The most reads in flight: where a 30 ms round trip still paid (1,700 objects a second
/// against 900 at 32), at ~10 MB more than [`START`].
pub const MAX: usize = 128;

/// How much faster a doubled window must read to be kept.
const GAIN: f64 = 1.2;

/// A size is measured over at least this long, and over twice its reads: a round trip
/// brings a window's reads back together, and a short measurement on a busy machine is
/// mostly its scheduler.
const MEASURED_FOR: Duration = Duration::from_millis(50);

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
    settled: bool,
}

impl Window {
    pub fn new() -> Window {
        Window {
            size: START,
            warm_up: START,
            measuring: None,
            before: None,
            settled: false,
        }
    }

    /// Reads to keep in flight now.
    pub fn size(&self) -> usize {
        self.size
    }

    /// One more object came back and was handed on, at `now`.
    pub fn handed_on(&mut self, now: Instant) {
        if self.settled {
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
            Some(before) if rate < before => {
                self.size /= 2;
                self.settled = true;
            }
            Some(before) if rate < before * GAIN => self.settled = true,
            _ if self.size >= MAX => self.settled = true,
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
        assert_eq!(sizes, [16, 32, 64, 128]);
    }

    #[test]
    fn a_store_at_its_limit_keeps_the_start_window() {
        // The store's CPU is the limit: more in flight only queue there, and cost it a little.
        let sizes = run(10_000, |size| 3_500.0 - size as f64);
        assert_eq!(sizes, [16, 32, 16], "one doubling tried, and given up");
    }

    #[test]
    fn the_window_stops_where_doubling_stops_paying() {
        // A round trip of 30 ms until the store tops out near 1,000 objects a second.
        let sizes = run(10_000, |size| (size as f64 / 0.030).min(1_000.0) + size as f64);
        assert_eq!(
            sizes,
            [16, 32, 64],
            "64 read a little faster than 32: kept, and no more tried"
        );
    }

    #[test]
    fn a_short_listing_is_read_at_the_start_window() {
        let sizes = run(20, |size| size as f64 / 0.030);
        assert_eq!(sizes, [16]);
    }
}
