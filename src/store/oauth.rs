//! A tenant's OAuth clients. One item per client in the tenant's partition holds the client and
//! its secrets (only their SHA-256), so the token endpoint finds a client and checks a secret
//! with one GetItem, and a client's limits are conditions on one item.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};

use super::keys::*;
use super::slots::{build_error, condition_failed};
use super::{get_id, get_s, get_time, kind_attr, n, opt_s, s, Action, Item, Store, StoreError};
use crate::domain::{CredentialStatus, ProvisioningState, Timestamp};
use crate::protocol::{AccessTokenId, ClientId, SecretId, TenantId};

/// At most two OAuth clients per tenant, as for static credentials.
pub const MAX_CLIENTS: u64 = 2;
/// At most two secrets per client: add the new one, switch the IdP, delete the old.
pub const MAX_CLIENT_SECRETS: usize = 2;

const ENABLED: &str = ProvisioningState::Enabled.as_str();

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    pub tenant_id: TenantId,
    pub id: ClientId,
    pub status: CredentialStatus,
    pub description: String,
    pub created: Timestamp,
    /// Oldest first.
    pub secrets: Vec<ClientSecret>,
}

/// One secret of a client: never stored, only its hash. The access tokens issued for it are
/// kept under it, so deleting the secret revokes them in the same write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSecret {
    pub id: SecretId,
    pub created: Timestamp,
    /// Every client secret expires.
    pub expires: Timestamp,
    /// Hex SHA-256 of the secret.
    pub secret_hash: String,
    /// Oldest first.
    pub tokens: Vec<AccessToken>,
}

/// An access token issued for a client secret: only its hash, and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    pub id: AccessTokenId,
    pub expires: Timestamp,
    pub token_hash: String,
}

/// Live access tokens kept per secret: an issue past it drops the oldest. At Entra's one token
/// per cycle and an hour's lifetime there are one or two; the bound keeps the item small.
pub const MAX_TOKENS_PER_SECRET: usize = 20;

fn corrupt(what: &str, id: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {id:?}"))
}

impl AccessToken {
    fn to_value(&self) -> AttributeValue {
        AttributeValue::M(Item::from([
            ("expires".into(), s(self.expires.to_string())),
            ("tokenHash".into(), s(&self.token_hash)),
        ]))
    }

    fn from_value(id: &str, value: &AttributeValue) -> Result<Self, StoreError> {
        let item = value.as_m().map_err(|_| corrupt("access token", id))?;
        Ok(AccessToken {
            id: AccessTokenId::parse(id).map_err(|_| corrupt("access token id", id))?,
            expires: get_time(item, "expires")?,
            token_hash: get_s(item, "tokenHash")?.into(),
        })
    }
}

impl ClientSecret {
    fn to_value(&self) -> AttributeValue {
        let tokens = self
            .tokens
            .iter()
            .map(|t| (t.id.to_string(), t.to_value()))
            .collect();
        AttributeValue::M(Item::from([
            ("created".into(), s(self.created.to_string())),
            ("expires".into(), s(self.expires.to_string())),
            ("secretHash".into(), s(&self.secret_hash)),
            ("tokens".into(), AttributeValue::M(tokens)),
        ]))
    }

    fn from_value(id: &str, value: &AttributeValue) -> Result<Self, StoreError> {
        let item = value.as_m().map_err(|_| corrupt("client secret", id))?;
        let mut tokens = match item.get("tokens") {
            Some(AttributeValue::M(map)) => map
                .iter()
                .map(|(id, value)| AccessToken::from_value(id, value))
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };
        tokens.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(ClientSecret {
            id: SecretId::parse(id).map_err(|_| corrupt("client secret id", id))?,
            created: get_time(item, "created")?,
            expires: get_time(item, "expires")?,
            secret_hash: get_s(item, "secretHash")?.into(),
            tokens,
        })
    }
}

