//! /Users against a real DynamoDB endpoint.

use crate::common::{assert_scim_error, TestApp};
use serde_json::json;

const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

#[tokio::test]
async fn create_returns_201_with_location_etag_and_meta() {
    let t = TestApp::new().await;
    let r = t
        .post("/Users", json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann@example.com",
            "password": "secret", "name": {"givenName": "Ann"}, "emails": [{"value": "ann@example.com", "type": "work", "primary": true}]}))
        .await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.header("content-type"), Some("application/scim+json"));
    let id = r.body["id"].as_str().unwrap();
    let meta = &r.body["meta"];
    assert_eq!(meta["resourceType"], "User");
    assert!(meta["created"].is_string() && meta["lastModified"].is_string());
    assert_eq!(r.header("location"), meta["location"].as_str());
    assert!(meta["location"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/{}/scim/v2/Users/{id}", t.tenant)));
    assert_eq!(r.header("etag"), meta["version"].as_str());
    assert!(
        r.body.get("password").is_none(),
        "password must never be returned"
    );
    let got = t.get(&format!("/Users/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["name"]["givenName"], "Ann");
    assert!(got.body.get("password").is_none());
}

#[tokio::test]
async fn duplicate_user_name_in_another_case_is_409_uniqueness() {
    let t = TestApp::new().await;
    t.user("Bob@Example.com").await;
    let r = t
        .post("/Users", json!({"userName": "bob@example.COM"}))
        .await;
    assert_scim_error(&r, 409, Some("uniqueness"));
}

#[tokio::test]
async fn rename_onto_a_taken_user_name_is_409_and_changes_nothing() {
    let t = TestApp::new().await;
    t.user("taken").await;
    let id = t.user("free").await;
    let r = t
        .call(
            "PUT",
            &format!("/Users/{id}"),
            Some(json!({"userName": "TAKEN"})),
        )
        .await;
    assert_scim_error(&r, 409, Some("uniqueness"));
    let r = t
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "userName", "value": "Taken"}]),
        )
        .await;
    assert_scim_error(&r, 409, Some("uniqueness"));
    assert_eq!(
        t.get(&format!("/Users/{id}")).await.body["userName"],
        "free"
    );
    // The old name is still guarded, the new one is free again after a successful rename.
    let r = t
        .patch(
            &format!("/Users/{id}"),
            json!([{"op": "replace", "path": "userName", "value": "renamed"}]),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        t.post("/Users", json!({"userName": "free"})).await.status,
        201
    );
    assert_scim_error(
        &t.post("/Users", json!({"userName": "RENAMED"})).await,
        409,
        Some("uniqueness"),
    );
}

#[tokio::test]
async fn put_replaces_attributes_and_bumps_version() {
    let t = TestApp::new().await;
    let created = t
        .post(
            "/Users",
            json!({"userName": "c", "displayName": "C", "title": "x"}),
        )
        .await;
    let id = created.body["id"].as_str().unwrap();
    let r = t
        .call(
            "PUT",
            &format!("/Users/{id}"),
            Some(json!({"userName": "c", "displayName": "C2"})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["displayName"], "C2");
    assert!(
        r.body.get("title").is_none(),
        "PUT replaces: omitted attributes are cleared"
    );
    assert_ne!(r.body["meta"]["version"], created.body["meta"]["version"]);
    assert_eq!(r.body["meta"]["created"], created.body["meta"]["created"]);
}

#[tokio::test]
async fn patch_covers_simple_complex_multi_valued_and_extension_paths() {
    let t = TestApp::new().await;
    let id = t.user("d").await;
    let path = format!("/Users/{id}");
    let r = t
        .patch(&path, json!([
            {"op": "add", "path": "name.givenName", "value": "Dee"},
            {"op": "add", "path": "emails", "value": [{"value": "d@w.com", "type": "work"}, {"value": "d@h.com", "type": "home"}]},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "d2@w.com"},
            {"op": "add", "path": format!("{ENT}:department"), "value": "Ops"},
            {"op": "Replace", "path": format!("{ENT}:manager"), "value": "boss-id"},
            {"op": "replace", "value": {"active": "False", "name.familyName": "Doe"}}
        ]))
        .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let b = &r.body;
    assert_eq!(b["name"], json!({"givenName": "Dee", "familyName": "Doe"}));
    assert_eq!(b["emails"][0]["value"], "d2@w.com");
    assert_eq!(b["emails"][1]["value"], "d@h.com");
    assert_eq!(b[ENT]["department"], "Ops");
    assert_eq!(b[ENT]["manager"]["value"], "boss-id");
    assert_eq!(b["active"], json!(false));
    assert!(b["schemas"].as_array().unwrap().iter().any(|s| s == ENT));
    let r = t.patch(&path, json!([{"op": "remove", "path": "emails[type eq \"home\"]"}, {"op": "remove", "path": "name.givenName"}])).await;
    assert_eq!(r.body["emails"].as_array().unwrap().len(), 1);
    assert_eq!(r.body["name"], json!({"familyName": "Doe"}));
    // What the PATCH answered is what is stored.
    let stored = t.get(&path).await.body;
    assert_eq!(stored["emails"], r.body["emails"]);
}

