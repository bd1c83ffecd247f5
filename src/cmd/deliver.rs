//! `postcall deliver REPORT --webhook URL`: (re)sends a finished report's calls to webhooks,
//! each exactly as a run would have, skipping what the ledger says was acknowledged.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::cache::DEFAULT_DIR;
use crate::cli::exit;
use crate::deliver::{Deliverer, WebhookArgs};
use crate::report::read_report;
use crate::terminal::eprintln;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A `.json` or `.jsonl` report written by `postcall run`.
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    #[command(flatten)]
    pub webhooks: WebhookArgs,
    /// The cache directory of the runs; the ledger is beside it [default: .postcall/cache].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let cache_dir = args.cache_dir.as_deref().unwrap_or(Path::new(DEFAULT_DIR));
    let plan = args
        .webhooks
        .plan(crate::plan::webhook_dir(cache_dir))?
        .context("nothing to deliver to: pass --webhook URL (repeatable)")?;
    let report = read_report(&args.report)?;
    let header = report.header.as_ref().with_context(|| {
        format!(
            "{} has no run header, so the metric file's revision the idempotency keys need is \
             unknown; deliver a report written by this postcall's `run`",
            args.report.display()
        )
    })?;
    let mut deliverer = Deliverer::start(plan, &report.metrics, &header.metrics_sha256)?;
    for call in &report.calls {
        deliverer.send(call);
    }
    let outcome = deliverer.finish()?;
    eprintln!("{}", outcome.line());
    Ok(ExitCode::from(if outcome.failed > 0 {
        exit::DELIVERY_FAILED
    } else {
        exit::OK
    }))
}
