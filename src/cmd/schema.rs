//! `postcall schema`: print the JSON Schema of the answer the model must give.
//!
//! The schema printed is exactly the one sent with `response_format: json_schema`, so what
//! you see here is what the model is held to: `--schema-dialect strict` (the default) as
//! OpenAI, Azure and OpenRouter get it, `grammar` with the answer limits as llama.cpp, vLLM,
//! Ollama and the local model get it.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;

use crate::spec::schema::bounded_answer_schema;
use crate::spec::{AnswerLimits, Metric, SchemaDialect, lint, load_specs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The metric file; repeat to compose files (`-m defaults.yaml -m custom.yaml`).
    #[arg(short = 'm', long = "metrics", value_name = "FILE", required = true)]
    pub metrics: Vec<PathBuf>,
    /// Only this metric (repeatable); the summary is left out.
    #[arg(long = "metric", value_name = "ID")]
    pub metric: Vec<String>,
    /// `strict`: as OpenAI-style strict endpoints get it; `grammar`: with maxLength and
    /// maxItems from the answer limits, as grammar-enforcing servers get it.
    #[arg(long, value_enum, default_value_t = SchemaDialect::Strict)]
    pub schema_dialect: SchemaDialect,
    /// Answer limits for `grammar` [default: the metric file's `llm.answer_limits`, else
    /// reasoning=100,summary=240,text=60,items=5,quotes=2,quote=80]
    #[arg(long, value_name = "LIMITS", value_parser = AnswerLimits::parse)]
    pub answer_limits: Option<AnswerLimits>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = load_specs(&args.metrics)?;
    let spec = loaded.spec;
    let selected: Vec<&Metric> = if args.metric.is_empty() {
        spec.metrics.iter().collect()
    } else {
        let ids: Vec<&str> = spec.metrics.iter().map(|m| m.id.as_str()).collect();
        for wanted in &args.metric {
            if !ids.contains(&wanted.as_str()) {
                let hint = match lint::did_you_mean(wanted, &ids) {
                    Some(id) => format!("did you mean `{id}`?"),
                    None => format!("the ids are: {}", ids.join(", ")),
                };
                bail!("no metric `{wanted}` in {}; {hint}", loaded.shown);
            }
        }
        // File order, whatever order the flags came in: the schema is the same either way.
        spec.metrics.iter().filter(|m| args.metric.contains(&m.id)).collect()
    };
    let summary = if args.metric.is_empty() {
        spec.summary.as_ref()
    } else {
        None
    };
    let limits = args.answer_limits.or(spec.llm.answer_limits).unwrap_or_default();
    let bounds = (args.schema_dialect == SchemaDialect::Grammar).then_some(&limits);
    let schema = bounded_answer_schema(&selected, summary, bounds);
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &schema)?;
    writeln!(out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
