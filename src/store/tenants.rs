//! Tenants and their SCIM credentials. A credential item holds only the SHA-256 of its secret and
//! sits in the tenant's partition, so authenticating a request is one GetItem on a key that the
//! tenant in the URL and the credential id in the token both pin down.

use aws_sdk_dynamodb::types::builders::UpdateBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};

use super::audit::{Actor, AuditEvent};
use super::keys::*;
use super::oauth::OAuthClient;
use super::slots::build_error;
use super::{
    get_id, get_s, get_time, kind_attr, n, opt_s, opt_time, query_all, s, Action, Item, Store,
    StoreError,
};
use crate::domain::Timestamp;
pub use crate::domain::{CredentialStatus, ProvisioningState};
use crate::protocol::{CredentialId, TenantId};

/// At most two credentials per tenant, as the IAM Identity Center and CloudSSO consoles allow.
pub const MAX_CREDENTIALS: u64 = 2;

/// How long the token endpoint's access tokens live, unless the tenant says otherwise, and the
/// range a tenant may choose from (Entra's gallery: 60 minutes to 6 hours).
pub const DEFAULT_ACCESS_TOKEN_SECONDS: i64 = 3600;
pub const MIN_ACCESS_TOKEN_SECONDS: i64 = 3600;
pub const MAX_ACCESS_TOKEN_SECONDS: i64 = 6 * 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created: Timestamp,
    pub state: ProvisioningState,
    pub oauth: OAuthSettings,
}

/// A tenant's OAuth settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OAuthSettings {
    /// Static bearer tokens are refused: only access tokens from the token endpoint work.
    pub oauth_only: bool,
    /// The lifetime of the access tokens the tenant's token endpoint issues.
    pub access_token_seconds: i64,
}

impl Default for OAuthSettings {
    fn default() -> Self {
        OAuthSettings {
            oauth_only: false,
            access_token_seconds: DEFAULT_ACCESS_TOKEN_SECONDS,
        }
    }
}

/// Whether an item says `oauthOnly: true` (a tenant, or a credential the setting reached).
fn oauth_only(item: &Item) -> bool {
    matches!(item.get("oauthOnly"), Some(AttributeValue::Bool(true)))
}

impl Tenant {
    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let seconds = item
            .get("accessTokenSeconds")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<i64>().ok())
            .filter(|s| (MIN_ACCESS_TOKEN_SECONDS..=MAX_ACCESS_TOKEN_SECONDS).contains(s));
        Ok(Tenant {
            id: get_id(item, "id")?,
            name: get_s(item, "name")?.into(),
            created: get_time(item, "created")?,
            state: ProvisioningState::parse(opt_s(item, "provisioningState").as_deref()),
            oauth: OAuthSettings {
                oauth_only: oauth_only(item),
                access_token_seconds: seconds.unwrap_or(DEFAULT_ACCESS_TOKEN_SECONDS),
            },
        })
    }
}

/// Neither a tenant nor a credential in OAuth-only mode: the condition a static token's create
/// and writes carry.
const NOT_OAUTH_ONLY: &str = "(attribute_not_exists(oauthOnly) OR oauthOnly = :false)";

const ENABLED: &str = ProvisioningState::Enabled.as_str();
const DISABLED: &str = ProvisioningState::Disabled.as_str();
const DELETING: &str = ProvisioningState::Deleting.as_str();

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    pub tenant_id: TenantId,
    pub id: CredentialId,
    pub status: CredentialStatus,
    pub description: String,
    pub created: Timestamp,
    /// `None` never expires.
    pub expires: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    /// Hex SHA-256 of the token's secret part.
    pub secret_hash: String,
    /// The tenant accepts OAuth access tokens only: this token is refused while it does.
    pub oauth_only: bool,
}

impl Credential {
    fn to_item(&self) -> Item {
        let mut item = Item::from([
            (PK.into(), s(tenant_pk(&self.tenant_id))),
            (SK.into(), s(credential_sk(&self.id))),
            kind_attr(ItemKind::Credential),
            ("tenantId".into(), s(self.tenant_id.as_str())),
            ("id".into(), s(self.id.as_str())),
            ("status".into(), s(self.status.as_str())),
            ("description".into(), s(&self.description)),
            ("created".into(), s(self.created.to_string())),
            ("secretHash".into(), s(&self.secret_hash)),
        ]);
        if let Some(expires) = self.expires {
            item.insert("expires".into(), s(expires.to_string()));
        }
        if let Some(last_used) = self.last_used {
            item.insert("lastUsed".into(), s(last_used.to_string()));
        }
        if self.oauth_only {
            item.insert("oauthOnly".into(), AttributeValue::Bool(true));
        }
        item
    }

