//! Administrative operations: tenants, provisioning, credentials, rotation and the audit trail.
//! `scimctl` and the admin Lambda both call these and print or return the JSON they produce, so
//! the two cannot disagree, down to the field names. Every change records an audit event with the
//! administrator as its actor.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::auth;
use crate::protocol::{cursor, CredentialId, ScimType, TenantId};
use crate::service::feed::{self, FeedPage, Walk};
use crate::service::list::PAGE_BYTES;
use crate::store::{
    self, Actor, AuditEvent, AuditQuery, Credential, CredentialStatus, DeleteProgress, Store,
    StoreError, StoredEvent, Tenant,
};

pub const DEFAULT_TOKEN_DAYS: u32 = 365;
/// About a hundred years: longer is "never" (0), and would overflow date arithmetic.
pub const MAX_TOKEN_DAYS: u32 = 36_500;
/// `list` flags credentials expiring within this many days (as Huawei's config rule does).
pub const EXPIRY_WARNING_DAYS: i64 = 90;
/// Audit events per page unless asked otherwise, and at most.
pub const DEFAULT_AUDIT_PAGE: usize = 50;
pub const MAX_AUDIT_PAGE: usize = 1000;
const MAX_TENANT_NAME_BYTES: usize = 256;
const MAX_DESCRIPTION_BYTES: usize = 256;

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
}

