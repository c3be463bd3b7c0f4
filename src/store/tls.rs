//! The HTTPS client of every AWS SDK client (DynamoDB, EventBridge, credentials): rustls trusting
//! the Amazon Trust Services roots that AWS endpoints chain to, compiled in (taken from Mozilla's
//! set in `webpki-root-certs`). Loading the system's roots costs about 440 file system calls at
//! every cold start, and parsing Mozilla's ~150 more than that (`docs/performance.md`).
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

/// The subjects of the roots AWS endpoints chain to: Amazon Root CA 1 to 4, and the Starfield
/// root that cross-signs them for older clients (Amazon Trust Services).
const AWS_ROOT_SUBJECTS: [&[u8]; 2] = [
    b"Amazon Root CA ",
    b"Starfield Services Root Certificate Authority - G2",
];

/// Mozilla's certificates of the AWS roots: self-signed, so their DER names the subject.
fn aws_roots() -> impl Iterator<Item = &'static [u8]> {
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .map(|der| der.as_ref())
        .filter(|der| {
            AWS_ROOT_SUBJECTS
                .iter()
                .any(|name| der.windows(name.len()).any(|w| w == *name))
        })
}

/// The AWS roots, as the PEM the trust store takes.
fn compiled_in_roots() -> TrustStore {
    let mut store = TrustStore::empty();
    for der in aws_roots() {
        store.add_pem_certificate(pem(der));
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
    fn the_trust_store_holds_the_five_aws_roots_as_pem() {
        let roots: Vec<&[u8]> = aws_roots().collect();
        assert_eq!(
            roots.len(),
            5,
            "Amazon Root CA 1-4 and Starfield Services G2"
        );
        for der in roots {
            let pem = pem(der);
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
            let body = pem.lines().nth(1).unwrap();
            assert_eq!(STANDARD.decode(body).unwrap(), der);
        }
    }
}
