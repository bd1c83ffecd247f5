//! `filter --where`: pick calls by metric value, the offline "sample conversations by
//! metric value".
//!
//! A condition is `METRIC OP VALUE` with OP one of `=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, or
//! `METRIC:status=STATUS` (`!=` too) with STATUS one of ok, null, not_applicable, invalid,
//! missing. The value is read as the metric's type, so `satisfaction_score<=2` compares
//! numbers, `promised_date<2024-04-01` compares dates, `call_outcome=Escalated` matches the
//! choice `escalated`, and a value that cannot be of that type is an error before any call
//! is looked at. `~` is "contains": a substring of a text, an item of a list. Conditions are
//! all required (AND). A call whose answer is not a value (null, invalid…) matches only `!=`.

use anyhow::{Context as _, bail};

use crate::answer::ratio;
use crate::document::{Table, percent, shorten};
use crate::report::{CallResult, Value};
use crate::spec::MetricKind;

use crate::answer::value::{DateRule, Shape, as_f64, date_of, item_set, normalize_text, same_value, shape};
use crate::answer::{Answer, MetricSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

/// Longest first, so `<=` is not read as `<` followed by `=2`.
const OPERATORS: [(&str, Op); 8] = [
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("==", Op::Eq),
    ("=", Op::Eq),
    ("<", Op::Lt),
    (">", Op::Gt),
    ("~", Op::Contains),
];

const STATUSES: [&str; 5] = ["ok", "null", "not_applicable", "invalid", "missing"];

#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Status(&'static str),
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub metric: String,
    pub kind: MetricKind,
    pub op: Op,
    pub target: Target,
}

/// Parses one `--where` clause against the report's metrics.
pub fn parse_condition(text: &str, metrics: &MetricSet) -> anyhow::Result<Condition> {
    parse_inner(text, metrics).with_context(|| format!("--where '{text}'"))
}

fn parse_inner(text: &str, metrics: &MetricSet) -> anyhow::Result<Condition> {
    let start = text
        .find(['!', '<', '>', '=', '~', ':'])
        .context("no operator; write METRIC=VALUE (or != < <= > >= ~), or METRIC:status=invalid")?;
    let metric = text[..start].trim();
    let Some(kind) = metrics.kinds.get(metric) else {
        bail!(
            "no metric `{metric}` in the report; its metrics are: {}",
            metrics.id_list()
        );
    };
    let mut rest = &text[start..];
    let status = rest.starts_with(':');
    if status {
        rest = rest[1..]
            .trim_start()
            .strip_prefix("status")
            .context("after `:` only `status` is known, as in METRIC:status=invalid")?
            .trim_start();
    }
    let (op, value) = OPERATORS
        .iter()
        .find_map(|(symbol, op)| rest.strip_prefix(symbol).map(|v| (*op, v.trim())))
        .context("no operator; use = != < <= > >= or ~")?;
    if status {
        if !matches!(op, Op::Eq | Op::Ne) {
            bail!("a status is compared with = or != only");
        }
        let Some(found) = STATUSES.iter().find(|s| s.eq_ignore_ascii_case(value)) else {
            bail!("`{value}` is not a status; statuses are: {}", STATUSES.join(", "));
        };
        return Ok(Condition {
            metric: metric.to_string(),
            kind: kind.clone(),
            op,
            target: Target::Status(found),
        });
    }
    let value = typed_value(kind, metric, op, value, metrics)?;
    Ok(Condition {
        metric: metric.to_string(),
        kind: kind.clone(),
        op,
        target: Target::Value(value),
    })
}

