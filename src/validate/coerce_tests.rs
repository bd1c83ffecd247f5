//! Every documented coercion, and the error for each value that is not coerced.

use serde_json::json;

use super::*;

fn ok(kind: &MetricKind, json: Json) -> Value {
    match coerce(kind, &json) {
        Ok(Some(value)) => value,
        other => panic!("{json} as {kind:?}: expected a value, got {other:?}"),
    }
}

fn err(kind: &MetricKind, json: Json) -> String {
    match coerce(kind, &json) {
        Err(reason) => reason,
        other => panic!("{json} as {kind:?}: expected an error, got {other:?}"),
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const INT: MetricKind = MetricKind::Integer { range: None };
const SCORE: MetricKind = MetricKind::Integer { range: Some([1, 5]) };
const NUM: MetricKind = MetricKind::Number { range: None };

fn outcome() -> MetricKind {
    MetricKind::Enum {
        choices: strings(&[
            "resolved",
            "escalated",
            "transferred",
            "abandoned",
            "callback_scheduled",
        ]),
    }
}

fn issues() -> MetricKind {
    MetricKind::List {
        choices: Some(strings(&["billing", "network_outage", "Slow Speed"])),
    }
}

#[test]
fn integer_accepts_whole_numbers_and_numeric_strings() {
    for given in [
        json!(4),
        json!("4"),
        json!(4.0),
        json!("4.0"),
        json!(" 4 "),
        json!("+4"),
    ] {
        assert_eq!(ok(&INT, given), Value::Int(4));
    }
    assert_eq!(ok(&INT, json!(-3)), Value::Int(-3));
}

#[test]
fn integer_refuses_fractions() {
    assert!(err(&INT, json!(4.5)).contains("4.5 is not a whole number"));
    assert!(err(&INT, json!("4.5")).contains("4.5 is not a whole number"));
}

#[test]
fn integer_refuses_words_and_other_types() {
    assert_eq!(
        err(&SCORE, json!("four")),
        "\"four\" is not an integer; expected an integer from 1 to 5"
    );
    assert!(err(&INT, json!("NaN")).contains("is not an integer"));
    assert!(err(&INT, json!("inf")).contains("is not an integer"));
    assert_eq!(err(&SCORE, json!(true)), "expected an integer from 1 to 5, got true");
    assert_eq!(err(&INT, json!([4])), "expected an integer, got [4]");
}

#[test]
fn integer_refuses_values_beyond_i64() {
    assert!(err(&INT, json!(u64::MAX)).contains("is too large"));
    assert!(err(&INT, json!(1e30)).contains("is too large"));
}

#[test]
fn integer_range_is_checked_not_clamped() {
    assert_eq!(err(&SCORE, json!(7)), "7 is outside the range 1..5");
    assert_eq!(err(&SCORE, json!("0")), "0 is outside the range 1..5");
    assert_eq!(ok(&SCORE, json!(1)), Value::Int(1));
    assert_eq!(ok(&SCORE, json!(5)), Value::Int(5));
}

#[test]
fn number_accepts_numbers_and_numeric_strings() {
    assert_eq!(ok(&NUM, json!(0.25)), Value::Number(0.25));
    assert_eq!(ok(&NUM, json!(3)), Value::Number(3.0));
    assert_eq!(ok(&NUM, json!(" -1.5 ")), Value::Number(-1.5));
    assert_eq!(ok(&NUM, json!("1e3")), Value::Number(1000.0));
}

#[test]
fn number_refuses_non_numbers() {
    assert_eq!(err(&NUM, json!("about 3")), "expected a number, got \"about 3\"");
    assert_eq!(err(&NUM, json!("NaN")), "expected a number, got \"NaN\"");
    assert_eq!(err(&NUM, json!(false)), "expected a number, got false");
}

#[test]
fn number_range_is_inclusive_and_never_clamped() {
    let kind = MetricKind::Number {
        range: Some([0.0, 1.0]),
    };
    assert_eq!(ok(&kind, json!(1)), Value::Number(1.0));
    assert_eq!(err(&kind, json!(1.5)), "1.5 is outside the range 0..1");
    assert_eq!(err(&kind, json!("-0.1")), "-0.1 is outside the range 0..1");
}

#[test]
fn boolean_accepts_words_in_any_case() {
    for (given, want) in [
        (json!(true), true),
        (json!(false), false),
        (json!("true"), true),
        (json!(" FALSE "), false),
        (json!("Yes"), true),
        (json!("no"), false),
    ] {
        assert_eq!(ok(&MetricKind::Boolean, given), Value::Bool(want));
    }
}

#[test]
fn boolean_refuses_numbers_and_other_words() {
    assert_eq!(err(&MetricKind::Boolean, json!(1)), "expected true or false, got 1");
    assert_eq!(
        err(&MetricKind::Boolean, json!("maybe")),
        "expected true or false, got \"maybe\""
    );
    assert_eq!(
        err(&MetricKind::Boolean, json!("y")),
        "expected true or false, got \"y\""
    );
}

#[test]
fn enum_returns_the_canonical_spelling() {
    assert_eq!(ok(&outcome(), json!("resolved")), Value::Text("resolved".into()));
    assert_eq!(ok(&outcome(), json!(" Resolved ")), Value::Text("resolved".into()));
    assert_eq!(ok(&outcome(), json!("ESCALATED")), Value::Text("escalated".into()));
}

#[test]
fn enum_treats_underscore_dash_and_space_alike() {
    for given in [
        "callback scheduled",
        "Callback-Scheduled",
        "callback__scheduled",
        " callback  scheduled ",
    ] {
        assert_eq!(
            ok(&outcome(), json!(given)),
            Value::Text("callback_scheduled".into()),
            "{given}"
        );
    }
}

#[test]
fn enum_refuses_unknown_choices_listing_the_allowed_ones() {
    assert_eq!(
        err(&outcome(), json!("fixed")),
        "\"fixed\" is not one of: resolved, escalated, transferred, abandoned, callback_scheduled"
    );
    assert_eq!(
        err(&outcome(), json!(2)),
        "expected one of: resolved, escalated, transferred, abandoned, callback_scheduled, got 2"
    );
}

#[test]
fn enum_prefers_exact_then_case_then_separator_match() {
    let kind = MetricKind::Enum {
        choices: strings(&["on hold", "on_hold", "On Hold"]),
    };
    assert_eq!(ok(&kind, json!("On Hold")), Value::Text("On Hold".into()));
    assert_eq!(ok(&kind, json!("on_hold")), Value::Text("on_hold".into()));
}

#[test]
fn enum_refuses_an_ambiguous_loose_match() {
    let kind = MetricKind::Enum {
        choices: strings(&["on hold", "On Hold", "on-hold"]),
    };
    assert_eq!(
        err(&kind, json!("ON HOLD")),
        "\"ON HOLD\" matches more than one of: on hold, On Hold; answer with the exact spelling"
    );
    let kind = MetricKind::Enum {
        choices: strings(&["on hold", "on-hold"]),
    };
    assert!(err(&kind, json!("on_hold")).contains("matches more than one of: on hold, on-hold"));
}

#[test]
fn list_trims_items_and_drops_empty_ones() {
    let kind = MetricKind::List { choices: None };
    assert_eq!(
        ok(&kind, json!([" router ", "", "  ", "billing"])),
        Value::List(strings(&["router", "billing"]))
    );
    assert_eq!(ok(&kind, json!([])), Value::List(vec![]));
    // Free lists keep what the model said, duplicates included.
    assert_eq!(ok(&kind, json!(["a", "a"])), Value::List(strings(&["a", "a"])));
}

#[test]
fn list_refuses_a_single_string() {
    let kind = MetricKind::List { choices: None };
    assert_eq!(
        err(&kind, json!("router")),
        "expected a list of strings as a JSON array, got a single string \"router\""
    );
}

#[test]
fn list_refuses_non_string_items_naming_the_item() {
    let kind = MetricKind::List { choices: None };
    assert_eq!(
        err(&kind, json!(["a", 5])),
        "list item 2 (5) is not a string; expected a list of strings"
    );
    assert_eq!(err(&kind, json!({"a": 1})), "expected a list of strings, got {\"a\":1}");
}

#[test]
fn list_with_choices_canonicalises_and_deduplicates() {
    assert_eq!(
        ok(
            &issues(),
            json!(["Billing", "network outage", "billing", "slow speed", "network_outage"])
        ),
        Value::List(strings(&["billing", "network_outage", "Slow Speed"]))
    );
}

#[test]
fn list_with_choices_names_unknown_items_and_the_allowed_values() {
    assert_eq!(
        err(&issues(), json!(["billing", "router"])),
        "list item \"router\" is not one of: billing, network_outage, Slow Speed"
    );
    assert_eq!(
        err(&issues(), json!(["modem", "billing", "router"])),
        "list items \"modem\", \"router\" are not among: billing, network_outage, Slow Speed"
    );
}

#[test]
fn datetime_keeps_a_date_as_a_date() {
    assert_eq!(
        ok(&MetricKind::Datetime, json!("2024-06-14")),
        Value::Text("2024-06-14".into())
    );
    assert_eq!(
        ok(&MetricKind::Datetime, json!(" 2024-06-14 ")),
        Value::Text("2024-06-14".into())
    );
}

#[test]
fn datetime_with_offset_is_normalised_rfc3339() {
    let dt = |s: &str| ok(&MetricKind::Datetime, json!(s));
    assert_eq!(dt("2024-06-14T10:00:00Z"), Value::Text("2024-06-14T10:00:00Z".into()));
    assert_eq!(dt("2024-06-14t10:00z"), Value::Text("2024-06-14T10:00:00Z".into()));
    assert_eq!(
        dt("2024-06-14T10:00:00-04:00"),
        Value::Text("2024-06-14T10:00:00-04:00".into())
    );
    assert_eq!(
        dt("2024-06-14 10:00:00.5+02:00"),
        Value::Text("2024-06-14T10:00:00.5+02:00".into())
    );
}

#[test]
fn datetime_without_offset_stays_civil() {
    let dt = |s: &str| ok(&MetricKind::Datetime, json!(s));
    assert_eq!(dt("2024-06-14T10:00:00"), Value::Text("2024-06-14T10:00:00".into()));
    assert_eq!(dt("2024-06-14T10:00"), Value::Text("2024-06-14T10:00:00".into()));
}

#[test]
fn datetime_refuses_prose_and_says_the_format() {
    for given in [
        "next Tuesday",
        "June 14",
        "14/06/2024",
        "2024-13-01",
        "2024-06-14T10:00:00[Europe/Paris]",
        "",
    ] {
        let reason = err(&MetricKind::Datetime, json!(given));
        assert!(
            reason.contains("is not an ISO 8601 date (YYYY-MM-DD) or date-time"),
            "{given}: {reason}"
        );
    }
    assert_eq!(
        err(&MetricKind::Datetime, json!(20240614)),
        format!("expected {DATETIME_FORMATS}, got 20240614")
    );
}

#[test]
fn string_is_trimmed_and_empty_is_no_answer() {
    assert_eq!(ok(&MetricKind::String, json!("  hi  ")), Value::Text("hi".into()));
    assert_eq!(coerce(&MetricKind::String, &json!("   ")), Ok(None));
    assert_eq!(err(&MetricKind::String, json!(5)), "expected a string, got 5");
}

#[test]
fn describe_kind_phrases() {
    assert_eq!(describe_kind(&SCORE), "an integer from 1 to 5");
    assert_eq!(describe_kind(&INT), "an integer");
    assert_eq!(
        describe_kind(&MetricKind::Number {
            range: Some([0.0, 1.5])
        }),
        "a number from 0 to 1.5"
    );
    assert_eq!(describe_kind(&MetricKind::Boolean), "true or false");
    assert_eq!(
        describe_kind(&MetricKind::Enum {
            choices: strings(&["a", "b", "c"])
        }),
        "one of: a, b, c"
    );
    assert!(describe_kind(&MetricKind::Datetime).starts_with("an ISO 8601 date (YYYY-MM-DD) or date-time"));
    assert_eq!(describe_kind(&MetricKind::List { choices: None }), "a list of strings");
    assert_eq!(
        describe_kind(&MetricKind::List {
            choices: Some(strings(&["a", "b"]))
        }),
        "a list drawn from: a, b"
    );
    assert_eq!(describe_kind(&MetricKind::String), "a string");
}

#[test]
fn show_cuts_long_values() {
    let long = "x".repeat(200);
    let shown = show(&json!(long));
    assert_eq!(shown.chars().count(), 81);
    assert!(shown.ends_with('…'));
}

// Generated checks: the same rule over many inputs, without a property-testing crate.

#[test]
fn every_spelling_of_a_whole_number_is_that_integer() {
    for n in -300i64..=300 {
        for given in [
            json!(n),
            json!(n as f64),
            json!(n.to_string()),
            json!(format!(" {n}.0 ")),
        ] {
            assert_eq!(ok(&INT, given.clone()), Value::Int(n), "{given}");
        }
        let half = json!(n as f64 + 0.5);
        assert!(err(&INT, half.clone()).contains("is not a whole number"), "{half}");
    }
}

#[test]
fn range_check_agrees_with_inclusive_bounds() {
    for n in -10i64..=10 {
        let inside = (1..=5).contains(&n);
        assert_eq!(coerce(&SCORE, &json!(n)).is_ok(), inside, "{n}");
        let kind = MetricKind::Number {
            range: Some([1.0, 5.0]),
        };
        assert_eq!(
            coerce(&kind, &json!(n as f64 / 2.0)).is_ok(),
            (2..=10).contains(&n),
            "{n}"
        );
    }
}

#[test]
fn every_loose_spelling_of_a_choice_finds_it() {
    let choices = strings(&["callback_scheduled", "resolved", "Escalated To Tier 2", "no-answer"]);
    for choice in &choices {
        let words: Vec<String> = choice.split(['_', '-', ' ']).map(str::to_string).collect();
        for separator in ["_", "-", " ", "  ", " - "] {
            for case in [str::to_lowercase as fn(&str) -> String, str::to_uppercase] {
                let given = format!("  {} ", case(&words.join(separator)));
                assert_eq!(match_choice(&given, &choices), Ok(choice.as_str()), "{given:?}");
            }
        }
    }
}
