//! Lists and searches against the local DynamoDB: index and cursor walks (each resource once, a
//! bounded number of requests per page), sorting, the planner's sources, and the limits.
mod common;

use std::collections::BTreeSet;

use common::TestApp;
use scim_serverless::service::list::Limits;
use serde_json::{json, Value};

const SEARCH: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

fn ids(r: &common::Resp) -> Vec<String> {
    common::listed_ids(&r.body)
}

fn names(r: &common::Resp, attribute: &str) -> Vec<String> {
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
    let bad = |r: common::Resp| (r.status, r.body["scimType"].as_str().map(String::from));
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
async fn past_the_examined_cap_a_filter_is_400_too_many_and_deep_jumps_point_to_cursors() {
    let t = TestApp::new().await;
    let t = TestApp {
        app: t.app.clone().with_limits(Limits {
            max_examined: 5,
            max_skip: 4,
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
    assert_eq!(r.status, 400, "{:?}", r.body);
    assert!(r.body["detail"].as_str().unwrap().contains("cursor"));
    // Past the end, a page is empty at any depth, with the true total.
    let r = t.get("/Users?startIndex=900&count=5").await;
    assert_eq!((r.status, r.body["totalResults"].as_u64()), (200, Some(8)));
    assert!(ids(&r).is_empty());
    let r = t
        .get("/Users?startIndex=900&count=5&filter=userName sw \"cap\"")
        .await;
    assert_eq!((r.status, r.body["totalResults"].as_u64()), (200, Some(8)));
    // Within the skip limit, a jump works; and a walk up to there makes the deep page cheap.
    assert_eq!(ids(&t.get("/Users?startIndex=5&count=1").await).len(), 1);
    assert_eq!(ids(&t.get("/Users?startIndex=7&count=1").await).len(), 1);
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
        .change_events(&t.tenant, None, Some("9999-12-31T23:59:59-23:00"), 10)
        .await
        .unwrap();
    assert_eq!(page["events"], serde_json::json!([]));
}
