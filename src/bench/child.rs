//! Runs a command as a child process and measures it the way `/usr/bin/time -v` does: wall
//! time from spawn to exit, and the child's own CPU time and peak RSS from `wait4`'s rusage
//! (the kernel's numbers, so nothing in the child has to cooperate).

use std::io;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one child run cost.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ChildUsage {
    pub wall: Duration,
    pub user: Duration,
    pub system: Duration,
    /// Peak resident set size in bytes.
    pub max_rss: u64,
    /// The exit code, or 128 + the signal that killed it.
    pub exit_code: i32,
}

impl ChildUsage {
    pub fn cpu(&self) -> Duration {
        self.user + self.system
    }
}

/// Spawns `command` (stdin closed; stdout and stderr as the caller set them, default
/// inherited), waits for it with `wait4`, and returns its usage.
pub fn run_measured(command: &mut Command) -> io::Result<ChildUsage> {
    command.stdin(Stdio::null());
    let started = Instant::now();
    let child = command.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data; zeroed is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: pid is our child, not yet reaped (std only reaps in wait/try_wait, which
        // are never called on it); status and usage point to live locals.
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
    let wall = started.elapsed();
    // The child is reaped: dropping its handle closes our ends of its pipes, nothing more.
    drop(child);
    let exit_code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        -1
    };
    Ok(ChildUsage {
        wall,
        user: timeval(usage.ru_utime),
        system: timeval(usage.ru_stime),
        // Linux reports ru_maxrss in kilobytes.
        max_rss: usage.ru_maxrss.max(0) as u64 * 1024,
        exit_code,
    })
}

/// CPU time this process has used so far (all its threads, not its children): the
/// in-process fake endpoint's cost, measured as a difference around a child run.
pub fn own_cpu() -> Duration {
    // SAFETY: as above; getrusage only writes into `usage`.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: RUSAGE_SELF with a valid pointer cannot fail.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    timeval(usage.ru_utime) + timeval(usage.ru_stime)
}

fn timeval(tv: libc::timeval) -> Duration {
    Duration::from_secs(tv.tv_sec.max(0) as u64) + Duration::from_micros(tv.tv_usec.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_exit_code_and_usage_of_the_child() {
        let usage = run_measured(Command::new("sh").args(["-c", "exit 3"])).unwrap();
        assert_eq!(usage.exit_code, 3);
        assert!(usage.wall > Duration::ZERO);
        assert!(usage.max_rss > 0, "{usage:?}");
    }
}
