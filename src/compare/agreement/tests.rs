//! The coefficients against published worked examples and hand-computed tables. Each
//! test names its source; the expected values are the published ones, to the digits
//! published.

use super::bootstrap::{Bootstrap, intervals};
use super::coefficients::*;
use super::table::{Coincidences, Table};
use super::*;
use crate::report::Value;

fn table(rows: &[&[f64]]) -> Table {
    Table::from_matrix(&rows.iter().map(|r| r.to_vec()).collect::<Vec<_>>())
}

fn assert_near(actual: Coefficient, expected: f64, digits: i32) {
    let actual = actual.unwrap_or_else(|e| panic!("expected {expected}, got {e:?}"));
    let tolerance = 0.5 * 10f64.powi(-digits);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{actual} is not {expected} to {digits} digits"
    );
}

/// Wikipedia, "Cohen's kappa", worked example: 50 grant proposals, two readers.
/// Yes/yes 20, A yes B no 5, A no B yes 10, no/no 15: p_o = 0.70, p_e = 0.50, κ = 0.40.
#[test]
fn wikipedia_cohen_kappa_grant_proposals() {
    let t = table(&[&[20.0, 5.0], &[10.0, 15.0]]);
    assert_near(Ok(t.agreement().unwrap()), 0.70, 2);
    assert_near(cohen_kappa(&t), 0.40, 2);
}

/// Wikipedia, "Cohen's kappa", "Same percentages but different numbers": both tables
/// have p_o = 0.60, yet κ = 0.1304 and 0.2593. Byrt et al.'s indices say why (hand
/// computed): table 1 has prevalence |45 − 15| / 100 = 0.30 and bias |15 − 25| / 100 =
/// 0.10; table 2 prevalence |25 − 35| / 100 = 0.10 and bias |35 − 5| / 100 = 0.30; PABAK
/// 2 · 0.6 − 1 = 0.20 for both.
#[test]
fn wikipedia_same_agreement_different_kappa_and_the_indices_that_explain_it() {
    let first = table(&[&[45.0, 15.0], &[25.0, 15.0]]);
    let second = table(&[&[25.0, 35.0], &[5.0, 35.0]]);
    assert_near(cohen_kappa(&first), 0.1304, 4);
    assert_near(cohen_kappa(&second), 0.2593, 4);
    let (a, b) = (indices(&first).unwrap(), indices(&second).unwrap());
    assert_near(Ok(a.prevalence.unwrap()), 0.30, 10);
    assert_near(Ok(a.bias), 0.10, 10);
    assert_near(Ok(b.prevalence.unwrap()), 0.10, 10);
    assert_near(Ok(b.bias), 0.30, 10);
    assert_near(Ok(a.pabak.unwrap()), 0.20, 10);
    assert_near(Ok(b.pabak.unwrap()), 0.20, 10);
}

/// Cohen (1960), the 3-category table of proportions (N = 200), and Cohen (1968) weighted
/// κ with his disagreement weights, as reproduced in the R `psych` package's
/// `cohen.kappa` examples: "cohen reports .492 and .348", and κ_w = .353 for the
/// non-symmetric weights.
#[test]
fn cohen_1960_kappa_and_cohen_1968_weighted_kappa() {
    let t = table(&[&[88.0, 14.0, 18.0], &[10.0, 40.0, 10.0], &[2.0, 6.0, 12.0]]);
    assert_near(cohen_kappa(&t), 0.492, 3);
    let symmetric = vec![vec![0.0, 1.0, 3.0], vec![1.0, 0.0, 6.0], vec![3.0, 6.0, 0.0]];
    assert_near(weighted_kappa(&t, &Weights::Matrix(&symmetric)), 0.348, 3);
    let asymmetric = vec![vec![0.0, 1.0, 4.0], vec![1.0, 0.0, 6.0], vec![2.0, 2.0, 0.0]];
    assert_near(weighted_kappa(&t, &Weights::Matrix(&asymmetric)), 0.353, 3);
}

