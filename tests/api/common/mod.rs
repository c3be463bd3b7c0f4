//! Test harness: every test gets its own tenant (and token) on the shared local DynamoDB, and drives
//! the real handler in-process, so tests run in parallel and never see each other's data.
#![allow(dead_code)]

pub mod cost;
pub mod idp;

use lambda_http::http::{HeaderMap, Request};
use lambda_http::Body;
use serde_json::Value;

use scim_serverless::http::admin::AdminApp;
use scim_serverless::http::{App, Function};
use scim_serverless::protocol::{ResourceId, TenantId};
use scim_serverless::service::admin::{Admin, NewCredential};
use scim_serverless::service::feed::EventsRequest;
use scim_serverless::store::{table, Store};

/// A view of the service as the admin API and `scimctl --json` render it: its wire JSON.
pub trait Wire {
    fn wire(&self) -> Value;
}

impl<T: serde::Serialize> Wire for T {
    fn wire(&self) -> Value {
        serde_json::to_value(self).expect("a view serialises")
    }
}

/// A request for a page of change events.
pub fn events(cursor: Option<&str>, since: Option<&str>, limit: usize) -> EventsRequest {
    EventsRequest {
        cursor: cursor.map(str::to_string),
        since: since.map(str::to_string),
        limit,
    }
}

pub struct TestApp {
    pub app: App,
    pub tenant: String,
    pub token: String,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn store() -> Store {
    store_on("").await
}

/// The shared local DynamoDB, on the test table with `suffix` (a table of its own for tests that
/// scan it).
pub async fn store_on(suffix: &str) -> Store {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests through scripts/test.sh, which starts a local DynamoDB"
    );
    let table_name = std::env::var("TABLE_NAME").unwrap_or_else(|_| "scim-test".into()) + suffix;
    let store = Store::connect(None, &table_name).await;
    table::ensure_table(store.client(), store.table())
        .await
        .expect("create the test table");
    store
}

impl TestApp {
    pub async fn new() -> TestApp {
        Self::on_table("").await
    }

    /// A tenant on a table of its own (`TABLE_NAME` + `suffix`), for tests that scan the table.
    pub async fn on_table(suffix: &str) -> TestApp {
        scim_serverless::telemetry::init_tracing();
        let store = store_on(suffix).await;
        let admin = Admin::new(store.clone(), "test");
        let tenant = admin.create_tenant("test").await.expect("create tenant");
        let created = admin
            .create_credential(&tenant.tenant_id, &new_credential("test"))
            .await
            .expect("create token");
        TestApp {
            app: App::new(store, Function::All),
            tenant: tenant.tenant_id.to_string(),
            token: created.token,
        }
    }

    /// The same handler, sending as `tenant` with `token`.
    pub fn as_tenant(&self, tenant: &str, token: &str) -> TestApp {
        TestApp {
            app: self.app.clone(),
            tenant: tenant.to_string(),
            token: token.to_string(),
        }
    }

    /// The admin operations, acting as a test administrator.
    pub fn admin(&self) -> Admin {
        Admin::new(
            self.store().clone(),
            "arn:aws:iam::123456789012:user/test-admin",
        )
    }

    /// The status a SCIM request made with `token` gets.
    pub async fn status_with(&self, token: &str) -> u16 {
        let auth = format!("Bearer {token}");
        let request = self.raw_request(
            "GET",
            "/Users?count=0",
            Body::Empty,
            &[("authorization", &auth)],
        );
        self.send(request).await.status
    }

    pub fn store(&self) -> &Store {
        &self.app.store
    }

    /// This test's tenant, as the store takes it.
    pub fn tenant_id(&self) -> TenantId {
        self.tenant.parse().expect("the test tenant id is a ULID")
    }

    /// A request to `path` under this tenant's base URL, authenticated with its token.
    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Request<Body> {
        self.raw_request(
            method,
            path,
            body.map(|b| Body::Text(b.to_string()))
                .unwrap_or(Body::Empty),
            &[("authorization", &format!("Bearer {}", self.token))],
        )
    }

    pub fn raw_request(
        &self,
        method: &str,
        path: &str,
        body: Body,
        headers: &[(&str, &str)],
    ) -> Request<Body> {
        let mut builder = Request::builder()
            .method(method)
            .uri(format!(
                "http://localhost/{}/scim/v2{}",
                self.tenant,
                encode(path)
            ))
            .header("content-type", "application/scim+json");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder.body(body).expect("valid test request")
    }

    pub async fn send(&self, request: Request<Body>) -> Resp {
        self.send_counted(request).await.0
    }

    /// The response and the DynamoDB requests it cost, not counting the auth GetItem.
    pub async fn send_counted(&self, request: Request<Body>) -> (Resp, u32) {
        let (response, cost) = self.app.handle_counted(request).await;
        (resp(response), cost.handler)
    }

