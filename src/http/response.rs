//! Building responses: every one is `application/scim+json`, and errors are rendered here only.

use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Response};
use serde_json::Value;

use crate::protocol::ScimError;

pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";

pub fn json(status: u16, body: &Value) -> Response<Body> {
    build(status, Some(body), &[])
}

pub fn with_headers(
    status: u16,
    body: Option<&Value>,
    headers: &[(&str, String)],
) -> Response<Body> {
    build(status, body, headers)
}

pub fn error(err: &ScimError) -> Response<Body> {
    let mut headers = Vec::new();
    match err.status {
        401 => headers.push(("WWW-Authenticate", "Bearer realm=\"scim\"".to_string())),
        429 | 503 => headers.push(("Retry-After", "1".to_string())),
        _ => {}
    }
    if let Some(allow) = &err.allow {
        headers.push(("Allow", allow.clone()));
    }
    build(err.status, Some(&err.to_json()), &headers)
}

fn build(status: u16, body: Option<&Value>, headers: &[(&str, String)]) -> Response<Body> {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, SCIM_CONTENT_TYPE);
    for (name, value) in headers {
        builder = builder.header(*name, value);
    }
    let body = body.map_or(Body::Empty, |b| Body::Text(b.to_string()));
    builder.body(body).unwrap_or_else(|_| {
        let mut fallback = Response::new(Body::Empty);
        *fallback.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        fallback
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_responses_carry_retry_after_and_401s_www_authenticate() {
        let r = error(&ScimError::throttled());
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "1");
        let r = error(&ScimError::unauthorized());
        assert!(r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer"));
        assert_eq!(r.headers()["content-type"], SCIM_CONTENT_TYPE);
        let r = error(&ScimError::method_not_allowed("no", &["GET", "POST"]));
        assert_eq!(r.headers()["allow"], "GET, POST");
    }
}
