//! `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes a response
//! carries, decided by each attribute's `returned` characteristic (RFC 7643 §7) in the schema set
//! passed in.

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{parse_attr_path, AttrPath};
use super::resource::{resolve_with, ResourceKind};
use super::schema::{AttributeDef, Returned, SchemaSet};

const CORE_SCHEMA_PREFIX: &str = "urn:ietf:params:scim:schemas:core:";

#[derive(Debug, Clone, PartialEq)]
enum Target {
    /// A whole extension object, named by its schema URN alone.
    Extension(String),
    Path(AttrPath),
}

/// The parsed `attributes` and `excludedAttributes` of one request.
///
/// What a response carries, per attribute (RFC 7643 §7 "returned", RFC 7644 §3.9):
/// - `always` (`id`, RFC 7643 §3.1: "a \"returned\" characteristic of \"always\""): returned
///   whatever the lists say; "[excludedAttributes] SHALL have no effect on attributes whose
///   schema \"returned\" setting is \"always\"". `schemas` is in no schema but is "REQUIRED" in
///   every representation (RFC 7643 §3), so it is treated as `always` too.
/// - `never` (`password`): never returned, even when named in `attributes`.
/// - `default` (everything else, including all of `meta`: RFC 7643 §3.1 says its sub-attributes
///   "have a \"returned\" characteristic of \"default\""; so `meta.resourceType` can be excluded):
///   returned unless excluded, and, when `attributes` is given, only if it names the attribute,
///   one of its sub-attributes, or (for an extension attribute) the extension's URN.
/// - `request`: returned only when `attributes` names the attribute itself or one of its
///   sub-attributes; naming the extension's URN is not enough.
///
/// Sub-attributes follow the same rules inside a returned complex attribute: naming `name`
/// returns its `default` sub-attributes, naming `name.givenName` returns that one (plus any
/// `always` ones); a `request` sub-attribute must be named itself; a `never` one never appears.
/// A complex value left with nothing in it is dropped, and so is a multi-valued element.
///
/// Names are matched ignoring case; core attributes may be URN-qualified
/// (`urn:ietf:params:scim:schemas:core:2.0:User:userName`); extension attributes must be.
///
/// Unknown attribute names (well-formed but in no schema, or a sub-attribute the attribute does
/// not have) are ignored silently: RFC 7644 requires no error, and many servers do the same, so
/// a client that asks for `attributes=userName,nickname2` still gets `userName`. Malformed
/// names (`name..x`) are 400 `invalidValue`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Projection {
    attributes: Vec<Target>,
    excluded: Vec<Target>,
}

/// Where an attribute lives.
#[derive(Debug, Clone, Copy)]
enum Place<'s> {
    /// At the top level of a resource whose core schema has this URN; `None`: of either kind
    /// (for `includes`).
    Core(Option<&'s str>),
    /// Inside the extension object with this schema URN.
    Extension(&'s str),
}

impl Place<'_> {
    /// Whether a path's URI prefix (or its absence) designates this place.
    fn holds(self, p: &AttrPath) -> bool {
        match (self, p.uri.as_deref()) {
            (Place::Core(_), None) => true,
            (Place::Core(Some(core)), Some(uri)) => uri.eq_ignore_ascii_case(core),
            (Place::Core(None), Some(uri)) => uri
                .get(..CORE_SCHEMA_PREFIX.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(CORE_SCHEMA_PREFIX)),
            (Place::Extension(_), None) => false,
            (Place::Extension(id), Some(uri)) => uri.eq_ignore_ascii_case(id),
        }
    }

    /// Whether a target names this whole extension.
    fn is_named_by(self, t: &Target) -> bool {
        matches!((self, t), (Place::Extension(id), Target::Extension(uri)) if uri.eq_ignore_ascii_case(id))
    }
}

