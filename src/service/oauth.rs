//! OAuth 2.0 clients of a tenant, managed as tokens are: at most two per tenant, each with at
//! most two secrets (so a rotation overlaps), every secret shown once, stored hashed and expiring.
//! Every change is audited with the administrator as its actor. `scimctl oauth` and the admin
//! API's `…/oauth/clients` routes call these.

use serde::Serialize;

use super::admin::{
    days_between, missing_tenant, provisioning_off, Admin, AdminError, AuditAction, Audited,
    TenantView, EXPIRY_WARNING_DAYS, MAX_DESCRIPTION_BYTES,
};
use crate::auth;
use crate::domain::Timestamp;
use crate::federation::{FederationPolicy, MAX_URL_BYTES};
use crate::protocol::{ClientId, FederationId, SecretId, TenantId};
use crate::store::{
    ClientSecret, CredentialStatus, FederatedCredential, Grant, OAuthClient, ProvisioningState,
    StoreError, MAX_ACCESS_TOKEN_SECONDS, MAX_CLIENTS, MIN_ACCESS_TOKEN_SECONDS,
};

type Result<T, E = AdminError> = std::result::Result<T, E>;

/// A client secret's lifetime unless asked otherwise, and its bounds: never unlimited.
pub const DEFAULT_SECRET_DAYS: u32 = 365;
pub const MIN_SECRET_DAYS: u32 = 30;
pub const MAX_SECRET_DAYS: u32 = 3 * 365;

/// Client ids are ULIDs; anything else names no client of `tenant`.
pub fn parse_client(tenant: &TenantId, raw: &str) -> Result<ClientId> {
    ClientId::parse(raw)
        .map_err(|_| AdminError::NotFound(format!("tenant {tenant} has no OAuth client {raw}")))
}

/// Secret ids are ULIDs; anything else names no secret of `client`.
pub fn parse_secret(client: &ClientId, raw: &str) -> Result<SecretId> {
    SecretId::parse(raw)
        .map_err(|_| AdminError::NotFound(format!("OAuth client {client} has no secret {raw}")))
}

/// Federated credential ids are ULIDs; anything else names none of `client`'s.
pub fn parse_federation(client: &ClientId, raw: &str) -> Result<FederationId> {
    FederationId::parse(raw).map_err(|_| {
        AdminError::NotFound(format!(
            "OAuth client {client} has no federated credential {raw}"
        ))
    })
}

/// The token endpoint of a tenant, under the API's root.
pub fn token_endpoint_path(tenant: &TenantId) -> String {
    format!("/{tenant}/oauth2/token")
}

/// What a new client should look like.
#[derive(Debug, Clone)]
pub struct NewClient {
    pub description: String,
    /// Days until its first secret expires; `None`: no secret (a client that will authenticate
    /// with a federated credential only).
    pub secret_expires_in_days: Option<u32>,
}

impl Default for NewClient {
    fn default() -> Self {
        NewClient {
            description: String::new(),
            secret_expires_in_days: Some(DEFAULT_SECRET_DAYS),
        }
    }
}

/// A federated credential to add: what the IdP's admin copies from the IdP (for Entra: the
/// issuer `https://login.microsoftonline.com/<tenant>/v2.0`, its JWKS URL, the provisioning
/// service's object id as subject, and the app's audience).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFederation {
    pub issuer: String,
    pub jwks_url: String,
    pub subject: String,
    pub audience: String,
}

/// A federated credential as the admin surfaces show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FederationView {
    pub federation_id: FederationId,
    pub created: Timestamp,
    pub issuer: String,
    pub jwks_url: String,
    pub subject: String,
    pub audience: String,
}

impl From<&FederatedCredential> for FederationView {
    fn from(f: &FederatedCredential) -> Self {
        FederationView {
            federation_id: f.id.clone(),
            created: f.created,
            issuer: f.issuer.clone(),
            jwks_url: f.jwks_url.clone(),
            subject: f.subject.clone(),
            audience: f.audience.clone(),
        }
    }
}

/// A federated credential added to a client, with what the IdP's admin pastes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddedFederation {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub federation_id: FederationId,
    pub token_endpoint: String,
    pub scim_url: String,
    pub client: OAuthClientView,
}

