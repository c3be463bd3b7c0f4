//! PATCH (RFC 7644 §3.5.2): parsing the request once into typed operations, then applying them to a
//! resource's attributes in memory. Group `members` are split off first (`members::split`) because
//! storage applies them without reading the existing members.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{parse_patch_path, AttrPath, CompareOp, Filter, PatchPath};
use super::matcher::matches_element;
use super::resource::{resolve, Resolved, ResourceKind};
use super::schema::{AttrType, Mutability};

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    pub op: OpKind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
    /// Set for a `remove` whose path is an extension schema URN: the whole extension goes.
    pub remove_extension: Option<&'static str>,
}

/// Parses a PatchOp request body. Keys and `op` values are matched case-insensitively
/// (Entra sends `"op": "Replace"`).
pub fn parse_request(body: &Value) -> Result<Vec<PatchOp>, ScimError> {
    let body = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the PATCH body must be a JSON object"))?;
    let declares_schema = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
    if !declares_schema {
        return Err(ScimError::invalid_syntax(format!(
            "the PATCH body must list \"{PATCH_OP_SCHEMA}\" in \"schemas\""
        )));
    }
    let operations = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| {
            ScimError::invalid_syntax("\"Operations\" must be a non-empty array of operations")
        })?;
    operations
        .iter()
        .enumerate()
        .map(|(i, op)| parse_op(i, op))
        .collect()
}

fn parse_op(index: usize, raw: &Value) -> Result<PatchOp, ScimError> {
    let at = |msg: String| ScimError::invalid_syntax(format!("Operations[{index}]: {msg}"));
    let obj = raw
        .as_object()
        .ok_or_else(|| at("each operation must be an object".into()))?;
    let op = match get_ci(obj, "op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        other => {
            return Err(at(format!(
                "\"op\" must be \"add\", \"remove\" or \"replace\", got {}",
                other.map_or("nothing".to_string(), |s| format!("\"{s}\""))
            )))
        }
    };
    let value = get_ci(obj, "value").filter(|v| !v.is_null()).cloned();
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        // A path naming a whole extension: `add`/`replace` are path-less ops on `{urn: value}`.
        Some(Value::String(s)) if extension_schema(s.trim()).is_some() => {
            let urn = extension_schema(s.trim()).unwrap_or_default();
            return match (op, value) {
                (OpKind::Remove, _) => Ok(PatchOp {
                    op,
                    path: None,
                    value: None,
                    remove_extension: Some(urn),
                }),
                (_, Some(Value::Object(attrs))) => Ok(PatchOp {
                    op,
                    path: None,
                    value: Some(Value::Object(Map::from_iter([(
                        urn.to_string(),
                        Value::Object(attrs),
                    )]))),
                    remove_extension: None,
                }),
                _ => Err(ScimError::invalid_value(format!(
                    "Operations[{index}]: the value for \"{urn}\" must be an object of its attributes"
                ))),
            };
        }
        Some(Value::String(s)) => Some(parse_patch_path(s).map_err(|e| {
            ScimError::invalid_path(format!("Operations[{index}]: invalid path \"{s}\": {e}"))
        })?),
        Some(_) => return Err(at("\"path\" must be a string".into())),
    };
    match (op, &path, &value) {
        (OpKind::Remove, None, _) => Err(ScimError::no_target(format!(
            "Operations[{index}]: \"remove\" needs a \"path\""
        ))),
        (OpKind::Add | OpKind::Replace, _, None) => Err(ScimError::invalid_value(format!(
            "Operations[{index}]: \"{}\" needs a \"value\"",
            if op == OpKind::Add { "add" } else { "replace" }
        ))),
        (OpKind::Add | OpKind::Replace, None, Some(v)) if !v.is_object() => {
            Err(ScimError::invalid_value(format!(
                "Operations[{index}]: without a \"path\", \"value\" must be an object of attributes"
            )))
        }
        _ => Ok(PatchOp {
            op,
            path,
            value,
            remove_extension: None,
        }),
    }
}

