//! The LLM endpoint: configuration, request building, response parsing, and the HTTP
//! client with retries.
//!
//! Like aichat's providers: building a request and parsing a response are pure functions
//! (tested without a network); `client` is the thin layer that sends.

pub(crate) mod client;
pub(crate) mod config;
pub(crate) mod error;
pub mod local;
pub mod logprobs;
pub(crate) mod pace;
pub(crate) mod price;
pub(crate) mod ramp;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod tokens;

pub use client::Client;
pub use config::{ApiKey, EndpointConfig, Provider, RequestParams};
pub use error::{ApiError, ErrorKind};
pub use request::{ChatRequest, Message, Role};
pub use response::{Completion, TokenUsage};

/// `text` about a request (a provider's error body, a transport error) made safe to show:
/// the key replaced where it stands as a whole token, URL credentials removed. Never for a
/// model's answer, which is kept as it came (see [`crate::net::redact`]).
pub fn redact(text: &str, secret: Option<&ApiKey>) -> String {
    let text = crate::net::redact::redact_urls_in(text);
    match secret {
        Some(key) => crate::net::redact::redact_secret(&text, key.expose()).into_owned(),
        None => text.into_owned(),
    }
}
