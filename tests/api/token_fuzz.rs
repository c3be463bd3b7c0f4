//! The token endpoint fuzzed (issue 17): generated form bodies, headers and JWTs go through the
//! real handler in-process, against the local DynamoDB and the test IdP's loopback JWKS.
//!
//! Generated: forms mixing the endpoint's parameters (repeated, empty, percent-encoded, unknown)
//! with real and made-up client ids and secrets; assertions built from header and claim
//! variants (`none`, HS256, RS256, ES256, other algorithms, odd `kid`s, claims of every JSON
//! type), some signed by the IdP's real keys, some truncated or garbage; `Content-Type` and
//! `Authorization` variants; bodies that are not UTF-8 or are over the size limit.
//!
//! Asserted for every request: no panic, no 5xx, `Cache-Control: no-store`, and every answer is
//! either a token or an RFC 6749 §5.2 error with a description.
//!
//! `FUZZ_CASES=2000 cargo test --test api token_fuzz -- --nocapture` for a long run.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use base64::Engine;
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{json, Value};
use tokio::runtime::Runtime;

use crate::common::idp::{self, TestIdp};
use crate::common::{resp, TestApp};

const ERRORS: [&str; 8] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "temporarily_unavailable",
    "server_error",
];
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

struct World {
    runtime: Runtime,
    app: TestApp,
    idp: TestIdp,
    secret_client: String,
    secret: String,
    federated_client: String,
    statuses: Mutex<BTreeMap<u16, u64>>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = Runtime::new().expect("a tokio runtime");
        let (app, idp, secret_client, secret, federated_client) = runtime.block_on(async {
            let mut app = TestApp::new().await;
            app.app = app.app.clone().with_federation(idp::LOCAL);
            let idp = TestIdp::start().await;
            let with_secret = app
                .admin()
                .create_client(&app.tenant_id(), &Default::default())
                .await
                .expect("a client with a secret");
            let federated = idp::federated_client(&app, &idp, false).await;
            (
                app,
                idp,
                with_secret.client_id.to_string(),
                with_secret.client_secret.unwrap_or_default(),
                federated.client_id.to_string(),
            )
        });
        World {
            runtime,
            app,
            idp,
            secret_client,
            secret,
            federated_client,
            statuses: Mutex::new(BTreeMap::new()),
        }
    })
}

fn config() -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(500);
    ProptestConfig {
        cases,
        max_shrink_iters: 256,
        source_file: Some(file!()),
        ..ProptestConfig::default()
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A JSON value of any type, small.
fn any_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        Just(json!([1, "a", null])),
        Just(json!({"nested": {"x": 1}})),
    ]
}

/// What a generated assertion is built from.
#[derive(Debug, Clone)]
enum Assertion {
    /// Signed by the IdP's RSA or EC key, with some claims replaced.
    Signed {
        ec: bool,
        changes: Vec<(String, Value)>,
        kid: Option<String>,
    },
    /// A header and claims of our choosing, and a signature of random bytes.
    Forged {
        header: Value,
        claims: Value,
        signature: Vec<u8>,
    },
    /// Any text.
    Text(String),
}

fn assertion() -> impl Strategy<Value = Assertion> {
    let claim = prop_oneof![
        Just("iss"),
        Just("sub"),
        Just("aud"),
        Just("exp"),
        Just("nbf"),
        Just("iat"),
        Just("jti"),
        Just("other"),
    ];
    let alg = prop_oneof![
        Just(json!("none")),
        Just(json!("HS256")),
        Just(json!("RS256")),
        Just(json!("ES256")),
        Just(json!("PS256")),
        Just(json!("RS512")),
        any_json(),
    ];
    prop_oneof![
        (
            any::<bool>(),
            proptest::collection::vec((claim.prop_map(str::to_string), any_json()), 0..3),
            proptest::option::of(".{0,30}"),
        )
            .prop_map(|(ec, changes, kid)| Assertion::Signed { ec, changes, kid }),
        (
            alg,
            proptest::option::of(any_json()),
            any_json(),
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(alg, kid, claims, signature)| {
                let mut header = json!({"alg": alg});
                if let Some(kid) = kid {
                    header["kid"] = kid;
                }
                Assertion::Forged {
                    header,
                    claims,
                    signature,
                }
            }),
        "[A-Za-z0-9_.=-]{0,300}".prop_map(Assertion::Text),
    ]
}

