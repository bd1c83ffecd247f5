//! One request group for one call: ask, validate, re-ask what was invalid.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

use crate::cache::{Cache, Claim, Lookup};
use crate::llm::{ApiError, ChatRequest, Client, Completion, EndpointConfig, ErrorKind, Message};
use crate::prompt::{self, Cut, PromptOptions};
use crate::report::{CallError, ConfidenceSource, MetricResult, Usage};
use crate::spec::{Metric, Spec, StructuredOutput};
use crate::transcript::Call;
use crate::validate::check_answer;
use crate::validate::evidence::{self, Transcript, Unverified};

use super::budget::Budget;
use super::plan::{GroupPlan, expected_completion_tokens};

/// Output-token room given to an answer that was cut off, when no limit was configured.
const DEFAULT_RAISED_MAX_TOKENS: u32 = 2048;

/// Everything a unit needs that is the same for the whole run.
pub struct UnitContext<'a> {
    pub spec: &'a Spec,
    pub client: &'a Client,
    pub cache: Option<&'a Cache>,
    /// Re-ask and overwrite cached answers.
    pub refresh: bool,
    pub max_reask: u32,
    pub prompt_options: PromptOptions,
    /// Set to stop the run: by Ctrl-C, a refusal, or the budget.
    pub cancel: &'a AtomicBool,
    /// `--max-cost` / `--max-tokens-total`, checked before every request.
    pub budget: Option<&'a Budget>,
    /// `--unverified-evidence`: what an `ok` value whose quotes are not found gets.
    pub unverified: Unverified,
    /// `--samples`: how many times each unit is asked (at least 1).
    pub samples: u32,
    /// `--confidence`: what each value's `confidence` is.
    pub confidence: ConfidenceSource,
}

/// What one group's request(s) produced.
#[derive(Debug, Default)]
pub struct UnitOutcome {
    /// (index into spec.metrics, result)
    pub results: Vec<(usize, MetricResult)>,
    pub summary: Option<String>,
    pub errors: Vec<CallError>,
    pub usage: Usage,
    /// The endpoint refused us in a way that will not change: stop the run.
    pub refusal: Option<ApiError>,
    /// A clean answer that could not be written to the cache, and why. Reported by the
    /// scheduler (a worker printing would tear the progress line).
    pub cache_error: Option<String>,
    /// What was cut from the call to fit (set once per call, by the scheduler).
    pub truncated: Option<crate::report::Truncation>,
    /// Why the call was not asked at all (`--long-calls skip`).
    pub skipped: Option<String>,
}

/// A call ready to be asked about: possibly shortened, with the note saying so.
pub struct PreparedCall {
    pub call: Call,
    pub cut: Option<Cut>,
}

/// The first request of one group for one call. Its cache key is where a finished unit's
/// answer is found, so `--dry-run` builds it with this same function to count what is
/// cached.
pub fn first_request(
    spec: &Spec,
    prepared: &PreparedCall,
    group: &GroupPlan,
    mode: StructuredOutput,
    options: PromptOptions,
) -> ChatRequest {
    let questions = group.questions(spec);
    ChatRequest {
        model: group.model.clone(),
        messages: prompt::build_messages(
            spec,
            &prepared.call,
            prepared.cut.as_ref(),
            &questions,
            mode,
            &group.schema,
            options,
        ),
        schema: group.schema.clone(),
        max_tokens: group.max_tokens,
        prompt_cache_key: Some(prompt_cache_key(&prepared.call)),
        seed: None,
    }
}

/// The `prompt_cache_key` of every request about `call`: a hash of what the call says, not
/// where it was read from, so it is the same on every run and after the archive moves.
pub fn prompt_cache_key(call: &Call) -> String {
    let mut bytes = Vec::with_capacity(call.id.len() + call.turns.iter().map(|t| t.text.len() + 1).sum::<usize>());
    bytes.extend_from_slice(call.id.as_bytes());
    for turn in &call.turns {
        bytes.push(0);
        bytes.extend_from_slice(turn.text.as_bytes());
    }
    // Hashed in one update, as `Call::digest` is (SIMD across chunks); the same bytes as
    // the per-turn updates this replaces, so the key is unchanged.
    format!("postcall-{}", &blake3::hash(&bytes).to_hex()[..32])
}

