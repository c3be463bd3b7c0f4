//! /Groups and memberships against a real DynamoDB endpoint.

use std::collections::BTreeSet;

use crate::common::{assert_scim_error, resource_id, TestApp};
use serde_json::{json, Value};

fn member_ids(body: &Value) -> BTreeSet<String> {
    body["members"]
        .as_array()
        .map(|m| {
            m.iter()
                .map(|m| m["value"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn set(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn create_with_members_shows_them_on_group_and_user() {
    let t = TestApp::new().await;
    let (a, b) = (t.user("a").await, t.user("b").await);
    let r = t
        .post(
            "/Groups",
            json!({"displayName": "Eng", "members": [{"value": a}, {"value": b, "type": "User"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let g = r.body["id"].as_str().unwrap().to_string();
    assert_eq!(member_ids(&r.body), set(&[&a, &b]));
    let got = t.get(&format!("/Groups/{g}")).await;
    assert_eq!(member_ids(&got.body), set(&[&a, &b]));
    assert!(got.body["members"][0]["$ref"]
        .as_str()
        .unwrap()
        .contains("/Users/"));
    let user = t.get(&format!("/Users/{a}")).await;
    assert_eq!(user.body["groups"][0]["value"], g.as_str());
}

#[tokio::test]
async fn patch_remove_member_by_value_keeps_other_members() {
    let t = TestApp::new().await;
    let (a, b, c) = (t.user("a").await, t.user("b").await, t.user("c").await);
    let g = t.group("G", &[a.clone(), b.clone(), c.clone()]).await;
    let r = t
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{a}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(member_ids(&r.body), set(&[&b, &c]));
    assert_eq!(
        member_ids(&t.get(&format!("/Groups/{g}")).await.body),
        set(&[&b, &c])
    );
}

#[tokio::test]
async fn entra_remove_with_value_list_removes_only_listed_members() {
    let t = TestApp::new().await;
    let (a, b, c) = (t.user("a").await, t.user("b").await, t.user("c").await);
    let g = t.group("G", &[a.clone(), b.clone(), c.clone()]).await;
    let r = t
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "Remove", "path": "members", "value": [{"value": b}]}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        member_ids(&t.get(&format!("/Groups/{g}")).await.body),
        set(&[&a, &c])
    );
}

#[tokio::test]
async fn replace_members_sets_exactly_the_given_list() {
    let t = TestApp::new().await;
    let (a, b, c) = (t.user("a").await, t.user("b").await, t.user("c").await);
    let g = t.group("G", &[a.clone(), b.clone()]).await;
    let r = t
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "replace", "path": "members", "value": [{"value": b}, {"value": c}]}]),
        )
        .await;
    assert_eq!(member_ids(&r.body), set(&[&b, &c]));
    assert_eq!(
        member_ids(&t.get(&format!("/Groups/{g}")).await.body),
        set(&[&b, &c])
    );
    assert!(t
        .get(&format!("/Users/{a}"))
        .await
        .body
        .get("groups")
        .is_none());
}

#[tokio::test]
async fn unknown_or_foreign_member_ids_are_400_and_nothing_is_written() {
    let t = TestApp::new().await;
    let other = TestApp::new().await;
    let foreign = other.user("x").await;
    let a = t.user("a").await;
    let g = t.group("G", std::slice::from_ref(&a)).await;
    for bad in [foreign.as_str(), "01ARZ3NDEKTSV4RRFFQ69G5FAV", "not-an-id"] {
        let r = t
            .patch(
                &format!("/Groups/{g}"),
                json!([
            {"op": "replace", "path": "displayName", "value": "Renamed"},
            {"op": "add", "path": "members", "value": [{"value": bad}]}]),
            )
            .await;
        assert_scim_error(&r, 400, Some("invalidValue"));
        let r = t
            .post(
                "/Groups",
                json!({"displayName": format!("New {bad}"), "members": [{"value": bad}]}),
            )
            .await;
        assert_scim_error(&r, 400, Some("invalidValue"));
    }
    let got = t.get(&format!("/Groups/{g}")).await;
    assert_eq!(
        got.body["displayName"], "G",
        "a failed PATCH must not half-apply"
    );
    assert_eq!(member_ids(&got.body), set(&[&a]));
    assert_eq!(t.get("/Groups").await.body["totalResults"], 1);
}

#[tokio::test]
async fn display_name_is_unique_per_tenant_but_not_across_tenants() {
    let t = TestApp::new().await;
    t.group("Sales", &[]).await;
    assert_scim_error(
        &t.post("/Groups", json!({"displayName": "sales"})).await,
        409,
        Some("uniqueness"),
    );
    let other = TestApp::new().await;
    assert_eq!(
        other
            .post("/Groups", json!({"displayName": "Sales"}))
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn excluded_members_and_filter_by_display_name() {
    let t = TestApp::new().await;
    let a = t.user("a").await;
    let g = t.group("Ops Team", &[a]).await;
    let r = t
        .get(&format!("/Groups/{g}?excludedAttributes=members"))
        .await;
    assert!(r.body.get("members").is_none());
    assert_eq!(r.body["displayName"], "Ops Team");
    let r = t
        .get("/Groups?filter=displayName eq \"ops team\"&excludedAttributes=members")
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert!(r.body["Resources"][0].get("members").is_none());
    let r = t.get("/Groups?filter=displayName eq \"Ops Team\"").await;
    assert_eq!(
        r.body["Resources"][0]["members"].as_array().unwrap().len(),
        1
    );
}

#[tokio::test]
async fn deleting_a_user_removes_its_memberships() {
    let t = TestApp::new().await;
    let (a, b) = (t.user("a").await, t.user("b").await);
    let g = t.group("G", &[a.clone(), b.clone()]).await;
    assert_eq!(
        t.call("DELETE", &format!("/Users/{a}"), None).await.status,
        204
    );
    assert_eq!(
        member_ids(&t.get(&format!("/Groups/{g}")).await.body),
        set(&[&b])
    );
}

#[tokio::test]
async fn deleting_a_group_removes_its_member_items_and_frees_the_name() {
    let t = TestApp::new().await;
    let a = t.user("a").await;
    let g = t.group("G", std::slice::from_ref(&a)).await;
    assert_eq!(
        t.call("DELETE", &format!("/Groups/{g}"), None).await.status,
        204
    );
    assert_scim_error(&t.get(&format!("/Groups/{g}")).await, 404, None);
    assert!(t
        .get(&format!("/Users/{a}"))
        .await
        .body
        .get("groups")
        .is_none());
    assert!(t
        .store()
        .group_members(&t.tenant_id(), &resource_id(&g))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        t.post("/Groups", json!({"displayName": "g"})).await.status,
        201
    );
}

#[tokio::test]
async fn large_groups_are_written_in_chunks_and_read_completely() {
    let t = TestApp::new().await;
    let mut users = Vec::new();
    for i in 0..130 {
        users.push(t.user(&format!("u{i}")).await);
    }
    // 130 members need several transactions: the up-front existence check still rejects a bad id.
    let mut with_bad = users.clone();
    with_bad.push("01ARZ3NDEKTSV4RRFFQ69G5FAV".into());
    let members: Vec<Value> = with_bad.iter().map(|u| json!({"value": u})).collect();
    assert_scim_error(
        &t.post("/Groups", json!({"displayName": "Big", "members": members}))
            .await,
        400,
        Some("invalidValue"),
    );
    assert_eq!(
        t.get("/Groups").await.body["totalResults"],
        0,
        "nothing written"
    );
    let g = t.group("Big", &users).await;
    let got = t.get(&format!("/Groups/{g}")).await;
    assert_eq!(member_ids(&got.body).len(), 130);
    let half: Vec<Value> = users[..65].iter().map(|u| json!({"value": u})).collect();
    let r = t
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "remove", "path": "members", "value": half}]),
        )
        .await;
    assert_eq!(member_ids(&r.body).len(), 65);
    assert_eq!(
        t.call("DELETE", &format!("/Groups/{g}"), None).await.status,
        204
    );
    assert!(t
        .store()
        .group_members(&t.tenant_id(), &resource_id(&g))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn group_rename_by_pathless_replace_with_id_inside_value() {
    let t = TestApp::new().await;
    let g = t.group("Old", &[]).await;
    let r = t
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "replace", "value": {"id": g, "displayName": "New"}}]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["displayName"], "New");
    assert_eq!(
        t.post("/Groups", json!({"displayName": "old"}))
            .await
            .status,
        201,
        "old name released"
    );
}

#[tokio::test]
async fn concurrent_member_patches_on_one_group_all_land() {
    let t = TestApp::new().await;
    let mut users = Vec::new();
    for i in 0..12 {
        users.push(t.user(&format!("c{i}")).await);
    }
    let g = t.group("Busy", &[]).await;
    let path = format!("/Groups/{g}");
    let patches = users.iter().map(|u| {
        t.patch(
            &path,
            json!([{"op": "Add", "path": "members", "value": [{"value": u}]}]),
        )
    });
    let results = futures::future::join_all(patches).await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|s| *s == 200),
        "{statuses:?} {:?}",
        results.iter().find(|r| r.status != 200).map(|r| &r.body)
    );
    assert_eq!(member_ids(&t.get(&path).await.body).len(), 12);
}

