//! Choosing and opening a report destination, and reading a report back.
//!
//! These are the edges the `run`, `diff`, `eval` and `convert` commands call; the writers
//! themselves live in `json.rs`, `csv.rs` and `xlsx/`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use super::csv::{CsvOptions, CsvSink};
use super::destination::{Destination, Place, Protected, check_destinations};
use super::html::HtmlSink;
use super::json::{HeaderLine, JsonSink, JsonlSink};
use super::pending::Target;
use super::platform::{PlatformSink, Shape};
use super::upload::UploadSink;
use super::xlsx::XlsxSink;
use super::{CallResult, MetricResult, OutputFormat, REPORT_FORMAT_VERSION, Report, RunHeader, Sink, Usage};
use crate::storage::{self, ObjectUrl};

/// The format for `path`: `explicit` (`--output-format`) when given, else by extension
/// (`.json`, `.jsonl` / `.ndjson`, `.csv`, `.xlsx`, any case). `-` (stdout) has no extension
/// and needs `--output-format`.
pub fn format_for_path(path: &Path, explicit: Option<OutputFormat>) -> anyhow::Result<OutputFormat> {
    if let Some(format) = explicit {
        return Ok(format);
    }
    if is_stdout(path) {
        bail!("writing a report to standard output (`-`) needs `--output-format json|jsonl|csv|xlsx`");
    }
    let extension = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
    if let Some(shape) = platform_by_name(path) {
        return Ok(shape);
    }
    match extension.as_deref() {
        Some("json") => Ok(OutputFormat::Json),
        Some("jsonl" | "ndjson") => Ok(OutputFormat::Jsonl),
        Some("csv") => Ok(OutputFormat::Csv),
        Some("xlsx") => Ok(OutputFormat::Xlsx),
        Some("html" | "htm") => Ok(OutputFormat::Html),
        _ => bail!(
            "cannot tell the report format of {} from its extension (expected .json, .jsonl, \
             .ndjson, .csv, .xlsx or .html, or .atoms.jsonl / .dialgen.jsonl); pass `--output-format json|jsonl|csv|xlsx|html`",
            path.display()
        ),
    }
}

/// Opens a checked destination: locks a file (so a second run on it refuses at once) and
/// creates its temporary file beside it (so a directory that cannot be written fails before
/// the run starts), opens a device, or takes standard output. Nothing that exists at the
/// destination is touched until the sink finishes.
pub fn open_sink(destination: &Destination, options: &CsvOptions) -> anyhow::Result<Box<dyn Sink>> {
    let target = match &destination.place {
        Place::Stdout => Target::Stdout,
        Place::Device => Target::Device(destination.path.clone()),
        Place::File => Target::lock_file(&destination.path)?,
        Place::Object(url) => return Ok(Box::new(UploadSink::create(destination, url, options)?)),
    };
    Ok(match destination.format {
        OutputFormat::Json => Box::new(JsonSink::create(target)?),
        OutputFormat::Jsonl => Box::new(JsonlSink::create(target)?),
        OutputFormat::Csv => Box::new(CsvSink::create(target, *options)?),
        OutputFormat::Xlsx => Box::new(XlsxSink::create(target)?),
        OutputFormat::Atoms => Box::new(PlatformSink::create(target, Shape::Atoms)?),
        OutputFormat::Dialgen => Box::new(PlatformSink::create(target, Shape::Dialgen)?),
        OutputFormat::Html => Box::new(HtmlSink::create(target)?),
    })
}

/// A platform shape named in the file name: `r.atoms.jsonl`, `r.dialgen.json`.
fn platform_by_name(path: &Path) -> Option<OutputFormat> {
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    let stem = name
        .strip_suffix(".json")
        .or_else(|| name.strip_suffix(".jsonl"))
        .or_else(|| name.strip_suffix(".ndjson"))?;
    if stem.ends_with(".atoms") {
        Some(OutputFormat::Atoms)
    } else if stem.ends_with(".dialgen") {
        Some(OutputFormat::Dialgen)
    } else {
        None
    }
}

fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Reads a `.json` report, or a `.jsonl` one.
///
/// In a `.jsonl` file, lines with a `postcall` key are header lines (see
/// [`json`](super::json)); the last one is the header. When that is not the final one (it
/// carries `metric_definitions`: the run was killed before it wrote its last line), the
/// header says `complete: false` and its counts and usage are summed from the calls read.
/// A `.jsonl` without any header line (written before postcall wrote one) has
/// `header: None` and no definitions. A last line cut short by a killed run (no final
/// newline, not JSON) is skipped; any other bad line is an error naming its line number.
///
/// Files with another extension are recognised by content: a `.jsonl` line is a whole
/// JSON object on the first line; a report document starts with its `"postcall"` header.
/// A CSV report is refused with what to do instead: it has no metric definitions and no
/// run header, so it is read back only as hand labels (`eval --labels`).
pub fn read_report(path: &Path) -> anyhow::Result<Report> {
    if let Some(url) = ObjectUrl::from_path(path).map_err(|e| anyhow::anyhow!("cannot read the report {e}"))? {
        return read_object_report(&url);
    }
    read_local_report(path)
}

/// A report in object storage, copied to a private temporary file and read from there;
/// messages name the object, not the copy.
fn read_object_report(url: &ObjectUrl) -> anyhow::Result<Report> {
    let dir = tempfile::Builder::new()
        .prefix("postcall-download.")
        .tempdir()
        .with_context(|| format!("cannot copy the report {url} to the temporary directory"))?;
    let local = dir.path().join(match url.file_name() {
        "" => "report",
        name => name,
    });
    storage::download(url, &local).map_err(|e| anyhow::anyhow!("cannot read the report {e}"))?;
    read_local_report(&local).map_err(|e| {
        let text = format!("{e:#}").replace(&local.display().to_string(), &url.redacted());
        anyhow::anyhow!(text)
    })
}

fn read_local_report(path: &Path) -> anyhow::Result<Report> {
    let extension = path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase());
    if matches!(extension.as_deref(), Some("csv" | "tsv")) || starts_like_csv_report(path)? {
        bail!(
            "{} is a CSV report; reports are read back from .json or .jsonl (write one with \
             `postcall run … -o report.json`, next to the CSV). A CSV report can be used as \
             hand labels: `postcall eval REPORT.json --labels {}`",
            path.display(),
            path.display()
        );
    }
    let is_document = match extension.as_deref() {
        Some("xlsx") => bail!(
            "{} is a workbook; this command reads .json and .jsonl reports (write one beside the workbook, \
             e.g. `-o report.jsonl`). A workbook corrected by hand is read as labels: `postcall eval REPORT \
             --labels {}`",
            path.display(),
            path.display()
        ),
        Some("json") => true,
        Some("jsonl" | "ndjson") => false,
        _ => starts_like_document(path)?,
    };
    let mut report = if is_document {
        read_document(path)?
    } else {
        read_lines(path)?
    };
    // A report from before base URLs were redacted may hold a password: never show or
    // re-write it (`convert`, `filter -o`).
    if let Some(header) = &mut report.header {
        header.base_url = crate::net::url::redact_url_text(&header.base_url);
    }
    Ok(report)
}

fn open(path: &Path) -> anyhow::Result<BufReader<File>> {
    let file = File::open(path).with_context(|| format!("cannot read the report {}", path.display()))?;
    Ok(BufReader::new(file))
}

/// Whether the file starts the way postcall's CSV reports do (`call_id,source,`), whatever
/// its name.
fn starts_like_csv_report(path: &Path) -> anyhow::Result<bool> {
    let mut start = Vec::with_capacity(32);
    open(path)?
        .take(32)
        .read_to_end(&mut start)
        .with_context(|| format!("cannot read the report {}", path.display()))?;
    let text = String::from_utf8_lossy(&start);
    Ok(text.trim_start_matches('\u{feff}').starts_with("call_id,source,"))
}

fn starts_like_document(path: &Path) -> anyhow::Result<bool> {
    let mut first = Vec::new();
    open(path)?
        .take(1 << 20)
        .read_until(b'\n', &mut first)
        .with_context(|| format!("cannot read the report {}", path.display()))?;
    let text = String::from_utf8_lossy(&first);
    let text = text.trim_start_matches('\u{feff}').trim();
    if let Ok(object) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text) {
        // A whole object on one line is a `.jsonl` line, unless it is a whole report.
        return Ok(object.contains_key("calls") && object.contains_key("postcall"));
    }
    let mut start = Vec::with_capacity(64);
    open(path)?
        .take(64)
        .read_to_end(&mut start)
        .with_context(|| format!("cannot read the report {}", path.display()))?;
    let text = String::from_utf8_lossy(&start);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    Ok(text
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with("\"postcall\"")))
}

fn read_document(path: &Path) -> anyhow::Result<Report> {
    let report: Report = serde_json::from_reader(open(path)?).with_context(|| {
        format!(
            "{} is not a postcall .json report (is it a .jsonl file?)",
            path.display()
        )
    })?;
    if let Some(header) = &report.header {
        check_format(path, header)?;
    }
    Ok(report)
}

