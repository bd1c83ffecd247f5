//! The metric file as `eval` and `convert` read it: its definitions, and the sha256 of
//! its bytes that a run records, so a report can be checked against the file. Several
//! files (`-m a -m b`) are composed exactly as `run` composes them, so their hash is the
//! one the run recorded.

use std::path::PathBuf;

use crate::compare::defs::mismatch_warnings;
use crate::report::Report;
use crate::spec::{Metric, load_specs};
use crate::terminal::eprintln;

/// A metric file's definitions and the sha256 of its bytes (what a run records).
pub struct MetricFile {
    pub metrics: Vec<Metric>,
    pub sha256: String,
    /// The files as the user gave them, for messages.
    pub shown: String,
}

pub fn load_metric_file(paths: &[PathBuf]) -> anyhow::Result<MetricFile> {
    let loaded = load_specs(paths)?;
    Ok(MetricFile {
        metrics: loaded.spec.metrics,
        sha256: loaded.sha256,
        shown: loaded.shown,
    })
}

/// Reads the metric files `paths` given beside `report` (read from `report_path`): warns about
/// every way the report was not made with it, gives a report without definitions the file's
/// (only the definitions: that its calls were answered with these bytes is not known, so no
/// hash goes into a header), and returns the file's definitions.
pub fn metrics_beside_report(report_path: &str, report: &mut Report, paths: &[PathBuf]) -> anyhow::Result<Vec<Metric>> {
    let file = load_metric_file(paths)?;
    for warning in mismatch_warnings(report_path, report, &file.shown, &file.metrics, &file.sha256) {
        eprintln!("warning: {warning}");
    }
    if report.metrics.is_empty() {
        report.metrics = file.metrics.clone();
    }
    Ok(file.metrics)
}