/// What one list says about one attribute.
#[derive(Debug, Default)]
struct Mention<'a> {
    /// The attribute itself is named.
    whole: bool,
    /// The extension holding it is named by its URN.
    container: bool,
    /// Its named sub-attributes that its definition knows.
    subs: Vec<&'a str>,
}

impl Mention<'_> {
    fn any(&self) -> bool {
        self.whole || !self.subs.is_empty()
    }
}

fn mention<'a>(
    list: &'a [Target],
    place: Place<'_>,
    name: &str,
    def: Option<&AttributeDef>,
) -> Mention<'a> {
    let mut m = Mention::default();
    for t in list {
        match t {
            Target::Extension(_) => m.container |= place.is_named_by(t),
            Target::Path(p) if place.holds(p) && p.name.eq_ignore_ascii_case(name) => {
                match p.sub.as_deref() {
                    None => m.whole = true,
                    Some(sub) if def.is_none_or(|d| d.sub_attribute(sub).is_some()) => {
                        m.subs.push(sub)
                    }
                    Some(_) => {}
                }
            }
            Target::Path(_) => {}
        }
    }
    m
}

/// A returned attribute, and which of its sub-attributes the lists name.
#[derive(Debug)]
struct Kept<'a> {
    /// All its `default` sub-attributes are returned (not only the named ones).
    whole: bool,
    asked: Vec<&'a str>,
    excluded: Vec<&'a str>,
}

impl Kept<'_> {
    fn keeps_sub(&self, def: Option<&AttributeDef>, sub: &str) -> bool {
        let returned = def
            .and_then(|d| d.sub_attribute(sub))
            .map_or(Returned::Default, |s| s.returned);
        let asked = self.asked.iter().any(|s| s.eq_ignore_ascii_case(sub));
        let excluded = self.excluded.iter().any(|s| s.eq_ignore_ascii_case(sub));
        match returned {
            Returned::Never => false,
            Returned::Always => true,
            Returned::Default => (self.whole || asked) && !excluded,
            Returned::Request => asked && !excluded,
        }
    }

    fn project_members(
        &self,
        def: Option<&AttributeDef>,
        obj: Map<String, Value>,
    ) -> Map<String, Value> {
        obj.into_iter()
            .filter(|(k, _)| self.keeps_sub(def, k))
            .collect()
    }

    /// The part of `value` that is returned; `None` when nothing is.
    fn project(&self, def: Option<&AttributeDef>, value: Value) -> Option<Value> {
        match value {
            Value::Object(obj) => {
                let kept = self.project_members(def, obj);
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .into_iter()
                    .filter_map(|item| match item {
                        Value::Object(obj) => {
                            let kept = self.project_members(def, obj);
                            (!kept.is_empty()).then_some(Value::Object(kept))
                        }
                        other => self.whole.then_some(other),
                    })
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            scalar => self.whole.then_some(scalar),
        }
    }
}

/// The definition of a top-level core (or common) attribute of `kind`.
fn core_def<'s>(
    schemas: &'s SchemaSet,
    kind: ResourceKind,
    name: &str,
) -> Option<&'s AttributeDef> {
    let path = AttrPath {
        uri: None,
        name: name.to_string(),
        sub: None,
    };
    resolve_with(schemas, kind, &path).map(|r| r.attr)
}

/// The definition of a core attribute of either kind, for the kind-less `includes`.
fn any_core_def<'s>(schemas: &'s SchemaSet, name: &str) -> Option<&'s AttributeDef> {
    [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .find_map(|k| core_def(schemas, k, name))
}

impl Projection {
    /// Parses the comma-separated query parameters (absent or empty means "no restriction").
    /// A name that is a URN of an extension in `schemas` names that whole extension.
    pub fn parse(
        schemas: &SchemaSet,
        attributes: Option<&str>,
        excluded: Option<&str>,
    ) -> Result<Self, ScimError> {
        let split = |s: Option<&str>| -> Vec<String> {
            s.unwrap_or("")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        };
        Self::from_lists(schemas, &split(attributes), &split(excluded))
    }

