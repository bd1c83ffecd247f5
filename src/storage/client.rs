//! The HTTP client object_store sends with: the settings the store's builder read (from
//! the environment, as `from_env` does), and one postcall adds: a redirect is not followed.
//!
//! object_store's own client follows up to ten redirects, to any host. reqwest drops the
//! `Authorization` header on the way to another host, but nothing else: the session token
//! of temporary credentials (`x-amz-security-token`, what a pod's or a task's role gives)
//! went along, and a `PUT` answered 307 sends the report's bytes again, to wherever the store
//! — or anything between — pointed. postcall's own HTTP client follows no redirect either
//! (`net::client`); a redirect here is a [`Redirected`] error that names where it pointed.
//!
//! What object_store's client does and this one does not: it shuffles the addresses a name
//! resolves to (`randomize_addresses`, spreading connections over S3's front ends), from a
//! resolver it does not export.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use object_store::client::{
    ClientConfigKey, ClientOptions, HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpService,
};

/// Builds the client of each store postcall reads or writes.
#[derive(Debug, Default)]
pub struct NoRedirects;

impl HttpConnector for NoRedirects {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let client = builder(options)?.build().map_err(generic)?;
        Ok(HttpClient::new(Refusing(client)))
    }
}

/// A store answered a request with a redirect, which is not followed.
#[derive(Debug, thiserror::Error)]
#[error("the store answered {status} pointing at {to}")]
pub struct Redirected {
    pub status: u16,
    /// Where it pointed: the scheme, host and port only (a query could carry a signature).
    pub to: String,
}

/// The client, answering a 3xx with a [`Redirected`] error: object_store would report it as
/// an unexpected status, without where it pointed, and says nothing of redirects.
#[derive(Debug)]
struct Refusing(reqwest::Client);

// `HttpService` is an `async_trait`; its method written out as that macro would write it.
impl HttpService for Refusing {
    fn call<'a, 'b>(
        &'a self,
        request: HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        Box::pin(async move {
            let response = HttpService::call(&self.0, request).await?;
            if !response.status().is_redirection() {
                return Ok(response);
            }
            let to = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map_or_else(|| "nowhere (no Location)".to_string(), origin);
            let redirected = Redirected {
                status: response.status().as_u16(),
                to,
            };
            // Not retried: a redirect is not a passing failure.
            Err(HttpError::new(HttpErrorKind::Unknown, redirected))
        })
    }
}

/// `scheme://host:port` of `location` (relative: the same host, so "a path on this host").
fn origin(location: &str) -> String {
    match reqwest::Url::parse(location) {
        Ok(url) => match url.port() {
            Some(port) => format!("{}://{}:{port}", url.scheme(), url.host_str().unwrap_or("?")),
            None => format!("{}://{}", url.scheme(), url.host_str().unwrap_or("?")),
        },
        Err(_) => "a path on the same host".to_string(),
    }
}

/// object_store's client settings, taken back from `options`, with redirects off.
fn builder(options: &ClientOptions) -> object_store::Result<reqwest::ClientBuilder> {
    let value = |key: ClientConfigKey| options.get_config_value(&key);
    let on = |key: ClientConfigKey| value(key).is_some_and(|v| is_true(&v));
    let duration = |key: ClientConfigKey| -> object_store::Result<Option<Duration>> {
        value(key)
            .map(|v| humantime::parse_duration(&v).map_err(generic))
            .transpose()
    };
    let user_agent = value(ClientConfigKey::UserAgent)
        .unwrap_or_else(|| concat!("postcall/", env!("CARGO_PKG_VERSION")).to_string());
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        // An object is sized by its Content-Length, which compression would change.
        .no_gzip()
        .no_brotli()
        .no_zstd()
        .no_deflate()
        .https_only(!on(ClientConfigKey::AllowHttp));
    if let Some(proxy) = value(ClientConfigKey::ProxyUrl) {
        let mut proxy = reqwest::Proxy::all(&proxy).map_err(generic)?;
        if let Some(excludes) = value(ClientConfigKey::ProxyExcludes) {
            proxy = proxy.no_proxy(reqwest::NoProxy::from_string(&excludes));
        }
        if let Some(pem) = value(ClientConfigKey::ProxyCaCertificate) {
            let certificate = reqwest::tls::Certificate::from_pem(pem.as_bytes()).map_err(generic)?;
            builder = builder.tls_certs_merge(std::iter::once(certificate));
        }
        builder = builder.proxy(proxy);
    }
    if on(ClientConfigKey::NoSystemCertificates) {
        builder = builder.tls_certs_only(std::iter::empty());
    }
    if on(ClientConfigKey::AllowInvalidCertificates) {
        builder = builder.danger_accept_invalid_certs(true);
    }
    if let Some(timeout) = duration(ClientConfigKey::Timeout)? {
        builder = builder.timeout(timeout);
    }
    if let Some(timeout) = duration(ClientConfigKey::ConnectTimeout)? {
        builder = builder.connect_timeout(timeout);
    }
    if let Some(timeout) = duration(ClientConfigKey::ReadTimeout)? {
        builder = builder.read_timeout(timeout);
    }
    if let Some(timeout) = duration(ClientConfigKey::PoolIdleTimeout)? {
        builder = builder.pool_idle_timeout(timeout);
    }
    if let Some(max) = value(ClientConfigKey::PoolMaxIdlePerHost) {
        builder = builder.pool_max_idle_per_host(max.parse().map_err(generic)?);
    }
    if on(ClientConfigKey::Http1Only) {
        builder = builder.http1_only();
    }
    if on(ClientConfigKey::Http2Only) {
        builder = builder.http2_prior_knowledge();
    }
    Ok(builder)
}

/// A boolean setting as object_store reads one.
fn is_true(value: &str) -> bool {
    matches!(
        value.trim().to_ascii_lowercase().as_str(),
        "1" | "true" | "on" | "yes" | "y"
    )
}

fn generic(error: impl std::error::Error + Send + Sync + 'static) -> object_store::Error {
    object_store::Error::Generic {
        store: "HTTP client",
        source: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_object_store_read_are_kept() {
        // What `from_env` leaves in the options must reach the client: a wrong value is an
        // error, not ignored.
        crate::net::tls::install_provider();
        let options = ClientOptions::new()
            .with_allow_http(true)
            .with_timeout(Duration::from_secs(7))
            .with_pool_max_idle_per_host(3);
        assert!(NoRedirects.connect(&options).is_ok());
        let bad = ClientOptions::new().with_config(ClientConfigKey::PoolMaxIdlePerHost, "many");
        assert!(NoRedirects.connect(&bad).is_err());
        assert!(is_true("True") && is_true("1") && !is_true("false") && !is_true(""));
    }

    #[test]
    fn a_redirect_is_shown_by_where_it_points_without_its_query() {
        assert_eq!(
            origin("https://elsewhere.example:8443/b/k?X-Amz-Signature=abc"),
            "https://elsewhere.example:8443"
        );
        assert_eq!(origin("http://elsewhere.example/b"), "http://elsewhere.example");
        assert_eq!(origin("/b/k"), "a path on the same host");
    }
}