/// Gwet's irrCAC package README, `cont3x3abstractors` (two abstractors, 100 pregnancies,
/// Ectopic / AIU / NIU): percent agreement 0.89, Cohen's κ 0.7964094, Gwet's AC1
/// 0.8493305, Krippendorff's α 0.7972585.
#[test]
fn gwet_irrcac_abstractors_kappa_ac1_and_alpha() {
    let t = table(&[&[13.0, 0.0, 0.0], &[0.0, 20.0, 7.0], &[0.0, 4.0, 56.0]]);
    assert_near(Ok(t.agreement().unwrap()), 0.89, 2);
    assert_near(cohen_kappa(&t), 0.7964094, 7);
    assert_near(gwet_ac1(&t, 3), 0.8493305, 7);
    assert_near(krippendorff_alpha(&t.coincidences(), Level::Nominal, &[]), 0.7972585, 7);
}

/// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: four
/// observers, twelve units, values 1–5, missing data. Published: nominal α = .743,
/// ordinal α = .815, interval α = .849. (Gwet's irrCAC README computes the same data,
/// `cac.raw4raters`, as 0.74342.)
#[test]
fn krippendorff_2011_example_c_with_missing_data() {
    let units: [[Option<usize>; 4]; 12] = [
        [Some(1), Some(1), None, Some(1)],
        [Some(2), Some(2), Some(3), Some(2)],
        [Some(3), Some(3), Some(3), Some(3)],
        [Some(3), Some(3), Some(3), Some(3)],
        [Some(2), Some(2), Some(2), Some(2)],
        [Some(1), Some(2), Some(3), Some(4)],
        [Some(4), Some(4), Some(4), Some(4)],
        [Some(1), Some(1), Some(2), Some(1)],
        [Some(2), Some(2), Some(2), Some(2)],
        [None, Some(5), Some(5), Some(5)],
        [None, None, Some(1), Some(1)],
        [None, None, Some(3), None],
    ];
    // Category i holds the value i; index 0 is unused.
    let positions: Vec<f64> = (0..=5).map(f64::from).collect();
    let o = Coincidences::from_units(6, units.iter().map(|u| u.as_slice()));
    assert_near(krippendorff_alpha(&o, Level::Nominal, &positions), 0.743, 3);
    assert_near(krippendorff_alpha(&o, Level::Nominal, &positions), 0.74342, 5);
    assert_near(krippendorff_alpha(&o, Level::Ordinal, &positions), 0.815, 3);
    assert_near(krippendorff_alpha(&o, Level::Interval, &positions), 0.849, 3);
}

/// One coder's row of a published reliability table: a value a unit, `.` where the coder
/// gave none.
fn coder(values: &str) -> Vec<Option<usize>> {
    values
        .split_whitespace()
        .map(|v| (v != ".").then(|| v.parse().unwrap()))
        .collect()
}

/// Wikipedia, "Krippendorff's alpha", computational example: three coders, fifteen units
/// (values 1–4, many missing). α nominal = 0.691, interval = 0.811 (0.691358 and 0.810845
/// to six digits, as the fast-krippendorff package's tests have them).
#[test]
fn wikipedia_krippendorff_alpha_example() {
    // The page's table: a row a coder, a column a unit.
    let a = coder(". . . . . 3 4 1 2 1 1 3 3 . 3");
    let b = coder("1 . 2 1 3 3 4 3 . . . . . . .");
    let c = coder(". . 2 1 3 4 4 . 2 1 1 3 3 . 4");
    let units: Vec<[Option<usize>; 3]> = (0..15).map(|u| [a[u], b[u], c[u]]).collect();
    let positions: Vec<f64> = (0..=4).map(f64::from).collect();
    let o = Coincidences::from_units(5, units.iter().map(|u| u.as_slice()));
    assert_near(krippendorff_alpha(&o, Level::Nominal, &positions), 0.691358, 6);
    assert_near(krippendorff_alpha(&o, Level::Interval, &positions), 0.810845, 6);
}

