//! Administration as typed use cases: tenants, provisioning, credentials, rotation and the audit
//! trail. `scimctl`, the admin API (and soon the console) call these with parsed ids and typed
//! inputs, and render the typed views they return, so the surfaces cannot disagree, down to the
//! field names. Every change records an audit event with the administrator as its actor,
//! whatever its outcome.

use serde::Serialize;

use crate::auth;
use crate::domain::Timestamp;
use crate::federation::FederationPolicy;
use crate::protocol::{ClientId, CredentialId, FederationId, SecretId, TenantId};
use crate::service::feed::{self, EventsPage, EventsRequest};
use crate::store::{
    self, Actor, AuditEvent, AuditQuery, CheckReport, Credential, CredentialStatus, DeleteProgress,
    Grant, Progress, Store, StoreError, Tenant,
};

pub use crate::store::ProvisioningState;

pub const DEFAULT_TOKEN_DAYS: u32 = 365;
/// About a hundred years: longer is "never" (0), and would overflow date arithmetic.
pub const MAX_TOKEN_DAYS: u32 = 36_500;
/// Views flag credentials expiring within this many days (as Huawei's config rule does).
pub const EXPIRY_WARNING_DAYS: i64 = 90;
/// Audit and change events per page unless asked otherwise, and at most.
pub use crate::store::DEFAULT_AUDIT_PAGE;
pub const MAX_AUDIT_PAGE: usize = 1000;
const MAX_TENANT_NAME_BYTES: usize = 256;
pub(super) const MAX_DESCRIPTION_BYTES: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    NotFound(String),
    /// The request is valid but the current state refuses it (no free slot, a rotation not done).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Store(StoreError),
    /// A failure of this service that is neither the caller's nor the store's.
    #[error("{0}")]
    Internal(String),
}

/// What kind of failure an [`AdminError`] is: what a surface tells its caller to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    NotFound,
    Conflict,
    Invalid,
    /// Retry after a moment: the table throttled, or a transaction raced another.
    Throttled,
    /// Retry after a moment: the store did not answer in time.
    Unavailable,
    Internal,
}

impl ErrorKind {
    /// The status the admin API answers with, which the audit trail records too.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Invalid => 400,
            ErrorKind::Throttled => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::Internal => 500,
        }
    }
}

impl AdminError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            AdminError::NotFound(_) => ErrorKind::NotFound,
            AdminError::Conflict(_) => ErrorKind::Conflict,
            AdminError::Invalid(_) => ErrorKind::Invalid,
            AdminError::Store(StoreError::Throttled | StoreError::TransactionConflict) => {
                ErrorKind::Throttled
            }
            AdminError::Store(StoreError::Unavailable(_)) => ErrorKind::Unavailable,
            AdminError::Store(_) | AdminError::Internal(_) => ErrorKind::Internal,
        }
    }
}

impl From<StoreError> for AdminError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AdminError::NotFound("not found".into()),
            StoreError::Limit(detail) => AdminError::Conflict(detail),
            other => AdminError::Store(other),
        }
    }
}

type Result<T, E = AdminError> = std::result::Result<T, E>;

pub fn scim_base_path(tenant_id: &TenantId) -> String {
    format!("/{tenant_id}/scim/v2")
}

/// Tenant ids are ULIDs; anything else names no tenant.
pub fn parse_tenant(raw: &str) -> Result<TenantId> {
    TenantId::parse(raw).map_err(|_| AdminError::NotFound(format!("no tenant {raw}")))
}

/// Credential ids are ULIDs; anything else names no credential of `tenant`.
pub fn parse_credential(tenant: &TenantId, raw: &str) -> Result<CredentialId> {
    CredentialId::parse(raw)
        .map_err(|_| AdminError::NotFound(format!("tenant {tenant} has no credential {raw}")))
}

/// What a new credential should look like.
#[derive(Debug, Clone)]
pub struct NewCredential {
    pub description: String,
    /// Days until it expires; 0 never expires.
    pub expires_in_days: u32,
}

impl Default for NewCredential {
    fn default() -> Self {
        NewCredential {
            description: String::new(),
            expires_in_days: DEFAULT_TOKEN_DAYS,
        }
    }
}

// ---- Views: what the use cases answer, serialised as the admin API and `scimctl --json` show it.

/// A tenant and its provisioning state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantView {
    pub tenant_id: TenantId,
    pub name: String,
    pub created: Timestamp,
    pub provisioning: ProvisioningState,
    pub scim_base_path: String,
    pub oauth: OAuthSettingsView,
}

/// A tenant's OAuth settings as the admin surfaces show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuthSettingsView {
    /// Static bearer tokens are refused; only the token endpoint's access tokens work.
    pub oauth_only: bool,
    pub access_token_lifetime_hours: i64,
}