    /// Builds from lists of attribute names, as a `SearchRequest` body carries them.
    pub fn from_lists(
        schemas: &SchemaSet,
        attributes: &[String],
        excluded: &[String],
    ) -> Result<Self, ScimError> {
        Ok(Projection {
            attributes: attributes
                .iter()
                .map(|a| target(schemas, a))
                .collect::<Result<_, _>>()?,
            excluded: excluded
                .iter()
                .map(|a| target(schemas, a))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Whether the response will carry (some of) the top-level core attribute `name`
    /// (e.g. `members`), so that storage can skip reading what nobody will see.
    pub fn includes(&self, schemas: &SchemaSet, name: &str) -> bool {
        self.decide(Place::Core(None), name, any_core_def(schemas, name))
            .is_some()
    }

    /// Whether `attributes` explicitly names the top-level core attribute `name` (or one of its
    /// sub-attributes) and the response will carry it. Lists show a user's `groups` only then.
    pub fn requests(&self, schemas: &SchemaSet, name: &str) -> bool {
        let def = any_core_def(schemas, name);
        mention(&self.attributes, Place::Core(None), name, def).any()
            && self.includes(schemas, name)
    }

    /// Whether the attribute `name` at `place` is returned, and how much of it.
    fn decide(&self, place: Place<'_>, name: &str, def: Option<&AttributeDef>) -> Option<Kept<'_>> {
        let asked = mention(&self.attributes, place, name, def);
        let excluded = mention(&self.excluded, place, name, def);
        let whole = match def.map_or(Returned::Default, |d| d.returned) {
            Returned::Never => return None,
            Returned::Always => true,
            _ if excluded.whole || excluded.container => return None,
            Returned::Default if self.attributes.is_empty() || asked.whole || asked.container => {
                true
            }
            Returned::Request if asked.whole => true,
            _ if !asked.subs.is_empty() => false,
            _ => return None,
        };
        Some(Kept {
            whole,
            asked: asked.subs,
            excluded: excluded.subs,
        })
    }

    /// The part of one attribute's value that is returned; `None` when nothing is.
    fn keep(
        &self,
        place: Place<'_>,
        name: &str,
        def: Option<&AttributeDef>,
        value: Value,
    ) -> Option<Value> {
        self.decide(place, name, def)?.project(def, value)
    }

    /// The response representation of a rendered resource (core attributes at the top level,
    /// extension attributes under their schema URN), described by the schemas of `kind` in
    /// `schemas`.
    pub fn apply(&self, schemas: &SchemaSet, kind: ResourceKind, resource: Value) -> Value {
        let Value::Object(map) = resource else {
            return resource;
        };
        let mut out = Map::new();
        for (key, value) in map {
            if key.eq_ignore_ascii_case("schemas") {
                out.insert(key, value);
                continue;
            }
            let kept = match (schemas.extension(kind, &key), value) {
                (Some(ext), Value::Object(attrs)) => {
                    let place = Place::Extension(&ext.id);
                    let kept: Map<String, Value> = attrs
                        .into_iter()
                        .filter_map(|(name, v)| {
                            let def = ext.attribute(&name);
                            self.keep(place, &name, def, v).map(|v| (name, v))
                        })
                        .collect();
                    (!kept.is_empty()).then_some(Value::Object(kept))
                }
                // An extension must be an object; rendering never produces anything else.
                (Some(_), _) => None,
                (None, value) => self.keep(
                    Place::Core(Some(&schemas.core(kind).id)),
                    &key,
                    core_def(schemas, kind, &key),
                    value,
                ),
            };
            if let Some(v) = kept {
                out.insert(key, v);
            }
        }
        Value::Object(out)
    }
}

fn target(schemas: &SchemaSet, raw: &str) -> Result<Target, ScimError> {
    if is_known_extension(schemas, raw) {
        return Ok(Target::Extension(raw.to_string()));
    }
    parse_attr_path(raw)
        .map(Target::Path)
        .map_err(|e| ScimError::invalid_value(format!("invalid attribute name \"{raw}\": {e}")))
}

fn is_known_extension(schemas: &SchemaSet, raw: &str) -> bool {
    [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .any(|k| schemas.extension(k, raw).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::schema::AttrType;
    use serde_json::json;
    use std::collections::BTreeSet;
    use std::sync::LazyLock;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    const CORE: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

    /// A user with every User attribute (and `password`, which rendering never produces).
    fn user() -> Value {
        json!({
            "schemas": [CORE, ENT],
            "id": "01J0USER", "externalId": "ext-1", "userName": "ann",
            "name": {"formatted": "Ms. Ann Lee", "familyName": "Lee", "givenName": "Ann",
                     "middleName": "B", "honorificPrefix": "Ms.", "honorificSuffix": "III"},
            "displayName": "Ann Lee", "nickName": "Annie", "profileUrl": "https://x/ann",
            "title": "Boss", "userType": "Employee", "preferredLanguage": "en", "locale": "en-GB",
            "timezone": "Europe/London", "active": true, "password": "secret",
            "emails": [{"value": "a@x", "type": "work", "primary": true},
                       {"value": "b@x", "type": "home", "display": "B"}],
            "phoneNumbers": [{"value": "+1", "type": "work"}],
            "ims": [{"value": "ann", "type": "xmpp"}],
            "photos": [{"value": "https://x/p", "type": "photo"}],
            "addresses": [{"locality": "Leeds", "country": "GB", "type": "work"}],
            "groups": [{"value": "01JGROUP", "$ref": "https://x/Groups/01JGROUP", "type": "direct"}],
            "entitlements": [{"value": "e"}], "roles": [{"value": "r"}],
            "x509Certificates": [{"value": "MII"}],
            ENT: {"employeeNumber": "42", "costCenter": "7", "organization": "O", "division": "D",
                  "department": "R&D", "manager": {"value": "01JBOSS", "displayName": "Bo"}},
            "meta": {"resourceType": "User", "created": "2024-01-01T00:00:00Z",
                     "lastModified": "2024-02-01T00:00:00Z", "location": "https://x/Users/01J0USER",
                     "version": "W/\"1\""}
        })
    }

    fn project(attrs: Option<&str>, excluded: Option<&str>) -> Value {
        Projection::parse(SchemaSet::standard(), attrs, excluded)
            .unwrap()
            .apply(SchemaSet::standard(), ResourceKind::User, user())
    }

    /// Every attribute and sub-attribute present, as `name` / `name.sub` / `URN:name.sub`.
    fn paths(v: &Value) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        let subs = |prefix: &str, v: &Value, out: &mut BTreeSet<String>| {
            let items = match v {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for item in items {
                if let Value::Object(obj) = item {
                    out.extend(obj.keys().map(|k| format!("{prefix}.{k}")));
                }
            }
        };
        for (k, v) in v.as_object().unwrap() {
            if k == ENT {
                for (ek, ev) in v.as_object().unwrap() {
                    out.insert(format!("{ENT}:{ek}"));
                    subs(&format!("{ENT}:{ek}"), ev, &mut out);
                }
            } else if k != "schemas" {
                subs(k, v, &mut out);
            }
            out.insert(k.clone());
        }
        out
    }

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.replace("ENT", ENT)).collect()
    }

    /// (attributes, excludedAttributes, paths present, paths absent)
    type Case<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        &'a [&'a str],
        &'a [&'a str],
    );

    #[test]
    fn projection_table() {
        let cases: &[Case] = &[
            (
                None,
                None,
                &[
                    "id",
                    "schemas",
                    "userName",
                    "name.givenName",
                    "emails.value",
                    "groups.value",
                    "ENT",
                    "ENT:manager.value",
                    "meta.resourceType",
                    "meta.lastModified",
                ],
                &["password"],
            ),
            (
                Some("password"),
                None,
                &["id", "schemas"],
                &["password", "userName"],
            ),
            (
                Some("userName"),
                None,
                &["id", "schemas", "userName"],
                &["externalId", "name", "meta", "ENT", "password", "emails"],
            ),
            (Some("USERNAME"), None, &["userName"], &["name"]),
            (
                Some(&format!("{CORE}:userName")),
                None,
                &["id", "userName"],
                &["name"],
            ),
            (
                Some("urn:ietf:params:scim:schemas:core:2.0:group:userName"),
                None,
                &["id"],
                &["userName"],
            ),
            (
                Some("name.givenName"),
                None,
                &["name.givenName"],
                &["name.familyName", "userName"],
            ),
            (
                Some("Name.GivenName,name.familyName"),
                None,
                &["name.givenName", "name.familyName"],
                &["name.formatted"],
            ),
            (
                Some("name,name.givenName"),
                None,
                &["name.givenName", "name.formatted"],
                &[],
            ),
            (
                Some("emails.value"),
                None,
                &["emails.value"],
                &["emails.type", "emails.primary"],
            ),
            (
                Some("emails.value,emails.type"),
                None,
                &["emails.value", "emails.type"],
                &["emails.primary"],
            ),
            (
                Some("meta.lastModified"),
                None,
                &["meta.lastModified"],
                &["meta.resourceType", "meta.created"],
            ),
            (
                Some(&format!("{ENT}:manager.value")),
                None,
                &["ENT:manager.value", "id"],
                &["ENT:manager.displayName", "ENT:department", "userName"],
            ),
            (
                Some(&format!("{ENT}:department")),
                None,
                &["ENT:department"],
                &["ENT:costCenter"],
            ),
            (
                Some(ENT),
                None,
                &[
                    "ENT:department",
                    "ENT:manager.value",
                    "ENT:manager.displayName",
                ],
                &["userName"],
            ),
            (
                Some(&ENT.to_uppercase()),
                None,
                &["ENT:department"],
                &["userName"],
            ),
            // A bare name never designates an extension attribute.
            (Some("department"), None, &["id"], &["ENT"]),
            // Unknown names and unknown sub-attributes are ignored.
            (
                Some("userName,shoeSize,name.shoe,urn:example:x:userName"),
                None,
                &["userName"],
                &["name"],
            ),
            (None, Some("shoeSize"), &["userName", "name"], &[]),
            (None, Some("id,schemas"), &["id", "schemas"], &[]),
            (None, Some("ID"), &["id"], &[]),
            (
                None,
                Some("emails,name.familyName,meta.resourceType"),
                &["name.givenName", "meta.created", "userName"],
                &["emails", "name.familyName", "meta.resourceType"],
            ),
            (
                None,
                Some("emails.type"),
                &["emails.value"],
                &["emails.type"],
            ),
            (None, Some(ENT), &["userName"], &["ENT"]),
            (
                None,
                Some(&format!("{ENT}:manager")),
                &["ENT:department"],
                &["ENT:manager"],
            ),
            (
                None,
                Some(&format!("{ENT}:manager.displayName")),
                &["ENT:manager.value"],
                &["ENT:manager.displayName"],
            ),
            (None, Some("meta"), &["id"], &["meta"]),
            (None, Some("password"), &["userName"], &["password"]),
            (Some("userName"), Some("userName"), &["id"], &["userName"]),
            (
                Some("name"),
                Some("name.givenName"),
                &["name.familyName"],
                &["name.givenName"],
            ),
        ];
        for (attrs, excluded, present, absent) in cases {
            let got = paths(&project(*attrs, *excluded));
            let ctx = format!("attributes={attrs:?} excludedAttributes={excluded:?}: {got:?}");
            for p in set(present) {
                assert!(got.contains(&p), "{p} missing; {ctx}");
            }
            for p in set(absent) {
                assert!(!got.contains(&p), "{p} present; {ctx}");
            }
        }
    }

    #[test]
    fn no_parameters_return_everything_but_the_password() {
        let mut expected = user();
        expected.as_object_mut().unwrap().remove("password");
        assert_eq!(project(None, None), expected);
    }

    #[test]
    fn attributes_keep_only_named_ones_plus_id_and_schemas() {
        let out = project(Some("userName,name.givenName"), None);
        assert_eq!(
            out,
            json!({"schemas": [CORE, ENT], "id": "01J0USER", "userName": "ann",
                   "name": {"givenName": "Ann"}})
        );
    }

    #[test]
    fn sub_attributes_of_multi_valued_attributes_apply_to_every_element() {
        let out = project(Some("EMAILS.VALUE"), None);
        assert_eq!(out["emails"], json!([{"value": "a@x"}, {"value": "b@x"}]));
        let out = project(Some("emails.display"), None);
        assert_eq!(out["emails"], json!([{"display": "B"}]));
        let out = project(Some("addresses.postalCode"), None);
        assert!(out.get("addresses").is_none());
    }

    #[test]
    fn a_complex_attribute_emptied_by_exclusion_disappears() {
        let out = project(
            None,
            Some("meta.resourceType,meta.created,meta.lastModified,meta.location,meta.version"),
        );
        assert!(out.get("meta").is_none());
    }

    #[test]
    fn groups_projection_works_for_groups() {
        let group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                           "id": "g", "displayName": "G", "members": [{"value": "u", "type": "User"}],
                           "meta": {"resourceType": "Group"}});
        let p = Projection::parse(SchemaSet::standard(), Some("members.value"), None).unwrap();
        assert_eq!(
            p.apply(SchemaSet::standard(), ResourceKind::Group, group.clone()),
            json!({"schemas": group["schemas"], "id": "g", "members": [{"value": "u"}]})
        );
        let p = Projection::parse(SchemaSet::standard(), None, Some("members,id")).unwrap();
        let out = p.apply(SchemaSet::standard(), ResourceKind::Group, group);
        assert!(out.get("members").is_none());
        assert_eq!(out["id"], "g");
    }

    fn def(name: &str, returned: Returned) -> AttributeDef {
        AttributeDef::new(name, AttrType::String, "").returned(returned)
    }

    static COMPLEX: LazyLock<AttributeDef> = LazyLock::new(|| {
        def("thing", Returned::Default).with_sub_attributes(vec![
            def("plain", Returned::Default),
            def("asked", Returned::Request),
            def("fixed", Returned::Always),
            def("hidden", Returned::Never),
        ])
    });
    static REQUESTED: LazyLock<AttributeDef> = LazyLock::new(|| def("extra", Returned::Request));
    static ALWAYS: LazyLock<AttributeDef> = LazyLock::new(|| def("key", Returned::Always));

    fn keep(attrs: Option<&str>, excluded: Option<&str>, d: &AttributeDef) -> Option<Value> {
        let value = match d.ty {
            AttrType::Complex => json!({"plain": 1, "asked": 2, "fixed": 3, "hidden": 4}),
            _ => json!("v"),
        };
        Projection::parse(SchemaSet::standard(), attrs, excluded)
            .unwrap()
            .keep(Place::Core(Some(CORE)), &d.name, Some(d), value)
    }

    #[test]
    fn request_attributes_appear_only_when_named() {
        assert_eq!(keep(None, None, &REQUESTED), None);
        assert_eq!(keep(Some("userName"), None, &REQUESTED), None);
        assert_eq!(keep(Some("EXTRA"), None, &REQUESTED), Some(json!("v")));
        assert_eq!(keep(Some("extra"), Some("extra"), &REQUESTED), None);
    }

    #[test]
    fn always_attributes_ignore_both_lists() {
        for (a, e) in [(None, None), (Some("userName"), None), (None, Some("key"))] {
            assert_eq!(keep(a, e, &ALWAYS), Some(json!("v")), "{a:?} {e:?}");
        }
    }

    #[test]
    fn sub_attributes_follow_their_own_returned_characteristic() {
        let k = |a, e| keep(a, e, &COMPLEX);
        assert_eq!(k(None, None), Some(json!({"plain": 1, "fixed": 3})));
        assert_eq!(
            k(Some("thing"), None),
            Some(json!({"plain": 1, "fixed": 3}))
        );
        assert_eq!(
            k(Some("thing.asked"), None),
            Some(json!({"asked": 2, "fixed": 3}))
        );
        assert_eq!(
            k(Some("thing,thing.asked,thing.hidden"), None),
            Some(json!({"plain": 1, "asked": 2, "fixed": 3}))
        );
        assert_eq!(
            k(None, Some("thing.plain,thing.fixed")),
            Some(json!({"fixed": 3}))
        );
        assert_eq!(k(None, Some("thing")), None);
        assert_eq!(k(Some("userName"), None), None);
    }

    fn p(a: Option<&str>, e: Option<&str>) -> Projection {
        Projection::parse(SchemaSet::standard(), a, e).unwrap()
    }

    #[test]
    fn includes_tells_whether_members_must_be_read() {
        assert!(p(None, None).includes(SchemaSet::standard(), "members"));
        assert!(!p(None, Some("members")).includes(SchemaSet::standard(), "members"));
        assert!(p(None, Some("members.display")).includes(SchemaSet::standard(), "members"));
        assert!(!p(Some("displayName"), None).includes(SchemaSet::standard(), "members"));
        assert!(p(Some("members.value"), None).includes(SchemaSet::standard(), "members"));
        assert!(p(
            Some("urn:ietf:params:scim:schemas:core:2.0:Group:members"),
            None
        )
        .includes(SchemaSet::standard(), "members"));
        assert!(!p(Some("members.nope"), None).includes(SchemaSet::standard(), "members"));
        assert!(
            !p(Some(&format!("{ENT}:members")), None).includes(SchemaSet::standard(), "members")
        );
        assert!(p(Some("userName"), Some("id")).includes(SchemaSet::standard(), "id"));
        assert!(!p(Some("password"), None).includes(SchemaSet::standard(), "password"));
    }

    #[test]
    fn requests_is_true_only_when_attributes_names_the_attribute() {
        assert!(!p(None, None).requests(SchemaSet::standard(), "groups"));
        assert!(!p(Some("userName"), None).requests(SchemaSet::standard(), "groups"));
        assert!(p(Some("groups"), None).requests(SchemaSet::standard(), "groups"));
        assert!(p(Some("GROUPS.value"), None).requests(SchemaSet::standard(), "groups"));
        assert!(p(Some(&format!("{CORE}:groups")), None).requests(SchemaSet::standard(), "groups"));
        assert!(!p(Some("groups"), Some("groups")).requests(SchemaSet::standard(), "groups"));
        assert!(!p(None, Some("emails")).requests(SchemaSet::standard(), "groups"));
        assert!(!p(Some("password"), None).requests(SchemaSet::standard(), "password"));
    }

    #[test]
    fn malformed_attribute_names_are_rejected() {
        for bad in [
            "name..x",
            "name.givenName.x",
            "urn:ietf:params:scim:schemas:core:2.0",
            "1abc",
        ] {
            let err = Projection::parse(SchemaSet::standard(), Some(bad), None).unwrap_err();
            assert_eq!(
                err.scim_type,
                Some(crate::protocol::ScimType::InvalidValue),
                "{bad}"
            );
            assert!(
                Projection::parse(SchemaSet::standard(), None, Some(bad)).is_err(),
                "{bad}"
            );
        }
    }
}