impl Audited for AddedFederation {
    fn audited_id(&self) -> Option<String> {
        Some(self.client_id.to_string())
    }
}

/// Each field is required, one line of at most `MAX_URL_BYTES`; the issuer is a URL (Entra's
/// and every OIDC issuer's is), and the JWKS URL is https (loopback only on a local stack).
fn check_federation(new: &NewFederation, policy: FederationPolicy) -> Result<()> {
    for (name, value) in [
        ("issuer", &new.issuer),
        ("jwksUrl", &new.jwks_url),
        ("subject", &new.subject),
        ("audience", &new.audience),
    ] {
        if value.trim().is_empty() || value.trim() != value {
            return Err(AdminError::Invalid(format!(
                "{name} is required, without surrounding spaces"
            )));
        }
        if value.len() > MAX_URL_BYTES || value.chars().any(char::is_control) {
            return Err(AdminError::Invalid(format!(
                "{name} is one line of at most {MAX_URL_BYTES} bytes"
            )));
        }
    }
    policy
        .check_jwks_url(&new.jwks_url)
        .map_err(AdminError::Invalid)
}

/// A secret as the admin surfaces show it: metadata only, never the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSecretView {
    pub secret_id: SecretId,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub days_until_expiry: i64,
    pub expiring_soon: bool,
    /// An expired secret gets no access token.
    pub expired: bool,
}

