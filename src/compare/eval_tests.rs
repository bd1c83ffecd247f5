//! A labelled sample seen through `eval`: known answers, known labels, every number checked.

use super::*;
use crate::answer::testing::*;
use crate::compare::labels::parse_csv;
use crate::compare::threshold::{Setting, settings};
use crate::report::{MetricResult, Value};
use crate::spec::Metric;

fn definitions() -> Vec<Metric> {
    vec![
        enum_metric("outcome", &["success", "failure", "abandoned"]),
        metric("score", MetricKind::Integer { range: Some([1, 5]) }),
        metric("name", MetricKind::String),
        metric("date", MetricKind::Datetime),
        metric("issues", MetricKind::List { choices: None }),
        metric("verified", MetricKind::Boolean),
    ]
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Answers for calls c0..c10 (c10 has no label row).
fn report() -> Report {
    let outcome: [MetricResult; 11] = [
        ok_conf(text("success"), 0.95),
        ok_conf(text("success"), 0.95),
        ok_conf(text("failure"), 0.92),
        ok_conf(text("failure"), 0.85),
        ok_conf(text("success"), 0.55),
        invalid(),
        ok_conf(text("abandoned"), 0.75),
        MetricResult::Null {
            confidence: Some(0.65),
            reasoning: None,
            grounds: Default::default(),
        },
        ok_conf(text("success"), 0.98),
        ok_conf(text("success"), 0.99),
        ok_conf(text("success"), 0.99),
    ];
    let score = [4, 3, 3, 1, 5];
    let names = [ok_text("crystal minh."), ok_text("Joyce"), null(), null()];
    let dates = [ok_text("2019-03-13T15:30:00"), ok_text("2019-03-08"), not_applicable()];
    let issues = [ok(list(&["refund"])), ok(list(&["Billing"]))];
    let verified = [true, true, true];
    let calls = outcome
        .into_iter()
        .enumerate()
        .map(|(i, outcome)| {
            let mut metrics = vec![("outcome", outcome)];
            if let Some(s) = score.get(i) {
                metrics.push(("score", ok(Value::Int(*s))));
            }
            if let Some(n) = names.get(i) {
                metrics.push(("name", n.clone()));
            }
            if let Some(d) = dates.get(i) {
                metrics.push(("date", d.clone()));
            }
            if let Some(l) = issues.get(i) {
                metrics.push(("issues", l.clone()));
            }
            if let Some(v) = verified.get(i) {
                metrics.push(("verified", ok(Value::Bool(*v))));
            }
            call(&format!("c{i}"), metrics)
        })
        .collect();
    report_of(definitions(), calls)
}

const LABELS: &str = "\
call_id,outcome,score,name,date,issues,verified
c0,success,4,Crystal Minh,2019-03-13,refund; late delivery,true
c1,success,5,Joyce Wu,2019-03-07,billing,false
c2,success,2,null,n/a,,true
c3,failure,1,Ann,,,
c4,failure,3,,,,
c5,failure,,,,,
c6,abandoned,,,,,
c7,null,,,,,
c8,success,,,,,
c9,,,,,,
c99,success,,,,,
";

fn run(options: &EvalOptions) -> Eval {
    let report = report();
    let rows = parse_csv(LABELS, &MetricSet::of_report(&report)).unwrap();
    eval("report.json", &report, "labels.csv", &rows, options)
}

fn metric_of<'a>(eval: &'a Eval, id: &str) -> &'a MetricEval {
    eval.metrics.iter().find(|m| m.id == id).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn labels_are_matched_to_calls_by_id() {
    let e = run(&EvalOptions::default());
    assert_eq!(e.label_rows, 11);
    assert_eq!(e.matched_calls, 10);
    assert_eq!(e.labels_not_in_report, ["c99"]);
    assert_eq!(e.report_calls_without_labels, 1);
    assert!(e.unlabelled_metrics.is_empty());
}

#[test]
fn enum_accuracy_counts_invalid_as_wrong_and_null_as_a_value() {
    let e = run(&EvalOptions::default());
    let outcome = metric_of(&e, "outcome");
    assert_eq!(outcome.labelled, 9);
    assert_eq!((outcome.correct, outcome.invalid), (6, 1));
    assert!(close(outcome.score.unwrap(), 6.0 / 9.0));
    let misses: Vec<&str> = outcome.misses.iter().map(|m| m.call_id.as_str()).collect();
    assert_eq!(misses, ["c2", "c4", "c5"]);
}

#[test]
fn confusion_matrix_rows_are_labels_and_columns_answers() {
    let e = run(&EvalOptions::default());
    let c = metric_of(&e, "outcome").confusion.clone().unwrap();
    assert_eq!(c.classes, ["success", "failure", "abandoned", "null", "invalid"]);
    assert_eq!(
        c.counts,
        [
            [3, 1, 0, 0, 0],
            [1, 1, 0, 0, 1],
            [0, 0, 1, 0, 0],
            [0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0],
        ]
    );
    assert_eq!(c.count("failure", "invalid"), 1);
    let success = &c.per_class[0];
    assert_eq!((success.support, success.predicted), (4, 4));
    assert_eq!((success.precision, success.recall), (Some(0.75), Some(0.75)));
    let failure = &c.per_class[1];
    assert_eq!((failure.precision, failure.recall), (Some(0.5), Some(1.0 / 3.0)));
    let invalid = &c.per_class[4];
    assert_eq!((invalid.precision, invalid.recall), (Some(0.0), None));
}

