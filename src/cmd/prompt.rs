//! `postcall prompt -m FILE CALL`: the exact chat messages one call would send, so a user
//! can see (and diff) what the model is asked before paying for it.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::exit;
use crate::evaluate::plan_groups;
use crate::llm::config::{self, EndpointConfig, EndpointFlags, ProcessEnv};
use crate::llm::request::{ChatRequest, build_body};
use crate::prompt::{PromptOptions, build_messages};
use crate::spec::{self, Strategy, StructuredOutput};
use crate::transcript::{Catalog, Format, LoadOptions, SpeakerMap};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The metric file.
    #[arg(short = 'm', long = "metrics", value_name = "FILE")]
    pub metrics: PathBuf,
    /// A transcript file (`-` for stdin).
    #[arg(value_name = "CALL")]
    pub call: PathBuf,
    /// Which call, when the file holds several (default: the first).
    #[arg(long, value_name = "ID")]
    pub call_id: Option<String>,
    /// Override the metric file's strategy (per_metric prints one request per metric).
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,
    /// Structured-output mode (json_object and prompt put the schema in the prompt).
    #[arg(long, value_enum)]
    pub structured_output: Option<StructuredOutput>,
    /// Print the full request bodies as JSON instead of the messages as text.
    #[arg(long)]
    pub json: bool,
    /// Prefix transcript turns with [mm:ss] offsets.
    #[arg(long)]
    pub timestamps: bool,
    /// Include system and tool turns.
    #[arg(long)]
    pub all_speakers: bool,
    /// Model name shown in the request (default: the configured one).
    #[arg(long)]
    pub model: Option<String>,
    #[arg(long, value_enum)]
    pub transcript_format: Option<Format>,
    #[arg(long, value_name = "MAP")]
    pub speaker_map: Option<SpeakerMap>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut spec = spec::load_spec(&args.metrics)?.spec;
    if let Some(strategy) = args.strategy {
        spec.strategy = strategy;
    }
    let options = LoadOptions {
        format: args.transcript_format,
        speaker_map: args.speaker_map.clone(),
    };
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
    let call = catalog.load(index, &options)?;

    // The endpoint only shapes the body; without one configured, show a placeholder.
    let flags = EndpointFlags {
        model: args.model.clone(),
        structured_output: args.structured_output,
        ..Default::default()
    };
    let endpoint = config::resolve(&flags, &spec.llm, &ProcessEnv).unwrap_or_else(|_| {
        let mut e = EndpointConfig::for_tests("http://127.0.0.1/v1");
        e.model = args
            .model
            .clone()
            .or_else(|| spec.llm.model.clone())
            .unwrap_or_else(|| "MODEL".into());
        e.structured_output = args
            .structured_output
            .or(spec.llm.structured_output)
            .unwrap_or_default();
        e
    });
    let prompt_options = PromptOptions {
        timestamps: args.timestamps,
        all_speakers: args.all_speakers,
    };
    let groups = plan_groups(&spec, &endpoint.model);
    let mut out = String::new();
    for (n, plan) in groups.iter().enumerate() {
        let schema = plan.schema.clone();
        let group = plan.questions(&spec);
        let messages = build_messages(
            &spec,
            &call,
            None,
            &group,
            endpoint.structured_output,
            &schema,
            prompt_options,
        );
        if args.json {
            let request = ChatRequest {
                model: plan.model.clone(),
                messages,
                schema,
                max_tokens: None,
            };
            out.push_str(&serde_json::to_string_pretty(&build_body(&endpoint, &request))?);
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
        for message in messages {
            out.push_str(&format!(
                "--- {} ---\n{}\n",
                serde_json::to_value(message.role)?.as_str().unwrap_or("?"),
                message.content
            ));
        }
    }
    use std::io::Write;
    std::io::stdout().lock().write_all(out.as_bytes())?;
    Ok(ExitCode::from(exit::OK))
}
