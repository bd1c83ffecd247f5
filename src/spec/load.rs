//! Reading metric files from disk: the one way every command loads a spec and the one way
//! a bad file is reported.
//!
//! Each file's bytes are read once: the same bytes are hashed and parsed, so the report's
//! `metrics_sha256` always describes the definitions that were used. One file's hash is the
//! sha256 of its bytes; files composed together (`-m a -m b`, `include:`) hash to the
//! sha256 of their own hashes in composition order ([`composed_sha256`]), so changing any
//! one of them changes it.

use std::path::{Path, PathBuf};

use sha2::Digest as _;

use super::parse::SpecError;
use super::{Dialect, Spec, Warning};

/// The checked spec of one or more metric files, with its warnings and its hash.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub spec: Spec,
    pub warnings: Vec<FileWarning>,
    /// Hex sha256 of the file's bytes (of the composed files' hashes), as recorded in reports.
    pub sha256: String,
    /// The paths as the user gave them, for messages (`a.yaml + b.yaml`).
    pub shown: String,
    /// Every file read, in composition order (included files before the file including them).
    pub files: Vec<SpecFile>,
    /// Where each metric of `spec` was defined, in the same order.
    pub origins: Vec<MetricOrigin>,
}

impl LoadedSpec {
    /// Each warning as `file:line:col: warning: …`, one per line.
    pub fn warning_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.warnings.iter().map(|w| w.warning.display_in(&w.file))
    }

    /// `validate`'s notes: each metric whose id postcall derived from a platform's name.
    pub fn derived_id_lines(&self) -> impl Iterator<Item = String> + '_ {
        self.spec.metrics.iter().zip(&self.origins).filter_map(|(m, o)| {
            let name = o.name.as_ref()?;
            Some(format!(
                "{}: note: id `{}` is derived from the name \"{name}\"; reports, labels and `--metric` use the id",
                o.place(),
                m.id
            ))
        })
    }
}

/// A warning and the file it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileWarning {
    pub file: String,
    pub warning: Warning,
}

/// One metric file that went into a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecFile {
    pub path: PathBuf,
    pub shown: String,
    pub sha256: String,
    pub dialect: Dialect,
}

/// Where a metric was defined: file and position, and the platform name its id came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricOrigin {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub name: Option<String>,
}

impl MetricOrigin {
    /// `file:line:col`, as far as known.
    pub fn place(&self) -> String {
        match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", self.file),
            (Some(l), None) => format!("{}:{l}", self.file),
            _ => self.file.clone(),
        }
    }
}

/// Every error of the metric files, as one error value: each on its own line as
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
        let files = self
            .errors
            .iter()
            .map(|e| &e.path)
            .collect::<std::collections::BTreeSet<_>>();
        let what = if files.len() > 1 {
            "the files cannot be used until fixed"
        } else {
            "the file cannot be used until fixed"
        };
        write!(f, "{}: {n} error{}; {what}", self.shown, if n == 1 { "" } else { "s" })
    }
}

impl std::error::Error for SpecErrors {}

/// Reads the metric file at `path` (and what it includes).
pub fn load_spec(path: &Path) -> Result<LoadedSpec, SpecErrors> {
    super::compose::load_specs(&[path.to_path_buf()])
}

/// One file's bytes, read once: its sha256 and its text.
pub(crate) struct FileBytes {
    pub sha256: String,
    pub text: String,
}

/// Reads `path`; the error names `shown` and says what to do.
pub(crate) fn read_file(path: &Path, shown: &str) -> Result<FileBytes, SpecError> {
    let bytes = std::fs::read(path).map_err(|e| io_error(shown, &e))?;
    let sha256 = format!("{:x}", sha2::Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).map_err(|e| {
        unreadable(
            shown,
            format!("it is not UTF-8 text ({})", e.utf8_error()),
            "save the file as UTF-8",
        )
    })?;
    Ok(FileBytes { sha256, text })
}

/// A metric file that cannot be opened, with what to do about it.
pub(crate) fn io_error(shown: &str, e: &std::io::Error) -> SpecError {
    let next = match e.kind() {
        std::io::ErrorKind::NotFound => "check the path, or run `postcall init` to create a starter metric file",
        _ => "check that the file exists and is readable",
    };
    unreadable(shown, e.to_string(), next)
}

fn unreadable(shown: &str, what: String, next: &str) -> SpecError {
    SpecError::at(shown, None, format!("cannot read the metric file: {what}; {next}"))
}

/// The hash a report records for `files`: one file's own sha256, or, for several, the
/// sha256 of their hashes (hex, one per line, in composition order).
pub fn composed_sha256(files: &[SpecFile]) -> String {
    match files {
        [one] => one.sha256.clone(),
        _ => {
            let mut hasher = sha2::Sha256::new();
            for file in files {
                hasher.update(file.sha256.as_bytes());
                hasher.update(b"\n");
            }
            format!("{:x}", hasher.finalize())
        }
    }
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
