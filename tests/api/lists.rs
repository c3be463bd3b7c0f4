//! Lists and searches against the local DynamoDB: index and cursor walks (each resource once, a
//! bounded number of requests per page), sorting, the planner's sources, and the limits.

use std::collections::BTreeSet;

use crate::common::{events, TestApp, Wire};
use scim_serverless::service::list::Limits;
use serde_json::{json, Value};

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

fn ids(r: &crate::common::Resp) -> Vec<String> {
    crate::common::listed_ids(&r.body)
}

fn names(r: &crate::common::Resp, attribute: &str) -> Vec<String> {
    r.body["Resources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v[attribute].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

async fn users(t: &TestApp, n: usize, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..n {
        out.push(t.user(&format!("{prefix}{i:04}@example.com")).await);
    }
    out
}

#[tokio::test]
async fn an_index_walk_returns_every_user_once_at_three_requests_a_page() {
    let t = TestApp::new().await;
    let created: BTreeSet<String> = users(&t, 95, "walk").await.into_iter().collect();
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let (r, requests) = t
            .send_counted(t.request("GET", &format!("/Users?startIndex={start}&count=10"), None))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["totalResults"], 95);
        assert_eq!(r.body["startIndex"], start);
        assert!(requests <= 3, "page at {start} took {requests} requests");
        let page = ids(&r);
        if page.is_empty() {
            break;
        }
        start += page.len();
        seen.extend(page);
    }
    assert_eq!(seen.len(), 95, "no user twice");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), created);
}

#[tokio::test]
async fn a_cursor_walk_returns_every_user_once_at_two_requests_a_page() {
    let t = TestApp::new().await;
    let created: BTreeSet<String> = users(&t, 53, "cur").await.into_iter().collect();
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let (r, requests) = t
            .send_counted(t.request("GET", &format!("/Users?count=10&cursor={cursor}"), None))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["totalResults"], 53);
        assert!(r.body.get("startIndex").is_none());
        // The first page also reads the signing key, once per process (and creates it, once
        // per table).
        assert!(
            requests <= 2 + 2 * u32::from(pages == 0),
            "{requests} requests"
        );
        pages += 1;
        seen.extend(ids(&r));
        match r.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_string(),
            None => break,
        }
    }
    assert_eq!(pages, 6);
    assert_eq!(seen.len(), 53);
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), created);
}

