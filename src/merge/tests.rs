use super::*;
use crate::report::testing::{header, metrics};
use crate::shard::{Archive, bucket};

/// 40 calls `c0`…`c39` from `calls/cN.json`, each with one request's usage.
fn all_calls() -> Vec<CallResult> {
    (0..40)
        .map(|i| CallResult {
            call_id: format!("c{i}"),
            call: None,
            source: format!("calls/c{i}.json"),
            format: crate::transcript::Format::Generic,
            summary: None,
            metrics: Default::default(),
            errors: Vec::new(),
            truncated: None,
            skipped: None,
            usage: Usage {
                requests: 1,
                prompt_tokens: 100,
                ..Usage::default()
            },
            cost_usd: None,
        })
        .collect()
}

/// The report of shard `index` of `count` over [`all_calls`].
fn part(index: u32, count: u32) -> Part {
    let calls: Vec<CallResult> = all_calls()
        .into_iter()
        .filter(|c| bucket(&c.call_id, count) == index)
        .collect();
    let mut head = header(calls.len());
    head.failed_calls = 0;
    head.usage = Usage {
        requests: calls.len() as u64,
        prompt_tokens: 100 * calls.len() as u64,
        ..Usage::default()
    };
    head.cost_usd = Some(0.5);
    head.archive = Some(Archive {
        calls: 40,
        fingerprint: "f".repeat(32),
    });
    head.shard = Some(Shard { index, count });
    Part {
        name: format!("part{index}.json"),
        report: Report {
            header: Some(head),
            metrics: metrics(),
            calls,
        },
    }
}

#[test]
fn shards_merge_into_the_whole_run_in_source_order_with_usage_and_cost_summed() {
    let merged = merge((0..4).rev().map(|i| part(i, 4)).collect(), false).unwrap();
    let report = merged.report;
    let ids: Vec<&str> = report.calls.iter().map(|c| c.call_id.as_str()).collect();
    let mut by_path: Vec<String> = (0..40).map(|i| format!("calls/c{i}.json")).collect();
    by_path.sort();
    let sources: Vec<&str> = report.calls.iter().map(|c| c.source.as_str()).collect();
    assert_eq!(sources, by_path, "{ids:?}");
    let head = report.header.unwrap();
    assert!(head.complete);
    assert_eq!(head.calls, 40);
    assert_eq!(head.calls_not_done, 0);
    assert_eq!(head.usage.requests, 40);
    assert_eq!(head.usage.prompt_tokens, 4000);
    assert_eq!(head.cost_usd, Some(2.0));
    assert_eq!(head.shard, None);
    assert_eq!(head.archive.unwrap().calls, 40);
    assert!(merged.notes.is_empty(), "{:?}", merged.notes);
}

#[test]
fn a_missing_shard_is_named_and_allow_partial_writes_the_rest_marked_incomplete() {
    let parts = || vec![part(0, 4), part(2, 4)];
    let err = merge(parts(), false).unwrap_err();
    assert!(err.contains("shards 1/4, 3/4 are missing"), "{err}");
    assert!(err.contains("--allow-partial"), "{err}");
    let merged = merge(parts(), true).unwrap();
    let head = merged.report.header.unwrap();
    assert!(!head.complete);
    assert_eq!(head.missing_shards.len(), 2);
    assert_eq!(head.calls_not_done, 40 - head.calls);
    assert!(merged.notes[0].contains("marked incomplete"), "{:?}", merged.notes);
}

#[test]
fn a_shard_that_stopped_early_counts_as_a_gap() {
    let mut stopped = part(1, 2);
    let head = stopped.report.header.as_mut().unwrap();
    head.complete = false;
    head.calls_not_done = 3;
    let err = merge(vec![part(0, 2), stopped], false).unwrap_err();
    assert!(
        err.contains("part1.json (shard 1/2) stopped with 3 call(s) not done"),
        "{err}"
    );
}

#[test]
fn parts_of_different_runs_are_refused_with_every_reason() {
    let mut other = part(1, 2);
    let head = other.report.header.as_mut().unwrap();
    head.metrics_sha256 = "cd".repeat(32);
    head.archive.as_mut().unwrap().fingerprint = "e".repeat(32);
    head.model = "other-model".into();
    let err = merge(vec![part(0, 2), other], false).unwrap_err();
    for what in ["metric file", "model", "archive fingerprint"] {
        assert!(err.contains(what), "{what}: {err}");
    }
}

#[test]
fn a_shard_twice_a_call_twice_or_a_call_in_the_wrong_shard_is_refused() {
    let twice = merge(vec![part(0, 2), part(0, 2), part(1, 2)], false).unwrap_err();
    assert!(
        twice.contains("shard 0/2 is there twice: part0.json and part0.json"),
        "{twice}"
    );
    assert!(twice.contains("is in both"), "{twice}");

    let mut stray = part(1, 2);
    let foreign = part(0, 2).report.calls[0].clone();
    stray.report.calls.push(foreign);
    let err = merge(vec![stray], true).unwrap_err();
    assert!(err.contains("1 call(s) that are not in shard 1/2"), "{err}");
}

#[test]
fn a_report_that_is_no_shard_is_refused_by_name() {
    let mut whole = part(0, 1);
    whole.report.header.as_mut().unwrap().shard = None;
    let err = merge(vec![whole], false).unwrap_err();
    assert!(err.contains("part0.json is not a shard's report"), "{err}");
    let mut old = part(0, 1);
    old.report.header = None;
    assert!(merge(vec![old], false).unwrap_err().contains("no run header"));
}

#[test]
fn sources_order_as_the_directory_walk_and_lines_as_numbers() {
    let mut sources = vec![
        "a/b.jsonl:10",
        "a-b/c.json",
        "a/b.jsonl:2",
        "a/x.json[10]",
        "a/x.json[9]",
    ];
    sources.sort_by_key(|s| source_key(s));
    assert_eq!(
        sources,
        [
            "a/b.jsonl:2",
            "a/b.jsonl:10",
            "a/x.json[9]",
            "a/x.json[10]",
            "a-b/c.json"
        ]
    );
}
