//! Walking inputs into calls: files, directories (recursively, sorted), and `-` for stdin.
//!
//! A run asks each call as the scan makes it (see `scan`); what reads the inputs whole
//! first — `inspect`, the review page — cannot hold every transcript in memory for 100k+ calls,
//! so [`Catalog::scan`] keeps only a small [`CallEntry`] per call, and [`Catalog::load`]
//! reads one again when it is wanted. `load` takes `&self` and touches nothing shared but
//! read-only data, so many threads may call it at once.
//!
//! The walking itself lives in `scan`; this file holds the types callers see, re-reading one
//! call, and the decoding steps both share, so a call reads the same at scan and at load.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;

use bytesize::ByteSize;
use serde_json::Value;

use super::formats::{self, Context, Document, TwilioCompanion, Unread};
use super::read::{DEFAULT_MAX_FILE_SIZE, ReadError, open_input, read_input};
use super::{Call, Format, SpeakerMap};
use crate::storage::{self, ObjectUrl, StorageError};

#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `--transcript-format`: skip detection.
    pub format: Option<Format>,
    /// `--speaker-map`: roles for speakers a source only numbers or names (Deepgram,
    /// Twilio, captions, text), or `auto` to pick the agent from what is said.
    pub speaker_map: Option<SpeakerMap>,
    /// `--max-file-size` in bytes: a bigger input file is an error, checked before it is
    /// read (stdin is read no further than this).
    pub max_file_size: u64,
}

impl Default for LoadOptions {
    fn default() -> LoadOptions {
        LoadOptions {
            format: None,
            speaker_map: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE.as_u64(),
        }
    }
}

/// How transcripts are read: the flags `run`, `prompt` and `inspect` share, declared once.
#[derive(Debug, Clone, clap::Args)]
pub struct TranscriptArgs {
    /// Read every input as this format instead of detecting it.
    #[arg(long, value_enum, value_name = "NAME")]
    pub transcript_format: Option<Format>,
    /// Roles for speakers a source only numbers or names (Deepgram, Twilio, captions, text) or
    /// unknown role names, e.g. 0=agent,1=customer; `auto` picks the agent from what is said.
    #[arg(long, value_name = "KEY=ROLE,...|auto")]
    pub speaker_map: Option<SpeakerMap>,
    /// Refuse input files bigger than this (e.g. 64MiB, 2GB); only regular files are read.
    #[arg(long, value_name = "SIZE", default_value_t = DEFAULT_MAX_FILE_SIZE)]
    pub max_file_size: ByteSize,
}

impl Default for TranscriptArgs {
    fn default() -> TranscriptArgs {
        TranscriptArgs {
            transcript_format: None,
            speaker_map: None,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

impl TranscriptArgs {
    pub fn options(&self) -> LoadOptions {
        LoadOptions {
            format: self.transcript_format,
            speaker_map: self.speaker_map.clone(),
            max_file_size: self.max_file_size.as_u64(),
        }
    }
}

/// Where one call lives, precisely enough to read it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRef {
    pub origin: Origin,
    pub locator: Locator,
}

/// The input a call was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Its bytes are kept in the catalog.
    Stdin,
    File(PathBuf),
    /// Boxed: a million entries of local calls stay the size they were.
    Object(Box<ObjectUrl>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locator {
    /// The whole file is one call.
    Whole,
    /// Element of a top-level JSON array of calls.
    ArrayIndex(usize),
    /// A line of a JSONL file (1-based line number, byte offset of its start).
    Line { number: usize, offset: u64 },
    /// A JSONL file whose lines are the events of one session (a ConversationRelay or
    /// Realtime log): the call is every line, read as one array.
    Session,
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
    /// Agent and customer turns (system and tool turns are not counted: they are not sent).
    pub turns: usize,
    pub chars: usize,
    pub estimated_tokens: u64,
    /// A hash of what was said (every turn's speaker and text): the archive fingerprint
    /// of a sharded run is made of these, so shards of changed transcripts do not merge.
    pub digest: u64,
    /// When the call started, if the source says.
    pub started_at: Option<jiff::Timestamp>,
    /// Who `--speaker-map auto` took for the agent and why (boxed: most calls have none).
    pub speaker_inference: Option<Box<super::SpeakerInference>>,
    /// What the source says about the call besides its turns, for the report's `call`
    /// block; boxed and `None` when the source said nothing, so a million entries stay small.
    pub metadata: Option<Box<super::CallMetadata>>,
}

/// A file (or line) that could not be read as a call. Never fatal to the run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", location(.source_display, *.line, *.column))]
pub struct LoadError {
    pub source_display: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    /// The format it was read as, when the error came after detection.
    pub format: Option<Format>,
}

/// A document that is not a call and was left out on purpose: a platform's mid-call
/// message, an audio-only webhook, a Twilio transcript resource that gives roles to its
/// sentences. Neither a call nor an error; listed so nothing goes unseen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub source_display: String,
    pub format: Option<Format>,
    pub reason: String,
}

fn location(source: &str, line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!("{source}:{l}:{c}"),
        (Some(l), None) => format!("{source}:{l}"),
        _ => source.to_string(),
    }
}

impl LoadError {
    pub(crate) fn new(source_display: impl Into<String>, message: impl Into<String>) -> LoadError {
        LoadError {
            source_display: source_display.into(),
            line: None,
            column: None,
            message: message.into(),
            format: None,
        }
    }

