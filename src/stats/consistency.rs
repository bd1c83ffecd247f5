//! `stats` on a report of `run --samples K`: how often each metric's samples agreed, and
//! which metrics are "flaky" — their mean consistency is below a threshold
//! (`--flaky-below`, 0.8 unless told), so one ask of them is close to a coin flip and their
//! values want a second look before anyone acts on them.

use serde::Serialize;

use crate::report::CallResult;

/// The threshold `--flaky-below` defaults to.
pub const DEFAULT_FLAKY_BELOW: f64 = 0.8;

/// One metric's consistency over the values that recorded one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsistencyTally {
    /// Values with a `consistency` (answered with more than one sample).
    pub values: usize,
    /// Their mean consistency, 0..1.
    pub mean: f64,
    /// The lowest one.
    pub min: f64,
    /// Values voted by fewer samples than the run asked (some failed or stayed invalid).
    pub short_votes: usize,
    /// `mean` is below the threshold.
    pub flaky: bool,
}

impl ConsistencyTally {
    /// The tally of `id` over `calls`; `None` when no value of it has a consistency.
    /// `asked` is the run's `--samples`, when the header says it.
    pub fn of<'a>(
        id: &str,
        calls: impl Iterator<Item = &'a CallResult>,
        asked: Option<u32>,
        flaky_below: f64,
    ) -> Option<ConsistencyTally> {
        let mut all = Vec::new();
        let mut short_votes = 0;
        for grounds in calls.filter_map(|c| c.metrics.get(id)).filter_map(|r| r.grounds()) {
            if let Some(c) = grounds.consistency {
                all.push(c);
                if let (Some(asked), Some(voted)) = (asked, grounds.samples) {
                    short_votes += usize::from(voted < asked);
                }
            }
        }
        if all.is_empty() {
            return None;
        }
        let mean = all.iter().sum::<f64>() / all.len() as f64;
        Some(ConsistencyTally {
            values: all.len(),
            mean,
            min: all.iter().copied().fold(f64::INFINITY, f64::min),
            short_votes,
            flaky: mean < flaky_below,
        })
    }

    /// `consistency 0.72 (min 0.33) over 40 values, FLAKY (below 0.80); 2 voted by fewer samples`.
    pub fn describe(&self, flaky_below: f64) -> String {
        let mut line = format!(
            "consistency {:.2} (min {:.2}) over {} values",
            self.mean, self.min, self.values
        );
        if self.flaky {
            line.push_str(&format!(", FLAKY (below {flaky_below:.2})"));
        }
        if self.short_votes > 0 {
            line.push_str(&format!("; {} voted by fewer samples than asked", self.short_votes));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Grounds, MetricResult, Value};

    fn call(consistency: Option<f64>, samples: Option<u32>) -> CallResult {
        let mut call = crate::report::testing::calls().remove(0);
        call.metrics.clear();
        call.metrics.insert(
            "m".into(),
            MetricResult::Ok {
                value: Value::Bool(true),
                confidence: None,
                reasoning: None,
                grounds: Grounds {
                    consistency,
                    samples,
                    ..Grounds::NONE
                },
            },
        );
        call
    }

    #[test]
    fn the_mean_of_the_values_that_have_one_and_flaky_below_the_threshold() {
        let calls = [
            call(Some(1.0), Some(5)),
            call(Some(0.6), Some(5)),
            call(Some(0.5), Some(4)),
            call(None, None),
        ];
        let tally = ConsistencyTally::of("m", calls.iter(), Some(5), 0.8).unwrap();
        assert_eq!(tally.values, 3);
        assert!((tally.mean - 0.7).abs() < 1e-12);
        assert_eq!((tally.min, tally.short_votes, tally.flaky), (0.5, 1, true));
        assert_eq!(
            tally.describe(0.8),
            "consistency 0.70 (min 0.50) over 3 values, FLAKY (below 0.80); 1 voted by fewer samples than asked"
        );
        let steady = ConsistencyTally::of("m", calls.iter(), Some(5), 0.7).unwrap();
        assert!(!steady.flaky, "0.70 is not below 0.70");
        assert_eq!(ConsistencyTally::of("m", calls[3..].iter(), Some(5), 0.8), None);
        assert_eq!(ConsistencyTally::of("other", calls.iter(), Some(5), 0.8), None);
    }
}
