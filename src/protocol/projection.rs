//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes a response carries.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{parse_attr_path, AttrPath};
use super::resource::ResourceKind;

/// Attributes every response carries whatever the client asks (`returned: always`).
const ALWAYS: [&str; 2] = ["id", "schemas"];

#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A whole extension object, named by its schema URN alone.
    Extension(String),
    Path(AttrPath),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    attributes: Vec<Target>,
    excluded: Vec<Target>,
}

impl Projection {
    /// Parses the comma-separated query parameters (absent or empty means "no restriction").
    pub fn parse(attributes: Option<&str>, excluded: Option<&str>) -> Result<Self, ScimError> {
        let split = |s: Option<&str>| -> Vec<String> {
            s.unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        Self::from_lists(&split(attributes), &split(excluded))
    }

    /// Builds from lists of attribute names, as a `SearchRequest` body carries them.
    pub fn from_lists(attributes: &[String], excluded: &[String]) -> Result<Self, ScimError> {
        Ok(Projection {
            attributes: attributes
                .iter()
                .map(|a| target(a))
                .collect::<Result<_, _>>()?,
            excluded: excluded
                .iter()
                .map(|a| target(a))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether the response will carry the top-level core attribute `name` (e.g. `members`),
    /// so that storage can skip reading what nobody will see.
    pub fn includes(&self, name: &str) -> bool {
        let names = |t: &Target| matches!(t, Target::Path(p) if p.name.eq_ignore_ascii_case(name) && !is_extension_path(p));
        let whole = |t: &Target| matches!(t, Target::Path(p) if p.name.eq_ignore_ascii_case(name) && p.sub.is_none() && !is_extension_path(p));
        (self.attributes.is_empty() || self.attributes.iter().any(names))
            && !self.excluded.iter().any(whole)
    }

    pub fn apply(&self, kind: ResourceKind, resource: Value) -> Value {
        let Value::Object(mut map) = resource else {
            return resource;
        };
        if !self.attributes.is_empty() {
            let mut out = Map::new();
            for key in ALWAYS {
                if let Some(v) = map.get(key) {
                    out.insert(key.into(), v.clone());
                }
            }
            for target in &self.attributes {
                copy_target(kind, target, &map, &mut out);
            }
            map = out;
        }
        for target in &self.excluded {
            remove_target(kind, target, &mut map);
        }
        Value::Object(map)
    }
}

fn target(raw: &str) -> Result<Target, ScimError> {
    if is_known_extension(raw) {
        return Ok(Target::Extension(raw.to_string()));
    }
    parse_attr_path(raw)
        .map(Target::Path)
        .map_err(|e| ScimError::invalid_value(format!("invalid attribute name \"{raw}\": {e}")))
}

fn is_known_extension(raw: &str) -> bool {
    [ResourceKind::User, ResourceKind::Group]
        .iter()
        .any(|k| k.extension(raw).is_some())
}

fn is_extension_path(p: &AttrPath) -> bool {
    p.uri
        .as_deref()
        .is_some_and(|u| !u.starts_with("urn:ietf:params:scim:schemas:core:"))
}

/// The object holding the path's attribute: the resource itself, or the extension object.
fn container_key(kind: ResourceKind, p: &AttrPath) -> Option<Option<&'static str>> {
    match p.uri.as_deref() {
        None => Some(None),
        Some(uri) if uri.eq_ignore_ascii_case(kind.core_uri()) => Some(None),
        Some(uri) => kind.extension(uri).map(|e| Some(e.id)),
    }
}

fn key_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a String> {
    map.keys().find(|k| k.eq_ignore_ascii_case(name))
}

fn copy_target(
    kind: ResourceKind,
    target: &Target,
    from: &Map<String, Value>,
    to: &mut Map<String, Value>,
) {
    let path = match target {
        Target::Extension(uri) => {
            if let Some(key) = key_ci(from, uri) {
                to.insert(key.clone(), from[key].clone());
            }
            return;
        }
        Target::Path(p) => p,
    };
    let Some(container) = container_key(kind, path) else {
        return;
    };
    let source = match container {
        None => Some(from),
        Some(ext) => from.get(ext).and_then(Value::as_object),
    };
    let Some(source) = source else { return };
    let Some(key) = key_ci(source, &path.name) else {
        return;
    };
    let value = match (&path.sub, &source[key]) {
        (None, v) => v.clone(),
        (Some(sub), Value::Object(obj)) => match key_ci(obj, sub) {
            Some(k) => merge_into(
                to,
                container,
                key,
                Value::Object(Map::from_iter([(k.clone(), obj[k].clone())])),
            ),
            None => return,
        },
        (Some(sub), Value::Array(items)) => Value::Array(
            items
                .iter()
                .filter_map(|item| {
                    let obj = item.as_object()?;
                    let k = key_ci(obj, sub)?;
                    Some(Value::Object(Map::from_iter([(k.clone(), obj[k].clone())])))
                })
                .collect(),
        ),
        (Some(_), _) => return,
    };
    let dest = match container {
        None => to,
        Some(ext) => match to
            .entry(ext)
            .or_insert_with(|| Value::Object(Map::new()))
            .as_object_mut()
        {
            Some(obj) => obj,
            None => return,
        },
    };
    // Two sub-paths of one multi-valued attribute (`emails.value,emails.type`) merge element-wise.
    match (dest.get_mut(key), value) {
        (Some(Value::Array(existing)), Value::Array(new)) if existing.len() == new.len() => {
            for (e, n) in existing.iter_mut().zip(new) {
                if let (Some(e), Value::Object(n)) = (e.as_object_mut(), n) {
                    e.extend(n);
                }
            }
        }
        (_, value) => {
            dest.insert(key.clone(), value);
        }
    }
}

/// Merges a single-valued complex sub-attribute into what was already copied; returns the merged value.
fn merge_into(to: &Map<String, Value>, container: Option<&str>, key: &str, value: Value) -> Value {
    let existing = match container {
        None => to.get(key),
        Some(ext) => to.get(ext).and_then(|e| e.get(key)),
    };
    match (existing, value) {
        (Some(Value::Object(old)), Value::Object(new)) => {
            let mut merged = old.clone();
            merged.extend(new);
            Value::Object(merged)
        }
        (_, value) => value,
    }
}

fn remove_target(kind: ResourceKind, target: &Target, map: &mut Map<String, Value>) {
    let path = match target {
        Target::Extension(uri) => {
            if let Some(key) = key_ci(map, uri).cloned() {
                map.remove(&key);
            }
            return;
        }
        Target::Path(p) => p,
    };
    let container = match container_key(kind, path) {
        Some(None) => Some(&mut *map),
        Some(Some(ext)) => map.get_mut(ext).and_then(Value::as_object_mut),
        None => None,
    };
    let Some(container) = container else { return };
    let Some(key) = key_ci(container, &path.name).cloned() else {
        return;
    };
    match &path.sub {
        None if ALWAYS.contains(&key.as_str()) => {}
        None => {
            container.remove(&key);
        }
        Some(sub) => {
            let strip = |obj: &mut Map<String, Value>| {
                if let Some(k) = key_ci(obj, sub).cloned() {
                    obj.remove(&k);
                }
            };
            match container.get_mut(&key) {
                Some(Value::Object(obj)) => strip(obj),
                Some(Value::Array(items)) => items
                    .iter_mut()
                    .filter_map(Value::as_object_mut)
                    .for_each(strip),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
            "id": "1", "userName": "ann", "active": true,
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": "a@x", "type": "work"}, {"value": "b@x", "type": "home"}],
            ENT: {"department": "R&D", "costCenter": "7"},
            "meta": {"resourceType": "User"}
        })
    }

    fn project(attrs: Option<&str>, excluded: Option<&str>) -> Value {
        Projection::parse(attrs, excluded)
            .unwrap()
            .apply(ResourceKind::User, user())
    }

    #[test]
    fn attributes_keep_only_named_ones_plus_id_and_schemas() {
        let out = project(Some("userName,name.givenName"), None);
        assert_eq!(
            out,
            json!({"schemas": user()["schemas"], "id": "1", "userName": "ann", "name": {"givenName": "Ann"}})
        );
    }

    #[test]
    fn attributes_select_sub_attributes_of_every_element() {
        let out = project(Some("EMAILS.VALUE"), None);
        assert_eq!(out["emails"], json!([{"value": "a@x"}, {"value": "b@x"}]));
    }

    #[test]
    fn attributes_select_extension_attributes_by_urn() {
        let out = project(Some(&format!("{ENT}:department")), None);
        assert_eq!(out[ENT], json!({"department": "R&D"}));
        let out = project(Some(ENT), None);
        assert_eq!(out[ENT], user()[ENT]);
    }

    #[test]
    fn excluded_attributes_drop_named_ones_but_never_id() {
        let out = project(None, Some("emails,id,name.familyName"));
        assert!(out.get("emails").is_none());
        assert_eq!(out["id"], "1");
        assert_eq!(out["name"], json!({"givenName": "Ann"}));
        assert_eq!(out["userName"], "ann");
    }

    #[test]
    fn includes_tells_whether_members_must_be_read() {
        let p = |a, e| Projection::parse(a, e).unwrap();
        assert!(p(None, None).includes("members"));
        assert!(!p(None, Some("members")).includes("members"));
        assert!(!p(Some("displayName"), None).includes("members"));
        assert!(p(Some("members.value"), None).includes("members"));
    }

    #[test]
    fn malformed_attribute_names_are_rejected() {
        assert!(Projection::parse(Some("name..x"), None).is_err());
    }
}
