//! Discovery documents (RFC 7644 §4): they describe exactly what this service implements. The
//! `/Schemas` and `/ResourceTypes` documents are rendered from the [`SchemaSet`] passed in: the
//! same value that validation, PATCH, filters, sorting and projection use.

use serde_json::{json, Value};

use super::cursor::CURSOR_TIMEOUT_SECONDS;
use super::list::MAX_PAGE_SIZE;
use super::resource::ResourceKind;
use super::schema::SchemaSet;

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
pub const DOCUMENTATION_URI: &str = "https://github.com/scim-serverless/scim-serverless#readme";

pub fn service_provider_config(base_url: &str) -> Value {
    json!({
        "schemas": [SPC_SCHEMA],
        "documentationUri": DOCUMENTATION_URI,
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_PAGE_SIZE},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        // RFC 9865 §4: both paging styles; cursors expire after `cursorTimeout` seconds.
        "pagination": {
            "cursor": true,
            "index": true,
            "defaultPaginationMethod": "index",
            "defaultPageSize": MAX_PAGE_SIZE,
            "maxPageSize": MAX_PAGE_SIZE,
            "cursorTimeout": CURSOR_TIMEOUT_SECONDS
        },
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication with a per-tenant bearer token issued by scimctl",
            "primary": true
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base_url}/ServiceProviderConfig")
        }
    })
}

pub fn resource_type(schemas: &SchemaSet, kind: ResourceKind, base_url: &str) -> Value {
    let extensions: Vec<Value> = schemas
        .extensions(kind)
        .iter()
        .map(|e| json!({"schema": e.id, "required": false}))
        .collect();
    let mut body = json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": kind.name(),
        "name": kind.name(),
        "endpoint": format!("/{}", kind.endpoint()),
        "description": match kind {
            ResourceKind::User => "User Account",
            ResourceKind::Group => "Group",
        },
        "schema": schemas.core(kind).id,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{base_url}/ResourceTypes/{}", kind.name())
        }
    });
    if let (false, Some(map)) = (extensions.is_empty(), body.as_object_mut()) {
        map.insert("schemaExtensions".into(), Value::Array(extensions));
    }
    body
}

pub fn resource_types() -> [ResourceKind; 2] {
    [ResourceKind::User, ResourceKind::Group]
}

pub fn find_resource_type(name: &str) -> Option<ResourceKind> {
    resource_types()
        .into_iter()
        .find(|k| k.name().eq_ignore_ascii_case(name))
}

pub fn schema_json(schemas: &SchemaSet, id: &str, base_url: &str) -> Option<Value> {
    schemas.schema(id).map(|s| s.to_json(base_url))
}

pub fn all_schemas_json(schemas: &SchemaSet, base_url: &str) -> Vec<Value> {
    schemas.all().map(|s| s.to_json(base_url)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::schema;

    #[test]
    fn service_provider_config_claims_only_what_exists() {
        let spc = service_provider_config("https://x/t/scim/v2");
        assert_eq!(spc["bulk"]["supported"], false);
        assert_eq!(spc["sort"]["supported"], true);
        assert_eq!(spc["pagination"]["cursor"], true);
        assert_eq!(spc["pagination"]["index"], true);
        assert_eq!(spc["changePassword"]["supported"], false);
        assert_eq!(spc["patch"]["supported"], true);
        assert_eq!(spc["filter"]["maxResults"], MAX_PAGE_SIZE);
    }

    #[test]
    fn user_resource_type_lists_the_enterprise_extension() {
        let standard = SchemaSet::standard();
        let rt = resource_type(standard, ResourceKind::User, "https://x");
        assert_eq!(rt["schemaExtensions"][0]["schema"], schema::ENTERPRISE_USER);
        assert_eq!(rt["endpoint"], "/Users");
        assert!(resource_type(standard, ResourceKind::Group, "https://x")
            .get("schemaExtensions")
            .is_none());
    }
}
