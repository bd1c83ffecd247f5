//! The network edge every outgoing request shares — the LLM endpoint, the managed local
//! server's health check, webhooks — so the rules below hold for all of them:
//!
//! - **Redirects are never followed** ([`client`]). An API endpoint or a webhook receiver
//!   has no business redirecting: a 307/308 would re-send the whole body (a transcript) to
//!   an origin nobody configured, and after a 302 another host's answer would be taken for
//!   the endpoint's. A 3xx comes back to the caller as it is; [`Redirect`] describes it.
//! - **Timeouts are always set**: connecting, and the whole exchange including the body.
//! - **Bodies are read with a cap** ([`read_body`]): an endless or enormous body costs at
//!   most the cap in memory, and says so.
//! - **URLs and secrets are shown redacted**: [`SecretUrl`] for URLs that may carry
//!   credentials, [`redact`] for text that may quote a key.

use std::io::Read;
use std::time::Duration;

pub mod redact;
pub mod tls;
pub mod url;

pub use url::{SecretUrl, UrlError};

/// How long connecting may take, for every client.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most of a response body read into memory: far above any real chat completion
/// (the answer itself is capped lower, see `llm::response::MAX_ANSWER_BYTES`).
pub const MAX_BODY_BYTES: u64 = 16 * 1024 * 1024;

/// How much of an error response is read: enough for any provider's error message.
pub const MAX_ERROR_BODY_BYTES: u64 = 64 * 1024;

/// Settings of one client.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// For the whole exchange: connecting, sending, and reading the body.
    pub timeout: Duration,
    /// Idle connections kept per host (at least the requests in flight, so they are reused).
    pub idle_per_host: usize,
}

/// The one way postcall builds an HTTP client: no redirects, explicit timeouts.
pub fn client(options: ClientOptions) -> anyhow::Result<reqwest::blocking::Client> {
    tls::install_provider();
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT.min(options.timeout))
        .timeout(options.timeout)
        .pool_max_idle_per_host(options.idle_per_host.max(1))
        .user_agent(concat!("postcall/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the HTTP client: {e}"))
}

/// A redirect that was not followed: its status and where it pointed (redacted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    pub status: u16,
    /// The `Location`, resolved against the request's URL and redacted; `None` when absent.
    pub location: Option<String>,
}

impl Redirect {
    /// The redirect `response` is, if it is one.
    pub fn of(response: &reqwest::blocking::Response) -> Option<Redirect> {
        let status = response.status();
        if !status.is_redirection() {
            return None;
        }
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .map(|raw| match response.url().join(&raw) {
                Ok(absolute) => url::redact_url_text(absolute.as_str()),
                Err(_) => url::redact_url_text(&raw),
            });
        Some(Redirect {
            status: status.as_u16(),
            location,
        })
    }

    /// One line: what came back and why postcall stopped there.
    pub fn describe(&self) -> String {
        let target = self.location.as_deref().unwrap_or("(no Location header)");
        format!(
            "the server answered with a redirect to {target}; postcall does not follow redirects, \
             which would send the request (and the transcript in it) to an address nobody configured"
        )
    }
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the response body is larger than {} MiB, the most postcall reads; the server may be misbehaving", .limit / (1024 * 1024))]
    TooLarge { limit: u64 },
    #[error("{0}")]
    Read(#[from] std::io::Error),
}

/// Reads the whole body of `response`, refusing (without reading it) a body that declares
/// itself larger than `limit` and stopping at `limit` bytes for one that does not.
pub fn read_body(response: reqwest::blocking::Response, limit: u64) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut body = Vec::new();
    response.take(limit + 1).read_to_end(&mut body)?;
    if body.len() as u64 > limit {
        return Err(BodyError::TooLarge { limit });
    }
    Ok(body)
}

/// Reads at most `limit` bytes of `response`'s body and drops the rest: for error
/// responses, whose first few kilobytes say all there is to say.
pub fn read_body_prefix(response: reqwest::blocking::Response, limit: u64) -> Result<Vec<u8>, std::io::Error> {
    let mut body = Vec::new();
    response.take(limit).read_to_end(&mut body)?;
    Ok(body)
}
