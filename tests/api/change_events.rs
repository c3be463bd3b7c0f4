//! Change events (issue 11, work in progress): each successful write stores one RFC 9967 SET in
//! its own transaction. So far: creates.

use crate::common::{events, TestApp, Wire};
use scim_serverless::protocol::events::CREATE_FULL;

#[tokio::test]
async fn a_create_stores_one_create_full_event_at_no_extra_request() {
    let t = TestApp::new().await;
    let (r, cost) = t
        .send_counted(t.request(
            "POST",
            "/Users",
            Some(&serde_json::json!({"userName": "ann", "externalId": "e-1", "password": "Secret-1"})),
        ))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(cost, 1, "the event rides in the create's transaction");
    let id = r.body["id"].as_str().unwrap();

    let page = t
        .store()
        .list_events(&t.tenant_id(), None, None, (10, usize::MAX))
        .await
        .unwrap();
    assert_eq!(page.events.len(), 1);
    let event = &page.events[0];
    assert_eq!(
        (event.uri.as_str(), event.resource_id.as_str()),
        (CREATE_FULL, id)
    );
    let set = &event.set;
    assert_eq!(set["jti"], event.jti.as_str());
    assert_eq!(set["sub_id"]["uri"], format!("/Users/{id}"));
    assert_eq!(set["sub_id"]["externalId"], "e-1");
    let payload = &set["events"][CREATE_FULL];
    assert_eq!(payload["version"], "W/\"1\"");
    assert_eq!(payload["data"]["userName"], "ann");
    assert!(!set.to_string().contains("Secret-1"), "no password: {set}");

    // A failed write stores none.
    let r = t
        .post("/Users", serde_json::json!({"userName": "ANN"}))
        .await;
    assert_eq!(r.status, 409);
    let page = t
        .store()
        .list_events(&t.tenant_id(), None, None, (10, usize::MAX))
        .await
        .unwrap();
    assert_eq!(page.events.len(), 1);
    // The feed goes on after the last event it returned.
    let after = page.last.unwrap();
    let next = t
        .store()
        .list_events(&t.tenant_id(), Some(&after), None, (10, usize::MAX))
        .await
        .unwrap();
    assert!(next.events.is_empty());
}

#[tokio::test]
async fn an_entra_style_sync_gives_one_event_per_write_in_order() {
    use scim_serverless::protocol::events::{DEACTIVATE, DELETE, PATCH_FULL};
    let t = TestApp::new().await;
    let ann = t.user("ann").await;
    let group = t.group("team", &[]).await;
    let ok = |r: crate::common::Resp| assert_eq!(r.status, 200, "{:?}", r.body);
    ok(t.patch(
        &format!("/Groups/{group}"),
        serde_json::json!([{"op": "Add", "path": "members", "value": [{"value": ann}]}]),
    )
    .await);
    ok(t.patch(
        &format!("/Users/{ann}"),
        serde_json::json!([{"op": "Replace", "path": "userName", "value": "ann2"}]),
    )
    .await);
    ok(t.patch(
        &format!("/Users/{ann}"),
        serde_json::json!([{"op": "Replace", "path": "active", "value": "False"}]),
    )
    .await);
    ok(t.patch(
        &format!("/Groups/{group}"),
        serde_json::json!([{"op": "Remove", "path": "members", "value": [{"value": ann}]}]),
    )
    .await);
    // A PATCH that changes nothing writes nothing, and has no event.
    ok(t.patch(
        &format!("/Users/{ann}"),
        serde_json::json!([{"op": "Replace", "path": "active", "value": false}]),
    )
    .await);
    assert_eq!(
        t.call("DELETE", &format!("/Users/{ann}"), None)
            .await
            .status,
        204
    );

    let page = t
        .store()
        .list_events(&t.tenant_id(), None, None, (100, usize::MAX))
        .await
        .unwrap();
    let seen: Vec<(String, String, u64)> = page
        .events
        .iter()
        .map(|e| (e.uri.clone(), e.resource_id.to_string(), e.version.get()))
        .collect();
    let want = vec![
        (CREATE_FULL.to_string(), ann.clone(), 1),
        (CREATE_FULL.to_string(), group.clone(), 1),
        (PATCH_FULL.to_string(), group.clone(), 2),
        (PATCH_FULL.to_string(), ann.clone(), 2),
        (PATCH_FULL.to_string(), ann.clone(), 3),
        (PATCH_FULL.to_string(), group.clone(), 3),
        (DELETE.to_string(), ann.clone(), 3),
    ];
    assert_eq!(seen, want);
    let deactivation = &page.events[4].set["events"];
    assert_eq!(deactivation[DEACTIVATE], serde_json::json!({}));
    assert_eq!(
        page.events[2].set["events"][PATCH_FULL]["members"]["added"],
        serde_json::json!([ann])
    );
    assert_eq!(
        page.events[5].set["events"][PATCH_FULL]["members"]["removed"],
        serde_json::json!([ann])
    );
}

