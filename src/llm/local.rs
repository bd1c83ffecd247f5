//! A managed local endpoint: postcall starts llama.cpp's `llama-server` on a free
//! 127.0.0.1 port, waits for it to be ready, and stops it on every exit path.
//!
//! Call transcripts hold names, phone numbers and card digits; a local model keeps them on
//! the machine, and lets a new user see postcall work before wiring up a key.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use super::config::LocalEndpoint;

pub const MODEL_FILE: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// The model name sent in requests (llama-server serves whatever it loaded).
pub const LOCAL_MODEL_NAME: &str = "smollm2-135m-instruct";
/// Context per slot; SmolLM2 was trained with 8k, and calls rarely need more than 4k.
pub const CONTEXT_PER_SLOT: u32 = 4096;
/// The default `max_input_tokens` against the managed server: what a slot's context leaves
/// after room for the answer (a 9-metric answer's `--max-tokens auto` budget is ~800 tokens,
/// twice that when a cut-off answer is asked again). A longer call is then cut to fit by
/// `--long-calls` before it is sent, instead of being refused by the server (the 100k of
/// other endpoints would let a 6k-token call through to a 4k slot).
pub const MAX_INPUT_TOKENS: u64 = CONTEXT_PER_SLOT as u64 - 1536;
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Request timeout for the local server when none is configured.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long the server may take to finish its current generation after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// The answer limits of the managed local model: the defaults, but no evidence
/// (`quotes=0`) and a reasoning of at most 60 characters. The first run is held to 60 ×
/// metrics + 100 completion tokens a call (issue 10). Measured on the first run's two
/// calls, a call took up to 468 of its 640 without evidence and 755 with one quote of at
/// most 40 characters a metric (~32 tokens a metric, ~15 of them the JSON around the
/// quote), so no useful bound on the quote keeps the target, and SmolLM2-135M's quotes
/// were never the transcript's words anyway. Its reasonings are a quarter of what it
/// writes: at 60 characters the bundled examples took 4,433 completion tokens against
/// 4,813 at 100, 8 % less of the generation that is most of the first run's time.
/// `--answer-limits quotes=1,quote=40,reasoning=100` (or `llm.answer_limits`) asks for more.
pub fn answer_limits() -> crate::spec::AnswerLimits {
    crate::spec::AnswerLimits {
        quotes: 0,
        reasoning_chars: 60,
        ..crate::spec::AnswerLimits::default()
    }
}

/// Sampling settings sent with every request to the managed server (the metric file's
/// `llm.extra_body` wins over them). A 135M model at temperature 0 falls into loops ("I'm
/// unable to assist you, I'm unable to assist you, …"): llama.cpp's repeat penalty and DRY
/// ("don't repeat yourself") sampler make a repeated run of tokens ever less likely, and
/// DRY's sequence breakers (quotes, colons, newlines) leave the JSON around the text alone.
/// `cache_prompt` keeps a slot's prompt in the server's cache, so the requests of one call,
/// which share the transcript prefix, are not evaluated again from the start.
pub fn sampling_defaults() -> serde_json::Map<String, serde_json::Value> {
    let serde_json::Value::Object(map) = serde_json::json!({
        "repeat_penalty": 1.1,
        "repeat_last_n": 64,
        "dry_multiplier": 0.8,
        "dry_base": 1.75,
        "dry_allowed_length": 2,
        "cache_prompt": true,
    }) else {
        unreachable!("an object literal")
    };
    map
}

/// How many requests the managed server answers at once: one slot per core, at most what
/// the run asked for. On a CPU, slots beyond the cores only share the same arithmetic and
/// make every answer slower (and its context larger).
pub fn slots_for(concurrency: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    concurrency.clamp(1, cores.max(1))
}

/// Threads for the server's arithmetic: the cores idle when it starts, at least one.
/// llama.cpp's threads wait for each other by spinning, so one thread that loses its core
/// stalls them all: on 2 busy cores (load average 12), 2 threads generated 0.5 tokens/s
/// and 1 thread 7.2. On idle cores every thread adds arithmetic, so the count follows
/// what is free now (see [`idle_cores`]), not the core count nor the load average, which
/// still counts the release build that finished a moment before README's first run.
/// `llm.local.threads` sets it.
pub fn threads_for(cores: usize, idle: f64) -> usize {
    // A core at least three-quarters idle counts as free: postcall's own share while
    // waiting on the server is a few percent.
    ((idle + 0.25).floor() as usize).clamp(1, cores.max(1))
}

/// How many cores were idle over the last quarter second, from `/proc/stat`'s first line
/// (Linux); `None` where it cannot be read, and then one thread a core but one is used.
pub fn idle_cores(cores: usize) -> Option<f64> {
    fn sample() -> Option<(u64, u64)> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let fields: Vec<u64> = stat
            .lines()
            .next()?
            .strip_prefix("cpu ")?
            .split_whitespace()
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal; idle time is idle + iowait.
        let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
        Some((idle, fields.iter().take(8).sum()))
    }
    let (idle0, total0) = sample()?;
    std::thread::sleep(Duration::from_millis(250));
    let (idle1, total1) = sample()?;
    let total = total1.checked_sub(total0).filter(|t| *t > 0)?;
    Some(idle1.saturating_sub(idle0) as f64 / total as f64 * cores as f64)
}

/// The pid of the running server, for the Ctrl-C handler's immediate-exit path (which
/// skips destructors).
static SERVER_PID: AtomicI32 = AtomicI32::new(0);

/// Where `scripts/install-local-model.sh` puts things.
pub fn install_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("POSTCALL_LOCAL_DIR") {
        return Some(PathBuf::from(dir));
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(cache.join("postcall").join("local"))
}

