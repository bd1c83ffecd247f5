//! The command line of `postcall run`: the first of its two configuration stages (what the
//! user typed, nothing checked yet), grouped under the headings `--help` shows. The flag
//! groups other commands share are declared once, beside what they build: transcript
//! reading in `transcript`, prompt rendering in `prompt`, endpoint settings in
//! `llm::config`, report outputs in `report`.

use std::path::PathBuf;

use crate::llm::client::DEFAULT_MAX_RETRIES;
use crate::llm::config::EndpointLayer;
use crate::prompt::PromptArgs;
use crate::report::{ConfidenceSource, OutputArgs};
use crate::spec::Strategy;
use crate::transcript::{MetadataLevel, TranscriptArgs};
use crate::validate::evidence::Unverified;

#[derive(Debug, clap::Args)]
pub struct RunFlags {
    /// The metric file (postcall YAML, or Atoms / Dialgen / PolyAI definitions); repeat to
    /// compose files (`-m defaults.yaml -m custom.yaml`).
    #[arg(
        short = 'm',
        long = "metrics",
        value_name = "FILE",
        required = true,
        help_heading = "Inputs"
    )]
    pub metrics: Vec<PathBuf>,
    /// Transcript files or directories (walked recursively); `-` reads stdin.
    #[arg(value_name = "PATH", required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten, next_help_heading = "Inputs")]
    pub transcripts: TranscriptArgs,
    #[command(flatten, next_help_heading = "Inputs")]
    pub selection: Selection,

    #[command(flatten)]
    pub endpoint: EndpointLayer,
    /// Run this GGUF model with a managed local llama-server (the default when no endpoint
    /// is configured and scripts/install-local-model.sh has been run; wins over a base URL).
    #[arg(long, value_name = "GGUF", help_heading = "Endpoint")]
    pub local_model: Option<PathBuf>,

    /// Override the metric file's strategy.
    #[arg(long, value_enum, help_heading = "Answers")]
    pub strategy: Option<Strategy>,
    /// How many times an invalid answer is asked again.
    #[arg(long, default_value_t = 2, help_heading = "Answers")]
    pub max_reask: u32,
    #[command(flatten, next_help_heading = "Answers")]
    pub prompt: PromptArgs,
    /// Ask no metric to cite the transcript (as if the metric file said `evidence: false`).
    #[arg(long, help_heading = "Answers")]
    pub no_evidence: bool,
    /// What an `ok` value none of whose quotes is in the transcript gets: `reask` (once, naming
    /// the quotes not found), `flag` (`evidence_unverified: true`), or `off`.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = Unverified::Flag, help_heading = "Answers")]
    pub unverified_evidence: Unverified,
    /// Ask each question K times (seed = --llm-seed + sample index) and vote: the mode for
    /// enum, boolean and integers, the median for numbers, the items most samples give for
    /// lists, the most central text for strings. Reports record each value's `consistency`.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100), help_heading = "Answers")]
    pub samples: u32,
    /// What each value's `confidence` is: `self`, the model's own number; `consistency`,
    /// the share of samples that agreed (needs --samples 2 or more); `logprobs`, for enum
    /// and boolean metrics the probability of the answer's tokens (the endpoint is asked
    /// for `logprobs`; other metrics get no confidence, and say why).
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = ConfidenceSource::Stated, help_heading = "Answers")]
    pub confidence: ConfidenceSource,

    // Without -o, the report is JSONL on stdout.
    #[command(flatten, next_help_heading = "Outputs")]
    pub output: OutputArgs,
    /// Call metadata in reports: `basic` has times, duration, direction, ids and status;
    /// `all` adds phone numbers, names and recording URLs (personal data); `none` has none.
    #[arg(long, value_enum, default_value_t = MetadataLevel::Basic, help_heading = "Outputs")]
    pub metadata: MetadataLevel,
    /// Send nothing: print the calls, requests, estimated tokens and cost a run would use.
    #[arg(long, help_heading = "Outputs")]
    pub dry_run: bool,
    /// Exit 3 when any value is invalid or a required metric is missing.
    #[arg(long, help_heading = "Outputs")]
    pub strict: bool,
    /// No progress line.
    #[arg(short, long, help_heading = "Outputs")]
    pub quiet: bool,

    /// Requests in flight at once.
    #[arg(short = 'j', long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024), help_heading = "Reliability")]
    pub concurrency: u16,
    /// How many times a failed request is retried.
    #[arg(long, default_value_t = DEFAULT_MAX_RETRIES, help_heading = "Reliability")]
    pub max_retries: u32,
    #[command(flatten, next_help_heading = "Reliability")]
    pub pace: PaceFlags,
    #[command(flatten, next_help_heading = "Cache")]
    pub cache: CacheFlags,

    /// Stop scheduling requests before the run would cost more than USD (needs a price);
    /// what is in flight finishes, the reports say why, exit 4.
    #[arg(long, value_name = "USD", value_parser = parse_usd, help_heading = "Cost")]
    pub max_cost: Option<f64>,
    /// The same in tokens (prompt + completion), for endpoints without a price.
    #[arg(long, value_name = "N", help_heading = "Cost")]
    pub max_tokens_total: Option<u64>,
    #[command(flatten, next_help_heading = "Webhooks")]
    pub webhooks: crate::deliver::WebhookArgs,
}

