//! What a run produces, and the writers that put it where users work: `.json` and `.jsonl`
//! for pipelines, `.csv` for tools that want CSV, `.xlsx` for people, `.html` for people who
//! would rather look (the review page).
//!
//! The types here are the wire format of `.json` / `.jsonl` reports: `diff`, `eval`,
//! `stats` and `convert` read them back, so they change only on purpose. Writers only read
//! results; they never compute them.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

pub use self::json::Ending;
use crate::spec::{Metric, Strategy};

pub(crate) mod csv;
pub(crate) mod destination;
pub mod html;
pub mod json;
pub(crate) mod open;
pub(crate) mod outputs;
pub(crate) mod pending;
pub mod platform;
pub(crate) mod summary;
#[cfg(test)]
pub(crate) mod testing;
pub(crate) mod upload;
pub(crate) mod xlsx;

pub use self::csv::CsvOptions;
pub(crate) use self::destination::Protected;
pub use self::open::{OutputArgs, format_for_path, open_sink, read_report};
pub use self::summary::{SummaryCounts, render_summary};

/// Bumped when the report's shape changes incompatibly.
pub const REPORT_FORMAT_VERSION: u32 = 1;

/// A whole report: run header, metric definitions, calls.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `None` for calls that came without one: a `.jsonl` written before postcall put its
    /// run header in the file, or a `.json` converted from such a file (`"postcall": null`).
    /// Nothing about the run (model, metric file, times, usage) is known then.
    #[serde(rename = "postcall", deserialize_with = "Option::deserialize")]
    pub header: Option<RunHeader>,
    pub metrics: Vec<Metric>,
    pub calls: Vec<CallResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHeader {
    pub version: String,
    pub report_format: u32,
    pub started_at: jiff::Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<jiff::Timestamp>,
    /// False when the run was interrupted; `calls_not_done` says how many are missing.
    pub complete: bool,
    #[serde(default)]
    pub calls_not_done: usize,
    /// Why a run stopped before every call was done; absent for a complete run, and for
    /// one that was killed before it could say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped: Option<StopReason>,
    pub base_url: String,
    pub model: String,
    pub strategy: Strategy,
    pub structured_output: crate::spec::StructuredOutput,
    /// sha256 of the metric file's bytes, to tell which definitions produced the values.
    pub metrics_sha256: String,
    pub calls: usize,
    pub failed_calls: usize,
    /// Calls left out on purpose (`--long-calls skip`): in `calls`, neither failed nor asked.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skipped_calls: usize,
    pub invalid_values: usize,
    /// Every request the run sent, including those of calls it did not get to write.
    pub usage: Usage,
    /// USD; `None` when no price was configured ("unknown", never 0).
    #[serde(default)]
    pub cost_usd: Option<f64>,
    /// Which model answered which metrics, and what each model's requests used and cost.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub models: std::collections::BTreeMap<String, ModelUsage>,
    /// The processing tier requests asked for, when not the endpoint's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_tier: Option<crate::spec::ServiceTier>,
    /// Files that could not be read as calls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub input_errors: Vec<InputError>,
    /// The calls the run was chosen from (before `--shard`): `merge` checks that parts of
    /// one run agree on it. Absent in reports from before shards.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<crate::shard::Archive>,
    /// Which shard of them this run asked (`--shard`); absent for a whole run or a merge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<crate::shard::Shard>,
    /// A merge written with `--allow-partial`: the shards that were not there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_shards: Vec<crate::shard::Shard>,
    /// The `--metadata` level the calls' `call` blocks were written at (the `call.*` columns
    /// of a CSV follow it); absent in reports from before postcall wrote them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<crate::transcript::MetadataLevel>,
    /// How the run read its transcripts and which turns its prompts showed: what a review
    /// page needs to read a transcript again and number its turns as the prompt did, so an
    /// evidence quote's `turn` finds its turn. Absent in reports from before postcall
    /// wrote it, which read as the defaults (detected format, no speaker map, agent and
    /// customer turns only).
    #[serde(default, skip_serializing_if = "TranscriptReading::is_default")]
    pub transcripts: TranscriptReading,
    /// `--samples K`: how many times each question was asked, its values voted (each then
    /// records its `consistency` and how many `samples` voted). Absent for one.
    #[serde(default = "one_sample", skip_serializing_if = "is_one_sample")]
    pub samples: u32,
    /// What the values' `confidence` is (`--confidence`); reports from before it was
    /// written hold the model's own numbers.
    #[serde(default)]
    pub confidence: ConfidenceSource,
}