/// The cache key of `request` sent to the endpoint `config` describes.
pub fn cache_key(config: &EndpointConfig, request: &ChatRequest) -> String {
    Cache::key(&config.identity, &crate::llm::request::build_body(config, request))
}

/// The seed each sample of a unit is asked with, in sample order. One sample: `None`, the
/// request carries the configured seed as ever (and keeps its cache key). K > 1: sample i
/// has the configured seed (0 without one) + i, so its requests, and so its cache keys,
/// are its own, and a re-run finds every sample in the cache. `--dry-run` looks the same
/// keys up.
pub fn sample_seeds(samples: u32, configured: Option<i64>) -> Vec<Option<i64>> {
    if samples <= 1 {
        return vec![None];
    }
    let base = configured.unwrap_or(0);
    (0..samples).map(|i| Some(base.wrapping_add(i64::from(i)))).collect()
}

pub fn evaluate_unit(ctx: &UnitContext<'_>, prepared: &PreparedCall, group: &GroupPlan) -> UnitOutcome {
    if ctx.samples <= 1 {
        return evaluate_sample(ctx, prepared, group, None);
    }
    let seeds = sample_seeds(ctx.samples, ctx.client.config().params.seed);
    let mut outcomes = Vec::with_capacity(seeds.len());
    for (i, seed) in seeds.into_iter().enumerate() {
        if ctx.cancel.load(Ordering::Relaxed) {
            // Fewer samples than asked are not this unit's answer: the error leaves the
            // call not done, for a re-run to finish from the cache.
            let mut cut_short = UnitOutcome::default();
            cut_short.errors.push(CallError {
                metric: None,
                message: format!("stopped after {i} of {} samples", ctx.samples),
            });
            outcomes.push(cut_short);
            break;
        }
        let outcome = evaluate_sample(ctx, prepared, group, seed);
        let refused = outcome.refusal.is_some();
        outcomes.push(outcome);
        if refused {
            break;
        }
    }
    let mut combined = combine_samples(ctx.spec, group, outcomes);
    if ctx.confidence == ConfidenceSource::Consistency {
        for (_, result) in &mut combined.results {
            super::confidence::from_consistency(result);
        }
    }
    combined
}

/// One outcome out of the samples' (in sample order): each metric's value voted (see
/// [`super::vote`]), the usage of every request, the errors of what has no valid value.
/// A metric that some samples could not answer (their request failed) is voted by the
/// others, and its `samples` says how many that was.
fn combine_samples(spec: &Spec, group: &GroupPlan, outcomes: Vec<UnitOutcome>) -> UnitOutcome {
    let mut combined = UnitOutcome::default();
    let mut by_metric: HashMap<usize, Vec<MetricResult>> = HashMap::new();
    let mut errors = Vec::new();
    for outcome in outcomes {
        combined.usage.add(&outcome.usage);
        combined.refusal = combined.refusal.or(outcome.refusal);
        combined.cache_error = combined.cache_error.or(outcome.cache_error);
        combined.summary = combined.summary.or(outcome.summary);
        for (index, result) in outcome.results {
            by_metric.entry(index).or_default().push(result);
        }
        errors.extend(outcome.errors);
    }
    for &index in &group.metrics {
        if let Some(samples) = by_metric.remove(&index) {
            combined
                .results
                .push((index, super::vote::vote(&spec.metrics[index].kind, samples)));
        }
    }
    let valid = |id: &str| {
        combined
            .results
            .iter()
            .any(|(i, r)| spec.metrics[*i].id == id && r.status() != crate::report::Status::Invalid)
    };
    for error in errors {
        let settled = match error.metric.as_deref() {
            Some("summary") => combined.summary.is_some(),
            Some(id) => valid(id),
            None => false,
        };
        if !settled && !combined.errors.contains(&error) {
            combined.errors.push(error);
        }
    }
    combined
}