#[tokio::test]
async fn forged_foreign_and_mismatched_cursors_are_refused() {
    let t = TestApp::new().await;
    users(&t, 3, "forge").await;
    let r = t.get("/Users?count=1&cursor=").await;
    let cursor = r.body["nextCursor"].as_str().unwrap().to_string();
    let bad = |r: crate::common::Resp| (r.status, r.body["scimType"].as_str().map(String::from));
    let invalid = (400, Some("invalidCursor".to_string()));
    assert_eq!(
        bad(t.get(&format!("/Users?count=1&cursor={cursor}x")).await),
        invalid
    );
    assert_eq!(
        bad(t.get("/Users?cursor=bm90IGEgY3Vyc29y.AAAA").await),
        invalid
    );
    // Bound to the query: the same cursor with another filter is refused.
    assert_eq!(
        bad(t
            .get(&format!("/Users?cursor={cursor}&filter=userName pr"))
            .await),
        invalid
    );
    // Bound to the tenant: another tenant's request cannot use it.
    let other = TestApp::new().await;
    assert_eq!(
        bad(other.get(&format!("/Users?cursor={cursor}")).await),
        invalid
    );
    let both = t.get(&format!("/Users?cursor={cursor}&startIndex=2")).await;
    assert_eq!(both.status, 400);
    // And it still works for its own query.
    assert_eq!(
        t.get(&format!("/Users?count=1&cursor={cursor}"))
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn sort_by_user_name_follows_the_index_either_way_and_other_attributes_sort_in_memory() {
    let t = TestApp::new().await;
    for (user_name, family) in [("Cat", "b"), ("ann", "c"), ("Bob", "a"), ("dan", "")] {
        let mut body = json!({"userName": user_name});
        if !family.is_empty() {
            body["name"] = json!({"familyName": family});
        }
        assert_eq!(t.post("/Users", body).await.status, 201);
    }
    let r = t.get("/Users?sortBy=userName").await;
    assert_eq!(names(&r, "userName"), ["ann", "Bob", "Cat", "dan"]);
    let r = t
        .get("/Users?sortBy=userName&sortOrder=DESCENDING&count=2")
        .await;
    assert_eq!(names(&r, "userName"), ["dan", "Cat"]);
    assert_eq!(r.body["totalResults"], 4);
    let r = t
        .get("/Users?sortBy=userName&sortOrder=descending&startIndex=3&count=2")
        .await;
    assert_eq!(names(&r, "userName"), ["Bob", "ann"]);
    // No family name sorts last when ascending.
    let r = t.get("/Users?sortBy=name.familyName").await;
    assert_eq!(names(&r, "userName"), ["Bob", "Cat", "ann", "dan"]);
    // …and first when descending (RFC 7644 §3.4.2.3).
    let r = t
        .get("/Users?sortBy=name.familyName&sortOrder=descending")
        .await;
    assert_eq!(names(&r, "userName"), ["dan", "ann", "Cat", "Bob"]);
    assert_eq!(t.get("/Users?sortBy=shoeSize").await.status, 400);
    assert_eq!(
        t.get("/Users?sortBy=userName&sortOrder=up").await.status,
        400
    );
}

#[tokio::test]
async fn prefix_range_and_incremental_filters_read_an_index() {
    let t = TestApp::new().await;
    for name in ["alice", "Alfred", "bob", "carol", "ALan"] {
        t.user(name).await;
    }
    let sw = t
        .get("/Users?filter=userName sw \"AL\"&sortBy=userName")
        .await;
    assert_eq!(names(&sw, "userName"), ["ALan", "Alfred", "alice"]);
    assert_eq!(sw.body["totalResults"], 3);
    let gt = t.get("/Users?filter=userName gt \"b\"").await;
    assert_eq!(names(&gt, "userName"), ["bob", "carol"]);
    let le = t.get("/Users?filter=userName le \"bob\"").await;
    assert_eq!(le.body["totalResults"], 4);

    let before = t.get("/Users?count=0").await;
    assert_eq!(before.body["totalResults"], 5);
    let all = t.get("/Users").await;
    let latest = all.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["meta"]["lastModified"].as_str().unwrap().to_string())
        .max()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let dave = t.user("dave").await;
    let (r, requests) = t
        .send_counted(t.request(
            "GET",
            &format!("/Users?filter=meta.lastModified gt \"{latest}\""),
            None,
        ))
        .await;
    assert_eq!(ids(&r), std::slice::from_ref(&dave), "{:?}", r.body);
    assert_eq!(requests, 1);
    // The same instant in another offset finds the same users.
    let at = time::OffsetDateTime::parse(&latest, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .to_offset(time::UtcOffset::from_hms(2, 0, 0).unwrap());
    let shifted = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}+02:00",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.millisecond()
    );
    let r = t
        .get(&format!(
            "/Users?filter=meta.lastModified gt \"{}\"",
            shifted.replace('+', "%2B")
        ))
        .await;
    assert_eq!(ids(&r), [dave], "{shifted}: {:?}", r.body);
}

