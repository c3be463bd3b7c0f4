//! Sorting (RFC 7644 §3.4.2.3): the `sortBy` / `sortOrder` parameters, and a total order on
//! rendered resources that follows the schema's attribute types.

use std::cmp::Ordering;

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::ScimError;
use super::filter::{parse_attr_path, AttrPath};
use super::patch::get_ci;
use super::resource::{resolve_with, Resolved, ResourceKind};
use super::schema::{AttrType, Returned, SchemaSet};

/// `sortOrder`: "Allowed values are \"ascending\" and \"descending\"".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SortOrder {
    /// "If a value for \"sortBy\" is provided and no \"sortOrder\" is specified, \"sortOrder\"
    /// SHALL default to ascending."
    #[default]
    Ascending,
    Descending,
}

impl SortOrder {
    /// Parses `sortOrder` ignoring case and surrounding blanks; absent or blank is ascending;
    /// anything else is 400 `invalidValue`.
    pub fn parse(raw: Option<&str>) -> Result<SortOrder, ScimError> {
        match raw.map(str::trim).unwrap_or("") {
            "" => Ok(SortOrder::Ascending),
            s if s.eq_ignore_ascii_case("ascending") => Ok(SortOrder::Ascending),
            s if s.eq_ignore_ascii_case("descending") => Ok(SortOrder::Descending),
            s => Err(ScimError::invalid_value(format!(
                "\"sortOrder\" must be \"ascending\" or \"descending\", got \"{s}\""
            ))),
        }
    }
}

/// A validated `sortBy` with its order.
#[derive(Debug, Clone, PartialEq)]
pub struct SortSpec {
    /// Canonical: schema spelling, `uri` only for extension attributes (`None` for core ones),
    /// and a complex attribute named alone completed with its `value` sub-attribute
    /// (`emails` → `emails.value`).
    pub path: AttrPath,
    pub order: SortOrder,
}

