//! Fuzzing PATCH on the stable toolchain, with proptest: arbitrary PatchOp documents (valid-ish
//! operations with arbitrary paths, filters and JSON values, in IdP spellings) applied to valid
//! users and groups, as the service applies them (`parse_request`, `members::split` for groups,
//! `apply`, `normalize`).
//!
//! Properties, for every input:
//! - nothing panics;
//! - a failed `apply` leaves the attributes exactly as they were (atomic PATCH);
//! - when `apply` and `normalize` succeed, the result normalises to itself (what is stored is a
//!   valid resource), a group's `members` never end up among its attributes, and no attribute
//!   has two primary values.
//!
//! Short run (the default, well under 20 s in a debug build):
//!     cargo test --lib tests::patch_fuzz
//! Long run (the count applies to each property; run it in release):
//!     PROPTEST_CASES=500000 cargo test --release --lib tests::patch_fuzz -- --test-threads 2
//! A failure prints the smallest input proptest shrank it to, and proptest saves its seed in
//! src/tests/patch_fuzz.proptest-regressions so that every later run tries it first.

use crate::protocol::members::split;
use crate::protocol::patch::{apply, parse_request, PATCH_OP_SCHEMA};
use crate::protocol::resource::{normalize, ResourceKind};
use crate::protocol::schema::SchemaSet;
use crate::protocol::ScimError;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Map, Value};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

fn config() -> ProptestConfig {
    super::proptest_config(6000)
}

// ---------------------------------------------------------------------------------------------
// Resources

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-z]{1,6}",
        "[A-Za-z0-9@._ -]{0,12}",
        any::<String>().prop_map(|s| s.chars().take(8).collect()),
    ]
}

fn label() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["work", "home", "other", "WORK", "mobile", "x"])
}

/// Values of `emails`, `phoneNumbers` or `ims` (`addresses` take `streetAddress` for `value`).
fn multi_values(with_primary: bool) -> impl Strategy<Value = Vec<Value>> {
    multi_values_of("value", with_primary)
}

fn multi_values_of(field: &'static str, with_primary: bool) -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec((word(), label(), any::<bool>()), 0..4).prop_map(move |items| {
        let mut primary_given = false;
        items
            .into_iter()
            .map(|(value, kind, primary)| {
                let mut v = json!({field: value, "type": kind});
                if with_primary && primary && !primary_given {
                    primary_given = true;
                    v["primary"] = json!(true);
                }
                v
            })
            .collect()
    })
}

fn user() -> impl Strategy<Value = Value> {
    (
        "[a-z]{1,8}",
        prop::option::of(word()),
        prop::option::of(any::<bool>()),
        prop::option::of((word(), word())),
        multi_values(true),
        multi_values(true),
        prop::option::of((word(), prop::option::of("[A-Z0-9]{4}"))),
        prop::collection::vec((label(), word()), 0..3),
    )
        .prop_map(
            |(user_name, display, active, name, emails, phones, ent, addresses)| {
                let mut u = json!({"userName": user_name});
                if let Some(d) = display {
                    u["displayName"] = json!(d);
                }
                if let Some(a) = active {
                    u["active"] = json!(a);
                }
                if let Some((g, f)) = name {
                    u["name"] = json!({"givenName": g, "familyName": f});
                }
                u["emails"] = json!(emails);
                u["phoneNumbers"] = json!(phones);
                u["addresses"] = Value::Array(
                    addresses
                        .into_iter()
                        .map(|(t, s)| json!({"type": t, "streetAddress": s}))
                        .collect(),
                );
                if let Some((dept, manager)) = ent {
                    u[ENT] = json!({"department": dept});
                    if let Some(m) = manager {
                        u[ENT]["manager"] = json!({"value": m});
                    }
                }
                u
            },
        )
}

fn group() -> impl Strategy<Value = Value> {
    "[A-Za-z][A-Za-z ]{0,9}".prop_map(|name| json!({"displayName": name}))
}

// ---------------------------------------------------------------------------------------------
// Paths

fn attribute() -> impl Strategy<Value = String> {
    let names = vec![
        "userName",
        "USERNAME",
        "displayName",
        "title",
        "active",
        "password",
        "externalId",
        "name",
        "emails",
        "phoneNumbers",
        "addresses",
        "roles",
        "x509Certificates",
        "members",
        "Members",
        "groups",
        "id",
        "meta",
        "schemas",
        "shoeSize",
    ];
    let names: Vec<String> = names.into_iter().map(String::from).collect();
    let prefixed = prop::sample::select(vec![
        format!("{CORE_USER}:"),
        format!("{CORE_GROUP}:"),
        format!("{ENT}:"),
        ENT.to_lowercase() + ":",
    ]);
    let ent = prop::sample::select(vec![
        "department",
        "manager",
        "costCenter",
        "employeeNumber",
    ]);
    prop_oneof![
        6 => prop::sample::select(names.clone()),
        2 => (prefixed, prop::sample::select(names)).prop_map(|(p, n)| p + &n),
        2 => ent.prop_map(|n| format!("{ENT}:{n}")),
    ]
}