/// Applies operations to a resource's stored attributes. The caller re-validates the result with
/// `resource::normalize`, which also coerces the string booleans IdPs send.
pub fn apply(
    kind: ResourceKind,
    doc: &mut Map<String, Value>,
    ops: &[PatchOp],
) -> Result<(), ScimError> {
    for op in ops {
        if let Some(urn) = op.remove_extension {
            doc.remove(urn);
            continue;
        }
        match (&op.path, &op.value) {
            (None, Some(Value::Object(values))) => apply_pathless(kind, doc, op.op, values)?,
            (Some(path), value) => apply_path(kind, doc, op.op, path, value.as_ref(), true)?,
            _ => {}
        }
    }
    Ok(())
}

/// `{"op":"replace","value":{"active":false,"name.givenName":"Ann","urn:…:User":{…}}}`
fn apply_pathless(
    kind: ResourceKind,
    doc: &mut Map<String, Value>,
    op: OpKind,
    values: &Map<String, Value>,
) -> Result<(), ScimError> {
    for (key, value) in values {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let Some(ext) = kind.extension(key) {
            let inner = value.as_object().ok_or_else(|| {
                ScimError::invalid_value(format!("\"{}\" must be an object", ext.id))
            })?;
            // Clients that serialise the extension as a model may include its `schemas`.
            for (name, v) in inner
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
            {
                let path = PatchPath {
                    attr: AttrPath {
                        uri: Some(ext.id.into()),
                        name: name.clone(),
                        sub: None,
                    },
                    value_filter: None,
                    sub: None,
                };
                apply_path(kind, doc, op, &path, Some(v), false)?;
            }
            continue;
        }
        let path = parse_patch_path(key).map_err(|e| {
            ScimError::invalid_path(format!("invalid attribute \"{key}\" in value: {e}"))
        })?;
        apply_path(kind, doc, op, &path, Some(value), false)?;
    }
    Ok(())
}

fn apply_path(
    kind: ResourceKind,
    doc: &mut Map<String, Value>,
    op: OpKind,
    path: &PatchPath,
    value: Option<&Value>,
    explicit: bool,
) -> Result<(), ScimError> {
    let resolved = resolve(kind, &path.attr).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "\"{}\" is not an attribute of {}",
            path.attr,
            kind.name()
        ))
    })?;
    if resolved.attr.mutability == Mutability::ReadOnly
        || resolved
            .sub
            .is_some_and(|s| s.mutability == Mutability::ReadOnly)
    {
        // Path-less values may echo read-only attributes (Okta sends `id`); only an explicit path is an error.
        return if explicit {
            Err(ScimError::mutability(format!(
                "\"{}\" is read-only",
                path.attr
            )))
        } else {
            Ok(())
        };
    }
    let sub = path.attr.sub.as_deref().or(path.sub.as_deref());
    if path.value_filter.is_some() && !resolved.attr.multi_valued {
        return Err(ScimError::invalid_path(format!(
            "\"{}\" is not multi-valued, so it cannot take a [filter]",
            resolved.attr.name
        )));
    }
    let container = match resolved.extension {
        None => doc,
        Some(ext) => {
            let entry = doc.entry(ext).or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            match entry.as_object_mut() {
                Some(obj) => obj,
                None => return Ok(()),
            }
        }
    };
    let key = resolved.attr.name;
    match op {
        OpKind::Remove => {
            remove(container, &resolved, path.value_filter.as_ref(), sub, value);
            Ok(())
        }
        OpKind::Add | OpKind::Replace => {
            let value = value.cloned().unwrap_or(Value::Null);
            match (&path.value_filter, sub) {
                (None, None) => {
                    set_whole(container, &resolved, op, value);
                    Ok(())
                }
                (None, Some(sub)) => {
                    set_sub_everywhere(container, key, resolved.attr.multi_valued, sub, value);
                    Ok(())
                }
                (Some(filter), sub) => set_filtered(container, &resolved, op, filter, sub, value),
            }
        }
    }
}