#[tokio::test]
async fn membership_filters_are_answered_from_the_membership_items() {
    let t = TestApp::new().await;
    let u = users(&t, 3, "mem").await;
    let g1 = t.group("one", &[u[0].clone(), u[1].clone()]).await;
    let g2 = t.group("two", &[u[1].clone()]).await;
    t.group("three", &[]).await;

    let r = t
        .get(&format!(
            "/Groups?filter=members[value eq \"{}\"]&excludedAttributes=members",
            u[1]
        ))
        .await;
    assert_eq!(
        ids(&r).into_iter().collect::<BTreeSet<_>>(),
        [g1.clone(), g2.clone()].into()
    );
    for f in [
        format!("members eq \"{}\"", u[0]),
        format!("members.value eq \"{}\"", u[0]),
        format!("id eq \"{g1}\" and members[value eq \"{}\"]", u[0]),
    ] {
        let (r, requests) = t
            .send_counted(t.request(
                "GET",
                &format!("/Groups?filter={f}&excludedAttributes=members"),
                None,
            ))
            .await;
        assert_eq!(ids(&r), std::slice::from_ref(&g1), "{f}");
        assert!(requests <= 2, "{f}: {requests}");
    }
    let r = t
        .get(&format!(
            "/Groups?filter=id eq \"{g2}\" and members[value eq \"{}\"]",
            u[0]
        ))
        .await;
    assert_eq!(r.body["totalResults"], 0);

    for f in [
        format!("groups.value eq \"{g1}\""),
        format!("groups[value eq \"{g1}\"]"),
        format!("groups eq \"{g1}\""),
    ] {
        let (r, requests) = t
            .send_counted(t.request("GET", &format!("/Users?filter={f}"), None))
            .await;
        assert_eq!(
            ids(&r).into_iter().collect::<BTreeSet<_>>(),
            [u[0].clone(), u[1].clone()].into(),
            "{f}"
        );
        assert!(requests <= 2, "{f}: {requests}");
    }
    let bad = t
        .get(&format!(
            "/Groups?filter=members eq \"{}\" or displayName eq \"one\"",
            u[0]
        ))
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["scimType"], "invalidFilter");
}

#[tokio::test]
async fn users_carry_groups_in_lists_only_when_asked_by_name() {
    let t = TestApp::new().await;
    let u = t.user("member").await;
    let g = t.group("g", std::slice::from_ref(&u)).await;
    let plain = t.get("/Users").await;
    assert!(plain.body["Resources"][0].get("groups").is_none());
    let asked = t.get("/Users?attributes=userName,groups").await;
    assert_eq!(asked.body["Resources"][0]["groups"][0]["value"], g.as_str());
}

#[tokio::test]
async fn or_unions_and_scans_find_exactly_the_matches() {
    let t = TestApp::new().await;
    for (name, title, ext) in [
        ("a", "Boss", "e1"),
        ("b", "Cook", "e2"),
        ("c", "boss", "e3"),
    ] {
        let r = t
            .post(
                "/Users",
                json!({"userName": name, "title": title, "externalId": ext}),
            )
            .await;
        assert_eq!(r.status, 201);
    }
    let r = t
        .get("/Users?filter=userName eq \"a\" or externalId eq \"e2\"&sortBy=userName")
        .await;
    assert_eq!(names(&r, "userName"), ["a", "b"]);
    let r = t
        .get("/Users?filter=title co \"OSS\"&sortBy=userName")
        .await;
    assert_eq!(names(&r, "userName"), ["a", "c"]);
    assert_eq!(r.body["totalResults"], 2);
    let r = t
        .get("/Users?filter=not (title eq \"boss\")&sortBy=userName")
        .await;
    assert_eq!(names(&r, "userName"), ["b"]);
    let r = t
        .get("/Users?filter=title pr&startIndex=2&count=1&sortBy=userName")
        .await;
    assert_eq!(names(&r, "userName"), ["b"]);
    assert_eq!(r.body["totalResults"], 3);
}