/// One ask of the unit (with its re-asks), with `seed` over the configured one.
fn evaluate_sample(
    ctx: &UnitContext<'_>,
    prepared: &PreparedCall,
    group: &GroupPlan,
    seed: Option<i64>,
) -> UnitOutcome {
    let config = ctx.client.config();
    let mode = config.structured_output;
    let first = ChatRequest {
        seed,
        ..first_request(ctx.spec, prepared, group, mode, ctx.prompt_options)
    };
    let expected_completion = expected_completion_tokens(group);
    let mut outcome = UnitOutcome::default();
    let transcript = evidence_transcript(ctx, prepared, group);
    let mut answers = Answers::new(group);
    answers.transcript = transcript.as_ref();
    // Borrowed until a re-ask builds another: the first request is sent without a copy.
    let mut request = Cow::Borrowed(&first);
    // The claim on the first request's key, held until the unit is done: the call's final
    // answer is stored there, however many re-asks it took, so a re-run finds it at once
    // (issue 11), and another run asking the same waits for it instead of paying again.
    let mut first_claim = None;
    let mut first_was_cached = false;
    let mut attempts = 0;
    for attempt in 0..=ctx.max_reask {
        attempts = attempt + 1;
        let cached_before = outcome.usage.cached;
        let (completion, claim) = match ask(ctx, &request, expected_completion, &mut outcome.usage) {
            Ok(answer) => answer,
            Err(err) => {
                answers.settle_fallbacks(&mut outcome);
                fail_pending(&mut outcome, &answers, ctx.spec, &err);
                if matches!(err.kind, ErrorKind::Refused(_)) {
                    outcome.refusal = Some(err);
                }
                return outcome;
            }
        };
        if attempt == 0 {
            first_was_cached = claim.is_none();
            first_claim = claim;
        }
        if completion.truncated() {
            outcome.usage.cut_off += 1;
        }
        // A cached answer went through its re-asks when it was stored (asking again would
        // be a request every re-run pays for), and the last ask has no re-ask left.
        answers.may_reask_evidence =
            ctx.unverified == Unverified::Reask && outcome.usage.cached == cached_before && attempt < ctx.max_reask;
        let clean = answers.clean_after(ctx, &completion, &mut outcome);
        if clean && attempt == 0 {
            // A clean first answer is stored as it came (what every earlier run stored).
            store(ctx, first_claim.take(), &completion, &mut outcome);
            return finish(outcome, answers);
        }
        if clean || attempt == ctx.max_reask {
            break;
        }
        let previous = Attempt {
            max_tokens: request.max_tokens,
            completion: &completion,
        };
        request = Cow::Owned(reask_request(ctx, prepared, group, &first, previous, &answers));
    }
    if answers.is_done() && attempts > 1 {
        let claim = first_claim.or_else(|| {
            // A cached first answer that no longer validates: its re-asked whole replaces it.
            (first_was_cached && !ctx.refresh)
                .then(|| ctx.cache.map(|c| c.overwrite(cache_key(config, &first))))
                .flatten()
        });
        let merged = answers.merged(&outcome.usage);
        store(ctx, claim, &merged, &mut outcome);
    }
    finish(outcome, answers)
}

/// The turns as the prompt numbered them, for checking quotes: only when a metric of the
/// group asks for evidence (building it costs a pass over the transcript).
fn evidence_transcript<'c>(
    ctx: &UnitContext<'_>,
    prepared: &'c PreparedCall,
    group: &GroupPlan,
) -> Option<Transcript<'c>> {
    group
        .metrics
        .iter()
        .any(|&i| ctx.spec.metrics[i].evidence)
        .then(|| Transcript::new(prompt::shown_turns(&prepared.call, ctx.prompt_options).map(|t| t.text.as_str())))
}

/// The ask a re-ask follows: the budget it was sent with and what came back.
struct Attempt<'a> {
    max_tokens: Option<u32>,
    completion: &'a Completion,
}

