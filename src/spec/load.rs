//! Reading a metric file from disk: the one way every command loads a spec and the one
//! way a bad file is reported.
//!
//! The bytes are read once: the same bytes are hashed (the report's `metrics_sha256`) and
//! parsed, so the hash always describes the definitions that were used.

use std::path::Path;

use sha2::Digest as _;

use super::parse::{SpecError, parse_spec};
use super::{Spec, Warning};

/// A checked metric file with its warnings and the sha256 of the bytes it was parsed from.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: Spec,
    pub warnings: Vec<Warning>,
    /// Hex sha256 of the file's bytes, as recorded in reports.
    pub sha256: String,
    /// The path as the user gave it, for messages.
    pub shown: String,
}

impl LoadedSpec {
    /// Each warning as `file:line:col: warning: …`, one per line.
    pub fn warning_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.warnings.iter().map(|w| w.display_in(&self.shown))
    }
}

/// Every error of one metric file, as one error value: each on its own line as
/// `file:line:col: message`, then a line counting them. `validate` prints it as is; other
/// commands return it and `main` prints it after `error: `.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors {
    pub shown: String,
    pub errors: Vec<SpecError>,
}

impl std::ops::Deref for SpecErrors {
    type Target = [SpecError];
    fn deref(&self) -> &[SpecError] {
        &self.errors
    }
}

impl std::fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for error in &self.errors {
            writeln!(f, "{error}")?;
        }
        let n = self.errors.len();
        write!(
            f,
            "{}: {n} error{}; the file cannot be used until fixed",
            self.shown,
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for SpecErrors {}

/// Reads the file at `path` once, hashes and parses those bytes.
pub fn load_spec(path: &Path) -> Result<LoadedSpec, SpecErrors> {
    let shown = path.display().to_string();
    let fail = |errors: Vec<SpecError>| SpecErrors {
        shown: shown.clone(),
        errors,
    };
    let unreadable = |what: String, next: &str| {
        fail(vec![SpecError::at(
            &shown,
            None,
            format!("cannot read the metric file: {what}; {next}"),
        )])
    };
    let bytes = std::fs::read(path).map_err(|e| {
        let next = match e.kind() {
            std::io::ErrorKind::NotFound => "check the path, or run `postcall init` to create a starter metric file",
            _ => "check that the file exists and is readable",
        };
        unreadable(e.to_string(), next)
    })?;
    let sha256 = format!("{:x}", sha2::Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).map_err(|e| {
        unreadable(
            format!("it is not UTF-8 text ({})", e.utf8_error()),
            "save the file as UTF-8",
        )
    })?;
    let (spec, warnings) = parse_spec(&text, &shown).map_err(fail)?;
    Ok(LoadedSpec {
        spec,
        warnings,
        sha256,
        shown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_of_the_bytes_that_were_parsed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        let text = "version: 1\nmetrics:\n  - {id: a, type: boolean, prompt: Did the agent greet the customer?}\n";
        std::fs::write(&path, text).unwrap();
        let loaded = load_spec(&path).unwrap();
        assert_eq!(loaded.sha256, format!("{:x}", sha2::Sha256::digest(text.as_bytes())));
        assert_eq!(loaded.spec.metrics[0].id, "a");
    }

    #[test]
    fn errors_read_one_per_line_then_a_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.yaml");
        std::fs::write(&path, [b'v', 0xff, b'\n']).unwrap();
        let errors = load_spec(&path).unwrap_err();
        let text = errors.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].contains("cannot read the metric file: it is not UTF-8 text"),
            "{text}"
        );
        assert!(lines[0].ends_with("save the file as UTF-8"), "{text}");
        assert!(
            lines[1].ends_with("m.yaml: 1 error; the file cannot be used until fixed"),
            "{text}"
        );
    }
}
