//! An S3-compatible server the benchmark can read from (`--s3-server s3s-fs`): s3s-fs (the
//! `s3s` project's server over a directory, in Rust), installed by
//! `scripts/install-test-tools.sh --bench` outside the repository, one process per
//! [`FsS3Server`] serving a temp directory, killed when dropped.
//!
//! moto serves some 260 objects a second on the 2-core machine, so a benchmark against it
//! measures moto; this one serves thousands. The tests keep moto, for its request recorder
//! and its switch to enforce credentials. A bucket is a directory and an object a file, so
//! putting the archive in is writing files (the benchmark measures the reading).
//!
//! s3s-fs's binary leaves Nagle's algorithm on, and writes a response's head and body
//! apart: on a kept-alive connection the body then waits for the client's delayed ACK, 40 ms
//! a GET (`curl` shows it on every second request), which caps 32 GETs in flight at ~700
//! objects/s, a ceiling of the server, not of S3. So clients reach it through a relay in
//! this process that acknowledges at once what s3s-fs sends (`TCP_QUICKACK`) and forwards
//! it with `TCP_NODELAY`, as a real store's front end answers.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command};

use anyhow::bail;

use crate::s3::{ACCESS_KEY_ID, S3Compatible, SECRET_ACCESS_KEY, free_port, start_server, tools_dir};

/// Where `scripts/install-test-tools.sh --bench` installs s3s-fs.
pub fn s3s_fs_binary() -> PathBuf {
    tools_dir().join("s3s-fs").join("bin").join("s3s-fs")
}

/// A running s3s-fs server over a directory of its own.
pub struct FsS3Server {
    child: Child,
    /// The relay's port (s3s-fs's own is behind it): what clients are told.
    relay: u16,
    root: tempfile::TempDir,
}

impl FsS3Server {
    /// Starts s3s-fs on a free port, checking the same keys the tests' environment carries,
    /// and waits until it takes connections.
    pub fn start() -> anyhow::Result<FsS3Server> {
        FsS3Server::start_with_latency(std::time::Duration::ZERO)
    }

    /// [`FsS3Server::start`], with every request held `latency` in the relay before it
    /// reaches s3s-fs: a store across a network (a real bucket answers in tens of
    /// milliseconds), where loopback answers in microseconds and hides what the number of
    /// reads in flight is worth.
    pub fn start_with_latency(latency: std::time::Duration) -> anyhow::Result<FsS3Server> {
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
            .arg(root.path());
        let child = start_server(
            &mut command,
            "s3s-fs",
            port,
            "scripts/install-test-tools.sh --bench",
            || TcpStream::connect(("127.0.0.1", port)).is_ok(),
        )?;
        let listener = TcpListener::bind(("127.0.0.1", 0))?;
        let relay = listener.local_addr()?.port();
        let server = FsS3Server { child, relay, root };
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                std::thread::spawn(move || relay_connection(client, port, latency));
            }
        });
        Ok(server)
    }
}

impl S3Compatible for FsS3Server {
    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.relay)
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

/// Relays one client connection to s3s-fs on `port` and back, until either side closes;
/// what the client sends is held `latency` first (a request arrives in one read).
fn relay_connection(client: TcpStream, port: u16, latency: std::time::Duration) {
    let Ok(server) = TcpStream::connect(("127.0.0.1", port)) else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(mut client_in), Ok(mut server_out)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let requests = std::thread::spawn(move || {
        let mut buf = vec![0; 64 * 1024];
        while let Ok(n @ 1..) = client_in.read(&mut buf) {
            if !latency.is_zero() {
                std::thread::sleep(latency);
            }
            if server_out.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = server_out.shutdown(Shutdown::Write);
    });
    let (mut server_in, mut client_out) = (server, client);
    let mut buf = vec![0; 64 * 1024];
    loop {
        quick_ack(&server_in);
        match server_in.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if client_out.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = client_out.shutdown(Shutdown::Write);
    let _ = requests.join();
}

/// Acknowledge what arrives at once (Linux leaves quick-ACK mode by itself, so it is set
/// again before every read).
fn quick_ack(stream: &TcpStream) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let on: libc::c_int = 1;
        // SAFETY: a valid socket and a pointer to an int of the size given.
        unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_QUICKACK,
                (&on as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = stream;
}
