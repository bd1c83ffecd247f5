//! `postcall batch submit|status|collect`: score an archive through a provider's batch API
//! at half price (see [`crate::batch`]). `submit` takes `run`'s arguments, so the requests
//! are `run`'s; `run` with the same arguments afterwards writes the report from the cache.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::batch::api::{BatchApi, is_final};
use crate::batch::collect::{collect, refresh};
use crate::batch::input::DEFAULT_MAX_REQUESTS;
use crate::batch::ledger::{Chunk, Collected, Ledger, Step};
use crate::batch::submit::{Limits, Submitted, advance, submit};
use crate::cache::{Cache, DEFAULT_DIR};
use crate::cli::{UsageError, exit};
use crate::llm::{ApiKey, Provider};
use crate::net::SecretUrl;
use crate::plan::{self, RunFlags};
use crate::terminal::print_text;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

// Parsed once per process, as `cli::Command`: boxing `submit`'s many flags would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, clap::Subcommand)]
pub enum Action {
    /// Send what `run` with these arguments would ask, as batches (24-hour, half price).
    Submit(SubmitArgs),
    /// Show each batch's progress.
    Status(LedgerArgs),
    /// Download finished batches and put their valid answers in the cache for `run`.
    Collect(LedgerArgs),
}

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
    #[command(flatten)]
    pub run: RunFlags,
    /// The most requests in one batch input file (OpenAI: 50,000).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_REQUESTS, help_heading = "Batch")]
    pub max_requests_per_file: usize,
    /// The largest batch input file, e.g. 200MB (OpenAI: 200 MB).
    #[arg(long, value_name = "SIZE", default_value = "200MB", help_heading = "Batch")]
    pub max_file_bytes: bytesize::ByteSize,
}

#[derive(Debug, clap::Args)]
pub struct LedgerArgs {
    /// The cache the batches fill; the ledger is beside it [default: .postcall/cache]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The batch API's base URL, when the one recorded at submit had credentials in it
    /// (the ledger keeps it redacted).
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// The variable holding the API key, instead of the one named at submit.
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.action {
        Action::Submit(args) => run_submit(args),
        Action::Status(args) => run_status(args),
        Action::Collect(args) => run_collect(args),
    }
}

fn run_submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    if args.run.dry_run {
        return Err(UsageError(
            "batch submit has no --dry-run: `postcall run --dry-run` with the same arguments prints what would be \
             sent and its batch price"
                .into(),
        )
        .into());
    }
    let plan = plan::resolve_batch(&args.run)?;
    let config = &plan.endpoint.config;
    if matches!(config.provider, Provider::Azure { .. }) {
        anyhow::bail!(
            "batch mode speaks OpenAI's batch API at a base URL such as https://api.openai.com/v1; Azure's \
             deployment URLs are not supported yet: use `postcall run` (with --service-tier flex where it applies)"
        );
    }
    let ledger = Ledger::open(&plan::batch_dir(&plan.cache_dir))?;
    let api = BatchApi::new(config.base_url.clone(), config.api_key.clone())?;
    let limits = Limits {
        max_requests: args.max_requests_per_file,
        max_bytes: args.max_file_bytes.as_u64(),
    };
    let submitted = submit(&plan, &ledger, &api, limits, !args.run.quiet)?;
    print_text(&describe_submitted(&submitted))?;
    Ok(ExitCode::from(exit::OK))
}

fn describe_submitted(s: &Submitted) -> String {
    let mut out = String::new();
    for chunk in &s.resumed {
        let _ = writeln!(out, "resumed  {}", chunk_line(chunk));
    }
    for chunk in &s.created {
        let _ = writeln!(out, "created  {}", chunk_line(chunk));
    }
    let sent: usize = s.created.iter().map(|c| c.units.len()).sum();
    let _ = writeln!(
        out,
        "submitted {sent} request(s) in {} new batch(es); {} answered in the cache already, {} in batches not yet \
         collected, {} the same as another (sent once), {} call(s) that cannot be asked",
        s.created.len(),
        s.cached,
        s.in_flight,
        s.duplicates,
        s.not_asked
    );
    let _ = writeln!(
        out,
        "next: `postcall batch status` shows progress; `postcall batch collect` fetches the answers once a batch is \
         done; then `postcall run` with the same arguments writes the report"
    );
    out
}

fn chunk_line(chunk: &Chunk) -> String {
    format!(
        "{} ({} request(s), {} bytes, model {}, {})",
        chunk.batch_id.as_deref().unwrap_or("-"),
        chunk.units.len(),
        chunk.bytes,
        chunk.model,
        chunk.status.as_deref().unwrap_or("not created")
    )
}

/// The ledger and cache `args` name.
fn open(args: &LedgerArgs) -> anyhow::Result<(Ledger, PathBuf)> {
    let cache_dir = args.cache_dir.clone().unwrap_or_else(|| DEFAULT_DIR.into());
    let dir = plan::batch_dir(&cache_dir);
    anyhow::ensure!(
        dir.is_dir(),
        "no batch ledger in {}: `postcall batch submit` makes one (with --cache-dir DIR, pass the same here)",
        dir.display()
    );
    Ok((Ledger::open(&dir)?, cache_dir))
}