#[tokio::test]
async fn past_the_examined_cap_or_the_deepest_index_page_a_list_is_400_too_many() {
    let t = TestApp::new().await;
    let t = TestApp {
        app: t.app.clone().with_limits(Limits {
            max_examined: 5,
            max_start_index: 6,
            ..Limits::default()
        }),
        ..t
    };
    users(&t, 8, "cap").await;
    let r = t.get("/Users?filter=title pr").await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["scimType"], "tooMany");
    // An indexed filter is not capped.
    assert_eq!(
        t.get("/Users?filter=userName sw \"cap\"").await.body["totalResults"],
        8
    );
    let r = t.get("/Users?startIndex=7&count=1").await;
    crate::common::assert_scim_error(&r, 400, Some("tooMany"));
    assert!(r.body["detail"].as_str().unwrap().contains("cursor="));
    // Up to the deepest page, a jump is answered from the start of the index, whatever the
    // distance from a bookmark, with the true total.
    let r = t.get("/Users?startIndex=6&count=5").await;
    assert_eq!((r.status, r.body["totalResults"].as_u64()), (200, Some(8)));
    assert_eq!(names(&r, "userName")[0], "cap0005@example.com");
    assert_eq!(ids(&r).len(), 3);
    let r = t
        .get("/Users?startIndex=5&count=1&filter=userName sw \"cap\"")
        .await;
    assert_eq!((r.status, r.body["totalResults"].as_u64()), (200, Some(8)));
    assert_eq!(names(&r, "userName"), ["cap0004@example.com"]);
}

#[tokio::test]
async fn counters_follow_creates_and_deletes_even_when_they_race() {
    let t = TestApp::new().await;
    let made = futures::future::join_all((0..12).map(|i| {
        let t = &t;
        async move {
            t.post("/Users", json!({"userName": format!("race{i}")}))
                .await
        }
    }))
    .await;
    assert!(made.iter().all(|r| r.status == 201));
    let gone = futures::future::join_all(made.iter().take(5).map(|r| {
        let t = &t;
        let id = r.body["id"].as_str().unwrap().to_string();
        async move { t.call("DELETE", &format!("/Users/{id}"), None).await }
    }))
    .await;
    assert!(gone.iter().all(|r| r.status == 204));
    assert_eq!(t.get("/Users?count=0").await.body["totalResults"], 7);
    let (counted, actual) = t
        .store()
        .recount(
            &t.tenant_id(),
            scim_serverless::protocol::resource::ResourceKind::User,
        )
        .await
        .unwrap();
    assert_eq!((counted, actual), (7, 7));
}

#[tokio::test]
async fn a_walk_during_creates_and_deletes_returns_every_stable_user_once() {
    let t = TestApp::new().await;
    let stable: Vec<String> = users(&t, 30, "stable").await;
    let doomed: Vec<String> = users(&t, 6, "doomed").await;
    let mut seen = Vec::new();
    let mut start = 1;
    let mut step = 0;
    loop {
        let r = t.get(&format!("/Users?startIndex={start}&count=7")).await;
        let page = ids(&r);
        if page.is_empty() {
            break;
        }
        start += page.len();
        seen.extend(page);
        // Between the first pages: one user created, one deleted. A forward walk also returns
        // users created behind its position, so the changes stop for the walk to end.
        if let Some(id) = doomed.get(step) {
            t.user(&format!("new{step}")).await;
            assert_eq!(
                t.call("DELETE", &format!("/Users/{id}"), None).await.status,
                204
            );
        }
        step += 1;
        assert!(step < 50, "the walk does not end");
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a user came twice");
    for id in &stable {
        assert!(
            unique.contains(id),
            "a user present for the whole walk was missed"
        );
    }
}

#[tokio::test]
async fn the_root_search_pages_users_then_groups_by_index_and_by_cursor() {
    let t = TestApp::new().await;
    let u = users(&t, 4, "root").await;
    let g1 = t.group("g1", &[]).await;
    let g2 = t.group("g2", &[]).await;
    let search = |extra: Value| {
        let mut body = json!({"schemas": [SEARCH], "count": 3});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        body
    };
    let r = t.post("/.search", search(json!({"startIndex": 3}))).await;
    assert_eq!(r.body["totalResults"], 6);
    assert_eq!(ids(&r), [u[2].clone(), u[3].clone(), g1.clone()]);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = t.post("/.search", search(json!({"cursor": cursor}))).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["totalResults"], 6);
        seen.extend(ids(&r));
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    let mut all = u.clone();
    all.extend([g1, g2]);
    assert_eq!(seen, all);
    let r = t.post("/.search", json!({"filter": "userName pr"})).await;
    assert_eq!(r.status, 400, "a SearchRequest must name its schema");
}

