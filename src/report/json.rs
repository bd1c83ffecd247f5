//! `.json` (whole report) and `.jsonl` (one call per line) writers.
//!
//! A `.json` report is one document, `{"postcall": header, "metrics": [...], "calls":
//! [...]}`, pretty-printed so a baseline report checked into a repository diffs readably.
//! Its header is only final when the run ends, yet a run may hold 100k+ calls, so calls are
//! streamed to a temporary file as they arrive and the document is assembled at `finish`
//! into a second temporary file beside the destination, then renamed over it. Memory stays
//! constant and the destination never holds half a document.
//!
//! A `.jsonl` report is one compact JSON object per line, written and flushed as it comes,
//! to `<dest>.partial` beside the destination, which becomes the destination when the run
//! finishes: a killed run leaves the previous report as it was and a valid prefix in the
//! `.partial` file that pipelines can read. On standard output the lines stream as they
//! come. Its first line is the run header as it stood at the start, with the metric
//! definitions: `{"postcall": {...}, "metric_definitions": [...]}`; then one `CallResult`
//! per call (always with a `call_id`, never a `postcall` key); and, because a streamed
//! file's first line cannot be rewritten, a last line with the finished header (complete,
//! counts, usage, cost, `finished_at`): `{"postcall": {...}}`. A run reads its inputs while
//! it asks, so the first line cannot know how many calls there are, nor the archive or the
//! input errors: when the scan has read every input, a header line says them, between two
//! calls (with the definitions again, as a start header). A reader takes the last header
//! line as the truth; when that is one with `metric_definitions`, the run was killed
//! before it finished. The
//! definitions have their own key, not `metrics` as in a `.json` report, because a call
//! line's `metrics` is an object: one key with two shapes would make tools that infer a
//! schema from the lines (DuckDB's `read_json`) give up on the calls' `metrics` column.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Serialize;

use super::pending::{self, Target, TempFile};
use serde::Deserialize;

use super::{CallResult, ReportHead, RunHeader, Sink};
use crate::spec::Metric;

/// A `.jsonl` line that is not a call: the run header at the start (with the definitions)
/// or at the end (without them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeaderLine {
    pub postcall: RunHeader,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric_definitions: Option<Vec<Metric>>,
}

/// [`HeaderLine`] as written, without copying the header.
#[derive(Serialize)]
struct HeaderLineRef<'a> {
    postcall: &'a RunHeader,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric_definitions: Option<&'a [Metric]>,
}

/// How a report ends: the run finished, or it stopped early and what finished is kept
/// beside the destination (see [`pending`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Complete,
    Partial,
}

impl Ending {
    /// Where a file destination's finished file goes: the destination, or beside it.
    pub(crate) fn place(self, dest: &Path) -> PathBuf {
        match self {
            Ending::Complete => dest.to_path_buf(),
            Ending::Partial => pending::partial_path(dest),
        }
    }
}

/// Writes a whole `.json` report at `finish`, holding only the metric definitions in memory.
pub struct JsonSink {
    target: Target,
    calls: BufWriter<File>,
    calls_file: TempFile,
    calls_written: u64,
    metrics: Vec<Metric>,
}

impl JsonSink {
    /// Creates the calls buffer now (beside a file destination, so an unwritable directory
    /// fails before any work is done; in the system temporary directory for standard
    /// output and devices).
    pub(crate) fn create(target: Target) -> anyhow::Result<JsonSink> {
        let (calls_file, file) = target
            .temp("postcall-report")
            .with_context(|| format!("cannot write the report to {}", target.label()))?;
        Ok(JsonSink {
            target,
            calls: BufWriter::new(file),
            calls_file,
            calls_written: 0,
            metrics: Vec::new(),
        })
    }

    fn write_call(&mut self, call: &CallResult) -> io::Result<()> {
        let separator: &[u8] = if self.calls_written == 0 { b"" } else { b",\n" };
        self.calls.write_all(separator)?;
        self.calls.write_all(CALL_INDENT)?;
        write_pretty(&mut self.calls, CALL_INDENT, call)?;
        self.calls_written += 1;
        Ok(())
    }

    /// Header (`null` when the calls came without one), metrics, then the buffered calls.
    fn write_document(&self, header: Option<&RunHeader>, out: &mut impl Write) -> io::Result<()> {
        out.write_all(b"{\n  \"postcall\": ")?;
        write_pretty(out, b"  ", &header)?;
        out.write_all(b",\n  \"metrics\": ")?;
        write_pretty(out, b"  ", &self.metrics)?;
        out.write_all(b",\n  \"calls\": ")?;
        if self.calls_written == 0 {
            out.write_all(b"[]")?;
        } else {
            out.write_all(b"[\n")?;
            io::copy(&mut BufReader::new(File::open(self.calls_file.path())?), out)?;
            out.write_all(b"\n  ]")?;
        }
        out.write_all(b"\n}\n")?;
        out.flush()
    }

