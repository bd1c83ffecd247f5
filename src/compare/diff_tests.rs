//! A prompt change seen through `diff`: two reports with known answers and every number
//! `diff` derives from them.

use super::*;
use crate::answer::testing::*;
use crate::compare::threshold::{Setting, settings};
use crate::report::MetricResult;

fn outcome_metric() -> crate::spec::Metric {
    enum_metric("outcome", &["resolved", "escalated", "abandoned"])
}

/// Ten calls: outcome flips on c1 (resolved→escalated), c2 (resolved→null) and c3
/// (escalated→resolved); score moves +1 on c1, −2 on c2; issues gain/lose items.
fn base_and_new() -> (Report, Report) {
    let mut base_calls = Vec::new();
    let mut new_calls = Vec::new();
    for i in 0..10 {
        let id = format!("c{i}");
        let (old_outcome, new_outcome) = match i {
            1 => (ok_text("resolved"), ok_text("escalated")),
            2 => (ok_text("resolved"), null()),
            3 => (ok_text("escalated"), ok_text("resolved")),
            4 | 5 => (ok_text("escalated"), ok_text("escalated")),
            _ => (ok_text("resolved"), ok_text("resolved")),
        };
        let (old_score, new_score) = match i {
            1 => (3, 4),
            2 => (5, 3),
            _ => (4, 4),
        };
        let (old_issues, new_issues) = match i {
            1 => (list(&["refund"]), list(&["Refund", "late delivery"])),
            2 => (list(&["refund", "billing"]), list(&["late delivery"])),
            _ => (list(&["refund"]), list(&["refund"])),
        };
        base_calls.push(call(
            &id,
            vec![
                ("outcome", old_outcome),
                ("score", ok(Value::Int(old_score))),
                ("issues", ok(old_issues)),
                ("legacy", ok(Value::Bool(true))),
            ],
        ));
        new_calls.push(call(
            &id,
            vec![
                ("outcome", new_outcome),
                ("score", ok(Value::Int(new_score))),
                ("issues", ok(new_issues)),
                ("fresh", ok(Value::Bool(false))),
            ],
        ));
    }
    base_calls.push(call("gone", vec![("outcome", ok_text("resolved"))]));
    new_calls.push(call("extra", vec![("outcome", ok_text("resolved"))]));
    let base_defs = vec![
        outcome_metric(),
        metric("score", MetricKind::Integer { range: Some([1, 5]) }),
        metric("issues", MetricKind::List { choices: None }),
        metric("legacy", MetricKind::Boolean),
    ];
    let mut new_outcome = outcome_metric();
    new_outcome.prompt = "How did the call end?".into();
    let new_defs = vec![
        new_outcome,
        metric("score", MetricKind::Integer { range: Some([1, 5]) }),
        metric("issues", MetricKind::List { choices: None }),
        metric("fresh", MetricKind::Boolean),
    ];
    let mut base = report_of(base_defs, base_calls);
    let mut new = report_of(new_defs, new_calls);
    base.header.as_mut().unwrap().metrics_sha256 = "a".repeat(64);
    new.header.as_mut().unwrap().metrics_sha256 = "b".repeat(64);
    (base, new)
}

fn run(limits: &[&str]) -> Diff {
    let (base, new) = base_and_new();
    let options = DiffOptions {
        max_changed: settings(limits, Setting::share),
        reasoning: false,
        ..DiffOptions::default()
    };
    diff("base.json", &base, "new.json", &new, &options)
}

fn metric_of<'a>(diff: &'a Diff, id: &str) -> &'a MetricDiff {
    diff.metrics.iter().find(|m| m.id == id).unwrap()
}

#[test]
fn agreement_counts_every_status_change() {
    let d = run(&[]);
    let outcome = metric_of(&d, "outcome");
    assert_eq!((outcome.compared, outcome.agreed, outcome.changed), (10, 7, 3));
    assert_eq!(outcome.agreement, Some(0.7));
    let changed: Vec<(&str, String, String)> = outcome
        .changes
        .iter()
        .map(|c| (c.call_id.as_str(), c.old.display(), c.new.display()))
        .collect();
    assert_eq!(
        changed,
        [
            ("c1", "resolved".into(), "escalated".into()),
            ("c2", "resolved".into(), "null".into()),
            ("c3", "escalated".into(), "resolved".into()),
        ]
    );
}

#[test]
fn transition_table_counts_old_by_new() {
    let d = run(&[]);
    let t = metric_of(&d, "outcome").transitions.as_ref().unwrap();
    assert_eq!(t.categories, ["resolved", "escalated", "null"]);
    assert_eq!(t.counts, [[5, 1, 1], [1, 2, 0], [0, 0, 0]]);
    assert_eq!(t.count("resolved", "null"), 1);
}

#[test]
fn numbers_show_mean_shift_and_mean_absolute_change() {
    let d = run(&[]);
    let score = metric_of(&d, "score");
    assert_eq!(score.changed, 2);
    let n = score.numeric.as_ref().unwrap();
    assert_eq!(n.pairs, 10);
    assert!((n.mean_shift - (-0.1)).abs() < 1e-12, "{n:?}");
    assert!((n.mean_abs_change - 0.3).abs() < 1e-12, "{n:?}");
    assert!((n.mean_old - 4.0).abs() < 1e-12 && (n.mean_new - 3.9).abs() < 1e-12);
}

#[test]
fn lists_show_items_added_and_removed() {
    let d = run(&[]);
    let issues = metric_of(&d, "issues");
    // c1 gained "late delivery" ("Refund" is the same item as "refund"); c2 swapped all.
    assert_eq!(issues.changed, 2);
    let changes = issues.set_changes.as_ref().unwrap();
    let rows: Vec<(&str, usize, usize)> = changes.iter().map(|c| (c.item.as_str(), c.added, c.removed)).collect();
    assert_eq!(rows, [("late delivery", 2, 0), ("billing", 0, 1), ("refund", 0, 1)]);
}