#[tokio::test]
async fn a_member_change_moves_the_group_in_incremental_syncs() {
    let t = TestApp::new().await;
    let u = t.user("joiner").await;
    let g = t.group("moving", &[]).await;
    let before = t.get(&format!("/Groups/{g}")).await;
    let stamp = before.body["meta"]["lastModified"]
        .as_str()
        .unwrap()
        .to_string();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let r = t
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = t
        .get(&format!(
            "/Groups?filter=meta.lastModified gt \"{stamp}\"&excludedAttributes=members"
        ))
        .await;
    assert_eq!(ids(&r), std::slice::from_ref(&g), "{:?}", r.body);
}

#[tokio::test]
async fn a_page_just_past_the_end_is_empty_with_the_true_total() {
    let t = TestApp::new().await;
    users(&t, 3, "end").await;
    for query in [
        "/Users?startIndex=4",
        "/Users?startIndex=4&filter=userName sw \"end\"",
    ] {
        let r = t.get(query).await;
        assert_eq!(r.status, 200, "{query}");
        assert_eq!(r.body["totalResults"], 3, "{query}");
        assert_eq!(r.body["itemsPerPage"], 0, "{query}");
    }
}

/// An instant past the year 9999 in UTC (a far offset on the edge year) is a bound like any
/// other: no match, never a panic or a 500. The admin feed's `since` takes it too.
#[tokio::test]
async fn a_bound_past_the_year_9999_in_utc_is_no_match_not_a_500() {
    let t = TestApp::new().await;
    t.user("edge").await;
    for filter in [
        "meta.lastModified gt \"9999-12-31T23:59:59-23:00\"",
        "meta.lastModified lt \"0000-01-01T00:00:00%2B23:00\"",
    ] {
        let r = t.get(&format!("/Users?filter={filter}")).await;
        assert_eq!(r.status, 200, "{filter}: {:?}", r.body);
        assert_eq!(r.body["totalResults"], 0, "{filter}");
    }
    let page = t
        .admin()
        .change_events(
            &t.tenant_id(),
            &events(None, Some("9999-12-31T23:59:59-23:00"), 10),
        )
        .await
        .unwrap()
        .wire();
    assert_eq!(page["events"], serde_json::json!([]));
}

/// 15 users and 30 groups paged by `startIndex` at the root: each type has bookmarks of its own,
/// so every page is the next one and the total stays exact.
#[tokio::test]
async fn the_root_search_by_start_index_serves_each_resource_once_with_exact_totals() {
    let t = TestApp::new().await;
    let mut all = users(&t, 15, "mix").await;
    for i in 0..30 {
        all.push(t.group(&format!("mixgroup{i:02}"), &[]).await);
    }
    let mut seen = Vec::new();
    for start in [1, 11, 21, 31, 41] {
        let r = t
            .post(
                "/.search",
                json!({"schemas": [SEARCH], "startIndex": start, "count": 10}),
            )
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["totalResults"], 45, "at {start}");
        seen.extend(ids(&r));
    }
    assert_eq!(seen, all, "each once, users then groups");
}

