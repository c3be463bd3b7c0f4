//! Reading a request: which route it names, its query parameters and its JSON body.

use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde_json::Value;

use crate::protocol::resource::ResourceKind;
use crate::protocol::{ScimError, TenantId};

/// Larger bodies get 413 (API Gateway would allow up to 10 MB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a path names below `/{tenantId}/scim/v2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Collection(ResourceKind),
    Search(ResourceKind),
    /// `POST /.search` at the root: every resource type at once.
    SearchAll,
    Resource(ResourceKind, String),
    ServiceProviderConfig,
    Schemas,
    Schema(String),
    ResourceTypes,
    ResourceType(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// As the URL spells it: authentication parses it (a tenant id that is not a ULID gets the
    /// same 401 as a bad token, after the same work).
    pub tenant: String,
    pub target: Target,
}

/// Parses `/{tenantId}/scim/v2/{Resource}[/{id}]`; `None` for any other path.
pub fn parse_route(path: &str) -> Option<Route> {
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let [tenant, scim, v2, rest @ ..] = segments.as_slice() else {
        return None;
    };
    if tenant.is_empty() || scim != "scim" || !v2.eq_ignore_ascii_case("v2") {
        return None;
    }
    let kind = |name: &str| match name {
        n if n.eq_ignore_ascii_case("Users") => Some(ResourceKind::User),
        n if n.eq_ignore_ascii_case("Groups") => Some(ResourceKind::Group),
        _ => None,
    };
    let target = match rest {
        [name] if kind(name).is_some() => Target::Collection(kind(name)?),
        [search] if search == ".search" => Target::SearchAll,
        [name, search] if search == ".search" => Target::Search(kind(name)?),
        [name, id] if kind(name).is_some() && !id.is_empty() => {
            Target::Resource(kind(name)?, id.clone())
        }
        [name] if name.eq_ignore_ascii_case("ServiceProviderConfig") => {
            Target::ServiceProviderConfig
        }
        [name] if name.eq_ignore_ascii_case("Schemas") => Target::Schemas,
        [name, id] if name.eq_ignore_ascii_case("Schemas") => Target::Schema(id.clone()),
        [name] if name.eq_ignore_ascii_case("ResourceTypes") => Target::ResourceTypes,
        [name, id] if name.eq_ignore_ascii_case("ResourceTypes") => {
            Target::ResourceType(id.clone())
        }
        _ => return None,
    };
    Some(Route {
        tenant: tenant.clone(),
        target,
    })
}

/// Decoded `key=value` pairs of the query string (`+` is a space, as browsers and curl send it).
pub fn query_params(request: &Request) -> Vec<(String, String)> {
    request
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

pub fn percent_decode(input: &str) -> String {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let hex = |b: u8| (b as char).to_digit(16);
        match (byte, bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The body as JSON: 413 when too large, 400 `invalidSyntax` when empty, not UTF-8 or not JSON.
pub fn json_body(request: &Request) -> Result<Value, ScimError> {
    let bytes: &[u8] = request.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ScimError::payload_too_large(MAX_BODY_BYTES));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("the request needs a JSON body"));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ScimError::invalid_syntax("the request body is not valid UTF-8"))?;
    serde_json::from_str(text)
        .map_err(|e| ScimError::invalid_syntax(format!("the request body is not valid JSON: {e}")))
}

pub fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The public base URL of the tenant's SCIM API, for `meta.location`, `Location` and the `iss`
/// of change events. Never from a client's header: `PUBLIC_BASE_URL` when configured (a custom
/// domain), else the domain API Gateway's request context names (always HTTPS). Only a loopback
/// request (a local emulator, the tests) is named by its own URI, over HTTP.
pub fn base_url(request: &Request, tenant: &TenantId) -> String {
    let configured = std::env::var("PUBLIC_BASE_URL").ok();
    format!(
        "{}/{tenant}/scim/v2",
        public_root(request, configured.as_deref())
    )
}