/// The next ask of what is still unanswered after `previous`: narrowed to the pending
/// metrics, with the first request's seed and prompt-cache key.
fn reask_request(
    ctx: &UnitContext<'_>,
    prepared: &PreparedCall,
    group: &GroupPlan,
    first: &ChatRequest,
    previous: Attempt<'_>,
    answers: &Answers<'_>,
) -> ChatRequest {
    let config = ctx.client.config();
    let narrowed = group.narrowed(ctx.spec, answers.pending_indices(), answers.want_summary, config);
    if previous.completion.truncated() {
        // The cut text is not sent back (it is the loop that filled the budget): the rest
        // is asked afresh, with twice the room it needs.
        let mut fresh = first_request(
            ctx.spec,
            prepared,
            &narrowed,
            config.structured_output,
            ctx.prompt_options,
        );
        fresh.seed = first.seed;
        fresh.max_tokens = Some(raised_budget(&narrowed, previous.max_tokens, config));
        return fresh;
    }
    ChatRequest {
        model: group.model.clone(),
        messages: reask_messages(ctx, &first.messages, &previous.completion.content, answers, &narrowed),
        schema: narrowed.schema.clone(),
        max_tokens: narrowed.max_tokens,
        prompt_cache_key: first.prompt_cache_key.clone(),
        seed: first.seed,
    }
}

/// More room for an answer that was cut off: twice what the narrowed request needs, or
/// twice the configured limit, or [`DEFAULT_RAISED_MAX_TOKENS`] when nothing bounds it.
fn raised_budget(narrowed: &GroupPlan, previous: Option<u32>, config: &EndpointConfig) -> u32 {
    let configured = match config.params.max_tokens {
        Some(crate::spec::MaxTokens::Limit(n)) => Some(n),
        _ => None,
    };
    match narrowed.max_tokens.or(configured) {
        Some(needed) => needed.saturating_mul(2).max(previous.unwrap_or(0)),
        None => previous.map_or(DEFAULT_RAISED_MAX_TOKENS, |p| p.saturating_mul(2)),
    }
}

/// Stores a clean answer through `claim` (when there is a cache), noting a failure.
fn store(ctx: &UnitContext<'_>, claim: Option<Claim>, completion: &Completion, outcome: &mut UnitOutcome) {
    if let (Some(cache), Some(claim)) = (ctx.cache, claim)
        && let Err(e) = claim.fulfil(completion)
    {
        outcome.cache_error = Some(format!("could not write to the cache in {}: {e}", cache.shown()));
    }
}

/// The unit's results: every metric answered or with its last invalid answer, and the
/// summary's problem as an error when it never came.
fn finish(mut outcome: UnitOutcome, mut answers: Answers<'_>) -> UnitOutcome {
    answers.settle_fallbacks(&mut outcome);
    for (index, last) in answers.pending {
        outcome.results.push((
            index,
            last.unwrap_or_else(|| MetricResult::Invalid {
                reason: "no answer".into(),
                raw: String::new(),
            }),
        ));
    }
    if answers.want_summary {
        outcome.errors.push(CallError {
            metric: Some("summary".into()),
            message: format!(
                "no valid summary: {}",
                answers.summary_problem.unwrap_or_else(|| "no answer".into())
            ),
        });
    }
    outcome.results.sort_by_key(|(i, _)| *i);
    outcome
}

/// What a unit's answers have settled so far.
struct Answers<'t> {
    /// Metrics still without a valid answer, with their latest invalid result.
    pending: Vec<(usize, Option<MetricResult>)>,
    /// Valid answers none of whose quotes was found, re-asked once for evidence
    /// (`--unverified-evidence reask`): kept, flagged, if the re-ask brings nothing better.
    /// With the property as the model wrote it, for the merged answer.
    fallback: HashMap<usize, (MetricResult, Value)>,
    /// The call's turns for checking quotes (`None`: no metric of the group asks for any).
    transcript: Option<&'t Transcript<'t>>,
    /// Whether this answer's unverified values may be re-asked (set before each check).
    may_reask_evidence: bool,
    /// The summary is asked and has not come as a string yet.
    want_summary: bool,
    summary_problem: Option<String>,
    /// Each settled metric's property as the model wrote it, and the summary: the final
    /// answer, stored under the first request's key once nothing is pending.
    merged: Map<String, Value>,
    /// With `--confidence logprobs`: each settled metric's value probability, from the
    /// answer that settled it (`None` until an answer came with logprobs), for the
    /// merged answer.
    probabilities: Option<std::collections::BTreeMap<String, f64>>,
}

