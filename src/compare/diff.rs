//! `diff`: what changed between a baseline report and a new one, metric by metric.
//!
//! Calls are matched by `call_id`. For each metric present on both sides: how many calls
//! were compared (both reports have a result for it), how many agree (same status, and the
//! same value by the metric type's rule, see [`value`](super::value)), which calls changed,
//! and a type-specific summary — transitions for enum/boolean, mean shift for numbers,
//! items added/removed for lists. A call missing a metric on one side (its request failed)
//! is counted, not compared: a failure is not a change of mind.
//!
//! Beside the counts, agreement beyond chance between the two sides
//! ([`agreement`](super::agreement): κ, AC1, α with bootstrap intervals): between two runs
//! of the same model and metric file it is the test–retest reliability of the metric, how
//! far its answers are reproducible beyond what chance would give.
//!
//! `--max-changed` limits the share of changed calls per metric; exceeding it is what makes
//! CI fail. Being exactly at the limit passes.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::report::{CallResult, Report, Value};
use crate::spec::MetricKind;

use super::agreement::bootstrap::Bootstrap;
use super::agreement::{Agreement, agreement};
use super::defs::{DefinitionChange, changed_fields, definition_changes};
use super::threshold::PerMetric;
use crate::answer::value::{Shape, as_f64, item_set, normalize_text, same_answer, shape};
use crate::answer::{Answer, MetricSet, Origin, category, order_categories, ratio};

/// What the user asked for besides the two reports.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    pub max_changed: PerMetric,
    /// Keep both reasonings of each changed call.
    pub reasoning: bool,
    pub bootstrap: Bootstrap,
}

#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub base: Origin,
    pub new: Origin,
    /// `Some(true)` when both reports came from byte-identical metric files; `None` when a
    /// side does not say (a report without a run header).
    pub same_metric_file: Option<bool>,
    pub definition_changes: Vec<DefinitionChange>,
    pub metrics: Vec<MetricDiff>,
    pub metrics_added: Vec<String>,
    pub metrics_removed: Vec<String>,
    pub calls_compared: usize,
    pub only_in_base: Vec<String>,
    pub only_in_new: Vec<String>,
    /// Call ids that occur more than once in a report; only the first occurrence is used.
    pub duplicate_call_ids: Vec<String>,
}

impl Diff {
    /// Metrics whose share of changed calls is over their limit.
    pub fn failures(&self) -> impl Iterator<Item = &MetricDiff> {
        self.metrics.iter().filter(|m| m.exceeded)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricDiff {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Calls in both reports with a result for this metric on both sides.
    pub compared: usize,
    pub agreed: usize,
    pub changed: usize,
    pub agreement: Option<f64>,
    pub changed_rate: Option<f64>,
    /// Calls in both reports where only one side has a result (a failed request).
    pub missing_in_base: usize,
    pub missing_in_new: usize,
    /// Definition fields that differ (prompt, choices, type…).
    pub definition_changed: Vec<&'static str>,
    pub max_changed: Option<f64>,
    pub exceeded: bool,
    pub changes: Vec<Change>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transitions: Option<Transitions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub numeric: Option<NumericShift>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_changes: Option<Vec<ItemChange>>,
    /// κ, AC1, α between base (first rater) and new; absent for string, datetime and list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chance_corrected: Option<Agreement>,
}

/// One call whose answer changed.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub call_id: String,
    pub old: Answer,
    pub new: Answer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_confidence: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_reasoning: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_reasoning: Option<String>,
}

/// Old value (rows) × new value (columns) counts over the compared calls. Categories are
/// the values that occur, choices first in definition order, then statuses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transitions {
    pub categories: Vec<String>,
    pub counts: Vec<Vec<usize>>,
}

impl Transitions {
    #[cfg(test)]
    pub fn count(&self, old: &str, new: &str) -> usize {
        let row = self.categories.iter().position(|c| c == old);
        let col = self.categories.iter().position(|c| c == new);
        match (row, col) {
            (Some(r), Some(c)) => self.counts[r][c],
            _ => 0,
        }
    }
}

/// Over calls with a number on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NumericShift {
    pub pairs: usize,
    pub mean_old: f64,
    pub mean_new: f64,
    /// mean(new − old): positive when the new prompt scores higher.
    pub mean_shift: f64,
    pub mean_abs_change: f64,
}

/// How often a list item appeared or disappeared, over calls with a list on both sides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemChange {
    pub item: String,
    pub added: usize,
    pub removed: usize,
}

