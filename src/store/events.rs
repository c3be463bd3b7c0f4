//! Change events (issue 11, RFC 9967): one item per successful SCIM write, put in the write's
//! own transaction (an outbox), read back as a feed in commit order, and published from the
//! table's stream. docs/events.md has the design.
//!
//! Key: `PK = {tenant}#EVENTS`, `SK = {time}#{jti}`, where `time` is the resource's new
//! `lastModified` (strictly increasing per resource), so the feed order per resource is the
//! version order.

use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use serde_json::Value;

use super::keys::*;
use super::{get_s, kind_attr, n, s, Action, Item, Store, StoreError};
use crate::domain::Timestamp;
use crate::protocol::{ResourceId, TenantId, Version};

/// Days events are kept before the table's TTL removes them.
pub const DEFAULT_EVENT_RETENTION_DAYS: u32 = 30;

/// One stored event: what the feed returns.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub jti: String,
    /// The resource's `lastModified` after the write.
    pub time: Timestamp,
    /// The first event URI of the SET (the write's own).
    pub uri: String,
    pub resource_type: String,
    pub resource_id: ResourceId,
    pub version: Version,
    /// The SET, as JSON.
    pub set: Value,
}

impl StoredEvent {
    pub fn sort_key(&self) -> String {
        format!("{}#{}", self.time, self.jti)
    }

    fn to_item(&self, tenant: &TenantId, retention_days: u32) -> Item {
        let mut item = Item::from([
            (PK.into(), s(events_pk(tenant))),
            (SK.into(), s(self.sort_key())),
            kind_attr(ItemKind::Event),
            ("jti".into(), s(&self.jti)),
            ("time".into(), s(self.time.to_string())),
            ("type".into(), s(&self.uri)),
            ("resourceType".into(), s(&self.resource_type)),
            ("resourceId".into(), s(self.resource_id.as_str())),
            ("version".into(), n(self.version)),
            ("set".into(), s(self.set.to_string())),
        ]);
        if let Some(expires) = super::expires_after_days(retention_days) {
            item.insert(TTL_ATTRIBUTE.into(), expires);
        }
        item
    }

    fn from_item(item: &Item) -> Result<Self, StoreError> {
        let set = serde_json::from_str(get_s(item, "set")?)
            .map_err(|e| StoreError::Corrupt(format!("event set: {e}")))?;
        Ok(StoredEvent {
            jti: get_s(item, "jti")?.to_string(),
            time: super::get_time(item, "time")?,
            uri: get_s(item, "type")?.to_string(),
            resource_type: get_s(item, "resourceType")?.to_string(),
            resource_id: super::get_id(item, "resourceId")?,
            version: super::get_version(item, "version")?,
            set,
        })
    }
}

/// A page of the feed, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPage {
    pub events: Vec<StoredEvent>,
    /// The sort key of the last event returned: pass it back as `after`.
    pub last: Option<String>,
}

impl Store {
    /// Days change events are kept before the table's TTL removes them.
    pub fn event_retention_days(&self) -> u32 {
        self.event_retention_days
    }

    /// The event as one more action of the write's own transaction.
    pub(super) fn event_action(
        &self,
        tenant: &TenantId,
        event: &StoredEvent,
    ) -> Result<Action, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(event.to_item(tenant, self.event_retention_days)))
            .condition_expression("attribute_not_exists(PK)")
            .build()
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        Ok(Action {
            item: TransactWriteItem::builder().put(put).build(),
            on_fail: StoreError::Backend("event id collision".into()),
        })
    }

    /// Up to `limit` events after the sort key `after` (exclusive), or from `since` (an RFC 3339
    /// time, inclusive), oldest first: one Query, more only when a page's 1 MB holds fewer.
    /// (Reads stop past `max_bytes` of items, so a page of large events stays in memory.)
    pub async fn list_events(
        &self,
        tenant: &TenantId,
        after: Option<&str>,
        since: Option<&str>,
        (limit, max_bytes): (usize, usize),
    ) -> Result<EventPage, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(events_pk(tenant)));
        request = match (after, since) {
            (Some(after), _) => request
                .key_condition_expression("PK = :pk AND SK > :after")
                .expression_attribute_values(":after", s(after)),
            (None, Some(since)) => request
                .key_condition_expression("PK = :pk AND SK >= :since")
                .expression_attribute_values(":since", s(since)),
            (None, None) => request.key_condition_expression("PK = :pk"),
        };
        let mut events = Vec::new();
        let mut bytes = 0;
        let mut start = None;
        loop {
            let page = request
                .clone()
                .set_exclusive_start_key(start)
                .limit(i32::try_from(limit.saturating_sub(events.len()).max(1)).unwrap_or(i32::MAX))
                .send()
                .await?;
            for item in page.items() {
                bytes += super::item_bytes(item);
                events.push(StoredEvent::from_item(item)?);
                if bytes > max_bytes {
                    break;
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() || events.len() >= limit || bytes > max_bytes {
                break;
            }
        }
        let last = events.last().map(StoredEvent::sort_key);
        Ok(EventPage { events, last })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_round_trip_through_items_sorted_by_time() {
        let tenant = TenantId::parse("01J0000000000000000000000T").unwrap();
        let event = StoredEvent {
            jti: "01J00000000000000000000EVT".into(),
            time: Timestamp::parse("2026-11-30T12:00:00.000Z").unwrap(),
            uri: crate::protocol::events::CREATE_FULL.into(),
            resource_type: "User".into(),
            resource_id: ResourceId::parse("01J0000000000000000000000A").unwrap(),
            version: Version::FIRST,
            set: json!({"jti": "01J00000000000000000000EVT"}),
        };
        let item = event.to_item(&tenant, 30);
        assert_eq!(item[PK], s(format!("{tenant}#EVENTS")));
        assert_eq!(
            item[SK],
            s("2026-11-30T12:00:00.000Z#01J00000000000000000000EVT")
        );
        assert!(item.contains_key(TTL_ATTRIBUTE));
        assert_eq!(StoredEvent::from_item(&item).unwrap(), event);
        assert!(!event.to_item(&tenant, 0).contains_key(TTL_ATTRIBUTE));
    }
}
