//! Composing files gives the spec one file would, names every place when it cannot, and
//! hashes every file it read.

use std::path::{Path, PathBuf};

use super::*;
use crate::spec::load_spec;

const DEFAULTS: &str = "version: 1\nsummary: Summarize the call in two sentences.\nmetrics:\n  - id: sentiment\n    type: enum\n    choices: [positive, neutral, negative]\n    prompt: What was the customer's overall sentiment?\n";
const CUSTOM: &str = "version: 1\nmetrics:\n  - id: refund_issued\n    type: boolean\n    prompt: Did the agent issue a refund during the call?\n";
const BOTH: &str = "version: 1\nsummary: Summarize the call in two sentences.\nmetrics:\n  - id: sentiment\n    type: enum\n    choices: [positive, neutral, negative]\n    prompt: What was the customer's overall sentiment?\n  - id: refund_issued\n    type: boolean\n    prompt: Did the agent issue a refund during the call?\n";

fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn errors(paths: &[PathBuf]) -> Vec<String> {
    load_specs(paths)
        .unwrap_err()
        .errors
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn two_files_compose_to_the_spec_of_one_file_with_both() {
    let dir = tempfile::tempdir().unwrap();
    let (d, c, b) = (
        write(dir.path(), "defaults.yaml", DEFAULTS),
        write(dir.path(), "custom.yaml", CUSTOM),
        write(dir.path(), "both.yaml", BOTH),
    );
    let composed = load_specs(&[d.clone(), c.clone()]).unwrap();
    assert_eq!(composed.spec, load_spec(&b).unwrap().spec);
    assert!(composed.warnings.is_empty(), "{:?}", composed.warnings);
    assert_eq!(composed.files.len(), 2);
    let places: Vec<String> = composed.origins.iter().map(MetricOrigin::place).collect();
    assert_eq!(places, [format!("{}:4:9", d.display()), format!("{}:3:9", c.display())]);
}

#[test]
fn include_is_relative_to_the_including_file_and_comes_first() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "shared/defaults.yaml", DEFAULTS);
    let custom = write(
        dir.path(),
        "agents/custom.yaml",
        &CUSTOM.replace("version: 1\n", "version: 1\ninclude: [../shared/defaults.yaml]\n"),
    );
    let composed = load_specs(&[custom]).unwrap();
    let both = write(dir.path(), "both.yaml", BOTH);
    assert_eq!(composed.spec, load_spec(&both).unwrap().spec);
}

#[test]
fn the_hash_covers_every_file_and_changes_with_any() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = write(dir.path(), "defaults.yaml", DEFAULTS);
    let custom = write(
        dir.path(),
        "custom.yaml",
        &CUSTOM.replace("version: 1\n", "version: 1\ninclude: [defaults.yaml]\n"),
    );
    let single = load_spec(&defaults).unwrap().sha256;
    let before = load_specs(std::slice::from_ref(&custom)).unwrap();
    assert_eq!(before.files.len(), 2);
    assert_ne!(before.sha256, single);
    assert_ne!(before.sha256, before.files[1].sha256);
    write(dir.path(), "defaults.yaml", &DEFAULTS.replace("overall", "general"));
    let after = load_specs(&[custom]).unwrap();
    assert_ne!(
        after.sha256, before.sha256,
        "changing only the included file changes the hash"
    );
    assert_eq!(after.files[1].sha256, before.files[1].sha256);
}

#[test]
fn an_id_in_two_files_is_an_error_naming_both_places() {
    let dir = tempfile::tempdir().unwrap();
    let d = write(dir.path(), "defaults.yaml", DEFAULTS);
    let c = write(
        dir.path(),
        "custom.yaml",
        "version: 1\nmetrics:\n  - id: refund_issued\n    type: boolean\n    prompt: Did the agent issue a refund during the call?\n  - id: sentiment\n    type: string\n    prompt: Describe the customer's mood in a few words.\n",
    );
    assert_eq!(
        errors(&[d.clone(), c.clone()]),
        [format!(
            "{}:6:9: duplicate id `sentiment`: already defined at {}:4:9; ids must be unique across the composed files, rename or remove one of the two",
            c.display(),
            d.display()
        )]
    );
}