impl AdminError {
    pub fn status(&self) -> u16 {
        match self {
            AdminError::NotFound(_) => 404,
            AdminError::Conflict(_) => 409,
            AdminError::Invalid(_) => 400,
            // As on SCIM: throttling is 429, a store that failed after retries 503.
            AdminError::Store(StoreError::Throttled | StoreError::TransactionConflict) => 429,
            AdminError::Store(StoreError::Unavailable(_)) => 503,
            AdminError::Store(_) => 500,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AdminError::NotFound(_) => "NotFound",
            AdminError::Conflict(_) => "Conflict",
            AdminError::Invalid(_) => "InvalidRequest",
            AdminError::Store(StoreError::Throttled | StoreError::TransactionConflict) => {
                "Throttled"
            }
            AdminError::Store(StoreError::Unavailable(_)) => "Unavailable",
            AdminError::Store(_) => "InternalError",
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

/// A store for the given endpoint (or the standard AWS configuration) and table.
pub async fn connect(endpoint: Option<&str>, table: &str) -> Store {
    let mut loader = store::config_loader();
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    let config = loader.load().await;
    Store::new(store::client_for(&config), table)
}

pub fn scim_base_path(tenant_id: &TenantId) -> String {
    format!("/{tenant_id}/scim/v2")
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

/// The administrative operations, acting as `principal` (recorded in the audit trail).
#[derive(Debug, Clone)]
pub struct Admin {
    store: Store,
    principal: String,
}

impl Admin {
    pub fn new(store: Store, principal: impl Into<String>) -> Self {
        Admin {
            store,
            principal: principal.into(),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub async fn create_tenant(&self, name: &str) -> Result<Value> {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_TENANT_NAME_BYTES {
            return Err(AdminError::Invalid(format!(
                "a tenant needs a name of 1 to {MAX_TENANT_NAME_BYTES} bytes"
            )));
        }
        let tenant = self.store.create_tenant(name).await?;
        let created = Ok(tenant_json(&tenant));
        self.audited(
            tenant.id.as_str(),
            Change::new("POST", "tenant.create", "Tenant", 201),
            created,
        )
        .await
    }

    pub async fn list_tenants(&self) -> Result<Value> {
        let tenants: Vec<Value> = self
            .store
            .list_tenants()
            .await?
            .iter()
            .map(tenant_json)
            .collect();
        Ok(json!({ "tenants": tenants }))
    }

    /// A tenant, its provisioning state, its SCIM endpoint and its credentials.
    pub async fn show_tenant(&self, tenant_id: &str) -> Result<Value> {
        let tenant = self.tenant_in_any_state(tenant_id).await?;
        let credentials = self.credentials_json(&tenant.id).await?;
        Ok(with_fields(
            tenant_json(&tenant),
            [("credentials", credentials)],
        ))
    }

    /// Deletes a tenant and everything it owns, about `budget` items per call at most; the answer
    /// says whether it is `complete` (else repeat: the delete resumes). `progress` sees each batch.
    pub async fn delete_tenant(
        &self,
        tenant_id: &str,
        budget: usize,
        progress: impl FnMut(&DeleteProgress),
    ) -> Result<Value> {
        let id = parse_tenant(tenant_id)?;
        let change = Change::new("DELETE", "tenant.delete", "Tenant", 200).about(id.as_str());
        let done = match self.store.delete_tenant(&id, budget, progress).await {
            Ok(done) => done,
            Err(e) => {
                let err = missing_tenant(e, tenant_id);
                return self.audited(id.as_str(), change, Err(err)).await;
            }
        };
        let answer = delete_progress_json(&id, &done);
        if !done.complete {
            return self
                .audited(id.as_str(), change.status(202), Ok(answer))
                .await;
        }
        // The tenant's own audit partition is gone: the deletion is kept apart (docs/admin-api.md).
        let event = self.event(&id, &change, 200, Some(id.as_str()));
        if let Err(e) = self.store.record_tenant_deletion(&event).await {
            tracing::warn!(error = %e, "could not record audit event");
        }
        Ok(answer)
    }

    pub async fn provisioning_status(&self, tenant_id: &str) -> Result<Value> {
        self.show_tenant(tenant_id).await
    }

    /// Turns provisioning on and issues its first credential; the token is in the answer, once.
    pub async fn enable_provisioning(&self, tenant_id: &str, new: &NewCredential) -> Result<Value> {
        let change = Change::new("POST", "provisioning.enable", "Tenant", 201).about(tenant_id);
        let result = async {
            let tenant = self.tenant(tenant_id).await?;
            let (credential, token) = new_credential(&tenant.id, new)?;
            if let Err(e) = self.store.enable_provisioning(&credential).await {
                return Err(self.explain_refusal(&tenant.id, e).await);
            }
            Ok(json!({
                "tenantId": tenant.id,
                "provisioning": "enabled",
                "scimBasePath": scim_base_path(&tenant.id),
                "credential": credential_json(&credential),
                "token": token,
            }))
        }
        .await;
        self.audited(tenant_id, change, result).await
    }

    /// Turns provisioning off: every credential is deleted at once; users and groups stay.
    pub async fn disable_provisioning(&self, tenant_id: &str) -> Result<Value> {
        let change = Change::new("POST", "provisioning.disable", "Tenant", 200).about(tenant_id);
        let result = async {
            let tenant = self.tenant(tenant_id).await?;
            let deleted = self.store.disable_provisioning(&tenant.id).await?;
            Ok(json!({
                "tenantId": tenant.id,
                "provisioning": "disabled",
                "deletedCredentials": deleted,
            }))
        }
        .await;
        self.audited(tenant_id, change, result).await
    }

    /// Issues a credential; the token is in the answer and nowhere else, ever.
    pub async fn create_credential(&self, tenant_id: &str, new: &NewCredential) -> Result<Value> {
        let change =
            Change::new("POST", "credential.create", "Credential", 201).id_from(CREATED_CREDENTIAL);
        let result = async {
            let tenant = self.tenant(tenant_id).await?;
            self.issue(&tenant, new).await
        }
        .await;
        self.audited(tenant_id, change, result).await
    }

    pub async fn list_credentials(&self, tenant_id: &str) -> Result<Value> {
        let tenant = self.tenant_in_any_state(tenant_id).await?;
        Ok(json!({
            "tenantId": tenant.id,
            "credentials": self.credentials_json(&tenant.id).await?,
        }))
    }

    pub async fn set_credential_status(
        &self,
        tenant_id: &str,
        credential_id: &str,
        status: CredentialStatus,
    ) -> Result<Value> {
        let action = match status {
            CredentialStatus::Enabled => "credential.enable",
            CredentialStatus::Disabled => "credential.disable",
        };
        let change = Change::new("POST", action, "Credential", 200).about(credential_id);
        let result = async {
            let tenant = parse_tenant(tenant_id)?;
            let id = parse_credential(tenant_id, credential_id)?;
            let credential = self
                .store
                .set_credential_status(&tenant, &id, status)
                .await
                .map_err(|e| missing_credential(e, tenant_id, credential_id))?;
            Ok(json!({ "tenantId": tenant, "credential": credential_json(&credential) }))
        }
        .await;
        self.audited(tenant_id, change, result).await
    }

    pub async fn delete_credential(&self, tenant_id: &str, credential_id: &str) -> Result<Value> {
        let change =
            Change::new("DELETE", "credential.delete", "Credential", 200).about(credential_id);
        let result = async {
            let tenant = parse_tenant(tenant_id)?;
            let id = parse_credential(tenant_id, credential_id)?;
            self.store
                .delete_credential(&tenant, &id)
                .await
                .map_err(|e| missing_credential(e, tenant_id, credential_id))?;
            Ok(json!({ "tenantId": tenant, "credentialId": credential_id, "deleted": true }))
        }
        .await;
        self.audited(tenant_id, change, result).await
    }

    /// Rotation, step 1: issues the new credential next to the one in use (the token is in the
    /// answer, once). Refused unless exactly one credential exists.
    pub async fn start_rotation(&self, tenant_id: &str, new: &NewCredential) -> Result<Value> {
        let change =
            Change::new("POST", "rotation.start", "Credential", 201).id_from(CREATED_CREDENTIAL);
        let result = async {
            let tenant = self.tenant(tenant_id).await?;
            let existing = self.store.list_credentials(&tenant.id).await?;
            let old = match existing.as_slice() {
                [old] => old.clone(),
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
            Ok(with_fields(
                issued,
                [("replaces", json!(old.id)), ("next", json!(next))],
            ))
        }
        .await;
        self.audited(tenant_id, change, result).await
    }

    /// Rotation, step 2: disables, then deletes the older credential. Refused while the old one
    /// was used more recently than the new one (the IdP still holds it), unless `force`.
    pub async fn finish_rotation(&self, tenant_id: &str, force: bool) -> Result<Value> {
        let change = Change::new("POST", "rotation.finish", "Credential", 200)
            .id_from("/removedCredentialId");
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
                    old.last_used.as_deref().unwrap_or("-"),
                    new.id,
                    new.last_used
                        .as_deref()
                        .map_or("never used".to_string(), |t| format!("last used at {t}")),
                )));
            }
            self.store
                .set_credential_status(&tenant.id, &old.id, CredentialStatus::Disabled)
                .await
                .map_err(|e| missing_credential(e, tenant.id.as_str(), old.id.as_str()))?;
            self.store
                .delete_credential(&tenant.id, &old.id)
                .await
                .map_err(|e| missing_credential(e, tenant.id.as_str(), old.id.as_str()))?;
            Ok(json!({
                "tenantId": tenant.id,
                "removedCredentialId": old.id,
                "forced": old_used_later,
                "credential": credential_json(new),
            }))
        }
        .await;
        self.audited(tenant_id, change, result).await
    }

    /// A page of the tenant's audit events, newest first.
    pub async fn audit_events(&self, tenant_id: &str, query: &AuditQuery) -> Result<Value> {
        let tenant = parse_tenant(tenant_id)?;
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
        if query.limit > MAX_AUDIT_PAGE {
            return Err(AdminError::Invalid(format!(
                "limit is at most {MAX_AUDIT_PAGE}"
            )));
        }
        let page = self.store.list_audit(&tenant, query).await?;
        let events: Vec<Value> = page.events.iter().map(audit_json).collect();
        Ok(json!({ "tenantId": tenant, "events": events, "nextCursor": page.next_cursor }))
    }

    /// A page of the tenant's change events, oldest first (issue 11). Across a walk of
    /// `nextCursor`s each event comes exactly once, late commits included (`service::feed`).
    pub async fn change_events(
        &self,
        tenant_id: &str,
        cursor: Option<&str>,
        since: Option<&str>,
        limit: usize,
    ) -> Result<Value> {
        let tenant = parse_tenant(tenant_id)?;
        if !(1..=MAX_AUDIT_PAGE).contains(&limit) {
            return Err(AdminError::Invalid(format!(
                "limit is from 1 to {MAX_AUDIT_PAGE}"
            )));
        }
        let key = self.store.cursor_key().await?;
        let now = time::OffsetDateTime::now_utc();
        let state = match cursor.filter(|c| !c.is_empty()) {
            Some(token) => {
                let state = cursor::decode_up_to(
                    &key,
                    token,
                    &tenant,
                    EVENTS_QUERY,
                    now.unix_timestamp(),
                    feed::MAX_CURSOR_LEN,
                )
                .map_err(|e| match e.scim_type {
                    Some(ScimType::ExpiredCursor) => AdminError::Invalid(format!(
                        "the events cursor expired: events are kept {} days, so events \
                                 after it may be gone; start again with --since (since=)",
                        self.store.event_retention_days()
                    )),
                    _ => AdminError::Invalid(
                        "the events cursor is not one this service issued for this \
                                 tenant's events; start again without it"
                            .into(),
                    ),
                })?;
                match state.position {
                    cursor::Position::After(position) => position,
                    cursor::Position::Offset(_) => BTreeMap::new(),
                }
            }
            None => BTreeMap::new(),
        };
        let since = match (state.get("since"), since) {
            (Some(since), _) => Some(since.clone()),
            (None, Some(raw)) => Some(parse_since(raw)?),
            (None, None) => None,
        };
        let walk = Walk {
            position: state.get("after").cloned(),
            seen: state
                .get("seen")
                .map(|raw| Walk::parse_seen(raw))
                .unwrap_or_default(),
        };
        let read = self
            .store
            .list_events(
                &tenant,
                walk.position.as_deref(),
                since.as_deref(),
                (walk.read_size(limit), 2 * PAGE_BYTES),
            )
            .await?;
        let horizon = store::timestamp(now - time::Duration::seconds(feed::SETTLE_SECONDS));
        let FeedPage {
            events,
            walk,
            behind,
        } = walk.page(read.events, limit, &horizon, PAGE_BYTES);
        let mut position = BTreeMap::new();
        match (walk.position.clone(), since) {
            (Some(after), _) => position.insert("after".to_string(), after),
            (None, Some(since)) => position.insert("since".to_string(), since),
            (None, None) => None,
        };
        if !walk.seen.is_empty() {
            position.insert("seen".to_string(), walk.seen_string());
        }
        let next = cursor::encode(
            &key,
            &cursor::CursorState {
                tenant: tenant.clone(),
                query: EVENTS_QUERY.into(),
                kind_index: 0,
                position: cursor::Position::After(position),
                expires: now.unix_timestamp()
                    + i64::from(self.store.event_retention_days()) * 86_400,
                totals: vec![],
            },
        )
        .map_err(|e| AdminError::Store(StoreError::Backend(e.detail)))?;
        let events: Vec<Value> = events.iter().map(change_event_json).collect();
        let mut page = serde_json::Map::new();
        page.insert("tenantId".into(), json!(tenant));
        page.insert("events".into(), Value::Array(events));
        page.insert("nextCursor".into(), json!(next));
        if behind {
            page.insert("behind".into(), Value::Bool(true));
        }
        Ok(Value::Object(page))
    }

    async fn tenant_in_any_state(&self, tenant_id: &str) -> Result<Tenant> {
        let id = parse_tenant(tenant_id)?;
        self.store
            .get_tenant(&id)
            .await
            .map_err(|e| missing_tenant(e, tenant_id))
    }

    /// The tenant, unless a delete of it has started (then nothing may change it but the delete).
    async fn tenant(&self, tenant_id: &str) -> Result<Tenant> {
        let tenant = self.tenant_in_any_state(tenant_id).await?;
        let id = &tenant.id;
        if tenant.deleting {
            return Err(AdminError::Conflict(format!(
                "tenant {id} is being deleted: `scimctl tenant delete {id} --yes` finishes it"
            )));
        }
        Ok(tenant)
    }

    /// Issues a credential: its metadata and the token, shown this once.
    async fn issue(&self, tenant: &Tenant, new: &NewCredential) -> Result<Value> {
        if !tenant.provisioning_enabled {
            return Err(provisioning_off(&tenant.id));
        }
        let (credential, token) = new_credential(&tenant.id, new)?;
        if let Err(e) = self.store.create_credential(&credential).await {
            return Err(self.explain_refusal(&tenant.id, e).await);
        }
        Ok(json!({
            "tenantId": tenant.id,
            "credential": credential_json(&credential),
            "token": token,
        }))
    }

    /// Says precisely why the store refused a new credential (the transaction only knows that a
    /// condition failed).
    async fn explain_refusal(&self, tenant_id: &TenantId, err: StoreError) -> AdminError {
        if !matches!(err, StoreError::Limit(_)) {
            return err.into();
        }
        let tenant = match self.store.get_tenant(tenant_id).await {
            Ok(tenant) => tenant,
            Err(e) => return missing_tenant(e, tenant_id.as_str()),
        };
        if tenant.deleting {
            return AdminError::Conflict(format!("tenant {tenant_id} is being deleted"));
        }
        if !tenant.provisioning_enabled {
            return provisioning_off(tenant_id);
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

    async fn credentials_json(&self, tenant_id: &TenantId) -> Result<Value> {
        Ok(self
            .store
            .list_credentials(tenant_id)
            .await?
            .iter()
            .map(credential_json)
            .collect())
    }

    fn event(
        &self,
        tenant: &TenantId,
        change: &Change,
        status: u16,
        resource_id: Option<&str>,
    ) -> AuditEvent {
        AuditEvent::new(
            tenant,
            Actor::Admin(self.principal.clone()),
            change.method,
            change.action,
            change.resource_type,
            resource_id,
            status,
        )
    }

    /// Records a change's audit event, whatever its outcome: the status it answered, or the error's
    /// (unless its tenant does not exist: a mistyped id gets no audit partition). The change
    /// already happened or was refused, so failing to record it is logged, not reported.
    async fn audited(
        &self,
        tenant_id: &str,
        change: Change<'_>,
        result: Result<Value>,
    ) -> Result<Value> {
        let Ok(tenant) = TenantId::parse(tenant_id) else {
            return result;
        };
        let (status, resource_id) = match &result {
            Ok(value) => (
                change.status,
                change
                    .resource_id
                    .or_else(|| change.id_from.and_then(|p| value.pointer(p)?.as_str())),
            ),
            Err(err) => {
                if self.store.get_tenant(&tenant).await.is_err() {
                    return result;
                }
                (err.status(), change.resource_id)
            }
        };
        let event = self.event(&tenant, &change, status, resource_id);
        if let Err(e) = self.store.record_audit(&event).await {
            tracing::warn!(error = %e, action = change.action, "could not record audit event");
        }
        result
    }
}

/// An admin change as its audit event describes it.
struct Change<'a> {
    method: &'static str,
    action: &'static str,
    resource_type: &'static str,
    /// The status it answers when it succeeds.
    status: u16,
    resource_id: Option<&'a str>,
    /// Where in a successful answer the resource id is, when only the change makes it.
    id_from: Option<&'static str>,
}

/// `id_from` for changes that issue a credential.
const CREATED_CREDENTIAL: &str = "/credential/id";

impl<'a> Change<'a> {
    fn new(
        method: &'static str,
        action: &'static str,
        resource_type: &'static str,
        status: u16,
    ) -> Self {
        Change {
            method,
            action,
            resource_type,
            status,
            resource_id: None,
            id_from: None,
        }
    }

    fn about(self, id: &'a str) -> Self {
        Change {
            resource_id: Some(id),
            ..self
        }
    }

    fn id_from(self, pointer: &'static str) -> Self {
        Change {
            id_from: Some(pointer),
            ..self
        }
    }

    fn status(self, status: u16) -> Self {
        Change { status, ..self }
    }
}

fn provisioning_off(tenant_id: &TenantId) -> AdminError {
    AdminError::Conflict(format!(
        "provisioning is disabled for tenant {tenant_id}: `scimctl provisioning enable \
         {tenant_id}` turns it on and issues its first token"
    ))
}

/// Tenant ids are ULIDs; anything else names no tenant.
fn parse_tenant(raw: &str) -> Result<TenantId> {
    TenantId::parse(raw).map_err(|_| AdminError::NotFound(format!("no tenant {raw}")))
}

fn missing_tenant(err: StoreError, tenant: &str) -> AdminError {
    match err {
        StoreError::NotFound => AdminError::NotFound(format!("no tenant {tenant}")),
        other => other.into(),
    }
}

/// Credential ids are ULIDs; anything else names no credential.
fn parse_credential(tenant: &str, raw: &str) -> Result<CredentialId> {
    CredentialId::parse(raw).map_err(|_| missing_credential(StoreError::NotFound, tenant, raw))
}

fn missing_credential(err: StoreError, tenant: &str, credential: &str) -> AdminError {
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
    let issued = auth::issue().map_err(|e| {
        AdminError::Store(StoreError::Backend(format!("OS random source failed: {e}")))
    })?;
    let expires = (new.expires_in_days > 0).then(|| {
        store::timestamp(
            time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(new.expires_in_days)),
        )
    });
    let credential = Credential {
        tenant_id: tenant_id.clone(),
        id: issued.credential_id.clone(),
        status: CredentialStatus::Enabled,
        description: new.description.clone(),
        created: store::now(),
        expires,
        last_used: None,
        secret_hash: issued.secret_hash.clone(),
    };
    Ok((credential, issued.token))
}

/// `object` with `fields` added (replacing any of the same name); a value that is not an object
/// comes back as it was (the callers pass `json!` object literals).
fn with_fields<const N: usize>(mut object: Value, fields: [(&str, Value); N]) -> Value {
    if let Some(map) = object.as_object_mut() {
        for (name, value) in fields {
            map.insert(name.to_string(), value);
        }
    }
    object
}

pub fn tenant_json(tenant: &Tenant) -> Value {
    let state = if tenant.deleting {
        "deleting"
    } else if tenant.provisioning_enabled {
        "enabled"
    } else {
        "disabled"
    };
    json!({
        "tenantId": tenant.id,
        "name": tenant.name,
        "created": tenant.created,
        "provisioning": state,
        "scimBasePath": scim_base_path(&tenant.id),
    })
}

/// A credential as the admin surfaces show it: metadata only, never the hash.
pub fn credential_json(credential: &Credential) -> Value {
    let days_left = credential.expires.as_deref().and_then(days_until);
    json!({
        "id": credential.id,
        "tenantId": credential.tenant_id,
        "status": credential.status.as_str(),
        "description": credential.description,
        "created": credential.created,
        "expires": credential.expires,
        "lastUsed": credential.last_used,
        "daysUntilExpiry": days_left,
        "expiringSoon": days_left.is_some_and(|d| d <= EXPIRY_WARNING_DAYS),
        // An expired credential fails authentication whatever its status.
        "expired": credential.expires.as_deref().is_some_and(|e| e <= store::now().as_str()),
    })
}

/// What an events cursor is bound to, besides its tenant.
const EVENTS_QUERY: &str = "events";

/// One change event as the feed and `scimctl events --json` show it.
pub fn change_event_json(event: &StoredEvent) -> Value {
    json!({
        "id": event.jti,
        "time": event.time,
        "type": event.uri,
        "resourceType": event.resource_type,
        "resourceId": event.resource_id,
        "version": event.version.get(),
        "set": event.set,
    })
}

pub fn audit_json(event: &AuditEvent) -> Value {
    json!({
        "time": event.time,
        "eventId": event.event_id,
        "tenantId": event.tenant_id,
        "credentialId": event.credential_id(),
        "principal": event.principal(),
        "method": event.method,
        "action": event.action,
        "resourceType": event.resource_type,
        "resourceId": event.resource_id,
        "status": event.status,
    })
}

fn delete_progress_json(tenant_id: &TenantId, done: &DeleteProgress) -> Value {
    json!({
        "tenantId": tenant_id,
        "complete": done.complete,
        "deleted": {
            "credentials": done.credentials,
            "users": done.users,
            "groups": done.groups,
            "memberships": done.memberships,
            "guards": done.guards,
            "auditEvents": done.audit_events,
        },
    })
}

fn days_until(timestamp: &str) -> Option<i64> {
    let at = time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
        .ok()?;
    Some((at - time::OffsetDateTime::now_utc()).whole_days())
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

    fn credential(expires: Option<String>) -> Credential {
        Credential {
            tenant_id: TenantId::generate(),
            id: CredentialId::generate(),
            status: CredentialStatus::Enabled,
            description: "d".into(),
            created: store::now(),
            expires,
            last_used: None,
            secret_hash: "secret-hash".into(),
        }
    }

    #[test]
    fn credentials_expiring_within_90_days_are_flagged() {
        let in_days = |d: i64| {
            Some(store::timestamp(
                time::OffsetDateTime::now_utc()
                    + time::Duration::days(d)
                    + time::Duration::hours(1),
            ))
        };
        let soon = credential_json(&credential(in_days(30)));
        assert_eq!(
            (
                soon["daysUntilExpiry"].as_i64(),
                soon["expiringSoon"].as_bool()
            ),
            (Some(30), Some(true))
        );
        let later = credential_json(&credential(in_days(200)));
        assert_eq!(later["expiringSoon"], false);
        let never = credential_json(&credential(None));
        assert!(never["daysUntilExpiry"].is_null() && never["expiringSoon"] == false);
        assert!(
            !never.to_string().contains("secret-hash"),
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
    fn errors_map_to_statuses() {
        assert_eq!(AdminError::from(StoreError::NotFound).status(), 404);
        assert_eq!(
            AdminError::from(StoreError::Limit("x".into())).status(),
            409
        );
        assert_eq!(AdminError::from(StoreError::Throttled).status(), 429);
        assert_eq!(
            AdminError::from(StoreError::Unavailable("x".into())).status(),
            503
        );
        assert_eq!(AdminError::Invalid("x".into()).status(), 400);
    }
}
