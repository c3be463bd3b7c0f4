//! Group membership changes. PATCH operations on `members` become a `MemberChanges` value that storage
//! applies item by item, so adding or removing k members never reads or rewrites the other members.
//!
//! Every spelling of `members` comes here: `path: "members"` (any case, with or without the
//! `urn:ietf:params:scim:schemas:core:2.0:Group:` prefix), `members[value eq "x"]`, and the
//! `members` key of a path-less value (bare or URN-qualified, or inside a
//! `urn:…:core:2.0:Group` object): `patch::parse_request` has already split path-less values into
//! one operation per key, resolved against the Group schema, and `split` takes the operations
//! whose attribute is the membership (`ResolvedPath::is_membership`); `patch::apply` refuses them.
//!
//! Decisions:
//! - Member ids are canonicalised once, here: a ULID in its canonical (upper-case) spelling, any
//!   other id as given (the store then answers that it is not a user). The same member twice in
//!   one request is one change.
//! - `remove` with a `value` (Entra: `{"op":"Remove","path":"members","value":[{"value":"id"}]}`)
//!   removes only the listed members; without a value (or with `null`) it removes every member.
//! - `replace` of `members` (Okta) sets the complete list; with `null` it empties it. `add` of
//!   `null` adds nothing.
//! - `members[value eq "x"]` (or an `or` of such) selects by id. Removing a member that is not
//!   there is not `noTarget`: storage applies member changes without reading the member list, and
//!   IdPs retry removals, so a removal is idempotent.
//! - At most `MAX_MEMBER_CHANGES` members added or removed in one request (400 `invalidValue`
//!   past it). A complete list (`replace`) is not capped here, as for POST and PUT.

use std::collections::BTreeSet;

use serde_json::Value;

use super::error::ScimError;
use super::filter::{CompareOp, Filter};
use super::patch::{get_ci, OpKind, PatchOp, Target};

/// Most members added or removed by one PATCH request (the distinct ids, after canonicalisation).
pub const MAX_MEMBER_CHANGES: usize = 1000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MemberChanges {
    /// The complete new member set (a `replace` of members, or a `remove` of all); the store diffs it.
    pub replace_with: Option<BTreeSet<String>>,
    pub add: BTreeSet<String>,
    pub remove: BTreeSet<String>,
}

impl MemberChanges {
    pub fn is_empty(&self) -> bool {
        self.replace_with.is_none() && self.add.is_empty() && self.remove.is_empty()
    }

    fn add(&mut self, id: String) {
        self.remove.remove(&id);
        match &mut self.replace_with {
            Some(all) => {
                all.insert(id);
            }
            None => {
                self.add.insert(id);
            }
        }
    }

    fn remove(&mut self, id: String) {
        self.add.remove(&id);
        match &mut self.replace_with {
            Some(all) => {
                all.remove(&id);
            }
            None => {
                self.remove.insert(id);
            }
        }
    }

    fn replace(&mut self, ids: BTreeSet<String>) {
        self.add.clear();
        self.remove.clear();
        self.replace_with = Some(ids);
    }
}

/// A member id in its one spelling: a ULID upper-case, anything else as given.
pub fn canonical_id(raw: &str) -> String {
    ulid::Ulid::from_string(raw).map_or_else(|_| raw.to_string(), |u| u.to_string())
}

/// Member ids from a `members` value: `[{"value": "id", "type": "User"}, …]` or a single object.
pub fn member_ids(value: &Value) -> Result<BTreeSet<String>, ScimError> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        Value::Null => &[],
        single => std::slice::from_ref(single),
    };
    items.iter().map(member_id).collect()
}

fn member_id(item: &Value) -> Result<String, ScimError> {
    let obj = item.as_object().ok_or_else(|| {
        ScimError::invalid_value("each member must be an object like {\"value\": \"<user id>\"}")
    })?;
    if let Some(kind) = get_ci(obj, "type").and_then(Value::as_str) {
        if !kind.eq_ignore_ascii_case("User") {
            return Err(ScimError::invalid_value(format!(
                "member type \"{kind}\" is not supported: groups contain users only"
            )));
        }
    }
    match get_ci(obj, "value") {
        Some(Value::String(id)) if !id.trim().is_empty() => Ok(canonical_id(id.trim())),
        _ => Err(ScimError::invalid_value(
            "each member needs a \"value\" holding the member's id",
        )),
    }
}

/// Splits group PATCH operations (parsed for `ResourceKind::Group`) into member changes and the
/// operations on other attributes.
pub fn split(ops: Vec<PatchOp>) -> Result<(MemberChanges, Vec<PatchOp>), ScimError> {
    let mut changes = MemberChanges::default();
    let mut rest = Vec::new();
    for op in ops {
        let path = match &op.target {
            Target::Attribute(target) if target.is_membership() => &target.path,
            _ => {
                rest.push(op);
                continue;
            }
        };
        let at = |e: ScimError| ScimError {
            detail: format!("Operations[{}]: {}", op.index, e.detail),
            ..e
        };
        if path.attr.sub.is_some() || path.sub.is_some() {
            return Err(at(ScimError::mutability(
                "member sub-attributes are immutable; add or remove the member instead",
            )));
        }
        let value = op.value.as_ref().filter(|v| !v.is_null());
        match (op.op, &path.value_filter, value) {
            (OpKind::Add, None, None) => {}
            (OpKind::Add, None, Some(v)) => {
                for id in member_ids(v).map_err(at)? {
                    changes.add(id);
                }
            }
            (OpKind::Replace, None, v) => {
                changes.replace(member_ids(v.unwrap_or(&Value::Null)).map_err(at)?)
            }
            // Entra: `{"op":"Remove","path":"members","value":[{"value":"id"}]}` removes only those.
            (OpKind::Remove, None, Some(v)) => {
                for id in member_ids(v).map_err(at)? {
                    changes.remove(id);
                }
            }
            (OpKind::Remove, None, None) => changes.replace(BTreeSet::new()),
            // `replace` of selected members with others; `add` to a selection adds the value.
            (op_kind, Some(filter), v) => {
                let selected = filtered_ids(filter).map_err(at)?;
                if op_kind != OpKind::Add {
                    for id in selected {
                        changes.remove(id);
                    }
                }
                if let (OpKind::Add | OpKind::Replace, Some(v)) = (op_kind, v) {
                    for id in member_ids(v).map_err(at)? {
                        changes.add(id);
                    }
                }
            }
        }
    }
    let count = changes.add.len() + changes.remove.len();
    if count > MAX_MEMBER_CHANGES {
        return Err(ScimError::invalid_value(format!(
            "{count} member changes in one PATCH; at most {MAX_MEMBER_CHANGES} are accepted"
        )));
    }
    Ok((changes, rest))
}

