//! Schema-aware filter semantics (RFC 7644 §3.4.2.2): `validate` refuses filters that cannot mean
//! anything for a resource type, `matches` evaluates a filter against a rendered resource (core
//! attributes at the top level, extension attributes under their schema URN, `id`, `meta`, and a
//! Group's `members` or a User's `groups`).
//!
//! Decisions where RFC 7644 is silent or loose:
//! - Types come from the schema set passed in (`resource::resolve_with`), not from the JSON: `meta.lastModified` is
//!   compared as an instant, `"2024-01-01T00:00:00+01:00" lt "2024-01-01T00:00:00Z"` holds.
//! - Strings follow `caseExact` (case-insensitive means both sides lowercased). `reference` and
//!   `binary` values are always case-exact: URIs are case-sensitive (RFC 3986) and binary is
//!   "case exact" (RFC 7643 §2.3.6), whatever the published `caseExact` says.
//! - `co`, `sw` and `ew` are substring operators: they apply to string, reference and binary
//!   attributes only (binary compares its base64 text). On boolean, integer, decimal and dateTime
//!   attributes they are `invalidFilter`.
//! - `gt`, `ge`, `lt`, `le` on boolean or binary attributes are `invalidFilter` (§3.4.2.2); strings
//!   and references are ordered by code point after case folding, numbers numerically, dateTimes
//!   chronologically.
//! - The value must have the attribute's type: a quoted string for string, reference and binary,
//!   `true`/`false` for boolean, a number for integer and decimal, an RFC 3339 string for
//!   dateTime. `null` is allowed with `eq`/`ne` on any attribute: `x eq null` holds when `x` is
//!   unassigned (missing, null or an empty array, RFC 7643 §2.5), `x ne null` when it has a value.
//! - A complex attribute compared as a whole (`emails eq "a@b"`, `members eq "id"`) compares its
//!   `value` sub-attribute; a complex attribute without one (`name`, `meta`) can only be tested
//!   with `pr`, `eq null`/`ne null` or a sub-attribute path. `pr` on a complex attribute holds
//!   when some sub-attribute has a non-empty value.
//! - Multi-valued attributes match when ANY value does, for every operator including `ne`:
//!   `emails.type ne "work"` holds when some email is not a work email.
//! - `ne` on a missing attribute holds (it is "not identical"); every other comparison on a
//!   missing attribute fails. So `x ne "v"` and `not (x eq "v")` agree except on multi-valued
//!   attributes, where `ne` is "some value differs" and `not (eq)` is "no value is equal".
//! - Inside `attr[...]` paths are sub-attributes of `attr`, one element at a time; they carry no
//!   URN and no further sub-attribute. Value filters apply to complex attributes only.
//! - A stored value whose JSON type does not fit the schema compares as "not identical": only
//!   `ne` holds. Unknown paths (which `validate` refuses) are treated as missing.

use std::borrow::Cow;
use std::cmp::Ordering;

