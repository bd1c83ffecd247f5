//! An S3-compatible server on 127.0.0.1 for the object-storage tests: moto's server mode,
//! installed by `scripts/install-test-tools.sh` into a venv outside the repository, one
//! process per [`S3Server`], killed when it is dropped (or when the test process dies).
//!
//! Tests talk to it the way a user's shell would set postcall up: [`S3Server::env`] is the
//! environment (`AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`, keys) that object_store's
//! `from_env` reads. Setting a bucket up and looking at what was written goes through
//! plain unsigned HTTP, which moto accepts until [`S3Server::enforce_auth`] is called.
//! [`S3Server::record_requests`] turns on moto's request recorder (into a file of this
//! server's own), so a test can count the GETs a run made of each object.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::http::Answer;

/// The access key the tests' environment carries (moto, without auth, accepts any).
pub const ACCESS_KEY_ID: &str = "AKIAPOSTCALLTEST0001";
pub const SECRET_ACCESS_KEY: &str = "postcall-test-secret-key-0001";

/// A running moto server.
pub struct S3Server {
    child: Child,
    port: u16,
    /// Where moto records requests once [`S3Server::record_requests`] is called.
    recording: tempfile::TempPath,
}

/// Where `scripts/install-test-tools.sh` installs the test servers: outside the repository.
pub fn tools_dir() -> PathBuf {
    std::env::var_os("POSTCALL_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
            cache.join("postcall").join("tools")
        })
}

/// The venv `scripts/install-test-tools.sh` makes, where it makes it.
/// `program` if `scripts/install-test-tools.sh` has put it in place; otherwise an error
/// that names it and says to run the script.
pub(crate) fn installed(name: &str, program: PathBuf) -> anyhow::Result<PathBuf> {
    if !program.exists() {
        bail!(
            "{name} is not installed at {}: run scripts/install-test-tools.sh (it installs the test servers \
             outside the repository), then run the tests again",
            program.display()
        );
    }
    Ok(program)
}

pub fn moto_python() -> PathBuf {
    tools_dir().join("moto").join("bin").join("python")
}

/// What the benchmark needs of an S3-compatible server: where it is, and putting an archive
/// in it. moto ([`S3Server`]) and s3s-fs ([`crate::s3_fs::FsS3Server`]) both have it.
pub trait S3Compatible {
    /// `http://127.0.0.1:PORT`.
    fn endpoint(&self) -> String;
    fn create_bucket(&self, bucket: &str) -> anyhow::Result<()>;
    fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> anyhow::Result<()>;
    /// CPU the server has spent so far, where it can be told apart from the benchmark's
    /// own (a server in this process).
    fn cpu(&self) -> Option<std::time::Duration> {
        None
    }
    /// The environment a user would set for this server.
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}

impl S3Compatible for S3Server {
    fn endpoint(&self) -> String {
        S3Server::endpoint(self)
    }
    fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        S3Server::create_bucket(self, bucket)
    }
    fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> anyhow::Result<()> {
        S3Server::put_object(self, bucket, key, body)
    }
}

impl S3Server {
    /// Starts moto on a free port and waits until it answers.
    pub fn start() -> anyhow::Result<S3Server> {
        let python = installed("moto", moto_python())?;
        let port = free_port()?;
        let recording = tempfile::NamedTempFile::new()?.into_temp_path();
        let mut command = Command::new(&python);
        command
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_RECORDER_FILEPATH", &recording);
        let child = start_server(
            &mut command,
            "moto.server",
            port,
            "scripts/install-test-tools.sh",
            || exchange(port, "GET", "/moto-api/data.json", b"").is_ok(),
        )?;
        Ok(S3Server { child, port, recording })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a user would set for this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        S3Compatible::env(self)
    }

