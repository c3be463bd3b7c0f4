//! End-to-end fuzzing on the stable toolchain, with proptest: generated requests go through the
//! real handlers in-process, against the local DynamoDB. `filter_fuzz` and `patch_fuzz` fuzz the
//! parsers; this drives everything around them: routing, authentication, headers, bodies, query
//! parameters, the store.
//!
//! Generated: bodies for POST/PUT/PATCH of Users and Groups (valid resources with fields replaced
//! by arbitrary JSON, arbitrary JSON, text that is not JSON, bytes that are not UTF-8, a body over
//! the size limit), PATCH documents, `filter=` and the other list parameters (also random bytes,
//! percent-encoded), `/.search` bodies, the headers `Content-Type`, `If-Match`, `If-None-Match`
//! and `Authorization` in their variants, path segments (odd characters, multibyte, very long
//! ids, other tenants), and the admin API's paths and query parameters.
//!
//! Asserted for every request: no panic (the SCIM handler is called unguarded, so a panic fails
//! the case and proptest shrinks it), no 5xx, and every 4xx is a SCIM Error (or, for `/admin`,
//! the admin JSON error) whose `status` is the HTTP status.
//!
//! Short run (the default, about 30 s in a debug build with moto):
//!     cargo test --test http_fuzz
//! Long run (cases per property; there are five):
//!     FUZZ_CASES=2000 cargo test --test http_fuzz -- --nocapture
//! Each property prints its figures (requests, statuses, time) at the end; `FUZZ_VERBOSE=1` also
//! prints every SCIM request's status and error detail (to see what the generators reach).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use lambda_http::http::{HeaderValue, Request};
use lambda_http::Body;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};
use tokio::runtime::Runtime;

use crate::common::{admin_call, resp, Resp, TestApp};

const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ADMIN: &str = "arn:aws:iam::123456789012:user/fuzz-admin";

/// Cases per property: `FUZZ_CASES`, or a short run by default.
fn config() -> ProptestConfig {
    let cases = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(100);
    ProptestConfig {
        cases,
        max_shrink_iters: 512,
        source_file: Some(file!()),
        // Persisted failures go to tests/http_fuzz.proptest-regressions.
        ..ProptestConfig::default()
    }
}

