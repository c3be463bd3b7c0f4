//! Property: whatever plan the planner picks (an index range, a key lookup, a union, a membership
//! source or an examined scan), the list it answers from the local DynamoDB is exactly what the
//! pure matcher selects from the same users, in the order the pure sort gives.

use std::collections::BTreeSet;

use crate::common::TestApp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use scim_serverless::protocol::filter::{parse_filter, CompareOp, Filter};
use scim_serverless::protocol::matcher;
use scim_serverless::protocol::resource::ResourceKind;
use scim_serverless::protocol::schema::SchemaSet;
use scim_serverless::protocol::sort::SortSpec;
use serde_json::{json, Value};

const NAMES: [&str; 8] = ["ann", "Anna", "bob", "Bea", "carl", "CHLOE", "dave", "eve"];
const TITLES: [&str; 3] = ["Boss", "cook", "Clerk"];

/// Clause templates over indexed and unindexed attributes; `{v}` takes a generated value.
fn clause() -> impl Strategy<Value = String> {
    let name = prop::sample::select(NAMES.to_vec());
    let prefix = prop::sample::select(vec!["a", "AN", "b", "c", "z", "e"]);
    prop_oneof![
        name.clone().prop_map(|n| format!("userName eq \"{n}0\"")),
        prefix.clone().prop_map(|p| format!("userName sw \"{p}\"")),
        prefix.clone().prop_map(|p| format!("userName gt \"{p}\"")),
        prefix.clone().prop_map(|p| format!("userName le \"{p}\"")),
        (0..24u32).prop_map(|i| format!("externalId eq \"ext-{i}\"")),
        prop::sample::select(TITLES.to_vec()).prop_map(|t| format!("title eq \"{t}\"")),
        prop::sample::select(vec!["o", "OO", "l"]).prop_map(|t| format!("title co \"{t}\"")),
        any::<bool>().prop_map(|b| format!("active eq {b}")),
        Just("title pr".to_string()),
        Just("emails[type eq \"work\"]".to_string()),
        Just("emails[type eq \"work\" and value ew \"example.org\"]".to_string()),
        Just("meta.lastModified gt \"2000-01-01T00:00:00Z\"".to_string()),
        Just("meta.lastModified lt \"2000-01-01T00:00:00+01:00\"".to_string()),
        Just("groups.value eq \"{group}\"".to_string()),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    clause().prop_recursive(3, 12, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) or ({b})")),
            inner.prop_map(|a| format!("not ({a})")),
        ]
    })
}

fn sort() -> impl Strategy<Value = Option<(&'static str, &'static str)>> {
    prop::option::of((
        prop::sample::select(vec!["userName", "title", "meta.lastModified", "externalId"]),
        prop::sample::select(vec!["ascending", "descending"]),
    ))
}

fn groups_mentions(filter: &Filter) -> usize {
    match filter {
        Filter::Present(p) | Filter::Compare(p, _, _) | Filter::ValuePath(p, _) => {
            usize::from(p.name == "groups")
        }
        Filter::And(a, b) | Filter::Or(a, b) => groups_mentions(a) + groups_mentions(b),
        Filter::Not(f) => groups_mentions(f),
    }
}

fn conjuncts(filter: &Filter) -> Vec<&Filter> {
    match filter {
        Filter::And(a, b) => {
            let mut out = conjuncts(a);
            out.extend(conjuncts(b));
            out
        }
        other => vec![other],
    }
}

