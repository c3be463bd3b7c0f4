//! RFC 7644 §3.5.2 PATCH, table-driven and pure: each case parses a PatchOp body, splits group
//! members off (`members::split`), applies the rest to a normalised resource (`patch::apply`) and
//! normalises the result, as the service does, then asserts the whole resulting resource (or the
//! SCIM error type). Member cases assert the `MemberChanges` as well.
//!
//!     cargo test --lib tests::patch_suite

use std::collections::BTreeSet;

use crate::protocol::members::{split, MemberChanges, MAX_MEMBER_CHANGES};
use crate::protocol::patch::{
    apply, parse_request, MAX_OPERATIONS, MAX_VALUES_PER_OPERATION, PATCH_OP_SCHEMA,
};
use crate::protocol::resource::{normalize, ResourceKind, MAX_VALUES_PER_ATTRIBUTE};
use crate::protocol::schema::SchemaSet;
use crate::protocol::ScimError;
use serde_json::{json, Value};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// The patched resource's own id.
const ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
const U1: &str = "01HZX5M3Q8V7K2J9T4R6W1N0AB";
const U2: &str = "01HZX5M3Q8V7K2J9T4R6W1N0CD";

fn body(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops})
}

/// What the service does with a PATCH, minus the store.
fn run(
    kind: ResourceKind,
    before: &Value,
    ops: Value,
) -> Result<(MemberChanges, Value), ScimError> {
    let ops = parse_request(SchemaSet::standard(), kind, &body(ops))?;
    let (changes, ops) = match kind {
        ResourceKind::Group => split(ops)?,
        ResourceKind::User => (MemberChanges::default(), ops),
    };
    let mut doc = normalize(kind, before).expect("the starting resource is valid");
    apply(kind, ID, &mut doc, &ops)?;
    let out = normalize(kind, &Value::Object(doc))?;
    Ok((changes, Value::Object(out)))
}

fn user() -> Value {
    json!({
        "userName": "ann",
        "active": true,
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [
            {"value": "a@w.com", "type": "work", "primary": true},
            {"value": "a@h.com", "type": "home"}
        ],
        ENT: {"department": "Ops", "manager": {"value": "boss"}}
    })
}

/// `user()` with `edit` applied to its JSON.
fn user_with(edit: impl FnOnce(&mut Value)) -> Value {
    let mut u = user();
    edit(&mut u);
    u
}