    pub(crate) fn with_format(mut self, format: Option<Format>) -> LoadError {
        self.format = format;
        self
    }

    pub(crate) fn at(mut self, line: Option<usize>, column: Option<usize>) -> LoadError {
        self.line = line;
        self.column = column;
        self
    }
}

/// The file endings a directory walk reads, as said to users (the rest are counted in
/// [`Catalog::skipped_non_json`]).
pub const READ_EXTENSIONS: &str = ".json, .jsonl, .ndjson, .txt, .text, .vtt or .srt";

/// Every call found in the inputs, the errors, and what was skipped.
#[derive(Debug, Default)]
pub struct Catalog {
    pub entries: Vec<CallEntry>,
    pub errors: Vec<LoadError>,
    /// Files in walked directories that postcall does not read: not `.json`, `.jsonl`,
    /// `.ndjson`, `.txt`, `.vtt` or `.srt` (a recording, a README).
    pub skipped_non_json: usize,
    /// Documents that are not calls (see [`Skipped`]), with the reason.
    pub skipped: Vec<Skipped>,
    /// Non-fatal notes, e.g. duplicate call ids that were made unique.
    pub warnings: Vec<String>,
    /// Inputs that belong with a call without being one (a Twilio Transcript resource, an
    /// Atoms analytics webhook): neither calls nor errors, listed so nothing goes unseen.
    pub companions: Vec<Skipped>,
    pub(crate) stdin: Option<std::sync::Arc<[u8]>>,
    /// Twilio Transcript resources by SID, which give roles to their sentences pages.
    pub(crate) twilio: HashMap<String, TwilioCompanion>,
}

impl Catalog {
    /// Reads every input once, in a reproducible order. Never fails as a whole: problems
    /// with individual inputs land in `errors`.
    pub fn scan(inputs: &[PathBuf], options: &LoadOptions) -> Catalog {
        super::scan::scan(inputs, options)
    }

    /// Reads one call again, by its index in `entries`, with the id the scan gave it.
    pub fn load(&self, index: usize, options: &LoadOptions) -> Result<Call, LoadError> {
        let entry = self.entry(index)?;
        let document = self.read_document(
            &entry.source,
            &entry.source_display,
            entry.format.is_text(),
            options.max_file_size,
        )?;
        self.call_from(entry, &document, options)
    }

    fn entry(&self, index: usize) -> Result<&CallEntry, LoadError> {
        self.entries.get(index).ok_or_else(|| {
            LoadError::new(
                format!("#{index}"),
                format!("no call with index {index} (the catalog has {})", self.entries.len()),
            )
        })
    }

