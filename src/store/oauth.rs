//! A tenant's OAuth clients. One item per client in the tenant's partition holds the client, its
//! secrets (only their SHA-256) and its federated credentials, each with the access tokens issued
//! for it (only their SHA-256). So the token endpoint finds a client and checks a secret with one
//! GetItem, authenticating an access token is one GetItem, and a client's limits are conditions
//! on one item.

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};

use super::keys::*;
use super::slots::{build_error, condition_failed};
use super::{get_id, get_s, get_time, kind_attr, n, opt_s, s, Action, Item, Store, StoreError};
use crate::domain::{CredentialStatus, ProvisioningState, Timestamp};
use crate::protocol::{AccessTokenId, ClientId, FederationId, SecretId, TenantId};

/// At most two OAuth clients per tenant, as for static credentials.
pub const MAX_CLIENTS: u64 = 2;
/// At most two secrets per client: add the new one, switch the IdP, delete the old.
pub const MAX_CLIENT_SECRETS: usize = 2;
/// At most two federated credentials per client, for the same overlap when an IdP moves.
pub const MAX_FEDERATIONS: usize = 2;

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
    /// Oldest first.
    pub federations: Vec<FederatedCredential>,
}

/// What an access token was issued for: one of the client's secrets, or one of its federated
/// credentials. The tokens are kept under it, so deleting it revokes them in the same write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Grant {
    Secret(SecretId),
    Federation(FederationId),
}

impl Grant {
    /// The client item's map holding grants of this kind.
    fn map(&self) -> &'static str {
        match self {
            Grant::Secret(_) => "secrets",
            Grant::Federation(_) => "federations",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Grant::Secret(id) => id.as_str(),
            Grant::Federation(id) => id.as_str(),
        }
    }
}

/// A federated credential (workload identity federation, RFC 7523 §2.2): the client is
/// authenticated by an assertion that `issuer` signed with a key from `jwks_url`, about
/// `subject`, for `audience`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FederatedCredential {
    pub id: FederationId,
    pub created: Timestamp,
    pub issuer: String,
    pub jwks_url: String,
    pub subject: String,
    pub audience: String,
    /// Oldest first.
    pub tokens: Vec<AccessToken>,
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

fn tokens_value(tokens: &[AccessToken]) -> AttributeValue {
    AttributeValue::M(
        tokens
            .iter()
            .map(|t| (t.id.to_string(), t.to_value()))
            .collect(),
    )
}

/// A grant's tokens, oldest first (token ids are ULIDs).
fn tokens_from(item: &Item) -> Result<Vec<AccessToken>, StoreError> {
    let mut tokens = match item.get("tokens") {
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(id, value)| AccessToken::from_value(id, value))
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    tokens.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    Ok(tokens)
}

/// The entries of one of the client item's maps, oldest first (their ids are ULIDs).
fn map_entries<T>(
    item: &Item,
    map: &str,
    parse: impl Fn(&str, &AttributeValue) -> Result<T, StoreError>,
    id: impl Fn(&T) -> &str,
) -> Result<Vec<T>, StoreError> {
    let mut entries = match item.get(map) {
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(key, value)| parse(key, value))
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    entries.sort_by(|a, b| id(a).cmp(id(b)));
    Ok(entries)
}

impl ClientSecret {
    fn to_value(&self) -> AttributeValue {
        AttributeValue::M(Item::from([
            ("created".into(), s(self.created.to_string())),
            ("expires".into(), s(self.expires.to_string())),
            ("secretHash".into(), s(&self.secret_hash)),
            ("tokens".into(), tokens_value(&self.tokens)),
        ]))
    }

    fn from_value(id: &str, value: &AttributeValue) -> Result<Self, StoreError> {
        let item = value.as_m().map_err(|_| corrupt("client secret", id))?;
        Ok(ClientSecret {
            id: SecretId::parse(id).map_err(|_| corrupt("client secret id", id))?,
            created: get_time(item, "created")?,
            expires: get_time(item, "expires")?,
            secret_hash: get_s(item, "secretHash")?.into(),
            tokens: tokens_from(item)?,
        })
    }
}

impl FederatedCredential {
    fn to_value(&self) -> AttributeValue {
        AttributeValue::M(Item::from([
            ("created".into(), s(self.created.to_string())),
            ("issuer".into(), s(&self.issuer)),
            ("jwksUrl".into(), s(&self.jwks_url)),
            ("subject".into(), s(&self.subject)),
            ("audience".into(), s(&self.audience)),
            ("tokens".into(), tokens_value(&self.tokens)),
        ]))
    }

