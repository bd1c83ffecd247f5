//! The two data shapes every coefficient is computed from: a contingency table of two
//! raters (who said what for each call), and Krippendorff's coincidence matrix (which
//! values were paired within a unit, for any number of raters and missing values).
//!
//! Only non-empty cells are stored, and counts are `f64`, so a bootstrap resample is a new
//! count vector over the same cells: resampling 100k calls costs as much as resampling the
//! handful of distinct (label, answer) pairs they fall into.

/// Two raters' values for the same units, counted by (first rater, second rater).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Number of categories; rows (first rater) and columns (second rater) index the same
    /// list.
    pub size: usize,
    /// (row, column) of each non-empty cell, in a fixed order.
    pub cells: Vec<(usize, usize)>,
    /// Units in each cell; a bootstrap resample replaces them.
    pub counts: Vec<f64>,
}

impl Table {
    /// A table from (row, column) pairs, one per unit.
    pub fn from_pairs(size: usize, pairs: impl IntoIterator<Item = (usize, usize)>) -> Table {
        let mut index = std::collections::BTreeMap::new();
        for pair in pairs {
            debug_assert!(pair.0 < size && pair.1 < size);
            *index.entry(pair).or_insert(0.0) += 1.0;
        }
        Table {
            size,
            cells: index.keys().copied().collect(),
            counts: index.values().copied().collect(),
        }
    }

    #[cfg(test)]
    /// A table from a full `size × size` matrix of counts (a published table).
    pub fn from_matrix(matrix: &[Vec<f64>]) -> Table {
        let size = matrix.len();
        let mut table = Table {
            size,
            cells: Vec::new(),
            counts: Vec::new(),
        };
        for (r, row) in matrix.iter().enumerate() {
            assert_eq!(row.len(), size, "a contingency table is square");
            for (c, count) in row.iter().enumerate() {
                if *count > 0.0 {
                    table.cells.push((r, c));
                    table.counts.push(*count);
                }
            }
        }
        table
    }

    /// The same cells with other counts (a bootstrap resample).
    pub fn with_counts(&self, counts: Vec<f64>) -> Table {
        debug_assert_eq!(counts.len(), self.cells.len());
        Table {
            size: self.size,
            cells: self.cells.clone(),
            counts,
        }
    }

    pub fn total(&self) -> f64 {
        self.counts.iter().sum()
    }

    /// Row and column totals as shares of the whole (all zero for an empty table).
    pub fn marginals(&self) -> (Vec<f64>, Vec<f64>) {
        let n = self.total();
        let (mut rows, mut columns) = (vec![0.0; self.size], vec![0.0; self.size]);
        if n <= 0.0 {
            return (rows, columns);
        }
        for (&(r, c), count) in self.cells.iter().zip(&self.counts) {
            rows[r] += count / n;
            columns[c] += count / n;
        }
        (rows, columns)
    }

    /// The share of units on the diagonal.
    pub fn agreement(&self) -> Option<f64> {
        let n = self.total();
        let same: f64 = self
            .cells
            .iter()
            .zip(&self.counts)
            .filter(|((r, c), _)| r == c)
            .map(|(_, count)| count)
            .sum();
        (n > 0.0).then(|| same / n)
    }

    /// The coincidences of a two-rater table: each unit pairs its two values both ways.
    pub fn coincidences(&self) -> Coincidences {
        let mut cells = Vec::with_capacity(self.cells.len() * 2);
        for (&(r, c), &count) in self.cells.iter().zip(&self.counts) {
            cells.push((r, c, count));
            cells.push((c, r, count));
        }
        Coincidences { size: self.size, cells }
    }
}

/// Krippendorff's coincidence matrix: `o[c][k]` counts the ordered pairs of values (c, k)
/// given to the same unit by different raters, each unit weighted by 1 / (its values − 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Coincidences {
    pub size: usize,
    /// (c, k, o_ck) for every ordered pair that occurs; a pair may repeat (the sums add).
    pub cells: Vec<(usize, usize, f64)>,
}

impl Coincidences {
    #[cfg(test)]
    /// From reliability data: per unit, the value each rater gave (`None`: not coded).
    /// Units with fewer than two values pair nothing and drop out, as in Krippendorff's
    /// definition.
    pub fn from_units<'a>(size: usize, units: impl IntoIterator<Item = &'a [Option<usize>]>) -> Coincidences {
        let mut cells = Vec::new();
        for unit in units {
            let values: Vec<usize> = unit.iter().flatten().copied().collect();
            let m = values.len();
            if m < 2 {
                continue;
            }
            let weight = 1.0 / (m - 1) as f64;
            for (i, &a) in values.iter().enumerate() {
                for (j, &b) in values.iter().enumerate() {
                    if i != j {
                        cells.push((a, b, weight));
                    }
                }
            }
        }
        Coincidences { size, cells }
    }

    /// How often each value was paired (n_c), and the number of pairable values (n).
    pub fn value_totals(&self) -> (Vec<f64>, f64) {
        let mut totals = vec![0.0; self.size];
        for &(c, _, o) in &self.cells {
            totals[c] += o;
        }
        let n = totals.iter().sum();
        (totals, n)
    }
}
