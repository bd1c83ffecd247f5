//! Reports written to object storage (`-o s3://bucket/report.json`): any writer, staged in a
//! private local directory, uploaded as one object when the run finishes.
//!
//! An object store has no rename, so the file writers' "temporary file beside, renamed at
//! the end" (`pending.rs`) becomes "staged here, uploaded at the end": the writer finishes
//! into the staging directory as it would beside a local destination, then the whole file
//! goes up as a multipart upload completed last (`storage::upload`). Until that completes
//! the bucket holds what it held: an interrupted or failed run leaves no object and never
//! a half-replaced one. A run that stops early writes no `.partial` object: its answers are
//! in the cache, and the same command finishes the report.

use std::path::PathBuf;

use anyhow::Context as _;

use super::csv::CsvOptions;
use super::destination::{Destination, Place};
use super::{Ending, ReportHead, RunHeader, Sink};
use crate::spec::Metric;
use crate::storage::{self, ObjectUrl};

/// A writer whose finished file is uploaded to `url`.
pub struct UploadSink {
    inner: Box<dyn Sink>,
    staged: PathBuf,
    url: ObjectUrl,
    /// Removed (with whatever is staged in it) when the sink is dropped.
    _dir: tempfile::TempDir,
}

impl UploadSink {
    /// Stages the writer for `destination` (whose place is `url`) in a new local directory.
    pub(crate) fn create(
        destination: &Destination,
        url: &ObjectUrl,
        options: &CsvOptions,
    ) -> anyhow::Result<UploadSink> {
        let dir = tempfile::Builder::new()
            .prefix("postcall-upload.")
            .tempdir()
            .with_context(|| format!("cannot stage the report for {url} in the temporary directory"))?;
        let name = match url.file_name() {
            "" => "report",
            name => name,
        };
        let staged = dir.path().join(name);
        let local = Destination {
            path: staged.clone(),
            format: destination.format,
            place: Place::File,
        };
        let inner = super::open::open_sink(&local, options)?;
        Ok(UploadSink {
            inner,
            staged,
            url: url.clone(),
            _dir: dir,
        })
    }
}

/// Uploads the finished file; the staging directory goes when the caller drops it.
fn upload(url: &ObjectUrl, staged: &std::path::Path) -> anyhow::Result<()> {
    storage::upload(url, staged).map_err(|e| anyhow::anyhow!("cannot write the report to {e}"))
}

impl Sink for UploadSink {
    fn begin(&mut self, head: &ReportHead<'_>) -> anyhow::Result<()> {
        self.inner.begin(head).map_err(|e| self.renamed(e))
    }

    fn call(&mut self, call: &super::CallResult) -> anyhow::Result<()> {
        self.inner.call(call).map_err(|e| self.renamed(e))
    }

    /// Uploads the finished file. A run that stops early does not get here
    /// ([`Sink::withheld`] keeps it from asking for a `.partial`); a caller that stops
    /// anyway gets nothing uploaded either.
    fn close(self: Box<Self>, header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        if ending == Ending::Partial {
            return Ok(None);
        }
        let UploadSink {
            inner,
            staged,
            url,
            _dir,
        } = *self;
        inner
            .close(header, Ending::Complete)
            .map_err(|e| rename(&url, &staged, e))?;
        upload(&url, &staged)?;
        Ok(None)
    }

    fn withheld(&self) -> Option<String> {
        Some(self.url.redacted())
    }

    fn begin_headerless(&mut self, metrics: &[Metric], has_summary: bool) -> anyhow::Result<()> {
        self.inner
            .begin_headerless(metrics, has_summary)
            .map_err(|e| self.renamed(e))
    }
}

impl UploadSink {
    fn renamed(&self, e: anyhow::Error) -> anyhow::Error {
        rename(&self.url, &self.staged, e)
    }
}

/// The writer's error, naming the object instead of the staging file nobody asked for.
fn rename(url: &ObjectUrl, staged: &std::path::Path, e: anyhow::Error) -> anyhow::Error {
    let text = format!("{e:#}").replace(&staged.display().to_string(), &url.redacted());
    anyhow::anyhow!(text)
}