/// One tenant with a seeded user and group, shared by every case (a runtime of its own, so
/// proptest's synchronous cases can block on it).
struct World {
    runtime: Runtime,
    app: TestApp,
    user: String,
    group: String,
    /// A second tenant, for the admin API (the fuzzed SCIM tenant keeps its token).
    admin_tenant: String,
    credential: String,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = Runtime::new().expect("a tokio runtime");
        let (app, user, group, admin_tenant, credential) = runtime.block_on(async {
            let app = TestApp::new().await;
            let user = app.user("fuzz.seed@example.com").await;
            let group = app.group("fuzz seed", std::slice::from_ref(&user)).await;
            let other = TestApp::new().await;
            let credentials = other
                .admin()
                .list_credentials(&other.tenant_id())
                .await
                .expect("credentials");
            let credential = credentials.credentials[0].id.to_string();
            (app, user, group, other.tenant.clone(), credential)
        });
        World {
            runtime,
            app,
            user,
            group,
            admin_tenant,
            credential,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Figures

#[derive(Default)]
struct Figures {
    cases: AtomicU64,
    statuses: Mutex<BTreeMap<u16, u64>>,
}

impl Figures {
    fn record(&self, status: u16) {
        self.cases.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut s) = self.statuses.lock() {
            *s.entry(status).or_default() += 1;
        }
    }

    fn print(&self, property: &str, started: Instant) {
        let statuses = self.statuses.lock().map(|s| s.clone()).unwrap_or_default();
        let server_errors: u64 = statuses
            .iter()
            .filter(|(s, _)| **s >= 500)
            .map(|(_, n)| n)
            .sum();
        println!(
            "http_fuzz {property}: {} requests in {:.1} s, 5xx {server_errors}, panics 0, statuses {statuses:?}",
            self.cases.load(Ordering::Relaxed),
            started.elapsed().as_secs_f64(),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Requests

/// What a case sends to the SCIM API.
#[derive(Debug, Clone)]
struct Call {
    method: &'static str,
    /// Below `/{tenant}/scim/v2`, segments already percent-encoded.
    path: String,
    query: String,
    body: Option<Vec<u8>>,
    headers: Vec<(&'static str, Vec<u8>)>,
    /// Replaces the tenant segment.
    tenant: Option<String>,
    /// Replaces `Bearer {token}`.
    authorization: Option<Vec<u8>>,
}

impl Call {
    fn new(method: &'static str, path: String) -> Call {
        Call {
            method,
            path,
            query: String::new(),
            body: None,
            headers: Vec::new(),
            tenant: None,
            authorization: None,
        }
    }

    fn with_body(self, body: Vec<u8>) -> Call {
        Call {
            body: Some(body),
            ..self
        }
    }

    fn request(&self, w: &World) -> Request<Body> {
        let tenant = self.tenant.as_deref().unwrap_or(&w.app.tenant);
        let mut uri = format!("http://localhost/{tenant}/scim/v2{}", self.path);
        if !self.query.is_empty() {
            uri.push('?');
            uri.push_str(&self.query);
        }
        let bearer = format!("Bearer {}", w.app.token).into_bytes();
        let authorization = self.authorization.clone().unwrap_or(bearer);
        let mut builder = Request::builder().method(self.method).uri(&uri);
        let mut has_content_type = false;
        for (name, value) in &self.headers {
            // API Gateway delivers only valid header values.
            if let Ok(v) = HeaderValue::from_bytes(value) {
                has_content_type |= *name == "content-type";
                builder = builder.header(*name, v);
            }
        }
        if !has_content_type {
            builder = builder.header("content-type", "application/scim+json");
        }
        if let Ok(v) = HeaderValue::from_bytes(&authorization) {
            builder = builder.header("authorization", v);
        }
        let body = match &self.body {
            None => Body::Empty,
            Some(bytes) => match String::from_utf8(bytes.clone()) {
                Ok(text) => Body::Text(text),
                Err(_) => Body::Binary(bytes.clone()),
            },
        };
        builder.body(body).expect("generated URIs are valid")
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| match *b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (*b as char).to_string()
            }
            b => format!("%{b:02X}"),
        })
        .collect()
}

/// The SCIM properties of one response.
fn check_scim(call: &Call, r: &Resp) -> Result<(), TestCaseError> {
    prop_assert!(r.status < 500, "{call:?} got {}: {}", r.status, r.body);
    if r.status >= 400 {
        prop_assert_eq!(
            &r.body["schemas"][0],
            ERROR_SCHEMA,
            "{:?}: {}",
            call,
            r.body
        );
        let status = r.status.to_string();
        prop_assert_eq!(
            r.body["status"].as_str(),
            Some(status.as_str()),
            "{:?}: {}",
            call,
            r.body
        );
        prop_assert!(r.body["detail"].is_string(), "{call:?}: {}", r.body);
    }
    Ok(())
}

/// Sends `call` through the SCIM handler, unguarded: a panic fails the case.
fn send(call: &Call, figures: &Figures) -> Result<(), TestCaseError> {
    let w = world();
    let response = w.runtime.block_on(w.app.app.handle(call.request(w)));
    let r = resp(response);
    if std::env::var_os("FUZZ_VERBOSE").is_some() {
        println!(
            "{} {} -> {} {}",
            call.method, call.path, r.status, r.body["detail"]
        );
    }
    figures.record(r.status);
    check_scim(call, &r)
}

// ---------------------------------------------------------------------------------------------
// Strategies: text and JSON

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9 ._@-]{0,12}",
        1 => "\\PC{0,12}",
        1 => "[\"\\\\'%&=+/\\[\\](){}:;,.*]{1,6}",
        1 => Just("ünïcødé 名前 🙂".to_string()),
        1 => Just("\u{0}\u{7}\u{1b}[0m\u{202e}".to_string()),
        1 => (1usize..4000).prop_map(|n| "x".repeat(n)),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(&[
            "schemas", "id", "externalId", "userName", "name", "givenName", "familyName",
            "formatted", "displayName", "nickName", "emails", "value", "type", "primary",
            "display", "active", "password", "members", "groups", "$ref", "meta", "version",
            "phoneNumbers", "addresses", "roles", "x509Certificates", "title", "userType",
            "locale", "timezone", ENTERPRISE, "manager", "department", "employeeNumber",
            "Operations", "op", "path", "filter", "startIndex", "count", "sortBy", "attributes",
        ][..])
        .prop_map(String::from),
        1 => word(),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        word().prop_map(Value::String),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A valid resource of the kind, with a unique name.
fn valid(group: bool, unique: u64) -> Value {
    let w = world();
    if group {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": format!("fuzz group {unique}"),
            "members": [{"value": w.user}],
        })
    } else {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            "userName": format!("fuzz{unique}@example.com"),
            "name": {"givenName": "Fuzz", "familyName": "Test"},
            "emails": [{"value": format!("fuzz{unique}@example.com"), "type": "work", "primary": true}],
            "active": true,
            ENTERPRISE: {"department": "R&D", "manager": {"value": w.user}},
        })
    }
}

