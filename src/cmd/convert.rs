//! `postcall convert REPORT -o OUT...`: re-export a report as JSON, JSONL or CSV without
//! asking the model again (a spreadsheet from last night's JSONL, a JSON document for a
//! baseline).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::compare::load::write_report;
use crate::compare::load::{fill_inferred_definitions, load_metric_file, mismatch_warnings};
use crate::report::{CsvOptions, OutputFormat, read_report};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report to convert (.json or .jsonl).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// Where to write; repeat for several. Format from the extension (.json, .jsonl, .csv)
    /// or --format; `-` is stdout.
    #[arg(short = 'o', long = "output", value_name = "PATH", required = true)]
    pub outputs: Vec<PathBuf>,
    /// Report format, for outputs whose extension doesn't say.
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
    /// Start CSV files with a UTF-8 byte-order mark (Excel needs it to read UTF-8).
    #[arg(long)]
    pub csv_bom: bool,
    /// Add `<id>__status`, `<id>__confidence`, `<id>__reasoning` CSV columns.
    #[arg(long)]
    pub csv_detail: bool,
    /// Metric definitions for a .jsonl report (which has none): column order and types.
    #[arg(short = 'm', long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let report_path = args.report.display().to_string();
    let mut report = read_report(&args.report)?;
    if let Some(path) = &args.metrics {
        let file = load_metric_file(path)?;
        for warning in mismatch_warnings(&report_path, &report, &path.display().to_string(), &file) {
            eprintln!("warning: {warning}");
        }
        if report.metrics.is_empty() {
            report.metrics = file.metrics;
            report.postcall.metrics_sha256 = file.sha256;
        }
    }
    let inferred = fill_inferred_definitions(&mut report);
    if !inferred.is_empty() {
        eprintln!(
            "warning: {report_path} carries no metric definitions; columns and types of {} were taken from the \
             calls. Pass --metrics FILE to carry the real definitions",
            inferred.join(", ")
        );
    }
    let csv = CsvOptions {
        bom: args.csv_bom,
        detail: args.csv_detail,
    };
    write_report(&report, &args.outputs, args.format, csv)?;
    Ok(ExitCode::SUCCESS)
}