impl OAuthClient {
    fn to_item(&self) -> Item {
        let secrets = self
            .secrets
            .iter()
            .map(|secret| (secret.id.to_string(), secret.to_value()))
            .collect();
        Item::from([
            (PK.into(), s(tenant_pk(&self.tenant_id))),
            (SK.into(), s(oauth_client_sk(&self.id))),
            kind_attr(ItemKind::OAuthClient),
            ("tenantId".into(), s(self.tenant_id.as_str())),
            ("id".into(), s(self.id.as_str())),
            ("status".into(), s(self.status.as_str())),
            ("description".into(), s(&self.description)),
            ("created".into(), s(self.created.to_string())),
            ("secrets".into(), AttributeValue::M(secrets)),
        ])
    }

    pub(super) fn from_item(item: &Item) -> Result<Self, StoreError> {
        let mut secrets = match item.get("secrets") {
            Some(AttributeValue::M(map)) => map
                .iter()
                .map(|(id, value)| ClientSecret::from_value(id, value))
                .collect::<Result<Vec<_>, _>>()?,
            _ => Vec::new(),
        };
        // Secret ids are ULIDs: their order is their age.
        secrets.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
        Ok(OAuthClient {
            tenant_id: get_id(item, "tenantId")?,
            id: get_id(item, "id")?,
            status: match get_s(item, "status")? {
                "enabled" => CredentialStatus::Enabled,
                _ => CredentialStatus::Disabled,
            },
            description: opt_s(item, "description").unwrap_or_default(),
            created: get_time(item, "created")?,
            secrets,
        })
    }
}

