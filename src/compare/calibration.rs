//! Whether the model's `confidence` predicts being right: accuracy per confidence bucket,
//! the expected calibration error over those buckets, and the Brier score.
//!
//! Buckets are fixed: [0, 0.5), [0.5, 0.6), … [0.8, 0.9), [0.9, 1.0] (the last closed),
//! plus one for answers without a confidence. Each answer's correctness is its `eval`
//! score (1 or 0; for lists the Jaccard overlap).
//!
//! - **ECE** = Σ_b (n_b / N) · |accuracy_b − mean confidence_b| over the confidence
//!   buckets, N the answers with a confidence: the average distance between what the model
//!   claims and how often it is right, computable by hand from the table `eval` prints.
//! - **Brier score** = mean (confidence − correctness)² over the same answers; 0 is
//!   perfect, 0.25 is what a constant 0.5 earns on a coin flip.
//! - **Confident answers**: how many answers claim at least 0.9 and how many of them are
//!   right — the number to read before letting "confidence ≥ 0.9" skip human review.

use serde::Serialize;

/// Answers whose confidence falls in `[lower, upper)` (the last bucket includes 1.0);
/// `lower: None` holds answers without a confidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    pub count: usize,
    pub mean_confidence: Option<f64>,
    pub accuracy: f64,
}

impl Bucket {
    pub fn label(&self) -> String {
        match (self.lower, self.upper) {
            (Some(lo), Some(hi)) => format!("{lo:.1}-{hi:.1}"),
            _ => "none".to_string(),
        }
    }
}

/// The summary numbers; `None` when no answer carries a confidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CalibrationError {
    /// Answers with a confidence, the N of both scores.
    pub answers: usize,
    pub ece: f64,
    pub brier: f64,
    /// Answers at or above [`CONFIDENT`].
    pub confident: usize,
    /// Their mean correctness; `None` when there are none.
    pub confident_accuracy: Option<f64>,
}

/// The confidence a reviewer would trust without looking.
pub const CONFIDENT: f64 = 0.9;

/// Bucket edges; the last bucket is closed at 1.0.
const EDGES: [f64; 7] = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// Groups (confidence, correctness) pairs into the fixed buckets; empty buckets are left out.
pub fn buckets(pairs: &[(Option<f64>, f64)]) -> Vec<Bucket> {
    let mut out = Vec::new();
    let last = EDGES.len() - 2;
    for i in 0..=last {
        let (lo, hi) = (EDGES[i], EDGES[i + 1]);
        let inside: Vec<(f64, f64)> = pairs
            .iter()
            .filter_map(|(c, s)| c.map(|c| (c, *s)))
            .filter(|(c, _)| *c >= lo && (*c < hi || (i == last && *c <= hi)))
            .collect();
        if !inside.is_empty() {
            let n = inside.len() as f64;
            out.push(Bucket {
                lower: Some(lo),
                upper: Some(hi),
                count: inside.len(),
                mean_confidence: Some(inside.iter().map(|p| p.0).sum::<f64>() / n),
                accuracy: inside.iter().map(|p| p.1).sum::<f64>() / n,
            });
        }
    }
    let without: Vec<f64> = pairs.iter().filter(|(c, _)| c.is_none()).map(|(_, s)| *s).collect();
    if !without.is_empty() {
        out.push(Bucket {
            lower: None,
            upper: None,
            count: without.len(),
            mean_confidence: None,
            accuracy: without.iter().sum::<f64>() / without.len() as f64,
        });
    }
    out
}

/// ECE over `buckets` (as [`buckets`] made them from `pairs`), Brier and the confident
/// share from the pairs themselves.
pub fn calibration_error(pairs: &[(Option<f64>, f64)], buckets: &[Bucket]) -> Option<CalibrationError> {
    let scored: Vec<(f64, f64)> = pairs.iter().filter_map(|(c, s)| c.map(|c| (c, *s))).collect();
    if scored.is_empty() {
        return None;
    }
    let n = scored.len() as f64;
    let ece = buckets
        .iter()
        .filter_map(|b| Some(b.count as f64 / n * (b.accuracy - b.mean_confidence?).abs()))
        .sum();
    let brier = scored.iter().map(|(c, s)| (c - s).powi(2)).sum::<f64>() / n;
    let confident: Vec<f64> = scored
        .iter()
        .filter(|(c, _)| *c >= CONFIDENT)
        .map(|(_, s)| *s)
        .collect();
    Some(CalibrationError {
        answers: scored.len(),
        ece,
        brier,
        confident: confident.len(),
        confident_accuracy: (!confident.is_empty()).then(|| confident.iter().sum::<f64>() / confident.len() as f64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand computed: confidences .95 (right), .95 (wrong), .55 (right), .55 (wrong),
    /// .55 (wrong), and one answer without a confidence.
    /// Buckets: 0.5-0.6 has 3 answers, mean .55, accuracy 1/3; 0.9-1.0 has 2, mean .95,
    /// accuracy 1/2. ECE = 3/5·|1/3 − .55| + 2/5·|.5 − .95| = .13 + .18 = .31.
    /// Brier = (.05² + .95² + .45² + .55² + .55²)/5 = (.0025 + .9025 + .2025 + .3025·2)/5 = .3425.
    #[test]
    fn ece_and_brier_by_hand() {
        let pairs = [
            (Some(0.95), 1.0),
            (Some(0.95), 0.0),
            (Some(0.55), 1.0),
            (Some(0.55), 0.0),
            (Some(0.55), 0.0),
            (None, 1.0),
        ];
        let b = buckets(&pairs);
        assert_eq!(
            b.iter().map(Bucket::label).collect::<Vec<_>>(),
            ["0.5-0.6", "0.9-1.0", "none"]
        );
        let e = calibration_error(&pairs, &b).unwrap();
        assert_eq!(e.answers, 5);
        assert!((e.ece - 0.31).abs() < 1e-12, "{}", e.ece);
        assert!((e.brier - 0.3425).abs() < 1e-12, "{}", e.brier);
        assert_eq!((e.confident, e.confident_accuracy), (2, Some(0.5)));
    }

    #[test]
    fn perfectly_calibrated_and_no_confidence_at_all() {
        let pairs = [(Some(1.0), 1.0), (Some(1.0), 1.0)];
        let e = calibration_error(&pairs, &buckets(&pairs)).unwrap();
        assert_eq!((e.ece, e.brier), (0.0, 0.0));
        let none = [(None, 1.0)];
        assert_eq!(calibration_error(&none, &buckets(&none)), None);
    }
}