    /// The request as the Lambda function serves it (`App::invoke`: panics answered 500).
    pub async fn invoke(&self, request: Request<Body>) -> Resp {
        resp(self.app.invoke(request).await)
    }

    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Resp {
        self.send(self.request(method, path, body.as_ref())).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.call("POST", path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, operations: Value) -> Resp {
        self.call(
            "PATCH",
            path,
            Some(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": operations
            })),
        )
        .await
    }

    /// Creates a user and returns its id.
    pub async fn user(&self, user_name: &str) -> String {
        let r = self
            .post("/Users", serde_json::json!({"userName": user_name}))
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }

    /// Creates a group with the given members and returns its id.
    pub async fn group(&self, name: &str, members: &[String]) -> String {
        let members: Vec<Value> = members
            .iter()
            .map(|m| serde_json::json!({"value": m}))
            .collect();
        let r = self
            .post(
                "/Groups",
                serde_json::json!({"displayName": name, "members": members}),
            )
            .await;
        assert_eq!(r.status, 201, "{:?}", r.body);
        r.body["id"].as_str().expect("id").to_string()
    }
}

/// A response, its body read as JSON.
pub fn resp(response: lambda_http::Response<Body>) -> Resp {
    let (parts, body) = response.into_parts();
    let body = match body {
        Body::Empty => Value::Null,
        Body::Text(t) => serde_json::from_str(&t).expect("response body is JSON"),
        Body::Binary(b) => serde_json::from_slice(&b).expect("response body is JSON"),
        _ => Value::Null,
    };
    Resp {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

/// A resource id a response gave, as the store takes it.
pub fn resource_id(id: &str) -> ResourceId {
    id.parse().expect("a resource id is a ULID")
}

/// A credential description that never expires.
pub fn new_credential(description: &str) -> NewCredential {
    NewCredential {
        description: description.into(),
        expires_in_days: 0,
    }
}

/// A form POST to `tenant`'s OAuth token endpoint, with `headers` besides the form's type.
pub fn token_request(tenant: &str, form: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder()
        .method("POST")
        .uri(format!("http://localhost/{tenant}/oauth2/token"))
        .header("content-type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Body::Text(form.to_string()))
        .expect("a token request")
}

/// Sends an admin API request as API Gateway's HTTP API would deliver it: with the IAM principal
/// its `AWS_IAM` authorizer verified, or (`None`) without one.
pub async fn admin_call(
    store: &Store,
    principal: Option<&str>,
    method: &str,
    path_and_query: &str,
    body: Option<Value>,
    headers: &[(&str, &str)],
) -> Resp {
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut header_map = serde_json::json!({
        "content-type": "application/json",
        "host": "abc123example.execute-api.us-east-1.amazonaws.com",
    });
    for (name, value) in headers {
        header_map[*name] = Value::String(value.to_string());
    }
    let mut context = serde_json::json!({
        "accountId": "123456789012",
        "apiId": "abc123example",
        "domainName": "abc123example.execute-api.us-east-1.amazonaws.com",
        "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.10", "userAgent": "test"},
        "requestId": "test",
        "routeKey": "ANY /admin/{proxy+}",
        "stage": "$default",
        "time": "23/Nov/2026:10:00:00 +0000",
        "timeEpoch": 1795428000000u64,
    });
    if let Some(principal) = principal {
        context["authorizer"] = serde_json::json!({"iam": {
            "accessKey": "ASIAEXAMPLE", "accountId": "123456789012", "callerId": "AIDAEXAMPLE",
            "principalOrgId": null, "userArn": principal, "userId": "AIDAEXAMPLE"
        }});
    }
    let event = serde_json::json!({
        "version": "2.0",
        "routeKey": "ANY /admin/{proxy+}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": context,
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false,
    });
    let request = lambda_http::request::from_str(&event.to_string()).expect("valid admin event");
    resp(AdminApp::new(store.clone()).invoke(request).await)
}

/// Percent-encodes what a URI may not carry raw (test paths are written readably).
fn encode(path: &str) -> String {
    path.chars()
        .map(|c| match c {
            ' ' => "%20".to_string(),
            '"' => "%22".to_string(),
            '[' => "%5B".to_string(),
            ']' => "%5D".to_string(),
            c if c.is_ascii() => c.to_string(),
            c => c.to_string().bytes().map(|b| format!("%{b:02X}")).collect(),
        })
        .collect()
}

/// The ids of a ListResponse's `Resources`, in order.
pub fn listed_ids(body: &Value) -> Vec<String> {
    body["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|r| r["id"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn assert_scim_error(r: &Resp, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status, status, "{:?}", r.body);
    assert_eq!(
        r.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(r.body["status"], status.to_string());
    assert_eq!(r.body["scimType"].as_str(), scim_type, "{:?}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
}

/// Every item of the store's table (a table of its own keeps this small).
pub async fn scan_all(
    store: &Store,
) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = store
            .client()
            .scan()
            .table_name(store.table())
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("scan the test table");
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key;
        if start.is_none() {
            return items;
        }
    }
}
