//! Every key of the single table, in one place. `docs/data-model.md` lists the access patterns
//! they serve. All resource keys start with the tenant id, so no key built here can reach another
//! tenant's items.

use crate::domain::Timestamp;
use crate::protocol::resource::ResourceKind;
use crate::protocol::{ClientId, CredentialId, ResourceId, TenantId};

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
/// By name: the collection partition (`GSI1PK`), sorted by `lower(name)`.
pub const GSI2SK: &str = "GSI2SK";
pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";
/// By last modification: the collection partition (`GSI1PK`), sorted by `{lastModified}#{id}`.
pub const GSI4: &str = "GSI4";
pub const GSI4SK: &str = "GSI4SK";
/// Reserved for audit events, which expire.
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// The attribute naming what an item is (its values: [`ItemKind`]).
pub const KIND: &str = "kind";

/// What an item is: the value of its `kind` attribute. Every item the store writes has one except
/// the name guards (`UNIQUE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ItemKind {
    User,
    Group,
    /// A user's membership of a group, in the user's partition.
    Membership,
    Tenant,
    Credential,
    /// An OAuth client with its secrets, in the tenant's partition.
    OAuthClient,
    AuditEvent,
    /// A client assertion's `jti`, kept until the assertion expires so it is used once.
    UsedAssertion,
    /// One shard of a tenant's per-kind resource count.
    Counter,
    /// Where an index page starts, for one query.
    Bookmark,
    /// The table's cursor-signing key.
    CursorKey,
    /// A change event (RFC 9967 SET) of one successful write.
    Event,
}

impl ItemKind {
    pub const ALL: [ItemKind; 12] = [
        ItemKind::User,
        ItemKind::Group,
        ItemKind::Membership,
        ItemKind::Tenant,
        ItemKind::Credential,
        ItemKind::OAuthClient,
        ItemKind::AuditEvent,
        ItemKind::UsedAssertion,
        ItemKind::Counter,
        ItemKind::Bookmark,
        ItemKind::CursorKey,
        ItemKind::Event,
    ];

    /// The value stored in the `kind` attribute.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::User => "User",
            ItemKind::Group => "Group",
            ItemKind::Membership => "Membership",
            ItemKind::Tenant => "Tenant",
            ItemKind::Credential => "Credential",
            ItemKind::OAuthClient => "OAuthClient",
            ItemKind::AuditEvent => "AuditEvent",
            ItemKind::UsedAssertion => "UsedAssertion",
            ItemKind::Counter => "Counter",
            ItemKind::Bookmark => "Bookmark",
            ItemKind::CursorKey => "CursorKey",
            ItemKind::Event => "Event",
        }
    }

    /// The kind a stored `kind` value names, if any.
    pub fn parse(raw: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|k| k.as_str() == raw)
    }

    /// The SCIM resource kind of a user or group item.
    pub fn resource_kind(self) -> Option<ResourceKind> {
        match self {
            ItemKind::User => Some(ResourceKind::User),
            ItemKind::Group => Some(ResourceKind::Group),
            _ => None,
        }
    }
}

impl From<ResourceKind> for ItemKind {
    fn from(kind: ResourceKind) -> Self {
        match kind {
            ResourceKind::User => ItemKind::User,
            ResourceKind::Group => ItemKind::Group,
        }
    }
}

impl std::fmt::Display for ItemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Sort key of a user or group item.
pub const RESOURCE_SK: &str = "RESOURCE";
pub const UNIQUE_SK: &str = "UNIQUE";
pub const TENANT_SK: &str = "TENANT";

fn kind_tag(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "USER",
        ResourceKind::Group => "GROUP",
    }
}

/// Partition of one user or group: the resource item, and for a user its memberships.
pub fn resource_pk(tenant: &TenantId, kind: ResourceKind, id: &ResourceId) -> String {
    format!("{tenant}#{}#{id}", kind_tag(kind))
}

/// A resource partition no item has: what a filter naming an id that cannot exist reads.
pub fn no_resource_pk(tenant: &TenantId, kind: ResourceKind) -> String {
    format!("{tenant}#{}#", kind_tag(kind))
}

/// Sort key of the membership item in the user's partition.
pub fn member_of_sk(group_id: &ResourceId) -> String {
    format!("MEMBEROF#{group_id}")
}