#[tokio::test]
async fn reads_page_through_every_query_page() {
    // Five items per Query page: members, a user's groups and counts all need several pages.
    let mut t = TestApp::new().await;
    t.app.store = t.app.store.clone().with_page_limit(5);
    let mut users = Vec::new();
    for i in 0..23 {
        users.push(t.user(&format!("p{i}")).await);
    }
    let g = t.group("Paged", &users).await;
    assert_eq!(
        member_ids(&t.get(&format!("/Groups/{g}")).await.body).len(),
        23
    );
    let mut groups = Vec::new();
    for i in 0..12 {
        groups.push(
            t.group(&format!("G{i}"), std::slice::from_ref(&users[0]))
                .await,
        );
    }
    let user = t.get(&format!("/Users/{}", users[0])).await;
    assert_eq!(user.body["groups"].as_array().unwrap().len(), 13);
    let listed = t.get("/Users?startIndex=21&count=2").await;
    assert_eq!(listed.body["totalResults"], 23);
    assert_eq!(listed.body["Resources"].as_array().unwrap().len(), 2);
    assert_eq!(t.get("/Groups?count=0").await.body["totalResults"], 13);
    assert_eq!(
        t.call("DELETE", &format!("/Groups/{g}"), None).await.status,
        204
    );
    assert_eq!(
        t.get(&format!("/Users/{}", users[1]))
            .await
            .body
            .get("groups"),
        None
    );
}