/// A valid resource with some fields (top level or one level down) replaced by arbitrary JSON.
fn mutated(group: bool) -> impl Strategy<Value = Value> {
    (
        any::<u64>(),
        prop_oneof![
            2 => Just(Vec::new()),
            3 => prop::collection::vec((key(), json_value(), any::<bool>()), 1..3),
        ],
        prop::collection::vec(key(), 0..2),
    )
        .prop_map(move |(unique, sets, removes)| {
            let mut body = valid(group, unique);
            if let Some(map) = body.as_object_mut() {
                for (k, v, nested) in sets {
                    let inner = if nested { map.get_mut("name") } else { None };
                    match inner.and_then(Value::as_object_mut) {
                        Some(inner) => inner.insert(k, v),
                        None => map.insert(k, v),
                    };
                }
                for k in removes {
                    map.remove(&k);
                }
            }
            body
        })
}

/// A request body: mostly JSON near a valid resource, sometimes anything at all.
fn body(group: bool) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => mutated(group).prop_map(|v| v.to_string().into_bytes()),
        2 => json_value().prop_map(|v| v.to_string().into_bytes()),
        1 => word().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..64),
        1 => Just(b"   ".to_vec()),
        1 => Just(b"{\"userName\": \"unterminated".to_vec()),
        1 => (0usize..3).prop_map(|n| {
            // Around the 1 MiB limit.
            let size = 1024 * 1024 - 16 + n * 16;
            format!("{{\"userName\": \"{}\"}}", "a".repeat(size)).into_bytes()
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Strategies: filters, PATCH, paths, headers

fn attribute_path() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(&[
            "userName", "name.givenName", "name", "emails", "emails.value", "emails.type",
            "emails.primary", "active", "displayName", "members", "members.value", "id",
            "externalId", "meta.created", "meta.lastModified", "meta.resourceType", "groups",
            "groups.value", "title", "x509Certificates.value", "password",
            "urn:ietf:params:scim:schemas:core:2.0:User:userName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "emails[type eq \"work\"].value", "members[value eq \"x\"]", "name.",
            ".name", "a.b.c.d", "$ref", "urn:", "emails[", "emails]",
        ][..])
        .prop_map(String::from),
        1 => word(),
    ]
}

fn filter_value() -> impl Strategy<Value = String> {
    prop_oneof![
        word().prop_map(|w| format!("{:?}", w)),
        Just("true".to_string()),
        Just("null".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|n| n.to_string()),
        Just("\"2024-01-01T00:00:00Z\"".to_string()),
        Just("\"not a date\"".to_string()),
        Just("\"unterminated".to_string()),
        Just(world().user.clone()).prop_map(|id| format!("\"{id}\"")),
    ]
}

fn filter_token() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => attribute_path(),
        2 => prop::sample::select(&[
            "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr", "EQ", "and", "or",
            "not", "AND", "(", ")", "[", "]", "not (", "\"", "'", ",", ".", "\\",
        ][..])
        .prop_map(String::from),
        2 => filter_value(),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    let compare = (
        attribute_path(),
        prop::sample::select(&["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"][..]),
        filter_value(),
    )
        .prop_map(|(a, op, v)| format!("{a} {op} {v}"));
    let structured = compare.prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or {b}")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            (attribute_path(), inner).prop_map(|(p, a)| format!("{p}[{a}]")),
        ]
    });
    prop_oneof![
        4 => structured,
        3 => prop::collection::vec(filter_token(), 0..12).prop_map(|t| t.join(" ")),
        1 => word(),
        1 => (1usize..300).prop_map(|n| format!("{}userName eq \"a\"{}", "(".repeat(n), ")".repeat(n))),
    ]
}

