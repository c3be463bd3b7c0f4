//! The admin API: JSON routes under `/admin` over the same `service::admin` use cases as
//! `scimctl`; this module parses requests and renders the typed views and errors, nothing more.
//! API Gateway lets only SigV4-signed requests of IAM principals with `execute-api:Invoke` through
//! (`AWS_IAM` authorization); this function also refuses any request that did not come through
//! that authorizer, so a SCIM bearer token can never act here. Routes: `docs/admin-api.md`.

use lambda_http::http::Method;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde_json::{json, Value};

use super::request::{json_body, query_params};
use crate::protocol::TenantId;
use crate::service::admin::{
    self, parse_credential, parse_tenant, Admin, AdminError, ErrorKind, NewCredential,
};
use crate::service::feed::EventsRequest;
use crate::service::oauth::{self, parse_client, parse_secret, NewClient, NewFederation};
use crate::store::{counted, AuditQuery, CredentialStatus, Store};

/// Items a `DELETE /admin/tenants/{id}` deletes per call before answering 202 (call again to go
/// on), so one call stays well inside the function timeout.
pub const DELETE_BUDGET_PER_CALL: usize = 5_000;

#[derive(Debug, Clone)]
pub struct AdminApp {
    pub store: Store,
}

impl AdminApp {
    pub fn new(store: Store) -> Self {
        AdminApp { store }
    }

    /// One Lambda invocation: `handle`, with a panic in it answered 500 (the instance goes on),
    /// and its metrics line.
    pub async fn invoke(&self, request: Request) -> Response<Body> {
        let started = std::time::Instant::now();
        let tenant = request
            .uri()
            .path()
            .strip_prefix("/admin/tenants/")
            .and_then(|rest| rest.split('/').next())
            .and_then(|tenant| TenantId::parse(tenant).ok());
        let (response, ddb_requests) =
            super::guard(counted(self.handle(request)), || (panic_response(), 0)).await;
        super::metrics::emit(&super::metrics::RequestMetrics {
            function: "admin",
            tenant: tenant.as_ref().map(TenantId::as_str),
            status: response.status().as_u16(),
            ddb_requests,
            latency: started.elapsed(),
        });
        response
    }

    /// Handles one request; every failure is a JSON error with its status.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        let started = std::time::Instant::now();
        let principal = iam_principal(&request);
        let outcome = match &principal {
            Some(principal) => {
                let admin = Admin::new(self.store.clone(), principal.clone())
                    .with_public_root(super::request::api_root(&request));
                Box::pin(route(&admin, &request)).await
            }
            None => Err(Refusal::new(
                403,
                "Forbidden",
                "admin routes need AWS_IAM (SigV4) authorization by an IAM principal with \
                 execute-api:Invoke; SCIM bearer tokens are not accepted here",
            )),
        };
        let response = outcome.unwrap_or_else(|e| e.response());
        tracing::info!(
            method = %request.method(),
            path = request.uri().path(),
            status = response.status().as_u16(),
            principal = principal.as_deref().unwrap_or("-"),
            duration_ms = started.elapsed().as_millis() as u64,
            "admin request"
        );
        response
    }
}

/// What an admin request that panicked is answered: the JSON error, without the panic's internals.
pub fn panic_response() -> Response<Body> {
    Refusal::new(
        500,
        "InternalError",
        "the server failed while handling the request; it may or may not have been applied",
    )
    .response()
}

/// The IAM principal API Gateway's `AWS_IAM` authorizer verified, if the request went through it.
fn iam_principal(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => {
            let iam = context.authorizer.as_ref()?.iam.as_ref()?;
            iam.user_arn
                .clone()
                .or_else(|| iam.caller_id.clone())
                .filter(|p| !p.is_empty())
        }
        _ => None,
    }
}

struct Refusal {
    status: u16,
    code: &'static str,
    message: String,
}

