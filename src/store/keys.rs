//! Every key of the single table, in one place. `docs/data-model.md` lists the access patterns
//! they serve. All resource keys start with the tenant id, so no key built here can reach another
//! tenant's items.

use crate::protocol::resource::ResourceKind;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI3: &str = "GSI3";
pub const GSI3PK: &str = "GSI3PK";
/// Reserved for audit events, which expire.
pub const TTL_ATTRIBUTE: &str = "expiresAt";

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
pub fn resource_pk(tenant: &str, kind: ResourceKind, id: &str) -> String {
    format!("{tenant}#{}#{id}", kind_tag(kind))
}

/// Sort key of the membership item in the user's partition.
pub fn member_of_sk(group_id: &str) -> String {
    format!("MEMBEROF#{group_id}")
}

pub const MEMBER_OF_PREFIX: &str = "MEMBEROF#";

/// GSI1 partition listing every resource of a kind, ordered by id (ULIDs: creation order).
pub fn collection_pk(tenant: &str, kind: ResourceKind) -> String {
    format!("{tenant}#{}S", kind_tag(kind))
}

/// GSI1 partition listing the members of a group, ordered by user id.
pub fn members_pk(tenant: &str, group_id: &str) -> String {
    format!("{tenant}#MEMBERS#{group_id}")
}

/// The case-insensitive unique name: `userName` for users, `displayName` for groups.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// GSI2 partition: lookup by unique name.
pub fn name_pk(tenant: &str, kind: ResourceKind, name: &str) -> String {
    format!("{tenant}#{}#NAME#{}", kind_tag(kind), name_key(name))
}

/// GSI3 partition: lookup by externalId (case-exact, RFC 7643 §3.1).
pub fn external_id_pk(tenant: &str, kind: ResourceKind, external_id: &str) -> String {
    format!("{tenant}#{}#EXTERNALID#{external_id}", kind_tag(kind))
}

/// The uniqueness guard item for a name: written in the same transaction as the resource.
pub fn unique_pk(tenant: &str, kind: ResourceKind, name: &str) -> String {
    format!("{tenant}#UNIQUE#{}#{}", kind_tag(kind), name_key(name))
}

pub fn tenant_pk(tenant: &str) -> String {
    format!("TENANT#{tenant}")
}

pub fn credential_sk(credential_id: &str) -> String {
    format!("CREDENTIAL#{credential_id}")
}

pub const CREDENTIAL_PREFIX: &str = "CREDENTIAL#";

/// GSI1 partition listing all tenants.
pub const TENANTS_PK: &str = "TENANTS";

/// Partition of a tenant's audit events, sorted by `{time}#{event id}`.
pub fn audit_pk(tenant: &str) -> String {
    format!("{tenant}#AUDIT")
}

/// Audit events of deleted tenants (whose own audit partitions went with them).
pub const TENANT_DELETIONS_PK: &str = "TENANTS#DELETED#AUDIT";
