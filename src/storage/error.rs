//! [`StorageError`]: why an object could not be listed, read or written, said so a user
//! knows what to do, with the URL and every credential redacted.
//!
//! object_store's errors are precise but speak its language (`Generic S3 error: Error
//! performing list request: Client error with status 404…`); what a user needs is which URL,
//! which of the few usual causes (no such bucket, credentials refused, endpoint unreachable)
//! and the next step. The store's own text is kept at the end for the rest.

use crate::net::redact::{redact_secret, redact_urls_in};

use super::url::{ObjectUrl, Scheme};

/// A failed storage operation on one URL. Displays as `URL: what happened; what to do`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{shown}: {message}")]
pub struct StorageError {
    /// The URL, redacted.
    pub shown: String,
    pub message: String,
    /// The object (or bucket) is not there, as opposed to unreadable.
    pub not_found: bool,
}

/// What was being done, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Doing {
    Listing,
    Reading,
    Writing,
}

impl Doing {
    fn verb(self) -> &'static str {
        match self {
            Doing::Listing => "list",
            Doing::Reading => "read",
            Doing::Writing => "write",
        }
    }
}

impl StorageError {
    pub(crate) fn new(url: &ObjectUrl, message: impl Into<String>) -> StorageError {
        StorageError {
            shown: url.redacted(),
            message: scrub(&message.into()),
            not_found: false,
        }
    }

    /// Turns an object_store error on `url` into the cause and the next step.
    pub(crate) fn from_store(url: &ObjectUrl, doing: Doing, error: &object_store::Error) -> StorageError {
        let detail = chain(error);
        let not_found = matches!(error, object_store::Error::NotFound { .. })
            || detail.contains("NoSuchBucket")
            || detail.contains("ContainerNotFound");
        let denied = matches!(
            error,
            object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. }
        ) || [
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AccessDenied",
            "ExpiredToken",
        ]
        .iter()
        .any(|code| detail.contains(code));
        // The provider chains end at the cloud machine's metadata service, which object_store
        // asks when nothing else named credentials; off a cloud machine nothing answers
        // there, and its error names only that request.
        let no_credentials = INSTANCE_METADATA_PATHS.iter().any(|path| detail.contains(path));
        let message = if caused_by::<super::pages::GoesRound>(error) {
            format!(
                "the storage service's listing does not end: it named a page it had already given as the next, \
                 so postcall stopped listing; list the prefix with the provider's own tool to see what it \
                 holds, or report the store's fault ({detail})"
            )
        } else if caused_by::<super::client::Redirected>(error) {
            format!(
                "the storage service answered with a redirect, which postcall does not follow (credentials and \
                 reports go only to the endpoint configured){} ({detail})",
                redirect_hint(url.scheme())
            )
        } else if no_credentials {
            format!(
                "found no credentials to {} with: none are set in the environment or a profile, and the \
                 instance metadata service (which answers only on a cloud machine with a role or service \
                 account) gave none; {} ({detail})",
                doing.verb(),
                credential_hint(url.scheme())
            )
        } else if denied {
            format!(
                "access denied: the credentials postcall found may not {} here, or are wrong; {} ({detail})",
                doing.verb(),
                credential_hint(url.scheme())
            )
        } else if not_found && (doing != Doing::Reading || detail.contains("NoSuchBucket")) {
            format!(
                "the {} `{}` does not exist or these credentials cannot see it; check the URL{} ({detail})",
                if url.scheme() == Scheme::Azure {
                    "container"
                } else {
                    "bucket"
                },
                url.bucket(),
                endpoint_hint(url.scheme())
            )
        } else if not_found {
            "no such object; check the URL (was it removed after the listing?)".to_string()
        } else if detail.contains("error sending request") || detail.contains("onnect") {
            format!(
                "cannot reach the storage service{}; check the network ({detail})",
                endpoint_hint(url.scheme())
            )
        } else {
            format!("cannot {}: {detail}", doing.verb())
        };
        StorageError {
            shown: url.redacted(),
            message: scrub(&message),
            not_found,
        }
    }
}

/// Whether `error` came of one of postcall's own refusals (`storage::client`): a redirect,
/// a listing that goes round.
fn caused_by<Refusal: std::error::Error + 'static>(error: &object_store::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if inner.is::<Refusal>() {
            return true;
        }
        source = inner.source();
    }
    false
}

/// The error and its sources, one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let said = inner.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        source = inner.source();
    }
    text.replace('\n', " ")
}

