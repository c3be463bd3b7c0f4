//! Resource kinds and the schema-driven validation of incoming resources (RFC 7643).
//!
//! [`normalize_with`] turns a client-supplied resource (a POST or PUT body, or a resource after
//! PATCH) into the attributes to store, checked against a [`SchemaSet`]: canonical attribute
//! names, types, mutability, required attributes and limits. [`check_immutable_with`] compares a
//! resource before and after a PUT or PATCH. [`normalize`], [`resolve`] and [`check_immutable`]
//! are the same functions over [`SchemaSet::standard`].
//!
//! Refused with 400 `invalidValue`, the message naming the attribute path:
//! - an attribute that no schema of the set defines (top level, sub-attribute, extension);
//! - a URI in `schemas` that is neither the kind's core schema nor one of its extensions;
//! - a value of the wrong type (the message names the expected RFC 7643 type);
//! - a missing or blank required attribute or sub-attribute;
//! - one attribute given twice under names that differ only in case;
//! - a limit exceeded: [`MAX_VALUES_PER_ATTRIBUTE`], [`MAX_KEY_VALUE_BYTES`],
//!   [`MAX_RESOURCE_BYTES`] (the HTTP layer refuses bodies over 1 MiB with 413 before this).
//!
//! [`check_immutable`] refuses a changed or removed immutable value with 400 `mutability`.
//!
//! Leniencies, each deliberate (IdPs in the field send these):
//! - Read-only attributes (`id`, `meta`, a user's `groups`, `members.display`,
//!   `manager.displayName`) are ignored on input whatever their value: clients echo what they
//!   read (RFC 7644 §3.5.1). Never an error.
//! - The write-only `password` is type-checked, then dropped: never stored, so never returned.
//! - A boolean may be the string `"true"` or `"false"` in any case (Entra sends `"False"`).
//! - A single value where a multi-valued attribute needs an array is taken as a one-value array
//!   (RFC 7643 §2.4 says MUST be an array; IdPs send `"emails": {…}`).
//! - A scalar where a complex attribute with a `value` sub-attribute is expected stands for
//!   `{"value": scalar}` (Entra sends `manager` as the bare id).
//! - `null`, `[]` and `{}` mean absent; null or empty values inside a multi-valued attribute are
//!   dropped.
//! - `schemas` may be missing or incomplete: the stored `schemas` is rebuilt from the content
//!   (the core URI, then each extension present). An extension object whose URI is not in
//!   `schemas` is accepted and its URI added; a listed URI without its object is dropped.
//! - An extension object may carry its own `schemas` key (clients that serialise the extension
//!   as a model): ignored. A `null` extension object is absent.
//! - `canonicalValues` (e.g. `emails.type`) are suggestions, not enforced: `"other-type"` is kept.
//! - `binary` is base64 (RFC 4648 §4) with optional padding; ASCII whitespace (PEM line breaks)
//!   is allowed inside.
//! - Required attributes of an extension are enforced only when its object is present.
//! - Immutability compares strings that are not `caseExact` ignoring case. Multi-valued complex
//!   attributes whose sub-attributes are immutable (a group's `members`) may gain and lose
//!   values: a value is identified by its immutable sub-attributes, so there is nothing to
//!   compare. Only immutable attributes, and immutable sub-attributes of single-valued complex
//!   ones, are compared.
//! - A group's `members` have no [`MAX_VALUES_PER_ATTRIBUTE`] cap and do not count towards
//!   [`MAX_RESOURCE_BYTES`]: they are stored as their own items, not in the resource.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::AttrPath;
use super::schema::{AttrType, AttributeDef, Mutability, SchemaDef, SchemaSet};
use crate::domain::Timestamp;

pub use super::kind::ResourceKind;

/// Where an attribute lives: at the top level (`extension == None`) or inside an extension object.
/// It borrows its definitions from the schema set that resolved it.
#[derive(Debug, Clone, Copy)]
pub struct Resolved<'s> {
    pub extension: Option<&'s str>,
    pub attr: &'s AttributeDef,
    pub sub: Option<&'s AttributeDef>,
}

