//! A fast S3-compatible server for the benchmark: s3s-fs (the `s3s` project's server over a
//! directory, in Rust), installed by `scripts/install-test-tools.sh --bench` outside the
//! repository, one process per [`FsS3Server`] serving a temp directory, killed when dropped.
//!
//! moto serves some 260 objects a second on the 2-core machine, so a benchmark against it
//! measures moto; this one serves thousands. The tests keep moto, for its request recorder
//! and its switch to enforce credentials. A bucket is a directory and an object a file, so
//! putting the archive in is writing files (the benchmark measures the reading).

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::s3::{ACCESS_KEY_ID, S3Compatible, SECRET_ACCESS_KEY, die_with_parent, free_port, tools_dir};

/// Where `scripts/install-test-tools.sh --bench` installs s3s-fs.
pub fn s3s_fs_binary() -> PathBuf {
    tools_dir().join("s3s-fs").join("bin").join("s3s-fs")
}

/// A running s3s-fs server over a directory of its own.
pub struct FsS3Server {
    child: Child,
    port: u16,
    root: tempfile::TempDir,
}

impl FsS3Server {
    /// Starts s3s-fs on a free port, checking the same keys the tests' environment carries,
    /// and waits until it takes connections.
    pub fn start() -> anyhow::Result<FsS3Server> {
        let binary = s3s_fs_binary();
        if !binary.exists() {
            bail!(
                "s3s-fs is not installed at {}: run scripts/install-test-tools.sh --bench (it builds it with \
                 cargo install, outside the repository), or pass --s3-server moto",
                binary.display()
            );
        }
        let root = tempfile::Builder::new().prefix("postcall-s3s-fs-").tempdir()?;
        let port = free_port()?;
        let mut command = Command::new(&binary);
        command
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY_ID, "--secret-key", SECRET_ACCESS_KEY])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        die_with_parent(&mut command);
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = FsS3Server { child, port, root };
        server.wait_ready()?;
        Ok(server)
    }

    fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait()? {
                bail!("s3s-fs exited at start ({status}); run scripts/install-test-tools.sh --bench again");
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!("s3s-fs did not listen on 127.0.0.1:{} within 30 s", self.port)
    }
}

impl S3Compatible for FsS3Server {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        Ok(std::fs::create_dir_all(self.root.path().join(bucket))?)
    }

    fn put_object(&self, bucket: &str, key: &str, body: &[u8]) -> anyhow::Result<()> {
        let path = self.root.path().join(bucket).join(key);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        Ok(std::fs::write(path, body)?)
    }
}

impl Drop for FsS3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
