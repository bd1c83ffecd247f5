//! The file edges the comparison commands share: reading a metric file for its definitions,
//! checking a report against it, writing a report back out. Kept apart from the pure core
//! so that everything else in `compare` stays free of I/O.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use sha2::Digest as _;

use crate::report::{Report, ReportHead, Sink};
use crate::spec::{Metric, load_spec};

use super::MetricSet;
use super::defs::{choices_delta, definition_changes};
use super::table::shorten;

/// A metric file's definitions and the sha256 of its bytes (what a run records).
pub struct MetricFile {
    pub metrics: Vec<Metric>,
    pub sha256: String,
}

pub fn load_metric_file(path: &Path) -> anyhow::Result<MetricFile> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read the metric file {}", path.display()))?;
    let (spec, _warnings) = load_spec(path).map_err(|errors| {
        let listed: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        anyhow!(
            "{}\n{} error(s) in {}; fix them (`postcall validate {}` checks the file alone)",
            listed.join("\n"),
            errors.len(),
            path.display(),
            path.display()
        )
    })?;
    Ok(MetricFile {
        metrics: spec.metrics,
        sha256: format!("{:x}", sha2::Sha256::digest(&bytes)),
    })
}

/// Warnings when `report` was not made with `file`: a different hash, and each definition
/// that differs. A `.jsonl` report (no definitions, no hash) gets no warning: it takes the
/// file's definitions.
pub fn mismatch_warnings(report_path: &str, report: &Report, metrics_path: &str, file: &MetricFile) -> Vec<String> {
    let sha = &report.postcall.metrics_sha256;
    if sha.is_empty() || *sha == file.sha256 {
        return Vec::new();
    }
    let mut out = vec![format!(
        "{report_path} was made with a different metric file than {metrics_path} (metrics_sha256 {} vs {}); \
         scoring with the report's own definitions",
        shorten(sha, 12),
        shorten(&file.sha256, 12)
    )];
    for change in definition_changes(&report.metrics, &file.metrics) {
        let what = match change.field {
            "choices" => choices_delta(&change),
            _ => format!(
                "{:?} in the report, {:?} in the file",
                shorten(&change.old, 60),
                shorten(&change.new, 60)
            ),
        };
        out.push(format!("  {}: {} differs: {what}", change.metric, change.field));
    }
    let in_report: Vec<&str> = report.metrics.iter().map(|m| m.id.as_str()).collect();
    for m in &file.metrics {
        if !report.metrics.is_empty() && !in_report.contains(&m.id.as_str()) {
            out.push(format!("  {}: in {metrics_path} but not in the report", m.id));
        }
    }
    for id in &in_report {
        if !file.metrics.iter().any(|m| m.id == *id) {
            out.push(format!("  {id}: in the report but not in {metrics_path}"));
        }
    }
    out
}

/// Definitions for a report that has none (`.jsonl`): the inferred ones, with an empty
/// prompt, so a writer can name its columns. Returns the ids that were inferred.
pub fn fill_inferred_definitions(report: &mut Report) -> Vec<String> {
    if !report.metrics.is_empty() {
        return Vec::new();
    }
    let set = MetricSet::of_report(report);
    report.metrics = set
        .kinds
        .iter()
        .map(|(id, kind)| Metric {
            id: id.clone(),
            kind: kind.clone(),
            prompt: String::new(),
            required: false,
            description: None,
            applies_when: None,
            model: None,
            expect: None,
        })
        .collect();
    set.inferred
}

/// Writes `report` to every sink (opened by the caller, all before any is written, so a
/// bad path fails before anything is half-written).
pub fn write_report(report: &Report, mut sinks: Vec<Box<dyn Sink>>) -> anyhow::Result<()> {
    let head = ReportHead {
        header: &report.postcall,
        metrics: &report.metrics,
        has_summary: report.calls.iter().any(|c| c.summary.is_some()),
    };
    for sink in &mut sinks {
        sink.begin(&head)?;
    }
    for call in &report.calls {
        for sink in &mut sinks {
            sink.call(call)?;
        }
    }
    for sink in sinks {
        sink.finish(&report.postcall)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::testing::*;

    #[test]
    fn a_report_from_another_metric_file_is_explained() {
        let report = report_of(
            vec![enum_metric("outcome", &["a", "b"]), enum_metric("gone", &["x"])],
            vec![],
        );
        let mut changed = enum_metric("outcome", &["a", "c"]);
        changed.prompt = "New?".into();
        let file = MetricFile {
            metrics: vec![changed, enum_metric("fresh", &["y"])],
            sha256: "f".repeat(64),
        };
        let warnings = mismatch_warnings("r.json", &report, "m.yaml", &file);
        assert!(
            warnings[0].contains("different metric file than m.yaml"),
            "{warnings:?}"
        );
        assert_eq!(warnings[1], "  outcome: choices differs: +c -b");
        assert!(warnings[2].contains("outcome: prompt differs"), "{warnings:?}");
        assert_eq!(warnings[3], "  fresh: in m.yaml but not in the report");
        assert_eq!(warnings[4], "  gone: in the report but not in m.yaml");
        let same = MetricFile {
            metrics: vec![],
            sha256: "0".repeat(64),
        };
        assert!(mismatch_warnings("r.json", &report, "m.yaml", &same).is_empty());
    }
}