/// A 1–3 score, labels in rows, answers in columns, hand computed:
///
/// ```text
///        1  2  3   row share
///   1    2  1  0   .3
///   2    0  2  1   .3
///   3    0  0  4   .4
///   col .2 .3 .5   n = 10, p_o = .8
/// ```
///
/// - κ: p_e = .3·.2 + .3·.3 + .4·.5 = .35, κ = (.8 − .35) / .65 = .692308
/// - linear: observed Σ|i−j|p = (1 + 1) / 10 = .2; expected Σ r_i c_j |i−j| =
///   .3·(.3 + 1.0) + .3·(.2 + .5) + .4·(.4 + .3) = .39 + .21 + .28 = .88; κ = 1 − .2/.88 = .772727
/// - quadratic: observed .2; expected .3·(.3 + 2.0) + .3·(.2 + .5) + .4·(.8 + .3) = 1.34;
///   κ = 1 − .2/1.34 = .850746
/// - interval α: n_c = 5, 6, 9 (n = 20); D_o = 2·(1 + 1) = 4; Σ n_c n_k (c−k)² =
///   2·(5·6·1 + 5·9·4 + 6·9·1) = 528; α = 1 − 19·4/528 = .856061
#[test]
fn hand_computed_weighted_kappa_and_interval_alpha() {
    let t = table(&[&[2.0, 1.0, 0.0], &[0.0, 2.0, 1.0], &[0.0, 0.0, 4.0]]);
    let x = [1.0, 2.0, 3.0];
    assert_near(cohen_kappa(&t), 0.692308, 6);
    assert_near(weighted_kappa(&t, &Weights::Linear(&x)), 0.772727, 6);
    assert_near(weighted_kappa(&t, &Weights::Quadratic(&x)), 0.850746, 6);
    assert_near(krippendorff_alpha(&t.coincidences(), Level::Interval, &x), 0.856061, 6);
}

/// The O(k) linear and quadratic sums agree with the full weight matrix, on positions that
/// are unequally spaced, unsorted and tied.
#[test]
fn fast_weights_match_the_weight_matrix() {
    let x: [f64; 5] = [5.0, 1.0, 2.5, 2.5, 10.0];
    let mut counts = Vec::new();
    for i in 0..5 {
        counts.push((0..5).map(|j| ((i * 7 + j * 3) % 5) as f64).collect::<Vec<_>>());
    }
    let t = Table::from_matrix(&counts);
    let matrix = |power: i32| -> Vec<Vec<f64>> {
        (0..5)
            .map(|i| (0..5).map(|j| (x[i] - x[j]).abs().powi(power)).collect())
            .collect()
    };
    let (linear, quadratic) = (matrix(1), matrix(2));
    let close = |a: Coefficient, b: Coefficient| (a.unwrap() - b.unwrap()).abs() < 1e-12;
    assert!(close(
        weighted_kappa(&t, &Weights::Linear(&x)),
        weighted_kappa(&t, &Weights::Matrix(&linear))
    ));
    assert!(close(
        weighted_kappa(&t, &Weights::Quadratic(&x)),
        weighted_kappa(&t, &Weights::Matrix(&quadratic))
    ));
    let nominal: Vec<Vec<f64>> = (0..5)
        .map(|i| (0..5).map(|j| f64::from(u8::from(i != j))).collect())
        .collect();
    assert!(close(cohen_kappa(&t), weighted_kappa(&t, &Weights::Matrix(&nominal))));
}

#[test]
fn degenerate_tables_are_undefined_with_a_reason_never_nan() {
    let empty = Table::from_pairs(2, []);
    assert_eq!(cohen_kappa(&empty), Err(Undefined::Empty));
    assert_eq!(gwet_ac1(&empty, 2), Err(Undefined::Empty));
    assert_eq!(
        krippendorff_alpha(&empty.coincidences(), Level::Nominal, &[]),
        Err(Undefined::Empty)
    );

    // Every label and every answer "no": κ and α are 0/0; AC1, counting the two possible
    // values, is 1 (chance agreement Σπ(1−π)/(q−1) = 0).
    let one_class = table(&[&[0.0, 0.0], &[0.0, 40.0]]);
    assert_eq!(cohen_kappa(&one_class), Err(Undefined::SingleValue));
    assert_eq!(
        krippendorff_alpha(&one_class.coincidences(), Level::Nominal, &[]),
        Err(Undefined::SingleValue)
    );
    assert_near(gwet_ac1(&one_class, 2), 1.0, 12);
    assert_eq!(gwet_ac1(&one_class, 1), Err(Undefined::OneCategory));
    assert!(Undefined::SingleValue.reason().contains("chance alone"));

    let perfect = table(&[&[12.0, 0.0], &[0.0, 3.0]]);
    assert_near(cohen_kappa(&perfect), 1.0, 12);
    assert_near(gwet_ac1(&perfect, 2), 1.0, 12);
    assert_near(
        krippendorff_alpha(&perfect.coincidences(), Level::Nominal, &[]),
        1.0,
        12,
    );
}

