//! Resource kinds and the schema-driven normalisation of incoming resources: canonical attribute
//! names, type checks, Entra-style coercions ("True" → true, `manager: "id"` → `{value: "id"}`),
//! read-only attributes dropped, required attributes enforced.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::AttrPath;
use super::schema::{
    self, AttrType, AttributeDef, Mutability, Returned, SchemaDef, Uniqueness, CORE_GROUP,
    CORE_USER,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    pub fn core(self) -> &'static SchemaDef {
        match self {
            ResourceKind::User => &schema::USER,
            ResourceKind::Group => &schema::GROUP,
        }
    }

    pub fn extensions(self) -> &'static [&'static SchemaDef] {
        static USER_EXTENSIONS: [&SchemaDef; 1] = [&schema::ENTERPRISE];
        match self {
            ResourceKind::User => &USER_EXTENSIONS,
            ResourceKind::Group => &[],
        }
    }

    pub fn core_uri(self) -> &'static str {
        match self {
            ResourceKind::User => CORE_USER,
            ResourceKind::Group => CORE_GROUP,
        }
    }

    pub fn extension(self, uri: &str) -> Option<&'static SchemaDef> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(uri))
    }
}

const fn common(name: &'static str, mutability: Mutability, returned: Returned) -> AttributeDef {
    AttributeDef {
        name,
        ty: AttrType::String,
        multi_valued: false,
        description: "",
        required: false,
        case_exact: true,
        mutability,
        returned,
        uniqueness: Uniqueness::None,
        canonical_values: &[],
        reference_types: &[],
        sub_attributes: &[],
    }
}

/// RFC 7643 §3.1 common attributes: not part of any schema, but paths and filters may name them.
/// Ids are ULIDs, whose letters are case-insensitive.
static ID: AttributeDef = AttributeDef {
    case_exact: false,
    ..common("id", Mutability::ReadOnly, Returned::Always)
};
static EXTERNAL_ID: AttributeDef = common("externalId", Mutability::ReadWrite, Returned::Default);
static META_SUBS: [AttributeDef; 5] = [
    common("resourceType", Mutability::ReadOnly, Returned::Default),
    dated("created"),
    dated("lastModified"),
    common("location", Mutability::ReadOnly, Returned::Default),
    common("version", Mutability::ReadOnly, Returned::Default),
];
static META: AttributeDef = AttributeDef {
    ty: AttrType::Complex,
    sub_attributes: &META_SUBS,
    ..common("meta", Mutability::ReadOnly, Returned::Default)
};

const fn dated(name: &'static str) -> AttributeDef {
    AttributeDef {
        ty: AttrType::DateTime,
        ..common(name, Mutability::ReadOnly, Returned::Default)
    }
}

/// Where an attribute lives: at the top level (`extension == None`) or inside an extension object.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub extension: Option<&'static str>,
    pub attr: &'static AttributeDef,
    pub sub: Option<&'static AttributeDef>,
}

impl Resolved {
    /// The definition that a comparison on this path compares against.
    pub fn leaf(&self) -> &'static AttributeDef {
        match self.sub {
            Some(sub) => sub,
            None if self.attr.ty == AttrType::Complex => {
                self.attr.sub_attribute("value").unwrap_or(self.attr)
            }
            None => self.attr,
        }
    }
}

/// Resolves a path against the kind's schemas; `None` when no schema defines it.
pub fn resolve(kind: ResourceKind, path: &AttrPath) -> Option<Resolved> {
    let (extension, attr) = match path.uri.as_deref() {
        None => (None, core_attribute(kind, &path.name)?),
        Some(uri) if uri.eq_ignore_ascii_case(kind.core_uri()) => {
            (None, core_attribute(kind, &path.name)?)
        }
        Some(uri) => {
            let ext = kind.extension(uri)?;
            (Some(ext.id), ext.attribute(&path.name)?)
        }
    };
    let sub = match &path.sub {
        None => None,
        Some(name) => Some(attr.sub_attribute(name)?),
    };
    Some(Resolved {
        extension,
        attr,
        sub,
    })
}

