//! Executing a [`RunPlan`]: start the local server if the plan has one, ask, stream each
//! finished call to the outputs, then write the final header, the summary and the exit
//! code. Everything that could be checked was checked when the plan was resolved.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::exit;
use crate::deliver::Deliverer;
use crate::evaluate::feed::{Feed, Say, Scanned};
use crate::evaluate::progress::Progress;
use crate::evaluate::{self, Budget, Evaluation, GroupPlan, Halt, RunOutcome};
use crate::llm::local::LocalServer;
use crate::llm::pace::{PaceSettings, Pacer};
use crate::llm::price::Prices;
use crate::llm::{Client, EndpointConfig};
use crate::plan::{Endpoint, RunPlan, RunWork};
use crate::report::outputs::{Ended, Outputs};
use crate::report::summary::{SummaryCounts, render_summary};
use crate::report::{
    InputError, ModelUsage, REPORT_FORMAT_VERSION, ReportHead, RunHeader, StopReason, TranscriptReading, Usage,
};
use crate::shard::Shard;
use crate::spec::{Metric, ServiceTier, Spec};
use crate::terminal::{eprint, eprintln};
use crate::transcript::LoadError;

pub fn execute(plan: RunPlan, halt: Arc<Halt>) -> anyhow::Result<ExitCode> {
    let RunPlan {
        mut work,
        endpoint,
        outputs,
        cache,
        log_dir,
        max_retries,
        pace,
        strict,
        quiet,
        started,
        started_at,
        webhooks,
    } = plan;
    // The managed server answers one request per core; more in flight would only queue.
    if endpoint.local.is_some() {
        work.settings.concurrency = crate::llm::local::slots_for(work.settings.concurrency);
    }
    let concurrency = work.settings.concurrency;
    let progress = Progress::new(quiet);
    let (feed, scanned) = match start_scan(&work, &halt, &progress, quiet)? {
        Scan::Going(feed, scanned) => (feed, scanned),
        Scan::Interrupted => return Ok(ExitCode::from(exit::INTERRUPTED)),
    };
    // The one expensive start; stopped, by drop, on every way out.
    let _server = start_local(&endpoint, concurrency, &log_dir, quiet)?;
    let shard = work.rules.shard;
    // A shard paces to 1/N of the budget until the scan says how many of the calls are its.
    let first_share = shard
        .filter(|_| pace.is_set())
        .map_or(pace, |s| pace.share(1, s.count as usize));
    let pacer = Pacer::new(first_share).map(Arc::new);
    let client = Client::new(endpoint.config, concurrency, max_retries)?.with_pace(pacer.clone());
    let header = opening_header(&work, client.config(), started_at);
    let mut outputs = Outputs::new(outputs, cache.is_some());
    outputs.begin(&ReportHead {
        header: &header,
        metrics: &work.spec.metrics,
        has_summary: work.spec.summary.is_some(),
    })?;
    let metrics = work.spec.metrics.clone();
    let models = models_of(&work.spec, &work.groups);
    let prices = client.config().prices.clone();
    // Started before the first call, so each call leaves as soon as it is finished.
    let mut deliverer = webhooks
        .map(|plan| Deliverer::start(plan, &metrics, &work.metrics_sha256))
        .transpose()?;
    let mut counts = SummaryCounts::new(&metrics);
    let budget = work
        .settings
        .budget
        .map(|limit| Budget::new(limit, client.config().prices.clone()));
    let cached = cache.is_some();
    let mut when_read = WhenRead {
        feed: &feed,
        pacer: pacer.zip(shard),
        pace,
        opening: &header,
        metrics: &metrics,
        has_summary: work.spec.summary.is_some(),
        quiet,
        done: false,
    };
    let eval = Evaluation {
        budget,
        spec: work.spec,
        feed: Arc::clone(&feed),
        client,
        cache,
        groups: work.groups,
        settings: work.settings,
    };
    let outcome = evaluate::run(eval, halt, &progress, |call| {
        when_read.check(&mut outputs)?;
        counts.add(&call);
        if let Some(deliverer) = &mut deliverer {
            deliverer.send(&call);
        }
        outputs.call(&call)
    })?;
    let scanned = scanned.map_or_else(|| feed.end(), |scanned| *scanned);
    // The last calls may have been written before the scan had said what it found.
    when_read.check(&mut outputs)?;

    let header = final_header(header, &outcome, &scanned, &counts, models, &prices);
    let run = Ran {
        outcome: &outcome,
        header: &header,
        metrics: &metrics,
        counts: &counts,
        started,
        total: Total {
            calls: scanned.calls,
            all: scanned.archive.is_some(),
        },
        cached,
        strict,
    };
    end_run(run, outputs, deliverer)
}

