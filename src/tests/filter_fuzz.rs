//! Fuzzing the filter and PATCH path parsers on the stable toolchain, with proptest.
//!
//! Every input (arbitrary strings, sequences of filter-ish tokens with unicode, quotes and
//! brackets, edited valid filters, very deep nesting, inputs around the length limit) must parse
//! or be refused without panicking, and whatever parses must print and parse back to the same
//! tree. Parsed filters are also validated and matched against a user and a group.
//!
//! Short run (the default, a few seconds in a debug build):
//!     cargo test --lib tests::filter_fuzz
//! Long run (the count applies to each of the seven properties; in release about 2,300 cases a
//! second per property on one core, so this is about 11 minutes, after a long LTO build):
//!     PROPTEST_CASES=1300000 cargo test --release --lib tests::filter_fuzz -- --test-threads 1
//! A failure prints the smallest input proptest shrank it to, and proptest saves its seed in
//! src/tests/filter_fuzz.proptest-regressions so that every later run tries it first.

use crate::protocol::filter::{
    parse_attr_path, parse_filter, parse_patch_path, MAX_DEPTH, MAX_LEN,
};
use crate::protocol::matcher::{matches, validate};
use crate::protocol::resource::ResourceKind;
use crate::protocol::schema::SchemaSet;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::{json, Value};

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn config() -> ProptestConfig {
    super::proptest_config(4000)
}

fn fixtures() -> [(ResourceKind, Value); 2] {
    [
        (
            ResourceKind::User,
            json!({
                "id": "u1", "userName": "Bjensen", "active": true,
                "name": {"givenName": "Barbara", "familyName": "O'Malley"},
                "emails": [{"value": "b@example.com", "type": "work", "primary": true}, {"value": 7}],
                "x509Certificates": [{"value": "QkVFRg=="}],
                "groups": [{"value": "g1", "$ref": "https://h/Groups/g1", "type": "direct"}],
                "meta": {"created": "2024-01-01T00:00:00+01:00", "lastModified": "not a date"},
                ENT: {"department": "R&D", "manager": "u2", "employeeNumber": 42}
            }),
        ),
        (
            ResourceKind::Group,
            json!({
                "id": "g1", "displayName": "Admins",
                "members": [{"value": "u1", "type": "User"}, "u2", null, [{"value": "u3"}]],
                "meta": {"created": "2024-01-01T00:00:00Z"}
            }),
        ),
    ]
}

/// At most 300 characters of `s`, debug-quoted, for failure messages.
fn short(s: &str) -> String {
    let n = s.chars().count();
    let head: String = s.chars().take(300).collect();
    if n > 300 {
        format!("{head:?}… ({n} characters)")
    } else {
        format!("{head:?}")
    }
}

/// The property: no panic (a panic fails the case), and what parses prints and parses back.
fn check(input: &str) -> Result<(), TestCaseError> {
    if let Ok(filter) = parse_filter(input) {
        let printed = filter.to_string();
        let back = parse_filter(&printed);
        prop_assert!(
            back.as_ref() == Ok(&filter),
            "{} printed as {} parses back as {}",
            short(input),
            short(&printed),
            short(&format!("{back:?}"))
        );
        for (kind, resource) in fixtures() {
            let _ = validate(SchemaSet::standard(), kind, &filter);
            let _ = matches(SchemaSet::standard(), kind, &filter, &resource);
        }
    }
    if let Ok(path) = parse_patch_path(input) {
        let printed = path.to_string();
        let back = parse_patch_path(&printed);
        prop_assert!(
            back.as_ref() == Ok(&path),
            "{} printed as {} parses back as {}",
            short(input),
            short(&printed),
            short(&format!("{back:?}"))
        );
    }
    if let Ok(path) = parse_attr_path(input) {
        let back = parse_attr_path(&path.to_string());
        prop_assert_eq!(back.as_ref(), Ok(&path));
    }
    Ok(())
}

