//! `postcall run --dry-run`: what a run would send and cost, without sending anything.

use std::io::Write as _;
use std::process::ExitCode;
use std::sync::Arc;

use crate::cache::Cache;
use crate::cli::exit;
use crate::evaluate::feed::{Feed, Scanned};
use crate::evaluate::plan::{ANSWER_FILL, expected_completion_tokens};
use crate::evaluate::{Halt, cache_key, first_request, fit, request_overhead, sample_seeds};
use crate::llm::ChatRequest;
use crate::llm::EndpointConfig;
use crate::llm::price::{self, Prices, Tokens};
use crate::llm::tokens::{Counter, ServerCounter, schema_billed};
use crate::plan::{DryEndpoint, DryRunPlan, Endpoint, RunWork};
use crate::prompt::LongCalls;
use crate::spec::ServiceTier;
use crate::terminal::{Escaped, eprintln};

/// What the plan would ask of the endpoint. Re-asks are not counted.
#[derive(Debug, Default)]
struct Estimate {
    /// Requests to send: not answered from the cache.
    requests: usize,
    /// Requests whose answer is in the cache already.
    cached: usize,
    input_tokens: u64,
    output_tokens: u64,
    /// How input tokens were counted (the first request group's counter).
    counted_with: Option<String>,
    /// Input and output tokens by model.
    by_model: std::collections::BTreeMap<String, (u64, u64)>,
    /// Calls whose requests would be over max_input_tokens, whatever the policy does with them.
    long_calls: usize,
}

/// Prints the estimate; exit 1 when some input could not be read, as a run would, and 130
/// when Ctrl-C (`halt`) stopped it before every call was counted.
pub fn dry_run(plan: &DryRunPlan, halt: Arc<Halt>) -> anyhow::Result<ExitCode> {
    let work = &plan.work;
    let config = plan.endpoint.config();
    if let DryEndpoint::Preview { why, .. } = &plan.endpoint {
        eprintln!("note: {why}");
    }
    // The managed server is started, as a run starts it, to count with its own tokenizer;
    // its log goes to a temporary directory (a dry run leaves nothing behind).
    let local = start_local_counter(&plan.endpoint);
    let server = local.as_ref().map(|(_, _, counter)| counter);
    // The inputs are read as a run reads them: each call once (from a bucket, one GET),
    // counted while the scan reads on.
    let say = Box::new(|line: &str| eprintln!("{line}"));
    let feed = work.read_inputs(Arc::clone(&halt), say, !plan.quiet);
    let estimate = estimate(work, &feed, config, plan.cache.as_ref(), server);
    let scanned = feed.end();
    drop(local);
    if halt.is_halted() {
        eprintln!(
            "interrupted after counting {} calls: no estimate printed, nothing was sent",
            scanned.calls
        );
        return Ok(ExitCode::from(exit::INTERRUPTED));
    }
    let settings = &work.settings;
    // Written as it goes, so a closed pipe stops it with an error `main` treats as success.
    let mut out = Escaped(std::io::stdout().lock());
    write_requests(&mut out, work, &scanned, &estimate)?;
    write_costs(&mut out, &estimate, &config.prices)?;
    writeln!(
        out,
        "  long calls      {} over max_input_tokens {} (--long-calls {})",
        estimate.long_calls, settings.max_input_tokens, settings.long_calls
    )?;
    if let DryEndpoint::Resolved(endpoint) = &plan.endpoint {
        write_endpoint(&mut out, endpoint)?;
    }
    out.flush()?;
    Ok(ExitCode::from(if scanned.errors.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    }))
}

/// The lines before the cost: what would be read, and what would be sent for it.
fn write_requests(
    out: &mut impl std::io::Write,
    work: &RunWork,
    scanned: &Scanned,
    estimate: &Estimate,
) -> std::io::Result<()> {
    writeln!(out, "dry run: nothing was sent")?;
    writeln!(
        out,
        "  calls           {} ({} input error(s), {} not calls, {} files of other kinds skipped)",
        scanned.calls,
        scanned.errors.len(),
        scanned.catalog.skipped.len(),
        scanned.catalog.skipped_non_json
    )?;
    if let (Some(shard), Some(archive)) = (work.rules.shard, &scanned.archive) {
        writeln!(
            out,
            "  shard           {shard}: {} of the {} calls selected",
            scanned.calls, archive.calls
        )?;
    }
    let per_call = match work.settings.samples {
        1 => format!("{} per call", work.groups.len()),
        k => format!(
            "{} per call: {} × {k} samples",
            work.groups.len() * k as usize,
            work.groups.len()
        ),
    };
    writeln!(
        out,
        "  requests        {} to send, {} answered from the cache ({per_call}, {} strategy; re-asks not counted)",
        estimate.requests, estimate.cached, work.spec.strategy
    )?;
    writeln!(
        out,
        "  input tokens    ~{} ({})",
        estimate.input_tokens,
        estimate.counted_with.as_deref().unwrap_or("estimated")
    )?;
    writeln!(
        out,
        "  output tokens   ~{} (estimated, {:.0} % of the answer's token budget)",
        estimate.output_tokens,
        ANSWER_FILL * 100.0
    )
}