#[tokio::test]
async fn the_feed_pages_with_a_cursor_bound_to_its_tenant() {
    let t = TestApp::new().await;
    for name in ["a", "b", "c"] {
        t.user(name).await;
    }
    let admin = t.admin();
    let first = admin
        .change_events(&t.tenant_id(), &events(None, None, 2))
        .await
        .unwrap()
        .wire();
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().unwrap().to_string();
    let second = admin
        .change_events(&t.tenant_id(), &events(Some(&cursor), None, 2))
        .await
        .unwrap()
        .wire();
    let ids = |page: &serde_json::Value| -> Vec<String> {
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&second).len(), 1, "{second}");
    assert!(!ids(&first).contains(&ids(&second)[0]));

    // Caught up: nothing again, then exactly what comes next, though all of it is unsettled
    // (newer than the 30 s horizon).
    let cursor = second["nextCursor"].as_str().unwrap().to_string();
    let third = admin
        .change_events(&t.tenant_id(), &events(Some(&cursor), None, 2))
        .await
        .unwrap()
        .wire();
    assert_eq!(ids(&third), Vec::<String>::new(), "{third}");
    let d = t.user("d").await;
    let cursor = third["nextCursor"].as_str().unwrap().to_string();
    let fourth = admin
        .change_events(&t.tenant_id(), &events(Some(&cursor), None, 2))
        .await
        .unwrap()
        .wire();
    assert_eq!(fourth["events"][0]["resourceId"], d.as_str());
    assert_eq!(ids(&fourth).len(), 1, "{fourth}");
    // An old cursor yields every later event, each once.
    let again = admin
        .change_events(&t.tenant_id(), &events(Some(&cursor), None, 100))
        .await
        .unwrap()
        .wire();
    assert_eq!(ids(&again), ids(&fourth));

    // Another tenant's feed: empty, and this tenant's cursor is refused there.
    let other = TestApp::new().await;
    assert_eq!(
        admin
            .change_events(&other.tenant_id(), &events(None, None, 10))
            .await
            .unwrap()
            .wire()["events"],
        serde_json::json!([])
    );
    assert!(admin
        .change_events(&other.tenant_id(), &events(Some(&cursor), None, 10))
        .await
        .is_err());
    assert!(admin
        .change_events(&t.tenant_id(), &events(Some("forged.cursor"), None, 10))
        .await
        .is_err());
}

