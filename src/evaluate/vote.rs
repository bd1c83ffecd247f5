//! `--samples K`: one value out of K answers to the same question, and how many agreed.
//!
//! Invalid samples do not vote. The vote is by the metric's type: the most frequent answer
//! for enum, boolean, integer and datetime (a `null` or not-applicable answer is one more
//! candidate); for numbers, lists and strings the status comes first (the most frequent of
//! ok / null / not applicable), then among the `ok` samples the median number (the lower
//! of the two middle ones for an even count, so the value is one a sample gave), the items
//! present in a majority of the valid samples, or the most central text (the smallest total
//! edit distance to the others). Every tie goes to the first sample, in sample order, among
//! the tied: the same answers always give the same value.
//!
//! `consistency` is the share of valid samples that agree with the value chosen: the same
//! answer (for lists, the same set of items; for numbers, the same number). `samples` is
//! how many voted: a sample whose request failed, or whose answer stayed invalid, is not
//! counted, so a value voted by 2 of 3 samples says so instead of passing for a full vote.

use crate::report::{MetricResult, Status, Value};
use crate::spec::MetricKind;

/// The value voted from `samples` (in sample order), with its `consistency`. With no valid
/// sample, the first sample's invalid answer, as a single ask would have given it.
pub fn vote(kind: &MetricKind, samples: Vec<MetricResult>) -> MetricResult {
    let valid: Vec<&MetricResult> = samples.iter().filter(|r| r.status() != Status::Invalid).collect();
    if valid.is_empty() {
        return samples.into_iter().next().unwrap_or_else(|| MetricResult::Invalid {
            reason: "no answer".into(),
            raw: String::new(),
        });
    }
    let (mut chosen, agree) = match kind {
        MetricKind::Enum { .. } | MetricKind::Boolean | MetricKind::Integer { .. } | MetricKind::Datetime => {
            // The answer as a whole is the ballot: `null` and not-applicable compete with values.
            let ballots: Vec<(Status, Option<&Value>)> = valid.iter().map(|r| (r.status(), r.value())).collect();
            let winner = mode(&ballots);
            let agree = ballots.iter().filter(|b| **b == ballots[winner]).count();
            (valid[winner].clone(), agree)
        }
        MetricKind::Number { .. } | MetricKind::List { .. } | MetricKind::String => {
            let statuses: Vec<Status> = valid.iter().map(|r| r.status()).collect();
            let status = statuses[mode(&statuses)];
            if status != Status::Ok {
                let first = valid
                    .iter()
                    .find(|r| r.status() == status)
                    .expect("the mode is present");
                ((*first).clone(), statuses.iter().filter(|s| **s == status).count())
            } else {
                let ok: Vec<&MetricResult> = valid.iter().copied().filter(|r| r.status() == Status::Ok).collect();
                let values: Vec<&Value> = ok.iter().filter_map(|r| r.value()).collect();
                vote_values(kind, &ok, &values, valid.len())
            }
        }
    };
    if let Some(grounds) = chosen.grounds_mut() {
        grounds.consistency = Some(agree as f64 / valid.len() as f64);
        grounds.samples = Some(valid.len() as u32);
    }
    chosen
}

/// The `ok` answer voted for a number, list or string metric, and how many samples agree.
fn vote_values(kind: &MetricKind, ok: &[&MetricResult], values: &[&Value], valid: usize) -> (MetricResult, usize) {
    match kind {
        MetricKind::Number { .. } => {
            let numbers: Vec<f64> = values.iter().map(|v| number(v)).collect();
            let median = lower_median(&numbers);
            let at = numbers
                .iter()
                .position(|n| *n == median)
                .expect("the median is a sample's");
            (ok[at].clone(), numbers.iter().filter(|n| **n == median).count())
        }
        MetricKind::List { .. } => {
            let lists: Vec<&[String]> = values
                .iter()
                .map(|v| match v {
                    Value::List(items) => items.as_slice(),
                    _ => &[],
                })
                .collect();
            let items = majority_items(&lists, valid);
            let agree = lists.iter().filter(|l| same_items(l, &items)).count();
            let result = match lists.iter().position(|l| same_items(l, &items)) {
                Some(at) => ok[at].clone(),
                // No sample gave exactly these items: the first one's answer carries them.
                None => with_value(ok[0].clone(), Value::List(items)),
            };
            (result, agree)
        }
        _ => {
            let texts: Vec<&str> = values
                .iter()
                .map(|v| match v {
                    Value::Text(text) => text.as_str(),
                    _ => "",
                })
                .collect();
            let at = most_central(&texts);
            (ok[at].clone(), texts.iter().filter(|t| **t == texts[at]).count())
        }
    }
}

