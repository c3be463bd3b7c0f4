//! The filter grammar's semantics (RFC 7644 §3.4.2.2) on a fixture of 32 users and 10 groups:
//! each case is a filter and the exact set of resources it selects. Pure: no DynamoDB.
//!
//! `cargo test --lib tests::filter_suite`

use std::collections::BTreeSet;

use crate::protocol::error::ScimType;
use crate::protocol::filter::{parse_filter, AttrPath, CompareOp, Filter, MAX_DEPTH, MAX_LEN};
use crate::protocol::list::ListQuery;
use crate::protocol::matcher::{matches, validate};
use crate::protocol::resource::ResourceKind;
use crate::protocol::schema::SchemaSet;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const BASE: &str = "https://scim.example.com/t1/scim/v2";

// ---------------------------------------------------------------------------------------------
// Fixture

/// `created` of user `n` is 2024-01-nnT12:00:00Z (u32: 2024-02-01), written in one of five
/// offsets, so that comparing the text would give the wrong order.
fn user_created(n: u32) -> String {
    let (month, day) = if n <= 31 { (1, n) } else { (2, n - 31) };
    match n % 5 {
        0 => format!("2024-{month:02}-{day:02}T12:00:00Z"),
        1 => format!("2024-{month:02}-{day:02}T13:00:00+01:00"),
        2 => format!("2024-{month:02}-{day:02}T07:00:00-05:00"),
        3 => format!("2024-{month:02}-{day:02}T17:30:00+05:30"),
        _ => format!("2024-{month:02}-{:02}T02:00:00+14:00", day + 1),
    }
}

/// `lastModified` of user `n` is 2024-07-nnT00:00:00Z (u32: 2024-08-01), in a shifted offset.
fn user_modified(n: u32) -> String {
    let (month, day) = if n <= 31 { (7, n) } else { (8, n - 31) };
    match (n + 2) % 5 {
        0 => format!("2024-{month:02}-{day:02}T00:00:00Z"),
        1 => format!("2024-{month:02}-{day:02}T01:00:00+01:00"),
        2 => format!("2024-{month:02}-{:02}T19:00:00-05:00", day - 1),
        3 => format!("2024-{month:02}-{day:02}T05:30:00.000+05:30"),
        _ => format!("2024-{month:02}-{day:02}T14:00:00+14:00"),
    }
}

struct Builder(Map<String, Value>);

impl Builder {
    fn set(mut self, key: &str, value: Value) -> Self {
        self.0.insert(key.into(), value);
        self
    }

    fn push(mut self, key: &str, value: Value) -> Self {
        let list = self.0.entry(key).or_insert_with(|| json!([]));
        if let Value::Array(items) = list {
            items.push(value);
        }
        self
    }

    fn name(self, given: &str, family: &str) -> Self {
        self.set("name", json!({"givenName": given, "familyName": family}))
    }

    fn active(self, active: bool) -> Self {
        self.set("active", json!(active))
    }

    fn email(self, value: &str, ty: &str, primary: Option<bool>) -> Self {
        let mut e = json!({"value": value, "type": ty});
        if let Some(p) = primary {
            e["primary"] = json!(p);
        }
        self.push("emails", e)
    }

    fn phone(self, value: &str, ty: &str) -> Self {
        self.push("phoneNumbers", json!({"value": value, "type": ty}))
    }

    fn cert(self, base64: &str) -> Self {
        self.push("x509Certificates", json!({"value": base64}))
    }

    fn enterprise(self, department: &str, employee_number: &str, manager: Option<&str>) -> Self {
        let mut ext = json!({"department": department, "employeeNumber": employee_number});
        if let Some(m) = manager {
            ext["manager"] = json!({"value": m, "$ref": format!("{BASE}/Users/{m}")});
        }
        let schemas = json!([CORE_USER, ENT]);
        self.set(ENT, ext).set("schemas", schemas)
    }

    fn group(self, id: &str, ty: &str) -> Self {
        let g = json!({"value": id, "$ref": format!("{BASE}/Groups/{id}"), "type": ty});
        self.push("groups", g)
    }

    fn member(self, id: &str, ty: &str, with_ref: bool) -> Self {
        let mut m = json!({"value": id, "type": ty});
        if with_ref {
            m["$ref"] = json!(format!("{BASE}/{ty}s/{id}"));
        }
        self.push("members", m)
    }

    fn done(self) -> Value {
        Value::Object(self.0)
    }
}

fn u(n: u32, user_name: &str) -> Builder {
    let id = format!("u{n:02}");
    Builder(Map::new())
        .set("schemas", json!([CORE_USER]))
        .set("id", json!(id))
        .set("userName", json!(user_name))
        .set(
            "meta",
            json!({
                "resourceType": "User",
                "created": user_created(n),
                "lastModified": user_modified(n),
                "location": format!("{BASE}/Users/{id}"),
                "version": format!("W/\"{n}\""),
            }),
        )
}

