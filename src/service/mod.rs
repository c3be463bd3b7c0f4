//! The use cases, between `http` (parse and render) and `store` (DynamoDB): typed requests in,
//! domain values out. `resources` reads and writes one resource; `list` answers lists and
//! searches from a query plan; `feed` pages the change events; `admin` manages tenants,
//! provisioning, credentials and the audit trail; `oauth` manages a tenant's OAuth clients; `token`
//! issues their access tokens.

pub mod admin;
pub mod feed;
pub mod list;
pub mod oauth;
pub mod resources;
pub mod token;

use std::collections::BTreeSet;

use serde_json::{json, Map, Value};

use crate::protocol::resource::ResourceKind;
use crate::protocol::ResourceId;
use crate::store::StoredResource;

/// Above this many members, `members[].$ref` (optional, RFC 7643 §4.2) is left out so that a group of
/// 100,000 members still fits Lambda's 6 MB response limit (about 53 bytes a member without it).
const MAX_MEMBERS_WITH_REF: usize = 20_000;

/// A resource with the related ids its representation shows: a user's groups or a group's
/// members (`None` when not loaded because the response leaves them out).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub resource: StoredResource,
    pub related: Option<BTreeSet<ResourceId>>,
}

/// The SCIM representation: stored attributes plus `id`, related ids and `meta`. `base` is the
/// tenant's SCIM base URL (for `meta.location` and `$ref`).
pub fn to_scim(
    base: &str,
    resource: &StoredResource,
    related: Option<&BTreeSet<ResourceId>>,
) -> Value {
    let mut out: Map<String, Value> = resource.attributes.clone();
    out.insert("id".into(), Value::String(resource.id.to_string()));
    if let Some(ids) = related.filter(|ids| !ids.is_empty()) {
        let (key, refs): (&str, Vec<Value>) = match resource.kind {
            ResourceKind::User => (
                "groups",
                ids.iter()
                    .map(|id| json!({"value": id, "$ref": format!("{base}/Groups/{id}"), "type": "direct"}))
                    .collect(),
            ),
            ResourceKind::Group => (
                "members",
                ids.iter()
                    .map(|id| match ids.len() {
                        n if n > MAX_MEMBERS_WITH_REF => json!({"value": id, "type": "User"}),
                        _ => json!({"value": id, "$ref": format!("{base}/Users/{id}"), "type": "User"}),
                    })
                    .collect(),
            ),
        };
        out.insert(key.into(), Value::Array(refs));
    }
    out.insert(
        "meta".into(),
        json!({
            "resourceType": resource.kind.name(),
            "created": resource.created,
            "lastModified": resource.last_modified,
            "location": format!("{base}/{}/{}", resource.kind.endpoint(), resource.id),
            "version": resource.version.etag(),
        }),
    );
    Value::Object(out)
}
