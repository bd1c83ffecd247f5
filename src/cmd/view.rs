//! `postcall view REPORT [--compare BASE] -o review.html`: the report as one self-contained
//! HTML page to look at (overview, calls, one call, and with `--compare` what `diff` finds),
//! opened from disk in any browser, attached to a pull request as a CI artifact.
//!
//! Thin edge: read the report (and the base) as `diff` does, compare with
//! [`compare::diff`](crate::compare::diff), draw with [`report::html`](crate::report::html).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use crate::answer::MetricSet;
use crate::compare::diff::{DiffOptions, diff};
use crate::report::destination::{Destination, Place, check_destinations};
use crate::report::html::{Comparison, DataEncoding, PageOptions, TranscriptCap, render_page, write_file};
use crate::report::pending::Target;
use crate::report::{OutputFormat, Protected, read_report};
use crate::terminal::eprintln;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report (.json or .jsonl).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// Where to write the page (.html); `-` is stdout.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: PathBuf,
    /// A baseline report: the page also shows what `postcall diff BASE REPORT` reports.
    #[arg(long, value_name = "BASE")]
    pub compare: Option<PathBuf>,
    /// Split every chart by the values of this enum or boolean metric.
    #[arg(long, value_name = "METRIC")]
    pub by: Option<String>,
    /// Transcripts to embed, read again from each call's source: all, none, or up to a
    /// size (e.g. 20MB); past it the page says where each transcript is.
    #[arg(long, value_name = "all|none|SIZE", default_value = "20MB", value_parser = parse_cap)]
    pub transcripts: TranscriptCap,
    /// How the page holds its data: plain JSON, gzip'd (a fifth of the size; read by the
    /// browser itself), or auto: gzip past 8 MB of data.
    #[arg(long, value_enum, default_value_t)]
    pub data: DataEncoding,
}

fn parse_cap(text: &str) -> Result<TranscriptCap, String> {
    text.parse()
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let destination = checked_destination(&args)?;
    let report = read_report(&args.report)?;
    if let Some(by) = &args.by
        && !MetricSet::of_report(&report).kinds.contains_key(by)
    {
        bail!(
            "--by {by}: no metric `{by}` in {}; its metrics are: {}",
            args.report.display(),
            MetricSet::of_report(&report).id_list()
        );
    }
    let report_path = args.report.display().to_string();
    let base = args.compare.as_deref().map(read_report).transpose()?;
    let compared = base.as_ref().map(|base| {
        let options = DiffOptions {
            reasoning: true,
            ..DiffOptions::default()
        };
        let base_path = args.compare.as_deref().unwrap_or(Path::new("")).display().to_string();
        diff(&base_path, base, &report_path, &report, &options)
    });
    let options = PageOptions {
        encoding: args.data,
        by: args.by.clone(),
        transcripts: args.transcripts,
        source_bases: args
            .report
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .into_iter()
            .collect(),
    };
    let html = render_page(
        &report_path,
        &report,
        &options,
        compared.as_ref().map(|diff| Comparison { diff }),
    )?;
    write_page(&destination, &html, report.calls.len())?;
    Ok(ExitCode::SUCCESS)
}

/// Where the page goes, checked before anything is read: never over the report or the
/// base it shows.
fn checked_destination(args: &Args) -> anyhow::Result<Destination> {
    let mut protected: Vec<Protected> = Protected::new(&args.report, "the report being viewed")
        .into_iter()
        .collect();
    protected.extend(
        args.compare
            .as_deref()
            .and_then(|b| Protected::new(b, "the base report")),
    );
    Ok(check_destinations(
        std::slice::from_ref(&args.output),
        Some(OutputFormat::Html),
        None,
        &protected,
    )?
    .remove(0))
}

/// Writes the page of a report of `calls` calls to `destination` and, unless it went to
/// stdout, says where it is.
fn write_page(destination: &Destination, html: &str, calls: usize) -> anyhow::Result<()> {
    match &destination.place {
        Place::Stdout => {
            let mut out = std::io::stdout().lock();
            return out
                .write_all(html.as_bytes())
                .and_then(|_| out.flush())
                .context("cannot write to standard output");
        }
        Place::Device => std::fs::OpenOptions::new()
            .write(true)
            .open(&destination.path)
            .and_then(|mut device| device.write_all(html.as_bytes()))
            .with_context(|| format!("cannot write the review page to {}", destination.path.display()))?,
        // One PUT: the object is the old page or the new one, never half of it.
        Place::Object(url) => crate::storage::put(url, html.as_bytes().to_vec())
            .map_err(|e| anyhow::anyhow!("cannot write the review page to {e}"))?,
        Place::File => {
            // Held while writing, as `run` holds its outputs: two writers never interleave.
            let _lock = Target::lock_file(&destination.path)?;
            write_file(&destination.path, html)?;
        }
    }
    eprintln!(
        "wrote {} ({calls} calls, {:.1} MB); open it in a browser",
        destination.path.display(),
        html.len() as f64 / 1e6
    );
    Ok(())
}
