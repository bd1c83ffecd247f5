//! Composing metric files: `-m defaults.yaml -m custom.yaml`, and `include:` inside a file,
//! the way Dialgen runs its default metrics beside each agent's custom ones.
//!
//! Files are composed depth first: a file's includes (in order, paths relative to the
//! including file) come before its own metrics, and `-m` files in the order given. Each
//! file is read once; one included twice (two files sharing the same defaults) is composed
//! once. An include cycle, a missing include, or an id defined in two files is an error
//! that names every place involved. Settings (`llm`, `strategy`, `context`, `summary`) are
//! taken from the last file that writes them, so a file's own settings win over what it
//! includes; when two files set one differently, a warning says which one is used.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::load::{FileWarning, LoadedSpec, MetricOrigin, SpecErrors, SpecFile, composed_sha256, io_error, read_file};
use super::node::Pos;
use super::parse::{Origin, ParsedFile, SpecError, Written, parse_file};
use super::raw::Findings;
use super::{Dialect, Spec, Warning, lint};

/// Loads and composes the metric files `paths`, in order.
pub fn load_specs(paths: &[PathBuf]) -> Result<LoadedSpec, SpecErrors> {
    let shown = paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" + ");
    let mut composer = Composer::default();
    for path in paths {
        composer.add(path, path.display().to_string(), None);
    }
    composer.finish(shown)
}

/// The include that led to a file: who included it, where, as written.
struct IncludedBy<'a> {
    file: &'a str,
    pos: Option<Pos>,
    written: &'a str,
}

#[derive(Default)]
struct Composer {
    files: Vec<SpecFile>,
    /// Each composed file's parse, parallel to `files`.
    parts: Vec<ParsedFile>,
    /// The files being composed right now, outermost first (a cycle returns to one).
    stack: Vec<(PathBuf, String)>,
    /// Every file seen (canonical path), composed or failed, so none is read twice.
    seen: HashMap<PathBuf, String>,
    errors: Vec<SpecError>,
}

impl Composer {
    fn add(&mut self, path: &Path, shown: String, by: Option<IncludedBy<'_>>) {
        let canonical = match std::fs::canonicalize(path) {
            Ok(c) => c,
            Err(e) => return self.errors.push(not_readable(&shown, &e, by.as_ref())),
        };
        if let Some(start) = self.stack.iter().position(|(c, _)| *c == canonical) {
            let by = by.expect("a file on the stack is only reached again through an include");
            let mut chain: Vec<&str> = self.stack[start..].iter().map(|(_, s)| s.as_str()).collect();
            chain.push(&shown);
            return self.errors.push(SpecError::at(
                by.file,
                by.pos,
                format!("include cycle: {}; remove one of these includes", chain.join(" → ")),
            ));
        }
        if self.seen.contains_key(&canonical) {
            return;
        }
        self.seen.insert(canonical.clone(), shown.clone());
        let bytes = match read_file(path, &shown) {
            Ok(b) => b,
            Err(e) => return self.errors.push(e),
        };
        let parsed = match parse_file(&bytes.text, &shown) {
            Ok(p) => p,
            Err(errors) => return self.errors.extend(errors),
        };
        self.stack.push((canonical, shown.clone()));
        let dir = path.parent().unwrap_or(Path::new(""));
        for include in &parsed.includes {
            let child = dir.join(&include.value);
            let child_shown = tidy(&child).display().to_string();
            let by = IncludedBy {
                file: &shown,
                pos: include.pos,
                written: &include.value,
            };
            self.add(&child, child_shown, Some(by));
        }
        self.stack.pop();
        self.files.push(SpecFile {
            path: path.to_path_buf(),
            shown,
            sha256: bytes.sha256,
            dialect: parsed.spec.dialect,
        });
        self.parts.push(parsed);
    }

    fn finish(self, shown: String) -> Result<LoadedSpec, SpecErrors> {
        let fail = |errors| SpecErrors {
            shown: shown.clone(),
            errors,
        };
        if !self.errors.is_empty() {
            return Err(fail(self.errors));
        }
        let mut merged = Merged::default();
        for (file, part) in self.files.iter().zip(self.parts) {
            merged.add(&file.shown, part);
        }
        if !merged.errors.is_empty() {
            return Err(fail(merged.errors));
        }
        let sha256 = composed_sha256(&self.files);
        let dialect = match self.files.as_slice() {
            [first, rest @ ..] if rest.iter().all(|f| f.dialect == first.dialect) => first.dialect,
            _ => Dialect::Postcall,
        };
        let Merged {
            spec,
            mut warnings,
            origins,
            last_metrics,
            ..
        } = merged;
        let mut spec = spec.expect("at least one file was composed");
        spec.dialect = dialect;
        if let Some((file, pos)) = last_metrics {
            let mut found = Findings::default();
            lint::check_group_sizes(&spec, pos, &mut found);
            warnings.extend(found.warnings.into_iter().map(|warning| FileWarning {
                file: file.clone(),
                warning,
            }));
        }
        Ok(LoadedSpec {
            spec,
            warnings,
            sha256,
            shown,
            files: self.files,
            origins,
        })
    }
}

