//! An Azure Blob Storage server on 127.0.0.1 for the `az://` tests: Azurite's blob service,
//! installed from npm by `scripts/install-test-tools.sh` outside the repository, one process
//! (storing in a temp dir of its own) per [`AzuriteServer`], killed when it is dropped.
//!
//! postcall reaches it the way a user's shell reaches Azurite: [`AzuriteServer::env`] is
//! object_store's emulator setting (`AZURE_STORAGE_USE_EMULATOR`, with
//! `AZURITE_BLOB_STORAGE_URL`), which signs with the well-known `devstoreaccount1` key.
//! Azurite checks every request's signature, so setting a container up and reading what a
//! run wrote is signed here too (Shared Key, the same well-known key).

use std::process::{Child, Command};

use anyhow::bail;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::http::{encode, exchange, xml_values};
use crate::s3::{free_port, installed, start_server, tools_dir};

/// The emulator's well-known account and key (Microsoft's documentation publishes them).
pub const ACCOUNT: &str = "devstoreaccount1";
pub const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// What the requests here say they speak (one Azurite 3.35 knows).
const API_VERSION: &str = "2023-11-03";

/// Where `scripts/install-test-tools.sh` installs Azurite's blob server.
pub fn azurite_blob() -> std::path::PathBuf {
    tools_dir()
        .join("azurite")
        .join("node_modules")
        .join(".bin")
        .join("azurite-blob")
}

/// A running Azurite blob service.
pub struct AzuriteServer {
    child: Child,
    port: u16,
    /// Where it keeps its blobs and metadata, removed after it stops.
    _location: tempfile::TempDir,
}

impl AzuriteServer {
    /// Starts Azurite's blob service on a free port and waits until it answers.
    pub fn start() -> anyhow::Result<AzuriteServer> {
        let program = installed("Azurite", azurite_blob())?;
        let port = free_port()?;
        let location = tempfile::tempdir()?;
        let mut command = Command::new(&program);
        command
            .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
            .arg("--location")
            .arg(location.path())
            // Telemetry would send a request off this machine; tests reach nothing but 127.0.0.1.
            .args(["--silent", "--disableTelemetry"]);
        let child = start_server(
            &mut command,
            "azurite-blob",
            port,
            "scripts/install-test-tools.sh",
            || {
                // Any answer at all (a listing of no containers, signed) says it serves.
                signed(port, "GET", "", &[("comp", "list")], &[], b"").is_ok_and(|a| a.status == 200)
            },
        )?;
        Ok(AzuriteServer {
            child,
            port,
            _location: location,
        })
    }

    /// `http://127.0.0.1:PORT`: the blob service (the account is the first path segment).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The environment a user would set to point postcall at Azurite.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_STORAGE_USE_EMULATOR", "true".into()),
            ("AZURITE_BLOB_STORAGE_URL", self.endpoint()),
        ]
    }

    pub fn create_container(&self, container: &str) -> anyhow::Result<()> {
        self.expect_ok("PUT", container, &[("restype", "container")], &[], b"")
    }

    pub fn put_blob(&self, container: &str, name: &str, body: &[u8]) -> anyhow::Result<()> {
        let path = format!("{container}/{}", encoded_name(name));
        self.expect_ok("PUT", &path, &[], &[("x-ms-blob-type", "BlockBlob")], body)
    }

    /// The blob's bytes, or `None` when there is no such blob.
    pub fn get_blob(&self, container: &str, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let path = format!("{container}/{}", encoded_name(name));
        let answer = signed(self.port, "GET", &path, &[], &[], b"")?;
        match answer.status {
            200 => Ok(Some(answer.body)),
            404 => Ok(None),
            status => bail!("GET {path}: HTTP {status}: {}", String::from_utf8_lossy(&answer.body)),
        }
    }

    /// Every committed blob of the container, sorted (one page: enough for a test).
    pub fn names(&self, container: &str) -> anyhow::Result<Vec<String>> {
        let mut names = xml_values(&self.listing(container, &[])?, "Name");
        names.sort();
        Ok(names)
    }

    /// Blobs that have blocks staged and never committed (what an upload stopped halfway
    /// leaves), sorted.
    pub fn uncommitted(&self, container: &str) -> anyhow::Result<Vec<String>> {
        let with = xml_values(&self.listing(container, &[("include", "uncommittedblobs")])?, "Name");
        let committed = self.names(container)?;
        let mut staged: Vec<String> = with.into_iter().filter(|n| !committed.contains(n)).collect();
        staged.sort();
        Ok(staged)
    }

    fn listing(&self, container: &str, more: &[(&str, &str)]) -> anyhow::Result<String> {
        let query = [&[("restype", "container"), ("comp", "list")], more].concat();
        let answer = signed(self.port, "GET", container, &query, &[], b"")?;
        anyhow::ensure!(answer.status == 200, "listing {container}: HTTP {}", answer.status);
        Ok(String::from_utf8_lossy(&answer.body).into_owned())
    }

    fn expect_ok(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<()> {
        signed(self.port, method, path, query, headers, body)?.success(method, path)?;
        Ok(())
    }
}

impl Drop for AzuriteServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blob name as a URL path: each `/`-separated segment encoded, the slashes kept.
fn encoded_name(name: &str) -> String {
    name.split('/').map(encode).collect::<Vec<_>>().join("/")
}

/// `method /devstoreaccount1/path?query` signed with the account key (Shared Key). `path`
/// is already encoded; query values must need no encoding (the tests' do not).
fn signed(
    port: u16,
    method: &str,
    path: &str,
    query: &[(&str, &str)],
    headers: &[(&str, &str)],
    body: &[u8],
) -> anyhow::Result<crate::http::Answer> {
    let date = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&jiff::Timestamp::now())?;
    let mut ms: Vec<(String, String)> = vec![("x-ms-date".into(), date), ("x-ms-version".into(), API_VERSION.into())];
    ms.extend(headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.to_string())));
    ms.sort();
    let resource_path = if path.is_empty() {
        format!("/{ACCOUNT}")
    } else {
        format!("/{ACCOUNT}/{path}")
    };
    let mut sorted_query = query.to_vec();
    sorted_query.sort();
    let length = if body.is_empty() {
        String::new()
    } else {
        body.len().to_string()
    };
    // VERB, then Content-Encoding … Range (only Content-Length is sent), the x-ms headers,
    // the resource with its query.
    let mut to_sign = format!("{method}\n\n\n{length}\n\n\n\n\n\n\n\n\n");
    for (name, value) in &ms {
        to_sign.push_str(&format!("{name}:{value}\n"));
    }
    to_sign.push_str(&format!("/{ACCOUNT}{resource_path}"));
    for (name, value) in &sorted_query {
        to_sign.push_str(&format!("\n{name}:{value}"));
    }
    let key = base64::engine::general_purpose::STANDARD.decode(ACCOUNT_KEY)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)?;
    mac.update(to_sign.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let mut all: Vec<(&str, String)> = ms.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    all.push(("Authorization", format!("SharedKey {ACCOUNT}:{signature}")));
    let query_text: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let target = if query_text.is_empty() {
        resource_path
    } else {
        format!("{resource_path}?{}", query_text.join("&"))
    };
    exchange(port, method, &target, &all, body)
}
