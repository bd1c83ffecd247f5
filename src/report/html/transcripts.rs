//! The transcripts a review page embeds, read again from each call's `source`.
//!
//! A report holds what was asked and answered, not what was said, so the page reads each
//! call's source file again (the way `run` read it) to show the transcript beside the
//! answers and to highlight evidence quotes in it. Transcripts are what makes a page big, so
//! `--transcripts` caps them: `all`, `none`, or a size (default 20 MB of text); past the
//! cap, and for a source that is gone, the page says where the transcript is instead.
//!
//! Every turn is embedded with the number the run's prompt gave it ([`crate::prompt::
//! turn_numbers`]: agent and customer turns from 0, system and tool turns unnumbered
//! unless the run had `--all-speakers`), and each source is read with the run's own
//! `--transcript-format` and `--speaker-map` (the header's [`TranscriptReading`]), so an
//! evidence quote's `turn` points at the turn the model was shown.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::prompt::turn_numbers;
use crate::report::{CallResult, TranscriptReading};
use crate::transcript::{Catalog, LoadOptions, Turn};

/// `--transcripts`: how much transcript text a page may embed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptCap {
    All,
    None,
    /// Bytes of transcript text.
    Bytes(u64),
}

impl Default for TranscriptCap {
    fn default() -> TranscriptCap {
        TranscriptCap::Bytes(20 * 1_000_000)
    }
}

impl FromStr for TranscriptCap {
    type Err = String;

    /// `all`, `none`, or a size such as `20MB`, `20 MB`, `512KiB`, `5` (MB).
    fn from_str(text: &str) -> Result<TranscriptCap, String> {
        let trimmed = text.trim();
        match trimmed.to_ascii_lowercase().as_str() {
            "all" => return Ok(TranscriptCap::All),
            "none" | "0" => return Ok(TranscriptCap::None),
            _ => {}
        }
        if let Ok(mb) = trimmed.parse::<f64>()
            && mb.is_finite()
            && mb > 0.0
        {
            return Ok(TranscriptCap::Bytes((mb * 1_000_000.0) as u64));
        }
        trimmed
            .replace(' ', "")
            .parse::<bytesize::ByteSize>()
            .map(|size| TranscriptCap::Bytes(size.as_u64()))
            .map_err(|_| format!("`{text}` is not all, none or a size like 20MB"))
    }
}

impl std::fmt::Display for TranscriptCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TranscriptCap::All => f.write_str("all"),
            TranscriptCap::None => f.write_str("none"),
            TranscriptCap::Bytes(n) => write!(f, "{}", bytesize::ByteSize::b(*n).display().si()),
        }
    }
}

