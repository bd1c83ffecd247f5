//! Advisory locks on files named by path, which no way of dying can leave held: a run's
//! hold on its report destinations, and a run's claim on a request it is about to pay for
//! in a cache other runs share.
//!
//! They are `flock` locks (std's `File::try_lock`): the operating system drops them when
//! the holding process exits, however it exits, SIGKILL included, so a lock never outlives
//! its run and nothing has to guess whether an old lock is stale. The lock file holds the
//! holder's pid as text, so whoever finds it taken can say by whom.
//!
//! The holder removes the lock file when it lets go. Someone who opened the file before it
//! was removed may then lock the removed file rather than the one a newcomer creates at the
//! same path; [`try_lock_path`] therefore checks, once it holds a lock, that the path still
//! names the file it locked, and starts again when it does not.
//!
//! Also here: telling whether a process is alive, which is how temporary files left by a
//! killed run are recognised (their names carry the pid that wrote them).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A lock this process holds; released (and its file removed) when dropped.
#[derive(Debug)]
pub struct Held {
    path: PathBuf,
    // Closing the file is what releases the lock: it must outlive the removal in `drop`.
    _file: File,
}

/// What [`try_lock_path`] found.
#[derive(Debug)]
pub enum Attempt {
    Held(Held),
    /// Another process (or another handle in this one) holds it; its pid when it has
    /// written one yet.
    Busy {
        pid: Option<u32>,
    },
}

/// Locks the file at `path` (creating it) without waiting.
pub fn try_lock_path(path: &Path) -> io::Result<Attempt> {
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Ok(Attempt::Busy {
                    pid: read_pid(&mut file),
                });
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        if !names_the_same_file(path, &file)? {
            // We locked a file its holder removed as it let go; the path has a new one.
            continue;
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        write!(file, "{}", std::process::id())?;
        return Ok(Attempt::Held(Held {
            path: path.to_path_buf(),
            _file: file,
        }));
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // Removed while still locked, then unlocked by closing: see the module doc.
        let _ = fs::remove_file(&self.path);
    }
}

fn read_pid(file: &mut File) -> Option<u32> {
    let mut text = String::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.take(32).read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

#[cfg(unix)]
fn names_the_same_file(path: &Path, file: &File) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata()?;
    match fs::metadata(path) {
        Ok(named) => Ok(named.dev() == open.dev() && named.ino() == open.ino()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn names_the_same_file(path: &Path, _file: &File) -> io::Result<bool> {
    Ok(path.exists())
}

/// Whether a process with this pid exists (one of another user's counts: it is not ours to
/// clean up after).
#[cfg(unix)]
pub fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // Signal 0 checks that the process exists without sending anything.
    let result = unsafe { libc::kill(pid, 0) };
    result == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

#[cfg(not(unix))]
pub fn process_alive(_pid: u32) -> bool {
    true
}

/// Whether a temporary file written by `pid`, last changed at `modified`, was left behind
/// by a process that is gone: not this process, not a live one, and older than `now`.
pub fn left_by_a_dead_process(pid: u32, modified: std::time::SystemTime, now: std::time::SystemTime) -> bool {
    pid != std::process::id() && modified < now && !process_alive(pid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_lock_is_busy_for_others_and_names_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".r.json.lock");
        let Attempt::Held(held) = try_lock_path(&path).unwrap() else {
            panic!("a fresh lock is free")
        };
        match try_lock_path(&path).unwrap() {
            Attempt::Busy { pid } => assert_eq!(pid, Some(std::process::id())),
            Attempt::Held(_) => panic!("locked twice"),
        }
        drop(held);
        assert!(!path.exists(), "the lock file is removed when released");
        assert!(matches!(try_lock_path(&path).unwrap(), Attempt::Held(_)));
    }

    #[test]
    fn a_lock_file_left_without_a_holder_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("claim");
        // What a SIGKILLed holder leaves: the file, its pid, no lock.
        fs::write(&path, "999999999").unwrap();
        let Attempt::Held(_held) = try_lock_path(&path).unwrap() else {
            panic!("an unheld lock file is free")
        };
        assert_eq!(fs::read_to_string(&path).unwrap(), std::process::id().to_string());
    }

    #[test]
    fn only_dead_processes_leave_stale_files() {
        let now = std::time::SystemTime::now();
        let before = now - std::time::Duration::from_secs(60);
        assert!(!left_by_a_dead_process(std::process::id(), before, now));
        // pid 1 is always alive.
        assert!(!left_by_a_dead_process(1, before, now));
        let dead = u32::try_from(libc::pid_t::MAX).unwrap();
        assert!(left_by_a_dead_process(dead, before, now));
        assert!(!left_by_a_dead_process(dead, now, now), "not older than the run");
    }
}
