//! `postcall merge PARTS… -o all.json`: the reports of a sharded run (`run --shard I/N`)
//! joined into the one report a single process would have written (see [`crate::merge`]).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::merge::{Part, merge};
use crate::report::{OutputArgs, Protected, read_report, write_report};
use crate::terminal::eprintln;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The shards' reports (.json or .jsonl), in any order.
    #[arg(value_name = "PART", required = true)]
    pub parts: Vec<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    /// Write what there is when shards are missing or stopped early; the report is marked
    /// incomplete and names the missing shards.
    #[arg(long)]
    pub allow_partial: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        !args.output.outputs.is_empty(),
        "say where to write the merged report: -o all.json (or .jsonl, .csv, .xlsx; `-` for stdout)"
    );
    let protected: Vec<Protected> = args
        .parts
        .iter()
        .filter_map(|p| Protected::new(p, "a report being merged"))
        .collect();
    args.output.check(None, &protected)?;
    let mut parts = Vec::with_capacity(args.parts.len());
    for path in &args.parts {
        parts.push(Part {
            name: path.display().to_string(),
            report: read_report(path)?,
        });
    }
    let merged = merge(parts, args.allow_partial)
        .map_err(|problems| anyhow::anyhow!("cannot merge these reports:\n{problems}"))?;
    for note in &merged.notes {
        eprintln!("note: {note}");
    }
    write_report(&merged.report, args.output.open(None, &protected)?)?;
    let header = merged.report.header.as_ref().expect("a merge has a header");
    eprintln!(
        "merged {} report(s): {} calls{}",
        args.parts.len(),
        header.calls,
        if header.complete {
            String::new()
        } else {
            format!(", {} not done (incomplete)", header.calls_not_done)
        }
    );
    Ok(ExitCode::SUCCESS)
}
