//! `postcall filter REPORT --where COND...`: the calls whose answers match, printed as a
//! table (id, source, values) and optionally written as a smaller report with `-o`.
//! The offline way to "sample conversations by metric value".

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, bail};

use crate::answer::MetricSet;
use crate::answer::fill_inferred_definitions;
use crate::filter::{Condition, calls_table, match_count, matches_all, parse_condition};
use crate::report::{CallResult, OutputArgs, Protected, Report, RunHeader, read_report, write_report};
use crate::terminal::eprintln;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The report (.json or .jsonl).
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// A condition, repeatable (all must hold): METRIC=VALUE, with != < <= > >= or ~
    /// (contains); METRIC:status=invalid picks by status (ok, null, not_applicable,
    /// invalid, missing).
    #[arg(long = "where", value_name = "COND", required = true)]
    pub conditions: Vec<String>,
    /// Metric columns to show, comma-separated (default: every metric).
    #[arg(long, value_name = "ID,...", value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Show at most N calls (the first N in report order).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Also write the matching calls as a report with `-o`.
    #[command(flatten)]
    pub output: OutputArgs,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let protected: Vec<Protected> = Protected::new(&args.report, "the report being filtered")
        .into_iter()
        .collect();
    args.output.check(None, &protected)?;
    let report = read_report(&args.report)?;
    let metrics = MetricSet::of_report(&report);
    let conditions = args
        .conditions
        .iter()
        .map(|c| parse_condition(c, &metrics))
        .collect::<anyhow::Result<Vec<Condition>>>()?;
    for column in &args.columns {
        if !metrics.kinds.contains_key(column) {
            bail!(
                "--columns {column}: no metric `{column}` in the report; its metrics are: {}",
                metrics.id_list()
            );
        }
    }
    let columns: Vec<String> = if args.columns.is_empty() {
        metrics.kinds.keys().cloned().collect()
    } else {
        args.columns.clone()
    };
    let mut matching: Vec<&CallResult> = report
        .calls
        .iter()
        .filter(|call| matches_all(call, &conditions))
        .collect();
    let matched = matching.len();
    matching.truncate(args.limit.unwrap_or(usize::MAX));
    if !args.output.outputs.is_empty() {
        let calls: Vec<CallResult> = matching.iter().map(|c| (*c).clone()).collect();
        let header = report.header.clone().map(|header| RunHeader {
            calls: calls.len(),
            failed_calls: calls.iter().filter(|c| c.failed()).count(),
            skipped_calls: calls.iter().filter(|c| c.skipped.is_some()).count(),
            ..header
        });
        if header.is_none() {
            eprintln!(
                "note: {} has no run header (a .jsonl from an older postcall); the subset has none either",
                args.report.display()
            );
        }
        let mut subset = Report {
            header,
            metrics: report.metrics.clone(),
            calls,
        };
        fill_inferred_definitions(&mut subset);
        write_report(&subset, args.output.open(None, &protected)?)?;
    }
    crate::terminal::print_text(&calls_table(&matching, &columns)).context("cannot write to standard output")?;
    eprintln!("{}", match_count(matched, report.calls.len(), matching.len()));
    Ok(ExitCode::SUCCESS)
}