/// `filter=` percent-encoded, or raw random bytes percent-encoded.
fn encoded_filter() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => filter().prop_map(|f| encode(f.as_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..80).prop_map(|b| encode(&b)),
        // Already-broken escapes, `+` as space, `&` and `=` inside.
        1 => prop::sample::select(&["%", "%zz", "%E9", "%C3%28", "a+b+eq+%22c%22", "userName+eq+%22a%22", "=&=", "%00"][..]).prop_map(String::from),
    ]
}

fn number_param() -> impl Strategy<Value = String> {
    prop_oneof![
        (-5i64..20).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        Just("99999999999999999999999".to_string()),
        Just("1.5".to_string()),
        Just("".to_string()),
        word().prop_map(|w| encode(w.as_bytes())),
    ]
}

fn query() -> impl Strategy<Value = String> {
    let param = prop_oneof![
        4 => encoded_filter().prop_map(|f| format!("filter={f}")),
        1 => number_param().prop_map(|n| format!("startIndex={n}")),
        1 => number_param().prop_map(|n| format!("count={n}")),
        1 => attribute_path().prop_map(|a| format!("sortBy={}", encode(a.as_bytes()))),
        1 => prop::sample::select(&["ascending", "descending", "DESC", "", "up"][..]).prop_map(|o| format!("sortOrder={o}")),
        1 => prop::collection::vec(attribute_path(), 0..4).prop_map(|a| format!("attributes={}", encode(a.join(",").as_bytes()))),
        1 => prop::collection::vec(attribute_path(), 0..4).prop_map(|a| format!("excludedAttributes={}", encode(a.join(",").as_bytes()))),
        1 => prop_oneof![Just(String::new()), word().prop_map(|w| encode(w.as_bytes())), "[A-Za-z0-9_-]{10,200}"].prop_map(|c| format!("cursor={c}")),
        1 => (word(), word()).prop_map(|(k, v)| format!("{}={}", encode(k.as_bytes()), encode(v.as_bytes()))),
        1 => Just("filter".to_string()),
        1 => Just("&&&".to_string()),
    ];
    prop::collection::vec(param, 0..4).prop_map(|p| p.join("&"))
}

fn patch_document() -> impl Strategy<Value = Value> {
    let op = prop_oneof![
        4 => prop::sample::select(&["add", "remove", "replace"][..]).prop_map(|s| json!(s)),
        1 => prop::sample::select(&["Add", "REPLACE", "move", "", "copy"][..]).prop_map(|s| json!(s)),
        1 => scalar(),
    ];
    let path = prop_oneof![
        4 => attribute_path().prop_map(|p| Some(json!(p))),
        2 => filter().prop_map(|f| Some(json!(format!("members[{f}]")))),
        1 => filter().prop_map(|f| Some(json!(format!("emails[{f}].value")))),
        2 => Just(None),
        1 => scalar().prop_map(Some),
    ];
    let value = prop_oneof![
        3 => json_value().prop_map(Some),
        2 => Just(Some(json!([{"value": world().user}]))),
        1 => Just(Some(json!({"active": false, "displayName": "patched"}))),
        1 => Just(None),
    ];
    let operation = (op, path, value).prop_map(|(op, path, value)| {
        let mut o = Map::new();
        o.insert("op".into(), op);
        if let Some(p) = path {
            o.insert("path".into(), p);
        }
        if let Some(v) = value {
            o.insert("value".into(), v);
        }
        Value::Object(o)
    });
    prop_oneof![
        6 => prop::collection::vec(operation, 0..5).prop_map(|ops| json!({"schemas": [PATCH_SCHEMA], "Operations": ops})),
        1 => prop::collection::vec(json_value(), 0..3).prop_map(|ops| json!({"schemas": [PATCH_SCHEMA], "Operations": ops})),
        1 => json_value(),
    ]
}

/// A path segment for a resource id.
fn id_segment() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => prop::sample::select(vec![world().user.clone(), world().group.clone()]),
        2 => odd_id(),
    ]
}

