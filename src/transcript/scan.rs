//! The scan behind [`Catalog::scan`]: walks inputs in a reproducible order, parses each
//! document once, and turns it into a [`CallEntry`], a [`LoadError`], or a companion.
//!
//! The scan hands each call and error on as it makes them, in input order, to its
//! [`Findings`]: [`Catalog::scan`] collects them (`inspect`, `prompt`, the review page), a run
//! asks them while the scan reads on, so an archive is read once and never held whole.
//! Whatever needs the whole input is therefore decided in order, from what came before:
//!
//! - Directories are walked with entries sorted by name so two runs see calls in the same
//!   order.
//! - A duplicate call id is made unique against the ids found before it (the first keeps
//!   its id; a later one takes the first free `#N`).
//! - A Twilio sentences page may come before the Transcript resource that gives it roles
//!   (`twilio_intelligence.json` sorts before `twilio_intelligence_transcript.json`): such a
//!   page waits, and is read right after its resource's input, or, if none comes, after
//!   every input (where it asks for `--speaker-map`).
//!
//! Text files (`.txt`, `.vtt`, `.srt`, or stdin that is not JSON) are one call each; a JSONL
//! file whose first line is a session event (ConversationRelay, Realtime) is one call, not
//! one per line. File names that are not UTF-8 are shown with the odd bytes escaped
//! (`caf\xE9.json`), so a report still names the file exactly.

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::detect::{self, Companion, Shape};
use super::formats::{self, Document, Unread};
use super::load::{CallEntry, Catalog, LoadError, LoadOptions, Locator, Origin, Skipped, SourceRef};
use super::load::{decode, json_error, parse_json, parse_value, session_array};
use super::read::{self, ReadError, read_bounded, read_input};
use super::unique_ids::UniqueIds;
use super::{Call, CallMetadata, Format};
use crate::storage::{self, ObjectUrl, Scheme};

/// How a file's bytes are split into call documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `.json`: one document (a call, or an array of calls).
    Json,
    /// `.jsonl` / `.ndjson`: one call per line, or one session log.
    Lines,
    /// `.txt`, `.vtt`, `.srt`: one call in text, the extension's format unless the content
    /// says otherwise.
    Text(Format),
    /// stdin or an explicit file with another extension: JSON (one document, or several on
    /// separate lines) when it starts like JSON, text otherwise.
    Sniff,
}

fn layout_for(path: &Path) -> Option<Layout> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "json" => Layout::Json,
        "jsonl" | "ndjson" => Layout::Lines,
        "txt" | "text" => Layout::Text(Format::PlainText),
        "vtt" => Layout::Text(Format::Webvtt),
        "srt" => Layout::Text(Format::Srt),
        _ => return None,
    })
}

/// How the scan takes a listed object named `name` of `size` bytes: read in its layout, or
/// not read, `None` for another kind of file and the error for one over `limit`.
fn listed_layout(name: &str, size: u64, limit: u64) -> Result<Layout, Option<ReadError>> {
    let layout = layout_for(Path::new(name)).ok_or(None)?;
    if size > limit {
        return Err(Some(ReadError::TooBig { size, limit }));
    }
    Ok(layout)
}

/// A path as text that names it exactly: valid UTF-8 as is, other bytes as `\xNN` (and, in
/// such a name only, a backslash as `\\`, so the escape cannot be confused with the name).
pub(crate) fn display_path(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        if std::str::from_utf8(bytes).is_err() {
            let mut out = String::with_capacity(bytes.len() + 8);
            for chunk in bytes.utf8_chunks() {
                out.push_str(&chunk.valid().replace('\\', "\\\\"));
                for byte in chunk.invalid() {
                    out.push_str(&format!("\\x{byte:02X}"));
                }
            }
            return out;
        }
    }
    path.display().to_string()
}

/// Where the scan's calls and errors go, in input order, as it makes them.
pub trait Findings {
    /// A call, its id already unique in the run. `Break` stops the scan: no more are wanted.
    fn call(&mut self, entry: CallEntry, call: Call) -> ControlFlow<()>;
    fn error(&mut self, error: LoadError);
    /// Whether calls are still wanted, asked while the scan waits for something other than
    /// a call (a bucket's listing): `false` gives the input up.
    fn wants_more(&mut self) -> bool {
        true
    }
}

/// A Twilio sentences page waiting for the transcript resource that gives it roles.
struct Waiting {
    unit: Unit,
    sid: Option<String>,
}

