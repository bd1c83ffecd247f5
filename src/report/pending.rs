//! Files written beside their destination and moved over it only when complete.
//!
//! A report is read by people and pipelines while a long run is going, and a run may be
//! killed at any point. Writing to a temporary file in the destination's own directory and
//! renaming it at the end means the destination holds either the previous file or the new
//! complete one, never half of either (a rename within one directory is atomic). Creating
//! the temporary file when the sink is opened is also what makes a bad output path fail
//! before the first request is paid for.
//!
//! A run that stops early (Ctrl-C, an endpoint that refuses it) leaves the destination as it
//! was and puts what finished beside it, at [`partial_path`] (`report.json.partial`). A run
//! holds a lock on each destination while it writes (`.report.json.lock`), so a second run
//! on the same output refuses at once instead of splicing its lines into the first one's.
//! Temporary files are named `.<name>.<pid>.<n>.tmp`; those a killed run left behind are
//! removed by the next run that writes the same destination.

use std::fs::{self, File, OpenOptions};

use anyhow::Context as _;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use crate::lock::{self, Attempt, Held};

/// A temporary file that is deleted when dropped unless [`TempFile::persist`] moved it.
#[derive(Debug)]
pub(crate) struct TempFile {
    path: PathBuf,
    kept: bool,
}

impl TempFile {
    /// Creates a new, empty, hidden file in `dir` whose name starts with `.{stem}.`.
    pub(crate) fn create_in(dir: &Path, stem: &str) -> io::Result<(TempFile, File)> {
        // Process id and a counter keep names unique without randomness; `create_new`
        // guards against a leftover from a crashed process with a reused pid.
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = format!(".{stem}.{}.{n}.tmp", std::process::id());
            let path = dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => return Ok((TempFile { path, kept: false }, file)),
                Err(err) if err.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
    }

