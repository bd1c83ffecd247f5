//! The transcript readers on the fixtures in `tests/fixtures/`: every platform export and
//! every other format yields the same nine-turn call as `generic.json`, with its metadata,
//! and archives of many calls load and load again. What `inspect` prints about them, and
//! how bad input is reported to the user, is tested through the binary in
//! `tests/cli/transcripts.rs`.

use std::path::PathBuf;

use super::load::CallEntry;
use super::{Call, Catalog, Format, LoadOptions, Speaker, SpeakerMap};

mod loading;
mod metadata;
mod other_formats;
mod platforms;

/// A file or directory under `tests/fixtures/`.
fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// A temporary directory for the files a test writes itself, deleted when dropped.
struct Scratch(tempfile::TempDir);

impl Scratch {
    fn new() -> Scratch {
        Scratch(tempfile::tempdir().expect("temp dir"))
    }

    fn path(&self) -> &std::path::Path {
        self.0.path()
    }

    fn join(&self, rel: &str) -> PathBuf {
        self.0.path().join(rel)
    }

    /// Writes `contents` to `rel` and returns its path.
    fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        std::fs::write(&path, contents).expect("write file");
        path
    }
}

const STARTED_AT: &str = "2024-06-10T15:02:11Z";

fn options(speaker_map: Option<&str>) -> LoadOptions {
    LoadOptions {
        format: None,
        speaker_map: speaker_map.map(|m| m.parse::<SpeakerMap>().expect("valid map")),
        ..Default::default()
    }
}

/// Scans `paths` and returns the single call they hold, after checking the scan found
/// exactly that and the re-read agrees with the scan's counts.
fn only_call(paths: &[PathBuf], options: &LoadOptions) -> (CallEntry, Call) {
    let catalog = Catalog::scan(paths, options);
    assert!(catalog.errors.is_empty(), "errors: {:#?}", catalog.errors);
    assert_eq!(catalog.entries.len(), 1, "entries: {:#?}", catalog.entries);
    let call = catalog.load(0, options).expect("re-read");
    let entry = catalog.entries[0].clone();
    assert_eq!(call.id, entry.id);
    assert_eq!(call.source, entry.source_display);
    assert_eq!(entry.turns, call.conversation().count());
    assert_eq!(entry.chars, call.chars());
    assert_eq!(entry.estimated_tokens, call.estimated_tokens());
    assert_eq!(entry.started_at, call.started_at);
    (entry, call)
}

fn spoken(call: &Call) -> Vec<(Speaker, String)> {
    call.conversation().map(|t| (t.speaker, t.text.clone())).collect()
}

/// The nine turns every file in `fixtures/formats` must yield, from the generic file.
fn ground_truth() -> Call {
    only_call(&[fixture("formats/generic.json")], &LoadOptions::default()).1
}

/// Asserts a format fixture parses to the ground truth's nine turns, with its own id and
/// start time, and keeps per-turn timing when the format has it.
fn assert_same_call(file: &str, format: Format, id: &str, started_at: Option<&str>, timed: bool) {
    assert_same_call_with(&[file], &options(None), format, id, started_at, timed);
}

fn assert_same_call_with(
    files: &[&str],
    options: &LoadOptions,
    format: Format,
    id: &str,
    started_at: Option<&str>,
    timed: bool,
) {
    let paths: Vec<PathBuf> = files.iter().map(|f| fixture(&format!("formats/{f}"))).collect();
    let (entry, call) = only_call(&paths, options);
    let truth = ground_truth();
    assert_eq!(spoken(&call), spoken(&truth), "{files:?}");
    assert_eq!(spoken(&call).len(), 9);
    assert_eq!(entry.format, format);
    assert_eq!(call.id, id);
    assert_eq!(call.started_at.map(|t| t.to_string()).as_deref(), started_at);
    for (turn, truth) in call.conversation().zip(truth.conversation()) {
        if timed {
            let (got, want) = (turn.offset_secs.expect("offset kept"), truth.offset_secs.unwrap());
            // ElevenLabs rounds to whole seconds; everyone else keeps tenths.
            assert!((got - want).abs() < 1.0, "{files:?}: offset {got} vs {want}");
        } else {
            assert_eq!(turn.offset_secs, None);
        }
    }
}