fn parse_usd(text: &str) -> Result<f64, String> {
    text.trim()
        .trim_start_matches('$')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && *v > 0.0)
        .ok_or_else(|| format!("`{text}` is not an amount in USD; write e.g. --max-cost 25"))
}

/// Which of the calls found are asked.
#[derive(Debug, Clone, clap::Args)]
pub struct Selection {
    /// Only the first N calls.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// A random sample of N calls (reproducible with --sample-seed).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Seed for --sample (`--seed` is the old spelling, kept for a release).
    #[arg(long, alias = "seed", value_name = "S", default_value_t = 0)]
    pub sample_seed: u64,
    /// Only the calls of shard I of N (0-based; by a hash of the call id, so adding files
    /// moves no call); `auto` reads it from POSTCALL_SHARD, a Kubernetes Indexed Job or an
    /// AWS Batch array job. `postcall merge` joins the shards' reports.
    #[arg(long, value_name = "I/N|auto", value_parser = crate::shard::parse_arg)]
    pub shard: Option<crate::shard::ShardArg>,
    /// How many shards `--shard auto` splits into (else POSTCALL_SHARD_COUNT).
    #[arg(long, value_name = "N", requires = "shard", value_parser = clap::value_parser!(u32).range(1..))]
    pub shard_count: Option<u32>,
}

impl Selection {
    /// The shard this run takes, `auto` read from the environment.
    pub fn shard(&self) -> anyhow::Result<Option<crate::shard::Shard>> {
        use crate::shard::{ShardArg, from_env};
        match self.shard {
            None => Ok(None),
            Some(ShardArg::Fixed(shard)) => {
                anyhow::ensure!(
                    self.shard_count.is_none_or(|n| n == shard.count),
                    "--shard {shard} and --shard-count {} disagree; give one of them",
                    self.shard_count.unwrap_or_default()
                );
                Ok(Some(shard))
            }
            Some(ShardArg::Auto) => from_env(self.shard_count, |name| std::env::var(name).ok()).map(Some),
        }
    }
}

/// The provider's rate budget, paced with token buckets on top of the adaptive gate.
#[derive(Debug, Clone, clap::Args)]
pub struct PaceFlags {
    /// Send at most N requests per minute (with --shard, this shard's share of N).
    #[arg(long, env = "POSTCALL_RPM", value_name = "N", value_parser = positive_rate)]
    pub rpm: Option<f64>,
    /// Send at most N tokens per minute, prompt (estimated) plus max_tokens (with --shard,
    /// this shard's share of N).
    #[arg(long, env = "POSTCALL_TPM", value_name = "N", value_parser = positive_rate)]
    pub tpm: Option<f64>,
    /// How many seconds of --rpm / --tpm may be sent at once.
    #[arg(long, value_name = "SECONDS", default_value_t = 1.0, value_parser = positive_rate)]
    pub rate_burst: f64,
}

impl PaceFlags {
    pub fn settings(&self) -> crate::llm::pace::PaceSettings {
        crate::llm::pace::PaceSettings {
            rpm: self.rpm,
            tpm: self.tpm,
            burst: std::time::Duration::from_secs_f64(self.rate_burst),
        }
    }
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
        _ => Err(format!("`{text}` is not a positive number")),
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct CacheFlags {
    /// Where answers are cached [default: .postcall/cache]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the cache.
    #[arg(long, conflicts_with = "refresh")]
    pub no_cache: bool,
    /// Ask again even when an answer is cached, and overwrite it.
    #[arg(long)]
    pub refresh: bool,
}
