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
//! A host is resolved as object_store's own client resolves it: by the resolver the options
//! name (`ClientOptions::with_dns_resolver`), else with its addresses shuffled unless
//! `randomize_addresses` is off — a bucket's name resolves to several of S3's front ends,
//! and connections tried in the order the resolver gave them would all go to the first.

use std::future::Future;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use object_store::client::{
    ClientConfigKey, ClientOptions, DnsResolver, HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest,
    HttpResponse, HttpService,
};
use rand::seq::SliceRandom;

use super::pages::{Page, Pages};

/// Builds the client of each store postcall reads or writes.
#[derive(Debug, Default)]
pub struct NoRedirects;

impl HttpConnector for NoRedirects {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let client = builder(options)?.build().map_err(generic)?;
        Ok(HttpClient::new(Refusing {
            client,
            pages: Pages::default(),
        }))
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
/// an unexpected status, without where it pointed, and says nothing of redirects. A listing
/// page asked for again is a [`GoesRound`](super::pages::GoesRound) error.
#[derive(Debug)]
struct Refusing {
    client: reqwest::Client,
    pages: Pages,
}

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
            let page = Page::of(&request);
            if let Some(page) = &page {
                // Not retried either: the store would name the same page again.
                self.pages
                    .asking(page)
                    .map_err(|round| HttpError::new(HttpErrorKind::Unknown, round))?;
            }
            let response = HttpService::call(&self.client, request).await?;
            if !response.status().is_redirection() {
                if let Some(page) = page.filter(|_| response.status().is_success()) {
                    self.pages.answered(page);
                }
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
    let shuffle = value(ClientConfigKey::RandomizeAddresses).is_none_or(|v| is_true(&v));
    if let Some(named) = options.dns_resolver() {
        builder = builder.dns_resolver(Arc::new(Resolver {
            named: Some(Arc::clone(named)),
        }));
    } else if shuffle {
        builder = builder.dns_resolver(Arc::new(Resolver { named: None }));
    }
    if on(ClientConfigKey::Http1Only) {
        builder = builder.http1_only();
    }
    if on(ClientConfigKey::Http2Only) {
        builder = builder.http2_prior_knowledge();
    }
    Ok(builder)
}

/// Where a store's host is looked up (a host given as an address is not looked up at all).
struct Resolver {
    /// The resolver the options named; none: the system's, shuffled.
    named: Option<Arc<dyn DnsResolver>>,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let named = self.named.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let ips = match named {
                Some(resolver) => resolver.resolve(&host).await?,
                // getaddrinfo blocks: off the runtime's threads, as object_store does it.
                None => {
                    tokio::task::spawn_blocking(move || -> std::io::Result<Vec<IpAddr>> {
                        let found = (host.as_str(), 0).to_socket_addrs()?;
                        Ok(shuffled(found.map(|a| a.ip()).collect()))
                    })
                    .await??
                }
            };
            // Port 0 stands for the URL's own, which reqwest puts in.
            let addrs: reqwest::dns::Addrs = Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

fn shuffled(mut ips: Vec<IpAddr>) -> Vec<IpAddr> {
    ips.shuffle(&mut rand::rng());
    ips
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

    /// Answers every name with 127.0.0.1, and remembers the names it was asked.
    #[derive(Debug, Default)]
    struct Loopback(std::sync::Mutex<Vec<String>>);

    impl DnsResolver for Loopback {
        fn resolve(&self, host: &str) -> object_store::client::DnsFuture {
            self.0.lock().unwrap().push(host.to_string());
            Box::pin(async { Ok(vec![IpAddr::from([127, 0, 0, 1])]) })
        }
    }

    #[test]
    fn a_host_is_looked_up_by_the_resolver_the_options_name() {
        use std::io::{Read, Write};
        crate::net::tls::install_provider();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut head = [0u8; 1024];
            let _ = stream.read(&mut head);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok");
        });
        let resolver = Arc::new(Loopback::default());
        let options = ClientOptions::new()
            .with_allow_http(true)
            .with_dns_resolver(Arc::clone(&resolver) as Arc<dyn DnsResolver>);
        let client = NoRedirects.connect(&options).unwrap();
        let mut request = HttpRequest::new(object_store::client::HttpRequestBody::empty());
        *request.uri_mut() = format!("http://store.invalid:{port}/bucket").parse().unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let response = runtime.block_on(client.execute(request)).unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(*resolver.0.lock().unwrap(), ["store.invalid"]);
    }

    #[test]
    fn without_a_named_resolver_the_system_resolves() {
        use reqwest::dns::Resolve;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let found = runtime.block_on(Resolver { named: None }.resolve("localhost".parse().unwrap()));
        let found: Vec<SocketAddr> = found.unwrap_or_else(|e| panic!("{e}")).collect();
        assert!(
            !found.is_empty() && found.iter().all(|a| a.ip().is_loopback()),
            "{found:?}"
        );
    }

    #[test]
    fn the_addresses_of_a_name_are_tried_in_a_different_order_from_run_to_run() {
        let ips: Vec<IpAddr> = (1..=8).map(|i| IpAddr::from([10, 0, 0, i])).collect();
        let firsts: std::collections::BTreeSet<IpAddr> = (0..200).map(|_| shuffled(ips.clone())[0]).collect();
        assert!(firsts.len() >= 6, "connections spread over the front ends: {firsts:?}");
        let mut all = shuffled(ips.clone());
        all.sort();
        assert_eq!(all, ips, "each address once");
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
