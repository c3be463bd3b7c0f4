//! Deleting a tenant and everything it owns, in bounded batches. The first step deletes its
//! credentials (so no SCIM request authenticates any more) and blocks new ones; the tenant item
//! goes last, so a delete cut short (a Lambda timeout, a crash, a budget) resumes where it stopped
//! when repeated.

use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};

use super::keys::*;
use super::{get_id, opt_s, s, Item, Store, StoreError};
use crate::protocol::resource::ResourceKind;
use crate::protocol::{ResourceId, TenantId};

/// Items deleted so far, by what they were (the `deleted` counts of a deletion report).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteProgress {
    pub credentials: usize,
    pub users: usize,
    pub groups: usize,
    pub memberships: usize,
    /// Uniqueness guards of user and group names.
    pub guards: usize,
    pub audit_events: usize,
    /// Whether the tenant is gone; `false` when the budget ran out first (repeat to go on).
    #[serde(skip)]
    pub complete: bool,
}

impl DeleteProgress {
    pub fn items(&self) -> usize {
        self.credentials
            + self.users
            + self.groups
            + self.memberships
            + self.guards
            + self.audit_events
    }
}

impl Store {
    /// Deletes the tenant's items, at most about `budget` of them in this call (a batch may
    /// overshoot it by less than one batch), reporting progress after each batch.
    pub async fn delete_tenant(
        &self,
        tenant: &TenantId,
        budget: usize,
        mut progress: impl FnMut(&DeleteProgress),
    ) -> Result<DeleteProgress, StoreError> {
        self.get_tenant(tenant).await?;
        let mut done = DeleteProgress {
            credentials: self.begin_tenant_delete(tenant).await?,
            ..DeleteProgress::default()
        };
        progress(&done);
        // Groups first, each with its memberships (reached through GSI1, which also finds those a
        // user deleted in a race left behind), then users with their whole partition (which holds
        // any membership of a group deleted in a race). Indexes lag writes and deletes: ids already
        // deleted are skipped, and only a pass that finds nothing new ends the loop.
        let mut seen = std::collections::HashSet::new();
        loop {
            let mut found = false;
            for kind in [ResourceKind::Group, ResourceKind::User] {
                let mut start = None;
                loop {
                    let (page, next) = self.collection_page(tenant, kind, start).await?;
                    for (id, name) in page {
                        if !seen.insert(id.clone()) {
                            continue;
                        }
                        found = true;
                        let pk = resource_pk(tenant, kind, &id);
                        let mut keys = match kind {
                            ResourceKind::Group => {
                                let members = self.member_keys(tenant, &id).await?;
                                done.memberships += members.len();
                                done.groups += 1;
                                let mut keys = members;
                                keys.push(item_key(pk, RESOURCE_SK));
                                keys
                            }
                            ResourceKind::User => {
                                let keys = self.partition_keys(&pk).await?;
                                done.memberships += keys.len().saturating_sub(1);
                                done.users += 1;
                                keys
                            }
                        };
                        if let Some(name) = name {
                            keys.push(item_key(unique_pk(tenant, kind, &name), UNIQUE_SK));
                            done.guards += 1;
                        }
                        self.delete_keys(keys).await?;
                    }
                    progress(&done);
                    if done.items() >= budget {
                        return Ok(done);
                    }
                    start = next;
                    if start.is_none() {
                        break;
                    }
                }
            }
            if !found {
                break;
            }
        }
        // Audit events, then change events: the same partition shape.
        for pk in [audit_pk(tenant), events_pk(tenant)] {
            loop {
                let events = self.first_keys(&pk).await?;
                if events.is_empty() {
                    break;
                }
                done.audit_events += events.len();
                self.delete_keys(events).await?;
                progress(&done);
                if done.items() >= budget {
                    return Ok(done);
                }
            }
        }
        // The list state: counters and bookmarks.
        let lists = self.partition_keys(&lists_pk(tenant)).await?;
        self.delete_keys(lists).await?;
        // Whatever else the tenant partition holds (its credentials are already gone), then the
        // tenant item itself.
        let mut rest = self.partition_keys(&tenant_pk(tenant)).await?;
        rest.retain(|k| {
            k.get(SK).and_then(|v| v.as_s().ok()).map(String::as_str) != Some(TENANT_SK)
        });
        self.delete_keys(rest).await?;
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(tenant_pk(tenant)))
            .key(SK, s(TENANT_SK))
            .send()
            .await?;
        done.complete = true;
        progress(&done);
        Ok(done)
    }

    /// A page of up to 100 resources of a kind, (id, unique name), and where the next starts.
    async fn collection_page(
        &self,
        tenant: &TenantId,
        kind: ResourceKind,
        start: Option<Item>,
    ) -> Result<(Vec<(ResourceId, Option<String>)>, Option<Item>), StoreError> {
        let name = super::resources::name_attribute(kind);
        let page = self
            .query()
            .index_name(GSI1)
            .key_condition_expression("GSI1PK = :pk")
            .expression_attribute_values(":pk", s(collection_pk(tenant, kind)))
            .projection_expression("id, attributes.#name")
            .expression_attribute_names("#name", name)
            .limit(100)
            .set_exclusive_start_key(start)
            .send()
            .await?;
        let resources = page
            .items()
            .iter()
            .map(|item| {
                let unique = item
                    .get("attributes")
                    .and_then(|a| a.as_m().ok())
                    .and_then(|a| opt_s(a, name));
                Ok((get_id(item, "id")?, unique))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok((resources, page.last_evaluated_key))
    }

    /// Keys of a group's membership items (they live in the members' partitions).
    async fn member_keys(
        &self,
        tenant: &TenantId,
        group_id: &ResourceId,
    ) -> Result<Vec<Item>, StoreError> {
        self.all_keys(Some(GSI1), GSI1PK, &members_pk(tenant, group_id))
            .await
    }

    async fn partition_keys(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        self.all_keys(None, PK, pk).await
    }

    /// The table keys of every item whose `key` (on the table or an index) is `value`.
    async fn all_keys(
        &self,
        index: Option<&str>,
        key: &str,
        value: &str,
    ) -> Result<Vec<Item>, StoreError> {
        let mut keys = Vec::new();
        let query = self
            .query()
            .set_index_name(index.map(str::to_string))
            .key_condition_expression("#key = :value")
            .expression_attribute_names("#key", key)
            .expression_attribute_values(":value", s(value))
            .projection_expression("PK, SK");
        super::query_all(query, |page| {
            keys.extend(page.items().iter().map(only_key));
            Ok(())
        })
        .await?;
        Ok(keys)
    }

    /// Up to 500 keys from the start of a partition.
    async fn first_keys(&self, pk: &str) -> Result<Vec<Item>, StoreError> {
        let page = self
            .query()
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(":pk", s(pk))
            .projection_expression("PK, SK")
            .limit(500)
            .consistent_read(true)
            .send()
            .await?;
        Ok(page.items().iter().map(only_key).collect())
    }

    /// Deletes items 25 at a time, retrying what DynamoDB leaves unprocessed.
    async fn delete_keys(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let requests = keys
            .into_iter()
            .map(|key| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<_, StoreError>>()?;
        self.batch_write(requests).await
    }
}

fn item_key(pk: String, sk: &str) -> Item {
    Item::from([(PK.into(), s(pk)), (SK.into(), s(sk))])
}

fn only_key(item: &Item) -> Item {
    item.iter()
        .filter(|(name, _)| name.as_str() == PK || name.as_str() == SK)
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}
