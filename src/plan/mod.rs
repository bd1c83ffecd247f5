//! resolve: RunPlan — the second of `run`'s two configuration stages (STYLE.md, habit 2).
//!
//! [`resolve`] turns the flags into a plan in which everything that can be checked has
//! been, cheapest first: the metric file parsed (and hashed from the same bytes), the
//! endpoint resolved through one precedence chain, the cache opened, the outputs checked,
//! locked and created (beside their destinations: nothing existing is touched), then the
//! calls found and selected and the requests planned (each group with its schema).
//! Nothing expensive happens here: a managed local server starts only when the plan is
//! executed, so a bad path, key or cache directory costs milliseconds, not a server start.
//!
//! A dry run needs less than a run, so it is another type: a [`DryRunPlan`] may describe
//! an endpoint it could not resolve; a [`RunPlan`] always has one, with outputs and cache.

use std::path::Path;
use std::time::Instant;

use crate::cache::{Cache, DEFAULT_DIR};
use crate::cli::UsageError;
use crate::evaluate::feed::{Feed, Say};
use crate::evaluate::{GroupPlan, Halt, Limit, Settings, plan_groups, transcript_budget};
use crate::llm::EndpointConfig;
use crate::llm::pace::PaceSettings;
use crate::prompt::PromptOptions;
use crate::report::{ConfidenceSource, OutputFormat, Protected, Sink};
use crate::select::Rules;
use crate::shard::Shard;
use crate::spec::{self, Spec};
use crate::terminal::eprintln;
use crate::transcript::{Catalog, READ_EXTENSIONS};

pub mod endpoint;
pub mod flags;

pub use endpoint::Endpoint;
pub use flags::RunFlags;

/// A run's work before its inputs are read: a run reads them while it asks (see
/// `evaluate::feed`), so what depends on them — which calls, the archive, input errors —
/// is known only as the scan goes.
pub struct RunWork {
    /// The metric file, with `--strategy` applied.
    pub spec: Spec,
    /// sha256 of the metric file's bytes, the ones that were parsed.
    pub metrics_sha256: String,
    /// The requests every call needs, each with its model and schema.
    pub groups: Vec<GroupPlan>,
    pub settings: Settings,
    pub inputs: Vec<std::path::PathBuf>,
    /// `--limit`, `--sample`, `--shard`.
    pub rules: Rules,
}

impl RunWork {
    /// Starts reading the inputs, taking the calls the rules select, until they are read or
    /// `halt` stops it; `say` prints what is skipped (`notes` too: the documents that are
    /// not calls).
    pub fn read_inputs(&self, halt: std::sync::Arc<Halt>, say: Say, notes: bool) -> Feed {
        Feed::start(
            self.inputs.clone(),
            self.settings.load_options.clone(),
            self.rules,
            halt,
            say,
            notes,
        )
    }
}

/// A real run: everything checked, outputs and cache open, the endpoint resolved.
pub struct RunPlan {
    pub work: RunWork,
    pub endpoint: Endpoint,
    /// Created already (`.json` and `.csv` as temp files beside their destination).
    pub outputs: Vec<Box<dyn Sink>>,
    pub cache: Option<Cache>,
    /// Where a managed local server writes its log.
    pub log_dir: std::path::PathBuf,
    pub max_retries: u32,
    /// `--rpm` / `--tpm`, for all shards together (the run paces to its share).
    pub pace: PaceSettings,
    pub strict: bool,
    pub quiet: bool,
    pub started: Instant,
    pub started_at: jiff::Timestamp,
    /// `--webhook`: checked URLs and secret, started by the execution.
    pub webhooks: Option<crate::deliver::Plan>,
}

/// `--dry-run`: what a run would send, with or without an endpoint.
pub struct DryRunPlan {
    /// Read as a run reads it, each call once, while the estimate is made.
    pub work: RunWork,
    pub endpoint: DryEndpoint,
    /// The cache a run would read, when it exists (a dry run creates nothing); `None`
    /// with `--no-cache` or `--refresh`, under which a run asks everything.
    pub cache: Option<Cache>,
    pub quiet: bool,
}

/// The endpoint a dry run describes.
pub enum DryEndpoint {
    Resolved(Endpoint),
    /// None could be resolved (`why`); the requests are estimated with the same settings
    /// and placeholders for what is missing.
    Preview {
        config: EndpointConfig,
        why: String,
    },
}

impl DryEndpoint {
    pub fn config(&self) -> &EndpointConfig {
        match self {
            DryEndpoint::Resolved(endpoint) => &endpoint.config,
            DryEndpoint::Preview { config, .. } => config,
        }
    }
}

pub enum Plan {
    // Boxed: both plans are large (kilobytes of settings) and the enum is only passed on once.
    DryRun(Box<DryRunPlan>),
    Run(Box<RunPlan>),
}