impl<'s> Resolved<'s> {
    /// The definition that a comparison on this path compares against.
    pub fn leaf(&self) -> &'s AttributeDef {
        match self.sub {
            Some(sub) => sub,
            None if self.attr.ty == AttrType::Complex => {
                self.attr.sub_attribute("value").unwrap_or(self.attr)
            }
            None => self.attr,
        }
    }
}

/// Resolves a path against the kind's standard schemas; `None` when no schema defines it.
pub fn resolve(kind: ResourceKind, path: &AttrPath) -> Option<Resolved<'static>> {
    resolve_with(SchemaSet::standard(), kind, path)
}

/// Resolves a path against the kind's schemas in `schemas`; `None` when no schema defines it.
pub fn resolve_with<'s>(
    schemas: &'s SchemaSet,
    kind: ResourceKind,
    path: &AttrPath,
) -> Option<Resolved<'s>> {
    let core = schemas.core(kind);
    let (extension, attr) = match path.uri.as_deref() {
        None => (None, core_attribute(schemas, kind, &path.name)?),
        Some(uri) if uri.eq_ignore_ascii_case(&core.id) => {
            (None, core_attribute(schemas, kind, &path.name)?)
        }
        Some(uri) => {
            let ext = schemas.extension(kind, uri)?;
            (Some(ext.id.as_str()), ext.attribute(&path.name)?)
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

/// A common attribute (`id`, `externalId`, `meta`) or an attribute of the core schema.
fn core_attribute<'s>(
    schemas: &'s SchemaSet,
    kind: ResourceKind,
    name: &str,
) -> Option<&'s AttributeDef> {
    schemas
        .common(name)
        .or_else(|| schemas.core(kind).attribute(name))
}

/// Longest `userName`, group `displayName` or `externalId`, in bytes, and longest lower-cased
/// name: they become parts of DynamoDB keys, and an index sort key holds at most 1024 bytes.
pub const MAX_KEY_VALUE_BYTES: usize = 1024;

/// How a unique name (`userName`, group `displayName`) is compared and keyed: lower-cased.
/// Lower-casing can lengthen a name (`Ⱥ`, 2 bytes, becomes `ⱥ`, 3 bytes).
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}
/// Largest resource, as JSON, not counting a group's `members` (stored as their own items):
/// a DynamoDB item holds at most 400 KB.
pub const MAX_RESOURCE_BYTES: usize = 256 * 1024;
/// Most values one multi-valued attribute (`emails`, `phoneNumbers`, `roles`, …) may hold.
/// A group's `members` are exempt: they are stored as their own items.
pub const MAX_VALUES_PER_ATTRIBUTE: usize = 100;

/// [`normalize_with`] over the standard schemas.
pub fn normalize(kind: ResourceKind, input: &Value) -> Result<Map<String, Value>, ScimError> {
    normalize_with(SchemaSet::standard(), kind, input)
}