/// The batch API a chunk was submitted to, with its key read from the environment now.
fn api_for(chunk: &Chunk, args: &LedgerArgs) -> anyhow::Result<BatchApi> {
    let url = match &args.base_url {
        Some(url) => url.clone(),
        None if chunk.base_url.contains(crate::net::url::REDACTED) => {
            return Err(UsageError(format!(
                "the batch {} was submitted to {}, whose credentials the ledger does not keep: pass --base-url URL",
                chunk.batch_id.as_deref().unwrap_or(&chunk.id),
                chunk.base_url
            ))
            .into());
        }
        None => chunk.base_url.clone(),
    };
    let base = SecretUrl::parse(&url).map_err(|e| UsageError(format!("--base-url: {e}")))?;
    let var = args.api_key_env.as_deref().unwrap_or(&chunk.api_key_env);
    let key = std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(|v| ApiKey::parse(v).map_err(|why| anyhow::anyhow!("the key in {var}: {why}")))
        .transpose()?;
    BatchApi::new(base, key)
}

fn run_status(args: LedgerArgs) -> anyhow::Result<ExitCode> {
    let (ledger, _) = open(&args)?;
    let mut out = format!(
        "{:<24} {:<12} {:>9} {:>7} {:>7}  model\n",
        "batch", "status", "completed", "failed", "total"
    );
    let (mut running, mut ready, mut collected) = (0, 0, 0);
    for mut chunk in ledger.chunks()? {
        match chunk.step() {
            Step::Created => {
                refresh(&ledger, &api_for(&chunk, &args)?, &mut chunk)?;
                if chunk.status.as_deref().is_some_and(is_final) {
                    ready += 1;
                } else {
                    running += 1;
                }
            }
            Step::Collected => collected += 1,
            Step::Planned | Step::Uploaded => running += 1,
        }
        out.push_str(&status_line(&chunk));
    }
    let _ = writeln!(
        out,
        "{running} running, {ready} ready to collect (`postcall batch collect`), {collected} collected"
    );
    print_text(&out)?;
    Ok(ExitCode::from(exit::OK))
}

fn status_line(chunk: &Chunk) -> String {
    let counts = chunk.request_counts.unwrap_or_default();
    let status = match (chunk.step(), chunk.status.as_deref()) {
        (Step::Planned | Step::Uploaded, _) => "not created (re-run `postcall batch submit`)".to_string(),
        (Step::Collected, Some(status)) => format!("{status}, collected"),
        (_, status) => status.unwrap_or("unknown").to_string(),
    };
    format!(
        "{:<24} {:<12} {:>9} {:>7} {:>7}  {}\n",
        chunk.batch_id.as_deref().unwrap_or(&chunk.id),
        status,
        counts.completed,
        counts.failed,
        counts.total.max(chunk.units.len() as u64),
        chunk.model
    )
}

fn run_collect(args: LedgerArgs) -> anyhow::Result<ExitCode> {
    let (ledger, cache_dir) = open(&args)?;
    let cache = Cache::open(&cache_dir)?;
    let mut out = String::new();
    let mut total = Collected::default();
    let (mut batches, mut waiting) = (0, 0);
    for mut chunk in ledger.chunks()? {
        if matches!(chunk.step(), Step::Planned | Step::Uploaded) {
            // A submit killed before its batch was made: finish it, then it runs like any.
            chunk = advance(&ledger, &api_for(&chunk, &args)?, chunk, true)?;
        }
        if chunk.step() != Step::Created {
            continue;
        }
        let api = api_for(&chunk, &args)?;
        let batch = refresh(&ledger, &api, &mut chunk)?;
        let name = chunk.batch_id.clone().unwrap_or_default();
        if !batch.is_final() {
            waiting += 1;
            let counts = chunk.request_counts.unwrap_or_default();
            let _ = writeln!(
                out,
                "{name}  {} ({} of {} done): not finished, collect again later",
                batch.status, counts.completed, counts.total
            );
            continue;
        }
        let got = collect(&ledger, &api, &cache, &mut chunk)?;
        batches += 1;
        total.cached += got.cached;
        total.invalid += got.invalid;
        total.failed += got.failed;
        total.missing += got.missing;
        let why = batch.error_text().map(|e| format!(" ({e})")).unwrap_or_default();
        let _ = writeln!(
            out,
            "{name}  {}{why}: {} answer(s) cached, {} invalid, {} failed, {} missing",
            batch.status, got.cached, got.invalid, got.failed, got.missing
        );
    }
    let _ = writeln!(
        out,
        "collected {batches} batch(es): {} answer(s) into the cache; {} invalid, {} failed and {} missing are asked \
         live by `postcall run` (or sent again by `postcall batch submit`); {waiting} batch(es) still running",
        total.cached, total.invalid, total.failed, total.missing
    );
    print_text(&out)?;
    Ok(ExitCode::from(exit::OK))
}