/// A resource id segment that is no seeded resource's.
fn odd_id() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => "[0-9A-HJKMNP-TV-Z]{26}",
        1 => "[0-9a-z]{26}",
        2 => word().prop_map(|w| encode(w.as_bytes())),
        1 => prop::collection::vec(any::<u8>(), 1..40).prop_map(|b| encode(&b)),
        1 => (100usize..5000).prop_map(|n| "é".repeat(n)).prop_map(|s| encode(s.as_bytes())),
        1 => prop::sample::select(&["..", ".", "%2F", "%2E%2E", ".search", "%00", "%", "%zz", "Users"][..]).prop_map(String::from),
    ]
}

fn etag() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (0u64..6).prop_map(|n| format!("W/\"{n}\"").into_bytes()),
        1 => Just(b"*".to_vec()),
        1 => (0u64..6).prop_map(|n| format!("\"{n}\"").into_bytes()),
        1 => Just(b"W/\"1\", W/\"2\"".to_vec()),
        1 => Just(b"W/\"18446744073709551616\"".to_vec()),
        1 => word().prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..20),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(&'static str, Vec<u8>)>> {
    let content_type = prop_oneof![
        prop::sample::select(
            &[
                "application/scim+json",
                "application/json",
                "application/scim+json; charset=utf-8",
                "text/plain",
                "",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/json; charset=latin1",
                "*/*",
            ][..]
        )
        .prop_map(|s| s.as_bytes().to_vec()),
        word().prop_map(String::into_bytes),
    ];
    let header = prop_oneof![
        2 => content_type.prop_map(|v| ("content-type", v)),
        2 => etag().prop_map(|v| ("if-match", v)),
        2 => etag().prop_map(|v| ("if-none-match", v)),
        1 => word().prop_map(|v| ("accept", v.into_bytes())),
        1 => word().prop_map(|v| ("host", v.into_bytes())),
        1 => word().prop_map(|v| ("x-forwarded-proto", v.into_bytes())),
    ];
    prop::collection::vec(header, 0..4)
}

/// `Authorization` variants; `None` is the tenant's valid token.
fn authorization() -> impl Strategy<Value = Option<Vec<u8>>> {
    let token = world().app.token.clone();
    let mangled = {
        let token = token.clone();
        (0..token.len(), any::<u8>()).prop_map(move |(i, b)| {
            let mut t = token.clone().into_bytes();
            if let Some(c) = t.get_mut(i) {
                *c = b'A' + b % 26;
            }
            let mut v = b"Bearer ".to_vec();
            v.extend(t);
            Some(v)
        })
    };
    prop_oneof![
        8 => Just(None),
        1 => Just(Some(format!("bearer {token}").into_bytes())),
        1 => Just(Some(format!("Bearer  {token}").into_bytes())),
        1 => Just(Some(format!("Bearer {token} extra").into_bytes())),
        1 => Just(Some(format!("Basic {token}").into_bytes())),
        1 => Just(Some(b"Bearer".to_vec())),
        1 => Just(Some(Vec::new())),
        1 => mangled,
        1 => word().prop_map(|w| Some(format!("Bearer {w}").into_bytes())),
        1 => prop::collection::vec(any::<u8>(), 0..60).prop_map(Some),
    ]
}

fn kind() -> impl Strategy<Value = bool> {
    any::<bool>()
}

fn collection(group: bool) -> &'static str {
    if group {
        "/Groups"
    } else {
        "/Users"
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

fn writes() -> impl Strategy<Value = Call> {
    (
        kind(),
        prop::sample::select(&["POST", "PUT", "PATCH"][..]),
        id_segment(),
        headers(),
    )
        .prop_flat_map(|(group, method, id, headers)| {
            let body = if method == "PATCH" {
                prop_oneof![
                    3 => patch_document().prop_map(|v| v.to_string().into_bytes()),
                    1 => body(group),
                ]
                .boxed()
            } else {
                body(group).boxed()
            };
            body.prop_map(move |body| {
                let path = match method {
                    "POST" => collection(group).to_string(),
                    _ => format!("{}/{}", collection(group), id),
                };
                let mut call = Call::new(method, path).with_body(body);
                call.headers = headers.clone();
                call
            })
        })
}

fn lists() -> impl Strategy<Value = Call> {
    (kind(), query(), 0u8..4, json_value(), filter()).prop_map(
        |(group, query, shape, junk, filter)| match shape {
            0 | 1 => {
                let mut call = Call::new("GET", collection(group).to_string());
                call.query = query;
                call
            }
            2 => {
                let search = json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": filter, "startIndex": junk.clone(), "count": 2, "sortBy": "userName",
                });
                Call::new("POST", format!("{}/.search", collection(group)))
                    .with_body(search.to_string().into_bytes())
            }
            _ => Call::new("POST", "/.search".to_string()).with_body(junk.to_string().into_bytes()),
        },
    )
}

