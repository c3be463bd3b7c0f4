//! A tenant's OAuth 2.0 authorization server, as the IdPs reach it: the token endpoint
//! (`POST /{tenant}/oauth2/token`, RFC 6749 §4.4) and its metadata
//! (`GET /{tenant}/.well-known/oauth-authorization-server`, RFC 8414). Parses the form and the
//! `Authorization` header, calls `service::token`, and renders its answer or its RFC 6749 §5.2
//! error, every one with `Cache-Control: no-store`.

use base64::Engine;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

use super::request::{self, percent_decode};
use crate::federation::jwks::Jwks;
use crate::protocol::TenantId;
use crate::service::token::{self, ClientAuth, OAuthError, OAuthErrorCode, TokenRequest};
use crate::store::Store;

/// A token request is a few fields and at most one assertion (Entra's are about 2 KB).
pub const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The two routes, under a tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthTarget {
    Token,
    Metadata,
}

/// `(tenant, target)` if `path` is one of a tenant's OAuth routes.
pub fn parse_path(path: &str) -> Option<(&str, OAuthTarget)> {
    let (tenant, rest) = path.trim_start_matches('/').split_once('/')?;
    let target = match rest.trim_end_matches('/') {
        "oauth2/token" => OAuthTarget::Token,
        ".well-known/oauth-authorization-server" => OAuthTarget::Metadata,
        _ => return None,
    };
    Some((tenant, target))
}

/// Answers one request to an OAuth route. Never a SCIM error: these are OAuth clients.
pub async fn handle(
    store: &Store,
    jwks: &Jwks,
    request: &Request,
    tenant: &str,
    target: OAuthTarget,
) -> Response<Body> {
    // A tenant id that is not a ULID names no client: the same failure as an unknown client.
    let tenant = TenantId::parse(tenant).ok();
    match (target, request.method()) {
        (OAuthTarget::Metadata, &Method::GET) => match tenant {
            Some(tenant) => respond(200, &metadata(&request::api_root(request), &tenant)),
            None => error(
                404,
                &OAuthError::new(OAuthErrorCode::InvalidRequest, "no such tenant"),
            ),
        },
        (OAuthTarget::Token, &Method::POST) => {
            let answer = async {
                let parsed = parse_token_request(request)?;
                let tenant = tenant.ok_or_else(|| {
                    OAuthError::new(
                        OAuthErrorCode::InvalidClient,
                        "client authentication failed",
                    )
                })?;
                token::issue(store, jwks, &tenant, &parsed).await
            }
            .await;
            match answer {
                Ok(issued) => respond(200, &issued),
                Err(e) => error(status_of(e.code), &e),
            }
        }
        (target, method) => {
            let allowed = match target {
                OAuthTarget::Token => "POST",
                OAuthTarget::Metadata => "GET",
            };
            let mut response = error(
                405,
                &OAuthError::new(
                    OAuthErrorCode::InvalidRequest,
                    format!("{method} is not allowed here; allowed: {allowed}"),
                ),
            );
            if let Ok(value) = lambda_http::http::HeaderValue::from_str(allowed) {
                response.headers_mut().insert("allow", value);
            }
            response
        }
    }
}

/// RFC 8414 metadata: the issuer is the tenant's root, its token endpoint under it.
fn metadata(root: &str, tenant: &TenantId) -> Value {
    let issuer = format!("{root}/{tenant}");
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth2/token"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["RS256", "ES256"],
        "scopes_supported": [token::SCOPE],
        "response_types_supported": [],
    })
}

fn status_of(code: OAuthErrorCode) -> u16 {
    match code {
        OAuthErrorCode::InvalidClient => 401,
        OAuthErrorCode::TemporarilyUnavailable => 429,
        OAuthErrorCode::ServerError => 500,
        _ => 400,
    }
}

fn respond(status: u16, body: &impl serde::Serialize) -> Response<Body> {
    let body = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("cache-control", "no-store")
        .header("pragma", "no-cache")
        .body(Body::Text(body))
        .unwrap_or_default()
}

