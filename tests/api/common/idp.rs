//! A test IdP: RSA and P-256 keys generated per run, their JWKS served over HTTP on loopback,
//! and assertions signed as Entra signs them. The server can be told to hang or fail, and
//! counts its fetches.

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::encoding::AsDer;
use base64::Engine;
use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the JWKS server does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Serve {
    Keys = 0,
    /// Accept, and never answer.
    Hang = 1,
    /// Answer 500.
    Fail = 2,
}

pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    key: EncodingKey,
    pub public: Jwk,
}

pub struct TestIdp {
    pub issuer: String,
    pub subject: String,
    pub audience: String,
    pub jwks_url: String,
    pub rsa: SigningKey,
    pub ec: SigningKey,
    served: Arc<Mutex<Vec<Jwk>>>,
    mode: Arc<AtomicU8>,
    fetches: Arc<AtomicUsize>,
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

pub fn rsa_key(kid: &str) -> SigningKey {
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let der: aws_lc_rs::encoding::Pkcs8V1Der = pair.as_der().unwrap();
    let key = EncodingKey::from_rsa_pem(pem("PRIVATE KEY", der.as_ref()).as_bytes()).unwrap();
    signing_key(kid, Algorithm::RS256, key)
}

pub fn ec_key(kid: &str) -> SigningKey {
    let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
        &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
    )
    .unwrap();
    let der = pair.to_pkcs8v1().unwrap();
    let key = EncodingKey::from_ec_der(der.as_ref());
    signing_key(kid, Algorithm::ES256, key)
}

fn signing_key(kid: &str, alg: Algorithm, key: EncodingKey) -> SigningKey {
    let mut public = Jwk::from_encoding_key(&key, alg).unwrap();
    public.common.key_id = Some(kid.into());
    public.common.public_key_use = Some(PublicKeyUse::Signature);
    SigningKey {
        kid: kid.into(),
        alg,
        key,
        public,
    }
}

impl SigningKey {
    /// `claims` signed with this key, its `kid` in the header.
    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        header.typ = Some("JWT".into());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }

    /// The same, with another `kid` in the header.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

impl TestIdp {
    /// An IdP whose JWKS (one RSA and one P-256 key) is served on a loopback port.
    pub async fn start() -> TestIdp {
        let rsa = rsa_key(&format!("rsa-{}", ulid::Ulid::new()));
        let ec = ec_key(&format!("ec-{}", ulid::Ulid::new()));
        let served = Arc::new(Mutex::new(vec![rsa.public.clone(), ec.public.clone()]));
        let mode = Arc::new(AtomicU8::new(Serve::Keys as u8));
        let fetches = Arc::new(AtomicUsize::new(0));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (keys, how, count) = (served.clone(), mode.clone(), fetches.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (keys, how, count) = (keys.clone(), how.clone(), count.clone());
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    count.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = match how.load(Ordering::SeqCst) {
                        1 => {
                            tokio::time::sleep(std::time::Duration::from_secs(30)).await;
                            return;
                        }
                        2 => ("500 Internal Server Error", "{}".to_string()),
                        _ => {
                            let keys = keys.lock().unwrap().clone();
                            ("200 OK", json!({ "keys": keys }).to_string())
                        }
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n\
                         content-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        let tenant = ulid::Ulid::new();
        TestIdp {
            issuer: format!("https://login.microsoftonline.com/{tenant}/v2.0"),
            subject: ulid::Ulid::new().to_string(),
            audience: format!("api://{}", ulid::Ulid::new()),
            jwks_url: format!("http://127.0.0.1:{port}/{tenant}/discovery/v2.0/keys"),
            rsa,
            ec,
            served,
            mode,
            fetches,
        }
    }

    /// The claims of an assertion as Entra's provisioning service sends it, valid for an hour.
    pub fn entra_claims(&self) -> Value {
        let now = now();
        json!({
            "aud": self.audience,
            "iss": self.issuer,
            "sub": self.subject,
            "oid": self.subject,
            "appid": ulid::Ulid::new().to_string(),
            "tid": "72f988bf-86f1-41af-91ab-2d7cd011db47",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "jti": ulid::Ulid::new().to_string(),
            "ver": "2.0",
        })
    }

    pub fn serve(&self, how: Serve) {
        self.mode.store(how as u8, Ordering::SeqCst);
    }

    /// How many times the JWKS was fetched.
    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// Adds a key to the served JWKS (a rotation).
    pub fn publish(&self, key: &SigningKey) {
        self.served.lock().unwrap().push(key.public.clone());
    }

    /// The RSA public key's modulus, as an attacker would use it for an HS256 "signature".
    pub fn rsa_public_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.rsa.public).unwrap()
    }
}

/// The policy of a local stack: the test IdP's loopback JWKS is allowed.
pub const LOCAL: scim_serverless::federation::FederationPolicy =
    scim_serverless::federation::FederationPolicy {
        allow_loopback_jwks: true,
    };

/// A new OAuth client of `t`'s tenant (with a first secret, or none) federated to `idp`.
pub async fn federated_client(
    t: &super::TestApp,
    idp: &TestIdp,
    with_secret: bool,
) -> scim_serverless::service::oauth::IssuedClient {
    let admin = t.admin().with_federation(LOCAL);
    let new = scim_serverless::service::oauth::NewClient {
        secret_expires_in_days: with_secret
            .then_some(scim_serverless::service::oauth::DEFAULT_SECRET_DAYS),
        ..Default::default()
    };
    let issued = admin
        .create_client(&t.tenant_id(), &new)
        .await
        .expect("create an OAuth client");
    admin
        .add_federation(&t.tenant_id(), &issued.client_id, &idp.federation())
        .await
        .expect("add a federated credential");
    issued
}

/// Entra's token request: client_id, the assertion and its type.
pub fn assertion_form(client: &scim_serverless::protocol::ClientId, assertion: &str) -> String {
    format!(
        "grant_type=client_credentials&client_id={client}&client_assertion_type=\
         urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion={assertion}"
    )
}

impl TestIdp {
    /// The federated credential an admin copies from this IdP.
    pub fn federation(&self) -> scim_serverless::service::oauth::NewFederation {
        scim_serverless::service::oauth::NewFederation {
            issuer: self.issuer.clone(),
            jwks_url: self.jwks_url.clone(),
            subject: self.subject.clone(),
            audience: self.audience.clone(),
        }
    }
}
