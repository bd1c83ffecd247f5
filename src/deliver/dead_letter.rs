//! The dead-letter file: every delivery still not acknowledged after its last try, one JSON
//! line each, `{"url" (redacted), "idempotency_key", "call_id", "error", "attempts",
//! "payload"}`, so nothing computed is lost and the user sees what failed and why.
//!
//! It always says what is undelivered now: at the end of a run its earlier lines are kept
//! only when the ledger does not show them acknowledged since, this run's failures are
//! added, and the new file replaces the old one by rename (an empty result removes it).

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use serde_json::{Value, json};

use super::ledger::Ledger;
use crate::net::SecretUrl;

/// A delivery that failed for good.
pub struct Failure {
    pub url: usize,
    pub url_id: String,
    pub key: String,
    pub call_id: String,
    pub error: String,
    pub attempts: u32,
    pub body: Arc<Vec<u8>>,
}

/// Rewrites `path` with the earlier lines still undelivered and `failures`.
pub fn write(path: &Path, failures: &[Failure], ledger: &Ledger, urls: &[SecretUrl]) -> anyhow::Result<()> {
    let context = || format!("cannot write the dead-letter file {}", path.display());
    let mut lines: Vec<Value> = Vec::new();
    let mut seen = HashSet::new();
    for failure in failures {
        seen.insert((failure.url_id.clone(), failure.key.clone()));
        let payload: Value = serde_json::from_slice(&failure.body).unwrap_or(Value::Null);
        lines.push(json!({
            "url": urls[failure.url].redacted(),
            "url_id": failure.url_id,
            "idempotency_key": failure.key,
            "call_id": failure.call_id,
            "error": failure.error,
            "attempts": failure.attempts,
            "payload": payload,
        }));
    }
    for old in earlier(path)? {
        let (Some(url_id), Some(key)) = (old["url_id"].as_str(), old["idempotency_key"].as_str()) else {
            continue;
        };
        let id = (url_id.to_string(), key.to_string());
        if !ledger.is_acknowledged(url_id, key) && seen.insert(id) {
            lines.push(old);
        }
    }
    if lines.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).with_context(context),
            _ => Ok(()),
        };
    }
    let dir = crate::report::pending::parent_dir(path);
    std::fs::create_dir_all(dir).with_context(context)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir).with_context(context)?;
    for line in &lines {
        serde_json::to_writer(&mut temp, line).with_context(context)?;
        temp.write_all(b"\n").with_context(context)?;
    }
    temp.as_file().sync_all().with_context(context)?;
    temp.persist(path).map_err(|e| e.error).with_context(context)?;
    Ok(())
}

/// The lines an earlier run left (none when there is no file; a torn line is skipped).
fn earlier(path: &Path) -> anyhow::Result<Vec<Value>> {
    let Ok(file) = std::fs::File::open(path) else {
        return Ok(Vec::new());
    };
    let mut lines = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.with_context(|| format!("cannot read the dead-letter file {}", path.display()))?;
        if let Ok(value) = serde_json::from_str::<Value>(&line) {
            lines.push(value);
        }
    }
    Ok(lines)
}
