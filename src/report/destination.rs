//! Every report destination checked before any is touched.
//!
//! A run that writes `-o prev.jsonl -o /nonexistent/x.csv` must fail on the second path
//! before it does anything to the first. So [`check_destinations`] looks at every `-o`
//! first, with nothing but `stat` calls: the format is known, the directory exists, the path
//! is not a directory, no two outputs are the same file, and no output is one of the run's
//! own inputs (a transcript, a file inside an input directory, the metric file, the report
//! `convert` reads), compared as canonical paths so `./calls/../calls/a.json` is caught
//! too. Only then are the destinations locked and their temporary files created.
//!
//! A destination that exists and is not a regular file — `/dev/null`, a FIFO another
//! program reads — is written in place, as it comes (see [`Place::Device`]); a directory, a
//! block device or a socket is refused.

use std::path::{Path, PathBuf};

use anyhow::bail;

use super::OutputFormat;
use super::open::format_for_path;
use crate::storage::{self, ObjectUrl};

/// How a checked destination is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Stdout,
    /// An existing character device or FIFO: written directly, never renamed over.
    Device,
    /// A regular file, new or existing: written beside it, renamed over it when complete.
    File,
    /// An object (`s3://…`): staged locally, uploaded when complete (`report/upload.rs`).
    Object(ObjectUrl),
}

/// One `-o`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub path: PathBuf,
    pub format: OutputFormat,
    pub place: Place,
}

/// A path no report may be written over or into: one of the run's inputs.
#[derive(Debug, Clone)]
pub struct Protected {
    canonical: PathBuf,
    shown: String,
    what: &'static str,
    is_dir: bool,
}

impl Protected {
    /// `path` as `what` ("the metric file", "an input"); `None` for stdin and for paths
    /// that do not exist (the run reports those itself).
    pub fn new(path: &Path, what: &'static str) -> Option<Protected> {
        if path.as_os_str() == "-" {
            return None;
        }
        // An object URL is its own canonical form; a prefix is protected like a directory.
        if let Ok(Some(url)) = ObjectUrl::from_path(path) {
            return Some(Protected {
                canonical: PathBuf::from(url.without_query()),
                shown: url.redacted(),
                what,
                is_dir: true,
            });
        }
        let canonical = path.canonicalize().ok()?;
        Some(Protected {
            is_dir: canonical.is_dir(),
            canonical,
            shown: path.display().to_string(),
            what,
        })
    }
}

/// Checks every output, in order, before any is opened. `explicit` is `--output-format`;
/// `fallback` is the format of standard output when no `-o` is given (`None`: no output
/// then) and of a device whose name has no report extension (`None`: such a device needs
/// `--output-format`).
pub fn check_destinations(
    outputs: &[PathBuf],
    explicit: Option<OutputFormat>,
    fallback: Option<OutputFormat>,
    protected: &[Protected],
) -> anyhow::Result<Vec<Destination>> {
    if outputs.is_empty() {
        return Ok(fallback
            .map(|format| Destination {
                path: PathBuf::from("-"),
                format: explicit.unwrap_or(format),
                place: Place::Stdout,
            })
            .into_iter()
            .collect());
    }
    let mut checked: Vec<(Destination, Option<PathBuf>)> = Vec::with_capacity(outputs.len());
    for path in outputs {
        let (destination, canonical) = check_one(path, explicit, fallback, protected)?;
        let same = |(d, c): &(Destination, Option<PathBuf>)| match (&destination.place, &canonical) {
            (Place::Stdout, _) => d.place == Place::Stdout,
            (_, Some(canonical)) => c.as_ref() == Some(canonical),
            _ => false,
        };
        if let Some((earlier, _)) = checked.iter().find(|c| same(c)) {
            bail!(
                "-o {} and -o {} are the same file; name each output once",
                earlier.path.display(),
                path.display()
            );
        }
        checked.push((destination, canonical));
    }
    Ok(checked.into_iter().map(|(d, _)| d).collect())
}