/// Checks everything that can be checked before any request, cheapest first.
pub fn resolve(flags: &RunFlags) -> anyhow::Result<Plan> {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    let (spec, metrics_sha256, metric_files) = load_spec(flags)?;
    let protected = protected_inputs(flags, &metric_files);
    let cache_dir = flags.cache.cache_dir.as_deref().unwrap_or(Path::new(DEFAULT_DIR));
    let webhooks = flags.webhooks.plan(webhook_dir(cache_dir))?;
    if flags.dry_run {
        // Nothing is written, but a run with these outputs would fail: say so now.
        flags.output.check(Some(OutputFormat::Jsonl), &protected)?;
        let endpoint = match endpoint::resolve(&flags.endpoint, flags.local_model.as_deref(), &spec) {
            Ok(mut endpoint) => {
                confidence(flags, &mut endpoint.config)?;
                DryEndpoint::Resolved(endpoint)
            }
            Err(why) => {
                let mut config = endpoint::preview(&flags.endpoint, &spec);
                confidence(flags, &mut config)?;
                DryEndpoint::Preview {
                    config,
                    why: format!("{why:#}"),
                }
            }
        };
        let work = run_work(flags, spec, metrics_sha256, &metric_files, endpoint.config())?;
        let reads_cache = !flags.cache.no_cache && !flags.cache.refresh;
        let cache = reads_cache.then(|| Cache::existing(cache_dir)).flatten();
        return Ok(Plan::DryRun(Box::new(DryRunPlan {
            work,
            endpoint,
            cache,
            quiet: flags.quiet,
        })));
    }
    let mut endpoint = endpoint::resolve(&flags.endpoint, flags.local_model.as_deref(), &spec)?;
    confidence(flags, &mut endpoint.config)?;
    let cache = (!flags.cache.no_cache).then(|| Cache::open(cache_dir)).transpose()?;
    // Every output checked, then locked and opened, before the inputs are read: a bad or
    // busy output fails at once, and no existing report is touched until this run has a
    // finished one to put in its place.
    let outputs = flags.output.open(Some(OutputFormat::Jsonl), &protected)?;
    let work = run_work(flags, spec, metrics_sha256, &metric_files, &endpoint.config)?;
    Ok(Plan::Run(Box::new(RunPlan {
        work,
        pace: flags.pace.settings(),
        endpoint,
        outputs,
        cache,
        log_dir: state_dir(cache_dir).join("logs"),
        max_retries: flags.max_retries,
        strict: flags.strict,
        quiet: flags.quiet,
        started,
        started_at,
        webhooks,
    })))
}

/// The error of a run that found no call to ask (an empty shard is not one: it writes its
/// empty report, so `merge` sees every shard).
pub fn no_calls(inputs: &[std::path::PathBuf], scanned: &Catalog, errors: usize) -> anyhow::Error {
    anyhow::anyhow!(
        "no calls to evaluate in {}: {errors} input error(s), {} document(s) that are not calls and {} file(s) of other kinds skipped (`postcall inspect` shows what was found)",
        inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        scanned.skipped.len(),
        scanned.skipped_non_json
    )
}

/// `postcall batch submit`: the requests a run with the same flags would send, to be sent
/// through a provider's batch API instead. No outputs (the report is written by `run`
/// afterwards, from the cache the batch fills), so no webhooks either.
pub struct BatchPlan {
    /// Read while the requests are written, as a run reads them.
    pub work: RunWork,
    pub endpoint: Endpoint,
    /// Opened (created): where `run` will look for the answers, so they must be keyed here.
    pub cache: Cache,
    pub cache_dir: std::path::PathBuf,
}

/// The plan of a run with `flags`, for batch mode: the same metric file, calls, request
/// groups and endpoint, so every request is built, and keyed, as `run` builds it.
pub fn resolve_batch(flags: &RunFlags) -> anyhow::Result<BatchPlan> {
    if flags.samples > 1 {
        return Err(UsageError(
            "batch mode sends one sample per question: drop --samples, or score with `postcall run --samples`".into(),
        )
        .into());
    }
    let (spec, metrics_sha256, metric_files) = load_spec(flags)?;
    let cache_dir = flags.cache.cache_dir.clone().unwrap_or_else(|| DEFAULT_DIR.into());
    if flags.cache.no_cache {
        return Err(UsageError(
            "batch mode keeps its answers in the cache, where `run` finds them: drop --no-cache".into(),
        )
        .into());
    }
    let endpoint = endpoint::resolve(&flags.endpoint, flags.local_model.as_deref(), &spec)?;
    if endpoint.local.is_some() {
        return Err(UsageError(
            "batch mode needs an endpoint with a batch API (OpenAI's /v1/files and /v1/batches, or a compatible \
             server), not the managed local model: pass --base-url URL and --model NAME"
                .into(),
        )
        .into());
    }
    // The batch's requests are the run's, `logprobs: true` included, so `run` finds them.
    let mut endpoint = endpoint;
    confidence(flags, &mut endpoint.config)?;
    let cache = Cache::open(&cache_dir)?;
    let work = run_work(flags, spec, metrics_sha256, &metric_files, &endpoint.config)?;
    Ok(BatchPlan {
        work,
        endpoint,
        cache,
        cache_dir,
    })
}