    pub fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        self.expect_ok("PUT", &format!("/{bucket}"), b"")
    }

    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> anyhow::Result<()> {
        self.expect_ok("PUT", &format!("/{bucket}/{key}"), body)
    }

    /// The object's bytes, or `None` when there is no such object.
    pub fn get_object(&self, bucket: &str, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let (status, body) = self.request("GET", &format!("/{bucket}/{key}"), b"")?;
        match status {
            200 => Ok(Some(body)),
            404 => Ok(None),
            _ => bail!("GET /{bucket}/{key}: HTTP {status}: {}", String::from_utf8_lossy(&body)),
        }
    }

    /// Every key in the bucket under `prefix`, sorted (up to 1,000: enough for a test).
    pub fn keys(&self, bucket: &str, prefix: &str) -> anyhow::Result<Vec<String>> {
        let (status, body) = self.request("GET", &format!("/{bucket}?list-type=2&prefix={prefix}"), b"")?;
        anyhow::ensure!(status == 200, "listing {bucket}: HTTP {status}");
        let text = String::from_utf8_lossy(&body);
        let mut keys: Vec<String> = text
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_string)
            .collect();
        keys.sort();
        Ok(keys)
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub fn open_uploads(&self, bucket: &str) -> anyhow::Result<usize> {
        let (status, body) = self.request("GET", &format!("/{bucket}?uploads"), b"")?;
        anyhow::ensure!(status == 200, "listing uploads of {bucket}: HTTP {status}");
        Ok(String::from_utf8_lossy(&body).matches("<UploadId>").count())
    }

    /// From now on moto records every request it is sent, for [`S3Server::requests`].
    pub fn record_requests(&self) -> anyhow::Result<()> {
        self.expect_ok("POST", "/moto-api/recorder/start-recording", b"")
    }

    /// The method and path (with the query) of every request recorded so far, in order.
    pub fn requests(&self) -> anyhow::Result<Vec<(String, String)>> {
        let text = std::fs::read_to_string(&self.recording)?;
        text.lines()
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line)?;
                let method = entry["method"].as_str().context("no method in a recorded request")?;
                let url = entry["url"].as_str().context("no url in a recorded request")?;
                // `http://host:port/path?query`, or already the path.
                let path = url
                    .split_once("://")
                    .map_or(url, |(_, rest)| rest.find('/').map_or("/", |slash| &rest[slash..]));
                Ok((method.to_string(), path.to_string()))
            })
            .collect()
    }

    /// How many times each object of `bucket` was read whole or in part (`GET` of a key),
    /// by key, from the requests recorded so far.
    pub fn object_reads(&self, bucket: &str) -> anyhow::Result<std::collections::BTreeMap<String, usize>> {
        let mut reads = std::collections::BTreeMap::new();
        let prefix = format!("/{bucket}/");
        for (method, path) in self.requests()? {
            let Some(key) = path.strip_prefix(&prefix) else {
                continue;
            };
            if method == "GET" && !key.is_empty() && !key.starts_with('?') {
                *reads
                    .entry(key.split('?').next().unwrap_or(key).to_string())
                    .or_insert(0) += 1;
            }
        }
        Ok(reads)
    }

    /// From now on every request must be signed by a key moto knows (none the tests use),
    /// as a real store refuses wrong credentials.
    pub fn enforce_auth(&self) -> anyhow::Result<()> {
        self.expect_ok("POST", "/moto-api/reset-auth", b"0")
    }

    /// Keys of a new IAM user `user` allowed everything: what moto accepts once
    /// [`S3Server::enforce_auth`] is called, so a test can check a run signs with them.
    /// Returns the access key id and the secret.
    pub fn user_keys(&self, user: &str) -> anyhow::Result<(String, String)> {
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let encoded: String = policy
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect();
        self.iam(&format!("Action=CreateUser&UserName={user}"))?;
        self.iam(&format!(
            "Action=PutUserPolicy&UserName={user}&PolicyName=everything&PolicyDocument={encoded}"
        ))?;
        let answer = self.iam(&format!("Action=CreateAccessKey&UserName={user}"))?;
        let field = |name: &str| {
            answer
                .split(&format!("<{name}>"))
                .nth(1)
                .and_then(|rest| rest.split(&format!("</{name}>")).next())
                .map(str::to_string)
                .with_context(|| format!("no {name} in moto's CreateAccessKey answer: {answer}"))
        };
        Ok((field("AccessKeyId")?, field("SecretAccessKey")?))
    }

    /// One call of moto's IAM query API (routed by the service its Authorization names).
    fn iam(&self, query: &str) -> anyhow::Result<String> {
        let body = format!("{query}&Version=2010-05-08");
        let Answer { status, body: answer } = exchange_with(self.port, "iam", "POST", "/", body.as_bytes())?;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        anyhow::ensure!(status == 200, "IAM {query}: HTTP {status}: {answer}");
        Ok(answer)
    }

    fn expect_ok(&self, method: &str, path: &str, body: &[u8]) -> anyhow::Result<()> {
        exchange_with(self.port, "s3", method, path, body)?.success(method, path)?;
        Ok(())
    }

    fn request(&self, method: &str, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
        exchange(self.port, method, path, body)
    }
}

/// One HTTP/1.1 exchange with moto on `port`, on a fresh connection: the status and the body.
fn exchange(port: u16, method: &str, path: &str, body: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
    let answer = exchange_with(port, "s3", method, path, body)?;
    Ok((answer.status, answer.body))
}

/// [`exchange`] with the moto service `service` (`s3`, `iam`): a body to a service but S3
/// is a form.
fn exchange_with(port: u16, service: &str, method: &str, path: &str, body: &[u8]) -> anyhow::Result<Answer> {
    // moto takes a request without an Authorization header for an anonymous one, which
    // may create but not read or replace private objects; with one (not checked until
    // `enforce_auth`) it is the account's own.
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={ACCESS_KEY_ID}/20260101/us-east-1/{service}/aws4_request, \
         SignedHeaders=host, Signature=00"
    );
    let mut headers = vec![("Authorization", authorization)];
    if service != "s3" {
        headers.push(("Content-Type", "application/x-www-form-urlencoded".to_string()));
    }
    crate::http::exchange(port, method, path, &headers, body)
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nobody listens on now (bound and released: moto binds it next).
pub(crate) fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// The server dies with the test process even when a test aborts without unwinding.
pub(crate) fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// Starts a test server from `command`, with no input and its output discarded, to die with
/// the test process; returns it once `answers` (polled every 50 ms, for up to 30 s) says it
/// serves on `port`. `name` names it in errors; `install` is what installs it, for when it
/// exits at start. A server that does not come up is killed.
pub(crate) fn start_server(
    command: &mut Command,
    name: &str,
    port: u16,
    install: &str,
    mut answers: impl FnMut() -> bool,
) -> anyhow::Result<Child> {
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    die_with_parent(command);
    let mut child = command
        .spawn()
        .with_context(|| format!("cannot start {name} ({})", command.get_program().to_string_lossy()))?;
    let mut came_up = || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = child.try_wait()? {
                bail!("{name} exited at start ({status}); run {install} again");
            }
            if answers() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("{name} did not answer on 127.0.0.1:{port} within 30 s")
    };
    match came_up() {
        Ok(()) => Ok(child),
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(e)
        }
    }
}