/// Expected outcome: the resulting resource, or a 400 with this `scimType`.
enum Want {
    Is(Value),
    Err(&'static str),
}

fn check(kind: ResourceKind, cases: Vec<(&str, Value, Value, Want)>) -> usize {
    let mut failures = Vec::new();
    let count = cases.len();
    for (name, before, ops, want) in cases {
        let got = run(kind, &before, ops.clone()).map(|(_, v)| v);
        match (&want, &got) {
            (Want::Is(expected), Ok(out)) => {
                let expected = Value::Object(normalize(kind, expected).expect(name));
                if *out != expected {
                    failures.push(format!(
                        "{name}: {ops}\n  got      {out}\n  expected {expected}"
                    ));
                }
            }
            (Want::Err(scim_type), Err(e)) => {
                if e.status != 400 || e.scim_type.map(|t| t.as_str()) != Some(*scim_type) {
                    failures.push(format!(
                        "{name}: {ops}\n  got error {e:?}, expected {scim_type}"
                    ));
                }
            }
            (Want::Is(_), Err(e)) => failures.push(format!("{name}: {ops}\n  failed: {e:?}")),
            (Want::Err(t), Ok(out)) => {
                failures.push(format!("{name}: {ops}\n  succeeded ({out}), expected {t}"))
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    count
}

fn user_cases(cases: Vec<(&str, Value, Value, Want)>) {
    check(ResourceKind::User, cases);
}

#[test]
fn every_path_form_reaches_its_target() {
    user_cases(vec![
        (
            "attrPath",
            user(),
            json!([{"op": "replace", "path": "displayName", "value": "Ann Lee"}]),
            Want::Is(user_with(|u| u["displayName"] = json!("Ann Lee"))),
        ),
        (
            "attrPath in another letter case",
            user(),
            json!([{"op": "replace", "path": "DISPLAYNAME", "value": "Ann Lee"}]),
            Want::Is(user_with(|u| u["displayName"] = json!("Ann Lee"))),
        ),
        (
            "attrPath.subAttr add keeps the siblings",
            user(),
            json!([{"op": "add", "path": "name.middleName", "value": "M"}]),
            Want::Is(user_with(|u| u["name"]["middleName"] = json!("M"))),
        ),
        (
            "attrPath.subAttr replace",
            user(),
            json!([{"op": "replace", "path": "name.givenName", "value": "Anna"}]),
            Want::Is(user_with(|u| u["name"]["givenName"] = json!("Anna"))),
        ),
        (
            "attrPath.subAttr remove",
            user(),
            json!([{"op": "remove", "path": "name.familyName"}]),
            Want::Is(user_with(|u| u["name"] = json!({"givenName": "Ann"}))),
        ),
        (
            "attrPath.subAttr creates the parent",
            json!({"userName": "ann"}),
            json!([{"op": "add", "path": "name.familyName", "value": "Lee"}]),
            Want::Is(json!({"userName": "ann", "name": {"familyName": "Lee"}})),
        ),
        (
            "valuePath[filter] replace",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"]",
                    "value": {"value": "n@h.com", "type": "home"}}]),
            Want::Is(user_with(|u| {
                u["emails"][1] = json!({"value": "n@h.com", "type": "home"})
            })),
        ),
        (
            "valuePath[filter] add merges into the selected value",
            user(),
            json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"display": "Home"}}]),
            Want::Is(user_with(|u| u["emails"][1]["display"] = json!("Home"))),
        ),
        (
            "valuePath[filter].subAttr",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "n@w.com"}]),
            Want::Is(user_with(|u| u["emails"][0]["value"] = json!("n@w.com"))),
        ),
        (
            "a filter comparing case-insensitive text",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"WORK\"].display", "value": "W"}]),
            Want::Is(user_with(|u| u["emails"][0]["display"] = json!("W"))),
        ),
        (
            "core URN attrPath",
            user(),
            json!([{"op": "replace", "path": format!("{CORE_USER}:displayName"), "value": "X"}]),
            Want::Is(user_with(|u| u["displayName"] = json!("X"))),
        ),
        (
            "core URN attrPath.subAttr",
            user(),
            json!([{"op": "replace", "path": format!("{CORE_USER}:name.givenName"), "value": "Anna"}]),
            Want::Is(user_with(|u| u["name"]["givenName"] = json!("Anna"))),
        ),
        (
            "enterprise URN attribute",
            user(),
            json!([{"op": "replace", "path": format!("{ENT}:department"), "value": "R&D"}]),
            Want::Is(user_with(|u| u[ENT]["department"] = json!("R&D"))),
        ),
        (
            "enterprise URN manager as an object",
            user(),
            json!([{"op": "replace", "path": format!("{ENT}:manager"), "value": {"value": "boss2"}}]),
            Want::Is(user_with(|u| u[ENT]["manager"] = json!({"value": "boss2"}))),
        ),
        (
            "enterprise URN manager.value",
            user(),
            json!([{"op": "replace", "path": format!("{ENT}:manager.value"), "value": "boss3"}]),
            Want::Is(user_with(|u| u[ENT]["manager"] = json!({"value": "boss3"}))),
        ),
        (
            "enterprise URN in lower case",
            user(),
            json!([{"op": "replace", "path": format!("{}:department", ENT.to_lowercase()), "value": "R&D"}]),
            Want::Is(user_with(|u| u[ENT]["department"] = json!("R&D"))),
        ),
        (
            "enterprise attribute on a user without the extension",
            json!({"userName": "ann"}),
            json!([{"op": "add", "path": format!("{ENT}:employeeNumber"), "value": "42"}]),
            Want::Is(json!({"userName": "ann", ENT: {"employeeNumber": "42"}})),
        ),
        (
            "removing the last enterprise attributes removes the extension",
            user(),
            json!([{"op": "remove", "path": format!("{ENT}:department")},
                   {"op": "remove", "path": format!("{ENT}:manager")}]),
            Want::Is(user_with(|u| {
                u.as_object_mut().unwrap().remove(ENT);
            })),
        ),
        (
            "a path naming the whole extension: add merges",
            user(),
            json!([{"op": "add", "path": ENT, "value": {"costCenter": "7"}}]),
            Want::Is(user_with(|u| u[ENT]["costCenter"] = json!("7"))),
        ),
        (
            "a path naming the whole extension: remove",
            user(),
            json!([{"op": "remove", "path": ENT}]),
            Want::Is(user_with(|u| {
                u.as_object_mut().unwrap().remove(ENT);
            })),
        ),
        (
            "a path naming the whole extension needs an object",
            user(),
            json!([{"op": "add", "path": ENT, "value": "x"}]),
            Want::Err("invalidValue"),
        ),
        (
            "unknown attribute",
            user(),
            json!([{"op": "add", "path": "shoeSize", "value": 1}]),
            Want::Err("invalidPath"),
        ),
        (
            "unknown sub-attribute",
            user(),
            json!([{"op": "add", "path": "name.nick", "value": "x"}]),
            Want::Err("invalidPath"),
        ),
        (
            "malformed path",
            user(),
            json!([{"op": "add", "path": "emails[type eq", "value": 1}]),
            Want::Err("invalidPath"),
        ),
        (
            "a filter on a single-valued attribute",
            user(),
            json!([{"op": "replace", "path": "name[givenName eq \"Ann\"].familyName", "value": "X"}]),
            Want::Err("invalidPath"),
        ),
        (
            "a filter on an unknown sub-attribute",
            user(),
            json!([{"op": "remove", "path": "emails[shoeSize eq 1]"}]),
            Want::Err("invalidFilter"),
        ),
        (
            "an extension path on a group-only attribute",
            user(),
            json!([{"op": "add", "path": "members", "value": [{"value": U1}]}]),
            Want::Err("invalidPath"),
        ),
    ]);
}

#[test]
fn add_to_multi_valued_appends_without_duplicates() {
    user_cases(vec![
        (
            "appends an array",
            user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "o@x.com", "type": "other"}]}]),
            Want::Is(user_with(|u| {
                u["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"value": "o@x.com", "type": "other"}))
            })),
        ),
        (
            "appends a single object",
            user(),
            json!([{"op": "add", "path": "emails", "value": {"value": "o@x.com"}}]),
            Want::Is(user_with(|u| {
                u["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"value": "o@x.com"}))
            })),
        ),
        (
            "an identical value is not added again",
            user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "a@h.com", "type": "home"}]}]),
            Want::Is(user()),
        ),
        (
            "identical once its names and booleans are canonical",
            user(),
            json!([{"op": "Add", "path": "emails",
                    "value": [{"Value": "a@w.com", "TYPE": "work", "primary": "True"}]}]),
            Want::Is(user()),
        ),
        (
            "a value listed twice is added once",
            user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "o@x.com"}, {"value": "o@x.com"}]}]),
            Want::Is(user_with(|u| {
                u["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"value": "o@x.com"}))
            })),
        ),
        (
            "path-less add appends too",
            user(),
            json!([{"op": "add", "value": {"emails": [{"value": "o@x.com"}]}}]),
            Want::Is(user_with(|u| {
                u["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"value": "o@x.com"}))
            })),
        ),
        (
            "creates the attribute",
            json!({"userName": "ann"}),
            json!([{"op": "add", "path": "phoneNumbers", "value": [{"value": "+1", "type": "work"}]}]),
            Want::Is(json!({"userName": "ann", "phoneNumbers": [{"value": "+1", "type": "work"}]})),
        ),
        (
            "add of an empty array changes nothing",
            user(),
            json!([{"op": "add", "path": "emails", "value": []}]),
            Want::Is(user()),
        ),
        (
            "replace without a filter swaps the whole list",
            user(),
            json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.com"}]}]),
            Want::Is(user_with(|u| {
                u["emails"] = json!([{"value": "only@x.com"}])
            })),
        ),
        (
            "sub-attribute of every value without a filter",
            user(),
            json!([{"op": "replace", "path": "emails.display", "value": "d"}]),
            Want::Is(user_with(|u| {
                u["emails"][0]["display"] = json!("d");
                u["emails"][1]["display"] = json!("d");
            })),
        ),
    ]);
}