/// `--confidence`, checked against the flags and the endpoint: `consistency` needs samples
/// to agree; `logprobs` asks every request for them, and reads them off the message text,
/// which a forced tool call's arguments are not.
fn confidence(flags: &RunFlags, config: &mut EndpointConfig) -> anyhow::Result<()> {
    match flags.confidence {
        ConfidenceSource::Stated => {}
        ConfidenceSource::Consistency if flags.samples < 2 => {
            return Err(UsageError(format!(
                "--confidence consistency is the share of samples that agreed with each value, and --samples is {}: \
                 add --samples 3 (or more), or keep the model's own number with --confidence self",
                flags.samples
            ))
            .into());
        }
        ConfidenceSource::Consistency => {}
        ConfidenceSource::Logprobs if config.structured_output == spec::StructuredOutput::Tools => {
            return Err(UsageError(
                "--confidence logprobs reads the probabilities of the answer's tokens in the message text, and a \
                 tool call's arguments have none: use --structured-output json_schema (or json_object), or \
                 --confidence self"
                    .into(),
            )
            .into());
        }
        ConfidenceSource::Logprobs => config.params.logprobs = true,
    }
    Ok(())
}

/// Where batch mode keeps its ledger and input/output files: beside the cache
/// (`.postcall/batches` for the default `.postcall/cache`).
pub fn batch_dir(cache_dir: &Path) -> std::path::PathBuf {
    cache_dir.parent().unwrap_or(Path::new(".")).join("batches")
}

/// Where the webhook ledger and dead-letter file live: beside the cache
/// (`.postcall/webhooks` for the default `.postcall/cache`).
pub fn webhook_dir(cache_dir: &Path) -> std::path::PathBuf {
    state_dir(cache_dir).join("webhooks")
}

/// The local directory beside the cache for the run's other state (logs, the webhook
/// ledger): the cache's parent, or `.postcall` when the cache is in a bucket, since a
/// ledger and a server log are this machine's.
fn state_dir(cache_dir: &Path) -> &Path {
    let local = if crate::storage::is_url(cache_dir) {
        Path::new(DEFAULT_DIR)
    } else {
        cache_dir
    };
    local.parent().unwrap_or(Path::new("."))
}

/// A shard's part of the rate budget, in proportion to its calls (shards of uneven size
/// then hold the budget together and finish together), said unless `quiet`.
pub fn pace_share(pace: PaceSettings, shard: Shard, mine: usize, archive: usize, quiet: bool) -> PaceSettings {
    let share = pace.share(mine, archive);
    if !quiet {
        let said = |rate: Option<f64>, whole: Option<f64>, unit: &str| {
            rate.zip(whole).map(|(r, w)| format!("{r:.0} of {w:.0} {unit}/min"))
        };
        let rates: Vec<String> = [
            said(share.rpm, pace.rpm, "requests"),
            said(share.tpm, pace.tpm, "tokens"),
        ]
        .into_iter()
        .flatten()
        .collect();
        eprintln!(
            "note: shard {shard} paces to {} (its {mine} of the {archive} calls)",
            rates.join(" and "),
        );
    }
    share
}

/// What no report may be written over or into: every metric file read (included ones too)
/// and every input.
fn protected_inputs(flags: &RunFlags, metric_files: &[spec::SpecFile]) -> Vec<Protected> {
    let inputs = flags.paths.iter().filter_map(|p| Protected::new(p, "an input"));
    metric_files
        .iter()
        .filter_map(|f| Protected::new(&f.path, "the metric file"))
        .chain(inputs)
        .collect()
}

/// The metric files composed, their warnings printed, `--strategy` and `--no-evidence` applied.
fn load_spec(flags: &RunFlags) -> anyhow::Result<(Spec, String, Vec<spec::SpecFile>)> {
    let loaded = spec::load_specs(&flags.metrics)?;
    for line in loaded.warning_lines() {
        eprintln!("{line}");
    }
    let mut spec = loaded.spec;
    if let Some(strategy) = flags.strategy {
        spec.strategy = strategy;
    }
    if flags.no_evidence {
        for metric in &mut spec.metrics {
            metric.evidence = false;
        }
    }
    Ok((spec, loaded.sha256, loaded.files))
}