fn check_format(path: &Path, header: &RunHeader) -> anyhow::Result<()> {
    if header.report_format > REPORT_FORMAT_VERSION {
        bail!(
            "{} uses report format {}, newer than this postcall reads ({REPORT_FORMAT_VERSION}); \
             upgrade postcall",
            path.display(),
            header.report_format
        );
    }
    Ok(())
}

fn read_lines(path: &Path) -> anyhow::Result<Report> {
    let mut reader = open(path)?;
    let mut report = Report {
        header: None,
        metrics: Vec::new(),
        calls: Vec::new(),
    };
    let mut line = String::new();
    let mut number = 0usize;
    let mut started_only = false;
    loop {
        line.clear();
        let read = reader
            .read_line(&mut line)
            .with_context(|| format!("cannot read the report {} at line {}", path.display(), number + 1))?;
        if read == 0 {
            break;
        }
        number += 1;
        if line.trim().is_empty() {
            continue;
        }
        // Calls first: all lines but two are calls.
        let call_error = match serde_json::from_str::<CallResult>(&line) {
            Ok(call) => {
                report.calls.push(call);
                continue;
            }
            Err(err) => err,
        };
        match serde_json::from_str::<HeaderLine>(&line) {
            Ok(head) => {
                check_format(path, &head.postcall)?;
                // Only the final header line comes without the definitions.
                started_only = head.metric_definitions.is_some();
                if let Some(definitions) = head.metric_definitions {
                    report.metrics = definitions;
                }
                report.header = Some(head.postcall);
            }
            Err(_) if !line.ends_with('\n') => break,
            Err(_) => {
                return Err(call_error).with_context(|| {
                    format!(
                        "{}:{number}: not a postcall call result or header line (one JSON object per line)",
                        path.display()
                    )
                });
            }
        }
    }
    if let Some(header) = &mut report.header
        && started_only
    {
        count_what_was_written(header, &report.calls);
    }
    Ok(report)
}