/// The API's public root (`https://domain`), found as [`base_url`] finds it.
pub fn api_root(request: &Request) -> String {
    public_root(request, std::env::var("PUBLIC_BASE_URL").ok().as_deref())
}

fn public_root(request: &Request, configured: Option<&str>) -> String {
    if let Some(root) = configured
        .map(|c| c.trim().trim_end_matches('/'))
        .filter(|c| !c.is_empty())
    {
        return root.to_string();
    }
    let is_loopback = |host: &str| {
        host.starts_with("localhost") || host.starts_with("127.") || host.starts_with("[::1]")
    };
    let domain = match request.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.domain_name.as_deref(),
        _ => None,
    };
    if let Some(domain) = domain.filter(|d| !d.is_empty() && !is_loopback(d)) {
        return format!("https://{domain}");
    }
    match request.uri().authority().map(|a| a.as_str()) {
        Some(host) if is_loopback(host) => format!("http://{host}"),
        _ => "http://localhost".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An API Gateway HTTP API event for `domain`, carrying whatever Host and X-Forwarded-Proto
    /// headers a client chose.
    fn gateway_request(domain: &str, host: &str) -> Request {
        let event = serde_json::json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/T/scim/v2/Users",
            "rawQueryString": "",
            "headers": {"host": host, "x-forwarded-proto": "http"},
            "requestContext": {
                "accountId": "1", "apiId": "a", "domainName": domain, "domainPrefix": "a",
                "http": {"method": "GET", "path": "/T/scim/v2/Users", "protocol": "HTTP/1.1",
                         "sourceIp": "203.0.113.1", "userAgent": "t"},
                "requestId": "r", "routeKey": "$default", "stage": "$default",
                "time": "01/Jan/2026:00:00:00 +0000", "timeEpoch": 0
            },
            "isBase64Encoded": false
        });
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    #[test]
    fn the_base_url_comes_from_the_gateway_or_configuration_never_a_client_header() {
        let r = gateway_request("abc.execute-api.eu-west-1.amazonaws.com", "evil.example");
        assert_eq!(
            public_root(&r, None),
            "https://abc.execute-api.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            public_root(&r, Some("https://scim.example.com/")),
            "https://scim.example.com"
        );
        // A local emulator's loopback request names itself, over HTTP.
        let local = lambda_http::http::Request::builder()
            .uri("http://127.0.0.1:9000/T/scim/v2/Users")
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(public_root(&local, None), "http://127.0.0.1:9000");
        let spoofed = lambda_http::http::Request::builder()
            .uri("http://evil.example/T/scim/v2/Users")
            .header("x-forwarded-proto", "https")
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(public_root(&spoofed, None), "http://localhost");
    }

    #[test]
    fn routes_parse_with_and_without_ids() {
        let r = parse_route("/T1/scim/v2/Users/abc").unwrap();
        assert_eq!(r.tenant, "T1");
        assert_eq!(r.target, Target::Resource(ResourceKind::User, "abc".into()));
        assert_eq!(
            parse_route("/T1/scim/v2/Groups/").unwrap().target,
            Target::Collection(ResourceKind::Group)
        );
        assert_eq!(
            parse_route("/T1/scim/v2/Users/.search").unwrap().target,
            Target::Search(ResourceKind::User)
        );
        assert_eq!(
            parse_route("/T1/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
                .unwrap()
                .target,
            Target::Schema("urn:ietf:params:scim:schemas:core:2.0:User".into())
        );
    }

    #[test]
    fn unknown_paths_do_not_route() {
        for p in [
            "/",
            "/T1",
            "/T1/scim/v1/Users",
            "/T1/scim/v2/Things",
            "/T1/scim/v2/Users/a/b",
        ] {
            assert!(parse_route(p).is_none(), "{p}");
        }
    }

    #[test]
    fn percent_decoding_handles_utf8_and_bad_escapes() {
        assert_eq!(
            percent_decode("userName%20eq%20%22%C3%A9%22"),
            "userName eq \"é\""
        );
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
