//! The one SCIM error type (RFC 7644 §3.12). Every failure a client can see is a `ScimError`;
//! it is rendered to `urn:ietf:params:scim:api:messages:2.0:Error` in exactly one place (`to_json`).

use serde_json::{json, Value};

pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// `scimType` values of RFC 7644 §3.12, table 9, and of RFC 9865 §2.2 (cursors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
    InvalidCursor,
    ExpiredCursor,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
            ScimType::InvalidCursor => "invalidCursor",
            ScimType::ExpiredCursor => "expiredCursor",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<ScimType>,
    pub detail: String,
    /// The methods a 405 names (its `Allow` header, RFC 9110 §15.5.6).
    pub allow: Option<String>,
}

impl ScimError {
    pub fn new(status: u16, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            allow: None,
        }
    }

    /// 400 with a `scimType`: the client sent something we understood well enough to refuse.
    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(400, Some(scim_type), detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }

    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidCursor, detail)
    }

    pub fn expired_cursor(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::ExpiredCursor, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    pub fn uniqueness(detail: impl Into<String>) -> Self {
        Self::new(409, Some(ScimType::Uniqueness), detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            401,
            None,
            "missing, malformed, unknown or disabled bearer token for this tenant",
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, None, detail)
    }

    /// 405, with the methods the target allows (for the `Allow` header).
    pub fn method_not_allowed(detail: impl Into<String>, allow: &[&str]) -> Self {
        ScimError {
            allow: Some(allow.join(", ")),
            ..Self::new(405, None, detail)
        }
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::new(412, None, detail)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(413, None, format!("request body exceeds {limit} bytes"))
    }

    pub fn throttled() -> Self {
        Self::new(
            429,
            None,
            "the data store is throttling requests; retry after the Retry-After delay",
        )
    }

    /// The data store failed after retries (see docs/reliability.md for what a retry sees).
    pub fn unavailable() -> Self {
        Self::new(
            503,
            None,
            "the data store is unavailable; retry the request after the Retry-After delay",
        )
    }

    pub fn internal(detail: impl Into<String>) -> Self {
        Self::new(500, None, detail)
    }

    pub fn to_json(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let (Some(t), Some(map)) = (self.scim_type, body.as_object_mut()) {
            map.insert("scimType".into(), Value::String(t.as_str().into()));
        }
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_json_carries_schema_status_as_string_and_scim_type() {
        let body = ScimError::uniqueness("userName taken").to_json();
        assert_eq!(body["schemas"][0], ERROR_SCHEMA);
        assert_eq!(body["status"], "409");
        assert_eq!(body["scimType"], "uniqueness");
        assert_eq!(body["detail"], "userName taken");
    }

    #[test]
    fn error_json_omits_scim_type_when_rfc_defines_none() {
        let body = ScimError::not_found("no such user").to_json();
        assert!(body.get("scimType").is_none());
        assert_eq!(body["status"], "404");
    }
}