#[test]
fn boolean_precision_is_unknown_for_a_class_never_predicted() {
    let e = run(&EvalOptions::default());
    let verified = metric_of(&e, "verified");
    assert!(close(verified.score.unwrap(), 2.0 / 3.0));
    let c = verified.confusion.as_ref().unwrap();
    assert_eq!(c.classes, ["true", "false"]);
    assert_eq!(c.counts, [[2, 0], [1, 0]]);
    assert_eq!(c.per_class[0].precision, Some(2.0 / 3.0));
    assert_eq!(c.per_class[0].recall, Some(1.0));
    assert_eq!((c.per_class[1].precision, c.per_class[1].recall), (None, Some(0.0)));
}

#[test]
fn numbers_report_mean_absolute_error_and_within_tolerance() {
    // errors (answer − label): 0, −2, +1, 0, +2
    let exact = run(&EvalOptions::default());
    let score = metric_of(&exact, "score");
    let n = score.numeric.as_ref().unwrap();
    assert_eq!((n.pairs, n.within_tolerance), (5, 2));
    assert!(close(n.mean_absolute_error.unwrap(), 1.0));
    assert!(close(n.mean_error.unwrap(), 0.2));
    assert!(close(score.score.unwrap(), 0.4));

    let options = EvalOptions {
        tolerance: settings(&["score=1"], Setting::amount),
        ..EvalOptions::default()
    };
    let lenient = run(&options);
    let score = metric_of(&lenient, "score");
    assert_eq!(score.numeric.as_ref().unwrap().within_tolerance, 3);
    assert_eq!(score.numeric.as_ref().unwrap().tolerance, 1.0);
    assert!(close(score.score.unwrap(), 0.6));
}

#[test]
fn strings_match_after_normalising_and_dates_by_day() {
    let e = run(&EvalOptions::default());
    // "crystal minh." = "Crystal Minh"; "Joyce" ≠ "Joyce Wu"; null = null; null ≠ "Ann".
    let name = metric_of(&e, "name");
    assert_eq!((name.measure, name.labelled, name.correct), ("exact_match", 4, 2));
    // same day despite the time; a day off; not_applicable = not_applicable.
    let date = metric_of(&e, "date");
    assert_eq!((date.measure, date.labelled, date.correct), ("same_date", 3, 2));
}

#[test]
fn lists_score_the_mean_jaccard() {
    let e = run(&EvalOptions::default());
    let issues = metric_of(&e, "issues");
    // {refund} vs {refund, late delivery} = 1/2; {billing} vs {Billing} = 1.
    assert_eq!(issues.measure, "mean_jaccard");
    assert!(close(issues.score.unwrap(), 0.75));
    assert_eq!(issues.correct, 1);
}

#[test]
fn confidence_buckets_show_accuracy_per_band() {
    let e = run(&EvalOptions::default());
    let got: Vec<(String, usize, f64)> = metric_of(&e, "outcome")
        .calibration
        .iter()
        .map(|b| (b.label(), b.count, b.accuracy))
        .collect();
    assert_eq!(
        got,
        [
            ("0.5-0.6".to_string(), 1, 0.0),
            ("0.6-0.7".to_string(), 1, 1.0),
            ("0.7-0.8".to_string(), 1, 1.0),
            ("0.8-0.9".to_string(), 1, 1.0),
            ("0.9-1.0".to_string(), 4, 0.75),
            ("none".to_string(), 1, 0.0),
        ]
    );
    let top = &metric_of(&e, "outcome").calibration[4];
    assert!(close(top.mean_confidence.unwrap(), 0.95));
    // Pooled over every metric: only outcome carries confidences here.
    assert_eq!(
        e.calibration.iter().map(|b| b.count).sum::<usize>(),
        9 + 5 + 4 + 3 + 2 + 3
    );
}

#[test]
fn thresholds_pass_at_the_line_and_fail_just_under_it() {
    let with = |args: &[&str], expect: &[(&str, f64)]| {
        let options = EvalOptions {
            min_accuracy: settings(args, Setting::share),
            expect: expect.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..EvalOptions::default()
        };
        let e = run(&options);
        let failing: Vec<String> = e.failures().map(|m| m.id.clone()).collect();
        (e, failing)
    };
    // outcome scores exactly 2/3.
    let (_, failing) = with(&[], &[("outcome", 2.0 / 3.0)]);
    assert!(failing.is_empty(), "{failing:?}");
    let (e, failing) = with(&[], &[("outcome", 0.67)]);
    assert_eq!(failing, ["outcome"]);
    assert_eq!(metric_of(&e, "outcome").threshold_from, Some("expect"));
    // --min-accuracy ID= wins over expect; a bare --min-accuracy only fills in.
    let (e, failing) = with(&["outcome=0.66", "0.5"], &[("outcome", 0.9)]);
    assert_eq!(failing, ["score"]);
    assert_eq!(metric_of(&e, "outcome").min_accuracy, Some(0.66));
    assert_eq!(metric_of(&e, "name").min_accuracy, Some(0.5));
    let (_, failing) = with(&["0.4"], &[]);
    assert!(failing.is_empty(), "{failing:?}");
    let (_, failing) = with(&["0.41"], &[]);
    assert_eq!(failing, ["score"]);
}