use serde_json::{Number, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::error::ScimError;
use super::filter::{AttrPath, CompareOp, Filter};
use super::resource::{resolve_with, ResourceKind};
use super::schema::{AttrType, AttributeDef, SchemaSet};

/// Whether `resource` (a rendered SCIM resource of kind `kind`, described by `schemas`) passes
/// `filter`.
pub fn matches(schemas: &SchemaSet, kind: ResourceKind, filter: &Filter, resource: &Value) -> bool {
    eval(filter, Scope::Resource(schemas, kind, resource))
}

/// Whether one element of the complex attribute `attr` passes the value filter `filter`, whose
/// paths name sub-attributes of `attr` (PATCH paths such as `emails[type eq "work"]`).
pub fn matches_element(attr: &AttributeDef, filter: &Filter, element: &Value) -> bool {
    eval(filter, Scope::Element(attr, element))
}

/// A filter as it applies to one resource type of a search across types (the root `/.search`).
#[derive(Debug, Clone, PartialEq)]
pub enum ForKind {
    /// True of no resource of the type.
    Never,
    /// True of every resource of the type: list them all.
    Always,
    Only(Filter),
}

/// `filter` for resources of `kind` in a search across `kinds`: a condition on an attribute that
/// `kind` does not define but another of `kinds` does is false for `kind` (RFC 7644 §3.4.2.2), so
/// `userName sw "x" or displayName sw "x"` still finds groups. An attribute no type defines is
/// kept, for `validate` to refuse.
pub fn restrict(
    schemas: &SchemaSet,
    kind: ResourceKind,
    kinds: &[ResourceKind],
    filter: &Filter,
) -> ForKind {
    let only = |a: ForKind, b: ForKind, join: fn(Box<Filter>, Box<Filter>) -> Filter| match (a, b) {
        (ForKind::Only(a), ForKind::Only(b)) => ForKind::Only(join(Box::new(a), Box::new(b))),
        _ => ForKind::Never,
    };
    match filter {
        Filter::Present(path) | Filter::Compare(path, _, _) | Filter::ValuePath(path, _) => {
            let defined = |k: ResourceKind| resolve_with(schemas, k, path).is_some();
            if !defined(kind) && kinds.iter().any(|k| defined(*k)) {
                ForKind::Never
            } else {
                ForKind::Only(filter.clone())
            }
        }
        Filter::And(a, b) => match (
            restrict(schemas, kind, kinds, a),
            restrict(schemas, kind, kinds, b),
        ) {
            (ForKind::Never, _) | (_, ForKind::Never) => ForKind::Never,
            (ForKind::Always, other) | (other, ForKind::Always) => other,
            (a, b) => only(a, b, Filter::And),
        },
        Filter::Or(a, b) => match (
            restrict(schemas, kind, kinds, a),
            restrict(schemas, kind, kinds, b),
        ) {
            (ForKind::Always, _) | (_, ForKind::Always) => ForKind::Always,
            (ForKind::Never, other) | (other, ForKind::Never) => other,
            (a, b) => only(a, b, Filter::Or),
        },
        Filter::Not(inner) => match restrict(schemas, kind, kinds, inner) {
            ForKind::Never => ForKind::Always,
            ForKind::Always => ForKind::Never,
            ForKind::Only(f) => ForKind::Only(Filter::Not(Box::new(f))),
        },
    }
}

/// Refuses (400 `invalidFilter`) filters that name attributes no schema of `kind` in `schemas`
/// defines, or that compare an attribute in a way its type does not allow.
pub fn validate(schemas: &SchemaSet, kind: ResourceKind, filter: &Filter) -> Result<(), ScimError> {
    check(Schemas { set: schemas, kind }, filter, None)
}

/// The schemas a filter is checked against: a set, and the resource kind within it.
#[derive(Clone, Copy)]
struct Schemas<'s> {
    set: &'s SchemaSet,
    kind: ResourceKind,
}

// ---------------------------------------------------------------------------------------------
// Validation

/// `outer` is set inside `attr[...]`: the attribute's path and definition.
fn check<'s>(
    s: Schemas<'s>,
    filter: &Filter,
    outer: Option<(&AttrPath, &'s AttributeDef)>,
) -> Result<(), ScimError> {
    match filter {
        Filter::Present(path) => definition(s, path, outer).map(|_| ()),
        Filter::Compare(path, op, value) => {
            let def = definition(s, path, outer)?;
            let shown = match outer {
                Some((o, _)) => format!("{o}[{path}]"),
                None => path.to_string(),
            };
            check_comparison(&shown, def, *op, value)
        }
        Filter::And(a, b) | Filter::Or(a, b) => {
            check(s, a, outer)?;
            check(s, b, outer)
        }
        Filter::Not(inner) => check(s, inner, outer),
        Filter::ValuePath(path, inner) => {
            if let Some((o, _)) = outer {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path}[...]\" inside \"{o}[...]\": value filters cannot be nested"
                )));
            }
            let def = definition(s, path, None)?;
            if def.ty != AttrType::Complex {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path}[...]\": a value filter needs a complex attribute, and \"{path}\" \
                     is a {} attribute of {}",
                    def.ty.as_str(),
                    s.kind.name()
                )));
            }
            check(s, inner, Some((path, def)))
        }
    }
}

/// The definition `path` names, or the `invalidFilter` error naming it and the resource type.
fn definition<'s>(
    s: Schemas<'s>,
    path: &AttrPath,
    outer: Option<(&AttrPath, &'s AttributeDef)>,
) -> Result<&'s AttributeDef, ScimError> {
    match outer {
        None => resolve_with(s.set, s.kind, path)
            .map(|r| r.sub.unwrap_or(r.attr))
            .ok_or_else(|| {
                ScimError::invalid_filter(format!(
                    "\"{path}\" is not an attribute of {}",
                    s.kind.name()
                ))
            }),
        Some((o, def)) => {
            if path.uri.is_some() || path.sub.is_some() {
                return Err(ScimError::invalid_filter(format!(
                    "\"{path}\" inside \"{o}[...]\": name a sub-attribute of \"{o}\" alone, \
                     e.g. \"{o}[value eq ...]\""
                )));
            }
            def.sub_attribute(&path.name).ok_or_else(|| {
                ScimError::invalid_filter(format!(
                    "\"{}\" is not a sub-attribute of \"{o}\" in {}",
                    path.name,
                    s.kind.name()
                ))
            })
        }
    }
}