#[test]
fn filtered_add_and_entra_replace_create_the_value_they_describe() {
    user_cases(vec![
        (
            "Entra add of a work email that does not exist",
            json!({"userName": "ann"}),
            json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@x.com"}]),
            Want::Is(json!({"userName": "ann", "emails": [{"type": "work", "value": "w@x.com"}]})),
        ),
        (
            "Entra replace of a work email that does not exist",
            json!({"userName": "ann", "emails": [{"value": "h@x.com", "type": "home"}]}),
            json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@x.com"}]),
            Want::Is(json!({"userName": "ann", "emails": [
                {"value": "h@x.com", "type": "home"}, {"type": "work", "value": "w@x.com"}]})),
        ),
        (
            "Entra address parts land in one work address",
            json!({"userName": "ann"}),
            json!([
                {"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Main St"},
                {"op": "Add", "path": "addresses[type eq \"work\"].locality", "value": "Springfield"}
            ]),
            Want::Is(json!({"userName": "ann", "addresses": [
                {"type": "work", "streetAddress": "1 Main St", "locality": "Springfield"}]})),
        ),
        (
            "the same paths as keys of a path-less replace",
            json!({"userName": "ann"}),
            json!([{"op": "replace", "value": {
                "emails[type eq \"work\"].value": "w@x.com",
                "addresses[type eq \"work\"].postalCode": "12345"}}]),
            Want::Is(json!({"userName": "ann",
                "emails": [{"type": "work", "value": "w@x.com"}],
                "addresses": [{"type": "work", "postalCode": "12345"}]})),
        ),
        (
            "add with an and of eq comparisons",
            json!({"userName": "ann"}),
            json!([{"op": "add", "path": "phoneNumbers[type eq \"mobile\" and display eq \"cell\"].value", "value": "+1"}]),
            Want::Is(json!({"userName": "ann",
                "phoneNumbers": [{"type": "mobile", "display": "cell", "value": "+1"}]})),
        ),
        (
            "add of a whole value through a filter",
            json!({"userName": "ann"}),
            json!([{"op": "add", "path": "emails[type eq \"home\"]", "value": {"value": "h@x.com"}}]),
            Want::Is(json!({"userName": "ann", "emails": [{"type": "home", "value": "h@x.com"}]})),
        ),
        (
            "add cannot create what its filter does not describe",
            user(),
            json!([{"op": "add", "path": "emails[value co \"zz\"].display", "value": "x"}]),
            Want::Err("noTarget"),
        ),
        (
            "add cannot create a value its filter would not select",
            user(),
            json!([{"op": "add", "path": "emails[value eq \"zz@x.com\"].value", "value": "other@x.com"}]),
            Want::Err("noTarget"),
        ),
        (
            "clearing an Entra path that matches nothing is a no-op",
            user(),
            json!([{"op": "Replace", "path": "addresses[type eq \"work\"].streetAddress", "value": ""}]),
            Want::Is(user()),
        ),
    ]);
}

#[test]
fn filtered_replace_changes_only_matches_and_otherwise_is_no_target() {
    user_cases(vec![
        (
            "replaces every matching value",
            json!({"userName": "ann", "emails": [
                {"value": "a@x.com", "type": "work"}, {"value": "b@x.com", "type": "work"},
                {"value": "c@x.com", "type": "home"}]}),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].display", "value": "W"}]),
            Want::Is(json!({"userName": "ann", "emails": [
                {"value": "a@x.com", "type": "work", "display": "W"},
                {"value": "b@x.com", "type": "work", "display": "W"},
                {"value": "c@x.com", "type": "home"}]})),
        ),
        (
            "no match with a filter other than type eq",
            user(),
            json!([{"op": "replace", "path": "emails[value eq \"zz@x.com\"].type", "value": "home"}]),
            Want::Err("noTarget"),
        ),
        (
            "no match with type eq but no sub-attribute",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@x.com"}}]),
            Want::Err("noTarget"),
        ),
        (
            "no match with type eq and more",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"other\" and primary eq true].value", "value": "o@x.com"}]),
            Want::Err("noTarget"),
        ),
        (
            "replace with null unassigns the selected values",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": null}]),
            Want::Is(user_with(|u| {
                u["emails"].as_array_mut().unwrap().truncate(1)
            })),
        ),
        (
            "a filtered replace needs one object",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": [{"value": "x@x.com"}]}]),
            Want::Err("invalidValue"),
        ),
    ]);
}