impl Refusal {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }

    fn response(&self) -> Response<Body> {
        let mut response = respond(
            self.status,
            &json!({"error": {"code": self.code, "message": self.message}}),
        );
        // Throttled or unavailable: a client (or awscurl in a loop) waits, then retries.
        if matches!(self.status, 429 | 503) {
            response.headers_mut().insert(
                "retry-after",
                lambda_http::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// The one mapping of an admin error to its answer.
impl From<AdminError> for Refusal {
    fn from(err: AdminError) -> Self {
        let kind = err.kind();
        let code = match kind {
            ErrorKind::NotFound => "NotFound",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::Invalid => "InvalidRequest",
            ErrorKind::Throttled => "Throttled",
            ErrorKind::Unavailable => "Unavailable",
            ErrorKind::Internal => "InternalError",
        };
        match &err {
            AdminError::Store(e) => {
                tracing::error!(error = %e, "admin operation failed");
                if kind == ErrorKind::Internal {
                    return Refusal::new(500, code, "the data store failed");
                }
            }
            AdminError::Internal(e) => {
                tracing::error!(error = %e, "admin operation failed");
                return Refusal::new(500, code, "the server failed");
            }
            _ => {}
        }
        Refusal::new(kind.status(), code, err.to_string())
    }
}

/// A view as JSON. It goes through `Value`, whose objects keep their keys sorted, so the bytes
/// are those the API has always answered.
fn respond(status: u16, view: &impl Serialize) -> Response<Body> {
    let body = serde_json::to_value(view)
        .unwrap_or_else(|e| json!({"error": {"code": "InternalError", "message": e.to_string()}}));
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .body(Body::Text(body.to_string()))
        .unwrap_or_default()
}

async fn route(admin: &Admin, request: &Request) -> Result<Response<Body>, Refusal> {
    let path = request.uri().path().trim_end_matches('/').to_string();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = request.method().clone();
    fn ok(view: impl Serialize) -> Result<Response<Body>, Refusal> {
        Ok(respond(200, &view))
    }
    fn created(view: impl Serialize) -> Result<Response<Body>, Refusal> {
        Ok(respond(201, &view))
    }
    match (&method, segments.as_slice()) {
        (&Method::GET, ["admin", "tenants"]) => ok(admin.list_tenants().await?),
        (&Method::POST, ["admin", "tenants"]) => {
            let body = body(request)?;
            let name = body.get("name").and_then(Value::as_str).ok_or_else(|| {
                Refusal::new(400, "InvalidRequest", "the body needs a \"name\" string")
            })?;
            created(admin.create_tenant(name).await?)
        }
        (&Method::GET, ["admin", "tenants", tenant]) => {
            ok(admin.show_tenant(&parse_tenant(tenant)?).await?)
        }
        (&Method::DELETE, ["admin", "tenants", tenant]) => {
            let confirmed = query_params(request)
                .iter()
                .any(|(k, v)| k == "confirm" && v == "DELETE");
            if !confirmed {
                return Err(Refusal::new(
                    400,
                    "ConfirmationRequired",
                    format!(
                        "deleting tenant {tenant} removes all of its users, groups, memberships, \
                         credentials and audit events for good: add ?confirm=DELETE to do it"
                    ),
                ));
            }
            let report = admin
                .delete_tenant(&parse_tenant(tenant)?, DELETE_BUDGET_PER_CALL, |_| {})
                .await?;
            let status = if report.complete { 200 } else { 202 };
            Ok(respond(status, &report))
        }
        (&Method::GET, ["admin", "tenants", tenant, "provisioning"]) => {
            ok(admin.provisioning_status(&parse_tenant(tenant)?).await?)
        }
        (&Method::POST, ["admin", "tenants", tenant, "provisioning", "enable"]) => {
            let tenant = parse_tenant(tenant)?;
            let new = new_credential(request)?;
            created(admin.enable_provisioning(&tenant, &new).await?)
        }
        (&Method::POST, ["admin", "tenants", tenant, "provisioning", "disable"]) => {
            ok(admin.disable_provisioning(&parse_tenant(tenant)?).await?)
        }
        (&Method::GET, ["admin", "tenants", tenant, "credentials"]) => {
            ok(admin.list_credentials(&parse_tenant(tenant)?).await?)
        }
        (&Method::POST, ["admin", "tenants", tenant, "credentials"]) => {
            let tenant = parse_tenant(tenant)?;
            let new = new_credential(request)?;
            created(admin.create_credential(&tenant, &new).await?)
        }
        (&Method::POST, ["admin", "tenants", tenant, "credentials", credential, action]) => {
            let status = match *action {
                "disable" => CredentialStatus::Disabled,
                "enable" => CredentialStatus::Enabled,
                _ => return Err(no_route(request)),
            };
            let tenant = parse_tenant(tenant)?;
            let credential = parse_credential(&tenant, credential)?;
            ok(admin
                .set_credential_status(&tenant, &credential, status)
                .await?)
        }
        (&Method::DELETE, ["admin", "tenants", tenant, "credentials", credential]) => {
            let tenant = parse_tenant(tenant)?;
            let credential = parse_credential(&tenant, credential)?;
            ok(admin.delete_credential(&tenant, &credential).await?)
        }
        (&Method::POST, ["admin", "tenants", tenant, "rotation"]) => {
            let tenant = parse_tenant(tenant)?;
            let new = new_credential(request)?;
            created(admin.start_rotation(&tenant, &new).await?)
        }
        (&Method::POST, ["admin", "tenants", tenant, "rotation", "finish"]) => {
            let tenant = parse_tenant(tenant)?;
            let body = optional_body(request)?;
            let force = match body.get("force").unwrap_or(&Value::Null) {
                Value::Null => false,
                Value::Bool(b) => *b,
                _ => {
                    return Err(Refusal::new(
                        400,
                        "InvalidRequest",
                        "\"force\" is a boolean",
                    ))
                }
            };
            ok(admin.finish_rotation(&tenant, force).await?)
        }
        (&Method::PUT, ["admin", "tenants", tenant, "oauth"]) => {
            let tenant = parse_tenant(tenant)?;
            let settings = oauth_settings(request)?;
            let mut changed = None;
            if let Some(on) = settings.0 {
                changed = Some(admin.set_oauth_only(&tenant, on).await?);
            }
            if let Some(hours) = settings.1 {
                changed = Some(admin.set_access_token_lifetime(&tenant, hours).await?);
            }
            match changed {
                Some(changed) => ok(changed),
                None => Err(Refusal::new(
                    400,
                    "InvalidRequest",
                    "the body sets \"oauthOnly\" (a boolean), \"accessTokenLifetimeHours\" (1 to \
                     6), or both",
                )),
            }
        }
        (&Method::GET, ["admin", "tenants", tenant, "oauth", "clients"]) => {
            ok(admin.list_clients(&parse_tenant(tenant)?).await?)
        }
        (&Method::POST, ["admin", "tenants", tenant, "oauth", "clients"]) => {
            let tenant = parse_tenant(tenant)?;
            let new = new_client(request)?;
            created(admin.create_client(&tenant, &new).await?)
        }
        (&Method::POST, ["admin", "tenants", tenant, "oauth", "clients", client, "secrets"]) => {
            let tenant = parse_tenant(tenant)?;
            let client = parse_client(&tenant, client)?;
            let days = secret_days(&optional_body(request)?, "expiresInDays")?;
            created(admin.add_client_secret(&tenant, &client, days).await?)
        }
        (
            &Method::POST,
            ["admin", "tenants", tenant, "oauth", "clients", client, "federations"],
        ) => {
            let tenant = parse_tenant(tenant)?;
            let client = parse_client(&tenant, client)?;
            let new = new_federation(request)?;
            created(admin.add_federation(&tenant, &client, &new).await?)
        }
        (
            &Method::DELETE,
            ["admin", "tenants", tenant, "oauth", "clients", client, "federations", federation],
        ) => {
            let tenant = parse_tenant(tenant)?;
            let client = parse_client(&tenant, client)?;
            let federation = oauth::parse_federation(&client, federation)?;
            ok(admin
                .delete_federation(&tenant, &client, &federation)
                .await?)
        }
        (&Method::POST, ["admin", "tenants", tenant, "oauth", "clients", client, action]) => {
            let status = match *action {
                "disable" => CredentialStatus::Disabled,
                "enable" => CredentialStatus::Enabled,
                _ => return Err(no_route(request)),
            };
            let tenant = parse_tenant(tenant)?;
            let client = parse_client(&tenant, client)?;
            ok(admin.set_client_status(&tenant, &client, status).await?)
        }
        (&Method::DELETE, ["admin", "tenants", tenant, "oauth", "clients", client]) => {
            let tenant = parse_tenant(tenant)?;
            let client = parse_client(&tenant, client)?;
            ok(admin.delete_client(&tenant, &client).await?)
        }
        (
            &Method::DELETE,
            ["admin", "tenants", tenant, "oauth", "clients", client, "secrets", secret],
        ) => {
            let tenant = parse_tenant(tenant)?;
            let client = parse_client(&tenant, client)?;
            let secret = parse_secret(&client, secret)?;
            ok(admin
                .delete_client_secret(&tenant, &client, &secret)
                .await?)
        }
        (&Method::GET, ["admin", "tenants", tenant, "audit"]) => {
            let tenant = parse_tenant(tenant)?;
            let query = audit_query(request)?;
            ok(admin.audit_events(&tenant, &query).await?)
        }
        (&Method::GET, ["admin", "tenants", tenant, "events"]) => {
            let tenant = parse_tenant(tenant)?;
            let events = events_request(request)?;
            ok(admin.change_events(&tenant, &events).await?)
        }
        _ => Err(no_route(request)),
    }
}

fn no_route(request: &Request) -> Refusal {
    Refusal::new(
        404,
        "NotFound",
        format!(
            "no admin route {} {}; see docs/admin-api.md",
            request.method(),
            request.uri().path()
        ),
    )
}

fn body(request: &Request) -> Result<Value, Refusal> {
    let body = json_body(request).map_err(|e| {
        let code = if e.status == 413 {
            "PayloadTooLarge"
        } else {
            "InvalidRequest"
        };
        Refusal::new(e.status, code, e.detail)
    })?;
    if !body.is_object() {
        return Err(Refusal::new(
            400,
            "InvalidRequest",
            "the body must be a JSON object",
        ));
    }
    Ok(body)
}

/// The body, or an empty object when there is none.
fn optional_body(request: &Request) -> Result<Value, Refusal> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    body(request)
}

/// `{"description": "...", "expiresInDays": 365}`: both optional; `expiresInDays: 0` never expires.
fn new_credential(request: &Request) -> Result<NewCredential, Refusal> {
    let body = optional_body(request)?;
    let invalid = |m: &str| Refusal::new(400, "InvalidRequest", m);
    let mut new = NewCredential::default();
    match body.get("description").unwrap_or(&Value::Null) {
        Value::Null => {}
        Value::String(d) => new.description = d.clone(),
        _ => return Err(invalid("\"description\" is a string")),
    }
    match body.get("expiresInDays").unwrap_or(&Value::Null) {
        Value::Null => {}
        v => {
            new.expires_in_days = v
                .as_u64()
                .and_then(|d| u32::try_from(d).ok())
                .filter(|d| *d <= admin::MAX_TOKEN_DAYS)
                .ok_or_else(|| {
                    invalid(
                    "\"expiresInDays\" is a whole number of days from 0 (never expires) to 36500",
                )
                })?
        }
    }
    Ok(new)
}

/// `{"description": "...", "secretExpiresInDays": 365, "withSecret": true}`: all optional;
/// `"withSecret": false` makes a client for federated credentials only.
fn new_client(request: &Request) -> Result<NewClient, Refusal> {
    let body = optional_body(request)?;
    let mut new = NewClient::default();
    match body.get("description").unwrap_or(&Value::Null) {
        Value::Null => {}
        Value::String(d) => new.description = d.clone(),
        _ => {
            return Err(Refusal::new(
                400,
                "InvalidRequest",
                "\"description\" is a string",
            ))
        }
    }
    let with_secret = match body.get("withSecret").unwrap_or(&Value::Null) {
        Value::Null => true,
        Value::Bool(b) => *b,
        _ => {
            return Err(Refusal::new(
                400,
                "InvalidRequest",
                "\"withSecret\" is a boolean",
            ))
        }
    };
    let days = secret_days(&body, "secretExpiresInDays")?;
    new.secret_expires_in_days = with_secret.then_some(days);
    Ok(new)
}

/// `{"oauthOnly": true, "accessTokenLifetimeHours": 2}`: either or both.
fn oauth_settings(request: &Request) -> Result<(Option<bool>, Option<u32>), Refusal> {
    let body = body(request)?;
    let bad = |what: &str| Refusal::new(400, "InvalidRequest", what.to_string());
    let oauth_only = match body.get("oauthOnly").unwrap_or(&Value::Null) {
        Value::Null => None,
        Value::Bool(b) => Some(*b),
        _ => return Err(bad("\"oauthOnly\" is a boolean")),
    };
    let hours = match body.get("accessTokenLifetimeHours").unwrap_or(&Value::Null) {
        Value::Null => None,
        v => Some(
            v.as_u64()
                .and_then(|h| u32::try_from(h).ok())
                .ok_or_else(|| {
                    bad("\"accessTokenLifetimeHours\" is a whole number of hours, 1 to 6")
                })?,
        ),
    };
    Ok((oauth_only, hours))
}

/// `{"issuer", "jwksUrl", "subject", "audience"}`, each a string.
fn new_federation(request: &Request) -> Result<NewFederation, Refusal> {
    let body = body(request)?;
    let field = |name: &str| {
        body.get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                Refusal::new(
                    400,
                    "InvalidRequest",
                    format!(
                        "the body needs \"{name}\" (a string): a federated credential is \
                         {{\"issuer\", \"jwksUrl\", \"subject\", \"audience\"}}"
                    ),
                )
            })
    };
    Ok(NewFederation {
        issuer: field("issuer")?,
        jwks_url: field("jwksUrl")?,
        subject: field("subject")?,
        audience: field("audience")?,
    })
}

