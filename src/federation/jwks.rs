//! An IdP's signing keys (its JWKS), fetched over HTTPS and cached per instance by URL. A `kid`
//! the cache lacks causes one refetch, at most once a minute per URL (keys rotate; an attacker's
//! made-up `kid`s must not become requests). A fetch is bounded: 2 s in all, 64 KB, no
//! redirects. A host that is down or slow is a clean error, remembered for a few seconds so that
//! callers do not each wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use jsonwebtoken::jwk::Jwk;
use serde_json::Value;

use super::FederationPolicy;

/// A whole fetch (connect, TLS, answer) takes at most this long.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(2);
/// A JWKS larger than this is refused (Entra's is about 6 KB).
pub const MAX_JWKS_BYTES: usize = 64 * 1024;
/// Keys are used this long before the next use refetches them.
const FRESH_FOR: Duration = Duration::from_secs(10 * 60);
/// An unknown `kid` refetches at most this often per URL.
const REFETCH_EVERY: Duration = Duration::from_secs(60);
/// After a failed fetch, the URL's callers are answered at once for this long.
const FAILURE_HOLD: Duration = Duration::from_secs(5);
/// Keys kept per URL, and URLs per instance: bounds on what a JWKS can make us hold.
const MAX_KEYS: usize = 50;
const MAX_URLS: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("the JWKS at {url} has no key {kid:?}, even after fetching it again")]
    UnknownKey { url: String, kid: String },
    #[error("the JWKS at {url} could not be fetched: {reason}")]
    Unavailable { url: String, reason: String },
    #[error("{0}")]
    Refused(String),
}

struct Entry {
    keys: Vec<Jwk>,
    fetched: Instant,
    last_refetch: Option<Instant>,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<String, Entry>,
    failures: HashMap<String, (Instant, String)>,
}

type HttpsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// The keys of every JWKS URL this instance has used.
pub struct Jwks {
    policy: FederationPolicy,
    cache: Mutex<Cache>,
    client: OnceLock<Result<HttpsClient, String>>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("policy", &self.policy)
            .finish()
    }
}

/// What the cache says about one lookup.
enum Cached {
    Key(Box<Jwk>),
    Fetch,
    Unknown,
    Failed(String),
}

impl Jwks {
    pub fn new(policy: FederationPolicy) -> Arc<Self> {
        Arc::new(Jwks {
            policy,
            cache: Mutex::new(Cache::default()),
            client: OnceLock::new(),
        })
    }

    pub fn policy(&self) -> FederationPolicy {
        self.policy
    }

    /// The key `kid` of the JWKS at `url`: from the cache, or fetched (once, when the cache has
    /// no fresh copy or lacks the `kid` and may refetch).
    pub async fn key(&self, url: &str, kid: &str) -> Result<Jwk, JwksError> {
        self.policy
            .check_jwks_url(url)
            .map_err(JwksError::Refused)?;
        match self.lookup(url, kid) {
            Cached::Key(key) => return Ok(*key),
            Cached::Unknown => return Err(unknown(url, kid)),
            Cached::Failed(reason) => {
                return Err(JwksError::Unavailable {
                    url: url.into(),
                    reason,
                })
            }
            Cached::Fetch => {}
        }
        let fetched = self.fetch(url).await;
        let mut cache = self.lock();
        let keys = match fetched {
            Ok(keys) => keys,
            Err(reason) => {
                if cache.failures.len() >= MAX_URLS {
                    cache.failures.clear();
                }
                cache
                    .failures
                    .insert(url.into(), (Instant::now(), reason.clone()));
                return Err(JwksError::Unavailable {
                    url: url.into(),
                    reason,
                });
            }
        };
        cache.failures.remove(url);
        let found = find(&keys, kid);
        let last_refetch = cache.entries.get(url).and_then(|e| e.last_refetch);
        if cache.entries.len() >= MAX_URLS && !cache.entries.contains_key(url) {
            cache.entries.clear();
        }
        cache.entries.insert(
            url.into(),
            Entry {
                keys,
                fetched: Instant::now(),
                last_refetch,
            },
        );
        found.ok_or_else(|| unknown(url, kid))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // A panic elsewhere while holding the lock leaves a cache that is still consistent.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lookup(&self, url: &str, kid: &str) -> Cached {
        let now = Instant::now();
        let mut cache = self.lock();
        if let Some((at, reason)) = cache.failures.get(url) {
            if now.duration_since(*at) < FAILURE_HOLD {
                return Cached::Failed(reason.clone());
            }
        }
        let Some(entry) = cache.entries.get_mut(url) else {
            return Cached::Fetch;
        };
        if now.duration_since(entry.fetched) >= FRESH_FOR {
            return Cached::Fetch;
        }
        if let Some(key) = find(&entry.keys, kid) {
            return Cached::Key(Box::new(key));
        }
        let may_refetch = entry
            .last_refetch
            .is_none_or(|at| now.duration_since(at) >= REFETCH_EVERY);
        if may_refetch {
            entry.last_refetch = Some(now);
            Cached::Fetch
        } else {
            Cached::Unknown
        }
    }

