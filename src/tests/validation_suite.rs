//! RFC 7643 schema-driven validation (`resource::normalize_with`, `resource::check_immutable_with`)
//! as tables: each case is a resource and either the exact attributes stored, or the error
//! (status, `scimType`, words the message must contain). Pure: no DynamoDB.
//!
//! Users and groups run against the standard schemas; the types that the standard schemas do not
//! use on writable attributes (integer, decimal, dateTime), required sub-attributes and
//! immutability run against a test extension added to the set as data.
//!
//! `cargo test --lib tests::validation_suite`

use crate::protocol::error::ScimType;
use crate::protocol::resource::{
    check_immutable_with, normalize_with, ResourceKind, MAX_KEY_VALUE_BYTES, MAX_RESOURCE_BYTES,
    MAX_VALUES_PER_ATTRIBUTE,
};
use crate::protocol::schema::{AttrType, AttributeDef, SchemaDef, SchemaSet};
use serde_json::{json, Map, Value};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const TEST: &str = "urn:example:params:scim:schemas:extension:test:2.0:User";

use ResourceKind::{Group, User};

// ---------------------------------------------------------------------------------------------
// Table machinery

enum Expect {
    /// The attributes `normalize_with` returns, exactly.
    Stored(Value),
    /// 400, this `scimType`, and a message containing every one of these words.
    Refused(ScimType, &'static [&'static str]),
}

struct Case {
    name: &'static str,
    kind: ResourceKind,
    input: Value,
    expect: Expect,
}

fn stored(name: &'static str, kind: ResourceKind, input: Value, expected: Value) -> Case {
    Case {
        name,
        kind,
        input,
        expect: Expect::Stored(expected),
    }
}

fn refused(name: &'static str, kind: ResourceKind, input: Value, words: &'static [&str]) -> Case {
    Case {
        name,
        kind,
        input,
        expect: Expect::Refused(ScimType::InvalidValue, words),
    }
}

