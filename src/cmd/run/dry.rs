//! `postcall run --dry-run`: what a run would send and cost, without sending anything.

use std::io::Write as _;
use std::process::ExitCode;

use crate::cli::exit;
use crate::evaluate::request_overhead;
use crate::plan::{DryEndpoint, DryRunPlan, Work};
use crate::prompt::LongCalls;
use crate::spec::StructuredOutput;
use crate::terminal::{Escaped, eprintln};

/// Rough output size of one answered metric (reasoning sentence + value + confidence).
const OUTPUT_TOKENS_PER_METRIC: u64 = 80;
const OUTPUT_TOKENS_FOR_SUMMARY: u64 = 100;

/// What the plan would ask of the endpoint. Re-asks are not counted.
struct Estimate {
    requests: usize,
    input_tokens: u64,
    output_tokens: u64,
    /// Calls whose requests would be over max_input_tokens, whatever the policy does with them.
    long_calls: usize,
}

/// Prints the estimate; exit 1 when some input could not be read, as a run would.
pub fn dry_run(plan: &DryRunPlan) -> anyhow::Result<ExitCode> {
    let work = &plan.work;
    let config = plan.endpoint.config();
    if let DryEndpoint::Preview { why, .. } = &plan.endpoint {
        eprintln!("note: {why}");
    }
    let estimate = estimate(work, config.structured_output);
    let settings = &work.settings;
    // Written as it goes, so a closed pipe stops it with an error `main` treats as success.
    let mut out = Escaped(std::io::stdout().lock());
    writeln!(out, "dry run: nothing was sent")?;
    writeln!(
        out,
        "  calls           {} ({} input error(s), {} non-JSON file(s) skipped)",
        work.calls.len(),
        work.catalog.errors.len(),
        work.catalog.skipped_non_json
    )?;
    writeln!(
        out,
        "  requests        {} ({} per call, {} strategy; re-asks not counted)",
        estimate.requests,
        work.groups.len(),
        work.spec.strategy
    )?;
    writeln!(out, "  input tokens    ~{} (estimated)", estimate.input_tokens)?;
    writeln!(
        out,
        "  output tokens   ~{} (estimated, ~{OUTPUT_TOKENS_PER_METRIC} per metric)",
        estimate.output_tokens
    )?;
    match config.price {
        Some(price) => writeln!(
            out,
            "  cost            ~${:.4} at ${}/${} per million input/output tokens (cached answers cost nothing)",
            crate::llm::config::cost(&price, estimate.input_tokens, estimate.output_tokens),
            price.input_per_mtok,
            price.output_per_mtok
        )?,
        None => writeln!(
            out,
            "  cost            unknown: pass --price IN,OUT (USD per million tokens) or set llm.price"
        )?,
    }
    writeln!(
        out,
        "  long calls      {} over max_input_tokens {} (--long-calls {})",
        estimate.long_calls, settings.max_input_tokens, settings.long_calls
    )?;
    if let DryEndpoint::Resolved(endpoint) = &plan.endpoint {
        match &endpoint.local {
            Some(local) => writeln!(
                out,
                "  endpoint        a local llama-server with {} (started by a real run), model {}",
                local.model.display(),
                endpoint.config.model
            )?,
            None => writeln!(
                out,
                "  endpoint        {} model {}",
                endpoint.config.base_url, endpoint.config.model
            )?,
        }
    }
    out.flush()?;
    Ok(ExitCode::from(if work.catalog.errors.is_empty() {
        exit::OK
    } else {
        exit::ERROR
    }))
}

fn estimate(work: &Work, mode: StructuredOutput) -> Estimate {
    let spec = &work.spec;
    // The fixed part of each request: system message and questions around an empty transcript.
    let overhead: Vec<u64> = work
        .groups
        .iter()
        .map(|g| request_overhead(spec, g, mode, work.settings.prompt_options))
        .collect();
    let output_per_call: u64 = work
        .groups
        .iter()
        .map(|g| {
            g.metrics.len() as u64 * OUTPUT_TOKENS_PER_METRIC + if g.summary { OUTPUT_TOKENS_FOR_SUMMARY } else { 0 }
        })
        .sum();
    let max = work.settings.transcript_budget;
    let (mut input, mut long, mut asked) = (0u64, 0usize, 0usize);
    for &index in &work.calls {
        let mut tokens = work.catalog.entries[index].estimated_tokens;
        if tokens > max {
            long += 1;
            match work.settings.long_calls {
                LongCalls::Truncate => tokens = max,
                LongCalls::Fail | LongCalls::Skip => continue,
            }
        }
        asked += 1;
        input += overhead.iter().map(|o| o + tokens).sum::<u64>();
    }
    Estimate {
        requests: asked * work.groups.len(),
        input_tokens: input,
        output_tokens: output_per_call * asked as u64,
        long_calls: long,
    }
}
