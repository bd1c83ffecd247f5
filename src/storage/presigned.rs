//! Presigned `https://` URLs: one object each, read with GET and written with one PUT,
//! through postcall's own HTTP client (`net::client`: no redirects, timeouts, capped bodies).
//!
//! A presigned URL is its own credential, so it is never listed, never shown unredacted,
//! and its errors quote the status and the store's error code, never the URL's query.

use std::time::Duration;

use bytes::Bytes;

use super::error::StorageError;
use super::url::ObjectUrl;
use crate::net;

fn client() -> Result<&'static reqwest::blocking::Client, StorageError> {
    static CLIENT: std::sync::OnceLock<reqwest::blocking::Client> = std::sync::OnceLock::new();
    if let Some(client) = CLIENT.get() {
        return Ok(client);
    }
    let built = net::client(net::ClientOptions {
        timeout: Duration::from_secs(300),
        idle_per_host: 8,
    })
    .map_err(|e| StorageError {
        shown: "https".into(),
        message: e.to_string(),
        not_found: false,
    })?;
    Ok(CLIENT.get_or_init(|| built))
}

fn sent(url: &ObjectUrl, e: reqwest::Error) -> StorageError {
    StorageError::new(url, format!("cannot reach the server: {}", e.without_url()))
}

/// The response when it is a success; its status and error code otherwise.
fn checked(
    url: &ObjectUrl,
    response: reqwest::blocking::Response,
) -> Result<reqwest::blocking::Response, StorageError> {
    if let Some(redirect) = net::Redirect::of(&response) {
        return Err(StorageError::new(url, redirect.describe()));
    }
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let body = net::read_body_prefix(response, net::MAX_ERROR_BODY_BYTES).unwrap_or_default();
    let body = String::from_utf8_lossy(&body);
    let code = body
        .split("<Code>")
        .nth(1)
        .and_then(|rest| rest.split("</Code>").next())
        .map(|code| format!(" ({code})"))
        .unwrap_or_default();
    let what = match status.as_u16() {
        403 => "refused: the presigned URL has expired or was signed for another method; sign a new one",
        404 => "no such object; check the URL",
        _ => "failed",
    };
    let mut error = StorageError::new(url, format!("HTTP {status}{code}: {what}"));
    error.not_found = status.as_u16() == 404;
    Err(error)
}

pub(super) fn read(url: &ObjectUrl, limit: u64) -> Result<Bytes, StorageError> {
    let response = client()?.get(url.expose()).send().map_err(|e| sent(url, e))?;
    let response = checked(url, response)?;
    match net::read_body(response, limit) {
        Ok(body) => Ok(body.into()),
        Err(net::BodyError::TooLarge { .. }) => Err(StorageError::new(url, super::too_big(limit + 1, limit))),
        Err(e) => Err(StorageError::new(url, format!("cannot read: {e}"))),
    }
}

pub(super) fn read_range(url: &ObjectUrl, offset: u64, len: u64) -> Result<Bytes, StorageError> {
    let end = offset.saturating_add(len).saturating_sub(1);
    let response = client()?
        .get(url.expose())
        .header(reqwest::header::RANGE, format!("bytes={offset}-{end}"))
        .send()
        .map_err(|e| sent(url, e))?;
    if response.status().as_u16() == 416 {
        return Ok(Bytes::new());
    }
    let response = checked(url, response)?;
    net::read_body(response, len)
        .map(Bytes::from)
        .map_err(|e| StorageError::new(url, format!("cannot read: {e}")))
}

pub(super) fn put(url: &ObjectUrl, bytes: Vec<u8>) -> Result<(), StorageError> {
    let response = client()?
        .put(url.expose())
        .body(bytes)
        .send()
        .map_err(|e| sent(url, e))?;
    checked(url, response).map(drop)
}