fn core_attribute(kind: ResourceKind, name: &str) -> Option<&'static AttributeDef> {
    [&ID, &EXTERNAL_ID, &META]
        .into_iter()
        .find(|a| a.name.eq_ignore_ascii_case(name))
        .or_else(|| kind.core().attribute(name))
}

/// Validates and canonicalises a client-supplied resource (POST/PUT body, or a resource after PATCH).
/// Returns the attributes to store: no `id`, no `meta`, no read-only or write-only attributes.
pub fn normalize(kind: ResourceKind, input: &Value) -> Result<Map<String, Value>, ScimError> {
    let body = input
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    let mut out = Map::new();
    let mut schemas = vec![Value::String(kind.core_uri().into())];
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            check_schemas(kind, value)?;
        } else if key.eq_ignore_ascii_case("id") || key.eq_ignore_ascii_case("meta") {
            // Read-only common attributes are ignored on input (RFC 7643 §3.1).
        } else if let Some(ext) = kind.extension(key) {
            let attrs = match value {
                // Clients that serialise the extension as a model may include its `schemas`.
                Value::Object(obj) => Value::Object(
                    obj.iter()
                        .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                ),
                other => other.clone(),
            };
            let attrs = normalize_complex_members(ext.attributes, &attrs, ext.id)?;
            if !attrs.is_empty() {
                schemas.push(Value::String(ext.id.into()));
                out.insert(ext.id.into(), Value::Object(attrs));
            }
        } else if let Some(attr) = core_attribute(kind, key) {
            if let Some(v) = normalize_attribute(attr, value, attr.name)? {
                out.insert(attr.name.into(), v);
            }
        } else {
            return Err(ScimError::invalid_value(format!(
                "unknown attribute \"{key}\" for resource type {}",
                kind.name()
            )));
        }
    }
    for attr in kind.core().attributes {
        let blank = out
            .get(attr.name)
            .is_none_or(|v| v.as_str().is_some_and(|s| s.trim().is_empty()));
        if attr.required && attr.mutability != Mutability::ReadOnly && blank {
            return Err(ScimError::invalid_value(format!(
                "attribute \"{}\" is required and must not be empty",
                attr.name
            )));
        }
    }
    out.insert("schemas".into(), Value::Array(schemas));
    check_limits(&out)?;
    Ok(out)
}

/// Longest `userName`, group `displayName` or `externalId`, in bytes: they become parts of
/// DynamoDB keys, which hold at most 2048 bytes.
pub const MAX_KEY_VALUE_BYTES: usize = 1024;
/// Largest resource, as JSON: a DynamoDB item holds at most 400 KB.
pub const MAX_RESOURCE_BYTES: usize = 256 * 1024;

fn check_limits(attributes: &Map<String, Value>) -> Result<(), ScimError> {
    for name in ["userName", "displayName", "externalId"] {
        if let Some(value) = attributes.get(name).and_then(Value::as_str) {
            if value.len() > MAX_KEY_VALUE_BYTES {
                return Err(ScimError::invalid_value(format!(
                    "\"{name}\" is longer than {MAX_KEY_VALUE_BYTES} bytes"
                )));
            }
        }
    }
    let size = serde_json::to_vec(attributes).map_or(0, |v| v.len());
    if size > MAX_RESOURCE_BYTES {
        return Err(ScimError::invalid_value(format!(
            "the resource is {size} bytes as JSON; at most {MAX_RESOURCE_BYTES} are stored"
        )));
    }
    Ok(())
}

fn check_schemas(kind: ResourceKind, value: &Value) -> Result<(), ScimError> {
    let list = value
        .as_array()
        .ok_or_else(|| ScimError::invalid_value("\"schemas\" must be an array of schema URIs"))?;
    for uri in list {
        let uri = uri
            .as_str()
            .ok_or_else(|| ScimError::invalid_value("\"schemas\" must contain strings"))?;
        if !uri.eq_ignore_ascii_case(kind.core_uri()) && kind.extension(uri).is_none() {
            return Err(ScimError::invalid_value(format!(
                "schema \"{uri}\" is not supported for resource type {}",
                kind.name()
            )));
        }
    }
    Ok(())
}

