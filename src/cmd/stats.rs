//! `postcall stats REPORT`: the distribution of every metric's answers, and with
//! `--by METRIC` every other metric split by one enum or boolean. Reads only the report.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::document::Format;
use crate::report::read_report;
use crate::stats::consistency::DEFAULT_FLAKY_BELOW;
use crate::stats::{render, stats};

/// A share between 0 and 1.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{text}` is not a share between 0 and 1 (e.g. 0.8)")),
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report (.json or .jsonl).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// Split every other metric by the values of this enum or boolean metric.
    #[arg(long, value_name = "METRIC")]
    pub by: Option<String>,
    /// A metric whose samples agreed less than this on average (mean consistency, 0..1) is
    /// flagged flaky; for reports of `run --samples K`.
    #[arg(long, value_name = "SHARE", default_value_t = DEFAULT_FLAKY_BELOW, value_parser = share)]
    pub flaky_below: f64,
    /// Output: aligned text with bars, markdown, or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let report = read_report(&args.report)?;
    let result = stats(
        &args.report.display().to_string(),
        &report,
        args.by.as_deref(),
        args.flaky_below,
    )?;
    let text = render::render(&result, args.format);
    super::print_rendered(&text, args.format)?;
    Ok(ExitCode::SUCCESS)
}