fn set_whole(container: &mut Map<String, Value>, resolved: &Resolved, op: OpKind, value: Value) {
    let key = resolved.attr.name;
    let attr = resolved.attr;
    if attr.multi_valued {
        let new_items = match value {
            Value::Array(items) => items,
            single => vec![single],
        };
        if op == OpKind::Replace {
            container.insert(key.into(), Value::Array(new_items));
            return;
        }
        let existing = container
            .entry(key)
            .or_insert_with(|| Value::Array(Vec::new()));
        if !existing.is_array() {
            *existing = Value::Array(Vec::new());
        }
        if let Value::Array(items) = existing {
            for item in new_items {
                if !items.contains(&item) {
                    items.push(item);
                }
            }
        }
    } else if attr.ty == AttrType::Complex {
        // RFC 7644 §3.5.2.3: sub-attributes not given are left unchanged (for add and replace alike).
        match (container.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(new)) => existing.extend(new),
            (_, value) => {
                container.insert(key.into(), value);
            }
        }
    } else {
        container.insert(key.into(), value);
    }
}

/// `name.givenName`, or `emails.value` with no filter: set on the object, or on every element.
fn set_sub_everywhere(
    container: &mut Map<String, Value>,
    key: &str,
    multi_valued: bool,
    sub: &str,
    value: Value,
) {
    let entry = container.entry(key).or_insert_with(|| {
        if multi_valued {
            Value::Array(vec![Value::Object(Map::new())])
        } else {
            Value::Object(Map::new())
        }
    });
    match entry {
        Value::Array(items) if items.is_empty() => {
            items.push(Value::Object(Map::from_iter([(sub.into(), value)])))
        }
        Value::Array(items) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(|o| set_ci(o, sub, value.clone())),
        Value::Object(obj) => set_ci(obj, sub, value),
        other => *other = Value::Object(Map::from_iter([(sub.into(), value)])),
    }
}

fn set_filtered(
    container: &mut Map<String, Value>,
    resolved: &Resolved,
    op: OpKind,
    filter: &Filter,
    sub: Option<&str>,
    value: Value,
) -> Result<(), ScimError> {
    let key = resolved.attr.name;
    let items = match container.get_mut(key) {
        Some(Value::Array(items)) => items,
        _ => {
            container.insert(key.into(), Value::Array(Vec::new()));
            match container.get_mut(key) {
                Some(Value::Array(items)) => items,
                _ => return Ok(()),
            }
        }
    };
    let mut matched = false;
    for item in items.iter_mut() {
        if !matches_element(resolved.attr, filter, item) {
            continue;
        }
        matched = true;
        match (sub, item.as_object_mut()) {
            (Some(sub), Some(obj)) => set_ci(obj, sub, value.clone()),
            (None, Some(obj)) if op == OpKind::Add => {
                if let Value::Object(new) = &value {
                    obj.extend(new.clone());
                }
            }
            _ => *item = value.clone(),
        }
    }
    if matched {
        return Ok(());
    }
    // No element matched: `emails[type eq "work"].value` creates the work email, as Entra expects.
    match (sub, eq_constraints(filter)) {
        (Some(sub), Some(mut element)) => {
            element.insert(sub.into(), value);
            items.push(Value::Object(element));
            Ok(())
        }
        _ => Err(ScimError::no_target(format!(
            "no value of \"{key}\" matches the filter [{filter}]"
        ))),
    }
}

fn remove(
    container: &mut Map<String, Value>,
    resolved: &Resolved,
    filter: Option<&Filter>,
    sub: Option<&str>,
    value: Option<&Value>,
) {
    let key = resolved.attr.name;
    match (filter, sub, container.get_mut(key)) {
        (_, _, None) => {}
        // Entra's `{"op":"Remove","path":"emails","value":[{"value":"x"}]}`: only the listed values go.
        (None, None, Some(Value::Array(items))) if value.is_some() => {
            let listed = listed_values(value);
            items.retain(|item| !listed.contains(&element_value(item)));
        }
        (None, None, Some(_)) => {
            container.remove(key);
        }
        (None, Some(sub), Some(Value::Object(obj))) => remove_ci(obj, sub),
        (None, Some(sub), Some(Value::Array(items))) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(|o| remove_ci(o, sub)),
        (Some(filter), None, Some(Value::Array(items))) => {
            items.retain(|item| !matches_element(resolved.attr, filter, item))
        }
        (Some(filter), Some(sub), Some(Value::Array(items))) => items
            .iter_mut()
            .filter(|item| matches_element(resolved.attr, filter, item))
            .filter_map(Value::as_object_mut)
            .for_each(|o| remove_ci(o, sub)),
        _ => {}
    }
    let now_empty = match container.get(key) {
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        _ => false,
    };
    if now_empty {
        container.remove(key);
    }
}

