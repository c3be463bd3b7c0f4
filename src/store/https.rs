//! The HTTPS client of every AWS SDK client (DynamoDB, EventBridge, credentials): rustls with
//! Mozilla's root certificates compiled in (`webpki-root-certs`). Loading the system's roots
//! instead costs about 440 file system calls at every cold start (`docs/performance.md`).
//! `SSL_CERT_FILE` or `SSL_CERT_DIR` (an endpoint behind a private CA) selects the system's
//! store, which honours them.

use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

pub fn client() -> SharedHttpClient {
    let system = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|name| std::env::var_os(name).is_some());
    let builder = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
    match TlsContext::builder()
        .with_trust_store(if system {
            TrustStore::default()
        } else {
            compiled_in_roots()
        })
        .build()
    {
        Ok(context) => builder.tls_context(context).build_https(),
        Err(_) => builder.build_https(),
    }
}

/// Mozilla's roots, as the PEM the trust store takes.
fn compiled_in_roots() -> TrustStore {
    let mut store = TrustStore::empty();
    for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        store.add_pem_certificate(pem(der.as_ref()));
    }
    store
}

fn pem(der: &[u8]) -> String {
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        STANDARD.encode(der)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_compiled_in_root_is_pem_of_its_certificate() {
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
        for der in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
            let pem = pem(der.as_ref());
            let body = pem.lines().nth(1).unwrap();
            assert_eq!(STANDARD.decode(body).unwrap(), der.as_ref());
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
        }
        // The SDK's own Amazon roots are among them (DynamoDB and EventBridge chain to them).
        let amazon = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .filter(|c| c.as_ref().windows(14).any(|w| w == b"Amazon Root CA"))
            .count();
        assert_eq!(amazon, 4);
    }
}
