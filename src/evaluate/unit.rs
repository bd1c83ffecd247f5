//! One request group for one call: ask, validate, re-ask what was invalid.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::cache::{Cache, Claim, Lookup};
use crate::llm::{ApiError, ChatRequest, Client, Completion, EndpointConfig, ErrorKind, Message};
use crate::prompt::{self, Cut, PromptOptions};
use crate::report::{CallError, MetricResult, Usage};
use crate::spec::{Metric, Spec, StructuredOutput};
use crate::transcript::Call;
use crate::validate::check_answer;

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
        max_tokens: None,
        prompt_cache_key: Some(prompt_cache_key(&prepared.call)),
    }
}

/// The `prompt_cache_key` of every request about `call`: a hash of what the call says, not
/// where it was read from, so it is the same on every run and after the archive moves.
pub fn prompt_cache_key(call: &Call) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(call.id.as_bytes());
    for turn in &call.turns {
        hasher.update(&[0]);
        hasher.update(turn.text.as_bytes());
    }
    format!("postcall-{}", &hasher.finalize().to_hex()[..32])
}

/// The cache key of `request` sent to the endpoint `config` describes.
pub fn cache_key(config: &EndpointConfig, request: &ChatRequest) -> String {
    Cache::key(&config.identity, &crate::llm::request::build_body(config, request))
}

pub fn evaluate_unit(ctx: &UnitContext<'_>, prepared: &PreparedCall, group: &GroupPlan) -> UnitOutcome {
    let schema = &group.schema;
    let mode = ctx.client.config().structured_output;
    let first = first_request(ctx.spec, prepared, group, mode, ctx.prompt_options);
    let (base, cache_routing) = (first.messages, first.prompt_cache_key);
    let expected_completion = expected_completion_tokens(group);

    let mut outcome = UnitOutcome::default();
    let mut pending: Pending = group.metrics.iter().map(|&i| (i, None)).collect();
    let mut want_summary = group.summary;
    let mut messages = base.clone();
    let mut max_tokens = None;

    for attempt in 0..=ctx.max_reask {
        let request = ChatRequest {
            model: group.model.clone(),
            messages: messages.clone(),
            schema: schema.clone(),
            max_tokens,
            prompt_cache_key: cache_routing.clone(),
        };
        let (completion, claim) = match ask(ctx, &request, expected_completion, &mut outcome.usage) {
            Ok(answer) => answer,
            Err(err) => {
                fail_pending(&mut outcome, &pending, ctx.spec, want_summary, &err);
                if matches!(err.kind, ErrorKind::Refused(_)) {
                    outcome.refusal = Some(err);
                }
                return outcome;
            }
        };
        let still = check_into(ctx, &completion.content, &pending, &mut want_summary, &mut outcome);
        let truncated = completion.truncated();
        // Only clean answers are cached: errors and invalid answers never are.
        if let (Some(cache), Some(claim)) = (ctx.cache, claim)
            && still.is_empty()
            && !truncated
            && let Err(e) = claim.fulfil(&completion)
        {
            outcome.cache_error = Some(format!(
                "could not write to the cache in {}: {e}",
                cache.dir().display()
            ));
        }
        pending = still;
        if truncated {
            max_tokens = Some(
                max_tokens
                    .or(ctx.client.config().params.max_tokens)
                    .map_or(DEFAULT_RAISED_MAX_TOKENS, |m| m.saturating_mul(2)),
            );
        }
        if pending.is_empty() || attempt == ctx.max_reask {
            break;
        }
        messages = reask_messages(ctx, &base, &completion.content, &pending, truncated);
    }
    for (index, last) in pending {
        outcome.results.push((
            index,
            last.unwrap_or_else(|| MetricResult::Invalid {
                reason: "no answer".into(),
                raw: String::new(),
            }),
        ));
    }
    outcome.results.sort_by_key(|(i, _)| *i);
    outcome
}

/// Metrics still without a valid answer, with their latest invalid result.
type Pending = Vec<(usize, Option<MetricResult>)>;

/// Checks `answer` for the pending metrics (and the summary, while it is wanted): valid
/// results go into `outcome`, the invalid ones come back, still pending.
fn check_into(
    ctx: &UnitContext<'_>,
    answer: &str,
    pending: &Pending,
    want_summary: &mut bool,
    outcome: &mut UnitOutcome,
) -> Pending {
    let pending_metrics: Vec<&Metric> = pending.iter().map(|(i, _)| &ctx.spec.metrics[*i]).collect();
    let checked = check_answer(&pending_metrics, *want_summary, answer);
    if *want_summary && checked.summary.is_some() {
        outcome.summary = checked.summary;
        *want_summary = false;
    }
    let mut still = Vec::new();
    for ((index, _), (_, result)) in pending.iter().zip(checked.metrics) {
        match result {
            MetricResult::Invalid { .. } => still.push((*index, Some(result))),
            valid => outcome.results.push((*index, valid)),
        }
    }
    still
}

/// The conversation for a re-ask: the original messages, the answer, and what was wrong.
fn reask_messages(
    ctx: &UnitContext<'_>,
    base: &[Message],
    answer: &str,
    pending: &Pending,
    truncated: bool,
) -> Vec<Message> {
    let problems: Vec<(&Metric, &str)> = pending
        .iter()
        .filter_map(|(i, r)| match r {
            Some(MetricResult::Invalid { reason, .. }) => Some((&ctx.spec.metrics[*i], reason.as_str())),
            _ => None,
        })
        .collect();
    let mut messages = base.to_vec();
    messages.push(Message::assistant(answer.to_owned()));
    messages.push(Message::user(prompt::reask_message(&problems, truncated)));
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
            match budget.reserve(estimate) {
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

fn fail_pending(
    outcome: &mut UnitOutcome,
    pending: &[(usize, Option<MetricResult>)],
    spec: &Spec,
    want_summary: bool,
    err: &ApiError,
) {
    for (i, _) in pending {
        outcome.errors.push(CallError {
            metric: Some(spec.metrics[*i].id.clone()),
            message: err.to_string(),
        });
    }
    if want_summary {
        outcome.errors.push(CallError {
            metric: Some("summary".into()),
            message: err.to_string(),
        });
    }
}