impl<'t> Answers<'t> {
    fn new(group: &GroupPlan) -> Answers<'t> {
        Answers {
            pending: group.metrics.iter().map(|&i| (i, None)).collect(),
            fallback: HashMap::new(),
            transcript: None,
            may_reask_evidence: false,
            want_summary: group.summary,
            summary_problem: None,
            merged: Map::new(),
            probabilities: None,
        }
    }

    fn is_done(&self) -> bool {
        self.pending.is_empty() && !self.want_summary
    }

    fn pending_indices(&self) -> Vec<usize> {
        self.pending.iter().map(|(i, _)| *i).collect()
    }

    /// Checks `completion` for what is pending: valid results go into `outcome` (and the
    /// merged answer), the invalid ones stay pending. Whether nothing is pending now.
    fn clean_after(&mut self, ctx: &UnitContext<'_>, completion: &Completion, outcome: &mut UnitOutcome) -> bool {
        let metrics: Vec<&Metric> = self.pending.iter().map(|(i, _)| &ctx.spec.metrics[*i]).collect();
        let checked = check_answer(&metrics, self.want_summary, &completion.content);
        if let Some(summary) = checked.summary {
            self.merged.insert("summary".into(), Value::String(summary.clone()));
            outcome.summary = Some(summary);
            self.want_summary = false;
        } else if self.want_summary {
            self.summary_problem = checked.summary_problem;
        }
        let mut still = Vec::new();
        let pending = std::mem::take(&mut self.pending);
        for ((index, _), (id, result)) in pending.into_iter().zip(checked.metrics) {
            let property = checked.object.as_ref().and_then(|o| o.get(&id)).cloned();
            match result {
                MetricResult::Invalid { .. } if self.fallback.contains_key(&index) => {
                    // The evidence re-ask came back invalid: the first answer stands, flagged.
                    let (result, property) = self.fallback.remove(&index).expect("checked");
                    self.accept(index, &id, result, Some(property), outcome);
                }
                MetricResult::Invalid { reason, raw } => {
                    let reason = if completion.truncated() && reason.starts_with("no answer for") {
                        format!("the answer was cut off at the token limit before `{id}` was complete")
                    } else {
                        reason
                    };
                    still.push((index, Some(MetricResult::Invalid { reason, raw })));
                }
                mut valid => {
                    let metric = &ctx.spec.metrics[index];
                    if ctx.confidence == ConfidenceSource::Logprobs {
                        let found = completion.value_probabilities.as_ref();
                        super::confidence::from_logprobs(&mut valid, &id, &metric.kind, found);
                        if let Some(p) = found.and_then(|f| f.get(&id)) {
                            self.probabilities.get_or_insert_default().insert(id.clone(), *p);
                        }
                    }
                    let flagged = match self.transcript.filter(|_| metric.evidence) {
                        Some(transcript) => transcript.check(&mut valid, ctx.unverified),
                        None => false,
                    };
                    if flagged && self.may_reask_evidence && !self.fallback.contains_key(&index) {
                        let grounds = valid.grounds().map(|g| g.evidence.as_slice()).unwrap_or_default();
                        let again = MetricResult::Invalid {
                            reason: evidence::reask_reason(grounds),
                            raw: property.as_ref().map(Value::to_string).unwrap_or_default(),
                        };
                        self.fallback.insert(index, (valid, property.unwrap_or(Value::Null)));
                        still.push((index, Some(again)));
                    } else {
                        self.fallback.remove(&index);
                        self.accept(index, &id, valid, property, outcome);
                    }
                }
            }
        }
        self.pending = still;
        self.is_done()
    }

    /// A settled metric: its result into `outcome`, its property into the merged answer.
    fn accept(
        &mut self,
        index: usize,
        id: &str,
        result: MetricResult,
        property: Option<Value>,
        outcome: &mut UnitOutcome,
    ) {
        if let Some(property) = property {
            self.merged.insert(id.to_string(), property);
        }
        outcome.results.push((index, result));
    }

    /// Metrics waiting on an evidence re-ask that will not come (the request failed, or no
    /// re-ask is left): their first answer stands, flagged.
    fn settle_fallbacks(&mut self, outcome: &mut UnitOutcome) {
        let pending = std::mem::take(&mut self.pending);
        for (index, last) in pending {
            match self.fallback.remove(&index) {
                Some((result, _)) => outcome.results.push((index, result)),
                None => self.pending.push((index, last)),
            }
        }
    }

    /// The final answer as one completion: every metric's property and the summary, as
    /// the model wrote them across the asks, with what they cost in all.
    fn merged(&self, usage: &Usage) -> Completion {
        Completion {
            content: Value::Object(self.merged.clone()).to_string(),
            finish_reason: Some("stop".into()),
            usage: crate::llm::TokenUsage {
                prompt_tokens: usage.prompt_tokens,
                cached_prompt_tokens: usage.cached_prompt_tokens,
                completion_tokens: usage.completion_tokens,
            },
            value_probabilities: self.probabilities.clone(),
        }
    }
}

