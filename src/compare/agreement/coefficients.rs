//! The chance-corrected coefficients, as pure functions of a [`Table`] or
//! [`Coincidences`]. Each returns why it is undefined instead of a NaN.
//!
//! - Cohen's κ (1960): (p_o − p_e) / (1 − p_e), chance from each rater's own marginals.
//! - Weighted κ (Cohen 1968): 1 − Σ w·p_observed / Σ w·p_chance with disagreement
//!   weights w; linear |x − y| and quadratic (x − y)² on the values themselves.
//! - Gwet's AC1 (2008): chance p_e = Σ π_k (1 − π_k) / (q − 1), π_k the mean of both
//!   raters' shares, q the number of categories; stays near p_o when one class dominates,
//!   where κ collapses (the "kappa paradox").
//! - Krippendorff's α: 1 − (n − 1) · Σ o_ck δ²_ck / Σ n_c n_k δ²_ck over the coincidences,
//!   nominal, ordinal or interval δ².
//! - Byrt, Bishop & Carlin (1993) indices: prevalence |a − d| / n and bias |b − c| / n of a
//!   2×2 table, and PABAK = 2 p_o − 1; for more categories the bias index generalises to
//!   ½ Σ |row share − column share|, the share of calls the two marginals disagree on.

use serde::Serialize;

use super::table::{Coincidences, Table};

/// Why a coefficient has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Undefined {
    /// No unit has a value from both raters.
    Empty,
    /// Every value is the same on both sides: chance alone predicts total agreement, so
    /// the coefficient is 0 / 0.
    SingleValue,
    /// Fewer than two categories exist to choose from.
    OneCategory,
}

impl Undefined {
    pub fn reason(self) -> &'static str {
        match self {
            Undefined::Empty => "undefined: no call has a value on both sides",
            Undefined::SingleValue => {
                "undefined: every value is the same on both sides, so chance alone explains the agreement (0/0)"
            }
            Undefined::OneCategory => "undefined: the metric has fewer than two possible values",
        }
    }
}

pub type Coefficient = Result<f64, Undefined>;

/// Below this, a denominator is zero (shares are sums of a few floating-point terms).
const EPSILON: f64 = 1e-12;

/// Disagreement weights for weighted κ.
#[derive(Debug, Clone, PartialEq)]
pub enum Weights<'a> {
    /// 1 off the diagonal: unweighted κ.
    Nominal,
    /// |x_i − x_j| on the categories' positions.
    Linear(&'a [f64]),
    /// (x_i − x_j)² on the categories' positions.
    Quadratic(&'a [f64]),
    /// Any `size × size` matrix, row = first rater (Cohen 1968's examples).
    // Only the tests build one today (to check against Cohen's published tables); kept so
    // that custom weights need no second code path.
    #[cfg_attr(not(test), allow(dead_code))]
    Matrix(&'a [Vec<f64>]),
}

impl Weights<'_> {
    fn weight(&self, i: usize, j: usize) -> f64 {
        match self {
            Weights::Nominal => f64::from(u8::from(i != j)),
            Weights::Linear(x) => (x[i] - x[j]).abs(),
            Weights::Quadratic(x) => (x[i] - x[j]).powi(2),
            Weights::Matrix(w) => w[i][j],
        }
    }
}

pub fn cohen_kappa(table: &Table) -> Coefficient {
    weighted_kappa(table, &Weights::Nominal)
}

/// 1 − observed disagreement / disagreement expected from the marginals.
pub fn weighted_kappa(table: &Table, weights: &Weights) -> Coefficient {
    let n = table.total();
    if n <= 0.0 {
        return Err(Undefined::Empty);
    }
    let (rows, columns) = table.marginals();
    let observed: f64 = table
        .cells
        .iter()
        .zip(&table.counts)
        .map(|(&(i, j), count)| weights.weight(i, j) * count / n)
        .sum();
    let expected = expected_disagreement(&rows, &columns, weights);
    if expected <= EPSILON {
        return Err(Undefined::SingleValue);
    }
    Ok(1.0 - observed / expected)
}

/// Σ_i Σ_j r_i c_j w_ij, in O(k) for the positional weights so that a metric with many
/// distinct values stays cheap to bootstrap.
fn expected_disagreement(rows: &[f64], columns: &[f64], weights: &Weights) -> f64 {
    match weights {
        Weights::Nominal => 1.0 - rows.iter().zip(columns).map(|(r, c)| r * c).sum::<f64>(),
        Weights::Quadratic(x) => {
            let moment = |p: &[f64], power: i32| p.iter().zip(x.iter()).map(|(p, x)| p * x.powi(power)).sum::<f64>();
            moment(rows, 2) + moment(columns, 2) - 2.0 * moment(rows, 1) * moment(columns, 1)
        }
        Weights::Linear(x) => linear_expected(rows, columns, x),
        Weights::Matrix(_) => {
            let mut sum = 0.0;
            for (i, r) in rows.iter().enumerate() {
                for (j, c) in columns.iter().enumerate() {
                    sum += r * c * weights.weight(i, j);
                }
            }
            sum
        }
    }
}

/// Σ_i Σ_j r_i c_j |x_i − x_j| with one pass over the positions in increasing order.
fn linear_expected(rows: &[f64], columns: &[f64], x: &[f64]) -> f64 {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|a, b| x[*a].total_cmp(&x[*b]));
    let (total_mass, total_moment): (f64, f64) =
        (columns.iter().sum(), columns.iter().zip(x).map(|(c, x)| c * x).sum());
    let (mut mass_below, mut moment_below) = (0.0, 0.0);
    let mut sum = 0.0;
    let mut k = 0;
    while k < order.len() {
        // Categories at the same position are neither below nor above each other.
        let position = x[order[k]];
        let mut end = k;
        let (mut mass_here, mut moment_here) = (0.0, 0.0);
        while end < order.len() && x[order[end]] == position {
            mass_here += columns[order[end]];
            moment_here += columns[order[end]] * position;
            end += 1;
        }
        let (mass_above, moment_above) = (
            total_mass - mass_below - mass_here,
            total_moment - moment_below - moment_here,
        );
        for &i in &order[k..end] {
            sum += rows[i] * (position * mass_below - moment_below + moment_above - position * mass_above);
        }
        mass_below += mass_here;
        moment_below += moment_here;
        k = end;
    }
    sum
}

