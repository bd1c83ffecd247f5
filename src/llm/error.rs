//! What can go wrong talking to an endpoint, classified by what the run should do about it.
//!
//! The rules follow the OpenAI client libraries: connection errors, timeouts, 408, 409,
//! 429 and 5xx are retried (honouring `retry-after-ms`, `retry-after` and
//! `x-should-retry`); a bad key, a missing model, an exhausted quota or an unsupported
//! parameter stop the whole run, because every other request would fail the same way.

use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Worth trying again after a pause (connection reset, timeout, 5xx, 408, 409).
    Transient,
    /// Nothing listens at the endpoint's address. Retried like a transient error; if no
    /// request of the run has ever succeeded, it becomes [`Refusal::Unreachable`].
    Unreachable,
    /// 429 rate limit: every worker waits until `retry_after`.
    RateLimited,
    /// Flex processing had no capacity for this request (OpenAI's 429 "Resource
    /// Unavailable", Groq's 498 `capacity_exceeded`): not our rate, so the concurrency
    /// gate is left as it is; retried after a longer pause.
    Unavailable,
    /// The endpoint refuses us and will refuse every request: stop the run.
    Refused(Refusal),
    /// This request is wrong (e.g. the call is longer than the model's context); other
    /// calls may still succeed.
    Rejected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 401/403.
    Auth,
    /// 404 for the model or the URL.
    NotFound,
    /// 429 `insufficient_quota`.
    Quota,
    /// 400 about `response_format`, tools or another parameter the endpoint doesn't support.
    Unsupported,
    /// The endpoint could not be reached at all, and no request has ever succeeded.
    Unreachable,
    /// A 3xx: the endpoint sends us elsewhere, and postcall does not follow (it would send
    /// the transcript to an address nobody configured).
    Redirect,
    /// The request could not even be built (a setting no HTTP request can carry): every
    /// other request would fail the same way, so it is not retried.
    Unbuildable,
}