/// The conversation for a re-ask: the original messages, the answer, and what was wrong,
/// asking only for what is still pending.
fn reask_messages(
    ctx: &UnitContext<'_>,
    base: &[Message],
    answer: &str,
    answers: &Answers,
    narrowed: &GroupPlan,
) -> Vec<Message> {
    let problems: Vec<(&Metric, &str)> = answers
        .pending
        .iter()
        .map(|(i, r)| {
            let reason = match r {
                Some(MetricResult::Invalid { reason, .. }) => reason.as_str(),
                _ => "no answer",
            };
            (&ctx.spec.metrics[*i], reason)
        })
        .collect();
    let summary = answers
        .want_summary
        .then(|| answers.summary_problem.as_deref().unwrap_or("no `summary`"));
    let mut messages = base.to_vec();
    messages.push(Message::assistant(answer.to_owned()));
    // Without structured outputs the narrowed schema is only in the prompt: show it.
    let schema = matches!(
        ctx.client.config().structured_output,
        StructuredOutput::JsonObject | StructuredOutput::Prompt
    )
    .then_some(narrowed.schema.as_ref());
    messages.push(Message::user(prompt::reask_message(&problems, summary, schema)));
    messages
}

/// Asks the cache, then the endpoint. A fresh answer comes with the claim on its cache key
/// (see [`Cache::get_or_claim`]), through which it is stored once it has been checked; until
/// then, other runs asking the same request wait for it rather than pay for it again.
fn ask(
    ctx: &UnitContext<'_>,
    request: &ChatRequest,
    expected_completion: u64,
    usage: &mut Usage,
) -> Result<(Completion, Option<Claim>), ApiError> {
    let claim = match ctx.cache {
        Some(cache) => {
            let key = cache_key(ctx.client.config(), request);
            if ctx.refresh {
                Some(cache.overwrite(key))
            } else {
                match cache.get_or_claim(&key, ctx.cancel) {
                    Lookup::Hit(hit) => {
                        usage.cached += 1;
                        return Ok((hit, None));
                    }
                    Lookup::Claimed(claim) => Some(claim),
                    Lookup::Cancelled => return Err(ApiError::transient("cancelled")),
                }
            }
        }
        None => None,
    };
    let reservation = match ctx.budget {
        Some(budget) => {
            let completion = budget.expected_completion(expected_completion);
            let estimate = budget.measure(&request.model, estimated_tokens(ctx, request, completion));
            match budget.reserve(estimate, ctx.cancel) {
                Some(reservation) => Some((budget, reservation)),
                None => {
                    // Nothing more is scheduled; what is in flight finishes.
                    ctx.cancel.store(true, Ordering::SeqCst);
                    return Err(ApiError::transient(format!("{} reached", budget.limit())));
                }
            }
        }
        None => None,
    };
    let attempted = ctx.client.complete(request, ctx.cancel);
    usage.requests += attempted.requests;
    usage.retries += attempted.retries;
    let used = attempted.result.as_ref().map(|c| c.usage).unwrap_or_default();
    if let Some((budget, reservation)) = reservation {
        budget.settle(
            reservation,
            budget.measure(&request.model, tokens_of(used)),
            used.completion_tokens,
        );
    }
    let completion = attempted.result?;
    usage.prompt_tokens += used.prompt_tokens;
    usage.cached_prompt_tokens += used.cached_prompt_tokens;
    usage.completion_tokens += used.completion_tokens;
    Ok((completion, claim))
}