impl From<&Tenant> for TenantView {
    fn from(tenant: &Tenant) -> Self {
        TenantView {
            tenant_id: tenant.id.clone(),
            name: tenant.name.clone(),
            created: tenant.created,
            provisioning: tenant.state,
            scim_base_path: scim_base_path(&tenant.id),
            oauth: OAuthSettingsView {
                oauth_only: tenant.oauth.oauth_only,
                access_token_lifetime_hours: tenant.oauth.access_token_seconds / 3600,
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantList {
    pub tenants: Vec<TenantView>,
}

/// A tenant with its credentials.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantDetail {
    #[serde(flatten)]
    pub tenant: TenantView,
    pub credentials: Vec<CredentialView>,
}

/// A credential as the admin surfaces show it: metadata only, never the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    pub id: CredentialId,
    pub tenant_id: TenantId,
    pub status: CredentialStatus,
    pub description: String,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub days_until_expiry: Option<i64>,
    pub expiring_soon: bool,
    /// An expired credential fails authentication whatever its status.
    pub expired: bool,
}

impl From<&Credential> for CredentialView {
    fn from(credential: &Credential) -> Self {
        let now = Timestamp::now();
        let days_left = credential.expires.map(|e| days_between(now, e));
        CredentialView {
            id: credential.id.clone(),
            tenant_id: credential.tenant_id.clone(),
            status: credential.status,
            description: credential.description.clone(),
            created: credential.created,
            expires: credential.expires,
            last_used: credential.last_used,
            days_until_expiry: days_left,
            expiring_soon: days_left.is_some_and(|d| d <= EXPIRY_WARNING_DAYS),
            expired: credential.expires.is_some_and(|e| e <= now),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialList {
    pub tenant_id: TenantId,
    pub credentials: Vec<CredentialView>,
}

/// A new credential with its token: the one time the secret is shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedCredential {
    pub tenant_id: TenantId,
    pub credential: CredentialView,
    pub token: String,
}

/// Provisioning turned on, with its endpoint and first credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningEnabled {
    pub tenant_id: TenantId,
    pub provisioning: ProvisioningState,
    pub scim_base_path: String,
    pub credential: CredentialView,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProvisioningDisabled {
    pub tenant_id: TenantId,
    pub provisioning: ProvisioningState,
    pub deleted_credentials: usize,
}

/// A credential after its status changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialChanged {
    pub tenant_id: TenantId,
    pub credential: CredentialView,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CredentialDeleted {
    pub tenant_id: TenantId,
    pub credential_id: CredentialId,
    pub deleted: bool,
}

/// Rotation step 1: the new credential (its token shown once), and what to do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RotationStarted {
    #[serde(flatten)]
    pub issued: IssuedCredential,
    pub replaces: CredentialId,
    pub next: String,
}

/// Rotation step 2: the old credential removed, the new one remaining.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RotationFinished {
    pub tenant_id: TenantId,
    pub removed_credential_id: CredentialId,
    /// Removed although it was used more recently than the new one.
    pub forced: bool,
    pub credential: CredentialView,
}

/// What a call of a tenant delete removed; not `complete` means call again to go on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeletionReport {
    pub tenant_id: TenantId,
    pub complete: bool,
    pub deleted: DeleteProgress,
}

impl DeletionReport {
    fn new(tenant_id: &TenantId, done: &DeleteProgress) -> Self {
        DeletionReport {
            tenant_id: tenant_id.clone(),
            complete: done.complete,
            deleted: *done,
        }
    }
}

/// One audit event as the admin surfaces show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    pub time: Timestamp,
    pub event_id: String,
    pub tenant_id: TenantId,
    pub credential_id: Option<CredentialId>,
    /// The OAuth client whose access token made the request; only on such events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
    /// With `clientId`: the client secret, or the federated credential, the token came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<SecretId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub federation_id: Option<FederationId>,
    pub principal: Option<String>,
    pub method: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<String>,
    pub status: u16,
}

impl From<&AuditEvent> for AuditView {
    fn from(event: &AuditEvent) -> Self {
        AuditView {
            time: event.time,
            event_id: event.event_id.clone(),
            tenant_id: event.tenant_id.clone(),
            credential_id: event.credential_id().cloned(),
            client_id: event.client_id().cloned(),
            secret_id: match event.grant() {
                Some(Grant::Secret(id)) => Some(id.clone()),
                _ => None,
            },
            federation_id: match event.grant() {
                Some(Grant::Federation(id)) => Some(id.clone()),
                _ => None,
            },
            principal: event.principal().map(str::to_string),
            method: event.method.clone(),
            action: event.action.clone(),
            resource_type: event.resource_type.clone(),
            resource_id: event.resource_id.clone(),
            status: event.status,
        }
    }
}

/// A page of audit events, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub tenant_id: TenantId,
    pub events: Vec<AuditView>,
    pub next_cursor: Option<String>,
}

