//! `postcall eval REPORT --labels FILE`: how often the report agrees with hand labels, per
//! metric, beyond chance too, and exit 3 when a metric falls below its minimum
//! (`expect.min_accuracy` / `expect.min_kappa` in the metric file, or `--min-accuracy` /
//! `--min-kappa`).
//!
//! Thin edge over [`compare::eval`](crate::compare::eval): read the report, the optional
//! metric file and the labels, then score and print.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;

use super::bootstrap_args::BootstrapArgs;
use super::metric_file::metrics_beside_report;
use crate::answer::MetricSet;
use crate::cli::exit;
use crate::compare::eval::{EvalOptions, eval};
use crate::compare::labels::parse_labels_file;
use crate::compare::render::{self, Detail};
use crate::compare::threshold::{PerMetric, Setting};
use crate::document::Format;
use crate::report::read_report;
use crate::terminal::eprintln;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report to score (.json or .jsonl).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The right answers: CSV or an .xlsx workbook (a `call_id` column, one column per
    /// metric; empty cell = no label; a corrected postcall report is one) or JSONL
    /// (`{"call_id": …, "<metric>": value}` per line).
    #[arg(long, value_name = "FILE")]
    pub labels: PathBuf,
    /// The metric file: its `expect.min_accuracy` thresholds are used, and a warning is
    /// printed when the report was made with different definitions. Needed for exact types
    /// when the report is a .jsonl from an older postcall (which carries no definitions).
    /// Repeat to compose files, as the run did.
    #[arg(short = 'm', long, value_name = "FILE")]
    pub metrics: Vec<PathBuf>,
    /// Absolute tolerance for integer/number metrics: `1` for all, `ID=1` for one (repeatable).
    #[arg(long, value_name = "[ID=]AMOUNT", value_parser = Setting::amount)]
    pub tolerance: Vec<Setting>,
    /// Exit 3 when a metric scores below this: `0.85` or `85%` for every metric without an
    /// `expect`, `ID=0.9` for one (wins over `expect`; repeatable).
    #[arg(long, value_name = "[ID=]SHARE", value_parser = Setting::share)]
    pub min_accuracy: Vec<Setting>,
    /// Exit 3 when a metric's κ is below this (quadratic-weighted κ for integers; enum,
    /// boolean and integer metrics): `0.6` for all, `ID=0.4` for one (wins over
    /// `expect.min_kappa`; repeatable). An undefined κ fails.
    #[arg(long, value_name = "[ID=]KAPPA", value_parser = Setting::coefficient)]
    pub min_kappa: Vec<Setting>,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    /// Output: aligned text, markdown for a pull-request comment, or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Wrong answers listed per metric in text and markdown (0: all; JSON lists all).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub examples: usize,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let tolerance = PerMetric::new(&args.tolerance);
    let min_accuracy = PerMetric::new(&args.min_accuracy);
    let min_kappa = PerMetric::new(&args.min_kappa);
    let report_path = args.report.display().to_string();
    let mut report = read_report(&args.report)?;

    // Thresholds come from the metric file when given (it is what the PR edits), else from
    // the definitions the report carries.
    let mut definitions = report.metrics.clone();
    if !args.metrics.is_empty() {
        definitions = metrics_beside_report(&report_path, &mut report, &args.metrics)?;
    }
    let metrics = MetricSet::of_report(&report);
    if !metrics.inferred.is_empty() {
        eprintln!(
            "warning: {report_path} carries no definitions for {}; their types are guessed from the values \
             (enums are compared as text). Pass --metrics FILE for exact types",
            metrics.inferred.join(", ")
        );
    }
    let ids = metrics.ids();
    tolerance.check_ids("--tolerance", &ids)?;
    min_accuracy.check_ids("--min-accuracy", &ids)?;
    min_kappa.check_ids("--min-kappa", &ids)?;
    check_kappa_metrics(&min_kappa, &metrics)?;

    let labels_path = args.labels.display().to_string();
    let bytes = std::fs::read(&args.labels).with_context(|| format!("cannot read the labels file {labels_path}"))?;
    let rows = match parse_labels_file(&labels_path, bytes, &metrics)? {
        Ok(rows) => rows,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "error: {} problem(s) in the labels file {labels_path}; fix them and run again",
                errors.errors.len()
            );
            return Ok(ExitCode::from(exit::ERROR));
        }
    };

    let options = EvalOptions {
        tolerance,
        min_accuracy,
        expect: definitions
            .iter()
            .filter_map(|m| Some((m.id.clone(), m.expect.as_ref()?.min_accuracy?)))
            .collect(),
        min_kappa,
        expect_kappa: definitions
            .iter()
            .filter_map(|m| Some((m.id.clone(), m.expect.as_ref()?.min_kappa?)))
            .collect(),
        bootstrap: args.bootstrap.resolve(),
    };
    let result = eval(&report_path, &report, &labels_path, &rows, &options);
    let text = render::eval::render(
        &result,
        args.format,
        Detail {
            examples: args.examples,
        },
    );
    super::print_verdict(&text, args.format, result.failures().next().is_some())
}

/// `--min-kappa ID=…` for a metric that has no κ would never be checked: say so.
fn check_kappa_metrics(min_kappa: &PerMetric, metrics: &MetricSet) -> anyhow::Result<()> {
    for id in min_kappa.by_metric.keys() {
        let kind = &metrics.kinds[id];
        if !crate::compare::agreement::has_kappa(kind) {
            anyhow::bail!(
                "--min-kappa {id}=…: `{id}` is a {} metric, and κ is computed for enum, boolean and integer \
                 metrics only; check it with --min-accuracy {id}=… instead",
                kind.name()
            );
        }
    }
    Ok(())
}