impl SortSpec {
    /// Reads `sortBy` and `sortOrder`. `None` without a `sortBy` (blank counts as absent);
    /// `sortOrder` alone is then ignored, since it only says how `sortBy` "is applied".
    ///
    /// `sortBy` takes any path the kind's schemas in `schemas` define, in any case and optionally
    /// URN-qualified: `userName`, `name.familyName`, `meta.lastModified`, `emails.value`,
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`.
    /// RFC 7644 says that for a complex attribute "the attribute name must be a path to a
    /// sub-attribute"; we are lenient and read a complex attribute named alone as its `value`
    /// sub-attribute (`emails`, `manager`), and refuse those without one (`name`, `meta`).
    /// Errors, all 400 `invalidValue`: malformed or unknown paths, complex attributes without
    /// `value`, attributes that are `returned: never` (sorting by them would reveal their
    /// order), and a `sortOrder` other than ascending/descending.
    pub fn parse(
        schemas: &SchemaSet,
        kind: ResourceKind,
        sort_by: Option<&str>,
        sort_order: Option<&str>,
    ) -> Result<Option<SortSpec>, ScimError> {
        let Some(raw) = sort_by.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        let path = parse_attr_path(raw)
            .map_err(|e| ScimError::invalid_value(format!("invalid \"sortBy\" \"{raw}\": {e}")))?;
        let resolved = resolve_with(schemas, kind, &path).ok_or_else(|| {
            ScimError::invalid_value(format!(
                "cannot sort by \"{raw}\": resource type {} has no such attribute",
                kind.name()
            ))
        })?;
        let leaf = resolved.leaf();
        if leaf.ty == AttrType::Complex {
            return Err(ScimError::invalid_value(format!(
                "cannot sort by \"{raw}\": it is a complex attribute; name one of its \
                 sub-attributes, e.g. \"{}.{}\"",
                resolved.attr.name,
                leaf.sub_attributes
                    .first()
                    .map_or("value", |s| s.name.as_str())
            )));
        }
        if resolved.attr.returned == Returned::Never || leaf.returned == Returned::Never {
            return Err(ScimError::invalid_value(format!(
                "cannot sort by \"{raw}\": it is never returned"
            )));
        }
        let sub = (resolved.sub.is_some() || resolved.attr.ty == AttrType::Complex)
            .then(|| leaf.name.to_string());
        Ok(Some(SortSpec {
            path: AttrPath {
                uri: resolved.extension.map(String::from),
                name: resolved.attr.name.to_string(),
                sub,
            },
            order: SortOrder::parse(sort_order)?,
        }))
    }
}

/// The value a resource is sorted by, typed by the schema. Every resource maps to one key (or
/// none) on its own, so comparing keys is a total order, as `slice::sort_by` requires.
#[derive(Debug)]
enum Key {
    /// Case-insensitive strings are lower-cased (Unicode, no locale) before comparing.
    Text(String),
    Integer(i128),
    Decimal(f64),
    /// Nanoseconds since the Unix epoch: the instant, whatever the offset it was written in.
    Instant(i128),
    Boolean(bool),
}

impl Key {
    fn rank(&self) -> u8 {
        match self {
            Key::Text(_) => 0,
            Key::Integer(_) => 1,
            Key::Decimal(_) => 2,
            Key::Instant(_) => 3,
            Key::Boolean(_) => 4,
        }
    }
}

impl Ord for Key {
    fn cmp(&self, other: &Key) -> Ordering {
        match (self, other) {
            (Key::Text(a), Key::Text(b)) => a.cmp(b),
            (Key::Integer(a), Key::Integer(b)) | (Key::Instant(a), Key::Instant(b)) => a.cmp(b),
            (Key::Decimal(a), Key::Decimal(b)) => a.total_cmp(b),
            (Key::Boolean(a), Key::Boolean(b)) => a.cmp(b),
            // One attribute has one type, so this only orders keys of a malformed spec totally.
            (a, b) => a.rank().cmp(&b.rank()),
        }
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Key) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Key {}

/// Orders two rendered resources (core attributes at the top level, extension attributes under
/// their schema URN, `meta` as an object, `id`) by `spec`, typed by the schemas of `kind` in
/// `schemas`.
///
/// - Types follow the schema: strings ignoring case unless `caseExact` ("for case-insensitive
///   attributes, sort the result using case-insensitive Unicode alphabetic sort order with no
///   specific locale implied"), dateTime by instant, integer and decimal by value, false < true.
/// - Multi-valued: "sorted by the value of the primary attribute ..., if any, or else the first
///   value in the list, if any"; for `emails.value` that is the primary email's value, else the
///   first email that has one.
/// - Missing values (absent, null, empty string, or not of the attribute's type): "if there is
///   no data for the specified \"sortBy\" value, they are sorted via the \"sortOrder\"
///   parameter, i.e., they are ordered last if ascending and first if descending."
/// - Ties (including two missing values) are broken by `id`, so the order is total and paging
///   through a sorted list is stable. Descending is exactly ascending reversed, ties included,
///   which is also what reading an index backwards gives.
pub fn compare(
    schemas: &SchemaSet,
    kind: ResourceKind,
    spec: &SortSpec,
    a: &Value,
    b: &Value,
) -> Ordering {
    let resolved = resolve_with(schemas, kind, &spec.path);
    let key = |v: &Value| resolved.as_ref().and_then(|r| sort_key(r, v));
    order(spec.order, (&key(a), id(a)), (&key(b), id(b)))
}

/// Sorts rendered resources in place as [`compare`] orders them, computing each key once.
pub fn sort(schemas: &SchemaSet, kind: ResourceKind, spec: &SortSpec, resources: &mut Vec<Value>) {
    let resolved = resolve_with(schemas, kind, &spec.path);
    let mut keyed: Vec<(Option<Key>, Value)> = resources
        .drain(..)
        .map(|v| (resolved.as_ref().and_then(|r| sort_key(r, &v)), v))
        .collect();
    keyed.sort_by(|(ka, a), (kb, b)| order(spec.order, (ka, id(a)), (kb, id(b))));
    resources.extend(keyed.into_iter().map(|(_, v)| v));
}

fn order(
    direction: SortOrder,
    (ka, ida): (&Option<Key>, &str),
    (kb, idb): (&Option<Key>, &str),
) -> Ordering {
    let by_value = match (ka, kb) {
        (Some(x), Some(y)) => x.cmp(y),
        // Ascending: no data sorts last. Reversed below for descending, where it sorts first.
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    let ascending = by_value.then_with(|| ida.cmp(idb));
    match direction {
        SortOrder::Ascending => ascending,
        SortOrder::Descending => ascending.reverse(),
    }
}

fn id(resource: &Value) -> &str {
    resource
        .as_object()
        .and_then(|o| get_ci(o, "id"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

/// The key `resource` sorts by, or `None` when it has no data for the path.
fn sort_key(r: &Resolved, resource: &Value) -> Option<Key> {
    let top = resource.as_object()?;
    let container = match r.extension {
        None => top,
        Some(ext) => get_ci(top, ext)?.as_object()?,
    };
    let value = get_ci(container, &r.attr.name)?;
    let leaf = r.leaf();
    // The sub-attribute compared inside a complex value: the named one, or `value`.
    let sub = (r.attr.ty == AttrType::Complex).then_some(leaf.name.as_str());
    let pick = |item: &Value| -> Option<Key> {
        match sub {
            Some(name) => typed(leaf.ty, leaf.case_exact, get_ci(item.as_object()?, name)?),
            None => typed(leaf.ty, leaf.case_exact, item),
        }
    };
    if !r.attr.multi_valued {
        return pick(value);
    }
    let items = value.as_array()?;
    let is_primary = |item: &&Value| {
        item.as_object()
            .and_then(|o| get_ci(o, "primary"))
            .and_then(Value::as_bool)
            == Some(true)
    };
    items
        .iter()
        .filter(is_primary)
        .find_map(pick)
        .or_else(|| items.iter().find_map(pick))
}

fn typed(ty: AttrType, case_exact: bool, value: &Value) -> Option<Key> {
    match (ty, value) {
        (_, Value::String(s)) if s.is_empty() => None,
        (AttrType::Boolean, Value::Bool(b)) => Some(Key::Boolean(*b)),
        (AttrType::Integer, Value::Number(n)) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .map(Key::Integer),
        (AttrType::Decimal, Value::Number(n)) => n.as_f64().map(Key::Decimal),
        (AttrType::DateTime, Value::String(s)) => OffsetDateTime::parse(s, &Rfc3339)
            .ok()
            .map(|t| Key::Instant(t.unix_timestamp_nanos())),
        (AttrType::String | AttrType::Reference | AttrType::Binary, Value::String(s)) => {
            Some(Key::Text(if case_exact {
                s.clone()
            } else {
                s.to_lowercase()
            }))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ScimType;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    fn spec(sort_by: &str, order: Option<&str>) -> SortSpec {
        SortSpec::parse(
            SchemaSet::standard(),
            ResourceKind::User,
            Some(sort_by),
            order,
        )
        .unwrap()
        .unwrap()
    }

    fn path(uri: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
        AttrPath {
            uri: uri.map(String::from),
            name: name.into(),
            sub: sub.map(String::from),
        }
    }

    /// Sorts users given as `(id, extra attributes)` and returns the ids in order.
    fn sorted_ids(sort_by: &str, order: Option<&str>, users: &[(&str, Value)]) -> Vec<String> {
        let s = spec(sort_by, order);
        let mut resources: Vec<Value> = users
            .iter()
            .map(|(id, attrs)| {
                let mut u = attrs.clone();
                u["id"] = json!(id);
                u["schemas"] = json!([CORE]);
                u
            })
            .collect();
        let mut by_compare = resources.clone();
        by_compare.sort_by(|a, b| compare(SchemaSet::standard(), ResourceKind::User, &s, a, b));
        sort(
            SchemaSet::standard(),
            ResourceKind::User,
            &s,
            &mut resources,
        );
        assert_eq!(resources, by_compare, "sort and compare disagree");
        for a in &resources {
            for b in &resources {
                let ab = compare(SchemaSet::standard(), ResourceKind::User, &s, a, b);
                assert_eq!(
                    ab,
                    compare(SchemaSet::standard(), ResourceKind::User, &s, b, a).reverse()
                );
                assert_eq!(ab == Ordering::Equal, a["id"] == b["id"]);
            }
        }
        resources
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect()
    }

    #[test]
    fn sort_order_is_parsed_ignoring_case_and_defaults_to_ascending() {
        let cases = [
            (None, SortOrder::Ascending),
            (Some(""), SortOrder::Ascending),
            (Some("ascending"), SortOrder::Ascending),
            (Some("ASCENDING"), SortOrder::Ascending),
            (Some(" Descending "), SortOrder::Descending),
            (Some("descending"), SortOrder::Descending),
        ];
        for (raw, expected) in cases {
            assert_eq!(SortOrder::parse(raw), Ok(expected), "{raw:?}");
        }
        for bad in ["asc", "desc", "up", "ascendingx"] {
            let err = SortOrder::parse(Some(bad)).unwrap_err();
            assert_eq!(err.status, 400);
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
            assert!(err.detail.contains(bad), "{}", err.detail);
        }
    }

    #[test]
    fn no_sort_by_means_no_sort_and_sort_order_alone_is_ignored() {
        for sort_by in [None, Some(""), Some("  ")] {
            assert_eq!(
                SortSpec::parse(
                    SchemaSet::standard(),
                    ResourceKind::User,
                    sort_by,
                    Some("sideways")
                ),
                Ok(None)
            );
        }
    }

    #[test]
    fn sort_by_paths_are_canonicalised() {
        let cases = [
            ("USERNAME", path(None, "userName", None)),
            (&format!("{CORE}:userName"), path(None, "userName", None)),
            (
                &format!("{}:username", CORE.to_lowercase()),
                path(None, "userName", None),
            ),
            ("name.FAMILYNAME", path(None, "name", Some("familyName"))),
            (
                "meta.lastmodified",
                path(None, "meta", Some("lastModified")),
            ),
            ("id", path(None, "id", None)),
            ("externalId", path(None, "externalId", None)),
            ("emails", path(None, "emails", Some("value"))),
            ("emails.Value", path(None, "emails", Some("value"))),
            ("emails.primary", path(None, "emails", Some("primary"))),
            ("groups", path(None, "groups", Some("value"))),
            (
                &format!("{ENT}:employeeNumber"),
                path(Some(ENT), "employeeNumber", None),
            ),
            (
                &format!("{}:MANAGER", ENT.to_uppercase()),
                path(Some(ENT), "manager", Some("value")),
            ),
            (
                &format!("{ENT}:manager.displayName"),
                path(Some(ENT), "manager", Some("displayName")),
            ),
        ];
        for (raw, expected) in cases {
            let s = spec(raw, Some("descending"));
            assert_eq!(s.path, expected, "{raw}");
            assert_eq!(s.order, SortOrder::Descending);
        }
        let group = SortSpec::parse(
            SchemaSet::standard(),
            ResourceKind::Group,
            Some("members"),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(group.path, path(None, "members", Some("value")));
        assert_eq!(group.order, SortOrder::Ascending);
    }

    #[test]
    fn unknown_complex_never_returned_and_malformed_sort_by_are_invalid_value() {
        let cases = [
            (ResourceKind::User, "shoeSize"),
            (ResourceKind::User, "name.shoe"),
            (ResourceKind::User, "members"),
            (ResourceKind::Group, "userName"),
            (ResourceKind::User, "department"),
            (ResourceKind::User, "urn:example:other:userName"),
            (ResourceKind::User, "name"),
            (ResourceKind::User, "meta"),
            (ResourceKind::User, "password"),
            (ResourceKind::User, ENT),
            (ResourceKind::User, "a..b"),
            (ResourceKind::User, "emails[type eq \"work\"].value"),
        ];
        for (kind, raw) in cases {
            let err = SortSpec::parse(SchemaSet::standard(), kind, Some(raw), None).unwrap_err();
            assert_eq!(err.status, 400, "{raw}");
            assert_eq!(err.scim_type, Some(ScimType::InvalidValue), "{raw}");
            assert!(err.detail.contains(raw), "{raw}: {}", err.detail);
        }
        let err = SortSpec::parse(
            SchemaSet::standard(),
            ResourceKind::User,
            Some("userName"),
            Some("up"),
        )
        .unwrap_err();
        assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn strings_sort_ignoring_case_with_missing_values_last() {
        let users = [
            ("1", json!({"userName": "bob"})),
            ("2", json!({"userName": "Alice"})),
            ("3", json!({"userName": "carol"})),
            ("4", json!({"userName": "ALICE"})),
            ("5", json!({})),
            ("6", json!({"userName": ""})),
            ("7", json!({"userName": null})),
            ("8", json!({"userName": "Émile"})),
        ];
        assert_eq!(
            sorted_ids("userName", None, &users),
            ["2", "4", "1", "3", "8", "5", "6", "7"]
        );
        assert_eq!(
            sorted_ids("USERNAME", Some("Descending"), &users),
            ["7", "6", "5", "8", "3", "1", "4", "2"]
        );
    }

    #[test]
    fn case_exact_strings_sort_by_code_point() {
        let users = [
            ("1", json!({"externalId": "b"})),
            ("2", json!({"externalId": "B"})),
            ("3", json!({"externalId": "a"})),
        ];
        assert_eq!(sorted_ids("externalId", None, &users), ["2", "3", "1"]);
    }

    #[test]
    fn date_times_sort_as_instants_whatever_their_offset() {
        let at = |t: &str| json!({"meta": {"lastModified": t, "created": t}});
        let users = [
            ("a", at("2024-01-01T10:00:00+02:00")),   // 08:00Z
            ("b", at("2024-01-01T09:00:00Z")),        // 09:00Z
            ("c", at("2024-01-01T08:30:00.5-00:00")), // 08:30:00.5Z
            ("d", at("2023-12-31T23:00:00-10:00")),   // 2024-01-01T09:00Z, same instant as b
            ("e", at("not a date")),
            ("f", json!({"meta": {}})),
        ];
        assert_eq!(
            sorted_ids("meta.lastModified", None, &users),
            ["a", "c", "b", "d", "e", "f"]
        );
        assert_eq!(
            sorted_ids("meta.created", Some("descending"), &users),
            ["f", "e", "d", "b", "c", "a"]
        );
    }

    #[test]
    fn booleans_sort_false_first() {
        let users = [
            ("1", json!({"active": true})),
            ("2", json!({"active": false})),
            ("3", json!({})),
            ("4", json!({"active": "true"})),
        ];
        assert_eq!(sorted_ids("active", None, &users), ["2", "1", "3", "4"]);
        assert_eq!(
            sorted_ids("active", Some("descending"), &users),
            ["4", "3", "1", "2"]
        );
    }

    #[test]
    fn numbers_sort_by_value_not_by_text() {
        let int = |v: Value| typed(AttrType::Integer, false, &v);
        let dec = |v: Value| typed(AttrType::Decimal, false, &v);
        assert!(int(json!(9)) < int(json!(10)));
        assert!(int(json!(-3)) < int(json!(2)));
        assert!(int(json!(i64::MAX)) < int(json!(u64::MAX)));
        assert_eq!(int(json!(1.5)), None);
        assert_eq!(int(json!("10")), None);
        assert!(dec(json!(2.5)) < dec(json!(10)));
        assert!(dec(json!(-1)) < dec(json!(0.25)));
        assert_eq!(dec(json!(3)), dec(json!(3.0)));
        assert_eq!(dec(json!("3")), None);
    }

    #[test]
    fn sub_attributes_and_extension_attributes_sort() {
        let users = [
            (
                "1",
                json!({"name": {"familyName": "lee"}, ENT: {"employeeNumber": "20", "manager": {"value": "M2"}}}),
            ),
            (
                "2",
                json!({"name": {"familyName": "Kim"}, ENT: {"employeeNumber": "100"}}),
            ),
            (
                "3",
                json!({"name": {"givenName": "X"}, ENT: {"manager": {"value": "m1"}}}),
            ),
        ];
        assert_eq!(sorted_ids("name.familyName", None, &users), ["2", "1", "3"]);
        // employeeNumber is a string: "100" < "20".
        assert_eq!(
            sorted_ids(&format!("{ENT}:employeeNumber"), None, &users),
            ["2", "1", "3"]
        );
        assert_eq!(
            sorted_ids(&format!("{ENT}:manager.value"), None, &users),
            ["3", "1", "2"]
        );
        assert_eq!(
            sorted_ids(&format!("{ENT}:manager"), None, &users),
            ["3", "1", "2"]
        );
    }

    #[test]
    fn multi_valued_attributes_sort_by_the_primary_value_else_the_first() {
        let users = [
            // Primary "z" wins over the earlier "a".
            (
                "1",
                json!({"emails": [{"value": "a@x"}, {"value": "z@x", "primary": true}]}),
            ),
            // No primary: the first value.
            ("2", json!({"emails": [{"value": "m@x"}, {"value": "b@x"}]})),
            // The primary has no value: the first value there is.
            (
                "3",
                json!({"emails": [{"type": "work", "primary": true}, {"value": "c@x"}]}),
            ),
            ("4", json!({"emails": []})),
            ("5", json!({"emails": [{"value": "B@X", "primary": false}]})),
        ];
        assert_eq!(
            sorted_ids("emails.value", None, &users),
            ["5", "3", "2", "1", "4"]
        );
        assert_eq!(
            sorted_ids("emails", None, &users),
            ["5", "3", "2", "1", "4"]
        );
        assert_eq!(
            sorted_ids("emails.value", Some("descending"), &users),
            ["4", "1", "2", "3", "5"]
        );
        assert_eq!(
            sorted_ids("emails.primary", None, &users),
            ["5", "1", "3", "2", "4"]
        );
    }

    #[test]
    fn ties_are_broken_by_id_and_descending_is_ascending_reversed() {
        let users = [
            ("c", json!({"title": "x"})),
            ("a", json!({"title": "X"})),
            ("b", json!({"title": "w"})),
            ("e", json!({})),
            ("d", json!({})),
        ];
        assert_eq!(sorted_ids("title", None, &users), ["b", "a", "c", "d", "e"]);
        assert_eq!(
            sorted_ids("title", Some("descending"), &users),
            ["e", "d", "c", "a", "b"]
        );
    }

    #[test]
    fn groups_sort_by_display_name_and_member_value() {
        let s = SortSpec::parse(
            SchemaSet::standard(),
            ResourceKind::Group,
            Some("displayName"),
            None,
        )
        .unwrap()
        .unwrap();
        let a = json!({"id": "1", "displayName": "admins", "members": [{"value": "z"}]});
        let b = json!({"id": "2", "displayName": "Users", "members": [{"value": "a"}]});
        assert_eq!(
            compare(SchemaSet::standard(), ResourceKind::Group, &s, &a, &b),
            Ordering::Less
        );
        let s = SortSpec::parse(
            SchemaSet::standard(),
            ResourceKind::Group,
            Some("members.value"),
            None,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            compare(SchemaSet::standard(), ResourceKind::Group, &s, &a, &b),
            Ordering::Greater
        );
    }

    #[test]
    fn a_hand_built_spec_for_an_unknown_path_orders_by_id() {
        let s = SortSpec {
            path: path(None, "shoeSize", None),
            order: SortOrder::Descending,
        };
        let a = json!({"id": "1", "shoeSize": 9});
        let b = json!({"id": "2", "shoeSize": 3});
        // Descending: by id, reversed.
        assert_eq!(
            compare(SchemaSet::standard(), ResourceKind::User, &s, &a, &b),
            Ordering::Greater
        );
        assert_eq!(
            compare(
                SchemaSet::standard(),
                ResourceKind::User,
                &s,
                &json!(null),
                &a
            ),
            Ordering::Greater
        );
    }
}
