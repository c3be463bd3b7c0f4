//! Users, groups and memberships. A resource item holds the SCIM attributes as a DynamoDB map; its
//! unique name is guarded by a separate item written in the same transaction; each membership is
//! its own item in the user's partition, indexed by group on GSI1.

use std::collections::BTreeSet;

use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Put, PutRequest, TransactWriteItem, WriteRequest,
};
use serde_json::{Map, Value};

use super::keys::*;
use super::{
    get_id, get_s, get_version, kind_attr, n, query_all, s, Action, Item, Store, StoreError,
    MAX_TRANSACTION_ACTIONS,
};
use super::{AuditEvent, StoredEvent};
use crate::domain::Timestamp;
use crate::protocol::resource::ResourceKind;
use crate::protocol::{ResourceId, TenantId, Version};

#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    pub kind: ResourceKind,
    pub id: ResourceId,
    pub version: Version,
    pub created: Timestamp,
    pub last_modified: Timestamp,
    /// The SCIM attributes, as `resource::normalize` produced them.
    pub attributes: Map<String, Value>,
}

/// What a replace or patch changes.
#[derive(Debug, Clone, PartialEq)]
pub struct Revision<'a> {
    /// The new attributes (equal to the current ones for a member-only change).
    pub attributes: Map<String, Value>,
    /// Member ids to add and to remove (groups only), as the client named them (canonicalised by
    /// `protocol::members`): an id that is not a ULID names no user, so adding it is refused
    /// (`UnknownMember`, naming it) and removing it writes nothing.
    pub add: &'a BTreeSet<String>,
    pub remove: &'a BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserWithGroups {
    pub user: StoredResource,
    pub group_ids: Vec<ResourceId>,
}

pub(super) fn name_attribute(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "userName",
        ResourceKind::Group => "displayName",
    }
}

impl StoredResource {
    pub fn unique_name(&self) -> Option<&str> {
        self.attributes
            .get(name_attribute(self.kind))
            .and_then(Value::as_str)
    }

    fn external_id(&self) -> Option<&str> {
        self.attributes.get("externalId").and_then(Value::as_str)
    }

    pub(super) fn to_item(&self, tenant: &TenantId) -> Result<Item, StoreError> {
        let mut item = Item::from([
            (PK.into(), s(resource_pk(tenant, self.kind, &self.id))),
            (SK.into(), s(RESOURCE_SK)),
            kind_attr(self.kind.into()),
            ("id".into(), s(self.id.as_str())),
            ("version".into(), n(self.version)),
            ("created".into(), s(self.created.to_string())),
            ("lastModified".into(), s(self.last_modified.to_string())),
            (
                "attributes".into(),
                serde_dynamo::to_attribute_value(&self.attributes)?,
            ),
            (GSI1PK.into(), s(collection_pk(tenant, self.kind))),
            (GSI1SK.into(), s(self.id.as_str())),
        ]);
        if let Some(name) = self.unique_name() {
            item.insert(GSI2SK.into(), s(name_key(name)));
        }
        item.insert(GSI4SK.into(), s(modified_sk(self.last_modified, &self.id)));
        if let Some(external_id) = self.external_id() {
            item.insert(
                GSI3PK.into(),
                s(external_id_pk(tenant, self.kind, external_id)),
            );
        }
        Ok(item)
    }

    pub(super) fn from_item(item: &Item) -> Result<Self, StoreError> {
        let stored = get_s(item, KIND)?;
        let kind = ItemKind::parse(stored)
            .and_then(ItemKind::resource_kind)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown kind {stored}")))?;
        let attributes = item
            .get("attributes")
            .cloned()
            .ok_or_else(|| StoreError::Corrupt("missing attributes".into()))?;
        Ok(StoredResource {
            kind,
            id: get_id(item, "id")?,
            version: get_version(item, "version")?,
            created: super::get_time(item, "created")?,
            last_modified: super::get_time(item, "lastModified")?,
            attributes: serde_dynamo::from_attribute_value(attributes)?,
        })
    }
}

/// A member id as the client named it: a user id if it is a ULID, else it names no user.
fn member_id(raw: &str) -> Result<ResourceId, StoreError> {
    ResourceId::parse(raw).map_err(|_| StoreError::UnknownMember(raw.to_string()))
}

/// The item reserving `name` for `owner` (`docs/data-model.md`, "Uniqueness guard").
pub(super) fn guard_item(
    tenant: &TenantId,
    kind: ResourceKind,
    name: &str,
    owner: &ResourceId,
) -> Item {
    let mut item = key(unique_pk(tenant, kind, name), UNIQUE_SK);
    item.insert("ownerId".into(), s(owner.as_str()));
    item
}