/// What a report's `confidence` numbers are (`run --confidence`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ConfidenceSource {
    /// The model's own number, as it answered.
    #[default]
    #[serde(rename = "self")]
    #[strum(serialize = "self")]
    #[value(name = "self")]
    Stated,
    /// The share of the samples that agreed with the value (`--samples` ≥ 2).
    Consistency,
    /// For enum and boolean metrics, the probability of the answer's tokens, from the
    /// endpoint's logprobs; no confidence for other metrics.
    Logprobs,
}

fn one_sample() -> u32 {
    1
}

fn is_one_sample(n: &u32) -> bool {
    *n == 1
}

/// The transcript flags of a run that change which turns its prompts showed and how they
/// were numbered (`--transcript-format`, `--speaker-map`, `--all-speakers`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptReading {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript_format: Option<crate::transcript::Format>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker_map: Option<crate::transcript::SpeakerMap>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_speakers: bool,
}

impl TranscriptReading {
    fn is_default(&self) -> bool {
        *self == TranscriptReading::default()
    }

    /// The options to read a call's source again as the run read it.
    pub fn load_options(&self) -> crate::transcript::LoadOptions {
        crate::transcript::LoadOptions {
            format: self.transcript_format,
            speaker_map: self.speaker_map.clone(),
            ..Default::default()
        }
    }

    /// The prompt options that decide which turns were shown, and under which numbers.
    pub fn prompt_options(&self) -> crate::prompt::PromptOptions {
        crate::prompt::PromptOptions {
            all_speakers: self.all_speakers,
            ..Default::default()
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, strum::Display)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum StopReason {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// The endpoint refused in a way retrying cannot change (bad key, no quota, no model).
    EndpointRefused,
    /// `--max-cost` or `--max-tokens-total`: the next request would have passed the budget.
    BudgetReached,
}

/// One model's part of a run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ModelUsage {
    /// The metric ids this model answers (`summary` for the summary).
    pub metrics: Vec<String>,
    pub usage: Usage,
    /// USD; `None` when the model has no price.
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    pub source: String,
    pub message: String,
}

/// Token and request counts, summed per call and per run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Requests sent to the endpoint (re-asks and retries included).
    pub requests: u64,
    /// Answers served from the cache (priced at 0).
    pub cached: u64,
    pub retries: u64,
    pub prompt_tokens: u64,
    /// The part of `prompt_tokens` the provider served from its own prompt cache (billed
    /// at the cached-input rate). Not to be confused with `cached`, answers postcall had.
    #[serde(default)]
    pub cached_prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Answers the endpoint cut off at the output-token limit (`finish_reason: length`);
    /// their rest was asked again with more room. Left out of reports when 0.
    #[serde(default, skip_serializing_if = "no_cut_off")]
    pub cut_off: u64,
}

fn no_cut_off(n: &u64) -> bool {
    *n == 0
}

impl Usage {
    pub fn add(&mut self, other: &Usage) {
        self.requests += other.requests;
        self.cached += other.cached;
        self.retries += other.retries;
        self.prompt_tokens += other.prompt_tokens;
        self.cached_prompt_tokens += other.cached_prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.cut_off += other.cut_off;
    }
}

/// Everything postcall learned about one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallResult {
    pub call_id: String,
    pub source: String,
    pub format: crate::transcript::Format,
    /// What the source says about the call (times, ids, status; numbers and URLs only with
    /// `--metadata all`); absent with `--metadata none` or when the source said nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<crate::transcript::CallBlock>,
    #[serde(default)]
    pub summary: Option<String>,
    /// In metric-file order. A metric whose request failed is absent; `errors` says why.
    pub metrics: IndexMap<String, MetricResult>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<CallError>,
    /// What `--long-calls truncate` cut from the transcript before asking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncated: Option<Truncation>,
    /// Why nothing was asked about the call (`--long-calls skip`): neither failed nor
    /// answered, so it has no metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    #[serde(default)]
    pub usage: Usage,
    /// USD this call's requests cost; absent when a model it used has no price.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl CallResult {
    /// The result of a call before anything about it is known: no answers, no errors, no
    /// usage, no cost; its call block and the rest are filled in as its requests finish.
    pub fn unanswered(call_id: String, source: String, format: crate::transcript::Format) -> CallResult {
        CallResult {
            call_id,
            call: None,
            source,
            format,
            summary: None,
            metrics: IndexMap::new(),
            errors: Vec::new(),
            truncated: None,
            skipped: None,
            usage: Usage::default(),
            cost_usd: None,
        }
    }

    pub fn failed(&self) -> bool {
        !self.errors.is_empty()
    }
}