fn users() -> Vec<Value> {
    vec![
        u(1, "bjensen")
            .name("Barbara", "Jensen")
            .active(true)
            .email("bjensen@example.com", "work", Some(true))
            .email("babs@jensen.org", "home", None)
            .phone("+1-555-0101", "work")
            .enterprise("Tour Operations", "701984", Some("u05"))
            .set("externalId", json!("EXT-01"))
            .set("title", json!("Tour Guide"))
            .set("userType", json!("Employee"))
            .group("g01", "direct")
            .group("g02", "direct")
            .group("g09", "direct")
            .done(),
        u(2, "BJensen2")
            .name("Brian", "Jensen")
            .active(false)
            .email("brian@example.com", "work", Some(true))
            .enterprise("Tour Operations", "701985", Some("u01"))
            .set("userType", json!("Employee"))
            .group("g09", "direct")
            .done(),
        u(3, "ALICE")
            .name("Alice", "Smith")
            .active(true)
            .email("alice@example.org", "work", Some(true))
            .email("alice.home@mail.test", "home", None)
            .phone("+44 20 7946 0001", "mobile")
            .enterprise("R&D", "100", Some("u05"))
            .set("title", json!("Engineer"))
            .set("userType", json!("Contractor"))
            .cert("TUlJQ0FMSUNF")
            .group("g03", "direct")
            .group("g09", "direct")
            .done(),
        u(4, "bob")
            .name("Bob", "Stone")
            .set("externalId", json!("ext-04"))
            .group("g09", "direct")
            .done(),
        u(5, "Carol.Boss")
            .name("Carol", "Boss")
            .active(true)
            .email("carol@example.com", "work", Some(true))
            .email("carol@EXAMPLE.NET", "other", None)
            .enterprise("Executive", "1", None)
            .set("title", json!("CEO"))
            .set("userType", json!("Employee"))
            .set("profileUrl", json!("https://example.com/Profiles/Carol"))
            .group("g01", "direct")
            .group("g10", "direct")
            .done(),
        u(6, "dave")
            .name("Dave", "Null")
            .active(false)
            .email("dave@example.com", "home", None)
            .phone("+1-555-0106", "home")
            .phone("+1-555-0107", "work")
            .enterprise("R&D", "106", Some("u03"))
            .done(),
        u(7, "Eve")
            .name("Eve", "Adams")
            .active(true)
            .email("eve@evil.test", "work", None)
            .cert("QkVFRg==")
            .cert("ZXZlY2VydA==")
            .enterprise("Security", "007", Some("u05"))
            .group("g04", "direct")
            .group("g05", "direct")
            .done(),
        u(8, "frank")
            .name("Frank", "Ocean")
            .active(true)
            .email("frank@example.com", "work", Some(false))
            .enterprise("Sales", "108", Some("u09"))
            .set("userType", json!("Intern"))
            .done(),
        u(9, "Grace")
            .name("Grace", "Hopper")
            .active(true)
            .email("grace@navy.mil", "work", Some(true))
            .enterprise("Sales", "109", Some("u05"))
            .set("title", json!("Rear Admiral"))
            .group("g02", "direct")
            .done(),
        u(10, "heidi")
            .name("Heidi", "Klum")
            .active(false)
            .enterprise("Marketing", "110", None)
            .done(),
        u(11, "ivan")
            .name("Ivan", "Petrov")
            .active(true)
            .email("ivan@example.ru", "work", None)
            .phone("+7 495 000-00-00", "work")
            .set("externalId", json!("EXT-11"))
            .done(),
        u(12, "judy")
            .name("Judy", "Garland")
            .active(true)
            .email("judy@example.com", "home", Some(true))
            .email("judy@work.test", "work", None)
            .enterprise("Marketing", "112", Some("u10"))
            .done(),
        u(13, "Mallory")
            .active(false)
            .email("mallory@evil.test", "other", None)
            .set("title", json!(""))
            .done(),
        u(14, "niaj")
            .name("Niaj", "Kumar")
            .active(true)
            .enterprise("R&D", "114", Some("u03"))
            .set("title", json!("Engineer"))
            .set("userType", json!("Employee"))
            .group("g07", "direct")
            .group("g03", "indirect")
            .done(),
        u(15, "olivia")
            .name("Olivia", "Wilde")
            .active(true)
            .email("olivia@example.com", "work", Some(true))
            .set("nickName", json!("Liv"))
            .done(),
        u(16, "peggy")
            .name("Peggy", "Carter")
            .active(true)
            .enterprise("Security", "116", Some("u07"))
            .set("displayName", json!("Agent Carter"))
            .done(),
        u(17, "quentin")
            .name("Quentin", "Blake")
            .active(false)
            .email("q@example.com", "work", None)
            .done(),
        u(18, "Rupert")
            .name("Rupert", "Giles")
            .active(true)
            .email("rupert@library.test", "work", Some(true))
            .phone("+44 1632 960018", "work")
            .done(),
        u(19, "sybil")
            .name("Sybil", "Trelawney")
            .active(true)
            .group("g06", "direct")
            .done(),
        u(20, "trent")
            .name("Trent", "Reznor")
            .active(true)
            .email("trent@example.com", "work", None)
            .cert("VFJFTlQ=")
            .done(),
        u(21, "ursula")
            .active(true)
            .email("ursula@sea.test", "home", None)
            .done(),
        u(22, "victor")
            .name("Victor", "Hugo")
            .active(false)
            .enterprise("R&D", "122", Some("u14"))
            .done(),
        u(23, "walter")
            .name("Walter", "White")
            .active(true)
            .email("heisenberg@example.com", "work", Some(true))
            .set("title", json!("Chemistry Teacher"))
            .done(),
        u(24, "xavier")
            .active(true)
            .set("userType", json!("Contractor"))
            .done(),
        u(25, "yvonne")
            .name("Yvonne", "Strahovski")
            .active(true)
            .email("yvonne@example.com", "work", None)
            .done(),
        u(26, "zoe").name("Zoe", "Saldana").active(true).done(),
        u(27, "Zed.Upper").active(true).done(),
        u(28, "ann-marie")
            .name("Ann-Marie", "Duff")
            .active(true)
            .set(
                "profileUrl",
                json!("https://example.com/Profiles/Ann-Marie"),
            )
            .done(),
        u(29, "o'malley")
            .name("Pat", "O'Malley")
            .active(true)
            .done(),
        u(30, "émile")
            .name("Émile", "Zola")
            .active(true)
            .email("emile@example.fr", "work", None)
            .done(),
        u(31, "q\"uote").active(true).done(),
        u(32, "minimal").done(),
    ]
}

