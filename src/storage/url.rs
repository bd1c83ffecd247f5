//! [`ObjectUrl`]: an input, output or cache named by URL instead of a local path.
//!
//! Inputs and outputs arrive as `PathBuf`s from clap; whether one is an object is decided
//! here once, by its text: anything with `scheme://` is a URL, and a scheme postcall does
//! not speak is an error naming it, never a file of that odd name. A presigned `https` URL
//! carries its signature in the query, so every rendering goes through the redaction of
//! `net::url`: the real text is used only to send the request.

use std::fmt;
use std::path::Path;

use crate::net::url::redact_url_text;

/// The stores postcall speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    S3,
    Gcs,
    Azure,
    /// A presigned URL of one object: read with GET, written with one PUT.
    Https,
}

impl Scheme {
    fn parse(scheme: &str) -> Option<Scheme> {
        Some(match scheme {
            "s3" | "s3a" => Scheme::S3,
            "gs" => Scheme::Gcs,
            "az" | "azure" | "abfs" | "abfss" => Scheme::Azure,
            "https" | "http" => Scheme::Https,
            _ => return None,
        })
    }
}

/// `s3://bucket/key`, `gs://…`, `az://container/…`, or a presigned `https://…` URL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ObjectUrl {
    /// As given: what requests are built from.
    text: String,
    scheme: Scheme,
    /// Where the bucket (container) name ends in `text` and the key starts (after its `/`).
    bucket_end: usize,
}

/// Why a text is not a URL postcall can read or write: `URL: reason`, the URL redacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shown}: {reason}")]
pub struct ObjectUrlError {
    pub shown: String,
    pub reason: String,
}

/// Whether `path` is written as a URL (`scheme://…`) rather than a local path.
pub fn is_url(path: &Path) -> bool {
    path.to_str().is_some_and(|text| scheme_of(text).is_some())
}

/// The `scheme` of `scheme://…`: letters, digits, `+`, `-`, `.`, starting with a letter.
fn scheme_of(text: &str) -> Option<&str> {
    let (scheme, _) = text.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

impl ObjectUrl {
    /// Parses `text` if it is a URL at all (`Ok(None)` for a local path).
    pub fn from_path(path: &Path) -> Result<Option<ObjectUrl>, ObjectUrlError> {
        match path.to_str() {
            Some(text) if scheme_of(text).is_some() => ObjectUrl::parse(text).map(Some),
            _ => Ok(None),
        }
    }

    pub fn parse(text: &str) -> Result<ObjectUrl, ObjectUrlError> {
        let shown = redact_url_text(text);
        let raw_scheme = scheme_of(text).unwrap_or_default().to_ascii_lowercase();
        let scheme = Scheme::parse(&raw_scheme).ok_or_else(|| ObjectUrlError {
            shown: shown.clone(),
            reason: format!(
                "unknown scheme `{raw_scheme}://`; postcall reads and writes s3://, gs://, az:// and https:// (presigned) URLs, or local paths"
            ),
        })?;
        let start = raw_scheme.len() + 3;
        let rest = &text[start..];
        let bucket_len = rest.find(['/', '?']).unwrap_or(rest.len());
        if bucket_len == 0 {
            return Err(ObjectUrlError {
                shown,
                reason: format!("names no bucket; write {raw_scheme}://BUCKET/PREFIX"),
            });
        }
        Ok(ObjectUrl {
            text: text.to_string(),
            scheme,
            bucket_end: start + bucket_len,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The real URL, signature included: only for sending the request.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// `s3://bucket`: what one client serves.
    pub fn root(&self) -> &str {
        &self.text[..self.bucket_end]
    }

    /// The bucket (container), or the host of an `https` URL.
    pub fn bucket(&self) -> &str {
        &self.text[self.root_start()..self.bucket_end]
    }

    fn root_start(&self) -> usize {
        self.text.find("://").map_or(0, |i| i + 3)
    }

    /// The key (object path) without leading or trailing slashes; for an `https` URL, its
    /// path without the query.
    pub fn key(&self) -> &str {
        let rest = &self.text[self.bucket_end..];
        let path = rest.split(['?', '#']).next().unwrap_or_default();
        path.trim_matches('/')
    }

    /// The object `key` in the same bucket.
    pub fn with_key(&self, key: &str) -> ObjectUrl {
        ObjectUrl {
            text: format!("{}/{}", self.root(), key.trim_start_matches('/')),
            scheme: self.scheme,
            bucket_end: self.bucket_end,
        }
    }

    /// The key's last segment (`a.json`), for a call's fallback id and the report format.
    pub fn file_name(&self) -> &str {
        self.key().rsplit('/').next().unwrap_or_default()
    }

    /// `scheme://bucket/key`, without a query: for the report format, and for telling two
    /// URLs of the same object apart from two objects.
    pub fn without_query(&self) -> String {
        format!("{}/{}", self.root(), self.key())
    }

    /// The URL with any signature or credential replaced by `[REDACTED]`.
    pub fn redacted(&self) -> String {
        redact_url_text(&self.text)
    }
}

impl fmt::Display for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for ObjectUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_keys_and_roots_are_split_once() {
        let url = ObjectUrl::parse("s3://calls/2026/11/").unwrap();
        assert_eq!(
            (url.scheme(), url.bucket(), url.key()),
            (Scheme::S3, "calls", "2026/11")
        );
        assert_eq!(url.root(), "s3://calls");
        assert_eq!(url.with_key("2026/11/a.json").to_string(), "s3://calls/2026/11/a.json");
        assert_eq!(url.with_key("2026/11/a.json").file_name(), "a.json");
        assert_eq!(ObjectUrl::parse("gs://b").unwrap().key(), "");
        assert_eq!(ObjectUrl::parse("az://c/x.json").unwrap().scheme(), Scheme::Azure);
    }

    #[test]
    fn a_presigned_url_is_shown_without_its_signature() {
        let text = "https://b.s3.amazonaws.com/r.json?X-Amz-Credential=AKIA1&X-Amz-Signature=abc";
        let url = ObjectUrl::parse(text).unwrap();
        assert_eq!(url.scheme(), Scheme::Https);
        assert_eq!(url.key(), "r.json");
        assert_eq!(url.file_name(), "r.json");
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("AKIA1") && !shown.contains("abc"), "{shown}");
        assert_eq!(url.expose(), text);
    }

    #[test]
    fn unknown_schemes_and_missing_buckets_are_refused_by_name() {
        let err = ObjectUrl::parse("s4://b/k").unwrap_err().to_string();
        assert!(err.contains("unknown scheme `s4://`") && err.contains("s3://"), "{err}");
        let err = ObjectUrl::parse("s3:///k").unwrap_err().to_string();
        assert!(err.contains("names no bucket"), "{err}");
        assert!(ObjectUrl::from_path(Path::new("calls/a.json")).unwrap().is_none());
        assert!(is_url(Path::new("ftp://x/y")) && !is_url(Path::new("./a://b")));
    }
}