fn sub_attribute() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "value",
        "type",
        "primary",
        "display",
        "givenName",
        "familyName",
        "streetAddress",
        "locality",
        "lastModified",
        "$ref",
        "nope",
    ])
}

fn filter_value() -> impl Strategy<Value = String> {
    prop_oneof![
        label().prop_map(|l| format!("\"{l}\"")),
        word().prop_map(|w| serde_json::to_string(&w).unwrap_or_default()),
        Just("true".to_string()),
        Just("false".to_string()),
        Just("null".to_string()),
        Just("1".to_string()),
        Just(format!("\"{ID}\"")),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    let compare = (
        sub_attribute(),
        prop::sample::select(vec!["eq", "ne", "co", "sw", "gt", "EQ"]),
        filter_value(),
    )
        .prop_map(|(a, op, v)| format!("{a} {op} {v}"));
    let present = sub_attribute().prop_map(|a| format!("{a} pr"));
    let leaf = prop_oneof![4 => compare, 1 => present];
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} or {b}")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn path() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => attribute(),
        3 => (attribute(), sub_attribute()).prop_map(|(a, s)| format!("{a}.{s}")),
        3 => (attribute(), filter()).prop_map(|(a, f)| format!("{a}[{f}]")),
        3 => (attribute(), filter(), sub_attribute()).prop_map(|(a, f, s)| format!("{a}[{f}].{s}")),
        1 => prop::sample::select(vec![ENT.to_string(), CORE_USER.to_string(), CORE_GROUP.to_string()]),
        1 => "[a-zA-Z.\\[\\]\" :]{0,16}",
    ]
}

// ---------------------------------------------------------------------------------------------
// Values

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![
            "True",
            "False",
            "",
            "work",
            ID,
            "01arz3ndektsv4rrffq69g5fav"
        ])
        .prop_map(|s| json!(s)),
        word().prop_map(Value::String),
        any::<i32>().prop_map(|n| json!(n)),
        Just(json!(1.5)),
        Just(json!("2024-01-01T00:00:00Z")),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => path(),
        1 => sub_attribute().prop_map(String::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Values that fit the paths most of the time: member lists, email objects, extension objects.
fn value() -> impl Strategy<Value = Value> {
    let member = prop_oneof![
        Just(json!({"value": ID})),
        Just(json!({"value": "01arz3ndektsv4rrffq69g5fav"})),
        "[a-z0-9-]{1,8}".prop_map(|v| json!({"value": v})),
        Just(json!({"value": ID, "type": "Group"})),
        Just(json!({"display": "x"})),
    ];
    prop_oneof![
        4 => json_value(),
        2 => scalar(),
        1 => prop::collection::vec(member, 0..4).prop_map(Value::Array),
        1 => multi_values(false).prop_map(Value::Array),
        1 => (word(), any::<bool>()).prop_map(|(v, p)| json!({"value": v, "type": "work", "primary": p})),
        1 => (word(), word()).prop_map(|(d, m)| json!({ENT: {"department": d, "manager": m}})),
        1 => Just(json!({"id": ID, "displayName": "Renamed", "members": [{"value": ID}]})),
    ]
}

/// Anything in the shape of an operation: any op name, path and value.
fn wild_operation() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec![
            "add", "Add", "replace", "Replace", "remove", "Remove", "REPLACE", "jump",
        ]),
        prop::option::weighted(0.8, path()),
        prop::option::weighted(0.85, value()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = json!({"op": op});
            if let Some(p) = path {
                o["path"] = json!(p);
            }
            if let Some(v) = value {
                o["value"] = v;
            }
            o
        })
}

fn op_name() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["add", "Add", "replace", "Replace", "remove", "Remove"])
}

fn text_value() -> impl Strategy<Value = Value> {
    prop_oneof![6 => word().prop_map(Value::String), 1 => Just(Value::Null)]
}

/// The sub-attribute holding the main value of a multi-valued attribute's values.
fn field(multi: &str) -> &'static str {
    if multi == "addresses" {
        "streetAddress"
    } else {
        "value"
    }
}