/// The index of the most frequent of `ballots`; a tie goes to the one that came first.
fn mode<T: PartialEq>(ballots: &[T]) -> usize {
    let mut best = (0, 0);
    for (i, ballot) in ballots.iter().enumerate() {
        let count = ballots.iter().filter(|b| *b == ballot).count();
        // Strictly more: an equal count later in the order does not displace the first.
        if count > best.1 {
            best = (i, count);
        }
    }
    best.0
}

/// The median of `numbers`, the lower middle one when their count is even (so it is one of
/// them). NaN sorts last, so it is chosen only when most of them are NaN.
fn lower_median(numbers: &[f64]) -> f64 {
    let mut sorted = numbers.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(sorted.len() - 1) / 2]
}

/// The items present in more than half of `valid` samples, in the order they first appear.
fn majority_items(lists: &[&[String]], valid: usize) -> Vec<String> {
    let mut items: Vec<String> = Vec::new();
    for item in lists.iter().copied().flatten() {
        if items.contains(item) {
            continue;
        }
        let present = lists.iter().filter(|l| l.contains(item)).count();
        if present * 2 > valid {
            items.push(item.clone());
        }
    }
    items
}

/// Whether `list` holds exactly `items`, whatever their order.
fn same_items(list: &[String], items: &[String]) -> bool {
    list.iter().all(|v| items.contains(v)) && items.iter().all(|v| list.contains(v))
}

/// The index of the text with the smallest total edit distance to the others; a tie goes
/// to the first.
fn most_central(texts: &[&str]) -> usize {
    let totals: Vec<usize> = texts
        .iter()
        .map(|a| texts.iter().map(|b| strsim::levenshtein(a, b)).sum())
        .collect();
    let least = totals.iter().min().copied().unwrap_or_default();
    totals.iter().position(|t| *t == least).unwrap_or_default()
}

/// A number answer as a number (an integral one may have been read as an integer).
fn number(value: &Value) -> f64 {
    match value {
        Value::Number(n) => *n,
        Value::Int(i) => *i as f64,
        _ => f64::NAN,
    }
}

