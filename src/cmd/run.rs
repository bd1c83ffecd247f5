//! `postcall run`: every metric of every call, asked, validated and reported.
//!
//! Two stages, as in ripgrep: the flags here, then a resolved run (spec loaded and
//! linted, endpoint resolved, outputs opened, transcripts scanned) before the first
//! request is sent. A bad path or a bad key fails in milliseconds, not after an hour.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::cache::{Cache, DEFAULT_DIR};
use crate::cli::exit;
use crate::evaluate::progress::Progress;
use crate::evaluate::{self, Evaluation, Halt, LongCalls, Settings, plan_groups};
use crate::llm::config::{self, EndpointFlags, Env, ProcessEnv};
use crate::llm::local::{self, LocalServer};
use crate::llm::{Client, redact};
use crate::prompt::PromptOptions;
use crate::report::summary::{SummaryCounts, render_summary};
use crate::report::{self, InputError, OutputArgs, OutputFormat, REPORT_FORMAT_VERSION, RunHeader, Usage};
use crate::spec::{self, Price, Spec, Strategy, StructuredOutput};
use crate::transcript::{Catalog, Format, LoadOptions, SpeakerMap};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The metric file (postcall YAML, or Atoms / Dialgen definitions).
    #[arg(short = 'm', long = "metrics", value_name = "FILE")]
    pub metrics: PathBuf,
    /// Transcript files or directories (walked recursively); `-` reads stdin.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    /// Default when no -o is given: JSONL on stdout.
    #[command(flatten)]
    pub output: OutputArgs,

    /// OpenAI-compatible base URL, e.g. https://api.openai.com/v1 [env: POSTCALL_BASE_URL]
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Model name (the deployment name on Azure) [env: POSTCALL_MODEL]
    #[arg(long)]
    pub model: Option<String>,
    /// Name of the environment variable that holds the API key [default: OPENAI_API_KEY]
    #[arg(long, value_name = "VAR")]
    pub api_key_env: Option<String>,
    /// Azure OpenAI api-version; switches to deployment URLs and the `api-key` header.
    #[arg(long, value_name = "VERSION")]
    pub azure_api_version: Option<String>,
    /// Sampling temperature [default: 0]
    #[arg(long)]
    pub temperature: Option<f64>,
    /// Seed sent to the endpoint (for providers that support reproducible sampling).
    #[arg(long, value_name = "N")]
    pub llm_seed: Option<i64>,
    /// Maximum output tokens per answer.
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u32>,
    /// reasoning_effort for reasoning models (low, medium, high…).
    #[arg(long, value_name = "LEVEL")]
    pub reasoning_effort: Option<String>,
    /// How the answer's shape is enforced [default: json_schema]
    #[arg(long, value_enum)]
    pub structured_output: Option<StructuredOutput>,
    /// USD per million input and output tokens, e.g. 0.15,0.60 (otherwise cost is unknown).
    #[arg(long, value_name = "IN,OUT", value_parser = config::parse_price)]
    pub price: Option<Price>,
    /// Seconds before a request times out [default: 120]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Transcripts longer than this (estimated tokens) are handled by --long-calls [default: 100000]
    #[arg(long, value_name = "N")]
    pub max_input_tokens: Option<u64>,
    /// Run this GGUF model with a managed local llama-server (default when no endpoint is
    /// configured and scripts/install-local-model.sh has been run).
    #[arg(long, value_name = "GGUF", conflicts_with = "base_url")]
    pub local_model: Option<PathBuf>,

    /// Override the metric file's strategy.
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Requests in flight at once.
    #[arg(short = 'j', long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// How many times an invalid answer is asked again.
    #[arg(long, default_value_t = 2)]
    pub max_reask: u32,
    /// How many times a failed request is retried.
    #[arg(long, default_value_t = crate::llm::client::DEFAULT_MAX_RETRIES)]
    pub max_retries: u32,
    /// What to do with transcripts over --max-input-tokens.
    #[arg(long, value_enum, default_value_t = LongCalls::Fail)]
    pub long_calls: LongCalls,

    /// Send nothing: print the calls, requests, estimated tokens and cost a run would use.
    #[arg(long)]
    pub dry_run: bool,
    /// Only the first N calls.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// A random sample of N calls (reproducible with --seed).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Seed for --sample.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,

    /// Exit 3 when any value is invalid or a required metric is missing.
    #[arg(long)]
    pub strict: bool,
    /// No progress line.
    #[arg(short, long)]
    pub quiet: bool,
    /// Prefix transcript turns with [mm:ss] offsets in the prompt.
    #[arg(long)]
    pub timestamps: bool,
    /// Include system and tool turns in the prompt.
    #[arg(long)]
    pub all_speakers: bool,
    /// Skip format detection.
    #[arg(long, value_enum)]
    pub transcript_format: Option<Format>,
    /// Roles for numbered speakers (Deepgram, Twilio), e.g. 0=agent,1=customer.
    #[arg(long, value_name = "MAP")]
    pub speaker_map: Option<SpeakerMap>,

    /// Where answers are cached [default: .postcall/cache]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache.
    #[arg(long, conflicts_with = "refresh")]
    pub no_cache: bool,
    /// Ask again even when an answer is cached, and overwrite it.
    #[arg(long)]
    pub refresh: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let started_at = jiff::Timestamp::now();
    // Installed first, so a Ctrl-C while the local server starts is an orderly stop too.
    let halt = Arc::new(Halt::default());
    install_ctrlc(&halt);

    // Stage 1: everything that can fail fast.
    let loaded = spec::load_spec(&args.metrics)?;
    for line in loaded.warning_lines() {
        eprintln!("{line}");
    }
    let metrics_sha256 = loaded.sha256;
    let mut spec = loaded.spec;
    if let Some(strategy) = args.strategy {
        spec.strategy = strategy;
    }
    let load_options = LoadOptions {
        format: args.transcript_format,
        speaker_map: args.speaker_map.clone(),
    };
    let catalog = Catalog::scan(&args.paths, &load_options);
    for error in &catalog.errors {
        eprintln!("warning: skipping {error}");
    }
    for warning in &catalog.warnings {
        eprintln!("warning: {warning}");
    }
    if catalog.skipped_non_json > 0 && !args.quiet {
        eprintln!(
            "note: skipped {} file(s) that are not .json, .jsonl or .ndjson (`postcall inspect` lists what was read)",
            catalog.skipped_non_json
        );
    }
    let calls = select_calls(catalog.entries.len(), args.limit, args.sample, args.seed);
    if calls.is_empty() && !args.dry_run {
        anyhow::bail!(
            "no calls to evaluate in {}: {} input error(s), {} non-JSON file(s) skipped (`postcall inspect` shows what was found)",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            catalog.errors.len(),
            catalog.skipped_non_json
        );
    }
    let outputs = if args.dry_run {
        Vec::new()
    } else {
        args.output.open(Some(OutputFormat::Jsonl))?
    };
    let mut flags = endpoint_flags(&args);
    // Started once the inputs are known to hold calls and the outputs are open (a bad path
    // costs no server start); stopped, by drop, on every way out.
    let local_server = match local_choice(&args, &spec, &ProcessEnv) {
        Some((server, model)) if !args.dry_run => {
            let log_dir = args
                .cache_dir
                .as_deref()
                .unwrap_or(Path::new(DEFAULT_DIR))
                .parent()
                .unwrap_or(Path::new("."))
                .join("logs");
            let running = LocalServer::start(&server, &model, args.concurrency as usize, &log_dir)?;
            if !args.quiet {
                eprintln!(
                    "using the local model {} (llama-server at {}, log in {})",
                    model.display(),
                    running.base_url,
                    running.log.display()
                );
            }
            flags.base_url = Some(running.base_url.clone());
            flags.model.get_or_insert_with(|| local::LOCAL_MODEL_NAME.to_string());
            // A small model can ramble until its context is full; bound each answer (an
            // answer cut short is re-asked with twice the room).
            if flags.max_tokens.is_none() && spec.llm.max_tokens.is_none() {
                flags.max_tokens = Some(local::DEFAULT_MAX_TOKENS);
            }
            // On a busy CPU an answer can take minutes; re-sending it would only add load.
            if flags.timeout.is_none() && spec.llm.timeout_secs.is_none() {
                flags.timeout = Some(local::DEFAULT_TIMEOUT);
            }
            Some(running)
        }
        _ => None,
    };
    let endpoint = match config::resolve(&flags, &spec.llm, &ProcessEnv) {
        Ok(mut endpoint) => {
            if let Some(running) = &local_server {
                endpoint.identity = running.identity.clone();
            }
            Some(endpoint)
        }
        Err(err) if args.dry_run => {
            eprintln!("note: {err}");
            None
        }
        Err(err) => return Err(err.into()),
    };

    let default_model = endpoint
        .as_ref()
        .map_or_else(|| "unknown".to_string(), |e| e.model.clone());
    let groups = plan_groups(&spec, &default_model);
    let price = endpoint.as_ref().and_then(|e| e.price);
    let max_input_tokens = endpoint.as_ref().map_or(
        args.max_input_tokens
            .or(spec.llm.max_input_tokens)
            .unwrap_or(config::DEFAULT_MAX_INPUT_TOKENS),
        |e| e.max_input_tokens,
    );

    if args.dry_run {
        super::run_dry::print_dry_run(
            &spec,
            &catalog,
            &calls,
            &groups,
            endpoint.as_ref(),
            max_input_tokens,
            args.long_calls,
        );
        return Ok(ExitCode::from(if catalog.errors.is_empty() {
            exit::OK
        } else {
            exit::ERROR
        }));
    }
    let endpoint = endpoint.expect("resolved unless dry run");
    let cache = if args.no_cache {
        None
    } else {
        Some(Cache::open(
            args.cache_dir.as_deref().unwrap_or(Path::new(DEFAULT_DIR)),
        )?)
    };
    let header_base = RunHeader {
        version: env!("CARGO_PKG_VERSION").to_string(),
        report_format: REPORT_FORMAT_VERSION,
        started_at,
        finished_at: None,
        complete: false,
        calls_not_done: calls.len(),
        base_url: redact(&endpoint.base_url, endpoint.api_key.as_ref()),
        model: endpoint.model.clone(),
        strategy: spec.strategy,
        structured_output: endpoint.structured_output,
        metrics_sha256,
        calls: 0,
        failed_calls: 0,
        invalid_values: 0,
        usage: Usage::default(),
        cost_usd: None,
        input_errors: catalog
            .errors
            .iter()
            .map(|e| InputError {
                source: e.source_display.clone(),
                message: e.message.clone(),
            })
            .collect(),
    };
    let input_errors = catalog.errors.len();

    // Stage 2: ask.
    let client = Client::new(endpoint.clone(), args.concurrency as usize, args.max_retries)?;
    let progress = Progress::new(calls.len(), args.quiet, price);
    let mut sinks = outputs;
    let head = report::ReportHead {
        header: &header_base,
        metrics: &spec.metrics,
        has_summary: spec.summary.is_some(),
    };
    for sink in &mut sinks {
        sink.begin(&head)?;
    }
    let mut counts = SummaryCounts::new(&spec.metrics);
    let spec_for_report = spec.clone();
    let settings = Settings {
        concurrency: args.concurrency as usize,
        max_reask: args.max_reask,
        long_calls: args.long_calls,
        max_input_tokens,
        prompt_options: PromptOptions {
            timestamps: args.timestamps,
            all_speakers: args.all_speakers,
        },
        load_options,
        refresh: args.refresh,
    };
    let total = calls.len();
    let eval = Evaluation {
        spec,
        catalog,
        client,
        cache,
        groups,
        calls,
        settings,
    };
    let outcome = evaluate::run(eval, Arc::clone(&halt), &progress, |call| {
        counts.add(&call);
        for sink in &mut sinks {
            sink.call(&call)?;
        }
        Ok(())
    })?;

    // Stage 3: final header, reports, summary, exit code.
    let header = RunHeader {
        finished_at: Some(jiff::Timestamp::now()),
        complete: outcome.calls_not_done == 0,
        calls_not_done: outcome.calls_not_done,
        calls: outcome.calls_done,
        failed_calls: counts.failed_calls() as usize,
        invalid_values: counts.invalid_values() as usize,
        usage: outcome.usage,
        cost_usd: price.map(|p| config::cost(&p, outcome.usage.prompt_tokens, outcome.usage.completion_tokens)),
        ..header_base
    };
    for sink in sinks {
        sink.finish(&header)?;
    }
    eprint!(
        "{}",
        render_summary(&spec_for_report.metrics, &counts, &header, started.elapsed())
    );

    if outcome.cache_write_failures > 1 {
        eprintln!(
            "warning: {} answers could not be written to the cache; a re-run asks them again",
            outcome.cache_write_failures
        );
    }
    if let Some(refusal) = &outcome.refusal {
        eprintln!(
            "error: {} refused the request ({refusal}); {}. Stopped after {} of {total} calls; the reports hold what finished.",
            header.base_url,
            refusal.advice(),
            outcome.calls_done
        );
        return Ok(ExitCode::from(exit::ERROR));
    }
    if outcome.interrupted {
        eprintln!(
            "interrupted: {} of {total} calls written; re-run the same command to finish (cached answers are not asked again)",
            outcome.calls_done
        );
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    let missing_required: u64 = spec_for_report
        .metrics
        .iter()
        .filter(|m| m.required)
        .filter_map(|m| counts.metric(&m.id))
        .map(|c| c.missing)
        .sum();
    if args.strict && (counts.invalid_values() > 0 || missing_required > 0) {
        eprintln!(
            "--strict: {} invalid value(s), {missing_required} required value(s) missing",
            counts.invalid_values()
        );
        return Ok(ExitCode::from(exit::CHECK_FAILED));
    }
    if counts.failed_calls() > 0 || input_errors > 0 {
        return Ok(ExitCode::from(exit::ERROR));
    }
    Ok(ExitCode::from(exit::OK))
}