fn check_comparison(
    path: &str,
    def: &AttributeDef,
    op: CompareOp,
    value: &Value,
) -> Result<(), ScimError> {
    if value.is_null() {
        if matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Ok(());
        }
        return Err(ScimError::invalid_filter(format!(
            "\"{path} {op} null\": null only works with eq and ne"
        )));
    }
    let leaf = comparable(def).ok_or_else(|| {
        let example = def.sub_attributes.first().map_or("", |s| s.name.as_str());
        ScimError::invalid_filter(format!(
            "\"{path}\" is a complex attribute without a \"value\"; compare one of its \
             sub-attributes (e.g. {path}.{example}) or test it with pr"
        ))
    })?;
    let ty = leaf.ty;
    let refuse = |why: String| {
        Err(ScimError::invalid_filter(format!(
            "\"{path} {op} {value}\": {why}"
        )))
    };
    let ordering = matches!(
        op,
        CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le
    );
    let substring = matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew);
    if ordering && matches!(ty, AttrType::Boolean | AttrType::Binary) {
        return refuse(format!(
            "{} attributes cannot be ordered; use eq or ne",
            ty.as_str()
        ));
    }
    if substring && !is_text(ty) {
        return refuse(format!(
            "\"{op}\" works on string, reference and binary attributes, and \"{path}\" is a {} \
             attribute",
            ty.as_str()
        ));
    }
    let fits = match ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => value.is_string(),
        AttrType::Boolean => value.is_boolean(),
        AttrType::Integer | AttrType::Decimal => value.is_number(),
        AttrType::DateTime => value.as_str().and_then(datetime).is_some(),
        AttrType::Complex => false,
    };
    if fits {
        return Ok(());
    }
    let expected = match ty {
        AttrType::String | AttrType::Reference | AttrType::Binary => "a \"quoted string\"",
        AttrType::Boolean => "true or false",
        AttrType::Integer | AttrType::Decimal => "a number",
        AttrType::DateTime => "an RFC 3339 date-time such as \"2024-01-31T12:00:00Z\"",
        AttrType::Complex => "a sub-attribute path",
    };
    refuse(format!(
        "\"{path}\" is a {} attribute; compare it with {expected}",
        ty.as_str()
    ))
}

fn is_text(ty: AttrType) -> bool {
    matches!(
        ty,
        AttrType::String | AttrType::Reference | AttrType::Binary
    )
}

/// What a comparison on an attribute compares: itself, or a complex attribute's `value`.
fn comparable(def: &AttributeDef) -> Option<&AttributeDef> {
    match def.ty {
        AttrType::Complex => def.sub_attribute("value"),
        _ => Some(def),
    }
}

// ---------------------------------------------------------------------------------------------
// Evaluation

#[derive(Clone, Copy)]
enum Scope<'a> {
    /// A whole resource, and the schemas that describe it.
    Resource(&'a SchemaSet, ResourceKind, &'a Value),
    /// One element of a complex attribute, inside `attr[...]`.
    Element(&'a AttributeDef, &'a Value),
}

fn eval(filter: &Filter, scope: Scope<'_>) -> bool {
    match filter {
        Filter::Present(path) => {
            locate(scope, path).is_some_and(|(_, values)| values.into_iter().any(is_present))
        }
        Filter::Compare(path, op, value) => compare(scope, path, *op, value),
        Filter::And(a, b) => eval(a, scope) && eval(b, scope),
        Filter::Or(a, b) => eval(a, scope) || eval(b, scope),
        Filter::Not(inner) => !eval(inner, scope),
        Filter::ValuePath(path, inner) => match (scope, locate(scope, path)) {
            (Scope::Resource(..), Some((def, elements))) if def.ty == AttrType::Complex => elements
                .into_iter()
                .any(|element| eval(inner, Scope::Element(def, element))),
            _ => false,
        },
    }
}

