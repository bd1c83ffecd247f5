//! The thin HTTP layer of batch mode: OpenAI's `/files` and `/batches` (and any server
//! that speaks them), through [`crate::net::client`] like every request postcall sends.
//! Errors name the request and quote the provider's message, with the key and any URL
//! credentials redacted.

use std::io::Read as _;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::input::ENDPOINT;
use super::ledger::RequestCounts;
use crate::llm::{ApiKey, redact};
use crate::net::{self, ClientOptions, Redirect, SecretUrl};

/// Uploads of up to 200 MB and downloads of output files take longer than a chat request.
const TIMEOUT: Duration = Duration::from_secs(600);
/// The metadata key a batch carries its chunk's id under, to be found by after a kill.
pub const CHUNK_METADATA: &str = "postcall_chunk";
/// The most pages of a listing read when looking for what a killed run made.
const MAX_PAGES: usize = 100;

/// A batch as the provider describes it.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchObject {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub input_file_id: Option<String>,
    #[serde(default)]
    pub output_file_id: Option<String>,
    #[serde(default)]
    pub error_file_id: Option<String>,
    #[serde(default)]
    pub request_counts: Option<RequestCounts>,
    #[serde(default)]
    pub metadata: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    pub errors: Option<Value>,
}

impl BatchObject {
    /// Whether the batch will not change any more (its output, if any, can be collected).
    pub fn is_final(&self) -> bool {
        is_final(&self.status)
    }

    /// The provider's reasons for a failed batch, one line.
    pub fn error_text(&self) -> Option<String> {
        let data = self.errors.as_ref()?.get("data")?.as_array()?;
        let lines: Vec<String> = data
            .iter()
            .map(|e| {
                let message = e["message"].as_str().unwrap_or("no message");
                match e["line"].as_u64() {
                    Some(line) => format!("line {line}: {message}"),
                    None => message.to_string(),
                }
            })
            .collect();
        (!lines.is_empty()).then(|| lines.join("; "))
    }
}

/// `completed`, `expired`, `failed`, `cancelled`: nothing more will happen to the batch.
pub fn is_final(status: &str) -> bool {
    matches!(status, "completed" | "expired" | "failed" | "cancelled")
}

#[derive(Deserialize)]
struct FileObject {
    id: String,
    #[serde(default)]
    filename: Option<String>,
    #[serde(default)]
    bytes: Option<u64>,
}

#[derive(Deserialize)]
struct Page<T> {
    data: Vec<T>,
    #[serde(default)]
    has_more: bool,
}

/// A batch API at `base` (`https://api.openai.com/v1`), with its key.
pub struct BatchApi {
    http: reqwest::blocking::Client,
    base: SecretUrl,
    key: Option<ApiKey>,
}

impl BatchApi {
    pub fn new(base: SecretUrl, key: Option<ApiKey>) -> anyhow::Result<BatchApi> {
        let http = net::client(ClientOptions {
            timeout: TIMEOUT,
            idle_per_host: 1,
        })?;
        Ok(BatchApi { http, base, key })
    }

    fn url(&self, path: &str, query: Option<&str>) -> SecretUrl {
        self.base.with_path_suffix(path, query)
    }

    fn authorized(&self, builder: reqwest::blocking::RequestBuilder) -> reqwest::blocking::RequestBuilder {
        match &self.key {
            Some(key) => builder.bearer_auth(key.expose()),
            None => builder,
        }
    }

    /// Sends, and reads a 2xx JSON answer; anything else is an error saying what was asked.
    fn send(&self, builder: reqwest::blocking::RequestBuilder, what: &str, url: &SecretUrl) -> anyhow::Result<Value> {
        let response = self.checked(builder, what, url)?;
        let body = net::read_body(response, net::MAX_BODY_BYTES).map_err(|e| self.failed(what, url, &e.to_string()))?;
        serde_json::from_slice(&body).map_err(|e| self.failed(what, url, &format!("the answer is not JSON ({e})")))
    }

    /// Sends, and returns a 2xx response unread.
    fn checked(
        &self,
        builder: reqwest::blocking::RequestBuilder,
        what: &str,
        url: &SecretUrl,
    ) -> anyhow::Result<reqwest::blocking::Response> {
        let response = self
            .authorized(builder)
            .send()
            .map_err(|e| self.failed(what, url, &chain(&e)))?;
        if let Some(redirect) = Redirect::of(&response) {
            return Err(self.failed(what, url, &redirect.describe()));
        }
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(response);
        }
        let body = net::read_body_prefix(response, net::MAX_ERROR_BODY_BYTES).unwrap_or_default();
        let text = String::from_utf8_lossy(&body);
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| v.pointer("/error/message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| text.trim().chars().take(500).collect());
        Err(self.failed(what, url, &format!("HTTP {status}: {message}")))
    }

    fn failed(&self, what: &str, url: &SecretUrl, why: &str) -> anyhow::Error {
        anyhow::anyhow!("{what} ({url}) failed: {}", redact(why, self.key.as_ref()))
    }

