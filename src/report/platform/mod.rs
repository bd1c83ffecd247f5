//! `--output-format atoms|dialgen`: a report written as the documents a voice platform
//! delivers, one per call (the shapes are in [`shapes`]), for tools that already parse them.
//!
//! A destination named `.json` gets a JSON array of the documents; any other (`.jsonl`,
//! `.ndjson`, standard output) one document per line. The documents go to a temporary file
//! beside the destination and replace it only when the run finished (`<dest>.partial` when
//! it stopped early), like every other report; standard output and devices get them as
//! they come.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::json::Ending;
use super::pending::{Target, TempFile};
use super::{CallResult, ReportHead, RunHeader, Sink};
use crate::spec::Metric;

pub mod shapes;

pub use shapes::{PayloadContext, Shape, payload};

/// Writes one platform document per call.
pub struct PlatformSink {
    shape: Shape,
    target: Target,
    /// A JSON array (a `.json` destination) rather than one document per line.
    array: bool,
    temp: Option<(TempFile, File)>,
    out: Box<dyn Write + Send>,
    metrics: Vec<Metric>,
    metrics_sha256: Option<String>,
    written: u64,
}

impl PlatformSink {
    /// Creates the temporary file beside a file destination now, so a bad path fails
    /// before any work.
    pub(crate) fn create(target: Target, shape: Shape) -> anyhow::Result<PlatformSink> {
        let label = target.label();
        let context = || format!("cannot write the report to {label}");
        let (out, temp, array): (Box<dyn Write + Send>, _, _) = match &target {
            Target::Stdout => (Box::new(io::stdout()), None, false),
            Target::Device(path) => (
                Box::new(BufWriter::new(Target::open_device(path).with_context(context)?)),
                None,
                is_json(path),
            ),
            Target::File { dest, .. } => {
                let (temp, file) = TempFile::beside(dest).with_context(context)?;
                let writer = file.try_clone().with_context(context)?;
                (Box::new(BufWriter::new(writer)), Some((temp, file)), is_json(dest))
            }
        };
        Ok(PlatformSink {
            shape,
            target,
            array,
            temp,
            out,
            metrics: Vec::new(),
            metrics_sha256: None,
            written: 0,
        })
    }

    fn start(&mut self, metrics: &[Metric], sha: Option<&str>) -> anyhow::Result<()> {
        self.metrics = metrics.to_vec();
        self.metrics_sha256 = sha.map(str::to_string);
        if self.array {
            self.out
                .write_all(b"[")
                .with_context(|| format!("cannot write the report to {}", self.target.label()))?;
        }
        Ok(())
    }

    fn write_call(&mut self, call: &CallResult) -> io::Result<()> {
        let cx = PayloadContext {
            metrics: &self.metrics,
            metrics_sha256: self.metrics_sha256.as_deref(),
        };
        let document = payload(self.shape, call, cx);
        if self.array {
            self.out.write_all(if self.written == 0 { b"\n  " } else { b",\n  " })?;
            serde_json::to_writer(&mut self.out, &document)?;
        } else {
            serde_json::to_writer(&mut self.out, &document)?;
            self.out.write_all(b"\n")?;
            self.out.flush()?;
        }
        self.written += 1;
        Ok(())
    }

    /// Closes the array, flushes, and moves a file destination where `ending` says.
    fn end(mut self, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        let label = self.target.label();
        let context = || format!("cannot write the report to {label}");
        if self.array {
            let close: &[u8] = if self.written == 0 { b"]\n" } else { b"\n]\n" };
            self.out.write_all(close).with_context(context)?;
        }
        self.out.flush().with_context(context)?;
        self.target.persist(self.temp.take(), ending)
    }
}

/// Whether a destination is named like a JSON document (`.json`, any case).
fn is_json(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

impl Sink for PlatformSink {
    fn begin(&mut self, head: &ReportHead<'_>) -> anyhow::Result<()> {
        self.start(head.metrics, Some(&head.header.metrics_sha256))
    }

    fn call(&mut self, call: &CallResult) -> anyhow::Result<()> {
        self.write_call(call)
            .with_context(|| format!("cannot write call {} to {}", call.call_id, self.target.label()))
    }

    fn begin_headerless(&mut self, metrics: &[Metric], _has_summary: bool) -> anyhow::Result<()> {
        self.start(metrics, None)
    }

    fn close(self: Box<Self>, _header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        (*self).end(ending)
    }
}