    /// The document, written where `ending` says; returns the file it went to.
    fn write_out(mut self, header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        let label = self.target.label();
        let context = || format!("cannot write the report to {label}");
        self.calls.flush().with_context(context)?;
        match &self.target {
            Target::Stdout => {
                let mut out = BufWriter::new(io::stdout().lock());
                self.write_document(header, &mut out).with_context(context)?;
                Ok(None)
            }
            Target::Device(path) => {
                let mut out = BufWriter::new(Target::open_device(path).with_context(context)?);
                self.write_document(header, &mut out).with_context(context)?;
                Ok(None)
            }
            Target::File { dest, .. } => {
                let to = ending.place(dest);
                let written = (|| -> io::Result<()> {
                    let (doc, file) = TempFile::beside(dest)?;
                    let mut out = BufWriter::new(file);
                    self.write_document(header, &mut out)?;
                    out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
                    doc.persist(&to)
                })();
                written.with_context(|| format!("cannot write the report to {}", to.display()))?;
                Ok(Some(to))
            }
        }
    }
}

impl Sink for JsonSink {
    fn begin_headerless(&mut self, metrics: &[Metric], _has_summary: bool) -> anyhow::Result<()> {
        self.metrics = metrics.to_vec();
        Ok(())
    }

    fn call(&mut self, call: &CallResult) -> anyhow::Result<()> {
        self.write_call(call)
            .with_context(|| format!("cannot write call {} to {}", call.call_id, self.target.label()))
    }

    fn close(self: Box<Self>, header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        (*self).write_out(header, ending)
    }
}

/// Indentation of each call inside `"calls": [ … ]`.
const CALL_INDENT: &[u8] = b"    ";

/// Pretty JSON of `value`, every line after the first indented by `indent`, so it nests
/// inside a hand-written outer document.
fn write_pretty(out: &mut impl Write, indent: &[u8], value: &impl Serialize) -> io::Result<()> {
    let mut indented = Indented { inner: out, indent };
    serde_json::to_writer_pretty(&mut indented, value).map_err(io::Error::from)
}

/// Inserts `indent` after every newline. Safe for JSON: newlines inside strings are
/// escaped, so every raw newline is between tokens.
struct Indented<'a, W: Write> {
    inner: &'a mut W,
    indent: &'a [u8],
}

impl<W: Write> Write for Indented<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(newline) = rest.iter().position(|b| *b == b'\n') {
            self.inner.write_all(&rest[..=newline])?;
            self.inner.write_all(self.indent)?;
            rest = &rest[newline + 1..];
        }
        self.inner.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Appends one call per line, flushed as it goes: to standard output or a device as they
/// come, or, for a file, to a stream beside it that becomes the destination at `finish`.
pub struct JsonlSink {
    out: Box<dyn Write + Send>,
    target: Target,
    /// For a file destination.
    stream: Option<Stream>,
}

/// A file destination's stream: a hidden temporary file until the run begins, then
/// `<dest>.partial`, so a killed run leaves its whole lines at a name a person can find.
struct Stream {
    /// Until `begin`; moved to `partial` then.
    hidden: Option<TempFile>,
    partial: PathBuf,
    file: File,
    calls: u64,
    placed: bool,
}

impl JsonlSink {
    /// Creates the stream now for a file (in its directory, so a bad path fails before any
    /// work); the destination itself is left as it is until `finish`.
    pub(crate) fn create(target: Target) -> anyhow::Result<JsonlSink> {
        let label = target.label();
        let context = || format!("cannot write the report to {label}");
        let (out, stream): (Box<dyn Write + Send>, _) = match &target {
            Target::Stdout => (Box::new(io::stdout()), None),
            Target::Device(path) => (Box::new(Target::open_device(path).with_context(context)?), None),
            Target::File { dest, .. } => {
                let (hidden, file) = TempFile::beside(dest).with_context(context)?;
                let writer = file.try_clone().with_context(context)?;
                let stream = Stream {
                    hidden: Some(hidden),
                    partial: pending::partial_path(dest),
                    file,
                    calls: 0,
                    placed: false,
                };
                (Box::new(BufWriter::new(writer)), Some(stream))
            }
        };
        Ok(JsonlSink { out, target, stream })
    }