/// The local server and model to run, when the run should use one: asked for with
/// `--local-model` or `llm.local`, or by default when no endpoint is configured anywhere
/// and the install script has been run.
fn local_choice(args: &Args, spec: &Spec, env: &dyn Env) -> Option<(PathBuf, PathBuf)> {
    let installed = local::installed();
    let configured = spec.llm.local.as_ref();
    let explicit_url = args.base_url.is_some() || env.var("POSTCALL_BASE_URL").is_some() || spec.llm.base_url.is_some();
    if args.local_model.is_none() && (explicit_url || (configured.is_none() && installed.is_none())) {
        return None;
    }
    let default_server = || {
        installed
            .as_ref()
            .map(|(s, _)| s.clone())
            .or_else(|| local::install_dir().map(|d| d.join("bin/llama-server")))
    };
    let server = configured
        .and_then(|l| l.server.clone())
        .map(PathBuf::from)
        .or_else(default_server)?;
    let model = args
        .local_model
        .clone()
        .or_else(|| configured.and_then(|l| l.model.clone()).map(PathBuf::from))
        .or_else(|| installed.as_ref().map(|(_, m)| m.clone()))?;
    Some((server, model))
}

fn endpoint_flags(args: &Args) -> EndpointFlags {
    EndpointFlags {
        base_url: args.base_url.clone(),
        model: args.model.clone(),
        api_key_env: args.api_key_env.clone(),
        azure_api_version: args.azure_api_version.clone(),
        temperature: args.temperature,
        seed: args.llm_seed,
        max_tokens: args.max_tokens,
        max_input_tokens: args.max_input_tokens,
        reasoning_effort: args.reasoning_effort.clone(),
        structured_output: args.structured_output,
        price: args.price,
        timeout: args.timeout.map(Duration::from_secs),
    }
}

