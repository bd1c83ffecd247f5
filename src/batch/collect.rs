//! `batch status` and `batch collect`: what each batch has done, and its answers put in the
//! cache under the keys `run` looks them up by, once validated as `run` validates an
//! answer. Only a clean answer (every metric valid, the summary given, not cut off) is
//! cached; the rest `run` asks live, or `batch submit` sends again.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};

use serde::Deserialize;
use serde_json::Value;

use super::api::BatchApi;
use super::ledger::{Chunk, Collected, Ledger, Question, Step};
use crate::cache::Cache;
use crate::llm::response::parse_completion;
use crate::report::MetricResult;
use crate::validate::check_answer;

/// Looks `chunk`'s batch up and records what the provider says of it.
pub fn refresh(ledger: &Ledger, api: &BatchApi, chunk: &mut Chunk) -> anyhow::Result<super::api::BatchObject> {
    let batch_id = chunk.batch_id.clone().expect("a created chunk");
    let batch = api.get(&batch_id)?;
    chunk.status = Some(batch.status.clone());
    chunk.request_counts = batch.request_counts.or(chunk.request_counts);
    chunk.output_file_id = batch.output_file_id.clone();
    chunk.error_file_id = batch.error_file_id.clone();
    ledger.save(chunk)?;
    Ok(batch)
}

/// Downloads a finished batch's output and error files (each whole before it is kept, so
/// a download cut short is fetched again) and puts its clean answers in `cache`.
pub fn collect(ledger: &Ledger, api: &BatchApi, cache: &Cache, chunk: &mut Chunk) -> anyhow::Result<Collected> {
    debug_assert_eq!(chunk.step(), Step::Created);
    let mut lines = Vec::new();
    for (file_id, errors) in [
        (chunk.output_file_id.clone(), false),
        (chunk.error_file_id.clone(), true),
    ] {
        let Some(file_id) = file_id else { continue };
        let path = ledger.download_path(&chunk.id, errors);
        if !path.exists() {
            let mut tmp = ledger.temp_file()?;
            api.download(&file_id, tmp.as_file_mut())?;
            tmp.persist(&path)
                .map_err(|e| anyhow::anyhow!("cannot keep the downloaded {}: {}", path.display(), e.error))?;
        }
        let file = std::fs::File::open(&path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        for (n, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            if line.trim().is_empty() {
                continue;
            }
            let parsed: OutputLine = serde_json::from_str(&line)
                .map_err(|e| anyhow::anyhow!("{} line {}: not a batch output line ({e})", path.display(), n + 1))?;
            lines.push(parsed);
        }
    }
    let collected = file_answers(cache, chunk, lines)?;
    chunk.collected = Some(collected);
    ledger.save(chunk)?;
    Ok(collected)
}

/// One line of an output or error file.
#[derive(Deserialize)]
struct OutputLine {
    custom_id: String,
    #[serde(default)]
    response: Option<OutputResponse>,
}

#[derive(Deserialize)]
struct OutputResponse {
    #[serde(default)]
    status_code: u16,
    #[serde(default)]
    body: Value,
}

/// What the lines say for each of the chunk's requests: clean answers cached, the rest
/// counted.
fn file_answers(cache: &Cache, chunk: &Chunk, lines: Vec<OutputLine>) -> anyhow::Result<Collected> {
    let units: HashMap<&str, _> = chunk.units.iter().map(|u| (u.custom_id.as_str(), u)).collect();
    let mut collected = Collected::default();
    let mut seen = std::collections::HashSet::new();
    for line in lines {
        let Some(unit) = units.get(line.custom_id.as_str()) else {
            continue;
        };
        if !seen.insert(unit.custom_id.as_str()) {
            continue;
        }
        let answered = line
            .response
            .filter(|r| (200..300).contains(&r.status_code))
            .map(|r| r.body);
        let Some(body) = answered else {
            collected.failed += 1;
            continue;
        };
        let question = &chunk.questions[unit.question];
        match parse_completion(&body.to_string()) {
            Ok(completion) if is_clean(question, &completion) => {
                cache
                    .put(&unit.key, &completion)
                    .map_err(|e| anyhow::anyhow!("cannot write to the cache in {}: {e}", cache.shown()))?;
                collected.cached += 1;
            }
            _ => collected.invalid += 1,
        }
    }
    collected.missing = chunk.units.len() as u64 - seen.len() as u64;
    Ok(collected)
}

/// Whether `run` would take `completion` as it is: the same validator, and no re-ask.
pub fn is_clean(question: &Question, completion: &crate::llm::Completion) -> bool {
    if completion.truncated() {
        return false;
    }
    let metrics: Vec<&crate::spec::Metric> = question.metrics.iter().collect();
    let checked = check_answer(&metrics, question.summary, &completion.content);
    let valid = checked
        .metrics
        .iter()
        .all(|(_, r)| !matches!(r, MetricResult::Invalid { .. }));
    valid && (!question.summary || checked.summary.is_some())
}