/// One output: where it is, how it is written, its canonical path (`None` for stdout).
fn check_one(
    path: &Path,
    explicit: Option<OutputFormat>,
    fallback: Option<OutputFormat>,
    protected: &[Protected],
) -> anyhow::Result<(Destination, Option<PathBuf>)> {
    if path.as_os_str() == "-" {
        let format = format_for_path(path, explicit)?;
        let destination = Destination {
            path: path.to_path_buf(),
            format,
            place: Place::Stdout,
        };
        return Ok((destination, None));
    }
    if let Some(url) = ObjectUrl::from_path(path).map_err(|e| anyhow::anyhow!("cannot write the report to {e}"))? {
        return check_object(url, explicit, protected);
    }
    let shown = path.display();
    let place = match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            bail!("cannot write the report to {shown}: it is a directory; give a file name")
        }
        Ok(meta) if meta.is_file() => Place::File,
        Ok(meta) if is_writable_device(&meta) => Place::Device,
        Ok(_) => bail!(
            "cannot write the report to {shown}: it is neither a file nor a character device or FIFO; give a file name"
        ),
        Err(_) => Place::File,
    };
    let canonical = match path.canonicalize() {
        Ok(canonical) => canonical,
        Err(_) => {
            let dir = super::pending::parent_dir(path);
            let Ok(dir_canonical) = dir
                .canonicalize()
                .map_err(|_| ())
                .and_then(|d| if d.is_dir() { Ok(d) } else { Err(()) })
            else {
                bail!(
                    "cannot write the report to {shown}: the directory {} does not exist; create it first",
                    dir.display()
                );
            };
            dir_canonical.join(path.file_name().unwrap_or_default())
        }
    };
    // Before the format: writing over an input is the worse mistake, and said first.
    refuse_inputs(path, &canonical, protected)?;
    let format = match format_for_path(path, explicit) {
        Ok(format) => format,
        Err(_) if place == Place::Device && fallback.is_some() => explicit.or(fallback).expect("checked"),
        Err(e) => return Err(e),
    };
    let destination = Destination {
        path: path.to_path_buf(),
        format,
        place,
    };
    Ok((destination, Some(canonical)))
}

/// An object destination: its format from its key, its bucket there and reachable with
/// these credentials (one listing, before any request is paid for).
fn check_object(
    url: ObjectUrl,
    explicit: Option<OutputFormat>,
    protected: &[Protected],
) -> anyhow::Result<(Destination, Option<PathBuf>)> {
    let canonical = PathBuf::from(url.without_query());
    let shown = PathBuf::from(url.redacted());
    refuse_inputs(&shown, &canonical, protected)?;
    let format = format_for_path(&canonical, explicit)?;
    if url.key().is_empty() || url.key().ends_with('/') {
        bail!("cannot write the report to {url}: it names a bucket, not an object; give a key, e.g. {url}/report.json");
    }
    storage::check_bucket(&url).map_err(|e| anyhow::anyhow!("cannot write the report to {e}"))?;
    let destination = Destination {
        path: shown,
        format,
        place: Place::Object(url),
    };
    Ok((destination, Some(canonical)))
}

#[cfg(unix)]
fn is_writable_device(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    meta.file_type().is_char_device() || meta.file_type().is_fifo()
}

#[cfg(not(unix))]
fn is_writable_device(_meta: &std::fs::Metadata) -> bool {
    false
}

