//! The metric file as `eval` and `convert` read it: its definitions, and the sha256 of
//! its bytes that a run records, so a report can be checked against the file.

use std::path::Path;

use crate::spec::{Metric, load_spec};

/// A metric file's definitions and the sha256 of its bytes (what a run records).
pub struct MetricFile {
    pub metrics: Vec<Metric>,
    pub sha256: String,
}

pub fn load_metric_file(path: &Path) -> anyhow::Result<MetricFile> {
    let loaded = load_spec(path)?;
    Ok(MetricFile {
        metrics: loaded.spec.metrics,
        sha256: loaded.sha256,
    })
}
