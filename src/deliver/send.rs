//! One delivery with its retries: what is worth another try (a timeout, a connection
//! error, 429, 5xx) and how long to wait (the receiver's `Retry-After`, else jittered
//! exponential backoff); everything else is final.

use std::time::Duration;

use crate::llm::client::backoff;
use crate::llm::error::parse_retry_after;
use crate::net::SecretUrl;

use super::sign::{IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signature};

/// A delivery that did not succeed: why (URL redacted), after how many tries.
#[derive(Debug)]
pub struct Failed {
    pub message: String,
    pub attempts: u32,
}

/// What one attempt came to.
#[derive(Debug, PartialEq)]
enum Attempt {
    Acknowledged,
    /// Worth another try, after the wait the receiver asked for, if any.
    Retry(String, Option<Duration>),
    Final(String),
}

/// The verdict on an answer's status: 2xx acknowledged; 429 and 5xx retried; other 4xx
/// and 3xx (a redirect is never followed: the body would go somewhere nobody configured)
/// final.
fn judge(status: u16, retry_after: Option<Duration>) -> Attempt {
    match status {
        200..=299 => Attempt::Acknowledged,
        429 | 500..=599 => Attempt::Retry(format!("the receiver answered {status}"), retry_after),
        300..=399 => Attempt::Final(format!("the receiver answered {status}, a redirect (not followed)")),
        _ => Attempt::Final(format!("the receiver answered {status}")),
    }
}

/// POSTs `body` to `url`, signed, retrying up to `retries` times.
pub fn deliver(
    client: &reqwest::blocking::Client,
    url: &SecretUrl,
    secret: &[u8],
    key: &str,
    body: &[u8],
    retries: u32,
) -> Result<(), Failed> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let message = match once(client, url, secret, key, body) {
            Attempt::Acknowledged => return Ok(()),
            Attempt::Final(message) => message,
            Attempt::Retry(_, wait) if attempt <= retries => {
                std::thread::sleep(wait.unwrap_or_else(|| backoff(attempt - 1)));
                continue;
            }
            Attempt::Retry(message, _) => message,
        };
        return Err(Failed {
            message: format!("{}: {message}", url.redacted()),
            attempts: attempt,
        });
    }
}

fn once(client: &reqwest::blocking::Client, url: &SecretUrl, secret: &[u8], key: &str, body: &[u8]) -> Attempt {
    let timestamp = jiff::Timestamp::now().as_second();
    let sent = client
        .post(url.expose())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature(secret, timestamp, body))
        .header(IDEMPOTENCY_HEADER, key)
        .body(body.to_vec())
        .send();
    let response = match sent {
        Ok(response) => response,
        // The error's text may quote the URL: never shown.
        Err(err) if err.is_timeout() => return Attempt::Retry("timed out".into(), None),
        Err(err) if err.is_connect() => return Attempt::Retry("cannot connect".into(), None),
        Err(_) => return Attempt::Retry("the connection failed".into(), None),
    };
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let wait = parse_retry_after(None, header("retry-after").as_deref(), jiff::Timestamp::now());
    let status = response.status().as_u16();
    // Read (a little of) the body so the connection can be reused.
    let _ = crate::net::read_body_prefix(response, crate::net::MAX_ERROR_BODY_BYTES);
    judge(status, wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_429_and_5xx_are_retried_and_retry_after_is_kept() {
        assert_eq!(judge(200, None), Attempt::Acknowledged);
        assert_eq!(judge(204, None), Attempt::Acknowledged);
        let wait = Some(Duration::from_secs(3));
        assert!(matches!(judge(429, wait), Attempt::Retry(_, w) if w == wait));
        assert!(matches!(judge(503, None), Attempt::Retry(_, None)));
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(matches!(judge(status, None), Attempt::Final(_)), "{status}");
        }
        assert!(matches!(judge(307, None), Attempt::Final(m) if m.contains("not followed")));
    }
}