#[test]
fn metrics_and_calls_on_one_side_only_are_listed() {
    let d = run(&[]);
    assert_eq!(d.metrics_added, ["fresh"]);
    assert_eq!(d.metrics_removed, ["legacy"]);
    assert_eq!(d.only_in_base, ["gone"]);
    assert_eq!(d.only_in_new, ["extra"]);
    assert_eq!(d.calls_compared, 10);
    assert_eq!(d.same_metric_file, Some(false));
}

#[test]
fn changed_definitions_are_shown_beside_their_metric() {
    let d = run(&[]);
    assert_eq!(metric_of(&d, "outcome").definition_changed, ["prompt"]);
    assert!(metric_of(&d, "score").definition_changed.is_empty());
    assert_eq!(d.definition_changes[0].new, "How did the call end?");
}

#[test]
fn max_changed_passes_at_the_limit_and_fails_just_over_it() {
    // outcome changed 3 of 10 = 30%; score and issues 20%.
    let at = run(&["30%"]);
    assert_eq!(at.failures().count(), 0);
    let under = run(&["29.9%"]);
    let failing: Vec<&str> = under.failures().map(|m| m.id.as_str()).collect();
    assert_eq!(failing, ["outcome"]);
    let per_metric = run(&["50%", "score=0.19"]);
    let failing: Vec<&str> = per_metric.failures().map(|m| m.id.as_str()).collect();
    assert_eq!(failing, ["score"]);
    assert_eq!(metric_of(&per_metric, "outcome").max_changed, Some(0.5));
    assert_eq!(metric_of(&per_metric, "score").max_changed, Some(0.19));
}

#[test]
fn a_failed_request_is_counted_not_compared() {
    let (base, mut new) = base_and_new();
    new.calls[0].metrics.shift_remove("outcome");
    let d = diff("b", &base, "n", &new, &DiffOptions::default());
    let outcome = metric_of(&d, "outcome");
    assert_eq!((outcome.compared, outcome.missing_in_new), (9, 1));
}

#[test]
fn reasonings_are_kept_on_request() {
    let (mut base, mut new) = base_and_new();
    let reasoned = |value: &str, why: &str| MetricResult::Ok {
        value: Value::Text(value.into()),
        confidence: Some(0.9),
        reasoning: Some(why.into()),
        grounds: Default::default(),
    };
    base.calls[1].metrics["outcome"] = reasoned("resolved", "customer thanked the agent");
    new.calls[1].metrics["outcome"] = reasoned("escalated", "a supervisor took over");
    let options = DiffOptions {
        reasoning: true,
        ..DiffOptions::default()
    };
    let d = diff("b", &base, "n", &new, &options);
    let change = &metric_of(&d, "outcome").changes[0];
    assert_eq!(change.old_reasoning.as_deref(), Some("customer thanked the agent"));
    assert_eq!(change.new_reasoning.as_deref(), Some("a supervisor took over"));
    let quiet = diff("b", &base, "n", &new, &DiffOptions::default());
    assert_eq!(metric_of(&quiet, "outcome").changes[0].old_reasoning, None);
}

#[test]
fn duplicate_call_ids_use_the_first_and_are_reported() {
    let (mut base, new) = base_and_new();
    let mut copy = base.calls[1].clone();
    copy.metrics["outcome"] = ok_text("abandoned");
    base.calls.push(copy);
    let d = diff("b", &base, "n", &new, &DiffOptions::default());
    assert_eq!(d.duplicate_call_ids, ["c1"]);
    assert_eq!(metric_of(&d, "outcome").changed, 3);
}

#[test]
fn category_order_is_choices_then_others_then_statuses() {
    let got = order_categories(
        ["invalid", "zeta", "escalated", "null", "resolved"].map(String::from),
        &["resolved".to_string(), "escalated".to_string(), "abandoned".to_string()],
    );
    assert_eq!(got, ["resolved", "escalated", "zeta", "null", "invalid"]);
}

/// Test–retest: the same κ as `eval` computes, base as the first rater. Hand computed for
/// outcome over c0..c9: base resolved 7, escalated 3; new resolved 6, escalated 3, null 1;
/// 7 of 10 agree; p_e = (7·6 + 3·3)/100 = .51; κ = (.7 − .51)/.49 = .387755. For score,
/// pairs (4,4)×8, (3,4), (5,3): observed Σ(x−y)²/n = .5, expected E[x²] + E[y²] − 2E[x]E[y]
/// = 16.2 + 15.3 − 2·4·3.9 = .3, so quadratic κ = 1 − .5/.3 = −.6667: the two changed
/// calls moved against each other, worse than chance.
#[test]
fn test_retest_agreement_beyond_chance() {
    use crate::compare::agreement::Stat;
    let d = run(&[]);
    let outcome = metric_of(&d, "outcome").chance_corrected.as_ref().unwrap();
    assert_eq!(outcome.calls, 10);
    let kappa = outcome.get(Stat::Kappa).unwrap().value().unwrap();
    assert!((kappa - 0.387755).abs() < 1e-6, "{kappa}");
    let score = metric_of(&d, "score").chance_corrected.as_ref().unwrap();
    let quadratic = score.get(Stat::KappaQuadratic).unwrap().value().unwrap();
    assert!((quadratic + 2.0 / 3.0).abs() < 1e-9, "{quadratic}");
    assert!(metric_of(&d, "issues").chance_corrected.is_none(), "lists have no κ");
}