#[tokio::test]
async fn attributes_and_excluded_attributes_shape_every_response() {
    let t = TestApp::new().await;
    let r = t
        .post(
            "/Users?attributes=userName",
            json!({"userName": "e", "displayName": "E"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert!(r.body.get("displayName").is_none());
    assert_eq!(r.body["userName"], "e");
    let id = r.body["id"].as_str().unwrap();
    let r = t
        .get(&format!("/Users/{id}?excludedAttributes=displayName,meta"))
        .await;
    assert!(r.body.get("displayName").is_none() && r.body.get("meta").is_none());
    assert_eq!(r.body["id"], id);
    let r = t
        .get("/Users?filter=userName eq \"e\"&attributes=displayName")
        .await;
    assert_eq!(
        r.body["Resources"][0],
        json!({"id": id, "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "E"})
    );
}

#[tokio::test]
async fn list_pages_are_stable_with_exact_total() {
    let t = TestApp::new().await;
    for i in 0..7 {
        t.user(&format!("user{i}")).await;
    }
    let mut seen = Vec::new();
    for start in [1, 4, 7] {
        let r = t.get(&format!("/Users?startIndex={start}&count=3")).await;
        assert_eq!(r.body["totalResults"], 7);
        assert_eq!(r.body["startIndex"], start);
        for u in r.body["Resources"].as_array().unwrap() {
            seen.push(u["userName"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(seen.len(), 7);
    seen.dedup();
    assert_eq!(seen.len(), 7, "pages overlap");
    let r = t.get("/Users?count=0").await;
    assert_eq!(r.body["totalResults"], 7);
    assert!(r.body.get("Resources").is_none());
    let r = t.get("/Users?startIndex=0&count=1000").await;
    assert_eq!(r.body["startIndex"], 1);
    assert_eq!(r.body["Resources"].as_array().unwrap().len(), 7);
}

#[tokio::test]
async fn filters_on_indexed_attributes_and_their_conjunctions() {
    let t = TestApp::new().await;
    let a = t
        .post(
            "/Users",
            json!({"userName": "Fay", "externalId": "E-1", "active": true}),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    t.post("/Users", json!({"userName": "Gus", "externalId": "e-1"}))
        .await;
    let total = |r: &crate::common::Resp| r.body["totalResults"].as_u64().unwrap();
    assert_eq!(total(&t.get("/Users?filter=userName eq \"fay\"").await), 1);
    assert_eq!(
        total(&t.get("/Users?filter=externalId eq \"E-1\"").await),
        1,
        "externalId is case-exact"
    );
    assert_eq!(
        total(&t.get(&format!("/Users?filter=id eq \"{a}\"")).await),
        1
    );
    let lower = a.to_lowercase();
    let by_lower_id = t.get(&format!("/Users?filter=id eq \"{lower}\"")).await;
    assert_eq!(total(&by_lower_id), 1, "ids are case-insensitive ULIDs");
    assert_eq!(
        total(
            &t.get("/Users?filter=userName eq \"FAY\" and active eq true")
                .await
        ),
        1
    );
    assert_eq!(
        total(
            &t.get("/Users?filter=userName eq \"fay\" and externalId eq \"nope\"")
                .await
        ),
        0
    );
    assert_eq!(
        total(&t.get("/Users?filter=userName eq \"nobody\"").await),
        0
    );
    let r = t.call("POST", "/Users/.search", Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": "userName eq \"Gus\""}))).await;
    assert_eq!(total(&r), 1);
}

#[tokio::test]
async fn malformed_or_ill_typed_filters_are_400_invalid_filter() {
    let t = TestApp::new().await;
    for f in [
        "userName eq",
        "nosuch eq \"x\"",
        "active gt true",
        "members eq \"x\"",
        "userName eq \"a\" or",
        "(userName eq \"a\"",
    ] {
        let r = t.get(&format!("/Users?filter={f}")).await;
        assert_scim_error(&r, 400, Some("invalidFilter"));
    }
}

#[tokio::test]
async fn delete_removes_the_user_and_frees_its_name() {
    let t = TestApp::new().await;
    let id = t.user("gone").await;
    let r = t.call("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(r.status, 204);
    assert_scim_error(&t.get(&format!("/Users/{id}")).await, 404, None);
    assert_scim_error(
        &t.call("DELETE", &format!("/Users/{id}"), None).await,
        404,
        None,
    );
    assert_eq!(
        t.post("/Users", json!({"userName": "GONE"})).await.status,
        201
    );
}

#[tokio::test]
async fn if_match_with_a_stale_version_is_412_and_writes_nothing() {
    let t = TestApp::new().await;
    let created = t.post("/Users", json!({"userName": "h"})).await;
    let id = created.body["id"].as_str().unwrap();
    let stale = created.body["meta"]["version"]
        .as_str()
        .unwrap()
        .to_string();
    t.patch(
        &format!("/Users/{id}"),
        json!([{"op": "add", "path": "title", "value": "one"}]),
    )
    .await;
    let req = t.raw_request(
        "PATCH",
        &format!("/Users/{id}"),
        lambda_http::Body::Text(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "title", "value": "two"}]}).to_string()),
        &[("authorization", &format!("Bearer {}", t.token)), ("if-match", &stale)],
    );
    assert_scim_error(&t.send(req).await, 412, None);
    assert_eq!(t.get(&format!("/Users/{id}")).await.body["title"], "one");
}

#[tokio::test]
async fn concurrent_creates_of_one_user_name_yield_exactly_one_user() {
    let t = TestApp::new().await;
    let attempts = (0..10).map(|i| {
        t.post(
            "/Users",
            json!({"userName": if i % 2 == 0 { "race" } else { "RACE" }}),
        )
    });
    let results = futures::future::join_all(attempts).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        created,
        1,
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    for r in results.iter().filter(|r| r.status != 201) {
        assert_scim_error(r, 409, Some("uniqueness"));
    }
    assert_eq!(
        t.get("/Users?filter=userName eq \"race\"").await.body["totalResults"],
        1
    );
}

#[tokio::test]
async fn concurrent_patches_all_land() {
    let t = TestApp::new().await;
    let id = t.user("busy").await;
    let path = format!("/Users/{id}");
    let patches = (0..5).map(|i| {
        t.patch(
            &path,
            json!([{"op": "add", "path": "emails", "value": [{"value": format!("{i}@x.com")}]}]),
        )
    });
    let results = futures::future::join_all(patches).await;
    assert!(
        results.iter().all(|r| r.status == 200),
        "{:?}",
        results.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    assert_eq!(
        t.get(&path).await.body["emails"].as_array().unwrap().len(),
        5
    );
}

/// The schemas are the app's value: an app holding an extension (given as data) serves it on
/// every path, and the standard app, on the same table, refuses it.
#[tokio::test]
async fn an_app_serves_the_schemas_it_holds() {
    use scim_serverless::protocol::kind::ResourceKind;
    use scim_serverless::protocol::schema::{
        AttrType, AttributeDef, SchemaDef, SchemaSet, CORE_USER,
    };
    use std::sync::Arc;

    const BADGE: &str = "urn:example:params:scim:schemas:extension:badge:2.0:User";
    let extension = SchemaDef {
        id: BADGE.into(),
        name: "Badge".into(),
        description: "A tenant's badge".into(),
        attributes: vec![AttributeDef::new("badge", AttrType::String, "The badge.")],
    };
    let schemas = SchemaSet::standard()
        .clone()
        .with_extension(ResourceKind::User, extension)
        .unwrap();
    let standard = TestApp::new().await;
    let t = TestApp {
        app: standard.app.clone().with_schemas(Arc::new(schemas)),
        ..standard
    };
    let standard = TestApp {
        app: t.app.clone().with_schemas(SchemaSet::shared()),
        tenant: t.tenant.clone(),
        token: t.token.clone(),
    };

    let schema = t.get(&format!("/Schemas/{BADGE}")).await;
    assert_eq!(schema.status, 200, "{}", schema.body);
    assert_eq!(schema.body["attributes"][0]["name"], "badge");
    let types = t.get("/ResourceTypes/User").await;
    assert_eq!(types.body["schemaExtensions"][1]["schema"], BADGE);
    assert_eq!(standard.get(&format!("/Schemas/{BADGE}")).await.status, 404);

    let user = json!({"userName": "ann", BADGE: {"badge": "B-7"}});
    let refused = standard.post("/Users", user.clone()).await;
    assert_scim_error(&refused, 400, Some("invalidValue"));
    let created = t.post("/Users", user).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap();
    let read = t.get(&format!("/Users/{id}")).await;
    assert_eq!(read.body[BADGE]["badge"], "B-7");
    assert_eq!(read.body["schemas"], json!([CORE_USER, BADGE]));
    let found = t
        .get(&format!("/Users?filter={BADGE}:badge eq \"b-7\""))
        .await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);
    let filter = standard
        .get(&format!("/Users?filter={BADGE}:badge eq \"b-7\""))
        .await;
    assert_scim_error(&filter, 400, Some("invalidFilter"));
}
