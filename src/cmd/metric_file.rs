//! The metric file as `eval` and `convert` read it: its definitions, and the sha256 of
//! its bytes that a run records, so a report can be checked against the file.

use std::path::Path;

use anyhow::{Context as _, anyhow};
use sha2::Digest as _;

use crate::spec::{Metric, load_spec};

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