/// The endpoint a real run would ask.
fn write_endpoint(out: &mut impl std::io::Write, endpoint: &Endpoint) -> std::io::Result<()> {
    match &endpoint.local {
        Some(local) => writeln!(
            out,
            "  endpoint        a local llama-server with {} (started by a real run), model {}",
            local.model.display(),
            endpoint.config.model
        ),
        None => writeln!(
            out,
            "  endpoint        {} model {}",
            endpoint.config.base_url, endpoint.config.model
        ),
    }
}

/// The managed local server, started to count prompts with its tokenizer, with the
/// temporary directory of its log; `None` (said why) when there is none or it fails.
fn start_local_counter(
    endpoint: &DryEndpoint,
) -> Option<(crate::llm::local::LocalServer, tempfile::TempDir, ServerCounter)> {
    let DryEndpoint::Resolved(endpoint) = endpoint else {
        return None;
    };
    let launch = endpoint.local.as_ref()?;
    let started = tempfile::tempdir().map_err(anyhow::Error::from).and_then(|logs| {
        let server = launch.start(1, logs.path())?;
        let counter = ServerCounter::new(&server.base_url)?;
        Ok((server, logs, counter))
    });
    match started {
        Ok(started) => Some(started),
        Err(e) => {
            eprintln!("note: the local server could not be started to count tokens ({e:#}); they are estimated");
            None
        }
    }
}

/// What the run would send: every call's requests, less those whose answer is cached
/// (found by building each first request as the run does and looking its key up).
fn estimate(
    work: &RunWork,
    feed: &Feed,
    config: &EndpointConfig,
    cache: Option<&Cache>,
    server: Option<&ServerCounter>,
) -> Estimate {
    let (spec, settings) = (&work.spec, &work.settings);
    let mode = config.structured_output;
    // The fixed part of each request: system message and questions around an empty
    // transcript, and the schema where it is sent beside the messages (billed all the same).
    let overhead: Vec<u64> = work
        .groups
        .iter()
        .map(|g| request_overhead(spec, g, mode, settings.prompt_options) + schema_tokens(g, config))
        .collect();
    let output: Vec<u64> = work.groups.iter().map(expected_completion_tokens).collect();
    let max = settings.transcript_budget;
    let counters: Vec<Counter> = work.groups.iter().map(|g| Counter::for_model(&g.model)).collect();
    let mut estimate = Estimate {
        counted_with: match server {
            Some(server) => Some(server.label().to_string()),
            None => counters.first().map(Counter::label),
        },
        ..Estimate::default()
    };
    let mut server = server;
    let seeds = sample_seeds(settings.samples, config.params.seed);
    // Building each call's requests is only worth it when there is a cache to look in or a
    // tokenizer to count them with; otherwise the scan's estimate of the transcript will do.
    let exact = cache.is_some() || server.is_some() || counters.iter().any(Counter::is_exact);
    for fed in feed.in_order() {
        let mut tokens = fed.entry.estimated_tokens;
        if tokens > max {
            estimate.long_calls += 1;
            match settings.long_calls {
                LongCalls::Truncate => tokens = max,
                LongCalls::Fail | LongCalls::Skip => continue,
            }
        }
        let prepared = exact.then(|| fit(Ok(fed.call), settings).ok()).flatten();
        for (g, group) in work.groups.iter().enumerate() {
            let request = prepared
                .as_ref()
                .map(|p| first_request(spec, p, group, mode, settings.prompt_options));
            let to_send = uncached_samples(cache, config, request.as_ref(), &seeds);
            estimate.cached += seeds.len() - to_send as usize;
            if to_send == 0 {
                continue;
            }
            let counted = request
                .as_ref()
                .and_then(|request| exact_tokens(request, &mut server, &counters[g], config, &mut estimate));
            let input = counted.unwrap_or(overhead[g] + tokens);
            estimate.add(&group.model, input * to_send, output[g] * to_send, to_send);
        }
    }
    estimate
}

