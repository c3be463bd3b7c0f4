//! The token endpoint's use case (RFC 6749 §4.4, client credentials): a tenant's OAuth client
//! proves itself with one of its secrets, or with an assertion signed for one of its federated
//! credentials (RFC 7523 §2.2), and gets a short-lived access token for the tenant's SCIM API.
//! Typed request in, the token or an RFC 6749 §5.2 error out; `http/oauth.rs` parses the form
//! and renders the answer.

use serde::Serialize;
use serde_json::Value;

use crate::auth;
use crate::domain::Timestamp;
use crate::federation::assertion::{self, Expected};
use crate::federation::jwks::Jwks;
use crate::protocol::{ClientId, TenantId};
use crate::store::{
    AccessToken, Actor, AuditEvent, CredentialStatus, Grant, OAuthClient, Store, StoreError,
    TokenIssue, UsedAssertion,
};

/// The one scope an access token carries: the tenant's SCIM API.
pub const SCOPE: &str = "scim";

/// How the client authenticated (RFC 6749 §2.3.1): at most one way per request.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientAuth {
    /// `Authorization: Basic`, already decoded.
    Basic { client_id: String, secret: String },
    /// `client_id` and `client_secret` in the form.
    Post { client_id: String, secret: String },
    /// `client_assertion` (RFC 7523 §2.2), with the `client_id` that names the client.
    Assertion {
        client_id: Option<String>,
        assertion: String,
    },
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
    /// The store throttled or failed after its retries: retry after a moment.
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
            StoreError::Throttled
            | StoreError::TransactionConflict
            | StoreError::Unavailable(_) => OAuthError::new(
                OAuthErrorCode::TemporarilyUnavailable,
                "the service is busy: retry in a moment",
            ),
            // The client or its grant was removed while the token was being issued.
            StoreError::Revoked | StoreError::NotFound => {
                OAuthError::invalid_client("client authentication failed")
            }
            StoreError::Replayed => OAuthError::invalid_client(
                "the client assertion was already used (its jti): get a new one from the IdP",
            ),
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

/// Issues an access token to a client of `tenant`: one GetItem of the client, one of the tenant
/// (the token's lifetime), then one transaction storing the token's hash, its audit event and,
/// for an assertion with a `jti`, the guard that makes it single-use: 3 requests, plus the JWKS
/// fetch when its keys are not cached.
pub async fn issue(
    store: &Store,
    jwks: &Jwks,
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
    let proven = match &request.auth {
        ClientAuth::Basic { client_id, secret } | ClientAuth::Post { client_id, secret } => {
            with_secret(store, tenant, client_id, secret).await?
        }
        ClientAuth::Assertion {
            client_id,
            assertion,
        } => with_assertion(store, jwks, tenant, client_id.as_deref(), assertion).await?,
    };
    // The caller proved it is the client: from here on, say exactly what is wrong.
    if proven.client.status != CredentialStatus::Enabled {
        return Err(OAuthError::invalid_client(format!(
            "client {} is disabled",
            proven.client.id
        )));
    }
    mint(store, tenant, proven).await
}

/// A client that proved itself, the grant it used, and that grant's tokens as read.
struct Proven {
    client: OAuthClient,
    grant: Grant,
    tokens: Vec<AccessToken>,
    used_assertion: Option<UsedAssertion>,
}

fn failed() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

/// `client_secret_basic` or `client_secret_post`: every failure before the secret matched is
/// the same answer after the same work (the hash is computed with a decoy when the client or
/// secret is unknown).
async fn with_secret(
    store: &Store,
    tenant: &TenantId,
    client_id: &str,
    secret: &str,
) -> Result<Proven, OAuthError> {
    let parsed = ClientId::parse(client_id).ok();
    let secret_id = auth::parse_client_secret(secret);
    let lookup = parsed.clone().unwrap_or_else(auth::decoy);
    let client = store
        .get_client(tenant, &lookup)
        .await?
        .filter(|_| parsed.is_some());
    let stored = client
        .as_ref()
        .zip(secret_id.as_ref())
        .and_then(|(c, id)| c.secrets.iter().find(|s| &s.id == id));
    if !auth::verify_stored(secret, stored.map(|s| s.secret_hash.as_str())) {
        return Err(failed());
    }
    let (Some(client), Some(stored)) = (client.as_ref(), stored) else {
        return Err(failed());
    };
    if stored.expires <= Timestamp::now() {
        return Err(OAuthError::invalid_client(format!(
            "client secret {} expired at {}: add a new secret to the client",
            stored.id, stored.expires
        )));
    }
    Ok(Proven {
        grant: Grant::Secret(stored.id.clone()),
        tokens: stored.tokens.clone(),
        client: client.clone(),
        used_assertion: None,
    })
}

