//! The LLM endpoint: configuration, request building, response parsing, and the HTTP
//! client with retries.
//!
//! Like aichat's providers: building a request and parsing a response are pure functions
//! (tested without a network); `client` is the thin layer that sends.

pub mod client;
pub mod config;
pub mod error;
pub mod local;
pub mod request;
pub mod response;

pub use client::Client;
pub use config::{ApiKey, EndpointConfig, Provider, RequestParams};
pub use error::{ApiError, ErrorKind};
pub use request::{ChatRequest, Message, Role};
pub use response::{Completion, TokenUsage};

/// Replaces every occurrence of `secret` in `text`, so provider error bodies, URLs and
/// transport errors can be shown without leaking the key.
pub fn redact(text: &str, secret: Option<&ApiKey>) -> String {
    match secret {
        Some(key) if key.expose().len() >= 4 => text.replace(key.expose(), "[REDACTED]"),
        _ => text.to_string(),
    }
}