fn error(status: u16, err: &OAuthError) -> Response<Body> {
    let mut response = respond(
        status,
        &json!({"error": err.code, "error_description": err.description}),
    );
    let headers = response.headers_mut();
    if status == 401 {
        headers.insert(
            "www-authenticate",
            lambda_http::http::HeaderValue::from_static("Basic realm=\"scim\""),
        );
    }
    if status == 429 {
        headers.insert(
            "retry-after",
            lambda_http::http::HeaderValue::from_static("1"),
        );
    }
    response
}

fn invalid(description: impl Into<String>) -> OAuthError {
    OAuthError::new(OAuthErrorCode::InvalidRequest, description)
}

/// The form (`application/x-www-form-urlencoded`, each parameter at most once: RFC 6749 §3.2)
/// and the client's one way of authenticating.
fn parse_token_request(request: &Request) -> Result<TokenRequest, OAuthError> {
    let content_type = request::header(request, "content-type").unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(invalid(
            "a token request is a form: Content-Type: application/x-www-form-urlencoded",
        ));
    }
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_TOKEN_REQUEST_BYTES {
        return Err(invalid(format!(
            "the request is over {MAX_TOKEN_REQUEST_BYTES} bytes"
        )));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("the form is not valid UTF-8"))?;
    let mut form: Vec<(String, String)> = Vec::new();
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (form_decode(k), form_decode(v));
        if form.iter().any(|(seen, _)| *seen == k) {
            return Err(invalid(format!("parameter {k:?} is given more than once")));
        }
        form.push((k, v));
    }
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let grant_type = field("grant_type").ok_or_else(|| invalid("grant_type is missing"))?;
    let basic = basic_credentials(request)?;
    let posted = field("client_secret");
    let assertion = field("client_assertion");
    let auth = match (basic, posted, assertion) {
        (Some((client_id, secret)), None, None) => {
            if field("client_id").is_some_and(|id| id != client_id) {
                return Err(invalid("client_id differs from the Basic credentials"));
            }
            ClientAuth::Basic { client_id, secret }
        }
        (None, Some(secret), None) => ClientAuth::Post {
            client_id: field("client_id")
                .ok_or_else(|| invalid("client_id is missing (with client_secret)"))?,
            secret,
        },
        (None, None, Some(assertion)) => {
            if field("client_assertion_type").as_deref() != Some(ASSERTION_TYPE) {
                return Err(invalid(format!(
                    "client_assertion_type must be {ASSERTION_TYPE}"
                )));
            }
            ClientAuth::Assertion {
                client_id: field("client_id"),
                assertion,
            }
        }
        (None, None, None) => {
            return Err(OAuthError::new(
                OAuthErrorCode::InvalidClient,
                "no client authentication: use HTTP Basic, client_id with client_secret, or \
                 client_assertion",
            ))
        }
        _ => return Err(invalid("use exactly one way of client authentication")),
    };
    Ok(TokenRequest {
        grant_type,
        scope: field("scope"),
        auth,
    })
}

/// `+` is a space in a form (and `%2B` a plus).
fn form_decode(raw: &str) -> String {
    percent_decode(&raw.replace('+', " "))
}

/// `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(request: &Request) -> Result<Option<(String, String)>, OAuthError> {
    let Some(header) = request::header(request, "authorization") else {
        return Ok(None);
    };
    let bad = || OAuthError::new(OAuthErrorCode::InvalidClient, "malformed Basic credentials");
    let (scheme, encoded) = header.trim().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(invalid(
            "the token endpoint takes Basic client credentials only",
        ));
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| bad())?;
    let decoded = String::from_utf8(decoded).map_err(|_| bad())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(bad)?;
    Ok(Some((form_decode(id), form_decode(secret))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oauth_paths_are_a_tenants_and_nothing_else() {
        assert_eq!(
            parse_path("/T/oauth2/token"),
            Some(("T", OAuthTarget::Token))
        );
        assert_eq!(
            parse_path("/T/.well-known/oauth-authorization-server"),
            Some(("T", OAuthTarget::Metadata))
        );
        for other in [
            "/T/scim/v2/Users",
            "/oauth2/token",
            "/T/oauth2/token/x",
            "/",
        ] {
            assert_eq!(parse_path(other), None, "{other}");
        }
    }
}