/// An administrative change, as its audit event names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    TenantCreate,
    TenantDelete,
    ProvisioningEnable,
    ProvisioningDisable,
    CredentialCreate,
    CredentialEnable,
    CredentialDisable,
    CredentialDelete,
    RotationStart,
    RotationFinish,
    /// `scimctl check --repair` fixed an item: one event per repair.
    CheckRepair,
    ClientCreate,
    ClientEnable,
    ClientDisable,
    ClientDelete,
    ClientSecretAdd,
    ClientSecretDelete,
    FederationAdd,
    FederationDelete,
    /// A tenant's OAuth settings: OAuth-only, the access tokens' lifetime.
    OAuthSettings,
}

impl AuditAction {
    pub fn name(self) -> &'static str {
        match self {
            AuditAction::TenantCreate => "tenant.create",
            AuditAction::TenantDelete => "tenant.delete",
            AuditAction::ProvisioningEnable => "provisioning.enable",
            AuditAction::ProvisioningDisable => "provisioning.disable",
            AuditAction::CredentialCreate => "credential.create",
            AuditAction::CredentialEnable => "credential.enable",
            AuditAction::CredentialDisable => "credential.disable",
            AuditAction::CredentialDelete => "credential.delete",
            AuditAction::RotationStart => "rotation.start",
            AuditAction::RotationFinish => "rotation.finish",
            AuditAction::CheckRepair => "check.repair",
            AuditAction::ClientCreate => "oauth.client.create",
            AuditAction::ClientEnable => "oauth.client.enable",
            AuditAction::ClientDisable => "oauth.client.disable",
            AuditAction::ClientDelete => "oauth.client.delete",
            AuditAction::ClientSecretAdd => "oauth.secret.add",
            AuditAction::ClientSecretDelete => "oauth.secret.delete",
            AuditAction::FederationAdd => "oauth.federation.add",
            AuditAction::FederationDelete => "oauth.federation.delete",
            AuditAction::OAuthSettings => "oauth.settings",
        }
    }

    /// The method of the admin API route that performs it (the trail records it, as for SCIM).
    fn method(self) -> &'static str {
        match self {
            AuditAction::TenantDelete
            | AuditAction::CredentialDelete
            | AuditAction::ClientDelete
            | AuditAction::ClientSecretDelete
            | AuditAction::FederationDelete => "DELETE",
            _ => "POST",
        }
    }

    fn resource_type(self) -> &'static str {
        match self {
            AuditAction::TenantCreate
            | AuditAction::TenantDelete
            | AuditAction::ProvisioningEnable
            | AuditAction::ProvisioningDisable => "Tenant",
            AuditAction::CheckRepair => "Item",
            AuditAction::ClientCreate
            | AuditAction::ClientEnable
            | AuditAction::ClientDisable
            | AuditAction::ClientDelete
            | AuditAction::ClientSecretAdd
            | AuditAction::ClientSecretDelete
            | AuditAction::FederationAdd
            | AuditAction::FederationDelete => "OAuthClient",
            AuditAction::OAuthSettings => "Tenant",
            _ => "Credential",
        }
    }

    /// The status its success answers: 201 when it creates something.
    fn success_status(self) -> u16 {
        match self {
            AuditAction::TenantCreate
            | AuditAction::ProvisioningEnable
            | AuditAction::CredentialCreate
            | AuditAction::RotationStart
            | AuditAction::ClientCreate
            | AuditAction::ClientSecretAdd
            | AuditAction::FederationAdd => 201,
            _ => 200,
        }
    }
}

/// What a successful change tells its audit event: the id of what it changed, and whether it
/// finished (a tenant delete may need another call).
pub(super) trait Audited {
    fn audited_id(&self) -> Option<String>;
    fn finished(&self) -> bool {
        true
    }
}

impl Audited for TenantView {
    /// A created tenant is the audit partition its event is in, so the event names no resource.
    fn audited_id(&self) -> Option<String> {
        None
    }
}

impl Audited for ProvisioningEnabled {
    fn audited_id(&self) -> Option<String> {
        Some(self.tenant_id.to_string())
    }
}

impl Audited for ProvisioningDisabled {
    fn audited_id(&self) -> Option<String> {
        Some(self.tenant_id.to_string())
    }
}

impl Audited for IssuedCredential {
    fn audited_id(&self) -> Option<String> {
        Some(self.credential.id.to_string())
    }
}

impl Audited for CredentialChanged {
    fn audited_id(&self) -> Option<String> {
        Some(self.credential.id.to_string())
    }
}

impl Audited for CredentialDeleted {
    fn audited_id(&self) -> Option<String> {
        Some(self.credential_id.to_string())
    }
}

impl Audited for RotationStarted {
    fn audited_id(&self) -> Option<String> {
        self.issued.audited_id()
    }
}

impl Audited for RotationFinished {
    fn audited_id(&self) -> Option<String> {
        Some(self.removed_credential_id.to_string())
    }
}

impl Audited for DeletionReport {
    fn audited_id(&self) -> Option<String> {
        Some(self.tenant_id.to_string())
    }
    fn finished(&self) -> bool {
        self.complete
    }
}