impl Store {
    /// Stores a new client (with its first secret); the tenant's client count is raised in the
    /// same transaction, so concurrent creates never exceed `MAX_CLIENTS`, and a tenant whose
    /// provisioning is off gets none.
    pub async fn create_client(&self, client: &OAuthClient) -> Result<(), StoreError> {
        let count = Update::builder()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(&client.tenant_id)))
            .key(SK, s(TENANT_SK))
            .update_expression("SET clientCount = if_not_exists(clientCount, :zero) + :one")
            .condition_expression(
                "attribute_exists(PK) \
                 AND (attribute_not_exists(clientCount) OR clientCount < :max) \
                 AND (attribute_not_exists(provisioningState) OR provisioningState = :enabled)",
            )
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(MAX_CLIENTS))
            .expression_attribute_values(":enabled", s(ENABLED))
            .build()
            .map_err(build_error)?;
        let refused = StoreError::Limit(format!(
            "the tenant does not exist, has provisioning disabled, or already has \
             {MAX_CLIENTS} OAuth clients: delete one first"
        ));
        self.insert_counted(count, client.to_item(), refused).await
    }

    /// The client, if this tenant has it: one GetItem, strongly consistent (a disabled client or
    /// a deleted secret stops working at once).
    pub async fn get_client(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
    ) -> Result<Option<OAuthClient>, StoreError> {
        let item = self
            .get_in_tenant(tenant, oauth_client_sk(client_id))
            .await?;
        item.as_ref().map(OAuthClient::from_item).transpose()
    }

    /// A tenant's clients, oldest first: one Query, strongly consistent.
    pub async fn list_clients(&self, tenant: &TenantId) -> Result<Vec<OAuthClient>, StoreError> {
        self.list_in_tenant(tenant, OAUTH_CLIENT_PREFIX, OAuthClient::from_item)
            .await
    }

    /// Enables or disables a client and returns it; `NotFound` if the tenant has no such client.
    pub async fn set_client_status(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
        status: CredentialStatus,
    ) -> Result<OAuthClient, StoreError> {
        let item = self
            .set_status_in_tenant(tenant, oauth_client_sk(client_id), status)
            .await?;
        OAuthClient::from_item(&item)
    }

    /// Deletes a client with its secrets and frees its slot, in one transaction.
    pub async fn delete_client(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
    ) -> Result<(), StoreError> {
        self.delete_counted(tenant, oauth_client_sk(client_id), "clientCount")
            .await
    }

    /// Adds a secret to a client and returns the client; `NotFound` without the client, `Limit`
    /// when it already has `MAX_CLIENT_SECRETS`. One conditional UpdateItem: two concurrent adds
    /// cannot both pass the count.
    pub async fn add_client_secret(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
        secret: &ClientSecret,
    ) -> Result<OAuthClient, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(oauth_client_sk(client_id)))
            .update_expression("SET secrets.#secret = :secret")
            .condition_expression("attribute_exists(PK) AND size(secrets) < :max")
            .expression_attribute_names("#secret", secret.id.as_str())
            .expression_attribute_values(":secret", secret.to_value())
            .expression_attribute_values(":max", n(MAX_CLIENT_SECRETS))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => OAuthClient::from_item(&out.attributes.unwrap_or_default()),
            Err(e) if condition_failed(&e) => match self.get_client(tenant, client_id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::Limit(format!(
                    "client {client_id} already has {MAX_CLIENT_SECRETS} secrets, the most it \
                     can have: delete the older one first"
                ))),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes one secret of a client: it gets no token from then on. `NotFound` unless the
    /// client has that secret.
    pub async fn delete_client_secret(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
        secret_id: &SecretId,
    ) -> Result<OAuthClient, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(oauth_client_sk(client_id)))
            .update_expression("REMOVE secrets.#secret")
            .condition_expression("attribute_exists(secrets.#secret)")
            .expression_attribute_names("#secret", secret_id.as_str())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => OAuthClient::from_item(&out.attributes.unwrap_or_default()),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores an access token under the secret it was issued for, in one transaction with its
    /// audit event, dropping the secret's expired tokens (and the oldest past
    /// `MAX_TOKENS_PER_SECRET`) as read in `client`. Refused (`Revoked`) unless the client is
    /// still enabled and still has the secret.
    pub async fn store_access_token(
        &self,
        client: &OAuthClient,
        secret: &ClientSecret,
        token: &AccessToken,
        now: Timestamp,
        audit: &super::AuditEvent,
    ) -> Result<(), StoreError> {
        let live: Vec<&AccessToken> = secret.tokens.iter().filter(|t| t.expires > now).collect();
        let keep_from = (live.len() + 1).saturating_sub(MAX_TOKENS_PER_SECRET);
        let dropped = (secret.tokens.iter().filter(|t| t.expires <= now))
            .chain(live.into_iter().take(keep_from));
        let mut update = String::from("SET secrets.#secret.tokens.#token = :token");
        let mut names = Item::new();
        for (i, old) in dropped.enumerate() {
            let name = format!("#old{i}");
            update.push_str(if i == 0 { " REMOVE " } else { ", " });
            update.push_str(&format!("secrets.#secret.tokens.{name}"));
            names.insert(name, s(old.id.as_str()));
        }
        let mut builder = Update::builder()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(&client.tenant_id)))
            .key(SK, s(oauth_client_sk(&client.id)))
            .update_expression(update)
            .condition_expression("#status = :enabled AND attribute_exists(secrets.#secret)")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#secret", secret.id.as_str())
            .expression_attribute_names("#token", token.id.as_str())
            .expression_attribute_values(":enabled", s(CredentialStatus::Enabled.as_str()))
            .expression_attribute_values(":token", token.to_value());
        for (name, value) in names {
            if let AttributeValue::S(id) = value {
                builder = builder.expression_attribute_names(name, id);
            }
        }
        let stored = Action {
            item: TransactWriteItem::builder()
                .update(builder.build().map_err(build_error)?)
                .build(),
            on_fail: StoreError::Revoked,
        };
        self.transact(vec![stored, self.audit_action(audit)?]).await
    }

    /// The condition a write made with an access token carries (see `still_authorized`): the
    /// client is enabled and still holds the token under its secret.
    pub(super) fn client_still_authorized(
        &self,
        tenant: &TenantId,
        access: &ClientAccess,
    ) -> Result<Action, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(oauth_client_sk(&access.client_id)))
            .condition_expression(
                "#status = :enabled AND attribute_exists(secrets.#secret.tokens.#token)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#secret", access.secret_id.as_str())
            .expression_attribute_names("#token", access.token_id.as_str())
            .expression_attribute_values(":enabled", s(CredentialStatus::Enabled.as_str()))
            .build()
            .map_err(build_error)?;
        Ok(Action {
            item: TransactWriteItem::builder().condition_check(check).build(),
            on_fail: StoreError::Revoked,
        })
    }
}

/// What an access token stands for: the client, the secret it was issued for, and the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAccess {
    pub client_id: ClientId,
    pub secret_id: SecretId,
    pub token_id: AccessTokenId,
}