/// The scan, started.
enum Scan {
    /// With a call to ask, or, for an empty shard (which writes its empty report, so
    /// `merge` sees every shard), with what the finished scan found.
    Going(Arc<Feed>, Option<Box<Scanned>>),
    /// Ctrl-C before the first call was found.
    Interrupted,
}

/// Starts the scan and waits for its first call: a run with nothing to ask fails here, in
/// milliseconds, before anything expensive has started.
fn start_scan(work: &RunWork, halt: &Arc<Halt>, progress: &Progress, quiet: bool) -> anyhow::Result<Scan> {
    let say: Say = {
        let progress = progress.clone();
        Box::new(move |line: &str| progress.warn(line))
    };
    let feed = work.read_inputs(Arc::clone(halt), say, !quiet);
    if feed.has_calls() {
        return Ok(Scan::Going(Arc::new(feed), None));
    }
    let scanned = feed.end();
    if halt.is_halted() {
        eprintln!("interrupted while reading the inputs: nothing was asked, no report was written");
        return Ok(Scan::Interrupted);
    }
    if scanned.archive.as_ref().is_none_or(|a| a.calls == 0) {
        return Err(crate::plan::no_calls(
            &work.inputs,
            &scanned.catalog,
            scanned.errors.len(),
        ));
    }
    Ok(Scan::Going(Arc::new(feed), Some(Box::new(scanned))))
}

/// What the run does once the scan has read every input, once: a shard paces to its share
/// of the budget, and the outputs are told what the scan found.
struct WhenRead<'a> {
    feed: &'a Feed,
    pacer: Option<(Arc<Pacer>, Shard)>,
    /// `--rpm` / `--tpm` of all shards together.
    pace: PaceSettings,
    opening: &'a RunHeader,
    metrics: &'a [Metric],
    has_summary: bool,
    quiet: bool,
    done: bool,
}

impl WhenRead<'_> {
    fn check(&mut self, outputs: &mut Outputs) -> anyhow::Result<()> {
        if self.done {
            return Ok(());
        }
        let Some(chosen) = self.feed.chosen() else {
            return Ok(());
        };
        self.done = true;
        if let Some((pacer, shard)) = &self.pacer {
            let share = crate::plan::pace_share(self.pace, *shard, chosen.calls, chosen.archive.calls, self.quiet);
            pacer.reshare(share);
        }
        let header = RunHeader {
            calls_not_done: chosen.calls,
            input_errors: input_errors(&chosen.errors),
            archive: Some(chosen.archive.clone()),
            ..self.opening.clone()
        };
        outputs.inputs_read(&ReportHead {
            header: &header,
            metrics: self.metrics,
            has_summary: self.has_summary,
        })
    }
}

/// How many calls the run had: all it would have asked, or, when it stopped before the
/// scan had read every input, those found until then.
#[derive(Debug, Clone, Copy)]
struct Total {
    calls: usize,
    all: bool,
}

impl std::fmt::Display for Total {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{}", self.calls, if self.all { "" } else { "+" })
    }
}

/// A run whose calls are all done or given up: what its end reads.
struct Ran<'a> {
    outcome: &'a RunOutcome,
    /// The final header.
    header: &'a RunHeader,
    metrics: &'a [Metric],
    counts: &'a SummaryCounts,
    started: std::time::Instant,
    total: Total,
    cached: bool,
    strict: bool,
}