/// Validates and canonicalises a client-supplied resource (POST/PUT body, or a resource after
/// PATCH) against `schemas`. Returns the attributes to store: canonical names, a rebuilt
/// `schemas`, no `id`, no `meta`, no read-only or write-only attributes. See the module
/// documentation for what is refused and what is accepted leniently.
pub fn normalize_with(
    schemas: &SchemaSet,
    kind: ResourceKind,
    input: &Value,
) -> Result<Map<String, Value>, ScimError> {
    let body = input
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the request body must be a JSON object"))?;
    let core = schemas.core(kind);
    let mut out = Map::new();
    let mut seen = Vec::new();
    for (key, value) in body {
        if key.eq_ignore_ascii_case("schemas") {
            check_schemas(schemas, kind, value)?;
        } else if let Some(ext) = schemas.extension(kind, key) {
            claim(&mut seen, &ext.id, &ext.id)?;
            if let Some(attrs) = normalize_extension(ext, value)? {
                out.insert(ext.id.clone(), Value::Object(attrs));
            }
        } else if let Some(attr) = core_attribute(schemas, kind, key) {
            if attr.mutability == Mutability::ReadOnly {
                // Ignored on input, whatever the value (RFC 7644 §3.5.1).
                continue;
            }
            claim(&mut seen, &attr.name, &attr.name)?;
            let cap = match (kind, attr.name.as_str()) {
                // Stored as their own items, up to far larger numbers.
                (ResourceKind::Group, "members") => None,
                _ => Some(MAX_VALUES_PER_ATTRIBUTE),
            };
            if let Some(v) = normalize_value(attr, value, &attr.name, cap)? {
                out.insert(attr.name.clone(), v);
            }
        } else {
            return Err(ScimError::invalid_value(format!(
                "unknown attribute \"{key}\" for resource type {}",
                kind.name()
            )));
        }
    }
    check_required(&core.attributes, &out, "")?;
    let mut listed = vec![Value::String(core.id.clone())];
    for ext in schemas.extensions(kind) {
        if let Some(Value::Object(attrs)) = out.get(&ext.id) {
            check_required(&ext.attributes, attrs, &format!("{}:", ext.id))?;
            listed.push(Value::String(ext.id.clone()));
        }
    }
    out.insert("schemas".into(), Value::Array(listed));
    check_limits(kind, &out)?;
    Ok(out)
}

/// Records a canonical name as given; the same attribute twice (`userName` and `USERNAME`) is
/// ambiguous, so it is refused.
fn claim<'s>(seen: &mut Vec<&'s str>, name: &'s str, path: &str) -> Result<(), ScimError> {
    if seen.contains(&name) {
        return Err(ScimError::invalid_value(format!(
            "attribute \"{path}\" is given more than once (under names that differ only in case)"
        )));
    }
    seen.push(name);
    Ok(())
}

/// An extension object's attributes; `None` when it holds nothing to store.
fn normalize_extension(
    ext: &SchemaDef,
    value: &Value,
) -> Result<Option<Map<String, Value>>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::Object(obj) => {
            // Clients that serialise the extension as a model may include its `schemas`.
            let attrs = obj
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"));
            let out = normalize_members(
                &ext.attributes,
                attrs,
                &format!("{}:", ext.id),
                Some(MAX_VALUES_PER_ATTRIBUTE),
            )?;
            Ok((!out.is_empty()).then_some(out))
        }
        other => Err(ScimError::invalid_value(format!(
            "\"{}\" must be an object of extension attributes, got {}",
            ext.id,
            describe(other)
        ))),
    }
}

/// Every required attribute of `defs` is present and not blank in `object`, and so is every
/// required sub-attribute of each complex value present. Read-only and write-only attributes are
/// never stored, so they are not checked.
fn check_required(
    defs: &[AttributeDef],
    object: &Map<String, Value>,
    prefix: &str,
) -> Result<(), ScimError> {
    for attr in defs {
        if matches!(
            attr.mutability,
            Mutability::ReadOnly | Mutability::WriteOnly
        ) {
            continue;
        }
        let path = format!("{prefix}{}", attr.name);
        let value = object.get(&attr.name);
        if attr.required && value.is_none_or(is_blank) {
            return Err(ScimError::invalid_value(format!(
                "attribute \"{path}\" is required and must not be empty"
            )));
        }
        if attr.ty != AttrType::Complex {
            continue;
        }
        let items = match value {
            Some(Value::Array(items)) => items.as_slice(),
            Some(single) => std::slice::from_ref(single),
            None => &[],
        };
        for item in items {
            if let Value::Object(obj) = item {
                check_required(&attr.sub_attributes, obj, &format!("{path}."))?;
            }
        }
    }
    Ok(())
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(obj) => obj.is_empty(),
        Value::Bool(_) | Value::Number(_) => false,
    }
}

