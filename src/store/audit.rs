//! Audit events: who (credential or admin principal) did what to which resource, and the outcome.
//! A successful SCIM write carries its event inside its own transaction, so auditing costs no extra
//! round trip; anything else is one write of its own (a PutItem, or a transaction with the
//! credential check for a SCIM write that failed). Events live in the tenant's `{tenant}#AUDIT`
//! partition, sorted by time, and expire through the table's TTL.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

use super::keys::*;
use super::oauth::{ClientAccess, Grant};
use super::{
    get_id, get_n, get_s, get_time, kind_attr, n, opt_s, s, Action, Item, Store, StoreError,
};
use crate::domain::Timestamp;
use crate::protocol::{ClientId, CredentialId, TenantId};

/// Days an audit event is kept unless `AUDIT_RETENTION_DAYS` says otherwise (0 keeps them forever).
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 90;

/// Who acted: a SCIM credential, or an administrator (an IAM principal, or `scimctl` and its user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    Credential(CredentialId),
    /// An OAuth client, through an access token the token endpoint issued.
    Client(ClientAccess),
    Admin(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub tenant_id: TenantId,
    pub time: Timestamp,
    /// Unique per event (a ULID), so two events in one millisecond both survive.
    pub event_id: String,
    pub actor: Actor,
    /// The HTTP method of the request, or of the admin API route an admin action maps to.
    pub method: String,
    /// `create`, `replace`, `patch`, `delete` for SCIM writes; `token.create`, `provisioning.disable`…
    pub action: String,
    /// `User`, `Group`, `Credential`, `Tenant`.
    pub resource_type: String,
    /// The id the action named, as it was given: a failed request may name one that is not an
    /// id at all (`DELETE /Users/nonsense`), and its event records that.
    pub resource_id: Option<String>,
    /// The HTTP status the action answered with.
    pub status: u16,
}

/// Longest client-supplied text an audit event keeps, in characters.
pub const MAX_AUDIT_FIELD_CHARS: usize = 256;

/// Client-supplied text (a failed request's URL id) as an audit event keeps it: at most
/// [`MAX_AUDIT_FIELD_CHARS`] characters, control characters escaped (`\u{1b}`), so that nothing
/// a client sends can forge lines or terminal codes where the trail is printed.
pub fn safe_field(raw: &str) -> String {
    let mut out: String = raw
        .chars()
        .take(MAX_AUDIT_FIELD_CHARS)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_unicode().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if raw.chars().count() > MAX_AUDIT_FIELD_CHARS {
        out.push('…');
    }
    out
}

impl AuditEvent {
    pub fn new(
        tenant_id: &TenantId,
        actor: Actor,
        method: &str,
        action: &str,
        resource_type: &str,
        resource_id: Option<&str>,
        status: u16,
    ) -> Self {
        AuditEvent {
            tenant_id: tenant_id.clone(),
            time: Timestamp::now(),
            event_id: ulid::Ulid::new().to_string(),
            actor,
            method: method.to_string(),
            action: action.to_string(),
            resource_type: resource_type.to_string(),
            resource_id: resource_id.map(safe_field),
            status,
        }
    }

    /// The same event about `id` (a created resource's id is only known once it is stored).
    pub fn about(&self, id: &str) -> Self {
        AuditEvent {
            resource_id: Some(safe_field(id)),
            ..self.clone()
        }
    }

    /// The same action answered with `status`, as an event of its own: a new time and id, so it
    /// never replaces the event a committed part of the same write stored (a group write that
    /// commits its first transaction and fails in a later one keeps both).
    pub fn answered(&self, status: u16) -> Self {
        AuditEvent {
            time: Timestamp::now(),
            event_id: ulid::Ulid::new().to_string(),
            status,
            ..self.clone()
        }
    }

    pub fn credential_id(&self) -> Option<&CredentialId> {
        match &self.actor {
            Actor::Credential(id) => Some(id),
            Actor::Client(_) | Actor::Admin(_) => None,
        }
    }

    pub fn principal(&self) -> Option<&str> {
        match &self.actor {
            Actor::Admin(p) => Some(p),
            Actor::Credential(_) | Actor::Client(_) => None,
        }
    }

    pub fn client_id(&self) -> Option<&ClientId> {
        match &self.actor {
            Actor::Client(access) => Some(&access.client_id),
            Actor::Credential(_) | Actor::Admin(_) => None,
        }
    }

