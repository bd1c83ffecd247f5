//! Walking inputs into calls: files, directories (recursively, sorted), and `-` for stdin.
//!
//! A run over 100k+ calls cannot hold every transcript in memory, so [`Catalog::scan`]
//! parses each input once to check it and keeps only a small [`CallEntry`] per call; the
//! evaluator re-reads a call with [`Catalog::load`] when it is its turn.

use std::path::PathBuf;

use super::{Call, Format, SpeakerMap};

#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--transcript-format`: skip detection.
    pub format: Option<Format>,
    /// `--speaker-map`: roles for numbered speakers (Deepgram, Twilio).
    pub speaker_map: Option<SpeakerMap>,
}

/// Where one call lives, precisely enough to read it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    /// `None` for stdin (its bytes are kept in the catalog).
    pub path: Option<PathBuf>,
    pub locator: Locator,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator {
    /// The whole file is one call.
    Whole,
    /// Element of a top-level JSON array of calls.
    ArrayIndex(usize),
    /// A line of a JSONL file (1-based line number, byte offset of its start).
    Line { number: usize, offset: u64 },
}

/// What the catalog remembers about a call between scanning and evaluating.
#[derive(Debug, Clone, PartialEq)]
pub struct CallEntry {
    /// The unique id the call carries in this run.
    pub id: String,
    /// Display form of the source: `path`, `path:LINE`, `path[INDEX]`, `-` for stdin.
    pub source_display: String,
    pub source: SourceRef,
    pub format: Format,
    pub turns: usize,
    pub chars: usize,
    pub estimated_tokens: u64,
}

/// A file (or line) that could not be read as a call. Never fatal to the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", location(.source_display, *.line, *.column))]
pub struct LoadError {
    pub source_display: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

fn location(source: &str, line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{source}:{l}:{c}"),
        (Some(l), None) => format!("{source}:{l}"),
        _ => source.to_string(),
    }
}

/// Every call found in the inputs, the errors, and what was skipped.
#[derive(Debug, Default)]
pub struct Catalog {
    pub entries: Vec<CallEntry>,
    pub errors: Vec<LoadError>,
    /// Files in walked directories that were not `.json`, `.jsonl` or `.ndjson`.
    pub skipped_non_json: usize,
    /// Non-fatal notes, e.g. duplicate call ids that were made unique.
    pub warnings: Vec<String>,
    pub(crate) stdin: Option<std::sync::Arc<[u8]>>,
}

impl Catalog {
    /// Reads every input once, in a reproducible order. Never fails as a whole: problems
    /// with individual inputs land in `errors`.
    pub fn scan(inputs: &[PathBuf], options: &LoadOptions) -> Catalog {
        let _ = (inputs, options);
        todo!("transcript helper")
    }

    /// Reads one call again, by its index in `entries`.
    pub fn load(&self, index: usize, options: &LoadOptions) -> Result<Call, LoadError> {
        let _ = (index, options);
        todo!("transcript helper")
    }
}