fn g(n: u32, display_name: &str) -> Builder {
    let id = format!("g{n:02}");
    let created = match n % 3 {
        0 => format!("2024-02-{n:02}T00:00:00Z"),
        1 => format!("2024-02-{n:02}T02:00:00+02:00"),
        _ => format!("2024-02-{:02}T21:00:00-03:00", n - 1),
    };
    Builder(Map::new())
        .set("schemas", json!([CORE_GROUP]))
        .set("id", json!(id))
        .set("displayName", json!(display_name))
        .set(
            "meta",
            json!({
                "resourceType": "Group",
                "created": created,
                "lastModified": created,
                "location": format!("{BASE}/Groups/{id}"),
                "version": "W/\"1\"",
            }),
        )
}

fn groups() -> Vec<Value> {
    let mut security = g(4, "Security").member("u07", "User", true).done();
    security["members"][0]["display"] = json!("Eve Adams");
    vec![
        g(1, "Admins")
            .member("u01", "User", true)
            .member("u05", "User", true)
            .set("externalId", json!("AD-Admins"))
            .done(),
        g(2, "Tour Guides")
            .member("u01", "User", true)
            .member("u09", "User", true)
            .done(),
        g(3, "Engineering")
            .member("u03", "User", true)
            .member("g07", "Group", true)
            .done(),
        security,
        g(5, "Red Team").member("u07", "User", true).done(),
        g(6, "Seers").member("u19", "User", true).done(),
        g(7, "Platform").member("u14", "User", true).done(),
        g(8, "Empty").done(),
        // Large groups are rendered without member `$ref`s.
        g(9, "Big")
            .member("u01", "User", false)
            .member("u02", "User", false)
            .member("u03", "User", false)
            .member("u04", "User", false)
            .done(),
        g(10, "admins").member("U05", "User", true).done(),
    ]
}

// ---------------------------------------------------------------------------------------------
// Running cases

/// `"u01-u03 u07"` -> {u01, u02, u03, u07}; `""` is the empty set.
fn ids(spec: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for part in spec.split_whitespace() {
        match part.split_once('-') {
            Some((from, to)) => {
                let (prefix, a) = from.split_at(1);
                let b = &to[1..];
                let (a, b): (u32, u32) = (a.parse().unwrap(), b.parse().unwrap());
                out.extend((a..=b).map(|n| format!("{prefix}{n:02}")));
            }
            None => {
                out.insert(part.to_owned());
            }
        }
    }
    out
}

