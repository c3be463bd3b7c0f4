//! The schemas are a value: an extension schema added to a `SchemaSet` as data (no code of its
//! own) is accepted by every part of the protocol that takes the set — validation, PATCH,
//! filters, sorting, projection, list queries, the planner and discovery — and refused by the
//! standard set, which does not have it. Pure: no DynamoDB.
//!
//! `cargo test --lib tests::schema_as_data`

use crate::protocol::discovery::{all_schemas_json, resource_type, schema_json};
use crate::protocol::filter::{parse_attr_path, parse_filter, Filter};
use crate::protocol::list::ListQuery;
use crate::protocol::matcher::{matches, validate};
use crate::protocol::patch::{apply, parse_request, PATCH_OP_SCHEMA};
use crate::protocol::planner::{plan, KeyCondition, SortRequest, Source};
use crate::protocol::projection::Projection;
use crate::protocol::resource::{normalize_with, ResourceKind::User};
use crate::protocol::schema::{AttrType, AttributeDef, SchemaDef, SchemaSet};
use crate::protocol::sort::{self, SortOrder, SortSpec};
use crate::protocol::ScimType;
use serde_json::{json, Value};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const BADGE: &str = "urn:example:params:scim:schemas:extension:badge:2.0:User";
const BASE_URL: &str = "https://scim.example.com/t/scim/v2";

/// A tenant's extension, given as data: no code of its own.
fn test_extension() -> SchemaDef {
    SchemaDef {
        id: BADGE.into(),
        name: "Badge".into(),
        description: "A tenant's badge extension, given as data".into(),
        attributes: vec![
            // caseExact false, as every `AttributeDef::new` string is.
            AttributeDef::new(
                "badge",
                AttrType::String,
                "The badge printed on the user's pass.",
            ),
            AttributeDef::new("level", AttrType::Integer, "The user's clearance level."),
        ],
    }
}

fn extended() -> SchemaSet {
    SchemaSet::standard()
        .clone()
        .with_extension(User, test_extension())
        .expect("the badge URN is not in the standard set")
}

fn standard() -> &'static SchemaSet {
    SchemaSet::standard()
}

/// `urn:…:badge:2.0:User:<name>`
fn ext(name: &str) -> String {
    format!("{BADGE}:{name}")
}

/// A rendered user (stored attributes plus `id`) carrying the extension.
fn user(id: &str, badge: &str, level: i64) -> Value {
    json!({
        "schemas": [CORE_USER, BADGE],
        "id": id,
        "userName": format!("user-{id}"),
        BADGE: {"badge": badge, "level": level},
    })
}

fn filter(text: &str) -> Filter {
    parse_filter(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn normalize_accepts_the_extension_and_lists_its_urn_in_schemas() {
    let input = json!({"userName": "ann", BADGE: {"BADGE": "B-7", "level": 5}});
    let stored = normalize_with(&extended(), User, &input).expect("valid under the extended set");
    assert_eq!(
        Value::Object(stored),
        json!({"schemas": [CORE_USER, BADGE], "userName": "ann",
               BADGE: {"badge": "B-7", "level": 5}})
    );

    let wrong_type = json!({"userName": "ann", BADGE: {"level": "five"}});
    let err = normalize_with(&extended(), User, &wrong_type).unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
    assert!(err.detail.contains("level") && err.detail.contains("integer"));

    let err = normalize_with(standard(), User, &input).unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn a_patch_path_into_the_extension_applies_and_the_result_validates() {
    let set = extended();
    let before = json!({"userName": "ann", BADGE: {"badge": "B-7", "level": 5}});
    let mut doc = normalize_with(&set, User, &before).expect("valid");
    let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
        {"op": "replace", "path": ext("badge"), "value": "B-9"},
        // A path-less value keyed by the extension's URN: only the set knows it is a schema.
        {"op": "add", "value": {BADGE: {"level": 6}}},
    ]});
    let ops = parse_request(&set, User, &body).expect("parses under the extended set");
    apply(User, "01J0ANN", &mut doc, &ops).expect("applies");
    let after = normalize_with(&set, User, &Value::Object(doc)).expect("still valid");
    assert_eq!(after[BADGE], json!({"badge": "B-9", "level": 6}));

    // Removing the whole extension by its URN.
    let mut doc = after;
    let body =
        json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "remove", "path": BADGE}]});
    let ops = parse_request(&set, User, &body).expect("parses");
    apply(User, "01J0ANN", &mut doc, &ops).expect("applies");
    assert!(!doc.contains_key(BADGE));

    // The standard set has no such attribute.
    let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [
        {"op": "replace", "path": ext("badge"), "value": "B-9"}]});
    let err = parse_request(standard(), User, &body).unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
    let err = parse_request(
        standard(),
        User,
        &json!({"schemas": [PATCH_OP_SCHEMA],
        "Operations": [{"op": "remove", "path": BADGE}]}),
    )
    .unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidPath));
}