#[test]
fn every_plan_returns_what_the_matcher_selects() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (t, all, group) = runtime.block_on(async {
        let t = TestApp::new().await;
        let mut members = Vec::new();
        for i in 0..24u32 {
            let name = NAMES[i as usize % NAMES.len()];
            let mut user = json!({
                "userName": format!("{name}{}", i / 8),
                "externalId": format!("ext-{i}"),
                "active": i % 3 != 0,
                "emails": [{"type": if i % 2 == 0 {"work"} else {"home"}, "value": format!("u{i}@example.{}", if i % 4 == 0 {"org"} else {"com"})}],
            });
            if i % 5 != 0 {
                user["title"] = json!(TITLES[i as usize % TITLES.len()]);
            }
            let r = t.post("/Users", user).await;
            assert_eq!(r.status, 201, "{:?}", r.body);
            if i % 2 == 1 {
                members.push(r.body["id"].as_str().unwrap().to_string());
            }
        }
        let group = t.group("odd", &members).await;
        // Everyone, with their groups, for the matcher.
        let all = t.get("/Users?count=100&attributes=groups,userName,externalId,active,emails,title,meta").await;
        let all: Vec<Value> = all.body["Resources"].as_array().unwrap().clone();
        (t, all, group)
    });
    assert_eq!(all.len(), 24);

    // PROPTEST_CASES runs more (a long run: PROPTEST_CASES=3000).
    let mut runner = TestRunner::new(Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(96),
        ..Config::default()
    });
    runner
        .run(&(filter(), sort()), |(text, sort)| {
            let text = text.replace("{group}", &group);
            let parsed = parse_filter(&text).unwrap();
            // Membership conditions are only answered alone and and-ed at the top level.
            let membership_nested = groups_mentions(&parsed) > 1
                || (groups_mentions(&parsed) == 1
                    && !conjuncts(&parsed).iter().any(
                        |c| matches!(c, Filter::Compare(p, CompareOp::Eq, _) if p.name == "groups"),
                    ));
            let spec = sort.map(|(by, order)| {
                SortSpec::parse(
                    SchemaSet::standard(),
                    ResourceKind::User,
                    Some(by),
                    Some(order),
                )
                .unwrap()
                .unwrap()
            });
            let mut expected: Vec<&Value> = all
                .iter()
                .filter(|u| matcher::matches(SchemaSet::standard(), ResourceKind::User, &parsed, u))
                .collect();
            let mut path = format!("/Users?count=100&filter={text}");
            if let (Some(spec), Some((by, order))) = (&spec, sort) {
                expected.sort_by(|a, b| {
                    scim_serverless::protocol::sort::compare(
                        SchemaSet::standard(),
                        ResourceKind::User,
                        spec,
                        a,
                        b,
                    )
                });
                path.push_str(&format!("&sortBy={by}&sortOrder={order}"));
            }
            let r = runtime.block_on(t.get(&path.replace('+', "%2B")));
            if membership_nested {
                prop_assert_eq!(r.status, 400, "{}", text);
                return Ok(());
            }
            prop_assert_eq!(r.status, 200, "{} {:?}", text, r.body);
            let got = crate::common::listed_ids(&r.body);
            prop_assert_eq!(
                r.body["totalResults"].as_u64(),
                Some(expected.len() as u64),
                "{}",
                text
            );
            let expected_ids: Vec<String> = expected
                .iter()
                .map(|u| u["id"].as_str().unwrap().to_string())
                .collect();
            if spec.is_some() {
                prop_assert_eq!(&got, &expected_ids, "order of {}", text);
            } else {
                let got: BTreeSet<_> = got.into_iter().collect();
                let want: BTreeSet<_> = expected_ids.into_iter().collect();
                prop_assert_eq!(got, want, "{}", text);
            }
            Ok(())
        })
        .unwrap();
}