/// RFC 7644 §3.4.2.2: at the root, a comparison on an attribute a type lacks is false for that
/// type, and the other branch of an `or` still decides.
#[tokio::test]
async fn a_root_search_or_branch_on_an_attribute_one_type_lacks_keeps_the_other_type() {
    let t = TestApp::new().await;
    let u = t.user("xavier").await;
    t.user("yvonne").await;
    let g = t.group("xenon", &[]).await;
    t.group("yellow", &[]).await;
    let search = |filter: &str| json!({"schemas": [SEARCH], "filter": filter});
    let r = t
        .post(
            "/.search",
            search("userName sw \"x\" or displayName sw \"x\""),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), [u.clone(), g.clone()]);
    assert_eq!(r.body["totalResults"], 2);
    // `not` of a condition the type lacks holds for all of that type.
    let r = t.post("/.search", search("not (userName sw \"x\")")).await;
    assert_eq!(r.body["totalResults"], 3, "{:?}", r.body);
    // Both conditions false for every type: empty, not an error.
    let r = t
        .post("/.search", search("userName eq \"x\" and members pr"))
        .await;
    assert_eq!((r.status, r.body["totalResults"].as_u64()), (200, Some(0)));
    // An attribute of no type is still invalidFilter.
    let r = t.post("/.search", search("shoeSize eq \"x\"")).await;
    crate::common::assert_scim_error(&r, 400, Some("invalidFilter"));
}

/// Values that cannot be a stored key (empty, or longer than an index key holds) match nothing
/// or are checked in memory: never a key condition DynamoDB refuses. The store checks every key
/// value itself, since the local moto enforces no size limit.
#[tokio::test]
async fn unstorable_key_values_in_filters_match_nothing_and_never_fail() {
    let t = TestApp::new().await;
    t.user("ann").await;
    t.user("bob").await;
    let long = "x".repeat(2_000);
    let long_ext = "e".repeat(3_000);
    let grown = "Ⱥ".repeat(600);
    for (filter, total) in [
        ("userName eq \"\"".to_string(), 0),
        ("userName lt \"\"".to_string(), 0),
        ("userName sw \"\"".to_string(), 2),
        ("userName gt \"\"".to_string(), 2),
        (format!("userName eq \"{long}\""), 0),
        (format!("userName sw \"{long}\""), 0),
        (format!("userName eq \"{grown}\""), 0),
        (format!("userName lt \"{long}\""), 2),
        (format!("userName gt \"{long}\""), 0),
        (format!("externalId eq \"{long_ext}\""), 0),
        (format!("userName eq \"{long}\" or userName eq \"ann\""), 1),
    ] {
        for paging in ["", "&cursor="] {
            let r = t.get(&format!("/Users?filter={filter}{paging}")).await;
            let shown: String = filter.chars().take(40).collect();
            assert_eq!(r.status, 200, "{shown}: {:?}", r.body["detail"]);
            assert_eq!(r.body["totalResults"], total, "{shown}");
        }
    }
    let r = t
        .post(
            "/.search",
            json!({"schemas": [SEARCH], "filter": format!("displayName eq \"{long}\"")}),
        )
        .await;
    assert_eq!((r.status, r.body["totalResults"].as_u64()), (200, Some(0)));
    // Past the filter's length limit: invalidFilter, with a detail that does not echo it whole.
    let r = t
        .get(&format!(
            "/Users?filter=userName eq \"{}\"",
            "x".repeat(10_000)
        ))
        .await;
    crate::common::assert_scim_error(&r, 400, Some("invalidFilter"));
    assert!(r.body["detail"].as_str().unwrap().len() < 300);
}

#[tokio::test]
async fn a_name_longer_than_its_key_once_lower_cased_is_invalid_value_not_a_500() {
    let t = TestApp::new().await;
    // 1,024 bytes as sent, 1,536 lower-cased.
    let r = t.post("/Users", json!({"userName": "Ⱥ".repeat(512)})).await;
    crate::common::assert_scim_error(&r, 400, Some("invalidValue"));
    let r = t
        .post("/Groups", json!({"displayName": "Ⱥ".repeat(512)}))
        .await;
    crate::common::assert_scim_error(&r, 400, Some("invalidValue"));
    let r = t.get("/Users?count=0").await;
    assert_eq!(r.body["totalResults"], 0, "nothing stored");
}