/// Ends the outputs and the deliveries, prints the summary and says what became of the
/// reports; returns the exit code.
fn end_run(run: Ran<'_>, outputs: Outputs, deliverer: Option<Deliverer>) -> anyhow::Result<ExitCode> {
    let header = run.header;
    // A run that stopped early leaves every existing report as it was: what finished goes
    // beside it, to `<dest>.partial`. Every output is ended even when one fails, so the
    // others' answers are kept.
    let ended = outputs.end(header, header.complete);
    // What was queued is still delivered when the run stopped early: those calls are done.
    let delivery = deliverer.map(Deliverer::finish).transpose();
    eprint!(
        "{}",
        render_summary(run.metrics, run.counts, header, run.started.elapsed())
    );
    say_failed_outputs(&ended, run.cached);
    let delivery = delivery?;
    if let Some(delivery) = &delivery {
        eprintln!("{}", delivery.line());
    }
    let ending = Ending {
        outcome: run.outcome,
        header,
        partials: &ended.partials,
        withheld: &ended.withheld,
        failed_outputs: ended.failed.len(),
        written_outputs: ended.written,
        total: run.total,
        cached: run.cached,
    };
    let code = exit_code(&ending, run.metrics, run.counts, run.strict);
    if code == ExitCode::from(exit::OK) && delivery.is_some_and(|d| d.failed > 0) {
        return Ok(ExitCode::from(exit::DELIVERY_FAILED));
    }
    Ok(code)
}

/// Lists, after the summary, each output that failed, then the run's one error: what was
/// written and, when nothing was, whether the answers can be had again without paying.
fn say_failed_outputs(ended: &Ended, cached: bool) {
    for failure in &ended.failed {
        eprintln!("output failed: {failure}");
    }
    if ended.failed.is_empty() {
        return;
    }
    let failed = ended.failed.len();
    let why = ended.failed.join("; ");
    if ended.written > 0 {
        eprintln!("error: {failed} output(s) failed and were dropped ({why}); the other outputs were written");
    } else if cached {
        eprintln!(
            "error: every output failed ({why}); no report was written. The answers are in the cache: fix the \
             outputs and re-run the same command (cached answers are not asked again)"
        );
    } else {
        eprintln!(
            "error: every output failed ({why}); no report was written, and with --no-cache the answers are \
             not kept anywhere: fix the outputs and re-run"
        );
    }
}

/// The header written last: what was done, why the run stopped if it did, usage and cost,
/// and what the scan found (the archive, the input errors).
fn final_header(
    opening: RunHeader,
    outcome: &RunOutcome,
    scanned: &Scanned,
    counts: &SummaryCounts,
    models: std::collections::BTreeMap<String, Vec<String>>,
    prices: &Prices,
) -> RunHeader {
    let calls_not_done = scanned.calls.saturating_sub(outcome.calls_done);
    let complete = calls_not_done == 0 && scanned.archive.is_some();
    RunHeader {
        finished_at: Some(jiff::Timestamp::now()),
        complete,
        calls_not_done,
        input_errors: input_errors(&scanned.errors),
        archive: scanned.archive.clone(),
        stopped: (!complete).then(|| stop_reason(outcome)),
        calls: outcome.calls_done,
        failed_calls: counts.failed_calls() as usize,
        skipped_calls: counts.skipped_calls() as usize,
        invalid_values: counts.invalid_values() as usize,
        usage: outcome.usage,
        cost_usd: outcome.cost_usd,
        models: model_usage(models, outcome, prices),
        ..opening
    }
}

/// The header's form of the scan's errors.
fn input_errors(errors: &[LoadError]) -> Vec<InputError> {
    errors
        .iter()
        .map(|e| InputError {
            source: e.source_display.clone(),
            message: e.message.clone(),
        })
        .collect()
}

fn stop_reason(outcome: &RunOutcome) -> StopReason {
    if outcome.refusal.is_some() && !outcome.interrupted {
        StopReason::EndpointRefused
    } else if outcome.budget_reached && !outcome.interrupted {
        StopReason::BudgetReached
    } else {
        StopReason::Interrupted
    }
}