/// One attribute's value, or `None` when nothing is to be stored (null, empty, read-only, write-only).
pub fn normalize_attribute(
    attr: &'static AttributeDef,
    value: &Value,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() || attr.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    let normalized = if attr.multi_valued {
        let items = value.as_array().ok_or_else(|| {
            ScimError::invalid_value(format!(
                "attribute \"{path}\" is multi-valued and must be an array, got {}",
                describe(value)
            ))
        })?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = normalize_single(attr, item, path)? {
                out.push(v);
            }
        }
        (!out.is_empty()).then_some(Value::Array(out))
    } else {
        normalize_single(attr, value, path)?
    };
    // Write-only attributes (password) are checked, then dropped: this service never stores them.
    Ok(normalized.filter(|_| attr.mutability != Mutability::WriteOnly))
}

fn normalize_single(
    attr: &'static AttributeDef,
    value: &Value,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    let wrong = |expected: &str| {
        ScimError::invalid_value(format!(
            "attribute \"{path}\" must be {expected}, got {}",
            describe(value)
        ))
    };
    Ok(Some(match attr.ty {
        _ if value.is_null() => return Ok(None),
        AttrType::Complex => match value {
            Value::Object(_) => {
                let members = normalize_complex_members(attr.sub_attributes, value, path)?;
                if members.is_empty() {
                    return Ok(None);
                }
                Value::Object(members)
            }
            // Entra sends `manager` as the bare id; a scalar stands for the `value` sub-attribute.
            Value::String(_) | Value::Number(_) | Value::Bool(_)
                if attr.sub_attribute("value").is_some() =>
            {
                let value_def = attr.sub_attribute("value").unwrap_or(attr);
                match normalize_single(value_def, value, path)? {
                    Some(v) => Value::Object(Map::from_iter([("value".to_string(), v)])),
                    None => return Ok(None),
                }
            }
            _ => return Err(wrong("an object")),
        },
        AttrType::Boolean => match value {
            Value::Bool(b) => Value::Bool(*b),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Value::Bool(true),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(wrong("a boolean")),
        },
        AttrType::Integer => match value {
            Value::Number(n) if n.is_i64() || n.is_u64() => value.clone(),
            _ => return Err(wrong("an integer")),
        },
        AttrType::Decimal => match value {
            Value::Number(_) => value.clone(),
            _ => return Err(wrong("a number")),
        },
        AttrType::DateTime => match value {
            Value::String(s) if is_datetime(s) => value.clone(),
            _ => return Err(wrong("an RFC 3339 dateTime string")),
        },
        AttrType::String | AttrType::Reference | AttrType::Binary => match value {
            Value::String(_) => value.clone(),
            _ => return Err(wrong("a string")),
        },
    }))
}

fn normalize_complex_members(
    defs: &'static [AttributeDef],
    value: &Value,
    path: &str,
) -> Result<Map<String, Value>, ScimError> {
    let object = value.as_object().ok_or_else(|| {
        ScimError::invalid_value(format!(
            "\"{path}\" must be an object, got {}",
            describe(value)
        ))
    })?;
    let mut out = Map::new();
    for (key, v) in object {
        let def = defs
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(key))
            .ok_or_else(|| {
                ScimError::invalid_value(format!("unknown attribute \"{key}\" in \"{path}\""))
            })?;
        let sub_path = format!("{path}.{}", def.name);
        if let Some(v) = normalize_attribute(def, v, &sub_path)? {
            out.insert(def.name.into(), v);
        }
    }
    Ok(out)
}

