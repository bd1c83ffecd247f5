//! `batch submit`: the requests `run` would send that are neither answered in the cache nor
//! in a batch still running, written as input files, uploaded, made batches, each step
//! recorded in the ledger before it is taken (see [`super::ledger`]).

use std::collections::HashSet;

use super::api::BatchApi;
use super::input::{Part, Request, Splitter};
use super::ledger::{Chunk, Ledger, Question, Step, Unit};
use crate::evaluate::{cache_key, first_request, fit};
use crate::llm::request::wire_body;
use crate::plan::BatchPlan;

/// How big an input file may be.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_requests: usize,
    pub max_bytes: u64,
}

/// What a submission did, for its summary.
#[derive(Debug, Default)]
pub struct Submitted {
    /// Chunks a killed submission left unfinished, finished now.
    pub resumed: Vec<Chunk>,
    /// Batches made now.
    pub created: Vec<Chunk>,
    /// Requests whose answer is in the cache already.
    pub cached: usize,
    /// Requests in a batch not yet collected.
    pub in_flight: usize,
    /// Requests that are the same as another of this submission (sent once).
    pub duplicates: usize,
    /// Calls that cannot be asked (unreadable, too long under `--long-calls fail|skip`).
    pub not_asked: usize,
}

/// Submits what `plan` would ask and nothing answered or on its way. The inputs are read
/// as the requests are written, each call once; `notes` says what the scan skipped.
pub fn submit(
    plan: &BatchPlan,
    ledger: &Ledger,
    api: &BatchApi,
    limits: Limits,
    notes: bool,
) -> anyhow::Result<Submitted> {
    let config = &plan.endpoint.config;
    let base_url = config.base_url.redacted();
    let mut submitted = Submitted::default();
    let chunks = ledger.chunks()?;
    // Finished first: their requests must not be sent again in a new file.
    for chunk in chunks.iter().filter(|c| c.base_url == base_url) {
        if matches!(chunk.step(), Step::Planned | Step::Uploaded) {
            submitted.resumed.push(advance(ledger, api, chunk.clone(), true)?);
        }
    }
    let pending: HashSet<&str> = chunks
        .iter()
        .filter(|c| c.step() != Step::Collected)
        .flat_map(|c| c.units.iter().map(|u| u.key.as_str()))
        .collect();
    let questions = questions(plan);
    let mut seen = HashSet::new();
    let mut splitter = Splitter::new(limits.max_requests, limits.max_bytes);
    let send = |part: Part, submitted: &mut Submitted| -> anyhow::Result<()> {
        let chunk = plan_chunk(ledger, plan, &questions, part)?;
        submitted.created.push(advance(ledger, api, chunk, false)?);
        Ok(())
    };
    let (work, settings) = (&plan.work, &plan.work.settings);
    let say = Box::new(|line: &str| crate::terminal::eprintln!("{line}"));
    let feed = work.read_inputs(std::sync::Arc::default(), say, notes);
    for fed in feed.in_order() {
        let Ok(prepared) = fit(Ok(fed.call), settings) else {
            submitted.not_asked += 1;
            continue;
        };
        for (g, group) in work.groups.iter().enumerate() {
            let request = first_request(
                &work.spec,
                &prepared,
                group,
                config.structured_output,
                settings.prompt_options,
            );
            let key = cache_key(config, &request);
            if plan.cache.get(&key).is_some() {
                submitted.cached += 1;
            } else if pending.contains(key.as_str()) {
                submitted.in_flight += 1;
            } else if !seen.insert(key.clone()) {
                submitted.duplicates += 1;
            } else {
                let request = Request {
                    body: wire_body(config, &request),
                    model: request.model,
                    question: g,
                    key,
                };
                if let Some(full) = splitter.push(request).map_err(anyhow::Error::msg)? {
                    send(full, &mut submitted)?;
                }
            }
        }
    }
    feed.end();
    for part in splitter.finish() {
        send(part, &mut submitted)?;
    }
    Ok(submitted)
}

/// What each request group asks, as `collect` will check the answers.
fn questions(plan: &BatchPlan) -> Vec<Question> {
    let spec = &plan.work.spec;
    plan.work
        .groups
        .iter()
        .map(|g| Question {
            metrics: g.metrics.iter().map(|&i| spec.metrics[i].clone()).collect(),
            summary: g.summary,
        })
        .collect()
}

/// Writes `part`'s input file and its chunk, planned: the intent, recorded before anything
/// is sent.
fn plan_chunk(ledger: &Ledger, plan: &BatchPlan, questions: &[Question], part: Part) -> anyhow::Result<Chunk> {
    let config = &plan.endpoint.config;
    let id = blake3::hash(&part.jsonl).to_hex()[..32].to_string();
    ledger.write_atomically(&ledger.input_path(&id), &part.jsonl)?;
    let units = part
        .lines
        .into_iter()
        .map(|(custom_id, request)| Unit {
            custom_id,
            key: request.key,
            question: request.question,
        })
        .collect();
    let chunk = Chunk::planned(
        id,
        config.base_url.redacted(),
        config.api_key_env.clone(),
        part.model,
        part.jsonl.len() as u64,
        questions.to_vec(),
        units,
    );
    ledger.save(&chunk)?;
    Ok(chunk)
}

/// Takes `chunk` through upload and batch creation, recording each step. `resumed`: a
/// killed run may have taken the next step without recording it, so it is looked for at
/// the provider before being taken again.
pub fn advance(ledger: &Ledger, api: &BatchApi, mut chunk: Chunk, resumed: bool) -> anyhow::Result<Chunk> {
    if chunk.step() == Step::Planned {
        let path = ledger.input_path(&chunk.id);
        let bytes = std::fs::read(&path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read {} ({e}), the input file of the batch planned in {}: restore it, or remove {} to \
                 submit its requests again",
                path.display(),
                ledger.dir().display(),
                ledger.dir().join(format!("{}.json", chunk.id)).display()
            )
        })?;
        let found = if resumed {
            api.find_file(&chunk.file_name(), bytes.len() as u64)?
        } else {
            None
        };
        let file_id = match found {
            Some(id) => id,
            None => api.upload(&chunk.file_name(), bytes)?,
        };
        chunk.file_id = Some(file_id);
        ledger.save(&chunk)?;
    }
    if chunk.step() == Step::Uploaded {
        let file_id = chunk.file_id.clone().expect("uploaded");
        let found = if resumed {
            api.find_batch(&file_id, &chunk.id)?
        } else {
            None
        };
        let batch = match found {
            Some(batch) => batch,
            None => api.create(&file_id, &chunk.id)?,
        };
        chunk.batch_id = Some(batch.id.clone());
        chunk.status = Some(batch.status.clone());
        chunk.request_counts = batch.request_counts;
        ledger.save(&chunk)?;
    }
    Ok(chunk)
}