/// The definition `path` names in `scope` and its non-null values, multi-valued ones flattened.
fn locate<'a>(scope: Scope<'a>, path: &AttrPath) -> Option<(&'a AttributeDef, Vec<&'a Value>)> {
    let (def, values) = match scope {
        Scope::Resource(schemas, kind, resource) => {
            let r = resolve_with(schemas, kind, path)?;
            let base = match r.extension {
                Some(uri) => member(resource, uri),
                None => Some(resource),
            };
            let top = flatten(base.and_then(|b| member(b, &r.attr.name)));
            match r.sub {
                None => (r.attr, top),
                Some(sub) => (sub, sub_values(top, &sub.name)),
            }
        }
        Scope::Element(outer, element) => {
            if path.uri.is_some() || path.sub.is_some() {
                return None;
            }
            let def = outer.sub_attribute(&path.name)?;
            (def, flatten(member(element, &def.name)))
        }
    };
    Some((def, values))
}

fn compare(scope: Scope<'_>, path: &AttrPath, op: CompareOp, expected: &Value) -> bool {
    // `null` asks whether the attribute itself is assigned, whatever its type; a path no schema
    // defines is never assigned.
    let Some((def, values)) = locate(scope, path) else {
        return op
            == if expected.is_null() {
                CompareOp::Eq
            } else {
                CompareOp::Ne
            };
    };
    if expected.is_null() {
        return match op {
            CompareOp::Eq => values.is_empty(),
            CompareOp::Ne => !values.is_empty(),
            _ => false,
        };
    }
    let (leaf, values) = match (def.ty, def.sub_attribute("value")) {
        (AttrType::Complex, Some(value)) => (value, sub_values(values, &value.name)),
        _ => (def, values),
    };
    if values.is_empty() {
        return op == CompareOp::Ne;
    }
    values
        .into_iter()
        .any(|actual| compare_value(leaf, op, actual, expected))
}

/// One stored value against the filter's value, under the attribute's type. Values that cannot
/// be compared under that type are "not identical": only `ne` holds.
fn compare_value(def: &AttributeDef, op: CompareOp, actual: &Value, expected: &Value) -> bool {
    typed_compare(def, op, actual, expected).unwrap_or(op == CompareOp::Ne)
}

fn typed_compare(
    def: &AttributeDef,
    op: CompareOp,
    actual: &Value,
    expected: &Value,
) -> Option<bool> {
    match (def.ty, actual, expected) {
        (AttrType::String, Value::String(a), Value::String(b)) => {
            text_compare(a, b, !def.case_exact, op, true)
        }
        (AttrType::Reference, Value::String(a), Value::String(b)) => {
            text_compare(a, b, false, op, true)
        }
        (AttrType::Binary, Value::String(a), Value::String(b)) => {
            text_compare(a, b, false, op, false)
        }
        (AttrType::Boolean, Value::Bool(a), Value::Bool(b)) => match op {
            CompareOp::Eq => Some(a == b),
            CompareOp::Ne => Some(a != b),
            _ => None,
        },
        (AttrType::Integer | AttrType::Decimal, Value::Number(a), Value::Number(b)) => {
            ordered(compare_numbers(a, b)?, op)
        }
        (AttrType::DateTime, Value::String(a), Value::String(b)) => {
            ordered(datetime(a)?.cmp(&datetime(b)?), op)
        }
        _ => None,
    }
}

fn text_compare(a: &str, b: &str, fold: bool, op: CompareOp, orderable: bool) -> Option<bool> {
    let (a, b): (Cow<str>, Cow<str>) = if fold {
        (a.to_lowercase().into(), b.to_lowercase().into())
    } else {
        (a.into(), b.into())
    };
    match op {
        CompareOp::Co => Some(a.contains(&*b)),
        CompareOp::Sw => Some(a.starts_with(&*b)),
        CompareOp::Ew => Some(a.ends_with(&*b)),
        CompareOp::Eq => Some(a == b),
        CompareOp::Ne => Some(a != b),
        _ if orderable => ordered(a.cmp(&b), op),
        _ => None,
    }
}

