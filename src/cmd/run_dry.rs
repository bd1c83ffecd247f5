//! `postcall run --dry-run`: what a run would send and cost, without sending anything.

use crate::evaluate::{GroupPlan, LongCalls};
use crate::llm::EndpointConfig;
use crate::llm::config::cost;
use crate::prompt::{self, PromptOptions};
use crate::spec::{Spec, StructuredOutput};
use crate::transcript::{Call, Catalog, Format, estimate_tokens_for_chars};

/// Rough output size of one answered metric (reasoning sentence + value + confidence).
const OUTPUT_TOKENS_PER_METRIC: u64 = 80;
const OUTPUT_TOKENS_FOR_SUMMARY: u64 = 100;

#[allow(clippy::too_many_arguments)]
pub fn print_dry_run(
    spec: &Spec,
    catalog: &Catalog,
    calls: &[usize],
    groups: &[GroupPlan],
    endpoint: Option<&EndpointConfig>,
    max_input_tokens: u64,
    long_calls: LongCalls,
) {
    let mode = endpoint.map_or(StructuredOutput::JsonSchema, |e| e.structured_output);
    // The fixed part of each request: system message and questions around an empty transcript.
    let empty = Call {
        id: String::new(),
        source: String::new(),
        format: Format::Generic,
        started_at: None,
        metadata: Default::default(),
        speaker_inference: None,
        turns: vec![],
    };
    let overhead: Vec<u64> = groups
        .iter()
        .map(|g| {
            prompt::build_messages(
                spec,
                &empty,
                None,
                &g.questions(spec),
                mode,
                &g.schema,
                PromptOptions::default(),
            )
            .iter()
            .map(|m| estimate_tokens_for_chars(m.content.len()))
            .sum()
        })
        .collect();
    let output_per_call: u64 = groups
        .iter()
        .map(|g| {
            g.metrics.len() as u64 * OUTPUT_TOKENS_PER_METRIC + if g.summary { OUTPUT_TOKENS_FOR_SUMMARY } else { 0 }
        })
        .sum();
    let (mut input, mut long, mut asked) = (0u64, 0usize, 0usize);
    for &index in calls {
        let tokens = catalog.entries[index].estimated_tokens;
        let tokens = if tokens > max_input_tokens {
            long += 1;
            match long_calls {
                LongCalls::Truncate => max_input_tokens,
                LongCalls::Fail | LongCalls::Skip => continue,
            }
        } else {
            tokens
        };
        asked += 1;
        input += overhead.iter().map(|o| o + tokens).sum::<u64>();
    }
    let output = output_per_call * asked as u64;
    let requests = asked * groups.len();
    println!("dry run: nothing was sent");
    println!(
        "  calls           {} ({} input error(s), {} non-JSON file(s) skipped)",
        calls.len(),
        catalog.errors.len(),
        catalog.skipped_non_json
    );
    println!(
        "  requests        {requests} ({} per call, {} strategy; re-asks not counted)",
        groups.len(),
        spec.strategy
    );
    println!("  input tokens    ~{input} (estimated)");
    println!("  output tokens   ~{output} (estimated, ~{OUTPUT_TOKENS_PER_METRIC} per metric)");
    match endpoint.and_then(|e| e.price) {
        Some(price) => println!(
            "  cost            ~${:.4} at ${}/${} per million input/output tokens (cached answers cost nothing)",
            cost(&price, input, output),
            price.input_per_mtok,
            price.output_per_mtok
        ),
        None => println!("  cost            unknown: pass --price IN,OUT (USD per million tokens) or set llm.price"),
    }
    println!(
        "  long calls      {long} over max_input_tokens {max_input_tokens} (--long-calls {})",
        long_calls
    );
    if let Some(endpoint) = endpoint {
        println!("  endpoint        {} model {}", endpoint.base_url, endpoint.model);
    }
}