/// `value eq "a"`, or an `or` of such: the members a filter names. Anything else needs the full member
/// list, which this endpoint does not read.
fn filtered_ids(filter: &Filter) -> Result<Vec<String>, ScimError> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, Value::String(id))
            if path.name.eq_ignore_ascii_case("value") && path.sub.is_none() && path.uri.is_none() =>
        {
            Ok(vec![canonical_id(id.trim())])
        }
        Filter::Or(a, b) => {
            let mut ids = filtered_ids(a)?;
            ids.extend(filtered_ids(b)?);
            Ok(ids)
        }
        other => Err(ScimError::invalid_filter(format!(
            "members[{other}] is not supported: select members with value eq \"<id>\" (or an 'or' of those)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::patch::{parse_request, PATCH_OP_SCHEMA};
    use crate::protocol::resource::ResourceKind;
    use crate::protocol::schema::SchemaSet;
    use serde_json::json;

    fn changes(ops: Value) -> Result<(MemberChanges, Vec<PatchOp>), ScimError> {
        split(parse_request(
            SchemaSet::standard(),
            ResourceKind::Group,
            &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}),
        )?)
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn entra_remove_with_value_list_removes_only_listed_members() {
        let (c, rest) =
            changes(json!([{"op": "Remove", "path": "members", "value": [{"value": "u1"}]}]))
                .unwrap();
        assert_eq!(c.remove, set(&["u1"]));
        assert!(c.replace_with.is_none() && rest.is_empty());
    }

    #[test]
    fn remove_by_value_filter_and_or_of_filters() {
        let (c, _) = changes(
            json!([{"op": "remove", "path": "members[value eq \"u1\" or value eq \"u2\"]"}]),
        )
        .unwrap();
        assert_eq!(c.remove, set(&["u1", "u2"]));
    }

    #[test]
    fn add_then_remove_of_same_member_cancels_out() {
        let (c, _) = changes(json!([
            {"op": "add", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "remove", "path": "members[value eq \"u1\"]"}
        ]))
        .unwrap();
        assert_eq!(c.add, set(&["u2"]));
        assert_eq!(c.remove, set(&["u1"]));
    }

    #[test]
    fn replace_and_remove_without_value_set_the_whole_member_list() {
        let (c, _) =
            changes(json!([{"op": "replace", "path": "members", "value": [{"value": "u3"}]}]))
                .unwrap();
        assert_eq!(c.replace_with, Some(set(&["u3"])));
        let (c, _) = changes(json!([{"op": "remove", "path": "members"}])).unwrap();
        assert_eq!(c.replace_with, Some(BTreeSet::new()));
    }

    #[test]
    fn pathless_value_splits_members_from_other_attributes() {
        let (c, rest) = changes(json!([{"op": "replace", "value": {"id": "g", "displayName": "New", "members": [{"value": "u9"}]}}])).unwrap();
        assert_eq!(c.replace_with, Some(set(&["u9"])));
        let rest: Vec<String> = rest
            .iter()
            .map(|op| match &op.target {
                Target::Attribute(p) => p.to_string(),
                Target::Extension(u) => u.to_string(),
            })
            .collect();
        assert_eq!(rest, ["displayName", "id"]);
    }

    #[test]
    fn ulid_member_ids_are_canonicalised_once() {
        let lower = "01arz3ndektsv4rrffq69g5fav";
        assert_eq!(canonical_id(lower), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(canonical_id("not-a-ulid"), "not-a-ulid");
        let (c, _) = changes(json!([
            {"op": "add", "path": "members", "value": [{"value": lower}, {"value": " 01ARZ3NDEKTSV4RRFFQ69G5FAV "}]},
            {"op": "remove", "path": format!("members[value eq \"{lower}\"]")}
        ]))
        .unwrap();
        assert_eq!(c.remove, set(&["01ARZ3NDEKTSV4RRFFQ69G5FAV"]));
        assert!(c.add.is_empty());
    }

    #[test]
    fn unsupported_member_shapes_are_rejected() {
        assert!(
            changes(json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]))
                .is_err()
        );
        assert!(changes(
            json!([{"op": "add", "path": "members", "value": [{"value": "g", "type": "Group"}]}])
        )
        .is_err());
        assert!(changes(json!([{"op": "remove", "path": "members[display eq \"x\"]"}])).is_err());
        assert!(
            changes(json!([{"op": "replace", "path": "members.display", "value": "x"}])).is_err()
        );
    }
}
