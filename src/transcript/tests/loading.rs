//! Archives of many calls: the labelled dialogues, reloading from many threads, JSON
//! lines and arrays of calls.

use super::*;

/// A well-formed call, for tests that need one beside what they check.
const GOOD: &str = r#"{"call_id": "good-1", "transcript": [
    {"role": "agent", "content": "Hello, how can I help?"},
    {"role": "user", "content": "My order is late."}]}"#;

#[test]
fn all_63_labelled_dialogues_load_with_their_turn_counts() {
    let catalog = Catalog::scan(&[fixture("dialogues")], &options(None));
    assert_eq!(catalog.entries.len(), 63);
    // index.json is a list of files, not a call: one clear error, not 63.
    assert_eq!(catalog.errors.len(), 1, "{:#?}", catalog.errors);
    assert!(catalog.errors[0].source_display.ends_with("index.json"));
    assert!(
        catalog.errors[0]
            .message
            .contains("shape matches no known transcript format")
    );
    // README.md, NOTICE.md and a licence file without an extension are not read; the two
    // LICENSE.txt files are read as text and skipped as not being transcripts.
    assert_eq!(catalog.skipped_non_json, 3);
    assert_eq!(catalog.skipped.len(), 2, "{:#?}", catalog.skipped);
    assert!(
        catalog
            .skipped
            .iter()
            .all(|s| s.reason.contains("without speaker labels"))
    );

    let index: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(fixture("dialogues/index.json")).unwrap()).unwrap();
    assert_eq!(index.len(), 63);
    for expected in &index {
        let id = expected["call_id"].as_str().unwrap();
        let n_turns = expected["n_turns"].as_u64().unwrap() as usize;
        let at = catalog
            .entries
            .iter()
            .position(|e| e.id == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(catalog.entries[at].turns, n_turns, "{id}");
        assert!(
            catalog.entries[at]
                .source_display
                .ends_with(expected["file"].as_str().unwrap())
        );
        assert_eq!(catalog.load(at, &options(None)).unwrap().turns.len(), n_turns, "{id}");
    }
}

#[test]
fn calls_can_be_reloaded_from_many_threads() {
    let catalog = Catalog::scan(&[fixture("dialogues")], &options(None));
    let opts = options(None);
    let reloaded: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    (0..catalog.entries.len())
                        .map(|i| catalog.load(i, &opts).unwrap().id)
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ids: Vec<String> = catalog.entries.iter().map(|e| e.id.clone()).collect();
    assert!(reloaded.iter().all(|r| *r == ids));
}

#[test]
fn jsonl_lines_without_ids_are_named_after_file_and_line() {
    let t = Scratch::new();
    let line = r#"{"transcript": [{"role": "agent", "content": "Hi"}]}"#;
    t.write("day.ndjson", format!("{line}\n{line}\n"));
    let catalog = Catalog::scan(&[t.join("day.ndjson")], &options(None));
    let ids: Vec<&str> = catalog.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["day:1", "day:2"]);
}

#[test]
fn json_array_of_calls_is_one_call_per_element() {
    let t = Scratch::new();
    let no_id = r#"{"transcript": [{"role": "agent", "content": "Hi"}]}"#;
    t.write("many.json", format!("[{GOOD}, {no_id}, {{\"x\": 1}}]"));
    let catalog = Catalog::scan(&[t.join("many.json")], &options(None));
    let ids: Vec<&str> = catalog.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["good-1", "many[1]"]);
    assert!(catalog.entries[1].source_display.ends_with("many.json[1]"));
    assert!(catalog.errors[0].source_display.ends_with("many.json[2]"));
    assert_eq!(catalog.load(1, &options(None)).unwrap().id, "many[1]");
}

#[test]
fn jsonl_with_a_bom_and_crlf_reloads_each_line() {
    let t = Scratch::new();
    let line = |id: &str| format!(r#"{{"call_id": "{id}", "transcript": [{{"role": "agent", "content": "Hi"}}]}}"#);
    let body = format!("\u{FEFF}{}\r\n{}\r\n", line("first"), line("second"));
    t.write("export.jsonl", body);
    let catalog = Catalog::scan(&[t.join("export.jsonl")], &options(None));
    assert!(catalog.errors.is_empty(), "{:#?}", catalog.errors);
    let ids: Vec<String> = (0..2).map(|i| catalog.load(i, &options(None)).unwrap().id).collect();
    assert_eq!(ids, ["first", "second"]);
}