/// `agents/../shared/x.yaml` as `shared/x.yaml`, for messages only (the file is opened by
/// the path as joined, so a symlinked directory still resolves as the system resolves it).
fn tidy(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn not_readable(shown: &str, e: &std::io::Error, by: Option<&IncludedBy<'_>>) -> SpecError {
    match by {
        None => io_error(shown, e),
        Some(by) => SpecError::at(
            by.file,
            by.pos,
            format!(
                "cannot read the included file `{}` ({shown}): {e}; an include path is relative to the directory of the file that includes it",
                by.written
            ),
        ),
    }
}

/// The files' specs put together, one at a time.
#[derive(Default)]
struct Merged {
    spec: Option<Spec>,
    warnings: Vec<FileWarning>,
    origins: Vec<MetricOrigin>,
    /// Where each setting of `spec` was written: (file, position).
    written: HashMap<&'static str, (String, Option<Pos>)>,
    /// Where the last file with metrics lists them (group-size warnings point there).
    last_metrics: Option<(String, Option<Pos>)>,
    errors: Vec<SpecError>,
}

impl Merged {
    fn add(&mut self, file: &str, part: ParsedFile) {
        self.warnings
            .extend(part.warnings.into_iter().map(|warning| FileWarning {
                file: file.to_owned(),
                warning,
            }));
        if !part.spec.metrics.is_empty() {
            self.last_metrics = Some((file.to_owned(), part.metrics_pos));
        }
        let Some(spec) = &mut self.spec else {
            self.record_written(file, part.written);
            self.origins = origins(file, &part.origins);
            self.spec = Some(part.spec);
            return;
        };
        let Spec {
            metrics,
            llm,
            strategy,
            context,
            summary,
            ..
        } = part.spec;
        for (metric, origin) in metrics.into_iter().zip(&part.origins) {
            let here = origin_in(file, origin);
            match spec.metrics.iter().position(|m| m.id == metric.id) {
                Some(i) => self.errors.push(SpecError::at(
                    file,
                    origin.pos,
                    format!(
                        "duplicate id `{}`: already defined at {}; ids must be unique across the composed files, rename or remove one of the two",
                        metric.id,
                        self.origins[i].place()
                    ),
                )),
                None => {
                    spec.metrics.push(metric);
                    self.origins.push(here);
                }
            }
        }
        let written = part.written;
        self.setting(file, "llm", written.llm, |s| &mut s.llm, llm);
        self.setting(file, "strategy", written.strategy, |s| &mut s.strategy, strategy);
        self.setting(file, "context", written.context, |s| &mut s.context, context);
        self.setting(file, "summary", written.summary, |s| &mut s.summary, summary);
    }

    fn record_written(&mut self, file: &str, written: Written) {
        for (name, pos) in [
            ("llm", written.llm),
            ("strategy", written.strategy),
            ("context", written.context),
            ("summary", written.summary),
        ] {
            if pos.is_some() {
                self.written.insert(name, (file.to_owned(), pos));
            }
        }
    }

    /// Takes a setting this file writes; warns when it replaces a different one.
    fn setting<T: PartialEq + std::fmt::Debug>(
        &mut self,
        file: &str,
        name: &'static str,
        pos: Option<Pos>,
        field: impl Fn(&mut Spec) -> &mut T,
        value: T,
    ) {
        let Some(pos) = pos else { return };
        let spec = self.spec.as_mut().expect("set before settings merge");
        let slot = field(spec);
        if let Some((before, before_pos)) = self.written.get(name)
            && *slot != value
        {
            let place = match before_pos {
                Some(p) => format!("{before}:{}", p.line),
                None => before.clone(),
            };
            self.warnings.push(FileWarning {
                file: file.to_owned(),
                warning: Warning {
                    line: Some(pos.line),
                    column: Some(pos.column),
                    ..Warning::new(
                        name,
                        format!("also set in {place}, differently; this file's `{name}` is used (the last file composed wins)"),
                    )
                },
            });
        }
        *slot = value;
        self.written.insert(name, (file.to_owned(), Some(pos)));
    }
}

fn origins(file: &str, origins: &[Origin]) -> Vec<MetricOrigin> {
    origins.iter().map(|o| origin_in(file, o)).collect()
}

fn origin_in(file: &str, origin: &Origin) -> MetricOrigin {
    MetricOrigin {
        file: file.to_owned(),
        line: origin.pos.map(|p| p.line),
        column: origin.pos.map(|p| p.column),
        name: origin.name.clone(),
    }
}

#[cfg(test)]
mod tests;