/// What was cut from the middle of a long call so that its request fits `max_input_tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Truncation {
    /// Turns left out whole.
    pub turns_cut: usize,
    /// Turns of which only the start or the end was kept (a turn longer than the budget).
    pub turns_shortened: usize,
    /// Characters left out in all.
    pub characters_cut: usize,
    pub estimated_tokens_cut: u64,
    /// What the prompt said about it.
    pub note: String,
}

/// Why (part of) a call has no answer: the call was too long, the endpoint kept failing…
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallError {
    /// The metric concerned, or `None` for the whole call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    pub message: String,
}

/// One metric's answer for one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MetricResult {
    /// A value of the metric's type.
    Ok {
        value: Value,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reasoning: Option<String>,
        #[serde(flatten)]
        grounds: Grounds,
    },
    /// The transcript does not say (allowed only for metrics that are not required).
    Null {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reasoning: Option<String>,
        #[serde(flatten)]
        grounds: Grounds,
    },
    /// The metric's `applies_when` condition does not hold for this call.
    NotApplicable {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confidence: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reasoning: Option<String>,
        #[serde(flatten)]
        grounds: Grounds,
    },
    /// The model never gave a valid answer; the reason and its last raw answer are kept.
    Invalid { reason: String, raw: String },
}

/// What an answer rests on besides the model's word: the transcript passages it cites,
/// checked against the transcript that was sent. Empty for metrics asked without evidence,
/// and in reports written before postcall asked for it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Grounds {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// An `ok` value asked for evidence of which no quote was found in the transcript
    /// (`--unverified-evidence flag`, or `reask` when the re-ask did not find one either).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub evidence_unverified: bool,
    /// With `--samples K` > 1: the share of the valid samples that agreed with the value
    /// voted (absent from single-sample runs, and from reports written before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<f64>,
    /// With `--samples K` > 1: how many samples voted, the denominator of `consistency`.
    /// Fewer than K when some samples' requests failed or their answers were invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u32>,
    /// Why the value has no `confidence` where the run's `--confidence` asked for a
    /// measured one (a metric type logprobs cannot measure, an endpoint that sent none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_unavailable: Option<String>,
}

impl Grounds {
    /// No evidence asked or given (a `const` for tests' fixed results).
    pub const NONE: Grounds = Grounds {
        evidence: Vec::new(),
        evidence_unverified: false,
        consistency: None,
        samples: None,
        confidence_unavailable: None,
    };
}

/// One passage an answer cites: `{"turn": 3, "quote": "…", "verified": true}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The turn the model cited, 0-based as the prompt numbers them (`[3] Agent: …`);
    /// `null` when it cited none.
    pub turn: Option<usize>,
    pub quote: String,
    /// Whether the quote is in the transcript (case, whitespace and punctuation aside, and
    /// allowing for small transcription slips): in the cited turn, or else in `found_in_turn`.
    pub verified: bool,
    /// Where the quote was found when that is not the turn cited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_in_turn: Option<usize>,
}

impl Evidence {
    /// The quote as cells and tables show it: `[3] "…" ✓`, with where it was really found.
    pub fn display(&self) -> String {
        let turn = self.turn.map_or_else(|| "[?]".to_string(), |t| format!("[{t}]"));
        let found = match (self.verified, self.found_in_turn) {
            (true, Some(other)) => format!(" (found in [{other}])"),
            (true, None) => String::new(),
            (false, _) => " (not in the transcript)".to_string(),
        };
        format!("{turn} \"{}\"{found}", self.quote)
    }
}

impl MetricResult {
    pub fn status(&self) -> Status {
        match self {
            MetricResult::Ok { .. } => Status::Ok,
            MetricResult::Null { .. } => Status::Null,
            MetricResult::NotApplicable { .. } => Status::NotApplicable,
            MetricResult::Invalid { .. } => Status::Invalid,
        }
    }