/// A secret's lifetime in days from `body[field]`, the default when absent.
fn secret_days(body: &Value, field: &str) -> Result<u32, Refusal> {
    match body.get(field).unwrap_or(&Value::Null) {
        Value::Null => Ok(oauth::DEFAULT_SECRET_DAYS),
        v => v
            .as_u64()
            .and_then(|d| u32::try_from(d).ok())
            .filter(|d| (oauth::MIN_SECRET_DAYS..=oauth::MAX_SECRET_DAYS).contains(d))
            .ok_or_else(|| {
                Refusal::new(
                    400,
                    "InvalidRequest",
                    format!(
                        "\"{field}\" is a whole number of days from {} to {}",
                        oauth::MIN_SECRET_DAYS,
                        oauth::MAX_SECRET_DAYS
                    ),
                )
            }),
    }
}

fn audit_query(request: &Request) -> Result<AuditQuery, Refusal> {
    let mut query = AuditQuery::default();
    for (name, value) in query_params(request) {
        match name.as_str() {
            "credentialId" => query.credential_id = Some(value),
            "since" => query.since = Some(admin::parse_since(&value)?),
            "cursor" => query.cursor = Some(value),
            "limit" => query.limit = page_limit(&value)?,
            other => {
                return Err(Refusal::new(
                    400,
                    "InvalidRequest",
                    format!(
                        "unknown parameter {other:?}; known: credentialId, since, cursor, limit"
                    ),
                ))
            }
        }
    }
    Ok(query)
}