fn token() -> impl Strategy<Value = String> {
    let fixed = prop::sample::select(vec![
        // Paths, good and bad.
        "userName",
        "emails",
        "name.givenName",
        "members",
        "members.$ref",
        "$ref",
        "groups",
        "meta.lastModified",
        "x509Certificates.value",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:x:",
        ":a",
        "a.b.c",
        "1abc",
        ".value",
        "].value",
        "].",
        "a:b:c",
        "emails[type",
        "value]",
        "not(",
        // Keywords and operators in several cases.
        "not",
        "NOT",
        "and",
        "AND",
        "or",
        "Or",
        "pr",
        "PR",
        "eq",
        "Eq",
        "ne",
        "co",
        "sw",
        "ew",
        "gt",
        "ge",
        "lt",
        "LE",
        "like",
        // Punctuation.
        "(",
        ")",
        "[",
        "]",
        "\"",
        "\\",
        ".",
        ":",
        "[]",
        "()",
        // Literals.
        "\"x\"",
        "\"\"",
        "\"a\\\"b\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "\"\\q\"",
        "\"\\u12\"",
        "\"tab\\tnew\\nline\"",
        "\"2024-01-01T00:00:00+01:00\"",
        "\"unterminated",
        "true",
        "False",
        "null",
        "NULL",
        "1",
        "-1",
        "1.5",
        "1E9",
        "1e15",
        "-0",
        "0123",
        "1e999",
        "-",
        "1.5e-7",
        "18446744073709551616",
        "-9223372036854775809",
        "1.5603112279283637e+31",
        // Unicode and odd whitespace.
        "é",
        "😀",
        "\u{0}",
        "\u{85}",
        "\u{a0}",
        "\u{2028}",
        "\u{feff}",
        "İ",
        "ß",
        // Separators.
        " ",
        " ",
        " ",
        "\t",
        "\n",
        "\r\n",
        "",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        8 => fixed,
        1 => any::<char>().prop_map(String::from),
        1 => "\"[^\"\\\\]{0,6}\"",
        1 => "[a-zA-Z$][a-zA-Z0-9_$.:-]{0,8}",
    ]
}

fn token_soup() -> impl Strategy<Value = String> {
    prop::collection::vec((token(), any::<bool>()), 0..40).prop_map(|tokens| {
        tokens
            .into_iter()
            .map(|(t, spaced)| if spaced { format!("{t} ") } else { t })
            .collect()
    })
}

/// Valid filters and PATCH paths with a few random edits: inputs just off the grammar.
fn mutated() -> impl Strategy<Value = String> {
    let base = prop::sample::select(vec![
        r#"userName eq "bjensen""#,
        r#"name.familyName co "O'Malley""#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
        r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
        r#"title pr and userType eq "Employee""#,
        r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
        r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
        r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
        r#"emails[type eq "work"].value ew "@x.com""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915""#,
        r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
        r#"emails[type eq "work" and value ew "example.com"].value"#,
        "a eq 1 or (b ge -2.5e3 and not (c lt 0.5)) and d eq null or e ne true",
        "not pr and pr pr or eq eq 1",
        r#"x eq "tab\t \"quote\" \\ \u00e9\ud83d\ude00""#,
    ]);
    let edit = (any::<prop::sample::Index>(), 0..3u8, token());
    (base, prop::collection::vec(edit, 1..4)).prop_map(|(base, edits)| {
        let mut chars: Vec<char> = base.chars().collect();
        for (at, kind, text) in edits {
            let i = at.index(chars.len() + 1);
            match kind {
                0 if i < chars.len() => {
                    chars.remove(i);
                }
                1 if i < chars.len() => {
                    chars.splice(i..=i, text.chars());
                }
                _ => {
                    chars.splice(i..i, text.chars());
                }
            }
        }
        chars.into_iter().collect()
    })
}

/// One comparison, sometimes wrapped in parentheses, `not ( )` or a value path.
fn clause() -> impl Strategy<Value = String> {
    let path = prop::sample::select(vec![
        "userName",
        "USERNAME",
        "name.givenName",
        "emails",
        "emails.value",
        "members.$ref",
        "meta.lastModified",
        "active",
        "not",
        "pr",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "x509Certificates.value",
        "value",
        "type",
    ]);
    let op = prop::sample::select(vec![
        "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Gt", "pr", "PR",
    ]);
    let literal = prop::sample::select(vec![
        "\"x\"",
        "\"\"",
        "1",
        "-2.5",
        "1E9",
        "0.1",
        "true",
        "False",
        "null",
        "\"\\u00e9\\\"\"",
        "\"2024-01-01T00:00:00+01:00\"",
        "\"a b]) (\"",
    ]);
    let wrap = prop::sample::select(vec![
        "{}",
        "{}",
        "({})",
        "not ({})",
        "NOT({})",
        "emails[{}]",
    ]);
    (path, op, literal, wrap).prop_map(|(path, op, literal, wrap)| {
        let c = if op.eq_ignore_ascii_case("pr") {
            format!("{path} {op}")
        } else {
            format!("{path} {op} {literal}")
        };
        wrap.replace("{}", &c)
    })
}

/// Clauses joined by `and` / `or`, mostly well-formed, sometimes grouped.
fn clause_chain() -> impl Strategy<Value = String> {
    let joiner = prop::sample::select(vec![" and ", " or ", " AND ", " Or ", "and", " "]);
    (
        prop::collection::vec((clause(), joiner), 1..8),
        prop::sample::select(vec!["{}", "{}", "({})", "not ({})", "({}) and a pr"]),
    )
        .prop_map(|(parts, wrap)| {
            let mut s = String::new();
            for (i, (c, j)) in parts.iter().enumerate() {
                if i > 0 {
                    s.push_str(j);
                }
                s.push_str(c);
            }
            wrap.replace("{}", &s)
        })
}

/// A filter wrapped in `k` openers and closed by `k` closers, give or take one or two.
fn deep() -> impl Strategy<Value = String> {
    let opener = prop::sample::select(vec!["(", "not (", "NOT(", "( ", "emails["]);
    (
        opener,
        0..(2 * MAX_DEPTH),
        prop::sample::select(vec![0i64, 0, 0, -1, 1, 2]),
        clause_chain(),
    )
        .prop_map(|(open, k, skew, core)| {
            let close = if open == "emails[" { "]" } else { ")" };
            let closers = (k as i64 + skew).max(0) as usize;
            format!("{}{core}{}", open.repeat(k), close.repeat(closers))
        })
}

/// A clause repeated until the text is around `MAX_LEN` long, in compact or spaced forms (the
/// canonical text of a compact filter is longer than the filter).
fn near_the_length_limit() -> impl Strategy<Value = String> {
    let clause = prop::sample::select(vec![
        "a pr",
        "a eq 1E9",
        "a eq 1e15",
        "(a pr)",
        "a eq\"x\"",
        "emails[type eq\"w\"].value eq\"x\"",
        "not(a pr)",
        "a eq \"\\u00e9\"",
        "a eq \"😀\"",
    ]);
    let joiner = prop::sample::select(vec![" and ", " or ", " AND ", "and", "or"]);
    (clause, joiner, (MAX_LEN - 200)..(MAX_LEN + 200)).prop_map(|(clause, joiner, target)| {
        let mut s = clause.to_owned();
        while s.chars().count() < target {
            s.push_str(joiner);
            s.push_str(clause);
        }
        s
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_never_panic_and_round_trip(s in any::<String>()) {
        check(&s)?;
    }

    #[test]
    fn token_sequences_never_panic_and_round_trip(s in token_soup()) {
        check(&s)?;
    }

    #[test]
    fn chains_of_clauses_never_panic_and_round_trip(s in clause_chain()) {
        check(&s)?;
    }

    #[test]
    fn edited_valid_filters_never_panic_and_round_trip(s in mutated()) {
        check(&s)?;
    }

    #[test]
    fn deep_nesting_never_panics_and_round_trips(s in deep()) {
        check(&s)?;
    }

    #[test]
    fn inputs_near_the_length_limit_never_panic_and_round_trip(s in near_the_length_limit()) {
        check(&s)?;
    }

    #[test]
    fn patch_paths_with_filters_never_panic_and_round_trip(
        attr in prop::sample::select(vec!["emails", "members", "addresses", "x", "urn:a:b:c"]),
        soup in token_soup(),
        sub in prop::sample::select(vec!["", ".value", ".", ".a.b", " .value", ".$ref"]),
    ) {
        check(&format!("{attr}[{soup}]{sub}"))?;
    }
}

#[test]
fn hostile_inputs_are_refused_without_panicking() {
    for s in [
        "(".repeat(100_000),
        "[".repeat(100_000),
        "not (".repeat(20_000),
        "\"".repeat(5000),
        "\\".repeat(5000),
        format!("a eq \"{}", "\\".repeat(4000)),
        "a pr and ".repeat(455) + "a pr",
    ] {
        check(&s).unwrap();
    }
    assert!(parse_filter(&"a pr and ".repeat(455)).is_err());
}