    /// One line, flushed, so that a killed run leaves only whole lines behind.
    fn line(&mut self, value: &impl Serialize) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, value)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }

    fn header_line(&mut self, postcall: &RunHeader, metric_definitions: Option<&[Metric]>) -> anyhow::Result<()> {
        let line = HeaderLineRef {
            postcall,
            metric_definitions,
        };
        self.line(&line)
            .with_context(|| format!("cannot write the report to {}", self.target.label()))
    }

    /// The stream becomes `<dest>.partial` (replacing one an earlier run left).
    fn show_partial(&mut self) -> anyhow::Result<()> {
        if let Some(stream) = &mut self.stream
            && let Some(hidden) = stream.hidden.take()
        {
            hidden
                .persist(&stream.partial)
                .with_context(|| format!("cannot write the report to {}", stream.partial.display()))?;
        }
        Ok(())
    }

    /// Flushes and syncs the stream and moves it where `ending` says.
    fn end(mut self, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        let label = self.target.label();
        self.out
            .flush()
            .with_context(|| format!("cannot write the report to {label}"))?;
        let Target::File { dest, .. } = &self.target else {
            return Ok(None);
        };
        let stream = self.stream.as_mut().expect("a file destination has a stream");
        let to = ending.place(dest);
        let moved = (|| -> io::Result<()> {
            stream.file.sync_all()?;
            match stream.hidden.take() {
                Some(hidden) => hidden.persist(&to),
                None if to == stream.partial => Ok(()),
                None => std::fs::rename(&stream.partial, &to),
            }
        })();
        moved.with_context(|| format!("cannot write the report to {}", to.display()))?;
        stream.placed = true;
        Ok(Some(to))
    }
}

impl Drop for Stream {
    /// A stream given up before any call was written holds nothing worth keeping.
    fn drop(&mut self) {
        if !self.placed && self.hidden.is_none() && self.calls == 0 {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

impl Sink for JsonlSink {
    fn begin(&mut self, head: &ReportHead<'_>) -> anyhow::Result<()> {
        self.header_line(head.header, Some(head.metrics))?;
        self.show_partial()
    }

    fn call(&mut self, call: &CallResult) -> anyhow::Result<()> {
        self.line(call)
            .with_context(|| format!("cannot write call {} to {}", call.call_id, self.target.label()))?;
        if let Some(stream) = &mut self.stream {
            stream.calls += 1;
        }
        Ok(())
    }

    /// Calls that came without a header stay without one: the lines are calls only.
    fn begin_headerless(&mut self, _metrics: &[Metric], _has_summary: bool) -> anyhow::Result<()> {
        Ok(())
    }

    fn inputs_read(&mut self, head: &ReportHead<'_>) -> anyhow::Result<()> {
        self.header_line(head.header, Some(head.metrics))
    }

    fn close(mut self: Box<Self>, header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        if let Some(header) = header {
            self.header_line(header, None)?;
        }
        self.end(ending)
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::report::testing::{
        begun_sink, calls, dir_entries, every_format, header, metrics, open_at, sink_after_first_call, write_report,
        written_report,
    };
    use crate::report::{CsvOptions, OutputFormat, read_report};

    #[test]
    fn indented_writer_indents_after_each_newline() {
        let mut out = Vec::new();
        write_pretty(&mut out, b"  ", &serde_json::json!({"a": [1], "b": "x\ny"})).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "{\n    \"a\": [\n      1\n    ],\n    \"b\": \"x\\ny\"\n  }");
    }

    // The sinks as the run drives them, read back as `diff`, `eval` or a pipeline would.

    #[test]
    fn json_report_round_trips_through_read_report() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("report.json");
        write_report(&path, OutputFormat::Json, CsvOptions::default(), || {});
        let read = read_report(&path).unwrap();
        assert_eq!(read, written_report());
        assert_eq!(dir_entries(t.path()), ["report.json"], "temporary files are cleaned up");
    }

    #[test]
    fn json_report_keys_come_in_documented_order() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("report.json");
        write_report(&path, OutputFormat::Json, CsvOptions::default(), || {});
        let doc: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["postcall", "metrics", "calls"]);
        assert_eq!(doc["metrics"][0]["type"], "enum");
        assert_eq!(doc["calls"][0]["metrics"]["call_outcome"]["status"], "ok");
        assert_eq!(
            doc["calls"][1]["metrics"]["caller_authenticated"]["status"],
            "not_applicable"
        );
    }

