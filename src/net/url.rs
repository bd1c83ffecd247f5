//! [`SecretUrl`]: a URL that may carry credentials, and can only be shown without them.
//!
//! A base URL like `https://user:pass@proxy/v1` or a webhook URL with `?token=…` is a
//! secret in disguise: it ends up in report headers, error messages, `--dry-run` output and
//! cache identities unless every place that shows one remembers to redact it. This type
//! makes forgetting impossible: `Display`, `Debug` and `Serialize` all give the redacted
//! form, and only [`SecretUrl::expose`] (called where the request is sent) gives the real one.

use std::fmt;

/// Shown in place of a URL's user, password and query values.
pub const REDACTED: &str = "[REDACTED]";

/// Query parameters whose values are kept when shown: they say which API version is
/// spoken, never who is speaking.
const PUBLIC_QUERY_KEYS: &[&str] = &["api-version"];

/// An `http` or `https` URL, without a trailing slash, that shows only its redacted form.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl {
    /// As given, trimmed, without a trailing slash: what requests are built from.
    text: String,
    parsed: reqwest::Url,
}

/// Why a text is not a URL postcall can send to. Its message shows the URL redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("`{shown}` is not a URL ({why})")]
    Unparsable { shown: String, why: String },
    #[error("`{shown}` is not an http(s) URL")]
    NotHttp { shown: String },
}

impl SecretUrl {
    /// Parses an `http(s)` URL; surrounding whitespace and trailing slashes are dropped.
    pub fn parse(text: &str) -> Result<SecretUrl, UrlError> {
        let text = text.trim().trim_end_matches('/').to_string();
        let parsed = reqwest::Url::parse(&text).map_err(|e| UrlError::Unparsable {
            shown: redact_url_text(&text),
            why: e.to_string(),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
            return Err(UrlError::NotHttp {
                shown: redact_url_text(&text),
            });
        }
        Ok(SecretUrl { text, parsed })
    }

    /// The real URL, credentials included: only for building the request.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// The URL with its user, password and query values replaced by [`REDACTED`].
    pub fn redacted(&self) -> String {
        redact_url_text(&self.text)
    }

    /// Whether the URL carries a user, a password or a non-public query value.
    pub fn has_credentials(&self) -> bool {
        self.redacted() != self.text
    }

    /// The host, lower-cased (`api.openai.com`), for telling providers apart.
    pub fn host(&self) -> &str {
        self.parsed.host_str().unwrap_or("")
    }

    /// The path, without a trailing slash.
    pub fn path(&self) -> &str {
        self.parsed.path().trim_end_matches('/')
    }

    /// This URL with `suffix` appended to its path (`/chat/completions`) and `query`
    /// (already encoded) added, keeping credentials.
    pub fn with_path_suffix(&self, suffix: &str, query: Option<&str>) -> SecretUrl {
        let mut url = self.parsed.clone();
        url.set_path(&format!("{}{suffix}", self.path()));
        if let Some(query) = query {
            let joined = match url.query() {
                Some(existing) if !existing.is_empty() => format!("{existing}&{query}"),
                _ => query.to_string(),
            };
            url.set_query(Some(&joined));
        }
        SecretUrl {
            text: url.as_str().trim_end_matches('/').to_string(),
            parsed: url,
        }
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

impl serde::Serialize for SecretUrl {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.redacted())
    }
}

/// Redacts one URL given as text, whether or not it parses: the user and password (the
/// whole `userinfo@` part), every query value but the public ones, and the fragment.
/// Text without `scheme://` comes back unchanged.
pub fn redact_url_text(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = String::with_capacity(url.len());
    out.push_str(&url[..scheme_end]);
    match authority.rfind('@') {
        Some(at) => {
            out.push_str(REDACTED);
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let tail = tail.split('#').next().unwrap_or("");
    match tail.split_once('?') {
        None => out.push_str(tail),
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            out.push_str(&redact_query(query));
        }
    }
    out
}

fn redact_query(query: &str) -> String {
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if PUBLIC_QUERY_KEYS.contains(&key.to_ascii_lowercase().as_str()) => pair.to_string(),
            Some((key, _)) => format!("{key}={REDACTED}"),
            None => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_never_show_in_any_rendering() {
        let url = SecretUrl::parse(" https://alice:s3cret-pw@proxy.example:8443/v1/ ").unwrap();
        assert_eq!(url.expose(), "https://alice:s3cret-pw@proxy.example:8443/v1");
        assert_eq!(url.to_string(), "https://[REDACTED]@proxy.example:8443/v1");
        for shown in [
            url.to_string(),
            format!("{url:?}"),
            serde_json::to_string(&url).unwrap(),
        ] {
            assert!(!shown.contains("s3cret") && !shown.contains("alice"), "{shown}");
        }
        assert!(url.has_credentials());
        assert_eq!(url.host(), "proxy.example");
    }

    #[test]
    fn a_token_alone_in_the_userinfo_is_redacted_too() {
        let url = SecretUrl::parse("https://tok_abc123@h/v1").unwrap();
        assert_eq!(url.to_string(), "https://[REDACTED]@h/v1");
    }

    #[test]
    fn query_values_are_redacted_except_the_api_version() {
        let url = SecretUrl::parse("https://h/hook?token=abc&api-version=2024-10-21&flag").unwrap();
        assert_eq!(
            url.to_string(),
            "https://h/hook?token=[REDACTED]&api-version=2024-10-21&flag"
        );
        assert_eq!(redact_url_text("https://h/p#frag-secret"), "https://h/p");
    }

    #[test]
    fn a_plain_url_shows_as_given_and_has_no_credentials() {
        let url = SecretUrl::parse("http://127.0.0.1:8080/v1").unwrap();
        assert_eq!(url.to_string(), "http://127.0.0.1:8080/v1");
        assert!(!url.has_credentials());
    }

    #[test]
    fn bad_urls_are_refused_and_the_refusal_is_redacted() {
        let err = SecretUrl::parse("ftp://u:pw@h/x").unwrap_err();
        assert!(matches!(err, UrlError::NotHttp { .. }), "{err}");
        assert!(!err.to_string().contains("pw"), "{err}");
        assert!(SecretUrl::parse("not a url").is_err());
        assert!(SecretUrl::parse("localhost:8080/v1").is_err());
    }

    #[test]
    fn path_suffixes_keep_credentials_for_the_request_only() {
        let url = SecretUrl::parse("https://u:p@h/openai").unwrap();
        let full = url.with_path_suffix("/deployments/m/chat/completions", Some("api-version=1"));
        assert_eq!(
            full.expose(),
            "https://u:p@h/openai/deployments/m/chat/completions?api-version=1"
        );
        assert_eq!(
            full.to_string(),
            "https://[REDACTED]@h/openai/deployments/m/chat/completions?api-version=1"
        );
    }
}