#[test]
fn filtered_remove_removes_only_matches_and_otherwise_is_no_target() {
    user_cases(vec![
        (
            "removes the matching values",
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
            Want::Is(user_with(|u| {
                u["emails"].as_array_mut().unwrap().truncate(1)
            })),
        ),
        (
            "removes a sub-attribute of the matching values",
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"work\"].primary"}]),
            Want::Is(user_with(|u| {
                u["emails"][0].as_object_mut().unwrap().remove("primary");
            })),
        ),
        (
            "removing every value unassigns the attribute",
            user(),
            json!([{"op": "remove", "path": "emails[value ew \".com\"]"}]),
            Want::Is(user_with(|u| {
                u.as_object_mut().unwrap().remove("emails");
            })),
        ),
        (
            "a filter that matches nothing",
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"other\"]"}]),
            Want::Err("noTarget"),
        ),
        (
            "a filter that matches nothing, with a sub-attribute",
            user(),
            json!([{"op": "remove", "path": "emails[type eq \"other\"].value"}]),
            Want::Err("noTarget"),
        ),
        (
            "a filter on an attribute without values",
            json!({"userName": "ann"}),
            json!([{"op": "remove", "path": "phoneNumbers[type eq \"work\"]"}]),
            Want::Err("noTarget"),
        ),
        (
            "without a filter, all values go",
            user(),
            json!([{"op": "remove", "path": "emails"}]),
            Want::Is(user_with(|u| {
                u.as_object_mut().unwrap().remove("emails");
            })),
        ),
        (
            "Entra's remove with a value list removes only those",
            user(),
            json!([{"op": "Remove", "path": "emails", "value": [{"value": "a@h.com"}]}]),
            Want::Is(user_with(|u| {
                u["emails"].as_array_mut().unwrap().truncate(1)
            })),
        ),
        (
            "a listed value matching nothing changes nothing",
            user(),
            json!([{"op": "Remove", "path": "emails", "value": [{"value": "zz@x.com"}]}]),
            Want::Is(user()),
        ),
        (
            "a listed value by several sub-attributes",
            json!({"userName": "ann", "addresses": [{"type": "work", "locality": "A"}, {"type": "home", "locality": "A"}]}),
            json!([{"op": "Remove", "path": "addresses", "value": [{"type": "home", "locality": "A"}]}]),
            Want::Is(json!({"userName": "ann", "addresses": [{"type": "work", "locality": "A"}]})),
        ),
        (
            "an empty listed value selects nothing",
            user(),
            json!([{"op": "Remove", "path": "emails", "value": [{}]}]),
            Want::Is(user()),
        ),
        (
            "remove of an unassigned attribute without a filter is a no-op",
            json!({"userName": "ann"}),
            json!([{"op": "remove", "path": "title"}]),
            Want::Is(json!({"userName": "ann"})),
        ),
        (
            "remove without a path",
            user(),
            json!([{"op": "remove"}]),
            Want::Err("noTarget"),
        ),
        (
            "remove with an empty path",
            user(),
            json!([{"op": "remove", "path": " ", "value": {"title": "x"}}]),
            Want::Err("noTarget"),
        ),
    ]);
}