    /// Creates a temporary file beside `dest`, in the same directory.
    pub(crate) fn beside(dest: &Path) -> io::Result<(TempFile, File)> {
        let stem = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        TempFile::create_in(parent_dir(dest), &stem)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the file over `dest`, replacing whatever was there.
    pub(crate) fn persist(mut self, dest: &Path) -> io::Result<()> {
        fs::rename(&self.path, dest)?;
        self.kept = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.kept {
            // Best effort: a leftover hidden file is untidy, not wrong.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// The directory `path` lives in; `.` for a bare file name.
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Where a finished run's report goes, beside its destination, when the run stopped early.
pub(crate) fn partial_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    dest.with_file_name(name)
}

/// Where a sink writes, opened: standard output, a device or FIFO written in place, or a
/// file this process holds the lock on.
#[derive(Debug)]
pub(crate) enum Target {
    Stdout,
    /// `/dev/null`, a FIFO: written directly, since a device cannot be renamed over (and
    /// must never be replaced by a file).
    Device(PathBuf),
    File {
        dest: PathBuf,
        _lock: Held,
    },
}

impl Target {
    /// Takes the lock on `dest` and removes the temporary files a killed run left beside it.
    pub(crate) fn lock_file(dest: &Path) -> anyhow::Result<Target> {
        let name = dest.file_name().unwrap_or_default().to_string_lossy().into_owned();
        let lock_path = parent_dir(dest).join(format!(".{name}.lock"));
        let cannot = |e: io::Error| anyhow::anyhow!("cannot write the report to {}: {e}", dest.display());
        match lock::try_lock_path(&lock_path).map_err(cannot)? {
            Attempt::Held(held) => {
                remove_stale_temps(parent_dir(dest), &name);
                Ok(Target::File {
                    dest: dest.to_path_buf(),
                    _lock: held,
                })
            }
            Attempt::Busy { pid } => {
                let who = pid.map_or_else(
                    || "another postcall run".to_string(),
                    |p| format!("another postcall run (pid {p})"),
                );
                anyhow::bail!(
                    "{who} is writing {}; wait for it to finish, or give this run another -o (the lock is {})",
                    dest.display(),
                    lock_path.display()
                )
            }
        }
    }

    pub(crate) fn label(&self) -> String {
        match self {
            Target::Stdout => "standard output".to_string(),
            Target::Device(path) | Target::File { dest: path, .. } => path.display().to_string(),
        }
    }

    /// A temporary file for what is written before it can go into place: beside the
    /// destination (so the final rename stays in one directory), or in the system's
    /// temporary directory for standard output and devices.
    /// Moves a finished temporary file into place: synced, then renamed to where `ending`
    /// puts the destination (itself, or its `.partial` beside it). `None` for a target
    /// that is not a file, which has no temporary file to move.
    pub(crate) fn persist(
        &self,
        temp: Option<(TempFile, File)>,
        ending: super::json::Ending,
    ) -> anyhow::Result<Option<PathBuf>> {
        let (Target::File { dest, .. }, Some((temp, file))) = (self, temp) else {
            return Ok(None);
        };
        let to = ending.place(dest);
        file.sync_all()
            .with_context(|| format!("cannot write the report to {}", self.label()))?;
        temp.persist(&to)
            .with_context(|| format!("cannot write the report to {}", to.display()))?;
        Ok(Some(to))
    }

    pub(crate) fn temp(&self, stem: &str) -> io::Result<(TempFile, File)> {
        match self {
            Target::File { dest, .. } => TempFile::beside(dest),
            Target::Stdout | Target::Device(_) => TempFile::create_in(&std::env::temp_dir(), stem),
        }
    }

    /// Opens a device for writing, in place.
    pub(crate) fn open_device(path: &Path) -> io::Result<File> {
        OpenOptions::new().write(true).open(path)
    }
}

/// Removes `.<name>.<pid>.<n>.tmp` files in `dir` whose writer is gone.
fn remove_stale_temps(dir: &Path, name: &str) {
    let Ok(listing) = fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    let prefix = format!(".{name}.");
    for entry in listing.flatten() {
        let file_name = entry.file_name();
        let Some(rest) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest
            .strip_suffix(".tmp")
            .and_then(|r| r.split_once('.'))
            .and_then(|(pid, n)| n.parse::<u64>().ok().and(pid.parse::<u32>().ok()))
        else {
            continue;
        };
        let modified = entry.metadata().and_then(|m| m.modified()).unwrap_or(now);
        if lock::left_by_a_dead_process(pid, modified, now) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn persist_replaces_destination_and_drop_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("out.csv");
        fs::write(&dest, "old").unwrap();

        let (temp, mut file) = TempFile::beside(&dest).unwrap();
        assert_eq!(temp.path().parent(), Some(dir.path()));
        file.write_all(b"new").unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "old");
        temp.persist(&dest).unwrap();
        assert_eq!(fs::read_to_string(&dest).unwrap(), "new");

        let (temp, _file) = TempFile::beside(&dest).unwrap();
        let path = temp.path().to_path_buf();
        assert!(path.exists());
        drop(temp);
        assert!(!path.exists());
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn temps_left_by_a_dead_run_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("r.json");
        let dead = u32::try_from(libc::pid_t::MAX).unwrap();
        let stale = dir.path().join(format!(".r.json.{dead}.0.tmp"));
        let other_report = dir.path().join(format!(".other.json.{dead}.0.tmp"));
        let not_ours = dir.path().join(".r.json.notes.tmp");
        for path in [&stale, &other_report, &not_ours] {
            fs::write(path, "x").unwrap();
        }
        // Old enough to be from before this run.
        let old = SystemTime::now() - std::time::Duration::from_secs(60);
        File::options()
            .write(true)
            .open(&stale)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let (live, _file) = TempFile::beside(&dest).unwrap();
        let target = Target::lock_file(&dest).unwrap();
        assert!(!stale.exists());
        assert!(live.path().exists(), "this process's own temp file is kept");
        assert!(other_report.exists() && not_ours.exists(), "other names are left alone");
        drop(target);
    }

    #[test]
    fn a_second_lock_on_a_destination_names_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("r.jsonl");
        let _held = Target::lock_file(&dest).unwrap();
        let err = Target::lock_file(&dest).unwrap_err().to_string();
        assert!(
            err.contains(&format!("another postcall run (pid {})", std::process::id())),
            "{err}"
        );
        assert!(err.contains("r.jsonl") && err.contains("another -o"), "{err}");
    }

    #[test]
    fn the_partial_report_sits_beside_its_destination() {
        assert_eq!(partial_path(Path::new("out/r.jsonl")), Path::new("out/r.jsonl.partial"));
        assert_eq!(partial_path(Path::new("r.csv")), Path::new("r.csv.partial"));
    }

    #[test]
    fn bare_file_name_lives_in_current_directory() {
        assert_eq!(parent_dir(Path::new("out.json")), Path::new("."));
        assert_eq!(parent_dir(Path::new("a/out.json")), Path::new("a"));
    }
}
