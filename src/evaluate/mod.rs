//! The scheduler: every (call, request group) unit on a dedicated rayon pool, answers
//! assembled per call and streamed in input order to one writer (the caller's thread).
//!
//! Workers pull units from one shared counter, so work proceeds roughly in input order
//! and the reorder buffer in front of the writer stays small even for 100k calls. A halt
//! (Ctrl-C, or an endpoint that refuses us) stops scheduling; in-flight units get a grace
//! period to finish, and whatever is complete is written.

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::cache::Cache;
use crate::llm::price::Tokens;
use crate::llm::{ApiError, Client};
use crate::prompt::{Cut, LongCalls, PromptOptions, fit_call};
use crate::report::{CallError, CallResult, MetricResult, Truncation, Usage};
use crate::spec::Spec;
use crate::transcript::{CallBlock, CallEntry, CallMetadata, LoadOptions, MetadataLevel};

pub mod budget;
pub mod confidence;
pub mod feed;
pub mod plan;
pub mod progress;
pub mod unit;
pub mod vote;

pub use budget::{Budget, Limit};
pub use plan::{GroupPlan, plan_groups, request_overhead, transcript_budget};
pub use unit::{PreparedCall, cache_key, first_request, sample_seeds};
use unit::{UnitContext, UnitOutcome, evaluate_unit};

/// How long in-flight requests may finish after a halt before reports are written anyway.
pub const HALT_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Settings {
    pub concurrency: usize,
    pub max_reask: u32,
    pub long_calls: LongCalls,
    pub max_input_tokens: u64,
    /// What a transcript may take of `max_input_tokens` (see [`plan::transcript_budget`]).
    pub transcript_budget: u64,
    pub prompt_options: PromptOptions,
    pub load_options: LoadOptions,
    pub refresh: bool,
    /// `--max-cost` / `--max-tokens-total`.
    pub budget: Option<Limit>,
    /// How much of each call's metadata its result carries (`--metadata`).
    pub metadata: MetadataLevel,
    /// `--unverified-evidence`.
    pub unverified: crate::validate::evidence::Unverified,
    /// `--samples`: how many times each unit is asked, its values voted (1: once, as ever).
    pub samples: u32,
    /// `--confidence`: what each value's `confidence` is.
    pub confidence: crate::report::ConfidenceSource,
}

/// Everything the workers share. Owned (not borrowed) so that workers still finishing a
/// request after the grace period can outlive the writer without holding it up.
pub struct Evaluation {
    pub spec: Spec,
    /// The calls, in report order, as the scan makes them.
    pub feed: Arc<feed::Feed>,
    pub client: Client,
    pub cache: Option<Cache>,
    pub groups: Vec<GroupPlan>,
    pub settings: Settings,
    /// Built from `settings.budget` with the endpoint's prices.
    pub budget: Option<Budget>,
}

/// Flags shared with the Ctrl-C handler.
#[derive(Debug, Default)]
pub struct Halt {
    /// Stop scheduling new work (set by Ctrl-C or a refusal).
    pub halted: AtomicBool,
    /// Set by Ctrl-C only, to tell an interruption from a refusal.
    pub interrupted: AtomicBool,
}