/// Where one call-sized document came from.
struct Unit {
    source: SourceRef,
    /// `path`, `path[INDEX]` or `path:LINE`, as entries show it.
    display: String,
    fallback_id: String,
    line: Option<usize>,
}

impl Unit {
    /// Errors name the file and carry the line in its own field (so `--json` readers get
    /// it as a number), rather than repeating it inside the source.
    fn error(self, message: String) -> LoadError {
        let mut display = self.display;
        if let Some(line) = self.line {
            display.truncate(display.len() - format!(":{line}").len());
        }
        LoadError::new(display, message).at(self.line, None)
    }
}

struct Scanner<'o, F: Findings> {
    options: &'o LoadOptions,
    /// What the scan finds besides calls and errors (skips, companions, warnings), and
    /// the state parsing needs (stdin's bytes, Twilio's resources).
    catalog: Catalog,
    findings: &'o mut F,
    ids: UniqueIds,
    waiting: Vec<Waiting>,
    /// Twilio resources seen in the input being read, whose waiting pages are read after it.
    arrived: Vec<String>,
    /// The findings want no more.
    stopped: bool,
}

/// Reads every input in order into `findings`; returns the rest of what was found (a
/// catalog without entries or errors: those went to `findings`).
pub fn scan_into<F: Findings>(inputs: &[PathBuf], options: &LoadOptions, findings: &mut F) -> Catalog {
    let mut scanner = Scanner {
        options,
        catalog: Catalog::default(),
        findings,
        ids: UniqueIds::default(),
        waiting: Vec::new(),
        arrived: Vec::new(),
        stopped: false,
    };
    for input in inputs {
        if scanner.stopped {
            break;
        }
        scanner.input(input);
        scanner.read_arrived();
    }
    scanner.finish()
}

/// [`Catalog::scan`]: every call's entry and every error.
#[derive(Default)]
struct Collect {
    entries: Vec<CallEntry>,
    errors: Vec<LoadError>,
}

impl Findings for Collect {
    fn call(&mut self, entry: CallEntry, _call: Call) -> ControlFlow<()> {
        self.entries.push(entry);
        ControlFlow::Continue(())
    }

    fn error(&mut self, error: LoadError) {
        self.errors.push(error);
    }
}

pub(super) fn scan(inputs: &[PathBuf], options: &LoadOptions) -> Catalog {
    let mut collect = Collect::default();
    let mut catalog = scan_into(inputs, options, &mut collect);
    catalog.entries = collect.entries;
    catalog.errors = collect.errors;
    release_freed_memory();
    catalog
}

/// The scan parsed every document and freed the trees; glibc keeps such memory in this
/// thread's arena, where the run's worker threads (each with an arena of its own) cannot
/// reuse it, so a run over one huge call held the scan's peak and the worker's on top of
/// it. Trimming hands it back to the system before the workers start.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