/// Gwet's AC1 over `categories` possible values (at least the table's size).
pub fn gwet_ac1(table: &Table, categories: usize) -> Coefficient {
    let observed = table.agreement().ok_or(Undefined::Empty)?;
    if categories < 2 {
        return Err(Undefined::OneCategory);
    }
    let (rows, columns) = table.marginals();
    let chance: f64 = rows
        .iter()
        .zip(&columns)
        .map(|(r, c)| {
            let pi = (r + c) / 2.0;
            pi * (1.0 - pi)
        })
        .sum::<f64>()
        / (categories - 1) as f64;
    Ok((observed - chance) / (1.0 - chance))
}

/// The level of measurement α's difference function assumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Nominal,
    /// Ranks: the distance between two values is how many pairable values lie between them.
    Ordinal,
    /// Differences of the values themselves.
    Interval,
}

/// Krippendorff's α. `positions` (category → value) is needed for ordinal and interval.
pub fn krippendorff_alpha(o: &Coincidences, level: Level, positions: &[f64]) -> Coefficient {
    let (totals, n) = o.value_totals();
    if n <= 1.0 {
        return Err(Undefined::Empty);
    }
    let scores: Vec<f64> = match level {
        Level::Nominal => Vec::new(),
        Level::Interval => positions.to_vec(),
        Level::Ordinal => midranks(&totals, positions),
    };
    let (observed, expected) = match level {
        Level::Nominal => (
            o.cells
                .iter()
                .filter(|(c, k, _)| c != k)
                .map(|(_, _, w)| w)
                .sum::<f64>(),
            n * n - totals.iter().map(|t| t * t).sum::<f64>(),
        ),
        Level::Ordinal | Level::Interval => {
            let observed = o
                .cells
                .iter()
                .map(|&(c, k, w)| w * (scores[c] - scores[k]).powi(2))
                .sum();
            let first: f64 = totals.iter().zip(&scores).map(|(t, s)| t * s).sum();
            let second: f64 = totals.iter().zip(&scores).map(|(t, s)| t * s * s).sum();
            (observed, 2.0 * n * second - 2.0 * first * first)
        }
    };
    if expected <= EPSILON * n * n {
        return Err(Undefined::SingleValue);
    }
    Ok(1.0 - (n - 1.0) * observed / expected)
}

/// The ordinal δ_ck = Σ_{g=c..k} n_g − (n_c + n_k)/2 is a difference of mid-ranks
/// M_g = (values ranked below g) + n_g / 2, so ordinal α is interval α on mid-ranks.
fn midranks(totals: &[f64], positions: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..totals.len()).collect();
    order.sort_by(|a, b| positions[*a].total_cmp(&positions[*b]));
    let mut ranks = vec![0.0; totals.len()];
    let mut below = 0.0;
    for i in order {
        ranks[i] = below + totals[i] / 2.0;
        below += totals[i];
    }
    ranks
}

/// Byrt, Bishop & Carlin's indices, to read κ beside: a large prevalence index or bias
/// index is why κ can be low while agreement is high.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Indices {
    /// |a − d| / n: how unequal the two classes are (2×2 tables only).
    pub prevalence: Option<f64>,
    /// ½ Σ |row share − column share|; |b − c| / n on a 2×2 table.
    pub bias: f64,
    /// 2 p_o − 1: κ with both prevalence and bias adjusted away (2×2 tables only).
    pub pabak: Option<f64>,
}

pub fn indices(table: &Table) -> Option<Indices> {
    let n = table.total();
    let observed = table.agreement()?;
    let (rows, columns) = table.marginals();
    let bias = rows.iter().zip(&columns).map(|(r, c)| (r - c).abs()).sum::<f64>() / 2.0;
    let two_by_two = table.size == 2;
    let cell = |r: usize, c: usize| -> f64 {
        table
            .cells
            .iter()
            .zip(&table.counts)
            .filter(|(cell, _)| **cell == (r, c))
            .map(|(_, count)| count)
            .sum()
    };
    Some(Indices {
        prevalence: two_by_two.then(|| (cell(0, 0) - cell(1, 1)).abs() / n),
        bias,
        pabak: two_by_two.then_some(2.0 * observed - 1.0),
    })
}