    /// Uploads `bytes` as the batch input file `name`; its file id.
    pub fn upload(&self, name: &str, bytes: Vec<u8>) -> anyhow::Result<String> {
        let url = self.url("/files", None);
        let part = reqwest::blocking::multipart::Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str("application/jsonl")
            .expect("a valid mime type");
        let form = reqwest::blocking::multipart::Form::new()
            .text("purpose", "batch")
            .part("file", part);
        let what = format!("uploading the batch input file {name}");
        let answer = self.send(self.http.post(url.expose()).multipart(form), &what, &url)?;
        id_of(&answer).ok_or_else(|| self.failed(&what, &url, "the answer has no file id"))
    }

    /// The id of an uploaded batch file named `name` of `bytes` bytes, if there is one.
    pub fn find_file(&self, name: &str, bytes: u64) -> anyhow::Result<Option<String>> {
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let query = match &after {
                Some(after) => format!("purpose=batch&limit=1000&after={after}"),
                None => "purpose=batch&limit=1000".to_string(),
            };
            let url = self.url("/files", Some(&query));
            let answer = self.send(self.http.get(url.expose()), "listing the uploaded batch files", &url)?;
            let page: Page<FileObject> = serde_json::from_value(answer)
                .map_err(|e| self.failed("listing the uploaded batch files", &url, &e.to_string()))?;
            if let Some(found) = page
                .data
                .iter()
                .find(|f| f.filename.as_deref() == Some(name) && f.bytes.is_none_or(|b| b == bytes))
            {
                return Ok(Some(found.id.clone()));
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// Creates the batch of the uploaded file `file_id`, tagged with `chunk`.
    pub fn create(&self, file_id: &str, chunk: &str) -> anyhow::Result<BatchObject> {
        let url = self.url("/batches", None);
        let body = json!({
            "input_file_id": file_id,
            "endpoint": ENDPOINT,
            "completion_window": "24h",
            "metadata": {CHUNK_METADATA: chunk},
        });
        let what = format!("creating the batch of {file_id}");
        let answer = self.send(self.http.post(url.expose()).json(&body), &what, &url)?;
        serde_json::from_value(answer).map_err(|e| self.failed(&what, &url, &e.to_string()))
    }

    /// The batch made of `file_id` for `chunk`, if a run killed after creating it made one.
    pub fn find_batch(&self, file_id: &str, chunk: &str) -> anyhow::Result<Option<BatchObject>> {
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let query = match &after {
                Some(after) => format!("limit=100&after={after}"),
                None => "limit=100".to_string(),
            };
            let url = self.url("/batches", Some(&query));
            let answer = self.send(self.http.get(url.expose()), "listing the batches", &url)?;
            let page: Page<BatchObject> =
                serde_json::from_value(answer).map_err(|e| self.failed("listing the batches", &url, &e.to_string()))?;
            let tagged = |b: &&BatchObject| {
                b.input_file_id.as_deref() == Some(file_id)
                    && b.metadata
                        .as_ref()
                        .and_then(|m| m.get(CHUNK_METADATA))
                        .and_then(Value::as_str)
                        == Some(chunk)
            };
            if let Some(found) = page.data.iter().find(tagged) {
                return Ok(Some(found.clone()));
            }
            match page.data.last() {
                Some(last) if page.has_more => after = Some(last.id.clone()),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    pub fn get(&self, batch_id: &str) -> anyhow::Result<BatchObject> {
        let url = self.url(&format!("/batches/{batch_id}"), None);
        let what = format!("looking up the batch {batch_id}");
        let answer = self.send(self.http.get(url.expose()), &what, &url)?;
        serde_json::from_value(answer).map_err(|e| self.failed(&what, &url, &e.to_string()))
    }

    /// Streams the content of `file_id` into `to`; an error when the transfer stops early.
    pub fn download(&self, file_id: &str, to: &mut impl std::io::Write) -> anyhow::Result<u64> {
        let url = self.url(&format!("/files/{file_id}/content"), None);
        let what = format!("downloading the batch file {file_id}");
        let response = self.checked(self.http.get(url.expose()), &what, &url)?;
        let expected = response.content_length();
        let mut reader = response;
        let mut buffer = vec![0u8; 64 * 1024];
        let mut written = 0u64;
        loop {
            let n = reader.read(&mut buffer).map_err(|e| {
                self.failed(
                    &what,
                    &url,
                    &format!("the transfer stopped after {written} bytes ({e})"),
                )
            })?;
            if n == 0 {
                break;
            }
            to.write_all(&buffer[..n])
                .with_context(|| format!("cannot save the batch file {file_id}"))?;
            written += n as u64;
        }
        if let Some(expected) = expected.filter(|&e| e != written) {
            return Err(self.failed(
                &what,
                &url,
                &format!("the transfer stopped after {written} of {expected} bytes"),
            ));
        }
        Ok(written)
    }
}

fn id_of(answer: &Value) -> Option<String> {
    answer["id"].as_str().map(str::to_owned)
}

/// A transport error with its causes, as one line.
fn chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