/// Property: a root `/.search` over users and groups, walked by `startIndex` or by cursor with any
/// page size and filter (including branches on attributes only one type has), returns every
/// matching resource exactly once, users then groups, with the exact total on every page.
#[test]
fn root_search_walks_return_every_match_once_with_exact_totals() {
    const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (t, users, groups) = runtime.block_on(async {
        let t = TestApp::new().await;
        let mut users = Vec::new();
        for i in 0..13u32 {
            users.push((
                format!("{}{i}", ["ann", "bob", "carl"][i as usize % 3]),
                t.user(&format!("{}{i}", ["ann", "bob", "carl"][i as usize % 3]))
                    .await,
            ));
        }
        let mut groups = Vec::new();
        for i in 0..17u32 {
            let name = format!("{}{i}", ["alpha", "beta", "ann-team"][i as usize % 3]);
            groups.push((name.clone(), t.group(&name, &[]).await));
        }
        (t, users, groups)
    });
    let filters = prop::sample::select(vec![
        None,
        Some("userName sw \"a\" or displayName sw \"a\""),
        Some("displayName sw \"b\""),
        Some("userName sw \"b\""),
        Some("not (userName sw \"a\")"),
        Some("displayName sw \"a\" or userName eq \"bob1\""),
        Some("userName gt \"b\" or displayName gt \"b\""),
        Some("meta.lastModified gt \"2000-01-01T00:00:00Z\""),
    ]);
    let mut runner = TestRunner::new(Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(12),
        ..Config::default()
    });
    runner
        .run(
            &(filters, 1..9usize, any::<bool>()),
            |(filter, count, by_cursor)| {
                // What each type holds that matches, in the order listed (ids are creation order).
                let matches = |name: &str, is_user: bool| -> bool {
                    let sw = |p: &str| name.starts_with(p);
                    match filter {
                        None | Some("meta.lastModified gt \"2000-01-01T00:00:00Z\"") => true,
                        Some("userName sw \"a\" or displayName sw \"a\"") => sw("a"),
                        Some("displayName sw \"b\"") => sw("b"),
                        Some("userName sw \"b\"") => is_user && sw("b"),
                        Some("not (userName sw \"a\")") => !is_user || !sw("a"),
                        Some("displayName sw \"a\" or userName eq \"bob1\"") => {
                            sw("a") || (is_user && name == "bob1")
                        }
                        Some("userName gt \"b\" or displayName gt \"b\"") => name > "b",
                        Some(other) => panic!("no oracle for {other}"),
                    }
                };
                // Users display no displayName here, so `displayName` conditions hold for groups only.
                let users_match = |name: &str| match filter {
                    Some("displayName sw \"b\"") => false,
                    Some("displayName sw \"a\" or userName eq \"bob1\"") => name == "bob1",
                    _ => matches(name, true),
                };
                let expected: Vec<String> = users
                    .iter()
                    .filter(|(n, _)| users_match(n))
                    .chain(groups.iter().filter(|(n, _)| matches(n, false)))
                    .map(|(_, id)| id.clone())
                    .collect();
                let mut seen = Vec::new();
                let mut start = 1;
                let mut cursor = String::new();
                for _ in 0..100 {
                    let mut body = json!({"schemas": [SEARCH], "count": count});
                    if let Some(f) = filter {
                        body["filter"] = json!(f);
                    }
                    if by_cursor {
                        body["cursor"] = json!(cursor);
                    } else {
                        body["startIndex"] = json!(start);
                    }
                    let r = runtime.block_on(t.post("/.search", body));
                    prop_assert_eq!(r.status, 200, "{:?}", r.body);
                    prop_assert_eq!(
                        r.body["totalResults"].as_u64(),
                        Some(expected.len() as u64),
                        "{:?} count={} cursor={}",
                        filter,
                        count,
                        by_cursor
                    );
                    let page = crate::common::listed_ids(&r.body);
                    start += page.len();
                    let done = page.is_empty();
                    seen.extend(page);
                    if by_cursor {
                        match r.body["nextCursor"].as_str() {
                            Some(c) => cursor = c.to_string(),
                            None => break,
                        }
                    } else if done {
                        break;
                    }
                }
                // Each match once, users before groups (without sortBy, each type's order is its
                // source's: ids, or names for a name range).
                let context = format!("{filter:?} count={count} cursor={by_cursor}");
                prop_assert_eq!(seen.len(), expected.len(), "{}", &context);
                let as_set = |ids: &[String]| ids.iter().cloned().collect::<BTreeSet<_>>();
                prop_assert_eq!(as_set(&seen), as_set(&expected), "{}", &context);
                let matching_users = users.iter().filter(|(n, _)| users_match(n)).count();
                let user_ids: BTreeSet<String> = users.iter().map(|(_, id)| id.clone()).collect();
                prop_assert!(
                    seen.iter()
                        .take(matching_users)
                        .all(|id| user_ids.contains(id)),
                    "users first: {}",
                    &context
                );
                Ok(())
            },
        )
        .unwrap();
}