/// A path and a value that fit each other on a user, most of the time.
fn user_target() -> impl Strategy<Value = (String, Value)> {
    let text_paths = prop::sample::select(vec![
        "displayName".to_string(),
        "title".into(),
        "nickName".into(),
        "externalId".into(),
        "userName".into(),
        "name.givenName".into(),
        "NAME.familyName".into(),
        format!("{CORE_USER}:title"),
        format!("{CORE_USER}:name.middleName"),
        format!("{ENT}:department"),
        format!("{ENT}:costCenter"),
        format!("{ENT}:manager.value"),
    ]);
    let multi = prop::sample::select(vec!["emails", "phoneNumbers", "ims", "addresses"]);
    let element_sub = prop::sample::select(vec!["value", "display", "type", "primary"]);
    prop_oneof![
        4 => (text_paths, text_value()),
        1 => prop_oneof![
            any::<bool>().prop_map(Value::Bool),
            prop::sample::select(vec!["True", "False"]).prop_map(|s| json!(s)),
        ].prop_map(|v| ("active".to_string(), v)),
        1 => prop_oneof![
            word().prop_map(Value::String),
            word().prop_map(|w| json!({"value": w})),
            Just(Value::Null),
        ].prop_map(|v| (format!("{ENT}:manager"), v)),
        2 => multi.clone().prop_flat_map(|m| multi_values_of(field(m), true).prop_map(move |v| (m.to_string(), Value::Array(v)))),
        1 => (multi.clone(), word(), label()).prop_map(|(m, w, l)| (m.to_string(), json!({field(m): w, "type": l}))),
        3 => (multi.clone(), label(), element_sub, word(), any::<bool>()).prop_map(|(m, l, sub, w, b)| {
            let v = if sub == "primary" { json!(b) } else { json!(w) };
            let sub = if sub == "value" { field(m) } else { sub };
            (format!("{m}[type eq \"{l}\"].{sub}"), v)
        }),
        1 => (label(), prop::sample::select(vec!["streetAddress", "locality", "postalCode"]), word())
            .prop_map(|(l, sub, w)| (format!("addresses[type eq \"{l}\"].{sub}"), json!(w))),
        1 => (multi.clone(), label(), word(), any::<bool>())
            .prop_map(|(m, l, w, p)| (format!("{m}[type eq \"{l}\"]"), json!({field(m): w, "type": l, "primary": p}))),
        1 => (multi, word(), word()).prop_map(|(m, a, b)| (format!("{m}[{f} eq {}].{f}", json!(a), f = field(m)), json!(b))),
        1 => (prop::sample::select(vec!["emails", "name", ENT]), Just(Value::Null))
            .prop_map(|(p, v)| (p.to_string(), v)),
    ]
}

/// A path and a value that fit each other on a group, most of the time.
fn group_target() -> impl Strategy<Value = (String, Value)> {
    let member = prop_oneof![
        4 => Just(ID.to_string()),
        4 => Just("01ARZ3NDEKTSV4RRFFQ69G5FAW".to_string()),
        2 => Just(ID.to_lowercase()),
        1 => "[a-z0-9-]{1,8}",
    ];
    let members = prop::collection::vec(member.clone(), 0..4)
        .prop_map(|ids| Value::Array(ids.into_iter().map(|id| json!({"value": id})).collect()));
    prop_oneof![
        3 => ("[A-Za-z][A-Za-z ]{0,9}", prop::sample::select(vec!["displayName", "externalId", "DisplayName"]))
            .prop_map(|(v, p)| (p.to_string(), json!(v))),
        3 => (prop::sample::select(vec!["members", "Members", "urn:ietf:params:scim:schemas:core:2.0:Group:members"]), members)
            .prop_map(|(p, v)| (p.to_string(), v)),
        2 => member.prop_map(|id| (format!("members[value eq \"{id}\"]"), Value::Null)),
        1 => Just(("externalId".to_string(), Value::Null)),
    ]
}

fn target(kind: ResourceKind) -> BoxedStrategy<(String, Value)> {
    match kind {
        ResourceKind::User => user_target().boxed(),
        ResourceKind::Group => group_target().boxed(),
    }
}

/// An operation with a fitting path and value: with its path, or as a key of a path-less value
/// (where `remove` keeps its path).
fn typed_operation(kind: ResourceKind) -> impl Strategy<Value = Value> {
    (
        op_name(),
        prop::collection::vec(target(kind), 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(move |(op, targets, pathless, own_id)| {
            let remove = op.eq_ignore_ascii_case("remove");
            if pathless && !remove {
                let mut value: Map<String, Value> = targets.into_iter().collect();
                if own_id {
                    value.insert("id".into(), json!(ID));
                }
                return json!({"op": op, "value": value});
            }
            let (path, value) = targets.into_iter().next().unwrap_or_default();
            let mut o = json!({"op": op, "path": path});
            if !remove || value.is_array() {
                o["value"] = value;
            }
            o
        })
}

fn document(kind: ResourceKind) -> impl Strategy<Value = Value> {
    let operation = prop_oneof![9 => typed_operation(kind).boxed(), 1 => wild_operation().boxed()];
    prop::collection::vec(operation, 1..4)
        .prop_map(|ops| json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}))
}