    #[test]
    fn json_report_with_no_calls_is_valid() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("empty.json");
        let sink = begun_sink(&path, OutputFormat::Json, &CsvOptions::default(), &header(0), false);
        sink.finish(&header(0)).unwrap();
        let read = read_report(&path).unwrap();
        assert!(read.calls.is_empty());
        assert_eq!(read.metrics, metrics());
    }

    #[test]
    fn json_destination_appears_only_at_finish() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("new.json");
        write_report(&path, OutputFormat::Json, CsvOptions::default(), || {
            assert!(!path.exists())
        });
        assert!(path.exists());
    }

    #[test]
    fn json_existing_destination_is_untouched_until_finish() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("old.json");
        fs::write(&path, "previous report").unwrap();
        write_report(&path, OutputFormat::Json, CsvOptions::default(), || {
            assert_eq!(fs::read_to_string(&path).unwrap(), "previous report");
        });
        assert_eq!(read_report(&path).unwrap().calls.len(), 3);
    }

    #[test]
    fn jsonl_lines_are_written_and_flushed_per_call() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("calls.jsonl");
        let calls = calls();
        let mut sink = begun_sink(&path, OutputFormat::Jsonl, &CsvOptions::default(), &header(0), true);
        for (done, call) in calls.iter().enumerate() {
            sink.call(call).unwrap();
            // Until the run finishes, the lines are in the `.partial` file beside it.
            let text = fs::read_to_string(pending::partial_path(&path)).unwrap();
            assert!(text.ends_with('\n'));
            // Line 1 is the run header; the calls follow it.
            let lines: Vec<CallResult> = text.lines().skip(1).map(|l| serde_json::from_str(l).unwrap()).collect();
            assert_eq!(lines, calls[..=done], "after call {done}");
        }
        sink.finish(&header(3)).unwrap();
    }

    #[test]
    fn every_format_leaves_an_existing_report_untouched_until_finish() {
        for (name, format) in every_format("old") {
            let name = name.as_str();
            let t = tempfile::tempdir().unwrap();
            let path = t.path().join(name);
            fs::write(&path, "previous report").unwrap();
            write_report(&path, format, CsvOptions::default(), || {
                assert_eq!(fs::read_to_string(&path).unwrap(), "previous report", "{name}");
            });
            assert_ne!(fs::read(&path).unwrap(), b"previous report", "{name}");
            assert_eq!(dir_entries(t.path()), [name], "nothing left beside {name}");
        }
    }

    #[test]
    fn a_stopped_run_keeps_the_old_report_and_puts_what_finished_beside_it() {
        for (name, format) in every_format("r") {
            let name = name.as_str();
            let t = tempfile::tempdir().unwrap();
            let path = t.path().join(name);
            fs::write(&path, "previous report").unwrap();
            let sink = sink_after_first_call(&path, format);
            let partial = sink.stop(&header(1)).unwrap().expect("a file");
            assert_eq!(partial, pending::partial_path(&path));
            assert_eq!(fs::read_to_string(&path).unwrap(), "previous report", "{name}");
            if matches!(format, OutputFormat::Json | OutputFormat::Jsonl) {
                assert_eq!(read_report(&partial).unwrap().calls, calls()[..1], "{name}");
            }
            let partial_name = format!("{name}.partial");
            assert_eq!(dir_entries(t.path()), [name, partial_name.as_str()]);
        }
    }

    #[test]
    fn a_second_sink_on_the_same_destination_is_refused_and_touches_nothing() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("r.jsonl");
        let _first = open_at(&path, OutputFormat::Jsonl, &CsvOptions::default()).unwrap();
        let err = format!(
            "{:#}",
            open_at(&path, OutputFormat::Jsonl, &CsvOptions::default())
                .err()
                .unwrap()
        );
        assert!(err.contains("another postcall run (pid"), "{err}");
    }

    fn jsonl_lines(path: &Path) -> Vec<serde_json::Value> {
        let text = fs::read_to_string(path).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn jsonl_starts_and_ends_with_its_run_header() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("calls.jsonl");
        write_report(&path, OutputFormat::Jsonl, CsvOptions::default(), || {});
        let lines = jsonl_lines(&path);
        assert_eq!(lines.len(), 1 + 3 + 1);
        let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&lines[0]), ["postcall", "metric_definitions"]);
        assert_eq!(lines[0]["postcall"], serde_json::to_value(header(0)).unwrap());
        assert_eq!(lines[0]["metric_definitions"], serde_json::to_value(metrics()).unwrap());
        assert_eq!(keys(&lines[4]), ["postcall"]);
        assert_eq!(lines[4]["postcall"], serde_json::to_value(header(3)).unwrap());
        // Call lines are as they always were: a `call_id`, never a `postcall` key.
        for (line, call) in lines[1..4].iter().zip(calls()) {
            assert_eq!(*line, serde_json::to_value(call).unwrap());
            assert!(line.get("postcall").is_none());
        }
        let read = read_report(&path).unwrap();
        assert_eq!(read, written_report());
    }
}