/// Which model answers which metrics (`summary` for the summary), by model.
fn models_of(spec: &Spec, groups: &[GroupPlan]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut models = std::collections::BTreeMap::<String, Vec<String>>::new();
    for group in groups {
        let ids = models.entry(group.model.clone()).or_default();
        ids.extend(group.metrics.iter().map(|&i| spec.metrics[i].id.clone()));
        if group.summary {
            ids.push("summary".into());
        }
    }
    models
}

/// The header's `models`: what each model answers, used and cost.
fn model_usage(
    models: std::collections::BTreeMap<String, Vec<String>>,
    outcome: &RunOutcome,
    prices: &Prices,
) -> std::collections::BTreeMap<String, ModelUsage> {
    models
        .into_iter()
        .map(|(model, metrics)| {
            let usage = outcome.by_model.get(&model).copied().unwrap_or_default();
            let cost_usd = prices.cost(&model, evaluate::tokens(&usage));
            (
                model,
                ModelUsage {
                    metrics,
                    usage,
                    cost_usd,
                },
            )
        })
        .collect()
}

/// How the run ended, for its last words.
struct Ending<'a> {
    outcome: &'a RunOutcome,
    header: &'a RunHeader,
    /// Where the reports of a run that stopped early went.
    partials: &'a [PathBuf],
    /// Objects not uploaded because the run stopped early.
    withheld: &'a [String],
    /// How many outputs failed (each said in the summary).
    failed_outputs: usize,
    /// How many outputs were written to the end.
    written_outputs: usize,
    total: Total,
    /// Whether answers went to a cache, so that a re-run does not pay for them again.
    cached: bool,
}

impl Ending<'_> {
    /// How a re-run finishes the job: from the cache, or (with `--no-cache`) from scratch.
    fn rerun(&self) -> String {
        format!(
            "re-run the same command to finish ({})",
            crate::report::outputs::what_a_rerun_asks(self.cached)
        )
    }

    /// "written to r.jsonl.partial (r.jsonl is as it was)", or "written" for stdout.
    fn where_written(&self) -> String {
        if self.written_outputs == 0 && self.failed_outputs > 0 && self.withheld.is_empty() {
            return "not written anywhere (every output failed)".to_string();
        }
        let withheld = (!self.withheld.is_empty()).then(|| {
            let it = if self.withheld.len() == 1 { "it is" } else { "they are" };
            format!(
                "not uploaded to {} (a report object is written only by a run that finishes; {it} as it was)",
                self.withheld.join(", ")
            )
        });
        let local = (self.written_outputs > 0 || withheld.is_none()).then(|| self.where_written_locally());
        match (local, withheld) {
            (Some(local), Some(withheld)) => format!("{local}; {withheld}"),
            (local, withheld) => local.or(withheld).unwrap_or_default(),
        }
    }

    /// [`Ending::where_written`] for the outputs that were ended.
    fn where_written_locally(&self) -> String {
        if self.partials.is_empty() {
            return "written".to_string();
        }
        let list = |paths: Vec<String>| paths.join(", ");
        let partials = list(self.partials.iter().map(|p| p.display().to_string()).collect());
        let dests = list(
            self.partials
                .iter()
                .map(|p| p.with_extension("").display().to_string())
                .collect(),
        );
        let were = if self.partials.len() == 1 {
            "is as it was"
        } else {
            "are as they were"
        };
        format!("written to {partials} ({dests} {were})")
    }
}

/// Starts the plan's local server, if it has one, and says where its log is.
fn start_local(endpoint: &Endpoint, slots: usize, log_dir: &Path, quiet: bool) -> anyhow::Result<Option<LocalServer>> {
    let Some(launch) = &endpoint.local else {
        return Ok(None);
    };
    let running = launch.start(slots, log_dir)?;
    if !quiet {
        // The slot count is said because it caps --concurrency: one request per core.
        eprintln!(
            "using the local model {} (llama-server at {}, {slots} at a time, one per core, {} thread{}; log in {})",
            launch.model.display(),
            running.base_url,
            running.threads,
            if running.threads == 1 { "" } else { "s" },
            running.log.display()
        );
    }
    Ok(Some(running))
}