#[test]
fn an_include_cycle_is_an_error_that_shows_the_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.yaml",
        &CUSTOM.replace("version: 1\n", "version: 1\ninclude: [b.yaml]\n"),
    );
    write(
        dir.path(),
        "b.yaml",
        &DEFAULTS.replace("version: 1\n", "version: 1\ninclude: [a.yaml]\n"),
    );
    let b_shown = dir.path().join("b.yaml").display().to_string();
    let a_again = dir.path().join("a.yaml").display().to_string();
    assert_eq!(
        errors(std::slice::from_ref(&a)),
        [format!(
            "{b_shown}:2:11: include cycle: {} → {b_shown} → {a_again}; remove one of these includes",
            a.display()
        )]
    );
}

#[test]
fn a_missing_include_names_the_line_that_includes_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = write(
        dir.path(),
        "custom.yaml",
        &CUSTOM.replace("version: 1\n", "version: 1\ninclude:\n  - defaults.yaml\n"),
    );
    let e = errors(std::slice::from_ref(&c));
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].starts_with(&format!(
            "{}:3:5: cannot read the included file `defaults.yaml` ({}): ",
            c.display(),
            dir.path().join("defaults.yaml").display()
        )),
        "{e:?}"
    );
    assert!(
        e[0].ends_with("an include path is relative to the directory of the file that includes it"),
        "{e:?}"
    );
}

#[test]
fn a_file_included_twice_is_composed_once() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "defaults.yaml", DEFAULTS);
    let a = write(
        dir.path(),
        "a.yaml",
        &CUSTOM.replace("version: 1\n", "version: 1\ninclude: [defaults.yaml]\n"),
    );
    let b = write(
        dir.path(),
        "b.yaml",
        "version: 1\ninclude: [defaults.yaml]\nmetrics:\n  - id: callback_promised\n    type: boolean\n    prompt: Did the agent promise to call the customer back?\n",
    );
    let composed = load_specs(&[a, b]).unwrap();
    let ids: Vec<&str> = composed.spec.metrics.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["sentiment", "refund_issued", "callback_promised"]);
    assert_eq!(composed.files.len(), 3);
}

#[test]
fn the_last_file_setting_a_value_wins_and_a_different_earlier_one_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = write(
        dir.path(),
        "defaults.yaml",
        &DEFAULTS.replace("version: 1\n", "version: 1\nstrategy: per_metric\n"),
    );
    let c = write(
        dir.path(),
        "custom.yaml",
        &CUSTOM.replace("version: 1\n", "version: 1\nstrategy: per_call\n"),
    );
    let composed = load_specs(&[d.clone(), c.clone()]).unwrap();
    assert_eq!(composed.spec.strategy, crate::spec::Strategy::PerCall);
    assert_eq!(
        composed.spec.summary.as_ref().unwrap().prompt,
        "Summarize the call in two sentences."
    );
    let lines: Vec<String> = composed.warning_lines().collect();
    assert_eq!(
        lines,
        [format!(
            "{}:2:11: warning: strategy: also set in {}:2, differently; this file's `strategy` is used (the last file composed wins)",
            c.display(),
            d.display()
        )]
    );
}

#[test]
fn many_small_files_can_still_be_too_many_for_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let file = |prefix: &str| {
        let metrics: String = (0..8)
            .map(|i| {
                format!("  - {{id: {prefix}{i}, type: boolean, prompt: Did the agent mention topic {prefix}{i}?}}\n")
            })
            .collect();
        write(
            dir.path(),
            &format!("{prefix}.yaml"),
            &format!("version: 1\nmetrics:\n{metrics}"),
        )
    };
    let (a, b) = (file("a"), file("b"));
    assert!(load_spec(&a).unwrap().warnings.is_empty());
    let composed = load_specs(&[a, b.clone()]).unwrap();
    let lines: Vec<String> = composed.warning_lines().collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("{}:3:3: warning: metrics: 16 metrics", b.display())),
        "{lines:?}"
    );
}