/// A rare class: 95 of 100 labels "no", the model says "no" to everything. Accuracy is
/// 95 %, κ is 0 (hand computed: p_o = .95, p_e = .95·1 + .05·0 = .95), and AC1 stays high
/// (π = .975, .025: p_e = 2·.975·.025 = .04875; AC1 = (.95 − .04875)/(.95125) = .947438).
#[test]
fn a_model_that_always_says_no_gets_accuracy_but_no_kappa() {
    let t = table(&[&[95.0, 0.0], &[5.0, 0.0]]);
    assert_near(Ok(t.agreement().unwrap()), 0.95, 12);
    assert_near(cohen_kappa(&t), 0.0, 12);
    assert_near(gwet_ac1(&t, 2), 0.947438, 6);
}

#[test]
fn bootstrap_intervals_are_reproducible_and_bracket_the_estimate() {
    let t = table(&[&[40.0, 6.0, 1.0], &[5.0, 30.0, 4.0], &[2.0, 3.0, 9.0]]);
    let compute = |t: &Table| vec![cohen_kappa(t), gwet_ac1(t, 3)];
    let run = |seed| intervals(&t, Bootstrap { resamples: 500, seed }, "outcome", compute);
    let (first, again, other) = (run(7), run(7), run(8));
    assert_eq!(first, again, "same seed, same interval");
    assert_ne!(first, other, "another seed draws other resamples");
    let kappa = cohen_kappa(&t).unwrap();
    let ci = first[0].unwrap();
    assert!(ci.lower < kappa && kappa < ci.upper, "{ci:?} around {kappa}");
    assert!(ci.upper - ci.lower < 0.4, "{ci:?}");
    assert_eq!(ci.resamples, 500);
    assert_eq!(
        intervals(&t, Bootstrap { resamples: 0, seed: 1 }, "x", compute),
        [None, None]
    );
}

/// A table with as many cells as calls is resampled call by call; the interval is still
/// reproducible and sensible.
#[test]
fn bootstrap_of_a_table_of_distinct_values() {
    let pairs: Vec<(usize, usize)> = (0..60)
        .map(|i| (i, if i % 5 == 0 { (i + 1) % 60 } else { i }))
        .collect();
    let t = Table::from_pairs(60, pairs);
    let positions: Vec<f64> = (0..60).map(f64::from).collect();
    let compute = |t: &Table| vec![krippendorff_alpha(&t.coincidences(), Level::Interval, &positions)];
    let ci = intervals(&t, Bootstrap::default(), "amount", compute)[0].unwrap();
    let alpha = compute(&t)[0].unwrap();
    assert!(ci.lower <= alpha && alpha <= ci.upper, "{ci:?} around {alpha}");
}

fn text(s: &str) -> Answer {
    Answer::Ok(Value::Text(s.into()))
}