    fn from_value(id: &str, value: &AttributeValue) -> Result<Self, StoreError> {
        let item = value
            .as_m()
            .map_err(|_| corrupt("federated credential", id))?;
        Ok(FederatedCredential {
            id: FederationId::parse(id).map_err(|_| corrupt("federated credential id", id))?,
            created: get_time(item, "created")?,
            issuer: get_s(item, "issuer")?.into(),
            jwks_url: get_s(item, "jwksUrl")?.into(),
            subject: get_s(item, "subject")?.into(),
            audience: get_s(item, "audience")?.into(),
            tokens: tokens_from(item)?,
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
        let federations = self
            .federations
            .iter()
            .map(|federation| (federation.id.to_string(), federation.to_value()))
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
            ("federations".into(), AttributeValue::M(federations)),
        ])
    }

    pub(super) fn from_item(item: &Item) -> Result<Self, StoreError> {
        let secrets = map_entries(item, "secrets", ClientSecret::from_value, |s| s.id.as_str())?;
        let federations = map_entries(item, "federations", FederatedCredential::from_value, |f| {
            f.id.as_str()
        })?;
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
            federations,
        })
    }

    /// The grant with this id (a secret's or a federated credential's), and its tokens.
    pub fn grant(&self, id: &str) -> Option<(Grant, &[AccessToken])> {
        let secret = self.secrets.iter().find(|s| s.id.as_str() == id);
        let secret = secret.map(|s| (Grant::Secret(s.id.clone()), s.tokens.as_slice()));
        secret.or_else(|| {
            let federation = self.federations.iter().find(|f| f.id.as_str() == id)?;
            let grant = Grant::Federation(federation.id.clone());
            Some((grant, federation.tokens.as_slice()))
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
    /// when it already has `MAX_CLIENT_SECRETS`.
    pub async fn add_client_secret(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
        secret: &ClientSecret,
    ) -> Result<OAuthClient, StoreError> {
        let grant = Grant::Secret(secret.id.clone());
        let full = format!(
            "client {client_id} already has {MAX_CLIENT_SECRETS} secrets, the most it can have: \
             delete the older one first"
        );
        self.add_grant(
            tenant,
            client_id,
            &grant,
            secret.to_value(),
            MAX_CLIENT_SECRETS,
            full,
        )
        .await
    }

    /// Adds a federated credential to a client and returns the client; `NotFound` without the
    /// client, `Limit` when it already has `MAX_FEDERATIONS`.
    pub async fn add_federation(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
        federation: &FederatedCredential,
    ) -> Result<OAuthClient, StoreError> {
        let grant = Grant::Federation(federation.id.clone());
        let full = format!(
            "client {client_id} already has {MAX_FEDERATIONS} federated credentials, the most it \
             can have: delete one first"
        );
        self.add_grant(
            tenant,
            client_id,
            &grant,
            federation.to_value(),
            MAX_FEDERATIONS,
            full,
        )
        .await
    }

    /// One conditional UpdateItem: two concurrent adds cannot both pass the count. A refusal
    /// reads the client once to tell a missing client (`NotFound`) from a full one (`full`).
    async fn add_grant(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
        grant: &Grant,
        value: AttributeValue,
        max: usize,
        full: String,
    ) -> Result<OAuthClient, StoreError> {
        let map = grant.map();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(oauth_client_sk(client_id)))
            .update_expression(format!("SET {map}.#grant = :grant"))
            .condition_expression(format!("attribute_exists(PK) AND size({map}) < :max"))
            .expression_attribute_names("#grant", grant.id())
            .expression_attribute_values(":grant", value)
            .expression_attribute_values(":max", n(max))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => OAuthClient::from_item(&out.attributes.unwrap_or_default()),
            Err(e) if condition_failed(&e) => match self.get_client(tenant, client_id).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::Limit(full)),
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes one grant of a client (a secret or a federated credential) with the access
    /// tokens issued for it: they stop working at once. `NotFound` unless the client has it.
    pub async fn delete_grant(
        &self,
        tenant: &TenantId,
        client_id: &ClientId,
        grant: &Grant,
    ) -> Result<OAuthClient, StoreError> {
        let path = format!("{}.#grant", grant.map());
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(oauth_client_sk(client_id)))
            .update_expression(format!("REMOVE {path}"))
            .condition_expression(format!("attribute_exists({path})"))
            .expression_attribute_names("#grant", grant.id())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => OAuthClient::from_item(&out.attributes.unwrap_or_default()),
            Err(e) if condition_failed(&e) => Err(StoreError::NotFound),
            Err(e) => Err(e.into()),
        }
    }

    /// Stores an access token under the grant it was issued for, in one transaction with its
    /// audit event (and, for an assertion with a `jti`, its replay guard), dropping the grant's
    /// expired tokens (and the oldest past `MAX_TOKENS_PER_SECRET`) as read in `tokens`.
    /// Refused (`Revoked`) unless the client is still enabled and still has the grant;
    /// `Replayed` if the assertion's `jti` was used before.
    pub async fn store_access_token(
        &self,
        issue: &TokenIssue<'_>,
        audit: &super::AuditEvent,
    ) -> Result<(), StoreError> {
        let TokenIssue {
            client,
            grant,
            tokens,
            token,
            now,
            used_assertion,
        } = issue;
        let live: Vec<&AccessToken> = tokens.iter().filter(|t| t.expires > *now).collect();
        let keep_from = (live.len() + 1).saturating_sub(MAX_TOKENS_PER_SECRET);
        let dropped =
            (tokens.iter().filter(|t| t.expires <= *now)).chain(live.into_iter().take(keep_from));
        let grant_path = format!("{}.#grant", grant.map());
        let mut update = format!("SET {grant_path}.tokens.#token = :token");
        let mut builder = Update::builder()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(&client.tenant_id)))
            .key(SK, s(oauth_client_sk(&client.id)));
        for (i, old) in dropped.enumerate() {
            let name = format!("#old{i}");
            update.push_str(if i == 0 { " REMOVE " } else { ", " });
            update.push_str(&format!("{grant_path}.tokens.{name}"));
            builder = builder.expression_attribute_names(name, old.id.as_str());
        }
        let builder = builder
            .update_expression(update)
            .condition_expression(format!(
                "#status = :enabled AND attribute_exists({grant_path})"
            ))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#grant", grant.id())
            .expression_attribute_names("#token", token.id.as_str())
            .expression_attribute_values(":enabled", s(CredentialStatus::Enabled.as_str()))
            .expression_attribute_values(":token", token.to_value());
        let mut actions = vec![Action {
            item: TransactWriteItem::builder()
                .update(builder.build().map_err(build_error)?)
                .build(),
            on_fail: StoreError::Revoked,
        }];
        if let Some(used) = used_assertion {
            let guard = aws_sdk_dynamodb::types::Put::builder()
                .table_name(&self.table)
                .item(PK, s(tenant_pk(&client.tenant_id)))
                .item(SK, s(used_assertion_sk(&client.id, &used.jti_hash)))
                .item(KIND, s(ItemKind::UsedAssertion.as_str()))
                .item(TTL_ATTRIBUTE, n(used.expires.unix_seconds()))
                .condition_expression("attribute_not_exists(PK)")
                .build()
                .map_err(build_error)?;
            actions.push(Action {
                item: TransactWriteItem::builder().put(guard).build(),
                on_fail: StoreError::Replayed,
            });
        }
        actions.push(self.audit_action(audit)?);
        self.transact(actions).await
    }

    /// The condition a write made with an access token carries (see `still_authorized`): the
    /// client is enabled and still holds the token under its grant.
    pub(super) fn client_still_authorized(
        &self,
        tenant: &TenantId,
        access: &ClientAccess,
    ) -> Result<Action, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(oauth_client_sk(&access.client_id)))
            .condition_expression(format!(
                "#status = :enabled AND attribute_exists({}.#grant.tokens.#token)",
                access.grant.map()
            ))
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#grant", access.grant.id())
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

/// One access token to store: for which client and grant (with the grant's tokens as read), and,
/// for an assertion that had a `jti`, the guard that makes it single-use.
#[derive(Debug)]
pub struct TokenIssue<'a> {
    pub client: &'a OAuthClient,
    pub grant: &'a Grant,
    pub tokens: &'a [AccessToken],
    pub token: &'a AccessToken,
    pub now: Timestamp,
    pub used_assertion: Option<UsedAssertion>,
}

/// A client assertion's `jti` (only its SHA-256), kept until the assertion expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedAssertion {
    pub jti_hash: String,
    pub expires: Timestamp,
}

/// What an access token stands for: the client, the grant it was issued for, and the token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientAccess {
    pub client_id: ClientId,
    pub grant: Grant,
    pub token_id: AccessTokenId,
}