impl Halt {
    pub fn is_halted(&self) -> bool {
        self.halted.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
pub struct RunOutcome {
    pub calls_done: usize,
    /// The first refusal, which stopped the run.
    pub refusal: Option<ApiError>,
    pub interrupted: bool,
    /// Every request this run sent, including those of calls it did not get to write (a
    /// refused request is sent, and counted, all the same).
    pub usage: Usage,
    /// Clean answers that could not be written to the cache (asked again by a re-run).
    pub cache_write_failures: u64,
    /// USD of every request sent; `None` when a model of the run has no price.
    pub cost_usd: Option<f64>,
    /// Usage per model (every request sent, as `usage`).
    pub by_model: BTreeMap<String, Usage>,
    /// The budget stopped the run.
    pub budget_reached: bool,
}

enum Event {
    Unit {
        pos: usize,
        group: usize,
        outcome: Box<UnitOutcome>,
        /// The call, for the report's say about it (the first unit to arrive starts it).
        call: SharedCall,
    },
    /// A unit whose call will not be written (refused, or cut short by a halt): what it
    /// sent was still sent, and paid for.
    Abandoned {
        group: usize,
        usage: Usage,
    },
    WorkerExit,
}

/// A call as the scan found it and as its requests carry it (or why it is not asked),
/// shared by the call's units.
type SharedCall = Arc<Prepared>;

struct Prepared {
    entry: CallEntry,
    call: Result<PreparedCall, NotAsked>,
}

/// Where a call's units find it once the first of them has taken it from the feed.
type CallCell = Arc<OnceLock<Option<SharedCall>>>;

/// Why a call is not asked.
pub enum NotAsked {
    /// It cannot be: unreadable on re-reading, too long under `--long-calls fail`.
    Failed(String),
    /// Left out on purpose (`--long-calls skip`).
    Skipped(String),
}

struct Shared {
    eval: Evaluation,
    halt: Arc<Halt>,
    next_unit: AtomicUsize,
    /// Each call shared by its units, with how many units have yet to take it; the first
    /// takes it from the feed (`None`: the feed has no call there, the run is done).
    prepared: Mutex<HashMap<usize, (CallCell, usize)>>,
    refusal: Mutex<Option<ApiError>>,
}

/// Runs every unit and hands each finished call, in input order, to `emit`.
pub fn run(
    eval: Evaluation,
    halt: Arc<Halt>,
    progress: &progress::Progress,
    mut emit: impl FnMut(CallResult) -> anyhow::Result<()>,
) -> anyhow::Result<RunOutcome> {
    let concurrency = eval.settings.concurrency.max(1);
    let shared = Arc::new(Shared {
        eval,
        halt,
        next_unit: AtomicUsize::new(0),
        prepared: Mutex::new(HashMap::new()),
        refusal: Mutex::new(None),
    });
    // The pool lives until the writer is done; workers still finishing a request after
    // the grace period own what they need (`shared`).
    let (_pool, rx) = spawn_workers(&shared, concurrency)?;
    let mut writer = Writer::new(&shared, progress);
    let mut workers_left = concurrency;
    let mut halted_at: Option<Instant> = None;
    // Requests in flight when the budget is reached are paid for: they get their full
    // timeout to answer. A Ctrl-C or a refusal waits only HALT_GRACE.
    let budget_grace = shared.eval.client.config().timeout + Duration::from_secs(5);
    while workers_left > 0 {
        if halted_at.is_none() && shared.halt.is_halted() {
            halted_at = Some(Instant::now());
        }
        let grace = match &shared.eval.budget {
            Some(budget) if budget.is_reached() && !shared.halt.interrupted.load(Ordering::Relaxed) => budget_grace,
            _ => HALT_GRACE,
        };
        if halted_at.is_some_and(|t| t.elapsed() > grace) {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(Event::Unit {
                pos,
                group,
                outcome,
                call,
            }) => writer.unit(pos, group, *outcome, &call, &mut emit)?,
            Ok(Event::Abandoned { group, usage }) => writer.count(group, &usage),
            Ok(Event::WorkerExit) => workers_left -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => writer.refresh_progress(),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    // After a halt, calls behind a gap are complete too: write them in order.
    for (_, result) in std::mem::take(&mut writer.ready) {
        emit(result)?;
        writer.emitted += 1;
    }
    progress.finish();
    let refusal = shared.refusal.lock().expect("refusal lock").clone();
    Ok(RunOutcome {
        calls_done: writer.emitted,
        refusal,
        interrupted: shared.halt.interrupted.load(Ordering::Relaxed),
        usage: writer.live,
        cache_write_failures: writer.cache_write_failures,
        cost_usd: writer.cost,
        by_model: writer.by_model,
        budget_reached: shared.eval.budget.as_ref().is_some_and(Budget::is_reached),
    })
}

fn spawn_workers(
    shared: &Arc<Shared>,
    concurrency: usize,
) -> anyhow::Result<(rayon::ThreadPool, mpsc::Receiver<Event>)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(concurrency)
        .thread_name(|i| format!("postcall-worker-{i}"))
        .build()?;
    let (tx, rx) = mpsc::channel::<Event>();
    let tx = Mutex::new(tx);
    let shared = Arc::clone(shared);
    pool.spawn_broadcast(move |_| {
        let tx = tx.lock().expect("sender lock").clone();
        worker(&shared, &tx);
        let _ = tx.send(Event::WorkerExit);
    });
    Ok((pool, rx))
}

/// The caller's side of the pool: assembles units into calls and hands each finished call
/// on in input order, keeping the counts.
struct Writer<'a> {
    shared: &'a Shared,
    progress: &'a progress::Progress,
    assembling: HashMap<usize, Assembly>,
    ready: BTreeMap<usize, CallResult>,
    next_emit: usize,
    emitted: usize,
    /// Summed over every unit as it arrives (abandoned ones too), for the progress line and
    /// the run's totals; each call's own usage is summed in its assembly. Both add up the
    /// units' own counts: usage is counted once, in the unit.
    live: Usage,
    /// The cost of `live`, `None` while a model of the run has no price.
    cost: Option<f64>,
    by_model: BTreeMap<String, Usage>,
    cache_write_failures: u64,
}

impl<'a> Writer<'a> {
    fn new(shared: &'a Shared, progress: &'a progress::Progress) -> Writer<'a> {
        let eval = &shared.eval;
        let priced = eval
            .client
            .config()
            .prices
            .knows_all(eval.groups.iter().map(|g| g.model.as_str()));
        Writer {
            shared,
            progress,
            assembling: HashMap::new(),
            ready: BTreeMap::new(),
            next_emit: 0,
            emitted: 0,
            live: Usage::default(),
            cost: priced.then_some(0.0),
            by_model: BTreeMap::new(),
            cache_write_failures: 0,
        }
    }

    fn refresh_progress(&self) {
        let (found, all) = self.shared.eval.feed.found();
        self.progress.found(found, all);
        self.progress
            .update(&self.live, self.cost, &self.shared.eval.client.gate);
    }

    /// Adds what a unit of `group` used to the run's totals.
    fn count(&mut self, group: usize, usage: &Usage) {
        let eval = &self.shared.eval;
        let model = &eval.groups[group].model;
        self.live.add(usage);
        self.by_model.entry(model.clone()).or_default().add(usage);
        self.cost = add_cost(self.cost, unit_cost(eval, group, usage));
    }

    fn unit(
        &mut self,
        pos: usize,
        group: usize,
        mut outcome: UnitOutcome,
        call: &Prepared,
        emit: &mut impl FnMut(CallResult) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if let Some(error) = outcome.cache_error.take() {
            self.cache_write_failures += 1;
            if self.cache_write_failures == 1 {
                self.progress.warn(&format!(
                    "warning: {error} (the run goes on; answers not cached are asked again by a re-run)"
                ));
            }
        }
        self.count(group, &outcome.usage);
        self.refresh_progress();
        let eval = &self.shared.eval;
        let cost = unit_cost(eval, group, &outcome.usage);
        let entry = self
            .assembling
            .entry(pos)
            .or_insert_with(|| Assembly::new(eval, &call.entry, eval.groups.len()));
        entry.merge(outcome, cost);
        if entry.remaining > 0 {
            return Ok(());
        }
        let result = self.assembling.remove(&pos).expect("entry present").finish(&eval.spec);
        self.ready.insert(pos, result);
        while let Some(result) = self.ready.remove(&self.next_emit) {
            emit(result)?;
            self.emitted += 1;
            self.next_emit += 1;
            self.progress.call_done();
        }
        Ok(())
    }
}

/// What a unit of `group` cost at its model's price; `None` when that is unknown.
fn unit_cost(eval: &Evaluation, group: usize, usage: &Usage) -> Option<f64> {
    eval.client
        .config()
        .prices
        .cost(&eval.groups[group].model, tokens(usage))
}

/// A sum that stays unknown once any part of it is.
fn add_cost(total: Option<f64>, part: Option<f64>) -> Option<f64> {
    Some(total? + part?)
}

/// The tokens of `usage`, as prices count them.
pub fn tokens(usage: &Usage) -> Tokens {
    Tokens {
        prompt: usage.prompt_tokens,
        cached_prompt: usage.cached_prompt_tokens,
        completion: usage.completion_tokens,
    }
}

/// One pool thread: takes the next unit until none is left or the run halts, answers it,
/// and hands the outcome to the writer.
fn worker(shared: &Shared, tx: &mpsc::Sender<Event>) {
    let groups = shared.eval.groups.len().max(1);
    let ctx = unit_context(shared);
    loop {
        if shared.halt.is_halted() {
            return;
        }
        let unit = shared.next_unit.fetch_add(1, Ordering::Relaxed);
        let (pos, group) = (unit / groups, unit % groups);
        // Past the last call the scan found: every unit is taken.
        let Some(call) = prepare(shared, pos) else {
            return;
        };
        let outcome = answer_unit(shared, &ctx, &call, group);
        if hand_over(shared, tx, pos, group, outcome, call).is_break() {
            return;
        }
    }
}

/// What every unit of the run is asked with: the spec, the client, the cache and the
/// run's settings.
fn unit_context(shared: &Shared) -> UnitContext<'_> {
    let eval = &shared.eval;
    UnitContext {
        spec: &eval.spec,
        client: &eval.client,
        cache: eval.cache.as_ref(),
        refresh: eval.settings.refresh,
        max_reask: eval.settings.max_reask,
        prompt_options: eval.settings.prompt_options,
        cancel: &shared.halt.halted,
        budget: eval.budget.as_ref(),
        unverified: eval.settings.unverified,
        samples: eval.settings.samples,
        confidence: eval.settings.confidence,
    }
}