/// A failed request. `message` is already redacted and short enough for a terminal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ApiError {
    pub kind: ErrorKind,
    pub status: Option<u16>,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn transient(message: impl Into<String>) -> ApiError {
        ApiError {
            kind: ErrorKind::Transient,
            status: None,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Transient | ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Unreachable
        )
    }

    fn describe(&self) -> String {
        match self.status {
            Some(status) => format!("HTTP {status}: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// What the user should do about a refusal.
    pub fn advice(&self) -> &'static str {
        match self.kind {
            ErrorKind::Refused(Refusal::Auth) => {
                "check the API key (the variable named by --api-key-env / llm.api_key_env) and that it may use this model"
            }
            ErrorKind::Refused(Refusal::NotFound) => "check --model and --base-url (the base URL usually ends in /v1)",
            ErrorKind::Refused(Refusal::Quota) => {
                "the account's quota or credit is used up: add credit or use another key; finished answers are cached, so re-running resumes"
            }
            ErrorKind::Refused(Refusal::Unsupported) => {
                "this endpoint does not support that request option: try --structured-output json_object (or prompt)"
            }
            ErrorKind::Refused(Refusal::Unreachable) => {
                "nothing answers at that address: is the server running, and is --base-url right?"
            }
            ErrorKind::Refused(Refusal::Redirect) => {
                "if that address is the endpoint you mean to use, pass it as --base-url (or llm.base_url); otherwise check the base URL (http vs https, a missing /v1) and the proxy in front of the endpoint"
            }
            ErrorKind::Refused(Refusal::Unbuildable) => {
                "check --base-url and the API key variable for characters an HTTP request cannot carry"
            }
            ErrorKind::Rejected => "this request was rejected; other calls continue",
            ErrorKind::Transient | ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Unreachable => {
                "retrying"
            }
        }
    }
}

/// A 3xx that was not followed: a refusal, since every request would be redirected too.
pub fn redirected(redirect: &crate::net::Redirect) -> ApiError {
    ApiError {
        kind: ErrorKind::Refused(Refusal::Redirect),
        status: Some(redirect.status),
        message: redirect.describe(),
        retry_after: None,
    }
}

/// Classifies an HTTP error response. `body` is the provider's error text (already redacted).
pub fn classify_status(status: u16, body: &str, should_retry: Option<bool>, retry_after: Option<Duration>) -> ApiError {
    let message = provider_message(body);
    let lower = body.to_ascii_lowercase();
    let kind = match status {
        429 if lower.contains("insufficient_quota") || lower.contains("exceeded your current quota") => {
            ErrorKind::Refused(Refusal::Quota)
        }
        429 if lower.contains("resource unavailable") || lower.contains("resource_unavailable") => {
            ErrorKind::Unavailable
        }
        498 => ErrorKind::Unavailable,
        429 => ErrorKind::RateLimited,
        401 | 403 => ErrorKind::Refused(Refusal::Auth),
        404 => ErrorKind::Refused(Refusal::NotFound),
        400 | 422 if mentions_unsupported_option(&lower) => ErrorKind::Refused(Refusal::Unsupported),
        408 | 409 | 500..=599 => ErrorKind::Transient,
        _ => ErrorKind::Rejected,
    };
    // `x-should-retry` overrides the status rules, as in the OpenAI SDKs, but never turns a
    // refusal into a retry loop.
    let kind = match (should_retry, kind) {
        (Some(true), ErrorKind::Rejected) => ErrorKind::Transient,
        (Some(false), ErrorKind::Transient | ErrorKind::RateLimited | ErrorKind::Unavailable) => ErrorKind::Rejected,
        (_, kind) => kind,
    };
    ApiError {
        kind,
        status: Some(status),
        message,
        retry_after,
    }
}

fn mentions_unsupported_option(lower: &str) -> bool {
    let about_option = [
        "response_format",
        "json_schema",
        "tool_choice",
        "tools",
        "structured output",
        "reasoning_effort",
        "seed",
    ]
    .iter()
    .any(|k| lower.contains(k));
    let unsupported = [
        "unsupported",
        "not supported",
        "does not support",
        "invalid schema",
        "unrecognized",
        "unknown parameter",
        "not allowed",
    ]
    .iter()
    .any(|k| lower.contains(k));
    about_option && unsupported
}

/// The provider's own error text: `error.message` from an OpenAI-style body, or a short
/// excerpt of whatever came back (an HTML page from a proxy, say).
pub fn provider_message(body: &str) -> String {
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(body) {
        let error = value.get("error").unwrap_or(&value);
        let text = error
            .get("message")
            .and_then(|m| m.as_str())
            .or_else(|| error.as_str())
            .or_else(|| value.get("detail").and_then(|d| d.as_str()));
        if let Some(text) = text {
            let code = error
                .get("code")
                .and_then(|c| c.as_str())
                .or_else(|| error.get("type").and_then(|c| c.as_str()));
            return match code {
                Some(code) if !text.contains(code) => format!("{} ({code})", excerpt(text, 300)),
                _ => excerpt(text, 300),
            };
        }
    }
    let trimmed = body.trim();
    if trimmed.is_empty() {
        "(empty response body)".into()
    } else if trimmed.starts_with('<') {
        format!("non-JSON response (HTML): {}", excerpt(&strip_tags(trimmed), 200))
    } else {
        excerpt(trimmed, 300)
    }
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At most `max` characters of `text` on one line, with an ellipsis when cut.
pub fn excerpt(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let cut: String = one_line.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The longest pause a `retry-after` can impose. A server's value is honoured up to this:
/// `retry-after: 1e20` made `Duration::from_secs_f64` panic, and a date years ahead would
/// park every worker for good. A run paused this long can be stopped and resumed instead.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

/// Reads `retry-after-ms`, then `retry-after` (seconds or an HTTP date), relative to `now`,
/// at most [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(
    retry_after_ms: Option<&str>,
    retry_after: Option<&str>,
    now: jiff::Timestamp,
) -> Option<Duration> {
    let seconds = |secs: f64| {
        (secs.is_finite() && secs >= 0.0).then(|| {
            Duration::try_from_secs_f64(secs)
                .unwrap_or(MAX_RETRY_AFTER)
                .min(MAX_RETRY_AFTER)
        })
    };
    if let Some(wait) = retry_after_ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|ms| seconds(ms / 1000.0))
    {
        return Some(wait);
    }
    let value = retry_after?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return seconds(secs);
    }
    let when = jiff::fmt::rfc2822::parse(value).ok()?.timestamp();
    let wait = when.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO).min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_what_the_run_does() {
        assert_eq!(
            classify_status(401, r#"{"error":{"message":"Incorrect API key"}}"#, None, None).kind,
            ErrorKind::Refused(Refusal::Auth)
        );
        assert_eq!(
            classify_status(
                404,
                r#"{"error":{"message":"The model `x` does not exist","code":"model_not_found"}}"#,
                None,
                None
            )
            .kind,
            ErrorKind::Refused(Refusal::NotFound)
        );
        assert_eq!(
            classify_status(
                429,
                r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota"}}"#,
                None,
                None
            )
            .kind,
            ErrorKind::Refused(Refusal::Quota)
        );
        assert_eq!(
            classify_status(429, r#"{"error":{"message":"Rate limit reached"}}"#, None, None).kind,
            ErrorKind::RateLimited
        );
        // Flex without capacity is not our rate limit.
        for (status, body) in [
            (
                429,
                r#"{"error":{"message":"Resource Unavailable","type":"resource_unavailable"}}"#,
            ),
            (
                498,
                r#"{"error":{"message":"Flex capacity exceeded","code":"capacity_exceeded"}}"#,
            ),
        ] {
            let err = classify_status(status, body, None, None);
            assert_eq!(err.kind, ErrorKind::Unavailable, "{status} {body}");
            assert!(err.is_retryable());
        }
        assert_eq!(
            classify_status(
                400,
                r#"{"error":{"message":"'response_format' of type 'json_schema' is not supported with this model"}}"#,
                None,
                None
            )
            .kind,
            ErrorKind::Refused(Refusal::Unsupported)
        );
        assert_eq!(
            classify_status(
                400,
                r#"{"error":{"message":"maximum context length is 8192 tokens"}}"#,
                None,
                None
            )
            .kind,
            ErrorKind::Rejected
        );
        for s in [408, 409, 500, 502, 503, 504] {
            assert_eq!(classify_status(s, "", None, None).kind, ErrorKind::Transient, "{s}");
        }
    }

    #[test]
    fn x_should_retry_overrides_status_but_not_refusals() {
        assert_eq!(
            classify_status(400, "oops", Some(true), None).kind,
            ErrorKind::Transient
        );
        assert_eq!(classify_status(503, "", Some(false), None).kind, ErrorKind::Rejected);
        assert_eq!(
            classify_status(401, "", Some(true), None).kind,
            ErrorKind::Refused(Refusal::Auth)
        );
    }

    #[test]
    fn html_pages_become_a_short_excerpt() {
        let msg = provider_message(
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1>nginx</body></html>",
        );
        assert!(msg.starts_with("non-JSON response (HTML): 502 Bad Gateway"), "{msg}");
        assert!(msg.len() < 260);
    }

    #[test]
    fn retry_after_in_ms_seconds_and_http_date() {
        let now: jiff::Timestamp = "2024-06-10T15:00:00Z".parse().unwrap();
        assert_eq!(
            parse_retry_after(Some("1500"), Some("9"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(parse_retry_after(None, Some("2"), now), Some(Duration::from_secs(2)));
        assert_eq!(
            parse_retry_after(None, Some("Mon, 10 Jun 2024 15:00:03 GMT"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after(None, Some("Mon, 10 Jun 2024 14:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(None, Some("soon"), now), None);
    }

    #[test]
    fn a_retry_after_too_large_for_a_duration_is_capped_not_a_panic() {
        let now: jiff::Timestamp = "2024-06-10T15:00:00Z".parse().unwrap();
        for (ms, secs) in [
            (Some("1e30"), None),
            (None, Some("99999999999999999999")),
            (None, Some("Thu, 31 Dec 2099 23:59:59 GMT")),
        ] {
            assert_eq!(
                parse_retry_after(ms, secs, now),
                Some(MAX_RETRY_AFTER),
                "{ms:?} {secs:?}"
            );
        }
        assert_eq!(parse_retry_after(Some("NaN"), Some("-1"), now), None);
        assert_eq!(
            parse_retry_after(None, Some("1e400"), now),
            None,
            "infinite: no usable wait"
        );
    }
}