/// `cursor`, `since` and `limit`; anything else is refused, as for the audit trail.
fn events_request(request: &Request) -> Result<EventsRequest, Refusal> {
    let mut events = EventsRequest::default();
    for (name, value) in query_params(request) {
        match name.as_str() {
            "cursor" => events.cursor = Some(value),
            "since" => events.since = Some(value),
            "limit" => events.limit = page_limit(&value)?,
            other => {
                return Err(Refusal::new(
                    400,
                    "InvalidRequest",
                    format!("unknown parameter {other:?}; known: cursor, since, limit"),
                ))
            }
        }
    }
    Ok(events)
}

/// `limit=`: a number, checked where every page size is (`admin::check_page_limit`).
fn page_limit(raw: &str) -> Result<usize, Refusal> {
    let limit = raw.parse().map_err(|_| {
        Refusal::new(
            400,
            "InvalidRequest",
            format!("limit is a number from 1 to {}", admin::MAX_AUDIT_PAGE),
        )
    })?;
    admin::check_page_limit(limit)?;
    Ok(limit)
}

/// The body of the admin Lambda's `main`.
pub async fn serve() -> Result<(), lambda_http::Error> {
    crate::telemetry::init_tracing();
    super::guard::log_panics();
    let app = AdminApp::new(Store::from_env().await?);
    let app = &app;
    lambda_http::run(lambda_http::service_fn(
        move |request: Request| async move {
            Ok::<_, std::convert::Infallible>(app.invoke(request).await)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::StoreError;

    #[test]
    fn throttling_is_429_and_unavailability_503_both_with_retry_after() {
        for (error, status) in [
            (StoreError::Throttled, 429),
            (StoreError::TransactionConflict, 429),
            (StoreError::Unavailable("timeout".into()), 503),
        ] {
            let response = Refusal::from(AdminError::Store(error)).response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(response.headers()["retry-after"], "1");
        }
        let response = Refusal::new(400, "InvalidRequest", "x").response();
        assert!(response.headers().get("retry-after").is_none());
    }
}
