//! `postcall prompt -m FILE CALL`: the exact chat messages one call would send, so a user
//! can see (and diff) what the model is asked before paying for it.
//!
//! It takes the flags `run` takes for what shapes a request (transcript reading, prompt
//! rendering, the long-call policy, the endpoint settings) and resolves the endpoint the
//! way `run` does, without starting or asking anything; with no endpoint configured the
//! bodies are shown with the same settings and a placeholder model.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::exit;
use crate::evaluate::{PreparedCall, first_request, plan_groups, transcript_budget};
use crate::llm::EndpointConfig;
use crate::llm::config::EndpointLayer;
use crate::llm::request::wire_body;
use crate::plan::endpoint;
use crate::prompt::{PromptArgs, PromptOptions, fit_call};
use crate::spec::{self, Spec, Strategy};
use crate::terminal::eprintln;
use crate::transcript::{Call, Catalog, TranscriptArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The metric file; repeat to compose files (`-m defaults.yaml -m custom.yaml`).
    #[arg(short = 'm', long = "metrics", value_name = "FILE", required = true)]
    pub metrics: Vec<PathBuf>,
    /// A transcript file (`-` for stdin).
    #[arg(value_name = "CALL")]
    pub call: PathBuf,
    /// Which call, when the file holds several (default: the first).
    #[arg(long, value_name = "ID")]
    pub call_id: Option<String>,
    /// Override the metric file's strategy (per_metric prints one request per metric).
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Print the full request bodies as JSON instead of the messages as text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub transcripts: TranscriptArgs,
    #[command(flatten)]
    pub prompt: PromptArgs,
    #[command(flatten)]
    pub endpoint: EndpointLayer,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = spec::load_specs(&args.metrics)?;
    let shown = loaded.shown;
    let mut spec = loaded.spec;
    if let Some(strategy) = args.strategy {
        spec.strategy = strategy;
    }
    let call = load_call(&args)?;
    let config = match endpoint::resolve(&args.endpoint, None, &spec) {
        Ok(resolved) => resolved.config,
        Err(why) => {
            if args.json {
                eprintln!(
                    "note: {why:#}; the bodies below use the settings given and model {}",
                    crate::llm::config::PREVIEW_MODEL
                );
            }
            endpoint::preview(&args.endpoint, &spec)
        }
    };
    crate::evaluate::plan::evidence_as_limited(&mut spec, &config.answer_limits);
    // The call as `run` would ask it: shortened, or not asked at all.
    let groups = plan_groups(&spec, &config);
    let budget = transcript_budget(
        &spec,
        &groups,
        config.structured_output,
        options(&args, &config),
        config.max_input_tokens,
    )
    .map_err(|why| anyhow::anyhow!("{shown}: {why}"))?;
    let (call, cut) = fit_call(call, budget, args.prompt.long_calls)
        .map_err(|why| anyhow::anyhow!("{}: no request would be sent: {why}", args.call.display()))?;
    let out = render(&args, &spec, &config, &call, cut.as_ref())?;
    if args.json {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(out.as_bytes())?;
        stdout.flush()?;
    } else {
        // The messages hold the transcript, which came from the archive.
        crate::terminal::print_text(&out)?;
    }
    Ok(ExitCode::from(exit::OK))
}

fn load_call(args: &Args) -> anyhow::Result<Call> {
    let options = args.transcripts.options();
    let catalog = Catalog::scan(std::slice::from_ref(&args.call), &options);
    if let Some(error) = catalog.errors.first() {
        anyhow::bail!("{error}");
    }
    let index = match &args.call_id {
        Some(id) => catalog.entries.iter().position(|e| &e.id == id).ok_or_else(|| {
            let ids: Vec<&str> = catalog.entries.iter().map(|e| e.id.as_str()).take(10).collect();
            anyhow::anyhow!(
                "no call `{id}` in {}; it holds: {}",
                args.call.display(),
                ids.join(", ")
            )
        })?,
        None => 0,
    };
    anyhow::ensure!(!catalog.entries.is_empty(), "no call found in {}", args.call.display());
    Ok(catalog.load(index, &options)?)
}

/// How `run` renders a request against `config`: the prompt flags and the endpoint's
/// answer limits.
fn options(args: &Args, config: &EndpointConfig) -> PromptOptions {
    PromptOptions {
        limits: config.answer_limits,
        ..args.prompt.options()
    }
}

/// Every request of the call, as messages or as request bodies: built by the function
/// `run` builds its first requests with.
fn render(
    args: &Args,
    spec: &Spec,
    config: &EndpointConfig,
    call: &Call,
    cut: Option<&crate::prompt::Cut>,
) -> anyhow::Result<String> {
    let groups = plan_groups(spec, config);
    let prepared = PreparedCall {
        call: call.clone(),
        cut: cut.cloned(),
    };
    let mut out = String::new();
    for (n, plan) in groups.iter().enumerate() {
        let request = first_request(spec, &prepared, plan, config.structured_output, options(args, config));
        if args.json {
            out.push_str(&serde_json::to_string_pretty(&wire_body(config, &request))?);
            out.push('\n');
            continue;
        }
        if groups.len() > 1 {
            out.push_str(&format!(
                "=== request {} of {} (model {}) ===\n",
                n + 1,
                groups.len(),
                plan.model
            ));
        }
        for message in request.messages {
            out.push_str(&format!(
                "--- {} ---\n{}\n",
                serde_json::to_value(message.role)?.as_str().unwrap_or("?"),
                message.content
            ));
        }
    }
    Ok(out)
}
