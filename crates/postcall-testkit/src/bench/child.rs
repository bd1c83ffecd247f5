//! Runs a command as a child process and measures it the way `/usr/bin/time -v` does: wall
//! time from spawn to exit, and the child's own CPU time and peak RSS from `wait4`'s rusage
//! (the kernel's numbers, so nothing in the child has to cooperate).
//!
//! One trap: Linux counts the memory of the process a child was forked (or vforked) from
//! into the child's `ru_maxrss`, because exec records the old address space's high-water
//! mark. The benchmark process holds the fake endpoint and the generator's leftovers (tens
//! of MB), so measuring postcall directly would report the benchmark's size as postcall's.
//! [`run_measured_clean`] therefore goes through a freshly exec'd wrapper (this same binary,
//! [`MEASURE_ARG`]) whose own footprint is a few MB, and which reports back through a file.

use std::ffi::OsString;
use std::io;
use std::path::Path;
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

/// The first argument that turns a binary into the measuring wrapper:
/// `BIN __measure OUT_FILE PROGRAM ARGS...`.
pub const MEASURE_ARG: &str = "__measure";

/// Runs `command` (its program, arguments, environment and directory; stdio comes from
/// `stdout` and `stderr`) through `wrapper` (a binary whose `main` calls [`wrapper_main`] on
/// [`MEASURE_ARG`]), so the child's peak RSS is its own and not its parent's.
pub fn run_measured_clean(
    wrapper: &Path,
    command: &Command,
    report: &Path,
    stdout: Stdio,
    stderr: Stdio,
) -> io::Result<ChildUsage> {
    let _ = std::fs::remove_file(report);
    let mut outer = Command::new(wrapper);
    outer.arg(MEASURE_ARG).arg(report).arg(command.get_program());
    outer.args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => outer.env(key, value),
            None => outer.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        outer.current_dir(dir);
    }
    outer.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    let status = outer.status()?;
    let text = std::fs::read_to_string(report).unwrap_or_default();
    let fields: Vec<i64> = text.split_whitespace().filter_map(|f| f.parse().ok()).collect();
    let [wall, user, system, max_rss, exit_code] = fields[..] else {
        return Err(io::Error::other(format!(
            "the measuring wrapper exited {status} without a report (`{}`)",
            text.trim()
        )));
    };
    let ns = |n: i64| Duration::from_nanos(n.max(0) as u64);
    Ok(ChildUsage {
        wall: ns(wall),
        user: ns(user),
        system: ns(system),
        max_rss: max_rss.max(0) as u64,
        exit_code: exit_code as i32,
    })
}

/// The wrapper's side: `args` are what follows [`MEASURE_ARG`] (report file, program,
/// its arguments). Runs the program with this process's stdio and writes
/// `wall_ns user_ns system_ns max_rss_bytes exit_code` to the report file.
pub fn wrapper_main(args: &[OsString]) -> i32 {
    let [report, program, rest @ ..] = args else {
        eprintln!("usage: {MEASURE_ARG} REPORT_FILE PROGRAM [ARGS...]");
        return 2;
    };
    let text = match run_measured(Command::new(program).args(rest)) {
        Ok(u) => format!(
            "{} {} {} {} {}\n",
            u.wall.as_nanos(),
            u.user.as_nanos(),
            u.system.as_nanos(),
            u.max_rss,
            u.exit_code
        ),
        Err(e) => format!("cannot run {}: {e}\n", Path::new(program).display()),
    };
    match std::fs::write(report, text) {
        Ok(()) => 0,
        Err(_) => 1,
    }
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