fn render(world: &World, assertion: &Assertion) -> String {
    match assertion {
        Assertion::Signed { ec, changes, kid } => {
            let mut claims = world.idp.entra_claims();
            for (name, value) in changes {
                claims[name.as_str()] = value.clone();
            }
            let key = if *ec { &world.idp.ec } else { &world.idp.rsa };
            match kid {
                Some(kid) => key.sign_as(kid, &claims),
                None => key.sign(&claims),
            }
        }
        Assertion::Forged {
            header,
            claims,
            signature,
        } => format!(
            "{}.{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes()),
            b64(signature)
        ),
        Assertion::Text(text) => text.clone(),
    }
}

#[derive(Debug, Clone)]
enum Param {
    Pair(&'static str, ValueKind),
    Raw(String),
}

#[derive(Debug, Clone)]
enum ValueKind {
    ClientCredentials,
    SecretClient,
    FederatedClient,
    Secret,
    AssertionType,
    Assertion(Assertion),
    Text(String),
}

fn param() -> impl Strategy<Value = Param> {
    let name = prop_oneof![
        Just("grant_type"),
        Just("client_id"),
        Just("client_secret"),
        Just("client_assertion"),
        Just("client_assertion_type"),
        Just("scope"),
        Just("resource"),
    ];
    let value = prop_oneof![
        Just(ValueKind::ClientCredentials),
        Just(ValueKind::SecretClient),
        Just(ValueKind::FederatedClient),
        Just(ValueKind::Secret),
        Just(ValueKind::AssertionType),
        assertion().prop_map(ValueKind::Assertion),
        ".{0,60}".prop_map(ValueKind::Text),
    ];
    prop_oneof![
        4 => (name, value).prop_map(|(n, v)| Param::Pair(n, v)),
        1 => "[^&]{0,40}".prop_map(Param::Raw),
    ]
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

fn form(world: &World, params: &[Param]) -> String {
    params
        .iter()
        .map(|p| match p {
            Param::Raw(raw) => raw.clone(),
            Param::Pair(name, value) => {
                let value = match value {
                    ValueKind::ClientCredentials => "client_credentials".to_string(),
                    ValueKind::SecretClient => world.secret_client.clone(),
                    ValueKind::FederatedClient => world.federated_client.clone(),
                    ValueKind::Secret => world.secret.clone(),
                    ValueKind::AssertionType => ASSERTION_TYPE.to_string(),
                    ValueKind::Assertion(a) => render(world, a),
                    ValueKind::Text(t) => t.clone(),
                };
                format!("{name}={}", encode(&value))
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    Basic(bool, String),
    Raw(String),
}

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        2 => Just(Auth::None),
        1 => (any::<bool>(), ".{0,40}").prop_map(|(real, s)| Auth::Basic(real, s)),
        1 => "[ -~]{0,60}".prop_map(Auth::Raw),
    ]
}

#[derive(Debug, Clone)]
enum BodyKind {
    /// A well-formed assertion exchange (Entra's shape) around a generated assertion.
    Exchange {
        federated: bool,
        assertion: Assertion,
        scope: Option<String>,
    },
    /// A well-formed secret exchange with a real or generated secret.
    Secret(Option<String>),
    Form(Vec<Param>),
    Bytes(Vec<u8>),
    Huge,
}

fn body() -> impl Strategy<Value = BodyKind> {
    let scope = proptest::option::of(prop_oneof![
        Just("scim".to_string()),
        Just("api://app/.default".to_string()),
        ".{0,20}",
    ]);
    prop_oneof![
        4 => (any::<bool>(), assertion(), scope).prop_map(|(federated, assertion, scope)| {
            BodyKind::Exchange { federated, assertion, scope }
        }),
        2 => proptest::option::of("scimcs_[0-9A-Z]{26}_[0-9a-f]{64}|.{0,40}").prop_map(BodyKind::Secret),
        4 => proptest::collection::vec(param(), 0..7).prop_map(BodyKind::Form),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(BodyKind::Bytes),
        1 => Just(BodyKind::Huge),
    ]
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        6 => Just(Some("application/x-www-form-urlencoded")),
        1 => Just(Some("application/x-www-form-urlencoded; charset=UTF-8")),
        1 => Just(Some("application/json")),
        1 => Just(None),
    ]
}

fn send(
    world: &World,
    auth: &Auth,
    content_type: Option<&str>,
    body: &BodyKind,
) -> crate::common::Resp {
    let bytes = match body {
        BodyKind::Exchange {
            federated,
            assertion,
            scope,
        } => {
            let client = match federated {
                true => &world.federated_client,
                false => &world.secret_client,
            };
            let mut form = format!(
                "grant_type=client_credentials&client_id={client}&client_assertion_type={}\
                 &client_assertion={}",
                encode(ASSERTION_TYPE),
                encode(&render(world, assertion))
            );
            if let Some(scope) = scope {
                form.push_str(&format!("&scope={}", encode(scope)));
            }
            form.into_bytes()
        }
        BodyKind::Secret(secret) => format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            world.secret_client,
            encode(secret.as_deref().unwrap_or(&world.secret))
        )
        .into_bytes(),
        BodyKind::Form(params) => form(world, params).into_bytes(),
        BodyKind::Bytes(bytes) => bytes.clone(),
        BodyKind::Huge => {
            format!("grant_type=client_credentials&scope={}", "a".repeat(20_000)).into_bytes()
        }
    };
    let mut builder = lambda_http::http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://localhost/{}/oauth2/token",
            world.app.tenant
        ));
    if let Some(content_type) = content_type {
        builder = builder.header("content-type", content_type);
    }
    let authorization = match auth {
        Auth::None => None,
        Auth::Basic(real, secret) => {
            let id = if *real {
                world.secret_client.as_str()
            } else {
                "someone"
            };
            let raw = format!("{id}:{secret}");
            Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            ))
        }
        Auth::Raw(raw) => Some(raw.clone()),
    };
    if let Some(value) = authorization {
        if let Ok(value) = lambda_http::http::HeaderValue::from_str(&value) {
            builder = builder.header("authorization", value);
        }
    }
    let request = builder
        .body(lambda_http::Body::Binary(bytes))
        .expect("a request");
    world
        .runtime
        .block_on(async { resp(world.app.app.handle(request).await) })
}