pub const MEMBER_OF_PREFIX: &str = "MEMBEROF#";

/// GSI1 partition listing every resource of a kind, ordered by id (ULIDs: creation order).
pub fn collection_pk(tenant: &TenantId, kind: ResourceKind) -> String {
    format!("{tenant}#{}S", kind_tag(kind))
}

/// GSI1 partition listing the members of a group, ordered by user id.
pub fn members_pk(tenant: &TenantId, group_id: &ResourceId) -> String {
    format!("{tenant}#MEMBERS#{group_id}")
}

/// A members partition no group has: what a filter naming a group id that cannot exist reads.
pub fn no_members_pk(tenant: &TenantId) -> String {
    format!("{tenant}#MEMBERS#")
}

pub use crate::protocol::resource::name_key;

/// GSI4 sort key: the last modification time (fixed-width UTC), then the id to make it unique.
pub fn modified_sk(last_modified: Timestamp, id: &ResourceId) -> String {
    format!("{last_modified}#{id}")
}

/// GSI3 partition: lookup by externalId (case-exact, RFC 7643 §3.1).
pub fn external_id_pk(tenant: &TenantId, kind: ResourceKind, external_id: &str) -> String {
    format!("{tenant}#{}#EXTERNALID#{external_id}", kind_tag(kind))
}

/// The uniqueness guard item for a name: written in the same transaction as the resource.
pub fn unique_pk(tenant: &TenantId, kind: ResourceKind, name: &str) -> String {
    format!("{tenant}#UNIQUE#{}#{}", kind_tag(kind), name_key(name))
}

pub fn tenant_pk(tenant: &TenantId) -> String {
    format!("TENANT#{tenant}")
}

pub fn credential_sk(credential_id: &CredentialId) -> String {
    format!("CREDENTIAL#{credential_id}")
}

pub const CREDENTIAL_PREFIX: &str = "CREDENTIAL#";

pub fn oauth_client_sk(client_id: &ClientId) -> String {
    format!("OAUTHCLIENT#{client_id}")
}

pub const OAUTH_CLIENT_PREFIX: &str = "OAUTHCLIENT#";

/// A client assertion's replay guard: the client and the SHA-256 of the assertion's `jti`.
pub fn used_assertion_sk(client_id: &ClientId, jti_hash: &str) -> String {
    format!("ASSERTION#{client_id}#{jti_hash}")
}

/// GSI1 partition listing all tenants.
pub const TENANTS_PK: &str = "TENANTS";

/// Partition of a tenant's audit events, sorted by `{time}#{event id}`.
pub fn audit_pk(tenant: &TenantId) -> String {
    format!("{tenant}#AUDIT")
}

/// Partition of a tenant's change events, sorted by `{time}#{jti}`.
pub fn events_pk(tenant: &TenantId) -> String {
    format!("{tenant}#EVENTS")
}

/// Partition of a tenant's list state: the resource counters and the index-paging bookmarks.
pub fn lists_pk(tenant: &TenantId) -> String {
    format!("{tenant}#LISTS")
}

/// Number of counter items per kind: concurrent creates pick one at random, so they rarely touch
/// the same item (transactions on one item conflict).
pub const COUNTER_SHARDS: u8 = 16;

pub fn counter_sk(kind: ResourceKind, shard: u8) -> String {
    format!("COUNT#{}#{shard:02}", kind_tag(kind))
}

/// Bookmark of where the page starting at `start_index` begins, for one query.
pub fn bookmark_sk(query: &str, start_index: usize) -> String {
    format!("BOOKMARK#{query}#{start_index:010}")
}

/// The signing key of list cursors, one per table.
pub const CONFIG_PK: &str = "CONFIG";
pub const CURSOR_KEY_SK: &str = "CURSOR_KEY";

/// Audit events of deleted tenants (whose own audit partitions went with them).
pub const TENANT_DELETIONS_PK: &str = "TENANTS#DELETED#AUDIT";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_kinds_round_trip_and_resource_kinds_keep_their_names() {
        for kind in ItemKind::ALL {
            assert_eq!(ItemKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ItemKind::parse("user"), None);
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let item = ItemKind::from(kind);
            assert_eq!(item.as_str(), kind.name());
            assert_eq!(item.resource_kind(), Some(kind));
        }
        assert_eq!(ItemKind::Membership.resource_kind(), None);
    }
}