#[tokio::test]
async fn concurrent_member_patches_give_one_event_each_with_strictly_increasing_versions() {
    let t = TestApp::new().await;
    let group = t.group("crowd", &[]).await;
    let mut users = Vec::new();
    for n in 0..10 {
        users.push(t.user(&format!("member{n}")).await);
    }
    let path = format!("/Groups/{group}");
    let patches = users.iter().map(|user| {
        t.patch(
            &path,
            serde_json::json!([{"op": "add", "path": "members", "value": [{"value": user}]}]),
        )
    });
    for r in futures::future::join_all(patches).await {
        assert_eq!(r.status, 200, "{:?}", r.body);
    }
    let page = t
        .store()
        .list_events(&t.tenant_id(), None, None, (100, usize::MAX))
        .await
        .unwrap();
    let of_group: Vec<_> = page
        .events
        .iter()
        .filter(|e| e.resource_id.as_str() == group)
        .collect();
    let versions: Vec<u64> = of_group.iter().map(|e| e.version.get()).collect();
    assert_eq!(versions, (1..=11).collect::<Vec<u64>>(), "in feed order");
    let mut added: Vec<String> = of_group
        .iter()
        .flat_map(|e| {
            e.set["events"][e.uri.as_str()]["members"]["added"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    added.sort();
    users.sort();
    assert_eq!(added, users, "each member added by exactly one event");
    let r = t.get(&format!("/Groups/{group}")).await;
    assert_eq!(r.body["meta"]["version"], "W/\"11\"");
}

#[tokio::test]
async fn scimctl_events_follow_prints_new_events_as_they_come() {
    use std::io::{BufRead, BufReader};
    let t = TestApp::new().await;
    t.user("first").await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scimctl"))
        .args(["events", &t.tenant, "--follow", "--json"])
        .env("TABLE_NAME", t.store().table())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_event = move || -> Vec<String> {
        let page: serde_json::Value =
            serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resourceId"].as_str().unwrap().to_string())
            .collect()
    };
    let first = tokio::task::spawn_blocking(move || {
        let got = next_event();
        (got, next_event)
    });
    let (got, next_event) = first.await.unwrap();
    assert_eq!(got.len(), 1);
    let second = t.user("second").await;
    let got = tokio::task::spawn_blocking(next_event).await.unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(got, vec![second], "only the new event, once");
}

#[tokio::test]
async fn the_admin_api_serves_the_feed_under_iam_only() {
    use crate::common::admin_call;
    const ADMIN: &str = "arn:aws:sts::123456789012:assumed-role/scim-admin/ops";
    let t = TestApp::new().await;
    let ann = t.user("ann").await;
    let store = t.store();
    let path = format!("/admin/tenants/{}/events", t.tenant);
    let r = admin_call(
        store,
        Some(ADMIN),
        "GET",
        &format!("{path}?limit=10"),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["events"][0]["resourceId"], ann.as_str());
    assert_eq!(
        r.body["events"][0]["type"],
        "urn:ietf:params:scim:event:prov:create:full"
    );
    let cursor = r.body["nextCursor"].as_str().unwrap().to_string();
    let next = admin_call(
        store,
        Some(ADMIN),
        "GET",
        &format!("{path}?cursor={cursor}"),
        None,
        &[],
    )
    .await;
    assert_eq!(
        (next.status, next.body["events"].clone()),
        (200, serde_json::json!([]))
    );

    for (query, why) in [
        ("limit=abc", "a limit that is not a number"),
        ("limit=0", "a limit of 0"),
        ("since=yesterday", "a malformed since"),
        ("cursor=forged.cursor", "a forged cursor"),
    ] {
        let r = admin_call(
            store,
            Some(ADMIN),
            "GET",
            &format!("{path}?{query}"),
            None,
            &[],
        )
        .await;
        assert_eq!(r.status, 400, "{why}: {:?}", r.body);
    }
    let other = TestApp::new().await;
    let r = admin_call(
        store,
        Some(ADMIN),
        "GET",
        &format!("/admin/tenants/{}/events?cursor={cursor}", other.tenant),
        None,
        &[],
    )
    .await;
    assert_eq!(r.status, 400, "another tenant's cursor: {:?}", r.body);
    assert!(
        r.body.to_string().contains("not one this service issued"),
        "{:?}",
        r.body
    );
    let r = admin_call(store, None, "GET", &path, None, &[]).await;
    assert_eq!(r.status, 403, "without IAM");
}

#[tokio::test]
async fn a_burst_is_walked_at_once_each_event_exactly_once() {
    let t = TestApp::new().await;
    let mut want = Vec::new();
    for n in 0..150 {
        want.push(t.user(&format!("burst{n}")).await);
    }
    let admin = t.admin();
    let (mut got, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let page = admin
            .change_events(&t.tenant_id(), &events(cursor.as_deref(), None, 40))
            .await
            .unwrap()
            .wire();
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            break;
        }
        got.extend(
            events
                .iter()
                .map(|e| e["resourceId"].as_str().unwrap().to_string()),
        );
        cursor = page["nextCursor"].as_str().map(str::to_string);
    }
    assert_eq!(
        got, want,
        "every event of the burst, once, in order, without waiting"
    );
}