/// Operations that mostly apply: the attributes and values each kind has.
fn sane_operations(group: bool) -> impl Strategy<Value = Value> {
    let user = world().user.clone();
    let operation = if group {
        prop_oneof![
            Just(json!({"op": "add", "path": "members", "value": [{"value": user}]})),
            Just(json!({"op": "remove", "path": format!("members[value eq \"{user}\"]")})),
            Just(json!({"op": "remove", "path": "members"})),
            Just(json!({"op": "replace", "path": "members", "value": [{"value": user}]})),
            word().prop_map(|w| json!({"op": "replace", "path": "displayName", "value": format!("fuzz seed {w}")})),
            word().prop_map(|w| json!({"op": "replace", "value": {"externalId": w}})),
        ]
        .boxed()
    } else {
        prop_oneof![
            any::<bool>().prop_map(|b| json!({"op": "replace", "path": "active", "value": b})),
            word().prop_map(|w| json!({"op": "replace", "path": "name.givenName", "value": w})),
            word().prop_map(|w| json!({"op": "add", "path": "title", "value": w})),
            Just(json!({"op": "remove", "path": "title"})),
            word().prop_map(|w| json!({"op": "add", "path": "emails", "value": [{"value": format!("{w}@example.com"), "type": "home"}]})),
            word().prop_map(|w| json!({"op": "replace", "path": "emails[type eq \"work\"].value", "value": w})),
            Just(json!({"op": "remove", "path": "emails[type eq \"home\"]"})),
            word().prop_map(|w| json!({"op": "replace", "value": {"displayName": w, "active": true}})),
            word().prop_map(|w| json!({"op": "add", "path": format!("{ENTERPRISE}:department"), "value": w})),
        ]
        .boxed()
    };
    prop::collection::vec(operation, 1..4)
        .prop_map(|ops| json!({"schemas": [PATCH_SCHEMA], "Operations": ops}))
}

fn patches() -> impl Strategy<Value = Call> {
    let doc = kind().prop_flat_map(|group| {
        prop_oneof![1 => sane_operations(group), 1 => patch_document()]
            .prop_map(move |doc| (group, doc))
    });
    (doc, prop::option::of(etag())).prop_map(|((group, doc), if_match)| {
        let w = world();
        let id = if group { &w.group } else { &w.user };
        let mut call = Call::new("PATCH", format!("{}/{id}", collection(group)))
            .with_body(doc.to_string().into_bytes());
        if let Some(e) = if_match {
            call.headers.push(("if-match", e));
        }
        call
    })
}

fn anything() -> impl Strategy<Value = Call> {
    let method =
        prop::sample::select(&["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"][..]);
    let path = prop_oneof![
        3 => (kind(), odd_id()).prop_map(|(g, id)| format!("{}/{id}", collection(g))),
        2 => prop::sample::select(&[
            "/Users", "/Groups", "/users", "/GROUPS", "/ServiceProviderConfig", "/Schemas",
            "/ResourceTypes", "/ResourceTypes/User", "/ResourceTypes/Nope", "/.search", "/Me",
            "/Bulk", "/Users/.search", "/Users/a/b", "", "/", "//Users", "/Schemas/urn%3Aietf",
        ][..])
        .prop_map(String::from),
        1 => odd_id().prop_map(|s| format!("/Schemas/{s}")),
        1 => prop::collection::vec(odd_id(), 1..4).prop_map(|s| format!("/{}", s.join("/"))),
    ];
    let tenant = prop_oneof![
        6 => Just(None),
        1 => "[0-9A-HJKMNP-TV-Z]{26}".prop_map(Some),
        1 => word().prop_map(|w| Some(encode(w.as_bytes()))).prop_filter("a tenant segment", |t| t.as_deref() != Some("")),
        1 => Just(Some(world().admin_tenant.clone())),
    ];
    (
        method,
        path,
        tenant,
        headers(),
        authorization(),
        prop::option::of(body(false)),
        query(),
    )
        .prop_map(
            |(method, path, tenant, headers, authorization, body, query)| {
                let mut call = Call::new(method, path);
                call.tenant = tenant;
                call.headers = headers;
                call.authorization = authorization;
                call.body = body;
                call.query = query;
                call
            },
        )
}