/// Integers exactly (up to u64::MAX and down to i64::MIN), anything else as f64.
fn compare_numbers(a: &Number, b: &Number) -> Option<Ordering> {
    let int = |n: &Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// `None` for the substring operators, which do not order.
fn ordered(o: Ordering, op: CompareOp) -> Option<bool> {
    Some(match op {
        CompareOp::Eq => o.is_eq(),
        CompareOp::Ne => o.is_ne(),
        CompareOp::Gt => o.is_gt(),
        CompareOp::Ge => o.is_ge(),
        CompareOp::Lt => o.is_lt(),
        CompareOp::Le => o.is_le(),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => return None,
    })
}

fn datetime(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// Object member by name: exact first, then ASCII case-insensitively (SCIM names are).
fn member<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = value.as_object()?;
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The non-null values of an attribute, arrays flattened one level.
fn flatten(value: Option<&Value>) -> Vec<&Value> {
    let items = match value {
        None => &[][..],
        Some(Value::Array(items)) => items,
        Some(single) => std::slice::from_ref(single),
    };
    items.iter().filter(|v| !v.is_null()).collect()
}

/// Each complex value's `sub`; a bare scalar where an object was expected stands for its
/// `value` (`manager: "id"` as some clients store it).
fn sub_values<'a>(values: Vec<&'a Value>, sub: &str) -> Vec<&'a Value> {
    values
        .into_iter()
        .flat_map(|v| match v {
            Value::Object(_) => flatten(member(v, sub)),
            _ if sub.eq_ignore_ascii_case("value") => vec![v],
            _ => Vec::new(),
        })
        .collect()
}