impl<F: Findings> Scanner<'_, F> {
    fn input(&mut self, input: &Path) {
        match ObjectUrl::from_path(input) {
            Ok(Some(url)) => return self.object_input(url),
            Err(e) => return self.error(LoadError::new(e.shown, e.reason)),
            Ok(None) => {}
        }
        if input.as_os_str() == "-" {
            return self.stdin();
        }
        let display = display_path(input);
        match std::fs::metadata(input) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.error(LoadError::new(
                display,
                "no such file or directory; check the path (inputs are files, directories, or - for stdin)",
            )),
            Err(e) => self.error(LoadError::new(display, format!("cannot read: {e}"))),
            Ok(meta) if meta.is_dir() => self.walk(input),
            // Named explicitly: read it whatever its extension, the user asked for it (a
            // FIFO or device is refused, with the reason, when it is opened).
            Ok(_) => self.file(input, layout_for(input).unwrap_or(Layout::Sniff)),
        }
    }

    fn stdin(&mut self) {
        let bytes = match &self.catalog.stdin {
            Some(bytes) => bytes.clone(),
            None => {
                let buf = match read_bounded(std::io::stdin().lock(), self.options.max_file_size) {
                    Ok(buf) => buf,
                    Err(e) => return self.error(LoadError::new("-", format!("stdin: {e}"))),
                };
                let bytes: Arc<[u8]> = buf.into();
                self.catalog.stdin = Some(bytes.clone());
                bytes
            }
        };
        self.document(&Origin::Stdin, Cow::Borrowed(&bytes), Layout::Sniff, "-", "stdin");
    }

    fn walk(&mut self, dir: &Path) {
        let listing = match std::fs::read_dir(dir) {
            Ok(listing) => listing,
            Err(e) => {
                return self.error(LoadError::new(display_path(dir), format!("cannot list directory: {e}")));
            }
        };
        let mut children: Vec<(PathBuf, std::fs::FileType)> = Vec::new();
        for child in listing {
            match child.and_then(|c| Ok((c.path(), c.file_type()?))) {
                Ok(child) => children.push(child),
                Err(e) => self.error(LoadError::new(display_path(dir), format!("cannot list directory: {e}"))),
            }
        }
        children.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (path, kind) in children {
            if self.stopped {
                return;
            }
            // Symlinked files are read; symlinked directories are not entered, which rules
            // out cycles without tracking every directory visited.
            let is_dir = kind.is_dir();
            let is_linked_dir = kind.is_symlink() && path.is_dir();
            if is_dir {
                self.walk(&path);
            } else if is_linked_dir {
                self.catalog.warnings.push(format!(
                    "{}: symlinked directory not followed; name it on the command line to include it",
                    display_path(&path)
                ));
            } else if let Some(layout) = layout_for(&path) {
                match special_file(&path, kind) {
                    // Never opened: a FIFO would wait for a writer, a device never end.
                    Some(what) => self.catalog.warnings.push(format!(
                        "{}: skipped, not a regular file ({what}); postcall reads only regular files",
                        display_path(&path)
                    )),
                    None => {
                        self.file(&path, layout);
                        self.read_arrived();
                    }
                }
            } else {
                self.catalog.skipped_non_json += 1;
            }
        }
    }

    fn file(&mut self, path: &Path, layout: Layout) {
        let display = display_path(path);
        match read_input(path, self.options.max_file_size) {
            Ok(bytes) => {
                let stem = path
                    .file_stem()
                    .map(|s| display_path(Path::new(s)))
                    .unwrap_or_else(|| display.clone());
                self.document(
                    &Origin::File(path.to_path_buf()),
                    Cow::Owned(bytes),
                    layout,
                    &display,
                    &stem,
                );
            }
            Err(e) => self.error(LoadError::new(display, e.to_string())),
        }
    }

    /// A URL: a prefix is walked like a directory (its objects in key order, only the
    /// endings a walk reads, each read as the listing reaches it); a URL under which nothing
    /// is listed is one object, read whatever its ending, as a file named on the command
    /// line is.
    fn object_input(&mut self, url: ObjectUrl) {
        let limit = self.options.max_file_size;
        if url.scheme() != Scheme::Https {
            let choose = move |object: &ObjectUrl, size| listed_layout(object.file_name(), size, limit);
            let mut objects = match storage::read_listed(&url, limit, choose) {
                Ok(objects) => objects,
                Err(e) => return self.error(LoadError::new(e.shown, e.message)),
            };
            let mut listed_any = false;
            loop {
                if self.stopped {
                    // Asked before the next is waited for, which may be behind a long
                    // listing (`--limit 10` of a million-object directory). Dropping the
                    // rest cancels the listings and reads on their way.
                    return;
                }
                let next = match objects.next(&mut || !self.findings.wants_more()) {
                    Ok(Some(next)) => next,
                    Ok(None) => break,
                    Err(storage::Stopped) => {
                        self.stopped = true;
                        return;
                    }
                };
                listed_any = true;
                match next {
                    storage::Next::Read(object, layout, bytes) => self.object(object, layout, bytes, false),
                    storage::Next::Passed(_, None) => self.catalog.skipped_non_json += 1,
                    storage::Next::Passed(object, Some(e)) => self.error(LoadError::new(
                        object.redacted(),
                        e.to_string().replace("the file", "the object"),
                    )),
                    storage::Next::Failed(e) => return self.error(LoadError::new(e.shown, e.message)),
                }
            }
            if listed_any {
                return;
            }
        }
        let layout = layout_for(Path::new(url.file_name())).unwrap_or(Layout::Sniff);
        let bytes = storage::read(&url, limit);
        self.object(url, layout, bytes, true);
    }

    /// An object's bytes parsed as `layout`, or why they could not be read.
    fn object(
        &mut self,
        url: ObjectUrl,
        layout: Layout,
        bytes: Result<bytes::Bytes, storage::StorageError>,
        named: bool,
    ) {
        let display = url.redacted();
        match bytes {
            Ok(bytes) => {
                let name = Path::new(url.file_name());
                let stem = name.file_stem().map_or_else(|| display.clone(), |s| s.to_string_lossy().into_owned());
                let origin = Origin::Object(Box::new(url));
                self.document(&origin, Cow::Owned(Vec::from(bytes)), layout, &display, &stem);
            }
            Err(e) if e.not_found && named => self.error(LoadError::new(
                display,
                "no object at this URL and none under it as a prefix; check the URL (inputs are objects, prefixes, files, directories, or - for stdin)",
            )),
            Err(e) => self.error(LoadError::new(display, e.message)),
        }
        self.read_arrived();
    }

    /// `bytes` is owned when the scan may drop it early: a big JSON document's bytes go as
    /// soon as it is parsed, before the call is built from it.
    fn document(&mut self, origin: &Origin, bytes: Cow<'_, [u8]>, layout: Layout, display: &str, stem: &str) {
        let forced_text = self.options.format.filter(|f| f.is_text());
        let looks_like_json = || {
            let start = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
            start
                .iter()
                .find(|b| !b.is_ascii_whitespace())
                .is_none_or(|b| matches!(b, b'{' | b'['))
        };
        let text_hint = match layout {
            _ if forced_text.is_some() => forced_text,
            Layout::Text(hint) => Some(hint),
            Layout::Sniff if !looks_like_json() => Some(Format::PlainText),
            _ => None,
        };
        if let Some(hint) = text_hint {
            return self.text(origin, &bytes, hint, display, stem);
        }
        if layout == Layout::Lines {
            return self.lines(origin, &bytes, display, stem);
        }
        let parsed = match decode(&bytes) {
            Ok(text) => parse_value(text),
            Err(e) => return self.error(e.into_load_error(display)),
        };
        match parsed {
            Ok(value) => {
                drop(bytes);
                self.json(origin, value, display, stem)
            }
            // Several documents one after another: JSONL without the extension (stdin).
            Err(e) if layout == Layout::Sniff && e.to_string().starts_with("trailing characters") => {
                self.lines(origin, &bytes, display, stem)
            }
            Err(e) => self.error(json_error(&e).into_load_error(display)),
        }
    }

    /// A text file: one call, in the format its content shows (or `--transcript-format`).
    fn text(&mut self, origin: &Origin, bytes: &[u8], hint: Format, display: &str, stem: &str) {
        let text = match decode(bytes) {
            Ok(text) => text,
            Err(e) => return self.error(e.into_load_error(display)),
        };
        let format = self
            .options
            .format
            .unwrap_or_else(|| detect::detect_text(text, Some(hint)));
        let unit = self.whole(origin, Locator::Whole, display, stem);
        self.build(Document::Text(text), format, unit);
    }

    fn whole(&self, origin: &Origin, locator: Locator, display: &str, stem: &str) -> Unit {
        Unit {
            source: SourceRef {
                origin: origin.clone(),
                locator,
            },
            display: display.to_string(),
            fallback_id: stem.to_string(),
            line: None,
        }
    }

    /// A JSONL file of one session's events: the whole file is the call.
    fn session(&mut self, origin: &Origin, bytes: &[u8], format: Format, display: &str, stem: &str) {
        match session_array(bytes) {
            Ok(events) => {
                let unit = self.whole(origin, Locator::Session, display, stem);
                self.build(Document::Json(&events), format, unit);
            }
            Err(e) => self.error(e.into_load_error(display).with_format(Some(format))),
        }
    }

    fn lines(&mut self, origin: &Origin, bytes: &[u8], display: &str, stem: &str) {
        let first = bytes
            .split(|&b| b == b'\n')
            .find(|l| !l.iter().all(u8::is_ascii_whitespace))
            .and_then(|l| decode(l).ok().and_then(|t| parse_json(t).ok()));
        let session = match self.options.format {
            Some(f @ (Format::TwilioRelay | Format::OpenaiRealtime)) => Some(f),
            Some(_) => None,
            None => first.as_ref().and_then(detect::session_event),
        };
        if let Some(format) = session {
            return self.session(origin, bytes, format, display, stem);
        }
        // A BOM belongs to no line; skipping it keeps line 1's offset pointing at its `{`.
        let bom = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        let mut offset = bom;
        let mut any = false;
        for (index, raw) in bytes[bom..].split_inclusive(|&b| b == b'\n').enumerate() {
            if self.stopped {
                return;
            }
            let (start, number) = (offset, index + 1);
            offset += raw.len();
            if raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            any = true;
            let value = decode(raw).and_then(parse_json);
            let value = match value {
                Ok(value) => value,
                Err(mut e) => {
                    // Within a line, serde's "line 1" is this line.
                    e.line = Some(number);
                    self.error(e.into_load_error(display));
                    continue;
                }
            };
            let unit = Unit {
                source: SourceRef {
                    origin: origin.clone(),
                    locator: Locator::Line {
                        number,
                        offset: start as u64,
                    },
                },
                display: format!("{display}:{number}"),
                fallback_id: format!("{stem}:{number}"),
                line: Some(number),
            };
            self.unit(&value, unit);
        }
        if !any {
            self.error(LoadError::new(
                display,
                "file is empty; expected one JSON call per line",
            ));
        }
    }

    fn json(&mut self, origin: &Origin, value: Value, display: &str, stem: &str) {
        let array_of_calls = match (self.options.format, &value) {
            (Some(f), _) if f.reads_whole_arrays() => false,
            (Some(_), Value::Array(_)) => true,
            (Some(_), _) => false,
            (None, _) => detect::detect(&value) == Shape::ArrayOfCalls,
        };
        let whole = |fallback_id: String| Unit {
            source: SourceRef {
                origin: origin.clone(),
                locator: Locator::Whole,
            },
            display: display.to_string(),
            fallback_id,
            line: None,
        };
        let Value::Array(items) = &value else {
            return self.unit(&value, whole(stem.to_string()));
        };
        if !array_of_calls {
            return self.unit(&value, whole(stem.to_string()));
        }
        if items.is_empty() {
            return self.error(LoadError::new(display, "empty JSON array: no calls in it"));
        }
        // A list of something else (an index, a config) is one error, not one per element.
        let nothing_matches = self.options.format.is_none()
            && items
                .iter()
                .all(|item| matches!(detect::detect(item), Shape::Unknown | Shape::ArrayOfCalls));
        if nothing_matches {
            return self.error(LoadError::new(
                display,
                format!(
                    "JSON array of {} items, none of them a call; first item: {}",
                    items.len(),
                    detect::describe_unknown(&items[0])
                ),
            ));
        }
        for (index, item) in items.iter().enumerate() {
            if self.stopped {
                return;
            }
            let unit = Unit {
                source: SourceRef {
                    origin: origin.clone(),
                    locator: Locator::ArrayIndex(index),
                },
                display: format!("{display}[{index}]"),
                fallback_id: format!("{stem}[{index}]"),
                line: None,
            };
            self.unit(item, unit);
        }
    }

    /// One call-sized document: a companion, a call, a deferred Twilio page, a document
    /// that is not a call, or an error.
    fn unit(&mut self, value: &Value, unit: Unit) {
        let shape = detect::detect(value);
        if let Shape::Companion(kind) = shape {
            let (format, reason) = match kind {
                Companion::TwilioTranscript => (
                    Format::TwilioIntelligence,
                    "Twilio transcript resource: gives roles to its sentences page",
                ),
                Companion::AtomsAnalytics => (
                    Format::Atoms,
                    "Atoms analytics-completed webhook: analytics for a call whose transcript is in the post-conversation webhook",
                ),
            };
            if kind == Companion::TwilioTranscript
                && let (Some(sid), Some(companion)) = (formats::twilio_sid(value), formats::twilio_companion(value))
            {
                self.arrived.push(sid.clone());
                self.catalog.twilio.insert(sid, companion);
            }
            self.catalog.companions.push(Skipped {
                source_display: unit.display,
                format: Some(format),
                reason: reason.to_string(),
            });
            return;
        }
        let format = match (self.options.format, shape) {
            (Some(format), _) | (None, Shape::Call(format)) => format,
            _ => {
                let message = detect::describe_unknown(value);
                return self.error(unit.error(message));
            }
        };
        let waits_for_companion = format == Format::TwilioIntelligence
            && formats::twilio_needs_companion(value)
            && !formats::twilio_sid(value).is_some_and(|sid| self.catalog.twilio.contains_key(&sid));
        if waits_for_companion {
            let sid = formats::twilio_sid(value);
            self.waiting.push(Waiting { unit, sid });
            return;
        }
        self.build(Document::Json(value), format, unit);
    }

    /// Reads `doc` as `format`: an entry (and its warnings), a skip, or an error.
    fn build(&mut self, doc: Document<'_>, format: Format, unit: Unit) {
        let built = self
            .catalog
            .build_call(doc, format, self.options, unit.fallback_id.clone(), &unit.display);
        match built {
            Ok((call, warnings)) => {
                let display = unit.display.clone();
                self.catalog
                    .warnings
                    .extend(warnings.into_iter().map(|w| format!("{display}: {w}")));
                self.found(call, unit);
            }
            Err(Unread::NotACall(reason)) => self.catalog.skipped.push(Skipped {
                source_display: unit.display,
                format: Some(format),
                reason,
            }),
            Err(Unread::Invalid(message)) => self.error(unit.error(message).with_format(Some(format))),
        }
    }

    /// Hands a call on, with an id no call before it has.
    fn found(&mut self, mut call: Call, unit: Unit) {
        if let Some((unique, warning)) = self.ids.claim(&call.id, &unit.display) {
            self.catalog.warnings.push(warning);
            call.id = unique;
        }
        let entry = CallEntry {
            turns: call.conversation().count(),
            chars: call.chars(),
            estimated_tokens: call.estimated_tokens(),
            digest: call.digest(),
            started_at: call.started_at,
            speaker_inference: call.speaker_inference.clone().map(Box::new),
            metadata: (call.metadata != CallMetadata::default()).then(|| Box::new(call.metadata.clone())),
            format: call.format,
            id: call.id.clone(),
            source_display: unit.display,
            source: unit.source,
        };
        if self.findings.call(entry, call).is_break() {
            self.stopped = true;
        }
    }

    fn error(&mut self, error: LoadError) {
        self.findings.error(error);
    }

    /// Reads the pages that were waiting for the Twilio resources the last input held.
    fn read_arrived(&mut self) {
        if self.arrived.is_empty() {
            return;
        }
        let arrived = std::mem::take(&mut self.arrived);
        let (ready, waiting) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| w.sid.as_ref().is_some_and(|sid| arrived.contains(sid)));
        self.waiting = waiting;
        self.read_waiting(ready);
    }

    /// Reads waiting pages again (they were not kept) and builds their calls, with the
    /// roles their resources gave, or asking for a speaker map.
    fn read_waiting(&mut self, pages: Vec<Waiting>) {
        for Waiting { unit, .. } in pages {
            if self.stopped {
                return;
            }
            let built = self
                .catalog
                .read_value(&unit.source, &unit.display, self.options.max_file_size)
                .map_err(|e| e.message)
                .and_then(|value| {
                    let id = unit.fallback_id.clone();
                    let doc = Document::Json(&value);
                    self.catalog
                        .build_call(doc, Format::TwilioIntelligence, self.options, id, &unit.display)
                        .map(|(call, _)| call)
                        .map_err(|e| match e {
                            Unread::Invalid(m) | Unread::NotACall(m) => m,
                        })
                });
            match built {
                Ok(call) => self.found(call, unit),
                Err(message) => self.error(unit.error(message).with_format(Some(Format::TwilioIntelligence))),
            }
        }
    }

    /// Every input has been read: a page still waiting has no resource to wait for.
    fn finish(mut self) -> Catalog {
        let waiting = std::mem::take(&mut self.waiting);
        self.read_waiting(waiting);
        self.catalog
    }
}

/// What a directory entry is when it is not a regular file (following a symlink).
fn special_file(path: &Path, kind: std::fs::FileType) -> Option<&'static str> {
    let kind = if kind.is_symlink() {
        std::fs::metadata(path).ok()?.file_type()
    } else {
        kind
    };
    (!kind.is_file()).then(|| read::kind_of(&kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_follows_the_extension() {
        assert_eq!(layout_for(Path::new("a.JSON")), Some(Layout::Json));
        assert_eq!(layout_for(Path::new("a.ndjson")), Some(Layout::Lines));
        assert_eq!(layout_for(Path::new("a.txt")), Some(Layout::Text(Format::PlainText)));
        assert_eq!(layout_for(Path::new("a.VTT")), Some(Layout::Text(Format::Webvtt)));
        assert_eq!(layout_for(Path::new("a.wav")), None);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_file_names_are_shown_with_escaped_bytes() {
        use std::os::unix::ffi::OsStrExt;
        let name = std::ffi::OsStr::from_bytes(b"calls/caf\xE9\\x.json");
        assert_eq!(display_path(Path::new(name)), "calls/caf\\xE9\\\\x.json");
        assert_eq!(display_path(Path::new("calls/café.json")), "calls/café.json");
    }
}
