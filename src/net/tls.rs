//! The one cryptography provider behind every TLS connection: rustls with ring.
//!
//! reqwest is built without a provider of its own (`rustls-no-provider`, see Cargo.toml for
//! why), so a provider must be installed process-wide before the first client is built —
//! ours through [`super::client`], the object store's in `storage` — or building panics.

use std::sync::Once;

/// Installs ring as the process's rustls provider, once; later calls do nothing.
pub fn install_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means a provider is installed already (by an embedding program): theirs
        // serves as well as ours.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_https_client_builds_after_the_provider_is_installed() {
        super::install_provider();
        super::install_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        reqwest::blocking::Client::builder()
            .build()
            .expect("a TLS-capable client builds with ring installed");
    }
}