fn check_limits(kind: ResourceKind, attributes: &Map<String, Value>) -> Result<(), ScimError> {
    for name in ["userName", "displayName", "externalId"] {
        if let Some(value) = attributes.get(name).and_then(Value::as_str) {
            if value.len() > MAX_KEY_VALUE_BYTES {
                return Err(ScimError::invalid_value(format!(
                    "\"{name}\" is longer than {MAX_KEY_VALUE_BYTES} bytes"
                )));
            }
            // Names are keyed lower-cased, which can be longer than the name as sent.
            if name != "externalId" && name_key(value).len() > MAX_KEY_VALUE_BYTES {
                return Err(ScimError::invalid_value(format!(
                    "\"{name}\" is longer than {MAX_KEY_VALUE_BYTES} bytes in lower case, the form \
                     it is compared in for uniqueness"
                )));
            }
        }
    }
    let stored = attributes
        .iter()
        .filter(|(k, _)| !(kind == ResourceKind::Group && k.as_str() == "members"));
    let size = json_object_len(stored);
    if size > MAX_RESOURCE_BYTES {
        return Err(ScimError::invalid_value(format!(
            "the resource is {size} bytes as JSON; at most {MAX_RESOURCE_BYTES} are stored"
        )));
    }
    Ok(())
}

/// The length of `{"k":v,…}` as compact JSON, without building it.
fn json_object_len<'a>(entries: impl Iterator<Item = (&'a String, &'a Value)>) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let mut n = 0;
    for (key, value) in entries {
        // Writing to a counter cannot fail; a failure would only undercount.
        let _ = serde_json::to_writer(&mut count, key);
        let _ = serde_json::to_writer(&mut count, value);
        n += 1;
    }
    // Braces, one colon per entry, commas between entries.
    count.0 + 2 + n + n.saturating_sub(1)
}

fn check_schemas(schemas: &SchemaSet, kind: ResourceKind, value: &Value) -> Result<(), ScimError> {
    let list = value
        .as_array()
        .ok_or_else(|| ScimError::invalid_value("\"schemas\" must be an array of schema URIs"))?;
    for uri in list {
        let uri = uri
            .as_str()
            .ok_or_else(|| ScimError::invalid_value("\"schemas\" must contain strings"))?;
        if !uri.eq_ignore_ascii_case(&schemas.core(kind).id)
            && schemas.extension(kind, uri).is_none()
        {
            return Err(ScimError::invalid_value(format!(
                "schema \"{uri}\" is not supported for resource type {}",
                kind.name()
            )));
        }
    }
    Ok(())
}

/// One attribute's value, or `None` when nothing is to be stored (null, empty, read-only,
/// write-only). `path` names the attribute in error messages. A multi-valued attribute holds at
/// most [`MAX_VALUES_PER_ATTRIBUTE`] values.
pub fn normalize_attribute(
    attr: &AttributeDef,
    value: &Value,
    path: &str,
) -> Result<Option<Value>, ScimError> {
    normalize_value(attr, value, path, Some(MAX_VALUES_PER_ATTRIBUTE))
}

fn normalize_value(
    attr: &AttributeDef,
    value: &Value,
    path: &str,
    cap: Option<usize>,
) -> Result<Option<Value>, ScimError> {
    if value.is_null() || attr.mutability == Mutability::ReadOnly {
        return Ok(None);
    }
    let normalized = if attr.multi_valued {
        // Lenient: a single value stands for a one-value array.
        let items = match value {
            Value::Array(items) => items.as_slice(),
            single => std::slice::from_ref(single),
        };
        if let Some(max) = cap.filter(|max| items.len() > *max) {
            return Err(ScimError::invalid_value(format!(
                "attribute \"{path}\" has {} values; at most {max} are accepted",
                items.len()
            )));
        }
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            if let Some(v) = normalize_single(attr, item, path, cap)? {
                out.push(v);
            }
        }
        (!out.is_empty()).then_some(Value::Array(out))
    } else {
        normalize_single(attr, value, path, cap)?
    };
    // Write-only attributes (password) are checked, then dropped: this service never stores them.
    Ok(normalized.filter(|_| attr.mutability != Mutability::WriteOnly))
}