// ---------------------------------------------------------------------------------------------
// Properties

fn primaries(attributes: &Map<String, Value>) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let mut scan = |scope: &Map<String, Value>| {
        for (name, v) in scope {
            if let Value::Array(items) = v {
                let n = items
                    .iter()
                    .filter(|i| i.get("primary") == Some(&Value::Bool(true)))
                    .count();
                out.push((name.clone(), n));
            }
        }
    };
    scan(attributes);
    if let Some(Value::Object(ext)) = attributes.get(ENT) {
        scan(ext);
    }
    out
}

/// Where a case stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    BodyRefused(&'static str),
    MembersRefused(&'static str),
    ApplyRefused(&'static str),
    NormalizeRefused(&'static str),
    Stored,
}

fn scim_type(e: &ScimError) -> &'static str {
    e.scim_type.map_or("-", |t| t.as_str())
}

fn check(kind: ResourceKind, resource: &Value, doc: &Value) -> Result<Outcome, TestCaseError> {
    let stored = normalize(kind, resource)
        .map_err(|e| TestCaseError::fail(format!("the generated resource is invalid: {e}")))?;
    let ops = match parse_request(SchemaSet::standard(), kind, doc) {
        Ok(ops) => ops,
        Err(e) => return Ok(Outcome::BodyRefused(scim_type(&e))),
    };
    let ops = match kind {
        ResourceKind::Group => match split(ops) {
            Ok((_, rest)) => rest,
            Err(e) => {
                prop_assert_eq!(e.status, 400, "{}", e.detail);
                return Ok(Outcome::MembersRefused(scim_type(&e)));
            }
        },
        ResourceKind::User => ops,
    };
    let mut attributes = stored.clone();
    if let Err(e) = apply(kind, ID, &mut attributes, &ops) {
        prop_assert_eq!(e.status, 400, "{}", e.detail);
        prop_assert_eq!(&attributes, &stored, "a failed PATCH changed the resource");
        return Ok(Outcome::ApplyRefused(scim_type(&e)));
    }
    let out = match normalize(kind, &Value::Object(attributes)) {
        Ok(out) => out,
        Err(e) => return Ok(Outcome::NormalizeRefused(scim_type(&e))),
    };
    let again = normalize(kind, &Value::Object(out.clone()));
    prop_assert_eq!(
        again.as_ref(),
        Ok(&out),
        "the stored resource does not re-normalise"
    );
    prop_assert!(
        !out.contains_key("members"),
        "members stored in the group item: {:?}",
        out
    );
    for (name, n) in primaries(&out) {
        prop_assert!(n <= 1, "{} primary values of {}: {:?}", n, name, out);
    }
    Ok(Outcome::Stored)
}

/// Runs the property and prints where the cases stopped; at least `min_stored` of them must
/// have gone all the way to a stored resource, or the generators have drifted off target.
fn run(kind: ResourceKind, resource: impl Strategy<Value = Value>, min_stored: f64) {
    let counts = std::cell::RefCell::new(std::collections::BTreeMap::<Outcome, usize>::new());
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let result = runner.run(&(resource, document(kind)), |(resource, doc)| {
        let outcome = check(kind, &resource, &doc)?;
        *counts.borrow_mut().entry(outcome).or_default() += 1;
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let counts = counts.into_inner();
    let total: usize = counts.values().sum();
    println!(
        "{} PATCH cases, {total} runs (shrinking included):",
        kind.name()
    );
    for (outcome, n) in &counts {
        println!(
            "  {:<34} {n:>6}  {:>5.1}%",
            format!("{outcome:?}"),
            100.0 * *n as f64 / total as f64
        );
    }
    let stored = counts.get(&Outcome::Stored).copied().unwrap_or(0);
    assert!(
        stored as f64 >= min_stored * total as f64,
        "only {stored} of {total} cases reached a stored resource"
    );
}

#[test]
fn patching_a_user_never_panics_and_stores_only_valid_users() {
    run(ResourceKind::User, user(), 0.2);
}

#[test]
fn patching_a_group_never_panics_and_stores_only_valid_groups() {
    run(ResourceKind::Group, group(), 0.2);
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_json_bodies_never_panic(body in json_value()) {
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let _ = parse_request(SchemaSet::standard(), kind, &body);
            let _ = parse_request(SchemaSet::standard(), kind, &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [body]}));
        }
    }
}
