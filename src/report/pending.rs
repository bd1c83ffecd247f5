//! Files written beside their destination and moved over it only when complete.
//!
//! A report is read by people and pipelines while a long run is going, and a run may be
//! killed at any point. Writing to a temporary file in the destination's own directory and
//! renaming it at the end means the destination holds either the previous file or the new
//! complete one, never half of either (a rename within one directory is atomic). Creating
//! the temporary file when the sink is opened is also what makes a bad output path fail
//! before the first request is paid for.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

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
    fn bare_file_name_lives_in_current_directory() {
        assert_eq!(parent_dir(Path::new("out.json")), Path::new("."));
        assert_eq!(parent_dir(Path::new("a/out.json")), Path::new("a"));
    }
}