    fn from_item(item: &Item) -> Result<Self, StoreError> {
        Ok(Credential {
            tenant_id: get_id(item, "tenantId")?,
            id: get_id(item, "id")?,
            status: match get_s(item, "status")? {
                "enabled" => CredentialStatus::Enabled,
                _ => CredentialStatus::Disabled,
            },
            description: opt_s(item, "description").unwrap_or_default(),
            created: get_time(item, "created")?,
            expires: opt_time(item, "expires")?,
            last_used: opt_time(item, "lastUsed")?,
            secret_hash: get_s(item, "secretHash")?.into(),
            oauth_only: oauth_only(item),
        })
    }
}

impl Store {
    pub async fn create_tenant(&self, name: &str) -> Result<Tenant, StoreError> {
        let tenant = Tenant {
            id: TenantId::generate(),
            name: name.to_string(),
            created: Timestamp::now(),
            state: ProvisioningState::Enabled,
            oauth: OAuthSettings::default(),
        };
        let item = Item::from([
            (PK.into(), s(tenant_pk(&tenant.id))),
            (SK.into(), s(TENANT_SK)),
            kind_attr(ItemKind::Tenant),
            ("id".into(), s(tenant.id.as_str())),
            ("name".into(), s(&tenant.name)),
            ("created".into(), s(tenant.created.to_string())),
            ("credentialCount".into(), n(0)),
            ("provisioningState".into(), s(ENABLED)),
            (GSI1PK.into(), s(TENANTS_PK)),
            (GSI1SK.into(), s(tenant.id.as_str())),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await?;
        Ok(tenant)
    }

    pub async fn get_tenant(&self, id: &TenantId) -> Result<Tenant, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(id)))
            .key(SK, s(TENANT_SK))
            .consistent_read(true)
            .send()
            .await?
            .item
            .ok_or(StoreError::NotFound)?;
        Tenant::from_item(&item)
    }

    /// Stores a new credential; the tenant's credential count is raised in the same transaction,
    /// so concurrent creates can never exceed `MAX_CREDENTIALS`.
    pub async fn create_credential(&self, credential: &Credential) -> Result<(), StoreError> {
        self.add_credential(credential, false).await
    }

    /// Turns provisioning on and stores its first credential, in one transaction.
    pub async fn enable_provisioning(&self, credential: &Credential) -> Result<(), StoreError> {
        self.add_credential(credential, true).await
    }

    async fn add_credential(
        &self,
        credential: &Credential,
        enable: bool,
    ) -> Result<(), StoreError> {
        // Without `enable`, a tenant whose provisioning is off gets no credential; an OAuth-only
        // tenant gets none either way.
        let (update, state) = if enable {
            (
                "SET credentialCount = credentialCount + :one, provisioningState = :enabled",
                "(attribute_not_exists(provisioningState) OR provisioningState <> :deleting)",
            )
        } else {
            (
                "SET credentialCount = credentialCount + :one",
                "(attribute_not_exists(provisioningState) OR provisioningState = :enabled)",
            )
        };
        let condition = format!(
            "attribute_exists(PK) AND credentialCount < :max AND {state} AND {NOT_OAUTH_ONLY}"
        );
        let mut values = Item::from([
            (":one".into(), n(1)),
            (":max".into(), n(MAX_CREDENTIALS)),
            (":enabled".into(), s(ENABLED)),
            (":false".into(), AttributeValue::Bool(false)),
        ]);
        if enable {
            values.insert(":deleting".into(), s(DELETING));
        }
        let count = Update::builder()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(&credential.tenant_id)))
            .key(SK, s(TENANT_SK))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let refused = StoreError::Limit(format!(
            "the tenant does not exist, has provisioning disabled, or already has \
             {MAX_CREDENTIALS} credentials: delete or rotate one first"
        ));
        self.insert_counted(count, credential.to_item(), refused)
            .await
    }

    /// The credential, if it exists in this tenant: one GetItem, strongly consistent.
    pub async fn get_credential(
        &self,
        tenant: &TenantId,
        credential_id: &CredentialId,
    ) -> Result<Option<Credential>, StoreError> {
        let item = self
            .get_in_tenant(tenant, credential_sk(credential_id))
            .await?;
        item.as_ref().map(Credential::from_item).transpose()
    }

    /// Every tenant, oldest first (GSI1 `TENANTS`).
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let mut tenants = Vec::new();
        let query = self
            .query()
            .index_name(GSI1)
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(TENANTS_PK));
        query_all(query, |page| {
            for item in page.items() {
                tenants.push(Tenant::from_item(item)?);
            }
            Ok(())
        })
        .await?;
        Ok(tenants)
    }

    /// A tenant's credentials, strongly consistent: one Query.
    pub async fn list_credentials(&self, tenant: &TenantId) -> Result<Vec<Credential>, StoreError> {
        self.list_in_tenant(tenant, CREDENTIAL_PREFIX, Credential::from_item)
            .await
    }

    /// A tenant's credentials and OAuth clients, strongly consistent: one Query of the tenant's
    /// partition (which holds besides only the tenant item and the short-lived guards of used
    /// client assertions).
    async fn credentials_and_clients(
        &self,
        tenant: &TenantId,
    ) -> Result<(Vec<Credential>, Vec<OAuthClient>), StoreError> {
        let (mut credentials, mut clients) = (Vec::new(), Vec::new());
        let query = self
            .query()
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .consistent_read(true);
        query_all(query, |page| {
            for item in page.items() {
                match opt_s(item, "kind").as_deref() {
                    Some(kind) if kind == ItemKind::Credential.as_str() => {
                        credentials.push(Credential::from_item(item)?)
                    }
                    Some(kind) if kind == ItemKind::OAuthClient.as_str() => {
                        clients.push(OAuthClient::from_item(item)?)
                    }
                    _ => {}
                }
            }
            Ok(())
        })
        .await?;
        Ok((credentials, clients))
    }

    /// Enables or disables a credential and returns it; `NotFound` if the tenant has no such
    /// credential.
    pub async fn set_credential_status(
        &self,
        tenant: &TenantId,
        credential_id: &CredentialId,
        status: CredentialStatus,
    ) -> Result<Credential, StoreError> {
        let item = self
            .set_status_in_tenant(tenant, credential_sk(credential_id), status)
            .await?;
        Credential::from_item(&item)
    }

    /// Deletes a credential and frees its slot, in one transaction.
    pub async fn delete_credential(
        &self,
        tenant: &TenantId,
        credential_id: &CredentialId,
    ) -> Result<(), StoreError> {
        self.delete_counted(tenant, credential_sk(credential_id), "credentialCount")
            .await
    }

    /// The condition every SCIM write transaction carries: the credential that authenticated
    /// it still exists and is enabled. Turning provisioning off and deleting a tenant delete
    /// every credential in one transaction, so no write commits after either has answered; a
    /// disabled or deleted token's writes stop too; for an access token, its client and the
    /// token itself (`client_still_authorized`). `None` for an administrator's writes.
    pub(super) fn still_authorized(
        &self,
        audit: &AuditEvent,
    ) -> Result<Option<Action>, StoreError> {
        let credential = match &audit.actor {
            Actor::Credential(credential) => credential,
            Actor::Client(access) => {
                return self
                    .client_still_authorized(&audit.tenant_id, access)
                    .map(Some)
            }
            Actor::Admin(_) => return Ok(None),
        };
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(&audit.tenant_id)))
            .key(SK, s(credential_sk(credential)))
            .condition_expression(format!(
                "attribute_exists(PK) AND #status = :enabled AND {NOT_OAUTH_ONLY}"
            ))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":enabled", s(ENABLED))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Some(Action {
            item: TransactWriteItem::builder().condition_check(check).build(),
            on_fail: StoreError::Revoked,
        }))
    }

    /// Records a credential's use, at most once per `LAST_USED_RESOLUTION_SECONDS`, so that reads
    /// do not turn into a write each. Returns whether it wrote.
    pub async fn touch_credential(
        &self,
        credential: &Credential,
        now: Timestamp,
        cutoff: Timestamp,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(&credential.tenant_id)))
            .key(SK, s(credential_sk(&credential.id)))
            .update_expression("SET lastUsed = :now")
            .condition_expression(
                "attribute_exists(PK) AND (attribute_not_exists(lastUsed) OR lastUsed < :cutoff)",
            )
            // Stored text sorts as the instants do (`Timestamp`'s fixed width).
            .expression_attribute_values(":now", s(now.to_string()))
            .expression_attribute_values(":cutoff", s(cutoff.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Turns provisioning off: every credential and OAuth client is deleted in the same
    /// transaction, so no request authenticates afterwards. Users and groups stay. Retries if a credential is created meanwhile.
    pub async fn disable_provisioning(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        self.switch_off(tenant, DISABLED).await
    }

    /// The first step of deleting a tenant: like disabling provisioning, and no credential can be
    /// added until the tenant item itself is deleted (the last step).
    pub(super) async fn begin_tenant_delete(&self, tenant: &TenantId) -> Result<usize, StoreError> {
        self.switch_off(tenant, DELETING).await
    }

    async fn switch_off(&self, tenant: &TenantId, state: &str) -> Result<usize, StoreError> {
        // Only a delete may go on from `deleting`: disabling must not undo it.
        // The counts read must still hold, so a credential or client added meanwhile is not left.
        let counts = "attribute_exists(PK) AND credentialCount = :seen \
             AND (attribute_not_exists(clientCount) OR clientCount = :seenClients)";
        let condition = if state == DELETING {
            counts.to_string()
        } else {
            format!(
                "{counts} \
                 AND (attribute_not_exists(provisioningState) OR provisioningState <> :deleting)"
            )
        };
        for _ in 0..5 {
            let (credentials, clients) = self.credentials_and_clients(tenant).await?;
            let mut values = Item::from([
                (":state".into(), s(state)),
                (":zero".into(), n(0)),
                (":seen".into(), n(credentials.len())),
                (":seenClients".into(), n(clients.len())),
            ]);
            if state != DELETING {
                values.insert(":deleting".into(), s(DELETING));
            }
            let switch_off = Update::builder()
                .table_name(&self.table)
                .key(PK, s(tenant_pk(tenant)))
                .key(SK, s(TENANT_SK))
                // Provisioning turned on again starts from the default: static tokens allowed.
                .update_expression(
                    "SET provisioningState = :state, credentialCount = :zero, clientCount = :zero \
                     REMOVE oauthOnly",
                )
                .condition_expression(condition.as_str())
                .set_expression_attribute_values(Some(values))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?;
            let mut actions = vec![Action {
                item: TransactWriteItem::builder().update(switch_off).build(),
                on_fail: StoreError::VersionConflict,
            }];
            let sort_keys = (credentials.iter().map(|c| credential_sk(&c.id)))
                .chain(clients.iter().map(|c| oauth_client_sk(&c.id)));
            for sk in sort_keys {
                actions.push(self.delete_in_tenant(tenant, sk, StoreError::VersionConflict)?);
            }
            match self.transact(actions).await {
                Ok(()) => return Ok(credentials.len()),
                Err(StoreError::VersionConflict) => {
                    if self.get_tenant(tenant).await?.state == ProvisioningState::Deleting
                        && state != DELETING
                    {
                        return Err(StoreError::Limit(format!(
                            "tenant {tenant} is being deleted"
                        )));
                    }
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::TransactionConflict)
    }

    /// Sets how long the tenant's access tokens live; returns the tenant.
    pub async fn set_access_token_lifetime(
        &self,
        tenant: &TenantId,
        seconds: i64,
    ) -> Result<Tenant, StoreError> {
        let item = self
            .set_in_tenant(tenant, TENANT_SK, "accessTokenSeconds", n(seconds))
            .await?;
        Tenant::from_item(&item)
    }

    /// Turns OAuth-only on or off: the tenant item and each of its credentials get the flag in
    /// one transaction, so a static token's authentication (one GetItem of its credential) sees
    /// it, and a write in flight with one commits nothing. The transaction holds only if the
    /// tenant still has the credentials read (else it reads again). Returns the tenant.
    pub async fn set_oauth_only(&self, tenant: &TenantId, on: bool) -> Result<Tenant, StoreError> {
        // The same change on the tenant item and on each credential item.
        let flag = |sk: String, update: UpdateBuilder| {
            let update = update
                .table_name(&self.table)
                .key(PK, s(tenant_pk(tenant)))
                .key(SK, s(sk));
            let update = match on {
                true => update
                    .update_expression("SET oauthOnly = :on")
                    .expression_attribute_values(":on", AttributeValue::Bool(true)),
                false => update.update_expression("REMOVE oauthOnly"),
            };
            Ok::<_, StoreError>(Action {
                item: TransactWriteItem::builder()
                    .update(update.build().map_err(build_error)?)
                    .build(),
                on_fail: StoreError::VersionConflict,
            })
        };
        for _ in 0..5 {
            let credentials = self.list_credentials(tenant).await?;
            let counted = Update::builder()
                .condition_expression(
                    "attribute_exists(PK) AND credentialCount = :seen \
                     AND (attribute_not_exists(provisioningState) OR provisioningState = :enabled)",
                )
                .expression_attribute_values(":enabled", s(ENABLED))
                .expression_attribute_values(":seen", n(credentials.len()));
            let mut actions = vec![flag(TENANT_SK.to_string(), counted)?];
            for credential in &credentials {
                let exists = Update::builder().condition_expression("attribute_exists(PK)");
                actions.push(flag(credential_sk(&credential.id), exists)?);
            }
            match self.transact(actions).await {
                Ok(()) => return self.get_tenant(tenant).await,
                Err(StoreError::VersionConflict) => {
                    if self.get_tenant(tenant).await?.state != ProvisioningState::Enabled {
                        return Err(StoreError::Limit(format!(
                            "tenant {tenant} has provisioning disabled: OAuth-only applies to a \
                             tenant whose provisioning is on"
                        )));
                    }
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::TransactionConflict)
    }
}