/// What a request is expected to use before it is sent: its prompt as the model's
/// tokenizer counts it (or the estimate), and the answer a request of its group usually
/// gets (or the room it is given, if less).
fn estimated_tokens(
    ctx: &UnitContext<'_>,
    request: &ChatRequest,
    expected_completion: u64,
) -> crate::llm::price::Tokens {
    let counter = crate::llm::tokens::Counter::for_model(&request.model);
    crate::llm::price::Tokens {
        prompt: counter.prompt_tokens(request, crate::llm::tokens::schema_billed(ctx.client.config())),
        cached_prompt: 0,
        completion: request
            .max_tokens
            .map_or(expected_completion, |m| expected_completion.min(m as u64)),
    }
}

fn tokens_of(usage: crate::llm::TokenUsage) -> crate::llm::price::Tokens {
    crate::llm::price::Tokens {
        prompt: usage.prompt_tokens,
        cached_prompt: usage.cached_prompt_tokens,
        completion: usage.completion_tokens,
    }
}

fn fail_pending(outcome: &mut UnitOutcome, answers: &Answers, spec: &Spec, err: &ApiError) {
    for (i, _) in &answers.pending {
        outcome.errors.push(CallError {
            metric: Some(spec.metrics[*i].id.clone()),
            message: err.to_string(),
        });
    }
    if answers.want_summary {
        outcome.errors.push(CallError {
            metric: Some("summary".into()),
            message: err.to_string(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::{Format, Speaker, Turn};

    fn call() -> Call {
        let turn = |speaker, text: &str| Turn {
            speaker,
            text: text.into(),
            offset_secs: None,
        };
        Call {
            id: "call-1".into(),
            source: "a.json".into(),
            format: Format::Generic,
            started_at: None,
            metadata: Default::default(),
            speaker_inference: None,
            turns: (0..40)
                .map(|i| {
                    turn(
                        if i % 2 == 0 { Speaker::Agent } else { Speaker::Customer },
                        &"word ".repeat(i * 7),
                    )
                })
                .collect(),
        }
    }

    /// The archive fingerprint and the provider's prompt cache key must not change from one
    /// version to the next (shards of two versions would not merge, a provider cache would
    /// go cold): both are the hash of the same bytes as when they were fed a turn at a time.
    #[test]
    fn call_hashes_are_those_of_the_turn_by_turn_bytes() {
        let call = call();
        let mut by_turn = blake3::Hasher::new();
        for turn in &call.turns {
            by_turn.update(turn.speaker.label().as_bytes());
            by_turn.update(&(turn.text.len() as u64).to_le_bytes());
            by_turn.update(turn.text.as_bytes());
        }
        let digest = u64::from_le_bytes(by_turn.finalize().as_bytes()[..8].try_into().unwrap());
        assert_eq!(call.digest(), digest);

        let mut by_turn = blake3::Hasher::new();
        by_turn.update(call.id.as_bytes());
        for turn in &call.turns {
            by_turn.update(&[0]);
            by_turn.update(turn.text.as_bytes());
        }
        assert_eq!(
            prompt_cache_key(&call),
            format!("postcall-{}", &by_turn.finalize().to_hex()[..32])
        );
    }
}