    /// The call in `document`, read again as the scan read it.
    fn call_from(&self, entry: &CallEntry, document: &OwnedDocument, options: &LoadOptions) -> Result<Call, LoadError> {
        let (mut call, _warnings) = self
            .build_call(
                document.as_document(),
                entry.format,
                options,
                entry.id.clone(),
                &entry.source_display,
            )
            .map_err(|unread| {
                let message = match unread {
                    Unread::Invalid(m) | Unread::NotACall(m) => m,
                };
                LoadError::new(&entry.source_display, format!("{message} (on re-reading)"))
            })?;
        // Detection and parsing are deterministic, so only the id's duplicate suffix differs.
        call.id = entry.id.clone();
        Ok(call)
    }

    /// Parses `doc` as `format` into a call (and the warnings its parser had), rejecting
    /// calls with nothing said in them.
    pub(crate) fn build_call(
        &self,
        doc: Document<'_>,
        format: Format,
        options: &LoadOptions,
        fallback_id: String,
        source_display: &str,
    ) -> Result<(Call, Vec<String>), Unread> {
        let cx = Context {
            speaker_map: options.speaker_map.as_ref(),
            twilio: Some(&self.twilio),
        };
        let parsed = formats::parse(format, doc, cx)?;
        let mut metadata = parsed.metadata;
        metadata.platform = metadata.platform.or_else(|| format.platform().map(str::to_string));
        metadata.call_id = metadata.call_id.or_else(|| parsed.id.clone());
        metadata.complete(parsed.started_at);
        let call = Call {
            id: parsed.id.unwrap_or(fallback_id),
            source: source_display.to_string(),
            format,
            started_at: parsed.started_at,
            metadata,
            speaker_inference: parsed.speaker_inference,
            turns: parsed.turns,
        };
        if call.conversation().next().is_none() {
            return Err(Unread::Invalid(format!(
                "empty transcript: no agent or customer turns ({} other turns) as {format}",
                call.turns.len()
            )));
        }
        Ok((call, parsed.warnings))
    }

    /// The document of one call (JSON, or text when `text`), read again from its file or
    /// the kept stdin bytes, no bigger than `limit`.
    pub(crate) fn read_document(
        &self,
        source: &SourceRef,
        display: &str,
        text: bool,
        limit: u64,
    ) -> Result<OwnedDocument, LoadError> {
        if text {
            let bytes = self.read_bytes(source, display, limit)?;
            let text = decode(&bytes).map_err(|e| e.into_load_error(display))?;
            return Ok(OwnedDocument::Text(text.to_string()));
        }
        self.read_value(source, display, limit).map(OwnedDocument::Json)
    }

    fn read_bytes(&self, source: &SourceRef, display: &str, limit: u64) -> Result<Vec<u8>, LoadError> {
        match &source.origin {
            Origin::File(path) => read_input(path, limit).map_err(|e| reread(display, e)),
            Origin::Object(url) => storage::read(url, limit)
                .map(Vec::from)
                .map_err(|e| reread_object(display, e)),
            Origin::Stdin => Ok(self.stdin.as_deref().unwrap_or_default().to_vec()),
        }
    }

    /// The JSON document of one call, read again from its file (or the kept stdin bytes).
    pub(crate) fn read_value(&self, source: &SourceRef, display: &str, limit: u64) -> Result<Value, LoadError> {
        if source.locator == Locator::Session {
            let bytes = self.read_bytes(source, display, limit)?;
            return session_array(&bytes).map_err(|e| e.into_load_error(display));
        }
        let bytes: std::borrow::Cow<'_, [u8]> = match (&source.origin, source.locator) {
            (Origin::File(path), Locator::Line { offset, .. }) => {
                let line = (|| -> Result<Vec<u8>, ReadError> {
                    let mut file = open_input(path, limit)?;
                    file.seek(SeekFrom::Start(offset))?;
                    let mut line = Vec::new();
                    BufReader::new(file).take(limit).read_until(b'\n', &mut line)?;
                    Ok(line)
                })();
                line.map_err(|e| reread(display, e))?.into()
            }
            (Origin::Object(url), Locator::Line { offset, .. }) => object_line(url, offset, limit)
                .map_err(|e| reread_object(display, e))?
                .into(),
            (Origin::File(_) | Origin::Object(_), _) => self.read_bytes(source, display, limit)?.into(),
            (Origin::Stdin, locator) => {
                let all: &[u8] = self.stdin.as_deref().unwrap_or_default();
                match locator {
                    Locator::Line { offset, .. } => {
                        let rest = all.get(offset as usize..).unwrap_or_default();
                        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
                        rest[..end].into()
                    }
                    _ => all.into(),
                }
            }
        };
        let text = decode(&bytes).map_err(|e| e.into_load_error(display))?;
        let mut value = parse_json(text).map_err(|e| e.into_load_error(display))?;
        match source.locator {
            Locator::ArrayIndex(i) => value.get_mut(i).map(Value::take).ok_or_else(|| {
                LoadError::new(
                    display,
                    format!("element {i} is gone; was the file changed after the scan?"),
                )
            }),
            _ => Ok(value),
        }
    }
}