pub fn diff(base_path: &str, base: &Report, new_path: &str, new: &Report, options: &DiffOptions) -> Diff {
    let base_metrics = MetricSet::of_report(base);
    let new_metrics = MetricSet::of_report(new);
    let (base_calls, mut duplicate_call_ids) = index_calls(&base.calls);
    let (new_calls, new_duplicates) = index_calls(&new.calls);
    for id in new_duplicates {
        if !duplicate_call_ids.contains(&id) {
            duplicate_call_ids.push(id);
        }
    }

    // Pairs in the new report's order, so the output follows the run people just made.
    let mut pairs = Vec::new();
    let mut only_in_new = Vec::new();
    for call in first_occurrences(&new.calls) {
        match base_calls.get(call.call_id.as_str()) {
            Some(old) => pairs.push((*old, call)),
            None => only_in_new.push(call.call_id.clone()),
        }
    }
    let only_in_base = first_occurrences(&base.calls)
        .filter(|c| !new_calls.contains_key(c.call_id.as_str()))
        .map(|c| c.call_id.clone())
        .collect();

    let changes = definition_changes(&base.metrics, &new.metrics);
    let mut metrics = Vec::new();
    let mut metrics_added = Vec::new();
    for (id, kind) in &new_metrics.kinds {
        if !base_metrics.kinds.contains_key(id) {
            metrics_added.push(id.clone());
            continue;
        }
        // A side without definitions (an old .jsonl) only guesses types; the other side knows.
        let kind = match base_metrics.definitions.get(id) {
            Some(defined) if new_metrics.inferred.contains(id) => &defined.kind,
            _ => kind,
        };
        let mut metric = diff_metric(id, kind, &pairs, options, &new_metrics, &base_metrics);
        metric.definition_changed = changed_fields(&changes, id);
        metric.max_changed = options.max_changed.for_metric(id);
        metric.exceeded = match (metric.changed_rate, metric.max_changed) {
            (Some(rate), Some(limit)) => rate > limit + 1e-12,
            _ => false,
        };
        metrics.push(metric);
    }
    let metrics_removed = base_metrics
        .kinds
        .keys()
        .filter(|id| !new_metrics.kinds.contains_key(*id))
        .cloned()
        .collect();

    let sha = |r: &Report| {
        r.header
            .as_ref()
            .map(|h| h.metrics_sha256.clone())
            .filter(|s| !s.is_empty())
    };
    Diff {
        base: Origin::of(base_path, base),
        new: Origin::of(new_path, new),
        same_metric_file: sha(base).zip(sha(new)).map(|(a, b)| a == b),
        definition_changes: changes,
        metrics,
        metrics_added,
        metrics_removed,
        calls_compared: pairs.len(),
        only_in_base,
        only_in_new,
        duplicate_call_ids,
    }
}

/// Calls by id (first occurrence), and the ids seen more than once.
fn index_calls(calls: &[CallResult]) -> (HashMap<&str, &CallResult>, Vec<String>) {
    let mut index = HashMap::with_capacity(calls.len());
    let mut duplicates = Vec::new();
    for call in calls {
        if index.contains_key(call.call_id.as_str()) {
            if !duplicates.contains(&call.call_id) {
                duplicates.push(call.call_id.clone());
            }
        } else {
            index.insert(call.call_id.as_str(), call);
        }
    }
    (index, duplicates)
}

fn first_occurrences(calls: &[CallResult]) -> impl Iterator<Item = &CallResult> {
    let mut seen = std::collections::HashSet::new();
    calls.iter().filter(move |c| seen.insert(c.call_id.as_str()))
}