/// Every answer is a token or an RFC 6749 error, never a 5xx, always `no-store`.
fn check(r: &crate::common::Resp) -> Result<(), TestCaseError> {
    prop_assert!(r.status < 500, "{} {:?}", r.status, r.body);
    prop_assert_eq!(r.header("cache-control"), Some("no-store"));
    if r.status == 200 {
        prop_assert!(r.body["access_token"].is_string(), "{:?}", r.body);
        prop_assert_eq!(&r.body["token_type"], "Bearer");
    } else {
        let code = r.body["error"].as_str().unwrap_or_default();
        prop_assert!(ERRORS.contains(&code), "{:?}", r.body);
        prop_assert!(r.body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()));
    }
    Ok(())
}

#[test]
fn token_fuzz_never_panics_never_5xx_and_answers_rfc_6749() {
    let started = Instant::now();
    let world = world();
    let mut runner = TestRunner::new(config());
    let result = runner.run(
        &(auth(), content_type(), body()),
        |(auth, content_type, body)| {
            let r = send(world, &auth, content_type, &body);
            if let Ok(mut s) = world.statuses.lock() {
                *s.entry(r.status).or_default() += 1;
            }
            check(&r)
        },
    );
    let statuses = world.statuses.lock().map(|s| s.clone()).unwrap_or_default();
    println!(
        "token_fuzz: {} requests in {:.1} s, 5xx 0, panics 0, statuses {statuses:?}",
        statuses.values().sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    if let Err(e) = result {
        panic!("{e}");
    }
}