impl From<&ClientSecret> for ClientSecretView {
    fn from(secret: &ClientSecret) -> Self {
        let now = Timestamp::now();
        let days_left = days_between(now, secret.expires);
        ClientSecretView {
            secret_id: secret.id.clone(),
            created: secret.created,
            expires: secret.expires,
            days_until_expiry: days_left,
            expiring_soon: days_left <= EXPIRY_WARNING_DAYS,
            expired: secret.expires <= now,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClientView {
    pub client_id: ClientId,
    pub tenant_id: TenantId,
    pub status: CredentialStatus,
    pub description: String,
    pub created: Timestamp,
    /// Oldest first.
    pub secrets: Vec<ClientSecretView>,
    /// Oldest first.
    pub federations: Vec<FederationView>,
}

impl From<&OAuthClient> for OAuthClientView {
    fn from(client: &OAuthClient) -> Self {
        OAuthClientView {
            client_id: client.id.clone(),
            tenant_id: client.tenant_id.clone(),
            status: client.status,
            description: client.description.clone(),
            created: client.created,
            secrets: client.secrets.iter().map(ClientSecretView::from).collect(),
            federations: client
                .federations
                .iter()
                .map(FederationView::from)
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClientList {
    pub tenant_id: TenantId,
    pub clients: Vec<OAuthClientView>,
}

/// A new client with its first secret: the one time the secret is shown, with what an IdP's
/// admin copies into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedClient {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    /// Absent for a client created without a secret (federation only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<SecretId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_expires_at: Option<Timestamp>,
    pub token_endpoint: String,
    pub scim_url: String,
    pub client: OAuthClientView,
}

/// A secret added to a client (shown this once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AddedClientSecret {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub client_secret: String,
    pub secret_id: SecretId,
    pub secret_expires_at: Timestamp,
    pub client: OAuthClientView,
}

/// A client after a change of its status or secrets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClientChanged {
    pub tenant_id: TenantId,
    pub client: OAuthClientView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthClientDeleted {
    pub tenant_id: TenantId,
    pub client_id: ClientId,
    pub deleted: bool,
}

impl Audited for IssuedClient {
    fn audited_id(&self) -> Option<String> {
        Some(self.client_id.to_string())
    }
}

impl Audited for AddedClientSecret {
    fn audited_id(&self) -> Option<String> {
        Some(self.client_id.to_string())
    }
}

impl Audited for OAuthClientChanged {
    fn audited_id(&self) -> Option<String> {
        Some(self.client.client_id.to_string())
    }
}

impl Audited for OAuthClientDeleted {
    fn audited_id(&self) -> Option<String> {
        Some(self.client_id.to_string())
    }
}

fn missing_client(err: StoreError, tenant: &TenantId, client: &ClientId) -> AdminError {
    match err {
        StoreError::NotFound => {
            AdminError::NotFound(format!("tenant {tenant} has no OAuth client {client}"))
        }
        other => other.into(),
    }
}

/// A new secret expiring in `days`, and the secret itself (shown once).
fn new_secret(days: u32) -> Result<(ClientSecret, String)> {
    if !(MIN_SECRET_DAYS..=MAX_SECRET_DAYS).contains(&days) {
        return Err(AdminError::Invalid(format!(
            "a client secret expires in {MIN_SECRET_DAYS} to {MAX_SECRET_DAYS} days \
             (default {DEFAULT_SECRET_DAYS}); it cannot be unlimited"
        )));
    }
    let issued = auth::issue_client_secret()
        .map_err(|e| AdminError::Internal(format!("OS random source failed: {e}")))?;
    let created = Timestamp::now();
    let secret = ClientSecret {
        id: issued.secret_id,
        created,
        expires: created.plus(time::Duration::days(i64::from(days))),
        secret_hash: issued.secret_hash,
        tokens: Vec::new(),
    };
    Ok((secret, issued.secret))
}

impl Admin {
    /// Creates a client with its first secret; the secret is in the answer and nowhere else.
    pub async fn create_client(
        &self,
        tenant_id: &TenantId,
        new: &NewClient,
    ) -> Result<IssuedClient> {
        let result = self.issue_client(tenant_id, new).await;
        self.audited(tenant_id, AuditAction::ClientCreate, None, result)
            .await
    }

    async fn issue_client(&self, tenant_id: &TenantId, new: &NewClient) -> Result<IssuedClient> {
        if new.description.len() > MAX_DESCRIPTION_BYTES {
            return Err(AdminError::Invalid(format!(
                "a description is at most {MAX_DESCRIPTION_BYTES} bytes"
            )));
        }
        let secret = new.secret_expires_in_days.map(new_secret).transpose()?;
        let tenant = self.tenant(tenant_id).await?;
        if tenant.state != ProvisioningState::Enabled {
            return Err(provisioning_off(tenant_id));
        }
        let client = OAuthClient {
            tenant_id: tenant.id.clone(),
            id: ClientId::generate(),
            status: CredentialStatus::Enabled,
            description: new.description.clone(),
            created: Timestamp::now(),
            secrets: secret.iter().map(|(s, _)| s.clone()).collect(),
            federations: Vec::new(),
        };
        if let Err(e) = self.store.create_client(&client).await {
            return Err(self.explain_client_refusal(tenant_id, e).await);
        }
        Ok(IssuedClient {
            tenant_id: tenant.id.clone(),
            client_id: client.id.clone(),
            secret_id: secret.as_ref().map(|(s, _)| s.id.clone()),
            secret_expires_at: secret.as_ref().map(|(s, _)| s.expires),
            client_secret: secret.map(|(_, shown)| shown),
            token_endpoint: self.endpoint(&token_endpoint_path(&tenant.id)),
            scim_url: self.endpoint(&super::admin::scim_base_path(&tenant.id)),
            client: OAuthClientView::from(&client),
        })
    }

    /// A path of the API as the IdP's admin copies it: under the public root when there is one.
    fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.public_root)
    }

    /// Says why the store refused a new client (the transaction only knows a condition failed).
    async fn explain_client_refusal(&self, tenant_id: &TenantId, err: StoreError) -> AdminError {
        if !matches!(err, StoreError::Limit(_)) {
            return err.into();
        }
        let tenant = match self.store.get_tenant(tenant_id).await {
            Ok(tenant) => tenant,
            Err(e) => return missing_tenant(e, tenant_id),
        };
        if tenant.state != ProvisioningState::Enabled {
            return provisioning_off(tenant_id);
        }
        let ids = match self.store.list_clients(tenant_id).await {
            Ok(list) => list
                .into_iter()
                .map(|c| c.id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            Err(e) => return e.into(),
        };
        AdminError::Conflict(format!(
            "tenant {tenant_id} already has {MAX_CLIENTS} OAuth clients ({ids}), the most it can \
             have: delete one first (`scimctl oauth client delete {tenant_id} <client>`)"
        ))
    }

    pub async fn list_clients(&self, tenant_id: &TenantId) -> Result<OAuthClientList> {
        let tenant = self.tenant_in_any_state(tenant_id).await?;
        let clients = self.store.list_clients(&tenant.id).await?;
        Ok(OAuthClientList {
            clients: clients.iter().map(OAuthClientView::from).collect(),
            tenant_id: tenant.id,
        })
    }

    pub async fn set_client_status(
        &self,
        tenant_id: &TenantId,
        client_id: &ClientId,
        status: CredentialStatus,
    ) -> Result<OAuthClientChanged> {
        let action = match status {
            CredentialStatus::Enabled => AuditAction::ClientEnable,
            CredentialStatus::Disabled => AuditAction::ClientDisable,
        };
        let result = self
            .store
            .set_client_status(tenant_id, client_id, status)
            .await
            .map_err(|e| missing_client(e, tenant_id, client_id))
            .map(|client| OAuthClientChanged {
                tenant_id: tenant_id.clone(),
                client: OAuthClientView::from(&client),
            });
        let about = Some(client_id.to_string());
        self.audited(tenant_id, action, about, result).await
    }

    /// Deletes a client and its secrets: it gets no token from then on.
    pub async fn delete_client(
        &self,
        tenant_id: &TenantId,
        client_id: &ClientId,
    ) -> Result<OAuthClientDeleted> {
        let result = self
            .store
            .delete_client(tenant_id, client_id)
            .await
            .map_err(|e| missing_client(e, tenant_id, client_id))
            .map(|()| OAuthClientDeleted {
                tenant_id: tenant_id.clone(),
                client_id: client_id.clone(),
                deleted: true,
            });
        let about = Some(client_id.to_string());
        self.audited(tenant_id, AuditAction::ClientDelete, about, result)
            .await
    }

    /// Adds a secret next to the one in use (at most two), shown this once.
    pub async fn add_client_secret(
        &self,
        tenant_id: &TenantId,
        client_id: &ClientId,
        expires_in_days: u32,
    ) -> Result<AddedClientSecret> {
        let result = async {
            let (secret, shown) = new_secret(expires_in_days)?;
            let tenant = self.tenant(tenant_id).await?;
            let client = self
                .store
                .add_client_secret(&tenant.id, client_id, &secret)
                .await
                .map_err(|e| missing_client(e, tenant_id, client_id))?;
            Ok(AddedClientSecret {
                tenant_id: tenant.id,
                client_id: client.id.clone(),
                client_secret: shown,
                secret_id: secret.id,
                secret_expires_at: secret.expires,
                client: OAuthClientView::from(&client),
            })
        }
        .await;
        let about = Some(client_id.to_string());
        self.audited(tenant_id, AuditAction::ClientSecretAdd, about, result)
            .await
    }

    /// Deletes one secret: it gets no token from then on.
    pub async fn delete_client_secret(
        &self,
        tenant_id: &TenantId,
        client_id: &ClientId,
        secret_id: &SecretId,
    ) -> Result<OAuthClientChanged> {
        let grant = Grant::Secret(secret_id.clone());
        let what = format!("secret {secret_id}");
        let action = AuditAction::ClientSecretDelete;
        self.delete_grant(tenant_id, client_id, &grant, &what, action)
            .await
    }

    /// Deletes a grant of a client (`what` names it in a 404) with the access tokens issued for
    /// it, audited as `action`.
    async fn delete_grant(
        &self,
        tenant_id: &TenantId,
        client_id: &ClientId,
        grant: &Grant,
        what: &str,
        action: AuditAction,
    ) -> Result<OAuthClientChanged> {
        let result = self
            .store
            .delete_grant(tenant_id, client_id, grant)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => AdminError::NotFound(format!(
                    "tenant {tenant_id} has no OAuth client {client_id} with {what}"
                )),
                other => other.into(),
            })
            .map(|client| OAuthClientChanged {
                tenant_id: tenant_id.clone(),
                client: OAuthClientView::from(&client),
            });
        let about = Some(client_id.to_string());
        self.audited(tenant_id, action, about, result).await
    }

    /// Adds a federated credential to a client (at most two): assertions its issuer signs for
    /// its subject and audience then get access tokens.
    pub async fn add_federation(
        &self,
        tenant_id: &TenantId,
        client_id: &ClientId,
        new: &NewFederation,
    ) -> Result<AddedFederation> {
        let result = async {
            check_federation(new, self.federation)?;
            let tenant = self.tenant(tenant_id).await?;
            let federation = FederatedCredential {
                id: FederationId::generate(),
                created: Timestamp::now(),
                issuer: new.issuer.clone(),
                jwks_url: new.jwks_url.clone(),
                subject: new.subject.clone(),
                audience: new.audience.clone(),
                tokens: Vec::new(),
            };
            let client = self
                .store
                .add_federation(&tenant.id, client_id, &federation)
                .await
                .map_err(|e| missing_client(e, tenant_id, client_id))?;
            Ok(AddedFederation {
                tenant_id: tenant.id.clone(),
                client_id: client.id.clone(),
                federation_id: federation.id,
                token_endpoint: self.endpoint(&token_endpoint_path(&tenant.id)),
                scim_url: self.endpoint(&super::admin::scim_base_path(&tenant.id)),
                client: OAuthClientView::from(&client),
            })
        }
        .await;
        let about = Some(client_id.to_string());
        self.audited(tenant_id, AuditAction::FederationAdd, about, result)
            .await
    }

    /// Deletes a federated credential and the access tokens issued for it.
    pub async fn delete_federation(
        &self,
        tenant_id: &TenantId,
        client_id: &ClientId,
        federation_id: &FederationId,
    ) -> Result<OAuthClientChanged> {
        let grant = Grant::Federation(federation_id.clone());
        let what = format!("federated credential {federation_id}");
        let action = AuditAction::FederationDelete;
        self.delete_grant(tenant_id, client_id, &grant, &what, action)
            .await
    }

    /// Makes the tenant accept OAuth access tokens only (`on`), refusing its static tokens at
    /// once, or accept both again.
    pub async fn set_oauth_only(&self, tenant_id: &TenantId, on: bool) -> Result<TenantChanged> {
        let result = self
            .store
            .set_oauth_only(tenant_id, on)
            .await
            .map_err(|e| match e {
                StoreError::Limit(detail) => AdminError::Conflict(detail),
                other => missing_tenant(other, tenant_id),
            })
            .map(|tenant| TenantChanged {
                tenant: TenantView::from(&tenant),
            });
        self.audited(tenant_id, AuditAction::OAuthSettings, None, result)
            .await
    }

    /// Sets how long the tenant's access tokens live: 1 to 6 hours. Tokens already issued keep
    /// the lifetime they were issued with.
    pub async fn set_access_token_lifetime(
        &self,
        tenant_id: &TenantId,
        hours: u32,
    ) -> Result<TenantChanged> {
        let result = async {
            let seconds = i64::from(hours) * 3600;
            if !(MIN_ACCESS_TOKEN_SECONDS..=MAX_ACCESS_TOKEN_SECONDS).contains(&seconds) {
                return Err(AdminError::Invalid(format!(
                    "an access token lives {} to {} hours",
                    MIN_ACCESS_TOKEN_SECONDS / 3600,
                    MAX_ACCESS_TOKEN_SECONDS / 3600
                )));
            }
            let tenant = self
                .store
                .set_access_token_lifetime(tenant_id, seconds)
                .await
                .map_err(|e| missing_tenant(e, tenant_id))?;
            Ok(TenantChanged {
                tenant: TenantView::from(&tenant),
            })
        }
        .await;
        self.audited(tenant_id, AuditAction::OAuthSettings, None, result)
            .await
    }
}

/// A tenant after a change of its settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantChanged {
    #[serde(flatten)]
    pub tenant: TenantView,
}

impl Audited for TenantChanged {
    fn audited_id(&self) -> Option<String> {
        Some(self.tenant.tenant_id.to_string())
    }
}