#[test]
fn setting_primary_clears_it_on_the_other_values() {
    let demoted = |u: &mut Value| u["emails"][0]["primary"] = json!(false);
    user_cases(vec![
        (
            "add a primary value",
            user(),
            json!([{"op": "add", "path": "emails", "value": [{"value": "p@x.com", "primary": true}]}]),
            Want::Is(user_with(|u| {
                demoted(u);
                u["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"value": "p@x.com", "primary": true}));
            })),
        ),
        (
            "replace primary through a filter, with Entra's string boolean",
            user(),
            json!([{"op": "Replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
            Want::Is(user_with(|u| {
                demoted(u);
                u["emails"][1]["primary"] = json!(true);
            })),
        ),
        (
            "a filtered add that creates a primary value",
            user(),
            json!([{"op": "add", "path": "emails[type eq \"other\" and primary eq true].value", "value": "o@x.com"}]),
            Want::Is(user_with(|u| {
                demoted(u);
                u["emails"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "other", "primary": true, "value": "o@x.com"}));
            })),
        ),
        (
            "path-less replace of the list keeps its one primary",
            user(),
            json!([{"op": "replace", "value": {"emails": [{"value": "n@x.com", "primary": true}, {"value": "m@x.com"}]}}]),
            Want::Is(user_with(
                |u| {
                    u["emails"] =
                        json!([{"value": "n@x.com", "primary": true}, {"value": "m@x.com"}])
                },
            )),
        ),
        (
            "an operation that makes two values primary",
            user(),
            json!([{"op": "replace", "path": "emails", "value": [
                {"value": "a@x.com", "primary": true}, {"value": "b@x.com", "primary": true}]}]),
            Want::Err("invalidValue"),
        ),
        (
            "primary on every value at once",
            user(),
            json!([{"op": "replace", "path": "emails.primary", "value": true}]),
            Want::Err("invalidValue"),
        ),
        (
            "primary false changes nothing else",
            user(),
            json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": false}]),
            Want::Is(user_with(|u| u["emails"][1]["primary"] = json!(false))),
        ),
    ]);
}

#[test]
fn pathless_add_and_replace_merge_the_object() {
    user_cases(vec![
        (
            "dotted keys and plain keys (Entra aadOptscim062020)",
            user(),
            json!([{"op": "replace", "value": {"name.givenName": "Zed", "active": false}}]),
            Want::Is(user_with(|u| {
                u["name"]["givenName"] = json!("Zed");
                u["active"] = json!(false);
            })),
        ),
        (
            "a complex attribute merges its sub-attributes",
            user(),
            json!([{"op": "replace", "value": {"name": {"middleName": "M"}}}]),
            Want::Is(user_with(|u| u["name"]["middleName"] = json!("M"))),
        ),
        (
            "URN-qualified enterprise key",
            user(),
            json!([{"op": "replace", "value": {format!("{ENT}:department"): "R&D"}}]),
            Want::Is(user_with(|u| u[ENT]["department"] = json!("R&D"))),
        ),
        (
            "URN-qualified enterprise dotted key",
            user(),
            json!([{"op": "replace", "value": {format!("{ENT}:manager.value"): "boss9"}}]),
            Want::Is(user_with(|u| u[ENT]["manager"]["value"] = json!("boss9"))),
        ),
        (
            "enterprise object merges and may carry its own schemas",
            user(),
            json!([{"op": "add", "value": {ENT: {"schemas": [ENT], "costCenter": "7"}}}]),
            Want::Is(user_with(|u| u[ENT]["costCenter"] = json!("7"))),
        ),
        (
            "core URN object and core URN-qualified key",
            user(),
            json!([{"op": "replace", "value": {CORE_USER: {"title": "T"},
                    format!("{CORE_USER}:nickName"): "N"}}]),
            Want::Is(user_with(|u| {
                u["title"] = json!("T");
                u["nickName"] = json!("N");
            })),
        ),
        (
            "schemas in the value is ignored",
            user(),
            json!([{"op": "replace", "value": {"schemas": [CORE_USER], "title": "T"}}]),
            Want::Is(user_with(|u| u["title"] = json!("T"))),
        ),
        (
            "an empty value changes nothing",
            user(),
            json!([{"op": "add", "value": {}}]),
            Want::Is(user()),
        ),
        (
            "a value that is not an object",
            user(),
            json!([{"op": "replace", "value": 5}]),
            Want::Err("invalidValue"),
        ),
        (
            "an unknown key",
            user(),
            json!([{"op": "replace", "value": {"shoeSize": 5}}]),
            Want::Err("invalidPath"),
        ),
        (
            "the enterprise object with null is removed by replace",
            user(),
            json!([{"op": "replace", "value": {ENT: null}}]),
            Want::Is(user_with(|u| {
                u.as_object_mut().unwrap().remove(ENT);
            })),
        ),
    ]);
}

#[test]
fn null_and_empty_string_clear_on_replace_and_null_is_a_no_op_on_add() {
    user_cases(vec![
        (
            "replace null",
            user_with(|u| u["title"] = json!("T")),
            json!([{"op": "replace", "path": "title", "value": null}]),
            Want::Is(user()),
        ),
        (
            "replace empty string",
            user_with(|u| u["title"] = json!("T")),
            json!([{"op": "replace", "path": "title", "value": ""}]),
            Want::Is(user()),
        ),
        (
            "replace empty string of a sub-attribute",
            user(),
            json!([{"op": "replace", "path": "name.familyName", "value": ""}]),
            Want::Is(user_with(|u| u["name"] = json!({"givenName": "Ann"}))),
        ),
        (
            "replace empty string of an enterprise attribute",
            user(),
            json!([{"op": "Replace", "path": format!("{ENT}:department"), "value": ""}]),
            Want::Is(user_with(|u| {
                u[ENT] = json!({"manager": {"value": "boss"}})
            })),
        ),
        (
            "replace the manager with null (Entra)",
            user(),
            json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": null}]),
            Want::Is(user_with(|u| u[ENT] = json!({"department": "Ops"}))),
        ),
        (
            "replace the manager with an empty string",
            user(),
            json!([{"op": "Replace", "path": format!("{ENT}:manager"), "value": ""}]),
            Want::Is(user_with(|u| u[ENT] = json!({"department": "Ops"}))),
        ),
        (
            "replace a multi-valued attribute with null",
            user(),
            json!([{"op": "replace", "path": "emails", "value": null}]),
            Want::Is(user_with(|u| {
                u.as_object_mut().unwrap().remove("emails");
            })),
        ),
        (
            "replace a multi-valued attribute with an empty array",
            user(),
            json!([{"op": "replace", "path": "emails", "value": []}]),
            Want::Is(user_with(|u| {
                u.as_object_mut().unwrap().remove("emails");
            })),
        ),
        (
            "path-less replace with null and empty-string keys",
            user_with(|u| u["title"] = json!("T")),
            json!([{"op": "replace", "value": {"title": "", "name.givenName": null}}]),
            Want::Is(user_with(|u| u["name"] = json!({"familyName": "Lee"}))),
        ),
        (
            "a sub-attribute null inside a complex value unassigns it",
            user(),
            json!([{"op": "replace", "path": "name", "value": {"givenName": null, "middleName": "M"}}]),
            Want::Is(user_with(|u| {
                u["name"] = json!({"familyName": "Lee", "middleName": "M"})
            })),
        ),
        (
            "add null changes nothing",
            user_with(|u| u["title"] = json!("T")),
            json!([{"op": "add", "path": "title", "value": null}]),
            Want::Is(user_with(|u| u["title"] = json!("T"))),
        ),
        (
            "add empty string to a single-valued string clears it (add replaces)",
            user_with(|u| u["title"] = json!("T")),
            json!([{"op": "add", "path": "title", "value": ""}]),
            Want::Is(user()),
        ),
        (
            "add or replace without any value",
            user(),
            json!([{"op": "replace", "path": "title"}]),
            Want::Err("invalidValue"),
        ),
        (
            "removing a required attribute",
            user(),
            json!([{"op": "remove", "path": "userName"}]),
            Want::Err("mutability"),
        ),
        (
            "clearing a required attribute",
            user(),
            json!([{"op": "replace", "path": "userName", "value": ""}]),
            Want::Err("mutability"),
        ),
        (
            "clearing a required attribute with null, path-less",
            user(),
            json!([{"op": "replace", "value": {"userName": null}}]),
            Want::Err("mutability"),
        ),
    ]);
}

#[test]
fn idp_dialects_are_accepted() {
    user_cases(vec![
        (
            "capitalised op and a string boolean (Entra)",
            user(),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
            Want::Is(user_with(|u| u["active"] = json!(false))),
        ),
        (
            "upper-case op",
            user(),
            json!([{"op": "REMOVE", "path": "name"}]),
            Want::Is(user_with(|u| {
                u.as_object_mut().unwrap().remove("name");
            })),
        ),
        (
            "Add on a single-valued attribute that has a value replaces it",
            user(),
            json!([{"op": "Add", "path": "userName", "value": "ann2"}]),
            Want::Is(user_with(|u| u["userName"] = json!("ann2"))),
        ),
        (
            "manager as a bare id (Entra)",
            json!({"userName": "ann"}),
            json!([{"op": "Add", "path": format!("{ENT}:manager"), "value": "boss-id"}]),
            Want::Is(json!({"userName": "ann", ENT: {"manager": {"value": "boss-id"}}})),
        ),
        (
            "manager as a bare id in a path-less value",
            user(),
            json!([{"op": "Replace", "value": {format!("{ENT}:manager"): "boss-id"}}]),
            Want::Is(user_with(|u| {
                u[ENT]["manager"] = json!({"value": "boss-id"})
            })),
        ),
        (
            "Okta deactivation: path-less replace of active",
            user(),
            json!([{"op": "replace", "value": {"active": false}}]),
            Want::Is(user_with(|u| u["active"] = json!(false))),
        ),
        (
            "path-less string boolean",
            user(),
            json!([{"op": "Replace", "value": {"active": "True"}}]),
            Want::Is(user()),
        ),
        (
            "a keys-in-any-case operation object",
            user(),
            json!([{"OP": "replace", "PATH": "title", "VALUE": "T"}]),
            Want::Is(user_with(|u| u["title"] = json!("T"))),
        ),
        (
            "a string that is not a boolean",
            user(),
            json!([{"op": "replace", "path": "active", "value": "maybe"}]),
            Want::Err("invalidValue"),
        ),
        (
            "an unknown op",
            user(),
            json!([{"op": "jump", "path": "active", "value": true}]),
            Want::Err("invalidSyntax"),
        ),
    ]);
}

#[test]
fn read_only_attributes_are_mutability_errors_except_the_own_id() {
    let own_lower = ID.to_lowercase();
    user_cases(vec![
        (
            "replace id with another id",
            user(),
            json!([{"op": "replace", "path": "id", "value": U1}]),
            Want::Err("mutability"),
        ),
        (
            "replace id with the resource's own id",
            user(),
            json!([{"op": "replace", "path": "id", "value": ID}]),
            Want::Is(user()),
        ),
        (
            "path-less value echoing the own id, in lower case",
            user(),
            json!([{"op": "replace", "value": {"id": own_lower, "title": "T"}}]),
            Want::Is(user_with(|u| u["title"] = json!("T"))),
        ),
        (
            "path-less value with another id",
            user(),
            json!([{"op": "replace", "value": {"id": U1, "title": "T"}}]),
            Want::Err("mutability"),
        ),
        (
            "remove id",
            user(),
            json!([{"op": "remove", "path": "id"}]),
            Want::Err("mutability"),
        ),
        (
            "meta",
            user(),
            json!([{"op": "replace", "path": "meta", "value": {"resourceType": "User"}}]),
            Want::Err("mutability"),
        ),
        (
            "meta.lastModified",
            user(),
            json!([{"op": "replace", "path": "meta.lastModified", "value": "2024-01-01T00:00:00Z"}]),
            Want::Err("mutability"),
        ),
        (
            "meta in a path-less value",
            user(),
            json!([{"op": "replace", "value": {"meta": {"version": "W/\"1\""}}}]),
            Want::Err("mutability"),
        ),
        (
            "groups",
            user(),
            json!([{"op": "add", "path": "groups", "value": [{"value": U1}]}]),
            Want::Err("mutability"),
        ),
        (
            "groups in a path-less value",
            user(),
            json!([{"op": "add", "value": {"groups": [{"value": U1}]}}]),
            Want::Err("mutability"),
        ),
        (
            "a read-only sub-attribute",
            user(),
            json!([{"op": "replace", "path": format!("{ENT}:manager.displayName"), "value": "B"}]),
            Want::Err("mutability"),
        ),
    ]);
}

#[test]
fn a_failing_operation_leaves_the_resource_untouched() {
    let before = normalize(ResourceKind::User, &user()).unwrap();
    for bad in [
        json!({"op": "remove", "path": "emails[type eq \"other\"]"}),
        json!({"op": "replace", "path": "id", "value": U1}),
        json!({"op": "remove", "path": "userName"}),
        json!({"op": "replace", "path": "emails", "value": [
            {"value": "a@x.com", "primary": true}, {"value": "b@x.com", "primary": true}]}),
    ] {
        let ops = parse_request(
            SchemaSet::standard(),
            ResourceKind::User,
            &body(json!([
                {"op": "replace", "path": "displayName", "value": "Changed"},
                {"op": "remove", "path": "emails[type eq \"home\"]"},
                {"op": "add", "path": format!("{ENT}:costCenter"), "value": "9"},
                bad
            ])),
        )
        .unwrap();
        let mut doc = before.clone();
        let err = apply(ResourceKind::User, ID, &mut doc, &ops).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.detail.starts_with("Operations[3]"), "{}", err.detail);
        assert_eq!(doc, before, "a failed PATCH must not half-apply");
    }
}

// ---------------------------------------------------------------------------------------------
// Groups and members

fn group() -> Value {
    json!({"displayName": "G"})
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn adds(list: &[&str]) -> MemberChanges {
    MemberChanges {
        add: ids(list),
        ..MemberChanges::default()
    }
}

fn removes(list: &[&str]) -> MemberChanges {
    MemberChanges {
        remove: ids(list),
        ..MemberChanges::default()
    }
}

fn replaces(list: &[&str]) -> MemberChanges {
    MemberChanges {
        replace_with: Some(ids(list)),
        ..MemberChanges::default()
    }
}

#[test]
fn every_spelling_of_members_goes_through_member_changes() {
    let u1_lower = U1.to_lowercase();
    let cases: Vec<(&str, Value, MemberChanges, Value)> = vec![
        (
            "path members",
            json!([{"op": "add", "path": "members", "value": [{"value": U1}, {"value": U2}]}]),
            adds(&[U1, U2]),
            group(),
        ),
        (
            "path in another case, capitalised op",
            json!([{"op": "Add", "path": "Members", "value": [{"value": U1}]}]),
            adds(&[U1]),
            group(),
        ),
        (
            "URN-qualified path",
            json!([{"op": "add", "path": format!("{CORE_GROUP}:members"), "value": [{"value": U1}]}]),
            adds(&[U1]),
            group(),
        ),
        (
            "path-less members",
            json!([{"op": "add", "value": {"members": [{"value": U1}]}}]),
            adds(&[U1]),
            group(),
        ),
        (
            "path-less URN-qualified members key (stored inside the group before)",
            json!([{"op": "add", "value": {format!("{CORE_GROUP}:members"): [{"value": U1}], "displayName": "H"}}]),
            adds(&[U1]),
            json!({"displayName": "H"}),
        ),
        (
            "path-less core schema object with members",
            json!([{"op": "replace", "value": {CORE_GROUP: {"members": [{"value": U1}], "displayName": "H"}}}]),
            replaces(&[U1]),
            json!({"displayName": "H"}),
        ),
        (
            "the core schema as the path",
            json!([{"op": "add", "path": CORE_GROUP, "value": {"members": [{"value": U1}]}}]),
            adds(&[U1]),
            group(),
        ),
        (
            "members[value eq] remove (Okta, Entra aadOptscim062020)",
            json!([{"op": "remove", "path": format!("members[value eq \"{U1}\"]")}]),
            removes(&[U1]),
            group(),
        ),
        (
            "members[value eq or value eq] remove",
            json!([{"op": "remove", "path": format!("members[value eq \"{U1}\" or value eq \"{u1_lower}\" or value eq \"{U2}\"]")}]),
            removes(&[U1, U2]),
            group(),
        ),
        (
            "Entra Remove with a value list removes only those",
            json!([{"op": "Remove", "path": "members", "value": [{"value": U2}]}]),
            removes(&[U2]),
            group(),
        ),
        (
            "remove without a value removes all",
            json!([{"op": "remove", "path": "members"}]),
            replaces(&[]),
            group(),
        ),
        (
            "Okta full replace",
            json!([{"op": "replace", "path": "members", "value": [{"value": U1}, {"value": U2}]}]),
            replaces(&[U1, U2]),
            group(),
        ),
        (
            "Okta rename with its own id and the member list",
            json!([{"op": "replace", "value": {"id": ID, "displayName": "Renamed", "members": [{"value": U1}]}}]),
            replaces(&[U1]),
            json!({"displayName": "Renamed"}),
        ),
        (
            "replace with null empties the group",
            json!([{"op": "replace", "path": "members", "value": null}]),
            replaces(&[]),
            group(),
        ),
        (
            "add null adds nothing",
            json!([{"op": "add", "path": "members", "value": null}]),
            MemberChanges::default(),
            group(),
        ),
        (
            "the same member twice, in two cases, is one change",
            json!([{"op": "add", "path": "members", "value": [{"value": U1}, {"value": u1_lower}]},
                   {"op": "add", "path": "members", "value": {"value": u1_lower}}]),
            adds(&[U1]),
            group(),
        ),
        (
            "add then remove of the same member",
            json!([{"op": "add", "path": "members", "value": [{"value": U1}, {"value": U2}]},
                   {"op": "remove", "path": format!("members[value eq \"{u1_lower}\"]")}]),
            MemberChanges {
                add: ids(&[U2]),
                remove: ids(&[U1]),
                replace_with: None,
            },
            group(),
        ),
        (
            "replace then add folds into the complete list",
            json!([{"op": "replace", "path": "members", "value": [{"value": U1}]},
                   {"op": "add", "path": "members", "value": [{"value": U2}]}]),
            replaces(&[U1, U2]),
            group(),
        ),
        (
            "a non-ULID id is kept as given for the store to refuse",
            json!([{"op": "add", "path": "members", "value": [{"value": "not-a-ulid"}]}]),
            adds(&["not-a-ulid"]),
            group(),
        ),
        (
            "Okta's display next to the value is ignored",
            json!([{"op": "add", "path": "members", "value": [{"value": U1, "display": "isabella@okta.example"}]}]),
            adds(&[U1]),
            group(),
        ),
    ];
    let mut failures = Vec::new();
    for (name, ops, want_changes, want_attrs) in cases {
        match run(ResourceKind::Group, &group(), ops.clone()) {
            Ok((changes, attrs)) => {
                let want_attrs =
                    Value::Object(normalize(ResourceKind::Group, &want_attrs).unwrap());
                if changes != want_changes || attrs != want_attrs {
                    failures.push(format!(
                        "{name}: {ops}\n  got {changes:?} {attrs}\n  expected {want_changes:?} {want_attrs}"
                    ));
                }
            }
            Err(e) => failures.push(format!("{name}: {ops}\n  failed: {e:?}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bad_member_operations_are_refused() {
    check(
        ResourceKind::Group,
        vec![
            (
                "a member sub-attribute",
                group(),
                json!([{"op": "replace", "path": "members.display", "value": "x"}]),
                Want::Err("mutability"),
            ),
            (
                "a member sub-attribute through a filter",
                group(),
                json!([{"op": "replace", "path": format!("members[value eq \"{U1}\"].value"), "value": U2}]),
                Want::Err("mutability"),
            ),
            (
                "a group as a member",
                group(),
                json!([{"op": "add", "path": "members", "value": [{"value": U1, "type": "Group"}]}]),
                Want::Err("invalidValue"),
            ),
            (
                "a member without a value",
                group(),
                json!([{"op": "add", "path": "members", "value": [{"display": "x"}]}]),
                Want::Err("invalidValue"),
            ),
            (
                "a member filter on another sub-attribute",
                group(),
                json!([{"op": "remove", "path": "members[display eq \"x\"]"}]),
                Want::Err("invalidFilter"),
            ),
            (
                "Okta rename carrying another group's id",
                group(),
                json!([{"op": "replace", "value": {"id": U1, "displayName": "Renamed"}}]),
                Want::Err("mutability"),
            ),
            (
                "Okta rename carrying its own id",
                group(),
                json!([{"op": "replace", "value": {"id": ID, "displayName": "Renamed"}}]),
                Want::Is(json!({"displayName": "Renamed"})),
            ),
            (
                "removing the group's required displayName",
                group(),
                json!([{"op": "remove", "path": "displayName"}]),
                Want::Err("mutability"),
            ),
            (
                "an enterprise path on a group",
                group(),
                json!([{"op": "remove", "path": ENT}]),
                Want::Err("invalidPath"),
            ),
        ],
    );
}

#[test]
fn members_never_reach_the_attribute_patch() {
    // A caller that forgot `members::split` gets an error, never members stored in the group item.
    let ops = parse_request(
        SchemaSet::standard(),
        ResourceKind::Group,
        &body(json!([
            {"op": "add", "value": {format!("{CORE_GROUP}:members"): [{"value": U1}]}}
        ])),
    )
    .unwrap();
    let mut doc = normalize(ResourceKind::Group, &group()).unwrap();
    let err = apply(ResourceKind::Group, ID, &mut doc, &ops).unwrap_err();
    assert_eq!(err.status, 500);
    assert!(!doc.contains_key("members"));
}

// ---------------------------------------------------------------------------------------------
// Limits

fn member_ops(n: usize, per_op: usize) -> Value {
    let ops: Vec<Value> = (0..n)
        .map(|i| {
            let values: Vec<Value> = (0..per_op)
                .map(|j| json!({"value": ulid::Ulid::from_parts(i as u64, j as u128).to_string()}))
                .collect();
            json!({"op": "add", "path": "members", "value": values})
        })
        .collect();
    Value::Array(ops)
}

#[test]
fn limits_on_operations_and_member_changes() {
    let err = parse_request(
        SchemaSet::standard(),
        ResourceKind::Group,
        &body(member_ops(MAX_OPERATIONS + 1, 1)),
    )
    .unwrap_err();
    assert_eq!(err.scim_type.map(|t| t.as_str()), Some("invalidValue"));
    let (changes, _) = run(ResourceKind::Group, &group(), member_ops(MAX_OPERATIONS, 1)).unwrap();
    assert_eq!(changes.add.len(), MAX_OPERATIONS.min(MAX_MEMBER_CHANGES));

    let (changes, _) = run(
        ResourceKind::Group,
        &group(),
        member_ops(1, MAX_MEMBER_CHANGES),
    )
    .unwrap();
    assert_eq!(changes.add.len(), MAX_MEMBER_CHANGES);
    let err = run(
        ResourceKind::Group,
        &group(),
        member_ops(2, MAX_MEMBER_CHANGES / 2 + 1),
    )
    .unwrap_err();
    assert_eq!(err.scim_type.map(|t| t.as_str()), Some("invalidValue"));

    // Duplicates do not count twice.
    let mut twice = member_ops(1, MAX_MEMBER_CHANGES);
    let again = twice[0].clone();
    twice.as_array_mut().unwrap().push(again);
    assert!(run(ResourceKind::Group, &group(), twice).is_ok());

    // A complete list is not capped (as for POST and PUT).
    let values: Vec<Value> = (0..MAX_MEMBER_CHANGES as u128 + 5)
        .map(|j| json!({"value": ulid::Ulid::from_parts(1, j).to_string()}))
        .collect();
    let (changes, _) = run(
        ResourceKind::Group,
        &group(),
        json!([{"op": "replace", "path": "members", "value": values}]),
    )
    .unwrap();
    assert_eq!(
        changes.replace_with.map(|s| s.len()),
        Some(MAX_MEMBER_CHANGES + 5)
    );
}

#[test]
fn limits_on_attribute_operations_and_values() {
    // Each attribute of a path-less value counts as an operation.
    let many: serde_json::Map<String, Value> = (0..=MAX_OPERATIONS)
        .map(|i| (format!("{ENT}:department"), json!(i.to_string())))
        .chain(
            (0..=MAX_OPERATIONS).map(|i| (format!("emails[value eq \"{i}\"].display"), json!("t"))),
        )
        .collect();
    let err = parse_request(
        SchemaSet::standard(),
        ResourceKind::User,
        &body(json!([{"op": "replace", "value": many}])),
    )
    .unwrap_err();
    assert_eq!(err.scim_type.map(|t| t.as_str()), Some("invalidValue"));

    let emails = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"value": format!("{i}@x.com")}))
            .collect()
    };
    // A resource holds at most MAX_VALUES_PER_ATTRIBUTE values of an attribute (validation).
    let (_, out) = run(
        ResourceKind::User,
        &user(),
        json!([{"op": "replace", "path": "emails", "value": emails(MAX_VALUES_PER_ATTRIBUTE)}]),
    )
    .unwrap();
    assert_eq!(
        out["emails"].as_array().map(Vec::len),
        Some(MAX_VALUES_PER_ATTRIBUTE)
    );
    let err = run(
        ResourceKind::User,
        &user(),
        json!([{"op": "add", "path": "emails", "value": emails(MAX_VALUES_PER_ATTRIBUTE + 1)}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type.map(|t| t.as_str()), Some("invalidValue"));
    for op in ["add", "replace", "remove"] {
        let err = run(
            ResourceKind::User,
            &user(),
            json!([{"op": op, "path": "emails", "value": emails(MAX_VALUES_PER_OPERATION + 1)}]),
        )
        .unwrap_err();
        assert_eq!(
            err.scim_type.map(|t| t.as_str()),
            Some("invalidValue"),
            "{op}"
        );
    }
}