fn refuse_inputs(path: &Path, canonical: &Path, protected: &[Protected]) -> anyhow::Result<()> {
    for input in protected {
        if canonical == input.canonical {
            bail!(
                "refusing to write the report to {}: it is {} ({}), which the report would overwrite; give another -o",
                path.display(),
                input.what,
                input.shown
            );
        }
        if input.is_dir && canonical.starts_with(&input.canonical) {
            bail!(
                "refusing to write the report to {}: it is inside the input directory {}, where it could overwrite a \
                 transcript and the next run would read it as one; give an -o outside {}",
                path.display(),
                input.shown,
                input.shown
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn check(outputs: &[&Path], protected: &[Protected]) -> anyhow::Result<Vec<Destination>> {
        let outputs: Vec<PathBuf> = outputs.iter().map(|p| p.to_path_buf()).collect();
        check_destinations(&outputs, None, Some(OutputFormat::Jsonl), protected)
    }

    fn message(result: anyhow::Result<Vec<Destination>>) -> String {
        format!("{:#}", result.expect_err("an error"))
    }

    #[test]
    fn a_bad_output_anywhere_in_the_list_fails_before_any_is_opened() {
        let t = tempfile::tempdir().unwrap();
        let prev = t.path().join("prev.jsonl");
        fs::write(&prev, "kept").unwrap();
        let err = message(check(&[&prev, Path::new("/nonexistent/x.csv")], &[]));
        assert!(err.contains("/nonexistent") && err.contains("does not exist"), "{err}");
        assert_eq!(fs::read_to_string(&prev).unwrap(), "kept");
        let err = message(check(&[&prev, t.path()], &[]));
        assert!(err.contains("it is a directory"), "{err}");
        let err = message(check(&[&prev, &t.path().join("r.txt")], &[]));
        assert!(err.contains("--output-format"), "{err}");
    }

    #[test]
    fn an_output_naming_an_input_or_inside_an_input_directory_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let calls = t.path().join("calls");
        fs::create_dir_all(calls.join("sub")).unwrap();
        fs::write(calls.join("bundle.jsonl"), "{}").unwrap();
        let metrics = t.path().join("metrics.yaml");
        fs::write(&metrics, "version: 1").unwrap();
        let protected = [
            Protected::new(&calls, "an input").unwrap(),
            Protected::new(&metrics, "the metric file").unwrap(),
        ];
        let err = message(check(&[&calls.join("bundle.jsonl")], &protected));
        assert!(err.contains("inside the input directory"), "{err}");
        let err = message(check(&[&calls.join("sub/../new.json")], &protected));
        assert!(err.contains("inside the input directory"), "{err}");
        let err = message(check(&[&t.path().join("calls/../metrics.yaml")], &protected));
        assert!(err.contains("it is the metric file"), "{err}");
        let file_input = [Protected::new(&calls.join("bundle.jsonl"), "an input").unwrap()];
        let err = message(check(&[&calls.join("bundle.jsonl")], &file_input));
        assert!(err.contains("it is an input"), "{err}");
        assert!(check(&[&t.path().join("report.json")], &protected).is_ok());
    }

    #[test]
    fn the_same_file_twice_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("r.json");
        let b = t.path().join(".").join("r.json");
        let err = message(check(&[&a, &b], &[]));
        assert!(err.contains("are the same file"), "{err}");
        let err = message(check_destinations(
            &[PathBuf::from("-"), PathBuf::from("-")],
            Some(OutputFormat::Csv),
            None,
            &[],
        ));
        assert!(err.contains("same file"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn dev_null_is_a_device_written_in_place_in_the_fallback_format() {
        let got = check(&[Path::new("/dev/null")], &[]).unwrap();
        assert_eq!(got[0].place, Place::Device);
        assert_eq!(got[0].format, OutputFormat::Jsonl);
        let outputs = [PathBuf::from("/dev/null")];
        let err = format!("{:#}", check_destinations(&outputs, None, None, &[]).unwrap_err());
        assert!(err.contains("--output-format"), "{err}");
        let csv = check_destinations(&outputs, Some(OutputFormat::Csv), None, &[]).unwrap();
        assert_eq!(csv[0].format, OutputFormat::Csv);
    }

    #[test]
    fn no_output_is_stdout_in_the_fallback_format() {
        let got = check_destinations(&[], None, Some(OutputFormat::Jsonl), &[]).unwrap();
        assert_eq!(got[0].place, Place::Stdout);
        assert!(check_destinations(&[], None, None, &[]).unwrap().is_empty());
    }
}