#[test]
fn a_failed_request_counts_as_wrong() {
    let mut report = report();
    report.calls[0].metrics.shift_remove("outcome");
    let rows = parse_csv(LABELS, &MetricSet::of_report(&report)).unwrap();
    let e = eval("r", &report, "l", &rows, &EvalOptions::default());
    let outcome = metric_of(&e, "outcome");
    assert_eq!((outcome.missing, outcome.correct), (1, 5));
}

#[test]
fn kappa_sits_beside_accuracy_and_its_minimum_is_checked_like_accuracy() {
    let e = run(&EvalOptions::default());
    let outcome = metric_of(&e, "outcome");
    let a = outcome.agreement.as_ref().unwrap();
    // κ's observed agreement is the accuracy: both over the same 9 labelled calls.
    assert_eq!(a.calls, outcome.labelled);
    assert!(outcome.kappa_check.is_none(), "no minimum set");
    let kappa = a.headline_estimate().unwrap().value().unwrap();
    assert!(kappa < outcome.score.unwrap(), "chance correction lowers {kappa}");
    assert!(metric_of(&e, "name").agreement.is_none(), "free text has no κ");
    let score = metric_of(&e, "score").agreement.as_ref().unwrap();
    assert_eq!(score.headline, Some(crate::compare::agreement::Stat::KappaQuadratic));

    let with = |flag: &[&str], expect: &[(&str, f64)]| {
        let options = EvalOptions {
            min_kappa: settings(flag, Setting::coefficient),
            expect_kappa: expect.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
            ..EvalOptions::default()
        };
        run(&options)
    };
    let at = with(&[], &[("outcome", kappa)]);
    assert!(at.failures().next().is_none(), "exactly at the minimum passes");
    let above = with(&["outcome=0.99"], &[("outcome", 0.1)]);
    let check = metric_of(&above, "outcome").kappa_check.as_ref().unwrap();
    assert_eq!((check.minimum, check.from, check.passed), (0.99, "--min-kappa", false));
    assert_eq!(above.failures().map(|m| m.id.as_str()).collect::<Vec<_>>(), ["outcome"]);
    // A bare default checks every metric that has a κ, and only those.
    let all = with(&["-1"], &[]);
    let checked: Vec<&str> = all
        .metrics
        .iter()
        .filter(|m| m.kappa_check.is_some())
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(checked, ["outcome", "score", "verified"]);
}

#[test]
fn an_undefined_kappa_fails_its_check_with_the_reason() {
    // verified: labels true, false, true; make every answer and label the same value.
    let mut report = report();
    for call in &mut report.calls[..3] {
        call.metrics["verified"] = ok(Value::Bool(true));
    }
    let labels = LABELS.replace(
        "c1,success,5,Joyce Wu,2019-03-07,billing,false",
        "c1,success,5,Joyce Wu,2019-03-07,billing,true",
    );
    let rows = parse_csv(&labels, &MetricSet::of_report(&report)).unwrap();
    let options = EvalOptions {
        min_kappa: settings(&["verified=0.5"], Setting::coefficient),
        ..EvalOptions::default()
    };
    let e = eval("r", &report, "l", &rows, &options);
    let verified = metric_of(&e, "verified");
    assert_eq!(verified.score, Some(1.0));
    let check = verified.kappa_check.as_ref().unwrap();
    assert_eq!((check.value, check.passed), (None, false));
    assert!(check.reason.unwrap().contains("0/0"));
    let ac1 = verified
        .agreement
        .as_ref()
        .unwrap()
        .get(crate::compare::agreement::Stat::Ac1)
        .unwrap();
    assert_eq!(ac1.value(), Some(1.0), "AC1 stays defined where κ is 0/0");
}

#[test]
fn calibration_error_is_computed_per_metric_and_pooled() {
    let e = run(&EvalOptions::default());
    let outcome = metric_of(&e, "outcome").calibration_error.as_ref().unwrap();
    // Buckets (see confidence_buckets_show_accuracy_per_band): 0.55 wrong, 0.65 null=null
    // right, 0.75 right, 0.85 right, and 0.92/0.95/0.95/0.98 with 3 of 4 right (mean .95).
    // ECE = (.55 + .35 + .25 + .15 + 4·|.75 − .95|) / 8 = 2.1 / 8.
    assert_eq!(outcome.answers, 8);
    assert!(close(outcome.ece, 2.1 / 8.0), "{}", outcome.ece);
    assert_eq!((outcome.confident, outcome.confident_accuracy), (4, Some(0.75)));
    assert!(e.calibration_error.as_ref().unwrap().answers >= outcome.answers);
}