#[test]
fn statuses_are_categories_and_invalid_answers_always_disagree() {
    let kind = MetricKind::Boolean;
    let (yes, no) = (Answer::Ok(Value::Bool(true)), Answer::Ok(Value::Bool(false)));
    let pairs = [
        (&yes, &yes),
        (&yes, &yes),
        (&no, &no),
        (&no, &yes),
        (&Answer::Null, &Answer::Null),
        (&yes, &Answer::Invalid),
    ];
    let a = agreement(&kind, &[], &pairs, Bootstrap::default(), "verified").unwrap();
    assert_eq!(a.headline, Some(Stat::Kappa));
    assert_eq!(a.calls, 6);
    // Categories true, false, null, invalid. Hand computed: p_o = 4/6; rows (labels)
    // 3, 2, 1, 0 and columns (answers) 3, 1, 1, 1 of 6: p_e = (9 + 2 + 1 + 0)/36 = 1/3;
    // κ = (2/3 − 1/3)/(2/3) = 0.5.
    assert_near(Ok(a.get(Stat::Kappa).unwrap().value().unwrap()), 0.5, 12);
    assert!(a.indices.unwrap().prevalence.is_none(), "not a 2×2 table");
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["statistics"]["kappa"]["calls"], 6);
    assert!(
        json["statistics"]["kappa"]["ci95"].is_null(),
        "6 calls are too few to resample"
    );
}

#[test]
fn integers_get_weighted_kappa_over_the_calls_with_numbers() {
    let kind = MetricKind::Integer { range: Some([1, 5]) };
    let n = |i| Answer::Ok(Value::Int(i));
    let (one, two, three, four, five) = (n(1), n(2), n(3), n(4), n(5));
    let pairs = [
        (&one, &one),
        (&two, &three),
        (&three, &three),
        (&four, &five),
        (&five, &five),
        (&five, &Answer::Null),
    ];
    let a = agreement(&kind, &[], &pairs, Bootstrap { resamples: 0, seed: 0 }, "score").unwrap();
    assert_eq!(a.headline, Some(Stat::KappaQuadratic));
    assert_eq!(a.alpha, Stat::AlphaOrdinal);
    assert_eq!((a.calls, a.numeric_calls), (6, Some(5)));
    let stats: Vec<Stat> = a.statistics.keys().copied().collect();
    assert_eq!(
        stats,
        [
            Stat::KappaQuadratic,
            Stat::KappaLinear,
            Stat::Kappa,
            Stat::Ac1,
            Stat::AlphaOrdinal,
            Stat::AlphaInterval
        ]
    );
    assert!(matches!(
        a.get(Stat::KappaQuadratic),
        Some(Estimate::Value {
            calls: 5,
            ci95: None,
            ..
        })
    ));
    assert!(matches!(a.get(Stat::Kappa), Some(Estimate::Value { calls: 6, .. })));
    // Near misses cost little under quadratic weights.
    assert!(a.get(Stat::KappaQuadratic).unwrap().value() > a.get(Stat::Kappa).unwrap().value());
}

#[test]
fn free_text_has_no_agreement_statistics_and_numbers_only_alpha() {
    let (a, b) = (text("Ann"), text("Ann"));
    assert!(agreement(&MetricKind::String, &[], &[(&a, &b)], Bootstrap::default(), "name").is_none());
    let (x, y) = (Answer::Ok(Value::Number(2.5)), Answer::Ok(Value::Number(3.0)));
    let amount = agreement(
        &MetricKind::Number { range: None },
        &[],
        &[(&x, &y), (&y, &y)],
        Bootstrap::default(),
        "a",
    )
    .unwrap();
    assert_eq!(amount.headline, None);
    assert_eq!(
        amount.statistics.keys().copied().collect::<Vec<_>>(),
        [Stat::AlphaInterval]
    );
}

#[test]
fn one_class_only_reports_undefined_kappa_in_json() {
    let no = text("no");
    let pairs = vec![(&no, &no); 10];
    let a = agreement(
        &MetricKind::Enum {
            choices: vec!["yes".into(), "no".into()],
        },
        &["yes".to_string(), "no".to_string()],
        &pairs,
        Bootstrap::default(),
        "m",
    )
    .unwrap();
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["statistics"]["kappa"]["undefined"], "single_value");
    assert!(json["statistics"]["kappa"]["reason"].as_str().unwrap().contains("0/0"));
    assert_eq!(json["statistics"]["ac1"]["value"], 1.0);
    assert!(!serde_json::to_string(&a).unwrap().contains("NaN"));
}
