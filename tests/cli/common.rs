//! Shared test helpers: a scrubbed `postcall` command in a fresh temp directory, and the
//! `postcall run` every end-to-end test starts from, pointed at a fake endpoint.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use postcall_testkit::fake_llm::{FakeConfig, FakeServer, Refuse};

/// The model name the run tests send; the fake endpoint answers any.
pub const MODEL: &str = "m";

/// A fresh temporary directory for one test, deleted when dropped.
pub struct TestDir {
    pub dir: tempfile::TempDir,
}

impl TestDir {
    pub fn new() -> TestDir {
        TestDir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn join(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes `contents` to `rel` (creating parent directories) and returns its path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dirs");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// `postcall` run inside this directory with an environment that cannot reach any
    /// real endpoint or pick up the developer's keys.
    pub fn postcall(&self) -> Command {
        Command::from_std(self.postcall_process())
    }

    /// The same scrubbed `postcall`, as a plain process for tests that spawn it and signal
    /// it while it runs.
    pub fn postcall_process(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_postcall"));
        cmd.current_dir(self.path());
        for (key, _) in std::env::vars() {
            if key.starts_with("POSTCALL_")
                || key.starts_with("AWS_")
                || key.starts_with("AZURE_")
                || key.starts_with("GOOGLE_")
                || key.ends_with("_API_KEY")
                || key.contains("PROXY")
                || key.contains("proxy")
            {
                cmd.env_remove(key);
            }
        }
        cmd.env("XDG_CACHE_HOME", self.join(".xdg-cache"));
        cmd.env("NO_COLOR", "1");
        cmd
    }

    /// `postcall run -m metrics.yaml calls` with no endpoint given: the test adds the
    /// endpoint flags it checks, or `--dry-run`.
    pub fn run_unconfigured(&self) -> Command {
        let mut cmd = self.postcall();
        cmd.args(["run", "-m", "metrics.yaml", "calls"]);
        cmd
    }

    /// `postcall run -m metrics.yaml calls` against `fake` with model [`MODEL`]: the test
    /// adds its outputs and flags. The cache is the default one in this directory
    /// (`.postcall/cache`), so runs in one test share it and tests never share one.
    pub fn run_against(&self, fake: &FakeServer) -> Command {
        self.run_at(&fake.base_url(), MODEL)
    }

    /// [`TestDir::run_against`] with `args`, run to the end: its output and its stderr.
    pub fn run_output(&self, fake: &FakeServer, args: &[&str]) -> (std::process::Output, String) {
        let output = self.run_against(fake).args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (output, stderr)
    }

    /// [`TestDir::run_against`] with `args`, writing `r.json`, which must succeed: the
    /// report, as JSON.
    pub fn run_report(&self, fake: &FakeServer, args: &[&str]) -> serde_json::Value {
        self.run_against(fake)
            .args(args)
            .args(["-o", "r.json"])
            .assert()
            .success();
        self.read_json("r.json")
    }

    /// The JSON file `rel` (a report, an export) as a value.
    pub fn read_json(&self, rel: &str) -> serde_json::Value {
        let text = std::fs::read_to_string(self.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// `postcall prompt -m metrics.yaml CALL ARGS…` in this directory, run to its end.
    pub fn prompt_output(&self, call: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> std::process::Output {
        self.postcall()
            .args(["prompt", "-m", "metrics.yaml"])
            .arg(call)
            .args(args)
            .output()
            .unwrap()
    }

    /// [`TestDir::prompt_output`], which must succeed: what it printed.
    pub fn prompt_stdout(&self, call: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> String {
        let output = self.prompt_output(call, args);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf-8 stdout")
    }

    /// [`TestDir::run_against`] for any base URL and model: a named model, an endpoint
    /// that is down.
    pub fn run_at(&self, base_url: &str, model: &str) -> Command {
        Command::from_std(self.run_process_at(base_url, model))
    }

    /// The same `run`, as a plain process for tests that spawn it and signal it.
    pub fn run_process_at(&self, base_url: &str, model: &str) -> std::process::Command {
        let mut cmd = self.postcall_process();
        cmd.args(["run", "-m", "metrics.yaml", "calls"]);
        cmd.args(["--base-url", base_url, "--model", model]);
        cmd
    }
}

/// The repository's root, for reading fixtures and examples.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(rel: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(rel)
}

/// The fake endpoint answering each request after `ms` milliseconds: time for a test to
/// act while a run is under way.
pub fn slow_fake(ms: u64) -> FakeServer {
    FakeServer::start(FakeConfig {
        latency: std::time::Duration::from_millis(ms),
        ..Default::default()
    })
    .unwrap()
}

/// The fake endpoint refusing every request as `refuse` says.
pub fn refusing_fake(refuse: Refuse) -> FakeServer {
    FakeServer::start(FakeConfig {
        refuse: Some(refuse),
        ..Default::default()
    })
    .unwrap()
}

/// Every file below `dir`, in path order; none when it does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    let mut files = Vec::new();
    for path in entries {
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The fake endpoint keeping every request it is sent, for the test to read back.
pub fn recording_fake() -> FakeServer {
    FakeServer::start(FakeConfig {
        record: true,
        ..Default::default()
    })
    .unwrap()
}

/// Two JSON reports give the same metrics to each call, call by call.
pub fn assert_same_metrics(a: &serde_json::Value, b: &serde_json::Value) {
    let (a, b) = (a["calls"].as_array().unwrap(), b["calls"].as_array().unwrap());
    assert_eq!(a.len(), b.len());
    for (a, b) in a.iter().zip(b) {
        assert_eq!(a["metrics"], b["metrics"]);
    }
}

/// Waits until `done` holds, for at most 30 s, and fails the test if it never does: a run
/// under way is given time to reach the point the test acts at.
pub fn wait_until(done: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !done() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(done(), "timed out waiting for the run to get there");
}

/// Waits until `fake` has been sent `n` requests (see [`wait_until`]).
pub fn wait_for_requests(fake: &FakeServer, n: u64) {
    wait_until(|| fake.requests() >= n);
}

/// Ctrl-C: sends SIGINT to `child`, as a terminal does, and waits for what it prints. A run
/// still going 30 s later fails the test (and is killed) rather than hanging it.
pub fn interrupt(child: std::process::Child) -> std::process::Output {
    // SAFETY: kill(2) on a pid this test spawned and has not waited for yet.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    output_within(child, std::time::Duration::from_secs(30)).expect("the run stops after one Ctrl-C")
}

/// What `child` printed once it exits, if it does within `limit`; else it is killed and
/// this is `None`.
pub fn output_within(child: std::process::Child, limit: std::time::Duration) -> Option<std::process::Output> {
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output().unwrap());
    });
    let output = receiver.recv_timeout(limit).ok();
    if output.is_none() {
        // SAFETY: kill(2) on the pid of a child this test spawned, which the waiter has
        // not reaped (it is still running).
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
    }
    waiter.join().unwrap();
    output
}
