//! The token endpoint's use case (RFC 6749 §4.4, client credentials): a tenant's OAuth client
//! proves itself with one of its secrets and gets a short-lived access token for the tenant's
//! SCIM API. Typed request in, the token or an RFC 6749 §5.2 error out; `http/oauth.rs` parses
//! the form and renders the answer.

use serde::Serialize;

use crate::auth;
use crate::domain::Timestamp;
use crate::protocol::{ClientId, TenantId};
use crate::store::{AccessToken, Actor, AuditEvent, CredentialStatus, Store, StoreError};

/// An access token's lifetime: an hour, as Entra expects by default.
pub const ACCESS_TOKEN_SECONDS: i64 = 3600;
/// The one scope an access token carries: the tenant's SCIM API.
pub const SCOPE: &str = "scim";

/// How the client authenticated (RFC 6749 §2.3.1): at most one way per request.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic`, already decoded.
    Basic { client_id: String, secret: String },
    /// `client_id` and `client_secret` in the form.
    Post { client_id: String, secret: String },
    /// `client_assertion` (RFC 7523 §2.2).
    Assertion { client_id: Option<String> },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            ClientAuth::Basic { .. } => "Basic",
            ClientAuth::Post { .. } => "Post",
            ClientAuth::Assertion { .. } => "Assertion",
        };
        f.write_str(name)
    }
}

/// A token request, parsed: its grant type and scope, and how the client authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub grant_type: String,
    pub scope: Option<String>,
    pub auth: ClientAuth,
}

/// The RFC 6749 §5.2 error codes this endpoint answers, and two of its own failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    /// The store throttled: retry after a moment.
    TemporarilyUnavailable,
    ServerError,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {description}")]
pub struct OAuthError {
    pub code: OAuthErrorCode,
    pub description: String,
}

impl OAuthError {
    pub fn new(code: OAuthErrorCode, description: impl Into<String>) -> Self {
        OAuthError {
            code,
            description: description.into(),
        }
    }

    fn invalid_client(description: impl Into<String>) -> Self {
        OAuthError::new(OAuthErrorCode::InvalidClient, description)
    }
}

impl From<StoreError> for OAuthError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Throttled | StoreError::TransactionConflict => OAuthError::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "the service is busy: retry in a moment",
            ),
            // The client or secret was removed while the token was being issued.
            StoreError::Revoked | StoreError::NotFound => {
                OAuthError::invalid_client("client authentication failed")
            }
            other => {
                tracing::error!(error = %other, "token endpoint failed");
                OAuthError::new(OAuthErrorCode::ServerError, "the data store failed")
            }
        }
    }
}

/// The answer to a good token request (RFC 6749 §5.1).
#[derive(Serialize)]
pub struct IssuedToken {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub scope: &'static str,
}

impl std::fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedToken")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// `scope` is optional. `scim` names the SCIM API; Entra asks for `<audience>/.default` (the
/// Microsoft identity platform's spelling of "what this client may have"), which means the same.
fn check_scope(scope: Option<&str>) -> Result<(), OAuthError> {
    let unknown: Vec<&str> = scope
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty() && *s != SCOPE && !s.ends_with("/.default"))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    Err(OAuthError::new(
        OAuthErrorCode::InvalidScope,
        format!(
            "unknown scope {:?}: this endpoint grants `{SCOPE}` (or an `…/.default` scope)",
            unknown.join(" ")
        ),
    ))
}

/// A hash no secret has, checked when the client or secret is unknown so that every failure
/// costs the same.
const DECOY_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Issues an access token to a client of `tenant` that proves itself with a secret: one
/// GetItem of the client, then one transaction storing the token's hash and its audit event.
pub async fn issue(
    store: &Store,
    tenant: &TenantId,
    request: &TokenRequest,
) -> Result<IssuedToken, OAuthError> {
    if request.grant_type != "client_credentials" {
        return Err(OAuthError::new(
            OAuthErrorCode::UnsupportedGrantType,
            format!(
                "grant_type {:?} is not supported: use client_credentials",
                request.grant_type
            ),
        ));
    }
    check_scope(request.scope.as_deref())?;
    let (client_id, secret) = match &request.auth {
        ClientAuth::Basic { client_id, secret } | ClientAuth::Post { client_id, secret } => {
            (client_id, secret)
        }
        ClientAuth::Assertion { .. } => {
            return Err(OAuthError::invalid_client(
                "this client has no federated credential: authenticate with a client secret \
                 (client_secret_basic or client_secret_post)",
            ))
        }
    };
    let failed = || OAuthError::invalid_client("client authentication failed");
    let parsed = ClientId::parse(client_id).ok();
    let secret_id = auth::parse_client_secret(secret);
    let lookup = parsed
        .clone()
        .unwrap_or_else(|| ClientId::from(ulid::Ulid::nil()));
    let client = store.get_client(tenant, &lookup).await?;
    let stored = client.as_ref().zip(secret_id.as_ref()).and_then(|(c, id)| {
        let secret = c.secrets.iter().find(|s| &s.id == id)?;
        Some((c, secret))
    });
    let Some((client, stored)) = stored.filter(|_| parsed.is_some()) else {
        std::hint::black_box(auth::verify(std::hint::black_box(secret), DECOY_HASH));
        return Err(failed());
    };
    if !auth::verify(secret, &stored.secret_hash) {
        return Err(failed());
    }
    // The caller proved it holds the secret: from here on, say exactly what is wrong.
    let now = Timestamp::now();
    if stored.expires <= now {
        return Err(OAuthError::invalid_client(format!(
            "client secret {} expired at {}: add a new secret to the client",
            stored.id, stored.expires
        )));
    }
    if client.status != CredentialStatus::Enabled {
        return Err(OAuthError::invalid_client(format!(
            "client {} is disabled",
            client.id
        )));
    }
    let issued = auth::issue_access_token(&client.id, &stored.id).map_err(|e| {
        tracing::error!(error = %e, "OS random source failed");
        OAuthError::new(OAuthErrorCode::ServerError, "the server failed")
    })?;
    let token = AccessToken {
        id: issued.access.token_id.clone(),
        expires: now.plus(time::Duration::seconds(ACCESS_TOKEN_SECONDS)),
        token_hash: issued.token_hash.clone(),
    };
    let audit = AuditEvent::new(
        tenant,
        Actor::Client(issued.access.clone()),
        "POST",
        "oauth.token.issue",
        "OAuthClient",
        Some(client.id.as_str()),
        200,
    );
    store
        .store_access_token(client, stored, &token, now, &audit)
        .await?;
    Ok(IssuedToken {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_SECONDS,
        scope: SCOPE,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_scim_or_an_entra_default_and_nothing_else() {
        for good in [
            None,
            Some(""),
            Some("scim"),
            Some("api://8f3e/.default"),
            Some("scim  scim"),
        ] {
            assert_eq!(check_scope(good), Ok(()), "{good:?}");
        }
        for bad in ["admin", "scim openid", "api://x/.default write"] {
            let err = check_scope(Some(bad)).unwrap_err();
            assert_eq!(err.code, OAuthErrorCode::InvalidScope, "{bad}");
        }
    }

    #[test]
    fn a_client_secret_is_never_in_a_debug_line() {
        let auth = ClientAuth::Basic {
            client_id: "c".into(),
            secret: "scimcs_secret".into(),
        };
        assert!(!format!("{auth:?}").contains("scimcs_secret"));
    }
}
