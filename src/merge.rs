//! Joining the reports of a sharded run (`postcall run --shard I/N`) into the report one
//! process would have written: the checks that they are parts of one run, and the sums.
//!
//! Parts of one run agree on the metric file (its hash), the model and the calls they were
//! cut from (the archive fingerprint, see [`crate::shard`]); every shard is there once and
//! no call twice. What does not hold is said in one message listing every problem, so a
//! user fixes them in one go. Missing shards (or shards that stopped early) are refused
//! unless `allow_partial`, which writes what there is, marked incomplete.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::report::{CallResult, Report, RunHeader, Usage};
use crate::shard::Shard;

/// One report to merge, with the name it is shown by.
pub struct Part {
    pub name: String,
    pub report: Report,
}

/// The merged report and what the user should hear about it.
#[derive(Debug)]
pub struct Merged {
    pub report: Report,
    pub notes: Vec<String>,
}

/// Merges `parts`; `Err` lists every reason they cannot be merged.
pub fn merge(parts: Vec<Part>, allow_partial: bool) -> Result<Merged, String> {
    let headers = headers(&parts)?;
    let first = headers[0].1;
    let count = first.shard.expect("checked by headers()").count;
    let mut problems = agreement_problems(&headers);
    let mut seen: HashMap<u32, &str> = HashMap::new();
    for (name, header) in &headers {
        let shard = header.shard.expect("checked by headers()");
        if let Some(other) = seen.insert(shard.index, name) {
            problems.push(format!("shard {shard} is there twice: {other} and {name}"));
        }
    }
    problems.extend(call_problems(&parts));
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let missing: Vec<Shard> = (0..count)
        .filter(|i| !seen.contains_key(i))
        .map(|index| Shard { index, count })
        .collect();
    let unfinished: Vec<String> = headers
        .iter()
        .filter(|(_, h)| !h.complete)
        .map(|(name, h)| {
            format!(
                "{name} (shard {}) stopped with {} call(s) not done",
                h.shard.unwrap(),
                h.calls_not_done
            )
        })
        .collect();
    let mut notes = Vec::new();
    if !missing.is_empty() || !unfinished.is_empty() {
        let said = gaps(&missing, &unfinished);
        if !allow_partial {
            return Err(format!(
                "{said}; run what is missing (`postcall run … --shard I/{count}`, the same command as the others) \
                 and merge again, or pass --allow-partial to write what there is, marked incomplete"
            ));
        }
        notes.push(format!(
            "--allow-partial: {said}; the merged report is marked incomplete"
        ));
    }
    let header = merged_header(&headers, missing, &mut notes);
    let metrics = parts[0].report.metrics.clone();
    let mut calls: Vec<CallResult> = parts.into_iter().flat_map(|p| p.report.calls).collect();
    calls.sort_by(|a, b| source_key(&a.source).cmp(&source_key(&b.source)));
    Ok(Merged {
        report: Report {
            header: Some(header),
            metrics,
            calls,
        },
        notes,
    })
}

/// Every part's header, each with a shard and an archive; else every part that lacks them.
fn headers(parts: &[Part]) -> Result<Vec<(&str, &RunHeader)>, String> {
    let mut problems = Vec::new();
    let mut headers = Vec::new();
    for part in parts {
        match &part.report.header {
            None => problems.push(format!(
                "{} has no run header (a .jsonl from an older postcall): it cannot be told to be a shard",
                part.name
            )),
            Some(h) if h.shard.is_none() || h.archive.is_none() => problems.push(format!(
                "{} is not a shard's report (it was not written by `postcall run --shard I/N`)",
                part.name
            )),
            Some(h) => headers.push((part.name.as_str(), h)),
        }
    }
    if parts.is_empty() {
        problems.push("no reports to merge".to_string());
    }
    if problems.is_empty() {
        Ok(headers)
    } else {
        Err(problems.join("\n"))
    }
}

/// Where the parts disagree on what makes them one run.
fn agreement_problems(headers: &[(&str, &RunHeader)]) -> Vec<String> {
    let (first_name, first) = headers[0];
    let mut problems = Vec::new();
    for (name, header) in &headers[1..] {
        let mut differs = |what: &str, theirs: String, ours: String| {
            if theirs != ours {
                problems.push(format!("{name} and {first_name} differ in {what}: {theirs} vs {ours}"));
            }
        };
        let sha = |h: &RunHeader| h.metrics_sha256.chars().take(12).collect::<String>();
        differs("the metric file (sha256)", sha(header), sha(first));
        differs("the model", header.model.clone(), first.model.clone());
        differs("the strategy", header.strategy.to_string(), first.strategy.to_string());
        let archive = |h: &RunHeader| {
            let a = h.archive.as_ref().expect("checked by headers()");
            format!("{} ({} calls)", a.fingerprint, a.calls)
        };
        differs(
            "the calls they were cut from (archive fingerprint; same inputs, --limit and --sample?)",
            archive(header),
            archive(first),
        );
        let count = |h: &RunHeader| h.shard.expect("checked by headers()").count.to_string();
        differs("the number of shards", count(header), count(first));
    }
    problems
}

