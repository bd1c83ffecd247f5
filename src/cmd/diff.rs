//! `postcall diff BASE NEW`: what changed between two reports, metric by metric, how far
//! the two agree beyond chance (test–retest reliability for two runs of one model), and
//! exit 3 when a metric changed on more calls than `--max-changed` allows.
//!
//! Thin edge over [`compare::diff`](crate::compare::diff): read both reports, compare,
//! print in the chosen format.

use std::path::PathBuf;
use std::process::ExitCode;

use super::bootstrap_args::BootstrapArgs;
use crate::answer::MetricSet;
use crate::compare::diff::{DiffOptions, diff};
use crate::compare::render::{self, Detail};
use crate::compare::threshold::{PerMetric, Setting};
use crate::document::Format;
use crate::report::read_report;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The baseline report (.json or .jsonl).
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// The new report to compare with it.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// Exit 3 when a metric changed on more than this share of calls: `5%` or `0.05` for
    /// every metric, `ID=2%` for one (repeatable; the per-metric value wins).
    #[arg(long, value_name = "[ID=]SHARE", value_parser = Setting::share)]
    pub max_changed: Vec<Setting>,
    /// Output: aligned text, markdown for a pull-request comment, or JSON.
    #[arg(long, value_enum, default_value_t)]
    pub format: Format,
    /// Show both reasonings of each changed call.
    #[arg(long)]
    pub reasoning: bool,
    /// Changed calls listed per metric in text and markdown (0: all; JSON lists all).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub examples: usize,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let max_changed = PerMetric::new(&args.max_changed);
    let base = read_report(&args.base)?;
    let new = read_report(&args.new)?;
    let mut known = MetricSet::of_report(&base)
        .ids()
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>();
    known.extend(MetricSet::of_report(&new).ids().iter().map(|s| s.to_string()));
    max_changed.check_ids("--max-changed", &known.iter().map(String::as_str).collect::<Vec<_>>())?;

    let options = DiffOptions {
        max_changed,
        reasoning: args.reasoning,
        bootstrap: args.bootstrap.resolve(),
    };
    let base_path = args.base.display().to_string();
    let new_path = args.new.display().to_string();
    let result = diff(&base_path, &base, &new_path, &new, &options);
    let text = render::diff::render(
        &result,
        args.format,
        Detail {
            examples: args.examples,
        },
    );
    super::print_verdict(&text, args.format, result.failures().next().is_some())
}