/// The header written first (`.json` and `.csv` rewrite it at the end): nothing done yet,
/// and nothing known of the inputs (the scan has just begun); a `.jsonl`'s last line has it.
fn opening_header(work: &RunWork, endpoint: &EndpointConfig, started_at: jiff::Timestamp) -> RunHeader {
    RunHeader {
        version: env!("CARGO_PKG_VERSION").to_string(),
        report_format: REPORT_FORMAT_VERSION,
        started_at,
        finished_at: None,
        complete: false,
        calls_not_done: 0,
        stopped: None,
        base_url: endpoint.base_url.redacted(),
        model: endpoint.model.clone(),
        strategy: work.spec.strategy,
        structured_output: endpoint.structured_output,
        metrics_sha256: work.metrics_sha256.clone(),
        calls: 0,
        failed_calls: 0,
        skipped_calls: 0,
        invalid_values: 0,
        usage: Usage::default(),
        cost_usd: None,
        models: Default::default(),
        service_tier: (endpoint.service_tier != ServiceTier::Default).then_some(endpoint.service_tier),
        metadata: Some(work.settings.metadata),
        transcripts: TranscriptReading {
            transcript_format: work.settings.load_options.format,
            speaker_map: work.settings.load_options.speaker_map.clone(),
            all_speakers: work.settings.prompt_options.all_speakers,
        },
        input_errors: Vec::new(),
        archive: None,
        shard: work.rules.shard,
        missing_shards: Vec::new(),
        samples: work.settings.samples,
        confidence: work.settings.confidence,
    }
}

/// Says why the run stopped, if it did, and picks the exit code: a refusal or failed calls
/// 1, an interruption 130, `--strict` with invalid or missing values 3.
fn exit_code(ending: &Ending<'_>, metrics: &[Metric], counts: &SummaryCounts, strict: bool) -> ExitCode {
    let (outcome, header, total) = (ending.outcome, ending.header, ending.total);
    if outcome.cache_write_failures > 1 {
        eprintln!(
            "warning: {} answers could not be written to the cache; a re-run asks them again",
            outcome.cache_write_failures
        );
    }
    // A Ctrl-C that lands while the last requests are in flight stops nothing: they finish
    // in the grace period, and a run with every call answered has nothing to re-run.
    if outcome.interrupted && header.complete {
        eprintln!("interrupted after every call was answered: the reports are complete");
    } else if outcome.interrupted {
        eprintln!(
            "interrupted: {} of {total} calls {}; {}",
            outcome.calls_done,
            ending.where_written(),
            ending.rerun()
        );
        return ExitCode::from(exit::INTERRUPTED);
    }
    if outcome.budget_reached {
        eprintln!(
            "budget reached: stopped scheduling before a request would have passed it; {} of {total} calls {}. \
             Raise the budget and {}.",
            outcome.calls_done,
            ending.where_written(),
            ending.rerun()
        );
        return ExitCode::from(exit::BUDGET_REACHED);
    }
    if let Some(refusal) = &outcome.refusal {
        eprintln!(
            "error: {} refused the request ({refusal}); {}. Stopped after {} of {total} calls, {}.",
            header.base_url,
            refusal.advice(),
            outcome.calls_done,
            ending.where_written()
        );
        return ExitCode::from(exit::ERROR);
    }
    let missing_required: u64 = metrics
        .iter()
        .filter(|m| m.required)
        .filter_map(|m| counts.metric(&m.id))
        .map(|c| c.missing)
        .sum();
    if ending.failed_outputs > 0 {
        return ExitCode::from(exit::ERROR);
    }
    if strict && (counts.invalid_values() > 0 || missing_required > 0) {
        eprintln!(
            "--strict: {} invalid value(s), {missing_required} required value(s) missing",
            counts.invalid_values()
        );
        return ExitCode::from(exit::CHECK_FAILED);
    }
    if counts.failed_calls() > 0 || !header.input_errors.is_empty() {
        return ExitCode::from(exit::ERROR);
    }
    ExitCode::from(exit::OK)
}