fn with_value(result: MetricResult, new: Value) -> MetricResult {
    match result {
        MetricResult::Ok {
            confidence,
            reasoning,
            grounds,
            ..
        } => MetricResult::Ok {
            value: new,
            confidence,
            reasoning,
            grounds,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Grounds;

    fn ok(value: Value) -> MetricResult {
        MetricResult::Ok {
            value,
            confidence: None,
            reasoning: None,
            grounds: Grounds::NONE,
        }
    }

    fn text(s: &str) -> Value {
        Value::Text(s.into())
    }

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| s.to_string()).collect())
    }

    fn null() -> MetricResult {
        MetricResult::Null {
            confidence: None,
            reasoning: None,
            grounds: Grounds::NONE,
        }
    }

    fn invalid() -> MetricResult {
        MetricResult::Invalid {
            reason: "bad".into(),
            raw: "x".into(),
        }
    }

    fn voted(kind: MetricKind, samples: Vec<MetricResult>) -> (Option<Value>, Status, Option<f64>) {
        let voters = samples.iter().filter(|r| r.status() != Status::Invalid).count() as u32;
        let result = vote(&kind, samples);
        assert_eq!(
            result.grounds().and_then(|g| g.samples),
            Some(voters),
            "every valid sample voted"
        );
        (
            result.value().cloned(),
            result.status(),
            result.grounds().and_then(|g| g.consistency),
        )
    }

    fn enumeration() -> MetricKind {
        MetricKind::Enum {
            choices: vec!["a".into(), "b".into(), "c".into()],
        }
    }

    #[test]
    fn enums_take_the_mode_and_invalid_samples_do_not_vote() {
        // a, b, b, invalid: b twice out of three valid.
        let samples = vec![ok(text("a")), ok(text("b")), ok(text("b")), invalid()];
        assert_eq!(
            voted(enumeration(), samples),
            (Some(text("b")), Status::Ok, Some(2.0 / 3.0))
        );
    }

    #[test]
    fn a_tie_goes_to_the_first_sample_among_the_tied() {
        let samples = vec![ok(text("c")), ok(text("a")), ok(text("a")), ok(text("c"))];
        assert_eq!(voted(enumeration(), samples), (Some(text("c")), Status::Ok, Some(0.5)));
        let samples = vec![ok(Value::Bool(true)), ok(Value::Bool(false))];
        assert_eq!(
            voted(MetricKind::Boolean, samples),
            (Some(Value::Bool(true)), Status::Ok, Some(0.5))
        );
    }

    #[test]
    fn a_null_answer_competes_with_discrete_values() {
        // null twice, 3 and 4 once each: null wins with 2 of 4.
        let samples = vec![ok(Value::Int(3)), null(), null(), ok(Value::Int(4))];
        let kind = MetricKind::Integer { range: None };
        assert_eq!(voted(kind, samples), (None, Status::Null, Some(0.5)));
    }

    #[test]
    fn numbers_take_the_lower_median() {
        let kind = || MetricKind::Number { range: None };
        // 0.9, 0.1, 0.5: sorted 0.1, 0.5, 0.9 → 0.5, one of three.
        let samples = vec![ok(Value::Number(0.9)), ok(Value::Number(0.1)), ok(Value::Number(0.5))];
        assert_eq!(
            voted(kind(), samples),
            (Some(Value::Number(0.5)), Status::Ok, Some(1.0 / 3.0))
        );
        // 4, 1, 3, 1: sorted 1, 1, 3, 4 → lower middle 1, two of four.
        let samples = vec![
            ok(Value::Number(4.0)),
            ok(Value::Number(1.0)),
            ok(Value::Number(3.0)),
            ok(Value::Number(1.0)),
        ];
        assert_eq!(
            voted(kind(), samples),
            (Some(Value::Number(1.0)), Status::Ok, Some(0.5))
        );
    }

    #[test]
    fn lists_keep_the_items_most_samples_give() {
        let kind = MetricKind::List { choices: None };
        // x in 3 of 3, y in 2 of 3, z in 1: [x, y], which only the second sample gave.
        let samples = vec![ok(list(&["x", "z"])), ok(list(&["y", "x"])), ok(list(&["x", "y"]))];
        let result = vote(&kind, samples);
        assert_eq!(result.value(), Some(&list(&["y", "x"])), "the sample giving that set");
        assert_eq!(result.grounds().unwrap().consistency, Some(2.0 / 3.0));
        // No sample gave the majority set: it is built, and no sample agrees.
        let samples = vec![ok(list(&["x", "y"])), ok(list(&["y", "z"])), ok(list(&["z", "x"]))];
        assert_eq!(
            voted(kind, samples),
            (Some(list(&["x", "y", "z"])), Status::Ok, Some(0.0))
        );
    }

    #[test]
    fn strings_take_the_most_central_text() {
        // Distances: "refund"–"refunds" 1, "refund"–"credit" 5, "refunds"–"credit" 6.
        // Totals: refund 6, refunds 7, credit 11.
        let samples = vec![ok(text("credit")), ok(text("refunds")), ok(text("refund"))];
        assert_eq!(
            voted(MetricKind::String, samples),
            (Some(text("refund")), Status::Ok, Some(1.0 / 3.0))
        );
    }

    #[test]
    fn with_no_valid_sample_the_first_invalid_answer_stands() {
        let result = vote(&enumeration(), vec![invalid(), invalid()]);
        assert_eq!(result.status(), Status::Invalid);
        assert_eq!(result.grounds(), None);
    }
}