    /// The secret or federated credential whose access token made the request.
    pub fn grant(&self) -> Option<&Grant> {
        match &self.actor {
            Actor::Client(access) => Some(&access.grant),
            Actor::Credential(_) | Actor::Admin(_) => None,
        }
    }

    fn sort_key(&self) -> String {
        format!("{}#{}", self.time, self.event_id)
    }

    fn to_item(&self, retention_days: u32) -> Item {
        let mut item = Item::from([
            (PK.into(), s(audit_pk(&self.tenant_id))),
            (SK.into(), s(self.sort_key())),
            kind_attr(ItemKind::AuditEvent),
            ("tenantId".into(), s(self.tenant_id.as_str())),
            ("time".into(), s(self.time.to_string())),
            ("eventId".into(), s(&self.event_id)),
            ("method".into(), s(&self.method)),
            ("action".into(), s(&self.action)),
            ("resourceType".into(), s(&self.resource_type)),
            ("status".into(), n(self.status)),
        ]);
        match &self.actor {
            Actor::Credential(id) => {
                item.insert("credentialId".into(), s(id.as_str()));
            }
            Actor::Client(access) => {
                item.insert("clientId".into(), s(access.client_id.as_str()));
                let grant = match &access.grant {
                    Grant::Secret(id) => ("secretId", id.as_str()),
                    Grant::Federation(id) => ("federationId", id.as_str()),
                };
                item.insert(grant.0.into(), s(grant.1));
                item.insert("accessTokenId".into(), s(access.token_id.as_str()));
            }
            Actor::Admin(principal) => {
                item.insert("principal".into(), s(principal));
            }
        };
        if let Some(id) = &self.resource_id {
            item.insert("resourceId".into(), s(id));
        }
        if let Some(expires) = super::expires_after_days(retention_days) {
            item.insert(TTL_ATTRIBUTE.into(), expires);
        }
        item
    }

    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let actor = match (opt_s(item, "credentialId"), opt_s(item, "principal")) {
            (Some(_), _) => Actor::Credential(get_id(item, "credentialId")?),
            (None, Some(principal)) => Actor::Admin(principal),
            (None, None) if item.contains_key("clientId") => Actor::Client(ClientAccess {
                client_id: get_id(item, "clientId")?,
                grant: match item.contains_key("federationId") {
                    true => Grant::Federation(get_id(item, "federationId")?),
                    false => Grant::Secret(get_id(item, "secretId")?),
                },
                token_id: get_id(item, "accessTokenId")?,
            }),
            (None, None) => return Err(StoreError::Corrupt("audit event without actor".into())),
        };
        Ok(AuditEvent {
            tenant_id: get_id(item, "tenantId")?,
            time: get_time(item, "time")?,
            event_id: get_s(item, "eventId")?.into(),
            actor,
            method: get_s(item, "method")?.into(),
            action: get_s(item, "action")?.into(),
            resource_type: get_s(item, "resourceType")?.into(),
            resource_id: opt_s(item, "resourceId"),
            status: u16::try_from(get_n(item, "status")?)
                .map_err(|_| StoreError::Corrupt("audit status out of range".into()))?,
        })
    }
}

/// Which events to list: newest first, optionally only one credential's, only since a time, and
/// only older than a previous page's cursor. `credential_id` is a filter, kept as the
/// administrator typed it: one that is no credential's id selects no events.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub credential_id: Option<String>,
    /// RFC 3339 (compared as text: our timestamps are fixed-width UTC).
    pub since: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Events per page, from 1 (`service::admin::check_page_limit` refuses others).
    pub limit: usize,
}

/// Audit events per page unless asked otherwise.
pub const DEFAULT_AUDIT_PAGE: usize = 50;

impl Default for AuditQuery {
    fn default() -> Self {
        AuditQuery {
            credential_id: None,
            since: None,
            cursor: None,
            limit: DEFAULT_AUDIT_PAGE,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuditPage {
    pub events: Vec<AuditEvent>,
    /// Pass back as `AuditQuery::cursor` for older events; `None` when there are none.
    pub next_cursor: Option<String>,
}

impl Store {
    /// The event as one more action of a write's own transaction.
    pub(super) fn audit_action(&self, event: &AuditEvent) -> Result<Action, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(event.to_item(self.audit_retention_days)))
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Action {
            item: TransactWriteItem::builder().put(put).build(),
            on_fail: StoreError::Backend("audit event could not be written".into()),
        })
    }