#[tokio::test]
async fn root_search_pages_across_users_then_groups() {
    let t = TestApp::new().await;
    let (a, b) = (t.user("a").await, t.user("b").await);
    let g = t.group("G", &[]).await;
    let search = |mut body: Value| {
        body["schemas"] = json!(["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]);
        t.call("POST", "/.search", Some(body))
    };
    let r = search(json!({"startIndex": 2, "count": 2})).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["totalResults"], 3);
    let ids: Vec<&str> = r.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![b.as_str(), g.as_str()]);
    let r = search(json!({"filter": "userName eq \"A\""})).await;
    assert_eq!(
        r.body["totalResults"], 1,
        "a users-only filter selects no groups"
    );
    assert_eq!(r.body["Resources"][0]["id"], a.as_str());
    let r = search(json!({"filter": "nosuch co \"x\""})).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.body["scimType"], "invalidFilter");
}

#[tokio::test]
async fn a_member_id_that_is_not_a_ulid_is_named_in_the_400() {
    let t = TestApp::new().await;
    let a = t.user("a").await;
    let g = t.group("G", std::slice::from_ref(&a)).await;
    let r = t
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "add", "path": "members", "value": [{"value": "not-an-id"}]}]),
        )
        .await;
    assert_scim_error(&r, 400, Some("invalidValue"));
    assert_eq!(
        r.body["detail"],
        "member \"not-an-id\" is not a user of this tenant"
    );
    let r = t
        .call(
            "PUT",
            &format!("/Groups/{g}"),
            Some(json!({"displayName": "G", "members": [{"value": a}, {"value": "zz"}]})),
        )
        .await;
    assert_eq!(
        r.body["detail"],
        "member \"zz\" is not a user of this tenant"
    );
    // A lower-case ULID names the same user.
    let r = t
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{}\"]", a.to_lowercase())}]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert!(member_ids(&r.body).is_empty());
}