/// The administrative operations, acting as `principal` (recorded in the audit trail).
#[derive(Debug, Clone)]
pub struct Admin {
    pub(super) store: Store,
    principal: String,
    /// The API's public root (`https://…`), which issued OAuth clients' endpoint URLs start
    /// with; empty, they are paths.
    pub(super) public_root: String,
    /// Which JWKS URLs a federated credential may name.
    pub(super) federation: FederationPolicy,
}

impl Admin {
    pub fn new(store: Store, principal: impl Into<String>) -> Self {
        Admin {
            store,
            principal: principal.into(),
            public_root: String::new(),
            federation: FederationPolicy::from_env(),
        }
    }

    /// The same administration under another federation policy (tests allow a loopback JWKS).
    pub fn with_federation(mut self, policy: FederationPolicy) -> Self {
        self.federation = policy;
        self
    }

    /// Names endpoints under `root` (`https://scim.example.com`) rather than as paths.
    pub fn with_public_root(mut self, root: impl Into<String>) -> Self {
        self.public_root = root.into().trim_end_matches('/').to_string();
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn create_tenant(&self, name: &str) -> Result<TenantView> {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_TENANT_NAME_BYTES {
            return Err(AdminError::Invalid(format!(
                "a tenant needs a name of 1 to {MAX_TENANT_NAME_BYTES} bytes"
            )));
        }
        let tenant = self.store.create_tenant(name).await?;
        let created = Ok(TenantView::from(&tenant));
        self.audited(&tenant.id, AuditAction::TenantCreate, None, created)
            .await
    }

    pub async fn list_tenants(&self) -> Result<TenantList> {
        let tenants = self.store.list_tenants().await?;
        Ok(TenantList {
            tenants: tenants.iter().map(TenantView::from).collect(),
        })
    }

    /// A tenant, its provisioning state, its SCIM endpoint and its credentials.
    pub async fn show_tenant(&self, tenant_id: &TenantId) -> Result<TenantDetail> {
        let tenant = self.tenant_in_any_state(tenant_id).await?;
        Ok(TenantDetail {
            tenant: TenantView::from(&tenant),
            credentials: self.credential_views(&tenant.id).await?,
        })
    }

    /// Deletes a tenant and everything it owns, about `budget` items per call at most; the report
    /// says whether it is `complete` (else repeat: the delete resumes). `progress` sees each batch.
    pub async fn delete_tenant(
        &self,
        tenant_id: &TenantId,
        budget: usize,
        progress: impl FnMut(&DeleteProgress),
    ) -> Result<DeletionReport> {
        let action = AuditAction::TenantDelete;
        let done = self
            .store
            .delete_tenant(tenant_id, budget, progress)
            .await
            .map_err(|e| missing_tenant(e, tenant_id));
        let report = match done {
            Ok(done) => DeletionReport::new(tenant_id, &done),
            Err(err) => {
                let about = Some(tenant_id.to_string());
                return self.audited(tenant_id, action, about, Err(err)).await;
            }
        };
        if !report.complete {
            return self.audited(tenant_id, action, None, Ok(report)).await;
        }
        // The tenant's own audit partition is gone: the deletion is kept apart (docs/admin-api.md).
        let event = self.event(tenant_id, action, 200, Some(tenant_id.as_str()));
        if let Err(e) = self.store.record_tenant_deletion(&event).await {
            tracing::warn!(error = %e, "could not record audit event");
        }
        Ok(report)
    }

    pub async fn provisioning_status(&self, tenant_id: &TenantId) -> Result<TenantDetail> {
        self.show_tenant(tenant_id).await
    }

    /// Turns provisioning on and issues its first credential; the token is in the answer, once.
    pub async fn enable_provisioning(
        &self,
        tenant_id: &TenantId,
        new: &NewCredential,
    ) -> Result<ProvisioningEnabled> {
        let result = async {
            let tenant = self.tenant(tenant_id).await?;
            let (credential, token) = new_credential(&tenant.id, new)?;
            if let Err(e) = self.store.enable_provisioning(&credential).await {
                return Err(self.explain_refusal(&tenant.id, e).await);
            }
            Ok(ProvisioningEnabled {
                tenant_id: tenant.id.clone(),
                provisioning: ProvisioningState::Enabled,
                scim_base_path: scim_base_path(&tenant.id),
                credential: CredentialView::from(&credential),
                token,
            })
        }
        .await;
        let about = Some(tenant_id.to_string());
        self.audited(tenant_id, AuditAction::ProvisioningEnable, about, result)
            .await
    }

    /// Turns provisioning off: every credential is deleted at once; users and groups stay.
    pub async fn disable_provisioning(&self, tenant_id: &TenantId) -> Result<ProvisioningDisabled> {
        let result = async {
            let tenant = self.tenant(tenant_id).await?;
            let deleted = self.store.disable_provisioning(&tenant.id).await?;
            Ok(ProvisioningDisabled {
                tenant_id: tenant.id,
                provisioning: ProvisioningState::Disabled,
                deleted_credentials: deleted,
            })
        }
        .await;
        let about = Some(tenant_id.to_string());
        self.audited(tenant_id, AuditAction::ProvisioningDisable, about, result)
            .await
    }

    /// Issues a credential; the token is in the answer and nowhere else, ever.
    pub async fn create_credential(
        &self,
        tenant_id: &TenantId,
        new: &NewCredential,
    ) -> Result<IssuedCredential> {
        let result = async {
            let tenant = self.tenant(tenant_id).await?;
            self.issue(&tenant, new).await
        }
        .await;
        self.audited(tenant_id, AuditAction::CredentialCreate, None, result)
            .await
    }

    pub async fn list_credentials(&self, tenant_id: &TenantId) -> Result<CredentialList> {
        let tenant = self.tenant_in_any_state(tenant_id).await?;
        Ok(CredentialList {
            credentials: self.credential_views(&tenant.id).await?,
            tenant_id: tenant.id,
        })
    }

    pub async fn set_credential_status(
        &self,
        tenant_id: &TenantId,
        credential_id: &CredentialId,
        status: CredentialStatus,
    ) -> Result<CredentialChanged> {
        let action = match status {
            CredentialStatus::Enabled => AuditAction::CredentialEnable,
            CredentialStatus::Disabled => AuditAction::CredentialDisable,
        };
        let result = self
            .store
            .set_credential_status(tenant_id, credential_id, status)
            .await
            .map_err(|e| missing_credential(e, tenant_id, credential_id))
            .map(|credential| CredentialChanged {
                tenant_id: tenant_id.clone(),
                credential: CredentialView::from(&credential),
            });
        let about = Some(credential_id.to_string());
        self.audited(tenant_id, action, about, result).await
    }

    pub async fn delete_credential(
        &self,
        tenant_id: &TenantId,
        credential_id: &CredentialId,
    ) -> Result<CredentialDeleted> {
        let result = self
            .store
            .delete_credential(tenant_id, credential_id)
            .await
            .map_err(|e| missing_credential(e, tenant_id, credential_id))
            .map(|()| CredentialDeleted {
                tenant_id: tenant_id.clone(),
                credential_id: credential_id.clone(),
                deleted: true,
            });
        let about = Some(credential_id.to_string());
        self.audited(tenant_id, AuditAction::CredentialDelete, about, result)
            .await
    }

    /// Rotation, step 1: issues the new credential next to the one in use (the token is in the
    /// answer, once). Refused unless exactly one credential exists.
    pub async fn start_rotation(
        &self,
        tenant_id: &TenantId,
        new: &NewCredential,
    ) -> Result<RotationStarted> {
        let result = async {
            let tenant = self.tenant(tenant_id).await?;
            let existing = self.store.list_credentials(&tenant.id).await?;
            let old = match existing.as_slice() {
                [old] => old.id.clone(),
                [] => {
                    return Err(AdminError::Conflict(format!(
                        "tenant {} has no credential to rotate: create one with \
                         `scimctl token create {}`",
                        tenant.id, tenant.id
                    )))
                }
                _ => {
                    return Err(AdminError::Conflict(format!(
                        "tenant {} has no free credential slot (it has {}): finish the rotation \
                         in progress with `scimctl token rotate {} --finish`, or delete the \
                         credential that is not in use with `scimctl token delete {} <credential>`",
                        tenant.id,
                        existing.len(),
                        tenant.id,
                        tenant.id
                    )))
                }
            };
            let issued = self.issue(&tenant, new).await?;
            let next = format!(
                "put the new token into the identity provider, check that it provisions, then run \
                 `scimctl token rotate {} --finish`",
                tenant.id
            );
            Ok(RotationStarted {
                issued,
                replaces: old,
                next,
            })
        }
        .await;
        self.audited(tenant_id, AuditAction::RotationStart, None, result)
            .await
    }

    /// Rotation, step 2: disables, then deletes the older credential. Refused while the old one
    /// was used more recently than the new one (the IdP still holds it), unless `force`.
    pub async fn finish_rotation(
        &self,
        tenant_id: &TenantId,
        force: bool,
    ) -> Result<RotationFinished> {
        let result = async {
            let tenant = self.tenant(tenant_id).await?;
            let mut credentials = self.store.list_credentials(&tenant.id).await?;
            // The newer one (by creation) is the replacement.
            credentials.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
            let [old, new] = credentials.as_slice() else {
                return Err(AdminError::Conflict(format!(
                    "no rotation in progress for tenant {}: it has {} credential(s); start one \
                     with `scimctl token rotate {}`",
                    tenant.id,
                    credentials.len(),
                    tenant.id
                )));
            };
            let old_used_later = match (&old.last_used, &new.last_used) {
                (Some(old_used), Some(new_used)) => old_used > new_used,
                (Some(_), None) => true,
                (None, _) => false,
            };
            if old_used_later && !force {
                return Err(AdminError::Conflict(format!(
                    "the old credential {} was last used at {}, after the new one {} ({}): the \
                     identity provider still uses the old token. Switch it to the new token \
                     first, or pass --force (API: \"force\": true) to remove the old one anyway",
                    old.id,
                    old.last_used.map_or("-".to_string(), |t| t.to_string()),
                    new.id,
                    new.last_used
                        .map_or("never used".to_string(), |t| format!("last used at {t}")),
                )));
            }
            self.store
                .set_credential_status(&tenant.id, &old.id, CredentialStatus::Disabled)
                .await
                .map_err(|e| missing_credential(e, &tenant.id, &old.id))?;
            self.store
                .delete_credential(&tenant.id, &old.id)
                .await
                .map_err(|e| missing_credential(e, &tenant.id, &old.id))?;
            Ok(RotationFinished {
                tenant_id: tenant.id.clone(),
                removed_credential_id: old.id.clone(),
                forced: old_used_later,
                credential: CredentialView::from(new),
            })
        }
        .await;
        self.audited(tenant_id, AuditAction::RotationFinish, None, result)
            .await
    }

    /// Verifies every invariant of a tenant's data, and with `repair` fixes what is safe to fix;
    /// each repair is audited like any other write (`check.repair`, naming the problem and item).
    pub async fn check(
        &self,
        tenant_id: &TenantId,
        repair: bool,
        progress: impl FnMut(Progress),
    ) -> Result<CheckReport> {
        let report = self.store.check(tenant_id, repair, progress).await?;
        for problem in report.problems.iter().filter(|p| p.repaired) {
            let about = format!("{}: {} / {}", problem.kind.as_str(), problem.pk, problem.sk);
            let action = AuditAction::CheckRepair;
            let event = self.event(tenant_id, action, 200, Some(&about));
            if let Err(e) = self.store.record_audit(&event).await {
                tracing::warn!(error = %e, action = action.name(), "could not record audit event");
            }
        }
        Ok(report)
    }

    /// A page of the tenant's audit events, newest first.
    pub async fn audit_events(
        &self,
        tenant_id: &TenantId,
        query: &AuditQuery,
    ) -> Result<AuditPage> {
        let malformed_cursor = query
            .cursor
            .as_deref()
            .is_some_and(|c| c.is_empty() || c.len() > 100 || !c.contains('#'));
        if malformed_cursor {
            return Err(AdminError::Invalid(
                "cursor must be a nextCursor value from a previous page".into(),
            ));
        }
        if query
            .credential_id
            .as_deref()
            .is_some_and(|c| c.is_empty() || c.len() > 100)
        {
            return Err(AdminError::Invalid("credential id is malformed".into()));
        }
        check_page_limit(query.limit)?;
        let page = self.store.list_audit(tenant_id, query).await?;
        Ok(AuditPage {
            tenant_id: tenant_id.clone(),
            events: page.events.iter().map(AuditView::from).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// A page of the tenant's change events, oldest first (`service::feed`).
    pub async fn change_events(
        &self,
        tenant_id: &TenantId,
        request: &EventsRequest,
    ) -> Result<EventsPage> {
        feed::read(&self.store, tenant_id, request).await
    }

    pub(super) async fn tenant_in_any_state(&self, tenant_id: &TenantId) -> Result<Tenant> {
        self.store
            .get_tenant(tenant_id)
            .await
            .map_err(|e| missing_tenant(e, tenant_id))
    }

    /// The tenant, unless a delete of it has started (then nothing may change it but the delete).
    pub(super) async fn tenant(&self, tenant_id: &TenantId) -> Result<Tenant> {
        let tenant = self.tenant_in_any_state(tenant_id).await?;
        let id = &tenant.id;
        if tenant.state == ProvisioningState::Deleting {
            return Err(AdminError::Conflict(format!(
                "tenant {id} is being deleted: `scimctl tenant delete {id} --yes` finishes it"
            )));
        }
        Ok(tenant)
    }

    /// Issues a credential: its metadata and the token, shown this once.
    async fn issue(&self, tenant: &Tenant, new: &NewCredential) -> Result<IssuedCredential> {
        if tenant.state != ProvisioningState::Enabled {
            return Err(provisioning_off(&tenant.id));
        }
        let (credential, token) = new_credential(&tenant.id, new)?;
        if let Err(e) = self.store.create_credential(&credential).await {
            return Err(self.explain_refusal(&tenant.id, e).await);
        }
        Ok(IssuedCredential {
            tenant_id: tenant.id.clone(),
            credential: CredentialView::from(&credential),
            token,
        })
    }

    /// Says precisely why the store refused a new credential (the transaction only knows that a
    /// condition failed).
    async fn explain_refusal(&self, tenant_id: &TenantId, err: StoreError) -> AdminError {
        if !matches!(err, StoreError::Limit(_)) {
            return err.into();
        }
        let tenant = match self.store.get_tenant(tenant_id).await {
            Ok(tenant) => tenant,
            Err(e) => return missing_tenant(e, tenant_id),
        };
        match tenant.state {
            ProvisioningState::Deleting => {
                return AdminError::Conflict(format!("tenant {tenant_id} is being deleted"))
            }
            ProvisioningState::Disabled => return provisioning_off(tenant_id),
            ProvisioningState::Enabled => {}
        }
        if tenant.oauth.oauth_only {
            return AdminError::Conflict(format!(
                "tenant {tenant_id} accepts OAuth access tokens only, so it gets no static token: \
                 turn that off first (`scimctl tenant oauth-only {tenant_id} off`) or use an OAuth \
                 client (`scimctl oauth client create {tenant_id}`)"
            ));
        }
        let ids = match self.store.list_credentials(tenant_id).await {
            Ok(list) => list
                .into_iter()
                .map(|c| c.id.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            Err(e) => return e.into(),
        };
        AdminError::Conflict(format!(
            "tenant {tenant_id} already has {} credentials ({ids}), the most it can have: delete \
             one (`scimctl token delete {tenant_id} <credential>`) or rotate \
             (`scimctl token rotate {tenant_id} --finish` removes the older)",
            store::MAX_CREDENTIALS
        ))
    }

    async fn credential_views(&self, tenant_id: &TenantId) -> Result<Vec<CredentialView>> {
        let credentials = self.store.list_credentials(tenant_id).await?;
        Ok(credentials.iter().map(CredentialView::from).collect())
    }

    fn event(
        &self,
        tenant: &TenantId,
        action: AuditAction,
        status: u16,
        resource_id: Option<&str>,
    ) -> AuditEvent {
        AuditEvent::new(
            tenant,
            Actor::Admin(self.principal.clone()),
            action.method(),
            action.name(),
            action.resource_type(),
            resource_id,
            status,
        )
    }

    /// Records a change's audit event, whatever its outcome: the status it answered, or the error's
    /// (unless its tenant does not exist: a mistyped id gets no audit partition). `about` is the id
    /// the change names when it fails; a success names its own. The change already happened or was
    /// refused, so failing to record it is logged, not reported.
    pub(super) async fn audited<T: Audited>(
        &self,
        tenant: &TenantId,
        action: AuditAction,
        about: Option<String>,
        result: Result<T>,
    ) -> Result<T> {
        let (status, resource_id) = match &result {
            Ok(done) if done.finished() => (action.success_status(), done.audited_id()),
            Ok(done) => (202, done.audited_id()),
            Err(err) => {
                if self.store.get_tenant(tenant).await.is_err() {
                    return result;
                }
                (err.kind().status(), about)
            }
        };
        let event = self.event(tenant, action, status, resource_id.as_deref());
        if let Err(e) = self.store.record_audit(&event).await {
            tracing::warn!(error = %e, action = action.name(), "could not record audit event");
        }
        result
    }
}

/// The one check of a page size, for the audit trail and the change events alike.
pub fn check_page_limit(limit: usize) -> Result<()> {
    if (1..=MAX_AUDIT_PAGE).contains(&limit) {
        return Ok(());
    }
    Err(AdminError::Invalid(format!(
        "limit is a number from 1 to {MAX_AUDIT_PAGE}"
    )))
}

pub(super) fn provisioning_off(tenant_id: &TenantId) -> AdminError {
    AdminError::Conflict(format!(
        "provisioning is disabled for tenant {tenant_id}: `scimctl provisioning enable \
         {tenant_id}` turns it on and issues its first token"
    ))
}

pub(super) fn missing_tenant(err: StoreError, tenant: &TenantId) -> AdminError {
    match err {
        StoreError::NotFound => AdminError::NotFound(format!("no tenant {tenant}")),
        other => other.into(),
    }
}

fn missing_credential(err: StoreError, tenant: &TenantId, credential: &CredentialId) -> AdminError {
    match err {
        StoreError::NotFound => {
            AdminError::NotFound(format!("tenant {tenant} has no credential {credential}"))
        }
        other => other.into(),
    }
}

fn new_credential(tenant_id: &TenantId, new: &NewCredential) -> Result<(Credential, String)> {
    if new.expires_in_days > MAX_TOKEN_DAYS {
        return Err(AdminError::Invalid(format!(
            "a token expires in at most {MAX_TOKEN_DAYS} days (0: never)"
        )));
    }
    if new.description.len() > MAX_DESCRIPTION_BYTES {
        return Err(AdminError::Invalid(format!(
            "a description is at most {MAX_DESCRIPTION_BYTES} bytes"
        )));
    }
    let issued =
        auth::issue().map_err(|e| AdminError::Internal(format!("OS random source failed: {e}")))?;
    let created = Timestamp::now();
    let expires = (new.expires_in_days > 0)
        .then(|| created.plus(time::Duration::days(i64::from(new.expires_in_days))));
    let credential = Credential {
        tenant_id: tenant_id.clone(),
        id: issued.credential_id.clone(),
        status: CredentialStatus::Enabled,
        description: new.description.clone(),
        created,
        expires,
        last_used: None,
        secret_hash: issued.secret_hash.clone(),
        oauth_only: false,
    };
    Ok((credential, issued.token))
}

/// Whole days from `now` to `at` (negative once past).
pub(super) fn days_between(now: Timestamp, at: Timestamp) -> i64 {
    (at.as_datetime() - now.as_datetime()).whole_days()
}

/// `--since` / `since=`: an RFC 3339 time, or a span back from now such as `30m`, `12h`, `7d`.
pub fn parse_since(raw: &str) -> Result<String> {
    let raw = raw.trim();
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    if let Ok(at) = time::OffsetDateTime::parse(raw, rfc3339) {
        return Ok(store::timestamp(at));
    }
    if let Ok(midnight) = time::OffsetDateTime::parse(&format!("{raw}T00:00:00Z"), rfc3339) {
        return Ok(store::timestamp(midnight));
    }
    let invalid = || {
        AdminError::Invalid(format!(
            "since must be an RFC 3339 time (2026-01-31T12:00:00Z), a date (2026-01-31, UTC) or \
             a span like 30m, 12h, 7d; got {raw:?}"
        ))
    };
    // The unit is the last character, whatever its width (`7é` must be refused, not split
    // inside a character).
    let unit_at = raw
        .char_indices()
        .last()
        .map(|(i, _)| i)
        .ok_or_else(invalid)?;
    let (number, unit) = (
        raw.get(..unit_at).unwrap_or(""),
        raw.get(unit_at..).unwrap_or(""),
    );
    let amount: i64 = number.parse().map_err(|_| invalid())?;
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => return Err(invalid()),
    };
    let seconds = amount
        .checked_mul(unit_seconds)
        .filter(|s| (0..=36_500 * 86_400).contains(s))
        .ok_or_else(invalid)?;
    Ok(store::timestamp(
        time::OffsetDateTime::now_utc() - time::Duration::seconds(seconds),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(expires: Option<Timestamp>) -> Credential {
        Credential {
            tenant_id: TenantId::generate(),
            id: CredentialId::generate(),
            status: CredentialStatus::Enabled,
            description: "d".into(),
            created: Timestamp::now(),
            expires,
            last_used: None,
            secret_hash: "secret-hash".into(),
            oauth_only: false,
        }
    }

    #[test]
    fn credentials_expiring_within_90_days_are_flagged() {
        let in_days = |d: i64| {
            Some(Timestamp::now().plus(time::Duration::days(d) + time::Duration::hours(1)))
        };
        let soon = CredentialView::from(&credential(in_days(30)));
        assert_eq!(
            (soon.days_until_expiry, soon.expiring_soon),
            (Some(30), true)
        );
        let later = CredentialView::from(&credential(in_days(200)));
        assert!(!later.expiring_soon);
        let never = CredentialView::from(&credential(None));
        assert!(never.days_until_expiry.is_none() && !never.expiring_soon);
        let wire = serde_json::to_value(&never).unwrap();
        assert!(wire["daysUntilExpiry"].is_null() && wire["expiringSoon"] == false);
        assert!(
            !wire.to_string().contains("secret-hash"),
            "the hash is never shown"
        );
    }

    #[test]
    fn since_takes_times_and_spans() {
        assert_eq!(
            parse_since("2026-01-31T12:00:00Z").unwrap(),
            "2026-01-31T12:00:00.000Z"
        );
        assert_eq!(
            parse_since("2026-01-31").unwrap(),
            "2026-01-31T00:00:00.000Z"
        );
        let hour_ago = parse_since("1h").unwrap();
        let expected = store::timestamp(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
        assert_eq!(hour_ago[..16], expected[..16]);
        for bad in [
            "",
            "h",
            "5y",
            "-3d",
            "yesterday",
            "7é",
            "é",
            "1日",
            "2026-02-30",
            "99999999999d",
            "9223372036854775807d",
        ] {
            assert!(
                matches!(parse_since(bad), Err(AdminError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn errors_have_kinds() {
        let status = |e: AdminError| e.kind().status();
        assert_eq!(status(AdminError::from(StoreError::NotFound)), 404);
        assert_eq!(status(AdminError::from(StoreError::Limit("x".into()))), 409);
        assert_eq!(status(AdminError::from(StoreError::Throttled)), 429);
        assert_eq!(
            status(AdminError::from(StoreError::TransactionConflict)),
            429
        );
        assert_eq!(
            status(AdminError::from(StoreError::Unavailable("x".into()))),
            503
        );
        assert_eq!(status(AdminError::Invalid("x".into())), 400);
        assert_eq!(status(AdminError::Internal("x".into())), 500);
    }

    #[test]
    fn page_limits_are_checked_once() {
        assert!(check_page_limit(0).is_err());
        assert!(check_page_limit(1).is_ok());
        assert!(check_page_limit(MAX_AUDIT_PAGE).is_ok());
        assert!(check_page_limit(MAX_AUDIT_PAGE + 1).is_err());
    }
}
