//! `.html` reports: the self-contained review page (`postcall view`, `run -o review.html`).
//!
//! A page is drawn from the whole report (its overview counts every call), so the sink
//! keeps the calls as they arrive in a temporary file beside the destination, one JSON
//! line each, and renders the page at `finish`; a run that stopped early gets its page at
//! `<dest>.partial`, the destination left as it was (see `pending`). The page itself is
//! built in [`page`]: [`columns`] is the calls' compact form, [`trends`] the per-day
//! counts, [`transcripts`] what is said in each call, read again from its source.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context as _;

use super::json::Ending;
use super::pending::{Target, TempFile, parent_dir};
use super::{CallResult, Report, RunHeader, Sink};
use crate::spec::Metric;

mod columns;
mod page;
mod transcripts;
mod trends;

pub use self::page::{Comparison, DataEncoding, PageOptions, render_page};
pub use self::transcripts::TranscriptCap;

pub struct HtmlSink {
    target: Target,
    calls: BufWriter<File>,
    calls_file: TempFile,
    metrics: Vec<Metric>,
}

impl HtmlSink {
    /// Creates the calls buffer now, so an unwritable directory fails before any work.
    pub(crate) fn create(target: Target) -> anyhow::Result<HtmlSink> {
        let (calls_file, file) = target
            .temp("postcall-review")
            .with_context(|| format!("cannot write the review page to {}", target.label()))?;
        Ok(HtmlSink {
            target,
            calls: BufWriter::new(file),
            calls_file,
            metrics: Vec::new(),
        })
    }

    fn read_calls(&mut self) -> io::Result<Vec<CallResult>> {
        self.calls.flush()?;
        let mut calls = Vec::new();
        for line in BufReader::new(File::open(self.calls_file.path())?).lines() {
            calls.push(serde_json::from_str(&line?)?);
        }
        Ok(calls)
    }

    fn write_out(mut self, header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        let label = self.target.label();
        let calls = self
            .read_calls()
            .with_context(|| format!("cannot write the review page to {label}"))?;
        let report = Report {
            header: header.cloned(),
            metrics: std::mem::take(&mut self.metrics),
            calls,
        };
        let name = match &self.target {
            Target::File { dest, .. } => dest.display().to_string(),
            _ => "report".to_string(),
        };
        let options = PageOptions::default();
        let html = render_page(&name, &report, &options, None)?;
        match &self.target {
            Target::Stdout => {
                let mut out = io::stdout().lock();
                out.write_all(html.as_bytes())
                    .and_then(|_| out.flush())
                    .with_context(|| format!("cannot write the review page to {label}"))?;
                Ok(None)
            }
            Target::Device(path) => {
                Target::open_device(path)
                    .and_then(|mut f| f.write_all(html.as_bytes()))
                    .with_context(|| format!("cannot write the review page to {label}"))?;
                Ok(None)
            }
            Target::File { dest, .. } => {
                let to = ending.place(dest);
                write_file(&to, &html)?;
                Ok(Some(to))
            }
        }
    }
}

/// Writes `html` beside `dest` and renames it over `dest`, so a page is never half there.
pub fn write_file(dest: &Path, html: &str) -> anyhow::Result<()> {
    let written = (|| -> io::Result<()> {
        let (temp, file) = TempFile::create_in(parent_dir(dest), &file_stem(dest))?;
        let mut out = BufWriter::new(file);
        out.write_all(html.as_bytes())?;
        out.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()?;
        temp.persist(dest)
    })();
    written.with_context(|| format!("cannot write the review page to {}", dest.display()))
}

fn file_stem(dest: &Path) -> String {
    dest.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Sink for HtmlSink {
    fn begin_headerless(&mut self, metrics: &[Metric], _has_summary: bool) -> anyhow::Result<()> {
        self.metrics = metrics.to_vec();
        Ok(())
    }

    fn call(&mut self, call: &CallResult) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.calls, call)
            .map_err(io::Error::from)
            .and_then(|_| self.calls.write_all(b"\n"))
            .with_context(|| format!("cannot write call {} to {}", call.call_id, self.target.label()))
    }

    fn close(self: Box<Self>, header: Option<&RunHeader>, ending: Ending) -> anyhow::Result<Option<PathBuf>> {
        (*self).write_out(header, ending)
    }
}