/// The `value` of each listed element (`[{"value":"a"}]` or `["a"]`).
pub fn listed_values(value: Option<&Value>) -> Vec<Value> {
    match value {
        Some(Value::Array(items)) => items.iter().map(element_value).collect(),
        Some(single) => vec![element_value(single)],
        None => Vec::new(),
    }
}

fn element_value(item: &Value) -> Value {
    match item {
        Value::Object(obj) => get_ci(obj, "value").cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

/// `type eq "work" and primary eq true` → `{"type":"work","primary":true}`; `None` for any other shape.
fn eq_constraints(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, v) if path.uri.is_none() && path.sub.is_none() => {
            Some(Map::from_iter([(path.name.clone(), v.clone())]))
        }
        Filter::And(a, b) => {
            let mut left = eq_constraints(a)?;
            left.extend(eq_constraints(b)?);
            Some(left)
        }
        _ => None,
    }
}

fn extension_schema(path: &str) -> Option<&'static str> {
    [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .find_map(|k| k.extension(path))
        .map(|e| e.id)
}

pub fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn set_ci(map: &mut Map<String, Value>, name: &str, value: Value) {
    remove_ci(map, name);
    map.insert(name.into(), value);
}

fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    map.retain(|k, _| !k.eq_ignore_ascii_case(name));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::resource::normalize;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn patched(doc: Value, ops: Value) -> Result<Value, ScimError> {
        let ops = parse_request(&json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))?;
        let mut map = normalize(ResourceKind::User, &doc)?;
        apply(ResourceKind::User, &mut map, &ops)?;
        normalize(ResourceKind::User, &Value::Object(map)).map(Value::Object)
    }

    fn base() -> Value {
        json!({"userName": "ann", "active": true,
               "emails": [{"value": "a@w.com", "type": "work"}, {"value": "a@h.com", "type": "home"}]})
    }

    #[test]
    fn capitalised_ops_and_string_booleans_from_entra_work() {
        let out = patched(
            base(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .unwrap();
        assert_eq!(out["active"], json!(false));
    }

    #[test]
    fn pathless_replace_with_dotted_keys_and_extension_object() {
        let out = patched(
            base(),
            json!([{"op": "replace", "value": {"name.givenName": "Ann", "active": false,
                    ENT: {"department": "Ops"}}}]),
        )
        .unwrap();
        assert_eq!(out["name"]["givenName"], "Ann");
        assert_eq!(out["active"], json!(false));
        assert_eq!(out[ENT]["department"], "Ops");
        assert_eq!(out["schemas"][1], ENT);
    }

    #[test]
    fn urn_prefixed_extension_path_sets_and_removes() {
        let out = patched(
            base(),
            json!([{"op": "add", "path": format!("{ENT}:department"), "value": "R&D"}]),
        )
        .unwrap();
        assert_eq!(out[ENT]["department"], "R&D");
        let out = patched(
            out,
            json!([{"op": "remove", "path": format!("{ENT}:department")}]),
        )
        .unwrap();
        assert!(out.get(ENT).is_none());
        assert_eq!(
            out["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:User"])
        );
    }

    #[test]
    fn a_path_naming_a_whole_extension_adds_replaces_and_removes_it() {
        let out = patched(
            base(),
            json!([{"op": "add", "path": ENT, "value": {"department": "Ops"}}]),
        )
        .unwrap();
        assert_eq!(out[ENT], json!({"department": "Ops"}));
        let out = patched(
            out,
            json!([{"op": "replace", "path": ENT, "value": {"costCenter": "7"}}]),
        )
        .unwrap();
        assert_eq!(out[ENT], json!({"department": "Ops", "costCenter": "7"}));
        let out = patched(out, json!([{"op": "remove", "path": ENT}])).unwrap();
        assert!(out.get(ENT).is_none());
        assert!(patched(base(), json!([{"op": "add", "path": ENT, "value": "x"}])).is_err());
    }

    #[test]
    fn manager_sent_as_plain_string_path_value() {
        let out = patched(
            base(),
            json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": "boss"}]),
        )
        .unwrap();
        assert_eq!(out[ENT]["manager"]["value"], "boss");
    }

    #[test]
    fn sub_attribute_path_creates_parent_and_keeps_siblings() {
        let out = patched(
            base(),
            json!([{"op": "add", "path": "name.familyName", "value": "Lee"}]),
        )
        .unwrap();
        let out = patched(
            out,
            json!([{"op": "replace", "path": "name.givenName", "value": "Ann"}]),
        )
        .unwrap();
        assert_eq!(
            out["name"],
            json!({"familyName": "Lee", "givenName": "Ann"})
        );
    }

    #[test]
    fn add_to_multi_valued_appends_and_replace_swaps_whole_list() {
        let out = patched(
            base(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "n@x.com"}]}]),
        )
        .unwrap();
        assert_eq!(out["emails"].as_array().unwrap().len(), 3);
        let out = patched(
            out,
            json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.com"}]}]),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{"value": "only@x.com"}]));
    }

    #[test]
    fn value_path_replace_changes_only_matching_element() {
        let out = patched(
            base(),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "new@w.com"}]),
        )
        .unwrap();
        assert_eq!(out["emails"][0]["value"], "new@w.com");
        assert_eq!(out["emails"][1]["value"], "a@h.com");
    }

    #[test]
    fn value_path_without_match_creates_the_element() {
        let out = patched(
            json!({"userName": "ann"}),
            json!([{"op": "add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"}]),
        )
        .unwrap();
        assert_eq!(
            out["addresses"],
            json!([{"type": "work", "streetAddress": "1 Main St"}])
        );
    }

    #[test]
    fn remove_with_value_list_removes_only_listed_elements() {
        let out = patched(
            base(),
            json!([{"op": "Remove", "path": "emails", "value": [{"value": "a@h.com"}]}]),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{"value": "a@w.com", "type": "work"}]));
    }

    #[test]
    fn remove_by_filter_and_whole_attribute() {
        let out = patched(
            base(),
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        )
        .unwrap();
        assert_eq!(out["emails"], json!([{"value": "a@h.com", "type": "home"}]));
        let out = patched(out, json!([{"op": "remove", "path": "emails"}])).unwrap();
        assert!(out.get("emails").is_none());
    }

    #[test]
    fn bad_requests_get_precise_scim_types() {
        use crate::protocol::error::ScimType::*;
        let cases = [
            (
                json!([{"op": "jump", "path": "active", "value": true}]),
                InvalidSyntax,
            ),
            (json!([{"op": "remove"}]), NoTarget),
            (json!([{"op": "add", "path": "active"}]), InvalidValue),
            (
                json!([{"op": "add", "path": "shoeSize", "value": 1}]),
                InvalidPath,
            ),
            (
                json!([{"op": "add", "path": "emails[type eq", "value": 1}]),
                InvalidPath,
            ),
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                Mutability,
            ),
            (
                json!([{"op": "replace", "path": "active", "value": "maybe"}]),
                InvalidValue,
            ),
            (json!([{"op": "remove", "path": "userName"}]), InvalidValue),
            (json!([{"op": "replace", "value": 5}]), InvalidValue),
        ];
        for (ops, expected) in cases {
            let err = patched(base(), ops.clone()).unwrap_err();
            assert_eq!(err.scim_type, Some(expected), "{ops}: {err}");
        }
    }

    #[test]
    fn body_without_patch_op_schema_is_invalid_syntax() {
        let err = parse_request(&json!({"Operations": [{"op": "add", "value": {}}]})).unwrap_err();
        assert_eq!(err.status, 400);
    }

    #[test]
    fn pathless_value_may_echo_read_only_id() {
        let out = patched(
            base(),
            json!([{"op": "replace", "value": {"id": "x", "displayName": "A"}}]),
        )
        .unwrap();
        assert_eq!(out["displayName"], "A");
    }
}