fn selected(kind: ResourceKind, filter: &str, resources: &[Value]) -> BTreeSet<String> {
    let f = parse_filter(filter).unwrap_or_else(|e| panic!("{filter:?} does not parse: {e}"));
    if let Err(e) = validate(SchemaSet::standard(), kind, &f) {
        panic!("{filter:?} is refused: {}", e.detail);
    }
    resources
        .iter()
        .filter(|r| matches(SchemaSet::standard(), kind, &f, r))
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

fn run(kind: ResourceKind, cases: &[(&str, &str)]) {
    let resources = match kind {
        ResourceKind::User => users(),
        ResourceKind::Group => groups(),
    };
    let mut failures = Vec::new();
    for (filter, expected) in cases {
        let got = selected(kind, filter, &resources);
        let want = ids(expected);
        if got != want {
            let extra: Vec<_> = got.difference(&want).collect();
            let missing: Vec<_> = want.difference(&got).collect();
            failures.push(format!(
                "{filter}\n    unexpected: {extra:?}\n    missing: {missing:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn all_users_but(spec: &str) -> String {
    let all = ids("u01-u32");
    let but = ids(spec);
    all.difference(&but).cloned().collect::<Vec<_>>().join(" ")
}

// ---------------------------------------------------------------------------------------------
// Users

#[test]
fn fixture_has_thirty_two_users_and_ten_groups() {
    assert_eq!(users().len(), 32);
    assert_eq!(groups().len(), 10);
    assert_eq!(ids("u01-u32").len(), 32);
}

#[test]
fn every_operator_on_strings_follows_case_insensitive_user_name() {
    let not_bjensen = all_users_but("u01");
    run(
        ResourceKind::User,
        &[
            (r#"userName eq "bjensen""#, "u01"),
            (r#"userName eq "BJENSEN""#, "u01"),
            (r#"userName ne "bjensen""#, &not_bjensen),
            (r#"userName sw "bj""#, "u01 u02"),
            (r#"userName co "LL""#, "u13 u29"),
            (r#"userName ew "ER""#, "u23 u24 u27"),
            (r#"userName gt "x""#, "u24 u25 u26 u27 u30"),
            (r#"userName ge "yvonne""#, "u25 u26 u27 u30"),
            (r#"userName lt "b""#, "u03 u28"),
            (r#"userName le "ALICE""#, "u03"),
            (r#"userName pr"#, "u01-u32"),
            (r#"userName eq "q\"uote""#, "u31"),
            (r#"userName eq "o'malley""#, "u29"),
            (r#"userName eq "\u00c9MILE""#, "u30"),
            (r#"userName sw "Z""#, "u26 u27"),
        ],
    );
}

#[test]
fn sub_attributes_of_single_valued_complex_attributes() {
    run(
        ResourceKind::User,
        &[
            (r#"name.givenName eq "barbara""#, "u01"),
            (r#"name.familyName eq "Jensen""#, "u01 u02"),
            (r#"name.familyName co "'""#, "u29"),
            (r#"name.givenName ge "Y""#, "u25 u26 u30"),
            (r#"name.givenName eq "émile""#, "u30"),
            ("name pr", &all_users_but("u13 u21 u24 u27 u31 u32")),
            ("not (name pr)", "u13 u21 u24 u27 u31 u32"),
            ("name.middleName pr", ""),
        ],
    );
}

#[test]
fn present_and_null_distinguish_empty_strings_from_unassigned() {
    run(
        ResourceKind::User,
        &[
            // u13's title is "": not present, but assigned.
            ("title pr", "u01 u03 u05 u09 u14 u23"),
            (
                "title eq null",
                &all_users_but("u01 u03 u05 u09 u13 u14 u23"),
            ),
            ("title ne null", "u01 u03 u05 u09 u13 u14 u23"),
            ("nickName pr", "u15"),
            (r#"displayName eq "agent carter""#, "u16"),
        ],
    );
}

#[test]
fn ne_holds_on_missing_attributes() {
    run(
        ResourceKind::User,
        &[
            (r#"title ne "Engineer""#, &all_users_but("u03 u14")),
            (r#"title eq "Engineer""#, "u03 u14"),
            (r#"title gt "Z""#, ""),
        ],
    );
}

#[test]
fn booleans_with_missing_values() {
    run(
        ResourceKind::User,
        &[
            (
                "active eq true",
                &all_users_but("u02 u04 u06 u10 u13 u17 u22 u32"),
            ),
            ("active eq false", "u02 u06 u10 u13 u17 u22"),
            ("active ne true", "u02 u04 u06 u10 u13 u17 u22 u32"),
            ("not (active eq true)", "u02 u04 u06 u10 u13 u17 u22 u32"),
            ("active pr", &all_users_but("u04 u32")),
            ("not (active eq true or active eq false)", "u04 u32"),
            ("active eq null", "u04 u32"),
        ],
    );
}

#[test]
fn multi_valued_attributes_and_value_paths() {
    run(
        ResourceKind::User,
        &[
            (
                r#"emails.type eq "work""#,
                "u01 u02 u03 u05 u07 u08 u09 u11 u12 u15 u17 u18 u20 u23 u25 u30",
            ),
            // The same element must satisfy both: u12 has a home example.com address and
            // another work one.
            (
                r#"emails[type eq "work" and value co "@example.com"]"#,
                "u01 u02 u05 u08 u15 u17 u20 u23 u25",
            ),
            (
                r#"emails.type eq "work" and emails.value co "@example.com""#,
                "u01 u02 u05 u08 u12 u15 u17 u20 u23 u25",
            ),
            (
                "emails[primary eq true]",
                "u01 u02 u03 u05 u09 u12 u15 u18 u23",
            ),
            ("emails[primary eq false]", "u08"),
            (
                "emails[not (primary eq true)]",
                "u01 u03 u05 u06 u07 u08 u11 u12 u13 u17 u20 u21 u25 u30",
            ),
            (r#"emails co "EXAMPLE.NET""#, "u05"),
            (r#"emails eq "CAROL@example.com""#, "u05"),
            (r#"emails[type eq "home"].value ew ".org""#, "u01"),
            (r#"emails[TYPE EQ "Home" and VALUE sw "JUDY"]"#, "u12"),
            (
                "emails pr",
                "u01 u02 u03 u05 u06 u07 u08 u09 u11 u12 u13 u15 u17 u18 u20 u21 u23 u25 u30",
            ),
            // Some email is not a work email (ne is "any value differs").
            (
                r#"emails.type ne "work""#,
                &all_users_but("u02 u07 u08 u09 u11 u15 u17 u18 u20 u23 u25 u30"),
            ),
            (r#"phoneNumbers[type eq "work"]"#, "u01 u06 u11 u18"),
            (r#"phoneNumbers.value sw "+1""#, "u01 u06"),
            (
                r#"phoneNumbers[type eq "mobile" or value co "0018"]"#,
                "u03 u18",
            ),
        ],
    );
}

#[test]
fn rfc_7644_examples() {
    run(
        ResourceKind::User,
        &[
            (
                r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
                "u01 u02 u05",
            ),
            (
                r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
                "u04 u07 u09 u10 u11 u13 u16 u18 u19 u21 u22 u24 u26 u27 u28 u29 u30 u31 u32",
            ),
            (
                r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
                "u01 u02 u05",
            ),
            (r#"title pr and userType eq "Employee""#, "u01 u05 u14"),
            (
                r#"title pr or userType eq "Intern""#,
                "u01 u03 u05 u08 u09 u14 u23",
            ),
        ],
    );
}

#[test]
fn precedence_and_binds_tighter_than_or_and_parentheses_and_not_override_it() {
    run(
        ResourceKind::User,
        &[
            // bob or (eve and inactive); eve is active.
            (
                r#"userName eq "bob" or userName eq "eve" and active eq false"#,
                "u04",
            ),
            (
                r#"(userName eq "bob" or userName eq "eve") and active eq true"#,
                "u07",
            ),
            (
                r#"active eq false and userName sw "d" or userName sw "q""#,
                "u06 u17 u31",
            ),
            (
                r#"active eq false and (userName sw "d" or userName sw "q")"#,
                "u06 u17",
            ),
            (
                r#"userName sw "q" or active eq false and userName sw "d""#,
                "u06 u17 u31",
            ),
            (r#"not (not (userName eq "bob"))"#, "u04"),
            (
                r#"not (userName sw "b" or userName sw "a") and name pr"#,
                &all_users_but("u01 u02 u03 u04 u13 u21 u24 u27 u28 u31 u32"),
            ),
            (r#"USERNAME EQ "BOB" AND Name.FamilyName Pr"#, "u04"),
        ],
    );
}

#[test]
fn enterprise_extension_paths() {
    run(
        ResourceKind::User,
        &[
            (&format!("{ENT}:department eq \"r&d\""), "u03 u06 u14 u22"),
            (
                &format!("{ENT}:manager.value eq \"u05\""),
                "u01 u03 u07 u09",
            ),
            (&format!("{ENT}:manager eq \"U05\""), "u01 u03 u07 u09"),
            (
                &format!("{ENT}:employeeNumber sw \"10\""),
                "u03 u06 u08 u09",
            ),
            // Strings order as text, not as numbers.
            (&format!("{ENT}:employeeNumber gt \"2\""), "u01 u02"),
            (
                &format!("{ENT}:manager pr"),
                "u01 u02 u03 u06 u07 u08 u09 u12 u14 u16 u22",
            ),
            (
                &format!("not ({ENT}:manager pr) and {ENT}:department pr"),
                "u05 u10",
            ),
            (&format!("{ENT}:manager.$ref ew \"/Users/u07\""), "u16"),
            (
                &format!(
                    "{}:DEPARTMENT eq \"sales\"",
                    ENT.to_ascii_uppercase().replace("URN:", "urn:")
                ),
                "u08 u09",
            ),
        ],
    );
}

#[test]
fn core_schema_urn_paths() {
    run(
        ResourceKind::User,
        &[
            (&format!("{CORE_USER}:userName sw \"Z\""), "u26 u27"),
            (&format!("{CORE_USER}:name.familyName eq \"hopper\""), "u09"),
            (&format!("{CORE_USER}:emails[type eq \"other\"]"), "u05 u13"),
        ],
    );
}

#[test]
fn case_exact_follows_the_schema() {
    run(
        ResourceKind::User,
        &[
            // externalId is caseExact.
            (r#"externalId eq "EXT-01""#, "u01"),
            (r#"externalId eq "ext-01""#, ""),
            (r#"externalId sw "EXT""#, "u01 u11"),
            (r#"externalId sw "ext""#, "u04"),
            // Ids are ULIDs, whose letters are case-insensitive (resource.rs).
            (r#"id eq "U01""#, "u01"),
            // meta.resourceType is caseExact.
            (r#"meta.resourceType eq "User""#, "u01-u32"),
            (r#"meta.resourceType eq "user""#, ""),
        ],
    );
}

#[test]
fn references_compare_case_exactly() {
    run(
        ResourceKind::User,
        &[
            (
                r#"profileUrl eq "https://example.com/Profiles/Carol""#,
                "u05",
            ),
            (r#"profileUrl eq "https://example.com/profiles/carol""#, ""),
            (
                r#"profileUrl sw "https://example.com/Profiles/""#,
                "u05 u28",
            ),
            (r#"profileUrl gt "https://example.com/Profiles/B""#, "u05"),
            (r#"meta.location ew "/Users/u32""#, "u32"),
        ],
    );
}

#[test]
fn binary_values_compare_case_exactly() {
    run(
        ResourceKind::User,
        &[
            (r#"x509Certificates.value eq "QkVFRg==""#, "u07"),
            (r#"x509Certificates.value eq "qkvfrg==""#, ""),
            ("x509Certificates pr", "u03 u07 u20"),
            (r#"x509Certificates eq "VFJFTlQ=""#, "u20"),
            (r#"x509Certificates.value co "ZXZl""#, "u07"),
            (r#"x509Certificates[value sw "TUlJ"]"#, "u03"),
        ],
    );
}

#[test]
fn date_times_compare_as_instants_across_offsets() {
    run(
        ResourceKind::User,
        &[
            // u04 was created "2024-01-05T02:00:00+14:00", which is 2024-01-04T12:00:00Z.
            (r#"meta.created lt "2024-01-05T00:00:00Z""#, "u01-u04"),
            (r#"meta.created eq "2024-01-04T12:00:00Z""#, "u04"),
            (r#"meta.created gt "2024-01-10T12:00:00Z""#, "u11-u32"),
            (r#"meta.created ge "2024-01-31T12:00:00Z""#, "u31 u32"),
            (r#"meta.created gt "2024-01-31T13:00:00+01:00""#, "u32"),
            (r#"meta.created le "2024-01-03T08:00:00-04:00""#, "u01-u03"),
            // u05 was modified "2024-07-04T19:00:00-05:00".
            (r#"meta.lastModified eq "2024-07-05T00:00:00Z""#, "u05"),
            (
                r#"meta.lastModified ne "2024-07-05T00:00:00Z""#,
                &all_users_but("u05"),
            ),
            (r#"meta.lastModified le "2024-07-03T00:00:00Z""#, "u01-u03"),
            (
                r#"meta.lastModified gt "2024-07-04T20:00:00-05:00""#,
                "u06-u32",
            ),
            (
                r#"meta.lastModified ge "2024-07-30T00:00:00.000Z""#,
                "u30 u31 u32",
            ),
            (
                r#"meta.lastModified gt "2024-07-10T00:00:00Z" and meta.created lt "2024-01-13T00:00:00Z""#,
                "u11 u12",
            ),
            ("meta.created pr", "u01-u32"),
        ],
    );
}

#[test]
fn user_group_memberships() {
    run(
        ResourceKind::User,
        &[
            (r#"groups.value eq "g09""#, "u01 u02 u03 u04"),
            (r#"groups[value eq "g01"]"#, "u01 u05"),
            (r#"groups eq "G02""#, "u01 u09"),
            (r#"groups.type eq "indirect""#, "u14"),
            (r#"groups[value eq "g03" and type eq "indirect"]"#, "u14"),
            (r#"groups[value eq "g03" and type eq "direct"]"#, "u03"),
            ("groups pr", "u01 u02 u03 u04 u05 u07 u09 u14 u19"),
            ("groups.display pr", ""),
            (r#"groups.$ref ew "/Groups/g06""#, "u19"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Groups

#[test]
fn group_members_and_names() {
    run(
        ResourceKind::Group,
        &[
            (r#"members[value eq "u07"]"#, "g04 g05"),
            (r#"members eq "u01""#, "g01 g02 g09"),
            (r#"members.value eq "U05""#, "g01 g10"),
            (r#"members.type eq "Group""#, "g03"),
            ("members pr", "g01-g07 g09 g10"),
            ("not (members pr)", "g08"),
            ("members eq null", "g08"),
            (r#"members[type eq "Group" or value eq "u19"]"#, "g03 g06"),
            (r#"members.$ref ew "/Users/u01""#, "g01 g02"),
            (r#"members.display co "eve""#, "g04"),
            (r#"displayName eq "ADMINS""#, "g01 g10"),
            (
                r#"displayName co "team" or members.value eq "u14""#,
                "g05 g07",
            ),
            (&format!("{CORE_GROUP}:displayName sw \"t\""), "g02"),
            (
                r#"members[value eq "u01"] and members[value eq "u05"]"#,
                "g01",
            ),
            (r#"members[value eq "u01" and value eq "u05"]"#, ""),
            ("externalId pr", "g01"),
            // g03 was created "2024-02-02T21:00:00-03:00".
            (r#"meta.created le "2024-02-03T00:00:00Z""#, "g01 g02 g03"),
            (r#"meta.created lt "2024-02-03T00:00:00Z""#, "g01 g02"),
            (r#"meta.resourceType eq "Group""#, "g01-g10"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Refused filters

fn refused(kind: ResourceKind, filter: &str) -> String {
    let params = vec![("filter".to_owned(), filter.to_owned())];
    match ListQuery::from_params(SchemaSet::standard(), kind, &params) {
        Ok(q) => panic!("{filter:?} should be refused, got {:?}", q.filter),
        Err(e) => {
            assert_eq!(e.status, 400, "{filter}");
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{filter}");
            e.detail
        }
    }
}

#[test]
fn invalid_filters_are_400_invalid_filter_with_a_message_that_says_why() {
    let deep = format!("{}userName pr{}", "(".repeat(65), ")".repeat(65));
    let long = format!("userName eq \"{}\"", "x".repeat(MAX_LEN));
    let cases: &[(ResourceKind, &str, &str)] = &[
        (ResourceKind::User, "active gt true", "\"gt\" cannot compare with true at position 10"),
        (ResourceKind::User, r#"active gt "x""#, "boolean attributes cannot be ordered"),
        (ResourceKind::User, r#"active eq "yes""#, "\"active\" is a boolean attribute; compare it with true or false"),
        (ResourceKind::User, r#"x509Certificates.value lt "A""#, "binary attributes cannot be ordered"),
        (ResourceKind::User, r#"shoeSize eq 1"#, "\"shoeSize\" is not an attribute of User"),
        (ResourceKind::User, r#"members pr"#, "\"members\" is not an attribute of User"),
        (ResourceKind::Group, r#"userName eq "x""#, "\"userName\" is not an attribute of Group"),
        (ResourceKind::User, &format!("{ENT}:shoe pr"), "is not an attribute of User"),
        (ResourceKind::User, r#"department eq "R&D""#, "\"department\" is not an attribute of User"),
        (ResourceKind::User, r#"emails[nope eq "x"]"#, "\"nope\" is not a sub-attribute of \"emails\""),
        (ResourceKind::User, r#"userName[value eq "x"]"#, "needs a complex attribute"),
        (ResourceKind::User, r#"userName eq 5"#, "compare it with a \"quoted string\""),
        (ResourceKind::User, r#"meta.created gt "tomorrow""#, "RFC 3339"),
        (ResourceKind::User, r#"meta.created sw "2024""#, "\"sw\" works on string, reference and binary attributes"),
        (ResourceKind::User, r#"active co "t""#, "\"co\" works on string, reference and binary attributes"),
        (ResourceKind::User, r#"name eq "Barbara""#, "complex attribute without a \"value\""),
        (ResourceKind::User, r#"userName foo "x""#, "expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after \"userName\" at position 9, found \"foo\""),
        (ResourceKind::User, r#"userName eq "x" and"#, "after \"and\" at position 19, found end of input"),
        (ResourceKind::User, r#"(userName pr"#, "to match the \"(\" at position 0"),
        (ResourceKind::User, r#"userName pr)"#, "unbalanced \")\" at position 11"),
        (ResourceKind::User, r#"emails[type[value eq "x"]]"#, "nested value filters are not allowed: unexpected \"[\" at position 11"),
        (ResourceKind::User, r#"userName eq "x"#, "unterminated string starting at position 12"),
        (ResourceKind::User, "userName eq tru", "expected a value"),
        (ResourceKind::User, &deep, &format!("deeper than {MAX_DEPTH} levels")),
        (ResourceKind::User, &long, &format!("the maximum is {MAX_LEN}")),
    ];
    let mut failures = Vec::new();
    for (kind, filter, expected) in cases {
        let detail = refused(*kind, filter);
        if !detail.contains(expected) {
            failures.push(format!(
                "{filter}\n    got: {detail}\n    want: …{expected}…"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_list_query_filter_selects_with_the_schema_aware_matcher() {
    let params = vec![(
        "filter".to_owned(),
        r#"meta.created lt "2024-01-05T00:00:00Z" and userName ne "bob""#.to_owned(),
    )];
    let q = ListQuery::from_params(SchemaSet::standard(), ResourceKind::User, &params).unwrap();
    let admitted: BTreeSet<String> = users()
        .iter()
        .filter(|u| {
            q.filter
                .as_ref()
                .is_some_and(|f| matches(SchemaSet::standard(), ResourceKind::User, f, u))
        })
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(admitted, ids("u01-u03"));
}

// ---------------------------------------------------------------------------------------------
// Properties

/// Attribute names and paths the generated filters use: schema ones, URN-qualified ones and
/// arbitrary well-formed names (including keywords, which the parser must still read as names).
fn attr_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "userName",
            "name",
            "emails",
            "active",
            "meta",
            "members",
            "groups",
            "title",
            "x509Certificates",
            "id",
            "externalId",
            "manager",
            "department",
            "$ref",
            "$REF",
            "not",
            "and",
            "or",
            "pr",
            "eq",
            "NOT",
            "value",
            "type",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z][a-zA-Z0-9_-]{0,10}",
    ]
}

fn sub_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "value",
            "type",
            "primary",
            "givenName",
            "lastModified",
            "created",
            "$ref",
            "display",
        ])
        .prop_map(str::to_owned),
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
    ]
}

fn uri() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        4 => Just(None),
        1 => Just(Some(CORE_USER.to_owned())),
        1 => Just(Some(ENT.to_owned())),
        1 => Just(Some(ENT.to_ascii_lowercase())),
        1 => "urn:[a-z]{1,5}(:[a-zA-Z][a-zA-Z0-9.-]{0,5}){0,3}".prop_map(Some),
    ]
}

fn attr_path(with_sub: bool) -> impl Strategy<Value = AttrPath> {
    let sub = if with_sub {
        prop::option::of(sub_name()).boxed()
    } else {
        Just(None).boxed()
    };
    (uri(), attr_name(), sub).prop_map(|(uri, name, sub)| AttrPath { uri, name, sub })
}

fn inner_path() -> impl Strategy<Value = AttrPath> {
    sub_name().prop_map(|name| AttrPath {
        uri: None,
        name,
        sub: None,
    })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..12).prop_map(|c| c.into_iter().collect()),
        prop::sample::select(vec![
            "",
            "\"",
            "\\",
            "\\\"",
            "a]b",
            "(x)",
            "not (",
            " and ",
            "\u{0}",
            "\n\t",
            "é😀",
            "2024-01-01T00:00:00+01:00",
            "urn:a:b",
        ])
        .prop_map(str::to_owned),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => text().prop_map(Value::String),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        1 => prop::sample::select(vec![0.5, -0.0, 1e9, 1e-7, 1e300]).prop_map(Value::from),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => Just(Value::Null),
    ]
}

fn comparison(path: BoxedStrategy<AttrPath>) -> impl Strategy<Value = Filter> {
    (path, prop::sample::select(CompareOp::ALL.to_vec()), value()).prop_map(|(p, op, v)| {
        // The grammar only lets eq and ne take true, false or null.
        let op = if (v.is_boolean() || v.is_null()) && !matches!(op, CompareOp::Eq | CompareOp::Ne)
        {
            CompareOp::Eq
        } else {
            op
        };
        Filter::Compare(p, op, v)
    })
}

fn logic(leaf: BoxedStrategy<Filter>, depth: u32) -> BoxedStrategy<Filter> {
    leaf.prop_recursive(depth, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Filter::Or(Box::new(a), Box::new(b))),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
    .boxed()
}

/// Arbitrary filter trees the grammar can express: all operators, nested and/or/not, value paths
/// (never nested, on paths without a sub-attribute) whose inner paths are plain names.
fn filter() -> BoxedStrategy<Filter> {
    let inner_leaf = prop_oneof![
        inner_path().prop_map(Filter::Present),
        comparison(inner_path().boxed()),
    ]
    .boxed();
    let value_path = (attr_path(false), logic(inner_leaf, 2))
        .prop_map(|(p, f)| Filter::ValuePath(p, Box::new(f)));
    let leaf = prop_oneof![
        attr_path(true).prop_map(Filter::Present),
        comparison(attr_path(true).boxed()),
        value_path,
    ]
    .boxed();
    logic(leaf, 4)
}

/// JSON shaped like a resource (schema names, URN keys, wrong types, nesting) or anything else.
fn resource() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "id",
            "userName",
            "USERNAME",
            "name",
            "givenName",
            "emails",
            "value",
            "type",
            "primary",
            "active",
            "meta",
            "created",
            "lastModified",
            "members",
            "groups",
            "$ref",
            "x509Certificates",
            "externalId",
            "manager",
            "department",
            ENT,
            CORE_USER,
        ])
        .prop_map(str::to_owned),
        "[a-z]{1,4}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::String),
        prop::sample::select(vec![
            "2024-01-01T00:00:00Z",
            "2024-01-01T00:00:00+01:00",
            "x"
        ])
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn config() -> ProptestConfig {
    super::proptest_config(1000)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn printing_a_filter_and_parsing_it_back_gives_the_same_tree(f in filter()) {
        let text = f.to_string();
        prop_assert!(text.chars().count() <= MAX_LEN, "generated filter too long");
        let back = parse_filter(&text);
        prop_assert_eq!(back.as_ref(), Ok(&f), "printed as {}", text);
    }

    #[test]
    fn matching_never_panics_and_not_negates(f in filter(), r in resource()) {
        for kind in [ResourceKind::User, ResourceKind::Group] {
            let _ = validate(SchemaSet::standard(), kind, &f);
            let m = matches(SchemaSet::standard(), kind, &f, &r);
            let negated = Filter::Not(Box::new(f.clone()));
            prop_assert_eq!(matches(SchemaSet::standard(), kind, &negated, &r), !m);
        }
    }

    #[test]
    fn matching_the_fixture_never_panics(f in filter()) {
        for u in users() {
            let _ = matches(SchemaSet::standard(), ResourceKind::User, &f, &u);
        }
        for g in groups() {
            let _ = matches(SchemaSet::standard(), ResourceKind::Group, &f, &g);
        }
    }
}