/// `--limit` keeps the first N; `--sample` a reproducible random N (kept in input order).
fn select_calls(total: usize, limit: Option<usize>, sample: Option<usize>, seed: u64) -> Vec<usize> {
    let mut calls: Vec<usize> = (0..total).collect();
    if let Some(n) = sample.filter(|&n| n < total) {
        // Order by a seeded hash of the index: stable across runs and machines.
        calls.sort_by_key(|&i| {
            let mut h = blake3::Hasher::new();
            h.update(&seed.to_le_bytes());
            h.update(&(i as u64).to_le_bytes());
            *h.finalize().as_bytes()
        });
        calls.truncate(n);
        calls.sort_unstable();
    }
    if let Some(n) = limit {
        calls.truncate(n);
    }
    calls
}

fn install_ctrlc(halt: &Arc<Halt>) {
    let halt = Arc::clone(halt);
    let result = ctrlc::set_handler(move || {
        if halt.interrupted.swap(true, Ordering::SeqCst) {
            eprintln!("\ninterrupted again: exiting now (finished answers are in the cache)");
            local::stop_running_server();
            std::process::exit(exit::INTERRUPTED as i32);
        }
        halt.halted.store(true, Ordering::SeqCst);
        eprintln!(
            "\nstopping: finishing requests in flight (up to {} s), then writing the reports; press Ctrl-C again to quit at once",
            evaluate::HALT_GRACE.as_secs()
        );
    });
    if let Err(e) = result {
        eprintln!("warning: cannot install the Ctrl-C handler: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_reproducible_and_in_input_order() {
        let a = select_calls(100, None, Some(10), 7);
        assert_eq!(a, select_calls(100, None, Some(10), 7));
        assert_ne!(a, select_calls(100, None, Some(10), 8));
        assert_eq!(a.len(), 10);
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(select_calls(5, Some(3), None, 0), vec![0, 1, 2]);
        assert_eq!(select_calls(5, None, Some(10), 0).len(), 5);
    }
}