fn diff_metric(
    id: &str,
    kind: &MetricKind,
    pairs: &[(&CallResult, &CallResult)],
    options: &DiffOptions,
    new_metrics: &MetricSet,
    base_metrics: &MetricSet,
) -> MetricDiff {
    let mut compared = Vec::new();
    let (mut missing_in_base, mut missing_in_new) = (0, 0);
    for (old_call, new_call) in pairs {
        let (old, new) = (Answer::of(old_call, id), Answer::of(new_call, id));
        match (&old, &new) {
            (Answer::Missing, Answer::Missing) => {}
            (Answer::Missing, _) => missing_in_base += 1,
            (_, Answer::Missing) => missing_in_new += 1,
            _ => compared.push((*old_call, *new_call, old, new)),
        }
    }
    let mut changes = Vec::new();
    for (old_call, new_call, old, new) in &compared {
        if same_answer(kind, old, new) {
            continue;
        }
        let (old_result, new_result) = (&old_call.metrics[id], &new_call.metrics[id]);
        changes.push(Change {
            call_id: new_call.call_id.clone(),
            old: old.clone(),
            new: new.clone(),
            old_confidence: old_result.confidence(),
            new_confidence: new_result.confidence(),
            old_reasoning: options
                .reasoning
                .then(|| old_result.reasoning().map(str::to_string))
                .flatten(),
            new_reasoning: options
                .reasoning
                .then(|| new_result.reasoning().map(str::to_string))
                .flatten(),
        });
    }
    let answers: Vec<(&Answer, &Answer)> = compared.iter().map(|(_, _, o, n)| (o, n)).collect();
    let changed = changes.len();
    let agreed = compared.len() - changed;
    let choices = new_metrics
        .definitions
        .get(id)
        .and_then(|m| m.kind.choices())
        .into_iter()
        .chain(base_metrics.definitions.get(id).and_then(|m| m.kind.choices()))
        .flatten()
        .cloned()
        .collect::<Vec<_>>();
    let shape = shape(kind);
    MetricDiff {
        id: id.to_string(),
        kind: kind.name(),
        compared: compared.len(),
        agreed,
        changed,
        agreement: ratio(agreed, compared.len()),
        changed_rate: ratio(changed, compared.len()),
        missing_in_base,
        missing_in_new,
        definition_changed: Vec::new(),
        max_changed: None,
        exceeded: false,
        changes,
        transitions: (shape == Shape::Categorical).then(|| transitions(&answers, &choices)),
        numeric: (shape == Shape::Numeric).then(|| numeric_shift(&answers)).flatten(),
        set_changes: (shape == Shape::Set).then(|| set_changes(&answers)),
        chance_corrected: agreement(kind, &choices, &answers, options.bootstrap, id),
    }
}

fn transitions(answers: &[(&Answer, &Answer)], choices: &[String]) -> Transitions {
    let seen = answers.iter().flat_map(|(o, n)| [category(o), category(n)]);
    let categories = order_categories(seen, choices);
    let position = |a: &Answer| categories.iter().position(|c| *c == category(a)).unwrap_or(0);
    let mut counts = vec![vec![0; categories.len()]; categories.len()];
    for (old, new) in answers {
        counts[position(old)][position(new)] += 1;
    }
    Transitions { categories, counts }
}

fn numeric_shift(answers: &[(&Answer, &Answer)]) -> Option<NumericShift> {
    let pairs: Vec<(f64, f64)> = answers
        .iter()
        .filter_map(|(o, n)| Some((as_f64(o.value()?)?, as_f64(n.value()?)?)))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let n = pairs.len() as f64;
    Some(NumericShift {
        pairs: pairs.len(),
        mean_old: pairs.iter().map(|p| p.0).sum::<f64>() / n,
        mean_new: pairs.iter().map(|p| p.1).sum::<f64>() / n,
        mean_shift: pairs.iter().map(|p| p.1 - p.0).sum::<f64>() / n,
        mean_abs_change: pairs.iter().map(|p| (p.1 - p.0).abs()).sum::<f64>() / n,
    })
}

fn set_changes(answers: &[(&Answer, &Answer)]) -> Vec<ItemChange> {
    // Keyed by the normalised item; shown with the first spelling seen.
    let mut items: BTreeMap<String, ItemChange> = BTreeMap::new();
    for (old, new) in answers {
        let (Some(Value::List(old)), Some(Value::List(new))) = (old.value(), new.value()) else {
            continue;
        };
        let (old_set, new_set) = (item_set(old), item_set(new));
        let spelled = |key: &String| {
            old.iter()
                .chain(new.iter())
                .find(|i| normalize_text(i) == *key)
                .cloned()
                .unwrap_or_else(|| key.clone())
        };
        for key in new_set.difference(&old_set) {
            let entry = items.entry(key.clone()).or_insert_with(|| empty_change(spelled(key)));
            entry.added += 1;
        }
        for key in old_set.difference(&new_set) {
            let entry = items.entry(key.clone()).or_insert_with(|| empty_change(spelled(key)));
            entry.removed += 1;
        }
    }
    let mut out: Vec<ItemChange> = items.into_values().collect();
    out.sort_by(|a, b| {
        (b.added + b.removed)
            .cmp(&(a.added + a.removed))
            .then(a.item.cmp(&b.item))
    });
    out
}

fn empty_change(item: String) -> ItemChange {
    ItemChange {
        item,
        added: 0,
        removed: 0,
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