/// One call's transcript on the page: its turns, or why they are not there.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub(crate) enum Embedded {
    /// `[speaker, text, seconds from the start or null, number in the prompt or null]` per
    /// turn, in turn order.
    Turns(Vec<(&'static str, String, Option<f64>, Option<usize>)>),
    /// Where the transcript is, and why it is not embedded.
    Note(String),
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Transcripts {
    pub cap: String,
    pub embedded: usize,
    pub not_embedded: usize,
    /// One per call, in report order.
    pub calls: Vec<Embedded>,
}

/// Reads the transcripts of `calls` up to `cap`. A relative source is looked for from the
/// working directory, then from each of `bases` (the report's directory).
pub(crate) fn embed(
    calls: &[CallResult],
    cap: TranscriptCap,
    bases: &[PathBuf],
    reading: &TranscriptReading,
) -> Transcripts {
    let mut out = Transcripts {
        cap: cap.to_string(),
        embedded: 0,
        not_embedded: 0,
        calls: Vec::with_capacity(calls.len()),
    };
    let mut files = Files {
        scanned: HashMap::new(),
        options: reading.load_options(),
    };
    let shown = reading.prompt_options();
    let mut used: u64 = 0;
    for call in calls {
        let slot = match cap {
            TranscriptCap::None => Embedded::Note(format!(
                "Transcripts were not embedded (--transcripts none); it is in {}",
                call.source
            )),
            _ => match files.turns(&call.source, bases) {
                Err(why) => Embedded::Note(format!("{why}; the transcript was in {}", call.source)),
                Ok(turns) => {
                    let size: u64 = turns.iter().map(|t| t.text.len() as u64 + 16).sum();
                    match cap {
                        TranscriptCap::Bytes(limit) if used + size > limit => Embedded::Note(format!(
                            "Not embedded: the page's transcripts reached --transcripts {cap}; it is in {}",
                            call.source
                        )),
                        _ => {
                            used += size;
                            let numbers = turn_numbers(&turns, shown);
                            Embedded::Turns(
                                turns
                                    .into_iter()
                                    .zip(numbers)
                                    .map(|(t, n)| (t.speaker.label(), t.text, t.offset_secs, n))
                                    .collect(),
                            )
                        }
                    }
                }
            },
        };
        match slot {
            Embedded::Turns(_) => out.embedded += 1,
            Embedded::Note(_) => out.not_embedded += 1,
        }
        out.calls.push(slot);
    }
    out
}

/// Source files scanned so far, each once: a JSONL file of 10k calls is read one time.
struct Files {
    scanned: HashMap<String, Result<Scanned, String>>,
    /// As the run read them.
    options: LoadOptions,
}

struct Scanned {
    catalog: Catalog,
    /// Each call's index in the catalog by its locator (`:12`, `[3]`, or empty).
    by_locator: HashMap<String, usize>,
}

impl Files {
    fn turns(&mut self, source: &str, bases: &[PathBuf]) -> Result<Vec<Turn>, String> {
        let (file, locator) = split_source(source);
        let options = &self.options;
        let scanned = self
            .scanned
            .entry(file.to_string())
            .or_insert_with(|| scan(file, bases, options));
        let scanned = scanned.as_ref().map_err(Clone::clone)?;
        let index = scanned
            .by_locator
            .get(locator)
            .ok_or_else(|| format!("{source} is no longer a call in that file"))?;
        scanned
            .catalog
            .load(*index, &self.options)
            .map(|call| call.turns)
            .map_err(|e| format!("cannot read it again ({e})"))
    }
}

fn scan(file: &str, bases: &[PathBuf], options: &LoadOptions) -> Result<Scanned, String> {
    if file == "-" {
        return Err("it was read from standard input".to_string());
    }
    let path = find(Path::new(file), bases).ok_or_else(|| "its source file is not there".to_string())?;
    let catalog = Catalog::scan(std::slice::from_ref(&path), options);
    let by_locator = catalog
        .entries
        .iter()
        .enumerate()
        .map(|(i, entry)| (split_source(&entry.source_display).1.to_string(), i))
        .collect();
    Ok(Scanned { catalog, by_locator })
}

fn find(path: &Path, bases: &[PathBuf]) -> Option<PathBuf> {
    if path.is_file() {
        return Some(path.to_path_buf());
    }
    if path.is_absolute() {
        return None;
    }
    bases.iter().map(|base| base.join(path)).find(|p| p.is_file())
}

/// `calls.jsonl:12` → (`calls.jsonl`, `:12`); `calls.json[3]` → (`calls.json`, `[3]`).
fn split_source(source: &str) -> (&str, &str) {
    let digits_before = |end: usize| {
        let head = &source[..end];
        let start = head.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        (start < end).then_some(start)
    };
    if let Some(open) = source.strip_suffix(']').and_then(|s| s.rfind('['))
        && digits_before(source.len() - 1) == Some(open + 1)
    {
        return (&source[..open], &source[open..]);
    }
    if let Some(start) = digits_before(source.len())
        && start > 0
        && source[..start].ends_with(':')
    {
        return (&source[..start - 1], &source[start - 1..]);
    }
    (source, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_split_into_file_and_locator() {
        assert_eq!(split_source("calls/a.json"), ("calls/a.json", ""));
        assert_eq!(split_source("calls.jsonl:12"), ("calls.jsonl", ":12"));
        assert_eq!(split_source("calls.json[3]"), ("calls.json", "[3]"));
        assert_eq!(split_source("odd[x]"), ("odd[x]", ""));
        assert_eq!(split_source("c:/x"), ("c:/x", ""));
    }

    #[test]
    fn caps_are_read_as_sizes() {
        assert_eq!("all".parse(), Ok(TranscriptCap::All));
        assert_eq!("none".parse(), Ok(TranscriptCap::None));
        assert_eq!("5".parse(), Ok(TranscriptCap::Bytes(5_000_000)));
        assert_eq!("5 MB".parse(), Ok(TranscriptCap::Bytes(5_000_000)));
        assert_eq!("512KiB".parse(), Ok(TranscriptCap::Bytes(512 * 1024)));
        assert!(
            "lots"
                .parse::<TranscriptCap>()
                .unwrap_err()
                .contains("all, none or a size")
        );
    }
}