fn typed_value(kind: &MetricKind, metric: &str, op: Op, text: &str, metrics: &MetricSet) -> anyhow::Result<Value> {
    let ordered = matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge);
    let status_hint = || {
        if STATUSES.contains(&text.to_ascii_lowercase().as_str()) {
            format!("; to pick calls by status write `{metric}:status={text}`")
        } else {
            String::new()
        }
    };
    match shape(kind) {
        Shape::Numeric => {
            if op == Op::Contains {
                bail!("`~` (contains) needs a text or list metric; `{metric}` is a number");
            }
            let n: f64 = text.parse().ok().filter(|n: &f64| n.is_finite()).with_context(|| {
                format!(
                    "`{text}` is not a number, and `{metric}` is a {} metric{}",
                    kind.name(),
                    status_hint()
                )
            })?;
            Ok(Value::Number(n))
        }
        Shape::Date => {
            if op == Op::Contains {
                bail!("`~` (contains) needs a text or list metric; `{metric}` is a datetime");
            }
            if date_of(text).is_none() {
                bail!(
                    "`{text}` is not a date like 2024-03-15 (`{metric}` is a datetime metric){}",
                    status_hint()
                );
            }
            Ok(Value::Text(text.to_string()))
        }
        _ if ordered => bail!(
            "`{metric}` is a {} metric: < <= > >= need a number or a date; use = != or ~",
            kind.name()
        ),
        Shape::Categorical => match kind {
            MetricKind::Boolean => match text.to_ascii_lowercase().as_str() {
                "true" | "yes" => Ok(Value::Bool(true)),
                "false" | "no" => Ok(Value::Bool(false)),
                _ => bail!(
                    "`{text}` is not true or false (`{metric}` is a boolean){}",
                    status_hint()
                ),
            },
            _ => {
                if op == Op::Contains {
                    return Ok(Value::Text(text.to_string()));
                }
                let choices = metrics.definitions.get(metric).and_then(|m| m.kind.choices());
                match choices {
                    Some(choices) => choices
                        .iter()
                        .find(|c| c.eq_ignore_ascii_case(text))
                        .map(|c| Value::Text(c.clone()))
                        .with_context(|| {
                            format!(
                                "`{text}` is not one of the choices of `{metric}` ({}){}",
                                choices.join(", "),
                                status_hint()
                            )
                        }),
                    None => Ok(Value::Text(text.to_string())),
                }
            }
        },
        Shape::Text => Ok(Value::Text(text.to_string())),
        Shape::Set => Ok(Value::List(
            text.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )),
    }
}

/// True when `call` meets every condition.
pub fn matches_all(call: &CallResult, conditions: &[Condition]) -> bool {
    conditions.iter().all(|c| matches(call, c))
}

pub fn matches(call: &CallResult, condition: &Condition) -> bool {
    let answer = Answer::of(call, &condition.metric);
    let target = match &condition.target {
        Target::Status(status) => {
            let same = answer.status_label() == *status;
            return if condition.op == Op::Ne { !same } else { same };
        }
        Target::Value(v) => v,
    };
    let Some(value) = answer.value() else {
        return condition.op == Op::Ne;
    };
    let kind = &condition.kind;
    match condition.op {
        Op::Eq => same_value(kind, value, target, DateRule::SameDay) || loose_equal(kind, value, target),
        Op::Ne => !(same_value(kind, value, target, DateRule::SameDay) || loose_equal(kind, value, target)),
        Op::Contains => contains(value, target),
        ordered => match compare(kind, value, target) {
            Some(ordering) => match ordered {
                Op::Lt => ordering.is_lt(),
                Op::Le => ordering.is_le(),
                Op::Gt => ordering.is_gt(),
                _ => ordering.is_ge(),
            },
            None => false,
        },
    }
}

/// Case-insensitive equality for enum texts in reports without definitions.
fn loose_equal(kind: &MetricKind, value: &Value, target: &Value) -> bool {
    matches!(kind, MetricKind::Enum { .. }) && value.display().eq_ignore_ascii_case(&target.display())
}

fn contains(value: &Value, target: &Value) -> bool {
    let needle = target.display();
    match value {
        Value::List(items) => {
            let wanted = normalize_text(&needle);
            item_set(items).contains(&wanted)
        }
        other => other.display().to_lowercase().contains(&needle.to_lowercase()),
    }
}

fn compare(kind: &MetricKind, value: &Value, target: &Value) -> Option<std::cmp::Ordering> {
    match shape(kind) {
        Shape::Numeric => as_f64(value)?.partial_cmp(&as_f64(target)?),
        Shape::Date => Some(date_of(&value.display())?.cmp(&date_of(&target.display())?)),
        _ => None,
    }
}

/// The calls `filter` matched: id, source, then one column per metric in `columns`.
pub fn calls_table(calls: &[&CallResult], columns: &[String]) -> String {
    let mut headers = vec!["call_id".to_string(), "source".to_string()];
    headers.extend(columns.iter().cloned());
    let mut table = Table::new(&headers);
    for call in calls {
        let mut row = vec![call.call_id.clone(), call.source.clone()];
        row.extend(columns.iter().map(|id| shorten(&Answer::of(call, id).display(), 40)));
        table.row(row);
    }
    crate::document::text::print_table(&table, "")
}