fn normalize_single(
    attr: &AttributeDef,
    value: &Value,
    path: &str,
    cap: Option<usize>,
) -> Result<Option<Value>, ScimError> {
    let wrong = |expected: &str| {
        ScimError::invalid_value(format!(
            "attribute \"{path}\" must be {expected} (type {}), got {}",
            attr.ty.as_str(),
            describe(value)
        ))
    };
    Ok(Some(match attr.ty {
        _ if value.is_null() => return Ok(None),
        AttrType::Complex => match value {
            Value::Object(obj) => {
                let members =
                    normalize_members(&attr.sub_attributes, obj.iter(), &format!("{path}."), cap)?;
                if members.is_empty() {
                    return Ok(None);
                }
                Value::Object(members)
            }
            // Entra sends `manager` as the bare id; a scalar stands for the `value` sub-attribute.
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                let Some(value_def) = attr.sub_attribute("value") else {
                    return Err(wrong("an object"));
                };
                match normalize_value(value_def, value, &format!("{path}.value"), cap)? {
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
            _ => return Err(wrong("true or false")),
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
            _ => return Err(wrong("an RFC 3339 date-time string")),
        },
        AttrType::Binary => match value {
            Value::String(s) if is_base64(s) => value.clone(),
            _ => return Err(wrong("a base64 string")),
        },
        AttrType::String | AttrType::Reference => match value {
            Value::String(_) => value.clone(),
            _ => return Err(wrong("a string")),
        },
    }))
}

/// The members of a complex value (or of an extension object), each checked against its
/// definition in `defs`; `prefix` is the path of the enclosing value, separator included.
fn normalize_members<'a>(
    defs: &[AttributeDef],
    members: impl Iterator<Item = (&'a String, &'a Value)>,
    prefix: &str,
    cap: Option<usize>,
) -> Result<Map<String, Value>, ScimError> {
    let mut out = Map::new();
    let mut seen = Vec::new();
    for (key, v) in members {
        let def = defs
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(key))
            .ok_or_else(|| {
                ScimError::invalid_value(format!("unknown attribute \"{prefix}{key}\""))
            })?;
        let path = format!("{prefix}{}", def.name);
        if def.mutability == Mutability::ReadOnly {
            continue;
        }
        claim(&mut seen, &def.name, &path)?;
        if let Some(v) = normalize_value(def, v, &path, cap)? {
            out.insert(def.name.clone(), v);
        }
    }
    Ok(out)
}

fn is_datetime(s: &str) -> bool {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).is_ok()
}

/// Base64 of RFC 4648 §4 (standard alphabet), padding optional, ASCII whitespace ignored.
fn is_base64(s: &str) -> bool {
    use base64::engine::{general_purpose, DecodePaddingMode, Engine as _};
    const LENIENT: general_purpose::GeneralPurpose = general_purpose::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        general_purpose::GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    LENIENT.decode(compact).is_ok()
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

/// [`check_immutable_with`] over the standard schemas.
pub fn check_immutable(
    kind: ResourceKind,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), ScimError> {
    check_immutable_with(SchemaSet::standard(), kind, old, new)
}

/// A PUT or PATCH may not change an immutable value once set (RFC 7643 §7, RFC 7644 §3.5.1):
/// 400 `mutability` when an immutable attribute (or an immutable sub-attribute of a
/// single-valued complex attribute) that has a value in `old` has another value, or none, in
/// `new`. An immutable attribute without a value may be set. `old` and `new` are stored
/// attributes, as [`normalize_with`] returns them.
pub fn check_immutable_with(
    schemas: &SchemaSet,
    kind: ResourceKind,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), ScimError> {
    immutable_unchanged(&schemas.core(kind).attributes, old, new, "")?;
    let empty = Map::new();
    for ext in schemas.extensions(kind) {
        if let Some(Value::Object(before)) = get_ci(old, &ext.id) {
            let after = match get_ci(new, &ext.id) {
                Some(Value::Object(after)) => after,
                _ => &empty,
            };
            immutable_unchanged(&ext.attributes, before, after, &format!("{}:", ext.id))?;
        }
    }
    Ok(())
}

fn immutable_unchanged(
    defs: &[AttributeDef],
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    prefix: &str,
) -> Result<(), ScimError> {
    let empty = Map::new();
    for attr in defs {
        let Some(before) = get_ci(old, &attr.name).filter(|v| !is_blank(v)) else {
            continue;
        };
        let after = get_ci(new, &attr.name);
        let path = format!("{prefix}{}", attr.name);
        if attr.mutability == Mutability::Immutable {
            if !after.is_some_and(|after| same_value(attr, before, after)) {
                return Err(ScimError::mutability(format!(
                    "attribute \"{path}\" is immutable: once set, it cannot be changed or removed"
                )));
            }
        } else if attr.ty == AttrType::Complex && !attr.multi_valued {
            if let Value::Object(before) = before {
                let after = match after {
                    Some(Value::Object(after)) => after,
                    _ => &empty,
                };
                immutable_unchanged(&attr.sub_attributes, before, after, &format!("{path}."))?;
            }
        }
    }
    Ok(())
}

/// Equal as SCIM compares them: strings that are not `caseExact` ignore case.
fn same_value(attr: &AttributeDef, a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) if !attr.case_exact => {
            a.to_lowercase() == b.to_lowercase()
        }
        _ => a == b,
    }
}

fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// RFC 3339 UTC with millisecond precision (truncated): one fixed width, so stored timestamps
/// compare as strings, and a filter's bound can be put in the same form ([`Timestamp`]'s text).
pub fn timestamp(at: time::OffsetDateTime) -> String {
    Timestamp::from(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::schema::CORE_USER;
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
        // 1,024 bytes as sent, 1,536 lower-cased: too long for the name's index key.
        let grows = "Ⱥ".repeat(MAX_KEY_VALUE_BYTES / 2);
        assert_eq!(grows.len(), MAX_KEY_VALUE_BYTES);
        let err = normalize(ResourceKind::User, &json!({"userName": grows})).unwrap_err();
        assert!(err.detail.contains("lower case"), "{}", err.detail);
        assert!(normalize(ResourceKind::Group, &json!({"displayName": grows})).is_err());
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
    fn base64_accepts_the_standard_alphabet_with_optional_padding_and_line_breaks() {
        for ok in [
            "",
            "TWFu",
            "TWE=",
            "TWE",
            "TQ==",
            "TQ",
            "TWFu\nTWFu\r\n",
            "+/+/",
        ] {
            assert!(is_base64(ok), "{ok:?}");
        }
        for bad in ["T", "TWFu!", "TW-_", "====", "TQ===", "T=Q=", "é"] {
            assert!(!is_base64(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_size_counted_is_the_compact_json_length() {
        for v in [
            json!({}),
            json!({"a": 1}),
            json!({"userName": "ann\"é", "emails": [{"value": "x"}], "active": true}),
        ] {
            let map = v.as_object().unwrap();
            assert_eq!(
                json_object_len(map.iter()),
                serde_json::to_vec(map).unwrap().len(),
                "{v}"
            );
        }
    }

    #[test]
    fn a_required_read_only_or_write_only_attribute_is_not_demanded() {
        let defs = [
            AttributeDef::new("ro", AttrType::String, "d")
                .required()
                .read_only(),
            AttributeDef::new("wo", AttrType::String, "d")
                .required()
                .write_only(),
        ];
        assert!(check_required(&defs, &Map::new(), "").is_ok());
    }

    #[test]
    fn immutable_strings_compare_by_case_exactness() {
        let ci = AttributeDef::new("a", AttrType::String, "d");
        let exact = AttributeDef {
            case_exact: true,
            ..AttributeDef::new("a", AttrType::String, "d")
        };
        assert!(same_value(&ci, &json!("ABC"), &json!("abc")));
        assert!(!same_value(&exact, &json!("ABC"), &json!("abc")));
        assert!(!same_value(&ci, &json!("1"), &json!(1)));
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
        assert_eq!(r.sub.map(|s| s.name.as_str()), Some("value"));
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