/// How much of a JSONL object is asked for first when one line is read again: most calls
/// fit, so one ranged request reads one line.
const FIRST_LINE_READ: u64 = 64 * 1024;

/// The line of an object that starts at `offset`: ranged reads, each twice the last, until
/// a newline, the object's end, or `limit`.
fn object_line(url: &ObjectUrl, offset: u64, limit: u64) -> Result<Vec<u8>, StorageError> {
    let mut line = Vec::new();
    let mut ask = FIRST_LINE_READ.min(limit.max(1));
    loop {
        let from = offset + line.len() as u64;
        let got = storage::read_range(url, from, ask)?;
        if let Some(end) = got.iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&got[..end]);
            return Ok(line);
        }
        line.extend_from_slice(&got);
        if (got.len() as u64) < ask || line.len() as u64 >= limit {
            return Ok(line);
        }
        ask = ask.saturating_mul(2);
    }
}

/// An object that cannot be read again the way the scan read it.
fn reread_object(display: &str, e: StorageError) -> LoadError {
    LoadError::new(display, format!("cannot re-read: {}", e.message))
}

/// A file that cannot be read again the way the scan read it.
fn reread(display: &str, e: ReadError) -> LoadError {
    let message = match e {
        ReadError::Io(e) => format!("cannot re-read: {e}; was the file changed or removed after the scan?"),
        other => format!("{other} (on re-reading; was the file changed after the scan?)"),
    };
    LoadError::new(display, message)
}

/// A document read back for [`Catalog::load`].
pub(crate) enum OwnedDocument {
    Json(Value),
    Text(String),
}

impl OwnedDocument {
    pub(crate) fn as_document(&self) -> Document<'_> {
        match self {
            OwnedDocument::Json(v) => Document::Json(v),
            OwnedDocument::Text(t) => Document::Text(t),
        }
    }
}

/// Every line of a session log, as one JSON array (blank lines skipped); a bad line is an
/// error at its line, since a session with a hole in it is not the call that happened.
pub(crate) fn session_array(bytes: &[u8]) -> Result<Value, DecodeError> {
    let text = decode(bytes)?;
    let mut events = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value = parse_json(line).map_err(|mut e| {
            e.line = Some(index + 1);
            e.message = format!("{} (in a session log, read as one call)", e.message);
            e
        })?;
        events.push(value);
    }
    Ok(Value::Array(events))
}

/// Why some bytes are not a JSON document, with a position when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl DecodeError {
    pub(crate) fn into_load_error(self, display: &str) -> LoadError {
        LoadError::new(display, self.message).at(self.line, self.column)
    }
}

/// Bytes to text: rejects empty input and non-UTF-8 (with where), drops a UTF-8 BOM that
/// Windows tools like to write.
pub(crate) fn decode(bytes: &[u8]) -> Result<&str, DecodeError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError {
            message: "file is empty; expected a call transcript".into(),
            line: None,
            column: None,
        });
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&valid[line_start..]).chars().count() + 1;
        DecodeError {
            message: format!(
                "not UTF-8 text (invalid byte 0x{:02X}); re-export as UTF-8, e.g. \
                 iconv -f WINDOWS-1252 -t UTF-8",
                bytes[e.valid_up_to()]
            ),
            line: Some(line),
            column: Some(column),
        }
    })
}

/// Text to JSON, with serde_json's line and column moved out of the message into fields.
pub(crate) fn parse_json(text: &str) -> Result<Value, DecodeError> {
    parse_value(text).map_err(|e| json_error(&e))
}