/// The header of a run killed before its last line: the start header (or the one written
/// when the inputs were read), with the counts of the calls it got to write. The cost was never computed, so it stays unknown.
fn count_what_was_written(header: &mut RunHeader, calls: &[CallResult]) {
    let mut usage = Usage::default();
    for call in calls {
        usage.add(&call.usage);
    }
    header.complete = false;
    // The start header's `calls_not_done` is every call the run was going to score.
    header.calls_not_done = header.calls_not_done.saturating_sub(calls.len());
    header.calls = calls.len();
    header.failed_calls = calls.iter().filter(|c| c.failed()).count();
    header.skipped_calls = calls.iter().filter(|c| c.skipped.is_some()).count();
    header.invalid_values = calls
        .iter()
        .flat_map(|c| c.metrics.values())
        .filter(|r| matches!(r, MetricResult::Invalid { .. }))
        .count();
    header.usage = usage;
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;
    use crate::report::testing::{
        begun_sink, calls, dir_entries, every_format, header, metrics, open_at, sink_after_first_call, write_report,
    };

    #[test]
    fn a_password_in_an_old_report_header_is_never_read_back() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("old.json");
        let report = Report {
            header: Some(RunHeader {
                base_url: "https://alice:hunter2@proxy.example/v1".into(),
                ..header(3)
            }),
            metrics: metrics(),
            calls: calls(),
        };
        fs::write(&path, serde_json::to_vec(&report).unwrap()).unwrap();
        let read = read_report(&path).unwrap();
        assert_eq!(read.header.unwrap().base_url, "https://[REDACTED]@proxy.example/v1");
    }

    #[test]
    fn format_by_extension_any_case() {
        let f = |p: &str| format_for_path(Path::new(p), None).unwrap();
        assert_eq!(f("out/r.json"), OutputFormat::Json);
        assert_eq!(f("r.JSONL"), OutputFormat::Jsonl);
        assert_eq!(f("r.ndjson"), OutputFormat::Jsonl);
        assert_eq!(f("r.Csv"), OutputFormat::Csv);
        assert_eq!(f("out/r.XLSX"), OutputFormat::Xlsx);
        assert_eq!(f("out/r.atoms.jsonl"), OutputFormat::Atoms);
        assert_eq!(f("r.Dialgen.json"), OutputFormat::Dialgen);
        assert_eq!(f("atoms.json"), OutputFormat::Json);
    }

    #[test]
    fn explicit_format_wins() {
        let got = format_for_path(Path::new("r.txt"), Some(OutputFormat::Csv)).unwrap();
        assert_eq!(got, OutputFormat::Csv);
        let got = format_for_path(Path::new("-"), Some(OutputFormat::Jsonl)).unwrap();
        assert_eq!(got, OutputFormat::Jsonl);
    }

    #[test]
    fn unknown_extension_asks_for_output_format() {
        for path in ["r.txt", "report", "-", "r.xls"] {
            let err = format_for_path(Path::new(path), None).unwrap_err().to_string();
            assert!(err.contains("--output-format json|jsonl|csv|xlsx"), "{err}");
        }
        let err = format_for_path(Path::new("r.xls"), None).unwrap_err().to_string();
        assert!(err.contains("r.xls from its extension"), "{err}");
    }

    // Opening sinks for every format, and reading reports back the way `diff`, `eval`,
    // `stats` and `convert` do.

    #[test]
    fn format_comes_from_extension_or_flag() {
        assert_eq!(
            format_for_path(Path::new("out/r.ndjson"), None).unwrap(),
            OutputFormat::Jsonl
        );
        let err = format_for_path(Path::new("out/r.tsv"), None).unwrap_err().to_string();
        assert!(err.contains("pass `--output-format json|jsonl|csv|xlsx|html`"), "{err}");
        assert_eq!(
            format_for_path(Path::new("-"), Some(OutputFormat::Csv)).unwrap(),
            OutputFormat::Csv
        );
    }

    #[test]
    fn bad_output_path_fails_at_open_naming_it() {
        let t = tempfile::tempdir().unwrap();
        for (name, format) in every_format("missing/r") {
            let path = t.path().join(name);
            let err = format!(
                "{:#}",
                open_at(&path, format, &CsvOptions::default()).err().expect("an error")
            );
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains("does not exist"), "{err}");
        }
    }

    #[test]
    fn abandoned_sink_leaves_no_files_behind() {
        let t = tempfile::tempdir().unwrap();
        for (name, format) in [
            ("r.json", OutputFormat::Json),
            ("r.csv", OutputFormat::Csv),
            ("r.xlsx", OutputFormat::Xlsx),
        ] {
            let path = t.path().join(name);
            drop(sink_after_first_call(&path, format));
            assert!(!path.exists(), "{name}");
        }
        assert!(dir_entries(t.path()).is_empty(), "{:?}", dir_entries(t.path()));
    }

    #[test]
    fn jsonl_killed_before_its_last_line_reads_as_incomplete() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("killed.jsonl");
        let metrics = metrics();
        // A run of 5 calls, killed after writing 3: the start header, three calls, and half of
        // a final header line that never got its newline.
        let start = RunHeader {
            complete: false,
            finished_at: None,
            calls_not_done: 5,
            failed_calls: 0,
            invalid_values: 0,
            usage: Usage::default(),
            ..header(0)
        };
        let mut sink = begun_sink(&path, OutputFormat::Jsonl, &CsvOptions::default(), &start, true);
        for call in &calls() {
            sink.call(call).unwrap();
        }
        drop(sink);
        // A killed run's lines are in the `.partial` file beside the destination.
        assert!(!path.exists());
        let mut text = fs::read_to_string(crate::report::pending::partial_path(&path)).unwrap();
        let last = serde_json::to_string(&serde_json::json!({"postcall": header(5)})).unwrap();
        text.push_str(&last[..last.len() / 2]);
        fs::write(&path, text).unwrap();

        let read = read_report(&path).unwrap();
        assert_eq!(read.calls, calls());
        assert_eq!(read.metrics, metrics);
        let h = read.header.expect("the start header");
        assert!(!h.complete);
        assert_eq!(h.finished_at, None);
        assert_eq!((h.calls, h.calls_not_done), (3, 2));
        assert_eq!((h.failed_calls, h.invalid_values), (2, 1));
        assert_eq!((h.usage.requests, h.usage.cached), (4, 1));
        assert_eq!(h.cost_usd, None);
        assert_eq!(h.model, "test-model");
        assert_eq!(h.metrics_sha256, "ab".repeat(32));
    }

    #[test]
    fn jsonl_from_an_older_postcall_reads_without_a_header() {
        let t = tempfile::tempdir().unwrap();
        let lines: Vec<String> = calls().iter().map(|c| serde_json::to_string(c).unwrap()).collect();
        let path = t.path().join("old.jsonl");
        fs::write(&path, lines.join("\n") + "\n").unwrap();
        let read = read_report(&path).unwrap();
        assert_eq!(read.header, None);
        assert!(read.metrics.is_empty());
        assert_eq!(read.calls, calls());
    }

    #[test]
    fn jsonl_cut_short_by_a_kill_reads_the_whole_lines() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("killed.jsonl");
        write_report(&path, OutputFormat::Jsonl, CsvOptions::default(), || {});
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str("{\"call_id\": \"call-004\", \"sou");
        fs::write(&path, text).unwrap();
        assert_eq!(read_report(&path).unwrap().calls.len(), 3);
    }

    #[test]
    fn jsonl_bad_line_is_named() {
        let t = tempfile::tempdir().unwrap();
        let good = serde_json::to_string(&calls()[0]).unwrap();
        let path = t.path().join("bad.jsonl");
        fs::write(&path, format!("{good}\n\nnot json\n{good}\n")).unwrap();
        let err = format!("{:#}", read_report(&path).unwrap_err());
        assert!(err.contains("bad.jsonl:3"), "{err}");
    }

    #[test]
    fn read_report_errors_name_the_file() {
        let t = tempfile::tempdir().unwrap();
        let err = format!("{:#}", read_report(&t.path().join("absent.json")).unwrap_err());
        assert!(err.contains("absent.json"), "{err}");
        let path = t.path().join("broken.json");
        fs::write(&path, "{\"postcall\": 1}").unwrap();
        let err = format!("{:#}", read_report(&path).unwrap_err());
        assert!(
            err.contains("broken.json") && err.contains("not a postcall .json report"),
            "{err}"
        );
    }

    #[test]
    fn read_report_recognises_content_when_extension_is_unknown() {
        let t = tempfile::tempdir().unwrap();
        let json = t.path().join("report.json");
        write_report(&json, OutputFormat::Json, CsvOptions::default(), || {});
        let renamed = t.path().join("baseline.report");
        fs::rename(&json, &renamed).unwrap();
        assert_eq!(read_report(&renamed).unwrap().header, Some(header(3)));

        let jsonl = t.path().join("calls.jsonl");
        write_report(&jsonl, OutputFormat::Jsonl, CsvOptions::default(), || {});
        let renamed = t.path().join("calls.log");
        fs::rename(&jsonl, &renamed).unwrap();
        assert_eq!(read_report(&renamed).unwrap().calls, calls());
    }
}