/// Runs every case and reports all failures at once.
fn run(set: &SchemaSet, cases: Vec<Case>) {
    let total = cases.len();
    let mut failures = Vec::new();
    for case in cases {
        let got = normalize_with(set, case.kind, &case.input);
        match (&case.expect, got) {
            (Expect::Stored(want), Ok(map)) if Value::Object(map.clone()) == *want => {}
            (Expect::Refused(scim_type, words), Err(e))
                if e.status == 400
                    && e.scim_type == Some(*scim_type)
                    && words.iter().all(|w| e.detail.contains(w)) => {}
            (_, got) => failures.push(format!("{}: got {got:?}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn user(extra: Value) -> Value {
    let mut map = extra.as_object().cloned().unwrap_or_default();
    map.insert("schemas".into(), json!([CORE_USER]));
    map.insert("userName".into(), json!("ann"));
    Value::Object(map)
}

fn group(extra: Value) -> Value {
    let mut map = extra.as_object().cloned().unwrap_or_default();
    map.insert("schemas".into(), json!([CORE_GROUP]));
    map.insert("displayName".into(), json!("Eng"));
    Value::Object(map)
}

fn emails(n: usize) -> Value {
    (0..n)
        .map(|i| json!({"value": format!("a{i}@example.com")}))
        .collect()
}

fn members(n: usize) -> Value {
    (0..n)
        .map(|i| json!({"value": format!("01J{i:023}"), "type": "User"}))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Users, standard schemas

fn user_cases() -> Vec<Case> {
    vec![
        // Names and the stored shape
        stored(
            "a minimal user stores userName and the core schema",
            User,
            json!({"userName": "ann"}),
            user(json!({})),
        ),
        stored(
            "attribute names are canonicalised whatever their case",
            User,
            json!({"USERNAME": "ann", "Name": {"GIVENNAME": "Ann"}, "EMAILS": [{"VALUE": "a@x.org"}]}),
            user(json!({"name": {"givenName": "Ann"}, "emails": [{"value": "a@x.org"}]})),
        ),
        // Mutability
        stored(
            "read-only id, meta and groups are ignored even when badly typed",
            User,
            json!({"userName": "ann", "id": 5, "meta": "nonsense", "groups": "nonsense"}),
            user(json!({})),
        ),
        stored(
            "read-only id, meta and groups are ignored as echoed by a client",
            User,
            json!({"userName": "ann", "id": "01J", "meta": {"resourceType": "User"},
                   "groups": [{"value": "g1", "display": "Eng"}]}),
            user(json!({})),
        ),
        stored(
            "a read-only sub-attribute (manager.displayName) is ignored",
            User,
            json!({"userName": "ann", ENT: {"manager": {"value": "boss", "displayName": "Bo"}}}),
            json!({"schemas": [CORE_USER, ENT], "userName": "ann", ENT: {"manager": {"value": "boss"}}}),
        ),
        stored(
            "the write-only password is accepted and never stored",
            User,
            json!({"userName": "ann", "password": "t0p-secret"}),
            user(json!({})),
        ),
        refused(
            "a password that is not a string is refused without echoing it",
            User,
            json!({"userName": "ann", "password": 12345}),
            &["password", "string", "got a number"],
        ),
        stored(
            "externalId is read-write and stored",
            User,
            json!({"userName": "ann", "externalId": "E-1"}),
            user(json!({"externalId": "E-1"})),
        ),
        // Types: boolean
        stored(
            "booleans may be Entra's strings in any case",
            User,
            json!({"userName": "ann", "active": "False",
                   "emails": [{"value": "a@x.org", "primary": "TRUE"}]}),
            user(json!({"active": false, "emails": [{"value": "a@x.org", "primary": true}]})),
        ),
        stored(
            "a real boolean is kept",
            User,
            json!({"userName": "ann", "active": true}),
            user(json!({"active": true})),
        ),
        refused(
            "a boolean string other than true or false is refused",
            User,
            json!({"userName": "ann", "active": "yes"}),
            &["\"active\"", "boolean", "got a string"],
        ),
        refused(
            "a number is not a boolean",
            User,
            json!({"userName": "ann", "active": 1}),
            &["\"active\"", "boolean", "got a number"],
        ),
        refused(
            "a bad boolean sub-attribute is named by its path",
            User,
            json!({"userName": "ann", "emails": [{"value": "a@x.org", "primary": "sometimes"}]}),
            &["\"emails.primary\"", "boolean"],
        ),
        // Types: string, reference, binary, complex
        refused(
            "a number is not a string",
            User,
            json!({"userName": 7}),
            &["\"userName\"", "string", "got a number"],
        ),
        refused(
            "an array is not a single-valued string",
            User,
            json!({"userName": "ann", "displayName": ["A", "B"]}),
            &["\"displayName\"", "string", "got an array"],
        ),
        refused(
            "an object is not a string sub-attribute",
            User,
            json!({"userName": "ann", "name": {"givenName": {"first": "A"}}}),
            &["\"name.givenName\"", "string", "got an object"],
        ),
        stored(
            "a reference is a string",
            User,
            json!({"userName": "ann", "profileUrl": "https://x.org/ann"}),
            user(json!({"profileUrl": "https://x.org/ann"})),
        ),
        refused(
            "a reference that is not a string is refused",
            User,
            json!({"userName": "ann", "profileUrl": 5}),
            &["\"profileUrl\"", "reference"],
        ),
        stored(
            "a binary is base64, padded or not, line breaks allowed",
            User,
            json!({"userName": "ann", "x509Certificates": [{"value": "TWFu\nTWE="}, {"value": "TQ"}]}),
            user(json!({"x509Certificates": [{"value": "TWFu\nTWE="}, {"value": "TQ"}]})),
        ),
        refused(
            "a binary that is not base64 is refused",
            User,
            json!({"userName": "ann", "x509Certificates": [{"value": "not base64!"}]}),
            &["\"x509Certificates.value\"", "base64", "binary"],
        ),
        refused(
            "a binary that is not a string is refused",
            User,
            json!({"userName": "ann", "x509Certificates": [{"value": true}]}),
            &["\"x509Certificates.value\"", "binary", "got a boolean"],
        ),
        refused(
            "a string is not the complex name",
            User,
            json!({"userName": "ann", "name": "Ann Smith"}),
            &["\"name\"", "complex", "got a string"],
        ),
        refused(
            "an array is not the single-valued complex name",
            User,
            json!({"userName": "ann", "name": [{"givenName": "Ann"}]}),
            &["\"name\"", "complex", "got an array"],
        ),
        stored(
            "manager as a bare id stands for its value (Entra)",
            User,
            json!({"userName": "ann", ENT: {"manager": "boss-id", "department": "R&D"}}),
            json!({"schemas": [CORE_USER, ENT], "userName": "ann",
                   ENT: {"manager": {"value": "boss-id"}, "department": "R&D"}}),
        ),
        refused(
            "manager as an array is refused with its extension path",
            User,
            json!({"userName": "ann", ENT: {"manager": ["boss-id"]}}),
            &[ENT, ":manager", "complex", "got an array"],
        ),
        // Multi-valued
        stored(
            "a single object for a multi-valued attribute is taken as a one-value array",
            User,
            json!({"userName": "ann", "emails": {"value": "a@x.org", "type": "work"}}),
            user(json!({"emails": [{"value": "a@x.org", "type": "work"}]})),
        ),
        stored(
            "a bare string in a multi-valued complex attribute stands for its value",
            User,
            json!({"userName": "ann", "emails": ["a@x.org"]}),
            user(json!({"emails": [{"value": "a@x.org"}]})),
        ),
        refused(
            "nested arrays are refused",
            User,
            json!({"userName": "ann", "emails": [[{"value": "a@x.org"}]]}),
            &["\"emails\"", "complex", "got an array"],
        ),
        stored(
            "nulls, empty arrays, empty objects and null values are absent",
            User,
            json!({"userName": "ann", "displayName": null, "emails": [], "name": {},
                   "phoneNumbers": [null, {}, {"value": "+1"}], ENT: null}),
            user(json!({"phoneNumbers": [{"value": "+1"}]})),
        ),
        // canonicalValues are suggestions
        stored(
            "type values outside canonicalValues are kept",
            User,
            json!({"userName": "ann", "emails": [{"value": "a@x.org", "type": "other-type"}],
                   "phoneNumbers": [{"value": "+1", "type": "satellite"}],
                   "ims": [{"value": "ann", "type": "matrix"}],
                   "addresses": [{"locality": "Oslo", "type": "holiday"}]}),
            user(
                json!({"emails": [{"value": "a@x.org", "type": "other-type"}],
                        "phoneNumbers": [{"value": "+1", "type": "satellite"}],
                        "ims": [{"value": "ann", "type": "matrix"}],
                        "addresses": [{"locality": "Oslo", "type": "holiday"}]}),
            ),
        ),
        // Required
        refused(
            "a user without userName is refused",
            User,
            json!({"displayName": "Ann"}),
            &["\"userName\"", "required"],
        ),
        refused(
            "a blank userName is refused",
            User,
            json!({"userName": "   "}),
            &["\"userName\"", "required"],
        ),
        refused(
            "a null userName is refused",
            User,
            json!({"userName": null}),
            &["\"userName\"", "required"],
        ),
        stored(
            "an email without value is accepted: RFC 7643 §8.7.1 does not require it",
            User,
            json!({"userName": "ann", "emails": [{"type": "work"}]}),
            user(json!({"emails": [{"type": "work"}]})),
        ),
        // Unknown input
        refused(
            "an unknown attribute is named",
            User,
            json!({"userName": "ann", "shoeSize": 42}),
            &["\"shoeSize\"", "unknown"],
        ),
        refused(
            "an unknown sub-attribute is named with its path",
            User,
            json!({"userName": "ann", "name": {"nick": "Annie"}}),
            &["\"name.nick\"", "unknown"],
        ),
        refused(
            "an unknown extension attribute is named with its URN",
            User,
            json!({"userName": "ann", ENT: {"shoeSize": 42}}),
            &["unknown", "enterprise:2.0:User:shoeSize"],
        ),
        refused(
            "a Group attribute is unknown on a user",
            User,
            json!({"userName": "ann", "members": [{"value": "x"}]}),
            &["\"members\"", "unknown"],
        ),
        refused(
            "an unknown schema URN is refused",
            User,
            json!({"userName": "ann", "schemas": [CORE_USER, "urn:example:unknown"]}),
            &["urn:example:unknown", "not supported"],
        ),
        refused(
            "the Group schema is not a User schema",
            User,
            json!({"userName": "ann", "schemas": [CORE_GROUP]}),
            &[CORE_GROUP, "not supported"],
        ),
        refused(
            "schemas must be an array",
            User,
            json!({"userName": "ann", "schemas": CORE_USER}),
            &["\"schemas\"", "array"],
        ),
        refused(
            "schemas must hold strings",
            User,
            json!({"userName": "ann", "schemas": [1]}),
            &["\"schemas\"", "strings"],
        ),
        stored(
            "a missing schemas is supplied",
            User,
            json!({"userName": "ann"}),
            user(json!({})),
        ),
        stored(
            "an extension without its URN in schemas gets it added",
            User,
            json!({"schemas": [CORE_USER], "userName": "ann", ENT: {"department": "R&D"}}),
            json!({"schemas": [CORE_USER, ENT], "userName": "ann", ENT: {"department": "R&D"}}),
        ),
        stored(
            "an extension URN without its object is dropped",
            User,
            json!({"schemas": [CORE_USER, ENT], "userName": "ann"}),
            user(json!({})),
        ),
        stored(
            "an extension URN is matched ignoring case and stored canonically",
            User,
            json!({"schemas": [CORE_USER.to_uppercase()], "userName": "ann",
                   ENT.to_lowercase(): {"Department": "R&D"}}),
            json!({"schemas": [CORE_USER, ENT], "userName": "ann", ENT: {"department": "R&D"}}),
        ),
        stored(
            "an extension object's own schemas key is ignored",
            User,
            json!({"userName": "ann", ENT: {"schemas": [ENT], "costCenter": "42"}}),
            json!({"schemas": [CORE_USER, ENT], "userName": "ann", ENT: {"costCenter": "42"}}),
        ),
        refused(
            "an extension that is not an object is refused",
            User,
            json!({"userName": "ann", ENT: "R&D"}),
            &[ENT, "object", "got a string"],
        ),
        refused(
            "the same attribute twice under different case is refused",
            User,
            json!({"userName": "ann", "USERNAME": "bob"}),
            &["\"userName\"", "more than once"],
        ),
        refused(
            "the same sub-attribute twice under different case is refused",
            User,
            json!({"userName": "ann", "name": {"givenName": "A", "GivenName": "B"}}),
            &["\"name.givenName\"", "more than once"],
        ),
        // Limits
        stored(
            "MAX_VALUES_PER_ATTRIBUTE emails are accepted",
            User,
            json!({"userName": "ann", "emails": emails(MAX_VALUES_PER_ATTRIBUTE)}),
            user(json!({"emails": emails(MAX_VALUES_PER_ATTRIBUTE)})),
        ),
        refused(
            "one email more than MAX_VALUES_PER_ATTRIBUTE is refused",
            User,
            json!({"userName": "ann", "emails": emails(MAX_VALUES_PER_ATTRIBUTE + 1)}),
            &["\"emails\"", "101 values", "at most 100"],
        ),
        refused(
            "the cap holds for every multi-valued attribute",
            User,
            json!({"userName": "ann",
                   "roles": (0..=MAX_VALUES_PER_ATTRIBUTE).map(|i| json!({"value": i.to_string()})).collect::<Value>()}),
            &["\"roles\"", "at most 100"],
        ),
        stored(
            "a userName of MAX_KEY_VALUE_BYTES is accepted",
            User,
            json!({"userName": "x".repeat(MAX_KEY_VALUE_BYTES)}),
            json!({"schemas": [CORE_USER], "userName": "x".repeat(MAX_KEY_VALUE_BYTES)}),
        ),
        refused(
            "a longer userName is refused",
            User,
            json!({"userName": "x".repeat(MAX_KEY_VALUE_BYTES + 1)}),
            &["\"userName\"", "1024 bytes"],
        ),
        refused(
            "a longer externalId is refused",
            User,
            json!({"userName": "ann", "externalId": "é".repeat(MAX_KEY_VALUE_BYTES / 2 + 1)}),
            &["\"externalId\"", "1024 bytes"],
        ),
        refused(
            "a resource over MAX_RESOURCE_BYTES is refused",
            User,
            json!({"userName": "ann", "title": "y".repeat(MAX_RESOURCE_BYTES)}),
            &["bytes as JSON", "262144"],
        ),
        // Whole bodies as IdPs send them
        stored(
            "an Entra create",
            User,
            json!({
                "schemas": [CORE_USER, ENT],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User_ab6490ee@testuser.com",
                "active": "True",
                "emails": [{"primary": "true", "type": "work", "value": "Test_User@testuser.com"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "givenName familyName", "familyName": "familyName",
                         "givenName": "givenName"},
                "roles": [],
                ENT: {"employeeNumber": "1", "department": "R&D", "manager": "boss-id"}
            }),
            json!({
                "schemas": [CORE_USER, ENT],
                "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User_ab6490ee@testuser.com",
                "active": true,
                "emails": [{"primary": true, "type": "work", "value": "Test_User@testuser.com"}],
                "name": {"formatted": "givenName familyName", "familyName": "familyName",
                         "givenName": "givenName"},
                ENT: {"employeeNumber": "1", "department": "R&D", "manager": {"value": "boss-id"}}
            }),
        ),
        stored(
            "an Okta create",
            User,
            json!({
                "schemas": [CORE_USER],
                "userName": "ann@example.com",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"primary": true, "value": "ann@example.com", "type": "work"}],
                "displayName": "Ann Lee",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "groups": [],
                "password": "1mz050nq",
                "active": true
            }),
            json!({
                "schemas": [CORE_USER],
                "userName": "ann@example.com",
                "name": {"givenName": "Ann", "familyName": "Lee"},
                "emails": [{"primary": true, "value": "ann@example.com", "type": "work"}],
                "displayName": "Ann Lee",
                "locale": "en-US",
                "externalId": "00ujl29u0le5T6Aj10h7",
                "active": true
            }),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// Groups, standard schemas

fn group_cases() -> Vec<Case> {
    vec![
        stored(
            "a minimal group stores displayName and the core schema",
            Group,
            json!({"displayName": "Eng"}),
            group(json!({})),
        ),
        refused(
            "a group without displayName is refused",
            Group,
            json!({"members": [{"value": "u1"}]}),
            &["\"displayName\"", "required"],
        ),
        refused(
            "a blank displayName is refused",
            Group,
            json!({"displayName": ""}),
            &["\"displayName\"", "required"],
        ),
        refused(
            "a numeric displayName is refused",
            Group,
            json!({"displayName": 42}),
            &["\"displayName\"", "string", "got a number"],
        ),
        stored(
            "members keep value, $ref and type; the read-only display is dropped",
            Group,
            json!({"displayName": "Eng", "members": [
                {"value": "u1", "$ref": "https://x/Users/u1", "type": "User", "display": "Ann"}]}),
            group(json!({"members": [
                {"value": "u1", "$ref": "https://x/Users/u1", "type": "User"}]})),
        ),
        stored(
            "a single member object is taken as a one-member list",
            Group,
            json!({"displayName": "Eng", "members": {"value": "u1"}}),
            group(json!({"members": [{"value": "u1"}]})),
        ),
        stored(
            "a bare member id stands for its value",
            Group,
            json!({"displayName": "Eng", "members": ["u1", "u2"]}),
            group(json!({"members": [{"value": "u1"}, {"value": "u2"}]})),
        ),
        stored(
            "a member type outside canonicalValues is kept",
            Group,
            json!({"displayName": "Eng", "members": [{"value": "u1", "type": "Robot"}]}),
            group(json!({"members": [{"value": "u1", "type": "Robot"}]})),
        ),
        refused(
            "a member value that is not a string is refused",
            Group,
            json!({"displayName": "Eng", "members": [{"value": 7}]}),
            &["\"members.value\"", "string", "got a number"],
        ),
        refused(
            "an unknown member sub-attribute is refused",
            Group,
            json!({"displayName": "Eng", "members": [{"value": "u1", "role": "owner"}]}),
            &["\"members.role\"", "unknown"],
        ),
        stored(
            "members are not capped at MAX_VALUES_PER_ATTRIBUTE",
            Group,
            json!({"displayName": "Eng", "members": members(MAX_VALUES_PER_ATTRIBUTE * 30)}),
            group(json!({"members": members(MAX_VALUES_PER_ATTRIBUTE * 30)})),
        ),
        stored(
            "members do not count towards MAX_RESOURCE_BYTES",
            Group,
            json!({"displayName": "Eng", "members": members(20_000)}),
            group(json!({"members": members(20_000)})),
        ),
        stored(
            "read-only id and meta are ignored on a group",
            Group,
            json!({"displayName": "Eng", "id": 1, "meta": {"version": "W/\"1\""}}),
            group(json!({})),
        ),
        stored(
            "externalId is stored on a group",
            Group,
            json!({"displayName": "Eng", "externalId": "okta-g-1"}),
            group(json!({"externalId": "okta-g-1"})),
        ),
        refused(
            "a User attribute is unknown on a group",
            Group,
            json!({"displayName": "Eng", "userName": "ann"}),
            &["\"userName\"", "unknown", "Group"],
        ),
        refused(
            "the enterprise URN is not a Group schema",
            Group,
            json!({"schemas": [CORE_GROUP, ENT], "displayName": "Eng"}),
            &[ENT, "not supported", "Group"],
        ),
        refused(
            "an enterprise object is an unknown attribute on a group",
            Group,
            json!({"displayName": "Eng", ENT: {"department": "R&D"}}),
            &[ENT, "unknown"],
        ),
        refused(
            "displayName twice under different case is refused",
            Group,
            json!({"displayName": "Eng", "DISPLAYNAME": "Ops"}),
            &["\"displayName\"", "more than once"],
        ),
        refused(
            "a group displayName longer than MAX_KEY_VALUE_BYTES is refused",
            Group,
            json!({"displayName": "g".repeat(MAX_KEY_VALUE_BYTES + 1)}),
            &["\"displayName\"", "1024 bytes"],
        ),
        stored(
            "an Entra group create",
            Group,
            json!({"schemas": [CORE_GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                   "displayName": "displayName", "meta": {"resourceType": "Group"}}),
            json!({"schemas": [CORE_GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                   "displayName": "displayName"}),
        ),
    ]
}

#[test]
fn user_validation_follows_every_rule() {
    run(SchemaSet::standard(), user_cases());
}

#[test]
fn group_validation_follows_every_rule() {
    run(SchemaSet::standard(), group_cases());
}

// ---------------------------------------------------------------------------------------------
// A tenant-style extension, as data

/// The test extension, as a tenant would define it: data only.
fn test_schema() -> SchemaDef {
    let clearance = vec![
        AttributeDef::new("code", AttrType::String, "Clearance code.").required(),
        AttributeDef::new("grantedAt", AttrType::DateTime, "When granted."),
        AttributeDef::new("issuer", AttrType::String, "Who granted it.").immutable(),
    ];
    SchemaDef {
        id: TEST.into(),
        name: "Test".into(),
        description: "A test extension".into(),
        attributes: vec![
            AttributeDef::new("site", AttrType::String, "Required site.").required(),
            AttributeDef::new("badgeId", AttrType::String, "Set once.").immutable(),
            AttributeDef::new("level", AttrType::Integer, "An integer."),
            AttributeDef::new("score", AttrType::Decimal, "A decimal."),
            AttributeDef::new("hiredAt", AttrType::DateTime, "A dateTime."),
            AttributeDef::new("photo", AttrType::Binary, "A binary."),
            AttributeDef::new("tags", AttrType::String, "Multi-valued strings.").multi(),
            AttributeDef::new("clearance", AttrType::String, "Single-valued complex.")
                .with_sub_attributes(clearance),
        ],
    }
}

fn extended() -> SchemaSet {
    SchemaSet::standard()
        .clone()
        .with_extension(User, test_schema())
        .unwrap()
}

/// A user with the test extension holding `site` plus `extra`.
fn ext_input(extra: Value) -> Value {
    let mut ext = extra.as_object().cloned().unwrap_or_default();
    ext.entry("site").or_insert(json!("Oslo"));
    json!({"userName": "ann", TEST: ext})
}

fn ext_stored(extra: Value) -> Value {
    let mut ext = extra.as_object().cloned().unwrap_or_default();
    ext.entry("site").or_insert(json!("Oslo"));
    json!({"schemas": [CORE_USER, TEST], "userName": "ann", TEST: ext})
}

fn extension_cases() -> Vec<Case> {
    vec![
        stored(
            "an extension added to the set is accepted and listed",
            User,
            ext_input(json!({})),
            ext_stored(json!({})),
        ),
        stored(
            "the standard extension still works beside it",
            User,
            json!({"userName": "ann", ENT: {"division": "D"}, TEST: {"site": "Oslo"}}),
            json!({"schemas": [CORE_USER, ENT, TEST], "userName": "ann",
                   ENT: {"division": "D"}, TEST: {"site": "Oslo"}}),
        ),
        stored(
            "the extension's required attributes are not demanded when it is absent",
            User,
            json!({"userName": "ann"}),
            user(json!({})),
        ),
        refused(
            "a required extension attribute is demanded when the extension is present",
            User,
            json!({"userName": "ann", TEST: {"level": 1}}),
            &["required", "test:2.0:User:site"],
        ),
        refused(
            "a required sub-attribute is demanded when its complex value is present",
            User,
            ext_input(json!({"clearance": {"issuer": "HR"}})),
            &["required", "test:2.0:User:clearance.code"],
        ),
        refused(
            "a blank required sub-attribute is refused",
            User,
            ext_input(json!({"clearance": {"code": " "}})),
            &["required", ":clearance.code"],
        ),
        stored(
            "an immutable attribute may be set on create",
            User,
            ext_input(json!({"badgeId": "B-1", "clearance": {"code": "S", "issuer": "HR"}})),
            ext_stored(json!({"badgeId": "B-1", "clearance": {"code": "S", "issuer": "HR"}})),
        ),
        stored(
            "integers and decimals",
            User,
            ext_input(json!({"level": 3, "score": 2.5})),
            ext_stored(json!({"level": 3, "score": 2.5})),
        ),
        stored(
            "an integer is a decimal",
            User,
            ext_input(json!({"score": 2})),
            ext_stored(json!({"score": 2})),
        ),
        refused(
            "a fraction is not an integer",
            User,
            ext_input(json!({"level": 1.5})),
            &[":level", "integer", "got a number"],
        ),
        refused(
            "a numeric string is not an integer",
            User,
            ext_input(json!({"level": "3"})),
            &[":level", "integer", "got a string"],
        ),
        refused(
            "a numeric string is not a decimal",
            User,
            ext_input(json!({"score": "2.5"})),
            &[":score", "decimal", "got a string"],
        ),
        stored(
            "RFC 3339 date-times with Z or an offset",
            User,
            ext_input(json!({"hiredAt": "2024-01-02T03:04:05Z",
                             "clearance": {"code": "S", "grantedAt": "2024-01-02T03:04:05.5+02:00"}})),
            ext_stored(json!({"hiredAt": "2024-01-02T03:04:05Z",
                              "clearance": {"code": "S", "grantedAt": "2024-01-02T03:04:05.5+02:00"}})),
        ),
        refused(
            "a date without a time is not a dateTime",
            User,
            ext_input(json!({"hiredAt": "2024-01-02"})),
            &[":hiredAt", "dateTime"],
        ),
        refused(
            "a date-time without an offset is not a dateTime",
            User,
            ext_input(json!({"clearance": {"code": "S", "grantedAt": "2024-01-02T03:04:05"}})),
            &[":clearance.grantedAt", "dateTime"],
        ),
        refused(
            "a number is not a dateTime",
            User,
            ext_input(json!({"hiredAt": 1_704_164_645})),
            &[":hiredAt", "dateTime", "got a number"],
        ),
        refused(
            "base64url is not the base64 of RFC 4648 §4",
            User,
            ext_input(json!({"photo": "ab-_"})),
            &[":photo", "binary"],
        ),
        stored(
            "a single string for a multi-valued string attribute is a one-value array",
            User,
            ext_input(json!({"tags": "a"})),
            ext_stored(json!({"tags": ["a"]})),
        ),
        refused(
            "a number in a multi-valued string attribute is refused",
            User,
            ext_input(json!({"tags": ["a", 1]})),
            &[":tags", "string", "got a number"],
        ),
        refused(
            "the value cap holds for extension attributes",
            User,
            ext_input(
                json!({"tags": (0..=MAX_VALUES_PER_ATTRIBUTE).map(|i| i.to_string()).collect::<Vec<_>>()}),
            ),
            &[":tags", "at most 100"],
        ),
        refused(
            "a scalar for a complex attribute without a value sub-attribute is refused",
            User,
            ext_input(json!({"clearance": "S"})),
            &[":clearance", "complex", "got a string"],
        ),
    ]
}

#[test]
fn an_extension_schema_given_as_data_is_validated_like_the_standard_ones() {
    run(&extended(), extension_cases());
}

#[test]
fn the_standard_set_knows_nothing_of_the_test_extension() {
    let err = normalize_with(SchemaSet::standard(), User, &ext_input(json!({}))).unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
    assert!(err.detail.contains(TEST), "{}", err.detail);
}

// ---------------------------------------------------------------------------------------------
// Immutability: before → after

struct Change {
    name: &'static str,
    kind: ResourceKind,
    before: Value,
    after: Value,
    /// `None`: allowed; `Some(words)`: 400 `mutability` with these words.
    refused: Option<&'static [&'static str]>,
}

fn change(
    name: &'static str,
    kind: ResourceKind,
    before: Value,
    after: Value,
    refused: Option<&'static [&'static str]>,
) -> Change {
    Change {
        name,
        kind,
        before,
        after,
        refused,
    }
}

fn changes() -> Vec<Change> {
    let badge = |v: Value| ext_stored(json!({"badgeId": v}));
    let clearance = |code: &str, issuer: &str| {
        ext_stored(json!({"clearance": {"code": code, "issuer": issuer}}))
    };
    vec![
        change(
            "the standard User has nothing immutable: userName and externalId may change",
            User,
            user(json!({"externalId": "a"})),
            json!({"schemas": [CORE_USER], "userName": "bob", "externalId": "b"}),
            None,
        ),
        change(
            "group members may come and go although members.value is immutable",
            Group,
            group(json!({"members": [{"value": "u1", "type": "User"}]})),
            group(json!({"members": [{"value": "u2", "type": "Group"}]})),
            None,
        ),
        change(
            "an unchanged immutable value is allowed",
            User,
            badge(json!("B-1")),
            badge(json!("B-1")),
            None,
        ),
        change(
            "a case change of a non-caseExact immutable value is no change",
            User,
            badge(json!("b-1")),
            badge(json!("B-1")),
            None,
        ),
        change(
            "an immutable value may be set when it had none",
            User,
            ext_stored(json!({})),
            badge(json!("B-1")),
            None,
        ),
        change(
            "changing an immutable value is refused",
            User,
            badge(json!("B-1")),
            badge(json!("B-2")),
            Some(&["test:2.0:User:badgeId", "immutable"]),
        ),
        change(
            "removing an immutable value is refused",
            User,
            badge(json!("B-1")),
            ext_stored(json!({})),
            Some(&[":badgeId", "immutable"]),
        ),
        change(
            "removing the extension that holds an immutable value is refused",
            User,
            badge(json!("B-1")),
            user(json!({})),
            Some(&[":badgeId", "immutable"]),
        ),
        change(
            "a read-write sub-attribute beside an immutable one may change",
            User,
            clearance("S", "HR"),
            clearance("TS", "HR"),
            None,
        ),
        change(
            "an immutable sub-attribute of a single-valued complex may not change",
            User,
            clearance("S", "HR"),
            clearance("S", "IT"),
            Some(&[":clearance.issuer", "immutable"]),
        ),
        change(
            "removing the complex value that holds an immutable sub-attribute is refused",
            User,
            clearance("S", "HR"),
            ext_stored(json!({})),
            Some(&[":clearance.issuer"]),
        ),
    ]
}

#[test]
fn immutable_values_once_set_do_not_change() {
    let set = extended();
    let cases = changes();
    let total = cases.len();
    let mut failures = Vec::new();
    for c in cases {
        let before: &Map<String, Value> = c.before.as_object().unwrap();
        let after: &Map<String, Value> = c.after.as_object().unwrap();
        let got = check_immutable_with(&set, c.kind, before, after);
        let ok = match (c.refused, &got) {
            (None, Ok(())) => true,
            (Some(words), Err(e)) => {
                e.status == 400
                    && e.scim_type == Some(ScimType::Mutability)
                    && words.iter().all(|w| e.detail.contains(w))
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{}: got {got:?}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn what_normalize_stores_passes_check_immutable_against_itself() {
    let set = extended();
    let input = ext_input(json!({"badgeId": "B-1", "clearance": {"code": "S", "issuer": "HR"}}));
    let stored = normalize_with(&set, User, &input).unwrap();
    check_immutable_with(&set, User, &stored, &stored).unwrap();
    // A PUT body that echoes the read-only attributes and the immutable one normalises to the
    // same resource.
    let mut echoed = input.as_object().unwrap().clone();
    echoed.insert("id".into(), json!("01J"));
    echoed.insert("meta".into(), json!({"resourceType": "User"}));
    let again = normalize_with(&set, User, &Value::Object(echoed)).unwrap();
    assert_eq!(again, stored);
    check_immutable_with(&set, User, &stored, &again).unwrap();
}