/// `client_assertion`: the header is checked before any request (only RS256 and ES256), the
/// client is read, the federated credential whose issuer and subject the assertion claims is
/// chosen, and the assertion is verified with the key its `kid` names in that credential's JWKS.
async fn with_assertion(
    store: &Store,
    jwks: &Jwks,
    tenant: &TenantId,
    client_id: Option<&str>,
    jwt: &str,
) -> Result<Proven, OAuthError> {
    let client_id = client_id.ok_or_else(|| {
        OAuthError::new(
            OAuthErrorCode::InvalidRequest,
            "client_id is missing: with client_assertion it names the client whose federated \
             credential the assertion is for",
        )
    })?;
    let refused = |e: assertion::AssertionError| OAuthError::invalid_client(e.to_string());
    let header = assertion::header(jwt).map_err(refused)?;
    let claims = assertion::peek_claims(jwt).map_err(refused)?;
    let client_id = ClientId::parse(client_id).map_err(|_| failed())?;
    let client = store
        .get_client(tenant, &client_id)
        .await?
        .ok_or_else(failed)?;
    let claim = |name: &str| claims.get(name).and_then(Value::as_str);
    let federations = &client.federations;
    let federation = federations
        .iter()
        .find(|f| {
            Some(f.issuer.as_str()) == claim("iss") && Some(f.subject.as_str()) == claim("sub")
        })
        .or_else(|| {
            federations
                .iter()
                .find(|f| Some(f.issuer.as_str()) == claim("iss"))
        })
        .or_else(|| federations.first())
        .ok_or_else(|| {
            OAuthError::invalid_client(format!(
                "client {client_id} has no federated credential: add one \
                 (scimctl oauth federation add) or authenticate with a client secret"
            ))
        })?;
    let key = jwks
        .key(&federation.jwks_url, &header.kid)
        .await
        .map_err(|e| OAuthError::invalid_client(e.to_string()))?;
    let expected = Expected {
        issuer: &federation.issuer,
        subject: &federation.subject,
        audience: &federation.audience,
    };
    let verified =
        assertion::verify(jwt, &header, &key, expected, Timestamp::now()).map_err(refused)?;
    Ok(Proven {
        grant: Grant::Federation(federation.id.clone()),
        tokens: federation.tokens.clone(),
        used_assertion: verified.jti.map(|jti| UsedAssertion {
            jti_hash: auth::hash_secret(&jti),
            expires: verified.expires,
        }),
        client,
    })
}

/// Stores a new access token for the proven grant, with its audit event; it lives as long as
/// the tenant's settings say (one GetItem of the tenant).
async fn mint(store: &Store, tenant: &TenantId, proven: Proven) -> Result<IssuedToken, OAuthError> {
    let lifetime = store.get_tenant(tenant).await?.oauth.access_token_seconds;
    let issued = auth::issue_access_token(&proven.client.id, &proven.grant).map_err(|e| {
        tracing::error!(error = %e, "OS random source failed");
        OAuthError::new(OAuthErrorCode::ServerError, "the server failed")
    })?;
    let now = Timestamp::now();
    let token = AccessToken {
        id: issued.access.token_id.clone(),
        expires: now.plus(time::Duration::seconds(lifetime)),
        token_hash: issued.token_hash.clone(),
    };
    let audit = AuditEvent::new(
        tenant,
        Actor::Client(issued.access.clone()),
        "POST",
        "oauth.token.issue",
        "OAuthClient",
        Some(proven.client.id.as_str()),
        200,
    );
    let issue = TokenIssue {
        client: &proven.client,
        grant: &proven.grant,
        tokens: &proven.tokens,
        token: &token,
        now,
        used_assertion: proven.used_assertion,
    };
    store.store_access_token(&issue, &audit).await?;
    Ok(IssuedToken {
        access_token: issued.token,
        token_type: "Bearer",
        expires_in: lifetime,
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
