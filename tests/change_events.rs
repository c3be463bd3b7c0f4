//! Change events (issue 11, work in progress): each successful write stores one RFC 9967 SET in
//! its own transaction. So far: creates.
mod common;

use common::TestApp;
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
        .list_events(&t.tenant_id(), None, None, 10)
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
        .list_events(&t.tenant_id(), None, None, 10)
        .await
        .unwrap();
    assert_eq!(page.events.len(), 1);
    // The feed goes on after the last event it returned.
    let after = page.last.unwrap();
    let next = t
        .store()
        .list_events(&t.tenant_id(), Some(&after), None, 10)
        .await
        .unwrap();
    assert!(next.events.is_empty());
}