/// `3 of 120 calls match (2.5%)`, and `(showing 10)` when `--limit` showed fewer.
pub fn match_count(matched: usize, total: usize, shown: usize) -> String {
    let showing = if shown < matched {
        format!(" (showing {shown})")
    } else {
        String::new()
    };
    format!(
        "{matched} of {total} calls match ({}){showing}",
        ratio(matched, total).map_or("-".into(), percent)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::testing::*;
    use crate::report::Report;

    fn report() -> Report {
        report_of(
            vec![
                enum_metric("outcome", &["resolved", "escalated"]),
                metric("score", MetricKind::Integer { range: Some([1, 5]) }),
                metric("date", MetricKind::Datetime),
                metric("issues", MetricKind::List { choices: None }),
                metric("name", MetricKind::String),
                metric("verified", MetricKind::Boolean),
            ],
            vec![
                call(
                    "c1",
                    vec![
                        ("outcome", ok_text("escalated")),
                        ("score", ok(Value::Int(2))),
                        ("date", ok_text("2024-03-15T10:00:00Z")),
                        ("issues", ok(list(&["Late delivery", "refund"]))),
                        ("name", ok_text("Crystal Minh")),
                        ("verified", ok(Value::Bool(true))),
                    ],
                ),
                call(
                    "c2",
                    vec![
                        ("outcome", ok_text("resolved")),
                        ("score", ok(Value::Int(5))),
                        ("date", null()),
                        ("issues", ok(list(&[]))),
                        ("name", ok_text("Joyce Wu")),
                        ("verified", not_applicable()),
                    ],
                ),
                call("c3", vec![("outcome", invalid()), ("score", ok(Value::Int(1)))]),
            ],
        )
    }

    fn ids(clauses: &[&str]) -> Vec<String> {
        let report = report();
        let metrics = MetricSet::of_report(&report);
        let conditions: Vec<Condition> = clauses.iter().map(|c| parse_condition(c, &metrics).unwrap()).collect();
        report
            .calls
            .iter()
            .filter(|c| matches_all(c, &conditions))
            .map(|c| c.call_id.clone())
            .collect()
    }

    fn error(clause: &str) -> String {
        let report = report();
        format!(
            "{:#}",
            parse_condition(clause, &MetricSet::of_report(&report)).unwrap_err()
        )
    }

    #[test]
    fn values_are_compared_by_the_metric_type() {
        assert_eq!(ids(&["outcome=Escalated"]), ["c1"]);
        assert_eq!(ids(&["outcome!=escalated"]), ["c2", "c3"]);
        assert_eq!(ids(&["score<=2"]), ["c1", "c3"]);
        assert_eq!(ids(&["score>2"]), ["c2"]);
        assert_eq!(ids(&["score>=1", "score<2"]), ["c3"]);
        assert_eq!(ids(&["date<2024-03-16"]), ["c1"]);
        assert_eq!(ids(&["date=2024-03-15"]), ["c1"]);
        assert_eq!(ids(&["verified=true"]), ["c1"]);
    }

    #[test]
    fn tilde_means_contains() {
        assert_eq!(ids(&["issues~late delivery"]), ["c1"]);
        assert_eq!(ids(&["issues~late"]), Vec::<String>::new());
        assert_eq!(ids(&["name~wu"]), ["c2"]);
        assert_eq!(ids(&["name=crystal minh"]), ["c1"]);
    }

    #[test]
    fn statuses_are_filtered_with_colon_status() {
        assert_eq!(ids(&["outcome:status=invalid"]), ["c3"]);
        assert_eq!(ids(&["verified:status=not_applicable"]), ["c2"]);
        assert_eq!(ids(&["date:status=missing"]), ["c3"]);
        assert_eq!(ids(&["outcome:status!=ok"]), ["c3"]);
    }

    #[test]
    fn mistakes_are_explained() {
        let e = error("outcom=escalated");
        assert!(
            e.contains("no metric `outcom`") && e.contains("outcome, score, date"),
            "{e}"
        );
        let e = error("outcome=closed");
        assert!(
            e.contains("not one of the choices of `outcome` (resolved, escalated)"),
            "{e}"
        );
        let e = error("outcome=invalid");
        assert!(e.contains("outcome:status=invalid"), "{e}");
        let e = error("score<=two");
        assert!(e.contains("`two` is not a number"), "{e}");
        let e = error("outcome<escalated");
        assert!(e.contains("< <= > >= need a number or a date"), "{e}");
        let e = error("outcome:status=broken");
        assert!(e.contains("ok, null, not_applicable, invalid, missing"), "{e}");
        assert!(error("score").contains("no operator"));
        assert!(error("score~3").contains("contains"));
        assert!(e.starts_with("--where 'outcome:status=broken'"), "{e}");
    }

    #[test]
    fn filter_lists_calls_with_values() {
        let report = report_of(vec![], vec![call("c1", vec![("outcome", ok_text("escalated"))])]);
        let calls: Vec<&CallResult> = report.calls.iter().collect();
        let out = calls_table(&calls, &["outcome".to_string(), "score".to_string()]);
        assert_eq!(
            out,
            "call_id  source         outcome    score\n-------  -------------  ---------  -------\nc1       calls/c1.json  escalated  missing\n"
        );
        assert_eq!(match_count(1, 4, 1), "1 of 4 calls match (25.0%)");
        assert_eq!(match_count(12, 16, 3), "12 of 16 calls match (75.0%) (showing 3)");
    }
}