/// 200 copies of one branch are one lookup; more distinct lookups than a request may make are one
/// read of the collection; a union counts what it read against the examined cap.
#[tokio::test]
async fn an_or_of_many_branches_costs_a_bounded_number_of_requests() {
    let t = TestApp::new().await;
    let made = users(&t, 12, "fan").await;
    let same = vec!["userName gt \"a\""; 200].join(" or ");
    let (r, requests) = t
        .send_counted(t.request("GET", &format!("/Users?filter={same}"), None))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["totalResults"], 12);
    assert!(requests <= 2, "{requests} requests");
    let distinct: Vec<String> = (0..12)
        .map(|i| format!("userName eq \"fan{i:04}@example.com\""))
        .collect();
    let (r, requests) = t
        .send_counted(t.request(
            "GET",
            &format!("/Users?filter={}", distinct.join(" or ")),
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(ids(&r), made);
    assert!(requests <= 2, "12 lookups planned as one read: {requests}");
    // Within the cap of lookups, each is its own query.
    let (r, requests) = t
        .send_counted(t.request(
            "GET",
            &format!("/Users?filter={}", distinct[..3].join(" or ")),
            None,
        ))
        .await;
    assert_eq!(ids(&r).len(), 3);
    assert_eq!(requests, 3);
    // A union reading more than the cap is refused, even if its ids overlap.
    let capped = TestApp {
        app: t.app.clone().with_limits(Limits {
            max_examined: 15,
            ..Limits::default()
        }),
        tenant: t.tenant.clone(),
        token: t.token.clone(),
    };
    let overlapping = "userName sw \"fan\" or userName gt \"fan0001\"";
    let r = capped.get(&format!("/Users?filter={overlapping}")).await;
    crate::common::assert_scim_error(&r, 400, Some("tooMany"));
}

/// Sorting the whole collection by an index reads the counters, and a range is counted once per
/// walk: later pages take the total from the bookmark or the cursor.
#[tokio::test]
async fn sorted_and_ranged_walks_count_once_and_pages_cost_three_requests() {
    let t = TestApp::new().await;
    users(&t, 45, "rng").await;
    for query in [
        "sortBy=userName",
        "sortBy=meta.lastModified&sortOrder=descending",
        "filter=userName gt \"rng0004\"",
        "filter=userName sw \"rng\"&sortBy=userName",
    ] {
        let expected = if query.contains("gt") { 41 } else { 45 };
        let mut seen = BTreeSet::new();
        let mut start = 1;
        loop {
            let (r, requests) = t
                .send_counted(t.request(
                    "GET",
                    &format!("/Users?{query}&startIndex={start}&count=10"),
                    None,
                ))
                .await;
            assert_eq!(r.status, 200, "{query}: {:?}", r.body);
            assert_eq!(r.body["totalResults"], expected, "{query} at {start}");
            let page = ids(&r);
            if start > 1 || query.starts_with("sortBy") {
                assert!(requests <= 3, "{query} at {start}: {requests} requests");
            }
            if page.is_empty() {
                break;
            }
            start += page.len();
            seen.extend(page);
        }
        assert_eq!(seen.len(), expected, "{query}");
        let mut seen = BTreeSet::new();
        let mut cursor = String::new();
        let mut pages = 0;
        loop {
            let (r, requests) = t
                .send_counted(t.request(
                    "GET",
                    &format!("/Users?{query}&count=10&cursor={cursor}"),
                    None,
                ))
                .await;
            assert_eq!(
                r.body["totalResults"], expected,
                "{query} cursor page {pages}"
            );
            if pages > 0 {
                assert!(requests <= 2, "{query} cursor page {pages}: {requests}");
            }
            pages += 1;
            seen.extend(ids(&r));
            match r.body["nextCursor"].as_str() {
                Some(c) => cursor = c.to_string(),
                None => break,
            }
        }
        assert_eq!(seen.len(), expected, "{query}");
    }
    let (r, requests) = t
        .send_counted(t.request("GET", "/Users?sortBy=userName&count=0", None))
        .await;
    assert_eq!((r.body["totalResults"].as_u64(), requests), (Some(45), 1));
}

/// A `startIndex` far past every bookmark is answered, at about one request per page of index
/// entries skipped (here 10 a page).
#[tokio::test]
async fn a_deep_start_index_jump_is_answered_at_a_cost_that_grows_with_its_depth_only() {
    let mut t = TestApp::new().await;
    let made = users(&t, 64, "deep").await;
    t.app.store = t.app.store.clone().with_page_limit(10);
    for (query, total) in [("", 64), ("&filter=userName sw \"deep\"", 64)] {
        let (r, requests) = t
            .send_counted(t.request("GET", &format!("/Users?startIndex=51&count=5{query}"), None))
            .await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        assert_eq!(r.body["totalResults"], total);
        assert_eq!(ids(&r), made[50..55].to_vec());
        // counters or the nearest bookmark, ⌈56/10⌉ reads, a COUNT for the range, the bookmark
        assert!(requests <= 3 + 6 + 7, "{query}: {requests} requests");
    }
}

/// A page stops before its rendered resources pass the byte budget: it holds fewer than `count`,
/// and `startIndex` + `itemsPerPage` or `nextCursor` go on from there, each resource once.
#[tokio::test]
async fn a_page_stops_at_its_byte_budget_and_walks_go_on_from_there() {
    let t = TestApp::new().await;
    let members = users(&t, 30, "fat").await;
    let mut groups = Vec::new();
    for i in 0..6 {
        groups.push(t.group(&format!("fat{i}"), &members).await);
    }
    let one = t
        .get(&format!("/Groups/{}", groups[0]))
        .await
        .body
        .to_string()
        .len();
    let t = TestApp {
        app: t.app.clone().with_limits(Limits {
            page_bytes: one * 2 + one / 2,
            ..Limits::default()
        }),
        ..t
    };
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let r = t.get(&format!("/Groups?startIndex={start}&count=5")).await;
        assert_eq!(r.body["totalResults"], 6);
        let page = ids(&r);
        assert!(page.len() <= 2, "{} groups of ~{one} bytes", page.len());
        assert_eq!(r.body["itemsPerPage"], page.len());
        if page.is_empty() {
            break;
        }
        start += page.len();
        seen.extend(page);
    }
    assert_eq!(seen, groups);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let r = t.get(&format!("/Groups?count=5&cursor={cursor}")).await;
        assert_eq!(r.status, 200, "{:?}", r.body);
        let page = ids(&r);
        assert!(!page.is_empty() && page.len() <= 2);
        seen.extend(page);
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = c.to_string(),
            None => break,
        }
    }
    assert_eq!(seen, groups);
    // An examined page too; and one resource larger than the budget still makes a page.
    let r = t.get("/Groups?filter=displayName co \"fat\"&count=5").await;
    assert_eq!(
        (r.body["totalResults"].as_u64(), ids(&r).len()),
        (Some(6), 2)
    );
    let tiny = TestApp {
        app: t.app.clone().with_limits(Limits {
            page_bytes: 10,
            ..Limits::default()
        }),
        ..t
    };
    let r = tiny
        .post("/.search", json!({"schemas": [SEARCH], "count": 50}))
        .await;
    assert_eq!(ids(&r).len(), 1, "{:?}", r.body["itemsPerPage"]);
    assert_eq!(r.body["totalResults"], 36);
}