    fn client(&self) -> Result<&HttpsClient, String> {
        self.client
            .get_or_init(build_client)
            .as_ref()
            .map_err(Clone::clone)
    }

    async fn fetch(&self, url: &str) -> Result<Vec<Jwk>, String> {
        let client = self.client()?;
        let uri: hyper::Uri = url.parse().map_err(|_| "not a URL".to_string())?;
        let request = hyper::Request::get(uri)
            .header("accept", "application/json")
            .header("user-agent", "scim-serverless")
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let response = client.request(request).await.map_err(|e| {
                tracing::warn!(error = %e, url, "JWKS fetch failed");
                "the host did not answer".to_string()
            })?;
            let status = response.status();
            if !status.is_success() {
                return Err(format!("the host answered {status}"));
            }
            let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
                .collect()
                .await
                .map_err(|_| {
                    format!("the answer is not a JWKS of at most {MAX_JWKS_BYTES} bytes")
                })?;
            Ok(body.to_bytes())
        };
        let body = tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("no answer within {} s", FETCH_TIMEOUT.as_secs()))??;
        parse_jwks(&body)
    }
}

fn unknown(url: &str, kid: &str) -> JwksError {
    JwksError::UnknownKey {
        url: url.into(),
        kid: kid.chars().take(128).collect(),
    }
}

fn find(keys: &[Jwk], kid: &str) -> Option<Jwk> {
    keys.iter()
        .find(|k| k.common.key_id.as_deref() == Some(kid))
        .cloned()
}

/// `{"keys": [...]}`; a key this crate cannot read (another `kty`, a private key's extra
/// fields are fine) is skipped rather than failing the set.
fn parse_jwks(body: &[u8]) -> Result<Vec<Jwk>, String> {
    let set: Value =
        serde_json::from_slice(body).map_err(|_| "the answer is not JSON".to_string())?;
    let keys = set
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| "the answer has no \"keys\" array".to_string())?;
    Ok(keys
        .iter()
        .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
        .filter(|key| key.common.key_id.is_some())
        .take(MAX_KEYS)
        .collect())
}

/// rustls with Mozilla's roots (compiled in, parsed on the first fetch only), HTTP/1.1, and
/// `http` allowed only because the policy check refuses it for anything but a local stack's
/// loopback.
fn build_client() -> Result<HttpsClient, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwks_keeps_the_keys_it_can_read_and_refuses_what_is_not_one() {
        let body = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "r", "n": "AQAB", "e": "AQAB", "use": "sig"},
            {"kty": "EC", "kid": "e", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "weird", "kid": "w"},
            {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
        ]});
        let keys = parse_jwks(body.to_string().as_bytes()).unwrap();
        let kids: Vec<_> = keys
            .iter()
            .filter_map(|k| k.common.key_id.clone())
            .collect();
        assert!(kids.contains(&"r".to_string()) && kids.contains(&"e".to_string()));
        assert!(!kids.contains(&"w".to_string()) || keys.len() == 3);
        assert!(parse_jwks(b"[]").is_err());
        assert!(parse_jwks(b"<html>").is_err());
    }
}