/// The outcome of request group `group` of `prepared`: asked, or why the call is not
/// (said once, on its first unit).
fn answer_unit(shared: &Shared, ctx: &UnitContext<'_>, prepared: &Prepared, group: usize) -> UnitOutcome {
    match &prepared.call {
        Ok(call) => UnitOutcome {
            truncated: call.cut.as_ref().filter(|_| group == 0).map(truncation),
            ..evaluate_unit(ctx, call, &shared.eval.groups[group])
        },
        // A call that is not asked says why once, on its first unit.
        Err(_) if group > 0 => UnitOutcome::default(),
        Err(NotAsked::Failed(message)) => UnitOutcome {
            errors: vec![CallError {
                metric: None,
                message: message.clone(),
            }],
            ..UnitOutcome::default()
        },
        Err(NotAsked::Skipped(reason)) => UnitOutcome {
            skipped: Some(reason.clone()),
            ..UnitOutcome::default()
        },
    }
}

/// Sends a unit's outcome to the writer, or, when the endpoint refused it or the halt cut
/// it short, records that and sends it as abandoned. `Break` when this worker should stop.
fn hand_over(
    shared: &Shared,
    tx: &mpsc::Sender<Event>,
    pos: usize,
    group: usize,
    outcome: UnitOutcome,
    call: SharedCall,
) -> ControlFlow<()> {
    if let Some(refusal) = &outcome.refusal {
        let mut first = shared.refusal.lock().expect("refusal lock");
        if first.is_none() {
            *first = Some(refusal.clone());
        }
        shared.halt.halted.store(true, Ordering::Relaxed);
        // The refused unit's call is not done; it will be asked again on a re-run.
        let _ = tx.send(Event::Abandoned {
            group,
            usage: outcome.usage,
        });
        return ControlFlow::Break(());
    }
    // A unit cut short by the halt is not an answer: leave the call not done, so a
    // re-run (which finds the finished units in the cache) completes it.
    if shared.halt.is_halted() && !outcome.errors.is_empty() {
        let _ = tx.send(Event::Abandoned {
            group,
            usage: outcome.usage,
        });
        return ControlFlow::Break(());
    }
    let sent = tx.send(Event::Unit {
        pos,
        group,
        outcome: Box::new(outcome),
        call,
    });
    if sent.is_err() {
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}

/// The call at `pos`, taken from the feed once (by whichever of its units comes first,
/// the others waiting for it) with the long-call policy applied; `None` past the last call.
fn prepare(shared: &Shared, pos: usize) -> Option<SharedCall> {
    let groups = shared.eval.groups.len().max(1);
    let cell = {
        let mut map = shared.prepared.lock().expect("prepared lock");
        let entry = map.entry(pos).or_insert_with(|| (Arc::default(), groups));
        entry.1 -= 1;
        let cell = Arc::clone(&entry.0);
        if entry.1 == 0 {
            map.remove(&pos);
        }
        cell
    };
    cell.get_or_init(|| {
        let fed = shared.eval.feed.take(pos)?;
        let call = fit(Ok(fed.call), &shared.eval.settings);
        Some(Arc::new(Prepared { entry: fed.entry, call }))
    })
    .clone()
}

/// Applies the long-call policy to `call`: the call as its requests carry it, or why it is
/// not asked.
pub fn fit(
    call: Result<crate::transcript::Call, crate::transcript::LoadError>,
    settings: &Settings,
) -> Result<PreparedCall, NotAsked> {
    let call = call.map_err(|e| NotAsked::Failed(e.to_string()))?;
    match fit_call(call, settings.transcript_budget, settings.long_calls) {
        Ok((call, cut)) => Ok(PreparedCall { call, cut }),
        Err(too_long) if too_long.is_skip() => Err(NotAsked::Skipped(too_long.to_string())),
        Err(too_long) => Err(NotAsked::Failed(too_long.to_string())),
    }
}

/// What the report says about a cut, from what the prompt said.
fn truncation(cut: &Cut) -> Truncation {
    Truncation {
        turns_cut: cut.turns_removed,
        turns_shortened: cut.turns_shortened,
        characters_cut: cut.chars_removed,
        estimated_tokens_cut: cut.tokens_removed,
        note: cut.describe(),
    }
}

/// A call whose units are still arriving.
struct Assembly {
    result: CallResult,
    /// By metric index, so the report keeps metric-file order.
    metrics: Vec<Option<MetricResult>>,
    remaining: usize,
}

impl Assembly {
    fn new(eval: &Evaluation, entry: &CallEntry, units: usize) -> Assembly {
        Assembly {
            result: CallResult {
                call: CallBlock::new(
                    entry.started_at,
                    entry.metadata.as_deref().unwrap_or(&CallMetadata::default()),
                    eval.settings.metadata,
                ),
                cost_usd: Some(0.0),
                ..CallResult::unanswered(entry.id.clone(), entry.source_display.clone(), entry.format)
            },
            metrics: vec![None; eval.spec.metrics.len()],
            remaining: units,
        }
    }

    fn merge(&mut self, outcome: UnitOutcome, cost: Option<f64>) {
        self.remaining -= 1;
        self.result.usage.add(&outcome.usage);
        self.result.cost_usd = add_cost(self.result.cost_usd, cost);
        self.result.errors.extend(outcome.errors);
        self.result.truncated = self.result.truncated.take().or(outcome.truncated);
        self.result.skipped = self.result.skipped.take().or(outcome.skipped);
        if outcome.summary.is_some() {
            self.result.summary = outcome.summary;
        }
        for (index, metric) in outcome.results {
            self.metrics[index] = Some(metric);
        }
    }

    fn finish(mut self, spec: &Spec) -> CallResult {
        self.result.metrics = spec
            .metrics
            .iter()
            .zip(self.metrics)
            .filter_map(|(metric, result)| Some((metric.id.clone(), result?)))
            .collect();
        self.result
    }
}
