//! `postcall convert REPORT -o OUT...`: re-export a report as JSON, JSONL, CSV or XLSX without
//! asking the model again (a spreadsheet from last night's JSONL, a JSON document for a
//! baseline).

use std::path::PathBuf;
use std::process::ExitCode;

use super::metric_file::metrics_beside_report;
use crate::answer::fill_inferred_definitions;
use crate::report::{OutputArgs, Protected, read_report, write_report};
use crate::terminal::eprintln;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report to convert (.json or .jsonl).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Metric definitions for a .jsonl report without them (written by an older postcall):
    /// column order and types. Repeat to compose files, as the run did.
    #[arg(short = 'm', long, value_name = "FILE")]
    pub metrics: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !args.output.outputs.is_empty(),
        "say where to write: -o out.csv (or .json, .jsonl, .xlsx; `-` for stdout)"
    );
    let report_path = args.report.display().to_string();
    // Checked before the report is read: an output naming the input is refused outright.
    let protected: Vec<Protected> = Protected::new(&args.report, "the report being converted")
        .into_iter()
        .chain(args.metrics.iter().filter_map(|m| Protected::new(m, "the metric file")))
        .collect();
    args.output.check(None, &protected)?;
    let mut report = read_report(&args.report)?;
    if !args.metrics.is_empty() {
        metrics_beside_report(&report_path, &mut report, &args.metrics)?;
    }
    let inferred = fill_inferred_definitions(&mut report);
    if !inferred.is_empty() {
        eprintln!(
            "warning: {report_path} carries no metric definitions; columns and types of {} were taken from the \
             calls. Pass --metrics FILE to carry the real definitions",
            inferred.join(", ")
        );
    }
    if report.header.is_none() {
        eprintln!(
            "note: {report_path} has no run header (a .jsonl from an older postcall): model, metric file, times and \
             usage are unknown, so none is written either (a .json gets \"postcall\": null, a .jsonl no header lines)"
        );
    }
    write_report(&report, args.output.open(None, &protected)?)?;
    Ok(ExitCode::SUCCESS)
}