/// The metric files for a message: `metrics.yaml`, or `defaults.yaml + custom.yaml`.
fn shown_files(files: &[spec::SpecFile]) -> String {
    files.iter().map(|f| f.shown.as_str()).collect::<Vec<_>>().join(" + ")
}

/// Plans the requests for `endpoint`'s model (and checks they leave room for a
/// transcript) and reads the selection flags; nothing is read of the inputs yet.
fn run_work(
    flags: &RunFlags,
    mut spec: Spec,
    metrics_sha256: String,
    metric_files: &[spec::SpecFile],
    endpoint: &EndpointConfig,
) -> anyhow::Result<RunWork> {
    crate::evaluate::plan::evidence_as_limited(&mut spec, &endpoint.answer_limits);
    let groups = plan_groups(&spec, endpoint);
    let prompt_options = PromptOptions {
        limits: endpoint.answer_limits,
        ..flags.prompt.options()
    };
    let transcript_budget = transcript_budget(
        &spec,
        &groups,
        endpoint.structured_output,
        prompt_options,
        endpoint.max_input_tokens,
    )
    .map_err(|why| anyhow::anyhow!("{}: {why}", shown_files(metric_files)))?;
    let load_options = flags.transcripts.options();
    let selection = &flags.selection;
    let rules = Rules {
        limit: selection.limit,
        sample: selection.sample,
        seed: selection.sample_seed,
        shard: selection.shard()?,
    };
    let settings = Settings {
        concurrency: flags.concurrency as usize,
        max_reask: flags.max_reask,
        long_calls: flags.prompt.long_calls,
        max_input_tokens: endpoint.max_input_tokens,
        transcript_budget,
        prompt_options,
        load_options,
        refresh: flags.cache.refresh,
        budget: budget(flags, &groups, endpoint)?,
        metadata: flags.metadata,
        unverified: flags.unverified_evidence,
        samples: flags.samples,
        confidence: flags.confidence,
    };
    Ok(RunWork {
        spec,
        metrics_sha256,
        groups,
        settings,
        inputs: flags.paths.clone(),
        rules,
    })
}

/// The budget the flags ask for. `--max-cost` without a price for every model of the run
/// could never be held: a usage error, before anything is sent.
fn budget(flags: &RunFlags, groups: &[GroupPlan], endpoint: &EndpointConfig) -> anyhow::Result<Option<Limit>> {
    match (flags.max_cost, flags.max_tokens_total) {
        (Some(_), Some(_)) => Err(UsageError("give --max-cost or --max-tokens-total, not both".into()).into()),
        (Some(usd), None) => {
            let unpriced: Vec<&str> = groups
                .iter()
                .map(|g| g.model.as_str())
                .filter(|m| endpoint.prices.standard(m).is_none())
                .collect();
            if let Some(model) = unpriced.first() {
                return Err(UsageError(format!(
                    "--max-cost needs the price of every model the run uses, and `{model}` has none: pass --price \
                     IN,OUT[,CACHED_IN] (or set llm.price; llm.prices for the models metrics name), or use \
                     --max-tokens-total N instead"
                ))
                .into());
            }
            Ok(Some(Limit::Usd(usd)))
        }
        (None, Some(tokens)) => Ok(Some(Limit::Tokens(tokens))),
        (None, None) => Ok(None),
    }
}

/// What the scan left out, as `inspect` lists it: documents that are not calls and the
/// companions of calls, counted per reason with the first file of each, then the files of
/// kinds no format reads. Nothing is left out unseen.
pub fn skipped_notes(catalog: &Catalog) -> Vec<String> {
    let mut notes = Vec::new();
    for (skipped, what) in [
        (&catalog.skipped, "document(s) that are not calls"),
        (
            &catalog.companions,
            "companion document(s), metadata that belongs with a call",
        ),
    ] {
        if skipped.is_empty() {
            continue;
        }
        notes.push(format!("note: skipped {} {what}:", skipped.len()));
        let mut reasons: indexmap::IndexMap<&str, (usize, &str)> = indexmap::IndexMap::new();
        for s in skipped.iter() {
            reasons.entry(&s.reason).or_insert((0, &s.source_display)).0 += 1;
        }
        for (reason, (count, first)) in reasons {
            let more = if count > 1 {
                format!(" and {} more", count - 1)
            } else {
                String::new()
            };
            notes.push(format!("  {count} × {reason} ({first}{more})"));
        }
    }
    if catalog.skipped_non_json > 0 {
        notes.push(format!(
            "note: skipped {} file(s) that are not {READ_EXTENSIONS} (`postcall inspect` lists what was read)",
            catalog.skipped_non_json
        ));
    }
    notes
}