/// An admin API request: GETs anywhere with fuzzed query parameters, and DELETEs of tenants that
/// are not the fuzzed ones.
fn admin_requests() -> impl Strategy<Value = (&'static str, String)> {
    let w = world();
    let tenant = prop_oneof![
        3 => Just(w.admin_tenant.clone()),
        1 => "[0-9A-HJKMNP-TV-Z]{26}",
        1 => odd_id(),
    ];
    let audit_param = prop_oneof![
        prop_oneof![
            Just(w.credential.clone()),
            word().prop_map(|s| encode(s.as_bytes()))
        ]
        .prop_map(|c| format!("credentialId={c}")),
        prop_oneof![
            Just("2024-01-01T00:00:00Z".to_string()),
            Just("7d".to_string()),
            Just("-1d".to_string()),
            Just("99999999999d".to_string()),
            word().prop_map(|s| encode(s.as_bytes())),
        ]
        .prop_map(|s| format!("since={s}")),
        prop_oneof![
            word().prop_map(|s| encode(s.as_bytes())),
            "[A-Za-z0-9_-]{10,120}"
        ]
        .prop_map(|c| format!("cursor={c}")),
        number_param().prop_map(|n| format!("limit={n}")),
        (word(), word()).prop_map(|(k, v)| format!(
            "{}={}",
            encode(k.as_bytes()),
            encode(v.as_bytes())
        )),
    ];
    let query = prop::collection::vec(audit_param, 0..4).prop_map(|p| p.join("&"));
    let get = (
        tenant,
        prop::sample::select(
            &[
                "",
                "/provisioning",
                "/credentials",
                "/audit",
                "/audit/",
                "/rotation",
                "/nope",
            ][..],
        ),
        query.clone(),
    )
        .prop_map(|(t, sub, q)| ("GET", format!("/admin/tenants/{t}{sub}?{q}")));
    let list = query
        .clone()
        .prop_map(|q| ("GET", format!("/admin/tenants?{q}")));
    let delete = (
        prop_oneof!["[0-9A-HJKMNP-TV-Z]{26}".boxed(), odd_id().boxed()],
        prop_oneof![Just("confirm=DELETE".to_string()), query],
    )
        .prop_map(|(t, q)| ("DELETE", format!("/admin/tenants/{t}?{q}")));
    prop_oneof![6 => get, 1 => list, 1 => delete]
}

fn check_admin(method: &str, path: &str, r: &Resp) -> Result<(), TestCaseError> {
    prop_assert!(
        r.status < 500,
        "{method} {path} got {}: {}",
        r.status,
        r.body
    );
    if r.status >= 400 {
        prop_assert!(
            r.body["error"]["code"].is_string(),
            "{method} {path}: {}",
            r.body
        );
        prop_assert!(
            r.body["error"]["message"].is_string(),
            "{method} {path}: {}",
            r.body
        );
    }
    Ok(())
}

macro_rules! scim_property {
    ($name:ident, $strategy:expr) => {
        #[test]
        fn $name() {
            let figures = Figures::default();
            let started = Instant::now();
            proptest!(config(), |(call in $strategy)| {
                send(&call, &figures)?;
            });
            figures.print(stringify!($name), started);
        }
    };
}

scim_property!(writes_of_users_and_groups_never_fail_the_server, writes());
scim_property!(lists_filters_and_searches_never_fail_the_server, lists());
scim_property!(patch_documents_never_fail_the_server, patches());
scim_property!(
    any_method_path_header_and_token_never_fails_the_server,
    anything()
);

#[test]
fn admin_api_paths_and_query_parameters_never_fail_the_server() {
    let figures = Figures::default();
    let started = Instant::now();
    proptest!(config(), |((method, path) in admin_requests())| {
        let w = world();
        let r = w.runtime.block_on(admin_call(w.app.store(), Some(ADMIN), method, &path, None, &[]));
        figures.record(r.status);
        check_admin(method, &path, &r)?;
    });
    figures.print("admin", started);
}