#[test]
fn a_filter_on_the_extension_validates_and_matches_with_its_types() {
    let set = extended();
    let senior = user("01JA", "B-7", 5);
    let junior = user("01JB", "B-8", 2);

    let f = filter(&format!("{} gt 3", ext("level")));
    validate(&set, User, &f).expect("level is an integer of the extension");
    assert!(matches(&set, User, &f, &senior));
    assert!(!matches(&set, User, &f, &junior));

    // `badge` is not caseExact: compared ignoring case.
    let f = filter(&format!("{} eq \"b-7\"", ext("badge")));
    validate(&set, User, &f).expect("valid");
    assert!(matches(&set, User, &f, &senior));

    // The type comes from the schema: a string is no integer.
    let err = validate(&set, User, &filter(&format!("{} gt \"3\"", ext("level")))).unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidFilter));

    let err = validate(standard(), User, &filter(&format!("{} gt 3", ext("level")))).unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidFilter));
    assert!(!matches(
        standard(),
        User,
        &filter(&format!("{} gt 3", ext("level"))),
        &senior
    ));
}

#[test]
fn sort_by_an_extension_attribute_orders_by_its_type() {
    let set = extended();
    let spec = SortSpec::parse(&set, User, Some(ext("LEVEL").as_str()), Some("descending"))
        .expect("sortBy names the extension's level")
        .expect("a sortBy was given");
    assert_eq!(spec.path.uri.as_deref(), Some(BADGE));
    assert_eq!(spec.path.name, "level");
    assert_eq!(spec.order, SortOrder::Descending);

    // Integers by value, not as text: 10 > 9 > 2.
    let mut users = vec![
        user("01JA", "a", 9),
        user("01JB", "b", 10),
        user("01JC", "c", 2),
    ];
    sort::sort(&set, User, &spec, &mut users);
    let ids: Vec<&str> = users.iter().filter_map(|u| u["id"].as_str()).collect();
    assert_eq!(ids, ["01JB", "01JA", "01JC"]);

    let err = SortSpec::parse(standard(), User, Some(ext("level").as_str()), None).unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn projection_returns_an_extension_attribute_or_the_whole_extension_by_urn() {
    let set = extended();
    let resource = user("01JA", "B-7", 5);

    let p = Projection::parse(&set, Some(ext("badge").as_str()), None).expect("parses");
    assert_eq!(
        p.apply(&set, User, resource.clone()),
        json!({"schemas": [CORE_USER, BADGE], "id": "01JA", BADGE: {"badge": "B-7"}})
    );

    // The URN alone names the whole extension, because the set knows it is one.
    let p = Projection::parse(&set, Some(BADGE), None).expect("parses");
    assert_eq!(
        p.apply(&set, User, resource.clone()),
        json!({"schemas": [CORE_USER, BADGE], "id": "01JA", BADGE: {"badge": "B-7", "level": 5}})
    );
    let p = Projection::parse(&set, None, Some(BADGE)).expect("parses");
    assert!(p.apply(&set, User, resource).get(BADGE).is_none());
}

#[test]
fn a_list_query_on_the_extension_parses_filter_sort_and_attributes() {
    let set = extended();
    let params: Vec<(String, String)> = [
        ("filter", format!("{} gt 3", ext("level"))),
        ("sortBy", ext("badge")),
        ("attributes", ext("badge")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let q = ListQuery::from_params(&set, User, &params).expect("every parameter is known");
    assert!(q.filter.is_some() && q.sort.is_some());
    assert!(ListQuery::from_params(standard(), User, &params).is_err());

    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                      "filter": format!("{} eq \"B-7\"", ext("badge")),
                      "attributes": [BADGE]});
    ListQuery::from_search_body(&set, User, &body).expect("a search on the extension");
}

#[test]
fn the_planner_examines_the_collection_for_an_extension_clause() {
    let set = extended();
    let level = filter(&format!("{} gt 3", ext("level")));
    let p = plan(&set, User, Some(&level), None).expect("plans");
    assert_eq!(p.source, Source::Collection);
    assert_eq!(p.residual.as_ref(), Some(&level));
    assert!(!p.is_streamed());

    // An indexed core clause beside it still picks the index; the extension clause is residual.
    let both = filter(&format!(
        "userName eq \"ann\" and {} eq \"B-7\"",
        ext("badge")
    ));
    let p = plan(&set, User, Some(&both), None).expect("plans");
    assert_eq!(p.source, Source::Name(KeyCondition::Eq("ann".into())));
    assert_eq!(
        p.residual,
        Some(filter(&format!("{} eq \"B-7\"", ext("badge"))))
    );

    // Sorting by an extension attribute is done in memory.
    let path = parse_attr_path(&ext("level")).expect("a path");
    let p = plan(
        &set,
        User,
        None,
        Some(SortRequest {
            path: &path,
            descending: false,
        }),
    )
    .expect("plans");
    assert_eq!(p.source, Source::Collection);
    assert!(p.sort_in_memory && !p.is_streamed());
}

#[test]
fn discovery_serves_the_extension_in_schemas_and_resource_types() {
    let set = extended();
    let all = all_schemas_json(&set, BASE_URL);
    let ids: Vec<&str> = all.iter().filter_map(|s| s["id"].as_str()).collect();
    assert!(ids.contains(&BADGE), "{ids:?}");
    assert_eq!(ids.len(), 4);

    let doc = schema_json(&set, &BADGE.to_uppercase(), BASE_URL).expect("served by URN");
    assert_eq!(doc["name"], "Badge");
    assert_eq!(doc["attributes"][0]["name"], "badge");
    assert_eq!(doc["attributes"][0]["caseExact"], false);
    assert_eq!(doc["attributes"][1]["type"], "integer");
    assert_eq!(
        doc["meta"]["location"],
        format!("{BASE_URL}/Schemas/{BADGE}")
    );

    let rt = resource_type(&set, User, BASE_URL);
    let extensions: Vec<&str> = rt["schemaExtensions"]
        .as_array()
        .expect("User has extensions")
        .iter()
        .filter_map(|e| e["schema"].as_str())
        .collect();
    assert_eq!(
        extensions,
        [
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            BADGE
        ]
    );

    assert!(schema_json(standard(), BADGE, BASE_URL).is_none());
    assert_eq!(all_schemas_json(standard(), BASE_URL).len(), 3);
}

/// `/Schemas` is the single source: every attribute the served document lists for the extension
/// can be filtered on and sorted by, and a value of the type the document names is accepted.
#[test]
fn every_attribute_that_schemas_serves_is_usable_as_its_type_says() {
    let set = extended();
    let doc = schema_json(&set, BADGE, BASE_URL).expect("served");
    let attributes = doc["attributes"].as_array().expect("a list");
    assert_eq!(attributes.len(), test_extension().attributes.len());
    for attr in attributes {
        let name = attr["name"].as_str().expect("a name");
        let sample = match attr["type"].as_str() {
            Some("string") => json!("x"),
            Some("integer") => json!(1),
            other => panic!("no sample for type {other:?}"),
        };
        let path = ext(name);
        validate(&set, User, &filter(&format!("{path} eq {sample}"))).expect("filterable");
        SortSpec::parse(&set, User, Some(path.as_str()), None).expect("sortable");
        let input = json!({"userName": "ann", BADGE: {name: sample}});
        let stored = normalize_with(&set, User, &input).expect("storable");
        assert_eq!(stored[BADGE][name], sample);
    }
}
