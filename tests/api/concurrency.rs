//! Writes under races, against the local DynamoDB: nothing acknowledged is lost without
//! `If-Match`, and with `If-Match` the write itself enforces the version (exactly one of two
//! racing requests wins). Each test reads the stored state back.

use std::collections::BTreeSet;

use crate::common::TestApp;
use serde_json::{json, Value};

fn patch_body(operations: Value) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    })
}

async fn with_if_match(
    t: &TestApp,
    method: &str,
    path: &str,
    body: Option<Value>,
    etag: &str,
) -> crate::common::Resp {
    let body = body
        .map(|b| lambda_http::Body::Text(b.to_string()))
        .unwrap_or(lambda_http::Body::Empty);
    let auth = format!("Bearer {}", t.token);
    t.send(t.raw_request(
        method,
        path,
        body,
        &[("authorization", &auth), ("if-match", etag)],
    ))
    .await
}

#[tokio::test]
async fn twenty_concurrent_patches_of_different_attributes_all_land() {
    let t = TestApp::new().await;
    let id = t.user("busy").await;
    let path = format!("/Users/{id}");
    let attributes: Vec<(String, String)> = (0..20)
        .map(|i| match i {
            0 => ("displayName".to_string(), "Busy Bee".to_string()),
            1 => ("nickName".to_string(), "bee".to_string()),
            2 => ("title".to_string(), "Worker".to_string()),
            3 => ("userType".to_string(), "Employee".to_string()),
            4 => ("preferredLanguage".to_string(), "en".to_string()),
            5 => ("locale".to_string(), "en-GB".to_string()),
            6 => ("timezone".to_string(), "Europe/London".to_string()),
            7 => (
                "profileUrl".to_string(),
                "https://example.com/bee".to_string(),
            ),
            8 => ("name.givenName".to_string(), "Busy".to_string()),
            9 => ("name.familyName".to_string(), "Bee".to_string()),
            10 => ("name.middleName".to_string(), "B".to_string()),
            11 => ("name.honorificPrefix".to_string(), "Dr".to_string()),
            12 => ("name.honorificSuffix".to_string(), "PhD".to_string()),
            13 => (
                "name.formatted".to_string(),
                "Dr Busy B Bee PhD".to_string(),
            ),
            14 => ("externalId".to_string(), "ext-busy".to_string()),
            n => (
                format!(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:{}",
                    [
                        "employeeNumber",
                        "costCenter",
                        "organization",
                        "division",
                        "department",
                    ][n - 15]
                ),
                format!("value-{n}"),
            ),
        })
        .collect();
    let results = futures::future::join_all(attributes.iter().map(|(path_, value)| {
        let t = &t;
        let path = &path;
        async move {
            t.call(
                "PATCH",
                path,
                Some(patch_body(
                    json!([{"op": "replace", "path": path_, "value": value}]),
                )),
            )
            .await
        }
    }))
    .await;
    for r in &results {
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let stored = t.get(&path).await.body;
    let enterprise = &stored["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(stored["displayName"], "Busy Bee");
    assert_eq!(stored["timezone"], "Europe/London");
    assert_eq!(stored["name"]["formatted"], "Dr Busy B Bee PhD");
    assert_eq!(stored["name"]["honorificSuffix"], "PhD");
    assert_eq!(stored["externalId"], "ext-busy");
    assert_eq!(enterprise["employeeNumber"], "value-15");
    assert_eq!(enterprise["department"], "value-19");
    assert_eq!(
        stored["meta"]["version"], "W/\"21\"",
        "one version per write"
    );
}

#[tokio::test]
async fn thirty_concurrent_member_adds_leave_thirty_members() {
    let t = TestApp::new().await;
    let mut users = Vec::new();
    for i in 0..30 {
        users.push(t.user(&format!("joiner{i}")).await);
    }
    let group = t.group("crowd", &[]).await;
    let path = format!("/Groups/{group}");
    let results = futures::future::join_all(users.iter().map(|u| {
        let t = &t;
        let path = &path;
        async move {
            t.call(
                "PATCH",
                &format!("{path}?excludedAttributes=members"),
                Some(patch_body(
                    json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
                )),
            )
            .await
        }
    }))
    .await;
    assert!(results.iter().all(|r| r.status == 200));
    let stored = t.get(&path).await.body;
    let members: BTreeSet<&str> = stored["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    assert_eq!(members, users.iter().map(String::as_str).collect());
}

#[tokio::test]
async fn two_member_patches_racing_with_the_same_if_match_let_exactly_one_win() {
    let t = TestApp::new().await;
    let (a, b) = (t.user("racer-a").await, t.user("racer-b").await);
    let group = t.group("pinned", &[]).await;
    let path = format!("/Groups/{group}");
    let etag = t.get(&path).await.body["meta"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let add = |u: &String| {
        Some(patch_body(
            json!([{"op": "add", "path": "members", "value": [{"value": u}]}]),
        ))
    };
    let (ra, rb) = futures::join!(
        with_if_match(&t, "PATCH", &path, add(&a), &etag),
        with_if_match(&t, "PATCH", &path, add(&b), &etag)
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [200, 412]);
    let members = t.get(&path).await.body["members"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(members, 1, "the refused change wrote nothing");
}

#[tokio::test]
async fn two_deletes_racing_with_the_same_if_match_delete_once_and_a_stale_one_changes_nothing() {
    let t = TestApp::new().await;
    let id = t.user("doomed").await;
    let path = format!("/Users/{id}");
    let etag = t.get(&path).await.body["meta"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let (ra, rb) = futures::join!(
        with_if_match(&t, "DELETE", &path, None, &etag),
        with_if_match(&t, "DELETE", &path, None, &etag)
    );
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert!(matches!(statuses, [204, 404] | [204, 412]), "{statuses:?}");

    let kept = t.user("kept").await;
    let path = format!("/Users/{kept}");
    let old = t.get(&path).await.body["meta"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    let r = t
        .patch(
            &path,
            json!([{"op": "replace", "path": "title", "value": "x"}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        with_if_match(&t, "DELETE", &path, None, &old).await.status,
        412
    );
    assert_eq!(
        t.get(&path).await.status,
        200,
        "a stale If-Match deletes nothing"
    );
}

#[tokio::test]
async fn a_delete_racing_a_rename_neither_frees_nor_steals_a_name() {
    for round in 0..12 {
        let t = TestApp::new().await;
        let id = t.user(&format!("old{round}")).await;
        let path = format!("/Users/{id}");
        let (deleted, renamed) = futures::join!(
            t.call("DELETE", &path, None),
            t.call(
                "PUT",
                &path,
                Some(json!({"userName": format!("new{round}")}))
            )
        );
        assert_eq!(deleted.status, 204, "{:?}", deleted.body);
        assert!(matches!(renamed.status, 200 | 404), "{:?}", renamed.body);
        // Whatever the order, the user is gone and both names are free again.
        assert_eq!(t.get(&path).await.status, 404);
        for name in [format!("old{round}"), format!("new{round}")] {
            let r = t.post("/Users", json!({"userName": name})).await;
            assert_eq!(r.status, 201, "{name} stayed taken: {:?}", r.body);
        }
    }
}

#[tokio::test]
async fn if_none_match_with_the_current_version_is_304_and_a_405_names_what_is_allowed() {
    let t = TestApp::new().await;
    let id = t.user("cached").await;
    let path = format!("/Users/{id}");
    let etag = t.get(&path).await.header("etag").unwrap().to_string();
    let auth = format!("Bearer {}", t.token);
    let conditional = |tag: &str| {
        t.raw_request(
            "GET",
            &path,
            lambda_http::Body::Empty,
            &[("authorization", &auth), ("if-none-match", tag)],
        )
    };
    let r = t.send(conditional(&etag)).await;
    assert_eq!(r.status, 304);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(t.send(conditional("W/\"999\"")).await.status, 200);
    t.patch(
        &path,
        json!([{"op": "replace", "path": "title", "value": "t"}]),
    )
    .await;
    assert_eq!(
        t.send(conditional(&etag)).await.status,
        200,
        "changed since"
    );

    let r = t.call("DELETE", "/Users", None).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), Some("GET, POST"));
    let r = t.call("POST", &path, Some(json!({}))).await;
    assert_eq!(r.header("allow"), Some("GET, PUT, PATCH, DELETE"));
}