    /// Records an event on its own: one PutItem (unconditional, so the SDK's retry of it is
    /// harmless; its key holds a new ULID). A credential's event (a SCIM write that failed or changed nothing) carries the credential check of every SCIM write, in a transaction:
    /// a request still running when provisioning was turned off or the tenant deleted leaves
    /// nothing behind (`Revoked`).
    pub async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        if let Some(check) = self.still_authorized(event)? {
            return self.transact(vec![self.audit_action(event)?, check]).await;
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(event.to_item(self.audit_retention_days)))
            .send()
            .await?;
        Ok(())
    }

    /// Records that a tenant was deleted. Its own audit partition went with it, so the event is
    /// kept under `TENANT_DELETIONS_PK` (until the TTL removes it).
    pub async fn record_tenant_deletion(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut item = event.to_item(self.audit_retention_days);
        item.insert(PK.into(), s(TENANT_DELETIONS_PK));
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await?;
        Ok(())
    }

    /// One page of a tenant's events, newest first. The credential filter is applied by DynamoDB
    /// after reading, so a sparse credential may take several reads per page.
    pub async fn list_audit(
        &self,
        tenant: &TenantId,
        query: &AuditQuery,
    ) -> Result<AuditPage, StoreError> {
        let limit = query.limit.max(1);
        let upper = query.cursor.clone().unwrap_or_else(|| "~".into());
        // Key values cannot be empty: "0" sorts before every timestamp.
        let lower = query.since.clone().unwrap_or_else(|| "0".into());
        if lower > upper {
            return Ok(AuditPage {
                events: Vec::new(),
                next_cursor: None,
            });
        }
        let mut request = self
            .query()
            .key_condition_expression("PK = :pk AND SK BETWEEN :lower AND :upper")
            .expression_attribute_values(":pk", s(audit_pk(tenant)))
            .expression_attribute_values(":lower", s(lower))
            .expression_attribute_values(":upper", s(&upper))
            .scan_index_forward(false)
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX));
        if let Some(credential) = &query.credential_id {
            request = request
                .filter_expression("credentialId = :credential")
                .expression_attribute_values(":credential", s(credential));
        }
        let mut events = Vec::new();
        let mut start = None;
        loop {
            let mut page = request
                .clone()
                .set_exclusive_start_key(start)
                .send()
                .await?;
            start = page.last_evaluated_key.take();
            for item in page.items() {
                // The cursor is exclusive: BETWEEN includes it.
                if get_s(item, SK)? == upper {
                    continue;
                }
                events.push(AuditEvent::from_item(item)?);
            }
            if events.len() > limit || start.is_none() {
                break;
            }
        }
        let next_cursor = if events.len() > limit {
            events.truncate(limit);
            events.last().map(AuditEvent::sort_key)
        } else {
            None
        };
        Ok(AuditPage {
            events,
            next_cursor,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_fields_escape_control_characters_and_are_bounded() {
        assert_eq!(safe_field("a\u{1b}[31mb\nc"), "a\\u{1b}[31mb\\u{a}c");
        let long = "x".repeat(1000);
        assert_eq!(safe_field(&long).chars().count(), MAX_AUDIT_FIELD_CHARS + 1);
        assert_eq!(
            safe_field("01ARZ3NDEKTSV4RRFFQ69G5FAV"),
            "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        );
    }

    #[test]
    fn events_round_trip_through_items_with_a_ttl() {
        let event = AuditEvent::new(
            &TenantId::generate(),
            Actor::Credential(CredentialId::generate()),
            "POST",
            "create",
            "User",
            Some("U"),
            201,
        );
        let item = event.to_item(90);
        assert_eq!(AuditEvent::from_item(&item).unwrap(), event);
        let ttl: i64 = item[TTL_ATTRIBUTE].as_n().unwrap().parse().unwrap();
        let in_days = (ttl - time::OffsetDateTime::now_utc().unix_timestamp()) / 86_400;
        assert!((89..=90).contains(&in_days), "{in_days}");
        assert!(!event.to_item(0).contains_key(TTL_ATTRIBUTE));
    }
}