impl Estimate {
    /// `requests` requests to `model` of `input` and `output` tokens in all.
    fn add(&mut self, model: &str, input: u64, output: u64, requests: u64) {
        self.requests += requests as usize;
        self.input_tokens += input;
        self.output_tokens += output;
        let by_model = self.by_model.entry(model.to_owned()).or_default();
        by_model.0 += input;
        by_model.1 += output;
    }
}

/// How many samples of `request` (one per seed) would be sent: those whose answer is not
/// in the cache. Every sample is a request of its own, with its own cache key (the seed
/// differs, the prompt does not: its tokens are counted once). Without the request or a
/// cache, all of them.
fn uncached_samples(
    cache: Option<&Cache>,
    config: &EndpointConfig,
    request: Option<&ChatRequest>,
    seeds: &[Option<i64>],
) -> u64 {
    let (Some(cache), Some(request)) = (cache, request) else {
        return seeds.len() as u64;
    };
    seeds
        .iter()
        .filter(|&&seed| {
            let sample = ChatRequest {
                seed,
                ..request.clone()
            };
            cache.get(&cache_key(config, &sample)).is_none()
        })
        .count() as u64
}

/// The input tokens of `request` as the endpoint counts them: by the local server's
/// tokenizer, else by the model's own encoding; `None` when only an estimate can be had.
/// A server that fails to count is not asked again (said once, and the estimate says it
/// is partly estimated).
fn exact_tokens(
    request: &ChatRequest,
    server: &mut Option<&ServerCounter>,
    counter: &Counter,
    config: &EndpointConfig,
    estimate: &mut Estimate,
) -> Option<u64> {
    match *server {
        Some(server_counter) => match server_counter.prompt_tokens(request) {
            Ok(n) => Some(n),
            Err(e) => {
                eprintln!("note: {e:#}; the rest of the tokens are estimated");
                *server = None;
                estimate.counted_with = Some("partly estimated".into());
                None
            }
        },
        None if counter.is_exact() => Some(counter.prompt_tokens(request, schema_billed(config))),
        None => None,
    }
}

/// The cost lines: per model when there are several, and the same requests at the flex and
/// batch price when the price is known.
fn write_costs(out: &mut impl std::io::Write, estimate: &Estimate, prices: &Prices) -> std::io::Result<()> {
    let several = estimate.by_model.len() > 1;
    let mut standard = Some(0.0);
    for (model, &(input, output)) in &estimate.by_model {
        let tokens = Tokens {
            prompt: input,
            cached_prompt: 0,
            completion: output,
        };
        let cost = prices.standard(model).map(|p| price::cost(&p, tokens));
        standard = standard.zip(cost).map(|(a, b)| a + b);
        if several {
            let shown = match (cost, prices.standard(model)) {
                (Some(usd), Some(p)) => format!("~${usd:.4} at {}", price::describe(&p)),
                _ => "cost unknown (no price for this model: llm.prices)".to_string(),
            };
            writeln!(
                out,
                "  model           {model}: ~{input} input, ~{output} output tokens, {shown}"
            )?;
        }
    }
    match standard {
        Some(usd) => {
            let tier = match prices.tier {
                ServiceTier::Flex => " (this run: flex)",
                ServiceTier::Default => "",
            };
            let describe = match (several, prices.standard(&prices.default_model)) {
                (false, Some(p)) => format!(" at {}", price::describe(&p)),
                _ => String::new(),
            };
            writeln!(
                out,
                "  cost            ~${usd:.4}{describe} (cached answers cost nothing)"
            )?;
            writeln!(
                out,
                "  cheaper tiers   ~${:.4} with --service-tier flex{tier}, ~${:.4} with `postcall batch` (OpenAI: half price each)",
                usd * price::FLEX_SHARE,
                usd * price::BATCH_SHARE
            )
        }
        None => writeln!(
            out,
            "  cost            unknown: pass --price IN,OUT[,CACHED_IN] (USD per million tokens) or set llm.price \
             (llm.prices for the models metrics name)"
        ),
    }
}

/// The estimated tokens of `group`'s schema where the endpoint bills it beside the
/// messages (see [`schema_billed`]).
fn schema_tokens(group: &crate::evaluate::GroupPlan, config: &EndpointConfig) -> u64 {
    if schema_billed(config) {
        crate::transcript::estimate_tokens_for_chars(group.schema.to_string().len())
    } else {
        0
    }
}