/// The paths of the instance metadata services' credential requests (EC2's token and role,
/// GCE's service-account token), whatever host they are asked of.
const INSTANCE_METADATA_PATHS: [&str; 3] = [
    "/latest/api/token",
    "/latest/meta-data/iam/security-credentials",
    "/computeMetadata/v1/instance/service-accounts",
];

/// What to set when a store's client cannot be built from the environment: for Azure,
/// whose account is not in the URL, the variables that name it.
pub(crate) fn setup_hint(scheme: Scheme) -> String {
    match scheme {
        Scheme::Azure => format!("{}; the URL is az://CONTAINER/PREFIX", credential_hint(scheme)),
        _ => "check the provider's environment variables".to_string(),
    }
}

fn credential_hint(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::S3 => {
            "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN, the keys or credential_process of the profile AWS_PROFILE names (else `default`), or the instance or task role"
        }
        Scheme::Gcs => {
            "check GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT, or the instance's service account"
        }
        Scheme::Azure => {
            "check AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY, a SAS token, or the managed identity"
        }
        Scheme::Https => "a presigned URL expires: sign a new one",
    }
}

fn redirect_hint(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::S3 => {
            "; a bucket in another region: set AWS_REGION to it, or AWS_ENDPOINT_URL to the endpoint it names"
        }
        _ => "; point the URL or the endpoint at where the data is",
    }
}

fn endpoint_hint(scheme: Scheme) -> &'static str {
    match scheme {
        Scheme::S3 => " (and AWS_ENDPOINT_URL for an S3-compatible server)",
        Scheme::Gcs => " (and the service account file's gcs_base_url for a GCS-compatible server)",
        Scheme::Azure => {
            " (and AZURE_STORAGE_ACCOUNT_NAME; for Azurite, AZURE_STORAGE_USE_EMULATOR=true and AZURITE_BLOB_STORAGE_URL)"
        }
        Scheme::Https => "",
    }
}

/// Environment variables whose values are secrets a store's message could quote.
const SECRET_VARIABLES: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
];

/// `text` with URLs redacted and no credential from the environment in it.
pub(crate) fn scrub(text: &str) -> String {
    let mut text = redact_urls_in(text).into_owned();
    for name in SECRET_VARIABLES {
        if let Ok(secret) = std::env::var(name)
            && secret.len() >= 8
        {
            text = redact_secret(&text, &secret).into_owned();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> ObjectUrl {
        ObjectUrl::parse("s3://calls/2026").unwrap()
    }

    fn generic(text: &str) -> object_store::Error {
        object_store::Error::Generic {
            store: "S3",
            source: text.to_string().into(),
        }
    }

    #[test]
    fn a_missing_bucket_is_named_with_what_to_check() {
        let error = generic("Client error with status 404 Not Found: <Code>NoSuchBucket</Code>");
        let err = StorageError::from_store(&url(), Doing::Listing, &error);
        assert!(err.not_found);
        let shown = err.to_string();
        assert!(
            shown.starts_with("s3://calls/2026: the bucket `calls` does not exist"),
            "{shown}"
        );
        assert!(shown.contains("AWS_ENDPOINT_URL"), "{shown}");

        let container = ObjectUrl::parse("az://calls/2026").unwrap();
        let error = generic("Client error with status 404 Not Found: <Code>ContainerNotFound</Code>");
        let shown = StorageError::from_store(&container, Doing::Listing, &error).to_string();
        assert!(
            shown.starts_with("az://calls/2026: the container `calls` does not exist"),
            "{shown}"
        );
        assert!(shown.contains("AZURITE_BLOB_STORAGE_URL"), "{shown}");
    }

    #[test]
    fn refused_credentials_say_where_credentials_come_from() {
        let error = generic("Client error with status 403 Forbidden: <Code>InvalidAccessKeyId</Code>");
        let err = StorageError::from_store(&url(), Doing::Reading, &error).to_string();
        assert!(
            err.contains("access denied") && err.contains("AWS_ACCESS_KEY_ID"),
            "{err}"
        );
        assert!(err.contains("may not read"), "{err}");
    }

    #[test]
    fn urls_in_a_stores_message_are_redacted() {
        let error = generic("error sending request for url (https://h/b?X-Amz-Signature=s3cr3t)");
        let err = StorageError::from_store(&url(), Doing::Writing, &error).to_string();
        assert!(!err.contains("s3cr3t") && err.contains("cannot reach"), "{err}");
    }
}