/// Files from this size up are parsed with containers sized exactly (see [`parse_value`]).
const EXACT_FROM_BYTES: usize = 1 << 20;

/// Text to a JSON [`Value`] the size of what it holds. serde_json's own `Value` parser
/// grows each object's entries like a `Vec` (room for four) and each array by doubling,
/// which for a transcript of a million small turn objects is a fifth of the memory again;
/// here every object and array is allocated at its final size.
///
/// Exact sizing costs time (every object's entries are gathered, then moved), and pays only
/// where the tree is big: below [`EXACT_FROM_BYTES`] of text, a tree is small and freed as
/// soon as its calls are built, so serde_json's own, faster parser reads it.
pub(crate) fn parse_value(text: &str) -> serde_json::Result<Value> {
    if text.len() < EXACT_FROM_BYTES {
        return serde_json::from_str(text);
    }
    parse_exact(text)
}

fn parse_exact(text: &str) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde::de::DeserializeSeed::deserialize(Exact, &mut de)?;
    de.end()?;
    Ok(value)
}

/// A [`Value`] visitor that sizes containers exactly (see [`parse_value`]).
struct Exact;

impl<'de> serde::de::DeserializeSeed<'de> for Exact {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Exact {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(v.into())
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Exact)? {
            items.push(item);
        }
        items.shrink_to_fit();
        Ok(Value::Array(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(String, Value)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            entries.push((key, map.next_value_seed(Exact)?));
        }
        let mut object = serde_json::Map::with_capacity(entries.len());
        // Later duplicates win, as with serde_json's own parser.
        object.extend(entries);
        Ok(Value::Object(object))
    }
}

pub(crate) fn json_error(e: &serde_json::Error) -> DecodeError {
    let full = e.to_string();
    let reason = full.rfind(" at line ").map_or(full.as_str(), |i| &full[..i]);
    DecodeError {
        message: format!("invalid JSON: {reason}"),
        line: Some(e.line()),
        column: Some(e.column()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_rejects_empty_and_locates_bad_bytes() {
        assert!(decode(b"  \n").unwrap_err().message.contains("file is empty"));
        let err = decode(b"{\"a\":\n \"caf\xE9\"}").unwrap_err();
        assert!(
            err.message.contains("not UTF-8") && err.message.contains("0xE9"),
            "{err:?}"
        );
        assert_eq!((err.line, err.column), (Some(2), Some(6)));
        assert_eq!(decode(b"\xEF\xBB\xBF{}").unwrap(), "{}");
    }

    #[test]
    fn json_errors_carry_line_and_column_outside_the_message() {
        let err = parse_json("{\n  \"a\": ,\n}").unwrap_err();
        assert_eq!(err.line, Some(2));
        assert!(err.message.starts_with("invalid JSON: expected value"), "{err:?}");
        assert!(!err.message.contains("at line"), "{err:?}");
    }

    #[test]
    fn the_exact_parser_reads_what_serde_json_reads() {
        for text in [
            r#"{"a": [1, -2, 3.5, 1e400, true, null, "x\u00e9"], "b": {"c": {}}, "a2": [], "a": 2}"#,
            "  [ {\"role\": \"agent\", \"content\": \"hi\"} ]  ",
            "18446744073709551615",
        ] {
            let ours = parse_exact(text);
            let theirs = serde_json::from_str::<Value>(text);
            match (ours, theirs) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string()),
                (a, b) => panic!("{text}: {a:?} vs {b:?}"),
            }
        }
        for parse in [parse_exact, parse_value] {
            let trailing = parse("{} {}").unwrap_err().to_string();
            assert!(trailing.starts_with("trailing characters"), "{trailing}");
        }
        let bad = parse_json("{\n  \"a\": ,\n}").unwrap_err();
        assert_eq!((bad.line, bad.column), (Some(2), Some(8)));
    }

    #[test]
    fn load_error_display_includes_the_position() {
        let err = LoadError::new("a.jsonl", "bad").at(Some(3), Some(7));
        assert_eq!(err.to_string(), "a.jsonl:3:7: bad");
    }
}