/// The installed server and model, if both are there.
pub fn installed() -> Option<(PathBuf, PathBuf)> {
    let dir = install_dir()?;
    let server = dir.join("bin").join("llama-server");
    let model = dir.join("models").join(MODEL_FILE);
    (server.is_file() && model.is_file()).then_some((server, model))
}

/// A local server checked and ready to start: the files exist, a port is chosen, so its
/// address and cache identity are known before anything runs (the run's plan holds this;
/// the server starts when the work does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalLaunch {
    pub server: PathBuf,
    pub model: PathBuf,
    /// `llm.local.threads`; `None` chooses at start (see [`threads_for`]).
    pub threads: Option<usize>,
    port: u16,
}

impl LocalLaunch {
    pub fn prepare(server: &Path, model: &Path, threads: Option<usize>) -> anyhow::Result<LocalLaunch> {
        anyhow::ensure!(
            server.is_file(),
            "llama-server not found at {}: run scripts/install-local-model.sh, or set llm.local.server",
            server.display()
        );
        anyhow::ensure!(
            model.is_file(),
            "model file not found at {}: run scripts/install-local-model.sh, or pass --local-model PATH",
            model.display()
        );
        Ok(LocalLaunch {
            server: server.to_path_buf(),
            model: model.to_path_buf(),
            threads,
            port: free_port()?,
        })
    }

    /// The address and cache identity the endpoint resolution stacks in its chain.
    /// Identity: stable across runs (the port is not): the model file's name and size.
    pub fn endpoint(&self) -> LocalEndpoint {
        let size = std::fs::metadata(&self.model).map(|m| m.len()).unwrap_or(0);
        let name = self
            .model
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        LocalEndpoint {
            base_url: format!("http://127.0.0.1:{}/v1", self.port),
            identity: format!("local-llama-server|{name}|{size}"),
        }
    }

    /// Starts the server with `slots` slots (see [`slots_for`]) and `llm.local.threads`
    /// or [`threads_for`] threads, and waits until it answers.
    pub fn start(&self, slots: usize, log_dir: &Path) -> anyhow::Result<LocalServer> {
        std::fs::create_dir_all(log_dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", log_dir.display()))?;
        let log = log_dir.join("llama-server.log");
        let log_file =
            std::fs::File::create(&log).map_err(|e| anyhow::anyhow!("cannot write {}: {e}", log.display()))?;
        let slots = slots.clamp(1, 64);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let threads = self.threads.unwrap_or_else(|| {
            idle_cores(cores).map_or(cores.saturating_sub(1).max(1), |idle| threads_for(cores, idle))
        });
        let mut command = Command::new(&self.server);
        command
            .arg("-m")
            .arg(&self.model)
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["-c", &(CONTEXT_PER_SLOT as usize * slots).to_string()])
            .args(["-np", &slots.to_string()])
            .args(["-t", &threads.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file.try_clone()?))
            .stderr(Stdio::from(log_file));
        die_with_parent(&mut command);
        let child = command
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {}: {e}", self.server.display()))?;
        SERVER_PID.store(child.id() as i32, Ordering::SeqCst);
        let mut running = LocalServer {
            child,
            base_url: self.endpoint().base_url,
            log,
            threads,
        };
        running.wait_ready(self.port)?;
        Ok(running)
    }
}

/// A running llama-server, stopped when dropped.
pub struct LocalServer {
    child: Child,
    pub base_url: String,
    pub log: PathBuf,
    pub threads: usize,
}

impl LocalServer {
    fn wait_ready(&mut self, port: u16) -> anyhow::Result<()> {
        let started = Instant::now();
        let client = crate::net::client(crate::net::ClientOptions {
            timeout: Duration::from_secs(2),
            idle_per_host: 1,
        })?;
        let url = format!("http://127.0.0.1:{port}/health");
        while started.elapsed() < READY_TIMEOUT {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!(
                    "llama-server exited during start-up ({status}); its log is {}",
                    self.log.display()
                );
            }
            if client.get(&url).send().is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        anyhow::bail!(
            "llama-server was not ready after {} s; its log is {}",
            READY_TIMEOUT.as_secs(),
            self.log.display()
        )
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        stop(self.child.id() as i32);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                SERVER_PID.store(0, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        SERVER_PID.store(0, Ordering::SeqCst);
    }
}

/// Stops the server from a signal handler's exit path, where destructors do not run.
pub fn stop_running_server() {
    let pid = SERVER_PID.swap(0, Ordering::SeqCst);
    if pid > 0 {
        stop(pid);
    }
}

fn stop(pid: i32) {
    // SAFETY: kill(2) with a pid we spawned; at worst the process is already gone.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

/// If postcall dies without cleaning up (SIGKILL), the kernel stops the server too.
fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches only the child being set up.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(listener.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_follow_the_idle_cores() {
        // An idle 2-core machine (README's first run) gets both cores.
        assert_eq!(threads_for(2, 1.97), 2);
        assert_eq!(threads_for(2, 1.8), 2);
        // One core busy with something else: one thread, which then never waits for a
        // thread that lost its core.
        assert_eq!(threads_for(2, 1.1), 1);
        assert_eq!(threads_for(2, 0.05), 1);
        assert_eq!(threads_for(8, 5.5), 5);
        assert_eq!(threads_for(8, 8.0), 8);
    }

    #[test]
    fn idle_cores_are_measured_within_the_machine() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        if let Some(idle) = idle_cores(cores) {
            assert!((0.0..=cores as f64 + 0.01).contains(&idle), "{idle} idle of {cores}");
        }
    }
}
