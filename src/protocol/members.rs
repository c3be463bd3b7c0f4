//! Group membership changes. PATCH operations on `members` become a `MemberChanges` value that storage
//! applies item by item, so adding or removing k members never reads or rewrites the other members.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{CompareOp, Filter};
use super::patch::{get_ci, OpKind, PatchOp};

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
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        _ => Err(ScimError::invalid_value(
            "each member needs a \"value\" holding the member's id",
        )),
    }
}

/// Splits group PATCH operations into member changes and the operations on other attributes.
pub fn split(ops: Vec<PatchOp>) -> Result<(MemberChanges, Vec<PatchOp>), ScimError> {
    let mut changes = MemberChanges::default();
    let mut rest = Vec::new();
    for op in ops {
        match &op.path {
            Some(path) if path.attr.name.eq_ignore_ascii_case("members") => {
                if path.attr.sub.is_some() || path.sub.is_some() {
                    return Err(ScimError::mutability(
                        "member sub-attributes are immutable; add or remove the member instead",
                    ));
                }
                let value = op.value.as_ref();
                match (op.op, &path.value_filter) {
                    (OpKind::Add, None) => {
                        for id in member_ids(value.unwrap_or(&Value::Null))? {
                            changes.add(id);
                        }
                    }
                    (OpKind::Replace, None) => {
                        changes.replace(member_ids(value.unwrap_or(&Value::Null))?)
                    }
                    // Entra: `{"op":"Remove","path":"members","value":[{"value":"id"}]}` removes only those.
                    (OpKind::Remove, None) => match value {
                        Some(v) => {
                            for id in member_ids(v)? {
                                changes.remove(id);
                            }
                        }
                        None => changes.replace(BTreeSet::new()),
                    },
                    (op_kind, Some(filter)) => {
                        for id in filtered_ids(filter)? {
                            changes.remove(id);
                        }
                        if op_kind != OpKind::Remove {
                            for id in member_ids(value.unwrap_or(&Value::Null))? {
                                changes.add(id);
                            }
                        }
                    }
                }
            }
            None => {
                let (members, others) = take_members(op.value.as_ref());
                if let Some(members) = members {
                    let ids = member_ids(&members)?;
                    match op.op {
                        OpKind::Replace => changes.replace(ids),
                        _ => ids.into_iter().for_each(|id| changes.add(id)),
                    }
                }
                if !others.is_empty() {
                    rest.push(PatchOp {
                        value: Some(Value::Object(others)),
                        ..op
                    });
                }
            }
            Some(_) => rest.push(op),
        }
    }
    Ok((changes, rest))
}

fn take_members(value: Option<&Value>) -> (Option<Value>, Map<String, Value>) {
    let mut others = value
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let key = others
        .keys()
        .find(|k| k.eq_ignore_ascii_case("members"))
        .cloned();
    let members = key.and_then(|k| others.remove(&k));
    (members, others)
}

/// `value eq "a"`, or an `or` of such: the members a filter names. Anything else needs the full member
/// list, which this endpoint does not read.
fn filtered_ids(filter: &Filter) -> Result<Vec<String>, ScimError> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, Value::String(id))
            if path.name.eq_ignore_ascii_case("value") && path.sub.is_none() =>
        {
            Ok(vec![id.clone()])
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
    use serde_json::json;

    fn changes(ops: Value) -> Result<(MemberChanges, Vec<PatchOp>), ScimError> {
        split(parse_request(
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
        assert_eq!(rest.len(), 1);
        assert_eq!(
            rest[0].value,
            Some(json!({"id": "g", "displayName": "New"}))
        );
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