/// The output flags of every command that writes reports (`run`, `convert`, `filter`), so
/// `-o`, `--output-format`, `--csv-bom` and `--csv-detail` behave the same everywhere.
///
/// The naming scheme: `--output-format` is the file format of what `-o/--output` writes
/// (json, jsonl, csv, xlsx); `--format` is how a command renders its own printout (`diff`,
/// `eval`, `stats`: text, markdown, json). `--format` is still accepted here, hidden, for a
/// release.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct OutputArgs {
    /// Where to write a report; repeat for several. Format from the extension (.json,
    /// .jsonl, .csv, .xlsx, .html) or --output-format; `-` is stdout.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub outputs: Vec<PathBuf>,
    /// Report format, for outputs whose extension doesn't say.
    #[arg(long, alias = "format", value_enum, value_name = "FORMAT")]
    pub output_format: Option<OutputFormat>,
    /// Start CSV files with a UTF-8 byte-order mark (Excel needs it to read UTF-8).
    #[arg(long)]
    pub csv_bom: bool,
    /// Add `<id>__status`, `<id>__confidence`, `<id>__reasoning`, `<id>__evidence`, `<id>__consistency` CSV columns.
    #[arg(long)]
    pub csv_detail: bool,
}

impl OutputArgs {
    /// Checks every output (see [`check_destinations`]) without touching any: `fallback` is
    /// the format of standard output when no `-o` was given (`None`: no output then).
    pub fn check(&self, fallback: Option<OutputFormat>, protected: &[Protected]) -> anyhow::Result<Vec<Destination>> {
        check_destinations(&self.outputs, self.output_format, fallback, protected)
    }

    /// Checks every output, then opens them all, before anything is written: a bad path
    /// fails before work is done, and before any other output is touched.
    pub fn open(&self, fallback: Option<OutputFormat>, protected: &[Protected]) -> anyhow::Result<Vec<Box<dyn Sink>>> {
        let csv = CsvOptions {
            bom: self.csv_bom,
            detail: self.csv_detail,
        };
        self.check(fallback, protected)?
            .iter()
            .map(|destination| open_sink(destination, &csv))
            .collect()
    }
}
