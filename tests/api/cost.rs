//! Every SCIM request stays within its DynamoDB request budget (counted by the SDK interceptor).

#[tokio::test]
async fn every_request_meets_its_dynamodb_request_target() {
    let rows = crate::common::cost::measure().await;
    let table = crate::common::cost::table(&rows);
    println!("{table}");
    for row in &rows {
        assert!(row.measured <= row.target, "over budget:\n{table}");
        // A zero target is a request that must read nothing (a cached authentication).
        assert!(
            row.measured >= 1 || row.target == 0,
            "nothing was counted for {}: is the interceptor installed?",
            row.request
        );
    }
}

/// Each kind of write stores its change event in the transaction it already makes: the requests
/// counted are the cost table's, and the feed holds exactly one new event, for that resource.
#[tokio::test]
async fn writes_store_their_change_event_at_no_extra_request() {
    use serde_json::json;
    let t = crate::common::TestApp::new().await;
    let member = t.user("member").await;
    let events = || async {
        t.store()
            .list_events(&t.tenant_id(), None, None, (1000, usize::MAX))
            .await
            .unwrap()
            .events
    };
    let mut seen = 0;
    let write = |method: &'static str, path: String, body: serde_json::Value, cost: u32| {
        let t = &t;
        async move {
            let body = (!body.is_null()).then_some(body);
            let (r, measured) = t
                .send_counted(t.request(method, &path, body.as_ref()))
                .await;
            assert!(r.status < 300, "{method} {path}: {:?}", r.body);
            assert_eq!(measured, cost, "{method} {path}: DynamoDB requests");
            r
        }
    };
    let created = write("POST", "/Users".into(), json!({"userName": "ann"}), 1).await;
    let ann = created.body["id"].as_str().unwrap().to_string();
    let group = write("POST", "/Groups".into(), json!({"displayName": "g"}), 1).await;
    let group = group.body["id"].as_str().unwrap().to_string();
    let patch = |ops: serde_json::Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let steps = [
        (
            "PUT",
            format!("/Users/{ann}"),
            json!({"userName": "ann", "active": false}),
            2,
        ),
        (
            "PATCH",
            format!("/Users/{ann}"),
            patch(json!([{"op": "replace", "path": "active", "value": true}])),
            2,
        ),
        (
            "PATCH",
            format!("/Groups/{group}?excludedAttributes=members"),
            patch(json!([{"op": "add", "path": "members", "value": [{"value": member}]}])),
            2,
        ),
        (
            "DELETE",
            format!("/Groups/{group}"),
            serde_json::Value::Null,
            3,
        ),
        (
            "DELETE",
            format!("/Users/{ann}"),
            serde_json::Value::Null,
            2,
        ),
    ];
    let before = events().await.len();
    assert_eq!(before, 3, "the three creates' events");
    seen += before;
    for (method, path, body, cost) in steps {
        write(method, path.clone(), body, cost).await;
        let now = events().await;
        assert_eq!(now.len(), seen + 1, "{method} {path}: one new event");
        let id = path
            .trim_start_matches('/')
            .split(['/', '?'])
            .nth(1)
            .unwrap();
        assert!(
            now.iter()
                .any(|e| e.resource_id.as_str() == id && !now[..seen].contains(e)),
            "{method} {path}: the event is the resource's"
        );
        seen = now.len();
    }
}