    pub fn value(&self) -> Option<&Value> {
        match self {
            MetricResult::Ok { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn confidence(&self) -> Option<f64> {
        match self {
            MetricResult::Ok { confidence, .. }
            | MetricResult::Null { confidence, .. }
            | MetricResult::NotApplicable { confidence, .. } => *confidence,
            MetricResult::Invalid { .. } => None,
        }
    }

    /// Replaces the confidence; false (nothing changed) for an invalid answer, which has none.
    pub fn set_confidence(&mut self, new: Option<f64>) -> bool {
        match self {
            MetricResult::Ok { confidence, .. }
            | MetricResult::Null { confidence, .. }
            | MetricResult::NotApplicable { confidence, .. } => {
                *confidence = new;
                true
            }
            MetricResult::Invalid { .. } => false,
        }
    }

    /// The evidence and its checks; `None` for an invalid answer.
    pub fn grounds(&self) -> Option<&Grounds> {
        match self {
            MetricResult::Ok { grounds, .. }
            | MetricResult::Null { grounds, .. }
            | MetricResult::NotApplicable { grounds, .. } => Some(grounds),
            MetricResult::Invalid { .. } => None,
        }
    }

    pub fn grounds_mut(&mut self) -> Option<&mut Grounds> {
        match self {
            MetricResult::Ok { grounds, .. }
            | MetricResult::Null { grounds, .. }
            | MetricResult::NotApplicable { grounds, .. } => Some(grounds),
            MetricResult::Invalid { .. } => None,
        }
    }

    pub fn reasoning(&self) -> Option<&str> {
        match self {
            MetricResult::Ok { reasoning, .. }
            | MetricResult::Null { reasoning, .. }
            | MetricResult::NotApplicable { reasoning, .. } => reasoning.as_deref(),
            MetricResult::Invalid { .. } => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Null,
    NotApplicable,
    Invalid,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Null => "null",
            Status::NotApplicable => "not_applicable",
            Status::Invalid => "invalid",
        }
    }
}

/// A validated value. Enum choices are stored in their canonical spelling, dates as
/// `YYYY-MM-DD` and date-times as RFC 3339 text, so the JSON form round-trips.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Number(f64),
    Text(String),
    List(Vec<String>),
}

impl Value {
    /// The text a CSV cell or a terminal table shows: lists joined with `; `.
    pub fn display(&self) -> String {
        match self {
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Text(s) => s.clone(),
            Value::List(items) => items.join("; "),
        }
    }
}

/// Everything a writer needs to start a report before any call is done.
#[derive(Debug, Clone)]
pub struct ReportHead<'a> {
    pub header: &'a RunHeader,
    pub metrics: &'a [Metric],
    pub has_summary: bool,
}

/// A report destination. The run opens every sink before the first request (so a bad path
/// fails early), feeds calls in input order as they finish, and finishes each one once.
pub trait Sink: Send {
    /// Starts the report. By default as [`begin_headerless`](Sink::begin_headerless): most
    /// writers need only the metrics at the start (the header is written at the end).
    fn begin(&mut self, head: &ReportHead<'_>) -> anyhow::Result<()> {
        self.begin_headerless(head.metrics, head.has_summary)
    }
    /// [`begin`](Sink::begin) for calls that came without a run header (re-exporting an old
    /// `.jsonl`): the report written has none either; none is made up.
    fn begin_headerless(&mut self, metrics: &[Metric], has_summary: bool) -> anyhow::Result<()>;
    fn call(&mut self, call: &CallResult) -> anyhow::Result<()>;
    /// The run has read its inputs: `head.header` is the opening one with what the scan
    /// found (how many calls, the archive, the input errors). A writer that cannot rewrite
    /// its start (`.jsonl`) says it here, so a killed run's report still knows them.
    fn inputs_read(&mut self, _head: &ReportHead<'_>) -> anyhow::Result<()> {
        Ok(())
    }
    /// Writes the final header (`None`: the report has none) and puts the file where
    /// `ending` says: the destination, or `<dest>.partial` beside it, the destination as it
    /// was. Returns where it went (`None` for standard output and devices, written in place).
    fn close(self: Box<Self>, header: Option<&RunHeader>, ending: Ending)
    -> anyhow::Result<Option<std::path::PathBuf>>;
    /// Writes the final header and moves the finished file into place.
    fn finish(self: Box<Self>, header: &RunHeader) -> anyhow::Result<()> {
        self.close(Some(header), Ending::Complete).map(drop)
    }
    /// The run stopped early (Ctrl-C, a refusal): what finished is left at `<dest>.partial`
    /// (see [`close`](Sink::close)), whose path is returned.
    fn stop(self: Box<Self>, header: &RunHeader) -> anyhow::Result<Option<std::path::PathBuf>> {
        self.close(Some(header), Ending::Partial)
    }
    /// [`finish`](Sink::finish) after [`begin_headerless`](Sink::begin_headerless).
    fn finish_headerless(self: Box<Self>) -> anyhow::Result<()> {
        self.close(None, Ending::Complete).map(drop)
    }
    /// For a destination that takes only a finished report (an object in a bucket): its
    /// name, said when the run stops early instead of a `.partial` (`None`: it gets one).
    fn withheld(&self) -> Option<String> {
        None
    }
}

/// Writes `report` to every sink (opened by the caller, all before any is written, so a
/// bad path fails before anything is half-written).
pub fn write_report(report: &Report, mut sinks: Vec<Box<dyn Sink>>) -> anyhow::Result<()> {
    let has_summary = report.calls.iter().any(|c| c.summary.is_some());
    for sink in &mut sinks {
        match &report.header {
            Some(header) => sink.begin(&ReportHead {
                header,
                metrics: &report.metrics,
                has_summary,
            })?,
            None => sink.begin_headerless(&report.metrics, has_summary)?,
        }
    }
    for call in &report.calls {
        for sink in &mut sinks {
            sink.call(call)?;
        }
    }
    for sink in sinks {
        match &report.header {
            Some(header) => sink.finish(header)?,
            None => sink.finish_headerless()?,
        }
    }
    Ok(())
}

/// Output formats, from `--format` or the output path's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Json,
    Jsonl,
    Csv,
    Xlsx,
    /// Smallest AI Atoms' `postCallAnalytics`, one document per call (`.atoms.json(l)`).
    Atoms,
    /// Dialgen's onCallComplete webhook body, one per call (`.dialgen.json(l)`).
    Dialgen,
    /// The self-contained review page (`.html`), drawn when the run finishes.
    Html,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn how_transcripts_were_read_round_trips_and_old_headers_read_as_the_defaults() {
        let reading = TranscriptReading {
            transcript_format: Some(crate::transcript::Format::Deepgram),
            speaker_map: Some("0=agent,Speaker 2=customer".parse().unwrap()),
            all_speakers: true,
        };
        let json = serde_json::to_value(&reading).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"transcript_format": "deepgram", "speaker_map": "0=agent,Speaker 2=customer", "all_speakers": true})
        );
        assert_eq!(serde_json::from_value::<TranscriptReading>(json).unwrap(), reading);
        let mut old = serde_json::to_value(testing::header(1)).unwrap();
        assert!(old.get("transcripts").is_none(), "the defaults are not written");
        old.as_object_mut().unwrap().remove("transcripts");
        let read: RunHeader = serde_json::from_value(old).unwrap();
        assert_eq!(read.transcripts, TranscriptReading::default());
        assert!(!read.transcripts.prompt_options().all_speakers);
    }

    #[test]
    fn evidence_round_trips_in_the_agreed_shape_and_old_results_read_without_it() {
        let result = MetricResult::Ok {
            value: Value::Text("resolved".into()),
            confidence: Some(0.9),
            reasoning: None,
            grounds: Grounds {
                evidence: vec![
                    Evidence {
                        turn: Some(3),
                        quote: "I'll refund it today".into(),
                        verified: true,
                        found_in_turn: None,
                    },
                    Evidence {
                        turn: Some(0),
                        quote: "order 4417".into(),
                        verified: true,
                        found_in_turn: Some(2),
                    },
                ],
                evidence_unverified: false,
                consistency: None,
                samples: None,
                confidence_unavailable: None,
            },
        };
        let json = serde_json::to_value(&result).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"status": "ok", "value": "resolved", "confidence": 0.9, "evidence": [
                {"turn": 3, "quote": "I'll refund it today", "verified": true},
                {"turn": 0, "quote": "order 4417", "verified": true, "found_in_turn": 2},
            ]})
        );
        assert_eq!(serde_json::from_value::<MetricResult>(json).unwrap(), result);
        let old: MetricResult = serde_json::from_str(r#"{"status": "null", "confidence": 0.2}"#).unwrap();
        assert_eq!(old.grounds(), Some(&Grounds::NONE));
        let flagged: MetricResult =
            serde_json::from_str(r#"{"status": "ok", "value": 3, "evidence_unverified": true}"#).unwrap();
        assert!(flagged.grounds().unwrap().evidence_unverified);
    }

    #[test]
    fn whole_valued_numbers_stay_numbers_through_json() {
        // `Value` is untagged: 4.0 must not come back as the integer 4.
        for value in [
            Value::Number(4.0),
            Value::Number(-0.0),
            Value::Int(4),
            Value::Number(1e-7),
        ] {
            let text = serde_json::to_string(&value).unwrap();
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value, "{text}");
        }
    }
}
