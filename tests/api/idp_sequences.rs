//! Request sequences as Microsoft Entra ID and Okta send them.

use crate::common::TestApp;
use serde_json::json;

#[tokio::test]
async fn entra_provisioning_sequence() {
    let t = TestApp::new().await;
    // 1. Match by userName: nothing yet.
    let r = t
        .get("/Users?filter=userName eq \"Test_User_dfeef4c5-5681-4387-b016-bdf221e82081\"")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["totalResults"], 0);
    assert_eq!(r.body["Resources"], json!([]));
    // 2. Create.
    let r = t.post("/Users", json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb6d63@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Eng", "manager": "mgr-1"}
    })).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let user = r.body["id"].as_str().unwrap().to_string();
    // 3. Match again: found, case-insensitively.
    let r = t
        .get("/Users?filter=userName eq \"test_user_dfeef4c5-5681-4387-b016-bdf221e82081\"")
        .await;
    assert_eq!(r.body["totalResults"], 1);
    assert_eq!(r.body["Resources"][0]["id"], user.as_str());
    // 4. Disable with a capitalised op and a string boolean.
    let r = t
        .patch(
            &format!("/Users/{user}"),
            json!([{"op": "Replace", "path": "active", "value": "False"}]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["active"], json!(false));
    // 5. Create a group (Entra first looks it up without members).
    let r = t
        .get("/Groups?excludedAttributes=members&filter=displayName eq \"Group1DisplayName\"")
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let r = t.post("/Groups", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Group1DisplayName", "members": []})).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let group = r.body["id"].as_str().unwrap().to_string();
    // 6. Add two members.
    let other = t.user("second@contoso.com").await;
    let r = t
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "Add", "path": "members", "value": [{"value": user}, {"value": other}]}]),
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["members"].as_array().unwrap().len(), 2);
    // 7. Remove one by value filter.
    let r = t
        .patch(
            &format!("/Groups/{group}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{other}\"]")}]),
        )
        .await;
    assert_eq!(r.status, 200);
    let r = t.get(&format!("/Groups/{group}")).await;
    assert_eq!(
        r.body["members"],
        json!([{"value": user, "type": "User", "$ref": r.body["members"][0]["$ref"]}])
    );
    // 8. Delete the group and the user.
    assert_eq!(
        t.call("DELETE", &format!("/Groups/{group}"), None)
            .await
            .status,
        204
    );
    assert_eq!(
        t.call("DELETE", &format!("/Users/{user}"), None)
            .await
            .status,
        204
    );
    assert_eq!(t.get(&format!("/Users/{user}")).await.status, 404);
    assert_eq!(t.get(&format!("/Groups/{group}")).await.status, 404);
}

#[tokio::test]
async fn okta_provisioning_sequence() {
    let t = TestApp::new().await;
    for i in 0..3 {
        t.user(&format!("existing{i}@okta.example")).await;
    }
    let r = t
        .get("/Users?filter=userName eq \"isabella@okta.example\"&startIndex=1&count=100")
        .await;
    assert_eq!(r.body["totalResults"], 0);
    let r = t.post("/Users", json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "isabella@okta.example",
        "name": {"givenName": "Isabella", "familyName": "Anderson"},
        "emails": [{"primary": true, "value": "isabella@okta.example", "type": "work"}],
        "displayName": "Isabella Anderson", "locale": "en-US", "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [], "password": "1mz050nq", "active": true
    })).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert!(r.body.get("password").is_none());
    let id = r.body["id"].as_str().unwrap().to_string();
    // Paged list: two pages of two, totalResults exact, stable order.
    let p1 = t.get("/Users?startIndex=1&count=2").await;
    let p2 = t.get("/Users?startIndex=3&count=2").await;
    assert_eq!(p1.body["totalResults"], 4);
    assert_eq!(p2.body["totalResults"], 4);
    assert_eq!(p1.body["itemsPerPage"], 2);
    assert_eq!(p2.body["itemsPerPage"], 2);
    assert_ne!(p1.body["Resources"][0]["id"], p2.body["Resources"][0]["id"]);
    // PUT with the whole user.
    let mut full = t.get(&format!("/Users/{id}")).await.body;
    full["name"]["familyName"] = json!("Smith");
    let r = t.call("PUT", &format!("/Users/{id}"), Some(full)).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    assert_eq!(r.body["name"]["familyName"], "Smith");
    // Deactivate with a path-less replace.
    let r = t
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "value": {"active": false}}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        t.get(&format!("/Users/{id}")).await.body["active"],
        json!(false)
    );
    // Group push: create, add members, remove with a value filter, full replace.
    let g = t.group("Okta Group", &[]).await;
    let r = t.patch(&format!("/Groups/{g}"), json!([{"op": "add", "path": "members", "value": [{"value": id, "display": "isabella@okta.example"}]}])).await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let r = t
        .patch(
            &format!("/Groups/{g}"),
            json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]),
        )
        .await;
    assert!(r.body.get("members").is_none());
    let r = t.patch(&format!("/Groups/{g}"), json!([{"op": "replace", "value": {"id": g, "displayName": "Okta Group 2", "members": [{"value": id}]}}])).await;
    assert_eq!(r.body["displayName"], "Okta Group 2");
    assert_eq!(r.body["members"][0]["value"], id.as_str());
}
