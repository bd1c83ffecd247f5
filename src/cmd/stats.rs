//! `postcall stats REPORT`: the distribution of every metric's answers, and with
//! `--by METRIC` every other metric split by one enum or boolean. Reads only the report.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::document::Format;
use crate::report::read_report;
use crate::stats::{render, stats};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report (.json or .jsonl).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// Split every other metric by the values of this enum or boolean metric.
    #[arg(long, value_name = "METRIC")]
    pub by: Option<String>,
    /// Output: aligned text with bars, markdown, or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let report = read_report(&args.report)?;
    let result = stats(&args.report.display().to_string(), &report, args.by.as_deref())?;
    let text = render::render(&result, args.format);
    super::print_rendered(&text, args.format)?;
    Ok(ExitCode::SUCCESS)
}