fn is_datetime(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn attribute_names_are_canonicalised_and_read_only_ones_dropped() {
        let out = normalize(
            ResourceKind::User,
            &json!({"USERNAME": "ann", "id": "x", "meta": {}, "groups": [{"value": "g"}],
                    "Name": {"GIVENNAME": "Ann"}}),
        )
        .unwrap();
        assert_eq!(out["userName"], "ann");
        assert_eq!(out["name"]["givenName"], "Ann");
        assert!(!out.contains_key("id") && !out.contains_key("groups"));
        assert_eq!(out["schemas"], json!([CORE_USER]));
    }

    #[test]
    fn string_booleans_from_entra_become_booleans() {
        let out = normalize(
            ResourceKind::User,
            &json!({"userName": "a", "active": "False"}),
        )
        .unwrap();
        assert_eq!(out["active"], json!(false));
    }

    #[test]
    fn manager_as_plain_string_becomes_value_object() {
        let out = normalize(
            ResourceKind::User,
            &json!({"userName": "a", ENT: {"manager": "boss-id", "department": "R&D"}}),
        )
        .unwrap();
        assert_eq!(out[ENT]["manager"], json!({"value": "boss-id"}));
        assert_eq!(out["schemas"], json!([CORE_USER, ENT]));
    }

    #[test]
    fn password_is_validated_but_never_kept() {
        let out = normalize(
            ResourceKind::User,
            &json!({"userName": "a", "password": "pw"}),
        )
        .unwrap();
        assert!(!out.contains_key("password"));
        let err =
            normalize(ResourceKind::User, &json!({"userName": "a", "password": 5})).unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn missing_required_user_name_is_invalid_value() {
        let err = normalize(ResourceKind::User, &json!({"displayName": "x"})).unwrap_err();
        assert_eq!(
            err.scim_type,
            Some(super::super::error::ScimType::InvalidValue)
        );
        assert!(err.detail.contains("userName"));
    }

    #[test]
    fn badly_typed_and_unknown_attributes_are_invalid_value() {
        for body in [
            json!({"userName": 7}),
            json!({"userName": "a", "active": "maybe"}),
            json!({"userName": "a", "emails": [{"value": 1}]}),
            json!({"userName": "a", "name": "Ann"}),
            json!({"userName": "a", "shoeSize": 42}),
            json!({"userName": "a", "schemas": ["urn:example:unknown"]}),
        ] {
            let err = normalize(ResourceKind::User, &body).unwrap_err();
            assert_eq!(err.status, 400, "{body}");
        }
    }

    #[test]
    fn oversized_key_values_and_resources_are_invalid_value() {
        let long = "x".repeat(MAX_KEY_VALUE_BYTES + 1);
        assert!(normalize(ResourceKind::User, &json!({"userName": long})).is_err());
        assert!(normalize(
            ResourceKind::User,
            &json!({"userName": "a", "externalId": long})
        )
        .is_err());
        let big = "y".repeat(MAX_RESOURCE_BYTES);
        let err =
            normalize(ResourceKind::User, &json!({"userName": "a", "title": big})).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(normalize(
            ResourceKind::User,
            &json!({"userName": "x".repeat(MAX_KEY_VALUE_BYTES)})
        )
        .is_ok());
    }

    #[test]
    fn nulls_and_empty_lists_are_absent() {
        let out = normalize(
            ResourceKind::User,
            &json!({"userName": "a", "displayName": null, "emails": []}),
        )
        .unwrap();
        assert!(!out.contains_key("displayName") && !out.contains_key("emails"));
    }

    #[test]
    fn paths_resolve_case_insensitively_with_and_without_urn() {
        let p = AttrPath {
            uri: Some(ENT.to_lowercase()),
            name: "MANAGER".into(),
            sub: Some("value".into()),
        };
        let r = resolve(ResourceKind::User, &p).unwrap();
        assert_eq!(r.extension, Some(ENT));
        assert_eq!(r.sub.map(|s| s.name), Some("value"));
        let p = AttrPath {
            uri: None,
            name: "externalid".into(),
            sub: None,
        };
        assert!(resolve(ResourceKind::User, &p).is_some());
        let p = AttrPath {
            uri: None,
            name: "userName".into(),
            sub: None,
        };
        assert!(!resolve(ResourceKind::User, &p).unwrap().leaf().case_exact);
    }
}