/// RFC 7644 §3.4.2.2 `pr`: a non-empty value, or a complex value with a non-empty node.
fn is_present(value: &Value) -> bool {
    // Iterative, so no resource shape can exhaust the stack.
    let mut pending = vec![value];
    while let Some(v) = pending.pop() {
        match v {
            Value::Null => {}
            Value::String(s) if s.is_empty() => {}
            Value::Bool(_) | Value::Number(_) | Value::String(_) => return true,
            Value::Array(items) => pending.extend(items),
            Value::Object(members) => pending.extend(members.values()),
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::error::ScimType;
    use crate::protocol::filter::parse_filter;
    use crate::protocol::schema::ENTERPRISE_USER;
    use serde_json::json;
    use std::sync::LazyLock;

    fn def(ty: AttrType, case_exact: bool) -> AttributeDef {
        AttributeDef {
            case_exact,
            ..AttributeDef::new("x", ty, "")
        }
    }

    static INTEGER: LazyLock<AttributeDef> = LazyLock::new(|| def(AttrType::Integer, false));
    static DECIMAL: LazyLock<AttributeDef> = LazyLock::new(|| def(AttrType::Decimal, false));
    static DATETIME: LazyLock<AttributeDef> = LazyLock::new(|| def(AttrType::DateTime, false));
    static BOOLEAN: LazyLock<AttributeDef> = LazyLock::new(|| def(AttrType::Boolean, false));
    static BINARY: LazyLock<AttributeDef> = LazyLock::new(|| def(AttrType::Binary, false));
    static REFERENCE: LazyLock<AttributeDef> = LazyLock::new(|| def(AttrType::Reference, false));
    static STRING: LazyLock<AttributeDef> = LazyLock::new(|| def(AttrType::String, false));
    static EXACT: LazyLock<AttributeDef> = LazyLock::new(|| def(AttrType::String, true));

    fn holds(d: &AttributeDef, actual: Value, op: &str, expected: Value) -> bool {
        let op = CompareOp::from_keyword(op).unwrap();
        compare_value(d, op, &actual, &expected)
    }

    fn user() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE_USER],
            "id": "01HZX0000000000000000000AB",
            "externalId": "Ext-1",
            "userName": "Bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "title": "",
            "nickName": null,
            "active": true,
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": true},
                {"value": "babs@jensen.org", "type": "home"}
            ],
            "phoneNumbers": [],
            "x509Certificates": [{"value": "TUlJQ0R6Q0NBWGlnQXdJQkFnSUo="}],
            "profileUrl": "https://example.com/Profiles/Bjensen",
            "groups": [{"value": "g1", "$ref": "https://h/Groups/g1", "type": "direct"}],
            "meta": {
                "resourceType": "User",
                "created": "2011-05-13T04:42:34Z",
                "lastModified": "2011-05-13T04:42:34+02:00",
                "version": "W/\"3\""
            },
            ENTERPRISE_USER: {
                "department": "Tour Operations",
                "manager": {"value": "26118915", "displayName": "John Smith"}
            }
        })
    }

    fn check(filter: &str) -> bool {
        let f = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        validate(SchemaSet::standard(), ResourceKind::User, &f)
            .unwrap_or_else(|e| panic!("{filter}: {e}"));
        matches(SchemaSet::standard(), ResourceKind::User, &f, &user())
    }

    fn refused(kind: ResourceKind, filter: &str) -> String {
        let f = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let err = validate(SchemaSet::standard(), kind, &f).expect_err(filter);
        assert_eq!(
            (err.status, err.scim_type),
            (400, Some(ScimType::InvalidFilter))
        );
        err.detail
    }

    #[test]
    fn integers_compare_exactly_across_the_whole_i64_and_u64_range() {
        assert!(holds(&INTEGER, json!(42), "eq", json!(42.0)));
        assert!(holds(&INTEGER, json!(42), "gt", json!(9)));
        assert!(holds(&INTEGER, json!(-1), "lt", json!(0)));
        assert!(holds(&INTEGER, json!(u64::MAX), "gt", json!(i64::MAX)));
        assert!(holds(&INTEGER, json!(i64::MIN), "lt", json!(u64::MAX)));
        assert!(holds(
            &INTEGER,
            json!(9_007_199_254_740_993_i64),
            "ne",
            json!(9_007_199_254_740_992_i64)
        ));
        assert!(holds(&INTEGER, json!(7), "le", json!(7)));
        assert!(holds(&INTEGER, json!(7), "ge", json!(7)));
        assert!(!holds(&INTEGER, json!(7), "co", json!(7)));
    }

    #[test]
    fn decimals_compare_numerically() {
        assert!(holds(&DECIMAL, json!(1.5), "gt", json!(1)));
        assert!(holds(&DECIMAL, json!(-2500.0), "eq", json!(-2.5e3)));
        assert!(holds(&DECIMAL, json!(0.1), "lt", json!(0.2)));
        assert!(!holds(&DECIMAL, json!(0.1), "ge", json!(0.2)));
    }

    #[test]
    fn a_value_of_the_wrong_json_type_only_satisfies_ne() {
        assert!(!holds(&INTEGER, json!("42"), "eq", json!(42)));
        assert!(holds(&INTEGER, json!("42"), "ne", json!(42)));
        assert!(!holds(&BOOLEAN, json!("true"), "eq", json!(true)));
        assert!(!holds(
            &DATETIME,
            json!("yesterday"),
            "lt",
            json!("2024-01-01T00:00:00Z")
        ));
        assert!(holds(
            &DATETIME,
            json!("yesterday"),
            "ne",
            json!("2024-01-01T00:00:00Z")
        ));
    }

    #[test]
    fn date_times_compare_as_instants_whatever_their_offset() {
        let t = |s: &str| json!(s);
        assert!(holds(
            &DATETIME,
            t("2024-01-01T00:00:00+01:00"),
            "lt",
            t("2024-01-01T00:00:00Z")
        ));
        assert!(holds(
            &DATETIME,
            t("2024-01-01T01:00:00+01:00"),
            "eq",
            t("2024-01-01T00:00:00Z")
        ));
        assert!(holds(
            &DATETIME,
            t("2023-12-31T19:00:00-05:00"),
            "eq",
            t("2024-01-01T00:00:00.000Z")
        ));
        assert!(holds(
            &DATETIME,
            t("2024-01-01T00:00:00.5Z"),
            "gt",
            t("2024-01-01T00:00:00Z")
        ));
        assert!(holds(
            &DATETIME,
            t("2024-01-01T00:00:00Z"),
            "ge",
            t("2024-01-01T00:00:00Z")
        ));
        assert!(!holds(
            &DATETIME,
            t("2024-01-01T00:00:00Z"),
            "sw",
            t("2024")
        ));
    }

    #[test]
    fn strings_follow_case_exact() {
        assert!(holds(&STRING, json!("Bjensen"), "eq", json!("BJENSEN")));
        assert!(!holds(&EXACT, json!("Bjensen"), "eq", json!("BJENSEN")));
        assert!(holds(&STRING, json!("Ärger"), "sw", json!("är")));
        assert!(holds(&STRING, json!("b"), "gt", json!("A")));
        assert!(!holds(&EXACT, json!("b"), "lt", json!("A")));
    }

    #[test]
    fn references_and_binaries_are_case_exact_and_binaries_do_not_order() {
        assert!(!holds(
            &REFERENCE,
            json!("https://x/Users/A"),
            "eq",
            json!("https://x/users/a")
        ));
        assert!(holds(
            &REFERENCE,
            json!("https://x/Users/A"),
            "sw",
            json!("https://x/U")
        ));
        assert!(holds(
            &REFERENCE,
            json!("https://x/b"),
            "gt",
            json!("https://x/a")
        ));
        assert!(!holds(&BINARY, json!("QUJD"), "eq", json!("qujd")));
        assert!(holds(&BINARY, json!("QUJD"), "co", json!("UJ")));
        assert!(!holds(&BINARY, json!("QUJD"), "gt", json!("AAAA")));
    }

    #[test]
    fn booleans_support_equality_only() {
        assert!(holds(&BOOLEAN, json!(true), "eq", json!(true)));
        assert!(holds(&BOOLEAN, json!(true), "ne", json!(false)));
        assert!(!holds(&BOOLEAN, json!(true), "gt", json!(false)));
        assert!(check("active eq true") && !check("active eq false"));
    }

    #[test]
    fn user_name_is_case_insensitive_and_external_id_case_exact() {
        assert!(check(r#"userName eq "bjensen""#));
        assert!(check(r#"USERNAME Eq "BJENSEN""#));
        assert!(check(r#"externalId eq "Ext-1""#));
        assert!(!check(r#"externalId eq "ext-1""#));
        assert!(check(r#"id eq "01hzx0000000000000000000ab""#));
    }

    #[test]
    fn complex_attributes_compared_whole_compare_their_value() {
        assert!(check(r#"emails eq "BJENSEN@example.com""#));
        assert!(check(r#"emails co "@jensen.org""#));
        assert!(check(r#"groups eq "g1""#));
        assert!(check(&format!("{ENTERPRISE_USER}:manager eq \"26118915\"")));
    }

    #[test]
    fn multi_valued_attributes_match_if_any_value_does() {
        assert!(check(r#"emails.value eq "babs@jensen.org""#));
        assert!(check(r#"emails.type eq "home""#));
        assert!(!check(r#"emails.type eq "other""#));
        assert!(check(r#"emails.type ne "work""#));
        assert!(!check(r#"not (emails.type ne "other")"#));
    }

    #[test]
    fn value_paths_evaluate_each_element_with_sub_attribute_types() {
        assert!(check(
            r#"emails[type eq "WORK" and value co "@example.com"]"#
        ));
        assert!(!check(
            r#"emails[type eq "home" and value co "@example.com"]"#
        ));
        assert!(check("emails[primary eq true]"));
        assert!(check("emails[not (primary eq true)]"));
        assert!(check(r#"emails[type eq "work"].value ew "EXAMPLE.COM""#));
        assert!(!check(r#"phoneNumbers[type eq "work"]"#));
        assert!(check(r#"groups[value eq "g1" and type eq "direct"]"#));
    }

    #[test]
    fn present_needs_a_non_empty_value_or_node() {
        assert!(check("userName pr"));
        assert!(!check("title pr"));
        assert!(!check("nickName pr"));
        assert!(!check("phoneNumbers pr"));
        assert!(check("emails pr") && check("name pr") && check("meta pr"));
        let empty_name = json!({"userName": "a", "name": {"givenName": ""}, "emails": [{}]});
        for f in ["name pr", "emails pr"] {
            assert!(!matches(
                SchemaSet::standard(),
                ResourceKind::User,
                &parse_filter(f).unwrap(),
                &empty_name
            ));
        }
    }

    #[test]
    fn null_means_unassigned() {
        assert!(check("nickName eq null") && check("phoneNumbers eq null"));
        assert!(check("displayName eq null") && !check("userName eq null"));
        assert!(check("userName ne null") && !check("nickName ne null"));
        assert!(check("name ne null"));
        let typeless = json!({"emails": [{"type": "work"}]});
        let f = parse_filter("emails eq null").unwrap();
        assert!(!matches(
            SchemaSet::standard(),
            ResourceKind::User,
            &f,
            &typeless
        ));
    }

    #[test]
    fn ne_on_a_missing_attribute_holds_and_other_operators_fail() {
        assert!(check(r#"displayName ne "x""#));
        assert!(!check(r#"displayName eq "x""#));
        assert!(!check(r#"displayName gt "x""#));
        assert!(!check(r#"displayName co "x""#));
    }

    #[test]
    fn meta_dates_compare_chronologically() {
        // lastModified is 02:42:34Z.
        assert!(check(r#"meta.lastModified lt "2011-05-13T03:00:00Z""#));
        assert!(check(r#"meta.lastModified eq "2011-05-13T02:42:34Z""#));
        assert!(check(r#"meta.created gt "2011-05-13T06:00:00+02:00""#));
    }

    #[test]
    fn urn_qualified_paths_and_any_case() {
        assert!(check(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bjensen""#
        ));
        assert!(check(&format!(
            "{ENTERPRISE_USER}:department eq \"tour operations\""
        )));
        let lower = ENTERPRISE_USER.to_ascii_lowercase();
        assert!(check(&format!("{lower}:MANAGER.VALUE eq \"26118915\"")));
        assert!(check(r#"NAME.GIVENNAME sw "bar""#));
    }

    #[test]
    fn matches_element_uses_the_sub_attribute_definition() {
        let members = SchemaSet::standard()
            .core(ResourceKind::Group)
            .attribute("members")
            .unwrap();
        let f = parse_filter(r#"value eq "ABC" and type eq "user""#).unwrap();
        assert!(matches_element(
            members,
            &f,
            &json!({"value": "abc", "type": "User"})
        ));
        let f = parse_filter(r#"$ref eq "https://h/Users/ABC""#).unwrap();
        assert!(!matches_element(
            members,
            &f,
            &json!({"$ref": "https://h/Users/abc"})
        ));
    }

    #[test]
    fn validate_refuses_unknown_attributes_naming_the_resource_type() {
        let msg = refused(ResourceKind::User, r#"shoeSize eq "x""#);
        assert_eq!(msg, "\"shoeSize\" is not an attribute of User");
        let msg = refused(ResourceKind::Group, r#"userName eq "x""#);
        assert!(msg.contains("Group"), "{msg}");
        let msg = refused(ResourceKind::User, r#"emails[shoe eq "x"]"#);
        assert!(
            msg.contains("\"shoe\" is not a sub-attribute of \"emails\""),
            "{msg}"
        );
        refused(ResourceKind::User, "department pr");
        refused(ResourceKind::User, "schemas pr");
    }

    #[test]
    fn validate_refuses_type_mismatches() {
        let msg = refused(ResourceKind::User, r#"active eq "yes""#);
        assert!(
            msg.contains("boolean") && msg.contains("true or false"),
            "{msg}"
        );
        let msg = refused(ResourceKind::User, r#"meta.created gt "last tuesday""#);
        assert!(msg.contains("RFC 3339"), "{msg}");
        refused(ResourceKind::User, "userName eq 5");
        refused(ResourceKind::User, r#"active co "t""#);
        refused(ResourceKind::User, r#"meta.lastModified sw "2024""#);
        refused(ResourceKind::User, r#"x509Certificates.value gt "A""#);
        refused(ResourceKind::User, r#"name eq "Barbara""#);
        refused(ResourceKind::User, r#"meta eq "x""#);
        refused(ResourceKind::User, r#"userName[value eq "x"]"#);
        refused(ResourceKind::User, r#"emails[emails.value eq "x"]"#);
    }

    #[test]
    fn validate_refuses_ordering_booleans_in_hand_built_filters() {
        let f = Filter::Compare(
            AttrPath {
                uri: None,
                name: "active".into(),
                sub: None,
            },
            CompareOp::Gt,
            json!(false),
        );
        assert!(validate(SchemaSet::standard(), ResourceKind::User, &f).is_err());
        assert!(!matches(
            SchemaSet::standard(),
            ResourceKind::User,
            &f,
            &user()
        ));
    }

    #[test]
    fn validate_accepts_membership_paths() {
        for f in [
            "members pr",
            r#"members eq "u""#,
            r#"members.value eq "u""#,
            r#"members[value eq "u"]"#,
            r#"members.type eq "User""#,
            r#"members.display co "a""#,
            r#"members.$ref sw "https://""#,
        ] {
            let parsed = parse_filter(f).unwrap();
            assert_eq!(
                validate(SchemaSet::standard(), ResourceKind::Group, &parsed),
                Ok(()),
                "{f}"
            );
        }
        for f in [
            r#"groups eq "g""#,
            r#"groups.value eq "g""#,
            r#"groups[value eq "g"]"#,
            r#"groups.display eq "g""#,
            r#"groups.type eq "direct""#,
        ] {
            let parsed = parse_filter(f).unwrap();
            assert_eq!(
                validate(SchemaSet::standard(), ResourceKind::User, &parsed),
                Ok(()),
                "{f}"
            );
        }
    }

    #[test]
    fn validate_accepts_null_and_pr_on_complex_attributes() {
        for f in ["name pr", "name eq null", "meta ne null", "emails eq null"] {
            let parsed = parse_filter(f).unwrap();
            assert_eq!(
                validate(SchemaSet::standard(), ResourceKind::User, &parsed),
                Ok(()),
                "{f}"
            );
        }
    }
}