pub(super) fn key(pk: String, sk: &str) -> Item {
    Item::from([(PK.into(), s(pk)), (SK.into(), s(sk))])
}

pub(super) fn build<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<T, StoreError> {
    r.map_err(|e| StoreError::Backend(e.to_string()))
}

impl Store {
    fn put(
        &self,
        item: Item,
        condition: &str,
        values: Item,
        on_fail: StoreError,
    ) -> Result<Action, StoreError> {
        let mut put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition);
        if !values.is_empty() {
            put = put.set_expression_attribute_values(Some(values));
        }
        Ok(Action {
            item: TransactWriteItem::builder()
                .put(build(put.build())?)
                .build(),
            on_fail,
        })
    }

    fn delete_action(
        &self,
        key: Item,
        condition: Option<(&str, Item)>,
        on_fail: StoreError,
    ) -> Result<Action, StoreError> {
        let mut delete = Delete::builder().table_name(&self.table).set_key(Some(key));
        if let Some((expr, values)) = condition {
            delete = delete.condition_expression(expr);
            if !values.is_empty() {
                delete = delete.set_expression_attribute_values(Some(values));
            }
        }
        Ok(Action {
            item: TransactWriteItem::builder()
                .delete(build(delete.build())?)
                .build(),
            on_fail,
        })
    }

    fn guard(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        name: &str,
        owner: &ResourceId,
    ) -> Result<Action, StoreError> {
        self.put(
            guard_item(tenant, kind, name, owner),
            "attribute_not_exists(PK)",
            Item::new(),
            StoreError::Uniqueness(format!(
                "a {} with {} \"{name}\" already exists (compared case-insensitively)",
                kind.name(),
                name_attribute(kind)
            )),
        )
    }

    fn release_guard(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        name: &str,
        owner: &ResourceId,
    ) -> Result<Action, StoreError> {
        // A guard that is missing (an old inconsistency) is no reason to refuse the write.
        self.delete_action(
            key(unique_pk(tenant, kind, name), UNIQUE_SK),
            Some((
                "attribute_not_exists(PK) OR ownerId = :owner",
                Item::from([(":owner".into(), s(owner.as_str()))]),
            )),
            StoreError::VersionConflict,
        )
    }

    /// Checks that the user exists, then writes the membership item: both or neither.
    fn add_member(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_id: &ResourceId,
    ) -> Result<Vec<Action>, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                resource_pk(tenant, ResourceKind::User, user_id),
                RESOURCE_SK,
            )))
            .condition_expression("attribute_exists(PK)");
        let membership = Item::from([
            (
                PK.into(),
                s(resource_pk(tenant, ResourceKind::User, user_id)),
            ),
            (SK.into(), s(member_of_sk(group_id))),
            kind_attr(ItemKind::Membership),
            (GSI1PK.into(), s(members_pk(tenant, group_id))),
            (GSI1SK.into(), s(user_id.as_str())),
        ]);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(membership));
        Ok(vec![
            Action {
                item: TransactWriteItem::builder()
                    .condition_check(build(check.build())?)
                    .build(),
                on_fail: StoreError::UnknownMember(user_id.to_string()),
            },
            Action {
                item: TransactWriteItem::builder()
                    .put(build(put.build())?)
                    .build(),
                on_fail: StoreError::VersionConflict,
            },
        ])
    }

    fn remove_member(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        user_id: &ResourceId,
    ) -> Result<Vec<Action>, StoreError> {
        Ok(vec![self.delete_action(
            key(
                resource_pk(tenant, ResourceKind::User, user_id),
                &member_of_sk(group_id),
            ),
            None,
            StoreError::VersionConflict,
        )?])
    }

    fn member_units(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
        add: &BTreeSet<String>,
        remove: &BTreeSet<String>,
    ) -> Result<Vec<Vec<Action>>, StoreError> {
        let mut units = Vec::with_capacity(add.len() + remove.len());
        for raw in add {
            let id = member_id(raw)?;
            units.push(self.add_member(tenant, group_id, &id)?);
        }
        for raw in remove {
            // An id that cannot exist cannot be a member: removing it is a no-op.
            if let Ok(id) = ResourceId::parse(raw) {
                units.push(self.remove_member(tenant, group_id, &id)?);
            }
        }
        Ok(units)
    }

    /// When member writes need more than one transaction, all new members are checked up front
    /// (BatchGetItem) so an unknown id fails the request before anything is written.
    async fn write_resource(
        &self,
        tenant: &TenantId,
        (anchor, units): (Vec<Action>, Vec<Vec<Action>>),
        added: &BTreeSet<String>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let guard = self.still_authorized(audit)?;
        let actions = anchor.len() + units.iter().map(Vec::len).sum::<usize>();
        if actions + usize::from(guard.is_some()) > MAX_TRANSACTION_ACTIONS && !added.is_empty() {
            self.ensure_users_exist(tenant, added).await?;
        }
        self.transact_in_chunks(anchor, units, false, guard).await
    }

    pub async fn create(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        attributes: Map<String, Value>,
        members: &BTreeSet<String>,
        audit: &AuditEvent,
        event: impl FnOnce(&StoredResource) -> StoredEvent,
    ) -> Result<StoredResource, StoreError> {
        let at = Timestamp::now();
        let resource = StoredResource {
            kind,
            id: ResourceId::generate(),
            version: Version::FIRST,
            created: at,
            last_modified: at,
            attributes,
        };
        let mut anchor = vec![self.put(
            resource.to_item(tenant)?,
            "attribute_not_exists(PK)",
            Item::new(),
            StoreError::Backend("resource id collision".into()),
        )?];
        if let Some(name) = resource.unique_name() {
            anchor.push(self.guard(tenant, kind, name, &resource.id)?);
        }
        anchor.push(self.audit_action(&audit.about(resource.id.as_str()))?);
        anchor.push(self.event_action(tenant, &event(&resource))?);
        anchor.push(self.counter_action(tenant, kind, 1)?);
        let units = self.member_units(tenant, &resource.id, members, &BTreeSet::new())?;
        self.write_resource(tenant, (anchor, units), members, audit)
            .await?;
        Ok(resource)
    }

    /// Replaces a resource's attributes if it is still at `current.version`, and applies member
    /// changes. Returns the new state.
    pub async fn update(
        &self,
        tenant: &TenantId,
        current: &StoredResource,
        revision: Revision<'_>,
        audit: &AuditEvent,
        event: impl FnOnce(&StoredResource) -> StoredEvent,
    ) -> Result<StoredResource, StoreError> {
        let Revision {
            attributes,
            add,
            remove,
        } = revision;
        let updated = StoredResource {
            version: current.version.next(),
            last_modified: super::now_after(current.last_modified),
            attributes,
            ..current.clone()
        };
        // Written only at the version read, member-only changes too: the change event names the
        // version this write made, so a consumer can order a resource's events by it. Concurrent
        // member PATCHes of one group retry the lost race (service::resources).
        let mut anchor = vec![self.put(
            updated.to_item(tenant)?,
            "version = :v",
            Item::from([(":v".into(), n(current.version))]),
            StoreError::VersionConflict,
        )?];
        let (old, new) = (current.unique_name(), updated.unique_name());
        if old.map(name_key) != new.map(name_key) {
            if let Some(old) = old {
                anchor.push(self.release_guard(tenant, current.kind, old, &current.id)?);
            }
            if let Some(new) = new {
                anchor.push(self.guard(tenant, current.kind, new, &current.id)?);
            }
        }
        anchor.push(self.audit_action(audit)?);
        anchor.push(self.event_action(tenant, &event(&updated))?);
        let units = self.member_units(tenant, &current.id, add, remove)?;
        self.write_resource(tenant, (anchor, units), add, audit)
            .await?;
        Ok(updated)
    }

    pub async fn get(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        id: &ResourceId,
    ) -> Result<StoredResource, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(resource_pk(tenant, kind, id), RESOURCE_SK)))
            .consistent_read(true)
            .send()
            .await?
            .item
            .ok_or(StoreError::NotFound)?;
        StoredResource::from_item(&item)
    }

    /// The user and the ids of its groups: one partition, one strongly consistent query.
    pub async fn get_user(
        &self,
        tenant: &TenantId,
        id: &ResourceId,
    ) -> Result<UserWithGroups, StoreError> {
        let mut user = None;
        let mut group_ids = Vec::new();
        let query = self
            .query()
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(resource_pk(tenant, ResourceKind::User, id)))
            .consistent_read(true);
        query_all(query, |page| {
            for item in page.items() {
                let sk = get_s(item, SK)?;
                if sk == RESOURCE_SK {
                    user = Some(StoredResource::from_item(item)?);
                } else if let Some(group_id) = sk.strip_prefix(MEMBER_OF_PREFIX) {
                    group_ids.push(ResourceId::parse(group_id).map_err(|_| {
                        StoreError::Corrupt(format!("membership of a malformed group id {sk}"))
                    })?);
                }
            }
            Ok(())
        })
        .await?;
        let user = user.ok_or(StoreError::NotFound)?;
        Ok(UserWithGroups { user, group_ids })
    }

    /// Ids of a group's members, paging through GSI1.
    pub async fn group_members(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
    ) -> Result<Vec<ResourceId>, StoreError> {
        let mut members = Vec::new();
        let query = self
            .query()
            .index_name(GSI1)
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(members_pk(tenant, group_id)))
            .projection_expression("GSI1SK");
        query_all(query, |page| {
            for item in page.items() {
                members.push(get_id(item, GSI1SK)?);
            }
            Ok(())
        })
        .await?;
        Ok(members)
    }

    /// Writes new users or groups (no members) in batches, with their name guards and counts:
    /// how a large directory is loaded at once (the list benchmark seeds 10,000 users this
    /// way). Not transactional: it assumes the names are free, as a fresh tenant's are.
    pub async fn import(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        attributes: Vec<Map<String, Value>>,
    ) -> Result<Vec<StoredResource>, StoreError> {
        let at = Timestamp::now();
        let mut requests = Vec::with_capacity(attributes.len() * 2);
        let mut imported = Vec::with_capacity(attributes.len());
        for attributes in attributes {
            let resource = StoredResource {
                kind,
                id: ResourceId::generate(),
                version: Version::FIRST,
                created: at,
                last_modified: at,
                attributes,
            };
            let mut items = vec![resource.to_item(tenant)?];
            if let Some(name) = resource.unique_name() {
                items.push(guard_item(tenant, kind, name, &resource.id));
            }
            for item in items {
                let put = build(PutRequest::builder().set_item(Some(item)).build())?;
                requests.push(WriteRequest::builder().put_request(put).build());
            }
            imported.push(resource);
        }
        self.batch_write(requests).await?;
        let count = self.counter_action(tenant, kind, imported.len() as i64)?;
        self.transact(vec![count]).await?;
        Ok(imported)
    }

    /// Deletes a resource as it was read (`related`: a user's groups or a group's members),
    /// with its memberships and name guard. The resource item goes last, so a failure part-way
    /// leaves a resource that a retried DELETE finishes. It is deleted only while still at the
    /// version read, and the guard only while this resource owns it: a delete racing a rename
    /// gets `VersionConflict` and neither frees nor steals a name.
    pub async fn delete(
        &self,
        tenant: &TenantId,
        resource: &StoredResource,
        related: &BTreeSet<ResourceId>,
        audit: &AuditEvent,
        event: impl FnOnce(&StoredResource) -> StoredEvent,
    ) -> Result<(), StoreError> {
        let units = related
            .iter()
            .map(|other| match resource.kind {
                ResourceKind::User => self.remove_member(tenant, other, &resource.id),
                ResourceKind::Group => self.remove_member(tenant, &resource.id, other),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut anchor = vec![self.delete_action(
            key(
                resource_pk(tenant, resource.kind, &resource.id),
                RESOURCE_SK,
            ),
            Some((
                "version = :v",
                Item::from([(":v".into(), n(resource.version))]),
            )),
            StoreError::VersionConflict,
        )?];
        if let Some(name) = resource.unique_name() {
            anchor.push(self.release_guard(tenant, resource.kind, name, &resource.id)?);
        }
        anchor.push(self.audit_action(audit)?);
        anchor.push(self.event_action(tenant, &event(resource))?);
        anchor.push(self.counter_action(tenant, resource.kind, -1)?);
        let guard = self.still_authorized(audit)?;
        self.transact_in_chunks(anchor, units, true, guard).await
    }

    async fn ensure_users_exist(
        &self,
        tenant: &TenantId,
        ids: &BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let ids: Vec<ResourceId> = ids
            .iter()
            .map(|raw| member_id(raw))
            .collect::<Result<_, _>>()?;
        let keys: Vec<Item> = ids
            .iter()
            .map(|id| key(resource_pk(tenant, ResourceKind::User, id), RESOURCE_SK))
            .collect();
        let found = self
            .batch_get(keys, Some("id"))
            .await?
            .iter()
            .map(|item| get_id(item, "id"))
            .collect::<Result<BTreeSet<ResourceId>, _>>()?;
        if let Some(missing) = ids.iter().find(|id| !found.contains(*id)) {
            return Err(StoreError::UnknownMember(missing.to_string()));
        }
        Ok(())
    }
}
