//! Percentile bootstrap intervals for the coefficients: resample the calls with
//! replacement, recompute, take the 2.5th and 97.5th percentiles.
//!
//! Resampling n calls with replacement gives cell counts that are multinomial(n, observed
//! cell shares), so a resample is drawn as one binomial per non-empty cell rather than n
//! draws: a table of 100k calls in 30 cells costs 30 draws per resample. Only a table with
//! about as many cells as calls (a `number` metric whose values rarely repeat) is drawn
//! call by call. The generator is seeded, so the same seed gives the same interval.

use rand::{RngExt, SeedableRng};
use rand_distr::{Binomial, Distribution};
use rand_pcg::Pcg64Mcg;
use serde::Serialize;

use super::coefficients::Coefficient;
use super::table::Table;

/// How many resamples, from which seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bootstrap {
    /// 0: no intervals.
    pub resamples: usize,
    pub seed: u64,
}

impl Default for Bootstrap {
    fn default() -> Self {
        Bootstrap {
            resamples: DEFAULT_RESAMPLES,
            seed: DEFAULT_SEED,
        }
    }
}

pub const DEFAULT_RESAMPLES: usize = 1000;
/// Below this many calls, resamples repeat the same few calls and the percentiles describe
/// nothing: no interval is given.
pub const MIN_CALLS: f64 = 10.0;
pub const DEFAULT_SEED: u64 = 17;

/// A 95 % interval, and how many resamples it rests on (those where the coefficient was
/// defined).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
    pub resamples: usize,
}

/// Intervals for every coefficient `compute` returns, from the same resamples; `None` for
/// a table of fewer than [`MIN_CALLS`] calls, and for a coefficient undefined in more than
/// half of the resamples (its interval would describe a different population than the
/// estimate).
pub fn intervals(
    table: &Table,
    bootstrap: Bootstrap,
    salt: &str,
    compute: impl Fn(&Table) -> Vec<Coefficient>,
) -> Vec<Option<Interval>> {
    let width = compute(table).len();
    if bootstrap.resamples == 0 || table.total() < MIN_CALLS {
        return vec![None; width];
    }
    // Each metric gets its own stream, reproducible from the seed and its id.
    let stream = u64::from_le_bytes(
        blake3::hash(salt.as_bytes()).as_bytes()[..8]
            .try_into()
            .expect("8 bytes"),
    );
    let mut rng = Pcg64Mcg::seed_from_u64(bootstrap.seed ^ stream);
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(bootstrap.resamples); width];
    let mut draw = Resampler::new(table);
    for _ in 0..bootstrap.resamples {
        let resample = table.with_counts(draw.next(&mut rng));
        for (values, coefficient) in draws.iter_mut().zip(compute(&resample)) {
            if let Ok(value) = coefficient {
                values.push(value);
            }
        }
    }
    draws
        .into_iter()
        .map(|mut values| {
            if values.len() * 2 < bootstrap.resamples {
                return None;
            }
            values.sort_by(f64::total_cmp);
            Some(Interval {
                lower: percentile(&values, 0.025),
                upper: percentile(&values, 0.975),
                resamples: values.len(),
            })
        })
        .collect()
}

/// The `p`-quantile of sorted values, interpolating between neighbours.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    let at = p * (sorted.len() - 1) as f64;
    let (low, high) = (at.floor() as usize, at.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (at - low as f64)
}

/// Draws resampled cell counts for one table.
enum Resampler {
    /// One binomial per cell, conditioned on the cells before it.
    Multinomial { n: u64, shares: Vec<f64> },
    /// Call by call: each entry of `units` is the cell of one call.
    Units { cells: usize, units: Vec<usize> },
}

impl Resampler {
    fn new(table: &Table) -> Resampler {
        let n = table.total().round() as u64;
        if (table.cells.len() as u64) * 4 > n {
            let mut units = Vec::with_capacity(n as usize);
            for (cell, count) in table.counts.iter().enumerate() {
                units.extend(std::iter::repeat_n(cell, count.round() as usize));
            }
            return Resampler::Units {
                cells: table.cells.len(),
                units,
            };
        }
        let total = table.total();
        Resampler::Multinomial {
            n,
            shares: table.counts.iter().map(|c| c / total).collect(),
        }
    }

    fn next(&mut self, rng: &mut Pcg64Mcg) -> Vec<f64> {
        match self {
            Resampler::Multinomial { n, shares } => {
                let mut counts = vec![0.0; shares.len()];
                let (mut left, mut mass) = (*n, 1.0);
                for (i, share) in shares.iter().enumerate() {
                    if left == 0 {
                        break;
                    }
                    let drawn = if i + 1 == shares.len() || *share >= mass {
                        left
                    } else {
                        let p = (share / mass).clamp(0.0, 1.0);
                        Binomial::new(left, p).expect("p is in 0..=1").sample(rng)
                    };
                    counts[i] = drawn as f64;
                    left -= drawn;
                    mass -= share;
                }
                counts
            }
            Resampler::Units { cells, units } => {
                let mut counts = vec![0.0; *cells];
                for _ in 0..units.len() {
                    counts[units[rng.random_range(0..units.len())]] += 1.0;
                }
                counts
            }
        }
    }
}