/// Calls that are in two parts, or in a part whose shard they do not belong to.
fn call_problems(parts: &[Part]) -> Vec<String> {
    let mut problems = Vec::new();
    let mut owner: HashMap<&str, &str> = HashMap::new();
    for part in parts {
        let shard = part
            .report
            .header
            .as_ref()
            .and_then(|h| h.shard)
            .expect("checked by headers()");
        let mut strays = 0;
        for call in &part.report.calls {
            if let Some(other) = owner.insert(&call.call_id, &part.name) {
                problems.push(format!("call {} is in both {other} and {}", call.call_id, part.name));
            }
            strays += usize::from(!shard.holds(&call.call_id));
        }
        if strays > 0 {
            problems.push(format!(
                "{} holds {strays} call(s) that are not in shard {shard}: it was not written by `--shard {shard}`",
                part.name
            ));
        }
    }
    problems
}

/// "shard 1/4 is missing, a.json (shard 0/4) stopped with 3 call(s) not done".
fn gaps(missing: &[Shard], unfinished: &[String]) -> String {
    let mut said = Vec::new();
    if !missing.is_empty() {
        let list: Vec<String> = missing.iter().map(Shard::to_string).collect();
        let verb = if missing.len() == 1 { "is" } else { "are" };
        said.push(format!(
            "shard{} {} {verb} missing",
            if missing.len() == 1 { "" } else { "s" },
            list.join(", ")
        ));
    }
    said.extend(unfinished.iter().cloned());
    said.join("; ")
}

/// The header one run over every shard's calls would have written.
fn merged_header(headers: &[(&str, &RunHeader)], missing: Vec<Shard>, notes: &mut Vec<String>) -> RunHeader {
    let first = headers[0].1;
    let all = || headers.iter().map(|(_, h)| *h);
    let mut usage = Usage::default();
    all().for_each(|h| usage.add(&h.usage));
    let calls: usize = all().map(|h| h.calls).sum();
    let archive = first.archive.clone().expect("checked by headers()");
    let complete = missing.is_empty() && all().all(|h| h.complete);
    let endpoints: BTreeSet<&str> = all().map(|h| h.base_url.as_str()).collect();
    if endpoints.len() > 1 {
        notes.push(format!(
            "the shards used {} endpoints; the report names them all",
            endpoints.len()
        ));
    }
    let mut seen_errors = HashSet::new();
    let input_errors = all()
        .flat_map(|h| h.input_errors.iter())
        .filter(|e| seen_errors.insert((e.source.clone(), e.message.clone())))
        .cloned()
        .collect();
    RunHeader {
        started_at: all().map(|h| h.started_at).min().expect("one part at least"),
        finished_at: all()
            .map(|h| h.finished_at)
            .collect::<Option<Vec<_>>>()
            .and_then(|t| t.into_iter().max()),
        complete,
        calls_not_done: archive.calls.saturating_sub(calls),
        stopped: all().find_map(|h| h.stopped),
        base_url: endpoints.into_iter().collect::<Vec<_>>().join(", "),
        calls,
        failed_calls: all().map(|h| h.failed_calls).sum(),
        skipped_calls: all().map(|h| h.skipped_calls).sum(),
        invalid_values: all().map(|h| h.invalid_values).sum(),
        usage,
        cost_usd: all().map(|h| h.cost_usd).sum(),
        models: merged_models(all()),
        input_errors,
        archive: Some(archive),
        shard: None,
        missing_shards: missing,
        ..first.clone()
    }
}

/// Each model's part of every shard, added up; a cost unknown in one shard is unknown.
fn merged_models<'a>(
    headers: impl Iterator<Item = &'a RunHeader>,
) -> std::collections::BTreeMap<String, crate::report::ModelUsage> {
    let mut models = std::collections::BTreeMap::<String, crate::report::ModelUsage>::new();
    for (model, part) in headers.flat_map(|h| h.models.iter()) {
        let merged = models
            .entry(model.clone())
            .or_insert_with(|| crate::report::ModelUsage {
                metrics: part.metrics.clone(),
                usage: Usage::default(),
                cost_usd: Some(0.0),
            });
        merged.usage.add(&part.usage);
        merged.cost_usd = merged.cost_usd.zip(part.cost_usd).map(|(a, b)| a + b);
    }
    models
}

/// Orders calls as a run over the whole archive does: path by path, component by component
/// (directories are walked sorted by name), then by line or array index as numbers.
fn source_key(source: &str) -> (Vec<&str>, u64) {
    let (path, position) = if let Some(open) = source.strip_suffix(']').and_then(|s| s.rfind('[')) {
        (&source[..open], source[open + 1..source.len() - 1].parse().ok())
    } else if let Some((path, line)) = source.rsplit_once(':') {
        (path, line.parse().ok())
    } else {
        (source, None)
    };
    match position {
        Some(n) => (path.split('/').collect(), n),
        None => (source.split('/').collect(), 0),
    }
}

#[cfg(test)]
mod tests;
